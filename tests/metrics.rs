//! `GET /metrics` of the built binary: after a few Slack commands, refused requests and a
//! delivered digest, the counters and the latency histogram moved by exactly what happened, and
//! every line parses as Prometheus's text format; `--metrics ADDR` serves the same on a port of
//! its own.

#[path = "support/binary.rs"]
mod binary;
#[path = "support/fake_slack.rs"]
mod fake_slack;

use std::collections::HashMap;
use std::time::Duration;

use binary::dealgate;
use dealgate::chat::slack::verify::SigningSecret;
use dealgate::config::Secret;
use fake_slack::{BOT_TOKEN, FakeSlack};

const SECRET: &str = "a-signing-secret-made-for-the-metrics-test";

/// The running binary reads the real clock, so its requests are signed at the real time.
#[allow(clippy::disallowed_methods)]
fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `dealgate serve --http` on a free port with Slack configured, plus `args` and `env`; the
/// running child and the server's base URL.
async fn serve_slack(
    dir: &tempfile::TempDir,
    args: &[&str],
    env: &[(&str, &str)],
) -> (binary::Started, String) {
    let mut all_args = vec!["serve", "--http", "127.0.0.1:0"];
    all_args.extend_from_slice(args);
    let mut all_env = vec![
        ("SLACK_SIGNING_SECRET", SECRET),
        ("SLACK_BOT_TOKEN", BOT_TOKEN),
    ];
    all_env.extend_from_slice(env);
    let started =
        binary::spawn_until(dealgate(dir, &all_args, &all_env), "Slack endpoints: ").await;
    let base = started
        .rest
        .split("/slack/commands")
        .next()
        .unwrap()
        .to_string();
    (started, base)
}

/// A slash command signed at `signed_at` with `secret`; the HTTP status.
async fn slash(base: &str, text: &str, command: &str, secret: &str, signed_at: i64) -> u16 {
    let body = serde_urlencoded::to_string([
        ("team_id", "T0METRIC1"),
        ("team_domain", "acme"),
        ("channel_id", "C0SALES01"),
        ("user_id", "U0BOSS001"),
        ("user_name", "boss"),
        ("command", command),
        ("text", text),
        ("response_url", "http://127.0.0.1:9/hooks/unused"),
        ("trigger_id", &format!("1.2.{command}{text}")),
    ])
    .unwrap();
    let ts = signed_at.to_string();
    let sig = SigningSecret::new(Secret::new(secret)).sign(&ts, body.as_bytes());
    reqwest::Client::new()
        .post(format!("{base}/slack/commands"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", sig)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// One scrape: every sample by its name with labels as printed, after checking that each line
/// is a `# HELP`/`# TYPE` comment or a well-formed sample.
async fn scrape(url: &str) -> HashMap<String, f64> {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let text = response.text().await.unwrap();
    let mut samples = HashMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.split(' ');
            let (keyword, name) = (words.next().unwrap(), words.next().unwrap_or(""));
            assert!(matches!(keyword, "HELP" | "TYPE"), "{line}");
            assert!(is_metric_name(name), "{line}");
            if keyword == "TYPE" {
                let kind = words.next().unwrap_or("");
                assert!(
                    matches!(
                        kind,
                        "counter" | "gauge" | "histogram" | "summary" | "untyped"
                    ),
                    "{line}"
                );
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line}")),
        };
        let name = series.split('{').next().unwrap();
        assert!(is_metric_name(name), "{line}");
        if let Some(labels) = series.strip_prefix(name)
            && !labels.is_empty()
        {
            let inner = labels
                .strip_prefix('{')
                .and_then(|l| l.strip_suffix('}'))
                .unwrap_or_else(|| panic!("labels of {line}"));
            for pair in inner.split("\",").filter(|p| !p.is_empty()) {
                let (key, value) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                assert!(is_metric_name(key) && !key.contains(':'), "{line}");
                assert!(!value.trim_end_matches('"').contains('"'), "{line}");
            }
        }
        samples.insert(series.to_string(), value);
    }
    samples
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

/// Scrapes until `done` holds for what it read (counters moved by tasks that run after the
/// request that caused them answered), within ten seconds. Each scrape is a round trip to the
/// bot, which paces the polling.
async fn scrape_until(
    url: &str,
    what: &str,
    done: impl Fn(&HashMap<String, f64>) -> bool,
) -> HashMap<String, f64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let samples = scrape(url).await;
        if done(&samples) {
            return samples;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} never held: {samples:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_commands_refusals_and_deliveries_in_prometheus_text() {
    let fake = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let api = fake.api_base();
    let (mut started, base) = serve_slack(
        &dir,
        &["--metrics", "127.0.0.1:0"],
        &[("SLACK_API_BASE", &api), ("DEALGATE_TICK_SECONDS", "1")],
    )
    .await;
    let own_port = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), started.later.recv())
            .await
            .expect("the metrics address is said")
            .expect("dealgate is running");
        if let Some(url) = line.strip_prefix("Metrics: ") {
            break url.trim().to_string();
        }
    };
    let metrics = format!("{base}/metrics");
    let before = scrape(&metrics).await;
    assert_eq!(
        value(&before, "dealgate_build_info{version=\"0.1.0\"}"),
        1.0
    );
    let ok = "dealgate_commands_total{command=\"deal new\",outcome=\"ok\"}";
    assert_eq!(value(&before, ok), 0.0, "nothing handled yet");

    // Two deals created, one refused advance (there is no deal-9), and three requests turned
    // away before any command ran.
    let now = unix_now();
    for text in ["new Acme 5000 2030-06-30", "new Globex 7000 2030-06-30"] {
        assert_eq!(slash(&base, text, "/deal", SECRET, now).await, 200);
    }
    assert_eq!(slash(&base, "deal-9", "/advance", SECRET, now).await, 200);
    assert_eq!(
        slash(&base, "list", "/deal", "not-the-secret", now).await,
        401
    );
    assert_eq!(
        slash(&base, "list", "/deal", SECRET, now - 3_600).await,
        401
    );
    let huge = reqwest::Client::new()
        .post(format!("{base}/slack/commands"))
        .body(vec![b'a'; 300 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status().as_u16(), 413);

    let after = scrape(&metrics).await;
    assert_eq!(value(&after, ok), 2.0, "{after:?}");
    assert_eq!(
        value(
            &after,
            "dealgate_commands_total{command=\"advance\",outcome=\"refused\"}"
        ),
        1.0,
        "{after:?}"
    );
    let buckets = "dealgate_command_duration_seconds_bucket{command=\"deal new\",le=\"+Inf\"}";
    assert_eq!(value(&after, buckets), 2.0, "{after:?}");
    assert_eq!(
        value(
            &after,
            "dealgate_command_duration_seconds_count{command=\"deal new\"}"
        ),
        2.0
    );
    assert!(
        value(
            &after,
            "dealgate_command_duration_seconds_sum{command=\"deal new\"}"
        ) > 0.0
    );
    // The buckets only grow with their bound.
    let mut bounds: Vec<(f64, f64)> = after
        .iter()
        .filter_map(|(series, count)| {
            let le = series
                .strip_prefix(
                    "dealgate_command_duration_seconds_bucket{command=\"deal new\",le=\"",
                )?
                .strip_suffix("\"}")?;
            Some((le.parse::<f64>().unwrap_or(f64::INFINITY), *count))
        })
        .collect();
    bounds.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(bounds.len() >= 10, "{bounds:?}");
    assert!(bounds.windows(2).all(|w| w[0].1 <= w[1].1), "{bounds:?}");
    for (reason, n) in [("signature", 1.0), ("replay", 1.0), ("size", 1.0)] {
        let series =
            format!("dealgate_requests_refused_total{{platform=\"slack\",reason=\"{reason}\"}}");
        assert_eq!(value(&after, &series), n, "{series}: {after:?}");
    }
    assert!(value(&after, "dealgate_db_connections_max{pool=\"writer\"}") >= 1.0);
    assert!(after.contains_key("dealgate_db_connections_in_use{pool=\"reader\"}"));

    // A digest due now: claimed by the scheduler, posted to the fake, counted as sent.
    let set = slash(
        &base,
        "setup <#C0MGRS001|managers> 00:00 UTC no",
        "/digest",
        SECRET,
        now,
    )
    .await;
    assert_eq!(set, 200);
    fake.wait_for("the digest posted", |r| {
        r.method() == Some("chat.postMessage") && r.args()["channel"] == "C0MGRS001"
    })
    .await;
    // Sent, and nothing left waiting (the outbox is read when scraped).
    let delivered = scrape_until(&metrics, "a delivery and an empty outbox", |m| {
        value(
            m,
            "dealgate_deliveries_total{platform=\"slack\",result=\"sent\"}",
        ) >= 1.0
            && value(m, "dealgate_outbox_pending") == 0.0
    })
    .await;
    assert_eq!(
        value(&delivered, "dealgate_jobs_claimed_total{job=\"digest\"}"),
        1.0
    );
    assert!(value(&delivered, "dealgate_scheduler_ticks_total") >= 1.0);
    assert!(delivered.contains_key("dealgate_outbox_pending"));
    assert_eq!(
        value(&delivered, "dealgate_outbox_oldest_pending_age_seconds"),
        0.0
    );

    // The port of its own serves the same registry.
    let own = scrape(&own_port).await;
    assert_eq!(value(&own, ok), 2.0);
    started.child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_say_each_command_with_its_workspace_interaction_and_latency() {
    let dir = tempfile::tempdir().unwrap();
    let (mut started, base) = serve_slack(
        &dir,
        &[],
        &[
            ("SLACK_API_BASE", "http://127.0.0.1:9"),
            ("DEALGATE_LOG_FORMAT", "json"),
            ("RUST_LOG", "warn,dealgate=info"),
        ],
    )
    .await;
    assert_eq!(
        slash(
            &base,
            "new Acme 5000 2030-06-30",
            "/deal",
            SECRET,
            unix_now()
        )
        .await,
        200
    );
    let logged = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), started.later.recv())
            .await
            .expect("a log line for the command")
            .expect("dealgate is running");
        // The start-up lines (addresses, the scheduler) are said as text; every log line is
        // one JSON object.
        if !line.starts_with('{') {
            continue;
        }
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
            panic!("not JSON: {line}");
        };
        if entry["message"] == "command handled" {
            break entry;
        }
    };
    assert_eq!(logged["command"], "deal new", "{logged}");
    assert_eq!(logged["platform"], "slack", "{logged}");
    assert_eq!(logged["workspace"], "T0METRIC1", "{logged}");
    assert_eq!(logged["outcome"], "ok", "{logged}");
    assert!(
        logged["interaction"]
            .as_str()
            .is_some_and(|i| !i.is_empty()),
        "{logged}"
    );
    assert!(
        logged["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0),
        "{logged}"
    );
    assert!(
        !logged.to_string().contains('\u{1b}'),
        "no colour codes: {logged}"
    );
    started.child.kill().await.unwrap();
}
