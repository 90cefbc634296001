//! The daily digest's figures: the forecast for this month and quarter, what changed since the
//! previous digest and what is at risk, all from SQL aggregates (see `store::digest`).

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

use super::forecast::{PeriodRange, period_range};
use super::forecast::{open_rows, won_rows};
use super::{Service, ServiceResult};
use crate::engine::forecast::{Forecast, OpenRow, PeriodSpec, WonRow, YearMonth, forecast};
use crate::engine::ids::{DealNumber, StageId};
use crate::engine::playbook::Playbook;
use crate::engine::transition::TransitionKind;
use crate::store::digest::{self as q, AtRisk, DealLine, Risk, StallCutoff};
use crate::store::pipeline::{self, PipelineFilter};
use crate::store::{Conn, StoreError, jobs, members};

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
    /// Mondays: how the deals that left a stage in the seven days before today left it, per
    /// stage, for the whole team (`/coach`'s figures); empty on other days.
    pub week: Vec<crate::engine::adherence::StageAdherence>,
    /// The range of the quarter's closed-won amount (recorded with the day's snapshot).
    pub range: Option<super::RangeView>,
    /// Mondays: how the quarter's pipeline moved over the seven days before today.
    pub movement: Option<super::MovementView>,
    /// The first digest after a quarter closed: how that quarter's calls fared.
    pub closed_quarter: Option<super::AccuracyView>,
    /// The quarter's weighted total a week ago (minor units), from the latest snapshot taken
    /// seven or more days before today in this quarter, with its day; the chart marks it.
    pub last_week: Option<(NaiveDate, i128)>,
}

/// One deal named in "what changed".
#[derive(Debug, Clone, PartialEq)]
pub struct ChangedDeal {
    pub number: DealNumber,
    pub name: String,
    pub owner: String,
    /// Minor units.
    pub amount: i64,
    /// Stage ids for stage changes (the first stage left and the last reached, when the deal
    /// moved more than once); old and new values for field changes (the first and the last).
    pub from: Option<String>,
    pub to: Option<String>,
    /// The values an amount went through between `from` and `to`, in order (a dip under an
    /// approval threshold and back is worth seeing).
    pub via: Vec<String>,
    /// For an override: the manager who passed the gates, and their reason.
    pub by: Option<String>,
    pub reason: Option<String>,
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
    /// A requirement of a stage it left no longer met, not overridden (`engine::process`).
    OutOfProcess,
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
    /// Requirements of stages it left that it no longer meets, as recorded.
    pub out_of_process: u32,
    /// For a deal out of process: the first of them, and its stage.
    pub first_broken: Option<(StageId, String)>,
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
        // The digest's daily look at every deal out of process: met again since, or not.
        self.judge_stale(scope.tenant_id, scope.playbook, true)
            .await?;
        let mut conn = self.store.reader().acquire().await?;
        let mut figures = digest_figures(&mut conn, scope, now).await?;
        super::truth::add_to_digest(&mut conn, &scope, &mut figures).await?;
        Ok(figures)
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
    let open_rows = open_rows(&open, &name_of);
    let won_rows = won_rows(&won, &name_of);
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
    let since = previous.unwrap_or(now - Duration::days(1));
    let changes = changes(conn, tenant_id, since, &month, &quarter, &name_of).await?;
    let risks = risks(conn, tenant_id, playbook, today, now, &name_of).await?;
    let week = if today.weekday() == chrono::Weekday::Mon {
        let until = Utc.from_utc_datetime(&today.and_time(chrono::NaiveTime::MIN));
        let from = until - Duration::days(7);
        let moved = crate::store::history::moved_since(conn, tenant_id, from).await?;
        let left = crate::engine::adherence::exits(playbook, &moved, Some(from), Some(until));
        crate::engine::adherence::adherence(playbook, &left, None)
            .into_iter()
            .filter(|s| s.team.exits > 0)
            .collect()
    } else {
        Vec::new()
    };
    let last_week = match quarter.from {
        Some(from) => jobs::weighted_snapshot(conn, tenant_id, from, today - Duration::days(7))
            .await?
            .map(|(day, weighted)| (day, i128::from(weighted))),
        None => None,
    };
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
        week,
        range: None,
        movement: None,
        closed_quarter: None,
        last_week,
    })
}

/// A deal line of the store, its owner by name, as "what changed" names it.
fn changed(deal: DealLine, name_of: &(dyn Fn(i64) -> String + Sync)) -> ChangedDeal {
    ChangedDeal {
        number: deal.number,
        owner: name_of(deal.owner_id),
        name: deal.name,
        amount: deal.amount,
        from: None,
        to: None,
        via: Vec::new(),
        by: None,
        reason: None,
    }
}

/// Adds `change` to `list`, or, if the deal is in it already, makes its line run from where
/// it first was to where it is now (`Qualify → Solution` for two advances in a day); with
/// `path`, through the values between too.
fn merged(list: &mut Vec<ChangedDeal>, change: ChangedDeal, path: bool) {
    match list.iter_mut().find(|d| d.number == change.number) {
        Some(earlier) => {
            if path && let Some(was) = earlier.to.take() {
                earlier.via.push(was);
            }
            earlier.to = change.to;
            earlier.amount = change.amount;
        }
        None => list.push(change),
    }
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
            from: c.from.map(|s| s.to_string()),
            to: Some(c.to.to_string()),
            ..changed(c.deal, name_of)
        };
        if c.overridden {
            // Each override stands on its own: who passed the gates, and why.
            out.overrides.push(ChangedDeal {
                by: Some(name_of(c.actor_id)),
                reason: c.reason.clone(),
                ..deal.clone()
            });
        }
        match c.kind {
            None => out.new.push(deal),
            Some(TransitionKind::Advance) => merged(&mut out.advanced, deal, false),
            Some(TransitionKind::Back) => merged(&mut out.moved_back, deal, false),
            Some(TransitionKind::Won) => out.won.push(deal),
            Some(TransitionKind::Lost) => out.lost.push(deal),
        }
    }
    let end = |p: &PeriodRange| p.until.map(|d| d.format("%Y-%m-%d").to_string());
    let (month_end, quarter_end) = (end(month), end(quarter));
    for f in q::money_and_date_changes_since(conn, tenant_id, since).await? {
        let deal = ChangedDeal {
            from: f.old.clone(),
            to: Some(f.new.clone()),
            ..changed(f.deal, name_of)
        };
        match f.field.as_str() {
            "amount" => merged(&mut out.amounts, deal, true),
            _ => {
                // ISO dates compare as text.
                let left = |limit: &Option<String>| {
                    limit
                        .as_ref()
                        .is_some_and(|l| f.old.as_ref().is_some_and(|old| old < l) && &f.new >= l)
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
        (RiskKind::OutOfProcess, Risk::OutOfProcess),
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
            .map_or((0, 0), |r| (r.total_count, r.total_amount));
        let mut top: Vec<RiskDeal> = rows
            .into_iter()
            .map(|r| risk_deal(r, now, name_of))
            .collect();
        if kind == RiskKind::OutOfProcess {
            // The few listed are judged again, to say what no longer holds.
            for deal in &mut top {
                deal.first_broken =
                    first_broken(conn, tenant_id, playbook, deal.number, today).await?;
            }
        }
        out.push(RiskGroup {
            kind,
            count,
            amount,
            top,
        });
    }
    Ok(out)
}

/// The first requirement of a stage `number` has left that it no longer meets.
async fn first_broken(
    conn: &mut Conn,
    tenant_id: i64,
    playbook: &Playbook,
    number: DealNumber,
    today: NaiveDate,
) -> Result<Option<(StageId, String)>, StoreError> {
    let Some(deal) = crate::store::deals::get(conn, tenant_id, number).await? else {
        return Ok(None);
    };
    let records = crate::store::deals::records(conn, deal.id).await?;
    Ok(
        crate::engine::process::broken_gates(playbook, &records.facts(&deal), today)
            .into_iter()
            .next()
            .map(|c| (c.stage, c.requirement)),
    )
}

fn risk_deal(r: AtRisk, now: DateTime<Utc>, name_of: &(dyn Fn(i64) -> String + Sync)) -> RiskDeal {
    RiskDeal {
        number: r.deal.number,
        owner: name_of(r.deal.owner_id),
        name: r.deal.name,
        amount: r.deal.amount,
        stage: r.stage,
        close_date: r.close_date,
        days_in_stage: (now - r.stage_entered_at).num_days().max(0),
        out_of_process: r.out_of_process,
        first_broken: None,
    }
}

/// The weekday and date as a person reads it: `Mon 26 Oct 2026`.
pub fn day_label(d: NaiveDate) -> String {
    format!("{} {}", d.weekday(), d.format("%-d %b %Y"))
}
