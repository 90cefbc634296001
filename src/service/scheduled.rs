//! Scheduled jobs as use cases: which schedules are active, whether a day's job already ran,
//! what the digest and the nudges say, and queueing a job's messages.
//!
//! A job runs only after claiming `(workspace, job, local date)`, and its messages go into the
//! outbox in that same transaction: either the claim and every message commit, or neither
//! does. Two schedulers on one database (replicas, or a restart overlapping the old process)
//! race on the unique key and one of them wins. The figures are read before the claim, so a
//! scheduler that loses does only reads.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::engine::ids::{ActivityId, DealNumber};
use crate::engine::nudge::{NudgeFacts, Reason, reasons, suggestions};
use crate::engine::people::Member;
use crate::engine::playbook::{Playbook, Role};
use crate::store::digest::{logged_in_current_stage, team_deals};
use crate::store::jobs::{self, NewOutbox, SnapshotTotals};
use crate::store::{Conn, StoreError, members, schedules};

use super::outbox::{NewMessage, Target};
use super::{DigestFigures, DigestScope, Platform, Schedule, Service, ServiceResult};

/// A job the scheduler runs at most once per workspace and local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Digest,
    Nudges,
}

impl Job {
    fn key(self) -> &'static str {
        match self {
            Self::Digest => "digest",
            Self::Nudges => "nudges",
        }
    }
}

/// A workspace as jobs and operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: i64,
    pub name: String,
    pub platform: Platform,
    /// Every member may see every deal, read only (`/team visibility`).
    pub team_pipeline_open: bool,
    /// The playbook version in force.
    pub playbook_version: i64,
}

impl TryFrom<&crate::store::Tenant> for Workspace {
    type Error = StoreError;

    fn try_from(t: &crate::store::Tenant) -> Result<Self, StoreError> {
        Self::try_from(&t.head())
    }
}

impl TryFrom<&crate::store::TenantHead> for Workspace {
    type Error = StoreError;

    fn try_from(t: &crate::store::TenantHead) -> Result<Self, StoreError> {
        Ok(Self {
            id: t.id,
            name: t.name.clone(),
            platform: Platform::parse(&t.platform).ok_or_else(|| StoreError::Corrupt {
                table: "tenants",
                detail: format!("platform `{}` of workspace {}", t.platform, t.id),
            })?,
            team_pipeline_open: t.team_pipeline_open,
            playbook_version: t.playbook_version,
        })
    }
}

/// A digest worked out for a workspace: what the job (or a dry run) renders and queues.
#[derive(Debug, Clone)]
pub struct DigestRun {
    pub workspace: Workspace,
    pub playbook: Arc<Playbook>,
    pub figures: DigestFigures,
}

/// One deal in a coaching nudge.
#[derive(Debug, Clone, PartialEq)]
pub struct NudgeItem {
    pub number: DealNumber,
    pub name: String,
    pub owner: String,
    pub stage: String,
    /// Minor units.
    pub amount: i64,
    pub reasons: Vec<Reason>,
    /// `(activity id, name)`, in the playbook's order.
    pub suggestions: Vec<(String, String)>,
}

/// One coaching DM: to a manager about their reps (`about_team`), or to a rep about their own.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedNudge {
    pub target: Target,
    pub items: Vec<NudgeItem>,
    pub about_team: bool,
    /// The playbook version in force, if the recipient (or, for a manager, one of their reps)
    /// has not acknowledged it `ack_remind_days` after it was applied.
    pub unacknowledged: Option<AckReminder>,
}

/// Who has not yet read the playbook version in force, as a nudge reminds them.
#[derive(Debug, Clone, PartialEq)]
pub struct AckReminder {
    pub version: i64,
    pub applied: NaiveDate,
    /// Whether the recipient is one of them.
    pub you: bool,
    /// The others (a manager's reps), by name.
    pub others: Vec<String>,
}

/// The day's nudges of a workspace, before they are queued.
#[derive(Debug, Clone)]
pub struct NudgePlan {
    pub playbook: Arc<Playbook>,
    pub messages: Vec<PlannedNudge>,
    /// `(deal id, reason)` of every nudge given, so the repeat window can leave them out.
    given: Vec<(i64, &'static str)>,
}

impl Service {
    /// Every workspace, oldest first.
    pub async fn workspaces(&self) -> ServiceResult<Vec<Workspace>> {
        let mut conn = self.store.reader().acquire().await?;
        Ok(crate::store::tenants::list(&mut conn)
            .await?
            .iter()
            .map(Workspace::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// The schedules of workspaces with a digest or nudges set up. One that cannot be read is
    /// logged and left out, so it does not stop the others.
    pub async fn active_schedules(&self) -> ServiceResult<Vec<Schedule>> {
        let rows = {
            let mut conn = self.store.reader().acquire().await?;
            schedules::active(&mut conn).await?
        };
        Ok(rows
            .into_iter()
            .filter_map(|(tenant, read)| match read {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::error!(tenant, error = %e, "schedule unreadable; skipped");
                    None
                }
            })
            .collect())
    }

    /// Whether `job` already ran (or is running) for the workspace's local `date`.
    pub async fn job_done(&self, tenant_id: i64, job: Job, date: NaiveDate) -> ServiceResult<bool> {
        let mut conn = self.store.reader().acquire().await?;
        Ok(jobs::is_claimed(&mut conn, tenant_id, job.key(), date).await?)
    }

    /// The digest of a workspace as it would be posted at `now`.
    pub async fn digest_run(
        &self,
        schedule: &Schedule,
        now: DateTime<Utc>,
    ) -> ServiceResult<DigestRun> {
        let tenant = {
            let mut conn = self.store.reader().acquire().await?;
            schedules::tenant(&mut conn, schedule.tenant_id).await?
        };
        let playbook = self.playbook_of(&tenant)?;
        let scope = DigestScope {
            tenant_id: tenant.id,
            workspace: &tenant.name,
            playbook: &playbook,
            fiscal_start_month: schedule.fiscal_start_month,
            today: schedule.digest.today(now),
        };
        let figures = self.digest_figures(scope, now).await?;
        Ok(DigestRun {
            workspace: Workspace::try_from(&tenant)?,
            playbook,
            figures,
        })
    }

    /// Claims the digest of `date` and queues its message, with the day's forecast snapshot
    /// (totals and every open deal), in one transaction. `false` when another scheduler has
    /// claimed the day already: nothing is written then.
    pub async fn queue_digest(
        &self,
        schedule: &Schedule,
        date: NaiveDate,
        figures: &DigestFigures,
        message: &NewMessage,
    ) -> ServiceResult<bool> {
        let tenant_id = schedule.tenant_id;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let Some(claim) = jobs::claim(&mut tx, tenant_id, Job::Digest.key(), date, now).await?
        else {
            return Ok(false); // Dropping `tx` rolls back.
        };
        enqueue(&mut tx, tenant_id, claim, 0, message, now).await?;
        jobs::insert_snapshot(&mut tx, tenant_id, date, &snapshot_totals(figures), now).await?;
        tx.commit().await?;
        tracing::info!(tenant = tenant_id, %date, "digest claimed and queued");
        Ok(true)
    }

    /// Takes the day's forecast snapshot alone, as the digest of `date` would with its message:
    /// what `dealgate demo` records for each weekday of the history it plays, so accuracy,
    /// movement and ranges have real days to read. `false` when the day has one already.
    pub async fn record_snapshot(&self, tenant_id: i64, date: NaiveDate) -> ServiceResult<bool> {
        let now = self.clock.now();
        let schedule = self.schedule(tenant_id).await?;
        let run = self.digest_run(&schedule, now).await?;
        let mut tx = self.store.begin().await?;
        let taken = jobs::insert_snapshot(
            &mut tx,
            tenant_id,
            date,
            &snapshot_totals(&run.figures),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(taken.is_some())
    }

    /// The coaching nudges due for `date`: for each manager, the deals of their reps worth a
    /// look, and for each rep their own when the workspace asks for it. A `(deal, reason)`
    /// nudged within the repeat window is left out, snoozed deals are skipped. `None` when the
    /// day's nudges already ran.
    pub async fn plan_nudges(
        &self,
        schedule: &Schedule,
        date: NaiveDate,
        now: DateTime<Utc>,
    ) -> ServiceResult<Option<NudgePlan>> {
        let tenant_id = schedule.tenant_id;
        let window = i64::from(schedule.nudge_repeat_days.max(1));
        let mut conn = self.store.reader().acquire().await?;
        if jobs::is_claimed(&mut conn, tenant_id, Job::Nudges.key(), date).await? {
            return Ok(None);
        }
        let tenant = schedules::tenant(&mut conn, tenant_id).await?;
        let team = members::list(&mut conn, tenant_id).await?;
        let snoozed: HashSet<i64> = schedules::snoozed_on(&mut conn, tenant_id, date)
            .await?
            .into_iter()
            .collect();
        let since = date - Duration::days(window - 1);
        let recent: HashSet<(i64, String)> = jobs::nudged_since(&mut conn, tenant_id, since)
            .await?
            .into_iter()
            .collect();
        let playbook = self.playbook_of(&tenant)?;
        self.judge_stale(tenant_id, &playbook, false).await?;
        let pending = self
            .unacknowledged(&mut conn, tenant_id, &team, schedule.ack_remind_days, date)
            .await?;
        let reminder = |to: &Member, reps: &[&Member]| {
            let (version, applied, members) = pending.as_ref()?;
            let you = members.contains(&to.id);
            let others: Vec<String> = reps
                .iter()
                .filter(|r| members.contains(&r.id))
                .map(|r| r.display_name.clone())
                .collect();
            (you || !others.is_empty()).then_some(AckReminder {
                version: *version,
                applied: *applied,
                you,
                others,
            })
        };
        let mut messages: Vec<PlannedNudge> = Vec::new();
        let mut given: Vec<(i64, &'static str)> = Vec::new();
        for manager in team.iter().filter(|m| m.role >= Role::Manager) {
            let reps: Vec<&Member> = team
                .iter()
                .filter(|m| m.manager_id == Some(manager.id) && m.id != manager.id)
                .collect();
            if reps.is_empty() {
                continue;
            }
            let items = team_items(&mut conn, tenant_id, &playbook, &reps, date, now, window);
            let fresh: Vec<(i64, NudgeItem)> = items
                .await?
                .into_iter()
                .filter(|(id, _)| !snoozed.contains(id))
                .filter_map(|(id, mut item)| {
                    item.reasons
                        .retain(|r| !recent.contains(&(id, r.key().to_string())));
                    (!item.reasons.is_empty()).then_some((id, item))
                })
                .collect();
            let manager_reminder = reminder(manager, &reps);
            if fresh.is_empty() && manager_reminder.is_none() {
                continue;
            }
            for (id, item) in &fresh {
                given.extend(item.reasons.iter().map(|r| (*id, r.key())));
            }
            let list: Vec<NudgeItem> = fresh.into_iter().map(|(_, i)| i).collect();
            if schedule.nudges_to_reps {
                for rep in &reps {
                    let own: Vec<NudgeItem> = list
                        .iter()
                        .filter(|i| i.owner == rep.display_name)
                        .cloned()
                        .collect();
                    let own_reminder = reminder(rep, &[]);
                    if !own.is_empty() || own_reminder.is_some() {
                        messages.push(PlannedNudge {
                            target: Target::Direct(rep.user_key.clone()),
                            items: own,
                            about_team: false,
                            unacknowledged: own_reminder,
                        });
                    }
                }
            }
            messages.insert(
                0,
                PlannedNudge {
                    target: Target::Direct(manager.user_key.clone()),
                    items: list,
                    about_team: true,
                    unacknowledged: manager_reminder,
                },
            );
        }
        Ok(Some(NudgePlan {
            playbook,
            messages,
            given,
        }))
    }

    /// The version in force, the day it was applied, and the members who have not acknowledged
    /// it, once `days` have passed since; `None` on a workspace's first version (nobody was
    /// told of a change) or before then.
    async fn unacknowledged(
        &self,
        conn: &mut crate::store::Conn,
        tenant_id: i64,
        team: &[Member],
        days: u32,
        date: NaiveDate,
    ) -> ServiceResult<Option<(i64, NaiveDate, Vec<i64>)>> {
        let versions = crate::store::playbooks::versions(&mut *conn, tenant_id).await?;
        let Some(in_force) = versions.first().filter(|v| v.version > 1) else {
            return Ok(None);
        };
        let applied = in_force.created_at.date_naive();
        if (date - applied).num_days() < i64::from(days) {
            return Ok(None);
        }
        let acked: HashSet<i64> =
            crate::store::playbooks::acknowledgements(&mut *conn, tenant_id, in_force.version)
                .await?
                .into_iter()
                .map(|(member, _)| member)
                .collect();
        let pending: Vec<i64> = team
            .iter()
            .map(|m| m.id)
            .filter(|id| !acked.contains(id))
            .collect();
        Ok((!pending.is_empty()).then_some((in_force.version, applied, pending)))
    }

    /// Claims the nudges of `date` and queues their messages (one per planned nudge, in the
    /// plan's order) and the log of what was nudged, in one transaction. `false` when another
    /// scheduler claimed the day first.
    pub async fn queue_nudges(
        &self,
        schedule: &Schedule,
        date: NaiveDate,
        plan: &NudgePlan,
        messages: &[NewMessage],
    ) -> ServiceResult<bool> {
        let tenant_id = schedule.tenant_id;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let Some(claim) = jobs::claim(&mut tx, tenant_id, Job::Nudges.key(), date, now).await?
        else {
            return Ok(false);
        };
        for (index, message) in messages.iter().enumerate() {
            enqueue(&mut tx, tenant_id, claim, index, message, now).await?;
        }
        for (deal_id, reason) in &plan.given {
            jobs::record_nudge(&mut tx, tenant_id, *deal_id, reason, date).await?;
        }
        tx.commit().await?;
        tracing::info!(tenant = tenant_id, %date, messages = messages.len(), "nudges claimed and queued");
        Ok(true)
    }
}

/// The snapshot's totals: the quarter's forecast as the digest shows it, in minor units.
fn snapshot_totals(figures: &DigestFigures) -> SnapshotTotals {
    let clamp = |v: i128| i64::try_from(v).unwrap_or(i64::MAX);
    let q = &figures.quarter_forecast;
    SnapshotTotals {
        open_count: i64::try_from(q.open.count).unwrap_or(i64::MAX),
        open_amount: clamp(q.open_amount()),
        weighted: clamp(q.weighted()),
        commit: clamp(q.commit()),
        best_case: clamp(q.best_case()),
        won: clamp(q.won_amount()),
        range: figures
            .range
            .as_ref()
            .map(|r| (clamp(r.range.p10), clamp(r.range.p50), clamp(r.range.p90))),
    }
}

/// Writes one message of a claimed job to the outbox. The nonce is the claim and the message's
/// place in it, so it is unique, stable, and within Discord's 25 characters.
async fn enqueue(
    conn: &mut Conn,
    tenant_id: i64,
    claim: i64,
    index: usize,
    message: &NewMessage,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let nonce = format!("dg{claim}m{index}");
    jobs::insert_outbox(
        conn,
        &NewOutbox {
            tenant_id,
            claim_id: Some(claim),
            target_kind: message.target.kind(),
            target: message.target.id(),
            payload: &message.payload,
            image: message
                .image
                .as_ref()
                .map(|(name, png)| (name.as_str(), png.as_slice())),
            nonce: &nonce,
        },
        now,
    )
    .await
}

/// Every open deal of `reps` with its reasons for a nudge (possibly none).
async fn team_items(
    conn: &mut Conn,
    tenant_id: i64,
    playbook: &Playbook,
    reps: &[&Member],
    today: NaiveDate,
    now: DateTime<Utc>,
    window_days: i64,
) -> Result<Vec<(i64, NudgeItem)>, StoreError> {
    let ids: Vec<i64> = reps.iter().map(|m| m.id).collect();
    let names: HashMap<i64, &str> = reps
        .iter()
        .map(|m| (m.id, m.display_name.as_str()))
        .collect();
    let deals = team_deals(conn, tenant_id, &ids, now - Duration::days(window_days)).await?;
    let mut done: HashMap<i64, Vec<ActivityId>> = HashMap::new();
    for (deal, activity) in logged_in_current_stage(conn, tenant_id, &ids).await? {
        if let Ok(a) = activity.parse() {
            done.entry(deal).or_default().push(a);
        }
    }
    let mut out = Vec::new();
    for d in deals {
        let Some(stage) = playbook.stage(&d.stage) else {
            continue; // A stage the playbook no longer has: nothing to coach against.
        };
        let done = done.remove(&d.id).unwrap_or_default();
        let facts = NudgeFacts {
            days_in_stage: (now - d.stage_entered_at).num_days().max(0),
            done: done.clone(),
            close_date: d.close_date,
            overrides: d.overrides,
            out_of_process: d.out_of_process,
        };
        out.push((
            d.id,
            NudgeItem {
                number: d.deal.number,
                owner: names
                    .get(&d.deal.owner_id)
                    .map_or_else(String::new, |n| n.to_string()),
                name: d.deal.name,
                stage: stage.name.clone(),
                amount: d.deal.amount,
                reasons: reasons(stage, &facts, today),
                suggestions: suggestions(stage, &done)
                    .into_iter()
                    .map(|a| (a.id.to_string(), a.name.clone()))
                    .collect(),
            },
        ));
    }
    Ok(out)
}
