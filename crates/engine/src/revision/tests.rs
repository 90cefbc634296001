use super::*;
use crate::fixtures::{CHAMPION, DealBuilder, date, deal, field_gate, id, playbook, today};
use crate::ids::{DealNumber, Money};
use crate::playbook::FieldRule;

fn quarter() -> (NaiveDate, NaiveDate) {
    (date(2026, 4, 1), date(2026, 6, 30))
}

fn lines(old: &Playbook, new: &Playbook) -> Vec<String> {
    changes(old, new).iter().map(ToString::to_string).collect()
}

fn numbered(mut d: DealFacts, n: u32) -> DealFacts {
    d.number = DealNumber::new(n).unwrap();
    d
}

#[test]
fn the_same_playbook_has_no_changes() {
    assert!(changes(&playbook(), &playbook()).is_empty());
}

#[test]
fn each_kind_of_change_is_said_in_plain_words() {
    let old = playbook();
    let mut new = playbook();
    new.name = "Fixture B2B 2027".to_string();
    new.stages[0].name = "Qualification".to_string();
    new.stages[1].probability = Probability::new(45).unwrap();
    new.stages[1].forecast_category = ForecastCategory::Commit;
    new.stages[2]
        .gates
        .push(field_gate("seats", FieldRule::Positive));
    new.stages[2].gates.remove(0);
    new.stages[2].activities.remove(1);
    new.fields.pop();
    assert_eq!(
        lines(&old, &new),
        [
            "Playbook renamed: Fixture B2B → Fixture B2B 2027",
            "Stage `qualify` renamed: Qualify → Qualification",
            "Develop: probability 40% → 45%",
            "Develop: forecast category Best case → Commit",
            "Negotiate: new gate: Set `seats` to a number above zero",
            "Negotiate: gate removed: Log Business pain identified (`pain-identified`)",
            "Negotiate: recommended activity removed: Legal review started",
            "Deal field removed: Seats",
        ]
    );
}

#[test]
fn renamed_activities_stall_days_and_new_wording_are_changes_too() {
    let old = playbook();
    let mut new = playbook();
    new.stages[0].activities[0].name = "First call held".to_string();
    new.stages[0].activities[1].hint = Some("In their words".to_string());
    new.stages[1].stall_after_days = None;
    new.stages[2].description = Some("Agree the terms".to_string());
    new.fields[0].hint = Some("Who sells for us inside".to_string());
    assert_eq!(
        lines(&old, &new),
        [
            "Qualify: recommended activity renamed: Discovery call held → First call held",
            "Qualify: description or activity hints reworded",
            "Develop: stalls never (was after 21 days)",
            "Negotiate: description or activity hints reworded",
            "Deal field reworded: Champion",
        ]
    );
}

#[test]
fn stages_added_removed_and_reordered_are_named() {
    let old = playbook();
    let mut new = playbook();
    let develop = new.stages.remove(1);
    let mut review = develop.clone();
    review.id = id("review");
    review.name = "Review".to_string();
    new.stages.insert(0, review);
    let negotiate = new.stages.remove(2);
    new.stages.insert(1, negotiate);
    assert_eq!(
        lines(&old, &new),
        [
            "Stage Develop (`develop`) removed",
            "Stages in a new order: Qualify, Negotiate, Closed Won, Closed Lost, No Decision → \
             Negotiate, Qualify, Closed Won, Closed Lost, No Decision",
            "New stage Review (`review`) first, 40%",
        ]
    );
}

#[test]
fn mappings_are_read_and_checked_against_both_versions() {
    let m = StageMapping::parse("develop=negotiate, x=y\nz=qualify").unwrap();
    assert_eq!(m.to_string(), "develop=negotiate, x=y, z=qualify");
    assert_eq!(
        StageMapping::parse("develop"),
        Err(MappingProblem::Malformed("develop".into()))
    );
    assert_eq!(
        StageMapping::parse("a=b a=c"),
        Err(MappingProblem::Twice(id("a")))
    );

    let old = playbook();
    let mut new = playbook();
    new.stages.remove(1);
    let check = |text: &str| {
        plan(
            &old,
            &new,
            &StageMapping::parse(text).unwrap(),
            &[],
            quarter(),
            today(),
        )
        .err()
        .map(|e| e.to_string())
    };
    assert_eq!(check("develop=negotiate"), None);
    assert_eq!(
        check("develop=proposal").unwrap(),
        "`develop=proposal`: the new playbook has no stage `proposal`. Its open stages: \
         `qualify`, `negotiate`."
    );
    assert!(
        check("develop=closed-won")
            .unwrap()
            .contains("closes deals")
    );
    assert!(
        check("qualify=negotiate")
            .unwrap()
            .contains("still a stage")
    );
    assert!(check("nowhere=negotiate").unwrap().contains("not a stage"));
}

#[test]
fn deals_of_a_removed_stage_need_a_mapping_and_move_with_one() {
    let old = playbook();
    let mut new = playbook();
    new.stages.remove(1);
    let deals = [
        numbered(deal("develop"), 7),
        numbered(deal("develop"), 3),
        numbered(deal("qualify"), 1),
    ];
    let unmapped = plan(
        &old,
        &new,
        &StageMapping::default(),
        &deals,
        quarter(),
        today(),
    )
    .unwrap();
    let stuck: Vec<_> = unmapped.unmapped().collect();
    assert_eq!(stuck.len(), 1);
    assert_eq!(stuck[0].from_name, "Develop");
    assert_eq!(
        stuck[0].deals,
        [DealNumber::new(3).unwrap(), DealNumber::new(7).unwrap()]
    );

    let mapped = plan(
        &old,
        &new,
        &StageMapping::parse("develop=negotiate").unwrap(),
        &deals,
        quarter(),
        today(),
    )
    .unwrap();
    assert_eq!(mapped.unmapped().count(), 0);
    assert_eq!(mapped.moves[0].to_name.as_deref(), Some("Negotiate"));
    // 50,000 each closing this quarter: two at 40% and one at 10% before; 70% and 10% after.
    assert_eq!(mapped.weighted_before, 2 * 2_000_000 + 500_000);
    assert_eq!(mapped.weighted_after, 2 * 3_500_000 + 500_000);
    assert_eq!(mapped.open_deals, 3);
}

#[test]
fn a_new_gate_on_a_stage_left_puts_those_deals_out_and_no_others() {
    let old = playbook();
    let mut new = playbook();
    new.stages[0]
        .gates
        .push(field_gate("seats", FieldRule::Positive));
    let passed = deal("qualify")
        .logged("discovery-call", "qualify")
        .set("champion", CHAMPION);
    let mut in_develop = numbered(passed.clone(), 5);
    in_develop.stage = id("develop");
    in_develop.passage.visited.push(id("develop"));
    let mut with_seats = numbered(in_develop.clone().set("seats", "40"), 6);
    with_seats.number = DealNumber::new(6).unwrap();
    let still_in_qualify = numbered(passed, 8);
    let impact = plan(
        &old,
        &new,
        &StageMapping::default(),
        &[in_develop, with_seats, still_in_qualify],
        quarter(),
        today(),
    )
    .unwrap();
    assert_eq!(impact.newly_out.len(), 1);
    assert_eq!(impact.newly_out[0].stage, "Develop");
    assert_eq!(
        impact.newly_out[0].deals,
        [(
            DealNumber::new(5).unwrap(),
            vec!["Set `seats` to a number above zero".to_string()]
        )]
    );
    assert_eq!(impact.weighted_before, impact.weighted_after);
}

#[test]
fn closed_deals_count_for_nothing_and_terminal_stages_map_by_outcome() {
    let old = playbook();
    let mut new = playbook();
    new.stages.retain(|s| s.id.as_str() != "no-decision");
    let mut lost = deal("no-decision");
    lost.status = DealStatus::Lost;
    lost.amount = Money::from_major(1).unwrap();
    let impact = plan(
        &old,
        &new,
        &StageMapping::default(),
        &[lost],
        quarter(),
        today(),
    )
    .unwrap();
    assert!(impact.moves.is_empty());
    assert_eq!(impact.open_deals, 0);
    assert_eq!(
        terminal_moves(&old, &new),
        [(id("no-decision"), id("closed-lost"))]
    );
}
