//! The HTTP interactions endpoint (axum): `POST /discord/interactions` and `GET /healthz`.
//!
//! Order matters: the body is size-limited (413 over 256 KiB), then the Ed25519 signature over
//! timestamp + raw body is checked (401 if a header is missing or the signature does not hold),
//! then the timestamp's freshness (`chat::freshness`: 401 for a replay), and only then is the
//! body parsed as JSON. A refused request touches nothing.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serenity::all::Interaction;

use super::dispatch::Dispatcher;
use super::rest::Rest;
use super::verify::PublicKey;
use crate::chat::freshness;
use crate::telemetry::{self, Refusal};

/// Discord's interactions are a few KiB; anything this large is not one.
pub const MAX_BODY: usize = 256 * 1024;

#[derive(Clone)]
struct Endpoint {
    dispatcher: Arc<Dispatcher>,
    key: PublicKey,
    rest: Rest,
}

/// The routes, ready to serve.
pub fn router(dispatcher: Arc<Dispatcher>, key: PublicKey, rest: Rest) -> Router {
    Router::new()
        .route("/discord/interactions", post(interactions))
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Endpoint {
            dispatcher,
            key,
            rest,
        })
}

async fn interactions(State(app): State<Endpoint>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(signature), Some(timestamp)) = (
        header("x-signature-ed25519"),
        header("x-signature-timestamp"),
    ) else {
        telemetry::request_refused("discord", Refusal::Signature);
        return (StatusCode::UNAUTHORIZED, "missing signature headers").into_response();
    };
    if !app.key.verify(signature, timestamp, &body) {
        telemetry::request_refused("discord", Refusal::Signature);
        return (StatusCode::UNAUTHORIZED, "invalid request signature").into_response();
    }
    if let Err(unfresh) = freshness::check(timestamp, app.dispatcher.service().clock().now()) {
        telemetry::request_refused("discord", Refusal::Replay);
        return (StatusCode::UNAUTHORIZED, unfresh.to_string()).into_response();
    }
    let interaction: Interaction = match serde_json::from_slice(&body) {
        Ok(i) => i,
        Err(e) => {
            // Signed by Discord yet unreadable: a payload this serenity version does not know.
            tracing::warn!(error = %e, "signed interaction not understood");
            return (StatusCode::BAD_REQUEST, "interaction not understood").into_response();
        }
    };
    // The work is not owned by the connection: if Discord (or a proxy) hangs up, this handler
    // is dropped, but the task runs the command to completion and records its answer.
    let (dispatcher, rest) = (Arc::clone(&app.dispatcher), app.rest.clone());
    let work = app.dispatcher.detached().spawn(async move {
        let answer = dispatcher.handle(interaction).await;
        if let Some(later) = answer.later {
            let finishing = Arc::clone(&dispatcher);
            dispatcher
                .detached()
                .spawn(async move { finishing.finish(later, &rest).await });
        }
        answer.json
    });
    match work.await {
        Ok(json) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            json,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "an interaction's task failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "interaction failed").into_response()
        }
    }
}

async fn healthz(State(app): State<Endpoint>) -> Response {
    if app.dispatcher.service().database_ok().await {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
    }
}
