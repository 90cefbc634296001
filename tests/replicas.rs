//! Two replicas: two services on two separate pools over one database, as two bot processes
//! behind a load balancer would be, with commands arriving at both at once. Nothing
//! acknowledged may be lost, nothing may happen twice, and no gate may be passed unmet.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;
use dealgate::chat::console::caller;
use dealgate::clock::Clock;
use dealgate::engine::deal::{ActivityEntry, LoggedActivity};
use dealgate::engine::gates::evaluate_stage;
use dealgate::engine::ids::{ActivityId, DealNumber, Money};
use dealgate::engine::playbook::Role;
use dealgate::engine::transition::Refusal;
use dealgate::service::{Claim, FieldValue, Service, ServiceError, Session};
use dealgate::store::{ActivityRow, deals, receipts};
use support::{TestApp, WORKSPACE, user};
use tokio::sync::Barrier;

on_both_backends!(
    multi_thread:
    two_replicas_logging_and_advancing_ten_deals_lose_nothing_and_double_nothing,
    a_new_workspace_reached_through_two_replicas_at_once_gets_one_admin_and_no_errors,
    deal_numbers_taken_on_two_replicas_at_once_are_never_handed_out_twice,
    two_admins_stepping_down_at_once_on_two_replicas_leave_one_admin,
    the_same_interaction_delivered_to_two_replicas_is_run_once_and_both_get_its_answer,
    many_interactions_each_delivered_three_times_at_once_are_each_run_once_with_their_own_answer,
    one_batch_of_claims_with_an_id_twice_gives_it_to_the_first_only,
);

const DEALS: usize = 10;
const CALLS: usize = 200;

fn eur(major: i64) -> Money {
    Money::from_major(major).unwrap()
}

fn close() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()
}

fn activity(id: &str) -> ActivityId {
    id.parse().unwrap()
}

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[derive(Debug)]
enum Call {
    Log { activity: &'static str },
    Advance,
}

#[derive(Debug)]
enum Outcome {
    /// The log was acknowledged, with the stage the reply said it was logged in.
    Logged { stage: String },
    /// The advance was acknowledged: from, to.
    Advanced { from: String, to: String },
    /// Refused with a reason the user reads; nothing may have been written.
    Refused,
}

struct Done {
    call: usize,
    deal: usize,
    kind: Call,
    /// Logical times from one counter shared by every call: taken just before the call starts
    /// and just after its reply arrived.
    started: u64,
    finished: u64,
    outcome: Outcome,
}

/// 200 `/log` and `/advance` calls at ten deals, alternating between the two replicas, in two
/// bursts of 100 released at once. Deals 0–4 can go Qualify → Solution → Negotiate (their
/// champion is set), deals 5–7 only reach Solution (no champion), deals 8–9 never get the
/// discovery call that Qualify's gate asks for, so every one of their advances must be refused.
async fn two_replicas_logging_and_advancing_ten_deals_lose_nothing_and_double_nothing(
    app: TestApp,
) {
    let t = app.team().await;
    let replicas = [Arc::new(app.replica().await), Arc::new(app.replica().await)];
    let mut numbers = Vec::new();
    for i in 0..DEALS {
        let view = app
            .service
            .create_deal(
                &t.ann,
                &format!("Deal {i}"),
                eur(20_000),
                close(),
                None,
                None,
            )
            .await
            .unwrap();
        if i < 5 {
            app.service
                .set_field(
                    &t.ann,
                    view.deal.number,
                    &"champion".parse().unwrap(),
                    FieldValue::Text("Priya, VP Operations".into()),
                )
                .await
                .unwrap();
        }
        numbers.push(view.deal.number);
    }
    // Each replica resolves the caller itself, as it would for a real request.
    let mut sessions = Vec::new();
    for r in &replicas {
        sessions.push(r.session(&caller(WORKSPACE, "ann")).await.unwrap());
    }

    // Two bursts of 100 calls, each released at once: the first races logs against advances
    // from Qualify; by the second most deals have their discovery call, so advances race on
    // from Solution too. (One burst of 200 left too few advances through, by chance of
    // scheduling, for the checks below to prove much.)
    let mut rng = Lcg(42);
    let clock = Arc::new(AtomicU64::new(0));
    let mut done = Vec::new();
    for burst in 0..2 {
        let barrier = Arc::new(Barrier::new(CALLS / 2));
        let mut tasks = Vec::new();
        for call in burst * CALLS / 2..(burst + 1) * CALLS / 2 {
            let deal = rng.below(DEALS as u64) as usize;
            let kind = if rng.below(5) < 2 {
                Call::Advance
            } else {
                let choices: &[&str] = if deal >= 8 {
                    &["pain-identified", "demo", "proposal-sent"]
                } else {
                    &["discovery-call", "pain-identified", "demo", "proposal-sent"]
                };
                Call::Log {
                    activity: choices[rng.below(choices.len() as u64) as usize],
                }
            };
            let service = Arc::clone(&replicas[call % 2]);
            let session = sessions[call % 2].clone();
            let number = numbers[deal];
            let clock = Arc::clone(&clock);
            let barrier = Arc::clone(&barrier);
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let started = clock.fetch_add(1, Ordering::SeqCst);
                let outcome = run(&service, &session, number, &kind, call).await;
                let finished = clock.fetch_add(1, Ordering::SeqCst);
                Done {
                    call,
                    deal,
                    kind,
                    started,
                    finished,
                    outcome,
                }
            }));
        }
        for task in tasks {
            done.push(task.await.expect("a call panicked"));
        }
    }

    let playbook = Arc::clone(&t.ann.playbook);
    let today = app.clock.now().date_naive();
    let mut conn = app.service.store().reader().acquire().await.unwrap();
    let (mut acknowledged_logs, mut advanced, mut refused_advances) = (0, 0, 0);
    for (d, number) in numbers.iter().enumerate() {
        let deal = deals::get(&mut conn, t.ann.tenant.id, *number)
            .await
            .unwrap()
            .unwrap();
        let activities = deals::activities(&mut conn, deal.id).await.unwrap();
        let history = deals::stage_changes(&mut conn, deal.id).await.unwrap();
        let calls: Vec<&Done> = done.iter().filter(|c| c.deal == d).collect();

        // Every acknowledged activity is in the database once, in the stage its reply named;
        // a refused one left nothing behind.
        let by_note: HashMap<&str, Vec<&ActivityRow>> =
            activities.iter().fold(HashMap::new(), |mut m, a| {
                m.entry(a.note.as_deref().unwrap_or_default())
                    .or_default()
                    .push(a);
                m
            });
        for c in &calls {
            let Call::Log { activity } = c.kind else {
                continue;
            };
            let rows = by_note
                .get(format!("call-{}", c.call).as_str())
                .cloned()
                .unwrap_or_default();
            match &c.outcome {
                Outcome::Logged { stage } => {
                    acknowledged_logs += 1;
                    assert_eq!(rows.len(), 1, "call {} on {number}: {rows:?}", c.call);
                    assert_eq!(rows[0].activity, activity);
                    assert_eq!(&rows[0].stage, stage, "logged in the stage the reply named");
                }
                other => assert!(rows.is_empty(), "call {}: {other:?} wrote {rows:?}", c.call),
            }
        }
        assert_eq!(
            activities.len(),
            calls
                .iter()
                .filter(|c| matches!(c.outcome, Outcome::Logged { .. }))
                .count(),
            "{number}: no activity that nobody acknowledged"
        );

        // Every stage change is in the history once: the acknowledged advances, no more.
        let mut acknowledged: Vec<(String, String)> = calls
            .iter()
            .filter_map(|c| match &c.outcome {
                Outcome::Advanced { from, to } => Some((from.clone(), to.clone())),
                _ => None,
            })
            .collect();
        let mut recorded: Vec<(String, String)> = history
            .iter()
            .filter(|h| h.kind == "advance")
            .map(|h| (h.from_stage.clone().unwrap_or_default(), h.to_stage.clone()))
            .collect();
        acknowledged.sort();
        recorded.sort();
        assert_eq!(recorded, acknowledged, "{number}: history against replies");
        advanced += acknowledged.len();
        refused_advances += calls
            .iter()
            .filter(|c| matches!(c.kind, Call::Advance) && matches!(c.outcome, Outcome::Refused))
            .count();

        // No version was lost: one for the creation, one per change that was acknowledged.
        let field_changes = if d < 5 { 1 } else { 0 };
        assert_eq!(
            deal.version,
            1 + field_changes + acknowledged.len() as i64,
            "{number}: version"
        );
        let expected_stage = recorded
            .iter()
            .map(|(_, to)| to.as_str())
            .max_by_key(|to| playbook.stage_index(&to.parse().unwrap()))
            .unwrap_or("qualify");
        assert_eq!(deal.stage.as_str(), expected_stage, "{number}: final stage");
        match d {
            0..5 => {}
            5..8 => assert_ne!(deal.stage.as_str(), "negotiate", "{number} has no champion"),
            _ => assert_eq!(
                deal.stage.as_str(),
                "qualify",
                "{number} had no discovery call"
            ),
        }

        // No deal passed an unmet gate: each advance must be justified by activities whose
        // `/log` started before the advance's reply arrived (any later one cannot have been
        // seen). Gates only get easier with more activities, so this generous view is the
        // most an advance could have known.
        for c in &calls {
            let Outcome::Advanced { from, .. } = &c.outcome else {
                continue;
            };
            let visible: Vec<ActivityRow> = activities
                .iter()
                .filter(|a| {
                    let call: usize = a.note.as_deref().unwrap()["call-".len()..].parse().unwrap();
                    done[call].started < c.finished
                })
                .cloned()
                .collect();
            let mut then = deal.clone();
            then.stage = from.parse().unwrap();
            let logged = visible
                .iter()
                .map(|a| LoggedActivity::from(&ActivityEntry::try_from(a).unwrap()))
                .collect();
            let facts = then.facts(logged, Vec::new());
            let stage = playbook.stage(&then.stage).unwrap();
            let unmet: Vec<_> = evaluate_stage(&playbook, stage, &facts, today)
                .into_iter()
                .filter(|g| !g.met)
                .collect();
            assert!(
                unmet.is_empty(),
                "{number} left {from} in call {} with unmet gates {unmet:?}",
                c.call
            );
        }
    }
    // The run must have exercised both sides, or the checks above prove little.
    assert!(advanced >= 5, "only {advanced} advances went through");
    assert!(refused_advances >= 10, "only {refused_advances} refused");
    assert!(acknowledged_logs >= 80, "only {acknowledged_logs} logs");
    eprintln!(
        "{acknowledged_logs} logs, {advanced} advances, {refused_advances} refused advances, \
         on {:?}",
        app.service.store().backend()
    );
}

async fn run(
    service: &Service,
    session: &Session,
    number: DealNumber,
    kind: &Call,
    call: usize,
) -> Outcome {
    match kind {
        Call::Log { activity: a } => {
            let note = format!("call-{call}");
            match service
                .log_activity(session, number, &activity(a), Some(&note))
                .await
            {
                Ok(logged) => Outcome::Logged {
                    stage: logged.view.deal.stage.to_string(),
                },
                Err(e) => panic!("call {call}: /log {number} {a}: {e:?}"),
            }
        }
        Call::Advance => match service.advance(session, number, None, None).await {
            Ok(moved) => Outcome::Advanced {
                from: moved.transition.from.to_string(),
                to: moved.transition.to.to_string(),
            },
            // The only refusals the playbook can give here; anything else (a database error,
            // "try again") is a failure of the concurrency control this test is about.
            Err(ServiceError::Move {
                refusal: Refusal::GatesUnmet { .. } | Refusal::LastOpenStage { .. },
                ..
            }) => Outcome::Refused,
            Err(e) => panic!("call {call}: /advance {number}: {e:?}"),
        },
    }
}

/// The first commands of a new workspace often arrive together; whichever replica gets each,
/// the workspace and each member are created once, nobody sees an error, and exactly one
/// member (the first) is the admin.
async fn a_new_workspace_reached_through_two_replicas_at_once_gets_one_admin_and_no_errors(
    app: TestApp,
) {
    let replicas = [Arc::new(app.replica().await), Arc::new(app.replica().await)];
    const PEOPLE: [&str; 5] = ["ann", "bob", "cat", "dan", "eve"];
    let people = PEOPLE;
    let barrier = Arc::new(Barrier::new(people.len() * 4));
    let mut tasks = Vec::new();
    for (i, name) in PEOPLE.iter().cycle().take(people.len() * 4).enumerate() {
        let service = Arc::clone(&replicas[i % 2]);
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            service.session(&caller("brand-new", name)).await
        }));
    }
    let mut tenant_ids = Vec::new();
    for task in tasks {
        let session = task
            .await
            .unwrap()
            .expect("every first contact is answered");
        tenant_ids.push(session.tenant.id);
    }
    tenant_ids.dedup();
    assert_eq!(tenant_ids.len(), 1, "one workspace");
    let admin = app
        .service
        .session(&caller("brand-new", "ann"))
        .await
        .unwrap();
    let team = app.service.team(&admin).await.unwrap();
    assert_eq!(team.len(), people.len(), "each member once: {team:?}");
    let admins = team.iter().filter(|m| m.member.role == Role::Admin).count();
    assert_eq!(admins, 1, "exactly one first member: {team:?}");
}

async fn deal_numbers_taken_on_two_replicas_at_once_are_never_handed_out_twice(app: TestApp) {
    let t = app.team().await;
    let replicas = [Arc::new(app.replica().await), Arc::new(app.replica().await)];
    const N: usize = 40;
    let barrier = Arc::new(Barrier::new(N));
    let mut tasks = Vec::new();
    for i in 0..N {
        let service = Arc::clone(&replicas[i % 2]);
        let session = t.ann.clone();
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            service
                .create_deal(
                    &session,
                    &format!("Deal {i}"),
                    eur(1_000),
                    close(),
                    None,
                    None,
                )
                .await
                .map(|v| v.deal.number.get())
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.unwrap().expect("every creation succeeds"));
    }
    numbers.sort_unstable();
    let expected: Vec<u32> = (1..=N as u32).collect();
    assert_eq!(numbers, expected, "1..={N}, each once");
}

/// The last-admin rule is a question about the whole workspace; asked on two replicas at once
/// it must still leave somebody to configure it.
async fn two_admins_stepping_down_at_once_on_two_replicas_leave_one_admin(app: TestApp) {
    let t = app.team().await;
    app.service
        .set_team_role(&t.admin, &user("mia"), Role::Admin, None)
        .await
        .unwrap();
    let replicas = [Arc::new(app.replica().await), Arc::new(app.replica().await)];
    let boss = replicas[0]
        .session(&caller(WORKSPACE, "boss"))
        .await
        .unwrap();
    let mia = replicas[1]
        .session(&caller(WORKSPACE, "mia"))
        .await
        .unwrap();
    let (boss_ref, mia_ref) = (user("boss"), user("mia"));
    let (a, b) = tokio::join!(
        replicas[0].set_team_role(&boss, &boss_ref, Role::Manager, None),
        replicas[1].set_team_role(&mia, &mia_ref, Role::Manager, None),
    );
    let stepped_down = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!(stepped_down, 1, "{a:?} {b:?}");
    let team = app.service.team(&t.admin).await.unwrap();
    let admins: BTreeMap<&str, Role> = team
        .iter()
        .filter(|m| m.member.role == Role::Admin)
        .map(|m| (m.member.display_name.as_str(), m.member.role))
        .collect();
    assert_eq!(admins.len(), 1, "{admins:?}");
}

/// A platform retry that lands on another replica: both claim the interaction id at once; one
/// runs the command, the other waits for and returns that answer.
async fn the_same_interaction_delivered_to_two_replicas_is_run_once_and_both_get_its_answer(
    app: TestApp,
) {
    let other = app.replica().await;
    let wait = std::time::Duration::from_secs(5);
    let (a, b) = tokio::join!(deliver(&app.service, wait), deliver(&other, wait));
    let firsts = [&a, &b].iter().filter(|c| ***c == Claim::New).count();
    assert_eq!(firsts, 1, "exactly one replica runs it: {a:?} {b:?}");
    let answered = Claim::Answered("{\"answer\":1}".to_string());
    assert!(
        a == answered || b == answered,
        "the other gets the answer: {a:?} {b:?}"
    );
    let again = other
        .claim_interaction(
            &dealgate::service::Delivery::new(
                dealgate::service::Platform::Discord,
                "1300000000000000042",
            ),
            wait,
        )
        .await
        .unwrap();
    assert_eq!(again, Claim::Answered("{\"answer\":1}".to_string()));
}

/// Claims and answers are written in batches: forty interactions, each delivered three times at
/// once (twice to one replica, once to the other), so one batch holds several ids and the same id
/// more than once. Each is run exactly once and every delivery gets that interaction's own answer.
async fn many_interactions_each_delivered_three_times_at_once_are_each_run_once_with_their_own_answer(
    app: TestApp,
) {
    let one = std::sync::Arc::new(app.replica().await);
    let other = std::sync::Arc::new(app.replica().await);
    let wait = std::time::Duration::from_secs(10);
    let deliveries = (0..40u64).flat_map(|n| {
        let id = format!("13000000000000{n:05}");
        [
            (one.clone(), id.clone()),
            (one.clone(), id.clone()),
            (other.clone(), id),
        ]
    });
    let mut running = tokio::task::JoinSet::new();
    for (service, id) in deliveries {
        running.spawn(async move {
            let claim = service
                .claim_interaction(
                    &dealgate::service::Delivery::new(dealgate::service::Platform::Discord, &id),
                    wait,
                )
                .await
                .unwrap();
            if claim == Claim::New {
                let answer = format!("answer to {id}");
                service
                    .record_interaction(
                        &dealgate::service::Delivery::new(
                            dealgate::service::Platform::Discord,
                            &id,
                        ),
                        &answer,
                    )
                    .await
                    .unwrap();
            }
            (id, claim)
        });
    }
    let mut runs: std::collections::BTreeMap<String, (usize, Vec<Claim>)> = Default::default();
    while let Some(done) = running.join_next().await {
        let (id, claim) = done.unwrap();
        let entry = runs.entry(id).or_default();
        match claim {
            Claim::New => entry.0 += 1,
            other => entry.1.push(other),
        }
    }
    assert_eq!(runs.len(), 40);
    for (id, (ran, others)) in runs {
        assert_eq!(ran, 1, "{id} is run exactly once");
        let answer = Claim::Answered(format!("answer to {id}"));
        assert_eq!(others, vec![answer.clone(), answer], "{id}");
    }
}

/// The batch statement itself, with the duplicates a batch of concurrent deliveries can hold.
async fn one_batch_of_claims_with_an_id_twice_gives_it_to_the_first_only(app: TestApp) {
    let now = support::start_time();
    let item = |id: &str| receipts::ClaimItem {
        platform: "discord".into(),
        interaction_id: id.into(),
        now,
        lapsed_before: now - chrono::Duration::seconds(30),
    };
    use receipts::Claimed::{First, Held};
    let mut conn = app.service.store().writer().acquire().await.unwrap();
    let first = receipts::claim_all(&mut conn, &[item("a"), item("a"), item("b")]).await;
    assert_eq!(first.unwrap(), vec![First, Held, First]);
    let second = receipts::claim_all(&mut conn, &[item("b"), item("c"), item("a")]).await;
    assert_eq!(second.unwrap(), vec![Held, First, Held]);
    // Answers: one of them twice in the batch, one to an interaction nobody claimed (a command
    // claimed by its write has no receipt until its answer writes it), and later one to an
    // interaction answered before: the first answer given stays, as a duplicate was told.
    let answers = |pairs: &[(&str, &str)]| -> Vec<receipts::AnswerItem> {
        pairs
            .iter()
            .map(|(id, answer)| receipts::AnswerItem {
                platform: "discord".into(),
                interaction_id: (*id).into(),
                response: (*answer).into(),
                at: now,
                unless_changed: None,
            })
            .collect()
    };
    let batch = answers(&[("a", "1"), ("c", "3"), ("a", "a second answer"), ("d", "4")]);
    receipts::record_all(&mut conn, &batch).await.unwrap();
    let later = answers(&[("c", "a later answer")]);
    receipts::record_all(&mut conn, &later).await.unwrap();
    for (id, stored) in [
        ("a", Some("1")),
        ("b", None),
        ("c", Some("3")),
        ("d", Some("4")),
    ] {
        let found = receipts::find(&mut conn, "discord", id).await.unwrap();
        assert_eq!(found, Some(stored.map(String::from)), "{id}");
    }
    // What a command claimed by its write sees of a delivery when its session did not bring
    // it: the receipt with its answer, a claim without one, or nothing.
    let answered = receipts::seen(&mut conn, "discord", "d").await.unwrap();
    assert_eq!(answered.receipt, Some((now, Some("4".to_string()))));
    let claimed = receipts::seen(&mut conn, "discord", "b").await.unwrap();
    assert_eq!(claimed.receipt, Some((now, None)));
    let unseen = receipts::seen(&mut conn, "discord", "e").await.unwrap();
    assert_eq!(unseen, receipts::Seen::default());
}

/// One delivery of interaction 1300000000000000042: claim it, and if this is the first, run it
/// (here: record its answer).
async fn deliver(service: &Service, wait: std::time::Duration) -> Claim {
    let claim = service
        .claim_interaction(
            &dealgate::service::Delivery::new(
                dealgate::service::Platform::Discord,
                "1300000000000000042",
            ),
            wait,
        )
        .await
        .unwrap();
    if claim == Claim::New {
        service
            .record_interaction(
                &dealgate::service::Delivery::new(
                    dealgate::service::Platform::Discord,
                    "1300000000000000042",
                ),
                "{\"answer\":1}",
            )
            .await
            .unwrap();
    }
    claim
}
