//! A fake Discord on 127.0.0.1: the REST routes dealgate calls, recorded, and a gateway that
//! speaks just enough of the protocol for serenity (PROTOCOLS.md §3.2): HELLO, IDENTIFY, READY,
//! heartbeat ACKs, then whatever dispatches a test pushes.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{OriginalUri, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::{Value, json};
use tokio::sync::mpsc;

pub const APPLICATION_ID: &str = "775799577604522054";
pub const BOT_TOKEN: &str = "faketoken";

/// One request the bot made.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
}

/// What the fake gateway saw from the bot.
#[derive(Debug, Clone, Default)]
pub struct GatewayLog {
    pub identify: Option<Value>,
    pub heartbeats: usize,
}

#[derive(Clone)]
struct Shared {
    requests: Arc<Mutex<Vec<Recorded>>>,
    gateway: Arc<Mutex<GatewayLog>>,
    /// Woken whenever a request or a gateway event is recorded, so tests wait for what they
    /// expect instead of sleeping.
    changed: Arc<tokio::sync::Notify>,
    base: String,
    heartbeat_ms: u64,
    /// Dispatches (event name, data) for the connected bot.
    dispatch_rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Value)>>>,
}

pub struct FakeDiscord {
    pub base: String,
    shared: Shared,
    dispatch_tx: mpsc::UnboundedSender<(String, Value)>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeDiscord {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (dispatch_tx, dispatch_rx) = mpsc::unbounded_channel();
        let shared = Shared {
            requests: Arc::default(),
            gateway: Arc::default(),
            changed: Arc::default(),
            base: base.clone(),
            heartbeat_ms: 300,
            dispatch_rx: Arc::new(tokio::sync::Mutex::new(dispatch_rx)),
        };
        let app = Router::new()
            .route("/ws", get(gateway))
            .fallback(any(rest))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base,
            shared,
            dispatch_tx,
            server,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn gateway_log(&self) -> GatewayLog {
        self.shared.gateway.lock().unwrap().clone()
    }

    /// Sends a dispatch (`INTERACTION_CREATE`, …) to the connected bot.
    pub fn dispatch(&self, event: &str, data: Value) {
        self.dispatch_tx.send((event.to_string(), data)).unwrap();
    }

    /// Waits, up to a deadline, for a request matching `pred`.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Recorded) -> bool) -> Recorded {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            // Registered before looking, so a request recorded in between still wakes us.
            let changed = self.shared.changed.notified();
            if let Some(r) = self.requests().into_iter().find(|r| pred(r)) {
                return r;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!(
                    "the fake Discord never saw {what}; it saw {:#?}",
                    self.requests()
                );
            }
        }
    }

    /// Waits, up to a deadline, until the gateway log satisfies `pred`.
    pub async fn wait_gateway(&self, what: &str, pred: impl Fn(&GatewayLog) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let changed = self.shared.changed.notified();
            if pred(&self.gateway_log()) {
                return;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!(
                    "the fake gateway never saw {what}: {:?}",
                    self.gateway_log()
                );
            }
        }
    }
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn message(id: &str, content: &str) -> Value {
    json!({
        "id": id, "channel_id": "7001",
        "author": {"id": "42", "username": "dealgate", "discriminator": "0", "avatar": null, "bot": true},
        "content": content, "timestamp": "2026-03-02T09:00:00.000000+00:00", "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": [], "pinned": false, "type": 0
    })
}

async fn rest(
    State(s): State<Shared>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let body_json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    s.requests.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: body_json.clone(),
    });
    s.changed.notify_waiters();
    let ws = s.base.replace("http://", "ws://") + "/ws";
    match (method.as_str(), path.as_str()) {
        ("GET", "/api/v10/gateway") => axum::Json(json!({"url": ws})).into_response(),
        ("GET", "/api/v10/users/@me") => axum::Json(json!({
            "id": "42", "username": "dealgate", "discriminator": "0", "avatar": null, "bot": true
        }))
        .into_response(),
        ("PUT", p) if p.ends_with("/commands") => {
            let echoed: Vec<Value> = body_json
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, mut c)| {
                    c["id"] = json!(format!("{}", 9000 + i));
                    c["application_id"] = json!(APPLICATION_ID);
                    c["version"] = json!("1");
                    c["type"] = json!(1);
                    c
                })
                .collect();
            axum::Json(Value::Array(echoed)).into_response()
        }
        ("POST", p) if p.starts_with("/api/v10/interactions/") => {
            StatusCode::NO_CONTENT.into_response()
        }
        ("PATCH", p) | ("POST", p) if p.starts_with("/api/v10/webhooks/") => {
            axum::Json(message("8001", "")).into_response()
        }
        ("POST", p) if p.starts_with("/api/v10/channels/") => {
            axum::Json(message("8002", "")).into_response()
        }
        _ => (StatusCode::NOT_FOUND, "not faked").into_response(),
    }
}

async fn gateway(State(s): State<Shared>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(s, socket))
}

async fn session(s: Shared, mut socket: WebSocket) {
    let send = |v: Value| Message::Text(v.to_string().into());
    let hello =
        json!({"op": 10, "d": {"heartbeat_interval": s.heartbeat_ms}, "s": null, "t": null});
    if socket.send(send(hello)).await.is_err() {
        return;
    }
    let mut seq = 1u64;
    let mut dispatches = s.dispatch_rx.lock().await;
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(msg)) = incoming else { return };
                let Message::Text(text) = msg else { continue };
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                match v["op"].as_u64() {
                    Some(2) => {
                        s.gateway.lock().unwrap().identify = Some(v.clone());
                        s.changed.notify_waiters();
                        let ready = json!({"op": 0, "s": seq, "t": "READY", "d": {
                            "v": 10,
                            "user": {"id": "42", "username": "dealgate", "discriminator": "0", "avatar": null, "bot": true},
                            "guilds": [], "session_id": "fake-session",
                            "resume_gateway_url": "ws://127.0.0.1:1", "shard": [0, 1],
                            "application": {"id": APPLICATION_ID, "flags": 0}
                        }});
                        seq += 1;
                        if socket.send(send(ready)).await.is_err() { return; }
                    }
                    Some(1) => {
                        s.gateway.lock().unwrap().heartbeats += 1;
                        s.changed.notify_waiters();
                        if socket.send(send(json!({"op": 11}))).await.is_err() { return; }
                    }
                    _ => {}
                }
            }
            Some((event, data)) = dispatches.recv() => {
                let v = json!({"op": 0, "s": seq, "t": event, "d": data});
                seq += 1;
                if socket.send(send(v)).await.is_err() { return; }
            }
        }
    }
}
