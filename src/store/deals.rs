//! Deals and what is logged against them: activities, approvals, stage changes, field changes.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AssertSqlSafe;

use super::{ActivityRow, ApprovalRow, Conn, Deal, DealRow, Result, StageChangeRow, StoreError};
use super::{date_text, ts};
use crate::engine::deal::{DealFacts, DealStatus};
use crate::engine::ids::{DealNumber, Money, StageId};
use crate::engine::playbook::Role;

pub struct NewDeal<'a> {
    pub tenant_id: i64,
    pub number: i64,
    pub name: &'a str,
    pub owner_id: i64,
    pub amount: Money,
    pub close_date: NaiveDate,
    pub stage: &'a StageId,
}

pub async fn insert(conn: &mut Conn, d: &NewDeal<'_>, now: DateTime<Utc>) -> Result<Deal> {
    let row: DealRow = sqlx::query_as(
        "INSERT INTO deals (tenant_id, number, name, owner_id, amount, close_date, stage, \
         stage_entered_at, status, fields, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', '{}', 1, $8, $8) RETURNING *",
    )
    .bind(d.tenant_id)
    .bind(d.number)
    .bind(d.name)
    .bind(d.owner_id)
    .bind(d.amount.minor())
    .bind(date_text(d.close_date))
    .bind(d.stage.as_str())
    .bind(ts(now))
    .fetch_one(conn)
    .await?;
    row.try_into()
}

pub async fn get(conn: &mut Conn, tenant_id: i64, number: DealNumber) -> Result<Option<Deal>> {
    let row: Option<DealRow> =
        sqlx::query_as("SELECT * FROM deals WHERE tenant_id = $1 AND number = $2")
            .bind(tenant_id)
            .bind(i64::from(number.get()))
            .fetch_optional(conn)
            .await?;
    row.map(Deal::try_from).transpose()
}

/// Which deals to list.
#[derive(Debug, Default, Clone)]
pub struct DealFilter<'a> {
    /// Only deals owned by these members (`None`: any owner).
    pub owners: Option<&'a [i64]>,
    pub stage: Option<&'a StageId>,
    pub status: Option<DealStatus>,
}

/// Deals matching `filter`, soonest close date first, at most `limit`.
pub async fn list(
    conn: &mut Conn,
    tenant_id: i64,
    filter: &DealFilter<'_>,
    limit: i64,
) -> Result<Vec<Deal>> {
    let mut sql = String::from("SELECT * FROM deals WHERE tenant_id = $1");
    let mut n = 1;
    if filter.status.is_some() {
        n += 1;
        sql.push_str(&format!(" AND status = ${n}"));
    }
    if filter.stage.is_some() {
        n += 1;
        sql.push_str(&format!(" AND stage = ${n}"));
    }
    if let Some(owners) = filter.owners {
        if owners.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (0..owners.len())
            .map(|i| format!("${}", n + 1 + i))
            .collect();
        n += owners.len();
        sql.push_str(&format!(" AND owner_id IN ({})", marks.join(", ")));
    }
    sql.push_str(&format!(" ORDER BY close_date, number LIMIT ${}", n + 1));
    let mut q = sqlx::query_as::<_, DealRow>(AssertSqlSafe(sql)).bind(tenant_id);
    if let Some(status) = filter.status {
        q = q.bind(status.as_str());
    }
    if let Some(stage) = filter.stage {
        q = q.bind(stage.as_str());
    }
    for owner in filter.owners.unwrap_or_default() {
        q = q.bind(*owner);
    }
    q.bind(limit)
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(Deal::try_from)
        .collect()
}

/// Writes every mutable column of `deal`, if its `version` is still the stored one; bumps the
/// version in `deal` on success. A stale version is `StoreError::Conflict` and writes nothing.
pub async fn update(conn: &mut Conn, deal: &mut Deal, now: DateTime<Utc>) -> Result<()> {
    let done = sqlx::query(
        "UPDATE deals SET name = $1, owner_id = $2, amount = $3, close_date = $4, stage = $5, \
         stage_entered_at = $6, status = $7, fields = $8, closed_at = $9, updated_at = $10, \
         version = version + 1 WHERE id = $11 AND version = $12",
    )
    .bind(&deal.name)
    .bind(deal.owner_id)
    .bind(deal.amount.minor())
    .bind(date_text(deal.close_date))
    .bind(deal.stage.as_str())
    .bind(ts(deal.stage_entered_at))
    .bind(deal.status.as_str())
    .bind(deal.fields_json())
    .bind(deal.closed_at.map(ts))
    .bind(ts(now))
    .bind(deal.id)
    .bind(deal.version)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict);
    }
    deal.version += 1;
    deal.updated_at = now;
    Ok(())
}

pub struct NewActivity<'a> {
    pub tenant_id: i64,
    pub deal_id: i64,
    pub member_id: i64,
    pub activity: &'a str,
    pub note: Option<&'a str>,
    pub stage: &'a str,
}

pub async fn insert_activity(
    conn: &mut Conn,
    a: &NewActivity<'_>,
    at: DateTime<Utc>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO activities (tenant_id, deal_id, member_id, activity, note, stage, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(a.tenant_id)
    .bind(a.deal_id)
    .bind(a.member_id)
    .bind(a.activity)
    .bind(a.note)
    .bind(a.stage)
    .bind(ts(at))
    .fetch_one(conn)
    .await?)
}

/// Inserts the activity only if the deal still has `version` (nobody changed, closed or
/// reassigned it since it was read): one statement, so one round trip and its own transaction.
/// A moved-on version is `StoreError::Conflict` and writes nothing.
pub async fn insert_activity_if_unchanged(
    conn: &mut Conn,
    a: &NewActivity<'_>,
    version: i64,
    at: DateTime<Utc>,
) -> Result<()> {
    let done = sqlx::query(
        "INSERT INTO activities (tenant_id, deal_id, member_id, activity, note, stage, at) \
         SELECT $1, $2, $3, $4, $5, $6, $7 \
         WHERE EXISTS (SELECT 1 FROM deals WHERE id = $2 AND version = $8)",
    )
    .bind(a.tenant_id)
    .bind(a.deal_id)
    .bind(a.member_id)
    .bind(a.activity)
    .bind(a.note)
    .bind(a.stage)
    .bind(ts(at))
    .bind(version)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

pub async fn activities(conn: &mut Conn, deal_id: i64) -> Result<Vec<ActivityRow>> {
    Ok(sqlx::query_as(
        "SELECT id, deal_id, member_id, activity, note, stage, at FROM activities \
         WHERE deal_id = $1 ORDER BY at, id",
    )
    .bind(deal_id)
    .fetch_all(conn)
    .await?)
}

pub async fn insert_approval(
    conn: &mut Conn,
    deal: &Deal,
    approver_id: i64,
    role: Role,
    note: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO approvals (tenant_id, deal_id, approver_id, role, stage, note, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(deal.tenant_id)
    .bind(deal.id)
    .bind(approver_id)
    .bind(role.as_str())
    .bind(deal.stage.as_str())
    .bind(note)
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn approvals(conn: &mut Conn, deal_id: i64) -> Result<Vec<ApprovalRow>> {
    Ok(sqlx::query_as(
        "SELECT id, deal_id, approver_id, role, stage, note, at FROM approvals \
         WHERE deal_id = $1 ORDER BY at, id",
    )
    .bind(deal_id)
    .fetch_all(conn)
    .await?)
}

/// The deal and everything gates can ask about, read in one go.
pub async fn facts(conn: &mut Conn, deal: &Deal) -> Result<DealFacts> {
    let acts = activities(&mut *conn, deal.id).await?;
    let apps = approvals(&mut *conn, deal.id).await?;
    deal.facts(&acts, &apps)
}

pub struct NewStageChange<'a> {
    pub deal: &'a Deal,
    pub actor_id: i64,
    pub from: Option<&'a str>,
    pub kind: &'a str,
    pub overridden_gates: &'a [String],
    pub reason: Option<&'a str>,
}

/// Appends to the stage history; `deal.stage` is the stage it moved to.
pub async fn insert_stage_change(
    conn: &mut Conn,
    c: &NewStageChange<'_>,
    at: DateTime<Utc>,
) -> Result<()> {
    let gates = (!c.overridden_gates.is_empty()).then(|| c.overridden_gates.join("\n"));
    sqlx::query(
        "INSERT INTO stage_changes (tenant_id, deal_id, actor_id, from_stage, to_stage, kind, \
         overridden, gates, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(c.deal.tenant_id)
    .bind(c.deal.id)
    .bind(c.actor_id)
    .bind(c.from)
    .bind(c.deal.stage.as_str())
    .bind(c.kind)
    .bind(i64::from(!c.overridden_gates.is_empty()))
    .bind(gates)
    .bind(c.reason)
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn stage_changes(conn: &mut Conn, deal_id: i64) -> Result<Vec<StageChangeRow>> {
    Ok(sqlx::query_as(
        "SELECT id, deal_id, actor_id, from_stage, to_stage, kind, overridden, gates, reason, at \
         FROM stage_changes WHERE deal_id = $1 ORDER BY at, id",
    )
    .bind(deal_id)
    .fetch_all(conn)
    .await?)
}

pub async fn insert_field_change(
    conn: &mut Conn,
    deal: &Deal,
    actor_id: i64,
    field: &str,
    old_value: Option<&str>,
    new_value: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO field_changes (tenant_id, deal_id, actor_id, field, old_value, new_value, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(deal.tenant_id)
    .bind(deal.id)
    .bind(actor_id)
    .bind(field)
    .bind(old_value)
    .bind(new_value)
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(())
}
