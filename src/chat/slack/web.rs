//! Slack's Web API (`SLACK_API_BASE`, default `https://slack.com/api`) with the bot token, and
//! `SlackSender`, the outbox's way of posting on Slack:
//!
//! - a channel: `chat.postMessage` with blocks and a notification text;
//! - a DM: `conversations.open` with the member's user id, then `chat.postMessage` to the `D…`
//!   channel it returns;
//! - a chart: `files.getUploadURLExternal`, the bytes POSTed to the URL it returns, then
//!   `files.completeUploadExternal` with the channel id (the legacy `files.upload` is retired).
//!
//! When the channel's id is known the chart goes first and the text last. Slack has no nonce, so
//! a failure halfway reports what was done (`SendError::Partly`); the outbox keeps it with the
//! message and the retry skips that step, so neither the chart nor the text appears twice.
//!
//! Failures map onto the outbox's rules: HTTP 429 → retry after its `Retry-After`; 5xx, timeouts
//! and Slack's own `ratelimited`/internal errors → retry with backoff; any other `ok: false` →
//! permanent, with Slack's `error` code kept on the message for `dealgate outbox`.

use std::time::Duration;

use chrono::TimeDelta;
use serde_json::{Value, json};

use super::config::Settings;
use super::render;
use crate::config::Secret;
use crate::jobs::message::{OutboxMessage, Target};
use crate::jobs::outbox::{Delivered, SendError, Sender};

/// How long one Web API call may take before it counts as a (retried) timeout.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Slack `error` codes that are Slack's trouble, not the message's: worth another try.
const RETRYABLE: &[&str] = &[
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// An HTTP client for Slack: the Web API, upload URLs and response URLs.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(concat!("dealgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// Posts a message to a slash command's or a button's `response_url`.
pub async fn respond(client: &reqwest::Client, url: &str, body: &Value) -> Result<(), SendError> {
    let response = client
        .post(url)
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_string())
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(status_error("response_url", status, response.headers()))
    }
}

/// The Web API with the bot token.
#[derive(Clone)]
pub struct WebApi {
    client: reqwest::Client,
    base: String,
    token: Secret,
}

impl WebApi {
    pub fn new(settings: &Settings) -> Self {
        Self::with(client(), &settings.api_base, settings.bot_token.clone())
    }

    pub fn with(client: reqwest::Client, base: &str, token: Secret) -> Self {
        Self {
            client,
            base: base.trim_end_matches('/').to_string(),
            token,
        }
    }

    /// Calls `method` with a JSON body; the response when it says `ok: true`.
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, SendError> {
        let request = self
            .client
            .post(format!("{}/{method}", self.base))
            .bearer_auth(self.token.expose())
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_string());
        self.finish(method, request).await
    }

    /// Calls `method` form-encoded, as the file methods take their arguments.
    pub async fn call_form(
        &self,
        method: &str,
        form: &[(&str, String)],
    ) -> Result<Value, SendError> {
        let body = serde_urlencoded::to_string(form)
            .map_err(|e| SendError::Permanent(format!("{method}: encode the arguments: {e}")))?;
        let request = self
            .client
            .post(format!("{}/{method}", self.base))
            .bearer_auth(self.token.expose())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.finish(method, request).await
    }

    async fn finish(
        &self,
        method: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Value, SendError> {
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(status_error(method, status, response.headers()));
        }
        let body: Value = response.json().await.map_err(|e| SendError::Retry {
            after: None,
            reason: format!("{method}: unreadable answer: {e}"),
        })?;
        if body["ok"].as_bool() == Some(true) {
            return Ok(body);
        }
        let error = body["error"]
            .as_str()
            .unwrap_or("no error code")
            .to_string();
        if RETRYABLE.contains(&error.as_str()) {
            Err(SendError::Retry {
                after: None,
                reason: format!("{method}: {error}"),
            })
        } else {
            Err(SendError::Permanent(format!("{method}: {error}")))
        }
    }

    /// The `D…` channel of a DM with `user`.
    pub async fn open_dm(&self, user: &str) -> Result<String, SendError> {
        let opened = self
            .call("conversations.open", &json!({"users": user}))
            .await?;
        opened["channel"]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| {
                SendError::Permanent("conversations.open: no channel id in the answer".into())
            })
    }

    /// Posts blocks with their notification text; Slack's channel id and message `ts`.
    pub async fn post_message(
        &self,
        channel: &str,
        message: &Value,
    ) -> Result<(String, String), SendError> {
        let mut body = message.clone();
        body["channel"] = json!(channel);
        body["unfurl_links"] = json!(false);
        body["unfurl_media"] = json!(false);
        let posted = self.call("chat.postMessage", &body).await?;
        let channel = posted["channel"].as_str().unwrap_or(channel).to_string();
        let ts = posted["ts"].as_str().unwrap_or_default().to_string();
        Ok((channel, ts))
    }

    /// Uploads a file and shares it in `channel` (an id) through the external upload flow.
    pub async fn upload_file(
        &self,
        channel: &str,
        name: &str,
        title: &str,
        bytes: &[u8],
    ) -> Result<String, SendError> {
        let got = self
            .call_form(
                "files.getUploadURLExternal",
                &[
                    ("filename", name.to_string()),
                    ("length", bytes.len().to_string()),
                ],
            )
            .await?;
        let (Some(url), Some(file_id)) = (got["upload_url"].as_str(), got["file_id"].as_str())
        else {
            return Err(SendError::Permanent(
                "files.getUploadURLExternal: no upload_url or file_id".into(),
            ));
        };
        let uploaded = self
            .client
            .post(url)
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .map_err(transport)?;
        let status = uploaded.status();
        if !status.is_success() {
            return Err(status_error("file upload", status, uploaded.headers()));
        }
        let files = json!([{"id": file_id, "title": title}]).to_string();
        self.call_form(
            "files.completeUploadExternal",
            &[("files", files), ("channel_id", channel.to_string())],
        )
        .await?;
        Ok(file_id.to_string())
    }
}

/// The outbox's sender for Slack workspaces.
#[derive(Clone)]
pub struct SlackSender {
    api: WebApi,
}

impl SlackSender {
    /// From the checked settings (`SLACK_BOT_TOKEN`, `SLACK_API_BASE`).
    pub fn new(settings: &Settings) -> Self {
        Self {
            api: WebApi::new(settings),
        }
    }

    pub fn with(api: WebApi) -> Self {
        Self { api }
    }
}

/// What an attempt finished before it failed, kept with the message for the next attempt
/// (`SendError::Partly`): the chart is already in the channel, or the message was posted (then
/// followed by its channel and `ts`). Slack has no nonce to make a repeated call harmless.
const CHART_SHARED: &str = "slack: chart shared";
const POSTED: &str = "slack: posted ";

impl Sender for SlackSender {
    async fn send(&self, message: &OutboxMessage) -> Result<Delivered, SendError> {
        let channel = match &message.target {
            Target::Channel(stored) => channel_ref(stored),
            Target::Direct(user) => self.api.open_dm(user).await?,
        };
        let reply = &message.reply;
        let done = message.progress.as_deref();
        // Scheduled messages name commands as `/dealgate …`, which every install has.
        let blocks = render::message(&render::as_typed(reply, false));
        // Into a channel (by id) the chart goes first, so the digest's text ends below it.
        if let (Some(image), true) = (&reply.image, is_channel_id(&channel)) {
            if done != Some(CHART_SHARED) {
                self.api
                    .upload_file(&channel, &image.file_name, &reply.title, &image.png)
                    .await?;
            }
            let (_, ts) = self
                .api
                .post_message(&channel, &blocks)
                .await
                .map_err(|e| e.after(Some(CHART_SHARED.to_string())))?;
            return Ok(delivered(ts));
        }
        // Otherwise (a DM, a channel named rather than by id) the message goes first and tells
        // which conversation the chart then goes to.
        let earlier = done
            .and_then(|d| d.strip_prefix(POSTED))
            .and_then(|rest| rest.split_once(' '));
        let (posted_in, ts) = match earlier {
            Some((posted_in, ts)) => (posted_in.to_string(), ts.to_string()),
            None => self.api.post_message(&channel, &blocks).await?,
        };
        if let Some(image) = &reply.image {
            self.api
                .upload_file(&posted_in, &image.file_name, &reply.title, &image.png)
                .await
                .map_err(|e| e.after(Some(format!("{POSTED}{posted_in} {ts}"))))?;
        }
        Ok(delivered(ts))
    }
}

fn delivered(ts: String) -> Delivered {
    Delivered {
        remote_id: Some(ts).filter(|t| !t.is_empty()),
    }
}

/// What to give Slack for a stored digest channel: the id inside a channel link
/// (`<#C024BE7LR|sales>` → `C024BE7LR`), else the id or name as stored (Slack takes a name
/// in `chat.postMessage`).
pub fn channel_ref(stored: &str) -> String {
    let text = stored.trim();
    if let Some(inner) = text.strip_prefix("<#").and_then(|t| t.strip_suffix('>')) {
        return inner
            .split_once('|')
            .map_or(inner, |(id, _)| id)
            .to_string();
    }
    text.trim_start_matches('#').to_string()
}

/// A conversation id (`C…`, `G…`, `D…`), not a channel name.
fn is_channel_id(text: &str) -> bool {
    text.len() >= 9
        && text.starts_with(['C', 'G', 'D'])
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn transport(e: reqwest::Error) -> SendError {
    let what = if e.is_timeout() {
        "timed out"
    } else {
        "failed"
    };
    SendError::Retry {
        after: None,
        reason: format!("request to Slack {what}: {e}"),
    }
}

fn status_error(
    what: &str,
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
) -> SendError {
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        let after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
            .map(TimeDelta::seconds);
        return SendError::Retry {
            after,
            reason: format!("{what}: rate limited (HTTP 429)"),
        };
    }
    if status.is_server_error() {
        return SendError::Retry {
            after: None,
            reason: format!("{what}: HTTP {status}"),
        };
    }
    SendError::Permanent(format!("{what}: HTTP {status}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_channels_become_what_slack_takes() {
        assert_eq!(channel_ref("<#C024BE7LR|sales>"), "C024BE7LR");
        assert_eq!(channel_ref("<#C024BE7LR>"), "C024BE7LR");
        assert_eq!(channel_ref("sales-managers"), "sales-managers");
        assert!(is_channel_id("C024BE7LR") && is_channel_id("D0123ABCDE"));
        assert!(!is_channel_id("sales") && !is_channel_id("CSALES"));
    }
}
