//! User text inside a reply, marked so each renderer can escape it for itself.
//!
//! A reply line mixes the bot's own markup (`**bold**`, `` `code` ``) with what people typed: a
//! deal's name, a member's name, a reason. Escaping whole lines in a renderer would break the
//! bot's markup; escaping user text in the builders would need to know the platform, and Discord
//! Markdown, Slack mrkdwn and a terminal each need something different. So a builder wraps what
//! a person typed in `user(…)`, which puts it between two private-use characters no keyboard
//! produces (and input refuses), and each renderer walks a line's `pieces`: the bot's pieces it
//! formats as before, the user's it escapes so they can never form a line, a link, a mention or
//! a colour. Every piece is also flattened to one line with the control and invisible characters
//! gone, so a name stored before input refused them (or marked by no builder at all) still
//! cannot forge a line or reach a terminal as an escape sequence.
//!
//! The marks survive the outbox, which stores a reply's text as it is. A mark cut off by a length
//! limit leaves the rest of the line as user text: escaping too much is the safe side.
//!
//! ```text
//! format!("{} moved **{}**", user("Dana"), user("Acme *Corp*"))
//!   Discord:  Dana moved **Acme \*Corp\***
//!   terminal: Dana moved Acme *Corp*
//! ```

use crate::engine::text::{USER_TEXT_END, USER_TEXT_START, mark_user, one_line};

/// `text`, typed by a person, marked as such for the renderers; on one line, without control or
/// invisible characters (and so without marks of its own).
pub fn user(text: impl AsRef<str>) -> String {
    mark_user(text.as_ref())
}

/// A run of a reply's text: the bot's own words and markup, or what a person typed. Both are
/// already on one line, without control or invisible characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Bot(String),
    User(String),
}

/// The pieces of one line (a title, a line, a field's name or value), in order; empty ones left
/// out. A mark that is never closed makes the rest user text; a stray end mark is dropped.
pub fn pieces(text: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (bot, after) = match rest.find(USER_TEXT_START) {
            Some(at) => (&rest[..at], Some(&rest[at + USER_TEXT_START.len_utf8()..])),
            None => (rest, None),
        };
        push(&mut pieces, Piece::Bot(one_line(bot)));
        let Some(after) = after else { break };
        let (typed, next) = match after.find(USER_TEXT_END) {
            Some(at) => (&after[..at], &after[at + USER_TEXT_END.len_utf8()..]),
            None => (after, ""),
        };
        push(&mut pieces, Piece::User(one_line(typed)));
        rest = next;
    }
    pieces
}

/// `text` with `f` applied to the bot's own words only: what a person typed, and its marks,
/// stay as they were.
pub fn map_bot(text: &str, f: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let Some(at) = rest.find(USER_TEXT_START) else {
            out.push_str(&f(rest));
            break;
        };
        out.push_str(&f(&rest[..at]));
        let typed = &rest[at..];
        let end = typed
            .find(USER_TEXT_END)
            .map_or(typed.len(), |e| e + USER_TEXT_END.len_utf8());
        out.push_str(&typed[..end]);
        rest = &typed[end..];
    }
    out
}

fn push(pieces: &mut Vec<Piece>, piece: Piece) {
    let empty = match &piece {
        Piece::Bot(s) | Piece::User(s) => s.is_empty(),
    };
    if !empty {
        pieces.push(piece);
    }
}

/// The text with its marks removed and every piece on one line, for places that show plain text
/// (a button label, an autocomplete choice, a log line).
pub fn plain(text: &str) -> String {
    pieces(text)
        .into_iter()
        .map(|p| match p {
            Piece::Bot(s) | Piece::User(s) => s,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot(s: &str) -> Piece {
        Piece::Bot(s.to_string())
    }
    fn typed(s: &str) -> Piece {
        Piece::User(s.to_string())
    }

    #[test]
    fn marked_text_comes_back_as_user_pieces_between_the_bots() {
        let line = format!("{} moved **{}** on", user("Dana"), user("Acme"));
        assert_eq!(
            pieces(&line),
            vec![typed("Dana"), bot(" moved **"), typed("Acme"), bot("** on")]
        );
        assert_eq!(plain(&line), "Dana moved **Acme** on");
    }

    #[test]
    fn user_text_cannot_forge_a_mark_or_a_line() {
        let hostile = format!("Acme{USER_TEXT_END}**\n✅ Approved{USER_TEXT_START}");
        let line = format!("Deal {}", user(&hostile));
        assert_eq!(
            pieces(&line),
            vec![bot("Deal "), typed("Acme** ✅ Approved")]
        );
    }

    #[test]
    fn stored_text_without_marks_is_flattened_and_an_unclosed_mark_runs_to_the_end() {
        assert_eq!(pieces("a\nb\u{1b}[31m"), vec![bot("a b[31m")]);
        let cut = format!("x {USER_TEXT_START}Acme *Co");
        assert_eq!(pieces(&cut), vec![bot("x "), typed("Acme *Co")]);
        assert_eq!(pieces(&format!("a{USER_TEXT_END}b")), vec![bot("ab")]);
        assert_eq!(pieces(""), vec![]);
    }
}
