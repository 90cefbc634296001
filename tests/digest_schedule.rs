//! The scheduler through days, a weekend and a DST change, two schedulers on one database, and
//! delivery through failures: every digest is posted once, on working days, at the local time.

#[path = "support/digest.rs"]
mod digest_support;
mod support;

use chrono::{Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Europe::Berlin;
use dealgate::jobs::outbox::{SendError, deliver_due};
use dealgate::jobs::scheduler::tick;
use dealgate::service::{Claim, PlaybookSource, Service};
use dealgate::store::{Store, jobs};
use digest_support::{RecordingSender, digest_at, tick_and_deliver};
use support::TestApp;

on_both_backends!(
    ten_days_across_a_weekend_and_the_end_of_summer_time_post_one_digest_each_working_day_at_0830_berlin,
    a_restart_after_the_run_does_not_post_again_and_a_late_start_posts_that_day_only,
    two_schedulers_on_one_database_post_one_digest_a_day_not_two,
    a_sender_that_fails_twice_then_accepts_delivers_every_message_once_after_backoff_and_retry_after,
    a_permanent_failure_keeps_the_message_with_its_error,
    interaction_receipts_older_than_a_day_are_pruned_and_newer_ones_kept,
);

on_both_backends!(multi_thread: three_schedulers_on_separate_pools_over_a_week_post_one_digest_per_working_day);

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

async fn ten_days_across_a_weekend_and_the_end_of_summer_time_post_one_digest_each_working_day_at_0830_berlin(
    app: TestApp,
) {
    let t = app.team().await;
    digest_at(&app.service, &t.admin, 8, 30, "Europe/Berlin").await;
    let sender = RecordingSender::new();
    // Thursday 22 October 2026, 00:00 UTC, to Sunday 1 November: the clocks go back on Sunday
    // 25 October. Tick every 10 minutes, as a slow `serve` loop would.
    let mut now = Utc.with_ymd_and_hms(2026, 10, 22, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let mut posted_at = Vec::new();
    while now < end {
        app.clock.set(now);
        let (ticked, _) = tick_and_deliver(&app.service, &sender, now).await;
        for (_, day) in ticked.digests {
            posted_at.push((day, now.with_timezone(&Berlin)));
        }
        now += Duration::minutes(10);
    }
    let days: Vec<NaiveDate> = posted_at.iter().map(|(d, _)| *d).collect();
    assert_eq!(
        days,
        [
            date(2026, 10, 22),
            date(2026, 10, 23),
            date(2026, 10, 26),
            date(2026, 10, 27),
            date(2026, 10, 28),
            date(2026, 10, 29),
            date(2026, 10, 30),
        ]
    );
    for (day, local) in &posted_at {
        assert_eq!(local.date_naive(), *day);
        assert_eq!((local.hour(), local.minute()), (8, 30), "{day}");
    }
    let accepted = sender.accepted();
    assert_eq!(accepted.len(), 7, "one message per digest");
    assert!(accepted.iter().all(|m| m.target.to_string() == "#managers"));
    let mut nonces: Vec<&str> = accepted.iter().map(|m| m.nonce.as_str()).collect();
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 7);
}

async fn a_restart_after_the_run_does_not_post_again_and_a_late_start_posts_that_day_only(
    app: TestApp,
) {
    let t = app.team().await;
    digest_at(&app.service, &t.admin, 8, 30, "Europe/Berlin").await;
    // Down all of Monday 2 March (Berlin is UTC+1), started Tuesday at 15:00 local.
    let tuesday_3pm = Utc.with_ymd_and_hms(2026, 3, 3, 14, 0, 0).unwrap();
    app.clock.set(tuesday_3pm);
    let first = tick(&app.service, tuesday_3pm).await.unwrap();
    assert_eq!(first.digests, [(t.admin.tenant.id, date(2026, 3, 3))]);
    // A restarted process, a new service on the same file, ticks again the same day.
    let store = Store::connect(&app.database_url()).await.unwrap();
    let again = Service::new(store, app.clock.clone(), source());
    let second = tick(&again, tuesday_3pm + Duration::minutes(1))
        .await
        .unwrap();
    assert!(second.digests.is_empty());
    let mut conn = app.service.store().reader().acquire().await.unwrap();
    let claimed = jobs::claim_dates(&mut conn, t.admin.tenant.id, "digest")
        .await
        .unwrap();
    assert_eq!(
        claimed,
        ["2026-03-03"],
        "Monday's digest is never posted late"
    );
}

fn source() -> PlaybookSource {
    PlaybookSource {
        reference: "three-stages.toml".into(),
        toml: support::PLAYBOOK.into(),
    }
}

async fn two_schedulers_on_one_database_post_one_digest_a_day_not_two(app: TestApp) {
    let t = app.team().await;
    digest_at(&app.service, &t.admin, 8, 30, "Europe/Berlin").await;
    let store = Store::connect(&app.database_url()).await.unwrap();
    let other = Service::new(store, app.clock.clone(), source());
    let sender = RecordingSender::new();
    let mut now = Utc.with_ymd_and_hms(2026, 3, 2, 7, 0, 0).unwrap();
    for _ in 0..3 {
        for _ in 0..6 {
            app.clock.set(now);
            // Both tick at the same moment, concurrently.
            let (a, b) = tokio::join!(tick(&app.service, now), tick(&other, now));
            a.unwrap();
            b.unwrap();
            let (x, y) = tokio::join!(
                deliver_due(&app.service, &sender),
                deliver_due(&other, &sender)
            );
            x.unwrap();
            y.unwrap();
            now += Duration::minutes(30);
        }
        now += Duration::hours(21);
    }
    let days: Vec<String> = sender
        .accepted()
        .iter()
        .map(|m| m.reply.title.clone())
        .collect();
    assert_eq!(days.len(), 3, "{days:?}");
}

/// Three replicas, each with its own pool, tick all day every 20 minutes at the same moments
/// from Monday 2 March to Sunday 8 March 2026: five working days, five digests.
async fn three_schedulers_on_separate_pools_over_a_week_post_one_digest_per_working_day(
    app: TestApp,
) {
    let t = app.team().await;
    digest_at(&app.service, &t.admin, 8, 30, "Europe/Berlin").await;
    let second = app.replica().await;
    let third = app.replica().await;
    let sender = RecordingSender::new();
    let mut now = Utc.with_ymd_and_hms(2026, 3, 1, 23, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2026, 3, 8, 23, 0, 0).unwrap();
    while now < end {
        app.clock.set(now);
        let (a, b, c) = tokio::join!(
            tick(&app.service, now),
            tick(&second, now),
            tick(&third, now)
        );
        for result in [a, b, c] {
            result.unwrap();
        }
        let (x, y, z) = tokio::join!(
            deliver_due(&app.service, &sender),
            deliver_due(&second, &sender),
            deliver_due(&third, &sender)
        );
        for result in [x, y, z] {
            result.unwrap();
        }
        now += Duration::minutes(20);
    }
    let titles: Vec<String> = sender
        .accepted()
        .iter()
        .map(|m| m.reply.title.clone())
        .collect();
    assert_eq!(
        titles.len(),
        5,
        "one digest on each of Monday to Friday: {titles:?}"
    );
    let mut unique = titles.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 5, "five different days: {titles:?}");
}

async fn a_sender_that_fails_twice_then_accepts_delivers_every_message_once_after_backoff_and_retry_after(
    app: TestApp,
) {
    let t = app.team().await;
    digest_at(&app.service, &t.admin, 8, 30, "UTC").await;
    let sender = RecordingSender::failing_with([
        SendError::Retry {
            after: None,
            reason: "HTTP 500".into(),
        },
        SendError::Retry {
            after: Some(Duration::seconds(42)),
            reason: "HTTP 429".into(),
        },
    ]);
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 8, 30, 0).unwrap();
    app.clock.set(start);
    let (ticked, first) = tick_and_deliver(&app.service, &sender, start).await;
    assert_eq!(ticked.digests.len(), 1);
    assert_eq!(first.retrying, 1);
    // Not due again before the 5-second backoff.
    app.clock.set(start + Duration::seconds(4));
    let early = deliver_due(&app.service, &sender).await.unwrap();
    assert_eq!(early, Default::default());
    app.clock.set(start + Duration::seconds(5));
    let second = deliver_due(&app.service, &sender).await.unwrap();
    assert_eq!(second.retrying, 1);
    // The 429 said 42 seconds, longer than the 10-second backoff: it is honoured.
    app.clock.set(start + Duration::seconds(5 + 41));
    let waiting = deliver_due(&app.service, &sender).await.unwrap();
    assert_eq!(waiting, Default::default());
    app.clock.set(start + Duration::seconds(5 + 42));
    let third = deliver_due(&app.service, &sender).await.unwrap();
    assert_eq!(third.sent, 1);
    let accepted = sender.accepted();
    assert_eq!(accepted.len(), 1);
    let nonce = &accepted[0].nonce;
    assert_eq!(
        sender.attempts(),
        [nonce.clone(), nonce.clone(), nonce.clone()]
    );
    assert!(
        accepted[0].reply.image.is_some(),
        "the chart travels with the message"
    );
    // Nothing is left to send, and the log keeps the message as sent.
    app.clock.set(start + Duration::hours(2));
    let after = deliver_due(&app.service, &sender).await.unwrap();
    assert_eq!(after, Default::default());
}

async fn a_permanent_failure_keeps_the_message_with_its_error(app: TestApp) {
    let t = app.team().await;
    digest_at(&app.service, &t.admin, 8, 30, "UTC").await;
    let sender = RecordingSender::failing_with([SendError::Permanent("Unknown Channel".into())]);
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    app.clock.set(at);
    let (_, report) = tick_and_deliver(&app.service, &sender, at).await;
    assert_eq!(report.failed, 1);
    let mut conn = app.service.store().reader().acquire().await.unwrap();
    let kept = jobs::undelivered(&mut conn).await.unwrap();
    assert_eq!(kept.len(), 1);
    let kept = kept[0].as_ref().expect("a readable message");
    assert_eq!(kept.status, jobs::MessageStatus::Failed);
    assert_eq!(kept.last_error.as_deref(), Some("Unknown Channel"));
}

/// The scheduler loop prunes hourly; what it keeps decides whether a late duplicate of an
/// interaction is still recognised.
async fn interaction_receipts_older_than_a_day_are_pruned_and_newer_ones_kept(app: TestApp) {
    let s = &app.service;
    let wait = std::time::Duration::ZERO;
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    app.clock.set(start);
    assert_eq!(
        s.claim_interaction(
            &dealgate::service::Delivery::new(dealgate::service::Platform::Discord, "old"),
            wait
        )
        .await
        .unwrap(),
        Claim::New
    );
    s.record_interaction(
        &dealgate::service::Delivery::new(dealgate::service::Platform::Discord, "old"),
        "{\"answer\":1}",
    )
    .await
    .unwrap();
    app.clock.set(start + Duration::hours(20));
    assert_eq!(
        s.claim_interaction(
            &dealgate::service::Delivery::new(dealgate::service::Platform::Discord, "recent"),
            wait
        )
        .await
        .unwrap(),
        Claim::New
    );
    s.record_interaction(
        &dealgate::service::Delivery::new(dealgate::service::Platform::Discord, "recent"),
        "{\"answer\":2}",
    )
    .await
    .unwrap();
    app.clock.set(start + Duration::hours(25));
    assert_eq!(s.prune_interaction_receipts().await.unwrap(), 1);
    assert_eq!(s.prune_interaction_receipts().await.unwrap(), 0);
    // The recent one is still known (an unanswered claim would have been taken over once its
    // lease lapsed); the pruned one could be claimed afresh.
    assert_eq!(
        s.claim_interaction(
            &dealgate::service::Delivery::new(dealgate::service::Platform::Discord, "recent"),
            wait
        )
        .await
        .unwrap(),
        Claim::Answered("{\"answer\":2}".to_string())
    );
    assert_eq!(
        s.claim_interaction(
            &dealgate::service::Delivery::new(dealgate::service::Platform::Discord, "old"),
            wait
        )
        .await
        .unwrap(),
        Claim::New
    );
}
