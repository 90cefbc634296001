//! The command catalogue as data: one variant per thing a person can ask dealgate to do.
//!
//! When a variant changes, these change with it: its entry in `catalogue.rs` (name, options,
//! help), the parsers (console text here; Discord options and Slack text in their adapters),
//! the service use case it calls, its reply builder, and README.md's command list.

use chrono::NaiveDate;

use crate::engine::ids::{ActivityId, DealNumber, FieldName, Money, StageId};
use crate::engine::playbook::Role;

/// A parsed invocation. Every value is already valid in form (a real date, a positive amount,
/// a well-formed id); whether the deal, stage or member exists is for the service to say.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `/deal new name amount close [owner] [stage]`
    DealNew {
        name: String,
        amount: Money,
        close: NaiveDate,
        owner: Option<UserRef>,
        stage: Option<StageId>,
    },
    /// `/deal show deal`
    DealShow { deal: DealNumber },
    /// `/deal list [owner] [stage]`
    DealList {
        owner: Option<UserRef>,
        stage: Option<StageId>,
    },
    /// `/deal set deal field value`
    DealSet {
        deal: DealNumber,
        field: FieldName,
        value: String,
    },
    /// `/log deal activity [note]`
    Log {
        deal: DealNumber,
        activity: ActivityId,
        note: Option<String>,
    },
    /// `/advance deal [to] [override]`: `override` is the reason for passing unmet gates.
    Advance {
        deal: DealNumber,
        to: Option<StageId>,
        override_reason: Option<String>,
    },
    /// `/back deal to reason`
    Back {
        deal: DealNumber,
        to: StageId,
        reason: String,
    },
    /// `/approve deal [note]`
    Approve {
        deal: DealNumber,
        note: Option<String>,
    },
    /// `/won deal`
    Won { deal: DealNumber },
    /// `/lost deal reason`
    Lost { deal: DealNumber, reason: String },
    /// `/playbook [stage]`
    Playbook { stage: Option<StageId> },
    /// `/forecast [period] [owner]`
    Forecast {
        period: Option<PeriodSpec>,
        owner: Option<UserRef>,
    },
    /// `/team set user role [manager]`
    TeamSet {
        user: UserRef,
        role: Role,
        manager: Option<UserRef>,
    },
    /// `/team list`
    TeamList,
    /// `/help [command]`
    Help { command: Option<String> },
}

/// A member named in a command: `@alice`, `alice`, or a platform mention such as `<@123>`.
/// The adapter resolves platform mentions to a user key; the console uses the name as the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef(pub String);

/// The close-date window of a forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodSpec {
    ThisMonth,
    NextMonth,
    ThisQuarter,
    NextQuarter,
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

/// Text limits, in characters: longer input is refused with the limit named.
pub mod limits {
    pub const DEAL_NAME: usize = 120;
    pub const NOTE: usize = 1_000;
    pub const REASON: usize = 500;
    pub const FIELD_VALUE: usize = 1_000;
    pub const USER_NAME: usize = 64;
}
