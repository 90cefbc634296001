//! The outbox as use cases: what is due, taking a message for one attempt (a lease), and
//! recording how the attempt went. The delivery loop (`jobs::outbox`) keeps the schedule and the
//! platform senders; everything it reads or writes passes through here.

use chrono::{DateTime, TimeDelta, Utc};

use crate::store::jobs::{self, OutboxRow};
use crate::store::{StoreError, parse_ts};

use super::{Platform, Service, ServiceResult};

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A channel, by its platform id (or any name in the console).
    Channel(String),
    /// A direct message to a member, by their platform user key.
    Direct(String),
}

impl Target {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Channel(_) => "channel",
            Self::Direct(_) => "dm",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Self::Channel(id) | Self::Direct(id) => id,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Channel(id) => write!(f, "#{id}"),
            Self::Direct(id) => write!(f, "DM @{id}"),
        }
    }
}

/// A message to queue: where it goes and its content, serialized by the caller (the reply model
/// belongs to the layer above).
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub target: Target,
    pub payload: String,
    /// A file to attach: name and bytes.
    pub image: Option<(String, Vec<u8>)>,
}

/// Whether a queued message still has attempts ahead of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageStatus {
    Pending,
    Sent,
    /// Refused for good by its platform; kept for `dealgate outbox` to show.
    Failed,
}

/// A message as the outbox keeps it.
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

impl TryFrom<OutboxRow> for QueuedMessage {
    type Error = StoreError;

    fn try_from(row: OutboxRow) -> Result<Self, StoreError> {
        let corrupt = |detail: String| StoreError::Corrupt {
            table: "outbox",
            detail,
        };
        let target = match row.target_kind.as_str() {
            "channel" => Target::Channel(row.target),
            "dm" => Target::Direct(row.target),
            other => return Err(corrupt(format!("target kind `{other}` of {}", row.id))),
        };
        let status = match row.status.as_str() {
            "pending" => MessageStatus::Pending,
            "sent" => MessageStatus::Sent,
            "failed" => MessageStatus::Failed,
            other => return Err(corrupt(format!("status `{other}` of {}", row.id))),
        };
        Ok(Self {
            id: row.id,
            tenant_id: row.tenant_id,
            platform: Platform::parse(&row.platform)
                .ok_or_else(|| corrupt(format!("platform `{}` of {}", row.platform, row.id)))?,
            target,
            payload: row.payload,
            image: row.image_name.zip(row.image),
            nonce: row.nonce,
            status,
            attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
            next_attempt_at: parse_ts("outbox", &row.next_attempt_at)?,
            last_error: row.last_error,
            progress: row.progress,
            read_next_attempt_at: row.next_attempt_at,
        })
    }
}

/// Rows to messages; one that cannot be read is logged and marked failed rather than stopping
/// every message behind it.
fn readable(rows: Vec<OutboxRow>) -> (Vec<QueuedMessage>, Vec<(i64, String)>) {
    let mut good = Vec::with_capacity(rows.len());
    let mut bad = Vec::new();
    for row in rows {
        let id = row.id;
        match QueuedMessage::try_from(row) {
            Ok(m) => good.push(m),
            Err(e) => bad.push((id, e.to_string())),
        }
    }
    (good, bad)
}

impl Service {
    /// Pending messages whose next attempt is due now, oldest first, at most `limit`. A message
    /// that cannot be read is kept as failed, with why, for `dealgate outbox`.
    pub async fn due_messages(&self, limit: i64) -> ServiceResult<Vec<QueuedMessage>> {
        let rows = {
            let mut conn = self.store.reader().acquire().await?;
            jobs::due(&mut conn, self.clock.now(), limit).await?
        };
        let (due, unreadable) = readable(rows);
        for (id, why) in unreadable {
            tracing::error!(message = id, error = %why, "outbox message cannot be read; kept as failed");
            self.message_failed(id, &why, None, None).await?;
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

    /// Messages not yet delivered (pending retries and failures), oldest first; for the
    /// operator's `dealgate outbox`, which shows unreadable ones too.
    pub async fn undelivered_messages(&self) -> ServiceResult<Vec<Result<QueuedMessage, String>>> {
        let mut conn = self.store.reader().acquire().await?;
        Ok(jobs::undelivered(&mut conn)
            .await?
            .into_iter()
            .map(|row| {
                let id = row.id;
                QueuedMessage::try_from(row).map_err(|e| format!("#{id}: {e}"))
            })
            .collect())
    }
}
