//! Gates as invariants, not a turnstile: a deal that has left a stage keeps meeting that
//! stage's gates, or a manager passed them on the record. When a fact changes afterwards (the
//! amount drops under an approval threshold to advance and goes back up, a field is emptied, the
//! playbook gains a gate), the gate that no longer holds puts the deal out of process: the data
//! stays true, and the process shows where it was slipped.
//!
//! ```text
//! deal-4 in Negotiate at 150,000; Proposal's "manager review of 100,000 or more" never given
//! → broken_gates: [Proposal] A manager has reviewed the proposal …
//! ```

use chrono::NaiveDate;

use crate::deal::DealFacts;
use crate::gates::{GateCheck, evaluate_stage};
use crate::ids::StageId;
use crate::playbook::{FieldRule, Gate, GateKind, Playbook, Stage};

/// How a deal came through the stages, from its history: what the gates of stages it left are
/// judged against.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Passage {
    /// Every stage the deal has been in. A manager may create a deal in a later stage: the
    /// stages before the earliest it was in were never the deal's to leave. Empty: it started
    /// in the first stage.
    pub visited: Vec<StageId>,
    /// Requirements a manager passed with an override, on the record.
    pub overridden: Vec<String>,
}

/// The gates of the stages `deal` has left that no longer hold and were not overridden, in
/// stage order: while there are any, the deal is out of process.
pub fn broken_gates(playbook: &Playbook, deal: &DealFacts, today: NaiveDate) -> Vec<GateCheck> {
    left_stages(playbook, deal)
        .into_iter()
        .flat_map(|stage| {
            evaluate_stage(playbook, stage, deal, today)
                .into_iter()
                .zip(&stage.gates)
                .filter(|(check, gate)| {
                    !check.met
                        && holds_after_leaving(gate)
                        && !deal.passage.overridden.contains(&check.requirement)
                })
                .map(|(check, _)| check)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The open stages from the earliest the deal has been in up to the one it is in now (every
/// open stage, for a deal closed won). A lost deal has left nothing it must still meet.
fn left_stages<'a>(playbook: &'a Playbook, deal: &DealFacts) -> Vec<&'a Stage> {
    let open: Vec<&Stage> = playbook.open_stages().collect();
    let index = |id: &StageId| open.iter().position(|s| &s.id == id);
    let from = deal
        .passage
        .visited
        .iter()
        .filter_map(index)
        .min()
        .unwrap_or(0);
    let until = match deal.status {
        crate::deal::DealStatus::Lost => return Vec::new(),
        crate::deal::DealStatus::Won => open.len(),
        crate::deal::DealStatus::Open => match index(&deal.stage) {
            Some(i) => i,
            None => return Vec::new(),
        },
    };
    open.get(from..until).map(<[_]>::to_vec).unwrap_or_default()
}

/// A gate about the moment of passing (a close date still in the future) is not a fact the deal
/// must keep: time passes, and closing dates the deal the day it closed.
fn holds_after_leaving(gate: &Gate) -> bool {
    !matches!(
        gate.kind,
        GateKind::Field {
            rule: FieldRule::FutureDate,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deal::DealStatus;
    use crate::fixtures::{CHAMPION, DealBuilder, deal, id, playbook, today};
    use crate::playbook::Role;
    use crate::transition::{Move, Refusal, plan_move};

    /// A deal that came the whole way from `qualify` to `develop`, meeting qualify's gates.
    fn came_through_qualify() -> DealFacts {
        let mut d = deal("develop").logged("discovery-call", "qualify");
        d.passage.visited = vec![id("qualify"), id("develop")];
        d
    }

    /// `d` with develop's gates met: two demos, a champion, the manager's approval.
    fn met_develop(d: DealFacts) -> DealFacts {
        d.logged("demo", "develop")
            .logged("demo", "develop")
            .set("champion", CHAMPION)
            .approved(
                "develop",
                Role::Manager,
                today().and_hms_opt(9, 0, 0).unwrap().and_utc(),
            )
    }

    fn requirements(checks: &[GateCheck]) -> Vec<(String, String)> {
        checks
            .iter()
            .map(|c| (c.stage.to_string(), c.requirement.clone()))
            .collect()
    }

    #[test]
    fn a_deal_that_still_meets_the_gates_it_passed_is_in_process() {
        assert!(broken_gates(&playbook(), &came_through_qualify(), today()).is_empty());
    }

    #[test]
    fn a_fact_changed_after_leaving_a_stage_breaks_its_gate() {
        // The approval threshold of negotiate, passed at 90,000, now at 150,000.
        let mut d = deal("closed-won")
            .logged("discovery-call", "qualify")
            .logged("pain-identified", "qualify")
            .amount(150_000);
        d.stage = id("closed-won");
        d.status = DealStatus::Won;
        d.passage.visited = vec![id("qualify"), id("closed-won")];
        let broken = broken_gates(&playbook(), &d, today());
        let stages: Vec<String> = requirements(&broken).into_iter().map(|(s, _)| s).collect();
        // develop's gates were never met either; negotiate's approval is now due; its close-date
        // gate is about the moment of passing and is not kept.
        assert!(stages.contains(&"negotiate".to_string()), "{broken:?}");
        assert!(
            broken
                .iter()
                .all(|c| !c.requirement.to_lowercase().contains("close date")),
            "{broken:?}"
        );
    }

    #[test]
    fn a_requirement_overridden_on_the_record_stays_passed() {
        let mut d = met_develop(deal("negotiate").logged("discovery-call", "qualify"));
        d.passage.visited = vec![id("qualify"), id("develop"), id("negotiate")];
        assert!(broken_gates(&playbook(), &d, today()).is_empty());
        // The champion is gone: develop's gate breaks, until a manager's override says why.
        d.fields.clear();
        let broken = broken_gates(&playbook(), &d, today());
        assert_eq!(broken.len(), 1, "{broken:?}");
        assert_eq!(broken[0].stage, id("develop"));
        d.passage.overridden = vec![broken[0].requirement.clone()];
        assert!(broken_gates(&playbook(), &d, today()).is_empty());
    }

    #[test]
    fn stages_before_the_one_a_deal_was_created_in_were_never_its_to_leave() {
        let d = deal("negotiate");
        assert_eq!(d.passage.visited, vec![id::<StageId>("negotiate")]);
        assert!(broken_gates(&playbook(), &d, today()).is_empty());
    }

    #[test]
    fn a_lost_deal_has_nothing_to_keep() {
        let mut d = deal("closed-lost");
        d.status = DealStatus::Lost;
        d.passage.visited = vec![id("qualify")];
        assert!(broken_gates(&playbook(), &d, today()).is_empty());
    }

    #[test]
    fn a_deal_out_of_process_cannot_advance_or_close_without_an_override() {
        let mut d = met_develop(came_through_qualify());
        // Qualify's amount gate breaks: the amount is zero now.
        d.amount = crate::ids::Money::from_minor(0).unwrap();
        for mv in [Move::Next, Move::Won] {
            match plan_move(&playbook(), &d, &mv, None, crate::fixtures::now()) {
                Err(Refusal::GatesUnmet { unmet, .. }) => {
                    assert_eq!(unmet[0].stage, id("qualify"), "{unmet:?}");
                }
                other => panic!("{mv:?}: {other:?}"),
            }
        }
        let passed = plan_move(
            &playbook(),
            &d,
            &Move::Next,
            Some("amount follows"),
            crate::fixtures::now(),
        )
        .unwrap();
        assert_eq!(passed.overridden[0].stage, id("qualify"));
    }
}
