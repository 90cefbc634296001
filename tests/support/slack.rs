//! Slack test helpers: slash commands and button payloads as Slack sends them, signed with a
//! signing secret made here at the test clock's time, posted to the Slack routes served on
//! 127.0.0.1 in front of a `TestApp`, with response URLs on a fake Slack.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dealgate::chat::slack::dispatch::Dispatcher;
use dealgate::chat::slack::http::router;
use dealgate::chat::slack::verify::SigningSecret;
use dealgate::clock::Clock;
use dealgate::config::Secret;
use serde_json::{Value, json};

use crate::fake_slack::{FakeSlack, Recorded};
use crate::support::TestApp;

pub const SECRET: &str = "e3b0c44298fc1c149afbf4c8996fb924";
pub const TEAM: &str = "T0ACME001";
pub const CHANNEL: &str = "C0SALES01";

/// A Slack user: id and username.
#[derive(Debug, Clone, Copy)]
pub struct Person {
    pub id: &'static str,
    pub name: &'static str,
}

pub const BOSS: Person = Person {
    id: "U0BOSS001",
    name: "boss",
};
pub const MIA: Person = Person {
    id: "U0MIA0001",
    name: "mia",
};
pub const ANN: Person = Person {
    id: "U0ANN0001",
    name: "ann",
};

/// The Slack routes on 127.0.0.1, a fake Slack for response URLs, and a client that signs.
pub struct SlackEndpoint {
    pub app: TestApp,
    pub fake: FakeSlack,
    pub url: String,
    pub client: reqwest::Client,
    pub secret: SigningSecret,
    next: AtomicU64,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl SlackEndpoint {
    pub async fn start(app: TestApp) -> Self {
        Self::with_secret(app, SECRET).await
    }

    pub async fn with_secret(app: TestApp, secret: &str) -> Self {
        let fake = FakeSlack::start().await;
        let secret = SigningSecret::new(Secret::new(secret));
        let service = Arc::new(app.service.with_clock(app.clock.clone()));
        let dispatcher = Arc::new(Dispatcher::new(service));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let routes = router(dispatcher, secret.clone(), reqwest::Client::new());
        tokio::spawn(async move {
            axum::serve(listener, routes)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            app,
            fake,
            url,
            client: reqwest::Client::new(),
            secret,
            next: AtomicU64::new(1),
            stop: Some(stop),
        }
    }

    /// The test clock's time as Slack's request timestamp.
    pub fn timestamp(&self) -> String {
        self.app.clock.now().timestamp().to_string()
    }

    /// POSTs raw bytes to `path` with the given headers; the status and the body.
    pub async fn post_raw(
        &self,
        path: &str,
        body: Vec<u8>,
        headers: &[(&str, String)],
    ) -> (u16, String) {
        let mut req = self
            .client
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let res = req.send().await.expect("request reached the endpoint");
        let status = res.status().as_u16();
        (status, res.text().await.unwrap())
    }

    /// Signs `body` now and POSTs it, with extra headers.
    pub async fn post_signed(
        &self,
        path: &str,
        body: &str,
        extra: &[(&str, String)],
    ) -> (u16, String) {
        let ts = self.timestamp();
        let mut headers = vec![
            ("x-slack-request-timestamp", ts.clone()),
            ("x-slack-signature", self.secret.sign(&ts, body.as_bytes())),
        ];
        headers.extend(extra.iter().cloned());
        self.post_raw(path, body.as_bytes().to_vec(), &headers)
            .await
    }

    /// A fresh trigger id, as Slack makes one per invocation.
    pub fn trigger(&self) -> String {
        format!(
            "13345224609.738474920.{:x}",
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// A slash command's form body, as Slack sends it (`text` escaped as Slack escapes it).
    pub fn command_body(&self, who: Person, command: &str, text: &str, trigger: &str) -> String {
        let escaped = text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        // Slack's own mentions arrive unescaped.
        let escaped = unescape_mentions(&escaped);
        serde_urlencoded::to_string([
            ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
            ("team_id", TEAM),
            ("team_domain", "acme"),
            ("channel_id", CHANNEL),
            ("channel_name", "sales"),
            ("user_id", who.id),
            ("user_name", who.name),
            ("command", command),
            ("text", escaped.as_str()),
            ("api_app_id", "A123456"),
            ("is_enterprise_install", "false"),
            (
                "response_url",
                &self.fake.response_url(&format!("commands/{trigger}")),
            ),
            ("trigger_id", trigger),
        ])
        .unwrap()
    }

    /// Sends a slash command; the status and the JSON answer.
    pub async fn send(&self, who: Person, command: &str, text: &str) -> (u16, Value) {
        let trigger = self.trigger();
        let body = self.command_body(who, command, text, &trigger);
        let (status, text) = self.post_signed("/slack/commands", &body, &[]).await;
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Sends a slash command that must be answered; returns the answer.
    pub async fn command(&self, who: Person, command: &str, text: &str) -> Value {
        let (status, answer) = self.send(who, command, text).await;
        assert_eq!(status, 200, "{answer}");
        assert!(answer["blocks"].is_array(), "{answer}");
        answer
    }

    /// A `block_actions` payload for pressing a button with `value`.
    pub fn press_body(&self, who: Person, value: &str, trigger: &str) -> String {
        let payload = json!({
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "acme"},
            "user": {"id": who.id, "username": who.name, "name": who.name, "team_id": TEAM},
            "api_app_id": "A123456",
            "token": "9s8d9as89d8as9d8as989",
            "container": {"type": "message", "message_ts": "1548261231.000200", "channel_id": CHANNEL, "is_ephemeral": true},
            "trigger_id": trigger,
            "channel": {"id": CHANNEL, "name": "sales"},
            "response_url": self.fake.response_url(&format!("actions/{trigger}")),
            "actions": [{
                "action_id": "dg-0", "block_id": "=qXel", "value": value, "type": "button",
                "text": {"type": "plain_text", "text": "Press", "emoji": true},
                "action_ts": "1548426417.840180"
            }]
        });
        serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
    }

    /// Presses a button and waits for the answer posted to its response URL.
    pub async fn press(&self, who: Person, value: &str) -> Value {
        let trigger = self.trigger();
        let body = self.press_body(who, value, &trigger);
        let (status, text) = self.post_signed("/slack/interactivity", &body, &[]).await;
        assert_eq!(status, 200, "{text}");
        let path = format!("/hooks/actions/{trigger}");
        self.fake
            .wait_for("the press's answer", |r: &Recorded| r.path == path)
            .await
            .args()
    }
}

impl Drop for SlackEndpoint {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `&lt;@U1&gt;` back to `<@U1>` and `&lt;#C1|x&gt;` to `<#C1|x>`: what Slack sends for a
/// mention it escaped itself.
fn unescape_mentions(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("&lt;") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 4..];
        match after.find("&gt;") {
            Some(end)
                if (after.starts_with('@') || after.starts_with('#'))
                    && after[1..end]
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'|' || b == b'-') =>
            {
                out.push('<');
                out.push_str(&after[..end]);
                out.push('>');
                rest = &after[end + 4..];
            }
            _ => {
                out.push_str("&lt;");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text of every block, joined: what a person reads.
pub fn text(answer: &Value) -> String {
    let mut out = Vec::new();
    for b in answer["blocks"].as_array().into_iter().flatten() {
        if let Some(t) = b["text"]["text"].as_str() {
            out.push(t.to_string());
        }
        for f in b["fields"].as_array().into_iter().flatten() {
            out.push(f["text"].as_str().unwrap_or_default().to_string());
        }
        for e in b["elements"].as_array().into_iter().flatten() {
            if let Some(t) = e["text"].as_str() {
                out.push(t.to_string());
            }
        }
    }
    out.join("\n")
}

/// The title: the first block's text without its marker and bold stars.
pub fn title(answer: &Value) -> String {
    let first = answer["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap_or_default();
    let start = first.find('*').map_or(0, |i| i + 1);
    first[start..].trim_end_matches('*').to_string()
}

/// The values of the answer's buttons.
pub fn buttons(answer: &Value) -> Vec<String> {
    answer["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["value"].as_str().map(str::to_string))
        .collect()
}
