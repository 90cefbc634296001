//! The console's `Sender`: scheduled messages printed to a terminal, for `dealgate serve`
//! without a chat platform and for the dry runs.

use std::io::Write;
use std::sync::Mutex;

use crate::jobs::message::OutboxMessage;
use crate::jobs::outbox::{Delivered, SendError, Sender};

/// Prints each message to a writer as the console renders it: `dealgate serve` without a chat
/// platform, and the dry runs.
pub struct ConsoleSender<W: Write + Send> {
    out: Mutex<W>,
}

impl<W: Write + Send> ConsoleSender<W> {
    pub fn new(out: W) -> Self {
        Self {
            out: Mutex::new(out),
        }
    }
}

impl<W: Write + Send> Sender for ConsoleSender<W> {
    async fn send(&self, message: &OutboxMessage) -> Result<Delivered, SendError> {
        let text = format!(
            "→ {}\n{}",
            crate::engine::text::one_line(&message.target.to_string()),
            super::render(&message.reply)
        );
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| SendError::Retry {
                after: None,
                reason: format!("write to the terminal: {e}"),
            })?;
        Ok(Delivered::default())
    }
}
