use chrono::Duration;

use super::*;
use crate::fixtures::*;
use crate::ids::Money;

/// The fixture's stage with this id.
fn stage(id_: &str) -> Stage {
    playbook().stage(&id(id_)).unwrap().clone()
}

fn checks(stage_id: &str, deal: &DealFacts) -> Vec<GateCheck> {
    evaluate_stage(&playbook(), &stage(stage_id), deal, today())
}

fn check(stage_id: &str, index: usize, deal: &DealFacts) -> GateCheck {
    checks(stage_id, deal).swap_remove(index)
}

/// A one-stage playbook whose only gate is `gate`, to check a rule on its own.
fn single_gate(gate: Gate) -> (Playbook, Stage) {
    let mut playbook = playbook();
    playbook.stages[0].gates = vec![gate];
    let stage = playbook.stages[0].clone();
    (playbook, stage)
}

fn evaluate_single(gate: Gate, deal: &DealFacts) -> GateCheck {
    let (playbook, stage) = single_gate(gate);
    evaluate_stage(&playbook, &stage, deal, today()).swap_remove(0)
}

#[test]
fn an_activity_gate_is_unmet_until_the_activity_is_logged_in_its_stage() {
    let nothing = deal("qualify");
    let c = check("qualify", 0, &nothing);
    assert!(!c.met);
    assert!(c.applies);
    assert_eq!(
        c.requirement,
        "Log Discovery call held (`discovery-call`) in this stage"
    );
    assert_eq!(c.progress, None);
    assert_eq!(
        c.remedy,
        Remedy::LogActivity {
            activity: id("discovery-call"),
            remaining: 1
        }
    );

    // Logged during an earlier visit to another stage: not this stage's work.
    let elsewhere = deal("qualify").logged("discovery-call", "develop");
    assert!(!check("qualify", 0, &elsewhere).met);

    let done = deal("qualify").logged("discovery-call", "qualify");
    let c = check("qualify", 0, &done);
    assert!(c.met);
    assert_eq!(
        c.remedy,
        Remedy::LogActivity {
            activity: id("discovery-call"),
            remaining: 0
        }
    );
}

#[test]
fn an_activity_gate_with_a_count_reports_progress_until_it_is_reached() {
    let once = deal("develop").logged("demo", "develop");
    let c = check("develop", 0, &once);
    assert_eq!(
        c.requirement,
        "Log Demo given (`demo`) 2 times in this stage"
    );
    assert!(!c.met);
    assert_eq!(c.progress.as_deref(), Some("logged 1 of 2"));
    assert_eq!(
        c.remedy,
        Remedy::LogActivity {
            activity: id("demo"),
            remaining: 1
        }
    );

    let none = check("develop", 0, &deal("develop"));
    assert_eq!(none.progress.as_deref(), Some("logged 0 of 2"));
    assert_eq!(
        none.remedy,
        Remedy::LogActivity {
            activity: id("demo"),
            remaining: 2
        }
    );

    let thrice = deal("develop")
        .logged("demo", "develop")
        .logged("demo", "develop")
        .logged("demo", "develop");
    let c = check("develop", 0, &thrice);
    assert!(c.met);
    assert_eq!(c.progress.as_deref(), Some("logged 2 of 2"));

    // The store hands over one entry per activity and stage, with how many times it was
    // logged there: it counts the same as one entry per time.
    let mut counted = deal("develop").logged("demo", "develop");
    counted.activities[0].times = 2;
    assert_eq!(check("develop", 0, &counted), check("develop", 0, &thrice));
}

#[test]
fn activities_logged_in_the_current_stage_count_for_a_stage_being_skipped() {
    let skipping = deal("qualify")
        .logged("demo", "qualify")
        .logged("demo", "qualify");
    assert!(check("develop", 0, &skipping).met);

    // Once the deal is in `develop`, work from `qualify` no longer counts for it.
    let arrived = deal("develop")
        .logged("demo", "qualify")
        .logged("demo", "qualify");
    assert!(!check("develop", 0, &arrived).met);

    // Work logged in a third stage counts for neither.
    let elsewhere = deal("qualify")
        .logged("demo", "negotiate")
        .logged("demo", "negotiate");
    assert!(!check("develop", 0, &elsewhere).met);
}

#[test]
fn an_ever_activity_gate_counts_the_activity_whichever_stage_it_was_logged_in() {
    let c = check("negotiate", 0, &deal("negotiate"));
    assert_eq!(
        c.requirement,
        "Log Business pain identified (`pain-identified`)"
    );
    assert!(!c.met);
    assert_eq!(c.progress, None);

    let earlier = deal("negotiate").logged("pain-identified", "qualify");
    assert!(check("negotiate", 0, &earlier).met);
}

#[test]
fn a_present_field_gate_needs_non_blank_text() {
    let gate = field_gate("go_live", FieldRule::Present);
    assert!(!evaluate_single(gate.clone(), &deal("qualify")).met);
    assert!(!evaluate_single(gate.clone(), &deal("qualify").set("go_live", "  ")).met);
    let c = evaluate_single(gate.clone(), &deal("qualify").set("go_live", "soon"));
    assert!(c.met);
    assert_eq!(c.requirement, "Set `go_live`");
    assert_eq!(
        c.remedy,
        Remedy::SetField {
            field: id("go_live"),
            rule: FieldRule::Present
        }
    );

    let mut unnamed = deal("qualify");
    unnamed.name = " ".to_string();
    assert!(!evaluate_single(field_gate("name", FieldRule::Present), &unnamed).met);
    assert!(evaluate_single(field_gate("name", FieldRule::Present), &deal("qualify")).met);
}

#[test]
fn a_positive_amount_gate_needs_more_than_nothing() {
    let c = check("qualify", 1, &deal("qualify").amount(0));
    assert_eq!(c.requirement, "Amount above zero");
    assert!(!c.met);
    assert_eq!(
        c.remedy,
        Remedy::SetField {
            field: id("amount"),
            rule: FieldRule::Positive
        }
    );

    let mut one_cent = deal("qualify");
    one_cent.amount = Money::from_minor(1).unwrap();
    assert!(check("qualify", 1, &one_cent).met);
}

#[test]
fn a_positive_custom_field_needs_a_number_above_zero() {
    let gate = field_gate("seats", FieldRule::Positive);
    assert_eq!(
        evaluate_single(gate.clone(), &deal("qualify")).requirement,
        "Set `seats` to a number above zero"
    );
    for bad in ["", "0", "-3", "many", "12 seats", "1e5", "NaN", "inf", "."] {
        let c = evaluate_single(gate.clone(), &deal("qualify").set("seats", bad));
        assert!(!c.met, "{bad:?} should not count as a positive number");
    }
    for good in ["12", " 0.5 ", "1,200", "+7"] {
        let c = evaluate_single(gate.clone(), &deal("qualify").set("seats", good));
        assert!(c.met, "{good:?} should count as a positive number");
    }
}

#[test]
fn a_future_close_date_must_be_after_today() {
    let mut on_today = deal("negotiate");
    on_today.close_date = today();
    let c = check("negotiate", 1, &on_today);
    assert_eq!(c.requirement, "Close date in the future");
    assert!(!c.met);

    let mut tomorrow = deal("negotiate");
    tomorrow.close_date = today() + Duration::days(1);
    assert!(check("negotiate", 1, &tomorrow).met);
}

#[test]
fn a_future_custom_date_must_be_an_iso_date_after_today() {
    let gate = field_gate("go_live", FieldRule::FutureDate);
    let c = evaluate_single(gate.clone(), &deal("qualify"));
    assert_eq!(c.requirement, "Set `go_live` to a date in the future");
    assert!(!c.met);
    for bad in ["2026-03-10", "2025-12-31", "next week", "11/03/2026"] {
        assert!(
            !evaluate_single(gate.clone(), &deal("qualify").set("go_live", bad)).met,
            "{bad}"
        );
    }
    assert!(evaluate_single(gate, &deal("qualify").set("go_live", " 2026-03-11 ")).met);
}

#[test]
fn a_min_length_gate_counts_trimmed_characters_not_bytes() {
    let c = check("develop", 1, &deal("develop"));
    assert_eq!(
        c.requirement,
        "Set `champion` (at least 40 characters of evidence)"
    );
    assert!(!c.met);
    assert_eq!(c.progress, None, "nothing written yet is no progress");

    // 39 two-byte characters are 78 bytes, but still one short of 40 characters.
    let short = format!("  {}  ", "é".repeat(39));
    let c = check("develop", 1, &deal("develop").set("champion", &short));
    assert!(!c.met);
    assert_eq!(c.progress.as_deref(), Some("39 of 40 characters"));

    let enough = "é".repeat(40);
    let c = check("develop", 1, &deal("develop").set("champion", &enough));
    assert!(c.met);
    assert_eq!(c.progress, None);
    assert_eq!(
        c.remedy,
        Remedy::SetField {
            field: id("champion"),
            rule: FieldRule::MinLength(40)
        }
    );
}

#[test]
fn an_approval_counts_only_from_the_role_or_above_in_this_stage_since_it_was_entered() {
    let entered = deal("develop").stage_entered_at;
    let after = entered + Duration::hours(2);
    let c = check("develop", 2, &deal("develop"));
    assert_eq!(c.requirement, "Manager reviews the mutual action plan");
    assert!(!c.met);
    assert_eq!(
        c.remedy,
        Remedy::Approval {
            role: Role::Manager
        }
    );

    let rep = deal("develop").approved("develop", Role::Rep, after);
    assert!(!check("develop", 2, &rep).met, "a rep is below a manager");
    let other_stage = deal("develop").approved("qualify", Role::Manager, after);
    assert!(
        !check("develop", 2, &other_stage).met,
        "approved for another stage"
    );
    let earlier_visit =
        deal("develop").approved("develop", Role::Manager, entered - Duration::days(3));
    assert!(
        !check("develop", 2, &earlier_visit).met,
        "approved before the deal came back"
    );

    let at_entry = deal("develop").approved("develop", Role::Manager, entered);
    assert!(check("develop", 2, &at_entry).met);
    let admin = deal("develop").approved("develop", Role::Admin, after);
    assert!(
        check("develop", 2, &admin).met,
        "an admin can do what a manager can"
    );
}

#[test]
fn an_approval_for_a_stage_being_skipped_counts_only_if_given_in_that_stage() {
    let entered = deal("qualify").stage_entered_at;
    let approved_now =
        deal("qualify").approved("qualify", Role::Admin, entered + Duration::hours(1));
    assert!(!check("develop", 2, &approved_now).met);

    // The deal was in `develop` before and went back: that approval still stands for it.
    let from_before =
        deal("qualify").approved("develop", Role::Manager, entered - Duration::days(5));
    assert!(check("develop", 2, &from_before).met);
}

#[test]
fn a_conditional_approval_does_not_apply_below_its_threshold() {
    let small = deal("negotiate").amount(99_999);
    let c = check("negotiate", 2, &small);
    assert!(!c.applies);
    assert!(c.met);
    assert_eq!(
        c.requirement,
        "Manager approval for deals of 100,000 or more"
    );
    assert_eq!(
        c.remedy,
        Remedy::Approval {
            role: Role::Manager
        }
    );

    let at_threshold = deal("negotiate").amount(100_000);
    let c = check("negotiate", 2, &at_threshold);
    assert!(c.applies);
    assert!(!c.met);

    let approved = at_threshold.approved("negotiate", Role::Manager, now());
    assert!(check("negotiate", 2, &approved).met);
}

#[test]
fn a_labelled_conditional_approval_says_from_which_amount_it_applies() {
    let mut gate = approval_gate(Role::Admin, Some(250_000));
    gate.label = Some("Deal desk sign-off".to_string());
    let c = evaluate_single(gate.clone(), &deal("qualify"));
    assert!(!c.applies);
    assert_eq!(
        c.requirement,
        "Deal desk sign-off (applies for deals of 250,000 or more)"
    );

    let c = evaluate_single(gate, &deal("qualify").amount(300_000));
    assert!(c.applies);
    assert_eq!(c.requirement, "Deal desk sign-off");
}

#[test]
fn a_condition_on_a_custom_field_applies_unless_the_field_is_a_number_below_it() {
    let gate = gate(GateKind::Approval {
        role: Role::Manager,
        when: Some(Condition {
            field: id("seats"),
            at_least: 50,
        }),
    });
    let c = evaluate_single(gate.clone(), &deal("qualify").set("seats", "10"));
    assert!(!c.applies);
    assert_eq!(c.requirement, "Manager approval when `seats` is 50 or more");
    assert!(evaluate_single(gate.clone(), &deal("qualify").set("seats", "50")).applies);
    // An unknown size never waives the approval.
    assert!(evaluate_single(gate.clone(), &deal("qualify")).applies);
    assert!(evaluate_single(gate, &deal("qualify").set("seats", "lots")).applies);
}

#[test]
fn describe_prefers_the_label_and_otherwise_writes_a_sentence() {
    let playbook = playbook();
    let mut labelled = field_gate("champion", FieldRule::Present);
    labelled.label = Some("  Champion named  ".to_string());
    assert_eq!(describe(&playbook, &labelled), "Champion named");
    labelled.label = Some("   ".to_string());
    assert_eq!(
        describe(&playbook, &labelled),
        "Set `champion`",
        "a blank label is no label"
    );

    let cases = [
        (
            activity_gate("pain-identified", ActivityScope::Ever, 3),
            "Log Business pain identified (`pain-identified`) 3 times",
        ),
        (
            activity_gate("not-in-playbook", ActivityScope::Stage, 1),
            "Log `not-in-playbook` in this stage",
        ),
        (
            field_gate("champion", FieldRule::MinLength(1)),
            "Set `champion` (at least 1 character of evidence)",
        ),
        (field_gate("amount", FieldRule::Present), "Set `amount`"),
        (
            field_gate("close_date", FieldRule::FutureDate),
            "Close date in the future",
        ),
        (approval_gate(Role::Admin, None), "Admin approval"),
        (
            approval_gate(Role::Rep, Some(1_500)),
            "Rep approval for deals of 1,500 or more",
        ),
    ];
    for (gate, sentence) in cases {
        assert_eq!(describe(&playbook, &gate), sentence);
    }
}

#[test]
fn evaluation_keeps_the_stage_order_and_names_each_gate_by_stage_and_index() {
    let all = checks("develop", &deal("develop"));
    assert_eq!(all.len(), 3);
    for (i, c) in all.iter().enumerate() {
        assert_eq!(c.index, i);
        assert_eq!(c.stage, id("develop"));
    }
    let ready = deal("develop")
        .logged("demo", "develop")
        .logged("demo", "develop")
        .set("champion", CHAMPION);
    let unmet = unmet(&checks("develop", &ready));
    assert_eq!(unmet.len(), 1);
    assert_eq!(unmet[0].index, 2);
}

#[test]
fn a_stage_without_gates_has_nothing_to_check() {
    let playbook = playbook();
    assert!(evaluate_stage(&playbook, playbook.won_stage(), &deal("qualify"), today()).is_empty());
}
