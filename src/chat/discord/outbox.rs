//! Discord's side of the outbox: posts a queued message to a channel, or to a member's DM
//! channel, over REST, and says whether a failure is worth retrying.
//!
//! ```text
//! Target::Channel("7001") → POST /channels/7001/messages            (embed, chart attached)
//! Target::Direct("42")    → POST /users/@me/channels {"recipient_id":"42"} → {"id":"9001"}
//!                         → POST /channels/9001/messages
//! ```
//!
//! This talks to Discord through reqwest rather than serenity's `Http`: serenity turns a 429
//! into an error without its `retry_after` (or sleeps on it inside the call, with its
//! ratelimiter on), and the worker needs both the status and the wait to schedule the retry
//! itself. Every message carries its outbox nonce with `enforce_nonce`, so a retry after a post
//! that timed out but arrived returns the first message instead of making a second.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration as StdDuration;

use chrono::Duration;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use super::config::Settings;
use super::render;
use crate::jobs::message::{OutboxMessage, Target};
use crate::jobs::outbox::{Delivered, SendError, Sender};

/// Discord's own address; `DISCORD_API_BASE` replaces it (a proxy, or a fake in tests).
pub const DISCORD_BASE: &str = "https://discord.com";
/// One request may take this long before it counts as a timeout (retried): a hung Discord must
/// not hold the delivery worker, whose lease on the message lasts 120 seconds.
pub const REQUEST_TIMEOUT: StdDuration = StdDuration::from_secs(15);
/// A `retry_after` longer than this is taken as this: the outbox retries within the day.
const LONGEST_WAIT_SECONDS: f64 = 86_400.0;

/// Why the sender could not be built.
#[derive(Debug, thiserror::Error)]
#[error("build the HTTP client for Discord: {0}")]
pub struct BuildError(#[from] reqwest::Error);

/// Posts outbox messages as the bot.
pub struct DiscordSender {
    client: reqwest::Client,
    /// `{base}/api/v10`.
    api: String,
    authorization: String,
    /// DM channel of each user already opened by this process; opening one again is harmless
    /// (Discord returns the same channel) but costs a request on every nudge.
    dm_channels: Mutex<HashMap<String, String>>,
}

impl DiscordSender {
    /// `None` without a bot token: an interactions-endpoint-only setup cannot post on its own,
    /// and its scheduled messages wait in the outbox until a process with a token runs.
    pub fn from_settings(settings: &Settings) -> Result<Option<Self>, BuildError> {
        let Some(token) = &settings.token else {
            return Ok(None);
        };
        Self::new(token.expose(), settings.api_base.as_deref()).map(Some)
    }

    pub fn new(token: &str, api_base: Option<&str>) -> Result<Self, BuildError> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            // Discord asks bots to name themselves in this shape.
            .user_agent(concat!(
                "DiscordBot (dealgate, ",
                env!("CARGO_PKG_VERSION"),
                ")"
            ))
            .build()?;
        let base = api_base.unwrap_or(DISCORD_BASE).trim_end_matches('/');
        Ok(Self {
            client,
            api: format!("{base}/api/v10"),
            authorization: format!("Bot {token}"),
            dm_channels: Mutex::default(),
        })
    }

    async fn channel_of(&self, target: &Target) -> Result<String, SendError> {
        match target {
            // A channel typed as a mention (`<#123>`) is the same channel.
            Target::Channel(id) => {
                let id = id.trim().trim_start_matches("<#").trim_end_matches('>');
                snowflake(id, "channel").map(str::to_string)
            }
            Target::Direct(user) => {
                let user = snowflake(user, "user")?;
                if let Some(id) = self.cached_dm(user) {
                    return Ok(id);
                }
                let response = self
                    .client
                    .post(format!("{}/users/@me/channels", self.api))
                    .header("authorization", &self.authorization)
                    .header(CONTENT_TYPE, "application/json")
                    .body(json!({ "recipient_id": user }).to_string())
                    .send()
                    .await;
                let opened = read(response)
                    .await
                    .map_err(|e| context(e, &format!("open a DM with user {user}")))?;
                let id = opened
                    .as_ref()
                    .and_then(|v| v["id"].as_str())
                    .ok_or_else(|| SendError::Retry {
                        after: None,
                        reason: format!(
                            "open a DM with user {user}: Discord answered without a channel id"
                        ),
                    })?
                    .to_string();
                self.dm_channels
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(user.to_string(), id.clone());
                Ok(id)
            }
        }
    }

    fn cached_dm(&self, user: &str) -> Option<String> {
        self.dm_channels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(user)
            .cloned()
    }
}

impl Sender for DiscordSender {
    async fn send(&self, message: &OutboxMessage) -> Result<Delivered, SendError> {
        let channel = self.channel_of(&message.target).await?;
        let body = message_body(message).to_string();
        let request = self
            .client
            .post(format!("{}/channels/{channel}/messages", self.api))
            .header("authorization", &self.authorization);
        let request = match &message.reply.image {
            Some(image) => {
                let png = Part::bytes(image.png.clone())
                    .file_name(image.file_name.clone())
                    .mime_str("image/png")
                    .map_err(|e| SendError::Permanent(format!("attach the chart: {e}")))?;
                request.multipart(Form::new().text("payload_json", body).part("files[0]", png))
            }
            None => request.header(CONTENT_TYPE, "application/json").body(body),
        };
        let posted = read(request.send().await)
            .await
            .map_err(|e| context(e, &format!("post to {}", message.target)))?;
        Ok(Delivered {
            remote_id: posted
                .as_ref()
                .and_then(|v| v["id"].as_str())
                .map(str::to_string),
        })
    }
}

/// The JSON of a channel message: the reply as the interaction replies show it (one embed,
/// buttons), the chart shown inside the embed, nobody pinged, and the nonce Discord checks.
pub fn message_body(message: &OutboxMessage) -> Value {
    let reply = &message.reply;
    let mut embed = render::embed(reply);
    if let Some(image) = &reply.image {
        embed = embed.image(format!("attachment://{}", image.file_name));
    }
    let mut body = json!({
        "embeds": [embed],
        // Nobody is pinged, whatever a deal or a person is called.
        "allowed_mentions": { "parse": [] },
        "nonce": message.nonce,
        "enforce_nonce": true,
    });
    let rows = render::buttons(reply);
    if !rows.is_empty() {
        body["components"] = json!(rows);
    }
    if let Some(image) = &reply.image {
        body["attachments"] = json!([{ "id": 0, "filename": image.file_name }]);
    }
    body
}

/// Snowflakes are digits; anything else (a console channel name in a Discord workspace, say)
/// would never be accepted, and must not become part of a URL path.
fn snowflake<'a>(id: &'a str, what: &str) -> Result<&'a str, SendError> {
    if !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id)
    } else {
        Err(SendError::Permanent(format!(
            "`{id}` is not a Discord {what} id (a number such as 1098765432109876543); set the \
             digest up again with a channel picked in Discord"
        )))
    }
}

/// The JSON body of a successful response, or the failure classified.
async fn read(
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<Option<Value>, SendError> {
    let response = response.map_err(|e| SendError::Retry {
        after: None,
        reason: transport_error(&e),
    })?;
    let status = response.status().as_u16();
    let header = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = response.bytes().await.map_err(|e| SendError::Retry {
        after: None,
        reason: transport_error(&e),
    })?;
    if (200..300).contains(&status) {
        return Ok(serde_json::from_slice(&bytes).ok());
    }
    Err(classify(status, header.as_deref(), &bytes))
}

/// A failed response as the outbox sees it: 429 and 5xx are retried (no sooner than Discord
/// asked), any other status is Discord refusing this message for good.
pub fn classify(status: u16, retry_after_header: Option<&str>, body: &[u8]) -> SendError {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let said = match (json["message"].as_str(), json["code"].as_i64()) {
        (Some(m), Some(code)) if code != 0 => format!("{m} (Discord code {code})"),
        (Some(m), _) => m.to_string(),
        _ => String::from_utf8_lossy(body).chars().take(200).collect(),
    };
    let after = json["retry_after"]
        .as_f64()
        .or_else(|| retry_after_header.and_then(|h| h.trim().parse::<f64>().ok()))
        .map(wait);
    match status {
        429 => SendError::Retry {
            after,
            reason: format!("HTTP 429 rate limited: {said}"),
        },
        500..=599 => SendError::Retry {
            after,
            reason: format!("HTTP {status} from Discord: {said}"),
        },
        _ => SendError::Permanent(format!("HTTP {status}: {said}")),
    }
}

/// Seconds (fractional, as Discord gives them) → a wait, rounded up to the millisecond so a
/// retry is never early, and kept within a day.
fn wait(seconds: f64) -> Duration {
    let seconds = if seconds.is_finite() {
        seconds.clamp(0.0, LONGEST_WAIT_SECONDS)
    } else {
        0.0
    };
    // Within a day of milliseconds, so the cast cannot truncate.
    Duration::milliseconds((seconds * 1000.0).ceil() as i64)
}

fn transport_error(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "no answer from Discord within 15 seconds"
    } else if e.is_connect() {
        "could not connect to Discord"
    } else {
        "the request to Discord failed"
    };
    // reqwest's Display leaves out the cause ("connection refused"); the chain names it.
    let mut reason = format!("{what}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        reason.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    reason
}

fn context(e: SendError, doing: &str) -> SendError {
    match e {
        SendError::Retry { after, reason } => SendError::Retry {
            after,
            reason: format!("{doing}: {reason}"),
        },
        SendError::Permanent(reason) => SendError::Permanent(format!("{doing}: {reason}")),
        SendError::Partly { done, error } => SendError::Partly {
            done,
            error: Box::new(context(*error, doing)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::reply::{Image, Reply};

    fn message(image: bool) -> OutboxMessage {
        let mut reply = Reply::new("Forecast digest @everyone").line("**Open** 3");
        if image {
            reply.image = Some(Image {
                file_name: "digest.png".into(),
                png: vec![1, 2, 3],
            });
        }
        OutboxMessage {
            id: 1,
            tenant_id: 1,
            platform: crate::commands::Platform::Discord,
            target: Target::Channel("7001".into()),
            reply,
            nonce: "dg1m0".into(),
            attempts: 0,
            progress: None,
        }
    }

    #[test]
    fn the_body_carries_the_nonce_no_mentions_and_shows_the_chart_in_the_embed() {
        let v = message_body(&message(true));
        assert_eq!(v["nonce"], "dg1m0");
        assert_eq!(v["enforce_nonce"], true);
        assert_eq!(v["allowed_mentions"], json!({"parse": []}));
        assert_eq!(v["embeds"][0]["title"], "Forecast digest @everyone");
        assert_eq!(v["embeds"][0]["image"]["url"], "attachment://digest.png");
        assert_eq!(
            v["attachments"],
            json!([{"id": 0, "filename": "digest.png"}])
        );
        let plain = message_body(&message(false));
        assert!(plain.get("attachments").is_none(), "{plain}");
    }

    #[test]
    fn a_429_waits_as_long_as_discord_says_from_the_body_or_the_header() {
        let body =
            br#"{"message": "You are being rate limited.", "retry_after": 1.234, "global": false}"#;
        let SendError::Retry { after, .. } = classify(429, None, body) else {
            panic!("a 429 is retried");
        };
        assert_eq!(after, Some(Duration::milliseconds(1234)));
        let SendError::Retry { after, .. } = classify(429, Some("7"), b"") else {
            panic!("a 429 is retried");
        };
        assert_eq!(after, Some(Duration::seconds(7)));
    }

    #[test]
    fn server_errors_are_retried_and_refusals_are_kept_with_discords_words() {
        assert!(matches!(
            classify(502, None, b"Bad Gateway"),
            SendError::Retry { after: None, .. }
        ));
        let refused = classify(
            403,
            None,
            br#"{"message": "Missing Access", "code": 50001}"#,
        );
        assert_eq!(
            refused,
            SendError::Permanent("HTTP 403: Missing Access (Discord code 50001)".into())
        );
    }

    #[tokio::test]
    async fn a_channel_mention_names_the_same_channel_as_its_id() {
        // Port 1 on loopback: nothing listens, and a channel needs no request anyway.
        let sender = DiscordSender::new("t", Some("http://127.0.0.1:1")).unwrap();
        let channel = sender.channel_of(&Target::Channel("<#7001>".into())).await;
        assert_eq!(channel, Ok("7001".to_string()));
    }

    #[test]
    fn a_channel_that_is_not_a_snowflake_is_refused_before_any_request() {
        assert!(matches!(
            snowflake("managers", "channel"),
            Err(SendError::Permanent(_))
        ));
        assert!(matches!(
            snowflake("../../x", "channel"),
            Err(SendError::Permanent(_))
        ));
        assert_eq!(
            snowflake("1098765432109876543", "channel").unwrap(),
            "1098765432109876543"
        );
    }
}
