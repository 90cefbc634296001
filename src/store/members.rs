//! Members of a workspace, their roles and who manages whom.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};

use super::rows::Columns;
use super::{Conn, MemberRow, Result, TenantHead, ts};
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

/// The caller's workspace (`t_`-prefixed, without its playbook's text) and member
/// (`c_`-prefixed), from [`CALLER_FROM`] by [`CALLER_WHERE`].
pub(super) const CALLER_COLUMNS: &str = "t.id AS t_id, t.platform AS t_platform, \
     t.name AS t_name, t.playbook_version AS t_playbook_version, \
     t.team_pipeline_open AS t_team_pipeline_open, \
     t.session_version AS t_session_version, c.id AS c_id, c.user_key AS c_user_key, \
     c.display_name AS c_display_name, c.role AS c_role, c.manager_id AS c_manager_id, \
     c.created_at AS c_created_at";

/// The caller's workspace and member, by `$1` platform, `$2` workspace and `$3` user key.
pub(super) const CALLER_FROM: &str = "FROM tenants t JOIN members c ON c.tenant_id = t.id";
pub(super) const CALLER_WHERE: &str =
    "WHERE t.platform = $1 AND t.external_id = $2 AND c.user_key = $3";

/// A workspace (without its playbook's text) and one of its members, found in one statement
/// (every command starts by resolving its caller, so this is the hottest read there is).
/// `None` if either is missing.
pub async fn find_with_tenant(
    conn: &mut Conn,
    platform: &str,
    external_id: &str,
    user_key: &str,
) -> Result<Option<(TenantHead, Member)>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {CALLER_COLUMNS} {CALLER_FROM} {CALLER_WHERE}"));
    let row = sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()))
        .bind(platform)
        .bind(external_id)
        .bind(user_key)
        .fetch_optional(conn)
        .await?;
    row.map(|row| caller_from(&row)).transpose()
}

/// The workspace and member of a row with [`CALLER_COLUMNS`].
pub(super) fn caller_from(row: &impl Columns) -> Result<(TenantHead, Member)> {
    let tenant = TenantHead {
        id: row.get("t_id")?,
        platform: row.get("t_platform")?,
        name: row.get("t_name")?,
        playbook_version: row.get("t_playbook_version")?,
        team_pipeline_open: row.get::<i64>("t_team_pipeline_open")? != 0,
        session_version: row.get("t_session_version")?,
    };
    let member = member_in(row, tenant.id, CALLER)?;
    Ok((tenant, member))
}

/// The columns of a member in a joined row: `id`, `user_key`, `display_name`, `role`,
/// `manager_id` and `created_at`, prefixed.
type MemberColumns = [&'static str; 6];

/// The caller, in a row with [`CALLER_COLUMNS`].
const CALLER: MemberColumns = [
    "c_id",
    "c_user_key",
    "c_display_name",
    "c_role",
    "c_manager_id",
    "c_created_at",
];

/// A deal's owner, joined to the deal.
const OWNER: MemberColumns = [
    "m_id",
    "m_user_key",
    "m_display_name",
    "m_role",
    "m_manager_id",
    "m_created_at",
];

/// A member read from `m_`-prefixed columns of a joined row.
pub(super) fn member_prefixed(row: &impl Columns, tenant_id: i64) -> Result<Member> {
    member_in(row, tenant_id, OWNER)
}

fn member_in(row: &impl Columns, tenant_id: i64, columns: MemberColumns) -> Result<Member> {
    let [id, user_key, display_name, role, manager_id, created_at] = columns;
    Ok(Member::from(MemberRow {
        id: row.get(id)?,
        tenant_id,
        user_key: row.get(user_key)?,
        display_name: row.get(display_name)?,
        role: row.get(role)?,
        manager_id: row.get(manager_id)?,
        created_at: row.get(created_at)?,
    }))
}
