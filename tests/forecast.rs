//! `/forecast` figures against totals worked out by hand from the deals each test creates, on
//! SQLite and on PostgreSQL (`NAME::on_sqlite`, `NAME::on_postgres`).

mod support;

use chrono::NaiveDate;
use dealgate::engine::forecast::PeriodSpec;
use dealgate::engine::ids::{DealNumber, Money};
use dealgate::service::{FieldValue, Session};
use support::{Team, TestApp, user};

on_both_backends!(
    this_quarter_for_everyone_counts_open_deals_closing_in_the_quarter_and_the_won_ones,
    all_open_deals_include_every_close_date,
    a_forecast_for_one_owner_and_the_managers_team,
    next_month_and_a_named_quarter_select_by_close_date,
);

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

async fn deal(
    app: &TestApp,
    who: &Session,
    name: &str,
    major: i64,
    close: NaiveDate,
) -> DealNumber {
    app.service
        .create_deal(
            who,
            name,
            Money::from_major(major).unwrap(),
            close,
            None,
            None,
        )
        .await
        .unwrap()
        .deal
        .number
}

/// Deals as of Monday 2 March 2026 (fiscal = calendar year, so this quarter is Jan–Mar):
/// ann: A 10,000 in Qualify (10%) closing 20 Mar; B 20,000 in Solution (40%) closing 25 Mar.
/// bob: C 50,000 in Qualify closing 10 May (next quarter); D 30,000 won today.
/// eve: E 5,000 lost today.
async fn pipeline(app: &TestApp) -> Team {
    let t = app.team().await;
    deal(app, &t.ann, "A", 10_000, date(2026, 3, 20)).await;
    let b = deal(app, &t.ann, "B", 20_000, date(2026, 3, 25)).await;
    let activity = |s: &str| s.parse().unwrap();
    app.service
        .log_activity(&t.ann, b, &activity("discovery-call"), None)
        .await
        .unwrap();
    app.service.advance(&t.ann, b, None, None).await.unwrap();
    deal(app, &t.bob, "C", 50_000, date(2026, 5, 10)).await;
    let d = deal(app, &t.bob, "D", 30_000, date(2026, 3, 30)).await;
    app.service
        .log_activity(&t.bob, d, &activity("discovery-call"), None)
        .await
        .unwrap();
    app.service
        .log_activity(&t.bob, d, &activity("proposal-sent"), None)
        .await
        .unwrap();
    let champion = FieldValue::Text("Priya, VP Operations".into());
    app.service
        .set_field(&t.bob, d, &"champion".parse().unwrap(), champion)
        .await
        .unwrap();
    app.service.won(&t.bob, d, None).await.unwrap();
    let e = deal(app, &t.eve, "E", 5_000, date(2026, 3, 15)).await;
    app.service.lost(&t.eve, e, "No budget").await.unwrap();
    t
}

const CENTS: i128 = 100;

async fn this_quarter_for_everyone_counts_open_deals_closing_in_the_quarter_and_the_won_ones(
    app: TestApp,
) {
    let t = pipeline(&app).await;
    let view = app.service.forecast(&t.admin, None, None).await.unwrap();
    let f = &view.forecast;
    assert!(
        view.period.label.starts_with("2026 Q1"),
        "{}",
        view.period.label
    );
    assert_eq!(f.open.count, 2, "A and B; C closes next quarter, E is lost");
    assert_eq!(f.open.amount, 30_000 * CENTS);
    assert_eq!(
        f.open.weighted_minor(),
        (1_000 + 8_000) * CENTS,
        "10% of 10,000 + 40% of 20,000"
    );
    assert_eq!((f.won.count, f.won.amount), (1, 30_000 * CENTS));
    let stage = |id: &str| f.by_stage.iter().find(|(s, _)| s.as_str() == id).unwrap().1;
    assert_eq!(
        (stage("qualify").count, stage("qualify").amount),
        (1, 10_000 * CENTS)
    );
    assert_eq!(
        (stage("solution").count, stage("solution").amount),
        (1, 20_000 * CENTS)
    );
    assert_eq!(stage("negotiate").count, 0, "empty stages are listed too");
    assert_eq!(f.by_owner.len(), 1);
    assert_eq!(f.by_owner[0].0, "ann");
}

async fn all_open_deals_include_every_close_date(app: TestApp) {
    let t = pipeline(&app).await;
    let f = app
        .service
        .forecast(&t.admin, Some(PeriodSpec::All), None)
        .await
        .unwrap()
        .forecast;
    assert_eq!(f.open.count, 3);
    assert_eq!(f.open.amount, 80_000 * CENTS);
    assert_eq!(f.open.weighted_minor(), (1_000 + 8_000 + 5_000) * CENTS);
    let months: Vec<String> = f.by_month.iter().map(|(m, _)| m.to_string()).collect();
    assert_eq!(months, ["2026-03", "2026-05"]);
    let commit: i128 = f.by_category.iter().map(|(_, t)| t.amount).sum();
    assert_eq!(
        commit, f.open.amount,
        "every open deal is in exactly one category"
    );
}

async fn a_forecast_for_one_owner_and_the_managers_team(app: TestApp) {
    let t = pipeline(&app).await;
    let bob = app
        .service
        .forecast(&t.manager, Some(PeriodSpec::All), Some(&user("bob")))
        .await
        .unwrap();
    assert_eq!(bob.scope, "bob");
    assert_eq!(
        (bob.forecast.open.count, bob.forecast.open.amount),
        (1, 50_000 * CENTS)
    );
    let team = app
        .service
        .forecast(&t.manager, Some(PeriodSpec::All), None)
        .await
        .unwrap();
    assert_eq!(team.scope, "your team");
    assert_eq!(
        team.forecast.open.amount,
        80_000 * CENTS,
        "ann and bob report to mia"
    );
    let mine = app
        .service
        .forecast(&t.eve, Some(PeriodSpec::All), None)
        .await
        .unwrap();
    assert_eq!(mine.forecast.open.count, 0, "a rep sees their own deals");
}

async fn next_month_and_a_named_quarter_select_by_close_date(app: TestApp) {
    let t = pipeline(&app).await;
    let may = app
        .service
        .forecast(
            &t.admin,
            Some(PeriodSpec::Month {
                year: 2026,
                month: 5,
            }),
            None,
        )
        .await
        .unwrap();
    assert_eq!(may.forecast.open.amount, 50_000 * CENTS);
    assert!(
        may.period.label.starts_with("May 2026"),
        "{}",
        may.period.label
    );
    let q2 = app
        .service
        .forecast(
            &t.admin,
            Some(PeriodSpec::Quarter {
                year: 2026,
                quarter: 2,
            }),
            None,
        )
        .await
        .unwrap();
    assert_eq!(q2.forecast.open.count, 1);
    assert_eq!(q2.forecast.won.count, 0, "D was won in Q1");
}
