//! Small, indexed lookups for autocomplete: a few columns of at most a handful of deals, never a
//! scan that loads rows it does not return.

use sqlx::FromRow;

use super::{Conn, Result};

/// A deal as an autocomplete choice shows it.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct DealChoiceRow {
    pub number: i64,
    pub name: String,
    pub stage: String,
    pub owner_id: i64,
}

/// Whose open deals to look through.
#[derive(Debug, Clone, Copy)]
pub enum Owners {
    /// Only this member's.
    One(i64),
    /// The members this manager manages directly.
    ReportsOf(i64),
    /// Everyone's but this member's.
    AllBut(i64),
}

/// `LIKE` pattern for "contains `typed`", with the wildcards in `typed` taken literally.
pub fn contains_pattern(typed: &str) -> String {
    let mut p = String::from("%");
    for c in typed.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// How many of the newest open deals in scope a name search looks through. A substring cannot
/// use an index, so this bounds the work of a search that matches little or nothing: about
/// 10 ms on SQLite, whatever the size of the workspace. Older deals are found by number.
pub const NAME_SEARCH_WINDOW: i64 = 10_000;

/// Open deals of `owners` whose name contains `pattern` (see `contains_pattern`), among the
/// newest `NAME_SEARCH_WINDOW`, highest number first, at most `limit`.
pub async fn open_deals_named(
    conn: &mut Conn,
    tenant_id: i64,
    owners: Owners,
    pattern: &str,
    limit: i64,
) -> Result<Vec<DealChoiceRow>> {
    let (owner_clause, member) = owner_clause(owners);
    let sql = format!(
        "SELECT number, name, stage, owner_id FROM ( \
           SELECT number, name, stage, owner_id FROM deals \
           WHERE tenant_id = $1 AND status = 'open' AND {owner_clause} \
           ORDER BY number DESC LIMIT $4) \
         WHERE lower(name) LIKE $3 ESCAPE '\\' ORDER BY number DESC LIMIT $5"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(member)
        .bind(pattern)
        .bind(NAME_SEARCH_WINDOW)
        .bind(limit)
        .fetch_all(conn)
        .await?)
}

/// Open deals of `owners` whose number starts with the digits `prefix` (`12` → 12, 120–129,
/// 1200–1299, …), lowest first. Each length is an index range, so this never scans.
pub async fn open_deals_numbered(
    conn: &mut Conn,
    tenant_id: i64,
    owners: Owners,
    prefix: u32,
    limit: i64,
) -> Result<Vec<DealChoiceRow>> {
    if prefix == 0 {
        // No deal number starts with 0.
        return Ok(Vec::new());
    }
    let (owner_clause, member) = owner_clause(owners);
    let mut ranges = Vec::new();
    let (mut low, mut high) = (i64::from(prefix), i64::from(prefix));
    while low <= i64::from(u32::MAX) {
        ranges.push((low, high));
        low *= 10;
        high = high * 10 + 9;
    }
    let terms: Vec<String> = (0..ranges.len())
        .map(|i| format!("number BETWEEN ${} AND ${}", 4 + 2 * i, 5 + 2 * i))
        .collect();
    let sql = format!(
        "SELECT number, name, stage, owner_id FROM deals \
         WHERE tenant_id = $1 AND status = 'open' AND {owner_clause} AND ({}) \
         ORDER BY number LIMIT $3",
        terms.join(" OR ")
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(member)
        .bind(limit);
    for (low, high) in ranges {
        q = q.bind(low).bind(high);
    }
    Ok(q.fetch_all(conn).await?)
}

fn owner_clause(owners: Owners) -> (&'static str, i64) {
    match owners {
        Owners::One(id) => ("owner_id = $2", id),
        Owners::ReportsOf(id) => (
            "owner_id IN (SELECT id FROM members WHERE tenant_id = $1 AND manager_id = $2)",
            id,
        ),
        Owners::AllBut(id) => ("owner_id <> $2", id),
    }
}

/// One deal's stage and status, for suggesting its activities and the stages ahead.
pub async fn deal_stage(conn: &mut Conn, tenant_id: i64, number: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT stage FROM deals WHERE tenant_id = $1 AND number = $2 AND status = 'open'",
    )
    .bind(tenant_id)
    .bind(number)
    .fetch_optional(conn)
    .await?)
}

/// A trivial query: does the database answer?
pub async fn ping(conn: &mut Conn) -> Result<()> {
    sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(conn)
        .await?;
    Ok(())
}
