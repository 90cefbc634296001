//! The outbox as use cases: what is due, taking a message for one attempt (a lease), and
//! recording how the attempt went. The delivery loop (`jobs::outbox`) keeps the schedule and the
//! platform senders; everything it reads or writes passes through here.

use chrono::{DateTime, TimeDelta, Utc};

use crate::store::jobs;
pub use crate::store::jobs::{MessageStatus, Target};

use super::{Platform, Service, ServiceResult};

/// A message to queue: where it goes and its content, serialized by the caller (the reply model
/// belongs to the layer above).
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub target: Target,
    pub payload: String,
    /// A file to attach: name and bytes.
    pub image: Option<(String, Vec<u8>)>,
}

/// A message as the outbox keeps it, with the platform whose sender takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedMessage {
    pub id: i64,
    pub tenant_id: i64,
    /// The workspace's platform, which picks the sender.
    pub platform: Platform,
    pub target: Target,
    pub payload: String,
    pub image: Option<(String, Vec<u8>)>,
    /// Unique per message and stable across retries, so a platform can refuse a second post.
    pub nonce: String,
    pub status: MessageStatus,
    /// Attempts made so far.
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// What an earlier attempt finished before it failed, as its sender reported it.
    pub progress: Option<String>,
    /// The next-attempt time exactly as read: a lease is taken only if the row still shows it.
    read_next_attempt_at: String,
}

/// A stored message for its platform's sender, or why it cannot go to one: `(id, why)`.
fn queued(read: jobs::Read) -> Result<QueuedMessage, (i64, String)> {
    let m = read.map_err(|u| (u.id, u.error.to_string()))?;
    let platform = Platform::parse(&m.platform)
        .ok_or_else(|| (m.id, format!("platform `{}` of {}", m.platform, m.id)))?;
    Ok(QueuedMessage {
        id: m.id,
        tenant_id: m.tenant_id,
        platform,
        target: m.target,
        payload: m.payload,
        image: m.image,
        nonce: m.nonce,
        status: m.status,
        attempts: m.attempts,
        next_attempt_at: m.next_attempt_at,
        last_error: m.last_error,
        progress: m.progress,
        read_next_attempt_at: m.read_next_attempt_at,
    })
}

impl Service {
    /// Pending messages whose next attempt is due now, oldest first, at most `limit`. A message
    /// that cannot be read is kept as failed, with why, for `dealgate outbox`.
    pub async fn due_messages(&self, limit: i64) -> ServiceResult<Vec<QueuedMessage>> {
        let read = {
            let mut conn = self.store.reader().acquire().await?;
            jobs::due(&mut conn, self.clock.now(), limit).await?
        };
        let mut due = Vec::with_capacity(read.len());
        for message in read.into_iter().map(queued) {
            match message {
                Ok(m) => due.push(m),
                Err((id, why)) => {
                    tracing::error!(message = id, error = %why, "outbox message cannot be read; kept as failed");
                    self.message_failed(id, &why, None, None).await?;
                }
            }
        }
        Ok(due)
    }

    /// Takes `message` for one attempt, for `lease` from now; `false` when another worker took
    /// it first (replicas race on the row, and exactly one wins).
    pub async fn lease_message(
        &self,
        message: &QueuedMessage,
        lease: TimeDelta,
    ) -> ServiceResult<bool> {
        let mut tx = self.store.begin().await?;
        let leased = jobs::lease(
            &mut tx,
            message.id,
            &message.read_next_attempt_at,
            self.clock.now() + lease,
        )
        .await?;
        tx.commit().await?;
        Ok(leased)
    }

    /// Records that message `id` was delivered, with the platform's id for it.
    pub async fn message_sent(&self, id: i64, remote_id: Option<&str>) -> ServiceResult<()> {
        let mut tx = self.store.begin().await?;
        jobs::mark_sent(&mut tx, id, remote_id, self.clock.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a failed attempt: tried again at `next`, or failed for good when `None`; with
    /// what the attempt finished, if it got part way.
    pub async fn message_failed(
        &self,
        id: i64,
        error: &str,
        next: Option<DateTime<Utc>>,
        progress: Option<&str>,
    ) -> ServiceResult<()> {
        let mut tx = self.store.begin().await?;
        jobs::mark_attempt_failed(&mut tx, id, error, next, progress).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `(messages waiting to be delivered, when the oldest was queued)`: the backlog an
    /// operator watches.
    pub async fn outbox_backlog(&self) -> ServiceResult<(u64, Option<DateTime<Utc>>)> {
        let mut conn = self.store.reader().acquire().await?;
        let (pending, oldest) = jobs::backlog(&mut conn).await?;
        Ok((u64::try_from(pending).unwrap_or(0), oldest))
    }

    /// `(pool, connections in use, most it may open)` for the writer, the readers and, on
    /// PostgreSQL, the writer's bookkeeping.
    pub fn connections_in_use(&self) -> Vec<(&'static str, usize, usize)> {
        self.store
            .pools()
            .into_iter()
            .map(|(pool, connections)| {
                let (in_use, max) = connections.in_use();
                (pool, in_use, max)
            })
            .collect()
    }

    /// Messages not yet delivered (pending retries and failures), oldest first; for the
    /// operator's `dealgate outbox`, which shows unreadable ones too.
    pub async fn undelivered_messages(&self) -> ServiceResult<Vec<Result<QueuedMessage, String>>> {
        let mut conn = self.store.reader().acquire().await?;
        Ok(jobs::undelivered(&mut conn)
            .await?
            .into_iter()
            .map(|read| queued(read).map_err(|(id, why)| format!("#{id}: {why}")))
            .collect())
    }
}
