//! Slack's endpoints on the HTTP server (axum): `POST /slack/commands` (slash commands, form
//! fields) and `POST /slack/interactivity` (button presses, a `payload` field holding JSON).
//!
//! Order matters, as on the Discord endpoint: the body is size-limited (413), then the signature
//! and the timestamp's freshness are checked against the injected clock (401 with nothing
//! changed), and only then is the body parsed. Slash commands are answered in the response;
//! a press is acknowledged at once and answered through its `response_url`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::dispatch::{Dispatcher, Interaction, SlashCommand};
use super::verify::{Refused, SigningSecret};
use super::web::respond;
use crate::telemetry::{self, Refusal};

/// The same limit as the Discord endpoint: Slack's requests are a few KiB.
pub const MAX_BODY: usize = crate::chat::discord::http::MAX_BODY;

#[derive(Clone)]
struct Endpoint {
    dispatcher: Arc<Dispatcher>,
    secret: SigningSecret,
    client: reqwest::Client,
}

/// The Slack routes; `client` posts to response URLs.
pub fn router(
    dispatcher: Arc<Dispatcher>,
    secret: SigningSecret,
    client: reqwest::Client,
) -> Router {
    Router::new()
        .route("/slack/commands", post(commands))
        .route("/slack/interactivity", post(interactivity))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Endpoint {
            dispatcher,
            secret,
            client,
        })
}

/// `GET /healthz`, for a server that serves Slack only (the Discord router has its own).
pub fn health(dispatcher: Arc<Dispatcher>) -> Router {
    Router::new().route(
        "/healthz",
        get(move || {
            let dispatcher = Arc::clone(&dispatcher);
            async move {
                if dispatcher.service().database_ok().await {
                    (StatusCode::OK, "ok").into_response()
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
                }
            }
        }),
    )
}

impl Endpoint {
    /// `None` when the request is Slack's; the 401 otherwise.
    fn refuse(&self, headers: &HeaderMap, body: &[u8]) -> Option<Response> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let now = self.dispatcher.service().clock().now();
        match self.secret.verify(
            header("x-slack-request-timestamp"),
            header("x-slack-signature"),
            body,
            now,
        ) {
            Ok(()) => {
                if let Some(retry) = header("x-slack-retry-num") {
                    tracing::info!(
                        retry,
                        reason = header("x-slack-retry-reason"),
                        "Slack redelivered a request"
                    );
                }
                None
            }
            Err(refused) => {
                let reason = match refused {
                    Refused::Stale | Refused::Ahead => Refusal::Replay,
                    _ => Refusal::Signature,
                };
                telemetry::request_refused("slack", reason);
                Some((StatusCode::UNAUTHORIZED, refused.to_string()).into_response())
            }
        }
    }
}

async fn commands(State(app): State<Endpoint>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = app.refuse(&headers, &body) {
        return refused;
    }
    #[derive(Deserialize)]
    struct SslCheck {
        ssl_check: Option<String>,
    }
    if let Ok(SslCheck { ssl_check: Some(_) }) = serde_urlencoded::from_bytes::<SslCheck>(&body) {
        return StatusCode::OK.into_response();
    }
    let command: SlashCommand = match serde_urlencoded::from_bytes(&body) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "signed slash command not understood");
            return (StatusCode::BAD_REQUEST, "slash command not understood").into_response();
        }
    };
    // The work is not owned by the connection: if Slack hangs up at its 3 seconds, this
    // handler is dropped, but the task runs the command to completion and records its answer.
    let (dispatcher, client) = (Arc::clone(&app.dispatcher), app.client.clone());
    let work = app.dispatcher.detached().spawn(async move {
        let answer = dispatcher.command(command, &body).await;
        if let Some(later) = answer.later {
            let finishing = Arc::clone(&dispatcher);
            dispatcher.detached().spawn(async move {
                let url = later.response_url.clone();
                let body = finishing.finish(later).await;
                if let Err(e) = respond(&client, &url, &body).await {
                    tracing::warn!(error = %e, "slow command's answer not delivered");
                }
            });
        }
        answer.body.to_string()
    });
    match work.await {
        Ok(body) => json(body),
        Err(e) => {
            tracing::error!(error = %e, "a slash command's task failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "command failed").into_response()
        }
    }
}

async fn interactivity(State(app): State<Endpoint>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = app.refuse(&headers, &body) {
        return refused;
    }
    #[derive(Deserialize)]
    struct Form {
        payload: String,
    }
    let payload: Interaction = match serde_urlencoded::from_bytes::<Form>(&body)
        .map_err(|e| e.to_string())
        .and_then(|f| serde_json::from_str(&f.payload).map_err(|e| e.to_string()))
    {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "signed interaction payload not understood");
            return (
                StatusCode::BAD_REQUEST,
                "interaction payload not understood",
            )
                .into_response();
        }
    };
    // Slack wants the acknowledgement within 3 seconds whatever the press does; the answer
    // follows through the response URL.
    let (dispatcher, client) = (Arc::clone(&app.dispatcher), app.client.clone());
    app.dispatcher.detached().spawn(async move {
        if let Some((url, body)) = dispatcher.press(payload, &body).await
            && let Err(e) = respond(&client, &url, &body).await
        {
            tracing::warn!(error = %e, "button answer not delivered");
        }
    });
    StatusCode::OK.into_response()
}

fn json(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}
