//! `/forecast`: the weighted pipeline for a close-date window, from SQL aggregates plus the
//! engine's forecast math.

use chrono::{Datelike, Months, NaiveDate};

use super::UserRef;
use crate::engine::forecast::PeriodSpec;
use crate::engine::forecast::{Forecast, OpenRow, WonRow, YearMonth, forecast};
use crate::store::members;
use crate::store::pipeline::{self, Group, PipelineFilter};

use super::workspace::owners_in_view;
use super::{Service, ServiceResult, Session};

/// A close-date window: `[from, until)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodRange {
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    /// As a person reads it: "2026 Q4 (Oct 1 – Dec 31)".
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct ForecastView {
    pub forecast: Forecast,
    pub period: PeriodRange,
    /// Whose deals: a member's name, "your team" or "everyone".
    pub scope: String,
    pub currency: String,
    /// P10 / P50 / P90 of the period's closed-won amount; `None` for every open deal (`all`).
    pub range: Option<super::RangeView>,
}

fn first_of(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).expect("month is 1..=12")
}

fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(Months::new(n))
        .expect("dates stay far from chrono's limits")
}

/// The first day of the fiscal quarter containing `d`, for a fiscal year starting in
/// `fiscal_start_month`.
fn quarter_start(d: NaiveDate, fiscal_start_month: u32) -> NaiveDate {
    let offset = (d.month() + 12 - fiscal_start_month) % 12; // months since the fiscal year began
    let back = offset % 3;
    first_of(d.year(), d.month())
        .checked_sub_months(Months::new(back))
        .expect("in range")
}

/// Turns a period as typed into dates, relative to `today`.
pub fn period_range(spec: PeriodSpec, today: NaiveDate, fiscal_start_month: u32) -> PeriodRange {
    let month_start = first_of(today.year(), today.month());
    let (from, until) = match spec {
        PeriodSpec::All => {
            return PeriodRange {
                from: None,
                until: None,
                label: "all open deals".to_string(),
            };
        }
        PeriodSpec::ThisMonth => (month_start, add_months(month_start, 1)),
        PeriodSpec::NextMonth => (add_months(month_start, 1), add_months(month_start, 2)),
        PeriodSpec::ThisQuarter => {
            let q = quarter_start(today, fiscal_start_month);
            (q, add_months(q, 3))
        }
        PeriodSpec::NextQuarter => {
            let q = add_months(quarter_start(today, fiscal_start_month), 3);
            (q, add_months(q, 3))
        }
        PeriodSpec::LastMonth => (
            month_start
                .checked_sub_months(Months::new(1))
                .expect("in range"),
            month_start,
        ),
        PeriodSpec::LastQuarter => {
            let q = quarter_start(today, fiscal_start_month);
            (q.checked_sub_months(Months::new(3)).expect("in range"), q)
        }
        PeriodSpec::ThisYear => {
            let fy = quarter_start(today, fiscal_start_month);
            let offset = (fy.month() + 12 - fiscal_start_month) % 12;
            let start = fy
                .checked_sub_months(Months::new(offset))
                .expect("in range");
            (start, add_months(start, 12))
        }
        PeriodSpec::Month { year, month } => {
            let m = first_of(year, month);
            (m, add_months(m, 1))
        }
        PeriodSpec::Quarter { year, quarter } => {
            // Fiscal years are named by the calendar year they end in.
            let fy_start = if fiscal_start_month == 1 {
                first_of(year, 1)
            } else {
                first_of(year - 1, fiscal_start_month)
            };
            let q = add_months(fy_start, 3 * (quarter.clamp(1, 4) - 1));
            (q, add_months(q, 3))
        }
    };
    let last = until.pred_opt().unwrap_or(until);
    let q = crate::engine::forecast::Quarter::of(YearMonth::of(from), fiscal_start_month);
    let name = match spec {
        PeriodSpec::ThisQuarter
        | PeriodSpec::NextQuarter
        | PeriodSpec::LastQuarter
        | PeriodSpec::Quarter { .. } => q.to_string(),
        PeriodSpec::ThisYear => {
            if fiscal_start_month == 1 {
                format!("{}", from.year())
            } else {
                format!("FY{}", last.year())
            }
        }
        _ => from.format("%B %Y").to_string(),
    };
    // A window across New Year names both years: `FY2026 (Apr 1, 2025 – Mar 31, 2026)`.
    let first = if from.year() == last.year() {
        from.format("%b %-d").to_string()
    } else {
        from.format("%b %-d, %Y").to_string()
    };
    let label = format!("{name} ({first} – {})", last.format("%b %-d, %Y"));
    PeriodRange {
        from: Some(from),
        until: Some(until),
        label,
    }
}

impl Service {
    /// `/forecast [period] [owner]`: by default this fiscal quarter, for the caller's own deals
    /// (a rep), their team's (a manager) or everyone's (an admin). Period words follow the
    /// workspace's fiscal year and its day in its own time zone, as the digest's do.
    pub async fn forecast(
        &self,
        session: &Session,
        period: Option<PeriodSpec>,
        owner: Option<&UserRef>,
    ) -> ServiceResult<ForecastView> {
        let schedule = self.schedule(session.tenant.id).await?;
        let today = schedule.digest.today(self.clock.now());
        let fiscal_start_month = schedule.fiscal_start_month;
        let period = period_range(
            period.unwrap_or(PeriodSpec::ThisQuarter),
            today,
            fiscal_start_month,
        );
        let mut conn = self.store.reader().acquire().await?;
        let everyone = members::list(&mut conn, session.tenant.id).await?;
        let (owners, scope) =
            owners_in_view(&mut conn, session, &everyone, owner, "forecast").await?;
        let filter = PipelineFilter {
            owners: owners.as_deref(),
            from: period.from,
            until: period.until,
        };
        let open = pipeline::open_groups(&mut conn, session.tenant.id, &filter).await?;
        let won = pipeline::won_groups(&mut conn, session.tenant.id, &filter).await?;
        let name_of = |id: i64| {
            everyone
                .iter()
                .find(|m| m.id == id)
                .map_or_else(|| format!("member {id}"), |m| m.display_name.clone())
        };
        let open_rows = open_rows(&open, &name_of);
        let won_rows = won_rows(&won, &name_of);
        let forecast = forecast(&session.playbook, &open_rows, &won_rows, fiscal_start_month);
        let range = match (period.from, period.until) {
            (Some(from), Some(until)) => Some(
                super::truth::closed_won_range(
                    &mut conn,
                    session.tenant.id,
                    &session.playbook,
                    &crate::store::truth::Scope {
                        owners: owners.as_deref(),
                        from,
                        until,
                    },
                    forecast.won_amount(),
                    today,
                    fiscal_start_month,
                )
                .await?,
            ),
            _ => None,
        };
        Ok(ForecastView {
            forecast,
            period,
            scope,
            currency: session.playbook.currency.clone(),
            range,
        })
    }
}

/// The forecast's input from the store's groups of open deals, owners by name.
pub(super) fn open_rows(groups: &[Group], name_of: &dyn Fn(i64) -> String) -> Vec<OpenRow> {
    groups
        .iter()
        .map(|g| OpenRow {
            stage: g.stage.clone(),
            owner: name_of(g.owner_id),
            close_month: g.month,
            count: g.count,
            amount: g.amount,
        })
        .collect()
}

/// The forecast's input from the store's groups of won deals, owners by name.
pub(super) fn won_rows(groups: &[Group], name_of: &dyn Fn(i64) -> String) -> Vec<WonRow> {
    groups
        .iter()
        .map(|g| WonRow {
            owner: name_of(g.owner_id),
            close_month: g.month,
            count: g.count,
            amount: g.amount,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn range(spec: PeriodSpec, today: NaiveDate, fiscal: u32) -> (NaiveDate, NaiveDate) {
        let r = period_range(spec, today, fiscal);
        (r.from.unwrap(), r.until.unwrap())
    }

    #[test]
    fn calendar_quarters_and_months_bracket_today() {
        let today = d(2026, 11, 26);
        assert_eq!(
            range(PeriodSpec::ThisQuarter, today, 1),
            (d(2026, 10, 1), d(2027, 1, 1))
        );
        assert_eq!(
            range(PeriodSpec::NextQuarter, today, 1),
            (d(2027, 1, 1), d(2027, 4, 1))
        );
        assert_eq!(
            range(PeriodSpec::ThisMonth, today, 1),
            (d(2026, 11, 1), d(2026, 12, 1))
        );
        assert_eq!(
            range(PeriodSpec::NextMonth, today, 1),
            (d(2026, 12, 1), d(2027, 1, 1))
        );
        assert_eq!(
            range(PeriodSpec::ThisYear, today, 1),
            (d(2026, 1, 1), d(2027, 1, 1))
        );
        assert_eq!(
            period_range(PeriodSpec::ThisQuarter, today, 1).label,
            "2026 Q4 (Oct 1 – Dec 31, 2026)"
        );
    }

    #[test]
    fn a_fiscal_year_starting_in_february_is_named_by_the_year_it_ends() {
        let today = d(2026, 11, 26);
        // FY2027 runs Feb 2026 – Jan 2027; November is in Q4 (Nov–Jan).
        assert_eq!(
            range(PeriodSpec::ThisQuarter, today, 2),
            (d(2026, 11, 1), d(2027, 2, 1))
        );
        assert_eq!(
            range(PeriodSpec::ThisYear, today, 2),
            (d(2026, 2, 1), d(2027, 2, 1))
        );
        assert_eq!(
            range(
                PeriodSpec::Quarter {
                    year: 2027,
                    quarter: 1
                },
                today,
                2
            ),
            (d(2026, 2, 1), d(2026, 5, 1))
        );
        assert!(
            period_range(PeriodSpec::ThisQuarter, today, 2)
                .label
                .starts_with("FY2027 Q4")
        );
        assert!(
            period_range(PeriodSpec::ThisYear, today, 2)
                .label
                .starts_with("FY2027")
        );
    }

    #[test]
    fn all_has_no_bounds() {
        let r = period_range(PeriodSpec::All, d(2026, 1, 1), 1);
        assert_eq!((r.from, r.until), (None, None));
    }
}
