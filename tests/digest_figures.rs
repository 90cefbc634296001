//! Digest figures against totals worked out in the test from the deals it created; the chart
//! decodes; nudges are not repeated within the window and skip snoozed deals; the commands check
//! who may use them.

#[path = "support/digest.rs"]
mod digest_support;
mod support;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use dealgate::chat::console::caller;
use dealgate::clock::Clock;
use dealgate::commands::execute::execute_line;
use dealgate::engine::ids::{DealNumber, Money};
use dealgate::jobs::message::Target;
use dealgate::service::{DigestScope, RiskKind, Session};
use dealgate::store::jobs;
use digest_support::{RecordingSender, digest_at, tick_and_deliver};
use support::{TestApp, WORKSPACE};

on_both_backends!(
    digest_figures_match_totals_computed_from_the_deals_created,
    the_posted_digest_carries_a_png_chart_of_sensible_size_and_a_snapshot_is_stored,
    nudges_name_the_deal_and_next_steps_skip_snoozed_deals_and_are_not_repeated_within_the_window,
    the_repeat_window_set_with_nudges_setup_decides_when_a_nudge_comes_back,
    only_admins_schedule_and_only_managers_preview_or_snooze,
    a_fiscal_year_from_february_puts_2_march_in_the_quarter_february_to_april,
    forecast_digest_and_snapshot_give_the_same_figures_in_a_fiscal_year_from_april,
);

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A deal, with its amount in whole euros, as the test wants to remember it.
struct Made {
    number: DealNumber,
    euros: i64,
    close: NaiveDate,
    percent: i64,
}

async fn deal(app: &TestApp, who: &Session, euros: i64, close: NaiveDate) -> Made {
    let view = app
        .service
        .create_deal(
            who,
            "Deal",
            Money::from_major(euros).unwrap(),
            close,
            None,
            None,
        )
        .await
        .unwrap();
    Made {
        number: view.deal.number,
        euros,
        close,
        percent: 10,
    }
}

async fn digest_figures_match_totals_computed_from_the_deals_created(app: TestApp) {
    let t = app.team().await;
    // Monday 2 March 2026: this month is March, this quarter Jan–Mar.
    let mut made = Vec::new();
    made.push(deal(&app, &t.ann, 10_000, date(2026, 3, 20)).await);
    // Created a fortnight ago, due last Friday: overdue now, and not new since yesterday.
    app.clock.set(support::start_time() - Duration::days(14));
    made.push(deal(&app, &t.ann, 7_000, date(2026, 2, 27)).await);
    app.clock.set(support::start_time());
    made.push(deal(&app, &t.bob, 50_000, date(2026, 3, 31)).await);
    made.push(deal(&app, &t.bob, 99_000, date(2026, 5, 10)).await); // next quarter
    let mut promoted = deal(&app, &t.bob, 20_000, date(2026, 3, 25)).await;
    app.service
        .log_activity(
            &t.bob,
            promoted.number,
            &"discovery-call".parse().unwrap(),
            None,
        )
        .await
        .unwrap();
    app.service
        .advance(&t.bob, promoted.number, None, None)
        .await
        .unwrap();
    promoted.percent = 40;
    made.push(promoted);

    // Worked out here, independently: open deals closing in the quarter and in March.
    let in_quarter = |m: &&Made| m.close >= date(2026, 1, 1) && m.close < date(2026, 4, 1);
    let in_march = |m: &&Made| m.close >= date(2026, 3, 1) && m.close < date(2026, 4, 1);
    let cents = |e: i64| i128::from(e) * 100;
    let quarter: Vec<&Made> = made.iter().filter(in_quarter).collect();
    let march: Vec<&Made> = made.iter().filter(in_march).collect();
    let open_q: i128 = quarter.iter().map(|m| cents(m.euros)).sum();
    let weighted_q: i128 = quarter
        .iter()
        .map(|m| cents(m.euros) * i128::from(m.percent) / 100)
        .sum();
    let open_m: i128 = march.iter().map(|m| cents(m.euros)).sum();

    let now = app.clock.now();
    let f = app
        .service
        .digest_figures(
            DigestScope {
                tenant_id: t.admin.tenant.id,
                workspace: WORKSPACE,
                playbook: &t.admin.playbook,
                fiscal_start_month: 1,
                today: now.date_naive(),
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!(f.quarter_forecast.open.count, quarter.len() as u64);
    assert_eq!(f.quarter_forecast.open.amount, open_q);
    assert_eq!(f.quarter_forecast.open.weighted_minor(), weighted_q);
    assert_eq!(f.month_forecast.open.amount, open_m);
    assert_eq!(f.month_forecast.open.count, march.len() as u64);
    // Best case is the Solution stage: the promoted deal alone.
    let best: i128 = f
        .quarter_forecast
        .by_category
        .iter()
        .filter(|(c, _)| c.as_str() == "best_case")
        .map(|(_, t)| t.amount)
        .sum();
    assert_eq!(best, cents(20_000));
    // By rep: ann 17,000 and bob 70,000 in the quarter.
    let rep = |name: &str| {
        f.quarter_forecast
            .by_owner
            .iter()
            .find(|(o, _)| o == name)
            .map(|(_, t)| t.amount)
    };
    assert_eq!(rep("ann"), Some(cents(17_000)));
    assert_eq!(rep("bob"), Some(cents(70_000)));
    // Changes of the last day: four new deals, one advanced.
    assert_eq!(f.changes.new.len(), 4);
    assert_eq!(f.changes.advanced.len(), 1);
    let overdue = f
        .risks
        .iter()
        .find(|g| g.kind == RiskKind::Overdue)
        .unwrap();
    assert_eq!((overdue.count, overdue.amount), (1, 700_000));
    assert_eq!(overdue.top[0].number, made[1].number);
}

async fn the_posted_digest_carries_a_png_chart_of_sensible_size_and_a_snapshot_is_stored(
    app: TestApp,
) {
    let t = app.team().await;
    deal(&app, &t.ann, 10_000, date(2026, 3, 20)).await;
    deal(&app, &t.bob, 30_000, date(2026, 3, 21)).await;
    digest_at(&app.service, &t.admin, 8, 30, "UTC").await;
    let sender = RecordingSender::new();
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let (ticked, delivered) = tick_and_deliver(&app.service, &sender, now).await;
    assert_eq!((ticked.digests.len(), delivered.sent), (1, 1));
    let message = &sender.accepted()[0];
    let image = message.reply.image.as_ref().expect("a chart");
    let decoder = png::Decoder::new(std::io::Cursor::new(&image.png));
    let reader = decoder.read_info().expect("a PNG that decodes");
    let info = reader.info();
    assert!((600..=2000).contains(&info.width), "{}", info.width);
    assert!((300..=1200).contains(&info.height), "{}", info.height);
    assert!(image.file_name.ends_with(".png"));
    let mut conn = app.service.store().reader().acquire().await.unwrap();
    let (snapshots, rows) = jobs::snapshot_counts(&mut conn, t.admin.tenant.id)
        .await
        .unwrap();
    assert_eq!(
        (snapshots, rows),
        (1, 2),
        "one snapshot with each open deal"
    );
    drop(conn);
    // The deals are in the first stage: pipeline-grey bars; no week-old total to mark yet.
    let first = colours(&image.png);
    assert!(
        first.contains(&PIPELINE_GREY),
        "the bars are the pipeline's"
    );
    assert!(!first.contains(&LAST_WEEK_RED), "nothing a week old yet");
    // A week later the chart marks where the weighted total stood then.
    let (ticked, _) = tick_and_deliver(&app.service, &sender, now + Duration::days(7)).await;
    assert_eq!(ticked.digests.len(), 1);
    let later = &sender.accepted()[1];
    let marked = colours(&later.reply.image.as_ref().expect("a chart").png);
    assert!(
        marked.contains(&LAST_WEEK_RED),
        "last week's total is marked"
    );
}

const PIPELINE_GREY: [u8; 3] = [150, 160, 175];
const LAST_WEEK_RED: [u8; 3] = [200, 60, 40];

/// Every colour a PNG chart uses.
fn colours(png_bytes: &[u8]) -> std::collections::HashSet<[u8; 3]> {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes))
        .read_info()
        .expect("a PNG that decodes");
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).expect("one frame");
    buf[..frame.buffer_size()]
        .chunks_exact(3)
        .map(|p| [p[0], p[1], p[2]])
        .collect()
}

/// ann's deal stalls; bob's is snoozed. Nudges at 09:00 UTC, repeated at most weekly.
async fn nudges_name_the_deal_and_next_steps_skip_snoozed_deals_and_are_not_repeated_within_the_window(
    app: TestApp,
) {
    let t = app.team().await;
    let stale = deal(&app, &t.ann, 10_000, date(2026, 6, 30)).await;
    let snoozed = deal(&app, &t.bob, 20_000, date(2026, 6, 30)).await;
    app.service
        .setup_nudges(
            &t.admin,
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            false,
            None,
            None,
        )
        .await
        .unwrap();
    app.service
        .snooze_nudges(&t.manager, snoozed.number, 30, "on it with their CFO")
        .await
        .unwrap();
    let sender = RecordingSender::new();
    // Sixteen days on, a Wednesday: both deals have stalled in Qualify (14 days) with nothing
    // logged.
    let mut now = Utc.with_ymd_and_hms(2026, 3, 18, 9, 0, 0).unwrap();
    app.clock.set(now);
    let (ticked, _) = tick_and_deliver(&app.service, &sender, now).await;
    assert_eq!(ticked.nudges.len(), 1);
    let sent = sender.accepted();
    assert_eq!(sent.len(), 1, "only the manager, mia, has reps");
    assert_eq!(sent[0].target, Target::Direct("mia".into()));
    let text = sent[0].reply.lines.join("\n");
    assert!(text.contains(&stale.number.to_string()), "{text}");
    assert!(text.contains("ann"), "{text}");
    assert!(text.contains("16 days in Qualify"), "{text}");
    assert!(text.contains("/log"), "{text}");
    assert!(
        !text.contains(&snoozed.number.to_string()),
        "snoozed: {text}"
    );
    // The next working days within the window repeat nothing, so nothing is sent.
    for _ in 0..5 {
        now += Duration::days(1);
        app.clock.set(now);
        tick_and_deliver(&app.service, &sender, now).await;
    }
    assert_eq!(sender.accepted().len(), 1, "not repeated within seven days");
    // Saturday and Sunday passed without a run; a week after the first, the nudge comes back.
    now = Utc.with_ymd_and_hms(2026, 3, 25, 9, 0, 0).unwrap();
    app.clock.set(now);
    tick_and_deliver(&app.service, &sender, now).await;
    assert_eq!(sender.accepted().len(), 2);
}

/// `/nudges setup 09:00 no 2`: the same nudge comes back after two days, not seven, and setting
/// the time again without `repeat-days` keeps the two.
async fn the_repeat_window_set_with_nudges_setup_decides_when_a_nudge_comes_back(app: TestApp) {
    let t = app.team().await;
    let stale = deal(&app, &t.ann, 10_000, date(2026, 6, 30)).await;
    let boss = caller(WORKSPACE, "boss");
    let set = execute_line(&app.service, &boss, "/nudges setup 09:00 no 2").await;
    assert_eq!(set.title, "Coaching nudges scheduled", "{set:?}");
    assert!(set.lines.join(" ").contains("within 2 days"), "{set:?}");
    let again = execute_line(&app.service, &boss, "/nudges setup 09:00").await;
    assert!(again.lines.join(" ").contains("within 2 days"), "{again:?}");
    let sender = RecordingSender::new();
    // Wednesday 18 March: ann's deal has stalled in Qualify (14 days) with its recommended
    // activities not done, so both reasons apply from the first day on.
    let mut now = Utc.with_ymd_and_hms(2026, 3, 18, 9, 0, 0).unwrap();
    let mut days_with_a_nudge = Vec::new();
    for _ in 0..6 {
        app.clock.set(now);
        let before = sender.accepted().len();
        tick_and_deliver(&app.service, &sender, now).await;
        if sender.accepted().len() > before {
            days_with_a_nudge.push(now.date_naive());
        }
        now += Duration::days(1);
    }
    assert_eq!(
        days_with_a_nudge,
        [date(2026, 3, 18), date(2026, 3, 20), date(2026, 3, 23)],
        "two days apart at least, and never on the weekend"
    );
    let text = sender.accepted()[0].reply.lines.join("\n");
    assert!(text.contains(&stale.number.to_string()), "{text}");
}

async fn only_admins_schedule_and_only_managers_preview_or_snooze(app: TestApp) {
    let t = app.team().await;
    let run = |who: &str, line: String| {
        let service = &app.service;
        let c = caller(WORKSPACE, who);
        async move { execute_line(service, &c, &line).await }
    };
    let refused = run("ann", "/digest setup managers 08:30 Europe/Berlin".into()).await;
    assert!(
        refused.lines.join(" ").contains("Only an admin"),
        "{refused:?}"
    );
    let ok = run("boss", "/digest setup managers 08:30 Europe/Berlin".into()).await;
    assert_eq!(ok.title, "Digest scheduled");
    assert!(
        ok.lines[0].contains("08:30 (Europe/Berlin)"),
        "{:?}",
        ok.lines
    );
    let preview = run("ann", "/digest preview".into()).await;
    assert!(preview.lines.join(" ").contains("for managers and admins"));
    let preview = run("mia", "/digest preview".into()).await;
    assert!(preview.ephemeral && preview.image.is_some());
    assert!(preview.title.starts_with("Forecast digest"));
    let d = deal(&app, &t.eve, 1_000, date(2026, 4, 1)).await;
    let line = format!("/nudges snooze {} 7 CFO away until the 20th", d.number);
    let not_hers = run("mia", line.clone()).await;
    // The member's name is marked as user text in the reply; read it as the console shows it.
    assert!(
        dealgate::chat::console::render(&not_hers).contains("Only eve's manager"),
        "{not_hers:?}"
    );
    let admin = run("boss", line).await;
    assert!(admin.title.ends_with("snoozed"), "{admin:?}");
    assert!(
        dealgate::chat::console::render(&admin).contains("Why: CFO away until the 20th"),
        "{admin:?}"
    );
    let no_reason = run("boss", format!("/nudges snooze {} 7", d.number)).await;
    assert!(
        no_reason.lines.join(" ").contains("needs `reason`"),
        "{no_reason:?}"
    );
}

/// On Monday 2 March a deal closing on 20 April is outside the calendar quarter (Jan–Mar) and
/// inside the fiscal one when the year starts in February (Feb–Apr).
async fn a_fiscal_year_from_february_puts_2_march_in_the_quarter_february_to_april(app: TestApp) {
    let t = app.team().await;
    deal(&app, &t.ann, 10_000, date(2026, 4, 20)).await;
    let run = |line: &str| {
        let service = &app.service;
        let c = caller(WORKSPACE, "boss");
        let line = line.to_string();
        async move { execute_line(service, &c, &line).await }
    };
    run("/digest setup managers 08:30 UTC").await;
    let calendar = app.service.preview_digest(&t.manager).await.unwrap();
    assert_eq!(calendar.quarter.from, Some(date(2026, 1, 1)));
    assert_eq!(calendar.quarter_forecast.open.count, 0);

    let set = run("/digest setup managers 08:30 UTC yes february").await;
    assert_eq!(set.title, "Digest scheduled", "{set:?}");
    assert!(
        set.lines.join(" ").contains("starts in February"),
        "{set:?}"
    );
    let fiscal = app.service.preview_digest(&t.manager).await.unwrap();
    assert_eq!(fiscal.quarter.from, Some(date(2026, 2, 1)));
    assert_eq!(fiscal.quarter_forecast.open.count, 1);

    // Setting the digest up again without the option keeps the fiscal year.
    run("/digest setup managers 09:00 UTC").await;
    let kept = app.service.schedule(t.admin.tenant.id).await.unwrap();
    assert_eq!(kept.fiscal_start_month, 2);
    let refused = run("/digest setup managers 09:00 UTC yes smarch").await;
    assert!(
        refused.lines.join(" ").contains("`smarch` is not a month"),
        "{refused:?}"
    );
}

/// One set of numbers: open, weighted, commit, best case and won for one workspace, read
/// through `/forecast`, the digest and the snapshot stored with it, agree, and so do their
/// labels, with a fiscal year starting in April (2 March 2026 is in FY2026 Q4).
async fn forecast_digest_and_snapshot_give_the_same_figures_in_a_fiscal_year_from_april(
    app: TestApp,
) {
    let t = app.team().await;
    let stage = |s: &str| s.parse::<dealgate::engine::ids::StageId>().unwrap();
    // One deal in each forecast category, closing this quarter, and one won today.
    for (euros, in_stage) in [
        (10_000, "qualify"),
        (20_000, "solution"),
        (40_000, "negotiate"),
    ] {
        app.service
            .create_deal(
                &t.manager,
                "Deal",
                Money::from_major(euros).unwrap(),
                date(2026, 3, 20),
                Some(&support::user("ann")),
                Some(&stage(in_stage)),
            )
            .await
            .unwrap();
    }
    let won = deal(&app, &t.bob, 5_000, date(2026, 3, 25)).await;
    app.service
        .won(&t.manager, won.number, Some("signed on the spot"))
        .await
        .unwrap();
    // Outside the fiscal year (April 2025 to March 2026) though inside the calendar one.
    deal(&app, &t.ann, 70_000, date(2026, 5, 10)).await;
    let run = |line: &str| {
        let service = &app.service;
        let c = caller(WORKSPACE, "boss");
        let line = line.to_string();
        async move { execute_line(service, &c, &line).await }
    };
    run("/digest setup managers 08:30 UTC fiscal-start:april").await;

    let view = app.service.forecast(&t.admin, None, None).await.unwrap();
    let digest = app.service.preview_digest(&t.manager).await.unwrap();
    let sender = RecordingSender::new();
    let eight_thirty = Utc.with_ymd_and_hms(2026, 3, 2, 8, 30, 0).unwrap();
    app.clock.set(eight_thirty);
    let (ticked, _) = tick_and_deliver(&app.service, &sender, eight_thirty).await;
    assert_eq!(ticked.digests.len(), 1);
    let mut conn = app.service.store().reader().acquire().await.unwrap();
    let stored: (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT open_amount, weighted, commit_amount, best_case, won_amount \
         FROM forecast_snapshots",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();

    let cents = |euros: i128| euros * 100;
    // open 70,000; weighted 10% + 40% + 80%; commit 40,000; best case with commit 60,000.
    let expected = (
        cents(70_000),
        cents(1_000 + 8_000 + 32_000),
        cents(40_000),
        cents(60_000),
        cents(5_000),
    );
    let figures = |f: &dealgate::engine::forecast::Forecast| {
        (
            f.open_amount(),
            f.weighted(),
            f.commit(),
            f.best_case(),
            f.won_amount(),
        )
    };
    assert_eq!(figures(&view.forecast), expected, "/forecast");
    assert_eq!(figures(&digest.quarter_forecast), expected, "the digest");
    let (open, weighted, commit, best, won_amount) = stored;
    assert_eq!(
        (
            i128::from(open),
            i128::from(weighted),
            i128::from(commit),
            i128::from(best),
            i128::from(won_amount)
        ),
        expected,
        "the snapshot"
    );
    assert_eq!(view.period.label, digest.quarter.label);
    assert!(
        view.period.label.starts_with("FY2026 Q4"),
        "{}",
        view.period.label
    );

    // What people read says the same: the forecast's card and the digest's headline.
    let forecast_text = dealgate::chat::console::render(&run("/forecast").await);
    assert!(
        forecast_text.contains("Best case (with commit): EUR 60,000"),
        "{forecast_text}"
    );
    let digest_text = dealgate::chat::console::render(&sender.accepted()[0].reply);
    assert!(
        digest_text.contains("commit EUR 40,000 · best case (with commit) EUR 60,000"),
        "{digest_text}"
    );
    // `this-year` is the fiscal year too: the deal closing in May is not in FY2026.
    let year = app
        .service
        .forecast(
            &t.admin,
            Some(dealgate::engine::forecast::PeriodSpec::ThisYear),
            None,
        )
        .await
        .unwrap();
    assert!(
        year.period.label.starts_with("FY2026 (Apr 1, 2025"),
        "{}",
        year.period.label
    );
    assert_eq!(year.forecast.open_amount(), cents(70_000));
}
