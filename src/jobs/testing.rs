//! A `Sender` for tests: it records every message it accepts and can be scripted to fail first,
//! the way a platform's API does under load.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::message::OutboxMessage;
use super::outbox::{Delivered, SendError, Sender};

/// Records accepted messages; answers with the scripted failures first, in order.
#[derive(Debug, Default)]
pub struct RecordingSender {
    script: Mutex<VecDeque<SendError>>,
    accepted: Mutex<Vec<OutboxMessage>>,
    attempts: Mutex<Vec<String>>,
}

impl RecordingSender {
    pub fn new() -> Self {
        Self::default()
    }

    /// Fails the next sends with these errors, one per attempt, before accepting.
    pub fn failing_with(errors: impl IntoIterator<Item = SendError>) -> Self {
        Self {
            script: Mutex::new(errors.into_iter().collect()),
            ..Self::default()
        }
    }

    /// Every message accepted, in order.
    pub fn accepted(&self) -> Vec<OutboxMessage> {
        self.accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The nonce of every attempt, failed ones included.
    pub fn attempts(&self) -> Vec<String> {
        self.attempts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Sender for RecordingSender {
    async fn send(&self, message: &OutboxMessage) -> Result<Delivered, SendError> {
        self.attempts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message.nonce.clone());
        if let Some(error) = self
            .script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
        {
            return Err(error);
        }
        // Every acceptance is kept, repeats included, so a test can tell a duplicate post.
        let mut accepted = self.accepted.lock().unwrap_or_else(|e| e.into_inner());
        accepted.push(message.clone());
        Ok(Delivered {
            remote_id: Some(format!("m{}", accepted.len())),
        })
    }
}
