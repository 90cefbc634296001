//! The built binary with Slack configured: `dealgate serve --http` answers signed Slack slash
//! commands alone and beside Discord's endpoint on one server, a partly configured Slack stops
//! with what is missing, SIGTERM lets the delivery under way finish (a second one does not wait),
//! and `dealgate slack manifest` prints the app manifest.

#[path = "support/binary.rs"]
mod binary;
#[path = "support/fake_slack.rs"]
mod fake_slack;

use std::time::Duration;

use binary::dealgate;
use dealgate::chat::slack::verify::SigningSecret;
use dealgate::config::Secret;
use fake_slack::{BOT_TOKEN, FakeSlack};
use serde_json::Value;
use tempfile::TempDir;

const SECRET: &str = "a-signing-secret-made-for-this-test";
/// The Discord public key of the self-made test vector (PROTOCOLS.md §1.2).
const DISCORD_KEY: &str = "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737";

/// The running binary reads the real clock, so its requests are signed at the real time.
#[allow(clippy::disallowed_methods)]
fn unix_now() -> String {
    chrono::Utc::now().timestamp().to_string()
}

/// Starts `serve`, reads its start-up lines until the Slack endpoint's address; the child, the
/// base URL and every line read.
async fn serve(
    dir: &TempDir,
    env: &[(&str, &str)],
) -> (tokio::process::Child, String, Vec<String>) {
    let (child, base, seen, _) = serve_watched(dir, env).await;
    (child, base, seen)
}

/// `serve`, and the lines it says on stderr after its start-up lines.
async fn serve_watched(
    dir: &TempDir,
    env: &[(&str, &str)],
) -> (
    tokio::process::Child,
    String,
    Vec<String>,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    started(dealgate(dir, &["serve", "--http", "127.0.0.1:0"], env)).await
}

/// `command` (a `dealgate serve` with Slack) started and watched as `serve_watched` does.
async fn started(
    command: tokio::process::Command,
) -> (
    tokio::process::Child,
    String,
    Vec<String>,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let started = binary::spawn_until(command, "Slack endpoints: ").await;
    let base = started
        .rest
        .split("/slack/commands")
        .next()
        .unwrap()
        .to_string();
    (started.child, base, started.seen, started.later)
}

async fn slash(base: &str, command: &str, text: &str) -> (u16, Value) {
    slash_answering_to(base, command, text, "http://127.0.0.1:9/hooks/unused").await
}

/// `slash`, with the response URL a slow command's answer goes to.
async fn slash_answering_to(
    base: &str,
    command: &str,
    text: &str,
    response_url: &str,
) -> (u16, Value) {
    let body = serde_urlencoded::to_string([
        ("team_id", "T0SERVE01"),
        ("team_domain", "acme"),
        ("channel_id", "C0SALES01"),
        ("user_id", "U0BOSS001"),
        ("user_name", "boss"),
        ("command", command),
        ("text", text),
        ("response_url", response_url),
        ("trigger_id", &format!("1.2.{command}{text}")),
    ])
    .unwrap();
    let ts = unix_now();
    let sig = SigningSecret::new(Secret::new(SECRET)).sign(&ts, body.as_bytes());
    let res = reqwest::Client::new()
        .post(format!("{base}/slack/commands"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_slack_beside_discord_on_one_http_server() {
    let fake = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let api = fake.api_base();
    let (mut bot, base, said) = serve(
        &dir,
        &[
            ("SLACK_SIGNING_SECRET", SECRET),
            ("SLACK_BOT_TOKEN", BOT_TOKEN),
            ("SLACK_API_BASE", &api),
            ("DISCORD_APPLICATION_ID", "775799577604522054"),
            ("DISCORD_PUBLIC_KEY", DISCORD_KEY),
        ],
    )
    .await;
    assert!(
        said.iter()
            .any(|l| l.starts_with("Discord interactions endpoint: ")),
        "{said:?}"
    );
    let (status, answer) = slash(&base, "/deal", "new Acme 5000 2030-06-30").await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer.to_string().contains("Created deal-1 · Acme"),
        "{answer}"
    );
    // Discord's endpoint is there too, and checks its own signatures.
    let res = reqwest::Client::new()
        .post(format!("{base}/discord/interactions"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    bot.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_slack_alone_without_any_discord_setting() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bot, base, said) = serve(
        &dir,
        &[
            ("SLACK_SIGNING_SECRET", SECRET),
            ("SLACK_BOT_TOKEN", BOT_TOKEN),
        ],
    )
    .await;
    assert!(!said.iter().any(|l| l.contains("Discord")), "{said:?}");
    let (status, answer) = slash(&base, "/dealgate", "help").await;
    assert_eq!(status, 200);
    assert_eq!(answer["response_type"], "ephemeral");
    assert!(answer.to_string().contains("dealgate commands"), "{answer}");
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let res = reqwest::Client::new()
        .post(format!("{base}/discord/interactions"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        404,
        "no Discord endpoint without Discord settings"
    );
    bot.kill().await.unwrap();
}

/// The whole path on Slack through the real binary: an admin schedules the digest with a slash
/// command, the scheduler inside `serve` claims the day, and the outbox worker posts it to the
/// fake Web API with its chart, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_posts_the_days_digest_to_slack_with_its_chart() {
    let fake = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let api = fake.api_base();
    let (mut bot, base, _) = serve(
        &dir,
        &[
            ("SLACK_SIGNING_SECRET", SECRET),
            ("SLACK_BOT_TOKEN", BOT_TOKEN),
            ("SLACK_API_BASE", &api),
            ("DEALGATE_TICK_SECONDS", "1"),
        ],
    )
    .await;
    let (status, created) = slash(&base, "/deal", "new Acme 5000 2030-06-30").await;
    assert_eq!(status, 200, "{created}");
    // Every day at midnight in UTC: already due today, so the next tick posts it.
    let (status, set) = slash(&base, "/digest", "setup <#C0MGRS001|managers> 00:00 UTC no").await;
    assert_eq!(status, 200, "{set}");
    assert!(set.to_string().contains("Digest scheduled"), "{set}");
    let post = fake
        .wait_for("the digest posted", |r| {
            r.method() == Some("chat.postMessage") && r.args()["channel"] == "C0MGRS001"
        })
        .await;
    assert!(
        post.args().to_string().contains("Forecast digest"),
        "{}",
        post.args()
    );
    let shared = fake
        .wait_for("the chart shared", |r| {
            r.method() == Some("files.completeUploadExternal")
        })
        .await;
    assert!(
        shared.args().to_string().contains("C0MGRS001"),
        "{}",
        shared.args()
    );
    let methods = fake.methods();
    let at = |m: &str| methods.iter().position(|x| x == m).unwrap();
    assert!(
        at("files.completeUploadExternal") < at("chat.postMessage"),
        "chart first, text last: {methods:?}"
    );
    assert_eq!(
        methods.iter().filter(|m| *m == "chat.postMessage").count(),
        1,
        "{methods:?}"
    );
    bot.kill().await.unwrap();
}

/// Arguments, environment, and what the error must say.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[tokio::test]
async fn a_partly_configured_slack_stops_serve_with_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [Case; 3] = [
        (
            &["serve", "--http", "127.0.0.1:0"],
            &[("SLACK_SIGNING_SECRET", SECRET)],
            "SLACK_BOT_TOKEN missing",
        ),
        (
            &["serve", "--http", "127.0.0.1:0"],
            &[("SLACK_BOT_TOKEN", BOT_TOKEN)],
            "SLACK_SIGNING_SECRET missing",
        ),
        (
            &["serve"],
            &[
                ("SLACK_SIGNING_SECRET", SECRET),
                ("SLACK_BOT_TOKEN", BOT_TOKEN),
            ],
            "give --http ADDR",
        ),
    ];
    for (args, env, says) in cases {
        let out = dealgate(&dir, args, env).output().await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} {env:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(
            !stderr.contains(SECRET) && !stderr.contains(BOT_TOKEN),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn slack_manifest_prints_every_command_the_urls_and_the_scopes() {
    let dir = tempfile::tempdir().unwrap();
    // By default one command, `/dealgate`, that clashes with no other app's.
    let default = dealgate(
        &dir,
        &["slack", "manifest", "--url", "https://bot.example.com"],
        &[],
    )
    .output()
    .await
    .unwrap();
    let manifest: Value = serde_json::from_slice(&default.stdout).expect("the manifest is JSON");
    let only: Vec<&str> = manifest["features"]["slash_commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    assert_eq!(only, ["/dealgate"]);
    let out = dealgate(
        &dir,
        &[
            "slack",
            "manifest",
            "--url",
            "https://bot.example.com",
            "--short-commands",
        ],
        &[],
    )
    .output()
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: Value = serde_json::from_slice(&out.stdout).expect("the manifest is JSON");
    let commands = manifest["features"]["slash_commands"].as_array().unwrap();
    let names: Vec<&str> = commands
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    for name in [
        "/deal",
        "/log",
        "/advance",
        "/back",
        "/approve",
        "/won",
        "/lost",
        "/playbook",
        "/forecast",
        "/team",
        "/digest",
        "/nudges",
        "/dealgate",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    assert_eq!(
        manifest["settings"]["interactivity"]["request_url"],
        "https://bot.example.com/slack/interactivity"
    );
    let scopes = manifest["oauth_config"]["scopes"]["bot"].to_string();
    for scope in ["commands", "chat:write", "im:write", "files:write"] {
        assert!(scopes.contains(&format!("\"{scope}\"")), "{scopes}");
    }
    let bad = dealgate(
        &dir,
        &["slack", "manifest", "--url", "bot.example.com"],
        &[],
    )
    .output()
    .await
    .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("public address"));
}

/// `serve` with Slack and the scheduler every second, a digest due now, and its post to the
/// fake held: once this returns, a delivery is under way and stays so until the test releases
/// `chat.postMessage`.
async fn serve_with_a_delivery_under_way(
    dir: &TempDir,
    fake: &FakeSlack,
    drain_seconds: &str,
) -> (
    tokio::process::Child,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    fake.hold("chat.postMessage");
    let api = fake.api_base();
    let (bot, base, _, later) = serve_watched(
        dir,
        &[
            ("SLACK_SIGNING_SECRET", SECRET),
            ("SLACK_BOT_TOKEN", BOT_TOKEN),
            ("SLACK_API_BASE", &api),
            ("DEALGATE_TICK_SECONDS", "1"),
            ("DEALGATE_DRAIN_SECONDS", drain_seconds),
        ],
    )
    .await;
    let (status, created) = slash(&base, "/deal", "new Acme 5000 2030-06-30").await;
    assert_eq!(status, 200, "{created}");
    let (status, set) = slash(&base, "/digest", "setup <#C0MGRS001|managers> 00:00 UTC no").await;
    assert_eq!(status, 200, "{set}");
    fake.wait_for("the digest's post", |r| {
        r.method() == Some("chat.postMessage")
    })
    .await;
    (bot, later)
}

fn signal(child: &tokio::process::Child, signal: libc::c_int) {
    let pid = child.id().expect("the child is running") as libc::pid_t;
    // SAFETY: `kill` only sends a signal; the pid is our own child's, not yet reaped.
    let sent = unsafe { libc::kill(pid, signal) };
    assert_eq!(sent, 0, "kill({pid}, {signal})");
}

/// Waits, up to a deadline, for a line containing `text` among what the child says; the lines
/// up to and with that one.
async fn said(later: &mut tokio::sync::mpsc::UnboundedReceiver<String>, text: &str) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, later.recv()).await {
            Ok(Some(line)) if line.contains(text) => {
                seen.push(line);
                return seen;
            }
            Ok(Some(line)) => seen.push(line),
            Ok(None) | Err(_) => panic!("the bot never said {text:?}; it said {seen:?}"),
        }
    }
}

async fn exit_status(child: &mut tokio::process::Child) -> std::process::ExitStatus {
    tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the bot exits")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_delivery_under_way_finish_then_exits_zero() {
    let fake = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut bot, mut later) = serve_with_a_delivery_under_way(&dir, &fake, "20").await;
    signal(&bot, libc::SIGTERM);
    said(&mut later, "SIGTERM: stopping").await;
    assert!(
        bot.try_wait().unwrap().is_none(),
        "the bot exited with its delivery under way"
    );
    fake.release("chat.postMessage");
    let status = exit_status(&mut bot).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert_eq!(fake.calls("chat.postMessage"), 1);
    // The post the fake answered was recorded as delivered before the exit.
    let outbox = dealgate(&dir, &["outbox"], &[]).output().await.unwrap();
    let listed = String::from_utf8_lossy(&outbox.stdout);
    assert!(
        listed.contains("The outbox is empty"),
        "{listed}{}",
        String::from_utf8_lossy(&outbox.stderr)
    );
}

/// An answer a command sends after its HTTP response (here `/forecast`'s, posted to the
/// response URL) is work under way too: SIGTERM waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_waits_for_an_answer_still_on_its_way_to_the_response_url() {
    let fake = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut bot, base, _, mut later) = serve_watched(
        &dir,
        &[
            ("SLACK_SIGNING_SECRET", SECRET),
            ("SLACK_BOT_TOKEN", BOT_TOKEN),
            ("DEALGATE_DRAIN_SECONDS", "20"),
        ],
    )
    .await;
    fake.hold_path("/hooks/forecast");
    let hook = fake.response_url("forecast");
    let (status, working) = slash_answering_to(&base, "/forecast", "", &hook).await;
    assert_eq!(status, 200);
    assert!(
        working.to_string().contains("Working out the forecast"),
        "{working}"
    );
    fake.wait_for("the forecast's answer", |r| r.path == "/hooks/forecast")
        .await;
    signal(&bot, libc::SIGTERM);
    said(&mut later, "SIGTERM: stopping").await;
    // Everything else has stopped; only the held answer keeps the bot.
    let waited = tokio::time::timeout(Duration::from_secs(1), bot.wait()).await;
    assert!(
        waited.is_err(),
        "the bot exited with an answer on its way: {waited:?}"
    );
    fake.release_path("/hooks/forecast");
    let status = exit_status(&mut bot).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    let answers = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/hooks/forecast")
        .count();
    assert_eq!(answers, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once_without_waiting_for_the_delivery() {
    let fake = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut bot, mut later) = serve_with_a_delivery_under_way(&dir, &fake, "600").await;
    signal(&bot, libc::SIGTERM);
    said(&mut later, "SIGTERM: stopping").await;
    signal(&bot, libc::SIGINT);
    let status = exit_status(&mut bot).await;
    // 128 + SIGINT; a drain, even one cut short by the scheduler's own grace, would exit 0.
    assert_eq!(status.code(), Some(130), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_that_outlasts_its_bound_exits_non_zero_saying_so() {
    let fake = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut bot, mut later) = serve_with_a_delivery_under_way(&dir, &fake, "1").await;
    signal(&bot, libc::SIGINT);
    said(&mut later, "SIGINT: stopping").await;
    said(&mut later, "did not finish within 1s").await;
    let status = exit_status(&mut bot).await;
    assert_eq!(status.code(), Some(1), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_accepts_for_want_of_descriptors_are_said_once_and_outlived() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = dealgate(
        &dir,
        &[
            "serve",
            "--http",
            "127.0.0.1:0",
            "--max-connections",
            "1000",
        ],
        &[
            ("SLACK_SIGNING_SECRET", SECRET),
            ("SLACK_BOT_TOKEN", BOT_TOKEN),
        ],
    );
    // SAFETY: between fork and exec the closure only calls setrlimit, which is
    // async-signal-safe, and allocates nothing.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 64,
                rlim_max: 64,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let (mut bot, base, _, mut later) = started(command).await;
    let addr = base.trim_start_matches("http://").to_string();
    // More connections than the 64 descriptors the bot may open: accepting fails for a while.
    let mut held = Vec::new();
    for _ in 0..100 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    said(&mut later, "accepting connections fails").await;
    // Accept keeps failing until the connections go; only the first failure is said.
    let wait = tokio::time::Instant::now() + Duration::from_millis(1500);
    let mut meanwhile = Vec::new();
    while let Ok(Some(line)) = tokio::time::timeout_at(wait, later.recv()).await {
        meanwhile.push(line);
    }
    drop(held);
    meanwhile.extend(said(&mut later, "accepting connections works again").await);
    let again = meanwhile
        .iter()
        .filter(|l| l.contains("accepting connections fails"))
        .count();
    assert_eq!(again, 0, "said more than once: {meanwhile:?}");
    let recovered = meanwhile.last().unwrap();
    assert!(recovered.contains("failures"), "{recovered}");
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    signal(&bot, libc::SIGTERM);
    let status = exit_status(&mut bot).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_on_a_port_of_its_own_and_serves_nothing_else_there() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bot, base, said) = serve(
        &dir,
        &[
            ("SLACK_SIGNING_SECRET", SECRET),
            ("SLACK_BOT_TOKEN", BOT_TOKEN),
            ("DEALGATE_HEALTH_ADDR", "127.0.0.1:0"),
        ],
    )
    .await;
    let probe = said
        .iter()
        .find_map(|l| l.strip_prefix("Health check: "))
        .unwrap_or_else(|| panic!("no health address in {said:?}"))
        .to_string();
    assert_ne!(probe, format!("{base}/healthz"));
    let health = reqwest::get(&probe).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    let elsewhere = reqwest::Client::new()
        .post(probe.replace("/healthz", "/slack/commands"))
        .body("text=help")
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status().as_u16(), 404, "only /healthz there");
    bot.kill().await.unwrap();
}

#[tokio::test]
async fn health_without_http_stops_serve_saying_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dealgate(
        &dir,
        &["serve", "--health", "127.0.0.1:0"],
        &[
            ("SLACK_SIGNING_SECRET", SECRET),
            ("SLACK_BOT_TOKEN", BOT_TOKEN),
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("give --http ADDR too"), "{stderr}");
}
