//! Gates are invariants: whatever members do to deals, in any order, no deal is left in a stage
//! (or closed won) with a gate of a stage it has left that is unmet, not overridden and not
//! flagged out of process; and a deal flagged out of process never moves on without an override.
//!
//! A property over random sequences of create, set, log, advance, back, approve, override, won
//! and lost by random members, through the service on both backends, judged after every step
//! from the deal's stored records; plus the shrunk case of hole 1 (an approval slipped by
//! lowering the amount) as a regression test.

mod support;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Duration, NaiveDate};
use dealgate::chat::console::caller;
use dealgate::clock::Clock;
use dealgate::engine::deal::DealStatus;
use dealgate::engine::ids::{DealNumber, Money};
use dealgate::engine::playbook::Role;
use dealgate::engine::process::broken_gates;
use dealgate::service::{FieldValue, ServiceError, Session};
use dealgate::store::deals;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use support::{TestApp, user};

on_both_backends!(
    multi_thread: no_sequence_of_commands_leaves_a_broken_gate_unflagged,
    an_approval_slipped_by_lowering_the_amount_is_flagged_and_holds_the_deal,
);

/// Who acts: the admin, the manager of both reps, and the two reps.
const PEOPLE: [&str; 4] = ["boss", "mia", "ann", "bob"];

#[derive(Debug, Clone)]
enum Op {
    Create {
        who: usize,
        amount: i64,
    },
    SetAmount {
        who: usize,
        deal: usize,
        amount: i64,
    },
    /// Long enough to meet Solution's `min_length:10`, or not.
    SetChampion {
        who: usize,
        deal: usize,
        long: bool,
    },
    Log {
        who: usize,
        deal: usize,
        activity: usize,
    },
    Advance {
        who: usize,
        deal: usize,
        with_override: bool,
    },
    Back {
        who: usize,
        deal: usize,
        to: usize,
    },
    Approve {
        who: usize,
        deal: usize,
    },
    Won {
        who: usize,
        deal: usize,
        with_override: bool,
    },
    Lost {
        who: usize,
        deal: usize,
    },
}

/// Amounts around Solution's approval threshold of 100,000.
fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![Just(50_000i64), Just(99_000), Just(100_000), Just(150_000)]
}

/// Weighted so that short sequences get deals past Solution and change them afterwards: few
/// deals, many moves and overrides, the logs the gates ask for.
fn op() -> impl Strategy<Value = Op> {
    let who = 0..PEOPLE.len();
    // Managers (boss, mia) move deals more often than reps; the first deal more than others.
    let mover = prop_oneof![3 => 0..2usize, 1 => 2..PEOPLE.len()];
    let deal = prop_oneof![3 => Just(0usize), 1 => 1..3usize];
    prop_oneof![
        1 => (who.clone(), amount()).prop_map(|(who, amount)| Op::Create { who, amount }),
        6 => (who.clone(), deal.clone(), amount())
            .prop_map(|(who, deal, amount)| Op::SetAmount { who, deal, amount }),
        3 => (who.clone(), deal.clone(), any::<bool>())
            .prop_map(|(who, deal, long)| Op::SetChampion { who, deal, long }),
        3 => (who.clone(), deal.clone(), 0..ACTIVITIES.len())
            .prop_map(|(who, deal, activity)| Op::Log { who, deal, activity }),
        8 => (mover.clone(), deal.clone(), prop::bool::weighted(0.6))
            .prop_map(|(who, deal, with_override)| Op::Advance { who, deal, with_override }),
        1 => (who.clone(), deal.clone(), 0..2usize)
            .prop_map(|(who, deal, to)| Op::Back { who, deal, to }),
        2 => (mover.clone(), deal.clone()).prop_map(|(who, deal)| Op::Approve { who, deal }),
        1 => (mover, deal.clone(), any::<bool>())
            .prop_map(|(who, deal, with_override)| Op::Won { who, deal, with_override }),
        1 => (who, deal).prop_map(|(who, deal)| Op::Lost { who, deal }),
    ]
}

const ACTIVITIES: [&str; 3] = ["discovery-call", "demo", "proposal-sent"];
const BACK_TO: [&str; 2] = ["qualify", "solution"];

/// A fresh workspace per case: boss (admin), mia (manager), ann and bob (mia's reps).
async fn workspace(app: &TestApp, name: &str) -> Vec<Session> {
    let session = |who: &str| {
        let caller = caller(name, who);
        async move { app.service.session(&caller).await.unwrap() }
    };
    let admin = session("boss").await;
    for who in &PEOPLE[1..] {
        session(who).await;
    }
    app.service
        .set_team_role(&admin, &user("mia"), Role::Manager, None)
        .await
        .unwrap();
    for rep in ["ann", "bob"] {
        app.service
            .set_team_role(&admin, &user(rep), Role::Rep, Some(&user("mia")))
            .await
            .unwrap();
    }
    let mut sessions = Vec::new();
    for who in PEOPLE {
        sessions.push(session(who).await);
    }
    sessions
}

fn close() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 9, 30).unwrap()
}

fn money(major: i64) -> Money {
    Money::from_major(major).unwrap()
}

/// Runs `op`; refusals (a gate, a role, a closed deal) are part of the game, anything else is
/// a failure, and so is a deal out of process moving on without an override.
async fn apply(
    app: &TestApp,
    people: &[Session],
    made: &mut Vec<DealNumber>,
    op: &Op,
) -> Result<(), String> {
    let pick = |i: usize| made.get(i % made.len().max(1)).copied();
    let s = |who: usize| &people[who];
    let service = &app.service;
    let result: Result<(), ServiceError> = match *op {
        Op::Create { who, amount } => {
            match service
                .create_deal(s(who), "Deal", money(amount), close(), None, None)
                .await
            {
                Ok(view) => {
                    made.push(view.deal.number);
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        _ if made.is_empty() => Ok(()),
        Op::SetAmount { who, deal, amount } => service
            .set_field(
                s(who),
                pick(deal).unwrap(),
                &"amount".parse().unwrap(),
                FieldValue::Amount(money(amount)),
            )
            .await
            .map(|_| ()),
        Op::SetChampion { who, deal, long } => service
            .set_field(
                s(who),
                pick(deal).unwrap(),
                &"champion".parse().unwrap(),
                FieldValue::Text(if long { "Priya Shah, VP Ops" } else { "Priya" }.into()),
            )
            .await
            .map(|_| ()),
        Op::Log {
            who,
            deal,
            activity,
        } => service
            .log_activity(
                s(who),
                pick(deal).unwrap(),
                &ACTIVITIES[activity].parse().unwrap(),
                None,
            )
            .await
            .map(|_| ()),
        Op::Advance {
            who,
            deal,
            with_override,
        } => return moved(app, people, who, pick(deal).unwrap(), with_override, false).await,
        Op::Back { who, deal, to } => service
            .back(
                s(who),
                pick(deal).unwrap(),
                &BACK_TO[to].parse().unwrap(),
                "moved back",
            )
            .await
            .map(|_| ()),
        Op::Approve { who, deal } => service
            .approve(s(who), pick(deal).unwrap(), None)
            .await
            .map(|_| ()),
        Op::Won {
            who,
            deal,
            with_override,
        } => return moved(app, people, who, pick(deal).unwrap(), with_override, true).await,
        Op::Lost { who, deal } => service
            .lost(s(who), pick(deal).unwrap(), "went elsewhere")
            .await
            .map(|_| ()),
    };
    match result {
        Ok(())
        | Err(
            ServiceError::Move { .. }
            | ServiceError::Forbidden(_)
            | ServiceError::DealClosed { .. }
            | ServiceError::AlreadyApproved { .. }
            | ServiceError::Invalid(_),
        ) => Ok(()),
        Err(other) => Err(format!("{op:?}: {other:?}")),
    }
}

/// `/advance` (or `/won`) as `who`, with an override or not: refusals are fine, a deal out of
/// process moving on without an override is not.
async fn moved(
    app: &TestApp,
    people: &[Session],
    who: usize,
    number: DealNumber,
    with_override: bool,
    won: bool,
) -> Result<(), String> {
    let before = flag(app, &people[0], number).await;
    let reason = with_override.then_some("on the record");
    let result = if won {
        app.service.won(&people[who], number, reason).await
    } else {
        app.service
            .advance(&people[who], number, None, reason)
            .await
    };
    match result {
        Ok(moved) if moved.transition.overridden.is_empty() && before > 0 => Err(format!(
            "{number} moved to {} while out of process, with no override",
            moved.transition.to
        )),
        Ok(_)
        | Err(
            ServiceError::Move { .. }
            | ServiceError::Forbidden(_)
            | ServiceError::DealClosed { .. },
        ) => Ok(()),
        Err(other) => Err(format!("{other:?}")),
    }
}

/// The deal's recorded standing, as the admin reads it.
async fn flag(app: &TestApp, admin: &Session, number: DealNumber) -> u32 {
    let view = app.service.show_deal(admin, number).await.unwrap();
    view.deal.out_of_process.unwrap_or(0)
}

/// Every deal of the workspace, judged from its stored records: what no longer holds must be
/// what its record says. `Ok(true)` if some deal is out of process.
async fn check(app: &TestApp, admin: &Session, made: &[DealNumber]) -> Result<bool, String> {
    let today = app.clock.now().date_naive();
    let mut out = false;
    for number in made {
        let view = app.service.show_deal(admin, *number).await.unwrap();
        let mut conn = app.service.store().reader().acquire().await.unwrap();
        let records = deals::records(&mut conn, view.deal.id).await.unwrap();
        drop(conn);
        let broken = broken_gates(&admin.playbook, &records.facts(&view.deal), today);
        let recorded = view.deal.out_of_process;
        if recorded != Some(u32::try_from(broken.len()).unwrap()) {
            return Err(format!(
                "{number} ({:?} in {}): {} broken ({:?}), recorded {recorded:?}",
                view.deal.status,
                view.deal.stage,
                broken.len(),
                broken.iter().map(|b| &b.requirement).collect::<Vec<_>>()
            ));
        }
        if view.deal.status == DealStatus::Lost && !broken.is_empty() {
            return Err(format!("{number} is lost and out of process"));
        }
        out |= !broken.is_empty();
    }
    Ok(out)
}

/// Runs `cases` random sequences through `case`, shrinking a failure to a short one.
fn run_cases<C, Fut>(cases: u32, case: C)
where
    C: Fn(Vec<Op>) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        let mut runner = TestRunner::new(Config {
            cases,
            max_shrink_iters: 512,
            failure_persistence: None,
            ..Config::default()
        });
        // Every case starts with ann's deal, so no step is spent on an empty workspace.
        let first = prop_oneof![3 => Just(50_000i64), 1 => Just(150_000)];
        let strategy = (first, proptest::collection::vec(op(), 1..32)).prop_map(|(a, ops)| {
            std::iter::once(Op::Create { who: 2, amount: a })
                .chain(ops)
                .collect::<Vec<_>>()
        });
        if let Err(e) = runner.run(&strategy, |ops| {
            handle.block_on(case(ops)).map_err(TestCaseError::fail)
        }) {
            panic!("{e}");
        }
    });
}

async fn no_sequence_of_commands_leaves_a_broken_gate_unflagged(app: TestApp) {
    static WORKSPACES: AtomicUsize = AtomicUsize::new(0);
    // Cases of this backend's run in which some deal went out of process: a property that
    // never gets there proves nothing, so the run must reach it often. Counted per run, not
    // in a static the other backend's run adds to while it runs beside this one.
    let reached_cases = AtomicUsize::new(0);
    const CASES: u32 = 96;
    let (app, reached_cases) = (&app, &reached_cases);
    run_cases(CASES, |ops| async move {
        let name = format!("prop{}", WORKSPACES.fetch_add(1, Ordering::Relaxed));
        let people = workspace(app, &name).await;
        let mut made = Vec::new();
        let mut reached = false;
        for op in &ops {
            apply(app, &people, &mut made, op).await?;
            reached |= check(app, &people[0], &made)
                .await
                .map_err(|e| format!("after {op:?}: {e}"))?;
            app.clock.advance(Duration::minutes(5));
        }
        reached_cases.fetch_add(usize::from(reached), Ordering::Relaxed);
        Ok(())
    });
    let reached = reached_cases.load(Ordering::Relaxed);
    // About one case in ten gets there (6 to 16 of 96 over 16 runs, on both backends). Fewer
    // than two would mean the strategy no longer reaches what it is for; four, the bar before,
    // failed about one run in fifty.
    assert!(
        reached >= 2,
        "only {reached} of {CASES} cases put a deal out of process"
    );
}

/// Hole 1, as the property shrank it with the flag's write taken out: ann's deal at 50,000 is
/// passed through Qualify and Solution by the admin's overrides (Solution's approval for
/// 100,000 or more did not apply, so it was not overridden), then raised to 100,000.
async fn an_approval_slipped_by_lowering_the_amount_is_flagged_and_holds_the_deal(app: TestApp) {
    let people = workspace(&app, "hole-1").await;
    let (mia, ann) = (&people[1], &people[2]);
    let mut made = Vec::new();
    for op in [
        Op::Create {
            who: 2,
            amount: 50_000,
        },
        Op::Advance {
            who: 0,
            deal: 0,
            with_override: true,
        },
        Op::Advance {
            who: 0,
            deal: 0,
            with_override: true,
        },
        Op::SetAmount {
            who: 0,
            deal: 0,
            amount: 100_000,
        },
    ] {
        apply(&app, &people, &mut made, &op).await.unwrap();
        check(&app, &people[0], &made).await.unwrap();
    }
    let number = made[0];
    // ann's manager is asked, once, by DM.
    let asked: Vec<_> = app
        .service
        .undelivered_messages()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.unwrap().target)
        .collect();
    assert_eq!(
        asked,
        [dealgate::service::Target::Direct("mia".into())],
        "{asked:?}"
    );
    let view = app.service.show_deal(ann, number).await.unwrap();
    assert_eq!(view.deal.stage.as_str(), "negotiate");
    assert_eq!(view.deal.out_of_process, Some(1), "{view:?}");
    let err = app.service.won(ann, number, None).await.unwrap_err();
    assert!(
        matches!(err, ServiceError::Move { .. }),
        "refused, naming the gate: {err:?}"
    );
    // The manager's approval counts for Solution, the stage it left, and puts it back.
    let approved = app.service.approve(mia, number, None).await.unwrap();
    assert_eq!(approved.stage.as_str(), "solution");
    assert!(approved.view.out_of_process.is_empty());
    assert_eq!(flag(&app, &people[0], number).await, 0);
}
