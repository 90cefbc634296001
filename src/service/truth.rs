//! Forecast truth (issue 15): how the calls of a period fared against what closed
//! (`/forecast accuracy`), how the pipeline moved (`/forecast changes`), and the range the
//! period's closed-won amount is likely to fall in (`/forecast`, the digest). The snapshots are
//! read through `store::truth`; the arithmetic is `engine::truth`.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Datelike, Duration, Months, NaiveDate, Weekday};

use super::forecast::{PeriodRange, period_range};
use super::workspace::owners_in_view;
use super::{DigestFigures, DigestScope, Service, ServiceError, ServiceResult, Session, UserRef};
use crate::engine::deal::DealStatus;
use crate::engine::forecast::{OpenRow, PeriodSpec, YearMonth, forecast};
use crate::engine::ids::{DealNumber, StageId};
use crate::engine::playbook::{ForecastCategory, Playbook, load_str};
use crate::engine::truth::movement::{DealPath, EndState, Movement, movement};
use crate::engine::truth::{
    Bets, Calibrated, MIN_DECIDED, OpenBet, PRIOR_STRENGTH, Range, Slip, calibrate, percentiles,
};
use crate::store::truth::{self as t, Scope, SnapshotHead};
use crate::store::{Conn, jobs, members, playbooks, tenants};

/// Draws of a range: enough for stable percentiles, few enough to stay well under a second on
/// a hundred thousand open deals.
pub const RANGE_RUNS: u32 = 10_000;
/// Fixed, so the same pipeline gives the same range every time it is asked.
const RANGE_SEED: u64 = 0x00D3_A16A_7E15;
/// Closed quarters whose start snapshots give the slip rate the ranges use, and whose ranges
/// give the hit rate `/forecast accuracy` reports.
const HISTORY_QUARTERS: u32 = 4;
/// Periods the accuracy chart draws: the one shown and those before it.
const CHART_PERIODS: u32 = 4;
/// A quarter has thirteen weeks; a 92-day quarter's last day counts in week 13.
const WEEKS: u32 = 13;

/// The range of a period's closed-won amount, and what it was drawn from.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeView {
    pub range: Range,
    /// Already won in the period, minor units.
    pub won: i128,
    pub open_deals: usize,
    /// Business not in the pipeline yet, from `(periods, deals)`: the deals created from this
    /// point of each of the last `periods` periods and won within it.
    pub new_business: Option<(u32, usize)>,
    /// The chance a deal forecast to close in the period closes in it; `None` without a closed
    /// quarter to measure it on (then every won deal is taken to close in time).
    pub in_period: Option<f64>,
    /// Stages whose calibrated probability was used (enough decided deals).
    pub calibrated_stages: usize,
}

/// One week's call of a period: what its first snapshot said the period would bring.
#[derive(Debug, Clone, PartialEq)]
pub struct WeekCall {
    /// 1..=13.
    pub week: u32,
    pub date: NaiveDate,
    /// Won so far plus the open figure closing in the period, minor units.
    pub weighted: i128,
    pub commit: i128,
    pub best_case: i128,
    /// Won in the period from the deals in commit that day, over their amount then.
    pub commit_conversion: Option<f64>,
    /// Whether the period's result fell inside that day's P10–P90 (workspace, quarters only).
    pub in_range: Option<bool>,
}

/// `/forecast accuracy`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccuracyView {
    pub period: PeriodRange,
    pub scope: String,
    pub currency: String,
    /// Whether the period has ended (a running period's result is not final).
    pub closed: bool,
    /// Won in the period, minor units, and how many deals.
    pub won: i128,
    pub won_count: usize,
    pub weeks: Vec<WeekCall>,
    /// Commit and best-case deals on the period's first snapshot that did not close in it.
    pub slip: Option<(NaiveDate, Slip)>,
    /// The Brier score of the stage probabilities over the deals the first snapshot saw closing
    /// in the period, and how many.
    pub brier: Option<(f64, usize)>,
    /// Weekly calls of the closed quarters before today whose result fell inside their range:
    /// `(inside, of)`.
    pub hit_rate: Option<(u32, u32)>,
    /// Whether the figures are the whole workspace's: ranges are recorded for it alone.
    pub workspace_wide: bool,
    /// The weighted call's accuracy by week, for this period and up to three before it (oldest
    /// first): the chart's lines, each named by its period.
    pub history: Vec<(String, Vec<(u32, f64)>)>,
}

/// `/forecast changes`.
#[derive(Debug, Clone, PartialEq)]
pub struct MovementView {
    pub period: PeriodRange,
    /// The day of the start snapshot.
    pub since: NaiveDate,
    pub scope: String,
    pub currency: String,
    pub movement: Movement<(DealNumber, String)>,
}

/// The week of the period a day falls in, 1..=13.
fn week_of(period_start: NaiveDate, day: NaiveDate) -> u32 {
    let days = (day - period_start).num_days().max(0);
    (u32::try_from(days / 7).unwrap_or(u32::MAX) + 1).min(WEEKS)
}

/// The fiscal quarter before the one `today` is in.
fn last_quarter(today: NaiveDate, fiscal_start_month: u32) -> PeriodRange {
    let this = period_range(PeriodSpec::ThisQuarter, today, fiscal_start_month);
    let before = this.from.and_then(|d| d.pred_opt()).unwrap_or(today);
    period_range(PeriodSpec::ThisQuarter, before, fiscal_start_month)
}

/// Playbooks by the version a snapshot recorded, each parsed once per request.
pub(super) struct Versions {
    current: (i64, Arc<Playbook>),
    parsed: HashMap<i64, Arc<Playbook>>,
}

impl Versions {
    pub(super) fn new(version: i64, playbook: &Arc<Playbook>) -> Self {
        Self {
            current: (version, Arc::clone(playbook)),
            parsed: HashMap::new(),
        }
    }

    async fn get(
        &mut self,
        conn: &mut Conn,
        tenant_id: i64,
        version: i64,
    ) -> ServiceResult<Arc<Playbook>> {
        if version == self.current.0 {
            return Ok(Arc::clone(&self.current.1));
        }
        if let Some(p) = self.parsed.get(&version) {
            return Ok(Arc::clone(p));
        }
        // A version whose text is gone (a workspace from before versions) is read with the
        // playbook in force: the best there is.
        let playbook = match playbooks::toml_of(conn, tenant_id, version).await? {
            Some((reference, text)) => Arc::new(
                load_str(&reference, &text)
                    .map_err(|e| ServiceError::Playbook(e.to_string()))?
                    .playbook,
            ),
            None => Arc::clone(&self.current.1),
        };
        self.parsed.insert(version, Arc::clone(&playbook));
        Ok(playbook)
    }
}

fn in_category(playbook: &Playbook, stage: &StageId, categories: &[ForecastCategory]) -> bool {
    playbook
        .stage(stage)
        .is_some_and(|s| categories.contains(&s.forecast_category))
}

/// The ids of the stages in `categories`, as the store filters on them.
fn stages_in(playbook: &Playbook, categories: &[ForecastCategory]) -> Vec<String> {
    playbook
        .stages
        .iter()
        .filter(|s| categories.contains(&s.forecast_category))
        .map(|s| s.id.to_string())
        .collect()
}

fn add_slip(mut slip: Slip, o: &t::StageOutcome) -> Slip {
    let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    slip.of = slip.of.saturating_add(clamp(o.count));
    slip.slipped = slip.slipped.saturating_add(clamp(o.slipped));
    slip.of_amount += i128::from(o.amount);
    slip.slipped_amount += i128::from(o.slipped_amount);
    slip
}

impl Service {
    /// `/forecast accuracy [period] [owner]`: each week's call of the period against what was
    /// won in it, by default for the last closed quarter.
    pub async fn forecast_accuracy(
        &self,
        session: &Session,
        period: Option<PeriodSpec>,
        owner: Option<&UserRef>,
    ) -> ServiceResult<AccuracyView> {
        let schedule = self.schedule(session.tenant.id).await?;
        let today = schedule.digest.today(self.clock.now());
        let fiscal = schedule.fiscal_start_month;
        let range = match period {
            None => last_quarter(today, fiscal),
            Some(PeriodSpec::All | PeriodSpec::ThisYear) => {
                return Err(ServiceError::Invalid(
                    "Accuracy is judged week by week over a quarter or a month; name one, such \
                     as `last-quarter`, `2026-Q3` or `2026-09`."
                        .to_string(),
                ));
            }
            Some(spec) => period_range(spec, today, fiscal),
        };
        let tenant_id = session.tenant.id;
        let mut conn = self.store.reader().acquire().await?;
        let everyone = members::list(&mut conn, tenant_id).await?;
        let (owners, scope_name) =
            owners_in_view(&mut conn, session, &everyone, owner, "forecast accuracy").await?;
        let mut versions = Versions::new(session.tenant.playbook_version, &session.playbook);
        let mut view = accuracy(
            &mut conn,
            &mut versions,
            tenant_id,
            range,
            owners.as_deref(),
            today,
            fiscal,
        )
        .await?;
        view.scope = scope_name;
        view.currency = session.playbook.currency.clone();
        Ok(view)
    }
}

/// The accuracy figures of `range` for `owners` (`None`: everyone); the caller names the scope.
pub(super) async fn accuracy(
    conn: &mut Conn,
    versions: &mut Versions,
    tenant_id: i64,
    range: PeriodRange,
    owners: Option<&[i64]>,
    today: NaiveDate,
    fiscal: u32,
) -> ServiceResult<AccuracyView> {
    let (Some(from), Some(until)) = (range.from, range.until) else {
        unreachable!("callers pass bounded periods");
    };
    let scope = Scope {
        owners,
        from,
        until,
    };
    let won = t::won_in(conn, tenant_id, &scope).await?;
    let actual: i128 = won.iter().map(|(_, a)| i128::from(*a)).sum();
    let firsts = weekly_firsts(conn, tenant_id, from, until, today).await?;
    let whole_quarter = owners.is_none() && is_quarter(&range, fiscal);
    // The first week's snapshot is read whole once: slip and Brier judge all its stages.
    let first_outcomes = match firsts.first() {
        Some((_, head)) => t::snapshot_outcomes(conn, tenant_id, head.id, &scope, None).await?,
        None => Vec::new(),
    };
    let mut weeks = Vec::with_capacity(firsts.len());
    for (i, (week, head)) in firsts.iter().enumerate() {
        let playbook = versions.get(conn, tenant_id, head.playbook_version).await?;
        let f = snapshot_forecast(conn, &playbook, head, &scope, fiscal).await?;
        let won_before = won_before(&won, head.local_date);
        let commit_stages = stages_in(&playbook, &[ForecastCategory::Commit]);
        let commits = if i == 0 {
            first_outcomes
                .iter()
                .filter(|o| commit_stages.iter().any(|s| s == o.stage.as_str()))
                .cloned()
                .collect()
        } else {
            t::snapshot_outcomes(conn, tenant_id, head.id, &scope, Some(&commit_stages)).await?
        };
        let committed: i128 = commits.iter().map(|o| i128::from(o.amount)).sum();
        let converted: i128 = commits.iter().map(|o| i128::from(o.won_amount)).sum();
        weeks.push(WeekCall {
            week: *week,
            date: head.local_date,
            weighted: won_before + f.weighted(),
            commit: won_before + f.commit(),
            best_case: won_before + f.best_case(),
            commit_conversion: (committed > 0).then(|| converted as f64 / committed as f64),
            in_range: head
                .range
                .filter(|_| whole_quarter && until <= today)
                .map(|(p10, _, p90)| (i128::from(p10)..=i128::from(p90)).contains(&actual)),
        });
    }
    let (slip, brier) = match firsts.first() {
        Some((_, head)) => {
            let playbook = versions.get(conn, tenant_id, head.playbook_version).await?;
            let outcomes = first_outcomes;
            let likely = [ForecastCategory::Commit, ForecastCategory::BestCase];
            let slip = outcomes
                .iter()
                .filter(|o| in_category(&playbook, &o.stage, &likely))
                .fold(Slip::default(), add_slip);
            let judged: Vec<(f64, u64, u64)> = outcomes
                .iter()
                .map(|o| {
                    let p = playbook
                        .stage(&o.stage)
                        .map_or(0.0, |s| f64::from(s.probability.percent()) / 100.0);
                    (p, o.won, o.count - o.won)
                })
                .collect();
            let deals: u64 = outcomes.iter().map(|o| o.count).sum();
            let brier = crate::engine::truth::brier_grouped(&judged)
                .map(|b| (b, usize::try_from(deals).unwrap_or(usize::MAX)));
            ((slip.of > 0).then_some((head.local_date, slip)), brier)
        }
        None => (None, None),
    };
    let hit_rate = if owners.is_none() {
        range_hits(conn, tenant_id, today, fiscal).await?
    } else {
        None
    };
    // The chart's lines: the weighted call's accuracy week by week, this period and the ones of
    // the same length before it.
    let mut history = Vec::new();
    let months = months_in(from, until);
    for back in (1..CHART_PERIODS).rev() {
        let shift = Months::new(months * back);
        let (Some(past_from), Some(past_until)) = (
            from.checked_sub_months(shift),
            until.checked_sub_months(shift),
        ) else {
            continue;
        };
        let past = Scope {
            owners,
            from: past_from,
            until: past_until,
        };
        let line = weighted_accuracy(conn, versions, tenant_id, &past, today, fiscal).await?;
        if !line.is_empty() {
            history.push((short_label(past_from, past_until, fiscal), line));
        }
    }
    history.push((
        short_label(from, until, fiscal),
        weeks
            .iter()
            .filter_map(|w| Some((w.week, crate::engine::truth::accuracy(actual, w.weighted)?)))
            .collect(),
    ));
    Ok(AccuracyView {
        period: range,
        scope: String::new(),
        currency: String::new(),
        closed: until <= today,
        won: actual,
        won_count: won.len(),
        weeks,
        slip,
        brier,
        hit_rate,
        workspace_wide: owners.is_none(),
        history,
    })
}

impl Service {
    /// `/forecast changes [since]`: how this quarter's open pipeline moved from the snapshot
    /// of `since` (by default the quarter's first) to now.
    pub async fn forecast_changes(
        &self,
        session: &Session,
        since: Option<NaiveDate>,
        owner: Option<&UserRef>,
    ) -> ServiceResult<MovementView> {
        let schedule = self.schedule(session.tenant.id).await?;
        let today = schedule.digest.today(self.clock.now());
        let period = period_range(PeriodSpec::ThisQuarter, today, schedule.fiscal_start_month);
        let (Some(from), Some(until)) = (period.from, period.until) else {
            unreachable!("a quarter has bounds");
        };
        let since = since.unwrap_or(from);
        if since > today {
            return Err(ServiceError::Invalid(format!(
                "{since} is in the future; movement is counted from a day that has passed, such \
                 as {}.",
                today - Duration::days(7)
            )));
        }
        let tenant_id = session.tenant.id;
        let mut conn = self.store.reader().acquire().await?;
        let everyone = members::list(&mut conn, tenant_id).await?;
        let (owners, scope_name) =
            owners_in_view(&mut conn, session, &everyone, owner, "pipeline movement").await?;
        let start = t::snapshots(&mut conn, tenant_id, since.max(from), until)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                ServiceError::Invalid(format!(
                    "No forecast snapshot was taken on or after {} this quarter; one is taken \
                     with each daily digest (`/digest setup`), so movement can be counted from \
                     the day after the first one.",
                    since.max(from)
                ))
            })?;
        let scope = Scope {
            owners: owners.as_deref(),
            from,
            until,
        };
        let movement = movement_from(&mut conn, tenant_id, &start, &scope).await?;
        Ok(MovementView {
            period,
            since: start.local_date,
            scope: scope_name,
            currency: session.playbook.currency.clone(),
            movement,
        })
    }
}

/// The P10 / P50 / P90 of a period's closed-won amount for the scope's owners, `won` being
/// what they have won in it already.
pub(super) async fn closed_won_range(
    conn: &mut Conn,
    tenant_id: i64,
    playbook: &Playbook,
    scope: &Scope<'_>,
    won: i128,
    today: NaiveDate,
    fiscal: u32,
) -> ServiceResult<RangeView> {
    let calibrated = stage_probabilities(playbook, &t::stage_cohorts(conn, tenant_id).await?);
    let in_period = in_period_rate(conn, tenant_id, today, fiscal).await?;
    let open = t::open_in(conn, tenant_id, scope).await?;
    let mut bets: Vec<OpenBet> = open
        .iter()
        .map(|(stage, amount)| OpenBet {
            amount: i128::from(*amount),
            win: calibrated
                .iter()
                .find(|(id, _)| id == stage)
                .map_or(0.0, |(_, p)| p.probability()),
            in_period: in_period.unwrap_or(1.0),
        })
        .collect();
    let open_deals = bets.len();
    let new_business = new_business(conn, tenant_id, scope, today).await?;
    if let Some((periods, amounts)) = &new_business {
        bets.extend(amounts.iter().map(|amount| OpenBet {
            amount: i128::from(*amount),
            win: 1.0 / f64::from(*periods),
            in_period: 1.0,
        }));
    }
    Ok(RangeView {
        range: draw_range(won, &bets).await?,
        won,
        open_deals,
        new_business: new_business.map(|(periods, amounts)| (periods, amounts.len())),
        in_period,
        calibrated_stages: calibrated
            .iter()
            .filter(|(_, c)| c.decided >= MIN_DECIDED)
            .count(),
    })
}

/// Business not in the period's pipeline yet: the deals that, in each of the last periods of
/// the same length the workspace was there for, were won within it without being in its
/// pipeline at this point of it (created later, or expected to close outside it then). Each becomes a bet with chance one in the number of periods, so the draws add, on
/// average, what such deals brought in then. `None` without such a period.
async fn new_business(
    conn: &mut Conn,
    tenant_id: i64,
    scope: &Scope<'_>,
    today: NaiveDate,
) -> ServiceResult<Option<(u32, Vec<i64>)>> {
    let Some(first) = t::first_created(conn, tenant_id).await? else {
        return Ok(None);
    };
    let months = months_in(scope.from, scope.until);
    let offset = (today - scope.from).max(Duration::zero());
    let mut periods = 0;
    let mut amounts = Vec::new();
    for back in 1..=HISTORY_QUARTERS {
        let shift = Months::new(months * back);
        let (Some(from), Some(until)) = (
            scope.from.checked_sub_months(shift),
            scope.until.checked_sub_months(shift),
        ) else {
            break;
        };
        if from < first {
            break;
        }
        let past = Scope {
            owners: scope.owners,
            from,
            until,
        };
        periods += 1;
        // What that period's snapshot of the same day did not hold; before snapshots began,
        // the deals created after that day.
        let same_day = from + offset;
        let snapshot = t::snapshots(conn, tenant_id, same_day, until).await?;
        amounts.extend(match snapshot.first() {
            Some(s) => t::won_outside_snapshot(conn, tenant_id, &past, s).await?,
            None => t::won_created_from(conn, tenant_id, &past, same_day).await?,
        });
    }
    Ok((periods > 0).then_some((periods, amounts)))
}

/// One less the slip rate of the last closed quarters: of the deals their first snapshots
/// saw closing in them, the share that did.
async fn in_period_rate(
    conn: &mut Conn,
    tenant_id: i64,
    today: NaiveDate,
    fiscal: u32,
) -> ServiceResult<Option<f64>> {
    let mut total = Slip::default();
    for scope in closed_quarters(today, fiscal) {
        if let Some(first) = t::snapshots(conn, tenant_id, scope.from, scope.until)
            .await?
            .first()
        {
            total = t::snapshot_outcomes(conn, tenant_id, first.id, &scope, None)
                .await?
                .iter()
                .fold(total, add_slip);
        }
    }
    Ok(total.rate().map(|r| 1.0 - r))
}

/// Whether a period is exactly a fiscal quarter (the ranges snapshots record are quarters').
fn is_quarter(range: &PeriodRange, fiscal: u32) -> bool {
    range.from.is_some_and(|from| {
        let quarter = period_range(PeriodSpec::ThisQuarter, from, fiscal);
        (quarter.from, quarter.until) == (range.from, range.until)
    })
}

/// Each open stage's calibration, from the entry cohorts `(stage, won, decided)`.
pub(super) fn stage_probabilities(
    playbook: &Playbook,
    cohorts: &[(String, u32, u32)],
) -> Vec<(StageId, Calibrated)> {
    playbook
        .open_stages()
        .map(|stage| {
            let (won, decided) = cohorts
                .iter()
                .find(|(s, _, _)| *s == stage.id.as_str())
                .map_or((0, 0), |(_, w, d)| (*w, *d));
            let configured = f64::from(stage.probability.percent()) / 100.0;
            (
                stage.id.clone(),
                calibrate(configured, won, decided, PRIOR_STRENGTH),
            )
        })
        .collect()
}

/// Of the weekly calls of the last closed quarters that recorded a range, how many held
/// the quarter's result.
async fn range_hits(
    conn: &mut Conn,
    tenant_id: i64,
    today: NaiveDate,
    fiscal: u32,
) -> ServiceResult<Option<(u32, u32)>> {
    let (mut inside, mut of) = (0, 0);
    for scope in closed_quarters(today, fiscal) {
        let firsts = weekly_firsts(conn, tenant_id, scope.from, scope.until, today).await?;
        if firsts.iter().all(|(_, h)| h.range.is_none()) {
            continue;
        }
        let actual: i128 = t::won_in(conn, tenant_id, &scope)
            .await?
            .iter()
            .map(|(_, a)| i128::from(*a))
            .sum();
        for (p10, _, p90) in firsts.iter().filter_map(|(_, h)| h.range) {
            of += 1;
            inside += u32::from((i128::from(p10)..=i128::from(p90)).contains(&actual));
        }
    }
    Ok((of > 0).then_some((inside, of)))
}

/// The workspace-wide scopes of the last closed quarters, newest first: where slip is measured
/// and ranges are judged.
fn closed_quarters(today: NaiveDate, fiscal: u32) -> Vec<Scope<'static>> {
    let mut quarters = Vec::new();
    let mut quarter = last_quarter(today, fiscal);
    for _ in 0..HISTORY_QUARTERS {
        let (Some(from), Some(until)) = (quarter.from, quarter.until) else {
            break;
        };
        quarters.push(Scope {
            owners: None,
            from,
            until,
        });
        quarter = last_quarter(from, fiscal);
    }
    quarters
}

/// How the scope's pipeline moved from the `start` snapshot to now.
async fn movement_from(
    conn: &mut Conn,
    tenant_id: i64,
    start: &SnapshotHead,
    scope: &Scope<'_>,
) -> ServiceResult<Movement<(DealNumber, String)>> {
    let deals = t::window_deals(conn, tenant_id, start, scope).await?;
    let period = scope.from..scope.until;
    Ok(movement(deals.into_iter().map(|d| DealPath {
        start: d.start_amount.map(i128::from),
        created_in_window: d.created_at >= start.taken_at,
        end: match d.status {
            DealStatus::Won => EndState::Won,
            DealStatus::Lost => EndState::Lost,
            DealStatus::Open if period.contains(&d.close_date) => EndState::InPeriod,
            DealStatus::Open => EndState::OutOfPeriod,
        },
        amount: i128::from(d.amount),
        key: (d.number, d.name),
    })))
}

/// The digest's truth: the quarter's range every day, the week's movement on Mondays, and on
/// the first digest after a quarter closed, how that quarter's calls fared.
pub(super) async fn add_to_digest(
    conn: &mut Conn,
    digest: &DigestScope<'_>,
    figures: &mut DigestFigures,
) -> ServiceResult<()> {
    let (Some(from), Some(until)) = (figures.quarter.from, figures.quarter.until) else {
        return Ok(());
    };
    let (tenant_id, today, fiscal) = (digest.tenant_id, digest.today, digest.fiscal_start_month);
    let scope = Scope {
        owners: None,
        from,
        until,
    };
    let won = figures.quarter_forecast.won_amount();
    figures.range =
        Some(closed_won_range(conn, tenant_id, digest.playbook, &scope, won, today, fiscal).await?);
    if today.weekday() == Weekday::Mon {
        let week_ago = (today - Duration::days(7)).max(from);
        if let Some(start) = t::snapshots(conn, tenant_id, week_ago, today)
            .await?
            .first()
        {
            figures.movement = Some(MovementView {
                period: figures.quarter.clone(),
                since: start.local_date,
                scope: "everyone".to_string(),
                currency: figures.currency.clone(),
                movement: movement_from(conn, tenant_id, start, &scope).await?,
            });
        }
    }
    let previous = jobs::last_run_before(conn, tenant_id, "digest", today).await?;
    if previous.is_some_and(|p| p.date_naive() < from) {
        let version = tenants::get(conn, tenant_id)
            .await?
            .map_or(1, |t| t.playbook_version);
        let playbook = Arc::new(digest.playbook.clone());
        let mut versions = Versions::new(version, &playbook);
        let mut closed = accuracy(
            conn,
            &mut versions,
            tenant_id,
            last_quarter(today, fiscal),
            None,
            today,
            fiscal,
        )
        .await?;
        closed.scope = "everyone".to_string();
        closed.currency = figures.currency.clone();
        figures.closed_quarter = Some(closed);
    }
    Ok(())
}

/// The Monte Carlo off the async runtime, its runs split over the machine's cores: the same
/// range as one thread would draw (each run has its own seeded stream).
async fn draw_range(won: i128, open: &[OpenBet]) -> ServiceResult<Range> {
    let bets = Arc::new(Bets::new(open));
    let parts = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4) as u32;
    let per_part = RANGE_RUNS.div_ceil(parts);
    let mut draws = Vec::new();
    for part in 0..parts {
        let bets = Arc::clone(&bets);
        let runs = part * per_part..((part + 1) * per_part).min(RANGE_RUNS);
        draws.push(tokio::task::spawn_blocking(move || {
            bets.draw(RANGE_SEED, runs)
        }));
    }
    let mut totals = Vec::with_capacity(RANGE_RUNS as usize);
    for draw in draws {
        totals.extend(draw.await.map_err(|e| anyhow::anyhow!("range draw: {e}"))?);
    }
    Ok(percentiles(won, totals))
}

/// The first snapshot of each week of `[from, until)` taken by `today`, with its week.
async fn weekly_firsts(
    conn: &mut Conn,
    tenant_id: i64,
    from: NaiveDate,
    until: NaiveDate,
    today: NaiveDate,
) -> ServiceResult<Vec<(u32, SnapshotHead)>> {
    let heads = t::snapshots(
        conn,
        tenant_id,
        from,
        until.min(today.succ_opt().unwrap_or(today)),
    )
    .await?;
    let mut firsts: Vec<(u32, SnapshotHead)> = Vec::new();
    for head in heads {
        let week = week_of(from, head.local_date);
        if firsts.last().is_none_or(|(w, _)| *w != week) {
            firsts.push((week, head));
        }
    }
    Ok(firsts)
}

/// What a snapshot's open deals closing in the scope's window add up to, by the single
/// definitions of `engine::forecast`, with the playbook version the snapshot recorded.
async fn snapshot_forecast(
    conn: &mut Conn,
    playbook: &Playbook,
    head: &SnapshotHead,
    scope: &Scope<'_>,
    fiscal: u32,
) -> ServiceResult<crate::engine::forecast::Forecast> {
    let rows: Vec<OpenRow> = t::snapshot_by_stage(conn, head.id, scope)
        .await?
        .into_iter()
        .map(|(stage, count, amount)| OpenRow {
            stage,
            owner: String::new(),
            close_month: YearMonth::of(scope.from),
            count,
            amount,
        })
        .collect();
    Ok(forecast(playbook, &rows, &[], fiscal))
}

/// Won before `day`, of the deals won in the period.
fn won_before(won: &[(NaiveDate, i64)], day: NaiveDate) -> i128 {
    won.iter()
        .filter(|(closed, _)| *closed < day)
        .map(|(_, a)| i128::from(*a))
        .sum()
}

/// The weighted call's accuracy week by week for a period; empty when nothing was won in it or
/// no snapshot was taken.
async fn weighted_accuracy(
    conn: &mut Conn,
    versions: &mut Versions,
    tenant_id: i64,
    scope: &Scope<'_>,
    today: NaiveDate,
    fiscal: u32,
) -> ServiceResult<Vec<(u32, f64)>> {
    let won = t::won_in(conn, tenant_id, scope).await?;
    let actual: i128 = won.iter().map(|(_, a)| i128::from(*a)).sum();
    if actual <= 0 {
        return Ok(Vec::new());
    }
    let mut line = Vec::new();
    for (week, head) in weekly_firsts(conn, tenant_id, scope.from, scope.until, today).await? {
        let playbook = versions.get(conn, tenant_id, head.playbook_version).await?;
        let f = snapshot_forecast(conn, &playbook, &head, scope, fiscal).await?;
        let call = won_before(&won, head.local_date) + f.weighted();
        if let Some(a) = crate::engine::truth::accuracy(actual, call) {
            line.push((week, a));
        }
    }
    Ok(line)
}

/// Whole months from `from` to `until` (at least one).
fn months_in(from: NaiveDate, until: NaiveDate) -> u32 {
    let months = (until.year() - from.year()) * 12 + until.month() as i32 - from.month() as i32;
    u32::try_from(months.max(1)).unwrap_or(1)
}

/// `2026 Q3` or `2026-09`: a period as the chart's legend names it.
fn short_label(from: NaiveDate, until: NaiveDate, fiscal: u32) -> String {
    if months_in(from, until) == 3 {
        crate::engine::forecast::Quarter::of(YearMonth::of(from), fiscal).to_string()
    } else {
        from.format("%Y-%m").to_string()
    }
}
