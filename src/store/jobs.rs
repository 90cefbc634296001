//! Job claims, the outbox, forecast snapshots and the nudge log: the persistence behind the
//! scheduler and the delivery worker.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::FromRow;

use super::{Conn, Result, StoreError, date_text, ts};

/// Claims `(tenant, job, local_date)`. `Some(id)` means this caller won and must do the job (in
/// the same transaction); `None` means someone already did, or is doing, it.
pub async fn claim(
    conn: &mut Conn,
    tenant_id: i64,
    job: &str,
    local_date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO job_claims (tenant_id, job, local_date, claimed_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id, job, local_date) DO NOTHING RETURNING id",
    )
    .bind(tenant_id)
    .bind(job)
    .bind(date_text(local_date))
    .bind(ts(now))
    .fetch_optional(conn)
    .await?)
}

pub async fn is_claimed(
    conn: &mut Conn,
    tenant_id: i64,
    job: &str,
    local_date: NaiveDate,
) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM job_claims WHERE tenant_id = $1 AND job = $2 AND local_date = $3",
    )
    .bind(tenant_id)
    .bind(job)
    .bind(date_text(local_date))
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// When the job last ran before `local_date` (the previous digest, for "what changed").
pub async fn last_run_before(
    conn: &mut Conn,
    tenant_id: i64,
    job: &str,
    local_date: NaiveDate,
) -> Result<Option<DateTime<Utc>>> {
    let claimed: Option<String> = sqlx::query_scalar(
        "SELECT claimed_at FROM job_claims WHERE tenant_id = $1 AND job = $2 AND local_date < $3 \
         ORDER BY local_date DESC LIMIT 1",
    )
    .bind(tenant_id)
    .bind(job)
    .bind(date_text(local_date))
    .fetch_optional(conn)
    .await?;
    claimed
        .map(|at| super::parse_ts("job_claims", &at))
        .transpose()
}

/// How many claims a job has, all days (tests and `dealgate outbox`).
pub async fn claim_dates(conn: &mut Conn, tenant_id: i64, job: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT local_date FROM job_claims WHERE tenant_id = $1 AND job = $2 ORDER BY local_date",
    )
    .bind(tenant_id)
    .bind(job)
    .fetch_all(conn)
    .await?)
}

/// A message to go out.
#[derive(Debug, Clone)]
pub struct NewOutbox<'a> {
    pub tenant_id: i64,
    pub claim_id: Option<i64>,
    /// `channel` or `dm`.
    pub target_kind: &'a str,
    pub target: &'a str,
    pub payload: &'a str,
    pub image: Option<(&'a str, &'a [u8])>,
    pub nonce: &'a str,
}

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

/// Whether a queued message still has attempts ahead of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageStatus {
    Pending,
    Sent,
    /// Refused for good by its platform; kept for `dealgate outbox` to show.
    Failed,
}

/// A message as the outbox keeps it, read and typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub id: i64,
    pub tenant_id: i64,
    /// The workspace's platform as stored (`console`, `discord`, `slack`).
    pub platform: String,
    pub target: Target,
    pub payload: String,
    pub image: Option<(String, Vec<u8>)>,
    pub nonce: String,
    pub status: MessageStatus,
    /// Attempts made so far.
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// What an earlier attempt finished before it failed, as its sender reported it.
    pub progress: Option<String>,
    /// The platform's id for the message once sent.
    pub remote_id: Option<String>,
    /// The next-attempt time exactly as read: `lease` takes the message only if the row still
    /// shows it.
    pub read_next_attempt_at: String,
}

/// A message that could not be read (a hand-edited row?): kept, with why, rather than stopping
/// the messages behind it.
#[derive(Debug)]
pub struct Unreadable {
    pub id: i64,
    pub error: StoreError,
}

/// Types a row, or says why it cannot be.
fn read(row: OutboxRow) -> Read {
    let id = row.id;
    let corrupt = |detail: String| Unreadable {
        id,
        error: StoreError::Corrupt {
            table: "outbox",
            detail,
        },
    };
    let target = match row.target_kind.as_str() {
        "channel" => Target::Channel(row.target),
        "dm" => Target::Direct(row.target),
        other => return Err(corrupt(format!("target kind `{other}` of {id}"))),
    };
    let status = match row.status.as_str() {
        "pending" => MessageStatus::Pending,
        "sent" => MessageStatus::Sent,
        "failed" => MessageStatus::Failed,
        other => return Err(corrupt(format!("status `{other}` of {id}"))),
    };
    let next_attempt_at = super::parse_ts("outbox", &row.next_attempt_at)
        .map_err(|error| Unreadable { id, error })?;
    Ok(Queued {
        id,
        tenant_id: row.tenant_id,
        platform: row.platform,
        target,
        payload: row.payload,
        image: row.image_name.zip(row.image),
        nonce: row.nonce,
        status,
        attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
        next_attempt_at,
        last_error: row.last_error,
        progress: row.progress,
        remote_id: row.remote_id,
        read_next_attempt_at: row.next_attempt_at,
    })
}

/// What the outbox's queries return: each message, or why it could not be read.
pub type Read = std::result::Result<Queued, Unreadable>;

fn read_all(rows: Vec<OutboxRow>) -> Vec<Read> {
    rows.into_iter().map(read).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
struct OutboxRow {
    id: i64,
    tenant_id: i64,
    claim_id: Option<i64>,
    target_kind: String,
    target: String,
    payload: String,
    image_name: Option<String>,
    image: Option<Vec<u8>>,
    nonce: String,
    status: String,
    attempts: i64,
    next_attempt_at: String,
    last_error: Option<String>,
    remote_id: Option<String>,
    created_at: String,
    sent_at: Option<String>,
    /// What an earlier attempt of a multi-step delivery finished (see `SendError::Partly`).
    #[sqlx(default)]
    progress: Option<String>,
    /// The workspace's platform (`console`, `discord`, `slack`), joined in by the queries the
    /// delivery worker and `dealgate outbox` use, so each message goes to its platform's sender.
    #[sqlx(default)]
    platform: String,
}

pub async fn insert_outbox(conn: &mut Conn, m: &NewOutbox<'_>, now: DateTime<Utc>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO outbox (tenant_id, claim_id, target_kind, target, payload, image_name, image, \
         nonce, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         RETURNING id",
    )
    .bind(m.tenant_id)
    .bind(m.claim_id)
    .bind(m.target_kind)
    .bind(m.target)
    .bind(m.payload)
    .bind(m.image.map(|(name, _)| name))
    .bind(m.image.map(|(_, png)| png.to_vec()))
    .bind(m.nonce)
    .bind(ts(now))
    .fetch_one(conn)
    .await?)
}

/// Pending messages whose next attempt is due, oldest first.
pub async fn due(conn: &mut Conn, now: DateTime<Utc>, limit: i64) -> Result<Vec<Read>> {
    let rows = sqlx::query_as(
        "SELECT o.*, t.platform FROM outbox o JOIN tenants t ON t.id = o.tenant_id \
         WHERE o.status = 'pending' AND o.next_attempt_at <= $1 ORDER BY o.id LIMIT $2",
    )
    .bind(ts(now))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(read_all(rows))
}

/// Takes a due message for one delivery attempt by pushing its next attempt to `until`; only
/// one worker (of several replicas) wins, because the row must still show what it read.
pub async fn lease(
    conn: &mut Conn,
    id: i64,
    read_next_attempt_at: &str,
    until: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET next_attempt_at = $1 \
         WHERE id = $2 AND status = 'pending' AND next_attempt_at = $3",
    )
    .bind(ts(until))
    .bind(id)
    .bind(read_next_attempt_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn mark_sent(
    conn: &mut Conn,
    id: i64,
    remote_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET status = 'sent', attempts = attempts + 1, remote_id = $1, \
         sent_at = $2, last_error = NULL WHERE id = $3",
    )
    .bind(remote_id)
    .bind(ts(now))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed attempt, and what it finished if it got part way (`progress`; an attempt
/// that reports none keeps what an earlier one reported). `next` is `None` for a permanent
/// failure: the row is kept as `failed` for a person to see, never deleted.
pub async fn mark_attempt_failed(
    conn: &mut Conn,
    id: i64,
    error: &str,
    next: Option<DateTime<Utc>>,
    progress: Option<&str>,
) -> Result<()> {
    let (status, next) = match next {
        Some(at) => ("pending", Some(ts(at))),
        None => ("failed", None),
    };
    sqlx::query(
        "UPDATE outbox SET status = $1, attempts = attempts + 1, last_error = $2, \
         next_attempt_at = COALESCE($3, next_attempt_at), progress = COALESCE($5, progress) \
         WHERE id = $4",
    )
    .bind(status)
    .bind(error)
    .bind(next)
    .bind(id)
    .bind(progress)
    .execute(conn)
    .await?;
    Ok(())
}

/// Messages not yet delivered (pending or failed), oldest first.
pub async fn undelivered(conn: &mut Conn) -> Result<Vec<Read>> {
    let rows = sqlx::query_as(
        "SELECT o.*, t.platform FROM outbox o JOIN tenants t ON t.id = o.tenant_id \
             WHERE o.status <> 'sent' ORDER BY o.id",
    )
    .fetch_all(conn)
    .await?;
    Ok(read_all(rows))
}

/// `(messages waiting, when the oldest of them was queued)`.
pub async fn backlog(conn: &mut Conn) -> Result<(i64, Option<DateTime<Utc>>)> {
    let (pending, oldest): (i64, Option<String>) =
        sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending'")
            .fetch_one(conn)
            .await?;
    let oldest = oldest.map(|t| super::parse_ts("outbox", &t)).transpose()?;
    Ok((pending, oldest))
}

/// Every message of a workspace, oldest first (tests and tools).
pub async fn all_of(conn: &mut Conn, tenant_id: i64) -> Result<Vec<Read>> {
    let rows = sqlx::query_as(
        "SELECT o.*, t.platform FROM outbox o JOIN tenants t ON t.id = o.tenant_id \
             WHERE o.tenant_id = $1 ORDER BY o.id",
    )
    .bind(tenant_id)
    .fetch_all(conn)
    .await?;
    Ok(read_all(rows))
}

/// A day's forecast totals, minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotTotals {
    pub open_count: i64,
    pub open_amount: i64,
    pub weighted: i64,
    pub commit: i64,
    pub best_case: i64,
    pub won: i64,
    /// P10 / P50 / P90 of the quarter's closed-won amount.
    pub range: Option<(i64, i64, i64)>,
}

/// Stores the day's snapshot: the totals and, in one statement, every open deal's stage, amount,
/// close date and owner. A second snapshot for the same day is ignored. Deals created after
/// `now` are left out: only a clock set back (the demo playing its history) can see them.
pub async fn insert_snapshot(
    conn: &mut Conn,
    tenant_id: i64,
    local_date: NaiveDate,
    totals: &SnapshotTotals,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO forecast_snapshots (tenant_id, local_date, taken_at, open_count, \
         open_amount, weighted, commit_amount, best_case, won_amount, range_p10, range_p50, \
         range_p90, playbook_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
         (SELECT playbook_version FROM tenants WHERE id = $1)) \
         ON CONFLICT (tenant_id, local_date) DO NOTHING RETURNING id",
    )
    .bind(tenant_id)
    .bind(date_text(local_date))
    .bind(ts(now))
    .bind(totals.open_count)
    .bind(totals.open_amount)
    .bind(totals.weighted)
    .bind(totals.commit)
    .bind(totals.best_case)
    .bind(totals.won)
    .bind(totals.range.map(|r| r.0))
    .bind(totals.range.map(|r| r.1))
    .bind(totals.range.map(|r| r.2))
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = id {
        sqlx::query(
            "INSERT INTO snapshot_deals (snapshot_id, tenant_id, deal_id, stage, amount, \
             close_date, owner_id) SELECT $1, tenant_id, id, stage, amount, close_date, owner_id \
             FROM deals \
             WHERE tenant_id = $2 AND status = 'open' AND created_at <= $3 ORDER BY id",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(ts(now))
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO snapshot_groups (snapshot_id, tenant_id, stage, owner_id, close_month, \
             deals, amount) SELECT snapshot_id, tenant_id, stage, owner_id, substr(close_date, 1, 7), \
             COUNT(*), CAST(SUM(amount) AS BIGINT) FROM snapshot_deals WHERE snapshot_id = $1 \
             GROUP BY snapshot_id, tenant_id, stage, owner_id, substr(close_date, 1, 7)",
        )
        .bind(id)
        .execute(conn)
        .await?;
    }
    Ok(id)
}

/// The day and weighted total (the quarter's, minor units) of the latest snapshot taken on a
/// day in `[from, until]`.
pub async fn weighted_snapshot(
    conn: &mut Conn,
    tenant_id: i64,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Option<(NaiveDate, i64)>> {
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT local_date, weighted FROM forecast_snapshots WHERE tenant_id = $1 \
         AND local_date >= $2 AND local_date <= $3 ORDER BY local_date DESC LIMIT 1",
    )
    .bind(tenant_id)
    .bind(date_text(from))
    .bind(date_text(until))
    .fetch_optional(conn)
    .await?;
    row.map(|(day, weighted)| Ok((super::parse_date("forecast_snapshots", &day)?, weighted)))
        .transpose()
}

/// `(snapshot count, deal rows)` for a workspace (tests).
pub async fn snapshot_counts(conn: &mut Conn, tenant_id: i64) -> Result<(i64, i64)> {
    let snaps: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM forecast_snapshots WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(&mut *conn)
            .await?;
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM snapshot_deals WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_one(conn)
        .await?;
    Ok((snaps, rows))
}

/// `(deal id, reason)` of the nudges sent on or after `since` (local date).
pub async fn nudged_since(
    conn: &mut Conn,
    tenant_id: i64,
    since: NaiveDate,
) -> Result<Vec<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT deal_id, reason FROM nudges_sent WHERE tenant_id = $1 AND sent_on >= $2",
    )
    .bind(tenant_id)
    .bind(date_text(since))
    .fetch_all(conn)
    .await?)
}

pub async fn record_nudge(
    conn: &mut Conn,
    tenant_id: i64,
    deal_id: i64,
    reason: &str,
    local_date: NaiveDate,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO nudges_sent (tenant_id, deal_id, reason, sent_on) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(tenant_id)
    .bind(deal_id)
    .bind(reason)
    .bind(date_text(local_date))
    .execute(conn)
    .await?;
    Ok(())
}
