//! A fake Discord on 127.0.0.1: the REST routes dealgate calls, recorded, and a gateway that
//! speaks just enough of the protocol for serenity (PROTOCOLS.md §3.2): HELLO, IDENTIFY, READY,
//! heartbeat ACKs, then whatever dispatches a test pushes.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::collections::{HashMap, VecDeque};
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

/// One request the bot made. A multipart body is split into its parts, and `body` is its
/// `payload_json`, so tests read the JSON the same way whatever the encoding.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: Value,
    pub parts: Vec<FormPart>,
    /// The status the fake answered with.
    pub status: u16,
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone)]
pub struct FormPart {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// A scripted answer to the next message post, instead of accepting it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: u16,
    pub body: Value,
    pub retry_after_header: Option<String>,
}

impl Failure {
    pub fn server_error() -> Self {
        Self {
            status: 500,
            body: json!({"message": "500: Internal Server Error", "code": 0}),
            retry_after_header: None,
        }
    }

    /// A 429 as Discord sends it: `retry_after` in (fractional) seconds, in the body and,
    /// rounded up, in the header.
    pub fn rate_limited(seconds: f64) -> Self {
        Self {
            status: 429,
            body: json!({"message": "You are being rate limited.", "retry_after": seconds, "global": false}),
            retry_after_header: Some(format!("{}", seconds.ceil())),
        }
    }
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
    posts: Arc<Mutex<Posts>>,
    /// Files served under `/attachments/`, as Discord's CDN serves attachments.
    files: Arc<Mutex<std::collections::HashMap<String, Vec<u8>>>>,
}

/// What the message routes know: scripted failures, refused channels, and the nonces already
/// seen, which Discord answers with the first message instead of posting again.
#[derive(Debug, Default)]
struct Posts {
    failures: VecDeque<Failure>,
    refused: HashMap<String, Failure>,
    by_nonce: HashMap<String, Value>,
    next_id: u64,
    /// Edits of an interaction's original response to answer 404 "Unknown Message", as Discord
    /// does when an edit arrives before it has taken the deferred response.
    early_edits: usize,
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
            posts: Arc::default(),
            files: Arc::default(),
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

    /// Serves `bytes` as an attachment; its address.
    pub fn attach(&self, name: &str, bytes: Vec<u8>) -> String {
        self.shared
            .files
            .lock()
            .unwrap()
            .insert(name.to_string(), bytes);
        format!("{}/attachments/{name}", self.base)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Answers the next message posts (`POST /channels/{id}/messages`) with these failures, one
    /// per post, before accepting again.
    pub fn fail_next_posts(&self, failures: impl IntoIterator<Item = Failure>) {
        self.shared.posts.lock().unwrap().failures.extend(failures);
    }

    /// Answers every post to `channel` with `status` and Discord's `message` and `code`.
    /// Answers the next `n` edits of an original response with 404 Unknown Message.
    pub fn original_not_there_yet(&self, n: usize) {
        self.shared.posts.lock().unwrap().early_edits = n;
    }

    pub fn refuse_channel(&self, channel: &str, status: u16, message: &str, code: u64) {
        self.shared.posts.lock().unwrap().refused.insert(
            channel.to_string(),
            Failure {
                status,
                body: json!({"message": message, "code": code}),
                retry_after_header: None,
            },
        );
    }

    /// Message posts the fake accepted (2xx), in order; a post repeating a nonce is answered
    /// with the first message and not counted again, as Discord does with `enforce_nonce`.
    pub fn accepted_posts(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| is_message_post(&r.method, &r.path) && r.status == 200)
            .collect()
    }

    /// Every attempt to post a message, refused ones included.
    pub fn message_posts(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| is_message_post(&r.method, &r.path))
            .collect()
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

/// Whether this edit is one of those scripted to arrive too early (and counts it).
fn early_edit(s: &Shared) -> bool {
    let mut posts = s.posts.lock().unwrap();
    let early = posts.early_edits > 0;
    posts.early_edits = posts.early_edits.saturating_sub(1);
    early
}

fn is_message_post(method: &str, path: &str) -> bool {
    method == "POST" && path.starts_with("/api/v10/channels/") && path.ends_with("/messages")
}

async fn rest(
    State(s): State<Shared>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let parts = content_type
        .as_deref()
        .and_then(|ct| ct.strip_prefix("multipart/form-data; boundary="))
        .map(|boundary| split_multipart(&body, boundary))
        .unwrap_or_default();
    let body_json: Value = match parts.iter().find(|p| p.name == "payload_json") {
        Some(p) => serde_json::from_slice(&p.data).unwrap_or(Value::Null),
        None => serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let response = answer(&s, method.as_str(), &path, &body_json);
    s.requests.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        content_type,
        body: body_json,
        parts,
        status: response.status().as_u16(),
    });
    s.changed.notify_waiters();
    response
}

fn answer(s: &Shared, method: &str, path: &str, body_json: &Value) -> Response {
    let ws = s.base.replace("http://", "ws://") + "/ws";
    match (method, path) {
        ("GET", p) if p.starts_with("/attachments/") => {
            match s.files.lock().unwrap().get(&p["/attachments/".len()..]) {
                Some(bytes) => bytes.clone().into_response(),
                None => (StatusCode::NOT_FOUND, "no such file").into_response(),
            }
        }
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
        ("PATCH", p) if p.ends_with("/messages/@original") && early_edit(s) => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Unknown Message", "code": 10008})),
        )
            .into_response(),
        ("PATCH", p) | ("POST", p) if p.starts_with("/api/v10/webhooks/") => {
            axum::Json(message("8001", "")).into_response()
        }
        // A DM channel per user: 9000 + the user id's last three digits.
        ("POST", "/api/v10/users/@me/channels") => {
            let user = body_json["recipient_id"].as_str().unwrap_or("0");
            let n: u64 = user.parse().unwrap_or(0) % 1000;
            axum::Json(json!({"id": format!("{}", 9000 + n), "type": 1, "recipients": []}))
                .into_response()
        }
        ("POST", p) if is_message_post(method, p) => {
            let channel = p
                .trim_start_matches("/api/v10/channels/")
                .trim_end_matches("/messages");
            post_message(s, channel, body_json)
        }
        ("POST", p) if p.starts_with("/api/v10/channels/") => {
            axum::Json(message("8002", "")).into_response()
        }
        _ => (StatusCode::NOT_FOUND, "not faked").into_response(),
    }
}

fn post_message(s: &Shared, channel: &str, body: &Value) -> Response {
    let mut posts = s.posts.lock().unwrap();
    let refusal = posts
        .refused
        .get(channel)
        .cloned()
        .or_else(|| posts.failures.pop_front());
    if let Some(f) = refusal {
        let mut response = (
            StatusCode::from_u16(f.status).unwrap(),
            axum::Json(f.body.clone()),
        )
            .into_response();
        if let Some(h) = &f.retry_after_header {
            response
                .headers_mut()
                .insert("retry-after", h.parse().unwrap());
        }
        return response;
    }
    let nonce = body["nonce"].as_str().map(str::to_string);
    let enforce = body["enforce_nonce"].as_bool() == Some(true);
    if let Some(nonce) = nonce.as_ref().filter(|_| enforce)
        && let Some(first) = posts.by_nonce.get(nonce)
    {
        // Recorded with status 208 so `accepted_posts` counts only the first.
        return (StatusCode::ALREADY_REPORTED, axum::Json(first.clone())).into_response();
    }
    posts.next_id += 1;
    let mut m = message(&format!("{}", 8100 + posts.next_id), "");
    m["channel_id"] = json!(channel);
    if let Some(nonce) = nonce {
        m["nonce"] = json!(nonce);
        posts.by_nonce.insert(nonce, m.clone());
    }
    axum::Json(m).into_response()
}

/// Splits a `multipart/form-data` body; enough for what reqwest writes (CRLF line ends, one
/// `Content-Disposition` with a name and maybe a file name, maybe a `Content-Type`).
fn split_multipart(body: &[u8], boundary: &str) -> Vec<FormPart> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let rest_of_part = rest.strip_prefix(b"\r\n").unwrap_or(rest);
        let Some(head_end) = find(rest_of_part, b"\r\n\r\n") else {
            break;
        };
        let head = String::from_utf8_lossy(&rest_of_part[..head_end]).to_string();
        let content = &rest_of_part[head_end + 4..];
        let Some(end) = find(content, format!("\r\n{delimiter}").as_bytes()) else {
            break;
        };
        let attribute = |key: &str| {
            let marker = format!("{key}=\"");
            head.find(&marker).map(|i| {
                let value = &head[i + marker.len()..];
                value[..value.find('"').unwrap_or(value.len())].to_string()
            })
        };
        let content_type = head.lines().find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_string())
        });
        parts.push(FormPart {
            name: attribute("name").unwrap_or_default(),
            file_name: attribute("filename"),
            content_type,
            data: content[..end].to_vec(),
        });
        rest = &content[end + 2..];
    }
    parts
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
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
