//! Rows as the database returns them, and their conversion to typed values at this boundary.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use sqlx::FromRow;

use super::time::{parse_date, parse_ts};
use super::{Result, StoreError};
use crate::engine::deal::{ActivityEntry, Deal, DealStatus, GivenApproval};
use crate::engine::ids::{DealNumber, Money};
use crate::engine::people::Member;
use crate::engine::playbook::Role;
use crate::engine::transition::{StageChange, TransitionKind};

/// A workspace as stored: its platform's name for it and the playbook it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: i64,
    /// `console`, `discord` or `slack`, as the service's `Platform` writes it.
    pub platform: String,
    pub external_id: String,
    pub name: String,
    /// Where the playbook came from (a file name or a template), for messages.
    pub playbook_ref: String,
    pub playbook_toml: String,
    /// Which of the workspace's playbook versions `playbook_toml` is.
    pub playbook_version: i64,
    pub next_deal_number: i64,
    pub created_at: DateTime<Utc>,
    /// Reps may see everyone's deals, read only (`/team visibility`).
    pub team_pipeline_open: bool,
    /// Bumped by every change to what a session reads of the workspace (its members, name,
    /// playbook in force and visibility; migration 20261210000022), so a kept read can be
    /// checked by the write that relies on it.
    pub session_version: i64,
}

/// A workspace as each command's session reads it: everything but its playbook's text, which
/// is parsed once per version and cached (reading 3–11 KiB of TOML with every command cost
/// each backend more than the rest of the row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantHead {
    pub id: i64,
    pub platform: String,
    pub name: String,
    /// The playbook version in force: which cached parse the session uses.
    pub playbook_version: i64,
    pub team_pipeline_open: bool,
    /// See [`Tenant::session_version`].
    pub session_version: i64,
}

impl Tenant {
    /// The row without its playbook's text.
    pub fn head(&self) -> TenantHead {
        TenantHead {
            id: self.id,
            platform: self.platform.clone(),
            name: self.name.clone(),
            playbook_version: self.playbook_version,
            team_pipeline_open: self.team_pipeline_open,
            session_version: self.session_version,
        }
    }
}

/// The playbook a workspace has in force, as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct PlaybookInForce {
    pub version: i64,
    pub playbook_ref: String,
    pub playbook_toml: String,
}

/// Typed as it is read (`SELECT *` from `tenants`, or the same columns of a join).
impl FromRow<'_, sqlx::any::AnyRow> for Tenant {
    fn from_row(row: &sqlx::any::AnyRow) -> sqlx::Result<Self> {
        use sqlx::Row;
        let created_at: String = row.try_get("created_at")?;
        Ok(Self {
            id: row.try_get("id")?,
            platform: row.try_get("platform")?,
            external_id: row.try_get("external_id")?,
            name: row.try_get("name")?,
            playbook_ref: row.try_get("playbook_ref")?,
            playbook_toml: row.try_get("playbook_toml")?,
            playbook_version: row.try_get("playbook_version")?,
            next_deal_number: row.try_get("next_deal_number")?,
            team_pipeline_open: row.try_get::<i64, _>("team_pipeline_open")? != 0,
            session_version: row.try_get("session_version")?,
            created_at: parse_ts("tenants", &created_at).map_err(|e| {
                sqlx::Error::ColumnDecode {
                    index: "created_at".into(),
                    source: e.to_string().into(),
                }
            })?,
        })
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct MemberRow {
    pub id: i64,
    pub tenant_id: i64,
    pub user_key: String,
    pub display_name: String,
    pub role: String,
    pub manager_id: Option<i64>,
    pub created_at: String,
}

impl From<MemberRow> for Member {
    fn from(r: MemberRow) -> Self {
        Self {
            id: r.id,
            tenant_id: r.tenant_id,
            user_key: r.user_key,
            display_name: r.display_name,
            // The CHECK constraint admits only these three; anything else reads as the least
            // power.
            role: Role::parse(&r.role).unwrap_or(Role::Rep),
            manager_id: r.manager_id,
        }
    }
}

/// A row whose columns are read by name: sqlx's, or one of SQLite's writer thread (see
/// `sqlite_writer`), so a row type is read the same way from either.
pub(super) trait Columns {
    type Error: Into<StoreError>;
    fn column<T: Column>(&self, name: &str) -> std::result::Result<T, Self::Error>;

    /// [`Columns::column`], its error as the store's.
    fn get<T: Column>(&self, name: &str) -> Result<T> {
        self.column(name).map_err(Into::into)
    }
}

/// A column type both sqlx and rusqlite decode.
pub(super) trait Column:
    for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any> + rusqlite::types::FromSql
{
}

impl<T> Column for T where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any> + rusqlite::types::FromSql
{
}

impl Columns for sqlx::any::AnyRow {
    type Error = sqlx::Error;
    fn column<T: Column>(&self, name: &str) -> sqlx::Result<T> {
        sqlx::Row::try_get(self, name)
    }
}

impl Columns for rusqlite::Row<'_> {
    type Error = rusqlite::Error;
    fn column<T: Column>(&self, name: &str) -> rusqlite::Result<T> {
        self.get(name)
    }
}

/// A rusqlite row read by column name with its statement's names looked up once. rusqlite
/// finds a name by asking SQLite for every column's name in turn and comparing each, for every
/// column read; a command's first read has some forty columns, and that search was a twentieth
/// of the writer thread's time.
pub(super) struct ByName<'r, 's> {
    row: &'r rusqlite::Row<'s>,
    names: Vec<&'r str>,
}

impl<'r, 's> ByName<'r, 's> {
    pub fn new(row: &'r rusqlite::Row<'s>) -> Self {
        Self {
            row,
            names: row.as_ref().column_names(),
        }
    }
}

impl Columns for ByName<'_, '_> {
    type Error = rusqlite::Error;
    fn column<T: Column>(&self, name: &str) -> rusqlite::Result<T> {
        match self.names.iter().position(|&n| n == name) {
            Some(index) => self.row.get(index),
            // As rusqlite would: a name in another case, or none.
            None => self.row.get(name),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DealRow {
    pub id: i64,
    pub tenant_id: i64,
    pub number: i64,
    pub name: String,
    pub owner_id: i64,
    pub amount: i64,
    pub close_date: String,
    pub stage: String,
    pub stage_entered_at: String,
    pub status: String,
    pub fields: String,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
    pub out_of_process: Option<i64>,
}

impl DealRow {
    /// A deal's columns (`deals.*`) in `row`.
    pub(super) fn read<R: Columns>(row: &R) -> std::result::Result<Self, R::Error> {
        Ok(Self {
            id: row.column("id")?,
            tenant_id: row.column("tenant_id")?,
            number: row.column("number")?,
            name: row.column("name")?,
            owner_id: row.column("owner_id")?,
            amount: row.column("amount")?,
            close_date: row.column("close_date")?,
            stage: row.column("stage")?,
            stage_entered_at: row.column("stage_entered_at")?,
            status: row.column("status")?,
            fields: row.column("fields")?,
            version: row.column("version")?,
            created_at: row.column("created_at")?,
            updated_at: row.column("updated_at")?,
            closed_at: row.column("closed_at")?,
            out_of_process: row.column("out_of_process")?,
        })
    }
}

impl FromRow<'_, sqlx::any::AnyRow> for DealRow {
    fn from_row(row: &sqlx::any::AnyRow) -> sqlx::Result<Self> {
        Self::read(row)
    }
}

fn corrupt(detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table: "deals",
        detail: detail.into(),
    }
}

impl TryFrom<DealRow> for Deal {
    type Error = StoreError;

    fn try_from(r: DealRow) -> Result<Self> {
        let number = u32::try_from(r.number)
            .ok()
            .and_then(DealNumber::new)
            .ok_or_else(|| corrupt(format!("number {}", r.number)))?;
        let fields: BTreeMap<String, String> = serde_json::from_str(&r.fields)
            .map_err(|e| corrupt(format!("fields of {number}: {e}")))?;
        let fields = fields
            .into_iter()
            .map(|(k, v)| {
                Ok((
                    k.parse()
                        .map_err(|_| corrupt(format!("field name `{k}`")))?,
                    v,
                ))
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            id: r.id,
            tenant_id: r.tenant_id,
            number,
            name: r.name,
            owner_id: r.owner_id,
            amount: Money::from_minor(r.amount)
                .ok_or_else(|| corrupt(format!("amount {} of {number}", r.amount)))?,
            close_date: parse_date("deals", &r.close_date)?,
            stage: r
                .stage
                .parse()
                .map_err(|_| corrupt(format!("stage `{}`", r.stage)))?,
            stage_entered_at: parse_ts("deals", &r.stage_entered_at)?,
            status: DealStatus::parse(&r.status)
                .ok_or_else(|| corrupt(format!("status `{}`", r.status)))?,
            fields,
            version: r.version,
            created_at: parse_ts("deals", &r.created_at)?,
            updated_at: parse_ts("deals", &r.updated_at)?,
            closed_at: r
                .closed_at
                .as_deref()
                .map(|t| parse_ts("deals", t))
                .transpose()?,
            out_of_process: r
                .out_of_process
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        })
    }
}

/// A deal's custom fields as the store keeps them (a JSON object).
pub fn fields_json(deal: &Deal) -> String {
    let plain: BTreeMap<&str, &str> = deal
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    serde_json::to_string(&plain).unwrap_or_else(|_| "{}".to_string())
}

/// An approval as the gates count it.
pub fn given_approval(a: &ApprovalRow) -> Result<GivenApproval> {
    Ok(GivenApproval {
        approver_id: a.approver_id,
        stage: a.stage.parse().map_err(|_| StoreError::Corrupt {
            table: "approvals",
            detail: format!("stage `{}`", a.stage),
        })?,
        role: Role::parse(&a.role).unwrap_or(Role::Rep),
        at: parse_ts("approvals", &a.at)?,
    })
}

#[derive(Debug, Clone, FromRow)]
pub struct ActivityRow {
    pub id: i64,
    pub deal_id: i64,
    pub member_id: i64,
    pub activity: String,
    pub note: Option<String>,
    pub stage: String,
    pub at: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct ApprovalRow {
    pub id: i64,
    pub deal_id: i64,
    pub approver_id: i64,
    pub role: String,
    pub stage: String,
    pub note: Option<String>,
    pub at: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct StageChangeRow {
    pub id: i64,
    pub deal_id: i64,
    pub actor_id: i64,
    pub from_stage: Option<String>,
    pub to_stage: String,
    pub kind: String,
    pub overridden: i64,
    pub gates: Option<String>,
    pub reason: Option<String>,
    pub at: String,
}

impl TryFrom<&ActivityRow> for ActivityEntry {
    type Error = StoreError;

    fn try_from(a: &ActivityRow) -> Result<Self> {
        let corrupt = |detail: String| StoreError::Corrupt {
            table: "activities",
            detail,
        };
        Ok(Self {
            activity: a
                .activity
                .parse()
                .map_err(|_| corrupt(format!("activity `{}`", a.activity)))?,
            member_id: a.member_id,
            note: a.note.clone(),
            stage: a
                .stage
                .parse()
                .map_err(|_| corrupt(format!("stage `{}`", a.stage)))?,
            at: parse_ts("activities", &a.at)?,
        })
    }
}

impl TryFrom<&StageChangeRow> for StageChange {
    type Error = StoreError;

    fn try_from(c: &StageChangeRow) -> Result<Self> {
        let stage = |s: &str| {
            s.parse().map_err(|_| StoreError::Corrupt {
                table: "stage_changes",
                detail: format!("stage `{s}`"),
            })
        };
        Ok(Self {
            from: c.from_stage.as_deref().map(stage).transpose()?,
            to: stage(&c.to_stage)?,
            // A deal's first row records its creation, a kind no move has.
            kind: TransitionKind::parse(&c.kind),
            actor_id: c.actor_id,
            overridden: c.overridden != 0,
            overridden_gates: c
                .gates
                .as_deref()
                .map(|g| g.lines().map(str::to_string).collect())
                .unwrap_or_default(),
            reason: c.reason.clone(),
            at: parse_ts("stage_changes", &c.at)?,
        })
    }
}
