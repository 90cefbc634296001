//! Adapters: each turns a platform's payloads into command invocations and renders `Reply`.

pub mod console;
pub mod detached;
pub mod discord;
pub mod freshness;
pub mod server;
pub mod slack;

/// At most `max` characters, with an ellipsis when cut: every platform limits the length of
/// titles, fields, labels and descriptions, and refuses a message that goes over.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}
