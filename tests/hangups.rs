//! Clients that hang up: signed commands sent over raw sockets and reset by the client (an RST,
//! `SO_LINGER` 0) 0–3 ms after the request left, hundreds of times, while other clients send
//! ordinary commands. Afterwards, on a store opened afresh (as after a restart):
//! - every request answered with success is in the database, once;
//! - every hung-up interaction, retried with its own id, is answered and applied exactly once;
//! - no command was applied twice, and no innocent request failed.
//!
//! And the same through the built binary killed with `kill -9` mid-load, then started again.

#[path = "support/binary.rs"]
mod binary;
#[path = "support/discord.rs"]
mod discord;
#[path = "support/fake_discord.rs"]
mod fake_discord;
mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use discord::*;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Connections reset by their client.
const HANGUPS: u64 = 240;
/// Well-behaved clients, and the commands each sends, while the hang-ups go on.
const CLIENTS: u64 = 4;
const PER_CLIENT: u64 = 30;
/// One deal per hung-up command and a few for the well-behaved clients: the test is about
/// hang-ups, not about two edits of one deal racing (that is `tests/replicas.rs`).
const DEALS: u64 = HANGUPS + CLIENTS;

const HANGUP_IDS: u64 = 1_000_000;
const INNOCENT_IDS: u64 = 2_000_000;

/// The command of hung-up request `i`: a `/log` or a `/deal set` (the latter runs in a
/// transaction of its own, the former as one statement or script), each marked with `i`.
/// `/deal new "Deal n" 50000 2030-06-30` as the boss, interaction `n`.
fn new_deal(n: u64) -> Value {
    deal_new(n, BOSS, &format!("Deal {n}"))
}

fn hostile(i: u64) -> Value {
    let deal = format!("deal-{}", 1 + i);
    if i.is_multiple_of(2) {
        command(
            HANGUP_IDS + i,
            BOSS,
            "log",
            vec![
                opt("deal", &deal),
                opt("activity", "demo"),
                opt("note", &format!("hang-{i}")),
            ],
        )
    } else {
        command(
            HANGUP_IDS + i,
            BOSS,
            "deal set",
            vec![
                opt("deal", &deal),
                opt("field", "champion"),
                opt("value", &format!("Champion hang-{i}")),
            ],
        )
    }
}

fn innocent(client: u64, n: u64) -> Value {
    command(
        INNOCENT_IDS + client * 1_000 + n,
        BOSS,
        "log",
        vec![
            opt(
                "deal",
                &format!("deal-{}", 1 + HANGUPS + (client + n) % CLIENTS),
            ),
            opt("activity", "pain-identified"),
            opt("note", &format!("ok-{client}-{n}")),
        ],
    )
}

/// Sends `interaction` signed, then resets the connection `delay` after the request left,
/// without reading a byte of the answer.
async fn send_and_hang_up(ep: &Endpoint, addr: &str, interaction: &Value, delay: Duration) {
    let body = serde_json::to_vec(interaction).unwrap();
    let timestamp = ep.timestamp();
    let signature = sign(&ep.key, &timestamp, &body);
    let mut request = format!(
        "POST /discord/interactions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         X-Signature-Ed25519: {signature}\r\nX-Signature-Timestamp: {timestamp}\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(&request).await.expect("send the request");
    // The hang-up lands at a different point of the request's work each time (before it is
    // read, while it waits for the writer, inside its transaction): at most `delay` after the
    // request left, sooner if the answer starts arriving, never after reading it.
    let _ = tokio::time::timeout(delay, stream.readable()).await;
    // Deprecated because a non-zero linger blocks the thread on drop; zero resets at once.
    #[allow(deprecated)]
    stream
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER 0");
    drop(stream);
}

/// The number of rows whose `column` equals each value, of `table`.
async fn counts(store: &dealgate::store::Store, table: &str, column: &str) -> HashMap<String, i64> {
    let mut conn = store.reader().acquire().await.unwrap();
    let rows: Vec<(Option<String>, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {column}, COUNT(*) FROM {table} GROUP BY {column}"
    )))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    rows.into_iter()
        .filter_map(|(value, n)| Some((value?, n)))
        .collect()
}

/// Sends `interaction` until it gets an answer that is not "still being handled" (its first
/// delivery may still be running in its own task); returns the embed's title. The deadline is
/// well inside the claim lease (30 s): the answer must come from the first delivery, which
/// ran to completion although its client hung up, not from a retry taking its claim over.
async fn answered(ep: &Endpoint, interaction: &Value) -> String {
    assert!(ep.app.service.claim_lease() >= chrono::Duration::seconds(30));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (status, answer) = ep.send(interaction).await;
        assert_eq!(status, 200, "{answer}");
        let embed = &answer["data"]["embeds"][0];
        let still_running = text(embed).contains("still being handled");
        if !still_running {
            return title(embed);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never answered: {answer}"
        );
    }
}

async fn hung_up_commands_are_applied_once_and_nobody_else_fails(app: support::TestApp) {
    let ep = Arc::new(Endpoint::on(app).await);
    for n in 1..=DEALS {
        let created = ep.reply(&new_deal(n)).await;
        assert!(title(&created).starts_with("Created"), "{created}");
    }
    let addr = ep.url.trim_start_matches("http://").to_string();

    let hostile_client = {
        let (ep, addr) = (Arc::clone(&ep), addr.clone());
        tokio::spawn(async move {
            for i in 0..HANGUPS {
                let delay = Duration::from_micros(i * 7_919 % 3_000);
                send_and_hang_up(&ep, &addr, &hostile(i), delay).await;
            }
        })
    };
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let ep = Arc::clone(&ep);
        clients.push(tokio::spawn(async move {
            let mut failed = Vec::new();
            for n in 0..PER_CLIENT {
                let (status, answer) = ep.send(&innocent(client, n)).await;
                let title = title(&answer["data"]["embeds"][0]);
                if status != 200 || !title.starts_with("Logged") {
                    failed.push(format!("ok-{client}-{n}: {status} {answer}"));
                }
            }
            failed
        }));
    }
    hostile_client.await.expect("the hostile client ran");
    let mut failed = Vec::new();
    for client in clients {
        failed.extend(client.await.expect("a client ran"));
    }
    assert!(failed.is_empty(), "innocent requests failed: {failed:#?}");

    // Every hung-up interaction, retried with its own id, is answered as it would have been.
    for i in 0..HANGUPS {
        let title = answered(&ep, &hostile(i)).await;
        let expected = if i.is_multiple_of(2) {
            "Logged"
        } else {
            "Updated"
        };
        assert!(title.starts_with(expected), "hang-up {i}: {title}");
    }

    // As after a restart: a store opened afresh on the same database.
    let store = ep.app.db.store().await;
    let notes = counts(&store, "activities", "note").await;
    let champions = counts(&store, "field_changes", "new_value").await;
    for client in 0..CLIENTS {
        for n in 0..PER_CLIENT {
            let note = format!("ok-{client}-{n}");
            assert_eq!(notes.get(&note), Some(&1), "{note}");
        }
    }
    for i in 0..HANGUPS {
        let found = if i.is_multiple_of(2) {
            notes.get(&format!("hang-{i}"))
        } else {
            champions.get(&format!("Champion hang-{i}"))
        };
        assert_eq!(found, Some(&1), "hang-up {i} applied once");
    }
    let applied_twice: Vec<_> = notes
        .iter()
        .chain(&champions)
        .filter(|(_, n)| **n > 1)
        .collect();
    assert!(applied_twice.is_empty(), "{applied_twice:?}");
    let receipts = counts(&store, "interaction_receipts", "platform").await;
    assert_eq!(
        receipts.get("discord").copied(),
        Some((DEALS + HANGUPS + CLIENTS * PER_CLIENT) as i64),
        "one receipt per interaction"
    );
    store.close().await;
}

on_both_backends!(multi_thread: hung_up_commands_are_applied_once_and_nobody_else_fails);

fn log_demo(id: u64) -> Value {
    command(
        id,
        BOSS,
        "log",
        vec![
            opt("deal", "deal-1"),
            opt("activity", "demo"),
            opt("note", "after a crash"),
        ],
    )
}

async fn logged(ep: &Endpoint) -> i64 {
    counts(&ep.app.db.store().await, "activities", "note")
        .await
        .get("after a crash")
        .copied()
        .unwrap_or(0)
}

/// The endpoint with deal-1, and interaction `id` claimed by a process that then died.
async fn with_a_deal_and_a_claim_of_a_dead_process(app: support::TestApp, id: &str) -> Endpoint {
    let ep = Endpoint::with_deal_1(app, BOSS).await;
    let delivery = dealgate::service::Delivery::new(dealgate::service::Platform::Discord, id);
    let claim = ep.app.service.claim_interaction(&delivery, Duration::ZERO);
    assert_eq!(claim.await.unwrap(), dealgate::service::Claim::New);
    ep
}

/// A process claimed an interaction and died before it did anything (`kill -9`): a retry with
/// the same id is told it is still being handled until the claim's lease lapses, then runs it.
async fn a_claim_whose_process_died_is_taken_over_after_its_lease(app: support::TestApp) {
    let ep = with_a_deal_and_a_claim_of_a_dead_process(app, "77").await;
    let service = &ep.app.service;
    // The process is gone; the retry comes within the lease.
    let (_, answer) = ep.send(&log_demo(77)).await;
    assert!(
        answer.to_string().contains("still being handled"),
        "{answer}"
    );
    assert_eq!(logged(&ep).await, 0);
    ep.app
        .clock
        .advance(service.claim_lease() + chrono::Duration::seconds(1));
    let embed = ep.reply(&log_demo(77)).await;
    assert!(title(&embed).starts_with("Logged"), "{embed}");
    assert_eq!(logged(&ep).await, 1);
    // And from then on it is answered from its receipt.
    assert_eq!(ep.reply(&log_demo(77)).await, embed);
    assert_eq!(logged(&ep).await, 1);
}

/// A process ran an interaction's command and died before it recorded the answer: a retry after
/// the lease learns the command was carried out, and it is not applied again.
async fn a_command_applied_by_a_process_that_died_is_not_applied_again(app: support::TestApp) {
    let ep = with_a_deal_and_a_claim_of_a_dead_process(app, "78").await;
    let service = &ep.app.service;
    let delivery = dealgate::service::Delivery::new(dealgate::service::Platform::Discord, "78");
    let command =
        dealgate::commands::parse::parse_line("/log deal-1 demo \"after a crash\"").unwrap();
    let reply =
        dealgate::commands::execute::execute_for(service, &caller(BOSS), command, Some(&delivery))
            .await;
    assert!(reply.title.starts_with("Logged"), "{reply:?}");
    assert_eq!(logged(&ep).await, 1);
    // The answer was never recorded. After the lease, the retry takes the claim over.
    ep.app
        .clock
        .advance(service.claim_lease() + chrono::Duration::seconds(1));
    let embed = ep.reply(&log_demo(78)).await;
    assert!(
        text(&embed).contains("already carried out when it first arrived"),
        "{embed}"
    );
    assert_eq!(logged(&ep).await, 1, "not applied again");
    // Running the command again for that delivery is refused by its effect row, too.
    let command =
        dealgate::commands::parse::parse_line("/log deal-1 demo \"after a crash\"").unwrap();
    let again =
        dealgate::commands::execute::execute_for(service, &caller(BOSS), command, Some(&delivery))
            .await;
    assert!(
        again.lines.join(" ").contains("already carried out"),
        "{again:?}"
    );
    assert_eq!(logged(&ep).await, 1);
}

/// `/log` is claimed by its own write, not by a claim written before it runs: the same delivery
/// sent eight times at once (a proxy retrying, a platform redelivering) is applied once, and
/// every copy is answered with the one answer it got, byte for byte.
async fn one_log_delivered_eight_times_at_once_is_applied_once_with_one_answer(
    app: support::TestApp,
) {
    let ep = Endpoint::with_deal_1(app, BOSS).await;
    let log = log_demo(90);
    let send = || ep.send(&log);
    let (a, b, c, d, e, f, g, h) = tokio::join!(
        send(),
        send(),
        send(),
        send(),
        send(),
        send(),
        send(),
        send()
    );
    let copies = [a, b, c, d, e, f, g, h];
    let (status, first) = &copies[0];
    assert_eq!(*status, 200, "{first}");
    assert!(
        title(&first["data"]["embeds"][0]).starts_with("Logged"),
        "{first}"
    );
    for (status, answer) in &copies {
        assert_eq!((*status, answer), (200, first));
    }
    assert_eq!(logged(&ep).await, 1);
    // And a copy that comes later is answered from the receipt, the same again.
    assert_eq!(&ep.send(&log).await.1, first);
    assert_eq!(logged(&ep).await, 1);
}

/// A retried move gets the answer its first delivery got, not a judgement of the deal as the
/// move left it (which would refuse: the deal is closed now). A new delivery of the same
/// command is a new command, and is refused.
async fn a_retried_move_gets_its_first_answer_not_a_new_judgement(app: support::TestApp) {
    let ep = Endpoint::with_deal_1(app, BOSS).await;
    let lost = |id| {
        command(
            id,
            BOSS,
            "lost",
            vec![
                opt("deal", "deal-1"),
                opt("reason", "budget went to another team"),
            ],
        )
    };
    let first = ep.reply(&lost(91)).await;
    assert!(title(&first).contains("lost"), "{first}");
    assert_eq!(ep.reply(&lost(91)).await, first);
    let again = ep.reply(&lost(92)).await;
    assert!(text(&again).contains("closed"), "{again}");
    let changes = counts(&ep.app.db.store().await, "stage_changes", "kind").await;
    assert_eq!(changes.get("lost"), Some(&1), "{changes:?}");
}

/// A refused command wrote nothing, but its answer is recorded before the reply goes out: a
/// retry after the deal changed gets the refusal its first delivery got, and does not move the
/// deal, though the gate it missed is met now. A new delivery of the command is judged afresh,
/// and advances.
async fn a_retried_refusal_gets_the_refusal_it_got(app: support::TestApp) {
    let ep = Endpoint::with_deal_1(app, BOSS).await;
    let advance = |id| command(id, BOSS, "advance", vec![opt("deal", "deal-1")]);
    let refused = ep.reply(&advance(93)).await;
    assert!(text(&refused).contains("discovery-call"), "{refused}");
    // The refusal's answer is written as the reply goes out; a copy that overtook that write
    // would be judged again (README), so this retry comes once it is written.
    let delivery = dealgate::service::Delivery::new(dealgate::service::Platform::Discord, "93");
    let recorded = ep
        .app
        .service
        .await_answer(&delivery, Duration::from_secs(10));
    assert!(
        recorded.await.unwrap().is_some(),
        "the refusal was recorded"
    );
    let call = command(
        94,
        BOSS,
        "log",
        vec![opt("deal", "deal-1"), opt("activity", "discovery-call")],
    );
    assert!(title(&ep.reply(&call).await).starts_with("Logged"));
    assert_eq!(ep.reply(&advance(93)).await, refused);
    let moves = || async { counts(&ep.app.db.store().await, "stage_changes", "kind").await };
    assert_eq!(moves().await.get("advance"), None);
    let advanced = ep.reply(&advance(95)).await;
    assert_ne!(advanced, refused);
    assert_eq!(moves().await.get("advance"), Some(&1), "{advanced}");
}

on_both_backends!(
    a_claim_whose_process_died_is_taken_over_after_its_lease,
    a_command_applied_by_a_process_that_died_is_not_applied_again,
    one_log_delivered_eight_times_at_once_is_applied_once_with_one_answer,
    a_retried_move_gets_its_first_answer_not_a_new_judgement,
    a_retried_refusal_gets_the_refusal_it_got,
);

/// The Discord public key of the self-made test vector (PROTOCOLS.md §1.2), whose private half
/// is `discord::signing_key()`.
const DISCORD_KEY: &str = "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737";

/// The running binary reads the real clock, so its requests are signed at the real time.
#[allow(clippy::disallowed_methods)]
fn unix_now() -> String {
    chrono::Utc::now().timestamp().to_string()
}

/// `dealgate serve --http` on `database`, with a one-second claim lease; the child and the
/// endpoint's URL.
async fn serve(dir: &tempfile::TempDir, database: &str) -> (tokio::process::Child, String) {
    let command = binary::dealgate(
        dir,
        &[
            "serve",
            "--http",
            "127.0.0.1:0",
            "--claim-lease-seconds",
            "1",
        ],
        &[
            ("DATABASE_URL", database),
            ("DISCORD_APPLICATION_ID", "1"),
            ("DISCORD_PUBLIC_KEY", DISCORD_KEY),
            ("DEALGATE_TICK_SECONDS", "3600"),
        ],
    );
    let started = binary::spawn_until(command, "Discord interactions endpoint: ").await;
    (started.child, started.rest)
}

/// Posts `interaction` signed now; the embed's title, or `None` when no answer came back (the
/// server was killed, or the connection broke).
async fn post(client: &reqwest::Client, url: &str, interaction: &Value) -> Option<String> {
    let body = serde_json::to_vec(interaction).unwrap();
    let timestamp = unix_now();
    let signature = sign(&signing_key(), &timestamp, &body);
    let res = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-signature-ed25519", signature)
        .header("x-signature-timestamp", timestamp)
        .body(body)
        .send()
        .await
        .ok()?;
    if res.status() != 200 {
        return None;
    }
    let answer: Value = res.json().await.ok()?;
    let embed = &answer["data"]["embeds"][0];
    if text(embed).contains("still being handled") {
        return None;
    }
    Some(title(embed))
}

async fn commands_cut_off_by_kill_9_are_completed_once_after_a_restart(app: support::TestApp) {
    const KILL_AFTER: usize = 60;
    let dir = tempfile::tempdir().unwrap();
    let database = app.db.url.clone();
    let client = reqwest::Client::new();
    let (mut first, url) = serve(&dir, &database).await;
    for n in 1..=CLIENTS {
        let created = post(&client, &url, &new_deal(n)).await;
        assert!(created.is_some_and(|t| t.starts_with("Created")));
    }
    let log = |client: u64, n: u64| {
        command(
            INNOCENT_IDS + client * 1_000 + n,
            BOSS,
            "log",
            vec![
                opt("deal", &format!("deal-{}", 1 + client)),
                opt("activity", "demo"),
                opt("note", &format!("k-{client}-{n}")),
            ],
        )
    };
    // Each client sends until the server dies: the ids answered with success, and the ids
    // that got no answer.
    let answered_ok = Arc::new(tokio::sync::Semaphore::new(0));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (client, url, answered_ok) = (client.clone(), url.clone(), Arc::clone(&answered_ok));
        clients.push(tokio::spawn(async move {
            let (mut ok, mut cut) = (Vec::new(), Vec::new());
            for n in 0.. {
                match post(&client, &url, &log(c, n)).await {
                    Some(title) => {
                        assert!(title.starts_with("Logged"), "k-{c}-{n}: {title}");
                        ok.push(n);
                        answered_ok.add_permits(1);
                    }
                    None => {
                        cut.push(n);
                        break;
                    }
                }
            }
            (c, ok, cut)
        }));
    }
    let _ = answered_ok.acquire_many(KILL_AFTER as u32).await.unwrap();
    first.start_kill().expect("kill -9");
    first.wait().await.unwrap();
    let mut outcomes = Vec::new();
    for c in clients {
        outcomes.push(c.await.expect("a client ran"));
    }

    // Started again on the same database, every command that got no answer is sent again with
    // its own id until it is answered: taken over after the one-second lease if its first
    // attempt died, answered from its receipt if it had finished.
    let (mut second, url) = serve(&dir, &database).await;
    for (c, _, cut) in &outcomes {
        for n in cut {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            let title = loop {
                if let Some(title) = post(&client, &url, &log(*c, *n)).await {
                    break title;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "k-{c}-{n} never answered"
                );
            };
            assert!(
                title.starts_with("Logged") || title == "That didn't work",
                "k-{c}-{n}: {title}"
            );
        }
    }
    second.start_kill().unwrap();
    second.wait().await.unwrap();

    let store = app.db.store().await;
    let notes = counts(&store, "activities", "note").await;
    let mut total = 0;
    for (c, ok, cut) in &outcomes {
        for n in ok.iter().chain(cut) {
            let note = format!("k-{c}-{n}");
            assert_eq!(notes.get(&note), Some(&1), "{note} applied once");
            total += 1;
        }
    }
    assert!(total >= KILL_AFTER, "{total}");
    assert_eq!(
        notes.values().sum::<i64>() as usize,
        total,
        "nothing else, nothing twice"
    );
    store.close().await;
}

on_both_backends!(multi_thread: commands_cut_off_by_kill_9_are_completed_once_after_a_restart);
