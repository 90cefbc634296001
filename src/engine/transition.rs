//! Stage moves: advance, skip ahead, move back, close won or lost, and a manager's override.
//! The engine decides whether a move is allowed by the playbook; who may ask for it (and who may
//! override) is the service's business.

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::engine::deal::{DealFacts, DealStatus};
use crate::engine::gates::GateCheck;
use crate::engine::ids::{ActivityId, StageId};
use crate::engine::playbook::Playbook;

/// What was asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Move {
    /// `/advance deal-42`: to the next open stage.
    Next,
    /// `/advance deal-42 to:proposal`: to a later open stage (or the won stage); every gate of
    /// every stage left on the way must hold.
    To(StageId),
    /// `/back deal-42 to reason`: to an earlier open stage. No gates; a reason is required.
    Back { to: StageId, reason: String },
    /// `/won deal-42`: the gates of the current stage and every later open stage must hold.
    Won,
    /// `/lost deal-42 reason`: from any open stage; a reason is required.
    Lost { reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionKind {
    Advance,
    Back,
    Won,
    Lost,
}

/// An allowed move, ready to be recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub kind: TransitionKind,
    pub from: StageId,
    pub to: StageId,
    /// Unmet gates passed by a manager's override (empty when every gate held).
    pub overridden: Vec<GateCheck>,
    /// The reason given (for back, lost and overrides).
    pub reason: Option<String>,
}

/// Why a move is not allowed; each variant's message says what would be right.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Refusal {
    /// The gates that do not hold, across every stage the move would leave, in order, with
    /// the current stage's recommended activities not yet done as suggestions.
    #[error("{} requirement(s) not met", unmet.len())]
    GatesUnmet {
        unmet: Vec<GateCheck>,
        suggestions: Vec<ActivityId>,
    },
    #[error("the deal is already closed ({})", status.as_str())]
    Closed { status: DealStatus },
    #[error("there is no stage `{0}` in the playbook")]
    UnknownStage(String),
    #[error("`{to}` is not ahead of `{from}`; use `/back` to move a deal to an earlier stage")]
    NotAhead { from: StageId, to: StageId },
    #[error("`{to}` is not before `{from}`; use `/advance` to move a deal forward")]
    NotBehind { from: StageId, to: StageId },
    /// `/advance` from the last open stage: there is no next open stage.
    #[error("`{from}` is the last open stage; close the deal with `/won` or `/lost`")]
    LastOpenStage { from: StageId },
    /// `/advance to:closed-lost` and similar: a lost stage is reached with `/lost` only.
    #[error("`{to}` is a lost stage; use `/lost` with a reason")]
    UseLost { to: StageId },
    #[error("a reason is required")]
    ReasonRequired,
}

/// Decides a move for `deal` under `playbook` at `now`.
///
/// With `override_reason` set, unmet gates do not refuse the move; they are listed in
/// `Transition::overridden` with the reason. An override never bypasses anything but gates
/// (a closed deal stays closed; an unknown stage stays unknown). An override with an empty
/// reason is `Refusal::ReasonRequired`.
pub fn plan_move(
    playbook: &Playbook,
    deal: &DealFacts,
    mv: &Move,
    override_reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    todo!("{playbook:?}{deal:?}{mv:?}{override_reason:?}{now}")
}
