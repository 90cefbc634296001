//! Forecast truth on a small quarter worked out by hand, on both backends: four deals snapshotted
//! by the daily digest in weeks 1 and 2 of 2026 Q1, then one won, one lost, one pushed out.
//! `/forecast accuracy` and `/forecast changes` must give the figures computed in the comments.

#[path = "support/digest.rs"]
mod digest_support;
mod support;

use chrono::{NaiveDate, TimeZone, Utc};
use dealgate::chat::console::caller;
use dealgate::commands::execute::execute_line;
use dealgate::commands::press::Press;
use dealgate::commands::truth_replies;
use dealgate::engine::forecast::PeriodSpec;
use dealgate::engine::ids::{DealNumber, Money};
use dealgate::engine::truth::movement::BucketName;
use dealgate::jobs::outbox::deliver_due;
use dealgate::service::{FieldValue, Session};
use digest_support::{RecordingSender, digest_at, tick_and_deliver};
use support::{Team, TestApp};

on_both_backends!(
    each_weeks_call_slip_conversion_brier_and_range_hits_match_the_hand_figures,
    pipeline_movement_adds_up_bucket_by_bucket_to_what_is_open_now,
    an_accepted_calibration_is_previewed_applied_as_a_version_and_broadcast,
);

fn at(m: u32, d: u32, h: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, m, d, h, 0, 0).unwrap()
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

async fn deal(
    app: &TestApp,
    rep: &Session,
    name: &str,
    euros: i64,
    close: NaiveDate,
) -> DealNumber {
    app.service
        .create_deal(
            rep,
            name,
            Money::from_major(euros).unwrap(),
            close,
            None,
            None,
        )
        .await
        .unwrap()
        .deal
        .number
}

/// The manager moves a deal on, passing whatever gates stand (on the record).
async fn push(app: &TestApp, team: &Team, number: DealNumber) {
    app.service
        .advance(&team.manager, number, None, Some("Test: moved on by hand"))
        .await
        .unwrap();
}

struct Quarter {
    a: DealNumber,
    b: DealNumber,
    c: DealNumber,
    d: DealNumber,
}

/// Jan 5 (week 1): A 60k Qualify (10 %, pipeline), B 50k Negotiate (80 %, commit),
/// C 30k Solution (40 %, best case), D 20k Qualify, all closing in Q1; F 15k closing in April.
/// Snapshots on Jan 5 and Jan 12. Then D goes up to 25k (Feb 3), F is pulled in to Mar 15
/// (Feb 5), E 10k is created closing Mar 30 (Feb 6), A is lost (Feb 10), B won (Feb 20) and C
/// pushed out to Apr 15 (Mar 2).
async fn play_the_quarter(app: &TestApp) -> (Team, Quarter) {
    let team = app.team().await;
    let sender = RecordingSender::new();
    digest_at(&app.service, &team.admin, 8, 0, "UTC").await;
    app.clock.set(at(1, 2, 10));
    deal(app, &team.bob, "F Pulled in", 15_000, day(4, 20)).await;
    app.clock.set(at(1, 5, 7));
    let a = deal(app, &team.ann, "A Lost", 60_000, day(2, 15)).await;
    let b = deal(app, &team.ann, "B Won", 50_000, day(3, 10)).await;
    let c = deal(app, &team.bob, "C Pushed", 30_000, day(3, 20)).await;
    let d = deal(app, &team.bob, "D Grows", 20_000, day(3, 25)).await;
    push(app, &team, b).await;
    push(app, &team, b).await;
    push(app, &team, c).await;
    for when in [at(1, 5, 8), at(1, 12, 8)] {
        app.clock.set(when);
        tick_and_deliver(&app.service, &sender, when).await;
    }
    app.clock.set(at(2, 3, 10));
    app.service
        .set_field(
            &team.bob,
            d,
            &"amount".parse().unwrap(),
            FieldValue::Amount(Money::from_major(25_000).unwrap()),
        )
        .await
        .unwrap();
    app.clock.set(at(2, 5, 10));
    let f = DealNumber::new(1).unwrap();
    app.service
        .set_field(
            &team.bob,
            f,
            &"close_date".parse().unwrap(),
            FieldValue::CloseDate(day(3, 15)),
        )
        .await
        .unwrap();
    app.clock.set(at(2, 6, 10));
    deal(app, &team.ann, "E Created", 10_000, day(3, 30)).await;
    app.clock.set(at(2, 10, 10));
    app.service.lost(&team.ann, a, "No budget").await.unwrap();
    app.clock.set(at(2, 20, 10));
    app.service
        .won(&team.manager, b, Some("Test: signed"))
        .await
        .unwrap();
    app.clock.set(at(3, 2, 10));
    app.service
        .set_field(
            &team.bob,
            c,
            &"close_date".parse().unwrap(),
            FieldValue::CloseDate(day(4, 15)),
        )
        .await
        .unwrap();
    (team, Quarter { a, b, c, d })
}

async fn each_weeks_call_slip_conversion_brier_and_range_hits_match_the_hand_figures(app: TestApp) {
    let (team, _) = play_the_quarter(&app).await;
    app.clock.set(at(4, 6, 9));
    let view = app
        .service
        .forecast_accuracy(&team.admin, Some(PeriodSpec::LastQuarter), None)
        .await
        .unwrap();
    assert!(view.closed);
    // Won in Q1: B alone.
    assert_eq!((view.won, view.won_count), (5_000_000, 1));
    let weeks: Vec<_> = view.weeks.iter().map(|w| (w.week, w.date)).collect();
    assert_eq!(weeks, [(1, day(1, 5)), (2, day(1, 12))]);
    for w in &view.weeks {
        // Weighted: 60k × 10 % + 50k × 80 % + 30k × 40 % + 20k × 10 % = 60k (nothing won yet).
        assert_eq!(w.weighted, 6_000_000);
        // Commit: B; best case adds C.
        assert_eq!(w.commit, 5_000_000);
        assert_eq!(w.best_case, 8_000_000);
        // Of the 50k in commit, 50k won.
        assert_eq!(w.commit_conversion, Some(1.0));
        assert_eq!(w.in_range, Some(true), "{w:?}");
    }
    // Accuracy 1 − |50 − 60| / 50 = 0.8, ratio 60 / 50 = 1.2.
    let acc = dealgate::engine::truth::accuracy(view.won, view.weeks[0].weighted).unwrap();
    assert!((acc - 0.8).abs() < 1e-9);
    // Slip: of B and C (commit, best case) on Jan 5, C (30k of 80k) did not close in Q1.
    let (slip_day, slip) = view.slip.unwrap();
    assert_eq!(slip_day, day(1, 5));
    assert_eq!(
        (slip.slipped, slip.of, slip.slipped_amount, slip.of_amount),
        (1, 2, 3_000_000, 8_000_000)
    );
    // Brier: (0.1² + 0.2² + 0.4² + 0.1²) / 4 = 0.055 over A, B, C, D (F closed in April then).
    let (brier, n) = view.brier.unwrap();
    assert_eq!(n, 4);
    assert!((brier - 0.055).abs() < 1e-9, "{brier}");
    // Both weekly ranges of Q1 held its result.
    assert_eq!(view.hit_rate, Some((2, 2)));
    // A rep's view: ann held A and B on Jan 5; weighted 6k + 40k, won 50k.
    let ann = app
        .service
        .forecast_accuracy(
            &team.manager,
            Some(PeriodSpec::LastQuarter),
            Some(&support::user("ann")),
        )
        .await
        .unwrap();
    assert_eq!(ann.weeks[0].weighted, 4_600_000);
    assert_eq!(
        ann.hit_rate, None,
        "ranges are recorded for the whole workspace"
    );
    assert!(!ann.workspace_wide && view.workspace_wide);
    insta::assert_snapshot!(
        "accuracy_reply",
        dealgate::chat::console::render(&truth_replies::accuracy(&view))
    );
}

async fn pipeline_movement_adds_up_bucket_by_bucket_to_what_is_open_now(app: TestApp) {
    let (team, q) = play_the_quarter(&app).await;
    app.clock.set(at(3, 3, 9));
    let view = app
        .service
        .forecast_changes(&team.admin, Some(day(1, 5)), None)
        .await
        .unwrap();
    let m = &view.movement;
    let amounts = |b: BucketName| m.bucket(b).amount / 100;
    // 160k + 10k + 15k + 5k − 0 − 30k − 60k − 50k = 50k (D 25k, E 10k, F 15k).
    assert_eq!(
        BucketName::ALL.map(amounts),
        [
            160_000, 10_000, 15_000, 5_000, 0, 30_000, 60_000, 50_000, 50_000
        ]
    );
    assert_eq!(m.computed_end(), m.end.amount);
    let numbers = |b: BucketName| {
        m.bucket(b)
            .deals
            .iter()
            .map(|((n, _), _)| *n)
            .collect::<Vec<_>>()
    };
    assert_eq!(numbers(BucketName::Won), [q.b]);
    assert_eq!(numbers(BucketName::Lost), [q.a]);
    assert_eq!(numbers(BucketName::PushedOut), [q.c]);
    assert_eq!(numbers(BucketName::AmountUp), [q.d]);
    // A day without a snapshot counts from the next one; a future day is refused.
    let later = app
        .service
        .forecast_changes(&team.admin, Some(day(1, 6)), None)
        .await
        .unwrap();
    assert_eq!(later.since, day(1, 12));
    let refused = app
        .service
        .forecast_changes(&team.admin, Some(day(3, 20)), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("is in the future"), "{refused}");
    let year = app
        .service
        .forecast_accuracy(&team.admin, Some(PeriodSpec::ThisYear), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(year.contains("over a quarter or a month"), "{year}");
    insta::assert_snapshot!(
        "movement_reply",
        dealgate::chat::console::render(&truth_replies::movement(&view, Some(BucketName::Won)))
    );
}

/// Qualify is configured at 10 %, but 20 of the 40 deals that entered it were won: the
/// calibration suggests 42 % (Beta prior worth 10 deals: (20 + 1) / (40 + 10)). The admin's
/// button previews it as version 2, confirming applies it, and the change notice goes out.
async fn an_accepted_calibration_is_previewed_applied_as_a_version_and_broadcast(app: TestApp) {
    let team = app.team().await;
    digest_at(&app.service, &team.admin, 8, 0, "UTC").await;
    for i in 0..40 {
        let number = deal(&app, &team.ann, &format!("Deal {i}"), 10_000, day(3, 31)).await;
        if i % 2 == 0 {
            push(&app, &team, number).await;
            push(&app, &team, number).await;
            app.service
                .won(&team.manager, number, Some("Test: signed"))
                .await
                .unwrap();
        } else {
            app.service
                .lost(&team.ann, number, "No budget")
                .await
                .unwrap();
        }
    }
    let boss = caller(support::WORKSPACE, "boss");
    let shown = execute_line(&app.service, &boss, "/playbook calibrate").await;
    let text = dealgate::chat::console::render(&shown);
    assert!(
        text.contains("Qualify: configured 10%, observed 50% → 42%"),
        "{text}"
    );
    let button = shown
        .buttons
        .first()
        .expect("a button to accept the suggestion");
    assert_eq!(button.press, Press::ProposeCalibration);

    // The press runs what the button says, as the presser; a rep may not.
    let line = dealgate::commands::Command::pressed(&button.press)
        .unwrap()
        .to_string();
    let ann = caller(support::WORKSPACE, "ann");
    let refused = dealgate::chat::console::render(&execute_line(&app.service, &ann, &line).await);
    assert!(refused.contains("admin"), "{refused}");
    let preview = execute_line(&app.service, &boss, &line).await;
    let text = dealgate::chat::console::render(&preview);
    assert!(
        text.contains("Calibrated on closed deals: Qualify 10% → 42% (20 of 40 won)"),
        "{text}"
    );
    let Some(Press::ConfirmPlaybook { draft }) = preview.buttons.first().map(|b| b.press.clone())
    else {
        panic!("the preview offers to apply it: {text}");
    };
    let applied = execute_line(&app.service, &boss, &format!("/playbook confirm {draft}")).await;
    let text = dealgate::chat::console::render(&applied);
    assert!(text.contains("version 2"), "{text}");
    let now = app.session("boss").await;
    assert_eq!(
        now.playbook
            .stage(&"qualify".parse().unwrap())
            .unwrap()
            .probability
            .percent(),
        42
    );
    // Only the probability line changed: the rest of the playbook is as it was.
    assert_eq!(now.playbook.stages.len(), team.admin.playbook.stages.len());
    let sender = RecordingSender::new();
    deliver_due(&app.service, &sender).await.unwrap();
    let notices: Vec<_> = sender
        .accepted()
        .into_iter()
        .filter(|m| dealgate::chat::console::render(&m.reply).contains("42%"))
        .collect();
    assert!(!notices.is_empty(), "the change notice went out");
    // Nothing is left to suggest once the probability sits inside its interval.
    let again = dealgate::chat::console::render(&execute_line(&app.service, &boss, &line).await);
    assert!(again.contains("nothing to propose"), "{again}");
}
