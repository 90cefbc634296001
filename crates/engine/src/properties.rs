//! Property tests of the engine's promises: no advance passes an unmet gate without an
//! override, the weighted forecast is exactly Σ amount × probability, and every valid playbook
//! can be walked to Closed Won by a deal that satisfies each gate in turn.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::sample::{Index, select};

use crate::deal::{DealFacts, DealStatus, GivenApproval, LoggedActivity};
use crate::fixtures::{self, MAX_GENERATED_MIN_LENGTH, arb_playbook, id};
use crate::forecast::{OpenRow, Totals, YearMonth, forecast};
use crate::gates::{GateCheck, evaluate_stage};
use crate::ids::{ActivityId, Money, StageId};
use crate::playbook::{FieldRule, GateKind, Playbook, Role, Stage};
use crate::transition::{Move, Refusal, Transition, TransitionKind, plan_move};

/// Field values a rep might type: some satisfy a rule, some nearly do, some are junk.
const FIELD_VALUES: [&str; 10] = [
    "",
    "x",
    "short evidence",
    "Dana Ruiz, VP Ops: owns the budget and chairs the steering group",
    "1000",
    "0",
    "-5",
    "80",
    "2999-12-31",
    "2000-01-01",
];

/// A deal described by choices that are resolved against whichever playbook it meets.
///
/// Random facts alone rarely satisfy every gate of a stage, which would leave the interesting
/// case (a move that is allowed) untested; so the rep first does everything some stages ask,
/// then some of that work is forgotten again to make near misses.
#[derive(Debug, Clone)]
struct DealRecipe {
    /// In a terminal stage (the deal should count as closed) rather than an open one.
    in_terminal: bool,
    stage: Index,
    status: DealStatus,
    entered_days_ago: i64,
    amount_minor: i64,
    close_in_days: i64,
    blank_name: bool,
    /// Per open stage: whether every gate of it was satisfied (see `satisfy`).
    satisfied: Vec<bool>,
    /// Custom field and value.
    fields: Vec<(Index, Index)>,
    /// Activity and stage logged in (`None`: the deal's current stage).
    activities: Vec<(Index, Option<Index>)>,
    /// Stage approved in (`None`: the current one), role, and whether since the deal entered.
    approvals: Vec<(Option<Index>, Role, bool)>,
    /// Facts removed at the end: 0 an activity, 1 an approval, 2 a custom field.
    forget: Vec<(u8, Index)>,
}

fn arb_role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Rep), Just(Role::Manager), Just(Role::Admin)]
}

fn arb_deal_recipe() -> impl Strategy<Value = DealRecipe> {
    let status = prop_oneof![
        8 => Just(DealStatus::Open),
        1 => Just(DealStatus::Won),
        1 => Just(DealStatus::Lost),
    ];
    let current_mostly = || proptest::option::weighted(0.3, any::<Index>());
    (
        (
            proptest::bool::weighted(0.1),
            any::<Index>(),
            status,
            0i64..30,
            0i64..=20_000_000,
            -30i64..=90,
            proptest::bool::weighted(0.1),
        ),
        proptest::collection::vec(proptest::bool::weighted(0.6), 8),
        proptest::collection::vec((any::<Index>(), any::<Index>()), 0..4),
        proptest::collection::vec((any::<Index>(), current_mostly()), 0..8),
        proptest::collection::vec((current_mostly(), arb_role(), any::<bool>()), 0..3),
        proptest::collection::vec((0u8..3, any::<Index>()), 0..3),
    )
        .prop_map(
            |(
                (
                    in_terminal,
                    stage,
                    status,
                    entered_days_ago,
                    amount_minor,
                    close_in_days,
                    blank_name,
                ),
                satisfied,
                fields,
                activities,
                approvals,
                forget,
            )| DealRecipe {
                in_terminal,
                stage,
                status,
                entered_days_ago,
                amount_minor,
                close_in_days,
                blank_name,
                satisfied,
                fields,
                activities,
                approvals,
                forget,
            },
        )
}

fn build_deal(playbook: &Playbook, recipe: &DealRecipe, now: DateTime<Utc>) -> DealFacts {
    let stages = &playbook.stages;
    let (open, terminal): (Vec<&Stage>, Vec<&Stage>) = stages.iter().partition(|s| s.is_open());
    let pool = if recipe.in_terminal { &terminal } else { &open };
    let current = pool[recipe.stage.index(pool.len())].id.clone();
    let any_stage = |i: &Option<Index>| match i {
        Some(i) => stages[i.index(stages.len())].id.clone(),
        None => current.clone(),
    };

    let entered = now - Duration::days(recipe.entered_days_ago) - Duration::hours(1);
    let mut deal = fixtures::deal(current.as_str());
    deal.status = recipe.status;
    deal.stage_entered_at = entered;
    deal.amount = Money::from_minor(recipe.amount_minor).unwrap();
    deal.close_date = now.date_naive() + Duration::days(recipe.close_in_days);
    if recipe.blank_name {
        deal.name = String::new();
    }
    if !playbook.fields.is_empty() {
        for (field, value) in &recipe.fields {
            let field = &playbook.fields[field.index(playbook.fields.len())].id;
            let value = FIELD_VALUES[value.index(FIELD_VALUES.len())];
            deal.fields.insert(field.clone(), value.to_string());
        }
    }
    let activities: Vec<&ActivityId> = stages
        .iter()
        .flat_map(|s| s.activities.iter().map(|a| &a.id))
        .collect();
    if !activities.is_empty() {
        for (activity, stage) in &recipe.activities {
            deal.activities.push(LoggedActivity {
                activity: activities[activity.index(activities.len())].clone(),
                stage: any_stage(stage),
                at: entered,
                times: 1,
            });
        }
    }
    for (stage, role, since_entry) in &recipe.approvals {
        let at = if *since_entry {
            entered + Duration::minutes(5)
        } else {
            entered - Duration::days(1)
        };
        deal.approvals.push(GivenApproval {
            approver_id: 0,
            stage: any_stage(stage),
            role: *role,
            at,
        });
    }
    for (stage, satisfied) in open.iter().zip(&recipe.satisfied) {
        if *satisfied {
            satisfy(stage, &mut deal, now);
        }
    }
    for (kind, i) in &recipe.forget {
        match kind {
            0 if !deal.activities.is_empty() => {
                deal.activities.remove(i.index(deal.activities.len()));
            }
            1 if !deal.approvals.is_empty() => {
                deal.approvals.remove(i.index(deal.approvals.len()));
            }
            2 if !deal.fields.is_empty() => {
                let key = deal
                    .fields
                    .keys()
                    .nth(i.index(deal.fields.len()))
                    .cloned()
                    .unwrap();
                deal.fields.remove(&key);
            }
            _ => {}
        }
    }
    deal
}

#[derive(Debug, Clone)]
enum MoveRecipe {
    Next,
    /// `None` names a stage the playbook does not have.
    To(Option<Index>),
    Back(Option<Index>, &'static str),
    Won,
    Lost(&'static str),
}

fn arb_move_recipe() -> impl Strategy<Value = MoveRecipe> {
    let reason = select(vec!["", "  ", "Budget moved to next year"]);
    prop_oneof![
        3 => Just(MoveRecipe::Next),
        3 => proptest::option::weighted(0.9, any::<Index>()).prop_map(MoveRecipe::To),
        2 => (proptest::option::weighted(0.9, any::<Index>()), reason.clone())
            .prop_map(|(to, r)| MoveRecipe::Back(to, r)),
        2 => Just(MoveRecipe::Won),
        1 => reason.prop_map(MoveRecipe::Lost),
    ]
}

fn build_move(playbook: &Playbook, recipe: &MoveRecipe) -> Move {
    let stage = |i: &Option<Index>| -> StageId {
        match i {
            Some(i) => playbook.stages[i.index(playbook.stages.len())].id.clone(),
            None => id("nowhere"),
        }
    };
    match recipe {
        MoveRecipe::Next => Move::Next,
        MoveRecipe::To(to) => Move::To(stage(to)),
        MoveRecipe::Back(to, reason) => Move::Back {
            to: stage(to),
            reason: reason.to_string(),
        },
        MoveRecipe::Won => Move::Won,
        MoveRecipe::Lost(reason) => Move::Lost {
            reason: reason.to_string(),
        },
    }
}

/// The stages a transition leaves forward, worked out from the playbook's order alone: for an
/// advance, the current stage up to (not including) the target; for won, the current stage and
/// every later open one; nothing for back and lost.
fn stages_left<'a>(playbook: &'a Playbook, t: &Transition) -> Vec<&'a Stage> {
    let from = playbook.stage_index(&t.from).unwrap();
    let to = playbook.stage_index(&t.to).unwrap();
    match t.kind {
        TransitionKind::Advance => playbook.stages[from..to].iter().collect(),
        TransitionKind::Won => playbook.stages[from..]
            .iter()
            .filter(|s| s.is_open())
            .collect(),
        TransitionKind::Back | TransitionKind::Lost => Vec::new(),
    }
}

fn unmet_in(
    playbook: &Playbook,
    stages: &[&Stage],
    deal: &DealFacts,
    now: DateTime<Utc>,
) -> Vec<GateCheck> {
    stages
        .iter()
        .flat_map(|s| evaluate_stage(playbook, s, deal, now.date_naive()))
        .filter(|c| !c.met)
        .collect()
}

proptest! {
    // Each case is cheap (microseconds), so four times the default costs well under a second
    // and reaches the rarer shapes: eight stages, skipped stages with approvals, overrides.
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn no_move_passes_an_unmet_gate_without_an_override(
        playbook in arb_playbook(),
        deal in arb_deal_recipe(),
        mv in arb_move_recipe(),
        override_reason in prop_oneof![3 => Just(None), 1 => Just(Some("")), 2 => Just(Some("CFO asked"))],
    ) {
        let now = fixtures::now();
        let deal = build_deal(&playbook, &deal, now);
        let mv = build_move(&playbook, &mv);
        match plan_move(&playbook, &deal, &mv, override_reason, now) {
            Ok(t) => {
                prop_assert_eq!(deal.status, DealStatus::Open);
                prop_assert_eq!(&t.from, &deal.stage);
                let target = playbook.stage(&t.to).unwrap();
                match t.kind {
                    TransitionKind::Advance | TransitionKind::Back => prop_assert!(target.is_open()),
                    TransitionKind::Won => prop_assert_eq!(&t.to, &playbook.won_stage().id),
                    TransitionKind::Lost => prop_assert_eq!(&t.to, &playbook.lost_stage().id),
                }
                let unmet = unmet_in(&playbook, &stages_left(&playbook, &t), &deal, now);
                match override_reason {
                    None => {
                        prop_assert!(unmet.is_empty(), "passed unmet gates: {:?}", unmet);
                        prop_assert!(t.overridden.is_empty());
                    }
                    Some(_) => prop_assert_eq!(&t.overridden, &unmet),
                }
            }
            Err(Refusal::GatesUnmet {
                unmet, suggestions, ..
            }) => {
                prop_assert_eq!(override_reason, None);
                prop_assert!(!unmet.is_empty());
                prop_assert!(unmet.iter().all(|c| !c.met));
                let current = playbook.stage(&deal.stage).unwrap();
                prop_assert!(suggestions.iter().all(|a| current.activities.iter().any(|r| &r.id == a)));
            }
            Err(_) => {}
        }
    }

    #[test]
    fn the_weighted_forecast_is_the_sum_of_amount_times_probability(
        playbook in arb_playbook(),
        deals in proptest::collection::vec(
            (any::<Index>(), select(vec!["ana", "bo", "cy"]), 2025i32..=2027, 1u32..=12, 0..=Money::MAX_MINOR),
            0..40,
        ),
        fiscal_start in 1u32..=12,
    ) {
        // One row per deal; a tenth of the rows name a stage the playbook does not have.
        let per_deal: Vec<OpenRow> = deals
            .iter()
            .map(|(stage, owner, year, month, amount)| {
                let i = stage.index(playbook.stages.len() + 1);
                let stage = playbook.stages.get(i).map_or_else(|| id("retired"), |s| s.id.clone());
                OpenRow {
                    stage,
                    owner: owner.to_string(),
                    close_month: YearMonth { year: *year, month: *month },
                    count: 1,
                    amount: *amount,
                }
            })
            .collect();
        let expected: i128 = per_deal
            .iter()
            .map(|r| {
                let percent = playbook
                    .stage(&r.stage)
                    .filter(|s| s.outcome.is_none())
                    .map_or(0, |s| i128::from(s.probability.percent()));
                i128::from(r.amount) * percent
            })
            .sum();

        let f = forecast(&playbook, &per_deal, &[], fiscal_start);
        prop_assert_eq!(f.open.weighted_x100, expected);
        prop_assert_eq!(f.open.count, per_deal.len() as u64);
        prop_assert_eq!(f.open.amount, per_deal.iter().map(|r| i128::from(r.amount)).sum::<i128>());

        // Every slicing adds back up to the whole (only unknown or terminal stages, weighted
        // at zero, are missing from the stage and category slices).
        let sum = |rows: Vec<Totals>| rows.iter().map(|t| t.weighted_x100).sum::<i128>();
        prop_assert_eq!(sum(f.by_stage.iter().map(|r| r.1).collect()), expected);
        prop_assert_eq!(sum(f.by_category.iter().map(|r| r.1).collect()), expected);
        prop_assert_eq!(sum(f.by_owner.iter().map(|r| r.1).collect()), expected);
        prop_assert_eq!(sum(f.by_month.iter().map(|r| r.1).collect()), expected);
        prop_assert_eq!(sum(f.by_quarter.iter().map(|r| r.1).collect()), expected);
        prop_assert_eq!(f.by_stage.len(), playbook.open_stages().count());
        for (quarter, _) in &f.by_quarter {
            prop_assert_eq!(quarter.calendar, fiscal_start == 1);
            prop_assert!((1..=4).contains(&quarter.quarter));
        }

        // The store hands in rows aggregated by stage, owner and month: same forecast.
        let mut grouped: BTreeMap<(StageId, String, YearMonth), OpenRow> = BTreeMap::new();
        for r in &per_deal {
            let key = (r.stage.clone(), r.owner.clone(), r.close_month);
            let row = grouped.entry(key).or_insert_with(|| OpenRow { count: 0, amount: 0, ..r.clone() });
            row.count += 1;
            row.amount += r.amount;
        }
        let aggregated: Vec<OpenRow> = grouped.into_values().collect();
        prop_assert_eq!(forecast(&playbook, &aggregated, &[], fiscal_start), f);
    }

    #[test]
    fn every_valid_playbook_can_be_walked_to_closed_won_by_satisfying_each_gate(
        generated in arb_playbook(),
    ) {
        // Through the validator, as a team's file would come: what it accepts must be walkable.
        let text = crate::playbook::test_support::to_toml(&generated);
        let playbook = match crate::playbook::load_str("generated.toml", &text) {
            Ok(loaded) => loaded.playbook,
            Err(e) => return Err(TestCaseError::fail(format!("refused a valid playbook:\n{e}\n{text}"))),
        };
        let start = fixtures::now();
        let first = playbook.first_stage().id.clone();
        // A deal that satisfies nothing of its own accord: no name, no amount, a past close date.
        let mut deal = fixtures::deal(first.as_str());
        deal.name = String::new();
        deal.amount = Money::from_minor(0).unwrap();
        deal.close_date = fixtures::date(2000, 1, 1);
        deal.stage_entered_at = start;
        let mut now = start + Duration::hours(1);

        for _ in 0..playbook.stages.len() {
            let stage = playbook.stage(&deal.stage).unwrap();
            satisfy(stage, &mut deal, now);
            let mv = if playbook.next_open_stage(&stage.id).is_some() { Move::Next } else { Move::Won };
            let t = match plan_move(&playbook, &deal, &mv, None, now) {
                Ok(t) => t,
                Err(refusal) => {
                    return Err(TestCaseError::fail(format!("refused in {}: {refusal:?}", stage.id)));
                }
            };
            prop_assert!(t.overridden.is_empty());
            if mv == Move::Won {
                prop_assert_eq!(t.kind, TransitionKind::Won);
                prop_assert_eq!(&t.to, &playbook.won_stage().id);
                return Ok(());
            }
            deal.stage = t.to;
            deal.stage_entered_at = now + Duration::days(1);
            now = deal.stage_entered_at + Duration::hours(1);
        }
        prop_assert!(false, "never reached the won stage");
    }
}

/// Does what each gate of `stage` asks, as a diligent rep would, at `now`.
fn satisfy(stage: &Stage, deal: &mut DealFacts, now: DateTime<Utc>) {
    let evidence = "e".repeat(MAX_GENERATED_MIN_LENGTH as usize);
    for gate in &stage.gates {
        match &gate.kind {
            GateKind::Activity {
                activity, count, ..
            } => {
                for _ in 0..*count {
                    deal.activities.push(LoggedActivity {
                        activity: activity.clone(),
                        stage: stage.id.clone(),
                        at: now,
                        times: 1,
                    });
                }
            }
            GateKind::Field { field, rule } => match (field.as_str(), rule) {
                ("amount", _) => deal.amount = Money::from_major(1_000).unwrap(),
                ("close_date", _) => deal.close_date = fixtures::date(2999, 12, 31),
                ("name", FieldRule::Present) if !deal.name.is_empty() => {}
                ("name", _) => deal.name = evidence.clone(),
                // A value already there may be the one a stricter rule on the field needs.
                (_, FieldRule::Present) if deal.field_text(field).is_some() => {}
                (_, rule) => {
                    let value = match rule {
                        FieldRule::Present => "present".to_string(),
                        FieldRule::Positive => "1000".to_string(),
                        FieldRule::FutureDate => "2999-12-31".to_string(),
                        FieldRule::MinLength(_) => evidence.clone(),
                    };
                    deal.fields.insert(field.clone(), value);
                }
            },
            GateKind::Approval { role, .. } => {
                deal.approvals.push(GivenApproval {
                    approver_id: 0,
                    stage: stage.id.clone(),
                    role: *role,
                    at: now,
                });
            }
        }
    }
}
