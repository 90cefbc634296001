//! What imports write and exports read: deals by the id another system gave them, and history
//! rows marked with the import that wrote them.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::{Conn, DealRow, Result, date_text, ts};
use crate::engine::deal::{Deal, DealStatus};
use crate::engine::ids::{FieldName, Money, StageId};

/// The deals of a workspace that `source` gave these ids, by id.
pub async fn by_source_ids(
    conn: &mut Conn,
    tenant_id: i64,
    source: &str,
    ids: &[&str],
) -> Result<HashMap<String, Deal>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT * FROM deals WHERE tenant_id = $1 AND source = $2 AND source_id IN ({})",
        placeholders.join(", ")
    );
    // Planned for these ids each time, not once for any: a plan PostgreSQL caches while a
    // workspace is small scans the table ever after.
    let mut query = sqlx::query(AssertSqlSafe(sql))
        .persistent(false)
        .bind(tenant_id)
        .bind(source);
    for id in ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| {
            let source_id: String = row.try_get("source_id")?;
            Ok((source_id, Deal::try_from(DealRow::from_row(row)?)?))
        })
        .collect()
}

/// A deal as an import creates it: every column given, history written beside it.
pub struct ImportedDeal<'a> {
    pub tenant_id: i64,
    pub number: i64,
    pub name: &'a str,
    pub owner_id: i64,
    pub amount: Money,
    pub close_date: NaiveDate,
    pub stage: &'a StageId,
    pub stage_entered_at: DateTime<Utc>,
    pub status: DealStatus,
    pub fields: &'a std::collections::BTreeMap<FieldName, String>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub out_of_process: usize,
    pub source: &'a str,
    pub source_id: &'a str,
}

/// Whether `conn` is SQLite's, whose numbered parameters are written `?N`.
fn is_sqlite(conn: &Conn) -> bool {
    conn.backend_name().eq_ignore_ascii_case("sqlite")
}

/// `template` with each `$N` written as parameter `offset + N` of a long statement: `?N` on
/// SQLite, which finds it by number rather than by searching the statement's parameter names
/// for `$N`.
fn numbered(template: &str, sqlite: bool, offset: usize) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let digits = rest[at + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(rest.len() - at - 1, |n| n);
        let n: usize = rest[at + 1..at + 1 + digits].parse().unwrap_or(0);
        out.push(if sqlite { '?' } else { '$' });
        out.push_str(&(offset + n).to_string());
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
    out
}

/// One deal's row of `insert_deals`, `$1` its workspace (named twice).
const DEAL_ROW: &str = "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $13, $14, \
     (SELECT playbook_version FROM tenants WHERE id = $1), $15, $16)";

/// One stage change's row of `insert_changes`, `$1` its workspace (named twice).
const CHANGE_ROW: &str = "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
     (SELECT playbook_version FROM tenants WHERE id = $1), $11)";

/// Inserts deals a few dozen to a statement (see `ROWS`) and returns them as written, by
/// source id.
pub async fn insert_deals(
    conn: &mut Conn,
    deals: &[ImportedDeal<'_>],
    now: DateTime<Utc>,
) -> Result<HashMap<String, Deal>> {
    const COLUMNS: usize = 16;
    // Statements of a few dozen rows: sqlx looks each parameter's name up from the statement
    // as it binds it, in time that grows with their number, so past a few hundred parameters a
    // longer statement costs more than the round trip it saves. Each length is a statement
    // of its own to parse, and none is kept (`persistent(false)`).
    const ROWS: usize = 16;
    let mut written = HashMap::with_capacity(deals.len());
    let sqlite = is_sqlite(conn);
    for chunk in deals.chunks(ROWS) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|r| numbered(DEAL_ROW, sqlite, r * COLUMNS))
            .collect();
        let sql = format!(
            "INSERT INTO deals (tenant_id, number, name, owner_id, amount, close_date, stage, \
             stage_entered_at, status, fields, version, created_at, updated_at, closed_at, \
             out_of_process, playbook_version, source, source_id) VALUES {} RETURNING *",
            rows.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).persistent(false);
        for d in chunk {
            query = query
                .bind(d.tenant_id)
                .bind(d.number)
                .bind(d.name)
                .bind(d.owner_id)
                .bind(d.amount.minor())
                .bind(date_text(d.close_date))
                .bind(d.stage.as_str())
                .bind(ts(d.stage_entered_at))
                .bind(d.status.as_str())
                .bind(fields_text(d.fields))
                .bind(ts(d.created_at))
                .bind(ts(now))
                .bind(d.closed_at.map(ts))
                .bind(i64::try_from(d.out_of_process).unwrap_or(i64::MAX))
                .bind(d.source)
                .bind(d.source_id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let source_id: String = row.try_get("source_id")?;
            written.insert(source_id, Deal::try_from(DealRow::from_row(&row)?)?);
        }
    }
    Ok(written)
}

/// Whether no deal of the workspace has this number.
pub async fn number_free(conn: &mut Conn, tenant_id: i64, number: i64) -> Result<bool> {
    let taken: Option<i64> =
        sqlx::query_scalar("SELECT id FROM deals WHERE tenant_id = $1 AND number = $2")
            .bind(tenant_id)
            .bind(number)
            .fetch_optional(conn)
            .await?;
    Ok(taken.is_none())
}

/// Makes sure the workspace's next new deal is numbered after `number`.
pub async fn number_after(conn: &mut Conn, tenant_id: i64, number: i64) -> Result<()> {
    sqlx::query(
        "UPDATE tenants SET next_deal_number = $2 + 1 WHERE id = $1 AND next_deal_number <= $2",
    )
    .bind(tenant_id)
    .bind(number)
    .execute(conn)
    .await?;
    Ok(())
}

/// A stage change an import writes, marked with its source.
pub struct ImportedChange<'a> {
    pub tenant_id: i64,
    pub deal_id: i64,
    pub actor_id: i64,
    pub from: Option<&'a str>,
    pub to: &'a str,
    pub kind: &'a str,
    pub overridden_gates: &'a [String],
    pub reason: Option<&'a str>,
    pub at: DateTime<Utc>,
    pub source: &'a str,
}

pub async fn insert_change(conn: &mut Conn, c: &ImportedChange<'_>) -> Result<()> {
    insert_changes(conn, std::slice::from_ref(c)).await
}

/// Inserts several stage changes in one statement (a deal's whole imported history).
pub async fn insert_changes(conn: &mut Conn, changes: &[ImportedChange<'_>]) -> Result<()> {
    const ROWS: usize = 32;
    for chunk in changes.chunks(ROWS) {
        insert_chunk(conn, chunk).await?;
    }
    Ok(())
}

async fn insert_chunk(conn: &mut Conn, changes: &[ImportedChange<'_>]) -> Result<()> {
    const COLUMNS: usize = 11;
    let sqlite = is_sqlite(conn);
    let rows: Vec<String> = (0..changes.len())
        .map(|r| numbered(CHANGE_ROW, sqlite, r * COLUMNS))
        .collect();
    let sql = format!(
        "INSERT INTO stage_changes (tenant_id, deal_id, actor_id, from_stage, to_stage, kind, \
         overridden, gates, reason, at, playbook_version, source) VALUES {}",
        rows.join(", ")
    );
    let mut query = sqlx::query(AssertSqlSafe(sql)).persistent(false);
    for c in changes {
        let gates = (!c.overridden_gates.is_empty()).then(|| c.overridden_gates.join("\n"));
        query = query
            .bind(c.tenant_id)
            .bind(c.deal_id)
            .bind(c.actor_id)
            .bind(c.from)
            .bind(c.to)
            .bind(c.kind)
            .bind(i64::from(!c.overridden_gates.is_empty()))
            .bind(gates)
            .bind(c.reason)
            .bind(ts(c.at))
            .bind(c.source);
    }
    query.execute(conn).await?;
    Ok(())
}

/// Takes `count` deal numbers of a workspace at once (see `tenants::take_deal_number`): the
/// range of them.
pub async fn take_deal_numbers(
    conn: &mut Conn,
    tenant_id: i64,
    count: i64,
) -> Result<std::ops::Range<i64>> {
    if count == 0 {
        return Ok(0..0);
    }
    let first: i64 = sqlx::query_scalar(
        "UPDATE tenants SET next_deal_number = next_deal_number + $2 WHERE id = $1 \
         RETURNING next_deal_number - $2",
    )
    .bind(tenant_id)
    .bind(count)
    .fetch_one(conn)
    .await?;
    Ok(first..first + count)
}

/// A stage change as a deal's history holds it, for an import to compare against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldChange {
    pub id: i64,
    pub actor_id: i64,
    pub kind: String,
    pub from: Option<String>,
    pub to: String,
    pub at: String,
    /// The overridden requirements, one per line.
    pub gates: Option<String>,
    pub reason: Option<String>,
    /// The import that wrote it; `None`: it happened in dealgate.
    pub source: Option<String>,
}

pub async fn changes(conn: &mut Conn, deal_id: i64) -> Result<Vec<HeldChange>> {
    let rows = sqlx::query(
        "SELECT id, actor_id, kind, from_stage, to_stage, at, gates, reason, source \
         FROM stage_changes \
         WHERE deal_id = $1 ORDER BY at, id",
    )
    .bind(deal_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HeldChange {
                id: r.try_get("id")?,
                actor_id: r.try_get("actor_id")?,
                kind: r.try_get("kind")?,
                from: r.try_get("from_stage")?,
                to: r.try_get("to_stage")?,
                at: r.try_get("at")?,
                gates: r.try_get("gates")?,
                reason: r.try_get("reason")?,
                source: r.try_get("source")?,
            })
        })
        .collect()
}

pub async fn delete_change(conn: &mut Conn, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM stage_changes WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// An activity an import writes, marked with its source.
pub struct ImportedActivity<'a> {
    pub tenant_id: i64,
    pub deal_id: i64,
    pub member_id: i64,
    pub activity: &'a str,
    pub note: Option<&'a str>,
    pub stage: &'a str,
    pub at: DateTime<Utc>,
    pub source: &'a str,
}

/// Inserts the activity unless the deal already has it (the same activity, by the same member,
/// at the same moment); whether it was inserted.
pub async fn insert_activity(conn: &mut Conn, a: &ImportedActivity<'_>) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO activities (tenant_id, deal_id, member_id, activity, note, stage, at, \
         source) SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE NOT EXISTS (SELECT 1 FROM \
         activities WHERE deal_id = $2 AND member_id = $3 AND activity = $4 AND at = $7)",
    )
    .bind(a.tenant_id)
    .bind(a.deal_id)
    .bind(a.member_id)
    .bind(a.activity)
    .bind(a.note)
    .bind(a.stage)
    .bind(ts(a.at))
    .bind(a.source)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether the deal already has this activity (the same one, by the same member, at the same
/// moment).
pub async fn has_activity(conn: &mut Conn, a: &ImportedActivity<'_>) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM activities WHERE deal_id = $1 AND member_id = $2 AND activity = $3 \
         AND at = $4",
    )
    .bind(a.deal_id)
    .bind(a.member_id)
    .bind(a.activity)
    .bind(ts(a.at))
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Marks a deal's process standing as not judged, so the next read that shows it judges it with
/// the history an import just gave it.
pub async fn unjudge(conn: &mut Conn, deal_id: i64) -> Result<()> {
    sqlx::query("UPDATE deals SET out_of_process = NULL WHERE id = $1")
        .bind(deal_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// One deal of an export, with its owner's name and key.
#[derive(Debug, Clone)]
pub struct ExportedDeal {
    pub deal: Deal,
    pub owner_name: String,
    pub owner_key: String,
    pub source: Option<String>,
    pub source_id: Option<String>,
}

/// Up to `limit` deals of a workspace after deal id `after`, in id order: an export pages
/// through a workspace of any size without holding it.
pub async fn deals_page(
    conn: &mut Conn,
    tenant_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<ExportedDeal>> {
    let rows = sqlx::query(
        "SELECT d.*, m.display_name AS owner_name, m.user_key AS owner_key FROM deals d \
         JOIN members m ON m.id = d.owner_id WHERE d.tenant_id = $1 AND d.id > $2 \
         ORDER BY d.id LIMIT $3",
    )
    .bind(tenant_id)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ExportedDeal {
                deal: Deal::try_from(DealRow::from_row(row)?)?,
                owner_name: row.try_get("owner_name")?,
                owner_key: row.try_get("owner_key")?,
                source: row.try_get("source")?,
                source_id: row.try_get("source_id")?,
            })
        })
        .collect()
}

/// One activity of an export.
#[derive(Debug, Clone, FromRow)]
pub struct ExportedActivity {
    pub id: i64,
    pub number: i64,
    pub activity: String,
    pub stage: String,
    pub member_name: String,
    pub member_key: String,
    pub note: Option<String>,
    pub at: String,
}

/// Where an export of activities or stage changes stands: the deal number, time and id of
/// the last row written. Rows go out by deal, then in the order they happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub number: i64,
    pub at: String,
    pub id: i64,
}

impl Cursor {
    pub fn start() -> Self {
        Self {
            number: 0,
            at: String::new(),
            id: 0,
        }
    }
}

/// Up to `limit` activities of a workspace after `after`, by deal, time and id.
pub async fn activities_page(
    conn: &mut Conn,
    tenant_id: i64,
    after: &Cursor,
    limit: i64,
) -> Result<Vec<ExportedActivity>> {
    Ok(sqlx::query_as(
        "SELECT a.id, d.number, a.activity, a.stage, m.display_name AS member_name, \
         m.user_key AS member_key, a.note, a.at FROM activities a \
         JOIN deals d ON d.id = a.deal_id JOIN members m ON m.id = a.member_id \
         WHERE a.tenant_id = $1 AND (d.number, a.at, a.id) > ($2, $3, $4) \
         ORDER BY d.number, a.at, a.id LIMIT $5",
    )
    .bind(tenant_id)
    .bind(after.number)
    .bind(&after.at)
    .bind(after.id)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// One stage change of an export.
#[derive(Debug, Clone, FromRow)]
pub struct ExportedChange {
    pub id: i64,
    pub number: i64,
    pub from_stage: Option<String>,
    pub to_stage: String,
    pub kind: String,
    pub actor_name: String,
    pub actor_key: String,
    pub overridden: i64,
    pub gates: Option<String>,
    pub reason: Option<String>,
    pub at: String,
}

/// Up to `limit` stage changes of a workspace after `after`, by deal, time and id.
pub async fn changes_page(
    conn: &mut Conn,
    tenant_id: i64,
    after: &Cursor,
    limit: i64,
) -> Result<Vec<ExportedChange>> {
    Ok(sqlx::query_as(
        "SELECT c.id, d.number, c.from_stage, c.to_stage, c.kind, m.display_name AS actor_name, \
         m.user_key AS actor_key, c.overridden, c.gates, c.reason, c.at FROM stage_changes c \
         JOIN deals d ON d.id = c.deal_id JOIN members m ON m.id = c.actor_id \
         WHERE c.tenant_id = $1 AND (d.number, c.at, c.id) > ($2, $3, $4) \
         ORDER BY d.number, c.at, c.id LIMIT $5",
    )
    .bind(tenant_id)
    .bind(after.number)
    .bind(&after.at)
    .bind(after.id)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Counts of what a workspace holds, for an import's before-and-after.
pub async fn counts(conn: &mut Conn, tenant_id: i64) -> Result<(i64, i64, i64)> {
    let row: AnyRow = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM deals WHERE tenant_id = $1) AS deals, \
         (SELECT COUNT(*) FROM activities WHERE tenant_id = $1) AS activities, \
         (SELECT COUNT(*) FROM stage_changes WHERE tenant_id = $1) AS changes",
    )
    .bind(tenant_id)
    .fetch_one(conn)
    .await?;
    Ok((
        row.try_get("deals")?,
        row.try_get("activities")?,
        row.try_get("changes")?,
    ))
}

/// Custom fields as the `fields` column keeps them: a JSON object of strings.
fn fields_text(fields: &std::collections::BTreeMap<FieldName, String>) -> String {
    let plain: std::collections::BTreeMap<&str, &str> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    serde_json::to_string(&plain).unwrap_or_else(|_| "{}".to_string())
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn a_row_template_is_numbered_from_its_offset_in_each_backends_style() {
        let template = "($1, $2, (SELECT v FROM t WHERE id = $1), $10)";
        assert_eq!(
            numbered(template, true, 20),
            "(?21, ?22, (SELECT v FROM t WHERE id = ?21), ?30)"
        );
        assert_eq!(
            numbered(template, false, 0),
            "($1, $2, (SELECT v FROM t WHERE id = $1), $10)"
        );
        assert_eq!(numbered("($16)", false, 16), "($32)");
    }
}
