//! The command catalogue as data: one variant per thing a person can ask dealgate to do.
//!
//! When a variant changes, these change with it: its entry in `catalogue.rs` (name, help group,
//! options, help), the parsers (console text here; Discord options and Slack text in their
//! adapters), the service use case it calls, its reply builder, README.md's command list, and
//! here `Command::name` and the option list that `Display` writes (a round-trip test checks both).

use std::fmt;

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;

use super::tokenize::quote_if_needed;
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
    /// `/digest setup channel time timezone [weekdays-only] [fiscal-start]` (admins)
    DigestSetup {
        channel: String,
        time: NaiveTime,
        timezone: Tz,
        weekdays_only: Option<bool>,
        /// The fiscal year's first month; `None` keeps the one set before (January at first).
        fiscal_start: Option<chrono::Month>,
    },
    /// `/digest preview`
    DigestPreview,
    /// `/nudges setup time [to-reps] [repeat-days]` (admins)
    NudgesSetup {
        time: NaiveTime,
        to_reps: Option<bool>,
        /// Days before the same nudge may come again; `None` keeps the one set before.
        repeat_days: Option<u32>,
    },
    /// `/nudges snooze deal days`
    NudgesSnooze { deal: DealNumber, days: u32 },
    /// `/help [command]`
    Help { command: Option<String> },
}

// These are the service's and the engine's input types; the command layer names them too.
pub use crate::engine::forecast::PeriodSpec;
pub use crate::service::{UserRef, limits};

impl Command {
    /// Whether running it a second time would do something again: such a command is claimed by
    /// its delivery and runs at most once (`commands::interact`). Exhaustive on purpose, so a
    /// new variant says which it is.
    pub fn changes_something(&self) -> bool {
        match self {
            Self::DealShow { .. }
            | Self::DealList { .. }
            | Self::Playbook { .. }
            | Self::Forecast { .. }
            | Self::TeamList
            | Self::DigestPreview
            | Self::Help { .. } => false,
            Self::DealNew { .. }
            | Self::DealSet { .. }
            | Self::Log { .. }
            | Self::Advance { .. }
            | Self::Back { .. }
            | Self::Approve { .. }
            | Self::Won { .. }
            | Self::Lost { .. }
            | Self::TeamSet { .. }
            | Self::DigestSetup { .. }
            | Self::NudgesSetup { .. }
            | Self::NudgesSnooze { .. } => true,
        }
    }

    /// Whether it may take longer than a platform waits for an answer (3 seconds on Discord
    /// and Slack): a forecast over a large pipeline, the digest and its chart. An adapter that
    /// can answer later acknowledges these at once and delivers the reply when it is ready.
    pub fn is_slow(&self) -> bool {
        matches!(self, Self::Forecast { .. } | Self::DigestPreview)
    }

    /// The catalogue name of this command, e.g. `deal new`.
    ///
    /// This match is exhaustive on purpose: a new variant does not compile until it has a name,
    /// and the catalogue tests then require an entry and an example for that name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::DealNew { .. } => "deal new",
            Self::DealShow { .. } => "deal show",
            Self::DealList { .. } => "deal list",
            Self::DealSet { .. } => "deal set",
            Self::Log { .. } => "log",
            Self::Advance { .. } => "advance",
            Self::Back { .. } => "back",
            Self::Approve { .. } => "approve",
            Self::Won { .. } => "won",
            Self::Lost { .. } => "lost",
            Self::Playbook { .. } => "playbook",
            Self::Forecast { .. } => "forecast",
            Self::TeamSet { .. } => "team set",
            Self::TeamList => "team list",
            Self::DigestSetup { .. } => "digest setup",
            Self::DigestPreview => "digest preview",
            Self::NudgesSetup { .. } => "nudges setup",
            Self::NudgesSnooze { .. } => "nudges snooze",
            Self::Help { .. } => "help",
        }
    }

    /// Option values in catalogue order, `None` where not given.
    fn option_values(&self) -> Vec<(&'static str, Option<String>)> {
        fn show<T: ToString>(v: &T) -> Option<String> {
            Some(v.to_string())
        }
        fn maybe<T: ToString>(v: &Option<T>) -> Option<String> {
            v.as_ref().map(T::to_string)
        }
        match self {
            Self::DealNew {
                name,
                amount,
                close,
                owner,
                stage,
            } => vec![
                ("name", show(name)),
                ("amount", show(amount)),
                ("close", Some(close.format("%Y-%m-%d").to_string())),
                ("owner", maybe(owner)),
                ("stage", maybe(stage)),
            ],
            Self::DealShow { deal } | Self::Won { deal } => vec![("deal", show(deal))],
            Self::DealList { owner, stage } => {
                vec![("owner", maybe(owner)), ("stage", maybe(stage))]
            }
            Self::DealSet { deal, field, value } => {
                vec![
                    ("deal", show(deal)),
                    ("field", show(field)),
                    ("value", show(value)),
                ]
            }
            Self::Log {
                deal,
                activity,
                note,
            } => {
                vec![
                    ("deal", show(deal)),
                    ("activity", show(activity)),
                    ("note", maybe(note)),
                ]
            }
            Self::Advance {
                deal,
                to,
                override_reason,
            } => {
                vec![
                    ("deal", show(deal)),
                    ("to", maybe(to)),
                    ("override", maybe(override_reason)),
                ]
            }
            Self::Back { deal, to, reason } => {
                vec![
                    ("deal", show(deal)),
                    ("to", show(to)),
                    ("reason", show(reason)),
                ]
            }
            Self::Approve { deal, note } => vec![("deal", show(deal)), ("note", maybe(note))],
            Self::Lost { deal, reason } => vec![("deal", show(deal)), ("reason", show(reason))],
            Self::Playbook { stage } => vec![("stage", maybe(stage))],
            Self::Forecast { period, owner } => {
                vec![("period", maybe(period)), ("owner", maybe(owner))]
            }
            Self::TeamSet {
                user,
                role,
                manager,
            } => {
                vec![
                    ("user", show(user)),
                    ("role", show(role)),
                    ("manager", maybe(manager)),
                ]
            }
            Self::TeamList => vec![],
            Self::DigestSetup {
                channel,
                time,
                timezone,
                weekdays_only,
                fiscal_start,
            } => vec![
                ("channel", show(channel)),
                ("time", Some(time.format("%H:%M").to_string())),
                ("timezone", Some(timezone.name().to_string())),
                ("weekdays-only", weekdays_only.map(yes_no)),
                (
                    "fiscal-start",
                    fiscal_start.map(|m| m.name().to_lowercase()),
                ),
            ],
            Self::DigestPreview => vec![],
            Self::NudgesSetup {
                time,
                to_reps,
                repeat_days,
            } => vec![
                ("time", Some(time.format("%H:%M").to_string())),
                ("to-reps", to_reps.map(yes_no)),
                ("repeat-days", repeat_days.map(|d| d.to_string())),
            ],
            Self::NudgesSnooze { deal, days } => vec![("deal", show(deal)), ("days", show(days))],
            Self::Help { command } => vec![("command", maybe(command))],
        }
    }
}

/// How a yes/no option is written back: `yes` or `no`, which the parser reads.
fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

impl fmt::Display for Command {
    /// The command line that parses back to this command, for buttons and for the "run this"
    /// hints in replies: `/log deal-42 discovery-call "met the CFO"`. Options go positionally
    /// until one is skipped, then as `name:value`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.name())?;
        let mut positional = true;
        for (name, value) in self.option_values() {
            match value {
                None => positional = false,
                Some(v) if positional => write!(f, " {}", quote_if_needed(&v))?,
                Some(v) => write!(f, " {name}:{}", quote_if_needed(&v))?,
            }
        }
        Ok(())
    }
}
