//! The outbox delivery worker: sends what scheduled jobs (and, later, use cases) wrote to the
//! outbox, through a platform `Sender`, with exponential backoff. A message is never dropped: a
//! temporary failure is retried (after the platform's `retry_after` when it gives one), a
//! permanent one is kept as `failed` with its last error for `dealgate outbox` to show.
//!
//! Several workers (replicas) may run at once: each takes a message by a conditional update of
//! its next-attempt time (a lease) before sending, so only one of them sends it; the per-message
//! nonce covers the remaining case of a send that timed out but did arrive.

use std::future::Future;

use chrono::Duration;

use super::message::OutboxMessage;
use crate::service::{Service, ServiceResult};
use crate::telemetry;

/// What the platform said when a message was accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivered {
    /// The platform's id for the message, if it has one.
    pub remote_id: Option<String>,
}

/// Why a send failed, and whether to try again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// A timeout, a 5xx or a 429: try again, no sooner than `after` when the platform said so.
    #[error("temporary failure: {reason}")]
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// The platform refuses this message for good (unknown channel, no permission).
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// A delivery of several platform calls failed after finishing `done` (the sender's own
    /// note, e.g. that the chart is already in the channel). The worker keeps the note with the
    /// message and hands it back on the next attempt (`OutboxMessage::progress`), so that
    /// attempt does not repeat what people have already seen.
    #[error("{error} (after: {done})")]
    Partly { done: String, error: Box<SendError> },
}

impl SendError {
    /// The error with what this attempt finished, if anything.
    pub fn after(self, done: Option<String>) -> Self {
        match done {
            Some(done) => Self::Partly {
                done,
                error: Box::new(self),
            },
            None => self,
        }
    }
}

/// A platform's way of posting a message: the console prints, Discord posts over REST.
pub trait Sender: Send + Sync {
    fn send(
        &self,
        message: &OutboxMessage,
    ) -> impl Future<Output = Result<Delivered, SendError>> + Send;
}

/// First retry after this long; each further one waits twice as long as the last.
pub const BACKOFF_BASE_SECONDS: i64 = 5;
/// Retries are never further apart than this.
pub const BACKOFF_CAP_SECONDS: i64 = 3_600;
/// How long one attempt holds a message before another worker may take it.
pub const LEASE_SECONDS: i64 = 120;
/// Messages taken per pass.
const BATCH: i64 = 50;

/// The wait before attempt `attempts + 1`, after `attempts` failures: 5 s, 10 s, 20 s, … 1 h.
pub fn backoff(attempts: u32) -> Duration {
    let factor = 1_i64 << attempts.min(20);
    Duration::seconds((BACKOFF_BASE_SECONDS * factor).min(BACKOFF_CAP_SECONDS))
}

/// What one pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// Sends every message due at the clock's `now`, once each.
pub async fn deliver_due<S: Sender>(
    service: &Service,
    sender: &S,
) -> ServiceResult<DeliveryReport> {
    let mut report = DeliveryReport::default();
    for queued in service.due_messages(BATCH).await? {
        let id = queued.id;
        if !service
            .lease_message(&queued, Duration::seconds(LEASE_SECONDS))
            .await?
        {
            continue; // Another worker has it.
        }
        let message = match OutboxMessage::try_from(queued) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(message = id, error = %e, "outbox message cannot be read; kept as failed");
                service
                    .message_failed(id, &e.to_string(), None, None)
                    .await?;
                report.failed += 1;
                continue;
            }
        };
        let (outcome, progress) = match sender.send(&message).await {
            Ok(delivered) => (Ok(delivered), None),
            Err(SendError::Partly { done, error }) => (Err(*error), Some(done)),
            Err(e) => (Err(e), None),
        };
        let progress = progress.as_deref();
        match outcome {
            Ok(delivered) => {
                service
                    .message_sent(id, delivered.remote_id.as_deref())
                    .await?;
                telemetry::delivery(message.platform.as_str(), "sent");
                report.sent += 1;
            }
            Err(SendError::Permanent(reason)) => {
                telemetry::delivery(message.platform.as_str(), "failed");
                tracing::error!(message = id, target = %message.target, %reason, "outbox delivery failed for good; kept for `dealgate outbox`");
                service.message_failed(id, &reason, None, progress).await?;
                report.failed += 1;
            }
            Err(SendError::Retry { after, reason }) => {
                // A wait given by the platform is its rate limit (a 429's `retry_after`).
                let result = if after.is_some() {
                    "rate_limited"
                } else {
                    "retried"
                };
                telemetry::delivery(message.platform.as_str(), result);
                let wait = after.unwrap_or_else(|| backoff(message.attempts));
                let next = service.clock().now() + wait;
                tracing::warn!(message = id, attempts = message.attempts + 1, %reason, retry_at = %next, "outbox delivery will be retried");
                service
                    .message_failed(id, &reason, Some(next), progress)
                    .await?;
                report.retrying += 1;
            }
            // A sender reports one step of progress; a nested one is a bug in the sender, and
            // retrying is the safe reading of it.
            Err(e @ SendError::Partly { .. }) => {
                telemetry::delivery(message.platform.as_str(), "retried");
                let next = service.clock().now() + backoff(message.attempts);
                service
                    .message_failed(id, &e.to_string(), Some(next), progress)
                    .await?;
                report.retrying += 1;
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_and_stops_at_an_hour() {
        let secs: Vec<i64> = (0..6).map(|n| backoff(n).num_seconds()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160]);
        assert_eq!(backoff(30).num_seconds(), 3_600);
    }
}
