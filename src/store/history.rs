//! Every deal of a workspace with its stage changes and activities, for the figures that read
//! the whole history at once (`/coach`, `/playbook evidence`): three statements, not three per
//! deal.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::{ActivityRow, Conn, Result, StageChangeRow, StoreError, ts};
use crate::engine::adherence::DealHistory;
use crate::engine::deal::{ActivityEntry, DealStatus, LoggedActivity};
use crate::engine::ids::DealNumber;
use crate::engine::transition::StageChange;

/// Every deal of the workspace, by id, each with its history oldest first.
pub async fn deal_histories(conn: &mut Conn, tenant_id: i64) -> Result<Vec<DealHistory>> {
    histories(conn, tenant_id, None).await
}

/// The deals of the workspace that changed stage at or after `since`, each with its whole
/// history: what the exits of a recent window need, without reading every deal.
pub async fn moved_since(
    conn: &mut Conn,
    tenant_id: i64,
    since: DateTime<Utc>,
) -> Result<Vec<DealHistory>> {
    histories(conn, tenant_id, Some(since)).await
}

async fn histories(
    conn: &mut Conn,
    tenant_id: i64,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<DealHistory>> {
    // Without a window, every deal: `$2` is then before any timestamp.
    let since = since.map_or_else(|| "0".to_string(), ts);
    let moved = "SELECT deal_id FROM stage_changes WHERE tenant_id = $1 AND at >= $2";
    let deals = sqlx::query(AssertSqlSafe(format!(
        "SELECT id, number, owner_id, status, out_of_process FROM deals WHERE tenant_id = $1 \
         AND id IN ({moved}) ORDER BY id"
    )))
    .bind(tenant_id)
    .bind(&since)
    .fetch_all(&mut *conn)
    .await?;
    let mut index = HashMap::with_capacity(deals.len());
    let mut out = Vec::with_capacity(deals.len());
    for row in &deals {
        let id: i64 = row.try_get("id")?;
        let number: i64 = row.try_get("number")?;
        let status: String = row.try_get("status")?;
        let out_of_process: Option<i64> = row.try_get("out_of_process")?;
        let corrupt = |detail: String| StoreError::Corrupt {
            table: "deals",
            detail,
        };
        index.insert(id, out.len());
        out.push(DealHistory {
            number: u32::try_from(number)
                .ok()
                .and_then(DealNumber::new)
                .ok_or_else(|| corrupt(format!("number {number} of deal {id}")))?,
            owner_id: row.try_get("owner_id")?,
            status: DealStatus::parse(&status)
                .ok_or_else(|| corrupt(format!("status `{status}` of deal {id}")))?,
            out_of_process: out_of_process.unwrap_or(0) > 0,
            changes: Vec::new(),
            activities: Vec::new(),
        });
    }
    let changes: Vec<StageChangeRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT id, deal_id, actor_id, from_stage, to_stage, kind, overridden, gates, reason, at \
         FROM stage_changes WHERE tenant_id = $1 AND deal_id IN ({moved}) \
         ORDER BY deal_id, at, id"
    )))
    .bind(tenant_id)
    .bind(&since)
    .fetch_all(&mut *conn)
    .await?;
    for row in &changes {
        if let Some(&i) = index.get(&row.deal_id) {
            out[i].changes.push(StageChange::try_from(row)?);
        }
    }
    let activities: Vec<ActivityRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT id, deal_id, member_id, activity, note, stage, at FROM activities \
         WHERE tenant_id = $1 AND deal_id IN ({moved}) ORDER BY deal_id, at, id"
    )))
    .bind(tenant_id)
    .bind(&since)
    .fetch_all(&mut *conn)
    .await?;
    for row in &activities {
        if let Some(&i) = index.get(&row.deal_id) {
            out[i]
                .activities
                .push(LoggedActivity::from(&ActivityEntry::try_from(row)?));
        }
    }
    Ok(out)
}
