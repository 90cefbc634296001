//! Interaction receipts: each chat interaction id is claimed once, and its answer kept so a
//! duplicated delivery gets the same one.
//!
//! A command that applies its change in one write (`/log` and the moves) is claimed by that
//! write: it writes the interaction's *effect* row in its own transaction, and a second
//! application fails on the effect's primary key and rolls back (`StoreError::AlreadyApplied`).
//! What a delivery left behind, its receipt and its effect, is read with the command's first
//! read ([`Seen`]), so a retry is answered from the receipt without running again. The receipt
//! is written with the answer ([`answers_statement`]).
//!
//! Every other command that changes something claims its id first ([`claims_statement`]). That
//! claim is a lease: one whose first attempt never answered (its process was killed) can be
//! taken over by a retry once it is older than the lease; the effect row then tells whether the
//! work was done.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::Row as _;

use super::deals::{self, AsRead};
use super::rows::Columns;
use super::writer::{Value, bind_values};
use super::{Conn, Result, StoreError, parse_ts, ts};

/// A claim waiting for its batch.
#[derive(Debug)]
pub struct ClaimItem {
    pub platform: String,
    pub interaction_id: String,
    pub now: DateTime<Utc>,
    /// An unanswered claim made before this has lapsed and may be taken over.
    pub lapsed_before: DateTime<Utc>,
}

/// What a claim found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimed {
    /// This call claimed the id for the first time.
    First,
    /// This call took over a claim whose lease had lapsed without an answer.
    TakenOver,
    /// Someone else holds the claim (or answered it).
    Held,
}

/// Names the interaction whose work a transaction does, so the work is applied at most once.
#[derive(Debug, Clone, Copy)]
pub struct Effect<'a> {
    pub platform: &'a str,
    pub interaction_id: &'a str,
}

/// An answer waiting for its batch.
#[derive(Debug)]
pub struct AnswerItem {
    pub platform: String,
    pub interaction_id: String,
    pub response: String,
    /// When it was answered: the receipt's time where this answer writes the receipt (a
    /// command claimed by its write has none before).
    pub at: DateTime<Utc>,
    /// The read a refusal was judged on, where that read was kept from an earlier command and
    /// not checked: the answer is written only if the read still holds, and its command is
    /// judged again if not.
    pub unless_changed: Option<AsRead>,
}

/// When recording an answer returns (`Store::record_interaction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recording {
    /// Once it is queued: the reply goes out while it is written.
    Queued,
    /// Once it is written.
    Written,
    /// Once it is written, which it is only while the read it was judged on still holds (see
    /// [`AnswerItem::unless_changed`]).
    WrittenIf(AsRead),
}

/// What the database held of a delivery when a command read: its receipt and its effect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// The receipt: when it was received (claimed or answered), and its answer, if it has one.
    pub receipt: Option<(DateTime<Utc>, Option<String>)>,
    /// When the delivery's work was applied, if it was.
    pub applied_at: Option<DateTime<Utc>>,
}

impl Seen {
    /// Whether the delivery came before: claimed, applied or answered.
    pub fn came_before(&self) -> bool {
        self.receipt.is_some() || self.applied_at.is_some()
    }
}

/// The columns of [`SEEN_JOINS`], for a statement that reads a delivery's [`Seen`] with
/// something else (`seen_from` reads them).
pub const SEEN_COLUMNS: &str = "ir.received_at AS ir_received_at, ir.response AS ir_response, \
     ie.applied_at AS ie_applied_at";

/// The receipt and effect of the delivery `$5` platform, `$6` interaction id (both `NULL`: none).
pub const SEEN_JOINS: &str = "LEFT JOIN interaction_receipts ir \
     ON ir.platform = $5 AND ir.interaction_id = $6 \
     LEFT JOIN interaction_effects ie ON ie.platform = $5 AND ie.interaction_id = $6";

/// The [`Seen`] of a row with [`SEEN_COLUMNS`].
pub(super) fn seen_from(row: &impl Columns) -> Result<Seen> {
    let at = |table: &'static str, column: &str| -> Result<Option<DateTime<Utc>>> {
        row.get::<Option<String>>(column)?
            .map(|text| parse_ts(table, &text))
            .transpose()
    };
    let receipt = at("interaction_receipts", "ir_received_at")?;
    let response = row.get::<Option<String>>("ir_response")?;
    Ok(Seen {
        receipt: receipt.map(|at| (at, response)),
        applied_at: at("interaction_effects", "ie_applied_at")?,
    })
}

/// What the database holds of one delivery, read alone (where the command's first read did not
/// bring it).
pub async fn seen(conn: &mut Conn, platform: &str, interaction_id: &str) -> Result<Seen> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {SEEN_COLUMNS} FROM (SELECT 1 AS one) AS d {}",
            SEEN_JOINS.replace("$5", "$1").replace("$6", "$2")
        )
    });
    let row = sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()))
        .bind(platform)
        .bind(interaction_id)
        .fetch_one(conn)
        .await?;
    seen_from(&row)
}

/// Claims every item in one statement. Of two items with the same id, only the first can
/// claim it. An unanswered claim older than an item's `lapsed_before` is taken over.
pub async fn claim_all(conn: &mut Conn, items: &[impl Borrow<ClaimItem>]) -> Result<Vec<Claimed>> {
    let items: Vec<&ClaimItem> = items.iter().map(Borrow::borrow).collect();
    let rows = rows_of(conn, claims_statement(&items), |row| {
        Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
    })
    .await?;
    Ok(claimed(&items, rows))
}

/// An item of a batch about one delivery.
trait OfDelivery {
    fn delivery(&self) -> (&str, &str);
}

impl OfDelivery for ClaimItem {
    fn delivery(&self) -> (&str, &str) {
        (&self.platform, &self.interaction_id)
    }
}

impl OfDelivery for AnswerItem {
    fn delivery(&self) -> (&str, &str) {
        (&self.platform, &self.interaction_id)
    }
}

/// The first item of each delivery in `items`, in order: PostgreSQL refuses an upsert that
/// touches one row twice.
fn first_of_each<'a, T: OfDelivery>(items: &[&'a T]) -> Vec<&'a T> {
    let mut seen = HashSet::new();
    items
        .iter()
        .copied()
        .filter(|i| seen.insert(i.delivery()))
        .collect()
}

/// `rows` rows of `width` placeholders each, numbered on from `$after + 1`: `($1, $2), ($3, $4)`.
fn placeholder_rows(rows: usize, width: usize, after: usize) -> String {
    (0..rows)
        .map(|row| {
            let first = after + row * width + 1;
            let row: Vec<String> = (first..first + width).map(|n| format!("${n}")).collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The statement that claims `items` and its values, `None` for no items: it returns
/// `(platform, interaction_id, attempts)` for each id it claimed (see [`claimed`]).
pub fn claims_statement(items: &[&ClaimItem]) -> Option<(String, Vec<Value>)> {
    // A duplicate within the batch stays out of the statement: it could not claim anyway (the
    // first one does).
    let sent = first_of_each(items);
    let first = sent.first()?;
    let mut sql = String::from(
        "INSERT INTO interaction_receipts (platform, interaction_id, received_at) VALUES ",
    );
    sql.push_str(&placeholder_rows(sent.len(), 3, 1));
    sql.push_str(
        " ON CONFLICT (platform, interaction_id) DO UPDATE \
         SET received_at = excluded.received_at, attempts = interaction_receipts.attempts + 1 \
         WHERE interaction_receipts.response IS NULL AND interaction_receipts.received_at < $1 \
         RETURNING platform, interaction_id, attempts",
    );
    // One lapse time for the batch: its items were queued within moments of each other.
    let mut values = Vec::with_capacity(1 + sent.len() * 3);
    values.push(Value::from(ts(first.lapsed_before)));
    for item in &sent {
        values.push(Value::from(item.platform.as_str()));
        values.push(Value::from(item.interaction_id.as_str()));
        values.push(Value::from(ts(item.now)));
    }
    Some((sql, values))
}

/// What each of `items` found, from the rows [`claims_statement`]'s statement returned.
pub fn claimed(items: &[&ClaimItem], rows: Vec<(String, String, i64)>) -> Vec<Claimed> {
    let mut claimed: HashMap<(String, String), i64> = rows
        .into_iter()
        .map(|(p, id, attempts)| ((p, id), attempts))
        .collect();
    // `remove` hands the claim to the first of any duplicates in the batch.
    items
        .iter()
        .map(
            |i| match claimed.remove(&(i.platform.clone(), i.interaction_id.clone())) {
                Some(1) => Claimed::First,
                Some(_) => Claimed::TakenOver,
                None => Claimed::Held,
            },
        )
        .collect()
}

/// The head of an effect row's insert, for the scripts and statements that write one with
/// their work (`SELECT platform, interaction_id, applied_at …` follows).
pub const EFFECT: &str = "INSERT INTO interaction_effects (platform, interaction_id, applied_at)";

/// Records that the work of an interaction was applied, inside that work's transaction;
/// `StoreError::AlreadyApplied` if it was applied before (the transaction must then roll back).
pub async fn mark_applied(conn: &mut Conn, effect: Effect<'_>, at: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO interaction_effects (platform, interaction_id, applied_at) VALUES ($1, $2, $3)",
    )
    .bind(effect.platform)
    .bind(effect.interaction_id)
    .bind(ts(at))
    .execute(conn)
    .await
    .map_err(already_applied)?;
    Ok(())
}

/// Whether the work of an interaction was applied.
pub async fn applied(conn: &mut Conn, platform: &str, interaction_id: &str) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM interaction_effects WHERE platform = $1 AND interaction_id = $2",
    )
    .bind(platform)
    .bind(interaction_id)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// `StoreError::AlreadyApplied` for the unique violation of an interaction's effect row; any
/// other error as it is. For the statements (and scripts) that write an effect row.
pub fn already_applied(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db)
            if db.is_unique_violation()
                && (names_effects(db.message())
                    || db.constraint() == Some("interaction_effects_pkey")) =>
        {
            StoreError::AlreadyApplied
        }
        _ => StoreError::Sqlx(e),
    }
}

/// Whether a unique violation's message is about an effect row (SQLite names the table in it).
pub fn names_effects(message: &str) -> bool {
    message.contains("interaction_effects")
}

/// Stores the answers of interactions in one statement; whether each was recorded (see
/// [`recorded`]).
pub async fn record_all(conn: &mut Conn, items: &[impl Borrow<AnswerItem>]) -> Result<Vec<bool>> {
    let items: Vec<&AnswerItem> = items.iter().map(Borrow::borrow).collect();
    let rows = rows_of(conn, answers_statement(&items), |row| {
        Ok((row.try_get(0)?, row.try_get(1)?))
    })
    .await?;
    Ok(recorded(&items, rows))
}

/// The rows a batch `statement` (from [`claims_statement`] or [`answers_statement`]) returns,
/// as `read` makes them; none where there was no statement (no items).
async fn rows_of<T>(
    conn: &mut Conn,
    statement: Option<(String, Vec<Value>)>,
    read: impl Fn(&sqlx::any::AnyRow) -> Result<T>,
) -> Result<Vec<T>> {
    let Some((sql, values)) = statement else {
        return Ok(Vec::new());
    };
    bind_values(sqlx::query(sqlx::AssertSqlSafe(sql)), &values)
        .fetch_all(conn)
        .await?
        .iter()
        .map(read)
        .collect()
}

/// The statement that stores the answers of `items` and its values, `None` for no items. It
/// writes the receipt of a delivery that has none (a command claimed by its write) and answers
/// a claimed one; a receipt answered before keeps its first answer, which is what a duplicate
/// was told. An answer with a read to check (`AnswerItem::unless_changed`) is written only
/// while that read holds and the delivery's work was not applied; where there is one, the
/// statement returns `(platform, interaction_id)` of each answer it wrote.
pub fn answers_statement(items: &[&AnswerItem]) -> Option<(String, Vec<Value>)> {
    // Of two answers to one delivery in a batch, the first is kept, as it would be alone.
    let sent = first_of_each(items);
    if sent.is_empty() {
        return None;
    }
    let checked = sent.iter().any(|i| i.unless_changed.is_some());
    let mut sql = String::from(
        "INSERT INTO interaction_receipts (platform, interaction_id, received_at, response) ",
    );
    if checked {
        // Each row carries the read to check (`NULL`s where there is none); both backends
        // name the columns of a `VALUES` list column1, column2, … A delivery whose work was
        // applied is not judged again: its first answer (perhaps still queued) stands.
        static HOLDS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            let read = [
                "v.column5",
                "v.column6",
                "v.column7",
                "v.column8",
                "v.column9",
            ];
            format!(
                "{} AND NOT EXISTS (SELECT 1 FROM interaction_effects ie \
                 WHERE ie.platform = v.column1 AND ie.interaction_id = v.column2)",
                deals::still_holds(read)
            )
        });
        // The read's five numbers cast, so a row of `NULL`s has their type on PostgreSQL.
        let rows = (0..sent.len())
            .map(|row| {
                let values: Vec<String> = (row * 9 + 1..=row * 9 + 9)
                    .enumerate()
                    .map(|(at, n)| match at {
                        0..4 => format!("${n}"),
                        _ => format!("CAST(${n} AS BIGINT)"),
                    })
                    .collect();
                format!("({})", values.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ");
        sql.push_str(&format!(
            "SELECT v.column1, v.column2, v.column3, v.column4 FROM (VALUES {rows}) AS v \
             WHERE v.column5 IS NULL OR ({})",
            HOLDS.as_str()
        ));
    } else {
        sql.push_str("VALUES ");
        sql.push_str(&placeholder_rows(sent.len(), 4, 0));
    }
    sql.push_str(
        " ON CONFLICT (platform, interaction_id) DO UPDATE SET response = excluded.response \
         WHERE interaction_receipts.response IS NULL",
    );
    if checked {
        sql.push_str(" RETURNING platform, interaction_id");
    }
    let mut values = Vec::with_capacity(sent.len() * if checked { 9 } else { 4 });
    for item in sent {
        values.push(Value::from(item.platform.as_str()));
        values.push(Value::from(item.interaction_id.as_str()));
        values.push(Value::from(ts(item.at)));
        values.push(Value::from(item.response.as_str()));
        if checked {
            let read = item.unless_changed;
            values.push(Value::from(read.map(|r| r.deal_id)));
            values.push(Value::from(read.map(|r| r.version)));
            values.push(Value::from(read.map(|r| r.stamps.session_version)));
            values.push(Value::from(read.map(|r| r.stamps.activities)));
            values.push(Value::from(read.map(|r| r.stamps.approvals)));
        }
    }
    Some((sql, values))
}

/// Whether each of `items` was recorded, from the rows [`answers_statement`]'s statement
/// returned: an answer with no read to check always is (its receipt holds it, or an answer
/// given before); one with a read to check only if the statement wrote it, which it does only
/// for the first answer to its delivery in the batch.
pub fn recorded(items: &[&AnswerItem], rows: Vec<(String, String)>) -> Vec<bool> {
    let written: HashSet<(&str, &str)> =
        rows.iter().map(|(p, i)| (p.as_str(), i.as_str())).collect();
    let mut sent = HashSet::new();
    items
        .iter()
        .map(|i| {
            let first = sent.insert(i.delivery());
            i.unless_changed.is_none() || (first && written.contains(&i.delivery()))
        })
        .collect()
}

/// The stored answer: `None` if never claimed, `Some(None)` while the first delivery runs.
pub async fn find(
    conn: &mut Conn,
    platform: &str,
    interaction_id: &str,
) -> Result<Option<Option<String>>> {
    Ok(sqlx::query_scalar(
        "SELECT response FROM interaction_receipts WHERE platform = $1 AND interaction_id = $2",
    )
    .bind(platform)
    .bind(interaction_id)
    .fetch_optional(conn)
    .await?)
}

/// Deletes the receipts (and effect rows) of interactions received before `before`; returns
/// how many receipts went.
pub async fn prune(conn: &mut Conn, before: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query("DELETE FROM interaction_receipts WHERE received_at < $1")
        .bind(ts(before))
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM interaction_effects WHERE applied_at < $1")
        .bind(ts(before))
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
