//! Aggregates for the daily digest and the coaching nudges. Everything is computed in SQL and
//! returns a handful of rows: the pipeline is never loaded deal by deal, activities never at all.
//!
//! "Quiet" (no activity since a cutoff) is written `NOT EXISTS (… at >= cutoff)`: it stops at
//! the first recent activity through the activities' index by deal and time
//! (`activities_by_deal`; `activities_by_deal_recent` on PostgreSQL), and measured 2–3× faster
//! than a correlated `MAX(at)` on both SQLite and PostgreSQL.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, FromRow};

use super::{Conn, Result, StoreError, date_text, parse_date, parse_ts, ts};
use crate::engine::ids::{DealNumber, StageId};
use crate::engine::transition::TransitionKind;

/// A deal as the digest and the nudges name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealLine {
    pub number: DealNumber,
    pub name: String,
    pub owner_id: i64,
    /// Minor units.
    pub amount: i64,
}

impl DealLine {
    fn read(number: i64, name: String, owner_id: i64, amount: i64) -> Result<Self> {
        let number = u32::try_from(number)
            .ok()
            .and_then(DealNumber::new)
            .ok_or_else(|| corrupt(format!("number {number}")))?;
        Ok(Self {
            number,
            name,
            owner_id,
            amount,
        })
    }
}

fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        table: "deals",
        detail,
    }
}

fn stage(text: &str) -> Result<StageId> {
    text.parse().map_err(|_| corrupt(format!("stage `{text}`")))
}

/// A stage change since the previous digest, with the deal it moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageMove {
    pub deal: DealLine,
    /// `None` for the deal's creation.
    pub kind: Option<TransitionKind>,
    pub overridden: bool,
    pub from: Option<StageId>,
    pub to: StageId,
    /// Who moved it, and why (a move back's, a loss's or an override's reason).
    pub actor_id: i64,
    pub reason: Option<String>,
}

#[derive(FromRow)]
struct ChangeRow {
    kind: String,
    actor_id: i64,
    reason: Option<String>,
    overridden: i64,
    from_stage: Option<String>,
    to_stage: String,
    number: i64,
    name: String,
    owner_id: i64,
    amount: i64,
}

impl TryFrom<ChangeRow> for StageMove {
    type Error = StoreError;

    fn try_from(c: ChangeRow) -> Result<Self> {
        let kind = match c.kind.as_str() {
            "create" => None,
            other => Some(
                TransitionKind::parse(other).ok_or_else(|| StoreError::Corrupt {
                    table: "stage_changes",
                    detail: format!("kind `{other}`"),
                })?,
            ),
        };
        Ok(Self {
            kind,
            overridden: c.overridden != 0,
            from: c.from_stage.as_deref().map(stage).transpose()?,
            to: stage(&c.to_stage)?,
            actor_id: c.actor_id,
            reason: c.reason,
            deal: DealLine::read(c.number, c.name, c.owner_id, c.amount)?,
        })
    }
}

/// At most this many changes of each table are read for one digest; a digest lists a few and
/// counts the rest, and a day with more changes than this is not a normal day.
pub const CHANGE_LIMIT: i64 = 500;

pub async fn stage_changes_since(
    conn: &mut Conn,
    tenant_id: i64,
    since: DateTime<Utc>,
) -> Result<Vec<StageMove>> {
    let rows: Vec<ChangeRow> = sqlx::query_as(
        "SELECT c.kind, c.actor_id, c.reason, c.overridden, c.from_stage, c.to_stage, \
         d.number, d.name, d.owner_id, d.amount FROM stage_changes c JOIN deals d ON d.id = c.deal_id \
         WHERE c.tenant_id = $1 AND c.at >= $2 ORDER BY c.at, c.id LIMIT $3",
    )
    .bind(tenant_id)
    .bind(ts(since))
    .bind(CHANGE_LIMIT)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(StageMove::try_from).collect()
}

/// An amount or close-date change since the previous digest: the values as written, text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub deal: DealLine,
    /// `amount` or `close_date`.
    pub field: String,
    pub old: Option<String>,
    pub new: String,
}

#[derive(FromRow)]
struct FieldChangeRow {
    field: String,
    old_value: Option<String>,
    new_value: String,
    number: i64,
    name: String,
    owner_id: i64,
}

/// Amounts and expected close dates changed since `since`. A closed deal's close date is the
/// day it closed, which the digest reports as a close, not as a date moved.
pub async fn money_and_date_changes_since(
    conn: &mut Conn,
    tenant_id: i64,
    since: DateTime<Utc>,
) -> Result<Vec<FieldChange>> {
    let rows: Vec<FieldChangeRow> = sqlx::query_as(
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
    .await?;
    rows.into_iter()
        .map(|f| {
            Ok(FieldChange {
                deal: DealLine::read(f.number, f.name, f.owner_id, 0)?,
                field: f.field,
                old: f.old_value,
                new: f.new_value,
            })
        })
        .collect()
}

/// An open deal at risk, with how many deals (and how much money) the same risk covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtRisk {
    pub deal: DealLine,
    pub stage: StageId,
    pub close_date: NaiveDate,
    pub stage_entered_at: DateTime<Utc>,
    /// Requirements of stages it left that it no longer meets (0: in process).
    pub out_of_process: u32,
    /// Every deal the same risk covers, beyond the few returned.
    pub total_count: u64,
    pub total_amount: i64,
}

#[derive(FromRow)]
struct RiskRow {
    number: i64,
    name: String,
    owner_id: i64,
    amount: i64,
    stage: String,
    close_date: String,
    stage_entered_at: String,
    out_of_process: Option<i64>,
    total_n: i64,
    total_amount: i64,
}

impl TryFrom<RiskRow> for AtRisk {
    type Error = StoreError;

    fn try_from(r: RiskRow) -> Result<Self> {
        Ok(Self {
            stage: stage(&r.stage)?,
            close_date: parse_date("deals", &r.close_date)?,
            stage_entered_at: parse_ts("deals", &r.stage_entered_at)?,
            out_of_process: r
                .out_of_process
                .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
            total_count: u64::try_from(r.total_n).unwrap_or(0),
            total_amount: r.total_amount,
            deal: DealLine::read(r.number, r.name, r.owner_id, r.amount)?,
        })
    }
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
    /// Meets no longer a requirement of a stage it left (see `engine::process`).
    OutOfProcess,
}

/// The largest `limit` open deals with this risk (`owners`: only theirs), each row also carrying
/// the count and sum over all of them (a window aggregate, so one query does both).
pub async fn at_risk(
    conn: &mut Conn,
    tenant_id: i64,
    risk: &Risk<'_>,
    owners: Option<&[i64]>,
    limit: i64,
) -> Result<Vec<AtRisk>> {
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
        Risk::OutOfProcess => "d.out_of_process > 0".to_string(),
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
        "SELECT d.number, d.name, d.owner_id, d.amount, d.stage, d.close_date, \
         d.stage_entered_at, d.out_of_process, COUNT(*) OVER () AS total_n, \
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
    q.fetch_all(conn)
        .await?
        .into_iter()
        .map(AtRisk::try_from)
        .collect()
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

/// An open deal of a team, with what the nudges ask about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamDeal {
    pub id: i64,
    pub deal: DealLine,
    pub stage: StageId,
    pub close_date: NaiveDate,
    pub stage_entered_at: DateTime<Utc>,
    /// Overrides on this deal since the cutoff given.
    pub overrides: u32,
    /// Requirements of stages it left that it no longer meets.
    pub out_of_process: u32,
}

#[derive(FromRow)]
struct TeamDealRow {
    id: i64,
    number: i64,
    name: String,
    owner_id: i64,
    amount: i64,
    stage: String,
    close_date: String,
    stage_entered_at: String,
    overrides: i64,
    out_of_process: Option<i64>,
}

impl TryFrom<TeamDealRow> for TeamDeal {
    type Error = StoreError;

    fn try_from(d: TeamDealRow) -> Result<Self> {
        Ok(Self {
            id: d.id,
            stage: stage(&d.stage)?,
            close_date: parse_date("deals", &d.close_date)?,
            stage_entered_at: parse_ts("deals", &d.stage_entered_at)?,
            overrides: u32::try_from(d.overrides).unwrap_or(0),
            out_of_process: d
                .out_of_process
                .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
            deal: DealLine::read(d.number, d.name, d.owner_id, d.amount)?,
        })
    }
}

pub async fn team_deals(
    conn: &mut Conn,
    tenant_id: i64,
    owners: &[i64],
    overrides_since: DateTime<Utc>,
) -> Result<Vec<TeamDeal>> {
    if owners.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (0..owners.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT d.id, d.number, d.name, d.owner_id, d.amount, d.stage, d.close_date, \
         d.stage_entered_at, d.out_of_process, \
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
    q.fetch_all(conn)
        .await?
        .into_iter()
        .map(TeamDeal::try_from)
        .collect()
}
