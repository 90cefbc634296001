//! The scheduler: on every tick, for each workspace with a schedule, runs the digest and the
//! nudges that are due at `now` in the workspace's time zone, each at most once per local day.
//!
//! A job runs only after claiming `(workspace, job, local date)` in `job_claims`, and its
//! messages go into the outbox in that same transaction: either the claim and every message
//! commit, or neither does. Two schedulers on one database (replicas, or a restart overlapping
//! the old process) race on the unique key and one of them wins. The figures are read before the
//! claim, so a scheduler that loses does only reads; a day already claimed is skipped with one
//! indexed lookup.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use super::message::{StoredReply, Target};
use super::outbox::{Sender, deliver_due};
use crate::commands::digest_chart;
use crate::commands::digest_replies;
use crate::commands::reply::Reply;
use crate::service::{DigestScope, Schedule, Service, ServiceResult};
use crate::store::jobs::{self, NewOutbox, SnapshotTotals};
use crate::store::{StoreError, schedules};

pub const DIGEST_JOB: &str = "digest";
pub const NUDGES_JOB: &str = "nudges";

/// What one tick did: the (workspace, local date) of each job it ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    pub digests: Vec<(i64, NaiveDate)>,
    pub nudges: Vec<(i64, NaiveDate)>,
}

/// Runs whatever is due at `now`. A failure in one workspace is logged and does not stop the
/// others; it is tried again on the next tick (nothing was claimed).
pub async fn tick(service: &Service, now: DateTime<Utc>) -> ServiceResult<TickReport> {
    let rows = {
        let mut conn = service.store().reader().acquire().await?;
        schedules::active(&mut conn).await?
    };
    let mut report = TickReport::default();
    for row in rows {
        let schedule = match Schedule::try_from(&row) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(tenant = row.tenant_id, error = %e, "schedule unreadable; skipped");
                continue;
            }
        };
        if schedule.digest_channel.is_some()
            && let Some(date) = schedule.digest.due(now)
        {
            match run_digest(service, &schedule, date, now).await {
                Ok(true) => report.digests.push((schedule.tenant_id, date)),
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
                Ok(true) => report.nudges.push((schedule.tenant_id, date)),
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(tenant = schedule.tenant_id, error = ?e, "nudges failed; retried next tick")
                }
            }
        }
    }
    Ok(report)
}

/// The digest reply for a workspace at `now`, chart attached: the scheduled post and the dry run.
pub async fn digest_reply(
    service: &Service,
    schedule: &Schedule,
    tenant: &crate::store::TenantRow,
    now: DateTime<Utc>,
) -> ServiceResult<(Reply, SnapshotTotals)> {
    let playbook = service.playbook_of(tenant)?;
    let scope = DigestScope {
        tenant_id: tenant.id,
        workspace: &tenant.name,
        playbook: &playbook,
        fiscal_start_month: schedule.fiscal_start_month,
        today: schedule.digest.today(now),
    };
    let figures = service.digest_figures(scope, now).await?;
    let mut reply = digest_replies::digest(&figures, &playbook, schedule.digest.zone);
    reply.image = Some(digest_chart::render(&figures, &playbook)?);
    let q = &figures.quarter_forecast;
    let category = |c| {
        q.by_category
            .iter()
            .find(|(k, _)| *k == c)
            .map_or(0, |(_, t)| clamp(t.amount))
    };
    use crate::engine::playbook::ForecastCategory;
    let totals = SnapshotTotals {
        open_count: q.open.count as i64,
        open_amount: clamp(q.open.amount),
        weighted: clamp(q.open.weighted_minor()),
        commit: category(ForecastCategory::Commit),
        best_case: category(ForecastCategory::BestCase),
        won: clamp(q.won.amount),
    };
    Ok((reply, totals))
}

fn clamp(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Runs the digest for `date` unless it already ran. `Ok(true)` when this call posted it.
pub async fn run_digest(
    service: &Service,
    schedule: &Schedule,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    let store = service.store();
    let tenant_id = schedule.tenant_id;
    let Some(channel) = schedule.digest_channel.clone() else {
        return Ok(false);
    };
    let tenant = {
        let mut conn = store.reader().acquire().await?;
        if jobs::is_claimed(&mut conn, tenant_id, DIGEST_JOB, date).await? {
            return Ok(false);
        }
        schedules::tenant(&mut conn, tenant_id).await?
    };
    let (reply, totals) = digest_reply(service, schedule, &tenant, now).await?;
    let mut tx = store.begin().await?;
    let Some(claim) = jobs::claim(&mut tx, tenant_id, DIGEST_JOB, date, now).await? else {
        return Ok(false); // Another scheduler got there first; dropping `tx` rolls back.
    };
    enqueue(
        &mut tx,
        tenant_id,
        claim,
        0,
        &Target::Channel(channel),
        &reply,
        now,
    )
    .await?;
    jobs::insert_snapshot(&mut tx, tenant_id, date, &totals, now).await?;
    tx.commit().await?;
    tracing::info!(tenant = tenant_id, %date, "digest claimed and queued");
    Ok(true)
}

/// Writes one message of a claimed job to the outbox. The nonce is the claim and the message's
/// place in it, so it is unique, stable, and within Discord's 25 characters.
pub async fn enqueue(
    conn: &mut crate::store::Conn,
    tenant_id: i64,
    claim: i64,
    index: usize,
    target: &Target,
    reply: &Reply,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let payload = serde_json::to_string(&StoredReply::from_reply(reply)).map_err(|e| {
        StoreError::Corrupt {
            table: "outbox",
            detail: format!("serialize a reply: {e}"),
        }
    })?;
    let nonce = format!("dg{claim}m{index}");
    jobs::insert_outbox(
        conn,
        &NewOutbox {
            tenant_id,
            claim_id: Some(claim),
            target_kind: target.kind(),
            target: target.id(),
            payload: &payload,
            image: reply
                .image
                .as_ref()
                .map(|i| (i.file_name.as_str(), i.png.as_slice())),
            nonce: &nonce,
        },
        now,
    )
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
    if let Err(e) = deliver_due(service.store(), service.clock(), sender).await {
        tracing::error!(error = ?e, "outbox delivery failed");
    }
}
