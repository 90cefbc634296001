//! The digest and the nudges of a Slack workspace delivered through `SlackSender` to a fake
//! Slack Web API on 127.0.0.1: the chart through the external upload flow, a DM opened with
//! `conversations.open`, Slack's 429 honoured through the outbox's retry on a manual clock, and
//! Slack's `ok: false` errors kept with the message.

#[path = "support/fake_slack.rs"]
mod fake_slack;
mod support;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use dealgate::chat::slack::SlackSender;
use dealgate::chat::slack::web::WebApi;
use dealgate::clock::Clock;
use dealgate::config::Secret;
use dealgate::engine::playbook::Role;
use dealgate::jobs::outbox::deliver_due;
use dealgate::jobs::scheduler::tick;
use dealgate::service::{Caller, Session};
use fake_slack::{BOT_TOKEN, Canned, FakeSlack};
use serde_json::json;
use support::{TestApp, user};

const TEAM: &str = "T0ACME001";
const DIGEST_CHANNEL: &str = "<#C0MGRS001|managers>";

fn caller(id: &str, name: &str) -> Caller {
    Caller {
        platform: dealgate::service::Platform::Slack,
        workspace: TEAM.into(),
        workspace_name: "acme".into(),
        user_key: id.into(),
        display_name: name.into(),
        platform_role: None,
        known_only: false,
    }
}

/// A Slack workspace: boss (admin), mia (manager) and ann (her rep) with one deal closing
/// in June, made on Monday 2 March 2026.
async fn workspace(app: &TestApp) -> Session {
    let s = &app.service;
    let boss = s.session(&caller("U0BOSS001", "boss")).await.unwrap();
    s.session(&caller("U0MIA0001", "mia")).await.unwrap();
    let ann = s.session(&caller("U0ANN0001", "ann")).await.unwrap();
    s.set_team_role(&boss, &user("<@U0MIA0001>"), Role::Manager, None)
        .await
        .unwrap();
    s.set_team_role(
        &boss,
        &user("<@U0ANN0001|ann>"),
        Role::Rep,
        Some(&user("<@U0MIA0001>")),
    )
    .await
    .unwrap();
    s.create_deal(
        &ann,
        "Globex <!channel>",
        "40000".parse().unwrap(),
        NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
        None,
        None,
    )
    .await
    .unwrap();
    boss
}

fn sender(fake: &FakeSlack) -> SlackSender {
    SlackSender::with(WebApi::with(
        reqwest::Client::new(),
        &fake.api_base(),
        Secret::new(BOT_TOKEN),
    ))
}

async fn schedule_digest(app: &TestApp, admin: &Session) {
    schedule_digest_in(app, admin, DIGEST_CHANNEL).await;
}

async fn schedule_digest_in(app: &TestApp, admin: &Session, channel: &str) {
    app.service
        .setup_digest(
            admin,
            channel,
            NaiveTime::from_hms_opt(8, 30, 0).unwrap(),
            chrono_tz::UTC,
            true,
            None,
        )
        .await
        .unwrap();
}

async fn outbox_listing(app: &TestApp) -> String {
    let mut out = Vec::new();
    dealgate::chat::console::operator::print_outbox(&app.service, &mut out)
        .await
        .unwrap();
    String::from_utf8(out).unwrap()
}

async fn the_digest_is_posted_with_its_chart_through_the_upload_flow(app: TestApp) {
    let admin = workspace(&app).await;
    schedule_digest(&app, &admin).await;
    let fake = FakeSlack::start().await;
    let now = app.clock.now();
    let ticked = tick(&app.service, now).await.unwrap();
    assert_eq!(ticked.digests.len(), 1);
    let report = deliver_due(&app.service, &sender(&fake)).await.unwrap();
    assert_eq!((report.sent, report.retrying, report.failed), (1, 0, 0));

    assert_eq!(
        fake.methods(),
        [
            "files.getUploadURLExternal",
            "files.completeUploadExternal",
            "chat.postMessage"
        ],
        "the chart first, the digest text last"
    );
    let requests = fake.requests();
    for r in requests.iter().filter(|r| r.method().is_some()) {
        assert_eq!(
            r.authorization.as_deref(),
            Some("Bearer xoxb-fake-token"),
            "{}",
            r.path
        );
    }
    let get_url = requests[0].args();
    let upload = requests
        .iter()
        .find(|r| r.path == "/upload/F0CHART001")
        .expect("the bytes were uploaded");
    assert_eq!(&upload.body[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    assert_eq!(get_url["length"], upload.body.len().to_string());
    assert!(
        get_url["filename"].as_str().unwrap().ends_with(".png"),
        "{get_url}"
    );
    let complete = requests
        .iter()
        .find(|r| r.method() == Some("files.completeUploadExternal"))
        .unwrap()
        .args();
    assert_eq!(complete["channel_id"], "C0MGRS001");
    assert_eq!(complete["files"][0]["id"], "F0CHART001");
    let post = requests
        .iter()
        .find(|r| r.method() == Some("chat.postMessage"))
        .unwrap();
    assert!(post.content_type.starts_with("application/json"));
    let post = post.args();
    assert_eq!(post["channel"], "C0MGRS001");
    let title = post["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(title.contains("Forecast digest: Mon 2 Mar"), "{title}");
    assert!(
        post["text"]
            .as_str()
            .unwrap()
            .starts_with("Forecast digest"),
        "{post}"
    );
    assert!(
        !post.to_string().contains("<!channel>"),
        "deal names cannot ping: {post}"
    );
    assert!(outbox_listing(&app).await.contains("The outbox is empty"));
}

async fn a_nudge_goes_to_the_managers_dm_opened_with_conversations_open(app: TestApp) {
    let admin = workspace(&app).await;
    app.service
        .setup_nudges(
            &admin,
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            false,
            None,
            None,
        )
        .await
        .unwrap();
    let fake = FakeSlack::start().await;
    // Sixteen days on, a Wednesday: ann's deal has stalled in Qualify.
    let now = Utc.with_ymd_and_hms(2026, 3, 18, 9, 0, 0).unwrap();
    app.clock.set(now);
    assert_eq!(tick(&app.service, now).await.unwrap().nudges.len(), 1);
    let report = deliver_due(&app.service, &sender(&fake)).await.unwrap();
    assert_eq!(report.sent, 1);
    assert_eq!(fake.methods(), ["conversations.open", "chat.postMessage"]);
    let requests = fake.requests();
    assert_eq!(requests[0].args(), json!({"users": "U0MIA0001"}));
    let post = requests[1].args();
    assert_eq!(
        post["channel"], "D0U0MIA0001",
        "posted in the DM Slack opened"
    );
    let shown = post["blocks"].to_string();
    assert!(shown.contains("deal-1") && shown.contains("ann"), "{shown}");
    assert!(shown.contains("16 days in Qualify"), "{shown}");
}

async fn a_429_is_retried_after_its_retry_after_and_then_delivered_once(app: TestApp) {
    let admin = workspace(&app).await;
    schedule_digest(&app, &admin).await;
    let fake = FakeSlack::start().await;
    fake.script(
        "files.getUploadURLExternal",
        Canned {
            status: 429,
            headers: vec![("retry-after", "30".into())],
            body: json!({"ok": false, "error": "ratelimited"}),
        },
    );
    let start = app.clock.now();
    tick(&app.service, start).await.unwrap();
    let slack = sender(&fake);
    let report = deliver_due(&app.service, &slack).await.unwrap();
    assert_eq!((report.sent, report.retrying), (0, 1));
    let listing = outbox_listing(&app).await;
    assert!(listing.contains("rate limited (HTTP 429)"), "{listing}");
    // Not before Slack's 30 seconds…
    app.clock.set(start + Duration::seconds(29));
    let report = deliver_due(&app.service, &slack).await.unwrap();
    assert_eq!((report.sent, report.retrying), (0, 0));
    // …and then once.
    app.clock.set(start + Duration::seconds(30));
    let report = deliver_due(&app.service, &slack).await.unwrap();
    assert_eq!((report.sent, report.retrying, report.failed), (1, 0, 0));
    let methods = fake.methods();
    assert_eq!(fake.calls("chat.postMessage"), 1, "{methods:?}");
    assert_eq!(fake.calls("files.getUploadURLExternal"), 2, "{methods:?}");
    assert!(outbox_listing(&app).await.contains("The outbox is empty"));
}

/// Runs the scheduler, then delivers the due messages with the next call of `method` answered with
/// HTTP `status`, then again five minutes later, when the retry is due. The outbox listing
/// between the two.
async fn deliver_through_one_failure(
    app: &TestApp,
    fake: &FakeSlack,
    method: &str,
    status: u16,
) -> String {
    fake.script(
        method,
        Canned {
            status,
            headers: vec![],
            body: json!({}),
        },
    );
    let start = app.clock.now();
    tick(&app.service, start).await.unwrap();
    let slack = sender(fake);
    let report = deliver_due(&app.service, &slack).await.unwrap();
    assert_eq!((report.sent, report.retrying), (0, 1));
    let listing = outbox_listing(app).await;
    app.clock.set(start + Duration::minutes(5));
    let report = deliver_due(&app.service, &slack).await.unwrap();
    assert_eq!((report.sent, report.retrying, report.failed), (1, 0, 0));
    listing
}

/// Slack has no nonce: the chart, once shared, is a message of its own. A digest whose text
/// failed after its chart went up must not put a second chart in the channel when retried.
async fn a_chart_already_shared_is_not_shared_again_when_the_message_is_retried(app: TestApp) {
    let admin = workspace(&app).await;
    schedule_digest(&app, &admin).await;
    let fake = FakeSlack::start().await;
    let listing = deliver_through_one_failure(&app, &fake, "chat.postMessage", 500).await;
    assert!(
        listing.contains("already done, not repeated on retry: slack: chart shared"),
        "{listing}"
    );
    let methods = fake.methods();
    assert_eq!(fake.calls("files.completeUploadExternal"), 1, "{methods:?}");
    assert_eq!(fake.calls("chat.postMessage"), 2, "{methods:?}");
    assert!(outbox_listing(&app).await.contains("The outbox is empty"));
}

/// A channel stored by name gets the message first (its answer names the channel's id for the
/// chart); when the chart then fails, the retry uploads only the chart.
async fn a_message_already_posted_is_not_posted_again_when_its_chart_is_retried(app: TestApp) {
    let admin = workspace(&app).await;
    schedule_digest_in(&app, &admin, "#managers").await;
    let fake = FakeSlack::start().await;
    let listing =
        deliver_through_one_failure(&app, &fake, "files.completeUploadExternal", 503).await;
    assert!(
        listing.contains(
            "already done, not repeated on retry: slack: posted C0NAMED0001 1772442000.000100"
        ),
        "{listing}"
    );
    let methods = fake.methods();
    assert_eq!(fake.calls("chat.postMessage"), 1, "{methods:?}");
    assert_eq!(fake.calls("files.completeUploadExternal"), 2, "{methods:?}");
    let shared = fake
        .requests()
        .into_iter()
        .filter(|r| r.method() == Some("files.completeUploadExternal"))
        .map(|r| r.args()["channel_id"].clone())
        .collect::<Vec<_>>();
    assert_eq!(shared, [json!("C0NAMED0001"), json!("C0NAMED0001")]);
}

async fn slacks_errors_are_retried_or_kept_with_the_message(app: TestApp) {
    let admin = workspace(&app).await;
    app.service
        .setup_nudges(
            &admin,
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            false,
            None,
            None,
        )
        .await
        .unwrap();
    let fake = FakeSlack::start().await;
    // A 503, then Slack's own `ratelimited` (which comes with HTTP 200), then a refusal.
    fake.script(
        "conversations.open",
        Canned {
            status: 503,
            headers: vec![],
            body: json!({}),
        },
    );
    fake.script(
        "conversations.open",
        Canned {
            status: 200,
            headers: vec![],
            body: json!({"ok": false, "error": "ratelimited"}),
        },
    );
    fake.script(
        "conversations.open",
        Canned {
            status: 200,
            headers: vec![],
            body: json!({"ok": false, "error": "user_not_found"}),
        },
    );
    let mut now = Utc.with_ymd_and_hms(2026, 3, 18, 9, 0, 0).unwrap();
    app.clock.set(now);
    tick(&app.service, now).await.unwrap();
    let slack = sender(&fake);
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let r = deliver_due(&app.service, &slack).await.unwrap();
        outcomes.push((r.sent, r.retrying, r.failed));
        // Past any backoff.
        now += Duration::hours(2);
        app.clock.set(now);
    }
    assert_eq!(outcomes, [(0, 1, 0), (0, 1, 0), (0, 0, 1)]);
    let listing = outbox_listing(&app).await;
    assert!(listing.contains("failed"), "{listing}");
    assert!(
        listing.contains("conversations.open: user_not_found"),
        "{listing}"
    );
    assert_eq!(
        fake.methods()
            .iter()
            .filter(|m| *m == "chat.postMessage")
            .count(),
        0
    );
}

on_both_backends!(
    the_digest_is_posted_with_its_chart_through_the_upload_flow,
    a_nudge_goes_to_the_managers_dm_opened_with_conversations_open,
    a_429_is_retried_after_its_retry_after_and_then_delivered_once,
    a_chart_already_shared_is_not_shared_again_when_the_message_is_retried,
    a_message_already_posted_is_not_posted_again_when_its_chart_is_retried,
    slacks_errors_are_retried_or_kept_with_the_message,
);
