//! Helpers for the digest and scheduler tests: a schedule set through the service, and running
//! the scheduler and the delivery worker the way `serve` does, one tick at a time.

#![allow(dead_code)] // Each test binary uses a different subset.

use chrono::{DateTime, NaiveTime, Utc};
use dealgate::jobs::outbox::{DeliveryReport, deliver_due};
use dealgate::jobs::scheduler::{TickReport, tick};
use std::collections::VecDeque;
use std::sync::Mutex;

use dealgate::jobs::message::OutboxMessage;
use dealgate::jobs::outbox::{Delivered, SendError, Sender};
use dealgate::service::{Service, Session};

/// Schedules the digest for `#managers` at `hh:mm` in `zone`, weekdays only.
pub async fn digest_at(service: &Service, admin: &Session, hh: u32, mm: u32, zone: &str) {
    let zone = dealgate::engine::schedule::parse_zone(zone).expect("a real zone");
    service
        .setup_digest(
            admin,
            "managers",
            NaiveTime::from_hms_opt(hh, mm, 0).unwrap(),
            zone,
            true,
            None,
        )
        .await
        .expect("schedule the digest");
}

/// One scheduler tick and one delivery pass at `now`.
pub async fn tick_and_deliver(
    service: &Service,
    sender: &RecordingSender,
    now: DateTime<Utc>,
) -> (TickReport, DeliveryReport) {
    let ticked = tick(service, now).await.expect("tick");
    let delivered = deliver_due(service, sender).await.expect("deliver");
    (ticked, delivered)
}

/// A `Sender` for tests: it records every message it accepts and can be scripted to fail
/// first, the way a platform's API does under load.
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
