//! The daily digest's figures: the forecast for this month and quarter, what changed since the
//! previous digest and what is at risk, all from SQL aggregates (see `store::digest`).

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use super::forecast::{PeriodRange, period_range};
use super::{Service, ServiceResult};
use crate::engine::forecast::{Forecast, OpenRow, PeriodSpec, WonRow, YearMonth, forecast};
use crate::engine::ids::{DealNumber, StageId};
use crate::engine::playbook::Playbook;
use crate::store::digest::{self as q, Risk, RiskRow, StallCutoff};
use crate::store::pipeline::{self, GroupRow, PipelineFilter};
use crate::store::{Conn, StoreError, jobs, members, parse_ts};

/// Late-stage deals with no activity for this many days are at risk.
pub const LATE_STAGE_QUIET_DAYS: i64 = 7;
/// The digest lists this many deals of each kind of change or risk, and counts the rest.
pub const LIST_LIMIT: usize = 5;

#[derive(Debug, Clone, PartialEq)]
pub struct DigestFigures {
    pub workspace: String,
    pub currency: String,
    /// The workspace's local date the digest is for.
    pub today: NaiveDate,
    pub month: PeriodRange,
    pub quarter: PeriodRange,
    /// Open deals closing this month; deals won this month.
    pub month_forecast: Forecast,
    /// Open deals closing this quarter; deals won this quarter.
    pub quarter_forecast: Forecast,
    /// Changes are counted from here: the previous digest, or a day back for the first one.
    pub since: DateTime<Utc>,
    pub first_digest: bool,
    pub changes: Changes,
    pub risks: Vec<RiskGroup>,
}

/// One deal named in "what changed".
#[derive(Debug, Clone, PartialEq)]
pub struct ChangedDeal {
    pub number: DealNumber,
    pub name: String,
    pub owner: String,
    /// Minor units.
    pub amount: i64,
    /// Stage ids for stage changes; old and new values for field changes.
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Changes {
    pub new: Vec<ChangedDeal>,
    pub advanced: Vec<ChangedDeal>,
    pub moved_back: Vec<ChangedDeal>,
    pub won: Vec<ChangedDeal>,
    pub lost: Vec<ChangedDeal>,
    /// Close date moved past the end of the quarter (or of the month, if still in the quarter).
    pub slipped: Vec<ChangedDeal>,
    pub amounts: Vec<ChangedDeal>,
    pub overrides: Vec<ChangedDeal>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskKind {
    /// Longer in the stage than its stall threshold, with no activity in that time.
    Stalled,
    /// Close date already passed.
    Overdue,
    /// In one of the last two open stages with no activity for `LATE_STAGE_QUIET_DAYS`.
    QuietLateStage,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RiskGroup {
    pub kind: RiskKind,
    pub count: u64,
    pub amount: i64,
    /// The largest, at most `LIST_LIMIT`.
    pub top: Vec<RiskDeal>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RiskDeal {
    pub number: DealNumber,
    pub name: String,
    pub owner: String,
    pub amount: i64,
    pub stage: StageId,
    pub close_date: NaiveDate,
    pub days_in_stage: i64,
}

/// What a digest needs to know about its workspace.
#[derive(Debug, Clone, Copy)]
pub struct DigestScope<'a> {
    pub tenant_id: i64,
    pub workspace: &'a str,
    pub playbook: &'a Playbook,
    pub fiscal_start_month: u32,
    /// The workspace's local date.
    pub today: NaiveDate,
}

impl Service {
    /// The digest's figures at `now`, read on the read pool.
    pub async fn digest_figures(
        &self,
        scope: DigestScope<'_>,
        now: DateTime<Utc>,
    ) -> ServiceResult<DigestFigures> {
        let mut conn = self.store.reader().acquire().await?;
        Ok(digest_figures(&mut conn, scope, now).await?)
    }
}

async fn digest_figures(
    conn: &mut Conn,
    scope: DigestScope<'_>,
    now: DateTime<Utc>,
) -> Result<DigestFigures, StoreError> {
    let DigestScope {
        tenant_id,
        playbook,
        today,
        ..
    } = scope;
    let month = period_range(PeriodSpec::ThisMonth, today, scope.fiscal_start_month);
    let quarter = period_range(PeriodSpec::ThisQuarter, today, scope.fiscal_start_month);
    let names: HashMap<i64, String> = members::list(conn, tenant_id)
        .await?
        .into_iter()
        .map(|m| (m.id, m.display_name))
        .collect();
    let name_of = |id: i64| {
        names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("member {id}"))
    };

    let filter = PipelineFilter {
        owners: None,
        from: quarter.from,
        until: quarter.until,
    };
    let open = pipeline::open_groups(conn, tenant_id, &filter).await?;
    let won = pipeline::won_groups(conn, tenant_id, &filter).await?;
    let this_month = YearMonth::of(today);
    let open_rows = open
        .iter()
        .map(|g| open_row(g, &name_of))
        .collect::<Result<Vec<_>, _>>()?;
    let won_rows = won
        .iter()
        .map(|g| won_row(g, &name_of))
        .collect::<Result<Vec<_>, _>>()?;
    let fiscal = scope.fiscal_start_month;
    let quarter_forecast = forecast(playbook, &open_rows, &won_rows, fiscal);
    let month_open: Vec<OpenRow> = open_rows
        .iter()
        .filter(|r| r.close_month == this_month)
        .cloned()
        .collect();
    let month_won: Vec<WonRow> = won_rows
        .iter()
        .filter(|r| r.close_month == this_month)
        .cloned()
        .collect();
    let month_forecast = forecast(playbook, &month_open, &month_won, fiscal);

    let previous = jobs::last_run_before(conn, tenant_id, "digest", today).await?;
    let since = match &previous {
        Some(at) => parse_ts("job_claims", at)?,
        None => now - Duration::days(1),
    };
    let changes = changes(conn, tenant_id, since, &month, &quarter, &name_of).await?;
    let risks = risks(conn, tenant_id, playbook, today, now, &name_of).await?;
    Ok(DigestFigures {
        workspace: scope.workspace.to_string(),
        currency: playbook.currency.clone(),
        today,
        month,
        quarter,
        month_forecast,
        quarter_forecast,
        since,
        first_digest: previous.is_none(),
        changes,
        risks,
    })
}

fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        table: "deals",
        detail,
    }
}

fn year_month(g: &GroupRow) -> Result<YearMonth, StoreError> {
    let bad = || corrupt(format!("month `{}`", g.month));
    let (y, m) = g.month.split_once('-').ok_or_else(bad)?;
    Ok(YearMonth {
        year: y.parse().map_err(|_| bad())?,
        month: m.parse().map_err(|_| bad())?,
    })
}

fn open_row(g: &GroupRow, name_of: &(dyn Fn(i64) -> String + Sync)) -> Result<OpenRow, StoreError> {
    Ok(OpenRow {
        stage: g
            .stage
            .parse()
            .map_err(|_| corrupt(format!("stage `{}`", g.stage)))?,
        owner: name_of(g.owner_id),
        close_month: year_month(g)?,
        count: g.n as u64,
        amount: g.amount,
    })
}

fn won_row(g: &GroupRow, name_of: &(dyn Fn(i64) -> String + Sync)) -> Result<WonRow, StoreError> {
    Ok(WonRow {
        owner: name_of(g.owner_id),
        close_month: year_month(g)?,
        count: g.n as u64,
        amount: g.amount,
    })
}

fn number(n: i64) -> Result<DealNumber, StoreError> {
    u32::try_from(n)
        .ok()
        .and_then(DealNumber::new)
        .ok_or_else(|| corrupt(format!("number {n}")))
}

async fn changes(
    conn: &mut Conn,
    tenant_id: i64,
    since: DateTime<Utc>,
    month: &PeriodRange,
    quarter: &PeriodRange,
    name_of: &(dyn Fn(i64) -> String + Sync),
) -> Result<Changes, StoreError> {
    let mut out = Changes::default();
    for c in q::stage_changes_since(conn, tenant_id, since).await? {
        let deal = ChangedDeal {
            number: number(c.number)?,
            name: c.name.clone(),
            owner: name_of(c.owner_id),
            amount: c.amount,
            from: c.from_stage.clone(),
            to: Some(c.to_stage.clone()),
        };
        if c.overridden != 0 {
            out.overrides.push(deal.clone());
        }
        match c.kind.as_str() {
            "create" => out.new.push(deal),
            "advance" => out.advanced.push(deal),
            "back" => out.moved_back.push(deal),
            "won" => out.won.push(deal),
            "lost" => out.lost.push(deal),
            _ => {}
        }
    }
    let end = |p: &PeriodRange| p.until.map(|d| d.format("%Y-%m-%d").to_string());
    let (month_end, quarter_end) = (end(month), end(quarter));
    for f in q::money_and_date_changes_since(conn, tenant_id, since).await? {
        let deal = ChangedDeal {
            number: number(f.number)?,
            name: f.name.clone(),
            owner: name_of(f.owner_id),
            amount: 0,
            from: f.old_value.clone(),
            to: Some(f.new_value.clone()),
        };
        match f.field.as_str() {
            "amount" => out.amounts.push(deal),
            _ => {
                // ISO dates compare as text.
                let left = |limit: &Option<String>| {
                    limit.as_ref().is_some_and(|l| {
                        f.old_value.as_ref().is_some_and(|old| old < l) && &f.new_value >= l
                    })
                };
                if left(&quarter_end) || left(&month_end) {
                    out.slipped.push(deal);
                }
            }
        }
    }
    Ok(out)
}

async fn risks(
    conn: &mut Conn,
    tenant_id: i64,
    playbook: &Playbook,
    today: NaiveDate,
    now: DateTime<Utc>,
    name_of: &(dyn Fn(i64) -> String + Sync),
) -> Result<Vec<RiskGroup>, StoreError> {
    let cutoffs: Vec<StallCutoff> = playbook
        .open_stages()
        .filter_map(|s| {
            s.stall_after_days.map(|days| StallCutoff {
                stage: s.id.to_string(),
                cutoff: now - Duration::days(i64::from(days)),
            })
        })
        .collect();
    let open: Vec<String> = playbook.open_stages().map(|s| s.id.to_string()).collect();
    let late: Vec<String> = open.iter().rev().take(2).cloned().collect();
    let kinds = [
        (RiskKind::Stalled, Risk::Stalled(&cutoffs)),
        (RiskKind::Overdue, Risk::Overdue(today)),
        (
            RiskKind::QuietLateStage,
            Risk::Quiet {
                stages: &late,
                since: now - Duration::days(LATE_STAGE_QUIET_DAYS),
            },
        ),
    ];
    let mut out = Vec::new();
    for (kind, risk) in kinds {
        let rows = q::at_risk(conn, tenant_id, &risk, None, LIST_LIMIT as i64).await?;
        let (count, amount) = rows
            .first()
            .map_or((0, 0), |r| (r.total_n as u64, r.total_amount));
        let top = rows
            .into_iter()
            .map(|r| risk_deal(r, now, name_of))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(RiskGroup {
            kind,
            count,
            amount,
            top,
        });
    }
    Ok(out)
}

fn risk_deal(
    r: RiskRow,
    now: DateTime<Utc>,
    name_of: &(dyn Fn(i64) -> String + Sync),
) -> Result<RiskDeal, StoreError> {
    let entered = parse_ts("deals", &r.stage_entered_at)?;
    Ok(RiskDeal {
        number: number(r.number)?,
        name: r.name,
        owner: name_of(r.owner_id),
        amount: r.amount,
        stage: r
            .stage
            .parse()
            .map_err(|_| corrupt(format!("stage `{}`", r.stage)))?,
        close_date: crate::store::parse_date("deals", &r.close_date)?,
        days_in_stage: (now - entered).num_days().max(0),
    })
}

/// The weekday and date as a person reads it: `Mon 26 Oct 2026`.
pub fn day_label(d: NaiveDate) -> String {
    format!("{} {}", d.weekday(), d.format("%-d %b %Y"))
}
