//! Forecast math over a set of deals, handed in already aggregated by the store (one row per
//! stage × owner × close month) or one row per deal: the result is the same either way.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use crate::ids::StageId;
use crate::playbook::{ForecastCategory, Playbook};

/// The close-date window of a forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodSpec {
    ThisMonth,
    NextMonth,
    ThisQuarter,
    NextQuarter,
    /// The month before this one: the last closed month.
    LastMonth,
    /// The fiscal quarter before this one: the last closed quarter.
    LastQuarter,
    ThisYear,
    /// Every open deal whatever its close date.
    All,
    /// `2026-11`
    Month {
        year: i32,
        month: u32,
    },
    /// `2026-Q4` (fiscal quarter)
    Quarter {
        year: i32,
        quarter: u32,
    },
}

impl std::fmt::Display for PeriodSpec {
    /// The canonical spelling, which the command parser (`dealgate::commands::parse_period`)
    /// reads back.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ThisMonth => f.write_str("this-month"),
            Self::NextMonth => f.write_str("next-month"),
            Self::ThisQuarter => f.write_str("this-quarter"),
            Self::NextQuarter => f.write_str("next-quarter"),
            Self::LastMonth => f.write_str("last-month"),
            Self::LastQuarter => f.write_str("last-quarter"),
            Self::ThisYear => f.write_str("this-year"),
            Self::All => f.write_str("all"),
            Self::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            Self::Quarter { year, quarter } => write!(f, "{year:04}-Q{quarter}"),
        }
    }
}

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

/// Amount × probability percent, in minor units, half a unit rounded up: the one rounding every
/// weighted figure uses, a deal's or a total's (amounts are never negative, so "up" is away
/// from zero).
pub fn weighted_minor(amount_x_percent: i128) -> i128 {
    (amount_x_percent + 50).div_euclid(100)
}

/// A deal's weighted value in minor units: its amount × its stage's probability. A stage the
/// playbook does not know weighs nothing.
pub fn deal_weighted(playbook: &crate::playbook::Playbook, stage: &StageId, amount: i64) -> i128 {
    let percent = playbook.stage(stage).map_or(0, |s| s.probability.percent());
    weighted_minor(i128::from(amount) * i128::from(percent))
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
    fn add(&mut self, count: u64, amount: i128, percent: u8) {
        self.count += count;
        self.amount += amount;
        self.weighted_x100 += amount * i128::from(percent);
    }

    /// The weighted amount in minor units, half a unit rounded up (totals are never negative,
    /// since amounts are not).
    pub fn weighted_minor(&self) -> i128 {
        weighted_minor(self.weighted_x100)
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
    ///
    /// A fiscal year starting in February 2026 ends in January 2027 and is FY2027; February to
    /// April 2026 is its Q1. A start month outside 1..=12 is read as January, the calendar year.
    pub fn of(month: YearMonth, fiscal_start_month: u32) -> Self {
        let start = if (1..=12).contains(&fiscal_start_month) {
            fiscal_start_month
        } else {
            1
        };
        let months_into_year = (month.month + 12 - start) % 12;
        let starts_in = if month.month >= start {
            month.year
        } else {
            month.year - 1
        };
        // Named by the year it ends in: a year starting in January ends in the same year.
        let fiscal_year = if start == 1 { starts_in } else { starts_in + 1 };
        Self {
            fiscal_year,
            quarter: months_into_year / 3 + 1,
            calendar: start == 1,
        }
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
    /// Each owner's deals by forecast category, owners in name order, categories in
    /// `ForecastCategory::ALL` order, empty ones left out: what the digest chart stacks.
    pub by_owner_category: Vec<(String, ForecastCategory, Totals)>,
    /// Deals won (weighted = amount × 100).
    pub won: Totals,
}

/// The figures every view shows, defined once here so `/forecast`, the digest, its chart and
/// the stored snapshots agree. Amounts are of open deals in the period unless said otherwise.
impl Forecast {
    /// Open: every open deal's amount.
    pub fn open_amount(&self) -> i128 {
        self.open.amount
    }

    /// Weighted: Σ amount × the probability of the deal's stage.
    pub fn weighted(&self) -> i128 {
        self.open.weighted_minor()
    }

    /// Commit: deals in stages whose forecast category is `commit`.
    pub fn commit(&self) -> i128 {
        self.category(ForecastCategory::Commit)
    }

    /// Best case: commit plus deals in `best_case` stages. Cumulative, as Salesforce's
    /// `BestCaseForecast` is: what comes in if every deal the team calls likely closes.
    pub fn best_case(&self) -> i128 {
        self.commit() + self.category(ForecastCategory::BestCase)
    }

    /// Won: deals closed won in the period.
    pub fn won_amount(&self) -> i128 {
        self.won.amount
    }

    /// The open amount in one forecast category alone.
    pub fn category(&self, category: ForecastCategory) -> i128 {
        self.by_category
            .iter()
            .find(|(c, _)| *c == category)
            .map_or(0, |(_, t)| t.amount)
    }
}

/// Builds the forecast. Rows for stages the playbook no longer has, or for terminal stages, are
/// counted in `open` and by owner, month and quarter, at probability 0 and in no category, so
/// money never vanishes. `fiscal_start_month` (1..=12) names the fiscal quarters.
///
/// Every total is a sum over rows, so one row per deal and rows already aggregated by the store
/// give the same forecast.
pub fn forecast(
    playbook: &Playbook,
    open: &[OpenRow],
    won: &[WonRow],
    fiscal_start_month: u32,
) -> Forecast {
    let mut by_stage: Vec<(StageId, Totals)> = playbook
        .open_stages()
        .map(|s| (s.id.clone(), Totals::default()))
        .collect();
    let mut open_totals = Totals::default();
    let mut by_owner: BTreeMap<&str, Totals> = BTreeMap::new();
    let mut by_month: BTreeMap<YearMonth, Totals> = BTreeMap::new();
    let mut by_quarter: BTreeMap<Quarter, Totals> = BTreeMap::new();
    let mut by_category: BTreeMap<ForecastCategory, Totals> = BTreeMap::new();
    let mut by_owner_category: BTreeMap<(&str, ForecastCategory), Totals> = BTreeMap::new();

    for row in open {
        let stage = playbook.stage(&row.stage).filter(|s| s.is_open());
        let percent = stage.map_or(0, |s| s.probability.percent());
        let amount = i128::from(row.amount);
        let add = |totals: &mut Totals| totals.add(row.count, amount, percent);

        add(&mut open_totals);
        add(by_owner.entry(row.owner.as_str()).or_default());
        add(by_month.entry(row.close_month).or_default());
        add(by_quarter
            .entry(Quarter::of(row.close_month, fiscal_start_month))
            .or_default());
        if let Some(stage) = stage {
            add(by_category.entry(stage.forecast_category).or_default());
            add(by_owner_category
                .entry((row.owner.as_str(), stage.forecast_category))
                .or_default());
            if let Some((_, totals)) = by_stage.iter_mut().find(|(id, _)| id == &stage.id) {
                add(totals);
            }
        }
    }

    let mut by_owner: Vec<(String, Totals)> = by_owner
        .into_iter()
        .map(|(owner, t)| (owner.to_string(), t))
        .collect();
    // The BTreeMap left them in name order and the sort is stable, so ties stay by name.
    by_owner.sort_by_key(|(_, totals)| Reverse(totals.weighted_x100));

    let mut won_totals = Totals::default();
    for row in won {
        won_totals.add(row.count, i128::from(row.amount), 100);
    }

    Forecast {
        open: open_totals,
        by_stage,
        by_owner,
        by_month: by_month.into_iter().collect(),
        by_quarter: by_quarter.into_iter().collect(),
        by_category: ForecastCategory::ALL
            .into_iter()
            .filter_map(|c| by_category.get(&c).map(|t| (c, *t)))
            .filter(|(_, t)| *t != Totals::default())
            .collect(),
        by_owner_category: by_owner_category
            .into_iter()
            .filter(|(_, t)| *t != Totals::default())
            .map(|((owner, category), t)| (owner.to_string(), category, t))
            .collect(),
        won: won_totals,
    }
}

#[cfg(test)]
mod tests;
