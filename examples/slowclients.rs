//! Slow clients against a running `dealgate serve --http`, and the server's memory meanwhile:
//! opens N connections that each send headers announcing a body and then most of that body,
//! never the end, holds them, closes them, and prints the server's resident memory (VmRSS)
//! before, at its highest while they are held, and after.
//!
//! ```text
//! DISCORD_APPLICATION_ID=1 DISCORD_PUBLIC_KEY=d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737 \
//!   DEALGATE_PLAYBOOK=tests/fixtures/three-stages.toml DATABASE_URL=sqlite:///tmp/slow.db \
//!   target/debug/dealgate serve --http 127.0.0.1:8080 &
//! cargo run --example slowclients -- --pid $! --clients 2000 --body-kib 255 --hold-seconds 20
//! ```
//!
//! Linux only (it reads `/proc/PID/status`).

use std::time::Duration;

use clap::Parser;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

#[derive(Debug, Parser)]
struct Args {
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// The server's process id, to read its memory.
    #[arg(long)]
    pid: u32,
    #[arg(long, default_value_t = 2000)]
    clients: usize,
    /// The body each client announces (Content-Length), in KiB; it sends all but its last byte.
    #[arg(long, default_value_t = 255)]
    body_kib: usize,
    /// How long the connections are held open once every client has sent what it will.
    #[arg(long, default_value_t = 20)]
    hold_seconds: u64,
    /// How long to wait after closing them before the last reading.
    #[arg(long, default_value_t = 5)]
    settle_seconds: u64,
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read the status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// One client: connects, sends the headers and all of the body but its last byte. What it
/// managed to send (the server may not read, or may close the connection on its clock).
async fn slow_client(addr: String, body: usize) -> (Option<TcpStream>, usize) {
    let connect = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(&addr));
    let Ok(Ok(mut stream)) = connect.await else {
        return (None, 0);
    };
    let head = format!(
        "POST /discord/interactions HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n\
         Content-Length: {body}\r\n\r\n"
    );
    let mut sent = 0;
    let mut payload = head.into_bytes();
    payload.extend(std::iter::repeat_n(b'x', body - 1));
    for chunk in payload.chunks(16 * 1024) {
        match tokio::time::timeout(Duration::from_secs(10), stream.write_all(chunk)).await {
            Ok(Ok(())) => sent += chunk.len(),
            _ => break,
        }
    }
    (Some(stream), sent)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let before = rss_kib(args.pid);
    println!("server RSS before: {}", mib(before));
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(before));
    let sampling = {
        let peak = std::sync::Arc::clone(&peak);
        let pid = args.pid;
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(pid), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let started = Instant::now();
    let clients: Vec<_> = (0..args.clients)
        .map(|_| tokio::spawn(slow_client(args.addr.clone(), args.body_kib * 1024)))
        .collect();
    let mut held = Vec::new();
    let (mut connected, mut bytes) = (0, 0);
    for c in clients {
        let (stream, sent) = c.await.expect("a client task panicked");
        connected += usize::from(stream.is_some());
        bytes += sent;
        held.extend(stream);
    }
    println!(
        "{connected} of {} clients connected, {:.0} MiB sent in {:.1}s; holding them {}s",
        args.clients,
        bytes as f64 / 1_048_576.0,
        started.elapsed().as_secs_f32(),
        args.hold_seconds
    );
    tokio::time::sleep(Duration::from_secs(args.hold_seconds)).await;
    let during = peak.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "server RSS at its highest while they were held: {}",
        mib(during)
    );
    drop(held);
    tokio::time::sleep(Duration::from_secs(args.settle_seconds)).await;
    sampling.abort();
    println!(
        "server RSS {}s after they closed: {}",
        args.settle_seconds,
        mib(rss_kib(args.pid))
    );
}
