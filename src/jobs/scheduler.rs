//! The scheduler: on every tick, for each workspace with a schedule, runs the digest and the
//! nudges that are due at `now` in the workspace's time zone, each at most once per local day.
//! The claims, the figures and the queueing are service use cases (`service::scheduled`); this
//! loop decides when, and renders what the messages say.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use super::message::new_message;
use super::outbox::{Sender, deliver_due};
use crate::commands::digest_chart;
use crate::commands::digest_replies;
use crate::commands::reply::Reply;
use crate::service::{DigestRun, Job, Schedule, Service, ServiceResult};
use crate::telemetry;

/// What one tick did: the (workspace, local date) of each job it ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    pub digests: Vec<(i64, NaiveDate)>,
    pub nudges: Vec<(i64, NaiveDate)>,
}

/// Runs whatever is due at `now`. A failure in one workspace is logged and does not stop the
/// others; it is tried again on the next tick (nothing was claimed).
pub async fn tick(service: &Service, now: DateTime<Utc>) -> ServiceResult<TickReport> {
    let mut report = TickReport::default();
    for schedule in service.active_schedules().await? {
        if schedule.digest_channel.is_some()
            && let Some(date) = schedule.digest.due(now)
        {
            match run_digest(service, &schedule, date, now).await {
                Ok(true) => {
                    telemetry::job_claimed("digest");
                    report.digests.push((schedule.tenant_id, date));
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(tenant = schedule.tenant_id, error = ?e, "digest failed; retried next tick")
                }
            }
        }
        if schedule.nudges_enabled
            && let Some(date) = schedule.nudges.due(now)
        {
            match super::nudges::run_nudges(service, &schedule, date, now).await {
                Ok(true) => {
                    telemetry::job_claimed("nudges");
                    report.nudges.push((schedule.tenant_id, date));
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(tenant = schedule.tenant_id, error = ?e, "nudges failed; retried next tick")
                }
            }
        }
    }
    Ok(report)
}

/// The digest reply of a run, chart attached: the scheduled post and the dry run.
pub fn digest_reply(run: &DigestRun, schedule: &Schedule) -> ServiceResult<Reply> {
    let mut reply = digest_replies::digest(&run.figures, &run.playbook, schedule.digest.zone);
    reply.image = Some(digest_chart::render(&run.figures, &run.playbook)?);
    Ok(reply)
}

/// Runs the digest for `date` unless it already ran. `Ok(true)` when this call queued it.
pub async fn run_digest(
    service: &Service,
    schedule: &Schedule,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    let Some(channel) = schedule.digest_channel.clone() else {
        return Ok(false);
    };
    if service
        .job_done(schedule.tenant_id, Job::Digest, date)
        .await?
    {
        return Ok(false);
    }
    let run = service.digest_run(schedule, now).await?;
    let reply = digest_reply(&run, schedule)?;
    let message = new_message(crate::service::Target::Channel(channel), &reply);
    service
        .queue_digest(schedule, date, &run.figures, &message)
        .await
}

/// How often the loop forgets day-old interaction receipts.
const PRUNE_EVERY: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// How long a pass under way may take to finish once shutdown is asked for.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// `dealgate serve`'s loop: ticks every `every` on the service's clock, then delivers what is
/// due. Errors are logged and the loop carries on, until `shutdown` completes.
///
/// A pass under way when shutdown comes is given `SHUTDOWN_GRACE` to finish, so a message
/// Discord accepted is recorded as sent. One cut short still loses nothing: an unfinished claim
/// rolls back (the next start claims it again), and a message taken for sending stays pending
/// under its lease and goes out after it, its nonce keeping a post that did arrive from arriving
/// twice.
pub async fn run<S: Sender>(
    service: Arc<Service>,
    sender: S,
    every: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    let mut next_prune = service.clock().now();
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            () = &mut shutdown => return,
        }
        let pass = async {
            telemetry::scheduler_tick();
            one_pass(&service, &sender).await;
            let now = service.clock().now();
            if now >= next_prune {
                next_prune = now + PRUNE_EVERY;
                match service.prune_interaction_receipts().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(receipts = n, "old interaction receipts pruned"),
                    Err(e) => tracing::warn!(error = ?e, "pruning interaction receipts failed"),
                }
            }
        };
        tokio::pin!(pass);
        tokio::select! {
            () = &mut pass => {}
            () = &mut shutdown => {
                if tokio::time::timeout(SHUTDOWN_GRACE, pass).await.is_err() {
                    tracing::warn!("the last scheduler pass was cut short by the shutdown; its work is redone on the next start");
                }
                return;
            }
        }
    }
}

async fn one_pass<S: Sender>(service: &Service, sender: &S) {
    let now = service.clock().now();
    if let Err(e) = tick(service, now).await {
        tracing::error!(error = ?e, "scheduler tick failed");
    }
    if let Err(e) = deliver_due(service, sender).await {
        tracing::error!(error = ?e, "outbox delivery failed");
    }
}
