//! Which characters people never mean to type, and what to do with them.
//!
//! A deal name is read back in a channel, in a terminal and in a digest. Characters that
//! cannot be seen there can still act: a newline forges a line of the bot's reply, ESC starts a
//! terminal colour, a right-to-left override turns `gpj.exe` into `exe.jpg`, a zero-width space
//! makes two equal-looking names differ. Names refuse them at the edge (so the reply can say
//! which one and where); free prose (notes, reasons) keeps its meaning with the line breaks
//! turned into spaces; and renderers flatten whatever was stored before these rules existed.
//!
//! ```text
//! first_forbidden("Acme\u{1b}[31m") → Some((5, '\u{1b}'))
//! one_line("met the CFO\nand the CTO") → "met the CFO and the CTO"
//! ```

/// True for a character that has no business in a name or a line of text: C0 and C1 controls
/// (newline, tab and ESC among them) and DEL, the line and paragraph separators, the bidi
/// embeddings, overrides, isolates and marks, zero-width spaces and joiners, the word joiner
/// and invisible operators, the byte order mark, the interlinear annotation marks, and the
/// private-use characters the reply model uses to mark user text.
pub fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'              // Arabic letter mark
            | '\u{180E}'            // Mongolian vowel separator (zero-width)
            | '\u{200B}'..='\u{200F}' // zero-width space, non-joiner, joiner; LRM, RLM
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}'            // byte order mark, zero-width no-break space
            | '\u{FFF9}'..='\u{FFFB}' // interlinear annotation
            | USER_TEXT_START
            | USER_TEXT_END
        )
}

/// Where the reply model marks the start and end of user text inside a line (see
/// `commands::user_text`). Private-use characters, so no keyboard produces them, and
/// forbidden in input so typed text cannot forge a mark.
pub const USER_TEXT_START: char = '\u{E000}';
pub const USER_TEXT_END: char = '\u{E001}';

/// `text`, typed by a person, between the marks, on one line and without forbidden characters
/// (its own marks included). `commands::user_text::user` is the name builders use; the service
/// marks the few names it puts in its refusals with this.
pub fn mark_user(text: &str) -> String {
    let text = one_line(text);
    let mut out = String::with_capacity(text.len() + 2 * USER_TEXT_START.len_utf8());
    out.push(USER_TEXT_START);
    out.push_str(&text);
    out.push(USER_TEXT_END);
    out
}

/// The first forbidden character and its position, counted in characters from 1 as a person
/// would count them.
pub fn first_forbidden(text: &str) -> Option<(usize, char)> {
    text.chars()
        .enumerate()
        .find(|(_, c)| is_forbidden(*c))
        .map(|(i, c)| (i + 1, c))
}

/// `U+001B`, the way a reply names a character that cannot be shown.
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// The text on one line: every line break or tab becomes one space (runs of them one space),
/// every other forbidden character is dropped.
pub fn one_line(text: &str) -> String {
    if !text.chars().any(is_forbidden) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_break(c) {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else if !is_forbidden(c) {
            out.push(c);
        }
    }
    out
}

/// Characters that separate words or lines, so dropping them would glue words together.
fn is_break(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_bidi_and_invisible_characters_are_forbidden_and_ordinary_text_is_not() {
        for c in [
            '\0',
            '\t',
            '\n',
            '\r',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            '\u{9b}',
            '\u{200b}',
            '\u{200d}',
            '\u{200e}',
            '\u{2028}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{2060}',
            '\u{feff}',
            USER_TEXT_START,
            USER_TEXT_END,
        ] {
            assert!(is_forbidden(c), "{}", code_point(c));
        }
        for c in [
            'a', 'É', 'ß', '中', 'ا', ' ', '-', '*', '<', '@', '€', '🎉', '\u{a0}',
        ] {
            assert!(!is_forbidden(c), "{}", code_point(c));
        }
    }

    #[test]
    fn the_first_forbidden_character_is_found_with_its_position_from_one() {
        assert_eq!(first_forbidden("Acme\u{1b}[31m"), Some((5, '\u{1b}')));
        assert_eq!(first_forbidden("\u{202e}gpj.exe"), Some((1, '\u{202e}')));
        assert_eq!(first_forbidden("Café Ünïcode · 中文"), None);
        assert_eq!(code_point('\u{1b}'), "U+001B");
        assert_eq!(code_point('\u{202e}'), "U+202E");
    }

    #[test]
    fn one_line_turns_breaks_into_one_space_and_drops_the_invisible() {
        assert_eq!(
            one_line("met the CFO\r\nand\tthe CTO"),
            "met the CFO and the CTO"
        );
        assert_eq!(one_line("Acme\n✅ Approved"), "Acme ✅ Approved");
        assert_eq!(one_line("\u{1b}[31mred\u{1b}[0m"), "[31mred[0m");
        assert_eq!(one_line("a\u{200b}b\u{202e}c"), "abc");
        assert_eq!(one_line("plain"), "plain");
    }
}
