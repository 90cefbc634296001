//! Workspaces (a Discord guild, a Slack team, a console workspace).

use chrono::{DateTime, Utc};

use super::{Conn, PlaybookInForce, Result, Tenant, ts};

pub async fn find(conn: &mut Conn, platform: &str, external_id: &str) -> Result<Option<Tenant>> {
    Ok(
        sqlx::query_as("SELECT * FROM tenants WHERE platform = $1 AND external_id = $2")
            .bind(platform)
            .bind(external_id)
            .fetch_optional(conn)
            .await?,
    )
}

/// The playbook a workspace has in force: read when a session meets a version it has not
/// parsed yet.
pub async fn playbook_in_force(conn: &mut Conn, id: i64) -> Result<Option<PlaybookInForce>> {
    Ok(sqlx::query_as(
        "SELECT playbook_version AS version, playbook_ref, playbook_toml FROM tenants \
         WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

pub async fn get(conn: &mut Conn, id: i64) -> Result<Option<Tenant>> {
    Ok(sqlx::query_as("SELECT * FROM tenants WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub struct NewTenant<'a> {
    pub platform: &'a str,
    pub external_id: &'a str,
    pub name: &'a str,
    pub playbook_ref: &'a str,
    pub playbook_toml: &'a str,
}

/// Inserts the workspace unless one with the same platform and external id exists; `None`
/// then, and [`find`] returns the one that won. Two replicas seeing the same new workspace at
/// once is normal (its first two commands), and must not end in a unique-key error: on
/// PostgreSQL the second insert waits for the first transaction and, once it commits, does
/// nothing, and a following statement sees the committed row.
pub async fn insert_if_absent(
    conn: &mut Conn,
    t: &NewTenant<'_>,
    now: DateTime<Utc>,
) -> Result<Option<Tenant>> {
    let inserted: Option<Tenant> = sqlx::query_as(
        "INSERT INTO tenants (platform, external_id, name, playbook_ref, playbook_toml, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (platform, external_id) DO NOTHING \
         RETURNING *",
    )
    .bind(t.platform)
    .bind(t.external_id)
    .bind(t.name)
    .bind(t.playbook_ref)
    .bind(t.playbook_toml)
    .bind(ts(now))
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(tenant) = &inserted {
        super::playbooks::insert_version(
            conn,
            &super::playbooks::NewVersion {
                tenant_id: tenant.id,
                version: 1,
                playbook_ref: t.playbook_ref,
                playbook_toml: t.playbook_toml,
                changed_by: None,
                reason: None,
                summary: None,
            },
            now,
        )
        .await?;
    }
    Ok(inserted)
}

/// Holds the workspace's row until the transaction ends, so that decisions about the workspace
/// as a whole (whether a newcomer is its first member, whether its last admin may step down)
/// are taken one at a time even across processes, and the reads after this see what the
/// previous holder committed.
///
/// An `UPDATE` that changes nothing does it on both backends: PostgreSQL locks the row (there is
/// no `SELECT … FOR UPDATE` on SQLite), and on SQLite the write transaction already holds the
/// database's write lock.
/// Opens (or closes) the team's pipeline to every member, read only.
pub async fn set_team_pipeline_open(conn: &mut Conn, tenant_id: i64, open: bool) -> Result<()> {
    sqlx::query("UPDATE tenants SET team_pipeline_open = $1 WHERE id = $2")
        .bind(i64::from(open))
        .bind(tenant_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn lock(conn: &mut Conn, tenant_id: i64) -> Result<()> {
    sqlx::query("UPDATE tenants SET next_deal_number = next_deal_number WHERE id = $1")
        .bind(tenant_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes the next deal number of a workspace. Never the same number twice, across processes
/// too: the `UPDATE` locks the row until the transaction ends, and on PostgreSQL a concurrent
/// one waits for it and then increments the committed value (READ COMMITTED re-reads an updated
/// row before updating it). A transaction that rolls back gives its number back, which is fine:
/// no deal was ever created with it.
pub async fn take_deal_number(conn: &mut Conn, tenant_id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "UPDATE tenants SET next_deal_number = next_deal_number + 1 WHERE id = $1 \
         RETURNING next_deal_number - 1",
    )
    .bind(tenant_id)
    .fetch_one(conn)
    .await?)
}

/// Every workspace's id, for jobs and tools that walk them all.
pub async fn list(conn: &mut Conn) -> Result<Vec<Tenant>> {
    Ok(sqlx::query_as("SELECT * FROM tenants ORDER BY id")
        .fetch_all(conn)
        .await?)
}

/// Deletes a workspace and everything in it (the demo's `--reset`).
pub async fn delete(conn: &mut Conn, tenant_id: i64) -> Result<()> {
    for table in [
        "playbook_gate_notes",
        "playbook_acks",
        "playbook_drafts",
        "playbook_versions",
        "outbox",
        "job_claims",
        "snapshot_deals",
        "snapshot_groups",
        "forecast_snapshots",
        "nudges_sent",
        "snoozes",
        "schedules",
        "activities",
        "approvals",
        "stage_changes",
        "field_changes",
        "deals",
        "members",
    ] {
        let sql = format!("DELETE FROM {table} WHERE tenant_id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("DELETE FROM tenants WHERE id = $1")
        .bind(tenant_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn deal_count(conn: &mut Conn, tenant_id: i64) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM deals WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(conn)
            .await?,
    )
}
