//! Request verification on the Slack routes, over real sockets: Slack's own worked example is
//! accepted at its time, and a replayed or old timestamp, a wrong secret, a missing header or an
//! oversized body is refused with nothing changed in the database.

#[path = "support/fake_slack.rs"]
mod fake_slack;
#[path = "support/slack.rs"]
mod slack;
mod support;

use chrono::{Duration, TimeZone, Utc};
use dealgate::clock::Clock;
use slack::*;

/// Slack's worked example (PROTOCOLS.md §5.2): secret, timestamp, body and signature.
const EXAMPLE_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const EXAMPLE_TIMESTAMP: &str = "1531420618";
const EXAMPLE_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const EXAMPLE_SIGNATURE: &str =
    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

async fn rows(ep: &SlackEndpoint) -> Vec<i64> {
    let mut conn = ep.app.service.store().reader().acquire().await.unwrap();
    let mut counts = Vec::new();
    for table in ["tenants", "members", "deals", "interaction_receipts"] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        counts.push(n);
    }
    counts
}

fn example_headers() -> Vec<(&'static str, String)> {
    vec![
        ("x-slack-request-timestamp", EXAMPLE_TIMESTAMP.to_string()),
        ("x-slack-signature", EXAMPLE_SIGNATURE.to_string()),
    ]
}

async fn slacks_worked_example_is_accepted_at_its_time_and_refused_later(app: support::TestApp) {
    let at = Utc.timestamp_opt(1_531_420_618, 0).unwrap();
    app.clock.set(at + Duration::seconds(299));
    let ep = SlackEndpoint::with_secret(app, EXAMPLE_SECRET).await;
    let body = EXAMPLE_BODY.as_bytes().to_vec();
    let (status, answer) = ep
        .post_raw("/slack/commands", body.clone(), &example_headers())
        .await;
    assert_eq!(status, 200, "{answer}");
    // `/webhook-collect` is not a dealgate command: the signed request reached the parser.
    assert!(answer.contains("That didn't work"), "{answer}");
    assert_eq!(rows(&ep).await, [0, 0, 0, 0]);

    // The same request replayed six minutes after it was signed.
    ep.app.clock.set(at + Duration::seconds(360));
    let (status, answer) = ep
        .post_raw("/slack/commands", body, &example_headers())
        .await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("more than five minutes"), "{answer}");
}

async fn forged_replayed_and_unsigned_requests_get_401_and_change_nothing(app: support::TestApp) {
    let ep = SlackEndpoint::start(app).await;
    let body = ep.command_body(BOSS, "/deal", "new Acme 5000 2030-06-30", &ep.trigger());
    let now = ep.timestamp();
    let signed = ep.secret.sign(&now, body.as_bytes());
    let old = (ep.app.clock.now() - Duration::minutes(10))
        .timestamp()
        .to_string();
    let ahead = (ep.app.clock.now() + Duration::minutes(6))
        .timestamp()
        .to_string();
    // Slack's window is five minutes either way; dealgate allows a minute of clock drift ahead.
    let ahead_a_little = (ep.app.clock.now() + Duration::seconds(61))
        .timestamp()
        .to_string();
    let wrong = dealgate::chat::slack::verify::SigningSecret::new(dealgate::config::Secret::new(
        "not the app's secret",
    ));
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "a wrong secret",
            vec![
                ("x-slack-request-timestamp", now.clone()),
                ("x-slack-signature", wrong.sign(&now, body.as_bytes())),
            ],
        ),
        (
            "an old timestamp, correctly signed",
            vec![
                ("x-slack-request-timestamp", old.clone()),
                ("x-slack-signature", ep.secret.sign(&old, body.as_bytes())),
            ],
        ),
        (
            "a timestamp from the future",
            vec![
                ("x-slack-request-timestamp", ahead.clone()),
                ("x-slack-signature", ep.secret.sign(&ahead, body.as_bytes())),
            ],
        ),
        (
            "a timestamp 61 seconds ahead",
            vec![
                ("x-slack-request-timestamp", ahead_a_little.clone()),
                (
                    "x-slack-signature",
                    ep.secret.sign(&ahead_a_little, body.as_bytes()),
                ),
            ],
        ),
        (
            "another timestamp than the one signed",
            vec![
                ("x-slack-request-timestamp", old),
                ("x-slack-signature", signed.clone()),
            ],
        ),
        (
            "no signature",
            vec![("x-slack-request-timestamp", now.clone())],
        ),
        ("no timestamp", vec![("x-slack-signature", signed.clone())]),
        ("no headers", vec![]),
    ];
    for (what, headers) in &cases {
        for path in ["/slack/commands", "/slack/interactivity"] {
            let (status, answer) = ep.post_raw(path, body.as_bytes().to_vec(), headers).await;
            assert_eq!(status, 401, "{what} on {path}: {answer}");
        }
    }
    let mut tampered = body.clone();
    tampered.push_str("&text=new+Other+1+2030-01-01");
    let (status, _) = ep
        .post_raw(
            "/slack/commands",
            tampered.into_bytes(),
            &[
                ("x-slack-request-timestamp", now),
                ("x-slack-signature", signed),
            ],
        )
        .await;
    assert_eq!(status, 401, "a body changed after signing");
    assert_eq!(rows(&ep).await, [0, 0, 0, 0], "nothing was created");

    // The same request, properly signed, does create the deal.
    let (status, answer) = ep.post_signed("/slack/commands", &body, &[]).await;
    assert_eq!(status, 200);
    assert!(answer.contains("Created deal-1"), "{answer}");
}

async fn an_oversized_body_is_refused_before_anything_else(app: support::TestApp) {
    let ep = SlackEndpoint::start(app).await;
    let body = format!("text={}", "x".repeat(300 * 1024));
    let (status, _) = ep.post_signed("/slack/commands", &body, &[]).await;
    assert_eq!(status, 413);
    assert_eq!(rows(&ep).await, [0, 0, 0, 0]);
}

/// A captured command replayed a day later, after its receipt was pruned, is refused by its
/// timestamp; replayed within the window, it is answered from its receipt and not run again.
async fn a_captured_command_replayed_after_its_receipt_was_pruned_is_refused(
    app: support::TestApp,
) {
    let ep = SlackEndpoint::start(app).await;
    let body = ep.command_body(BOSS, "/deal", "new Acme 5000 2030-06-30", &ep.trigger());
    let ts = ep.timestamp();
    let headers = vec![
        ("x-slack-request-timestamp", ts.clone()),
        ("x-slack-signature", ep.secret.sign(&ts, body.as_bytes())),
    ];
    let (status, first) = ep
        .post_raw("/slack/commands", body.clone().into_bytes(), &headers)
        .await;
    assert_eq!(status, 200, "{first}");
    let (status, again) = ep
        .post_raw("/slack/commands", body.clone().into_bytes(), &headers)
        .await;
    assert_eq!((status, again), (200, first));
    assert_eq!(rows(&ep).await[2], 1, "one deal");
    ep.app.clock.advance(Duration::hours(25));
    assert!(ep.app.service.prune_interaction_receipts().await.unwrap() >= 1);
    let (status, answer) = ep
        .post_raw("/slack/commands", body.into_bytes(), &headers)
        .await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(rows(&ep).await[2], 1, "still one deal");
}

on_both_backends!(
    a_captured_command_replayed_after_its_receipt_was_pruned_is_refused,
    slacks_worked_example_is_accepted_at_its_time_and_refused_later,
    forged_replayed_and_unsigned_requests_get_401_and_change_nothing,
    an_oversized_body_is_refused_before_anything_else,
);
