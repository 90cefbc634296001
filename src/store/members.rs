//! Members of a workspace, their roles and who manages whom.

use chrono::{DateTime, Utc};

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::{Conn, MemberRow, Result, Tenant, ts};
use crate::engine::people::Member;
use crate::engine::playbook::Role;

pub async fn find_by_key(
    conn: &mut Conn,
    tenant_id: i64,
    user_key: &str,
) -> Result<Option<Member>> {
    let row: Option<MemberRow> =
        sqlx::query_as("SELECT * FROM members WHERE tenant_id = $1 AND user_key = $2")
            .bind(tenant_id)
            .bind(user_key)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(Member::from))
}

/// By display name, ignoring case (people type `@Alice` and `alice` alike).
pub async fn find_by_name(conn: &mut Conn, tenant_id: i64, name: &str) -> Result<Vec<Member>> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        "SELECT * FROM members WHERE tenant_id = $1 AND lower(display_name) = lower($2) ORDER BY id",
    )
    .bind(tenant_id)
    .bind(name)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Member::from).collect())
}

pub async fn get(conn: &mut Conn, tenant_id: i64, id: i64) -> Result<Option<Member>> {
    let row: Option<MemberRow> =
        sqlx::query_as("SELECT * FROM members WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(Member::from))
}

pub async fn list(conn: &mut Conn, tenant_id: i64) -> Result<Vec<Member>> {
    let rows: Vec<MemberRow> =
        sqlx::query_as("SELECT * FROM members WHERE tenant_id = $1 ORDER BY display_name, id")
            .bind(tenant_id)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(Member::from).collect())
}

pub async fn count(conn: &mut Conn, tenant_id: i64) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(conn)
            .await?,
    )
}

pub async fn insert(
    conn: &mut Conn,
    tenant_id: i64,
    user_key: &str,
    display_name: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<Member> {
    let row: MemberRow = sqlx::query_as(
        "INSERT INTO members (tenant_id, user_key, display_name, role, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING *",
    )
    .bind(tenant_id)
    .bind(user_key)
    .bind(display_name)
    .bind(role.as_str())
    .bind(ts(now))
    .fetch_one(conn)
    .await?;
    Ok(row.into())
}

pub async fn set_role(
    conn: &mut Conn,
    tenant_id: i64,
    id: i64,
    role: Role,
    manager_id: Option<i64>,
) -> Result<()> {
    sqlx::query("UPDATE members SET role = $1, manager_id = $2 WHERE tenant_id = $3 AND id = $4")
        .bind(role.as_str())
        .bind(manager_id)
        .bind(tenant_id)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_display_name(conn: &mut Conn, id: i64, display_name: &str) -> Result<()> {
    sqlx::query("UPDATE members SET display_name = $1 WHERE id = $2")
        .bind(display_name)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The ids of the members `manager_id` manages directly.
pub async fn reports_of(conn: &mut Conn, tenant_id: i64, manager_id: i64) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM members WHERE tenant_id = $1 AND manager_id = $2")
            .bind(tenant_id)
            .bind(manager_id)
            .fetch_all(conn)
            .await?,
    )
}

/// A workspace and one of its members, found in one statement (every command starts by
/// resolving its caller, so this is the hottest read there is). `None` if either is missing.
pub async fn find_with_tenant(
    conn: &mut Conn,
    platform: &str,
    external_id: &str,
    user_key: &str,
) -> Result<Option<(Tenant, Member)>> {
    let row = sqlx::query(
        "SELECT t.id, t.platform, t.external_id, t.name, t.playbook_ref, t.playbook_toml, \
         t.next_deal_number, t.created_at, t.team_pipeline_open, t.playbook_version, m.id AS m_id, m.user_key AS m_user_key, \
         m.display_name AS m_display_name, m.role AS m_role, m.manager_id AS m_manager_id, \
         m.created_at AS m_created_at \
         FROM tenants t JOIN members m ON m.tenant_id = t.id \
         WHERE t.platform = $1 AND t.external_id = $2 AND m.user_key = $3",
    )
    .bind(platform)
    .bind(external_id)
    .bind(user_key)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let tenant = Tenant::from_row(&row)?;
    let member = member_prefixed(&row, tenant.id)?;
    Ok(Some((tenant, member)))
}

/// A member read from `m_`-prefixed columns of a joined row.
pub(super) fn member_prefixed(row: &AnyRow, tenant_id: i64) -> Result<Member> {
    Ok(Member::from(MemberRow {
        id: row.try_get("m_id")?,
        tenant_id,
        user_key: row.try_get("m_user_key")?,
        display_name: row.try_get("m_display_name")?,
        role: row.try_get("m_role")?,
        manager_id: row.try_get("m_manager_id")?,
        created_at: row.try_get("m_created_at")?,
    }))
}
