//! Splitting a console line into words, shell-like but forgiving of everyday text.
//!
//! ```text
//! log deal-42 discovery-call "met the CFO"  → [log] [deal-42] [discovery-call] [met the CFO]
//! advance 42 override:'CFO signed off'      → [advance] [42] [override:CFO signed off]
//! lost 42 they don't have budget            → [lost] [42] [they] [don't] [have] [budget]
//! ```
//!
//! A quote opens only at the start of a word or right after `name:`, so apostrophes inside
//! words (`don't`) never start one. `"…"`, `'…'` and the curly `“…”` and `‘…’` that phones and
//! word processors substitute all group words. Inside quotes, `\` before the closing quote or
//! before another `\` makes it literal; any other `\` is kept as typed.

use std::iter::{Enumerate, Peekable};
use std::str::Chars;

use super::error::ParseError;

/// One word of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub text: String,
    /// The word began with a quote, so it is text even if it looks like `name:value`.
    pub quoted: bool,
}

/// The words of `line`, with quotes removed.
pub fn tokenize(line: &str) -> Result<Vec<String>, ParseError> {
    Ok(tokens(line)?.into_iter().map(|t| t.text).collect())
}

pub(crate) fn tokens(line: &str) -> Result<Vec<Token>, ParseError> {
    let mut out = Vec::new();
    let mut chars = line.chars().enumerate().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut text = String::new();
        let mut quoted = false;
        let mut had_quote = false;
        while let Some((at, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
            let may_open = !had_quote && (text.is_empty() || is_name_prefix(&text));
            match closing_quote(c).filter(|_| may_open) {
                Some(close) => {
                    quoted = text.is_empty();
                    had_quote = true;
                    read_quoted(&mut chars, &mut text, c, close, at)?;
                }
                None => text.push(c),
            }
        }
        out.push(Token { text, quoted });
    }
}

/// Reads up to the closing quote, which it consumes.
fn read_quoted(
    chars: &mut Peekable<Enumerate<Chars<'_>>>,
    text: &mut String,
    open: char,
    close: char,
    at: usize,
) -> Result<(), ParseError> {
    while let Some((_, c)) = chars.next() {
        if c == close {
            return Ok(());
        }
        if c == '\\'
            && let Some((_, escaped)) = chars.next_if(|(_, n)| *n == close || *n == '\\')
        {
            text.push(escaped);
            continue;
        }
        text.push(c);
    }
    Err(ParseError::UnclosedQuote {
        open,
        close,
        at: at + 1,
    })
}

fn closing_quote(open: char) -> Option<char> {
    match open {
        '"' => Some('"'),
        '\'' => Some('\''),
        '“' => Some('”'),
        '‘' => Some('’'),
        _ => None,
    }
}

/// `name:` with a name-like prefix: a quote may open right after it.
fn is_name_prefix(text: &str) -> bool {
    text.strip_suffix(':').is_some_and(|name| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-')
    })
}

/// `s` as one word that `tokens` reads back exactly and never as `name:value`: bare when that
/// is unambiguous, otherwise in double quotes with `\` and `"` escaped.
pub(crate) fn quote_if_needed(s: &str) -> String {
    let bare = !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c == ':' || closing_quote(c).is_some());
    if bare {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}
