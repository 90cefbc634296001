//! Slack's slash commands and buttons end to end: real sockets on 127.0.0.1, requests signed
//! with a signing secret made here at the test clock's time, answers in Block Kit, slow work
//! and button answers delivered to response URLs on a fake Slack.

#[path = "support/fake_slack.rs"]
mod fake_slack;
#[path = "support/slack.rs"]
mod slack;
mod support;

use serde_json::Value;
use slack::*;

async fn count(ep: &SlackEndpoint, table: &str) -> i64 {
    let mut conn = ep.app.service.store().reader().acquire().await.unwrap();
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

/// Row counts of every table a command could change.
async fn database_state(ep: &SlackEndpoint) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "tenants",
        "members",
        "deals",
        "activities",
        "stage_changes",
        "approvals",
        "field_changes",
        "interaction_receipts",
    ] {
        counts.push(count(ep, table).await);
    }
    counts
}

/// `boss`, the workspace's first member and so its admin, creates deal-1 for 50,000.
async fn with_a_deal(ep: &SlackEndpoint) {
    let a = ep
        .command(BOSS, "/deal", "new \"Acme Rollout\" 50000 2030-06-30")
        .await;
    assert_eq!(title(&a), "Created deal-1 · Acme Rollout", "{a}");
}

async fn every_catalogue_command_runs_as_a_slack_slash_command(app: support::TestApp) {
    let ep = SlackEndpoint::start(app).await;
    with_a_deal(&ep).await;
    // Mia and Ann are named before they ever used dealgate: the mentions make them members.
    let a = ep
        .command(BOSS, "/team", "set <@U0MIA0001|mia> manager")
        .await;
    assert_eq!(title(&a), "mia is now a manager", "{a}");
    let a = ep
        .command(BOSS, "/team", "set <@U0ANN0001|ann> rep <@U0MIA0001|mia>")
        .await;
    assert_eq!(title(&a), "ann is now a rep, reporting to mia", "{a}");
    let a = ep.command(ANN, "/team", "list").await;
    assert!(text(&a).contains("ann — rep, reports to mia"), "{a}");
    assert_eq!(a["response_type"], "ephemeral", "a personal view: {a}");

    let a = ep.command(BOSS, "/deal", "show deal-1").await;
    assert_eq!(title(&a), "deal-1 · Acme Rollout", "{a}");
    let a = ep.command(BOSS, "/deal", "list stage:qualify").await;
    assert!(text(&a).contains("Acme Rollout"), "{a}");
    let a = ep
        .command(BOSS, "/deal", "set 1 champion Dana Smith, VP Finance & co")
        .await;
    assert_eq!(title(&a), "Updated `champion` of deal-1", "{a}");

    let a = ep
        .command(BOSS, "/log", "deal-1 discovery-call note:\"met the CFO\"")
        .await;
    assert_eq!(title(&a), "Logged Discovery call held on deal-1", "{a}");
    assert_eq!(count(&ep, "activities").await, 1);
    let a = ep.command(BOSS, "/advance", "deal-1").await;
    assert_eq!(title(&a), "deal-1 advanced to Solution", "{a}");
    assert_eq!(
        a["response_type"], "in_channel",
        "a stage change is announced: {a}"
    );
    let a = ep
        .command(BOSS, "/back", "deal-1 qualify budget owner changed")
        .await;
    assert_eq!(title(&a), "deal-1 moved back to Qualify", "{a}");
    let a = ep.command(BOSS, "/approve", "deal-1").await;
    assert!(title(&a).contains("approved deal-1"), "{a}");
    let a = ep.command(BOSS, "/advance", "deal-1 to:negotiate").await;
    assert_eq!(title(&a), "deal-1 advanced to Negotiate", "{a}");
    let a = ep
        .command(BOSS, "/nudges", "snooze deal-1 7 CFO away until the 20th")
        .await;
    assert_eq!(title(&a), "deal-1 snoozed", "{a}");
    ep.command(BOSS, "/log", "deal-1 proposal-sent").await;
    let a = ep.command(BOSS, "/won", "deal-1").await;
    assert_eq!(title(&a), "deal-1 won 🎉", "{a}");
    ep.command(BOSS, "/deal", "new Borealis 12k 2030-01-31")
        .await;
    let a = ep
        .command(BOSS, "/lost", "deal-2 went with a competitor")
        .await;
    assert_eq!(title(&a), "deal-2 lost", "{a}");

    let a = ep.command(ANN, "/playbook", "solution").await;
    assert_eq!(title(&a), "Solution · 40%", "{a}");
    let a = ep.command(ANN, "/dealgate", "help advance").await;
    // Reached through `/dealgate`, help names commands that way.
    assert!(
        text(&a).contains("`/dealgate advance deal [to] [override]`"),
        "{a}"
    );
    let a = ep.command(ANN, "/dealgate", "").await;
    assert_eq!(title(&a), "dealgate commands", "{a}");
    assert!(text(&a).contains("`/dealgate help [command]`"), "{a}");
    assert_eq!(a["response_type"], "ephemeral");

    let a = ep
        .command(
            BOSS,
            "/digest",
            "setup <#C0MGRS001|managers> 08:30 Europe/Berlin",
        )
        .await;
    assert_eq!(title(&a), "Digest scheduled", "{a}");
    assert!(
        text(&a).contains("goes to <#C0MGRS001|managers> at 08:30"),
        "{a}"
    );
    // The digest preview, slow like the forecast over a large pipeline, is acknowledged at
    // once and follows through the response URL (as on Discord, where it is deferred too).
    let (status, ack) = ep.send(BOSS, "/digest", "preview").await;
    assert_eq!(status, 200);
    assert_eq!(title(&ack), "Working out the digest…", "{ack}");
    let preview = ep
        .fake
        .wait_for("the digest preview follow-up", |r| {
            r.path.starts_with("/hooks/commands/")
        })
        .await
        .args();
    assert!(
        title(&preview).starts_with("Forecast digest: "),
        "{preview}"
    );
    assert_eq!(preview["response_type"], "ephemeral");
    assert_eq!(preview["replace_original"], true);
    let a = ep.command(BOSS, "/nudges", "setup 09:00 yes").await;
    assert_eq!(title(&a), "Coaching nudges scheduled", "{a}");

    // The forecast answers at once and follows up through the response URL.
    let (status, ack) = ep.send(BOSS, "/forecast", "all").await;
    assert_eq!(status, 200);
    assert_eq!(title(&ack), "Working out the forecast…", "{ack}");
    assert_eq!(ack["response_type"], "ephemeral");
    let follow = ep
        .fake
        .wait_for("the forecast follow-up", |r| {
            r.path.starts_with("/hooks/commands/") && title(&r.args()).starts_with("Forecast ·")
        })
        .await;
    assert_eq!(follow.content_type, "application/json; charset=utf-8");
    let body = follow.args();
    assert!(title(&body).starts_with("Forecast · everyone"), "{body}");
    assert_eq!(body["replace_original"], true);
    // Every command ran in the one Slack workspace, as its three members.
    assert_eq!(count(&ep, "tenants").await, 1);
    assert_eq!(count(&ep, "members").await, 3);
}

async fn user_text_is_escaped_so_it_pings_nobody(app: support::TestApp) {
    let ep = SlackEndpoint::start(app).await;
    let a = ep
        .command(
            BOSS,
            "/deal",
            "new \"<!channel> & <@U0ANN0001>\" 5000 2030-06-30",
        )
        .await;
    let shown = a.to_string();
    assert!(
        title(&a).contains("&lt;!channel&gt; &amp; &lt;@U0ANN0001&gt;"),
        "{a}"
    );
    assert!(
        !shown.contains("<!channel>") && !shown.contains("<@U0ANN0001>"),
        "{shown}"
    );
    let a = ep.command(BOSS, "/deal", "show deal-1").await;
    assert!(!a.to_string().contains("<!channel>"), "{a}");
}

async fn bad_input_gets_an_ephemeral_explanation_and_changes_nothing(app: support::TestApp) {
    let ep = SlackEndpoint::start(app).await;
    with_a_deal(&ep).await;
    // Receipts aside (a refused change still claims its trigger id), nothing changes.
    let before = database_state(&ep).await[..7].to_vec();
    for (command, text) in [
        ("/advance", ""),
        ("/log", "deal-1"),
        ("/deal", "frobnicate"),
        ("/deal", "new Borealis lots 2030-01-31"),
        ("/advnce", "deal-1"),
        ("/lost", "deal-99 no budget"),
    ] {
        let a = ep.command(BOSS, command, text).await;
        assert_eq!(a["response_type"], "ephemeral", "{command} {text}: {a}");
        assert!(
            title(&a) == "That didn't work" || title(&a).contains("can't"),
            "{command} {text}: {a}"
        );
    }
    let a = ep.command(BOSS, "/log", "deal-1").await;
    assert!(text(&a).contains("needs `activity`"), "{a}");
    assert_eq!(database_state(&ep).await[..7], before);
}

async fn a_refused_advance_offers_buttons_and_pressing_one_logs_the_activity(
    app: support::TestApp,
) {
    let ep = SlackEndpoint::start(app).await;
    with_a_deal(&ep).await;
    let refused = ep.command(BOSS, "/advance", "deal-1").await;
    assert_eq!(
        refused["response_type"], "ephemeral",
        "a refusal is private: {refused}"
    );
    assert_eq!(title(&refused), "deal-1 can't leave Qualify yet");
    let values = buttons(&refused);
    assert_eq!(values[0], "dg1:log:1:discovery-call", "{refused}");
    let answer = ep.press(BOSS, &values[0]).await;
    assert_eq!(
        title(&answer),
        "Logged Discovery call held on deal-1",
        "{answer}"
    );
    assert_eq!(answer["replace_original"], false);
    assert_eq!(count(&ep, "activities").await, 1);
    let a = ep.command(BOSS, "/advance", "deal-1").await;
    assert_eq!(title(&a), "deal-1 advanced to Solution", "{a}");
}

async fn asking_for_approval_mentions_only_the_manager_who_approves_with_a_press(
    app: support::TestApp,
) {
    let ep = SlackEndpoint::start(app).await;
    ep.command(BOSS, "/team", "set <@U0MIA0001|mia> manager")
        .await;
    ep.command(BOSS, "/team", "set <@U0ANN0001|ann> rep <@U0MIA0001|mia>")
        .await;
    // A deal over 100,000 needs a manager's approval to leave Solution.
    ep.command(ANN, "/deal", "new Bigco 250000 2030-01-01")
        .await;
    ep.command(ANN, "/log", "deal-1 discovery-call").await;
    let a = ep.command(ANN, "/advance", "deal-1").await;
    assert_eq!(title(&a), "deal-1 advanced to Solution", "{a}");
    ep.command(
        ANN,
        "/deal",
        "set deal-1 champion \"Dana Smith, VP Finance\"",
    )
    .await;
    let refused = ep.command(ANN, "/advance", "deal-1").await;
    let ask = buttons(&refused)
        .into_iter()
        .find(|v| v.starts_with("dg1:ask:"))
        .unwrap_or_else(|| panic!("no ask button: {refused}"));
    let request = ep.press(ANN, &ask).await;
    assert_eq!(request["response_type"], "in_channel", "{request}");
    let shown = request.to_string();
    assert!(
        shown.contains("<@U0MIA0001>"),
        "the manager is mentioned: {shown}"
    );
    assert!(
        !shown.contains("<@U0ANN0001>") && !shown.contains("<!"),
        "{shown}"
    );
    let approve = buttons(&request);
    assert_eq!(approve, ["dg1:approve:1"]);
    // Ann cannot approve her own deal by pressing the manager's button.
    let refused = ep.press(ANN, &approve[0]).await;
    assert_eq!(refused["response_type"], "ephemeral", "{refused}");
    assert_eq!(count(&ep, "approvals").await, 0);
    let approved = ep.press(MIA, &approve[0]).await;
    assert!(title(&approved).contains("approved deal-1"), "{approved}");
    assert_eq!(count(&ep, "approvals").await, 1);
}

async fn forged_and_stale_buttons_are_refused_and_do_nothing(app: support::TestApp) {
    let ep = SlackEndpoint::start(app).await;
    with_a_deal(&ep).await;
    let before = database_state(&ep).await;
    for (value, says) in [
        ("dg1:log:1:Not An Id", "dealgate did not make this button"),
        ("dg1:delete:1", "dealgate did not make this button"),
        ("dg0:log:1:discovery-call", "older version of dealgate"),
    ] {
        let a = ep.press(BOSS, value).await;
        assert_eq!(a["response_type"], "ephemeral", "{value}: {a}");
        assert_eq!(title(&a), "That button did nothing", "{value}: {a}");
        assert!(text(&a).contains(says), "{value}: {a}");
    }
    assert_eq!(database_state(&ep).await, before);
}

async fn a_retried_delivery_gets_the_same_answer_and_logs_once(app: support::TestApp) {
    let ep = SlackEndpoint::start(app).await;
    with_a_deal(&ep).await;
    let trigger = ep.trigger();
    let body = ep.command_body(BOSS, "/log", "deal-1 discovery-call", &trigger);
    let (status, first) = ep.post_signed("/slack/commands", &body, &[]).await;
    assert_eq!(status, 200);
    let retry = [
        ("x-slack-retry-num", "1".to_string()),
        ("x-slack-retry-reason", "http_timeout".to_string()),
    ];
    let (status, second) = ep.post_signed("/slack/commands", &body, &retry).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&first).unwrap(),
        serde_json::from_str::<Value>(&second).unwrap()
    );
    assert_eq!(count(&ep, "activities").await, 1, "logged once");

    // A press delivered twice logs once and answers once.
    let trigger = ep.trigger();
    let press = ep.press_body(BOSS, "dg1:log:1:pain-identified", &trigger);
    for _ in 0..2 {
        let (status, _) = ep
            .post_signed("/slack/interactivity", &press, &retry[..1])
            .await;
        assert_eq!(status, 200);
    }
    ep.fake
        .wait_for("the press's answer", |r| {
            r.path == format!("/hooks/actions/{trigger}")
        })
        .await;
    assert_eq!(count(&ep, "activities").await, 2, "the press logged once");
    let answers = ep
        .fake
        .requests()
        .iter()
        .filter(|r| r.path == format!("/hooks/actions/{trigger}"))
        .count();
    assert_eq!(answers, 1);
}

async fn ssl_checks_are_acknowledged_and_change_nothing(app: support::TestApp) {
    let ep = SlackEndpoint::start(app).await;
    let (status, _) = ep
        .post_signed(
            "/slack/commands",
            "ssl_check=1&token=gIkuvaNzQIHg97ATvDxqgjtO",
            &[],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(database_state(&ep).await, vec![0; 8]);
}

/// Slack always sends a trigger id, but a request without one (a hand-made client, a proxy
/// that drops it) must not run twice either: it is keyed by a hash of its signed body.
async fn a_command_without_a_trigger_id_sent_twice_is_applied_once(app: support::TestApp) {
    let ep = SlackEndpoint::start(app).await;
    with_a_deal(&ep).await;
    let body = ep.command_body(BOSS, "/log", "deal-1 discovery-call", "");
    assert!(
        body.contains("trigger_id=&") || body.ends_with("trigger_id="),
        "{body}"
    );
    let (status, first) = ep.post_signed("/slack/commands", &body, &[]).await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = ep.post_signed("/slack/commands", &body, &[]).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(first, second);
    assert_eq!(count(&ep, "activities").await, 1, "logged once");
    // The same command typed again is another body (another response URL, another trigger)
    // and runs again, as a person typing it twice expects.
    let again = ep.command_body(BOSS, "/log", "deal-1 discovery-call", &ep.trigger());
    assert_eq!(ep.post_signed("/slack/commands", &again, &[]).await.0, 200);
    assert_eq!(count(&ep, "activities").await, 2);
}

on_both_backends!(
    a_command_without_a_trigger_id_sent_twice_is_applied_once,
    every_catalogue_command_runs_as_a_slack_slash_command,
    user_text_is_escaped_so_it_pings_nobody,
    bad_input_gets_an_ephemeral_explanation_and_changes_nothing,
    a_refused_advance_offers_buttons_and_pressing_one_logs_the_activity,
    asking_for_approval_mentions_only_the_manager_who_approves_with_a_press,
    forged_and_stale_buttons_are_refused_and_do_nothing,
    a_retried_delivery_gets_the_same_answer_and_logs_once,
    ssl_checks_are_acknowledged_and_change_nothing,
);
