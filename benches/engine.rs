//! Gate evaluation cost: one realistic stage (an activity gate counted twice, an evidence field,
//! a conditional approval) against a deal with a realistic history of 20 logged activities and
//! two approvals. Reported per stage evaluation and, through the throughput, as gate checks per
//! second.
//!
//! Run: `cargo bench --bench engine -- --warm-up-time 1 --measurement-time 3`

use std::collections::BTreeMap;
use std::hint::black_box;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dealgate::engine::deal::{DealFacts, DealStatus, GivenApproval, LoggedActivity};
use dealgate::engine::gates::evaluate_stage;
use dealgate::engine::ids::{DealNumber, Money, Probability};
use dealgate::engine::playbook::{
    Activity, ActivityScope, Condition, CustomField, FieldRule, ForecastCategory, Gate, GateKind,
    Outcome, Playbook, Role, Stage,
};

fn parse<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().unwrap()
}

fn stage(id: &str, percent: i64, activities: &[&str], gates: Vec<Gate>) -> Stage {
    Stage {
        id: parse(id),
        name: id.to_string(),
        description: None,
        probability: Probability::new(percent).unwrap(),
        forecast_category: ForecastCategory::Pipeline,
        outcome: None,
        stall_after_days: Some(14),
        activities: activities
            .iter()
            .map(|a| Activity {
                id: parse(a),
                name: format!("Do {a}"),
                hint: None,
            })
            .collect(),
        gates,
    }
}

fn playbook() -> Playbook {
    let develop_gates = vec![
        Gate {
            label: None,
            kind: GateKind::Activity {
                activity: parse("demo"),
                scope: ActivityScope::Stage,
                count: 2,
            },
        },
        Gate {
            label: None,
            kind: GateKind::Field {
                field: parse("champion"),
                rule: FieldRule::MinLength(40),
            },
        },
        Gate {
            label: None,
            kind: GateKind::Approval {
                role: Role::Manager,
                when: Some(Condition {
                    field: parse("amount"),
                    at_least: 10_000_000,
                }),
            },
        },
    ];
    let mut won = stage("closed-won", 100, &[], Vec::new());
    won.outcome = Some(Outcome::Won);
    let mut lost = stage("closed-lost", 0, &[], Vec::new());
    lost.outcome = Some(Outcome::Lost);
    Playbook {
        name: "Bench".to_string(),
        currency: "USD".to_string(),
        stages: vec![
            stage(
                "qualify",
                10,
                &[
                    "discovery-call",
                    "pain-identified",
                    "budget-confirmed",
                    "timeline",
                ],
                Vec::new(),
            ),
            stage(
                "develop",
                40,
                &[
                    "demo",
                    "champion-identified",
                    "mutual-plan",
                    "stakeholder-map",
                    "technical-fit",
                    "value-case",
                ],
                develop_gates,
            ),
            stage(
                "negotiate",
                70,
                &["proposal-sent", "legal-review"],
                Vec::new(),
            ),
            won,
            lost,
        ],
        fields: vec![CustomField {
            id: parse("champion"),
            name: "Champion".to_string(),
            hint: None,
        }],
    }
}

/// A 150,000 deal in `develop` with 20 activities over two stages, the last one a demo (so the
/// demo gate is half done), a champion written up, and a manager's approval.
fn deal() -> DealFacts {
    let entered = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let history = [
        ("discovery-call", "qualify"),
        ("pain-identified", "qualify"),
        ("budget-confirmed", "qualify"),
        ("timeline", "qualify"),
        ("discovery-call", "qualify"),
        ("pain-identified", "qualify"),
        ("champion-identified", "develop"),
        ("mutual-plan", "develop"),
        ("stakeholder-map", "develop"),
        ("technical-fit", "develop"),
        ("value-case", "develop"),
        ("stakeholder-map", "develop"),
        ("technical-fit", "develop"),
        ("champion-identified", "develop"),
        ("mutual-plan", "develop"),
        ("value-case", "develop"),
        ("stakeholder-map", "develop"),
        ("technical-fit", "develop"),
        ("mutual-plan", "develop"),
        ("demo", "develop"),
    ];
    let activities = history
        .iter()
        .enumerate()
        .map(|(i, (activity, stage))| LoggedActivity {
            activity: parse(activity),
            stage: parse(stage),
            at: entered + Duration::hours(i as i64),
            times: 1,
        })
        .collect();
    let mut fields = BTreeMap::new();
    fields.insert(
        parse("champion"),
        "Dana Ruiz, VP Ops: owns the budget and chairs the steering group".to_string(),
    );
    DealFacts {
        passage: dealgate::engine::process::Passage {
            visited: vec![parse("develop")],
            overridden: Vec::new(),
        },
        number: DealNumber::new(42).unwrap(),
        name: "Acme rollout".to_string(),
        amount: Money::from_major(150_000).unwrap(),
        close_date: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
        stage: parse("develop"),
        stage_entered_at: entered,
        status: DealStatus::Open,
        fields,
        activities,
        approvals: vec![
            GivenApproval {
                approver_id: 0,
                stage: parse("qualify"),
                role: Role::Manager,
                at: entered - Duration::days(3),
            },
            GivenApproval {
                approver_id: 0,
                stage: parse("develop"),
                role: Role::Manager,
                at: entered + Duration::days(2),
            },
        ],
    }
}

fn gate_checks(c: &mut Criterion) {
    let playbook = playbook();
    let deal = deal();
    let stage = playbook.stages[1].clone();
    let today = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
    assert_eq!(evaluate_stage(&playbook, &stage, &deal, today).len(), 3);

    let mut group = c.benchmark_group("gate checks");
    // One element per gate: criterion then reports gate checks per second.
    group.throughput(Throughput::Elements(stage.gates.len() as u64));
    group.bench_function("3 gates, 20 activities (per stage evaluation)", |b| {
        b.iter(|| {
            evaluate_stage(
                black_box(&playbook),
                black_box(&stage),
                black_box(&deal),
                black_box(today),
            )
        })
    });
    group.finish();
}

/// The range's Monte Carlo alone: 10,000 runs over 100,000 open deals, on one thread (the
/// service splits the runs over the cores).
fn range_draws(c: &mut Criterion) {
    use dealgate::engine::truth::{OpenBet, ranges};
    let bets: Vec<OpenBet> = (0..100_000_i64)
        .map(|i| OpenBet {
            amount: i128::from(i * 7919 % 500_000) * 100,
            win: [0.1, 0.2, 0.4, 0.6, 0.8, 0.9][(i % 6) as usize],
            in_period: 0.85,
        })
        .collect();
    let mut group = c.benchmark_group("range");
    group.sample_size(10);
    group.bench_function("10,000 runs over 100,000 open deals, one thread", |b| {
        b.iter(|| ranges(0, black_box(&bets), 10_000, 1))
    });
    group.finish();
}

criterion_group!(benches, gate_checks, range_draws);
criterion_main!(benches);
