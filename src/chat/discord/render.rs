//! `Reply` → Discord: one embed (title, text, fields, a colour per stage or tone), buttons in
//! action rows, the ephemeral flag for refusals and personal views, and an explicitly empty
//! `allowed_mentions` on everything that carries user text, so a deal called "@everyone" pings
//! nobody. (serenity's default allowed mentions apply only to its own REST calls, not to a
//! response we serialize ourselves; PROTOCOLS.md §0.7.)
//!
//! User text (what `commands::user_text::user` marked) is escaped as Markdown, so a deal called
//! `**[Verify](https://evil.example)**` reads as typed: no bold, no link, no mention, no
//! heading. Discord renders Markdown in embed titles, descriptions and field names and values
//! alike, so all of them are escaped the same way; button labels and autocomplete choices are
//! plain text and only lose their marks.

use serenity::all::{
    ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateAttachment,
    CreateAutocompleteResponse, CreateButton, CreateEmbed, CreateInteractionResponse,
    CreateInteractionResponseMessage, EditInteractionResponse, UserId,
};

use super::custom_id::Press;
use crate::chat::cut;
use crate::commands::Choice;
use crate::commands::reply::{Reply, Tone};
use crate::commands::user_text::{Piece, pieces, plain, user};

/// Discord's limits, in characters (embeds) and counts.
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 4096;
const FIELD_NAME_MAX: usize = 256;
const FIELD_VALUE_MAX: usize = 1024;
const FIELDS_MAX: usize = 25;
const BUTTON_LABEL_MAX: usize = 80;
const BUTTONS_PER_ROW: usize = 5;
const ROWS_MAX: usize = 5;

/// Colours people tell apart at a glance; stages run from grey (first) to teal (last open).
const STAGE_COLOURS: [u32; 6] = [0x95A5A6, 0x3498DB, 0x5865F2, 0x9B59B6, 0xF1C40F, 0x1ABC9C];

pub fn colour(tone: Tone) -> u32 {
    match tone {
        Tone::Info => 0x5865F2,
        Tone::Success => 0x57F287,
        Tone::Refusal => 0xE67E22,
        Tone::Error => 0xED4245,
        Tone::Stage { index, of } => {
            let of = usize::from(of.max(1));
            let at = usize::from(index).min(of - 1) * STAGE_COLOURS.len() / of;
            STAGE_COLOURS[at]
        }
    }
}

/// No pings at all.
pub fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .empty_users()
        .empty_roles()
        .everyone(false)
}

pub fn embed(reply: &Reply) -> CreateEmbed {
    let mut e = CreateEmbed::new()
        .title(cut(&markdown(&reply.title), TITLE_MAX))
        .colour(colour(reply.tone));
    if !reply.lines.is_empty() {
        let lines: Vec<String> = reply.lines.iter().map(|l| markdown(l)).collect();
        e = e.description(cut(&lines.join("\n"), DESCRIPTION_MAX));
    }
    for f in reply.fields.iter().take(FIELDS_MAX) {
        let value = markdown(&f.value);
        let value = if value.trim().is_empty() {
            "—"
        } else {
            &value
        };
        e = e.field(
            cut(&markdown(&f.name), FIELD_NAME_MAX),
            cut(value, FIELD_VALUE_MAX),
            f.inline,
        );
    }
    e
}

/// One line of a reply as Discord Markdown: the bot's pieces as written, the user's escaped.
/// Inside the bot's `` `code` `` a backslash would show, so there user text only trades its
/// backticks for a look-alike that cannot end the span.
pub fn markdown(text: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for piece in pieces(text) {
        match piece {
            Piece::Bot(s) => {
                in_code ^= s.matches('`').count() % 2 == 1;
                out.push_str(&s);
            }
            Piece::User(s) if in_code => out.push_str(&s.replace('`', "\u{02CB}")),
            Piece::User(s) => {
                let line_start = out.trim_start().is_empty();
                escape_markdown(&s, line_start, &mut out);
            }
        }
    }
    out
}

/// Characters that format, link, quote, head or mention anywhere in a line; `:` so that
/// `https://…` is not made a link. Discord takes a backslash before any punctuation as "this
/// character as itself".
const MARKDOWN_SPECIALS: &[char] = &[
    '\\', '*', '_', '~', '`', '|', '<', '>', '[', ']', '#', '@', ':',
];

/// `text` with every Markdown special escaped, and, at the start of a line, what would begin a
/// list (`- `, `+ `, `1. `) too.
fn escape_markdown(text: &str, line_start: bool, out: &mut String) {
    let leading_digits = text.chars().take_while(char::is_ascii_digit).count();
    for (i, c) in text.chars().enumerate() {
        let list_mark = line_start
            && ((i == 0 && matches!(c, '-' | '+'))
                || (leading_digits > 0 && i == leading_digits && matches!(c, '.' | ')')));
        if list_mark || MARKDOWN_SPECIALS.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// The reply's buttons, five to a row.
pub fn buttons(reply: &Reply) -> Vec<CreateActionRow> {
    let buttons: Vec<CreateButton> = reply
        .buttons
        .iter()
        .map(|b| {
            let style = match b.press {
                Press::Log { .. } => ButtonStyle::Primary,
                Press::Approve { .. }
                | Press::ConfirmPlaybook { .. }
                | Press::ProposeCalibration
                | Press::Acknowledge { .. } => ButtonStyle::Success,
                Press::AskApproval { .. } => ButtonStyle::Secondary,
            };
            CreateButton::new(b.press.encode())
                .label(cut(&plain(&b.label), BUTTON_LABEL_MAX))
                .style(style)
        })
        .take(BUTTONS_PER_ROW * ROWS_MAX)
        .collect();
    buttons
        .chunks(BUTTONS_PER_ROW)
        .map(|row| CreateActionRow::Buttons(row.to_vec()))
        .collect()
}

pub fn message(reply: &Reply) -> CreateInteractionResponseMessage {
    let mut m = CreateInteractionResponseMessage::new()
        .embed(embed(reply))
        .allowed_mentions(no_mentions())
        .ephemeral(reply.ephemeral);
    if let Some(notify) = &reply.notify {
        // The one person the reply calls on, pinged by id and nobody else; a key that is not a
        // Discord user id (a member known only by name) is shown as the name.
        match notify.user_key.parse::<u64>().ok().filter(|n| *n > 0) {
            Some(id) => {
                m = m
                    .content(format!("<@{id}>"))
                    .allowed_mentions(no_mentions().users(vec![UserId::new(id)]));
            }
            None => m = m.content(markdown(&user(&notify.display_name))),
        }
    }
    let rows = buttons(reply);
    if !rows.is_empty() {
        m = m.components(rows);
    }
    m
}

pub fn response(reply: &Reply) -> CreateInteractionResponse {
    CreateInteractionResponse::Message(message(reply))
}

/// The follow-up that replaces a deferred response, and the files to upload with it: the
/// reply's image (the digest chart) goes up as an attachment the embed shows. Only this path
/// and the outbox carry images; whether Discord takes a file in the very first, inline
/// response is unconfirmed (PROTOCOLS.md §8), so commands with an image are deferred.
pub fn edit(reply: &Reply) -> (EditInteractionResponse, Vec<CreateAttachment>) {
    let mut e = embed(reply);
    let mut files = Vec::new();
    let mut edit = EditInteractionResponse::new();
    if let Some(image) = &reply.image {
        e = e.image(format!("attachment://{}", image.file_name));
        let file = CreateAttachment::bytes(image.png.clone(), image.file_name.clone());
        // Listed in the JSON as attachment 0; uploaded as the multipart part `files[0]`.
        edit = edit.new_attachment(file.clone());
        files.push(file);
    }
    let edit = edit
        .embed(e)
        .components(buttons(reply))
        .allowed_mentions(no_mentions());
    (edit, files)
}

/// "Thinking…", shown while slow work runs; ephemeral when the answer will be.
pub fn deferred(ephemeral: bool) -> CreateInteractionResponse {
    CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(ephemeral))
}

pub fn choices(choices: &[Choice]) -> CreateInteractionResponse {
    let mut r = CreateAutocompleteResponse::new();
    for c in choices {
        r = r.add_string_choice(cut(&plain(&c.label), 100), cut(&c.value, 100));
    }
    CreateInteractionResponse::Autocomplete(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(r: &CreateInteractionResponse) -> serde_json::Value {
        serde_json::to_value(r).unwrap()
    }

    #[test]
    fn an_ephemeral_refusal_has_flag_64_buttons_and_no_mentions() {
        let reply = Reply::sample_refusal("❌ Log `discovery-call` @everyone");
        let v = json(&response(&reply));
        assert_eq!(v["type"], 4);
        assert_eq!(v["data"]["flags"], 64);
        assert_eq!(
            v["data"]["allowed_mentions"],
            serde_json::json!({"parse": [], "users": [], "roles": []})
        );
        assert_eq!(v["data"]["embeds"][0]["color"], 0xE67E22);
        let row = &v["data"]["components"][0]["components"];
        assert_eq!(row[0]["custom_id"], "dg1:log:3:discovery-call");
        assert_eq!(row[0]["label"], "Log discovery-call");
        assert_eq!(row[1]["custom_id"], "dg1:ask:3");
    }

    #[test]
    fn user_text_is_escaped_markdown_and_the_bots_own_markup_is_kept() {
        let line = format!(
            "**{}** by {} — `/deal show {}`",
            user("*x* [Verify](https://evil.example) <@1> @everyone ||s|| \\"),
            user("dana_"),
            user("a`b")
        );
        assert_eq!(
            markdown(&line),
            "**\\*x\\* \\[Verify\\](https\\://evil.example) \\<\\@1\\> \\@everyone \\|\\|s\\|\\| \\\\** \
             by dana\\_ — `/deal show aˋb`"
        );
    }

    #[test]
    fn user_text_at_the_start_of_a_line_cannot_open_a_list_heading_or_quote() {
        assert_eq!(markdown(&user("- item")), "\\- item");
        assert_eq!(markdown(&user("12. item")), "12\\. item");
        assert_eq!(markdown(&user("# Heading")), "\\# Heading");
        assert_eq!(markdown(&user("> quote")), "\\> quote");
        assert_eq!(markdown(&format!("x {}", user("- item"))), "x - item");
    }

    #[test]
    fn stored_text_without_marks_still_loses_its_line_breaks_and_escapes() {
        let v = json(&response(
            &Reply::new("Acme\n✅ Approved").line("a\u{1b}[31mb\u{202e}c"),
        ));
        let e = &v["data"]["embeds"][0];
        assert_eq!(e["title"], "Acme ✅ Approved");
        assert_eq!(e["description"], "a[31mbc");
    }

    #[test]
    fn a_public_reply_has_no_ephemeral_flag() {
        let v = json(&response(&Reply::new("deal-1 advanced to Solution")));
        assert!(v["data"].get("flags").is_none_or(|f| f == 0), "{v}");
    }

    #[test]
    fn stage_colours_run_through_the_palette_and_never_index_past_it() {
        let first = colour(Tone::Stage { index: 0, of: 3 });
        let last = colour(Tone::Stage { index: 2, of: 3 });
        assert_ne!(first, last);
        for of in 1..=20u8 {
            for index in 0..=of {
                colour(Tone::Stage { index, of });
            }
        }
    }

    #[test]
    fn long_text_is_cut_to_discords_limits() {
        let mut reply = Reply::new("t".repeat(300));
        reply.lines = vec!["x".repeat(5000)];
        let v = json(&response(&reply));
        let e = &v["data"]["embeds"][0];
        assert_eq!(e["title"].as_str().unwrap().chars().count(), TITLE_MAX);
        assert_eq!(
            e["description"].as_str().unwrap().chars().count(),
            DESCRIPTION_MAX
        );
    }
}
