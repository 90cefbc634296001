//! `Reply` → Slack Block Kit: a section with the title, the lines as mrkdwn, the fields side by
//! side, buttons in an actions block, and `response_type` ephemeral for refusals and personal
//! views or `in_channel` for what the channel should see.
//!
//! All text is escaped (`&`, `<`, `>`) before the reply's `**bold**` becomes Slack's `*bold*`,
//! so a deal called `<!channel>` or `<@U123>` is shown as typed and pings nobody. The one
//! exception is a channel link `<#C123|sales>` (a digest channel the admin picked), which links
//! but cannot notify anyone.
//!
//! User text (what `commands::user_text::user` marked) must not format either, and mrkdwn has
//! no escape character: a backslash shows as itself and `*x*` is bold wherever it stands. So in
//! user text the four formatting characters become look-alikes that format nothing (`*` → `∗`,
//! `_` → `ˍ`, `~` → `∼`, `` ` `` → `ˋ`), and a `>` that would open a quote at the start of a
//! line becomes `＞`. The text still reads as typed; what is lost is only the ability to copy
//! those four characters back out of Slack exactly. Channel links are made only from the bot's
//! own text, never from a person's.

use serde_json::{Value, json};

use super::dispatch::CATCH_ALL;
use crate::chat::cut;
use crate::commands::catalogue::CATALOGUE;
use crate::commands::press::Press;
use crate::commands::reply::{Reply, Tone};
use crate::commands::user_text::{self, Piece, pieces, plain, user};

/// Slack's limits, in characters and counts.
const SECTION_TEXT_MAX: usize = 3000;
const FIELD_TEXT_MAX: usize = 2000;
const FIELDS_PER_SECTION: usize = 10;
const BUTTON_TEXT_MAX: usize = 75;
const BUTTONS_PER_BLOCK: usize = 25;
const BLOCKS_MAX: usize = 50;
/// The notification text of a message; Slack cuts longer ones itself, we cut them legibly.
const FALLBACK_MAX: usize = 3000;

/// `reply` with the commands it names written as `/dealgate advance …` where `short` is false:
/// how a person who typed `/dealgate …` (or pressed a button, or reads a digest) reaches them.
/// Every install has `/dealgate`; the short commands only when the manifest added them.
pub fn as_typed(reply: &Reply, short: bool) -> Reply {
    // `/help` is never a slash command of its own on Slack (a workspace's is too likely taken).
    let text = |t: &str| user_text::map_bot(t, |bot| namespaced(bot, short));
    let mut typed = reply.clone();
    typed.title = text(&typed.title);
    for line in &mut typed.lines {
        *line = text(line);
    }
    for field in &mut typed.fields {
        field.name = text(&field.name);
        field.value = text(&field.value);
    }
    if let Some(announce) = &typed.announce {
        typed.announce = Some(Box::new(as_typed(announce, short)));
    }
    typed
}

/// `` `/advance `` → `` `/dealgate advance ``, for every first word of a command (with `short`,
/// for `help` only).
fn namespaced(text: &str, short: bool) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(at) = rest.find("`/") {
        out.push_str(&rest[..at + 2]);
        rest = &rest[at + 2..];
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let command = CATALOGUE
            .iter()
            .any(|spec| spec.name.split(' ').next() == Some(word.as_str()));
        if command && (!short || word == "help") {
            out.push_str(CATCH_ALL);
            out.push(' ');
        }
    }
    out.push_str(rest);
    out
}

/// A reply as a response to a slash command or through a `response_url`.
pub fn response(reply: &Reply) -> Value {
    let mut v = message(reply);
    v["response_type"] = json!(if reply.ephemeral {
        "ephemeral"
    } else {
        "in_channel"
    });
    v
}

/// `text` (the notification fallback) and `blocks`, as `chat.postMessage` takes them.
pub fn message(reply: &Reply) -> Value {
    json!({"text": fallback(reply), "blocks": blocks(reply)})
}

/// The plain text shown in notifications and by clients that cannot show blocks.
pub fn fallback(reply: &Reply) -> String {
    let mut text = unformatted(&reply.title);
    if let Some(first) = reply.lines.first() {
        text.push_str(": ");
        text.push_str(&unformatted(first));
    }
    cut(&text, FALLBACK_MAX)
}

pub fn blocks(reply: &Reply) -> Vec<Value> {
    let mut blocks = Vec::new();
    if let Some(notify) = &reply.notify {
        // The one person the reply calls on; only a real Slack user id is put in a mention.
        let key = &notify.user_key;
        let who = if is_slack_id(key) {
            format!("<@{key}>")
        } else {
            mrkdwn(&user(&notify.display_name))
        };
        blocks.push(section(&format!("{who}, {}", escape(&notify.why))));
    }
    blocks.push(section(&format!(
        "{}*{}*",
        marker(reply.tone),
        mrkdwn(&reply.title)
    )));
    let mut text = String::new();
    for line in &reply.lines {
        let line = mrkdwn(line);
        if !text.is_empty() && text.chars().count() + line.chars().count() + 1 > SECTION_TEXT_MAX {
            blocks.push(section(&text));
            text.clear();
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&line);
    }
    if !text.is_empty() {
        blocks.push(section(&text));
    }
    for chunk in reply.fields.chunks(FIELDS_PER_SECTION) {
        let fields: Vec<Value> = chunk
            .iter()
            .map(|f| {
                let value = mrkdwn(&f.value);
                let value = if value.trim().is_empty() { "—".to_string() } else { value };
                json!({"type": "mrkdwn", "text": cut(&format!("*{}*\n{value}", mrkdwn(&f.name)), FIELD_TEXT_MAX)})
            })
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    if let Some(image) = &reply.image {
        blocks.push(json!({"type": "context", "elements": [{
            "type": "mrkdwn",
            "text": format!(
                "The chart ({}) is posted with the scheduled digest.",
                escape(&image.file_name)
            ),
        }]}));
    }
    let buttons = buttons(reply);
    for chunk in buttons.chunks(BUTTONS_PER_BLOCK) {
        blocks.push(json!({"type": "actions", "elements": chunk}));
    }
    blocks.truncate(BLOCKS_MAX);
    blocks
}

/// The reply's buttons. Each `value` is a versioned press (`dg1:log:42:discovery-call`) that
/// comes back verbatim, and is parsed as untrusted, when pressed.
fn buttons(reply: &Reply) -> Vec<Value> {
    reply
        .buttons
        .iter()
        .enumerate()
        .map(|(i, b)| button(&format!("dg-{i}"), &b.label, &b.press))
        .collect()
}

fn button(action_id: &str, label: &str, press: &Press) -> Value {
    let mut b = json!({
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": cut(&plain(label), BUTTON_TEXT_MAX)},
        "value": press.encode(),
    });
    match press {
        Press::Log { .. }
        | Press::Approve { .. }
        | Press::ConfirmPlaybook { .. }
        | Press::ProposeCalibration
        | Press::Acknowledge { .. } => b["style"] = json!("primary"),
        Press::AskApproval { .. } => {}
    }
    b
}

/// A Slack user id (`U024BE7LH`, `W…`): only such ids are ever put in a mention.
fn is_slack_id(key: &str) -> bool {
    (2..=32).contains(&key.len())
        && key.starts_with(['U', 'W'])
        && key
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_TEXT_MAX)}})
}

fn marker(tone: Tone) -> &'static str {
    match tone {
        Tone::Info => "",
        Tone::Success => "✅ ",
        Tone::Refusal => "✋ ",
        Tone::Error => "⚠️ ",
        Tone::Stage { .. } => "▶️ ",
    }
}

/// Slack's three control characters, escaped as Slack asks.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One line as mrkdwn: the bot's pieces escaped with the reply model's `**bold**` as Slack's
/// `*bold*` and its channel links kept; the user's escaped and made inert.
fn mrkdwn(text: &str) -> String {
    let mut out = String::new();
    for piece in pieces(text) {
        match piece {
            Piece::Bot(s) => out.push_str(&relink_channels(&escape(&s).replace("**", "*"))),
            Piece::User(s) => {
                let line_start = out.trim_start().is_empty();
                out.push_str(&inert(&s, line_start));
            }
        }
    }
    out
}

/// The notification text: like `mrkdwn` but without the bot's bold and without links.
fn unformatted(text: &str) -> String {
    let mut out = String::new();
    for piece in pieces(text) {
        match piece {
            Piece::Bot(s) => out.push_str(&escape(&s.replace("**", ""))),
            Piece::User(s) => {
                let line_start = out.trim_start().is_empty();
                out.push_str(&inert(&s, line_start));
            }
        }
    }
    out
}

/// User text escaped, with mrkdwn's formatting characters traded for look-alikes that format
/// nothing (mrkdwn has no escape), and a quote at the start of a line disarmed.
fn inert(text: &str, line_start: bool) -> String {
    let text = match text.strip_prefix('>') {
        Some(rest) if line_start => format!("\u{FF1E}{rest}"),
        _ => text.to_string(),
    };
    let text: String = text
        .chars()
        .map(|c| match c {
            '*' => '\u{2217}',
            '_' => '\u{02CD}',
            '~' => '\u{223C}',
            '`' => '\u{02CB}',
            other => other,
        })
        .collect();
    escape(&text)
}

/// Turns an escaped `&lt;#C024BE7LR|sales&gt;` back into a channel link. Only that exact shape
/// (an id of capitals and digits, a name of lowercase letters, digits, `-`, `_`, `.`) is
/// relinked: a channel link shows a name and notifies nobody.
fn relink_channels(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len());
    let mut rest = escaped;
    while let Some(start) = rest.find("&lt;#") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 5..];
        let link = after.find("&gt;").and_then(|end| {
            let (id, name) = after[..end].split_once('|')?;
            let id_ok = !id.is_empty()
                && id.len() <= 32
                && id
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            let name_ok = name.len() <= 80
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
            (id_ok && name_ok).then(|| (format!("<#{id}|{name}>"), end + 4))
        });
        match link {
            Some((text, used)) => {
                out.push_str(&text);
                rest = &after[used..];
            }
            None => {
                out.push_str("&lt;#");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_named_as_the_person_reaches_them_and_typed_text_is_left_alone() {
        let reply = Reply::new("deal-3 can't leave Qualify yet")
            .line(format!(
                "log it: `/log deal-3 discovery-call`; `/help advance` explains; {}",
                user("Ann wrote `/won`")
            ))
            .line("`/dealgate help` and `/unknown` stay; so does /advance without backticks");
        let namespaced = as_typed(&reply, false);
        assert_eq!(
            plain(&namespaced.lines[0]),
            "log it: `/dealgate log deal-3 discovery-call`; `/dealgate help advance` explains; \
             Ann wrote `/won`"
        );
        assert_eq!(namespaced.lines[1], reply.lines[1]);
        let short = as_typed(&reply, true);
        assert_eq!(
            plain(&short.lines[0]),
            "log it: `/log deal-3 discovery-call`; `/dealgate help advance` explains; Ann wrote \
             `/won`"
        );
    }

    #[test]
    fn a_refusal_is_ephemeral_with_versioned_buttons() {
        let reply = Reply::sample_refusal("❌ Log `discovery-call`: `/log deal-3 discovery-call`");
        let v = response(&reply);
        assert_eq!(v["response_type"], "ephemeral");
        assert_eq!(
            v["blocks"][0]["text"]["text"],
            "✋ *deal-3 can't leave Qualify yet*"
        );
        let actions = v["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "actions")
            .unwrap();
        assert_eq!(actions["elements"][0]["value"], "dg1:log:3:discovery-call");
        assert_eq!(actions["elements"][0]["text"]["text"], "Log discovery-call");
        assert_eq!(actions["elements"][1]["value"], "dg1:ask:3");
        assert_ne!(
            actions["elements"][0]["action_id"],
            actions["elements"][1]["action_id"]
        );
    }

    #[test]
    fn user_text_cannot_ping_or_break_markup_but_bold_and_channel_links_survive() {
        let reply = Reply::new("Deal <!channel> & co")
            .line("**Owner** <@U123> said <!here> at <#C024BE7LR|sales>")
            .field("Name", "<https://evil|click>");
        let v = response(&reply);
        assert_eq!(v["response_type"], "in_channel");
        let all = v.to_string();
        assert!(
            !all.contains("<!channel>") && !all.contains("<!here>"),
            "{all}"
        );
        assert!(!all.contains("<@U123>") && !all.contains("<https"), "{all}");
        assert_eq!(
            v["blocks"][0]["text"]["text"],
            "*Deal &lt;!channel&gt; &amp; co*"
        );
        assert_eq!(
            v["blocks"][1]["text"]["text"],
            "*Owner* &lt;@U123&gt; said &lt;!here&gt; at <#C024BE7LR|sales>"
        );
        assert_eq!(
            v["text"],
            "Deal &lt;!channel&gt; &amp; co: Owner &lt;@U123&gt; said &lt;!here&gt; at &lt;#C024BE7LR|sales&gt;"
        );
    }

    #[test]
    fn user_text_formats_nothing_and_links_no_channel() {
        let line = format!(
            "**{}** by {}",
            user("*b* _i_ ~s~ `c` <#C024BE7LR|sales> & <!here>"),
            user("dana")
        );
        assert_eq!(
            mrkdwn(&line),
            "*∗b∗ ˍiˍ ∼s∼ ˋcˋ &lt;#C024BE7LR|sales&gt; &amp; &lt;!here&gt;* by dana"
        );
        assert_eq!(mrkdwn(&user("> quote")), "＞ quote");
        assert_eq!(mrkdwn(&format!("x {}", user("> q"))), "x &gt; q");
    }

    #[test]
    fn stored_text_without_marks_still_loses_its_line_breaks() {
        let v = response(&Reply::new("Acme\n✅ Approved").line("a\u{1b}[31mb\u{2066}c"));
        assert_eq!(v["blocks"][0]["text"]["text"], "*Acme ✅ Approved*");
        assert_eq!(v["blocks"][1]["text"]["text"], "a[31mbc");
    }

    #[test]
    fn only_well_formed_channel_links_are_relinked() {
        assert_eq!(relink_channels("&lt;#C1|a b&gt;"), "&lt;#C1|a b&gt;");
        assert_eq!(relink_channels("&lt;#c1|ab&gt;"), "&lt;#c1|ab&gt;");
        assert_eq!(relink_channels("&lt;#C1|ab"), "&lt;#C1|ab");
        assert_eq!(relink_channels("x &lt;#C1|ab&gt; y"), "x <#C1|ab> y");
    }

    #[test]
    fn long_replies_stay_within_slacks_limits() {
        let mut reply = Reply::new("t".repeat(4000));
        reply.lines = (0..200)
            .map(|i| format!("line {i} {}", "x".repeat(100)))
            .collect();
        for i in 0..25 {
            reply = reply.field(format!("f{i}"), "y".repeat(3000));
        }
        let blocks = blocks(&reply);
        assert!(blocks.len() <= BLOCKS_MAX);
        for b in &blocks {
            if let Some(t) = b["text"]["text"].as_str() {
                assert!(t.chars().count() <= SECTION_TEXT_MAX);
            }
            for f in b["fields"].as_array().into_iter().flatten() {
                assert!(f["text"].as_str().unwrap().chars().count() <= FIELD_TEXT_MAX);
            }
        }
        let lines: usize = blocks
            .iter()
            .filter_map(|b| b["text"]["text"].as_str())
            .map(|t| t.matches("line ").count())
            .sum();
        assert_eq!(lines, 200, "no line is lost when the text is split");
    }
}
