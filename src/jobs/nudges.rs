//! The coaching-nudges job: for each manager, the deals of their reps worth a look today, as a
//! DM; optionally each rep gets their own list. A `(deal, reason)` nudged within the workspace's
//! repeat window is left out, snoozed deals are skipped, and the job runs only on working days
//! (the scheduler asks `Daily::due`, which knows the days off).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::message::Target;
use super::scheduler::{NUDGES_JOB, enqueue};
use crate::commands::digest_replies::{NudgeItem, nudges};
use crate::engine::nudge::{NudgeFacts, reasons, suggestions};
use crate::engine::playbook::{Playbook, Role};
use crate::service::{Schedule, Service, ServiceResult};
use crate::store::digest::{logged_in_current_stage, team_deals};
use crate::store::{MemberRow, StoreError, jobs, members, parse_date, parse_ts, schedules};

/// Runs the nudges for `date` unless they already ran. `Ok(true)` when this call ran them.
pub async fn run_nudges(
    service: &Service,
    schedule: &Schedule,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    let store = service.store();
    let tenant_id = schedule.tenant_id;
    let window = i64::from(schedule.nudge_repeat_days.max(1));
    let (tenant, team, snoozed, recent) = {
        let mut conn = store.reader().acquire().await?;
        if jobs::is_claimed(&mut conn, tenant_id, NUDGES_JOB, date).await? {
            return Ok(false);
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
        (tenant, team, snoozed, recent)
    };
    let playbook = service.playbook_of(&tenant)?;
    let mut outgoing: Vec<(Target, Vec<NudgeItem>, bool)> = Vec::new();
    let mut log: Vec<(i64, &'static str)> = Vec::new();
    let managers = team.iter().filter(|m| m.role() >= Role::Manager);
    for manager in managers {
        let reps: Vec<&MemberRow> = team
            .iter()
            .filter(|m| m.manager_id == Some(manager.id) && m.id != manager.id)
            .collect();
        if reps.is_empty() {
            continue;
        }
        let items = {
            let mut conn = store.reader().acquire().await?;
            team_items(&mut conn, tenant_id, &playbook, &reps, date, now, window).await?
        };
        let fresh: Vec<(i64, NudgeItem)> = items
            .into_iter()
            .filter(|(id, _)| !snoozed.contains(id))
            .filter_map(|(id, mut item)| {
                item.reasons
                    .retain(|r| !recent.contains(&(id, r.key().to_string())));
                (!item.reasons.is_empty()).then_some((id, item))
            })
            .collect();
        if fresh.is_empty() {
            continue;
        }
        for (id, item) in &fresh {
            log.extend(item.reasons.iter().map(|r| (*id, r.key())));
        }
        let list: Vec<NudgeItem> = fresh.iter().map(|(_, i)| i.clone()).collect();
        if schedule.nudges_to_reps {
            for rep in &reps {
                let own: Vec<NudgeItem> = list
                    .iter()
                    .filter(|i| i.owner == rep.display_name)
                    .cloned()
                    .collect();
                if !own.is_empty() {
                    outgoing.push((Target::Direct(rep.user_key.clone()), own, false));
                }
            }
        }
        outgoing.insert(0, (Target::Direct(manager.user_key.clone()), list, true));
    }
    let mut tx = store.begin().await?;
    let Some(claim) = jobs::claim(&mut tx, tenant_id, NUDGES_JOB, date, now).await? else {
        return Ok(false);
    };
    for (index, (target, items, about_team)) in outgoing.iter().enumerate() {
        let reply = nudges(items, &playbook.currency, *about_team);
        enqueue(&mut tx, tenant_id, claim, index, target, &reply, now).await?;
    }
    for (deal_id, reason) in log {
        jobs::record_nudge(&mut tx, tenant_id, deal_id, reason, date).await?;
    }
    tx.commit().await?;
    tracing::info!(tenant = tenant_id, %date, messages = outgoing.len(), "nudges claimed and queued");
    Ok(true)
}

/// Every open deal of `reps` with its reasons for a nudge (possibly none).
async fn team_items(
    conn: &mut crate::store::Conn,
    tenant_id: i64,
    playbook: &Playbook,
    reps: &[&MemberRow],
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
    let mut done: HashMap<i64, Vec<crate::engine::ids::ActivityId>> = HashMap::new();
    for (deal, activity) in logged_in_current_stage(conn, tenant_id, &ids).await? {
        if let Ok(a) = activity.parse() {
            done.entry(deal).or_default().push(a);
        }
    }
    let mut out = Vec::new();
    for d in deals {
        let Some(stage) = d.stage.parse().ok().and_then(|s| playbook.stage(&s)) else {
            continue; // A stage the playbook no longer has: nothing to coach against.
        };
        let entered = parse_ts("deals", &d.stage_entered_at)?;
        let done = done.remove(&d.id).unwrap_or_default();
        let facts = NudgeFacts {
            days_in_stage: (now - entered).num_days().max(0),
            done: done.clone(),
            close_date: parse_date("deals", &d.close_date)?,
            overrides: u32::try_from(d.overrides).unwrap_or(0),
        };
        let number = u32::try_from(d.number)
            .ok()
            .and_then(crate::engine::ids::DealNumber::new)
            .ok_or_else(|| StoreError::Corrupt {
                table: "deals",
                detail: format!("number {}", d.number),
            })?;
        out.push((
            d.id,
            NudgeItem {
                number,
                name: d.name,
                owner: names
                    .get(&d.owner_id)
                    .map_or_else(String::new, |n| n.to_string()),
                stage: stage.name.clone(),
                amount: d.amount,
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
