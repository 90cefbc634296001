//! Aggregates for the daily digest and the coaching nudges. Everything is computed in SQL and
//! returns a handful of rows: the pipeline is never loaded deal by deal, activities never at all.
//!
//! "Quiet" (no activity since a cutoff) is written `NOT EXISTS (… at >= cutoff)`: it stops at
//! the first recent activity through `activities_by_deal`, and measured 2–3× faster than a
//! correlated `MAX(at)` on both SQLite and PostgreSQL.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, FromRow};

use super::{Conn, Result, date_text, ts};

/// A stage change since the previous digest, with the deal it moved.
#[derive(Debug, Clone, FromRow)]
pub struct ChangeRow {
    pub kind: String,
    pub overridden: i64,
    pub from_stage: Option<String>,
    pub to_stage: String,
    pub number: i64,
    pub name: String,
    pub owner_id: i64,
    pub amount: i64,
}

/// At most this many changes of each table are read for one digest; a digest lists a few and
/// counts the rest, and a day with more changes than this is not a normal day.
pub const CHANGE_LIMIT: i64 = 500;

pub async fn stage_changes_since(
    conn: &mut Conn,
    tenant_id: i64,
    since: DateTime<Utc>,
) -> Result<Vec<ChangeRow>> {
    Ok(sqlx::query_as(
        "SELECT c.kind, c.overridden, c.from_stage, c.to_stage, d.number, d.name, d.owner_id, \
         d.amount FROM stage_changes c JOIN deals d ON d.id = c.deal_id \
         WHERE c.tenant_id = $1 AND c.at >= $2 ORDER BY c.at, c.id LIMIT $3",
    )
    .bind(tenant_id)
    .bind(ts(since))
    .bind(CHANGE_LIMIT)
    .fetch_all(conn)
    .await?)
}

/// An amount or close-date change since the previous digest.
#[derive(Debug, Clone, FromRow)]
pub struct FieldChangeRow {
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: String,
    pub number: i64,
    pub name: String,
    pub owner_id: i64,
}

/// Amounts and expected close dates changed since `since`. A closed deal's close date is the
/// day it closed, which the digest reports as a close, not as a date moved.
pub async fn money_and_date_changes_since(
    conn: &mut Conn,
    tenant_id: i64,
    since: DateTime<Utc>,
) -> Result<Vec<FieldChangeRow>> {
    Ok(sqlx::query_as(
        "SELECT f.field, f.old_value, f.new_value, d.number, d.name, d.owner_id \
         FROM field_changes f JOIN deals d ON d.id = f.deal_id \
         WHERE f.tenant_id = $1 AND f.at >= $2 AND f.field IN ('amount', 'close_date') \
         AND NOT (f.field = 'close_date' AND d.status <> 'open') \
         ORDER BY f.at, f.id LIMIT $3",
    )
    .bind(tenant_id)
    .bind(ts(since))
    .bind(CHANGE_LIMIT)
    .fetch_all(conn)
    .await?)
}

/// An open deal at risk, with how many deals (and how much money) the same risk covers.
#[derive(Debug, Clone, FromRow)]
pub struct RiskRow {
    pub id: i64,
    pub number: i64,
    pub name: String,
    pub owner_id: i64,
    pub amount: i64,
    pub stage: String,
    pub close_date: String,
    pub stage_entered_at: String,
    pub total_n: i64,
    pub total_amount: i64,
}

/// A value bound to a query built at run time.
enum Arg {
    Text(String),
    Int(i64),
}

/// A stage and the moment before which entering it counts as stalled.
#[derive(Debug, Clone)]
pub struct StallCutoff {
    pub stage: String,
    pub cutoff: DateTime<Utc>,
}

/// How a risk query picks its deals.
#[derive(Debug, Clone)]
pub enum Risk<'a> {
    /// In the stage since before its cutoff, and no activity since then either.
    Stalled(&'a [StallCutoff]),
    /// Close date before this day.
    Overdue(NaiveDate),
    /// In one of these stages with no activity since the cutoff.
    Quiet {
        stages: &'a [String],
        since: DateTime<Utc>,
    },
}

/// The largest `limit` open deals with this risk (`owners`: only theirs), each row also carrying
/// the count and sum over all of them (a window aggregate, so one query does both).
pub async fn at_risk(
    conn: &mut Conn,
    tenant_id: i64,
    risk: &Risk<'_>,
    owners: Option<&[i64]>,
    limit: i64,
) -> Result<Vec<RiskRow>> {
    let mut binds: Vec<Arg> = Vec::new();
    let mut mark = |value: Arg| {
        binds.push(value);
        format!("${}", binds.len() + 1)
    };
    let quiet_since = |at: &str| {
        format!("NOT EXISTS (SELECT 1 FROM activities a WHERE a.deal_id = d.id AND a.at >= {at})")
    };
    let condition = match risk {
        Risk::Stalled([]) => return Ok(Vec::new()),
        Risk::Stalled(cutoffs) => {
            let parts: Vec<String> = cutoffs
                .iter()
                .map(|c| {
                    let stage = mark(Arg::Text(c.stage.clone()));
                    let cutoff = mark(Arg::Text(ts(c.cutoff)));
                    format!(
                        "(d.stage = {stage} AND d.stage_entered_at < {cutoff} AND {})",
                        quiet_since(&cutoff)
                    )
                })
                .collect();
            format!("({})", parts.join(" OR "))
        }
        Risk::Overdue(today) => format!("d.close_date < {}", mark(Arg::Text(date_text(*today)))),
        Risk::Quiet { stages: [], .. } => return Ok(Vec::new()),
        Risk::Quiet { stages, since } => {
            let list: Vec<String> = stages.iter().map(|s| mark(Arg::Text(s.clone()))).collect();
            let at = mark(Arg::Text(ts(*since)));
            format!("d.stage IN ({}) AND {}", list.join(", "), quiet_since(&at))
        }
    };
    let owner_filter = match owners {
        Some([]) => return Ok(Vec::new()),
        Some(ids) => {
            let list: Vec<String> = ids.iter().map(|id| mark(Arg::Int(*id))).collect();
            format!(" AND d.owner_id IN ({})", list.join(", "))
        }
        None => String::new(),
    };
    let limit_mark = mark(Arg::Int(limit));
    // CAST keeps the window SUM an integer on PostgreSQL, as in `pipeline`.
    let sql = format!(
        "SELECT d.id, d.number, d.name, d.owner_id, d.amount, d.stage, d.close_date, \
         d.stage_entered_at, COUNT(*) OVER () AS total_n, \
         CAST(SUM(d.amount) OVER () AS BIGINT) AS total_amount \
         FROM deals d WHERE d.tenant_id = $1 AND d.status = 'open' AND {condition}{owner_filter} \
         ORDER BY d.amount DESC, d.number LIMIT {limit_mark}"
    );
    let mut q = sqlx::query_as::<_, RiskRow>(AssertSqlSafe(sql)).bind(tenant_id);
    for b in binds {
        q = match b {
            Arg::Text(t) => q.bind(t),
            Arg::Int(n) => q.bind(n),
        };
    }
    Ok(q.fetch_all(conn).await?)
}

/// `(deal id, activity)` for each recommended activity logged by an open deal of `owners` in
/// the stage it is in now: the input of coverage, one row per distinct pair.
pub async fn logged_in_current_stage(
    conn: &mut Conn,
    tenant_id: i64,
    owners: &[i64],
) -> Result<Vec<(i64, String)>> {
    if owners.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (0..owners.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT a.deal_id, a.activity FROM activities a JOIN deals d ON d.id = a.deal_id \
         WHERE d.tenant_id = $1 AND d.status = 'open' AND a.stage = d.stage \
         AND d.owner_id IN ({}) GROUP BY a.deal_id, a.activity",
        marks.join(", ")
    );
    let mut q = sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql)).bind(tenant_id);
    for o in owners {
        q = q.bind(*o);
    }
    Ok(q.fetch_all(conn).await?)
}

/// Open deals of `owners` (for nudges: a team is tens of deals, not thousands).
#[derive(Debug, Clone, FromRow)]
pub struct TeamDealRow {
    pub id: i64,
    pub number: i64,
    pub name: String,
    pub owner_id: i64,
    pub amount: i64,
    pub stage: String,
    pub close_date: String,
    pub stage_entered_at: String,
    /// The latest activity, if any.
    pub last_activity: Option<String>,
    /// Overrides on this deal since the cutoff given.
    pub overrides: i64,
}

pub async fn team_deals(
    conn: &mut Conn,
    tenant_id: i64,
    owners: &[i64],
    overrides_since: DateTime<Utc>,
) -> Result<Vec<TeamDealRow>> {
    if owners.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (0..owners.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT d.id, d.number, d.name, d.owner_id, d.amount, d.stage, d.close_date, \
         d.stage_entered_at, \
         (SELECT MAX(a.at) FROM activities a WHERE a.deal_id = d.id) AS last_activity, \
         (SELECT COUNT(*) FROM stage_changes c WHERE c.deal_id = d.id AND c.overridden = 1 \
          AND c.at >= $2) AS overrides \
         FROM deals d WHERE d.tenant_id = $1 AND d.status = 'open' AND d.owner_id IN ({}) \
         ORDER BY d.number",
        marks.join(", ")
    );
    let mut q = sqlx::query_as::<_, TeamDealRow>(AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(ts(overrides_since));
    for o in owners {
        q = q.bind(*o);
    }
    Ok(q.fetch_all(conn).await?)
}
