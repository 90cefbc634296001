//! What `dealgate serve` tells an operator's Prometheus: commands by name and outcome with their
//! latency, refused requests, deliveries, scheduler work, the outbox's backlog, the database's
//! connections in use and the build.
//!
//! Recording goes through the `metrics` facade, a no-op until the binary installs the
//! Prometheus recorder (`Exporter::install`), so the library, its tests and the console record
//! nothing. The backlog and connections are read when scraped, not kept up to date on every
//! write. Names and units follow Prometheus's conventions: `_total` counters, `_seconds`
//! durations, base units.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::service::Service;

const COMMANDS: &str = "dealgate_commands_total";
const COMMAND_SECONDS: &str = "dealgate_command_duration_seconds";
const REFUSED: &str = "dealgate_requests_refused_total";
const DELIVERIES: &str = "dealgate_deliveries_total";
const TICKS: &str = "dealgate_scheduler_ticks_total";
const JOBS: &str = "dealgate_jobs_claimed_total";
const OUTBOX_PENDING: &str = "dealgate_outbox_pending";
const OUTBOX_OLDEST: &str = "dealgate_outbox_oldest_pending_age_seconds";
const CONNECTIONS: &str = "dealgate_db_connections_in_use";
const CONNECTIONS_MAX: &str = "dealgate_db_connections_max";
const BUILD: &str = "dealgate_build_info";

/// Upper bounds of the command latency buckets: a chat command should answer in tens of
/// milliseconds, and Discord and Slack give up after three seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// How a command ended, as the metrics label it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done, or answered as asked.
    Ok,
    /// Refused for a reason the person can fix (a gate, a permission, bad input).
    Refused,
    /// Failed on our side (the reply gives a reference to find it in the log).
    Error,
    /// A duplicate delivery, answered with the first one's answer.
    Duplicate,
    /// Acknowledged now, its reply delivered later.
    Deferred,
}

impl Outcome {
    /// How a reply says the command ended: a person's mistake (an unknown deal, a bad date)
    /// is a refusal like a gate's; only a failure on our side is an error.
    pub fn of(reply: &crate::commands::reply::Reply) -> Self {
        use crate::commands::reply::Tone;
        match reply.tone {
            Tone::Error if reply.title == crate::commands::replies::INTERNAL_ERROR_TITLE => {
                Outcome::Error
            }
            Tone::Error | Tone::Refusal => Outcome::Refused,
            _ => Outcome::Ok,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Error => "error",
            Outcome::Duplicate => "duplicate",
            Outcome::Deferred => "deferred",
        }
    }
}

/// A command handled through the one door: counted by name and outcome, timed by name.
pub fn command_handled(command: &'static str, outcome: Outcome, took: Duration) {
    counter!(COMMANDS, "command" => command, "outcome" => outcome.as_str()).increment(1);
    histogram!(COMMAND_SECONDS, "command" => command).record(took.as_secs_f64());
}

/// Why a request to an endpoint was turned away before any command ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Missing or wrong signature.
    Signature,
    /// A timestamp too old or too far ahead: a replay, or a clock far off.
    Replay,
    /// A body over the limit.
    Size,
    /// A body that did not arrive in time.
    SlowBody,
}

/// A refused request, by platform (`discord`, `slack`, or `other` for an unknown path).
pub fn request_refused(platform: &'static str, reason: Refusal) {
    let reason = match reason {
        Refusal::Signature => "signature",
        Refusal::Replay => "replay",
        Refusal::Size => "size",
        Refusal::SlowBody => "slow_body",
    };
    counter!(REFUSED, "platform" => platform, "reason" => reason).increment(1);
}

/// The platform a request path belongs to.
pub fn platform_of_path(path: &str) -> &'static str {
    if path.starts_with("/discord/") {
        "discord"
    } else if path.starts_with("/slack/") {
        "slack"
    } else {
        "other"
    }
}

/// One delivery attempt of a scheduled message: `sent`, `retried`, `rate_limited` (a 429 with
/// its wait) or `failed` (for good).
pub fn delivery(platform: &'static str, result: &'static str) {
    counter!(DELIVERIES, "platform" => platform, "result" => result).increment(1);
}

/// One pass of the scheduler.
pub fn scheduler_tick() {
    counter!(TICKS).increment(1);
}

/// A day's job (`digest`, `nudges`) claimed and queued by this process.
pub fn job_claimed(job: &'static str) {
    counter!(JOBS, "job" => job).increment(1);
}

/// The installed Prometheus recorder, rendered on scrape.
#[derive(Clone)]
pub struct Exporter {
    handle: PrometheusHandle,
}

impl Exporter {
    /// Installs the process-wide recorder: once, before anything is recorded.
    pub fn install() -> anyhow::Result<Self> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(COMMAND_SECONDS.into()), &LATENCY_BUCKETS)?
            .install_recorder()?;
        describe_counter!(COMMANDS, "Commands handled, by command and outcome.");
        describe_histogram!(
            COMMAND_SECONDS,
            metrics::Unit::Seconds,
            "Time from a command's arrival to its answer, by command."
        );
        describe_counter!(
            REFUSED,
            "Requests refused before any command ran, by platform and reason."
        );
        describe_counter!(
            DELIVERIES,
            "Delivery attempts of scheduled messages, by platform and result."
        );
        describe_counter!(TICKS, "Scheduler passes.");
        describe_counter!(
            JOBS,
            "Daily jobs claimed and queued by this process, by job."
        );
        describe_gauge!(OUTBOX_PENDING, "Messages waiting in the outbox.");
        describe_gauge!(
            OUTBOX_OLDEST,
            metrics::Unit::Seconds,
            "Age of the oldest message waiting in the outbox."
        );
        describe_gauge!(CONNECTIONS, "Database connections in use, by pool.");
        describe_gauge!(CONNECTIONS_MAX, "Database connections a pool may open.");
        describe_gauge!(BUILD, "Always 1; the labels say which build runs.");
        gauge!(BUILD, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        Ok(Self { handle })
    }

    /// Folds the histograms' recent samples into their buckets, so memory does not grow
    /// between scrapes; `serve` calls it every few seconds.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// The text a scrape gets, with the outbox's backlog and the connections read now.
    pub async fn render(&self, service: &Service) -> String {
        match service.outbox_backlog().await {
            Ok((pending, oldest)) => {
                gauge!(OUTBOX_PENDING).set(pending as f64);
                let age = oldest.map_or(0.0, |at| {
                    (service.clock().now() - at).num_milliseconds().max(0) as f64 / 1000.0
                });
                gauge!(OUTBOX_OLDEST).set(age);
            }
            Err(e) => tracing::warn!(error = ?e, "outbox backlog not read for /metrics"),
        }
        for (pool, in_use, max) in service.connections_in_use() {
            gauge!(CONNECTIONS, "pool" => pool).set(in_use as f64);
            gauge!(CONNECTIONS_MAX, "pool" => pool).set(max as f64);
        }
        self.handle.render()
    }
}

#[derive(Clone)]
struct Scrape {
    exporter: Exporter,
    service: Arc<Service>,
}

/// `GET /metrics` in Prometheus's text format.
pub fn router(exporter: Exporter, service: Arc<Service>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .with_state(Scrape { exporter, service })
}

async fn metrics_text(State(scrape): State<Scrape>) -> Response {
    let text = scrape.exporter.render(&scrape.service).await;
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
