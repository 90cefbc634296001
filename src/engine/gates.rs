//! Gate evaluation: for a deal in a stage, which requirements hold, in the playbook's words, and
//! what would satisfy each one that does not.

use chrono::NaiveDate;

use crate::engine::deal::DealFacts;
use crate::engine::ids::{ActivityId, FieldName, StageId};
use crate::engine::playbook::{FieldRule, Playbook, Role, Stage};

/// One gate of one stage, evaluated against a deal.
#[derive(Debug, Clone, PartialEq)]
pub struct GateCheck {
    pub stage: StageId,
    /// Index of the gate within its stage's `gates`.
    pub index: usize,
    /// The requirement as the playbook words it (the gate's label, or a generated sentence
    /// such as "Log Discovery call held (discovery-call) in this stage").
    pub requirement: String,
    /// False only for a conditional approval whose condition does not hold (e.g. a small deal):
    /// the gate is then met and says why it does not apply.
    pub applies: bool,
    pub met: bool,
    /// Progress where there is some, e.g. "logged 1 of 2".
    pub progress: Option<String>,
    /// What would satisfy it; the commands layer turns this into a command line.
    pub remedy: Remedy,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Remedy {
    /// `/log deal-42 <activity>`, `remaining` more times.
    LogActivity {
        activity: ActivityId,
        remaining: u32,
    },
    /// `/deal set deal-42 <field> <value>` with a value that satisfies `rule`.
    SetField { field: FieldName, rule: FieldRule },
    /// `/approve deal-42` by someone with `role` or above.
    Approval { role: Role },
}

/// Evaluates every gate of `stage` for `deal`.
///
/// When the deal is not in `stage` (it is being advanced past it, to a named later stage),
/// activities logged in the deal's current stage count towards that stage's `scope = "stage"`
/// activity gates too, since the rep did the work now. An approval counts for a stage only when
/// given in that stage, by the gate's role or above, since the deal last entered it (for the
/// deal's current stage) or at any time (for a stage being skipped: never, so it stays unmet).
/// `today` decides `future_date`.
pub fn evaluate_stage(
    playbook: &Playbook,
    stage: &Stage,
    deal: &DealFacts,
    today: NaiveDate,
) -> Vec<GateCheck> {
    todo!("{playbook:?}{stage:?}{deal:?}{today}")
}

/// The unmet gates only, in the stage's order.
pub fn unmet(checks: &[GateCheck]) -> Vec<GateCheck> {
    checks.iter().filter(|c| !c.met).cloned().collect()
}
// TEMPORARY until the engine branch lands.
pub fn describe(_p: &Playbook, _g: &crate::engine::playbook::Gate) -> String {
    String::new()
}
