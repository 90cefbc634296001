//! Group commit for whole commands, with faults injected in the writer (`Store::writer_faults`).
//! Concurrent commands' writes are committed together; when such a group fails, every command
//! in it is all or nothing (its activity, and the effect row of its interaction, both or
//! neither), nobody is told "done" for work that did not commit, and a group that fails once
//! costs no command anything: its jobs are written again one by one.

mod support;

#[path = "support/discord.rs"]
mod discord;
#[path = "support/fake_discord.rs"]
mod fake_discord;

use std::sync::Arc;
use std::time::Duration;

use dealgate::clock::Clock as _;
use dealgate::engine::deal::Deal;
use dealgate::engine::ids::{ActivityId, DealNumber, Money};
use dealgate::service::{Claim, Delivery, Platform, Service, ServiceError, Session};
use dealgate::store::deals::{self, NewActivity};
use dealgate::store::receipts::{Claimed, Effect, Recording};
use dealgate::store::{Store, StoreError};
use discord::*;
use support::TestApp;

on_both_backends!(
    multi_thread: a_group_that_fails_applies_none_of_its_commands,
    a_group_that_fails_once_is_written_again_one_by_one_and_loses_nothing,
    an_answer_is_never_sent_before_its_work_commits,
    a_write_transaction_beside_the_writer_waits_its_turn_and_loses_nothing,
    a_recorded_answer_is_what_a_duplicate_delivered_at_once_gets,
    a_writer_that_panics_fails_that_group_alone_and_goes_on,
    logs_written_together_each_keep_their_own_outcome,
    the_same_interaction_twice_in_one_group_is_applied_once,
);

/// Commands sent at once: the first one's group waits at COMMIT until all are queued, so the
/// others meet in a group of their own.
const COMMANDS: usize = 8;

async fn count(store: &Store, sql: &str) -> i64 {
    scalar(store, sql).await
}

/// The one value `sql` selects.
async fn scalar<T>(store: &Store, sql: &str) -> T
where
    T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    let mut conn = store.reader().acquire().await.unwrap();
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

/// `COMMANDS` deals of the admin's, and its session.
async fn deals(app: &TestApp) -> (Session, Vec<DealNumber>) {
    let admin = app.session("admin").await;
    let mut numbers = Vec::new();
    for n in 0..COMMANDS {
        let view = app
            .service
            .create_deal(
                &admin,
                &format!("Deal {n}"),
                Money::from_major(10_000).unwrap(),
                chrono::NaiveDate::from_ymd_opt(2030, 6, 30).unwrap(),
                None,
                None,
            )
            .await
            .expect("create a deal");
        numbers.push(view.deal.number);
    }
    (admin, numbers)
}

/// Logs a discovery call on each deal at once, each as its own Discord interaction `i-N`
/// (so its work writes an effect row); the results in deal order.
async fn log_all_at_once(
    app: &TestApp,
    admin: &Session,
    numbers: &[DealNumber],
) -> Vec<Result<(), String>> {
    let service = Arc::new(app.service.with_clock(app.clock.clone()));
    let mut calls = Vec::new();
    for (i, &number) in numbers.iter().enumerate() {
        let (service, mut session) = (Arc::clone(&service), admin.clone());
        session.delivery = Some(Delivery::new(Platform::Discord, format!("i-{i}")));
        calls.push(tokio::spawn(async move {
            service
                .log_activity(
                    &session,
                    number,
                    &"discovery-call".parse::<ActivityId>().unwrap(),
                    Some(&format!("note {i}")),
                )
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }));
    }
    let mut results = Vec::new();
    for call in calls {
        results.push(call.await.expect("the call ran"));
    }
    results
}

/// Logs a discovery call on `number` as the Discord interaction `key`, so its work writes an
/// effect row.
async fn log_call(
    service: &Service,
    admin: &Session,
    number: DealNumber,
    key: &str,
) -> Result<(), ServiceError> {
    let mut session = admin.clone();
    session.delivery = Some(Delivery::new(Platform::Discord, key));
    let activity = "discovery-call".parse::<ActivityId>().unwrap();
    service
        .log_activity(&session, number, &activity, None)
        .await
        .map(|_| ())
}

async fn a_group_that_fails_applies_none_of_its_commands(app: TestApp) {
    let (admin, numbers) = deals(&app).await;
    let store = app.service.store();
    let faults = store.writer_faults();
    // Every write waits at COMMIT until all eight are queued, so they meet in groups; then
    // every transaction fails, those of the jobs written again one by one too.
    faults.hold_commits(COMMANDS);
    faults.fail_commits(usize::MAX);
    let results = log_all_at_once(&app, &admin, &numbers).await;
    faults.release();
    faults.fail_commits(0);

    for (i, result) in results.iter().enumerate() {
        assert!(result.is_err(), "command {i} was told it was done");
    }
    let groups = faults.groups();
    assert!(
        groups.iter().any(|&(work, failed)| work >= 2 && failed),
        "no failed group held several commands: {groups:?}"
    );
    assert_eq!(count(store, "SELECT COUNT(*) FROM activities").await, 0);
    assert_eq!(
        count(store, "SELECT COUNT(*) FROM interaction_effects").await,
        0,
        "an effect row without its work"
    );

    // Nothing half-done is in the way: the same interactions, run again, apply once each.
    let again = log_all_at_once(&app, &admin, &numbers).await;
    assert!(again.iter().all(Result::is_ok), "{again:?}");
    assert_each_applied_once(store).await;
}

/// Each of the `COMMANDS` deals has its one activity, each interaction its one effect row.
async fn assert_each_applied_once(store: &Store) {
    assert_eq!(
        count(
            store,
            "SELECT COUNT(DISTINCT deal_id) FROM activities WHERE activity = 'discovery-call'"
        )
        .await,
        COMMANDS as i64
    );
    assert_eq!(
        count(store, "SELECT COUNT(*) FROM activities").await,
        COMMANDS as i64
    );
    assert_eq!(
        count(store, "SELECT COUNT(*) FROM interaction_effects").await,
        COMMANDS as i64
    );
}

async fn a_group_that_fails_once_is_written_again_one_by_one_and_loses_nothing(app: TestApp) {
    let (admin, numbers) = deals(&app).await;
    let store = app.service.store();
    let faults = store.writer_faults();
    faults.hold_commits(COMMANDS);
    // Only the first transaction that holds several commands' work fails.
    faults.fail_group_commits(1);
    let results = log_all_at_once(&app, &admin, &numbers).await;
    faults.release();

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let groups = faults.groups();
    assert_eq!(
        groups.iter().filter(|&&(_, failed)| failed).count(),
        1,
        "{groups:?}"
    );
    assert_each_applied_once(store).await;
}

async fn an_answer_is_never_sent_before_its_work_commits(app: TestApp) {
    let ep = Arc::new(Endpoint::on(app).await);
    let created = ep.reply(&deal_new(1, BOSS, "Acme")).await;
    assert!(title(&created).starts_with("Created"), "{created}");
    let store = ep.app.service.store().clone();
    let faults = store.writer_faults();
    let log = |id: u64| {
        command(
            id,
            BOSS,
            "log",
            vec![
                opt("deal", "deal-1"),
                opt("activity", "discovery-call"),
                opt("note", "held"),
            ],
        )
    };

    // The command's work reaches COMMIT and waits there; whatever the client has been sent by
    // then must not say it was logged, since the commit is now made to fail.
    faults.hold_commits(usize::MAX);
    let sent = {
        let ep = Arc::clone(&ep);
        tokio::spawn(async move { ep.send(&log(2)).await })
    };
    faults.waiting.notified().await;
    faults.fail_commits(usize::MAX);
    faults.release();
    let (status, answer) = sent.await.expect("the request ran");
    faults.fail_commits(0);
    assert_eq!(status, 200, "{answer}");
    let said = title(&answer["data"]["embeds"][0]);
    assert!(!said.starts_with("Logged"), "told it was logged: {answer}");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM activities").await, 0);

    // And once the writer commits again, the same command is logged, once.
    let said = title(&ep.reply(&log(3)).await);
    assert!(said.starts_with("Logged"), "{said}");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM activities").await, 1);
}

/// A use case's own write transaction (an import, a playbook change) held open while commands
/// arrive: on SQLite the writer's thread and the store's write connection take turns, so the
/// commands wait for it instead of failing on a locked database, and neither side loses a write.
async fn a_write_transaction_beside_the_writer_waits_its_turn_and_loses_nothing(app: TestApp) {
    let (admin, numbers) = deals(&app).await;
    let store = app.service.store().clone();
    let mut tx = store.begin().await.expect("a write transaction");
    sqlx::query("UPDATE deals SET name = 'Renamed by an import' WHERE name = 'Deal 0'")
        .execute(&mut *tx)
        .await
        .expect("the transaction's write");
    // The commands start (each on a task of its own) while the transaction is still open.
    let (results, committed) = tokio::join!(log_all_at_once(&app, &admin, &numbers), async {
        for _ in 0..64 {
            tokio::task::yield_now().await;
        }
        tx.commit().await
    });
    committed.expect("the transaction commits");

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_each_applied_once(&store).await;
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM deals WHERE name = 'Renamed by an import'"
        )
        .await,
        1
    );
}

/// A bug that panics inside the writer while it writes a group (injected at `COMMIT`): the
/// commands of that group are told their write failed and nothing of theirs is applied, and the
/// writer goes on, so the next command is logged. Before, on SQLite, the panic ended the
/// writer's thread and every later write failed.
async fn a_writer_that_panics_fails_that_group_alone_and_goes_on(app: TestApp) {
    let (admin, numbers) = deals(&app).await;
    let service = app.service.with_clock(app.clock.clone());
    let store = app.service.store().clone();
    store.writer_faults().panic_at_commits(1);
    let failed = log_call(&service, &admin, numbers[0], "p-0").await;
    assert!(failed.is_err(), "told it was logged through a panic");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM activities").await, 0);

    for (i, &number) in numbers.iter().enumerate().take(3).skip(1) {
        log_call(&service, &admin, number, &format!("p-{i}"))
            .await
            .expect("logged after the panic");
    }
    assert_eq!(count(&store, "SELECT COUNT(*) FROM activities").await, 2);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM interaction_effects").await,
        2
    );
}

/// On PostgreSQL claims and answers commit on connections of their own, in turns of their
/// own: a duplicate of a command whose work waits at COMMIT hears at once that the command is
/// still being handled, and a new command's claim goes through, instead of both waiting for
/// that flush. (SQLite has one writer, which the held commit holds.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_claims_do_not_wait_for_a_group_of_work_to_commit() {
    let Some(app) = TestApp::on(support::TestBackend::Postgres).await else {
        return;
    };
    let (admin, numbers) = deals(&app).await;
    let service = Arc::new(app.service.with_clock(app.clock.clone()));
    let store = app.service.store().clone();
    let faults = store.writer_faults();
    let first = Delivery::new(Platform::Discord, "i-held");
    assert_eq!(
        service
            .claim_interaction(&first, Duration::ZERO)
            .await
            .unwrap(),
        Claim::New
    );

    faults.hold_commits(usize::MAX);
    let logged = {
        let (service, admin, number) = (Arc::clone(&service), admin.clone(), numbers[0]);
        tokio::spawn(async move { log_call(&service, &admin, number, "i-held").await })
    };
    faults.waiting.notified().await;

    // A guard, not a wait: before, these claims queued behind the held group for good.
    let guard = Duration::from_secs(20);
    let duplicate = tokio::time::timeout(guard, service.claim_interaction(&first, Duration::ZERO))
        .await
        .expect("the duplicate's claim waited for the held commit");
    assert_eq!(duplicate.unwrap(), Claim::InFlight);
    let other = Delivery::new(Platform::Discord, "i-other");
    let claimed = tokio::time::timeout(guard, service.claim_interaction(&other, Duration::ZERO))
        .await
        .expect("a new command's claim waited for the held commit");
    assert_eq!(claimed.unwrap(), Claim::New);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM activities").await,
        0,
        "the held work is not visible before its commit"
    );

    faults.release();
    logged
        .await
        .expect("the call ran")
        .expect("logged once released");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM activities").await, 1);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM interaction_effects").await,
        1
    );
}

/// A SQLite URL with `mode=ro` opens for reading, and the writer, which has a connection of its
/// own, writes nothing either: a command's claim fails instead of changing the file.
#[tokio::test]
async fn a_read_only_sqlite_url_is_read_and_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ro.db").display());
    Store::connect(&url)
        .await
        .expect("create and migrate the file");

    let store = Store::open(&format!("{url}?mode=ro"))
        .await
        .expect("a read-only URL opens");
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM interaction_receipts").await,
        0
    );
    let now = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .unwrap()
        .to_utc();
    let claimed = store.claim_interaction("discord", "i-ro", now, now).await;
    assert!(
        claimed.is_err(),
        "a read-only database took a write: {claimed:?}"
    );
    let refused = claimed.unwrap_err();
    assert!(
        refused.to_string().contains("readonly"),
        "not SQLite's own reason"
    );
    // A command hears why, not an internal error's reference.
    let heard = dealgate::service::ServiceError::from(refused);
    assert!(!heard.is_internal(), "{heard:?}");
    assert!(heard.to_string().contains("mode=ro"), "{heard}");
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM interaction_receipts").await,
        0
    );
}

/// A database in memory would be each connection's own, so readers would never see a write:
/// it is refused with what to do instead.
#[tokio::test]
async fn a_sqlite_database_in_memory_is_refused_with_what_to_use() {
    for url in [
        "sqlite::memory:",
        "sqlite://shared?mode=memory&cache=shared",
    ] {
        let refused = Store::open(url).await.expect_err(url);
        let said = refused.to_string();
        assert!(
            said.contains("in memory") && said.contains("sqlite://dealgate.db"),
            "{said}"
        );
    }
}

/// The answer is recorded without the command's reply waiting for its commit on SQLite; a
/// duplicate of the interaction delivered the moment the reply went out still gets it, at once.
async fn a_recorded_answer_is_what_a_duplicate_delivered_at_once_gets(app: TestApp) {
    let service = app.service.with_clock(app.clock.clone());
    for i in 0..COMMANDS {
        let delivery = Delivery::new(Platform::Discord, format!("i-{i}"));
        let claim = service.claim_interaction(&delivery, Duration::ZERO).await;
        assert_eq!(claim.unwrap(), Claim::New);
        service
            .record_interaction(&delivery, &format!("answer {i}"))
            .await
            .unwrap();
        let again = service.claim_interaction(&delivery, Duration::ZERO).await;
        assert_eq!(again.unwrap(), Claim::Answered(format!("answer {i}")));
    }
}

/// Answers queued when the store closes are written before it has closed, on either backend
/// (the reply goes out while its answer is written): a restart finds every one.
#[tokio::test]
async fn answers_queued_when_the_store_closes_are_kept() {
    for backend in [support::TestBackend::Sqlite, support::TestBackend::Postgres] {
        let Some(db) = support::TestDb::create(backend).await else {
            continue;
        };
        let store = db.store().await;
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .unwrap()
            .to_utc();
        const ANSWERS: usize = 200;
        for i in 0..ANSWERS {
            let id = format!("i-{i}");
            store
                .claim_interaction("discord", &id, now, now)
                .await
                .unwrap();
        }
        for i in 0..ANSWERS {
            let (id, answer) = (format!("i-{i}"), format!("answer {i}"));
            store
                .record_interaction("discord", &id, &answer, now, Recording::Queued)
                .await
                .unwrap();
        }
        store.close().await;
        drop(store);

        let store = db.store().await;
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM interaction_receipts WHERE response LIKE 'answer %'"
            )
            .await,
            ANSWERS as i64,
            "{backend:?}"
        );
        store.close().await;
    }
}

/// A duplicate whose claim is written in the same group as the answer it duplicates, after the
/// first delivery's lease has lapsed, finds the answer: the group writes answers before claims.
/// (Claims first, it would take the answered interaction over and run the command again.)
#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_claimed_in_the_group_that_writes_the_answer_finds_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("dup.db").display());
    let store = Store::connect(&url).await.unwrap();
    let at = |minutes: i64| {
        chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .unwrap()
            .to_utc()
            + chrono::Duration::minutes(minutes)
    };
    let claimed = store
        .claim_interaction("discord", "i-1", at(0), at(-1))
        .await;
    assert_eq!(claimed.unwrap(), Claimed::First);

    // A write transaction beside the writer holds the writer's next turn, so what is queued
    // meanwhile waits, and the answer and the duplicate's claim are written as one group.
    let tx = store.begin().await.unwrap();
    store
        .record_interaction("discord", "i-0", "{}", at(0), Recording::Queued)
        .await
        .unwrap();
    store
        .record_interaction("discord", "i-1", "answer 1", at(0), Recording::Queued)
        .await
        .unwrap();
    // An hour later: the first delivery's lease has long lapsed.
    let (duplicate, ()) = tokio::join!(
        store.claim_interaction("discord", "i-1", at(60), at(59)),
        async move { drop(tx) }
    );
    assert_eq!(duplicate.unwrap(), Claimed::Held);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM interaction_receipts WHERE response = 'answer 1'"
        )
        .await,
        1
    );
}

/// The deals numbered `numbers`, as read now.
async fn read_deals(store: &Store, admin: &Session, numbers: &[DealNumber]) -> Vec<Deal> {
    let mut conn = store.reader().acquire().await.unwrap();
    let mut read = Vec::new();
    for &number in numbers {
        let deal = deals::get(&mut conn, admin.tenant.id, number)
            .await
            .unwrap();
        read.push(deal.expect("the deal"));
    }
    read
}

/// Logs an activity with the store's write on each of `deals` (as given, versions included),
/// as the Discord interaction of the same index in `keys` and with the note `note N`, in one
/// group: a first log (on `leader`) holds the writer's turn at COMMIT until all of them are
/// queued behind it. What each returned, in order.
async fn log_together(
    store: &Store,
    admin: &Session,
    leader: Deal,
    deals: Vec<Deal>,
    keys: &[&str],
    at: chrono::DateTime<chrono::Utc>,
) -> Vec<Result<i64, StoreError>> {
    let faults = store.writer_faults();
    faults.hold_commits(deals.len() + 1);
    let log = |deal: Deal, key: String, note: String| {
        let (store, admin) = (store.clone(), admin.clone());
        tokio::spawn(async move {
            let new = NewActivity {
                tenant_id: admin.tenant.id,
                deal_id: deal.id,
                member_id: admin.member.id,
                activity: "discovery-call",
                note: Some(&note),
                stage: deal.stage.as_str(),
            };
            let effect = Effect {
                platform: "discord",
                interaction_id: &key,
            };
            deals::log_unless_changed(&store, &deal, &new, at, Some(effect), None).await
        })
    };
    let first = log(leader, "leader".into(), "leader".into());
    faults.waiting.notified().await;
    let calls: Vec<_> = deals
        .into_iter()
        .zip(keys)
        .enumerate()
        .map(|(i, (deal, key))| log(deal, key.to_string(), format!("note {i}")))
        .collect();
    let mut results = Vec::new();
    for call in calls {
        results.push(call.await.expect("the write ran"));
    }
    first
        .await
        .expect("the leader ran")
        .expect("the leader logged");
    faults.release();
    results
}

/// What `log_together`'s writes left: their activities (noted `note N`), and the effect rows of
/// the interactions whose keys are `LIKE keys`.
async fn logged(store: &Store, keys: &str) -> (i64, i64) {
    let activities = count(
        store,
        "SELECT COUNT(*) FROM activities WHERE note LIKE 'note %'",
    )
    .await;
    let effects =
        format!("SELECT COUNT(*) FROM interaction_effects WHERE interaction_id LIKE '{keys}'");
    (activities, count(store, &effects).await)
}

/// Logs that meet in one group (on PostgreSQL, one statement for all of them) keep the
/// outcome each would have had alone: a log on a deal that moved since it was read is refused
/// and writes nothing, two logs on one deal both count, and each write's id is its own row's.
async fn logs_written_together_each_keep_their_own_outcome(app: TestApp) {
    let (admin, numbers) = deals(&app).await;
    let store = app.service.store().clone();
    let read = read_deals(&store, &admin, &numbers).await;
    // Deal 1 moves on after it was read: the version the write carries no longer matches.
    let mut tx = store.begin().await.unwrap();
    sqlx::query("UPDATE deals SET version = version + 1 WHERE id = $1")
        .bind(read[1].id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let targets = vec![
        read[0].clone(),
        read[1].clone(),
        read[2].clone(),
        read[2].clone(),
    ];
    let leader = read[7].clone();
    let results = log_together(
        &store,
        &admin,
        leader,
        targets,
        &["t-0", "t-1", "t-2", "t-3"],
        app.clock.now(),
    )
    .await;

    let groups = store.writer_faults().groups();
    assert!(
        groups.iter().any(|&(work, failed)| work == 4 && !failed),
        "the four logs did not commit as one group: {groups:?}"
    );
    assert!(
        matches!(results[1], Err(StoreError::Conflict)),
        "a log on a deal that moved: {:?}",
        results[1]
    );
    for i in [0, 2, 3] {
        let id = *results[i].as_ref().expect("logged");
        let note: String = scalar(
            &store,
            &format!("SELECT note FROM activities WHERE id = {id}"),
        )
        .await;
        assert_eq!(
            note,
            format!("note {i}"),
            "write {i} returned another row's id"
        );
    }
    assert_eq!(
        logged(&store, "t-%").await,
        (3, 3),
        "(activities, effect rows): one of the refused log's, or one missing"
    );
    let tallied = format!(
        "SELECT times FROM activity_tallies WHERE deal_id = {} AND activity = 'discovery-call'",
        read[2].id
    );
    assert_eq!(count(&store, &tallied).await, 2, "two logs on one deal");
}

/// Two deliveries of one interaction whose work meets in one group: the group fails on the
/// second effect row and is written again one by one, so the interaction is applied once and
/// the other write hears it was applied before.
async fn the_same_interaction_twice_in_one_group_is_applied_once(app: TestApp) {
    let (admin, numbers) = deals(&app).await;
    let store = app.service.store().clone();
    let read = read_deals(&store, &admin, &numbers).await;
    let (leader, twice) = (read[7].clone(), vec![read[3].clone(), read[4].clone()]);
    let results = log_together(
        &store,
        &admin,
        leader,
        twice,
        &["twice", "twice"],
        app.clock.now(),
    )
    .await;

    let applied = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::AlreadyApplied)))
        .count();
    assert_eq!((applied, refused), (1, 1), "{results:?}");
    assert_eq!(
        logged(&store, "twice").await,
        (1, 1),
        "(activities, effect rows)"
    );
}

/// A store closes at once after its writer wrote on PostgreSQL: the connection the writer
/// keeps between groups goes back to its pool, whose close waits for every connection handed
/// out (before, a stopping server waited its whole drain time and gave up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_store_that_wrote_closes_at_once() {
    let Some(app) = TestApp::on(support::TestBackend::Postgres).await else {
        return;
    };
    let (admin, numbers) = deals(&app).await;
    let service = app.service.with_clock(app.clock.clone());
    log_call(&service, &admin, numbers[0], "close-0")
        .await
        .expect("logged");
    // A guard, not a wait: without the fix the close never returns.
    tokio::time::timeout(Duration::from_secs(20), app.service.store().close())
        .await
        .expect("the store closed");
}
