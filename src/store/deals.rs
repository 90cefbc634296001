//! Deals and what is logged against them: activities, approvals, stage changes, field changes.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AssertSqlSafe;

use sqlx::FromRow;
use sqlx::any::AnyRow;

use super::members::{CALLER_COLUMNS, CALLER_FROM, CALLER_WHERE, caller_from, member_prefixed};
use super::receipts::{self, EFFECT, Effect, SEEN_COLUMNS, SEEN_JOINS};
use super::rows::Columns;
use super::writer::{Batch, Value, Write, bind_values};
use super::{
    ActivityRow, ApprovalRow, Backend, Conn, DealRow, Result, StageChangeRow, Store, StoreError,
    TenantHead, fields_json, given_approval,
};
use super::{date_text, ts};
use crate::engine::deal::{
    ActivityEntry, Deal, DealFacts, DealStatus, GivenApproval, LoggedActivity,
};
use crate::engine::ids::{DealNumber, Money, StageId};
use crate::engine::people::Member;
use crate::engine::playbook::Role;
use crate::engine::process::Passage;
use crate::engine::transition::StageChange;

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
         stage_entered_at, status, fields, version, created_at, updated_at, out_of_process, \
         playbook_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', '{}', 1, $8, $8, 0, \
         (SELECT playbook_version FROM tenants WHERE id = $1)) RETURNING *",
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

/// The columns of a deal joined with its owner (`m_`-prefixed), from [`DEAL_AND_OWNER_FROM`].
const DEAL_AND_OWNER_COLUMNS: &str = "d.*, m.id AS m_id, m.user_key AS m_user_key, \
     m.display_name AS m_display_name, m.role AS m_role, m.manager_id AS m_manager_id, \
     m.created_at AS m_created_at";

/// The join of a deal with its owner, by `$1` tenant and `$2` number.
const DEAL_AND_OWNER_FROM: &str = "FROM deals d \
     JOIN members m ON m.id = d.owner_id AND m.tenant_id = d.tenant_id \
     WHERE d.tenant_id = $1 AND d.number = $2";

/// A deal joined with its owner (`m_`-prefixed columns), by `$1` tenant and `$2` number.
static DEAL_WITH_OWNER: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {DEAL_AND_OWNER_COLUMNS} {DEAL_AND_OWNER_FROM}"));

/// A deal and its owner, in one statement.
pub async fn get_with_owner(
    conn: &mut Conn,
    tenant_id: i64,
    number: DealNumber,
) -> Result<Option<(Deal, Member)>> {
    let row = sqlx::query(AssertSqlSafe(DEAL_WITH_OWNER.as_str()))
        .bind(tenant_id)
        .bind(i64::from(number.get()))
        .fetch_optional(conn)
        .await?;
    row.map(|row| deal_with_owner(&row, tenant_id)).transpose()
}

fn deal_with_owner(row: &impl Columns, tenant_id: i64) -> Result<(Deal, Member)> {
    let owner = member_prefixed(row, tenant_id)?;
    let deal = Deal::try_from(DealRow::read(row).map_err(Into::into)?)?;
    Ok((deal, owner))
}

/// A deal, its owner and everything recorded against it, as one snapshot: what a command
/// that checks gates and then shows the deal needs. `None` when there is no such deal (or its
/// owner row is missing).
///
/// One statement on either backend: the records come along as one JSON column of the deal's
/// row (see [`records_json`]).
pub async fn get_with_records(
    store: &Store,
    tenant_id: i64,
    number: DealNumber,
) -> Result<Option<(Deal, Member, DealRecords)>> {
    static SQL: LazyLock<WithRecords> = LazyLock::new(|| {
        WithRecords::new(|records| {
            format!("SELECT {DEAL_AND_OWNER_COLUMNS}{records} {DEAL_AND_OWNER_FROM}")
        })
    });
    let mut conn = store.reader().acquire().await?;
    let Some(row) = sqlx::query(AssertSqlSafe(SQL.on(store.backend())))
        .bind(tenant_id)
        .bind(i64::from(number.get()))
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let (deal, owner) = deal_with_owner(&row, tenant_id)?;
    let records = records_from_json(&row, deal.id)?;
    Ok(Some((deal, owner, records)))
}

/// Who a chat platform says is calling: platform, workspace and user key.
#[derive(Debug, Clone, Copy)]
pub struct CallerKey<'a> {
    pub platform: &'a str,
    pub workspace: &'a str,
    pub user_key: &'a str,
}

/// The caller's workspace and member, the deal they named with its owner and records (if
/// there is such a deal and its owner's row), and what the database held of the delivery.
pub type CallerAndDeal = (
    TenantHead,
    Member,
    Option<(Deal, Member, DealRecords)>,
    receipts::Seen,
);

/// The caller's workspace and member and the deal numbered `number` in that workspace, as one
/// snapshot: a command about a deal reads both before anything else, so they come in one
/// round trip (on PostgreSQL one statement, the records as JSON; on SQLite's writer thread two
/// statements in one read transaction). With them comes what the database holds of `delivery`
/// (its receipt and effect; nothing without one), in the same snapshot: a command claimed by
/// its write sees in it whether it ran before (see `receipts`). `None` if the caller is not a
/// member of a workspace.
pub async fn get_with_caller(
    store: &Store,
    caller: CallerKey<'_>,
    number: DealNumber,
    delivery: Option<Effect<'_>>,
) -> Result<Option<CallerAndDeal>> {
    let (platform, interaction) = (
        delivery.map(|d| d.platform),
        delivery.map(|d| d.interaction_id),
    );
    if let Some(thread) = store.sqlite_thread() {
        // On the writer's thread a statement costs no round trip, so the records come as rows
        // of a second statement in the same snapshot, without building and parsing JSON.
        static CALLER_AND_DEAL: LazyLock<String> = LazyLock::new(|| caller_and_deal_sql(""));
        static RECORDS: LazyLock<String> = LazyLock::new(|| records_sql("$1"));
        let values = [
            Value::from(caller.platform),
            Value::from(caller.workspace),
            Value::from(caller.user_key),
            Value::from(i64::from(number.get())),
            Value::from(platform.map(str::to_string)),
            Value::from(interaction.map(str::to_string)),
        ];
        return thread
            .read(move |reading| {
                reading.in_snapshot(|reading| {
                    let Some((tenant, member, deal, seen)) =
                        reading.first_row(&CALLER_AND_DEAL, &values, |row| {
                            caller_and_bare_deal(row)
                        })?
                    else {
                        return Ok(None);
                    };
                    let Some((deal, owner)) = deal else {
                        return Ok(Some((tenant, member, None, seen)));
                    };
                    let parts = reading.rows(&RECORDS, &[Value::from(deal.id)], record_part)?;
                    let records = records_from(parts, deal.id)?;
                    Ok(Some((tenant, member, Some((deal, owner, records)), seen)))
                })
            })
            .await;
    }
    let mut conn = store.reader().acquire().await?;
    let row = sqlx::query(AssertSqlSafe(CALLER_AND_DEAL.on(store.backend())))
        .bind(caller.platform)
        .bind(caller.workspace)
        .bind(caller.user_key)
        .bind(i64::from(number.get()))
        .bind(platform)
        .bind(interaction)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(caller_and_deal).transpose()
}

/// [`get_with_caller`]'s statement: the caller's row, with the deal and its owner joined when
/// they exist.
static CALLER_AND_DEAL: LazyLock<WithRecords> =
    LazyLock::new(|| WithRecords::new(caller_and_deal_sql));

/// Runs [`get_with_caller`]'s statement on `conn` for a caller who is nobody (it finds no row),
/// so that a connection opened at start has it prepared, with the types the commands bind, and
/// the database's caches of its tables loaded before the first command needs them.
pub(super) async fn warm(conn: &mut Conn, backend: Backend) -> Result<()> {
    sqlx::query(AssertSqlSafe(CALLER_AND_DEAL.on(backend)))
        .bind("")
        .bind("")
        .bind("")
        .bind(0_i64)
        .bind("")
        .bind("")
        .fetch_optional(conn)
        .await?;
    Ok(())
}

/// [`get_with_caller`]'s statement, with `records` (a column, or nothing) after the deal's.
fn caller_and_deal_sql(records: &str) -> String {
    format!(
        "SELECT {CALLER_COLUMNS}, {DEAL_AND_OWNER_COLUMNS}, {SEEN_COLUMNS}{records} \
         {CALLER_FROM} \
         LEFT JOIN deals d ON d.tenant_id = t.id AND d.number = $4 \
         LEFT JOIN members m ON m.id = d.owner_id AND m.tenant_id = d.tenant_id \
         {SEEN_JOINS} {CALLER_WHERE}"
    )
}

/// The caller's workspace and member, the deal they named with its owner, without records, and
/// what the database held of the delivery.
type CallerAndBareDeal = (TenantHead, Member, Option<(Deal, Member)>, receipts::Seen);

/// The caller and the deal with its owner, without records, of a row of
/// [`get_with_caller`]'s statement.
fn caller_and_bare_deal(row: &impl Columns) -> Result<CallerAndBareDeal> {
    let (tenant, member) = caller_from(row)?;
    let seen = receipts::seen_from(row)?;
    // A deal without its owner's row reads as no deal here; the use case's own read says which.
    if row.get::<Option<i64>>("m_id")?.is_none() {
        return Ok((tenant, member, None, seen));
    }
    let deal = deal_with_owner(row, tenant.id)?;
    Ok((tenant, member, Some(deal), seen))
}

/// The caller and the deal of a row of [`get_with_caller`]'s statement with its records column.
fn caller_and_deal(row: &impl Columns) -> Result<CallerAndDeal> {
    let (tenant, member, deal, seen) = caller_and_bare_deal(row)?;
    let Some((deal, owner)) = deal else {
        return Ok((tenant, member, None, seen));
    };
    let records = records_from_json(row, deal.id)?;
    Ok((tenant, member, Some((deal, owner, records)), seen))
}

/// A row of [`records_sql`], by position: its columns are fixed.
fn record_part(row: &rusqlite::Row<'_>) -> rusqlite::Result<RecordPart> {
    Ok(RecordPart {
        k: row.get(0)?,
        id: row.get(1)?,
        who: row.get(2)?,
        a: row.get(3)?,
        b: row.get(4)?,
        c: row.get(5)?,
        d: row.get(6)?,
        n: row.get(7)?,
        g: row.get(8)?,
        at: row.get(9)?,
    })
}

/// A statement with a deal's records as a JSON column (see [`records_json`]), its text built
/// once for each backend: their JSON functions differ.
struct WithRecords {
    sqlite: String,
    postgres: String,
}

impl WithRecords {
    /// `sql` is given the `records` column to put after the statement's other columns.
    fn new(sql: impl Fn(&str) -> String) -> Self {
        Self {
            sqlite: sql(&records_json(Backend::Sqlite, "d.id")),
            postgres: sql(&records_json(Backend::Postgres, "d.id")),
        }
    }

    fn on(&self, backend: Backend) -> &str {
        match backend {
            Backend::Sqlite => &self.sqlite,
            Backend::Postgres => &self.postgres,
        }
    }
}

/// A column `records` with the deal's records (`records_sql`) as a JSON array, so a deal and
/// its records come in one row of one statement: PostgreSQL's protocol takes one statement per
/// round trip, and on SQLite each row and statement is a hand-off to sqlx's connection thread.
fn records_json(backend: Backend, deal: &str) -> String {
    let records = records_sql(deal);
    // Each record an array in `RecordPart`'s field order, not an object: the text is half as
    // long, and PostgreSQL builds it faster (pgbench, the read alone: 15,500 reads/s against
    // 14,400 with `json_agg(r)`).
    let fields = "r.k, r.id, r.who, r.a, r.b, r.c, r.d, r.n, r.g, r.at";
    match backend {
        Backend::Postgres => format!(
            ", (SELECT CAST(json_agg(json_build_array({fields})) AS TEXT) \
             FROM ({records}) AS r) AS records"
        ),
        Backend::Sqlite => format!(
            ", (SELECT json_group_array(json_array({fields})) FROM ({records}) AS r) AS records"
        ),
    }
}

fn records_from_json(row: &impl Columns, deal_id: i64) -> Result<DealRecords> {
    let json: Option<String> = row.get("records")?;
    let parts: Vec<RecordPart> = match json {
        Some(json) => serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
            table: "deals",
            detail: format!("the records of deal {deal_id} as JSON: {e}"),
        })?,
        None => Vec::new(),
    };
    records_from(parts, deal_id)
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

/// Writes every column of `deal` if its `version` is still the one read (`$11`, `$12`: id and
/// version); `update` and `record_move` share it so the two cannot drift apart.
const UPDATE_DEAL: &str = "UPDATE deals SET name = $1, owner_id = $2, amount = $3, \
     close_date = $4, stage = $5, stage_entered_at = $6, status = $7, fields = $8, \
     closed_at = $9, updated_at = $10, version = version + 1 WHERE id = $11 AND version = $12";

/// The values of `UPDATE_DEAL`'s `$1`–`$12`.
fn update_values(deal: &Deal, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        deal.name.clone().into(),
        deal.owner_id.into(),
        deal.amount.minor().into(),
        date_text(deal.close_date).into(),
        deal.stage.as_str().into(),
        ts(deal.stage_entered_at).into(),
        deal.status.as_str().into(),
        fields_json(deal).into(),
        deal.closed_at.map(ts).into(),
        ts(now).into(),
        deal.id.into(),
        deal.version.into(),
    ]
}

/// Writes every mutable column of `deal`, if its `version` is still the stored one; bumps the
/// version in `deal` on success. A stale version is `StoreError::Conflict` and writes nothing.
pub async fn update(conn: &mut Conn, deal: &mut Deal, now: DateTime<Utc>) -> Result<()> {
    let done = bind_values(sqlx::query(UPDATE_DEAL), &update_values(deal, now))
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict);
    }
    deal.version += 1;
    deal.updated_at = now;
    Ok(())
}

/// Moves a deal: writes `change.deal` (already in its new stage) and appends `change` to its
/// history, both or neither, if the deal is still at the version that was read
/// (`StoreError::Conflict` otherwise). Returns the deal as written and its new history row.
///
/// One job for the group writer on either backend: on SQLite a script (the history row is
/// inserted only when the update changed a row), on PostgreSQL one statement whose update feeds
/// the insert.
pub async fn record_move(
    store: &Store,
    change: &NewStageChange<'_>,
    now: DateTime<Utc>,
) -> Result<(Deal, StageChange)> {
    let deal = change.deal;
    // The history row records the playbook version in force as it is written.
    let history = "INSERT INTO stage_changes (tenant_id, deal_id, actor_id, from_stage, \
         to_stage, kind, overridden, gates, reason, at, playbook_version)";
    let version = "(SELECT playbook_version FROM tenants WHERE id = $13)";
    // The expected close date goes in after the effect's `$20`, `$21` if there is one.
    let expected = if change.effect.is_some() { 22 } else { 20 };
    let dated = "INSERT INTO field_changes (tenant_id, deal_id, actor_id, field, old_value, \
         new_value, at)";
    // The effect row goes in only when the move was written (`changes()` after the history
    // insert, `FROM moved`); a second application fails on its key and rolls the move back. So
    // does the close date's history row, after a version check that only this move passes.
    let sqlite_dated = format!(
        "{dated} SELECT $13, $11, $14, 'close_date', ${expected}, $4, $10 WHERE ${expected} IS \
         NOT NULL AND EXISTS (SELECT 1 FROM deals WHERE id = $11 AND version = $12 + 1);"
    );
    let pg_dated = format!(
        "dated AS ({dated} SELECT $13, moved.id, $14, 'close_date', ${expected}::text, $4, $10 \
         FROM moved WHERE ${expected}::text IS NOT NULL)"
    );
    let sql = match (store.backend(), change.effect.is_some()) {
        (Backend::Sqlite, false) => format!(
            "{UPDATE_DEAL}; {history} SELECT $13, $11, $14, $15, $5, $16, $17, $18, $19, $10, \
             {version} WHERE changes() = 1 RETURNING id; {sqlite_dated}"
        ),
        (Backend::Sqlite, true) => format!(
            "{UPDATE_DEAL}; {history} SELECT $13, $11, $14, $15, $5, $16, $17, $18, $19, $10, \
             {version} WHERE changes() = 1 RETURNING id; {EFFECT} SELECT $20, $21, $10 \
             WHERE changes() = 1; {sqlite_dated}"
        ),
        (Backend::Postgres, false) => format!(
            "WITH moved AS ({UPDATE_DEAL} RETURNING id), {pg_dated} {history} SELECT $13, \
             moved.id, $14, $15, $5, $16, $17, $18, $19, $10, {version} FROM moved RETURNING id"
        ),
        (Backend::Postgres, true) => format!(
            "WITH moved AS ({UPDATE_DEAL} RETURNING id), applied AS ({EFFECT} SELECT $20, $21, \
             $10 FROM moved), {pg_dated} {history} SELECT $13, moved.id, $14, $15, $5, $16, \
             $17, $18, $19, $10, {version} FROM moved RETURNING id"
        ),
    };
    let gates = (!change.overridden_gates.is_empty()).then(|| change.overridden_gates.join("\n"));
    let mut write = Write {
        values: update_values(deal, now),
        ..Write::new(sql, deal.id)
    }
    .bind(deal.tenant_id)
    .bind(change.actor_id)
    .bind(change.from.map(str::to_string))
    .bind(change.kind)
    .bind(i64::from(!change.overridden_gates.is_empty()))
    .bind(gates.clone())
    .bind(change.reason.map(str::to_string));
    if let Some(effect) = change.effect {
        write = write.bind(effect.platform).bind(effect.interaction_id);
    }
    write = write.bind(change.expected_close.map(date_text));
    let Some(history_id) = store.write_work(write).await? else {
        return Err(StoreError::Conflict);
    };
    let mut written = deal.clone();
    written.version += 1;
    written.updated_at = now;
    let history_row = StageChangeRow {
        id: history_id,
        deal_id: deal.id,
        actor_id: change.actor_id,
        from_stage: change.from.map(str::to_string),
        to_stage: deal.stage.as_str().to_string(),
        kind: change.kind.to_string(),
        overridden: i64::from(!change.overridden_gates.is_empty()),
        gates,
        reason: change.reason.map(str::to_string),
        at: ts(now),
    };
    Ok((written, StageChange::try_from(&history_row)?))
}

/// Holds the deal's row until the transaction ends, if its `version` is still `deal.version`;
/// `StoreError::Conflict` (nothing held) if another transaction changed it meanwhile.
///
/// For use cases that record something against the deal as it is without changing it (an
/// activity or an approval in its current stage). A move committed after the deal was read makes
/// them run again on fresh data rather than record against a stage the deal has left; a move
/// that starts after this waits for them. Two of them on the same deal do not wait for each
/// other.
///
/// On PostgreSQL a share lock (`FOR SHARE`), which a move's update waits for and which writes no
/// new version of the row: an update of nothing would write one, and with it an entry in every
/// index of `deals` (a dozen, a trigram index among them), on every activity logged. On SQLite
/// the transaction already holds the database's write lock; the version is checked.
pub async fn hold(conn: &mut Conn, deal: &Deal) -> Result<()> {
    let sql = if conn.backend_name() == "PostgreSQL" {
        "SELECT 1 FROM deals WHERE id = $1 AND version = $2 FOR SHARE"
    } else {
        "SELECT 1 FROM deals WHERE id = $1 AND version = $2"
    };
    let held: Option<i64> = sqlx::query_scalar(sql)
        .bind(deal.id)
        .bind(deal.version)
        .fetch_optional(conn)
        .await?;
    held.map(|_| ()).ok_or(StoreError::Conflict)
}

/// Records how many requirements of the stages `deal` has left it no longer meets, if it is
/// still at the version judged (a judgement of its facts, not a fact: the version stays). A
/// deal edited meanwhile was judged by that edit; this write then changes nothing.
pub async fn set_out_of_process(conn: &mut Conn, deal: &Deal, broken: usize) -> Result<()> {
    bind_values(sqlx::query(SET_STANDING), &standing_values(deal, broken))
        .execute(conn)
        .await?;
    Ok(())
}

/// [`set_out_of_process`] after a command's write, as a job for the group writer (see
/// `writer`): one statement in the next group, not a transaction and a flush of its own on
/// another connection that waits for the group's locks on the deal.
pub async fn record_standing(store: &Store, deal: &Deal, broken: usize) -> Result<()> {
    let write = Write {
        values: standing_values(deal, broken),
        ..Write::new(SET_STANDING.to_string(), deal.id)
    };
    store.write_work(write).await?;
    Ok(())
}

/// A deal's process standing, if it is still at the version judged: `$1` broken gates, `$2`
/// and `$3` the deal's id and version ([`standing_values`]).
const SET_STANDING: &str = "UPDATE deals SET out_of_process = $1 WHERE id = $2 AND version = $3";

fn standing_values(deal: &Deal, broken: usize) -> Vec<Value> {
    vec![
        i64::try_from(broken).unwrap_or(i64::MAX).into(),
        deal.id.into(),
        deal.version.into(),
    ]
}

/// Deals of the workspace whose process standing was never judged (from before it was kept,
/// or since the playbook changed), and with `flagged` those out of process too (perhaps met
/// again): what is judged again before the record is read.
pub async fn to_judge(conn: &mut Conn, tenant_id: i64, flagged: bool) -> Result<Vec<Deal>> {
    let which = if flagged {
        "(out_of_process IS NULL OR out_of_process > 0)"
    } else {
        "out_of_process IS NULL"
    };
    sqlx::query_as::<_, DealRow>(AssertSqlSafe(format!(
        "SELECT * FROM deals WHERE tenant_id = $1 AND {which} ORDER BY id"
    )))
    .bind(tenant_id)
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(Deal::try_from)
    .collect()
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

/// What a write checks of the read it relies on, beyond the deal's version: the workspace's
/// session version (bumped by every change to its members, name, playbook in force and
/// visibility; migration 20261210000022) and how many activities and approvals the deal has
/// (neither is ever deleted, so each count changes whenever its records do). A read kept by
/// the process between commands is acted on only while all of them hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadStamps {
    pub session_version: i64,
    pub activities: i64,
    pub approvals: i64,
}

impl ReadStamps {
    /// The stamps of `records`, read with a workspace at `session_version`.
    pub fn of(session_version: i64, records: &DealRecords) -> Self {
        Self {
            session_version,
            activities: records.logged.iter().map(|l| i64::from(l.times)).sum(),
            approvals: i64::try_from(records.approvals.len()).unwrap_or(i64::MAX),
        }
    }
}

/// A deal as a read found it: its id and version, and the stamps of what else the read found.
/// A read kept by the process between commands is acted on only while it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsRead {
    pub deal_id: i64,
    pub version: i64,
    pub stamps: ReadStamps,
}

/// SQL that is true while a read's [`ReadStamps`] still hold: `tenant` and `deal` give the
/// workspace's and the deal's ids, `stamps` the session version, activity count and approval
/// count read (each a placeholder or a column).
fn stamps_hold(tenant: &str, deal: &str, stamps: [&str; 3]) -> String {
    let [session_version, activities, approvals] = stamps;
    format!(
        "(SELECT session_version FROM tenants WHERE id = {tenant}) = {session_version} \
         AND (SELECT coalesce(sum(times), 0) FROM activity_tallies WHERE deal_id = {deal}) \
         = {activities} \
         AND (SELECT count(*) FROM approvals WHERE deal_id = {deal}) = {approvals}"
    )
}

/// SQL that is true while an [`AsRead`] holds: `read` gives its deal id, version, session
/// version, activity count and approval count (each a placeholder or a column).
pub(super) fn still_holds(read: [&str; 5]) -> String {
    let [deal, version, session_version, activities, approvals] = read;
    format!(
        "EXISTS (SELECT 1 FROM deals held WHERE held.id = {deal} AND held.version = {version} \
         AND {})",
        stamps_hold(
            "held.tenant_id",
            deal,
            [session_version, activities, approvals]
        )
    )
}

/// Whether `read` still holds, and what the database holds of `delivery`, in one small
/// statement: a read kept by the process between commands checked before a move is made on
/// it (a `/log` has its write check instead, a refusal its answer's: see
/// `receipts::AnswerItem::unless_changed`).
pub async fn still_as_read(
    store: &Store,
    read: AsRead,
    delivery: Option<Effect<'_>>,
) -> Result<(bool, receipts::Seen)> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT CASE WHEN {} THEN CAST(1 AS BIGINT) ELSE CAST(0 AS BIGINT) END AS holds, \
             {SEEN_COLUMNS} FROM (SELECT 1 AS one) AS one {SEEN_JOINS}",
            still_holds(["$1", "$2", "$3", "$4", "$7"])
        )
    });
    let (platform, interaction) = (
        delivery.map(|d| d.platform),
        delivery.map(|d| d.interaction_id),
    );
    let AsRead {
        deal_id,
        version,
        stamps,
    } = read;
    if let Some(thread) = store.sqlite_thread() {
        let values = [
            Value::from(deal_id),
            Value::from(version),
            Value::from(stamps.session_version),
            Value::from(stamps.activities),
            Value::from(platform.map(str::to_string)),
            Value::from(interaction.map(str::to_string)),
            Value::from(stamps.approvals),
        ];
        return thread
            .read(move |reading| {
                reading.first_row(&SQL, &values, |row| {
                    Ok((row.get::<i64>("holds")? == 1, receipts::seen_from(row)?))
                })
            })
            .await
            .map(|found| found.unwrap_or_default());
    }
    let mut conn = store.reader().acquire().await?;
    let row = sqlx::query(AssertSqlSafe(SQL.as_str()))
        .bind(deal_id)
        .bind(version)
        .bind(stamps.session_version)
        .bind(stamps.activities)
        .bind(platform)
        .bind(interaction)
        .bind(stamps.approvals)
        .fetch_one(&mut *conn)
        .await?;
    Ok((
        Columns::get::<i64>(&row, "holds")? == 1,
        receipts::seen_from(&row)?,
    ))
}

/// Records an activity against `deal` as it was read: `StoreError::Conflict` (nothing
/// recorded) if another transaction changed the deal since, so an activity is never recorded
/// against a stage the deal has just left; with `stamps`, also if what else the read found
/// changed (see [`ReadStamps`]). Returns the activity's id.
///
/// One job for the group writer (see `writer`), one statement on either backend (a script of
/// two with the interaction's effect row on SQLite). On SQLite the writer's transaction holds
/// the database's write lock, so the checks and the insert see the same state. On PostgreSQL
/// a statement's `EXISTS` would not stop a concurrent move from committing between the check
/// and the insert, so the statement holds the deal's row first.
pub async fn log_unless_changed(
    store: &Store,
    deal: &Deal,
    a: &NewActivity<'_>,
    at: DateTime<Utc>,
    effect: Option<Effect<'_>>,
    stamps: Option<ReadStamps>,
) -> Result<i64> {
    const COLUMNS: &str = "INSERT INTO activities (tenant_id, deal_id, member_id, activity, \
         note, stage, at) SELECT $1, $2, $3, $4, $5, $6, $7";
    // The deal `$8` still at version `$9` and, where `$12` is given, the read's stamps
    // (`$12` to `$14`) still those of the database.
    static UNCHANGED: LazyLock<String> = LazyLock::new(|| {
        format!(
            "id = $8 AND version = $9 AND (CAST($12 AS BIGINT) IS NULL OR ({}))",
            stamps_hold("$1", "$8", ["$12", "$13", "$14"])
        )
    });
    let unchanged = UNCHANGED.as_str();
    // On SQLite the group's writer is the only one, so a check is enough; on PostgreSQL a
    // share lock holds the deal's row until the group commits, so a move of another process
    // waits for it (or it for the move, and then finds no row).
    let sql = match (store.backend(), effect.is_some()) {
        (Backend::Sqlite, false) => {
            format!("{COLUMNS} WHERE EXISTS (SELECT 1 FROM deals WHERE {unchanged}) RETURNING id")
        }
        (Backend::Sqlite, true) => format!(
            "{COLUMNS} WHERE EXISTS (SELECT 1 FROM deals WHERE {unchanged}) \
             RETURNING id; {EFFECT} SELECT $10, $11, $7 WHERE changes() = 1;"
        ),
        (Backend::Postgres, false) => format!(
            "WITH held AS (SELECT id FROM deals WHERE {unchanged} FOR SHARE) \
             {COLUMNS} FROM held RETURNING id"
        ),
        (Backend::Postgres, true) => format!(
            "WITH held AS (SELECT id FROM deals WHERE {unchanged} FOR SHARE), \
             logged AS ({COLUMNS} FROM held RETURNING id), \
             applied AS ({EFFECT} SELECT $10, $11, $7 FROM logged) SELECT id FROM logged"
        ),
    };
    let write = Write::new(sql, deal.id)
        .bind(a.tenant_id)
        .bind(a.deal_id)
        .bind(a.member_id)
        .bind(a.activity)
        .bind(a.note.map(str::to_string))
        .bind(a.stage)
        .bind(ts(at))
        .bind(deal.id)
        .bind(deal.version)
        .bind(effect.map(|e| e.platform.to_string()))
        .bind(effect.map(|e| e.interaction_id.to_string()))
        .bind(stamps.map(|s| s.session_version))
        .bind(stamps.map(|s| s.activities))
        .bind(stamps.map(|s| s.approvals));
    let write = match store.backend() {
        Backend::Postgres => write.batched(Batch {
            sql: LOG_BATCH_POSTGRES.as_str(),
            columns: &[
                "tenant_id",
                "deal_id",
                "member_id",
                "activity",
                "note",
                "stage",
                "at",
                "",
                "version",
                "platform",
                "interaction_id",
                "session_version",
                "activities",
                "approvals",
            ],
        }),
        Backend::Sqlite => write,
    };
    store.write_work(write).await?.ok_or(StoreError::Conflict)
}

/// `log_unless_changed` for a group's activities at once on PostgreSQL (see `writer::Batch`;
/// a row holds the single statement's values by name, all but `$8`, the deal's id again):
/// each row is written, with its interaction's effect row, only if its deal is still at the
/// version read and, where the row has them, the read's stamps still hold; the deals' rows are
/// held in the order of their ids, as a group takes its locks, and found by their key (`IN
/// (SELECT …)` was planned as a scan of every deal). The activities' ids are drawn first so
/// each comes back with its row's `ord`.
static LOG_BATCH_POSTGRES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH i AS (SELECT * FROM json_to_recordset(CAST($1 AS json)) \
         AS i(ord BIGINT, tenant_id BIGINT, deal_id BIGINT, member_id BIGINT, activity TEXT, \
         note TEXT, stage TEXT, at TEXT, version BIGINT, platform TEXT, interaction_id TEXT, \
         session_version BIGINT, activities BIGINT, approvals BIGINT)), \
         held AS (SELECT id, version FROM deals WHERE id = ANY(ARRAY(SELECT deal_id FROM i)) \
         ORDER BY id FOR SHARE), \
         ok AS (SELECT i.*, nextval(pg_get_serial_sequence('activities', 'id')) AS id FROM i \
         JOIN held ON held.id = i.deal_id AND held.version = i.version \
         WHERE i.session_version IS NULL OR ({})), \
         logged AS (INSERT INTO activities (id, tenant_id, deal_id, member_id, activity, note, \
         stage, at) OVERRIDING SYSTEM VALUE SELECT id, tenant_id, deal_id, member_id, activity, \
         note, stage, at FROM ok ORDER BY ord), \
         applied AS (INSERT INTO interaction_effects (platform, interaction_id, applied_at) \
         SELECT platform, interaction_id, at FROM ok WHERE interaction_id IS NOT NULL) \
         SELECT ord, id FROM ok",
        stamps_hold(
            "i.tenant_id",
            "i.deal_id",
            ["i.session_version", "i.activities", "i.approvals"]
        )
    )
});

pub async fn activities(conn: &mut Conn, deal_id: i64) -> Result<Vec<ActivityRow>> {
    Ok(sqlx::query_as(
        "SELECT id, deal_id, member_id, activity, note, stage, at FROM activities \
         WHERE deal_id = $1 ORDER BY at, id",
    )
    .bind(deal_id)
    .fetch_all(conn)
    .await?)
}

/// Records an approval of `deal` for `stage`: the stage it is in, or one it left whose approval
/// gate it no longer meets.
pub async fn insert_approval(
    conn: &mut Conn,
    deal: &Deal,
    stage: &StageId,
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
    .bind(stage.as_str())
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

/// What a command reads of a deal's records: a fixed amount however long its history, except
/// for its stage changes and approvals (a few per stage it went through).
#[derive(Debug, Clone, Default)]
pub struct DealRecords {
    /// The latest [`RECENT`] activities, oldest first, as a view of the deal shows them.
    pub activities: Vec<ActivityEntry>,
    /// Every activity and stage it was logged in, with how many times and when first: what the
    /// gates ask about, read from the tally that each activity's insert keeps
    /// (`activity_tallies`, migration 20261206000018).
    pub logged: Vec<LoggedActivity>,
    pub approvals: Vec<GivenApproval>,
    pub stage_changes: Vec<StageChange>,
}

/// How many of a deal's latest activities its view carries: `/deal show` shows the last one,
/// and every command about a deal reads them, so no more are read than are shown.
pub const RECENT: usize = 1;

impl DealRecords {
    /// What the gates need to judge `deal`, with these records.
    pub fn facts(&self, deal: &Deal) -> DealFacts {
        let mut facts = deal.facts(self.logged.clone(), self.approvals.clone());
        facts.passage = Passage {
            visited: self
                .stage_changes
                .iter()
                .flat_map(|c| c.from.iter().chain([&c.to]))
                .cloned()
                .collect(),
            overridden: self
                .stage_changes
                .iter()
                .flat_map(|c| c.overridden_gates.iter().cloned())
                .collect(),
        };
        facts
    }
}

impl DealRecords {
    /// Adds an activity just logged (the newest), as a fresh read would show it.
    pub fn note_logged(&mut self, entry: ActivityEntry) {
        match self
            .logged
            .iter_mut()
            .find(|l| l.activity == entry.activity && l.stage == entry.stage)
        {
            Some(l) => l.times = l.times.saturating_add(1),
            None => self.logged.push(LoggedActivity::from(&entry)),
        }
        self.activities.push(entry);
        if self.activities.len() > RECENT {
            self.activities.remove(0);
        }
    }
}

/// A deal's latest activities, what was logged in each stage (counted), its approvals and its
/// stage changes, in one statement (a view of a deal needs all of them, and on SQLite each
/// statement is a round trip to another thread).
pub async fn records(conn: &mut Conn, deal_id: i64) -> Result<DealRecords> {
    let rows = sqlx::query(AssertSqlSafe(records_sql("$1")))
        .bind(deal_id)
        .fetch_all(conn)
        .await?;
    records_from_rows(&rows, deal_id)
}

/// The statement of `records`, for the deal whose id `deal` gives (a parameter or a subquery).
/// Its rows come in no particular order: [`records_from`] sorts them, which costs less there
/// than a sort in the statement (on PostgreSQL a sort node is set up on every execution).
/// Public for the test that guards its plan on PostgreSQL.
pub fn records_sql(deal: &str) -> String {
    format!(
        "SELECT * FROM (SELECT CAST(1 AS BIGINT) AS k, id, member_id AS who, activity AS a, \
         note AS b, stage AS c, CAST(NULL AS TEXT) AS d, CAST(0 AS BIGINT) AS n, \
         CAST(NULL AS TEXT) AS g, at FROM activities WHERE deal_id = {deal} \
         ORDER BY at DESC, id DESC LIMIT {RECENT}) AS recent \
         UNION ALL SELECT 4, 0, 0, activity, NULL, stage, NULL, times, NULL, first_at \
         FROM activity_tallies WHERE deal_id = {deal} \
         UNION ALL SELECT 2, id, approver_id, role, note, stage, NULL, 0, NULL, at \
         FROM approvals WHERE deal_id = {deal} \
         UNION ALL SELECT 3, id, actor_id, from_stage, reason, to_stage, kind, overridden, gates, at \
         FROM stage_changes WHERE deal_id = {deal}"
    )
}

/// One row of `records_sql`: which kind of record (`k`) and its columns, named alike for the
/// four kinds. From JSON it reads as an array of the fields in this order (`records_json`).
#[derive(Debug, serde::Deserialize, FromRow)]
struct RecordPart {
    k: i64,
    id: i64,
    who: i64,
    a: Option<String>,
    b: Option<String>,
    c: Option<String>,
    d: Option<String>,
    n: i64,
    g: Option<String>,
    at: String,
}

fn records_from_rows(rows: &[AnyRow], deal_id: i64) -> Result<DealRecords> {
    let parts = rows
        .iter()
        .map(RecordPart::from_row)
        .collect::<sqlx::Result<Vec<_>>>()?;
    records_from(parts, deal_id)
}

/// A deal's records from the rows of [`records_sql`], in any order: each kind is kept oldest
/// first (timestamps are fixed-width text, so text order is time order), ties by id.
fn records_from(mut parts: Vec<RecordPart>, deal_id: i64) -> Result<DealRecords> {
    parts.sort_unstable_by(|x, y| (x.k, &x.at, x.id).cmp(&(y.k, &y.at, y.id)));
    let mut out = DealRecords::default();
    let text = |v: Option<String>, column: &str| {
        v.ok_or_else(|| StoreError::Corrupt {
            table: "deals",
            detail: format!("a record of deal {deal_id} has no `{column}`"),
        })
    };
    for RecordPart {
        k,
        id,
        who,
        a,
        b,
        c,
        d,
        n,
        g,
        at,
    } in parts
    {
        match k {
            1 => out.activities.push(ActivityEntry::try_from(&ActivityRow {
                id,
                deal_id,
                member_id: who,
                activity: text(a, "activity")?,
                note: b,
                stage: text(c, "stage")?,
                at,
            })?),
            4 => {
                let first = ActivityEntry::try_from(&ActivityRow {
                    id,
                    deal_id,
                    member_id: who,
                    activity: text(a, "activity")?,
                    note: None,
                    stage: text(c, "stage")?,
                    at,
                })?;
                out.logged.push(LoggedActivity {
                    times: u32::try_from(n).unwrap_or(u32::MAX),
                    ..LoggedActivity::from(&first)
                });
            }
            2 => out.approvals.push(given_approval(&ApprovalRow {
                id,
                deal_id,
                approver_id: who,
                role: text(a, "role")?,
                note: b,
                stage: text(c, "stage")?,
                at,
            })?),
            _ => out
                .stage_changes
                .push(StageChange::try_from(&StageChangeRow {
                    id,
                    deal_id,
                    actor_id: who,
                    from_stage: a,
                    reason: b,
                    to_stage: text(c, "to_stage")?,
                    kind: text(d, "kind")?,
                    overridden: n,
                    gates: g,
                    at,
                })?),
        }
    }
    Ok(out)
}

pub struct NewStageChange<'a> {
    pub deal: &'a Deal,
    /// The interaction whose work this is, if any: recorded with the change (at most once).
    pub effect: Option<Effect<'a>>,
    pub actor_id: i64,
    pub from: Option<&'a str>,
    pub kind: &'a str,
    pub overridden_gates: &'a [String],
    pub reason: Option<&'a str>,
    /// The close date the deal had before the move changed it (closing a deal dates it the
    /// day it closed): kept in its field history with the move.
    pub expected_close: Option<NaiveDate>,
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
         overridden, gates, reason, at, playbook_version) VALUES ($1, $2, $3, $4, $5, $6, $7, \
         $8, $9, $10, (SELECT playbook_version FROM tenants WHERE id = $1))",
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
