//! The service over a real database: use cases, authorization, refusals and concurrency. Each
//! test runs twice, `NAME::on_sqlite` and `NAME::on_postgres` (see `on_both_backends!`).

mod support;

use chrono::{Duration, NaiveDate};
use dealgate::chat::console::caller;
use dealgate::clock::Clock;
use dealgate::engine::deal::{ActivityEntry, DealStatus};
use dealgate::engine::gates::Remedy;
use dealgate::engine::ids::{DealNumber, Money};
use dealgate::engine::playbook::Role;
use dealgate::engine::transition::Refusal;
use dealgate::service::{FieldValue, ServiceError, Session};
use dealgate::store::deals;
use support::{TestApp, user};

on_both_backends!(
    the_first_member_is_admin_and_later_ones_are_reps,
    deals_are_numbered_per_workspace_starting_at_one,
    advance_is_refused_with_every_missing_requirement_and_the_deal_stays_put,
    meeting_the_gates_lets_the_deal_advance_and_reports_the_new_probability,
    a_large_deal_needs_the_managers_approval_and_the_rep_cannot_give_it,
    a_small_deal_skips_the_conditional_approval,
    only_a_manager_of_the_owner_can_override_and_the_override_is_on_the_record,
    reps_act_only_on_their_own_deals_and_managers_on_their_reps,
    only_admins_change_roles,
    bad_input_is_refused_with_what_would_be_right_and_changes_nothing,
    a_closed_deal_cannot_change,
    won_requires_the_gates_of_every_stage_left_on_the_way_or_a_managers_override,
    moving_back_needs_a_reason_and_an_earlier_stage,
    two_tasks_advancing_the_same_deal_at_once_leave_exactly_one_stage_change,
    a_stale_version_is_a_conflict_and_writes_nothing,
    a_deal_stalls_after_the_stage_threshold,
    deal_list_shows_a_rep_their_own_and_a_manager_their_team,
    closing_dates_a_deal_the_day_it_closed_and_keeps_the_expected_date_in_its_history,
    approving_twice_in_one_stage_records_one_approval,
    each_sees_the_deals_they_may_act_on_until_an_admin_opens_the_pipeline,
    a_long_history_is_read_as_its_latest_activities_and_a_count_of_each,
    a_command_about_a_deal_reads_it_with_the_caller_and_only_from_the_callers_workspace,
    only_the_bookkeeping_commits_without_waiting_for_the_disk,
);

fn eur(major: i64) -> Money {
    Money::from_major(major).unwrap()
}

fn text(s: &str) -> FieldValue {
    FieldValue::Text(s.to_string())
}

fn close() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()
}

async fn new_deal(app: &TestApp, who: &Session, name: &str, amount: i64) -> DealNumber {
    app.service
        .create_deal(who, name, eur(amount), close(), None, None)
        .await
        .expect("create deal")
        .deal
        .number
}

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().unwrap()
}

async fn the_first_member_is_admin_and_later_ones_are_reps(app: TestApp) {
    assert_eq!(app.session("first").await.member.role, Role::Admin);
    assert_eq!(app.session("second").await.member.role, Role::Rep);
    assert_eq!(
        app.session("first").await.member.role,
        Role::Admin,
        "roles persist"
    );
}

async fn deals_are_numbered_per_workspace_starting_at_one(app: TestApp) {
    let t = app.team().await;
    assert_eq!(
        new_deal(&app, &t.ann, "Acme", 5000).await.to_string(),
        "deal-1"
    );
    assert_eq!(
        new_deal(&app, &t.bob, "Beta", 5000).await.to_string(),
        "deal-2"
    );
    let other = app
        .service
        .session(&dealgate::chat::console::caller("other-workspace", "zed"))
        .await
        .unwrap();
    assert_eq!(
        new_deal(&app, &other, "Gamma", 5000).await.to_string(),
        "deal-1"
    );
    let err = app
        .service
        .show_deal(&other, id("deal-2"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::DealNotFound(_)),
        "no query crosses workspaces: {err}"
    );
}

async fn advance_is_refused_with_every_missing_requirement_and_the_deal_stays_put(app: TestApp) {
    let t = app.team().await;
    let n = app
        .service
        .create_deal(
            &t.ann,
            "Acme",
            Money::from_minor(0).unwrap(),
            close(),
            None,
            None,
        )
        .await
        .unwrap()
        .deal
        .number;
    let err = app
        .service
        .advance(&t.ann, n, None, None)
        .await
        .unwrap_err();
    let ServiceError::Move {
        refusal: Refusal::GatesUnmet {
            unmet, suggestions, ..
        },
        ..
    } = err
    else {
        panic!("expected unmet gates, got {err}");
    };
    assert_eq!(
        unmet.len(),
        2,
        "discovery call and a positive amount: {unmet:?}"
    );
    assert!(
        matches!(&unmet[0].remedy, Remedy::LogActivity { activity, .. } if activity.as_str() == "discovery-call")
    );
    assert!(
        matches!(&unmet[1].remedy, Remedy::SetField { field, .. } if field.as_str() == "amount")
    );
    assert!(suggestions.iter().any(|s| s.as_str() == "pain-identified"));
    assert!(
        !suggestions.iter().any(|s| s.as_str() == "discovery-call"),
        "a requirement is not also a suggestion"
    );
    let view = app.service.show_deal(&t.ann, n).await.unwrap();
    assert_eq!(view.deal.stage.as_str(), "qualify");
    assert_eq!(view.history.len(), 1, "only the creation is in the history");
}

async fn meeting_the_gates_lets_the_deal_advance_and_reports_the_new_probability(app: TestApp) {
    let t = app.team().await;
    let n = new_deal(&app, &t.ann, "Acme", 50_000).await;
    let logged = app
        .service
        .log_activity(&t.ann, n, &id("discovery-call"), Some("met the CFO"))
        .await
        .unwrap();
    // Replies are built without reading the deal again; they must show the deal as stored.
    let shown = app.service.show_deal(&t.ann, n).await.unwrap();
    assert_eq!(shown.recent_activities.len(), 1);
    assert_eq!(
        shown.recent_activities[0].note.as_deref(),
        Some("met the CFO")
    );
    assert_eq!(format!("{:?}", logged.view), format!("{shown:?}"));
    let moved = app.service.advance(&t.ann, n, None, None).await.unwrap();
    assert_eq!(moved.transition.to.as_str(), "solution");
    assert_eq!(
        moved.weighted_before,
        5_000 * 100,
        "10% of 50,000, in cents"
    );
    assert_eq!(
        moved.weighted_after,
        20_000 * 100,
        "40% of 50,000, in cents"
    );
    assert!(moved.transition.overridden.is_empty());
    assert_eq!(moved.view.deal.version, 2);
    let shown = app.service.show_deal(&t.ann, n).await.unwrap();
    assert_eq!(shown.history.len(), 2, "created, then advanced");
    assert_eq!(format!("{:?}", moved.view), format!("{shown:?}"));
}

async fn a_large_deal_needs_the_managers_approval_and_the_rep_cannot_give_it(app: TestApp) {
    let t = app.team().await;
    let n = new_deal(&app, &t.ann, "Big Co", 250_000).await;
    app.service
        .log_activity(&t.ann, n, &id("discovery-call"), None)
        .await
        .unwrap();
    app.service.advance(&t.ann, n, None, None).await.unwrap();
    app.service
        .set_field(
            &t.ann,
            n,
            &id("champion"),
            text("Priya, VP Ops, sponsors the pilot"),
        )
        .await
        .unwrap();
    let err = app
        .service
        .advance(&t.ann, n, None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::Move { refusal: Refusal::GatesUnmet { unmet, .. }, .. }
        if unmet.len() == 1 && matches!(unmet[0].remedy, Remedy::Approval { .. })),
        "{err:?}"
    );
    let err = app.service.approve(&t.ann, n, None).await.unwrap_err();
    assert!(matches!(err, ServiceError::Forbidden(_)), "{err}");
    let err = app.service.approve(&t.eve, n, None).await.unwrap_err();
    assert!(
        matches!(err, ServiceError::Forbidden(_)),
        "another rep cannot approve: {err}"
    );
    app.service
        .approve(&t.manager, n, Some("pricing reviewed"))
        .await
        .unwrap();
    let moved = app.service.advance(&t.ann, n, None, None).await.unwrap();
    assert_eq!(moved.transition.to.as_str(), "negotiate");
}

async fn a_small_deal_skips_the_conditional_approval(app: TestApp) {
    let t = app.team().await;
    let n = new_deal(&app, &t.ann, "Small Co", 20_000).await;
    app.service
        .log_activity(&t.ann, n, &id("discovery-call"), None)
        .await
        .unwrap();
    app.service.advance(&t.ann, n, None, None).await.unwrap();
    app.service
        .set_field(&t.ann, n, &id("champion"), text("Priya, VP Ops"))
        .await
        .unwrap();
    assert_eq!(
        app.service
            .advance(&t.ann, n, None, None)
            .await
            .unwrap()
            .transition
            .to
            .as_str(),
        "negotiate"
    );
}

async fn only_a_manager_of_the_owner_can_override_and_the_override_is_on_the_record(app: TestApp) {
    let t = app.team().await;
    let n = new_deal(&app, &t.ann, "Acme", 50_000).await;
    let err = app
        .service
        .advance(&t.ann, n, None, Some("trust me"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Forbidden(_)),
        "a rep cannot override: {err}"
    );
    let err = app
        .service
        .advance(&t.manager, n, None, Some("  "))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::Move {
                refusal: Refusal::ReasonRequired,
                ..
            }
        ),
        "{err:?}"
    );
    let moved = app
        .service
        .advance(&t.manager, n, None, Some("CFO call happened offline"))
        .await
        .unwrap();
    assert_eq!(moved.transition.overridden.len(), 1);
    let last = moved.view.history.last().unwrap();
    assert!(last.overridden);
    assert_eq!(last.reason.as_deref(), Some("CFO call happened offline"));
    assert!(
        last.overridden_gates
            .iter()
            .any(|g| g.contains("discovery")),
        "{:?}",
        last.overridden_gates
    );
    assert_eq!(last.actor_id, t.manager.member.id);
}

async fn reps_act_only_on_their_own_deals_and_managers_on_their_reps(app: TestApp) {
    let t = app.team().await;
    let n = new_deal(&app, &t.ann, "Acme", 50_000).await;
    for err in [
        app.service
            .log_activity(&t.bob, n, &id("discovery-call"), None)
            .await
            .unwrap_err(),
        app.service
            .set_field(&t.eve, n, &id("amount"), FieldValue::Amount(eur(1)))
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(err, ServiceError::Forbidden(_)), "{err}");
    }
    app.service
        .log_activity(&t.manager, n, &id("discovery-call"), None)
        .await
        .unwrap();
    app.service
        .set_field(&t.admin, n, &id("amount"), FieldValue::Amount(eur(60_000)))
        .await
        .unwrap();
    let eves = new_deal(&app, &t.eve, "Eve's", 1_000).await;
    let err = app
        .service
        .log_activity(&t.manager, eves, &id("discovery-call"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Forbidden(_)),
        "mia does not manage eve: {err}"
    );
}

async fn only_admins_change_roles(app: TestApp) {
    let t = app.team().await;
    let err = app
        .service
        .set_team_role(
            &t.manager,
            &user("ann"),
            dealgate::engine::playbook::Role::Admin,
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Forbidden(_)), "{err}");
    let err = app
        .service
        .set_team_role(
            &t.admin,
            &user("nobody"),
            dealgate::engine::playbook::Role::Rep,
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::UnknownUser { .. }), "{err}");
}

async fn bad_input_is_refused_with_what_would_be_right_and_changes_nothing(app: TestApp) {
    let t = app.team().await;
    let n = new_deal(&app, &t.ann, "Acme", 50_000).await;
    let past = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    // More than five years ahead of the test clock's today.
    let far = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
    let cases = [
        app.service
            .create_deal(&t.ann, "Old", eur(5), past, None, None)
            .await
            .map(|_| ()),
        app.service
            .create_deal(&t.ann, &"x".repeat(121), eur(5), close(), None, None)
            .await
            .map(|_| ()),
        app.service
            .create_deal(
                &t.ann,
                "Late",
                eur(5),
                close(),
                None,
                Some(&id("negotiate")),
            )
            .await
            .map(|_| ()),
        app.service
            .create_deal(
                &t.ann,
                "Nowhere",
                eur(5),
                close(),
                None,
                Some(&id("nowhere")),
            )
            .await
            .map(|_| ()),
        app.service
            .log_activity(&t.ann, n, &id("karaoke"), None)
            .await
            .map(|_| ()),
        app.service
            .log_activity(&t.ann, id("deal-99"), &id("demo"), None)
            .await
            .map(|_| ()),
        app.service
            .set_field(&t.ann, n, &id("colour"), text("blue"))
            .await
            .map(|_| ()),
        app.service
            .set_field(&t.ann, n, &id("amount"), text("lots"))
            .await
            .map(|_| ()),
        app.service
            .set_field(&t.ann, n, &id("close_date"), FieldValue::CloseDate(past))
            .await
            .map(|_| ()),
        app.service
            .create_deal(&t.ann, "Someday", eur(5), far, None, None)
            .await
            .map(|_| ()),
        app.service
            .set_field(&t.ann, n, &id("close_date"), FieldValue::CloseDate(far))
            .await
            .map(|_| ()),
        app.service
            .log_activity(&t.ann, n, &id("demo"), Some(&"n".repeat(1001)))
            .await
            .map(|_| ()),
        app.service
            .back(&t.ann, n, &id("negotiate"), "why not")
            .await
            .map(|_| ()),
        app.service.lost(&t.ann, n, " ").await.map(|_| ()),
    ];
    for (i, result) in cases.into_iter().enumerate() {
        let err = result.expect_err(&format!("case {i} should be refused"));
        assert!(!err.is_internal(), "case {i}: {err:?}");
        assert!(
            err.to_string().len() > 20,
            "case {i} explains itself: {err}"
        );
    }
    let view = app.service.show_deal(&t.ann, n).await.unwrap();
    assert_eq!(view.deal.version, 1, "nothing changed");
    assert!(view.recent_activities.is_empty());
}

async fn a_closed_deal_cannot_change(app: TestApp) {
    let t = app.team().await;
    let n = new_deal(&app, &t.ann, "Acme", 50_000).await;
    let moved = app
        .service
        .lost(&t.ann, n, "No budget this year")
        .await
        .unwrap();
    assert_eq!(moved.view.deal.status, DealStatus::Lost);
    assert_eq!(moved.view.deal.stage.as_str(), "closed-lost");
    for err in [
        app.service
            .advance(&t.ann, n, None, None)
            .await
            .unwrap_err(),
        app.service
            .log_activity(&t.ann, n, &id("demo"), None)
            .await
            .unwrap_err(),
        app.service
            .set_field(&t.ann, n, &id("amount"), FieldValue::Amount(eur(5)))
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(err, ServiceError::DealClosed { .. }), "{err}");
    }
}

async fn won_requires_the_gates_of_every_stage_left_on_the_way_or_a_managers_override(
    app: TestApp,
) {
    let t = app.team().await;
    let n = new_deal(&app, &t.ann, "Acme", 50_000).await;
    app.service
        .log_activity(&t.ann, n, &id("discovery-call"), None)
        .await
        .unwrap();
    let err = app.service.won(&t.ann, n, None).await.unwrap_err();
    let ServiceError::Move {
        refusal: Refusal::GatesUnmet { unmet, .. },
        ..
    } = err
    else {
        panic!("{err}")
    };
    let stages: Vec<&str> = unmet.iter().map(|c| c.stage.as_str()).collect();
    assert_eq!(
        stages,
        ["solution", "negotiate"],
        "champion, then the proposal"
    );
    // Only the owner's manager passes them, with a reason that stays on the record.
    let err = app
        .service
        .won(&t.ann, n, Some("signed anyway"))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Forbidden(_)), "{err}");
    let won = app
        .service
        .won(&t.manager, n, Some("signed before the proposal was logged"))
        .await
        .unwrap();
    assert_eq!(won.view.deal.status, DealStatus::Won);
    assert_eq!(won.transition.overridden.len(), 2);
    let last = won.view.history.last().unwrap();
    assert!(last.overridden);
    assert_eq!(
        last.reason.as_deref(),
        Some("signed before the proposal was logged")
    );
}

async fn moving_back_needs_a_reason_and_an_earlier_stage(app: TestApp) {
    let t = app.team().await;
    let n = new_deal(&app, &t.ann, "Acme", 50_000).await;
    app.service
        .log_activity(&t.ann, n, &id("discovery-call"), None)
        .await
        .unwrap();
    app.service.advance(&t.ann, n, None, None).await.unwrap();
    app.clock.advance(Duration::days(3));
    let moved = app
        .service
        .back(&t.ann, n, &id("qualify"), "Budget was cut")
        .await
        .unwrap();
    assert_eq!(moved.view.deal.stage.as_str(), "qualify");
    assert_eq!(
        moved.view.days_in_stage, 0,
        "the clock restarts in the stage"
    );
    let kinds: Vec<Option<&str>> = moved
        .view
        .history
        .iter()
        .map(|h| h.kind.map(|k| k.as_str()))
        .collect();
    assert_eq!(kinds, [None, Some("advance"), Some("back")]);
}

async fn two_tasks_advancing_the_same_deal_at_once_leave_exactly_one_stage_change(app: TestApp) {
    let t = app.team().await;
    let n = new_deal(&app, &t.ann, "Acme", 50_000).await;
    app.service
        .log_activity(&t.ann, n, &id("discovery-call"), None)
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        app.service.advance(&t.ann, n, None, None),
        app.service.advance(&t.ann, n, None, None)
    );
    let ok = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        ok, 1,
        "one advances; the other finds the champion gate of Solution unmet: {a:?} {b:?}"
    );
    let view = app.service.show_deal(&t.ann, n).await.unwrap();
    assert_eq!(view.deal.stage.as_str(), "solution");
    let advances = view
        .history
        .iter()
        .filter(|h| h.kind.is_some_and(|k| k.as_str() == "advance"))
        .count();
    assert_eq!(advances, 1);
}

async fn a_stale_version_is_a_conflict_and_writes_nothing(app: TestApp) {
    let t = app.team().await;
    let n = new_deal(&app, &t.ann, "Acme", 50_000).await;
    let mut conn = app.service.store().begin().await.unwrap();
    let mut first = deals::get(&mut conn, t.ann.tenant.id, n)
        .await
        .unwrap()
        .unwrap();
    let mut stale = first.clone();
    first.name = "Acme Group".into();
    deals::update(&mut conn, &mut first, app.clock.now())
        .await
        .unwrap();
    stale.name = "Lost write".into();
    let err = deals::update(&mut conn, &mut stale, app.clock.now())
        .await
        .unwrap_err();
    assert!(matches!(err, dealgate::store::StoreError::Conflict));
    conn.commit().await.unwrap();
    assert_eq!(
        app.service.show_deal(&t.ann, n).await.unwrap().deal.name,
        "Acme Group"
    );
}

async fn a_deal_stalls_after_the_stage_threshold(app: TestApp) {
    let t = app.team().await;
    let n = new_deal(&app, &t.ann, "Acme", 50_000).await;
    app.clock.advance(Duration::days(14));
    assert!(
        !app.service.show_deal(&t.ann, n).await.unwrap().stalled,
        "14 days is the threshold itself"
    );
    app.clock.advance(Duration::days(1));
    let view = app.service.show_deal(&t.ann, n).await.unwrap();
    assert!(view.stalled);
    assert_eq!(view.days_in_stage, 15);
}

async fn deal_list_shows_a_rep_their_own_and_a_manager_their_team(app: TestApp) {
    let t = app.team().await;
    new_deal(&app, &t.ann, "Ann's", 1_000).await;
    new_deal(&app, &t.bob, "Bob's", 1_000).await;
    new_deal(&app, &t.eve, "Eve's", 1_000).await;
    let names = |list: Vec<dealgate::service::DealSummary>| {
        list.into_iter().map(|s| s.deal.name).collect::<Vec<_>>()
    };
    assert_eq!(
        names(app.service.list_deals(&t.ann, None, None).await.unwrap()),
        ["Ann's"]
    );
    let mut team = names(
        app.service
            .list_deals(&t.manager, None, None)
            .await
            .unwrap(),
    );
    team.sort();
    assert_eq!(team, ["Ann's", "Bob's"]);
    assert_eq!(
        app.service
            .list_deals(&t.admin, None, None)
            .await
            .unwrap()
            .len(),
        3
    );
    // Another rep's list is theirs to see (and their manager's, and an admin's).
    assert!(
        app.service
            .list_deals(&t.ann, Some(&user("eve")), None)
            .await
            .is_err()
    );
    assert_eq!(
        names(
            app.service
                .list_deals(&t.admin, Some(&user("eve")), None)
                .await
                .unwrap()
        ),
        ["Eve's"]
    );
}

/// The `close_date` rows of a deal's field history: (old, new).
async fn close_date_history(app: &TestApp, n: DealNumber) -> Vec<(Option<String>, String)> {
    let mut conn = app.service.store().reader().acquire().await.unwrap();
    sqlx::query_as(
        "SELECT f.old_value, f.new_value FROM field_changes f JOIN deals d ON d.id = f.deal_id \
         WHERE d.number = $1 AND f.field = 'close_date' ORDER BY f.id",
    )
    .bind(i64::from(n.get()))
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

async fn closing_dates_a_deal_the_day_it_closed_and_keeps_the_expected_date_in_its_history(
    app: TestApp,
) {
    let t = app.team().await;
    let today = app.clock.now().date_naive();
    let expected = today + Duration::days(40);
    let mut numbers = Vec::new();
    for name in ["Won through chat", "Lost in the console"] {
        let view = app
            .service
            .create_deal(&t.ann, name, eur(5_000), expected, None, None)
            .await
            .unwrap();
        numbers.push(view.deal.number);
    }
    // One close comes from a chat delivery (its effect is recorded in the same script), one
    // from the console.
    let mut chat = t.manager.clone();
    chat.delivery = Some(dealgate::service::Delivery::new(
        dealgate::service::Platform::Discord,
        "close-1",
    ));
    let won = app
        .service
        .won(&chat, numbers[0], Some("signed early"))
        .await
        .unwrap();
    let lost = app
        .service
        .lost(&t.ann, numbers[1], "went with a competitor")
        .await
        .unwrap();
    for (n, moved) in numbers.iter().zip([won, lost]) {
        assert_eq!(moved.view.deal.close_date, today);
        let stored = app.service.show_deal(&t.manager, *n).await.unwrap();
        assert_eq!(stored.deal.close_date, today);
        assert_eq!(
            close_date_history(&app, *n).await,
            [(Some(expected.to_string()), today.to_string())]
        );
    }
    // The same delivery again is not applied twice: no second history row either.
    let again = app
        .service
        .won(&chat, numbers[0], Some("signed early"))
        .await;
    assert!(again.is_err());
    assert_eq!(close_date_history(&app, numbers[0]).await.len(), 1);
}

async fn approving_twice_in_one_stage_records_one_approval(app: TestApp) {
    let t = app.team().await;
    let n = new_deal(&app, &t.ann, "Acme", 50_000).await;
    app.service
        .approve(&t.manager, n, Some("checked"))
        .await
        .unwrap();
    let err = app
        .service
        .approve(&t.manager, n, Some("checked again"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::AlreadyApproved { by, .. } if by.contains(&t.manager.member.display_name)),
        "{err:?}"
    );
    // An admin's approval meets gates a manager's does not: it is recorded.
    app.service.approve(&t.admin, n, None).await.unwrap();
    let mut conn = app.service.store().reader().acquire().await.unwrap();
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM approvals")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(count, 2);
    // After the deal leaves the stage and comes back, approving counts again.
    app.clock.advance(Duration::hours(1));
    app.service
        .log_activity(&t.ann, n, &id("discovery-call"), None)
        .await
        .unwrap();
    app.service.advance(&t.ann, n, None, None).await.unwrap();
    app.service
        .back(&t.ann, n, &id("qualify"), "budget moved")
        .await
        .unwrap();
    app.clock.advance(Duration::hours(1));
    app.service.approve(&t.manager, n, None).await.unwrap();
}

/// Hole 6 of the process issue: a rep read anyone's deal, list and forecast. Now every read
/// follows who may act on the deal (rep: own; manager: their reps' and own; admin: all), and
/// an admin's `/team visibility yes` opens every deal to everyone, read only.
async fn each_sees_the_deals_they_may_act_on_until_an_admin_opens_the_pipeline(app: TestApp) {
    let t = app.team().await;
    let bobs = new_deal(&app, &t.bob, "Bob's deal", 40_000).await;
    new_deal(&app, &t.ann, "Ann's deal", 20_000).await;
    let all = Some(dealgate::engine::forecast::PeriodSpec::All);
    let forbidden = |r: Result<_, ServiceError>| match r {
        Err(ServiceError::Forbidden(why)) => why,
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("a rep read another rep's deals"),
    };
    for (who, can) in [
        (&t.ann, false),
        (&t.eve, false),
        (&t.manager, true),
        (&t.admin, true),
    ] {
        let shown = app.service.show_deal(who, bobs).await;
        let listed = app.service.list_deals(who, Some(&user("bob")), None).await;
        let forecast = app.service.forecast(who, all, Some(&user("bob"))).await;
        let suggested = app.service.suggest_deals(who, "Bob").await.unwrap();
        let name = &who.member.display_name;
        if can {
            assert_eq!(shown.unwrap().deal.number, bobs, "{name}");
            assert_eq!(listed.unwrap().len(), 1, "{name}");
            assert_eq!(forecast.unwrap().forecast.open.count, 1, "{name}");
            assert_eq!(suggested.len(), 1, "{name}");
        } else {
            let why = forbidden(shown.map(|_| ()));
            assert!(why.contains("/team visibility yes"), "{why}");
            forbidden(listed.map(|_| ()));
            forbidden(forecast.map(|_| ()));
            assert!(suggested.is_empty(), "{name}: {suggested:?}");
        }
    }
    // A refused write does not say whose a deal is to someone who may not see it.
    let why = forbidden(
        app.service
            .set_field(&t.ann, bobs, &"name".parse().unwrap(), text("Mine now"))
            .await
            .map(|_| ()),
    );
    assert!(!why.contains("bob"), "{why}");
    // Only an admin opens the pipeline.
    let err = app
        .service
        .set_team_visibility(&t.manager, true)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Forbidden(_)), "{err}");
    app.service
        .set_team_visibility(&t.admin, true)
        .await
        .unwrap();
    let ann = app.session("ann").await;
    assert_eq!(
        app.service.show_deal(&ann, bobs).await.unwrap().deal.number,
        bobs
    );
    assert_eq!(
        app.service
            .list_deals(&ann, Some(&user("bob")), None)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.service.suggest_deals(&ann, "Bob").await.unwrap().len(),
        1
    );
    // Read only: acting on it keeps its rule.
    let err = app
        .service
        .set_field(&ann, bobs, &"name".parse().unwrap(), text("Mine now"))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Forbidden(_)), "{err}");
    // Closed again, closed for everyone.
    app.service
        .set_team_visibility(&t.admin, false)
        .await
        .unwrap();
    let ann = app.session("ann").await;
    forbidden(app.service.show_deal(&ann, bobs).await.map(|_| ()));
}

async fn a_long_history_is_read_as_its_latest_activities_and_a_count_of_each(app: TestApp) {
    let t = app.team().await;
    let n = new_deal(&app, &t.ann, "Acme", 50_000).await;
    for i in 0..15 {
        let activity = if i < 5 {
            "discovery-call"
        } else {
            "pain-identified"
        };
        app.service
            .log_activity(&t.ann, n, &id(activity), Some(&format!("n{i}")))
            .await
            .unwrap();
    }
    // The view shows the latest, and the gates count every one.
    let shown = app.service.show_deal(&t.ann, n).await.unwrap();
    assert_eq!(notes_of(&shown.recent_activities), ["n14"]);
    assert!(shown.checks[0].met, "{:?}", shown.checks[0]);

    // What a command reads: the latest activity and one counted entry per activity and stage.
    let (_, _, records) = deals::get_with_records(app.service.store(), t.ann.tenant.id, n)
        .await
        .unwrap()
        .expect("the deal");
    assert_eq!(records.activities.len(), deals::RECENT);
    let mut counted: Vec<_> = records
        .logged
        .iter()
        .map(|l| (l.activity.to_string(), l.stage.to_string(), l.times))
        .collect();
    counted.sort();
    assert_eq!(
        counted,
        [
            ("discovery-call".to_string(), "qualify".to_string(), 5),
            ("pain-identified".to_string(), "qualify".to_string(), 10),
        ]
    );

    // The counts come from a tally kept as activities are written, whatever writes them: an
    // older activity written straight into the table, as an import does, counts and moves the
    // first time back; the tally always agrees with counting the activities themselves.
    let store = app.service.store();
    let mut tx = store.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO activities (tenant_id, deal_id, member_id, activity, note, stage, at) \
         SELECT tenant_id, id, owner_id, 'discovery-call', 'imported', 'qualify', \
         '2020-01-01T00:00:00.000000Z' FROM deals WHERE tenant_id = $1",
    )
    .bind(t.ann.tenant.id)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut conn = store.reader().acquire().await.unwrap();
    let tallied: Vec<(i64, String, String, i64, String)> = sqlx::query_as(
        "SELECT deal_id, activity, stage, times, first_at FROM activity_tallies \
         ORDER BY deal_id, activity, stage",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let counted: Vec<(i64, String, String, i64, String)> = sqlx::query_as(
        "SELECT deal_id, activity, stage, COUNT(*), MIN(at) FROM activities \
         GROUP BY deal_id, activity, stage ORDER BY deal_id, activity, stage",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(tallied, counted);
    assert_eq!(
        (tallied[0].3, tallied[0].4.as_str()),
        (6, "2020-01-01T00:00:00.000000Z")
    );
}

/// Guards PostgreSQL's plan, which no reply shows: a command reads the deal's latest activity
/// ([`deals::RECENT`]). While the index by deal lacked the id that breaks ties of time,
/// PostgreSQL read more: at best every activity tied in time with the last one kept (an
/// incremental sort; here three share each minute), and for a deal it believed had few, every
/// activity of the deal, sorted to keep the latest, so a deal that got busy after the last
/// `ANALYZE` cost more with each activity logged on it (migration 20261209000021). SQLite's
/// index holds the id already (its rowid).
#[tokio::test]
async fn on_postgres_a_command_reads_the_latest_activity_of_a_deal_that_got_busy() {
    let Some(app) = TestApp::on(support::TestBackend::Postgres).await else {
        return;
    };
    let t = app.team().await;
    let busy = new_deal(&app, &t.ann, "Acme", 50_000).await;
    let store = app.service.store();
    let deal = deals::get(
        &mut store.reader().acquire().await.unwrap(),
        t.ann.tenant.id,
        busy,
    )
    .await
    .unwrap()
    .expect("the deal");
    let run = async |sql: &str, from: i64, n: i64| {
        let mut tx = store.begin().await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(deal.id)
            .bind(from)
            .bind(from + n - 1)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    };
    // Four hundred more deals like it, then four activities on every deal, three to a moment.
    run(
        "INSERT INTO deals (tenant_id, number, name, owner_id, amount, close_date, stage, \
         stage_entered_at, status, fields, version, created_at, updated_at, playbook_version) \
         SELECT tenant_id, number + i, name || i, owner_id, amount, close_date, stage, \
         stage_entered_at, status, fields, version, created_at, updated_at, playbook_version \
         FROM deals, generate_series($2::bigint, $3::bigint) AS i WHERE id = $1",
        1,
        400,
    )
    .await;
    let log = |deals: &str| {
        format!(
            "INSERT INTO activities (tenant_id, deal_id, member_id, activity, note, stage, at) \
             SELECT tenant_id, id, owner_id, 'discovery-call', 'n' || i, 'qualify', \
             to_char(TIMESTAMP '2026-01-01' + (i / 3) * INTERVAL '1 minute', \
             'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') \
             FROM deals, generate_series($2::bigint, $3::bigint) AS i WHERE {deals}"
        )
    };
    run(
        &log("tenant_id = (SELECT tenant_id FROM deals WHERE id = $1)"),
        1,
        4,
    )
    .await;
    // The statistics are taken then; afterwards three hundred more on the one deal.
    sqlx::query("ANALYZE activities")
        .execute(&mut *store.reader().acquire().await.unwrap())
        .await
        .unwrap();
    run(&log("id = $1"), 5, 300).await;

    let mut conn = store.reader().acquire().await.unwrap();
    let records = deals::records(&mut conn, deal.id).await.unwrap();
    let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "EXPLAIN (ANALYZE) {}",
        deals::records_sql("$1")
    )))
    .bind(deal.id)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    let read = rows_read_from(&plan, "activities");
    // The latest; of three at the same moment, the last written.
    assert_eq!(notes_of(&records.activities), ["n304"]);
    assert!(
        read <= deals::RECENT as u64 + 1,
        "read {read} activities to show {}",
        deals::RECENT
    );
}

/// A starting server opens every connection its pools may hold at once (`serve` warms them in
/// the background), so the first commands after a start or a deploy do not each wait for
/// PostgreSQL to start a backend and finish a TLS handshake; and a command afterwards takes
/// one of those, opening none.
#[tokio::test]
async fn on_postgres_a_warmed_up_store_has_every_connection_open_before_the_first_command() {
    let Some(app) = TestApp::on(support::TestBackend::Postgres).await else {
        return;
    };
    let store = app.service.store();
    let connected = async || -> i64 {
        let mut conn = store.reader().acquire().await.unwrap();
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND backend_type = 'client backend'",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap()
    };
    let before = connected().await;
    let (open, most) = store.warm_up(std::time::Duration::from_secs(20)).await;
    assert_eq!(open, most, "every connection opened");
    assert!(
        usize::try_from(before).unwrap() < most,
        "the pools started with {before} of {most} open, so warming up had work to do"
    );
    assert_eq!(connected().await, i64::try_from(most).unwrap());

    let t = app.team().await;
    new_deal(&app, &t.ann, "Acme", 50_000).await;
    assert_eq!(
        connected().await,
        i64::try_from(most).unwrap(),
        "the command found its connections open"
    );
}

/// The notes of `activities`, in order (an activity without a note as "").
fn notes_of(activities: &[ActivityEntry]) -> Vec<String> {
    activities
        .iter()
        .map(|a| a.note.clone().unwrap_or_default())
        .collect()
}

/// The rows the scans of `table` produced, from the lines of an `EXPLAIN (ANALYZE)` plan
/// (`-> Bitmap Heap Scan on activities (cost=… rows=4 …) (actual time=… rows=304 loops=1)`).
fn rows_read_from(plan: &[String], table: &str) -> u64 {
    let number_after = |line: &str, key: &str| -> u64 {
        let rest = &line[line.find(key).expect(key) + key.len()..];
        rest.split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    plan.iter()
        .filter(|line| line.contains(&format!(" on {table} ")) && line.contains("actual time="))
        .map(|line| {
            let actual = &line[line.find("actual time=").unwrap()..];
            number_after(actual, " rows=") * number_after(actual, " loops=")
        })
        .sum()
}

/// A command about a deal reads the caller and the deal in one round trip (`session_about`):
/// the deal is the caller's workspace's, the snapshot serves only the deal named and only the
/// first read; what the use case shows is what a read of its own would show.
async fn a_command_about_a_deal_reads_it_with_the_caller_and_only_from_the_callers_workspace(
    app: TestApp,
) {
    let t = app.team().await;
    let acme = new_deal(&app, &t.ann, "Acme", 50_000).await;
    let beta = new_deal(&app, &t.ann, "Beta", 10_000).await;
    // On PostgreSQL the records travel as JSON: a note with quotes, a backslash, a line break
    // and characters outside ASCII must come back as written.
    let awkward = "she said \"yes\" \\ then {\"k\": 1}\nnext line: café 🚀 \u{1}";
    for note in ["first", awkward] {
        app.service
            .log_activity(&t.ann, acme, &id("discovery-call"), Some(note))
            .await
            .unwrap();
    }
    // A neighbour workspace whose deal 1 is someone else's, and which has a deal 3 ann's lacks.
    let zed = caller("elsewhere", "zed");
    let zed_session = app.service.session(&zed).await.unwrap();
    for name in ["Zeta", "Zulu", "Zinc"] {
        new_deal(&app, &zed_session, name, 1_000).await;
    }
    let ann = caller(support::WORKSPACE, "ann");
    let names = |view: &dealgate::service::DealView| view.deal.name.clone();

    let about_acme = app.service.session_about(&ann, Some(acme)).await.unwrap();
    assert_eq!(about_acme.tenant.id, t.ann.tenant.id);
    assert_eq!(about_acme.member.id, t.ann.member.id);
    let read_with_caller = app.service.show_deal(&about_acme, acme).await.unwrap();
    let read_alone = app.service.show_deal(&t.ann, acme).await.unwrap();
    assert_eq!(names(&read_with_caller), "Acme");
    assert_eq!(
        read_with_caller.recent_activities[0].note.as_deref(),
        Some(awkward)
    );
    assert_eq!(
        format!(
            "{:?}",
            (
                &read_with_caller.recent_activities,
                &read_with_caller.checks
            )
        ),
        format!("{:?}", (&read_alone.recent_activities, &read_alone.checks)),
    );
    // The snapshot was taken: the same session reads afresh and sees what was logged since.
    app.service
        .log_activity(&t.ann, acme, &id("discovery-call"), Some("third"))
        .await
        .unwrap();
    let again = app.service.show_deal(&about_acme, acme).await.unwrap();
    assert_eq!(notes_of(&again.recent_activities), ["third"]);

    // A snapshot of one deal never answers for another.
    let about_acme = app.service.session_about(&ann, Some(acme)).await.unwrap();
    let other = app.service.show_deal(&about_acme, beta).await.unwrap();
    assert_eq!(names(&other), "Beta");

    // The neighbour's deal 1 is theirs, and ann's workspace has no deal 3.
    let zed_about = app.service.session_about(&zed, Some(acme)).await.unwrap();
    let theirs = app.service.show_deal(&zed_about, acme).await.unwrap();
    assert_eq!(
        (names(&theirs), theirs.recent_activities.len()),
        ("Zeta".to_string(), 0)
    );
    let zinc = DealNumber::new(3).unwrap();
    let missing = app.service.session_about(&ann, Some(zinc)).await.unwrap();
    assert!(matches!(
        app.service.show_deal(&missing, zinc).await,
        Err(ServiceError::DealNotFound(n)) if n == zinc
    ));

    // A caller the workspace does not know yet becomes a member as with any command.
    let newcomer = caller(support::WORKSPACE, "newcomer");
    let joined = app
        .service
        .session_about(&newcomer, Some(acme))
        .await
        .unwrap();
    assert_eq!(joined.member.role, Role::Rep);
}

/// On PostgreSQL the writer's groups of claims alone or answers alone commit on connections
/// that do not wait for the disk; a command's work, and everything else, waits. Each pool is
/// reported for `/metrics`.
async fn only_the_bookkeeping_commits_without_waiting_for_the_disk(app: TestApp) {
    let store = app.service.store();
    let pools: Vec<(&str, usize)> = app
        .service
        .connections_in_use()
        .iter()
        .map(|(pool, _, max)| (*pool, *max))
        .collect();
    let Some(bookkeeping) = store.bookkeeping() else {
        assert_eq!(store.backend(), dealgate::store::Backend::Sqlite);
        assert_eq!(pools, [("writer", 1), ("reader", 4)]);
        return;
    };
    assert_eq!(pools, [("writer", 16), ("reader", 16), ("bookkeeping", 2)]);
    // `(value, where it came from)`: the test databases turn it off for every connection
    // (`ALTER DATABASE`), so what tells is whether the connection set it itself ("client").
    async fn setting(connections: &dealgate::store::Connections) -> (String, String) {
        let mut conn = connections.acquire().await.unwrap();
        sqlx::query_as("SELECT setting, source FROM pg_settings WHERE name = 'synchronous_commit'")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    }
    assert_eq!(setting(bookkeeping).await, ("off".into(), "client".into()));
    for connections in [store.writer(), store.reader()] {
        let (_, source) = setting(connections).await;
        assert_ne!(source, "client", "the database's own setting holds");
    }
}
