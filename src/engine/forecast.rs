//! Forecast math over a set of deals, handed in already aggregated by the store (one row per
//! stage × owner × close month) or one row per deal: the result is the same either way.

use chrono::{Datelike, NaiveDate};

use crate::engine::ids::StageId;
use crate::engine::playbook::{ForecastCategory, Playbook};

/// A calendar month, `2026-11`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    pub year: i32,
    /// 1..=12
    pub month: u32,
}

impl YearMonth {
    pub fn of(date: NaiveDate) -> Self {
        Self {
            year: date.year(),
            month: date.month(),
        }
    }
}

impl std::fmt::Display for YearMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{:02}", self.year, self.month)
    }
}

/// Open deals sharing a stage, owner and close month.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenRow {
    pub stage: StageId,
    pub owner: String,
    pub close_month: YearMonth,
    pub count: u64,
    /// Sum of amounts, minor units.
    pub amount: i64,
}

/// Deals won, by owner and the month they closed in.
#[derive(Debug, Clone, PartialEq)]
pub struct WonRow {
    pub owner: String,
    pub close_month: YearMonth,
    pub count: u64,
    pub amount: i64,
}

/// Count, amount and weighted amount of a slice of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub count: u64,
    /// Minor units.
    pub amount: i128,
    /// Σ amount × probability percent: exact; divide by 100 for minor units.
    pub weighted_x100: i128,
}

impl Totals {
    /// The weighted amount in minor units, rounded half away from zero.
    pub fn weighted_minor(&self) -> i128 {
        (self.weighted_x100 + 50).div_euclid(100)
    }
}

/// A fiscal quarter: `FY2027 Q1`, or `2026 Q4` when the fiscal year is the calendar year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    /// The fiscal year, named by the calendar year in which it ends.
    pub fiscal_year: i32,
    /// 1..=4
    pub quarter: u32,
    /// Whether the fiscal year starts in January (changes only the label).
    pub calendar: bool,
}

impl Quarter {
    /// The quarter containing `month`, for a fiscal year that starts in `fiscal_start_month`
    /// (1..=12).
    pub fn of(month: YearMonth, fiscal_start_month: u32) -> Self {
        todo!("{month}{fiscal_start_month}")
    }
}

impl std::fmt::Display for Quarter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.calendar {
            write!(f, "{} Q{}", self.fiscal_year, self.quarter)
        } else {
            write!(f, "FY{} Q{}", self.fiscal_year, self.quarter)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Forecast {
    /// All open deals handed in.
    pub open: Totals,
    /// Every open stage of the playbook, in order, empty ones included.
    pub by_stage: Vec<(StageId, Totals)>,
    /// Highest weighted first, ties by name.
    pub by_owner: Vec<(String, Totals)>,
    /// Ascending.
    pub by_month: Vec<(YearMonth, Totals)>,
    /// Ascending.
    pub by_quarter: Vec<(Quarter, Totals)>,
    /// In `ForecastCategory::ALL` order, empty ones left out.
    pub by_category: Vec<(ForecastCategory, Totals)>,
    /// Deals won (weighted = amount × 100).
    pub won: Totals,
}

/// Builds the forecast. Rows for stages the playbook no longer has are counted in `open` and
/// by owner, month and quarter, at probability 0 and in no category, so money never vanishes.
pub fn forecast(
    playbook: &Playbook,
    open: &[OpenRow],
    won: &[WonRow],
    fiscal_start_month: u32,
) -> Forecast {
    todo!("{playbook:?}{open:?}{won:?}{fiscal_start_month}")
}
