//! Load generator for the Discord HTTP interactions endpoint: signs interactions the way
//! Discord does and fires them over N connections for T seconds, then reports commands/s,
//! latency percentiles and errors.
//!
//! ```text
//! # the endpoint, with the public key of the generator's fixed test key (seed 32 × 0x11):
//! DISCORD_APPLICATION_ID=1 DISCORD_PUBLIC_KEY=d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737 \
//!   DEALGATE_PLAYBOOK=tests/fixtures/three-stages.toml DATABASE_URL=sqlite:///tmp/bench.db \
//!   cargo run --release -- serve --http 127.0.0.1:8080
//! # /log and /advance, 32 connections, 20 seconds:
//! cargo run --release --example loadgen -- commands --connections 32 --seconds 20
//! # autocomplete over a big workspace: seed 100,000 deals once, then measure
//! cargo run --release --example loadgen -- seed --deals 100000 --guild 777
//! cargo run --release --example loadgen -- autocomplete --connections 8 --seconds 10 --guild 777
//! ```
//!
//! `commands`: each connection acts as its own rep, creates `--deals` deals, then alternates
//! `/log` (a Qualify activity of the test playbook) and `/advance` on them (`--only log` or
//! `--only advance` sends one of the two). `--rate N` paces the whole run at N requests a
//! second instead of as fast as answers come; latency is then measured from when each request
//! was due, so a stalled server cannot hide its queue (no coordinated omission). A refused advance is
//! a normal answer; errors are transport failures, non-200 statuses and internal-error replies.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    /// `/log` and `/advance`.
    Commands,
    /// Create `--deals` deals in the guild (spread over the connections).
    Seed,
    /// Deal autocomplete as the guild's admin, with a mix of typed text.
    Autocomplete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Only {
    /// `/log` and `/advance`, alternating.
    Both,
    Log,
    Advance,
}

#[derive(Debug, Parser)]
struct Args {
    mode: Mode,
    #[arg(long, default_value = "http://127.0.0.1:8080/discord/interactions")]
    url: String,
    #[arg(long, default_value_t = 32)]
    connections: usize,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Deals per connection (`commands`) or in total (`seed`).
    #[arg(long, default_value_t = 20)]
    deals: usize,
    /// The guild to act in; `commands` uses a fresh one per run unless given.
    #[arg(long)]
    guild: Option<u64>,
    /// Which commands `commands` sends.
    #[arg(long, value_enum, default_value_t = Only::Both)]
    only: Only,
    /// Requests a second over all connections; 0 sends each as soon as the last was answered.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Also print, on stderr, each second's requests, p99 and slowest, by when they were sent.
    #[arg(long)]
    timeline: bool,
}

#[allow(clippy::disallowed_methods)]
fn unix_micros() -> u64 {
    std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .map_or(1, |d| d.as_micros() as u64)
}

/// The bot refuses requests signed more than five minutes ago, so each is signed now.
#[allow(clippy::disallowed_methods)]
fn unix_now() -> String {
    chrono::Utc::now().timestamp().to_string()
}
const ACTIVITIES: [&str; 3] = ["discovery-call", "pain-identified", "budget-confirmed"];

struct Client {
    http: reqwest::Client,
    url: String,
    key: SigningKey,
    guild: String,
    next_id: AtomicU64,
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    /// The second of the run each request was sent in, beside its latency.
    sent_second: Vec<u32>,
    errors: u64,
    refusals: u64,
}

impl Client {
    fn interaction(&self, kind: u8, user: u64, name: &str, options: Vec<Value>) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (top, options) = match name.split_once(' ') {
            Some((g, sub)) => (g, vec![json!({"name": sub, "type": 1, "options": options})]),
            None => (name, options),
        };
        json!({
            "id": id.to_string(), "application_id": "1", "type": kind, "token": format!("t{id}"),
            "version": 1, "guild_id": self.guild, "channel_id": "7001", "locale": "en-US",
            "entitlements": [], "attachment_size_limit": 10485760, "app_permissions": "0",
            "context": 0,
            "member": {
                "user": {"id": user.to_string(), "username": format!("rep{user}"), "discriminator": "0", "global_name": null, "avatar": null},
                "roles": [], "joined_at": "2026-01-01T00:00:00.000000+00:00", "deaf": false,
                "mute": false, "flags": 0, "pending": false, "permissions": "0", "nick": null
            },
            "data": {"id": "5001", "name": top, "type": 1, "options": options}
        })
    }

    /// Sends one signed interaction; the answer, or `None` on any failure.
    async fn send(&self, interaction: &Value) -> Option<Value> {
        let body = serde_json::to_vec(interaction).ok()?;
        let timestamp = unix_now();
        let mut message = timestamp.as_bytes().to_vec();
        message.extend_from_slice(&body);
        let sig: String = self
            .key
            .sign(&message)
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let res = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-signature-ed25519", sig)
            .header("x-signature-timestamp", timestamp)
            .body(body)
            .send()
            .await
            .ok()?;
        if !res.status().is_success() {
            return None;
        }
        serde_json::from_slice(&res.bytes().await.ok()?).ok()
    }
}

fn opt(name: &str, value: &str) -> Value {
    json!({"name": name, "type": 3, "value": value})
}

fn title(answer: &Value) -> &str {
    answer["data"]["embeds"][0]["title"]
        .as_str()
        .unwrap_or_default()
}

fn is_error(answer: &Value) -> bool {
    let t = title(answer);
    t.starts_with("Something went wrong") || t.starts_with("That didn't work")
}

async fn create_deal(client: &Client, user: u64, n: usize) -> Option<String> {
    let answer = client
        .send(&client.interaction(
            2,
            user,
            "deal new",
            vec![
                opt(
                    "name",
                    &format!("Account {n} {}", ["renewal", "pilot", "expansion"][n % 3]),
                ),
                opt("amount", &format!("{}", 5_000 + (n % 97) * 1_000)),
                opt("close", "2030-06-30"),
            ],
        ))
        .await?;
    let number = title(&answer)
        .strip_prefix("Created ")?
        .split(' ')
        .next()?
        .to_string();
    Some(number)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let key = SigningKey::from_bytes(&[0x11; 32]);
    let public: String = key
        .verifying_key()
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    eprintln!("signing with the test key; the endpoint needs DISCORD_PUBLIC_KEY={public}");
    let guild = args.guild.unwrap_or_else(|| {
        // A fresh workspace per run, so runs do not pile deals onto each other.
        std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .map(|d| d.as_secs())
            .unwrap_or(1)
    });
    let client = Arc::new(Client {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(args.connections)
            .build()?,
        url: args.url.clone(),
        key,
        guild: guild.to_string(),
        // Interaction ids unique to this run, even in a guild an earlier run used: a repeated
        // id is answered from its receipt, without running the command.
        next_id: AtomicU64::new(unix_micros() * 1_000),
    });
    match args.mode {
        Mode::Seed => seed(&client, &args).await,
        Mode::Commands | Mode::Autocomplete => run(&client, &args).await,
    }
}

async fn seed(client: &Arc<Client>, args: &Args) -> anyhow::Result<()> {
    // The first member of a workspace is its admin: user 1 speaks first.
    client
        .send(&client.interaction(2, 1, "team list", vec![]))
        .await;
    let started = Instant::now();
    let per = args.deals.div_ceil(args.connections);
    let mut tasks = Vec::new();
    for c in 0..args.connections {
        let client = Arc::clone(client);
        tasks.push(tokio::spawn(async move {
            let mut made = 0;
            for n in c * per..(c + 1) * per {
                if create_deal(&client, 1 + (c as u64 % 8), n).await.is_some() {
                    made += 1;
                }
            }
            made
        }));
    }
    let mut made = 0;
    for t in tasks {
        made += t.await?;
    }
    println!(
        "seeded {made} deals in guild {} in {:.1} s",
        client.guild,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn run(client: &Arc<Client>, args: &Args) -> anyhow::Result<()> {
    let autocomplete = matches!(args.mode, Mode::Autocomplete);
    // Setup: each connection's rep creates its deals (not timed).
    let mut deals: Vec<Vec<String>> = Vec::new();
    if !autocomplete {
        client
            .send(&client.interaction(2, 1, "team list", vec![]))
            .await;
        let mut tasks = Vec::new();
        for c in 0..args.connections {
            let client = Arc::clone(client);
            let n = args.deals;
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                for i in 0..n {
                    if let Some(d) = create_deal(&client, 100 + c as u64, c * n + i).await {
                        mine.push(d);
                    }
                }
                mine
            }));
        }
        for t in tasks {
            deals.push(t.await?);
        }
        let made = deals.iter().map(Vec::len).sum::<usize>();
        if made == 0 {
            anyhow::bail!(
                "no deal could be created at {}: is dealgate serving there, with the \
                 DISCORD_PUBLIC_KEY printed above?",
                client.url
            );
        }
        eprintln!("setup: {made} deals");
    }
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    // Each connection's share of the rate, its first request staggered so they do not
    // arrive in bursts.
    let interval = (args.rate > 0)
        .then(|| Duration::from_secs_f64(args.connections as f64 / args.rate as f64));
    let only = args.only;
    let mut tasks = Vec::new();
    for c in 0..args.connections {
        let client = Arc::clone(client);
        let mine = deals.get(c).cloned().unwrap_or_default();
        let mut due = interval.map(|i| started + i.mul_f64(c as f64 / args.connections as f64));
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let typed = ["", "4", "123", "acme", "account 7", "renewal", "zzz"];
            let mut i = 0usize;
            while Instant::now() < deadline {
                let interaction = if autocomplete {
                    let t = typed[i % typed.len()];
                    client.interaction(
                        4,
                        1,
                        "log",
                        vec![json!({"name": "deal", "type": 3, "value": t, "focused": true})],
                    )
                } else if mine.is_empty() {
                    break;
                } else {
                    let deal = &mine[(i / 2) % mine.len()];
                    let log = match only {
                        Only::Both => i.is_multiple_of(2),
                        Only::Log => true,
                        Only::Advance => false,
                    };
                    if log {
                        let activity = ACTIVITIES[(i / 2 / mine.len()) % ACTIVITIES.len()];
                        client.interaction(
                            2,
                            100 + c as u64,
                            "log",
                            vec![opt("deal", deal), opt("activity", activity)],
                        )
                    } else {
                        client.interaction(2, 100 + c as u64, "advance", vec![opt("deal", deal)])
                    }
                };
                let sent = match (due, interval) {
                    (Some(at), Some(every)) => {
                        tokio::time::sleep_until(at.into()).await;
                        due = Some(at + every);
                        at
                    }
                    _ => Instant::now(),
                };
                let answer = client.send(&interaction).await;
                tally.latencies_us.push(sent.elapsed().as_micros() as u64);
                tally
                    .sent_second
                    .push(sent.saturating_duration_since(started).as_secs() as u32);
                match answer {
                    Some(a) if autocomplete && a["type"] == 8 => {}
                    Some(a) if !autocomplete && !is_error(&a) => {
                        if title(&a).contains("can't leave") || title(&a).contains("cannot move") {
                            tally.refusals += 1;
                        }
                    }
                    _ => tally.errors += 1,
                }
                i += 1;
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for t in tasks {
        let t = t.await?;
        all.latencies_us.extend(t.latencies_us);
        all.sent_second.extend(t.sent_second);
        all.errors += t.errors;
        all.refusals += t.refusals;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if args.timeline {
        print_timeline(&all);
    }
    all.latencies_us.sort_unstable();
    let n = all.latencies_us.len();
    println!(
        "{} over {} connections for {:.1} s: {n} requests, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, errors {}{}",
        match (autocomplete, args.only) {
            (true, _) => "autocomplete",
            (false, Only::Both) => "/log + /advance",
            (false, Only::Log) => "/log",
            (false, Only::Advance) => "/advance",
        },
        args.connections,
        elapsed,
        n as f64 / elapsed,
        percentile(&all.latencies_us, 0.50),
        percentile(&all.latencies_us, 0.99),
        percentile(&all.latencies_us, 1.0),
        all.errors,
        if autocomplete {
            String::new()
        } else {
            format!(", refused advances {}", all.refusals)
        },
    );
    Ok(())
}

/// Each second of the run: how many requests were sent in it, their p99 and the slowest.
fn print_timeline(all: &Tally) {
    let mut seconds: Vec<Vec<u64>> = Vec::new();
    for (&second, &latency) in all.sent_second.iter().zip(&all.latencies_us) {
        let second = second as usize;
        if seconds.len() <= second {
            seconds.resize_with(second + 1, Vec::new);
        }
        seconds[second].push(latency);
    }
    for (second, latencies) in seconds.iter_mut().enumerate() {
        latencies.sort_unstable();
        eprintln!(
            "second {second}: {} requests, p99 {:.2} ms, max {:.2} ms",
            latencies.len(),
            percentile(latencies, 0.99),
            percentile(latencies, 1.0),
        );
    }
}
