//! What forecast truth reads: the daily snapshots (each open deal as it stood, and the day's
//! range), what closed since, and each stage's entry cohorts. Aggregates are computed in SQL; a
//! snapshot is read deal by deal only where a figure follows single deals (slip, conversion,
//! Brier, movement).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, FromRow};

use super::{Conn, Result, StoreError, date_text, parse_date, parse_ts, ts};
use crate::engine::deal::DealStatus;
use crate::engine::ids::{DealNumber, StageId};

/// One daily snapshot, without its deals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotHead {
    pub id: i64,
    pub local_date: NaiveDate,
    pub taken_at: DateTime<Utc>,
    pub playbook_version: i64,
    /// P10 / P50 / P90 of the quarter's closed-won amount as that day saw it (workspace-wide).
    pub range: Option<(i64, i64, i64)>,
}

#[derive(FromRow)]
struct HeadRow {
    id: i64,
    local_date: String,
    taken_at: String,
    playbook_version: i64,
    range_p10: Option<i64>,
    range_p50: Option<i64>,
    range_p90: Option<i64>,
}

/// The snapshots taken on days in `[from, until)`, oldest first.
pub async fn snapshots(
    conn: &mut Conn,
    tenant_id: i64,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<SnapshotHead>> {
    let rows: Vec<HeadRow> = sqlx::query_as(
        "SELECT id, local_date, taken_at, playbook_version, range_p10, range_p50, range_p90 \
         FROM forecast_snapshots WHERE tenant_id = $1 AND local_date >= $2 AND local_date < $3 \
         ORDER BY local_date",
    )
    .bind(tenant_id)
    .bind(date_text(from))
    .bind(date_text(until))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(SnapshotHead {
                id: r.id,
                local_date: parse_date("forecast_snapshots", &r.local_date)?,
                taken_at: parse_ts("forecast_snapshots", &r.taken_at)?,
                playbook_version: r.playbook_version,
                range: match (r.range_p10, r.range_p50, r.range_p90) {
                    (Some(a), Some(b), Some(c)) => Some((a, b, c)),
                    _ => None,
                },
            })
        })
        .collect()
}

/// Which deals a query covers: whose (`None`: everyone's) and closing in which window.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub owners: Option<&'a [i64]>,
    pub from: NaiveDate,
    pub until: NaiveDate,
}

impl Scope<'_> {
    /// ` AND {column} IN ($n, …)` for the owners, the marks numbered from `first`.
    fn owner_filter(&self, column: &str, first: usize) -> String {
        match self.owners {
            None => String::new(),
            Some(ids) => {
                let marks: Vec<String> =
                    (0..ids.len()).map(|i| format!("${}", first + i)).collect();
                format!(" AND {column} IN ({})", marks.join(", "))
            }
        }
    }

    fn nobody(&self) -> bool {
        self.owners.is_some_and(<[i64]>::is_empty)
    }
}

/// Binds the scope's owners, in the order `owner_filter` numbered them.
macro_rules! bind_owners {
    ($q:expr, $owners:expr) => {{
        let mut q = $q;
        for o in $owners.unwrap_or_default() {
            q = q.bind(*o);
        }
        q
    }};
}

#[derive(FromRow)]
struct StageSumRow {
    stage: String,
    n: i64,
    amount: i64,
}

/// `YYYY-MM` of a period bound: periods start on the first of a month.
fn month_text(date: NaiveDate) -> String {
    date.format("%Y-%m").to_string()
}

/// A snapshot's deals closing in the scope's window, by stage: `(stage, count, amount)`, from
/// the groups written with the snapshot.
pub async fn snapshot_by_stage(
    conn: &mut Conn,
    snapshot_id: i64,
    scope: &Scope<'_>,
) -> Result<Vec<(StageId, u64, i64)>> {
    if scope.nobody() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT stage, CAST(SUM(deals) AS BIGINT) AS n, CAST(SUM(amount) AS BIGINT) AS amount \
         FROM snapshot_groups WHERE snapshot_id = $1 AND close_month >= $2 AND close_month < $3{} \
         GROUP BY stage",
        scope.owner_filter("owner_id", 4)
    );
    let q = sqlx::query_as::<_, StageSumRow>(AssertSqlSafe(sql))
        .bind(snapshot_id)
        .bind(month_text(scope.from))
        .bind(month_text(scope.until));
    bind_owners!(q, scope.owners)
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|r| {
            Ok((
                stage("snapshot_groups", &r.stage)?,
                u64::try_from(r.n).unwrap_or(0),
                r.amount,
            ))
        })
        .collect()
}

/// A stage of a snapshot with what became of its deals closing in the window: how many (and how
/// much, at the snapshot's amounts) there were, were won in the window (at the amounts they were
/// won at), and did not close in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageOutcome {
    pub stage: StageId,
    pub count: u64,
    pub amount: i64,
    pub won: u64,
    pub won_amount: i64,
    pub slipped: u64,
    pub slipped_amount: i64,
}

#[derive(FromRow)]
struct ClosedRow {
    stage: String,
    closed: i64,
    closed_amount: i64,
    won: i64,
    won_amount: i64,
}

/// A snapshot's deals closing in the scope's window, by stage (only `stages` when given), each
/// with what became of them. The counts come from the snapshot's groups; what became of them
/// from the deals closed in the window, each looked up in the snapshot, so no snapshot is read
/// deal by deal.
pub async fn snapshot_outcomes(
    conn: &mut Conn,
    tenant_id: i64,
    snapshot_id: i64,
    scope: &Scope<'_>,
    stages: Option<&[String]>,
) -> Result<Vec<StageOutcome>> {
    if scope.nobody() || stages.is_some_and(<[String]>::is_empty) {
        return Ok(Vec::new());
    }
    let wanted = |s: &StageId| stages.is_none_or(|list| list.iter().any(|w| w == s.as_str()));
    let totals: Vec<(StageId, u64, i64)> = snapshot_by_stage(conn, snapshot_id, scope)
        .await?
        .into_iter()
        .filter(|(s, _, _)| wanted(s))
        .collect();
    let won = "d.status = 'won'";
    // CAST keeps each SUM an integer on PostgreSQL.
    let sql = format!(
        "SELECT s.stage, COUNT(*) AS closed, CAST(SUM(s.amount) AS BIGINT) AS closed_amount, \
         CAST(SUM(CASE WHEN {won} THEN 1 ELSE 0 END) AS BIGINT) AS won, \
         CAST(SUM(CASE WHEN {won} THEN d.amount ELSE 0 END) AS BIGINT) AS won_amount \
         FROM deals d JOIN snapshot_deals s ON s.snapshot_id = $2 AND s.deal_id = d.id \
         WHERE d.tenant_id = $1 AND d.status <> 'open' AND d.closed_at >= $3 AND d.closed_at < $4 \
         AND s.close_date >= $3 AND s.close_date < $4{} GROUP BY s.stage",
        scope.owner_filter("s.owner_id", 5)
    );
    let q = sqlx::query_as::<_, ClosedRow>(AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(snapshot_id)
        .bind(date_text(scope.from))
        .bind(date_text(scope.until));
    let closed = bind_owners!(q, scope.owners).fetch_all(conn).await?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok(totals
        .into_iter()
        .map(|(stage, n, amount)| {
            let c = closed.iter().find(|c| c.stage == stage.as_str());
            let (closed_n, closed_amount, won, won_amount) = c.map_or((0, 0, 0, 0), |c| {
                (count(c.closed), c.closed_amount, count(c.won), c.won_amount)
            });
            StageOutcome {
                stage,
                count: n,
                amount,
                won,
                won_amount,
                slipped: n.saturating_sub(closed_n),
                slipped_amount: amount - closed_amount,
            }
        })
        .collect())
}

/// `(day it closed, amount)` of each deal won in the scope's window (by the day it closed, as
/// `/forecast` counts won deals), owners as they are now.
pub async fn won_in(
    conn: &mut Conn,
    tenant_id: i64,
    scope: &Scope<'_>,
) -> Result<Vec<(NaiveDate, i64)>> {
    if scope.nobody() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT closed_at, amount FROM deals WHERE tenant_id = $1 AND status = 'won' \
         AND closed_at >= $2 AND closed_at < $3{}",
        scope.owner_filter("owner_id", 4)
    );
    let q = sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(date_text(scope.from))
        .bind(date_text(scope.until));
    bind_owners!(q, scope.owners)
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|(at, amount)| Ok((parse_ts("deals", &at)?.date_naive(), amount)))
        .collect()
}

/// The amount of each deal won in the scope's window that was created on or after `created`.
pub async fn won_created_from(
    conn: &mut Conn,
    tenant_id: i64,
    scope: &Scope<'_>,
    created: NaiveDate,
) -> Result<Vec<i64>> {
    if scope.nobody() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT amount FROM deals WHERE tenant_id = $1 AND status = 'won' \
         AND closed_at >= $2 AND closed_at < $3 AND created_at >= $4{}",
        scope.owner_filter("owner_id", 5)
    );
    let q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(date_text(scope.from))
        .bind(date_text(scope.until))
        .bind(date_text(created));
    Ok(bind_owners!(q, scope.owners).fetch_all(conn).await?)
}

/// The amount of each deal won in the scope's window from the snapshot's day on that the
/// snapshot did not hold closing in it: created later, or expected to close outside the window
/// that day.
pub async fn won_outside_snapshot(
    conn: &mut Conn,
    tenant_id: i64,
    scope: &Scope<'_>,
    snapshot: &SnapshotHead,
) -> Result<Vec<i64>> {
    if scope.nobody() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT d.amount FROM deals d WHERE d.tenant_id = $1 AND d.status = 'won' \
         AND d.closed_at >= $5 AND d.closed_at < $3 AND NOT EXISTS (SELECT 1 FROM snapshot_deals s \
         WHERE s.snapshot_id = $4 AND s.deal_id = d.id AND s.close_date >= $2 \
         AND s.close_date < $3){}",
        scope.owner_filter("d.owner_id", 6)
    );
    let q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(date_text(scope.from))
        .bind(date_text(scope.until))
        .bind(snapshot.id)
        .bind(date_text(snapshot.local_date));
    Ok(bind_owners!(q, scope.owners).fetch_all(conn).await?)
}

/// The day the workspace's first deal was created, if it has one.
pub async fn first_created(conn: &mut Conn, tenant_id: i64) -> Result<Option<NaiveDate>> {
    let first: Option<String> =
        sqlx::query_scalar("SELECT MIN(created_at) FROM deals WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(conn)
            .await?;
    first
        .map(|t| parse_ts("deals", &t).map(|t| t.date_naive()))
        .transpose()
}

/// `(stage, amount)` of each open deal closing in the scope's window: what a range draws over.
pub async fn open_in(
    conn: &mut Conn,
    tenant_id: i64,
    scope: &Scope<'_>,
) -> Result<Vec<(StageId, i64)>> {
    if scope.nobody() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT stage, amount FROM deals WHERE tenant_id = $1 AND status = 'open' \
         AND close_date >= $2 AND close_date < $3{}",
        scope.owner_filter("owner_id", 4)
    );
    let q = sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(date_text(scope.from))
        .bind(date_text(scope.until));
    bind_owners!(q, scope.owners)
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|(s, amount)| Ok((stage("deals", &s)?, amount)))
        .collect()
}

/// A deal as pipeline movement sees it: its amount in the start snapshot if that held it, and
/// how it stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowDeal {
    pub number: DealNumber,
    pub name: String,
    pub owner_id: i64,
    pub start_amount: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub status: DealStatus,
    pub close_date: NaiveDate,
    pub amount: i64,
}

#[derive(FromRow)]
struct WindowRow {
    number: i64,
    name: String,
    owner_id: i64,
    start_amount: Option<i64>,
    created_at: String,
    status: String,
    close_date: String,
    amount: i64,
}

/// Every deal that was in the start snapshot closing in the window, is open closing in it now,
/// or closed since the snapshot was taken (owners as they are now).
pub async fn window_deals(
    conn: &mut Conn,
    tenant_id: i64,
    start: &SnapshotHead,
    scope: &Scope<'_>,
) -> Result<Vec<WindowDeal>> {
    if scope.nobody() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT d.number, d.name, d.owner_id, s.amount AS start_amount, d.created_at, d.status, \
         d.close_date, d.amount FROM deals d LEFT JOIN snapshot_deals s ON s.deal_id = d.id \
         AND s.snapshot_id = $2 AND s.close_date >= $3 AND s.close_date < $4 \
         WHERE d.tenant_id = $1 AND (s.deal_id IS NOT NULL \
         OR (d.status = 'open' AND d.close_date >= $3 AND d.close_date < $4) \
         OR (d.status <> 'open' AND d.closed_at >= $5)){} ORDER BY d.number",
        scope.owner_filter("d.owner_id", 6)
    );
    let q = sqlx::query_as::<_, WindowRow>(AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(start.id)
        .bind(date_text(scope.from))
        .bind(date_text(scope.until))
        .bind(ts(start.taken_at));
    bind_owners!(q, scope.owners)
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|r| {
            Ok(WindowDeal {
                number: number(r.number)?,
                name: r.name,
                owner_id: r.owner_id,
                start_amount: r.start_amount,
                created_at: parse_ts("deals", &r.created_at)?,
                status: status(&r.status)?,
                close_date: parse_date("deals", &r.close_date)?,
                amount: r.amount,
            })
        })
        .collect()
}

/// Per stage, `(stage, won, decided)` over the closed deals that ever entered it: the entry
/// cohorts calibration reads, open deals left out as not yet decided.
pub async fn stage_cohorts(conn: &mut Conn, tenant_id: i64) -> Result<Vec<(String, u32, u32)>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT c.to_stage, CAST(SUM(CASE WHEN d.status = 'won' THEN 1 ELSE 0 END) AS BIGINT), \
         COUNT(*) FROM (SELECT DISTINCT deal_id, to_stage FROM stage_changes WHERE tenant_id = $1) c \
         JOIN deals d ON d.id = c.deal_id WHERE d.status <> 'open' GROUP BY c.to_stage",
    )
    .bind(tenant_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(s, won, decided)| {
            let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
            (s, count(won), count(decided))
        })
        .collect())
}

fn stage(table: &'static str, text: &str) -> Result<StageId> {
    text.parse().map_err(|_| StoreError::Corrupt {
        table,
        detail: format!("stage `{text}`"),
    })
}

fn number(n: i64) -> Result<DealNumber> {
    u32::try_from(n)
        .ok()
        .and_then(DealNumber::new)
        .ok_or_else(|| StoreError::Corrupt {
            table: "deals",
            detail: format!("number {n}"),
        })
}

fn status(text: &str) -> Result<DealStatus> {
    DealStatus::parse(text).ok_or_else(|| StoreError::Corrupt {
        table: "deals",
        detail: format!("status `{text}`"),
    })
}
