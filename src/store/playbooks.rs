//! A workspace's playbook versions, and changes previewed and waiting for confirmation.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Conn, DealRow, Result, parse_ts, ts};
use crate::engine::deal::Deal;

/// One version of a workspace's playbook, as `/playbook history` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    pub version: i64,
    pub playbook_ref: String,
    /// Who applied it; `None` for the version the workspace was created with.
    pub changed_by: Option<String>,
    pub reason: Option<String>,
    /// What changed, one change per line.
    pub summary: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn version_row(row: &sqlx::any::AnyRow) -> Result<VersionRow> {
    let at: String = row.try_get("created_at")?;
    Ok(VersionRow {
        version: row.try_get("version")?,
        playbook_ref: row.try_get("playbook_ref")?,
        changed_by: row.try_get("changed_by")?,
        reason: row.try_get("reason")?,
        summary: row.try_get("summary")?,
        created_at: parse_ts("playbook_versions", &at)?,
    })
}

pub struct NewVersion<'a> {
    pub tenant_id: i64,
    pub version: i64,
    pub playbook_ref: &'a str,
    pub playbook_toml: &'a str,
    pub changed_by: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub summary: Option<&'a str>,
}

pub async fn insert_version(conn: &mut Conn, v: &NewVersion<'_>, at: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO playbook_versions (tenant_id, version, playbook_ref, playbook_toml, \
         changed_by, reason, summary, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(v.tenant_id)
    .bind(v.version)
    .bind(v.playbook_ref)
    .bind(v.playbook_toml)
    .bind(v.changed_by)
    .bind(v.reason)
    .bind(v.summary)
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Every version, newest first.
pub async fn versions(conn: &mut Conn, tenant_id: i64) -> Result<Vec<VersionRow>> {
    sqlx::query(
        "SELECT version, playbook_ref, changed_by, reason, summary, created_at \
         FROM playbook_versions WHERE tenant_id = $1 ORDER BY version DESC",
    )
    .bind(tenant_id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(version_row)
    .collect()
}

pub async fn version(conn: &mut Conn, tenant_id: i64, version: i64) -> Result<Option<VersionRow>> {
    sqlx::query(
        "SELECT version, playbook_ref, changed_by, reason, summary, created_at \
         FROM playbook_versions WHERE tenant_id = $1 AND version = $2",
    )
    .bind(tenant_id)
    .bind(version)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(version_row)
    .transpose()
}

/// Makes `version` the one in force, if the version in force is still `base`; `false`, nothing
/// written, if another change applied meanwhile.
pub async fn set_in_force(
    conn: &mut Conn,
    tenant_id: i64,
    base: i64,
    version: i64,
    playbook_ref: &str,
    playbook_toml: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE tenants SET playbook_version = $1, playbook_ref = $2, playbook_toml = $3 \
         WHERE id = $4 AND playbook_version = $5",
    )
    .bind(version)
    .bind(playbook_ref)
    .bind(playbook_toml)
    .bind(tenant_id)
    .bind(base)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves every deal of the workspace in stage `from` to stage `to`, open or closed, and returns
/// how many moved. The version is bumped, so an edit that read the deal before runs again on
/// what this wrote.
pub async fn move_stage(
    conn: &mut Conn,
    tenant_id: i64,
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE deals SET stage = $1, version = version + 1, updated_at = $2 \
         WHERE tenant_id = $3 AND stage = $4",
    )
    .bind(to)
    .bind(ts(now))
    .bind(tenant_id)
    .bind(from)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Forgets every deal's process standing: judged again under the new version before it is read.
pub async fn forget_standing(conn: &mut Conn, tenant_id: i64) -> Result<()> {
    sqlx::query("UPDATE deals SET out_of_process = NULL WHERE tenant_id = $1")
        .bind(tenant_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A change previewed and waiting for an admin to confirm it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub id: i64,
    pub tenant_id: i64,
    pub base_version: i64,
    pub playbook_ref: String,
    pub playbook_toml: String,
    pub mapping: String,
    pub reason: String,
    pub proposed_by: String,
    pub created_at: DateTime<Utc>,
    pub applied_at: Option<DateTime<Utc>>,
}

pub struct NewDraft<'a> {
    pub tenant_id: i64,
    pub base_version: i64,
    pub playbook_ref: &'a str,
    pub playbook_toml: &'a str,
    pub mapping: &'a str,
    pub reason: &'a str,
    pub proposed_by: &'a str,
}

pub async fn insert_draft(conn: &mut Conn, d: &NewDraft<'_>, now: DateTime<Utc>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO playbook_drafts (tenant_id, base_version, playbook_ref, playbook_toml, \
         mapping, reason, proposed_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         RETURNING id",
    )
    .bind(d.tenant_id)
    .bind(d.base_version)
    .bind(d.playbook_ref)
    .bind(d.playbook_toml)
    .bind(d.mapping)
    .bind(d.reason)
    .bind(d.proposed_by)
    .bind(ts(now))
    .fetch_one(conn)
    .await?)
}

pub async fn draft(conn: &mut Conn, tenant_id: i64, id: i64) -> Result<Option<Draft>> {
    let Some(row) = sqlx::query(
        "SELECT id, tenant_id, base_version, playbook_ref, playbook_toml, mapping, reason, \
         proposed_by, created_at, applied_at FROM playbook_drafts WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let created: String = row.try_get("created_at")?;
    let applied: Option<String> = row.try_get("applied_at")?;
    Ok(Some(Draft {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        base_version: row.try_get("base_version")?,
        playbook_ref: row.try_get("playbook_ref")?,
        playbook_toml: row.try_get("playbook_toml")?,
        mapping: row.try_get("mapping")?,
        reason: row.try_get("reason")?,
        proposed_by: row.try_get("proposed_by")?,
        created_at: parse_ts("playbook_drafts", &created)?,
        applied_at: applied
            .map(|a| parse_ts("playbook_drafts", &a))
            .transpose()?,
    }))
}

/// Marks a draft applied, if it was not yet; `false` for a second confirmation.
pub async fn mark_applied(conn: &mut Conn, id: i64, now: DateTime<Utc>) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE playbook_drafts SET applied_at = $1 WHERE id = $2 AND applied_at IS NULL",
    )
    .bind(ts(now))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Every open deal of the workspace, oldest first.
pub async fn open_deals(conn: &mut Conn, tenant_id: i64) -> Result<Vec<Deal>> {
    sqlx::query_as::<_, DealRow>(
        "SELECT * FROM deals WHERE tenant_id = $1 AND status = 'open' ORDER BY id",
    )
    .bind(tenant_id)
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(Deal::try_from)
    .collect()
}

/// How many open deals of the workspace are in `stage`.
pub async fn open_in_stage(conn: &mut Conn, tenant_id: i64, stage: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM deals WHERE tenant_id = $1 AND status = 'open' AND stage = $2",
    )
    .bind(tenant_id)
    .bind(stage)
    .fetch_one(conn)
    .await?)
}

/// Records that a member has read a version; `false` if they had said so before.
pub async fn acknowledge(
    conn: &mut Conn,
    tenant_id: i64,
    member_id: i64,
    version: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO playbook_acks (tenant_id, member_id, version, acked_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, member_id, version) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(member_id)
    .bind(version)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Who has acknowledged `version`, and when: `(member id, at)`.
pub async fn acknowledgements(
    conn: &mut Conn,
    tenant_id: i64,
    version: i64,
) -> Result<Vec<(i64, DateTime<Utc>)>> {
    sqlx::query(
        "SELECT member_id, acked_at FROM playbook_acks WHERE tenant_id = $1 AND version = $2 \
         ORDER BY acked_at, member_id",
    )
    .bind(tenant_id)
    .bind(version)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|row| {
        let at: String = row.try_get("acked_at")?;
        Ok((row.try_get("member_id")?, parse_ts("playbook_acks", &at)?))
    })
    .collect()
}

/// The TOML of one version, as it was applied.
pub async fn toml_of(
    conn: &mut Conn,
    tenant_id: i64,
    version: i64,
) -> Result<Option<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT playbook_ref, playbook_toml FROM playbook_versions \
         WHERE tenant_id = $1 AND version = $2",
    )
    .bind(tenant_id)
    .bind(version)
    .fetch_optional(conn)
    .await?)
}

/// Whether the member has acknowledged `version`.
pub async fn has_acknowledged(
    conn: &mut Conn,
    tenant_id: i64,
    member_id: i64,
    version: i64,
) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT version FROM playbook_acks WHERE tenant_id = $1 AND member_id = $2 \
         AND version = $3",
    )
    .bind(tenant_id)
    .bind(member_id)
    .bind(version)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Records that the member was told how `stage`'s gates changed in `version`; `false` if they
/// had been told before.
pub async fn note_gate_change_shown(
    conn: &mut Conn,
    tenant_id: i64,
    member_id: i64,
    version: i64,
    stage: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO playbook_gate_notes (tenant_id, member_id, version, stage, shown_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, member_id, version, stage) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(member_id)
    .bind(version)
    .bind(stage)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
