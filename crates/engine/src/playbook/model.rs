//! The validated playbook: the single definition of the sales process. Values of these types
//! are only built by `playbook::load` (from TOML) after validation, so the rest of the crate may
//! rely on every invariant listed on `Playbook`.

use std::fmt;

use crate::ids::{ActivityId, FieldName, Probability, StageId};

/// A validated playbook.
///
/// Invariants (checked by the loader): at least one open stage; open stages come first, in the
/// order the process runs; then the terminal stages, exactly one `won` and at least one `lost`;
/// stage and activity ids are unique within the playbook; every gate names an activity of its
/// own stage (or any stage, for `scope = "ever"`) and a built-in or declared field.
#[derive(Debug, Clone, PartialEq)]
pub struct Playbook {
    pub name: String,
    /// ISO 4217 code, e.g. `USD`; amounts are in its minor units.
    pub currency: String,
    pub stages: Vec<Stage>,
    /// Custom deal fields the playbook declares (gates may require them).
    pub fields: Vec<CustomField>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub id: StageId,
    pub name: String,
    /// What this stage is for, in a sentence; shown by `/playbook`.
    pub description: Option<String>,
    pub probability: Probability,
    pub forecast_category: ForecastCategory,
    /// `Some` for the terminal Closed Won / Closed Lost stages.
    pub outcome: Option<Outcome>,
    /// Coaching: a deal in this stage longer than this many days is stalled.
    pub stall_after_days: Option<u32>,
    /// Recommended activities: guidance, never required unless a gate names one.
    pub activities: Vec<Activity>,
    /// Requirements to leave this stage forward.
    pub gates: Vec<Gate>,
}

impl Stage {
    pub fn is_open(&self) -> bool {
        self.outcome.is_none()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub id: ActivityId,
    pub name: String,
    /// How to do it well, in a sentence; shown by `/playbook`.
    pub hint: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomField {
    pub id: FieldName,
    pub name: String,
    /// What to write there; shown when a gate asks for the field.
    pub hint: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// The requirement in the playbook's own words; when absent a sentence is generated.
    pub label: Option<String>,
    pub kind: GateKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GateKind {
    /// The activity was logged `count` times, in this stage or ever.
    Activity {
        activity: ActivityId,
        scope: ActivityScope,
        count: u32,
    },
    /// A deal field satisfies a rule.
    Field { field: FieldName, rule: FieldRule },
    /// Someone with `role` (or above) approved the deal in this stage, optionally only when a
    /// condition holds.
    Approval { role: Role, when: Option<Condition> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityScope {
    /// Logged while the deal was in the gate's stage.
    Stage,
    /// Logged at any time in the deal's life.
    Ever,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRule {
    /// Has a non-empty value.
    Present,
    /// A number greater than zero (for `amount`: more than nothing).
    Positive,
    /// A date after today (for `close_date`).
    FutureDate,
    /// Text of at least N characters: evidence, not a tick.
    MinLength(u32),
}

/// A condition on a numeric field: `{ field = "amount", at_least = 100000 }` (major units for
/// `amount`).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: FieldName,
    /// For `amount`, in minor units (the loader converts); otherwise the plain number.
    pub at_least: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ForecastCategory {
    Pipeline,
    BestCase,
    Commit,
    Closed,
    Omitted,
}

impl ForecastCategory {
    pub const ALL: [ForecastCategory; 5] = [
        Self::Pipeline,
        Self::BestCase,
        Self::Commit,
        Self::Closed,
        Self::Omitted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pipeline => "pipeline",
            Self::BestCase => "best_case",
            Self::Commit => "commit",
            Self::Closed => "closed",
            Self::Omitted => "omitted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// As a person reads it: "Best case".
    pub fn label(self) -> &'static str {
        match self {
            Self::Pipeline => "Pipeline",
            Self::BestCase => "Best case",
            Self::Commit => "Commit",
            Self::Closed => "Closed",
            Self::Omitted => "Omitted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Won,
    Lost,
}

/// A member's role in a workspace. Ordered: an admin can do what a manager can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Rep,
    Manager,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rep => "rep",
            Self::Manager => "manager",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rep" => Some(Self::Rep),
            "manager" => Some(Self::Manager),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Built-in deal fields every playbook may name in a gate.
pub const BUILTIN_FIELDS: [&str; 3] = ["name", "amount", "close_date"];

impl Playbook {
    pub fn stage(&self, id: &StageId) -> Option<&Stage> {
        self.stages.iter().find(|s| &s.id == id)
    }

    pub fn stage_index(&self, id: &StageId) -> Option<usize> {
        self.stages.iter().position(|s| &s.id == id)
    }

    /// Open stages, in process order.
    pub fn open_stages(&self) -> impl Iterator<Item = &Stage> {
        self.stages.iter().filter(|s| s.is_open())
    }

    pub fn first_stage(&self) -> &Stage {
        // Invariant: a validated playbook has at least one open stage, and open stages come first.
        &self.stages[0]
    }

    pub fn won_stage(&self) -> &Stage {
        self.stages
            .iter()
            .find(|s| s.outcome == Some(Outcome::Won))
            .expect("a validated playbook has exactly one won stage")
    }

    /// The first lost stage: where `/lost` sends a deal.
    pub fn lost_stage(&self) -> &Stage {
        self.stages
            .iter()
            .find(|s| s.outcome == Some(Outcome::Lost))
            .expect("a validated playbook has a lost stage")
    }

    /// The open stage after `id`, if any (the last open stage has none: it closes instead).
    pub fn next_open_stage(&self, id: &StageId) -> Option<&Stage> {
        let i = self.stage_index(id)?;
        self.stages.get(i + 1).filter(|s| s.is_open())
    }

    pub fn custom_field(&self, id: &FieldName) -> Option<&CustomField> {
        self.fields.iter().find(|f| &f.id == id)
    }

    pub fn is_known_field(&self, id: &FieldName) -> bool {
        BUILTIN_FIELDS.contains(&id.as_str()) || self.custom_field(id).is_some()
    }

    /// The activity with this id, in whichever stage recommends it.
    pub fn activity(&self, id: &ActivityId) -> Option<(&Stage, &Activity)> {
        self.stages
            .iter()
            .find_map(|s| s.activities.iter().find(|a| &a.id == id).map(|a| (s, a)))
    }
}
