//! Test fixtures shared by the engine's unit and property tests: a small playbook written out as
//! struct literals, a deal builder, a fixed clock, and a generator of random valid playbooks.
//!
//! The integrator may reuse `arb_playbook` (for instance to check that the TOML loader accepts
//! what it generates), so it builds only playbooks that satisfy every invariant on `Playbook`.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use proptest::strategy::Union;

use crate::deal::{DealFacts, DealStatus, GivenApproval, LoggedActivity};
use crate::ids::{ActivityId, DealNumber, FieldName, Money, Probability};
use crate::playbook::{
    Activity, ActivityScope, Condition, CustomField, FieldRule, ForecastCategory, Gate, GateKind,
    Outcome, Playbook, Role, Stage,
};

/// Parses an id or value written in a test; a typo there is a bug in the test.
pub(crate) fn id<T: FromStr>(s: &str) -> T
where
    T::Err: Debug,
{
    s.parse()
        .unwrap_or_else(|e| panic!("fixture value {s:?}: {e:?}"))
}

/// The fixed "now" of every example test: Tuesday 10 March 2026, noon UTC.
pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
}

pub(crate) fn today() -> NaiveDate {
    now().date_naive()
}

pub(crate) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn activity(id_: &str, name: &str) -> Activity {
    Activity {
        id: id(id_),
        name: name.to_string(),
        hint: None,
    }
}

pub(crate) fn gate(kind: GateKind) -> Gate {
    Gate { label: None, kind }
}

pub(crate) fn activity_gate(activity: &str, scope: ActivityScope, count: u32) -> Gate {
    gate(GateKind::Activity {
        activity: id(activity),
        scope,
        count,
    })
}

pub(crate) fn field_gate(field: &str, rule: FieldRule) -> Gate {
    gate(GateKind::Field {
        field: id(field),
        rule,
    })
}

/// An approval by `role`, required only for deals of `at_least_major` or more when given.
pub(crate) fn approval_gate(role: Role, at_least_major: Option<i64>) -> Gate {
    let when = at_least_major.map(|major| Condition {
        field: id("amount"),
        at_least: major * 100,
    });
    gate(GateKind::Approval { role, when })
}

fn open_stage(
    id_: &str,
    name: &str,
    percent: i64,
    category: ForecastCategory,
    stall_after_days: Option<u32>,
    activities: Vec<Activity>,
    gates: Vec<Gate>,
) -> Stage {
    Stage {
        id: id(id_),
        name: name.to_string(),
        description: None,
        probability: Probability::new(percent).unwrap(),
        forecast_category: category,
        outcome: None,
        stall_after_days,
        activities,
        gates,
    }
}

fn terminal_stage(id_: &str, name: &str, outcome: Outcome) -> Stage {
    let (percent, category) = match outcome {
        Outcome::Won => (100, ForecastCategory::Closed),
        Outcome::Lost => (0, ForecastCategory::Omitted),
    };
    Stage {
        outcome: Some(outcome),
        ..open_stage(id_, name, percent, category, None, Vec::new(), Vec::new())
    }
}

/// Three open stages and three terminal ones:
///
/// - `qualify` (10%, pipeline, stalls after 14 days): log `discovery-call` in this stage; amount
///   above zero.
/// - `develop` (40%, best case, stalls after 21 days): log `demo` twice in this stage; `champion`
///   with 40 characters of evidence; a manager's approval (labelled).
/// - `negotiate` (70%, commit, never stalls): `pain-identified` logged at any time; close date in
///   the future; a manager's approval for deals of 100,000 or more.
/// - `closed-won`, then two lost stages, `closed-lost` first (where `/lost` goes) and
///   `no-decision`.
pub(crate) fn playbook() -> Playbook {
    let mut plan_review = approval_gate(Role::Manager, None);
    plan_review.label = Some("Manager reviews the mutual action plan".to_string());
    Playbook {
        name: "Fixture B2B".to_string(),
        currency: "USD".to_string(),
        stages: vec![
            open_stage(
                "qualify",
                "Qualify",
                10,
                ForecastCategory::Pipeline,
                Some(14),
                vec![
                    activity("discovery-call", "Discovery call held"),
                    activity("pain-identified", "Business pain identified"),
                    activity("budget-confirmed", "Budget confirmed"),
                ],
                vec![
                    activity_gate("discovery-call", ActivityScope::Stage, 1),
                    field_gate("amount", FieldRule::Positive),
                ],
            ),
            open_stage(
                "develop",
                "Develop",
                40,
                ForecastCategory::BestCase,
                Some(21),
                vec![
                    activity("demo", "Demo given"),
                    activity("champion-identified", "Champion identified"),
                    activity("mutual-plan", "Mutual action plan agreed"),
                ],
                vec![
                    activity_gate("demo", ActivityScope::Stage, 2),
                    field_gate("champion", FieldRule::MinLength(40)),
                    plan_review,
                ],
            ),
            open_stage(
                "negotiate",
                "Negotiate",
                70,
                ForecastCategory::Commit,
                None,
                vec![
                    activity("proposal-sent", "Proposal sent"),
                    activity("legal-review", "Legal review started"),
                ],
                vec![
                    activity_gate("pain-identified", ActivityScope::Ever, 1),
                    field_gate("close_date", FieldRule::FutureDate),
                    approval_gate(Role::Manager, Some(100_000)),
                ],
            ),
            terminal_stage("closed-won", "Closed Won", Outcome::Won),
            terminal_stage("closed-lost", "Closed Lost", Outcome::Lost),
            terminal_stage("no-decision", "No Decision", Outcome::Lost),
        ],
        fields: vec![
            CustomField {
                id: id("champion"),
                name: "Champion".to_string(),
                hint: None,
            },
            CustomField {
                id: id("go_live"),
                name: "Go-live date".to_string(),
                hint: None,
            },
            CustomField {
                id: id("seats"),
                name: "Seats".to_string(),
                hint: None,
            },
        ],
    }
}

/// Evidence long enough for the fixture's 40-character `champion` gate.
pub(crate) const CHAMPION: &str =
    "Dana Ruiz, VP Ops: owns the budget and chairs the steering group";

/// `deal-42`, "Acme rollout", 50,000.00 closing 30 June 2026, created and open in `stage` since
/// 1 March 2026 09:00 UTC, with nothing logged.
pub(crate) fn deal(stage: &str) -> DealFacts {
    DealFacts {
        passage: crate::process::Passage {
            visited: vec![id(stage)],
            overridden: Vec::new(),
        },
        number: DealNumber::new(42).unwrap(),
        name: "Acme rollout".to_string(),
        amount: Money::from_major(50_000).unwrap(),
        close_date: date(2026, 6, 30),
        stage: id(stage),
        stage_entered_at: Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
        status: DealStatus::Open,
        fields: BTreeMap::new(),
        activities: Vec::new(),
        approvals: Vec::new(),
    }
}

/// Chainable changes to a test deal, so each test states only what matters to it.
pub(crate) trait DealBuilder: Sized {
    fn logged(self, activity: &str, in_stage: &str) -> Self;
    fn set(self, field: &str, value: &str) -> Self;
    fn approved(self, in_stage: &str, role: Role, at: DateTime<Utc>) -> Self;
    fn amount(self, major: i64) -> Self;
}

impl DealBuilder for DealFacts {
    fn logged(mut self, activity: &str, in_stage: &str) -> Self {
        let at = self.stage_entered_at + Duration::hours(1);
        self.activities.push(LoggedActivity {
            activity: id(activity),
            stage: id(in_stage),
            at,
            times: 1,
        });
        self
    }

    fn set(mut self, field: &str, value: &str) -> Self {
        self.fields.insert(id(field), value.to_string());
        self
    }

    fn approved(mut self, in_stage: &str, role: Role, at: DateTime<Utc>) -> Self {
        self.approvals.push(GivenApproval {
            approver_id: 0,
            stage: id(in_stage),
            role,
            at,
        });
        self
    }

    fn amount(mut self, major: i64) -> Self {
        self.amount = Money::from_major(major).unwrap();
        self
    }
}

/// What a custom field holds, so that every gate on one field can be satisfied by one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldType {
    Text,
    Number,
    Date,
}

/// The longest `min_length` the generator asks for; a text of this length satisfies them all.
pub(crate) const MAX_GENERATED_MIN_LENGTH: u32 = 200;

fn arb_rule(ty: FieldType) -> BoxedStrategy<FieldRule> {
    match ty {
        FieldType::Text => prop_oneof![
            Just(FieldRule::Present),
            (1..=MAX_GENERATED_MIN_LENGTH).prop_map(FieldRule::MinLength),
        ]
        .boxed(),
        FieldType::Number => {
            prop_oneof![Just(FieldRule::Present), Just(FieldRule::Positive)].boxed()
        }
        FieldType::Date => {
            prop_oneof![Just(FieldRule::Present), Just(FieldRule::FutureDate)].boxed()
        }
    }
}

/// The roles a gate can ask to approve: the validator refuses `rep` (a rep approving their own
/// deal would be no gate at all).
fn arb_role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Manager), Just(Role::Admin)]
}

fn arb_category() -> impl Strategy<Value = ForecastCategory> {
    proptest::sample::select(ForecastCategory::ALL.to_vec())
}

/// One gate for the stage that recommends `own`, naming only activities and fields the
/// playbook has, with a rule that fits the field's type.
fn arb_gate_kind(
    own: Vec<ActivityId>,
    all: Vec<ActivityId>,
    fields: Vec<(FieldName, FieldType)>,
) -> impl Strategy<Value = GateKind> {
    let mut kinds: Vec<BoxedStrategy<GateKind>> = Vec::new();
    if !own.is_empty() {
        kinds.push(
            (proptest::sample::select(own), 1u32..=3)
                .prop_map(|(activity, count)| GateKind::Activity {
                    activity,
                    scope: ActivityScope::Stage,
                    count,
                })
                .boxed(),
        );
    }
    if !all.is_empty() {
        kinds.push(
            (proptest::sample::select(all), 1u32..=3)
                .prop_map(|(activity, count)| GateKind::Activity {
                    activity,
                    scope: ActivityScope::Ever,
                    count,
                })
                .boxed(),
        );
    }
    let numbers: Vec<FieldName> = fields
        .iter()
        .filter(|(_, t)| *t == FieldType::Number)
        .map(|(f, _)| f.clone())
        .collect();
    kinds.push(
        proptest::sample::select(fields)
            .prop_flat_map(|(field, ty)| {
                arb_rule(ty).prop_map(move |rule| GateKind::Field {
                    field: field.clone(),
                    rule,
                })
            })
            .boxed(),
    );
    let mut conditions: Vec<BoxedStrategy<Option<Condition>>> = vec![
        Just(None).boxed(),
        (0..=Money::MAX_MINOR)
            .prop_map(|at_least| {
                Some(Condition {
                    field: id("amount"),
                    at_least,
                })
            })
            .boxed(),
    ];
    // `select` needs something to choose from: only playbooks with a number field get a
    // condition on one.
    if !numbers.is_empty() {
        conditions.push(
            (proptest::sample::select(numbers), 0i64..=1_000)
                .prop_map(|(field, at_least)| Some(Condition { field, at_least }))
                .boxed(),
        );
    }
    let condition = Union::new(conditions);
    kinds.push(
        (arb_role(), condition)
            .prop_map(|(role, when)| GateKind::Approval { role, when })
            .boxed(),
    );
    Union::new(kinds)
}

/// A random valid playbook: 1 to 8 open stages, each recommending 0 to 4 activities and having
/// 0 to 4 gates of every kind (activities of its own stage, or of any stage for `ever`;
/// built-in fields and 0 to 3 declared custom fields), then a won stage and one or two lost
/// stages in random order.
///
/// Each field has one type (text for custom fields, number for `amount`, date for
/// `close_date`) and every rule on it fits that type, so a deal can satisfy all of a field's
/// gates at once: a 200-character text, `1000`, or a date far in the future.
pub(crate) fn arb_playbook() -> impl Strategy<Value = Playbook> {
    // Custom fields are text: the validator keeps number and date rules (and approval
    // conditions) to the built-in `amount` and `close_date`.
    let custom_types = proptest::collection::vec(Just(FieldType::Text), 0..=3);
    let activity_counts = proptest::collection::vec(0usize..=4, 1..=8);
    (activity_counts, custom_types, 1usize..=2, 0usize..=2).prop_flat_map(
        |(activity_counts, custom_types, lost_count, won_position)| {
            let own: Vec<Vec<ActivityId>> = activity_counts
                .iter()
                .enumerate()
                .map(|(s, &n)| (0..n).map(|a| id(&format!("s{s}-a{a}"))).collect())
                .collect();
            let all: Vec<ActivityId> = own.iter().flatten().cloned().collect();
            let mut fields: Vec<(FieldName, FieldType)> = vec![
                (id("name"), FieldType::Text),
                (id("amount"), FieldType::Number),
                (id("close_date"), FieldType::Date),
            ];
            let custom: Vec<CustomField> = custom_types
                .iter()
                .enumerate()
                .map(|(i, ty)| {
                    fields.push((id(&format!("f{i}")), *ty));
                    CustomField {
                        id: id(&format!("f{i}")),
                        name: format!("Field {i}"),
                        hint: None,
                    }
                })
                .collect();
            let stages: Vec<_> = own
                .iter()
                .map(|own| {
                    let gate = (
                        proptest::option::weighted(0.2, "[a-z]{1,12}( [a-z]{1,12}){0,4}"),
                        arb_gate_kind(own.clone(), all.clone(), fields.clone()),
                    )
                        .prop_map(|(label, kind)| Gate { label, kind });
                    (
                        0i64..=100,
                        arb_category(),
                        proptest::option::of(1u32..=60),
                        proptest::collection::vec(gate, 0..=4),
                    )
                })
                .collect();
            (stages, Just(own), Just(custom)).prop_map(move |(stages, own, custom)| {
                let mut stages: Vec<Stage> = stages
                    .into_iter()
                    .zip(own)
                    .enumerate()
                    .map(|(i, ((percent, category, stall, gates), own))| Stage {
                        id: id(&format!("stage-{i}")),
                        name: format!("Stage {i}"),
                        description: None,
                        probability: Probability::new(percent).unwrap(),
                        forecast_category: category,
                        outcome: None,
                        stall_after_days: stall,
                        activities: own
                            .into_iter()
                            .map(|a| Activity {
                                name: format!("Do {a}"),
                                id: a,
                                hint: None,
                            })
                            .collect(),
                        gates,
                    })
                    .collect();
                let mut terminals: Vec<Stage> = (0..lost_count)
                    .map(|i| terminal_stage(&format!("lost-{i}"), "Lost", Outcome::Lost))
                    .collect();
                let won = terminal_stage("won", "Won", Outcome::Won);
                terminals.insert(won_position.min(terminals.len()), won);
                stages.extend(terminals);
                Playbook {
                    name: "Generated".to_string(),
                    currency: "EUR".to_string(),
                    stages,
                    fields: custom.clone(),
                }
            })
        },
    )
}
