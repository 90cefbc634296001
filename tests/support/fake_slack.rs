//! A fake Slack on 127.0.0.1: the Web API methods dealgate calls (under `/api`), the upload URL
//! it hands out, and response URLs (`/hooks/…`), each request recorded. A test can script the
//! next answers of a method (a 429, an `ok: false`) before the normal one, or hold its calls
//! unanswered until it lets them go.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

pub const BOT_TOKEN: &str = "xoxb-fake-token";

/// One request the bot made.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The body as JSON, or its form fields as a JSON object (a field holding JSON is parsed).
    pub fn args(&self) -> Value {
        if let Ok(v) = serde_json::from_slice::<Value>(&self.body) {
            return v;
        }
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&self.body).unwrap_or_default();
        let mut map = serde_json::Map::new();
        for (k, v) in pairs {
            let value = serde_json::from_str(&v)
                .ok()
                .filter(Value::is_array)
                .unwrap_or(Value::String(v));
            map.insert(k, value);
        }
        Value::Object(map)
    }

    /// The Web API method, for requests under `/api`.
    pub fn method(&self) -> Option<&str> {
        self.path.strip_prefix("/api/")
    }
}

/// A scripted answer: status, headers and JSON body.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

#[derive(Clone, Default)]
struct Shared {
    requests: Arc<Mutex<Vec<Recorded>>>,
    script: Arc<Mutex<HashMap<String, VecDeque<Canned>>>>,
    changed: Arc<tokio::sync::Notify>,
    base: Arc<Mutex<String>>,
    /// Per path, the gate its calls wait at (a semaphore without permits, closed to open it).
    holds: Arc<Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>>,
}

pub struct FakeSlack {
    /// `http://127.0.0.1:PORT`; the Web API is under `{base}/api`.
    pub base: String,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl FakeSlack {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Shared::default();
        *shared.base.lock().unwrap() = base.clone();
        let app = Router::new()
            .fallback(any(handle))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base,
            shared,
            server,
        }
    }

    /// The Web API base to configure (`SLACK_API_BASE`).
    pub fn api_base(&self) -> String {
        format!("{}/api", self.base)
    }

    /// A response URL on this fake.
    pub fn response_url(&self, name: &str) -> String {
        format!("{}/hooks/{name}", self.base)
    }

    /// Answers the next call of `method` (e.g. `chat.postMessage`) with `canned` instead.
    pub fn script(&self, method: &str, canned: Canned) {
        self.shared
            .script
            .lock()
            .unwrap()
            .entry(format!("/api/{method}"))
            .or_default()
            .push_back(canned);
    }

    /// Leaves every call of `method` unanswered (recorded as it arrives) until `release`.
    pub fn hold(&self, method: &str) {
        self.hold_path(&format!("/api/{method}"));
    }

    /// Answers the held calls of `method`, and those that follow at once.
    pub fn release(&self, method: &str) {
        self.release_path(&format!("/api/{method}"));
    }

    /// `hold` for any path of this fake, e.g. a response URL's (`/hooks/NAME`).
    pub fn hold_path(&self, path: &str) {
        self.shared
            .holds
            .lock()
            .unwrap()
            .insert(path.to_string(), Arc::new(tokio::sync::Semaphore::new(0)));
    }

    /// `release` for any path of this fake.
    pub fn release_path(&self, path: &str) {
        if let Some(gate) = self.shared.holds.lock().unwrap().remove(path) {
            gate.close();
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The Web API methods called, in order.
    pub fn methods(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter_map(|r| r.method().map(str::to_string))
            .collect()
    }

    /// How many times `method` was called.
    pub fn calls(&self, method: &str) -> usize {
        self.methods().iter().filter(|m| *m == method).count()
    }

    /// Waits, up to a deadline, for a request matching `pred`.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Recorded) -> bool) -> Recorded {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let changed = self.shared.changed.notified();
            if let Some(r) = self.requests().into_iter().find(|r| pred(r)) {
                return r;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!(
                    "the fake Slack never saw {what}; it saw {:#?}",
                    self.paths()
                );
            }
        }
    }

    fn paths(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.path).collect()
    }
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(
    State(s): State<Shared>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let recorded = Recorded {
        path: path.clone(),
        authorization: header("authorization"),
        content_type: header("content-type").unwrap_or_default(),
        body: body.to_vec(),
    };
    let args = recorded.args();
    s.requests.lock().unwrap().push(recorded.clone());
    s.changed.notify_waiters();
    let gate = s.holds.lock().unwrap().get(&path).cloned();
    if let Some(gate) = gate {
        let _ = gate.acquire().await; // Closed by `release`.
    }
    let canned = s
        .script
        .lock()
        .unwrap()
        .get_mut(&path)
        .and_then(VecDeque::pop_front);
    if let Some(c) = canned {
        let mut response =
            (StatusCode::from_u16(c.status).unwrap(), axum::Json(c.body)).into_response();
        for (k, v) in c.headers {
            response.headers_mut().insert(k, v.parse().unwrap());
        }
        return response;
    }
    if path.starts_with("/api/")
        && recorded.authorization.as_deref() != Some(&format!("Bearer {BOT_TOKEN}"))
    {
        return axum::Json(json!({"ok": false, "error": "not_authed"})).into_response();
    }
    let base = s.base.lock().unwrap().clone();
    let ok = |v: Value| {
        let mut v = v;
        v["ok"] = json!(true);
        axum::Json(v).into_response()
    };
    match path.as_str() {
        "/api/chat.postMessage" => {
            let channel = args["channel"].as_str().unwrap_or_default().to_string();
            // A name is answered with an id, as Slack does.
            let id = if channel.starts_with(['C', 'D', 'G']) {
                channel
            } else {
                "C0NAMED0001".into()
            };
            ok(json!({"channel": id, "ts": "1772442000.000100"}))
        }
        "/api/conversations.open" => {
            let user = args["users"].as_str().unwrap_or_default();
            ok(json!({"channel": {"id": format!("D0{user}")}}))
        }
        "/api/files.getUploadURLExternal" => ok(json!({
            "upload_url": format!("{base}/upload/F0CHART001"),
            "file_id": "F0CHART001",
        })),
        "/api/files.completeUploadExternal" => ok(json!({"files": [{"id": "F0CHART001"}]})),
        p if p.starts_with("/upload/") => {
            (StatusCode::OK, format!("OK - {}", body.len())).into_response()
        }
        p if p.starts_with("/hooks/") => (StatusCode::OK, "ok").into_response(),
        _ => axum::Json(json!({"ok": false, "error": "unknown_method"})).into_response(),
    }
}
