use chrono::Duration;

use super::*;
use crate::fixtures::*;
use crate::playbook::Role;

fn plan(deal: &DealFacts, mv: Move) -> Result<Transition, Refusal> {
    plan_move(&playbook(), deal, &mv, None, now())
}

fn plan_overriding(deal: &DealFacts, mv: Move, reason: &str) -> Result<Transition, Refusal> {
    plan_move(&playbook(), deal, &mv, Some(reason), now())
}

/// The unmet gates of a refusal as `stage#index`, for compact assertions.
fn unmet_of(result: Result<Transition, Refusal>) -> (Vec<String>, Vec<ActivityId>) {
    match result {
        Err(Refusal::GatesUnmet {
            unmet, suggestions, ..
        }) => (
            unmet
                .iter()
                .map(|c| format!("{}#{}", c.stage, c.index))
                .collect(),
            suggestions,
        ),
        other => panic!("expected unmet gates, got {other:?}"),
    }
}

fn ids(names: &[&str]) -> Vec<ActivityId> {
    names.iter().map(|n| id(n)).collect()
}

/// A deal in `qualify` that meets every gate of `qualify`.
fn qualified() -> DealFacts {
    deal("qualify").logged("discovery-call", "qualify")
}

/// A deal in `develop` that meets every gate of `develop`.
fn developed() -> DealFacts {
    let entered = deal("develop").stage_entered_at;
    deal("develop")
        .logged("demo", "develop")
        .logged("demo", "develop")
        .set("champion", CHAMPION)
        .approved("develop", Role::Manager, entered + Duration::hours(3))
}

fn transition(kind: TransitionKind, from: &str, to: &str) -> Transition {
    Transition {
        kind,
        from: id(from),
        to: id(to),
        overridden: Vec::new(),
        reason: None,
    }
}

#[test]
fn advance_is_refused_when_the_discovery_call_is_missing() {
    let (unmet, suggestions) = unmet_of(plan(&deal("qualify"), Move::Next));
    assert_eq!(unmet, ["qualify#0"]);
    // The discovery call is already named by the gate; the rest of the stage's advice follows.
    assert_eq!(suggestions, ids(&["pain-identified", "budget-confirmed"]));
}

#[test]
fn a_refusal_names_every_unmet_gate_of_the_stage_in_order() {
    let (unmet, _) = unmet_of(plan(&deal("qualify").amount(0), Move::Next));
    assert_eq!(unmet, ["qualify#0", "qualify#1"]);
}

#[test]
fn suggestions_leave_out_activities_already_logged_in_this_stage() {
    let deal = deal("qualify")
        .logged("budget-confirmed", "qualify")
        .logged("pain-identified", "develop");
    let (_, suggestions) = unmet_of(plan(&deal, Move::Next));
    assert_eq!(suggestions, ids(&["pain-identified"]));
}

#[test]
fn advance_moves_to_the_next_open_stage_when_every_gate_holds() {
    assert_eq!(
        plan(&qualified(), Move::Next),
        Ok(transition(TransitionKind::Advance, "qualify", "develop"))
    );
    assert_eq!(
        plan(&developed(), Move::Next),
        Ok(transition(TransitionKind::Advance, "develop", "negotiate"))
    );
}

#[test]
fn recommended_activities_never_block_an_advance() {
    // Only the gate's activity is logged; two recommended ones are not, and that is fine.
    assert!(plan(&qualified(), Move::Next).is_ok());
}

#[test]
fn advance_from_the_last_open_stage_is_refused_in_favour_of_won_or_lost() {
    let refusal = plan(&deal("negotiate"), Move::Next).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::LastOpenStage {
            from: id("negotiate")
        }
    );
    assert_eq!(
        refusal.to_string(),
        "`negotiate` is the last open stage; close the deal with `/won` or `/lost`"
    );
}

#[test]
fn closed_deals_refuse_every_move_even_with_an_override() {
    for status in [DealStatus::Won, DealStatus::Lost] {
        let mut closed = qualified();
        closed.status = status;
        let moves = [
            Move::Next,
            Move::To(id("develop")),
            Move::Back {
                to: id("qualify"),
                reason: "oops".into(),
            },
            Move::Won,
            Move::Lost {
                reason: "gone".into(),
            },
        ];
        for mv in moves {
            assert_eq!(
                plan(&closed, mv.clone()),
                Err(Refusal::Closed { status }),
                "{mv:?}"
            );
            assert_eq!(
                plan_overriding(&closed, mv, "CEO says so"),
                Err(Refusal::Closed { status })
            );
        }
    }
}

#[test]
fn a_deal_sitting_in_a_terminal_stage_is_treated_as_closed() {
    assert_eq!(
        plan(&deal("closed-won"), Move::Next),
        Err(Refusal::Closed {
            status: DealStatus::Won
        })
    );
    assert_eq!(
        plan(&deal("no-decision"), Move::Won),
        Err(Refusal::Closed {
            status: DealStatus::Lost
        })
    );
}

#[test]
fn a_deal_in_a_stage_the_playbook_no_longer_has_cannot_move() {
    assert_eq!(
        plan(&deal("retired"), Move::Next),
        Err(Refusal::UnknownStage("retired".into()))
    );
}

#[test]
fn an_override_passes_unmet_gates_and_records_them_with_the_trimmed_reason() {
    let stuck = deal("qualify");
    let expected = evaluate_stage(&playbook(), &playbook().stages[0], &stuck, today());
    let t = plan_overriding(&stuck, Move::Next, "  Customer's fiscal deadline  ").unwrap();
    assert_eq!(t.kind, TransitionKind::Advance);
    assert_eq!(t.to, id("develop"));
    assert_eq!(t.overridden, vec![expected[0].clone()]);
    assert_eq!(t.reason.as_deref(), Some("Customer's fiscal deadline"));
}

#[test]
fn an_override_without_a_reason_is_refused() {
    for empty in ["", "   "] {
        assert_eq!(
            plan_overriding(&deal("qualify"), Move::Next, empty),
            Err(Refusal::ReasonRequired)
        );
    }
}

#[test]
fn an_override_when_every_gate_holds_overrides_nothing() {
    let t = plan_overriding(&qualified(), Move::Next, "just in case").unwrap();
    assert!(t.overridden.is_empty());
    assert_eq!(t.reason, None);
}

#[test]
fn an_override_does_not_make_an_unknown_stage_known() {
    let result = plan_overriding(&qualified(), Move::To(id("nowhere")), "trust me");
    assert_eq!(result, Err(Refusal::UnknownStage("nowhere".into())));
}

#[test]
fn skipping_ahead_needs_every_gate_of_every_stage_left_in_stage_order() {
    let (unmet, suggestions) = unmet_of(plan(&deal("qualify"), Move::To(id("negotiate"))));
    assert_eq!(unmet, ["qualify#0", "develop#0", "develop#1", "develop#2"]);
    // Suggestions come from the current stage only.
    assert_eq!(suggestions, ids(&["pain-identified", "budget-confirmed"]));

    // Demos done now count for the skipped stage, but its approval can only be given there.
    let almost = qualified()
        .logged("demo", "qualify")
        .logged("demo", "qualify")
        .set("champion", CHAMPION);
    let (unmet, _) = unmet_of(plan(&almost, Move::To(id("negotiate"))));
    assert_eq!(unmet, ["develop#2"]);

    let t = plan_overriding(&almost, Move::To(id("negotiate")), "VP approved by phone").unwrap();
    assert_eq!((t.from.as_str(), t.to.as_str()), ("qualify", "negotiate"));
    assert_eq!(t.overridden.len(), 1);
}

#[test]
fn skipping_ahead_ignores_the_gates_of_the_target_stage() {
    // `develop`'s gates are not met, and need not be: the deal arrives there, it does not leave.
    assert_eq!(
        plan(&qualified(), Move::To(id("develop"))),
        Ok(transition(TransitionKind::Advance, "qualify", "develop"))
    );
}

#[test]
fn advance_to_a_stage_that_is_not_ahead_is_refused() {
    assert_eq!(
        plan(&developed(), Move::To(id("develop"))),
        Err(Refusal::NotAhead {
            from: id("develop"),
            to: id("develop")
        })
    );
    assert_eq!(
        plan(&developed(), Move::To(id("qualify"))),
        Err(Refusal::NotAhead {
            from: id("develop"),
            to: id("qualify")
        })
    );
    assert_eq!(
        plan(&developed(), Move::To(id("nowhere"))),
        Err(Refusal::UnknownStage("nowhere".into()))
    );
}

#[test]
fn advance_to_a_lost_stage_is_refused_in_favour_of_lost() {
    for lost in ["closed-lost", "no-decision"] {
        assert_eq!(
            plan(&qualified(), Move::To(id(lost))),
            Err(Refusal::UseLost { to: id(lost) })
        );
    }
}

#[test]
fn advance_to_the_won_stage_is_the_same_as_won() {
    let developed_plus = developed().logged("pain-identified", "develop");
    assert_eq!(
        plan(&developed_plus, Move::To(id("closed-won"))),
        plan(&developed_plus, Move::Won)
    );
    assert_eq!(
        plan(&developed_plus, Move::Won),
        Ok(transition(TransitionKind::Won, "develop", "closed-won"))
    );
    assert_eq!(
        plan(&deal("develop"), Move::To(id("closed-won"))),
        plan(&deal("develop"), Move::Won)
    );
}

#[test]
fn won_needs_the_gates_of_the_current_and_every_later_open_stage() {
    let (unmet, _) = unmet_of(plan(&developed(), Move::Won));
    assert_eq!(unmet, ["negotiate#0"]);

    let (unmet, _) = unmet_of(plan(&deal("qualify"), Move::Won));
    assert_eq!(
        unmet,
        [
            "qualify#0",
            "develop#0",
            "develop#1",
            "develop#2",
            "negotiate#0"
        ]
    );
}

#[test]
fn won_from_the_last_open_stage_closes_the_deal() {
    let ready = deal("negotiate").logged("pain-identified", "qualify");
    assert_eq!(
        plan(&ready, Move::Won),
        Ok(transition(TransitionKind::Won, "negotiate", "closed-won"))
    );

    // A big deal also needs the manager's approval, given in this stage.
    let big = ready.amount(150_000);
    let (unmet, suggestions) = unmet_of(plan(&big, Move::Won));
    assert_eq!(unmet, ["negotiate#2"]);
    assert_eq!(suggestions, ids(&["proposal-sent", "legal-review"]));
    let approved = big.approved("negotiate", Role::Manager, now());
    assert!(plan(&approved, Move::Won).is_ok());
}

#[test]
fn back_moves_to_an_earlier_open_stage_with_a_reason_and_no_gates() {
    let t = plan(
        &deal("negotiate"),
        Move::Back {
            to: id("qualify"),
            reason: "  budget frozen ".into(),
        },
    );
    assert_eq!(
        t,
        Ok(Transition {
            reason: Some("budget frozen".into()),
            ..transition(TransitionKind::Back, "negotiate", "qualify")
        })
    );
}

#[test]
fn back_is_refused_unless_the_target_is_an_earlier_open_stage() {
    let back = |to: &str| Move::Back {
        to: id(to),
        reason: "slipped".into(),
    };
    let from = deal("develop");
    for to in ["develop", "negotiate", "closed-won", "closed-lost"] {
        assert_eq!(
            plan(&from, back(to)),
            Err(Refusal::NotBehind {
                from: id("develop"),
                to: id(to)
            })
        );
    }
    assert_eq!(
        plan(&from, back("nowhere")),
        Err(Refusal::UnknownStage("nowhere".into()))
    );
}

#[test]
fn back_without_a_reason_is_refused() {
    assert_eq!(
        plan(
            &deal("develop"),
            Move::Back {
                to: id("qualify"),
                reason: " ".into()
            }
        ),
        Err(Refusal::ReasonRequired)
    );
}

#[test]
fn lost_goes_to_the_first_lost_stage_from_any_open_stage_without_gates() {
    for stage in ["qualify", "develop", "negotiate"] {
        let t = plan(
            &deal(stage),
            Move::Lost {
                reason: "Chose a competitor".into(),
            },
        )
        .unwrap();
        assert_eq!(t.kind, TransitionKind::Lost);
        assert_eq!(t.to, id("closed-lost"));
        assert_eq!(t.reason.as_deref(), Some("Chose a competitor"));
        assert!(t.overridden.is_empty());
    }
}

#[test]
fn lost_without_a_reason_is_refused() {
    assert_eq!(
        plan(
            &deal("qualify"),
            Move::Lost {
                reason: "\t".into()
            }
        ),
        Err(Refusal::ReasonRequired)
    );
}

#[test]
fn the_close_date_rule_uses_the_date_of_now() {
    let mut closes_today = deal("negotiate").logged("pain-identified", "qualify");
    closes_today.close_date = today();
    let (unmet, _) = unmet_of(plan(&closes_today, Move::Won));
    assert_eq!(unmet, ["negotiate#1"]);
    let yesterday = now() - Duration::days(1);
    assert!(plan_move(&playbook(), &closes_today, &Move::Won, None, yesterday).is_ok());
}
