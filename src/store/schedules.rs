//! Schedules per workspace, and snoozed deals.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::FromRow;

use super::{Conn, Result, StoreError, date_text, ts};
use crate::engine::schedule::{Daily, Schedule, parse_time_of_day, parse_zone};

/// A workspace's schedule row. Defaults live in the migration; `/digest setup` and
/// `/nudges setup` each write their half.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ScheduleRow {
    pub tenant_id: i64,
    pub digest_channel: Option<String>,
    /// Local `HH:MM`.
    pub digest_time: String,
    /// An IANA zone name, validated before it is stored.
    pub timezone: String,
    pub weekdays_only: i64,
    pub fiscal_start_month: i64,
    pub nudges_enabled: i64,
    pub nudges_time: String,
    pub nudges_to_reps: i64,
    pub nudge_repeat_days: i64,
    pub updated_at: String,
    pub ack_remind_days: i64,
}

impl TryFrom<&ScheduleRow> for Schedule {
    type Error = StoreError;

    fn try_from(r: &ScheduleRow) -> Result<Self> {
        let bad = |what: &str| StoreError::Corrupt {
            table: "schedules",
            detail: format!("{what} of workspace {}", r.tenant_id),
        };
        let zone = parse_zone(&r.timezone).ok_or_else(|| bad("timezone"))?;
        let time = |t: &str| parse_time_of_day(t).ok_or_else(|| bad("time"));
        let weekdays_only = r.weekdays_only != 0;
        Ok(Self {
            tenant_id: r.tenant_id,
            digest_channel: r.digest_channel.clone(),
            digest: Daily {
                at: time(&r.digest_time)?,
                zone,
                weekdays_only,
            },
            fiscal_start_month: u32::try_from(r.fiscal_start_month).unwrap_or(1),
            nudges_enabled: r.nudges_enabled != 0,
            nudges: Daily {
                at: time(&r.nudges_time)?,
                zone,
                weekdays_only,
            },
            nudges_to_reps: r.nudges_to_reps != 0,
            nudge_repeat_days: u32::try_from(r.nudge_repeat_days).unwrap_or(0),
            ack_remind_days: u32::try_from(r.ack_remind_days).unwrap_or(0),
        })
    }
}

/// The workspace's schedule, if one was ever set.
pub async fn get(conn: &mut Conn, tenant_id: i64) -> Result<Option<Schedule>> {
    let row: Option<ScheduleRow> = sqlx::query_as("SELECT * FROM schedules WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(Schedule::try_from).transpose()
}

/// Every schedule that has something to run: a digest channel or nudges switched on. Each is
/// read on its own, so one that cannot be read does not hide the others.
pub async fn active(conn: &mut Conn) -> Result<Vec<(i64, Result<Schedule>)>> {
    let rows: Vec<ScheduleRow> = sqlx::query_as(
        "SELECT * FROM schedules WHERE digest_channel IS NOT NULL OR nudges_enabled = 1 \
         ORDER BY tenant_id",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.tenant_id, Schedule::try_from(r)))
        .collect())
}

/// Writes the digest half of a schedule, creating the row with defaults if needed.
pub async fn set_digest(
    conn: &mut Conn,
    tenant_id: i64,
    channel: &str,
    time: &str,
    timezone: &str,
    weekdays_only: bool,
    now: DateTime<Utc>,
) -> Result<Schedule> {
    let row: ScheduleRow = sqlx::query_as(
        "INSERT INTO schedules (tenant_id, digest_channel, digest_time, timezone, weekdays_only, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id) DO UPDATE SET digest_channel = excluded.digest_channel, \
         digest_time = excluded.digest_time, timezone = excluded.timezone, \
         weekdays_only = excluded.weekdays_only, updated_at = excluded.updated_at RETURNING *",
    )
    .bind(tenant_id)
    .bind(channel)
    .bind(time)
    .bind(timezone)
    .bind(i64::from(weekdays_only))
    .bind(ts(now))
    .fetch_one(conn)
    .await?;
    Schedule::try_from(&row)
}

/// Switches nudges on at `time` (local), creating the row with defaults if needed.
pub async fn set_nudges(
    conn: &mut Conn,
    tenant_id: i64,
    time: &str,
    to_reps: bool,
    now: DateTime<Utc>,
) -> Result<Schedule> {
    let row: ScheduleRow = sqlx::query_as(
        "INSERT INTO schedules (tenant_id, nudges_enabled, nudges_time, nudges_to_reps, \
         updated_at) VALUES ($1, 1, $2, $3, $4) \
         ON CONFLICT (tenant_id) DO UPDATE SET nudges_enabled = 1, \
         nudges_time = excluded.nudges_time, nudges_to_reps = excluded.nudges_to_reps, \
         updated_at = excluded.updated_at RETURNING *",
    )
    .bind(tenant_id)
    .bind(time)
    .bind(i64::from(to_reps))
    .bind(ts(now))
    .fetch_one(conn)
    .await?;
    Schedule::try_from(&row)
}

/// A number a workspace's schedule row keeps, set on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// Days the same nudge is not repeated.
    NudgeRepeatDays,
    /// Days after a playbook change before the nudges remind whoever has not acknowledged it.
    AckRemindDays,
    /// The fiscal year's first month (1 = January).
    FiscalStartMonth,
}

impl Setting {
    fn column(self) -> &'static str {
        match self {
            Self::NudgeRepeatDays => "nudge_repeat_days",
            Self::AckRemindDays => "ack_remind_days",
            Self::FiscalStartMonth => "fiscal_start_month",
        }
    }
}

/// Sets one number of a workspace that has a schedule row; the schedule as it is now.
pub async fn set(
    conn: &mut Conn,
    tenant_id: i64,
    setting: Setting,
    value: u32,
    now: DateTime<Utc>,
) -> Result<Schedule> {
    let sql = format!(
        "UPDATE schedules SET {} = $1, updated_at = $2 WHERE tenant_id = $3 RETURNING *",
        setting.column()
    );
    let row: ScheduleRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(i64::from(value))
        .bind(ts(now))
        .bind(tenant_id)
        .fetch_one(conn)
        .await?;
    Schedule::try_from(&row)
}

/// Sets the fiscal year's first month and how many days a nudge is not repeated (tests and
/// tools; `/digest setup fiscal-start` sets the month).
pub async fn set_tuning(
    conn: &mut Conn,
    tenant_id: i64,
    fiscal_start_month: u32,
    nudge_repeat_days: u32,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO schedules (tenant_id, fiscal_start_month, nudge_repeat_days, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO UPDATE SET \
         fiscal_start_month = excluded.fiscal_start_month, \
         nudge_repeat_days = excluded.nudge_repeat_days, updated_at = excluded.updated_at",
    )
    .bind(tenant_id)
    .bind(i64::from(fiscal_start_month))
    .bind(i64::from(nudge_repeat_days))
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// A deal's nudges silenced through `until` (inclusive), by whom and why.
pub struct NewSnooze<'a> {
    pub tenant_id: i64,
    pub deal_id: i64,
    pub until: NaiveDate,
    pub member_id: i64,
    pub reason: &'a str,
}

/// Snoozes a deal's nudges, replacing an earlier snooze.
pub async fn snooze(conn: &mut Conn, s: &NewSnooze<'_>, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO snoozes (tenant_id, deal_id, until_date, member_id, at, reason) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, deal_id) DO UPDATE SET \
         until_date = excluded.until_date, member_id = excluded.member_id, at = excluded.at, \
         reason = excluded.reason",
    )
    .bind(s.tenant_id)
    .bind(s.deal_id)
    .bind(date_text(s.until))
    .bind(s.member_id)
    .bind(ts(now))
    .bind(s.reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// A workspace by id (for jobs, which have no caller).
pub async fn tenant(conn: &mut Conn, tenant_id: i64) -> Result<super::Tenant> {
    Ok(sqlx::query_as("SELECT * FROM tenants WHERE id = $1")
        .bind(tenant_id)
        .fetch_one(conn)
        .await?)
}

/// Deals whose nudges are snoozed on `date`.
pub async fn snoozed_on(conn: &mut Conn, tenant_id: i64, date: NaiveDate) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT deal_id FROM snoozes WHERE tenant_id = $1 AND until_date >= $2")
            .bind(tenant_id)
            .bind(date_text(date))
            .fetch_all(conn)
            .await?,
    )
}
