//! One request: its body read in turn and on the clock, then the routes.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Incoming};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::telemetry;

/// The largest body read: the endpoints' own limit (`DefaultBodyLimit`), so a request that
/// passes here is refused there for the same reason, with the same 413.
pub const MAX_BODY: usize = 256 * 1024;

/// Reads the body (in turn, on the clock), then hands the request to the routes.
pub(super) async fn respond(
    request: Request<Incoming>,
    router: Router,
    bodies: Arc<Semaphore>,
    body_timeout: Duration,
) -> Result<Response, Infallible> {
    let deadline = Instant::now() + body_timeout;
    let (parts, body) = request.into_parts();
    let body = if body.is_end_stream() {
        Body::empty()
    } else {
        match read_body(body, &bodies, deadline, body_timeout).await {
            Ok(bytes) => Body::from(bytes),
            Err(refused) => {
                let reason = if refused.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    telemetry::Refusal::Size
                } else {
                    telemetry::Refusal::SlowBody
                };
                telemetry::request_refused(telemetry::platform_of_path(parts.uri.path()), reason);
                return Ok(refused);
            }
        }
    };
    match router.oneshot(Request::from_parts(parts, body)).await {
        Ok(response) => Ok(response),
        Err(never) => match never {},
    }
}

/// The whole body, read while holding one of the body slots, by `deadline`; the refusal
/// otherwise, which also closes the connection (the rest of the body is never read).
async fn read_body(
    body: Incoming,
    bodies: &Arc<Semaphore>,
    deadline: Instant,
    timeout: Duration,
) -> Result<Bytes, Response> {
    let declared = body.size_hint().exact().map(|n| n as usize);
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Err(refusal(StatusCode::PAYLOAD_TOO_LARGE, too_large()));
    }
    let read = async {
        let _turn = bodies
            .acquire()
            .await
            .expect("the body slots are never closed");
        collect(body, declared).await
    };
    match tokio::time::timeout_at(deadline, read).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(refused)) => Err(refused),
        Err(_) => Err(refusal(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {} s of its headers; send the whole \
                 request at once",
                timeout.as_secs_f32()
            ),
        )),
    }
}

async fn collect(mut body: Incoming, declared: Option<usize>) -> Result<Bytes, Response> {
    let mut buf = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            refusal(
                StatusCode::BAD_REQUEST,
                "the request body could not be read".into(),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > MAX_BODY {
                return Err(refusal(StatusCode::PAYLOAD_TOO_LARGE, too_large()));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

fn too_large() -> String {
    format!(
        "the request body is over {} KiB; Discord's and Slack's requests are a few KiB",
        MAX_BODY / 1024
    )
}

/// A refusal that also ends the connection: its request's body was not read to the end, so
/// what follows on the socket is not the start of a request.
fn refusal(status: StatusCode, text: String) -> Response {
    let mut response = (status, text).into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
