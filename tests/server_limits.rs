//! The HTTP server against hostile clients, over real sockets on 127.0.0.1: clients that send
//! half a request and stall are cut off on the clock, signed requests and `/healthz` keep being
//! answered while they hold every connection slot, and stopping lets the request under way
//! finish.

#[path = "support/discord.rs"]
mod discord;
#[path = "support/fake_discord.rs"]
mod fake_discord;
mod support;

use std::sync::Arc;
use std::time::Duration;

use dealgate::chat::server::{Limits, Server};
use discord::{Endpoint, sign};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How a slow client misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stall {
    /// Connects and sends nothing.
    Silent,
    /// Sends part of the request line and headers.
    HalfHeader,
    /// Sends whole headers announcing 200 KiB and 10 KiB of the body.
    PartBody,
}

/// Connects and stalls as told; the connection, once the stall is sent.
async fn stall(addr: &str, how: Stall) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let sent: Vec<u8> = match how {
        Stall::Silent => Vec::new(),
        Stall::HalfHeader => {
            b"POST /discord/interactions HTTP/1.1\r\nHost: bot\r\nContent-Le".to_vec()
        }
        Stall::PartBody => {
            let mut b = b"POST /discord/interactions HTTP/1.1\r\nHost: bot\r\n\
                          Content-Type: application/json\r\nContent-Length: 204800\r\n\r\n"
                .to_vec();
            b.extend(std::iter::repeat_n(b'x', 10 * 1024));
            b
        }
    };
    stream.write_all(&sent).await.expect("send the stall");
    stream
}

/// Reads until the server closes the connection (end of stream or a reset); what it sent
/// before, or `None` if it was still open at `deadline`.
async fn closed_by(mut stream: TcpStream, deadline: Instant) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// A client that opens a connection per request, as a stranger would, rather than reusing one
/// the server may have closed meanwhile.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A signed PING, through the signature check and the dispatcher: 200 and a PONG.
async fn signed_ping(ep: &Endpoint, client: &reqwest::Client, id: u64) -> Result<(), String> {
    signed_ping_to(
        ep.url.clone(),
        ep.key.clone(),
        ep.timestamp(),
        client.clone(),
        id,
    )
    .await
}

async fn signed_ping_to(
    url: String,
    key: ed25519_dalek::SigningKey,
    timestamp: String,
    client: reqwest::Client,
    id: u64,
) -> Result<(), String> {
    let ping = json!({"type": 1, "id": id.to_string(), "application_id": fake_discord::APPLICATION_ID, "token": "t", "version": 1});
    let body = serde_json::to_vec(&ping).unwrap();
    let res = client
        .post(format!("{url}/discord/interactions"))
        .header("content-type", "application/json")
        .header("x-signature-ed25519", sign(&key, &timestamp, &body))
        .header("x-signature-timestamp", timestamp)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("ping {id}: {e}"))?;
    let status = res.status().as_u16();
    // Read as text first, so a refusal (a 408 or 503 with a line of text) says what it was.
    let text = res
        .text()
        .await
        .map_err(|e| format!("ping {id}: {status}: {e}"))?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(answer) if status == 200 && answer["type"] == 1 => Ok(()),
        _ => Err(format!("ping {id}: {status} {text}")),
    }
}

async fn healthz(ep: &Endpoint, client: &reqwest::Client) -> Result<(), String> {
    let res = client
        .get(format!("{}/healthz", ep.url))
        .send()
        .await
        .map_err(|e| format!("healthz: {e}"))?;
    match res.status().as_u16() {
        200 => Ok(()),
        other => Err(format!("healthz: {other}")),
    }
}

/// Polls `cond` until it holds, failing with `what` at the deadline.
async fn until(what: &str, deadline: Instant, mut cond: impl FnMut() -> bool) {
    while !cond() {
        assert!(Instant::now() < deadline, "never: {what}");
        // Lets the server's tasks run between polls (no timer: the deadline bounds the wait).
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_clients_are_cut_off_while_signed_requests_and_healthz_keep_answering() {
    // Long enough that all 300 are connected before the first is cut off, on a busy machine.
    let limits = Limits {
        header_timeout: Duration::from_secs(2),
        body_timeout: Duration::from_secs(2),
        max_connections: 200,
        reserve_connections: 16,
        reserve_timeout: Duration::from_secs(1),
        max_bodies: 8,
    };
    let ep = Endpoint::start_with(limits).await;
    let addr = ep.url.trim_start_matches("http://").to_string();
    // 300 slow clients, more than the slots: the rest wait in the accept queue for their turn.
    let mut slow = Vec::new();
    for i in 0..300 {
        let how = [Stall::Silent, Stall::HalfHeader, Stall::PartBody][i % 3];
        slow.push((how, stall(&addr, how).await));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    until("every connection slot taken", deadline, || {
        ep.server.load().connections == limits.max_connections
    })
    .await;
    // Strangers during the flood: a health check and signed requests, each on a new connection.
    let client = fresh_client();
    let mut answered = Vec::new();
    answered.push(healthz(&ep, &client).await);
    let pings = (0..10).map(|i| {
        signed_ping_to(
            ep.url.clone(),
            ep.key.clone(),
            ep.timestamp(),
            client.clone(),
            100 + i,
        )
    });
    answered.extend(futures_join_all(pings).await);
    answered.push(healthz(&ep, &client).await);
    let failed: Vec<&String> = answered.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failed.is_empty(), "during the flood: {failed:?}");
    // Every slow client is cut off by the server, well before it would have given up.
    let deadline = Instant::now() + Duration::from_secs(30);
    let closes = slow
        .into_iter()
        .map(|(how, stream)| async move { (how, closed_by(stream, deadline).await) });
    let closes = futures_join_all(closes).await;
    let open = closes.iter().filter(|(_, said)| said.is_none()).count();
    assert_eq!(open, 0, "slow clients the server never closed");
    for (how, said) in &closes {
        // A stalled request is never answered as if it were whole: at most a 408 before the
        // close (which may also come as a reset that discards it).
        let said = said.as_deref().unwrap_or_default();
        assert!(
            said.is_empty() || said.starts_with("HTTP/1.1 408"),
            "{how:?}: {said:?}"
        );
    }
    until("every slot given back", deadline, || {
        let load = ep.server.load();
        load.connections == 0 && load.reserve == 0 && load.bodies == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_through_the_reserve_while_slow_clients_hold_every_slot() {
    let limits = Limits {
        // The slow clients keep their slots for the whole test…
        header_timeout: Duration::from_secs(120),
        body_timeout: Duration::from_secs(120),
        max_connections: 20,
        reserve_connections: 2,
        // …while a reserve connection gets one second.
        reserve_timeout: Duration::from_secs(1),
        max_bodies: 4,
    };
    let ep = Endpoint::start_with(limits).await;
    let addr = ep.url.trim_start_matches("http://").to_string();
    let mut held = Vec::new();
    for _ in 0..limits.max_connections {
        held.push(stall(&addr, Stall::Silent).await);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    until("every connection slot taken", deadline, || {
        ep.server.load().connections == limits.max_connections
    })
    .await;
    let client = fresh_client();
    healthz(&ep, &client).await.unwrap();
    signed_ping(&ep, &client, 7).await.unwrap();
    // A slow client on the reserve is cut off on the reserve's clock, not the slots' 120 s.
    let on_reserve = stall(&addr, Stall::HalfHeader).await;
    let said = closed_by(on_reserve, Instant::now() + Duration::from_secs(20)).await;
    assert!(said.is_some(), "a stalled reserve connection was left open");
    healthz(&ep, &client).await.unwrap();
    assert_eq!(
        ep.server.load().connections,
        limits.max_connections,
        "the slow clients held every slot throughout"
    );
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_finishes_the_request_under_way_and_closes_idle_connections() {
    let entered = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let routes = {
        let (entered, release) = (Arc::clone(&entered), Arc::clone(&release));
        axum::Router::new().route(
            "/slow",
            axum::routing::post(move |body: String| async move {
                entered.notify_one();
                let _ = release.acquire().await;
                format!("done with {body}")
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = Server::new(Limits::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = {
        let server = server.clone();
        tokio::spawn(async move {
            server
                .serve(listener, routes, async {
                    let _ = stopped.await;
                })
                .await;
        })
    };
    let idle = TcpStream::connect(&addr).await.unwrap();
    let slow = tokio::spawn({
        let url = format!("http://{addr}/slow");
        async move { fresh_client().post(url).body("the work").send().await }
    });
    tokio::time::timeout(Duration::from_secs(10), entered.notified())
        .await
        .expect("the slow request reached its handler");
    stop.send(()).unwrap();
    // The idle connection is closed and no new one is taken, while the request is under way.
    let closed = closed_by(idle, Instant::now() + Duration::from_secs(10)).await;
    assert_eq!(
        closed.as_deref(),
        Some(""),
        "the idle connection stays open"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if TcpStream::connect(&addr).await.is_err() {
            break;
        }
        assert!(Instant::now() < deadline, "still accepting after the stop");
        tokio::task::yield_now().await;
    }
    assert!(
        !serving.is_finished(),
        "serve returned with a request under way"
    );
    release.add_permits(1);
    let answer = slow
        .await
        .unwrap()
        .expect("the request under way is answered");
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(answer.text().await.unwrap(), "done with the work");
    tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .expect("serve returns once the last connection is closed")
        .unwrap();
}

/// Runs the futures at once and collects their outputs in order.
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for h in handles {
        outputs.push(h.await.expect("a client task panicked"));
    }
    outputs
}

#[tokio::test]
async fn bodies_up_to_the_limit_are_read_whole_and_larger_ones_or_large_headers_are_refused() {
    let routes = axum::Router::new().route(
        "/echo",
        axum::routing::post(|body: axum::body::Bytes| async move { body.len().to_string() }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/echo", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        Server::new(Limits::default())
            .serve(listener, routes, async {
                let _ = stopped.await;
            })
            .await;
    });
    let client = fresh_client();
    // Far more than the 16 KiB the headers may take: the body is read in pieces.
    let whole = client
        .post(&url)
        .body(vec![b'x'; dealgate::chat::server::MAX_BODY])
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status().as_u16(), 200);
    assert_eq!(whole.text().await.unwrap(), "262144");
    let over = client
        .post(&url)
        .body(vec![b'x'; dealgate::chat::server::MAX_BODY + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(over.status().as_u16(), 413);
    assert!(over.text().await.unwrap().contains("over 256 KiB"));
    let huge_headers = client
        .post(&url)
        .header("x-padding", "p".repeat(32 * 1024))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(huge_headers.status().as_u16(), 431);
    let _ = stop.send(());
}
