//! A `/log` may be judged on what the same caller's last `/log` on the same deal read, kept by
//! the process (README, "Across replicas"). These tests change what such a kept read relied on
//! through another replica (its own service and pools on the same database), then send the
//! next `/log` through the Discord endpoint over a real socket: the write must find the kept
//! read stale and the command be judged on the database as it is — its records, its stage,
//! the caller's role — and a retried delivery must still be applied once.

#[path = "support/discord.rs"]
mod discord;
#[path = "support/fake_discord.rs"]
mod fake_discord;
mod support;

use dealgate::engine::ids::DealNumber;
use dealgate::engine::playbook::Role;
use dealgate::service::{Caller, Platform, Service, Session, UserRef};
use discord::*;
use serde_json::Value;

on_both_backends!(
    a_log_after_another_replica_logged_on_the_deal_counts_what_it_logged,
    a_log_after_another_replica_advanced_the_deal_is_recorded_in_the_new_stage,
    a_manager_no_longer_over_the_owner_cannot_log_on_a_deal_kept_from_before,
    a_retried_log_judged_on_a_kept_read_is_applied_once_with_its_first_answer,
    a_refusal_after_the_deal_closed_elsewhere_is_the_refusal_its_retry_gets,
    an_advance_after_another_replica_logged_what_it_lacked_advances,
    a_retried_advance_refused_on_a_kept_read_gets_its_refusal_and_does_not_move,
    an_override_refused_on_a_kept_read_from_before_the_rep_was_made_admin_moves_the_deal,
    what_an_advance_wrote_is_what_the_next_log_is_judged_on_and_it_is_checked,
    a_retried_advance_that_moved_is_not_refused_on_what_its_move_kept,
    answers_with_a_read_to_check_are_written_only_while_it_holds,
    every_change_a_session_relies_on_bumps_its_workspace_session_version,
);

on_both_backends!(
    multi_thread:
    two_replicas_logging_and_advancing_the_same_deals_lose_no_log_and_pass_no_gate_unmet,
);

async fn session(service: &Service, who: Person) -> Session {
    service.session(&caller(who)).await.expect("a session")
}

fn deal_1() -> DealNumber {
    DealNumber::new(1).unwrap()
}

fn log(id: u64, who: Person, activity: &str) -> Value {
    command(
        id,
        who,
        "log",
        vec![opt("deal", "deal-1"), opt("activity", activity)],
    )
}

/// How many times `activity` was logged, on any deal.
async fn logged(ep: &Endpoint, activity: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM activities WHERE activity = '{activity}'");
    count(ep, &sql).await
}

/// How many times a deal advanced.
async fn advances(ep: &Endpoint) -> i64 {
    count(
        ep,
        "SELECT COUNT(*) FROM stage_changes WHERE kind = 'advance'",
    )
    .await
}

/// Another replica (its own service and pools on the same database) logs `activity` on
/// deal-1 as the boss.
async fn logged_by_another_replica(ep: &Endpoint, activity: &str) {
    let other = ep.app.replica().await;
    let boss = session(&other, BOSS).await;
    other
        .log_activity(&boss, deal_1(), &activity.parse().unwrap(), None)
        .await
        .unwrap();
}

async fn count(ep: &Endpoint, sql: &str) -> i64 {
    let store = ep.app.db.store().await;
    let mut conn = store.reader().acquire().await.unwrap();
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

/// The endpoint's second `/log` on deal-1 would find the first's read kept; another replica
/// logged the budget in between, so the reply counts three of three, not two.
async fn a_log_after_another_replica_logged_on_the_deal_counts_what_it_logged(
    app: support::TestApp,
) {
    let ep = Endpoint::with_deal_1(app, BOSS).await;
    let first = ep.reply(&log(2, BOSS, "pain-identified")).await;
    assert!(text(&first).contains("1 of 3 done"), "{first}");
    logged_by_another_replica(&ep, "budget-confirmed").await;
    let second = ep.reply(&log(3, BOSS, "discovery-call")).await;
    assert!(text(&second).contains("3 of 3 done"), "{second}");
    assert!(
        text(&second).contains("Every requirement to leave Qualify is met"),
        "{second}"
    );
}

/// Another replica advanced deal-1 after the endpoint's `/log` read it: the next `/log` is
/// recorded in Solution, the stage the deal is in, and its reply speaks of Solution's
/// activities.
async fn a_log_after_another_replica_advanced_the_deal_is_recorded_in_the_new_stage(
    app: support::TestApp,
) {
    let ep = Endpoint::with_deal_1(app, BOSS).await;
    let first = ep.reply(&log(2, BOSS, "discovery-call")).await;
    assert!(title(&first).starts_with("Logged"), "{first}");
    let other = ep.app.replica().await;
    let boss = session(&other, BOSS).await;
    other
        .advance(&boss, deal_1(), None, None)
        .await
        .expect("deal-1 meets Qualify's gates");
    let second = ep.reply(&log(3, BOSS, "demo")).await;
    assert!(text(&second).contains("1 of 3 done"), "{second}");
    assert!(
        !text(&second).contains("not one of this stage's recommended activities"),
        "judged in Solution, where a demo is recommended: {second}"
    );
    let in_solution = count(
        &ep,
        "SELECT COUNT(*) FROM activities WHERE activity = 'demo' AND stage = 'solution'",
    )
    .await;
    assert_eq!(in_solution, 1);
}

/// Mia manages Ann and logs on Ann's deal; another replica takes Ann out of Mia's team. Mia's
/// next `/log` on that deal is refused and records nothing, though the read kept from her
/// first one said she could.
async fn a_manager_no_longer_over_the_owner_cannot_log_on_a_deal_kept_from_before(
    app: support::TestApp,
) {
    let other = app.replica().await;
    let boss = session(&other, BOSS).await;
    session(&other, MIA).await;
    session(&other, ANN).await;
    let (mia, ann) = (UserRef::Key(MIA.id.into()), UserRef::Key(ANN.id.into()));
    other
        .set_team_role(&boss, &mia, Role::Manager, None)
        .await
        .unwrap();
    other
        .set_team_role(&boss, &ann, Role::Rep, Some(&mia))
        .await
        .unwrap();
    let ep = Endpoint::with_deal_1(app, ANN).await;
    let first = ep.reply(&log(2, MIA, "discovery-call")).await;
    assert!(title(&first).starts_with("Logged"), "{first}");
    other
        .set_team_role(&boss, &ann, Role::Rep, None)
        .await
        .unwrap();
    let second = ep.reply(&log(3, MIA, "pain-identified")).await;
    assert!(!title(&second).starts_with("Logged"), "{second}");
    assert!(text(&second).contains("deal-1"), "{second}");
    let by_mia = count(
        &ep,
        "SELECT COUNT(*) FROM activities a JOIN members m ON m.id = a.member_id \
         WHERE m.user_key = '1002'",
    )
    .await;
    assert_eq!(by_mia, 1, "only the first /log was recorded");
}

/// The second `/log` is judged on the first's kept read; delivered again, it is not applied
/// again and gets the answer it got.
async fn a_retried_log_judged_on_a_kept_read_is_applied_once_with_its_first_answer(
    app: support::TestApp,
) {
    let ep = Endpoint::with_deal_1(app, BOSS).await;
    ep.reply(&log(2, BOSS, "discovery-call")).await;
    let (status, answer) = ep.send(&log(3, BOSS, "pain-identified")).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.to_string().contains("Logged"), "{answer}");
    let (again_status, again) = ep.send(&log(3, BOSS, "pain-identified")).await;
    assert_eq!((again_status, &again), (200, &answer));
    let pains = logged(&ep, "pain-identified").await;
    assert_eq!(pains, 1);
}

/// Another replica closed deal-1 after the endpoint's `/log` read it: the next `/log` is
/// refused as about a closed deal, and its retry gets that refusal.
async fn a_refusal_after_the_deal_closed_elsewhere_is_the_refusal_its_retry_gets(
    app: support::TestApp,
) {
    let ep = Endpoint::with_deal_1(app, BOSS).await;
    ep.reply(&log(2, BOSS, "discovery-call")).await;
    let other = ep.app.replica().await;
    let boss = session(&other, BOSS).await;
    other
        .lost(&boss, deal_1(), "budget went elsewhere")
        .await
        .unwrap();
    let refused = ep.reply(&log(3, BOSS, "pain-identified")).await;
    assert!(text(&refused).contains("closed"), "{refused}");
    assert_eq!(ep.reply(&log(3, BOSS, "pain-identified")).await, refused);
    let pains = logged(&ep, "pain-identified").await;
    assert_eq!(pains, 0);
}

fn advance(id: u64) -> Value {
    command(id, BOSS, "advance", vec![opt("deal", "deal-1")])
}

/// The endpoint's `/advance` would find the read kept from its `/log`, which lacks the
/// discovery call another replica logged since: it is judged on the call, and advances.
async fn an_advance_after_another_replica_logged_what_it_lacked_advances(app: support::TestApp) {
    let ep = Endpoint::with_deal_1(app, BOSS).await;
    ep.reply(&log(2, BOSS, "pain-identified")).await;
    logged_by_another_replica(&ep, "discovery-call").await;
    let advanced = ep.reply(&advance(3)).await;
    assert!(title(&advanced).contains("Solution"), "{advanced}");
    assert_eq!(advances(&ep).await, 1);
}

/// An `/advance` judged on the read kept from a `/log` is refused (no discovery call); its
/// retry, after the call was logged, gets that refusal and moves nothing; a new `/advance`
/// is judged afresh and advances.
async fn a_retried_advance_refused_on_a_kept_read_gets_its_refusal_and_does_not_move(
    app: support::TestApp,
) {
    let ep = Endpoint::with_deal_1(app, BOSS).await;
    ep.reply(&log(2, BOSS, "pain-identified")).await;
    let refused = ep.reply(&advance(3)).await;
    assert!(text(&refused).contains("discovery-call"), "{refused}");
    let delivery = dealgate::service::Delivery::new(Platform::Discord, "3");
    let recorded = ep
        .app
        .service
        .await_answer(&delivery, std::time::Duration::from_secs(10));
    assert!(
        recorded.await.unwrap().is_some(),
        "the refusal was recorded"
    );
    ep.reply(&log(4, BOSS, "discovery-call")).await;
    assert_eq!(ep.reply(&advance(3)).await, refused);
    assert_eq!(advances(&ep).await, 0);
    let advanced = ep.reply(&advance(5)).await;
    assert!(title(&advanced).contains("Solution"), "{advanced}");
    assert_eq!(advances(&ep).await, 1);
}

/// Ann, a rep, logs on her deal; another replica makes her an admin. Her `/advance` with an
/// override, judged on the read kept from her `/log` (a rep may not override), would be
/// refused; its answer is written only while that read holds, which it no longer does, so it is
/// judged again as she is now, and the deal moves with the gate overridden.
async fn an_override_refused_on_a_kept_read_from_before_the_rep_was_made_admin_moves_the_deal(
    app: support::TestApp,
) {
    let other = app.replica().await;
    let boss = session(&other, BOSS).await;
    let ep = Endpoint::with_deal_1(app, ANN).await;
    ep.reply(&log(2, ANN, "pain-identified")).await;
    let as_rep = ep
        .reply(&command(
            3,
            ANN,
            "advance",
            vec![opt("deal", "deal-1"), opt("override", "signed early")],
        ))
        .await;
    assert!(!title(&as_rep).contains("Solution"), "{as_rep}");
    other
        .set_team_role(&boss, &UserRef::Key(ANN.id.into()), Role::Admin, None)
        .await
        .unwrap();
    let as_admin = ep
        .reply(&command(
            4,
            ANN,
            "advance",
            vec![opt("deal", "deal-1"), opt("override", "signed early")],
        ))
        .await;
    assert!(title(&as_admin).contains("Solution"), "{as_admin}");
    let overridden = count(
        &ep,
        "SELECT COUNT(*) FROM stage_changes WHERE kind = 'advance' AND reason = 'signed early'",
    )
    .await;
    assert_eq!(overridden, 1);
}

/// The endpoint's `/advance` moves deal-1 into Solution on the read kept from its `/log`, and
/// keeps what it wrote: the next `/log` is recorded in Solution and counts Solution's
/// activities. Another replica then logs a demo: the `/log` after that counts it too, the read
/// kept from the move being checked like any other.
async fn what_an_advance_wrote_is_what_the_next_log_is_judged_on_and_it_is_checked(
    app: support::TestApp,
) {
    let ep = Endpoint::with_deal_1(app, BOSS).await;
    ep.reply(&log(2, BOSS, "discovery-call")).await;
    let advanced = ep.reply(&advance(3)).await;
    assert!(title(&advanced).contains("Solution"), "{advanced}");
    let first = ep.reply(&log(4, BOSS, "champion-found")).await;
    assert!(text(&first).contains("1 of 3 done"), "{first}");
    logged_by_another_replica(&ep, "demo").await;
    let second = ep.reply(&log(5, BOSS, "tech-review")).await;
    assert!(text(&second).contains("3 of 3 done"), "{second}");
    let in_solution = count(
        &ep,
        "SELECT COUNT(*) FROM activities WHERE stage = 'solution'",
    )
    .await;
    assert_eq!(in_solution, 3);
}

/// An `/advance` moves deal-1 and keeps what it wrote; its answer is then lost (as if its
/// process had died with the answer queued). Delivered again, it finds the read its own move
/// kept, on which it would be refused (Solution's gates are not met), but its work was applied:
/// it is not judged again, and no refusal is recorded as its answer.
async fn a_retried_advance_that_moved_is_not_refused_on_what_its_move_kept(app: support::TestApp) {
    let ep = Endpoint::with_deal_1(app, BOSS).await;
    ep.reply(&log(2, BOSS, "discovery-call")).await;
    let advanced = ep.reply(&advance(3)).await;
    assert!(title(&advanced).contains("Solution"), "{advanced}");
    let delivery = dealgate::service::Delivery::new(Platform::Discord, "3");
    let recorded = ep
        .app
        .service
        .await_answer(&delivery, std::time::Duration::from_secs(10));
    assert!(recorded.await.unwrap().is_some(), "the answer was recorded");
    let store = ep.app.db.store().await;
    let mut conn = store.writer().acquire().await.unwrap();
    sqlx::query("DELETE FROM interaction_receipts WHERE interaction_id = '3'")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let again = ep.reply(&advance(3)).await;
    assert!(!text(&again).contains("can't leave"), "{again}");
    assert!(!title(&again).contains("can't leave"), "{again}");
    assert_eq!(advances(&ep).await, 1);
    let refusals = count(
        &ep,
        "SELECT COUNT(*) FROM interaction_receipts WHERE response LIKE '%leave Solution%'",
    )
    .await;
    assert_eq!(
        refusals, 0,
        "no refusal was recorded as the delivery's answer"
    );
}

/// The answers statement itself, with answers whose read is to be checked beside one that has
/// none: each is written only while its read holds (the deal at the version read, the same
/// activity count), once per delivery, never over an answer given before.
async fn answers_with_a_read_to_check_are_written_only_while_it_holds(app: support::TestApp) {
    use dealgate::store::deals::{AsRead, ReadStamps};
    use dealgate::store::receipts::{self, AnswerItem};
    let ep = Endpoint::with_deal_1(app, BOSS).await;
    ep.reply(&log(2, BOSS, "pain-identified")).await;
    let (deal_id, version) = (
        count(&ep, "SELECT id FROM deals").await,
        count(&ep, "SELECT version FROM deals").await,
    );
    let read = AsRead {
        deal_id,
        version,
        stamps: ReadStamps {
            session_version: count(&ep, "SELECT session_version FROM tenants").await,
            activities: 1,
            approvals: 0,
        },
    };
    let stale = AsRead {
        stamps: ReadStamps {
            activities: 0,
            ..read.stamps
        },
        ..read
    };
    let moved = AsRead {
        version: version - 1,
        ..read
    };
    let now = support::start_time();
    let answer = |id: &str, text: &str, unless_changed| AnswerItem {
        platform: "discord".into(),
        interaction_id: id.into(),
        response: text.into(),
        at: now,
        unless_changed,
    };
    let store = ep.app.db.store().await;
    let mut conn = store.writer().acquire().await.unwrap();
    receipts::record_all(&mut conn, &[answer("e", "given before", None)])
        .await
        .unwrap();
    let batch = [
        answer("a", "held", Some(read)),
        answer("b", "stale", Some(stale)),
        answer("c", "not checked", None),
        answer("a", "held, again", Some(read)),
        answer("d", "moved since", Some(moved)),
        answer("e", "held, but answered before", Some(read)),
        answer("f", "queued first", None),
        answer("f", "held, after a queued answer", Some(read)),
    ];
    let recorded = receipts::record_all(&mut conn, &batch).await.unwrap();
    assert_eq!(
        recorded,
        [true, false, true, false, false, false, true, false]
    );
    for (id, stored) in [
        ("a", Some(Some("held"))),
        ("b", None),
        ("c", Some(Some("not checked"))),
        ("d", None),
        ("e", Some(Some("given before"))),
        ("f", Some(Some("queued first"))),
    ] {
        let found = receipts::find(&mut conn, "discord", id).await.unwrap();
        assert_eq!(found, stored.map(|s| s.map(String::from)), "{id}");
    }
}

/// What a kept read relies on of its workspace is guarded by one number that triggers bump,
/// whoever makes the change and however: a role, a manager, a member's name, the playbook in
/// force, the pipeline's visibility. Creating a deal (which updates the workspace's row for
/// its number) does not, or every new deal would throw away every kept read.
async fn every_change_a_session_relies_on_bumps_its_workspace_session_version(
    app: support::TestApp,
) {
    let service = &app.service;
    let boss = session(service, BOSS).await;
    session(service, MIA).await;
    let store = app.db.store().await;
    let version = || async {
        let mut conn = store.reader().acquire().await.unwrap();
        sqlx::query_scalar::<_, i64>("SELECT session_version FROM tenants")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    let mut seen = version().await;
    let mut bumped = |now: i64, what: &str| {
        assert!(now > seen, "{what} did not bump the session version");
        seen = now;
    };
    let mia = UserRef::Key(MIA.id.into());
    service
        .set_team_role(&boss, &mia, Role::Manager, None)
        .await
        .unwrap();
    bumped(version().await, "a new role");
    let renamed = Caller {
        display_name: "Mia Wong".into(),
        ..caller(MIA)
    };
    service.session(&renamed).await.unwrap();
    bumped(version().await, "a new name");
    service.set_team_visibility(&boss, true).await.unwrap();
    bumped(version().await, "the pipeline opened");
    let mut conn = store.writer().acquire().await.unwrap();
    sqlx::query("UPDATE tenants SET playbook_version = playbook_version + 1")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    bumped(version().await, "a new playbook in force");
    let before = version().await;
    service
        .create_deal(
            &boss,
            "Acme",
            dealgate::engine::ids::Money::from_major(5000).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2030, 6, 30).unwrap(),
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        version().await,
        before,
        "a new deal leaves kept reads alone"
    );
}

/// Two replicas, each keeping reads, on the same four deals at once: the endpoint (over HTTP)
/// and another service (through the same door, `interact::handle`), each sending `/log`s and
/// `/advance`s in an order of their own, so each replica's kept reads go stale under it all the
/// time. Every `/log` answered "Logged" is recorded once; no deal left Qualify without a
/// discovery call logged there before it left; none left Solution (its approval is never
/// given); nothing answered with an internal error.
async fn two_replicas_logging_and_advancing_the_same_deals_lose_no_log_and_pass_no_gate_unmet(
    app: support::TestApp,
) {
    use dealgate::commands::interact::{Handled, Invocation, handle};
    use dealgate::service::Delivery;
    const DEALS: u64 = 4;
    const EACH: u64 = 60;
    let other = std::sync::Arc::new(app.replica().await);
    let ep = std::sync::Arc::new(Endpoint::with_deal_1(app, BOSS).await);
    for n in 2..=DEALS {
        let created = ep.reply(&deal_new(n, BOSS, &format!("Deal {n}"))).await;
        assert!(title(&created).starts_with("Created"), "{created}");
    }
    // Which command a step sends: mostly `/log`s of the three Qualify activities, with the
    // discovery call rare, and an `/advance` every third step.
    let step = |i: u64, seed: u64| {
        let deal = format!("deal-{}", 1 + (i * 7 + seed) % DEALS);
        if i % 3 == 2 {
            return format!("/advance {deal}");
        }
        let activity = match (i * 13 + seed) % 7 {
            0 => "discovery-call",
            1..=3 => "pain-identified",
            _ => "budget-confirmed",
        };
        format!("/log {deal} {activity}")
    };
    let over_http = {
        let ep = std::sync::Arc::clone(&ep);
        tokio::spawn(async move {
            let mut logged = 0;
            for i in 0..EACH {
                let line = step(i, 1);
                let mut words = line.split(' ');
                let (name, deal) = (&words.next().unwrap()[1..], words.next().unwrap());
                let mut options = vec![opt("deal", deal)];
                if let Some(activity) = words.next() {
                    options.push(opt("activity", activity));
                }
                let answer = ep.reply(&command(1_000 + i, BOSS, name, options)).await;
                assert!(!text(&answer).contains("reference"), "{line}: {answer}");
                logged += u64::from(title(&answer).starts_with("Logged"));
            }
            logged
        })
    };
    let through_the_door = {
        let other = std::sync::Arc::clone(&other);
        tokio::spawn(async move {
            let mut logged = 0;
            for i in 0..EACH {
                let line = step(i, 2);
                let parsed = dealgate::commands::parse::parse_line(&line).unwrap();
                let delivery = Delivery::new(Platform::Discord, (2_000 + i).to_string());
                let invocation = Invocation::command(caller(BOSS), parsed, delivery);
                let Handled::Now(answered) =
                    handle(&other, invocation, dealgate::chat::console::render).await
                else {
                    panic!("{line} was deferred");
                };
                assert!(
                    !answered.answer.contains("reference"),
                    "{line}: {}",
                    answered.answer
                );
                logged += u64::from(answered.answer.contains("Logged"));
            }
            logged
        })
    };
    let logged = over_http.await.unwrap() + through_the_door.await.unwrap();
    assert!(logged > 0);
    let recorded = count(&ep, "SELECT COUNT(*) FROM activities").await;
    assert_eq!(
        recorded,
        i64::try_from(logged).unwrap(),
        "every Logged is recorded once"
    );
    let left_qualify_unmet = count(
        &ep,
        "SELECT COUNT(*) FROM stage_changes c WHERE c.kind = 'advance' \
         AND c.from_stage = 'qualify' AND NOT EXISTS (SELECT 1 FROM activities a \
         WHERE a.deal_id = c.deal_id AND a.activity = 'discovery-call' \
         AND a.stage = 'qualify' AND a.at <= c.at)",
    )
    .await;
    assert_eq!(
        left_qualify_unmet, 0,
        "no deal left Qualify without its discovery call"
    );
    assert!(
        advances(&ep).await > 0,
        "some deal met Qualify's gates and advanced"
    );
    let left_solution = count(
        &ep,
        "SELECT COUNT(*) FROM stage_changes WHERE from_stage = 'solution'",
    )
    .await;
    assert_eq!(left_solution, 0, "Solution's approval was never given");
}
