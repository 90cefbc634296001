//! Stage moves: advance, skip ahead, move back, close won or lost, and a manager's override.
//! The engine decides whether a move is allowed by the playbook; who may ask for it (and who may
//! override) is the service's business.

use chrono::{DateTime, NaiveDate, Utc};
use thiserror::Error;

use crate::coaching::coverage;
use crate::deal::{DealFacts, DealStatus};
use crate::gates::{GateCheck, Remedy, evaluate_stage};
use crate::ids::{ActivityId, StageId};
use crate::playbook::{Outcome, Playbook, Stage};

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

impl TransitionKind {
    pub const ALL: [Self; 4] = [Self::Advance, Self::Back, Self::Won, Self::Lost];

    /// The name a stage change is recorded under.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Advance => "advance",
            Self::Back => "back",
            Self::Won => "won",
            Self::Lost => "lost",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// One step of a deal's stage history.
#[derive(Debug, Clone, PartialEq)]
pub struct StageChange {
    /// `None` for the stage a deal was created in.
    pub from: Option<StageId>,
    pub to: StageId,
    /// How: created (`None`), advanced, moved back, won or lost.
    pub kind: Option<TransitionKind>,
    /// Who moved it (a member id).
    pub actor_id: i64,
    /// Whether unmet gates were passed by a manager's override, and which.
    pub overridden: bool,
    pub overridden_gates: Vec<String>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// An allowed move, ready to be recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub kind: TransitionKind,
    pub from: StageId,
    pub to: StageId,
    /// Unmet gates passed by a manager's override (empty when every gate held).
    pub overridden: Vec<GateCheck>,
    /// The reason given, trimmed: for back and lost, or for an override that passed at least
    /// one unmet gate (an override reason given when every gate held is not recorded, since
    /// nothing was overridden).
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
        /// The move refused, so the refusal can name the command that passes it with an
        /// override: `/won` for a close, `/advance … to:…` for a move to a named stage.
        kind: TransitionKind,
        to: StageId,
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
/// reason is `Refusal::ReasonRequired`, whatever the move.
///
/// Which gates must hold: `Next` the current stage's; `To` those of the current stage and of
/// every open stage strictly between it and the target; `Won` those of the current stage and of
/// every later open stage; `Back` and `Lost` none. `now`'s UTC date is "today" for
/// `future_date` rules.
pub fn plan_move(
    playbook: &Playbook,
    deal: &DealFacts,
    mv: &Move,
    override_reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    if deal.status != DealStatus::Open {
        return Err(Refusal::Closed {
            status: deal.status,
        });
    }
    let from_index = playbook
        .stage_index(&deal.stage)
        .ok_or_else(|| Refusal::UnknownStage(deal.stage.to_string()))?;
    let from = &playbook.stages[from_index];
    // A deal marked open but sitting in a terminal stage is closed in all but its status; it
    // must not be moved out of Closed Won by an `/advance`.
    if let Some(outcome) = from.outcome {
        let status = match outcome {
            Outcome::Won => DealStatus::Won,
            Outcome::Lost => DealStatus::Lost,
        };
        return Err(Refusal::Closed { status });
    }
    let override_reason = override_reason.map(required_reason).transpose()?;
    let plan = Plan {
        playbook,
        deal,
        from,
        override_reason,
        today: now.date_naive(),
    };

    match mv {
        Move::Next => {
            let Some(next) = playbook.next_open_stage(&from.id) else {
                return Err(Refusal::LastOpenStage {
                    from: from.id.clone(),
                });
            };
            plan.gated(TransitionKind::Advance, &next.id, [from])
        }
        Move::To(target) => {
            let to_index = playbook
                .stage_index(target)
                .ok_or_else(|| Refusal::UnknownStage(target.to_string()))?;
            let to = &playbook.stages[to_index];
            if to_index <= from_index {
                return Err(Refusal::NotAhead {
                    from: from.id.clone(),
                    to: to.id.clone(),
                });
            }
            match to.outcome {
                Some(Outcome::Lost) => Err(Refusal::UseLost { to: to.id.clone() }),
                Some(Outcome::Won) => plan.won(from_index),
                // Open stages come first, so every stage in between is open.
                None => plan.gated(
                    TransitionKind::Advance,
                    &to.id,
                    &playbook.stages[from_index..to_index],
                ),
            }
        }
        Move::Back { to, reason } => {
            let to_index = playbook
                .stage_index(to)
                .ok_or_else(|| Refusal::UnknownStage(to.to_string()))?;
            let to = &playbook.stages[to_index];
            if to_index >= from_index || !to.is_open() {
                return Err(Refusal::NotBehind {
                    from: from.id.clone(),
                    to: to.id.clone(),
                });
            }
            let reason = required_reason(reason)?;
            Ok(plan.transition(TransitionKind::Back, &to.id, Vec::new(), Some(reason)))
        }
        Move::Won => plan.won(from_index),
        Move::Lost { reason } => {
            let reason = required_reason(reason)?;
            let to = &playbook.lost_stage().id;
            Ok(plan.transition(TransitionKind::Lost, to, Vec::new(), Some(reason)))
        }
    }
}

/// A reason a person must give: trimmed, and refused when nothing is left.
fn required_reason(reason: &str) -> Result<String, Refusal> {
    let reason = reason.trim();
    if reason.is_empty() {
        Err(Refusal::ReasonRequired)
    } else {
        Ok(reason.to_string())
    }
}

/// What every branch of `plan_move` shares once the deal and the override are known good.
struct Plan<'a> {
    playbook: &'a Playbook,
    deal: &'a DealFacts,
    from: &'a Stage,
    override_reason: Option<String>,
    today: NaiveDate,
}

impl<'a> Plan<'a> {
    fn won(self, from_index: usize) -> Result<Transition, Refusal> {
        let playbook = self.playbook;
        let open_from_here = playbook.stages[from_index..].iter().filter(|s| s.is_open());
        self.gated(
            TransitionKind::Won,
            &playbook.won_stage().id,
            open_from_here,
        )
    }

    /// Checks the gates of `left` (the stages the move leaves, in order), after those of the
    /// stages already left that no longer hold (a deal out of process moves on only once they
    /// are met again or overridden), and allows the move, records an override, or refuses with
    /// what is missing.
    fn gated(
        self,
        kind: TransitionKind,
        to: &StageId,
        left: impl IntoIterator<Item = &'a Stage>,
    ) -> Result<Transition, Refusal> {
        let broken = crate::process::broken_gates(self.playbook, self.deal, self.today);
        let unmet: Vec<GateCheck> = broken
            .into_iter()
            .chain(
                left.into_iter()
                    .flat_map(|stage| evaluate_stage(self.playbook, stage, self.deal, self.today))
                    .filter(|check| !check.met),
            )
            .collect();
        if unmet.is_empty() {
            return Ok(self.transition(kind, to, Vec::new(), None));
        }
        match self.override_reason.clone() {
            Some(reason) => Ok(self.transition(kind, to, unmet, Some(reason))),
            None => {
                let suggestions = suggestions(self.from, self.deal, &unmet);
                Err(Refusal::GatesUnmet {
                    unmet,
                    suggestions,
                    kind,
                    to: to.clone(),
                })
            }
        }
    }

    fn transition(
        &self,
        kind: TransitionKind,
        to: &StageId,
        overridden: Vec<GateCheck>,
        reason: Option<String>,
    ) -> Transition {
        Transition {
            kind,
            from: self.from.id.clone(),
            to: to.clone(),
            overridden,
            reason,
        }
    }
}

/// The current stage's recommended activities not yet logged in it, minus those an unmet gate
/// already asks for: the refusal names each thing once.
fn suggestions(current: &Stage, deal: &DealFacts, unmet: &[GateCheck]) -> Vec<ActivityId> {
    let named_by_gate = |id: &ActivityId| {
        unmet
            .iter()
            .any(|c| matches!(&c.remedy, Remedy::LogActivity { activity, .. } if activity == id))
    };
    coverage(current, deal)
        .not_done
        .into_iter()
        .filter(|id| !named_by_gate(id))
        .collect()
}

#[cfg(test)]
mod tests;
