//! Small, indexed lookups for autocomplete: a few columns of at most a handful of deals, never a
//! scan that loads rows it does not return.

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::{Backend, Conn, Result};
use crate::engine::ids::{DealNumber, StageId};

/// A deal as an autocomplete choice shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealChoice {
    pub number: DealNumber,
    pub name: String,
    pub stage: StageId,
    pub owner_id: i64,
}

/// Typed as it is read, so the queries below hand out no raw columns.
impl FromRow<'_, AnyRow> for DealChoice {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        let bad = |column: &str, e: String| sqlx::Error::ColumnDecode {
            index: column.to_string(),
            source: e.into(),
        };
        let number: i64 = row.try_get("number")?;
        let stage: String = row.try_get("stage")?;
        Ok(Self {
            number: u32::try_from(number)
                .ok()
                .and_then(DealNumber::new)
                .ok_or_else(|| bad("number", format!("deal number {number}")))?,
            name: row.try_get("name")?,
            stage: stage
                .parse()
                .map_err(|_| bad("stage", format!("stage `{stage}`")))?,
            owner_id: row.try_get("owner_id")?,
        })
    }
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

/// Below three characters a piece of a name has no trigram to look up (SQLite's trigram
/// tokenizer matches nothing, pg_trgm's index would read every row), so a search this short
/// only looks through the newest `SHORT_SEARCH_WINDOW` open deals in scope: one or two letters
/// match most names, so the window fills the page almost at once, and longer text finds any
/// deal however old.
pub const SHORT_SEARCH_MIN_CHARS: usize = 3;

/// How many of the newest open deals in scope a one- or two-character name search reads at
/// most, which bounds the work of one that matches little or nothing.
pub const SHORT_SEARCH_WINDOW: i64 = 2_000;

/// How many of the workspace's newest open deals matching a piece of three characters or more
/// a name search reads at most (SQLite), which bounds a search whose matches are mostly other
/// owners' deals.
pub const NAME_SEARCH_WINDOW: i64 = 2_000;

/// Open deals of `owners` whose name contains `typed` (case-insensitive, `%` and `_` taken
/// literally), newest first, at most `limit`. Three characters or more search every deal in
/// scope through the trigram index of migration 20261206000017; shorter text looks through
/// the newest `SHORT_SEARCH_WINDOW` only.
pub async fn open_deals_named(
    conn: &mut Conn,
    backend: Backend,
    tenant_id: i64,
    owners: Owners,
    typed: &str,
    limit: i64,
) -> Result<Vec<DealChoice>> {
    let pattern = contains_pattern(typed);
    let (owner_clause, member) = owner_clause(owners);
    if typed.chars().count() < SHORT_SEARCH_MIN_CHARS {
        let sql = format!(
            "SELECT number, name, stage, owner_id FROM ( \
               SELECT number, name, stage, owner_id FROM deals \
               WHERE tenant_id = $1 AND status = 'open' AND {owner_clause} \
               ORDER BY number DESC LIMIT $4) AS newest \
             WHERE lower(name) LIKE $3 ESCAPE '\\' ORDER BY number DESC LIMIT $5"
        );
        return Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(member)
            .bind(pattern)
            .bind(SHORT_SEARCH_WINDOW)
            .bind(limit)
            .fetch_all(conn)
            .await?);
    }
    let sql = name_search_sql(backend, owners);
    let q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        // A PostgreSQL plan must see the pattern: see `name_search_sql`.
        .persistent(backend == Backend::Sqlite)
        .bind(tenant_id)
        .bind(member);
    let q = match backend {
        Backend::Sqlite => q.bind(fts_query(tenant_id, typed)),
        Backend::Postgres => q.bind(pattern),
    };
    let q = q.bind(limit);
    let q = match backend {
        Backend::Sqlite => q.bind(fts_name(typed)),
        Backend::Postgres => q,
    };
    Ok(q.fetch_all(conn).await?)
}

/// The statement of a name search of three characters or more: `$1` the workspace, `$2` the
/// member of `owners`, `$3` the piece (an FTS5 query made by `fts_query` on SQLite, a
/// `contains_pattern` on PostgreSQL), `$4` the limit; on SQLite `$5` the piece anywhere
/// (`fts_name`). Public so a test can check SQLite's plan for it.
pub fn name_search_sql(backend: Backend, owners: Owners) -> String {
    let (owner_clause, _) = owner_clause(owners);
    match backend {
        // The index walks the workspace's matching names newest row first (rowid order is
        // creation order, which within a workspace is number order) and stops once the page
        // is full, so a common piece costs no more than a rare one. A trigram phrase matches
        // exactly the names containing `typed`, case folded by the tokenizer; the workspace
        // term keeps other workspaces' matches out of the walk. `d.tenant_id = $1` stays as
        // the rule the index's term only speeds up.
        //
        // A workspace holding most of the file's deals searches by the name alone (`$5`):
        // its own term is in nearly every row, so intersecting with it only added to what the
        // walk reads ("account 7" over 100,000 deals: 11.8 ms by name, 18.0 ms with the term,
        // measured with the index's `workspace` column first). Its next deal number against
        // the file's highest deal id tells which, from one row of each of two indexes; an
        // import that kept high numbers only sends a small workspace down the slower path.
        //
        // CROSS JOIN keeps the index the outer loop: with a plain JOIN SQLite 3.51 walks the
        // owner's deals and runs the full-text query once per deal (seconds over 100,000
        // deals).
        //
        // The walk stops after the workspace's newest `NAME_SEARCH_WINDOW` matches, whoever
        // owns them: an owner filter alone would walk every match of a common piece to find
        // the few of a rep whose deals are old (16 ms for "account 7" over 100,000 deals, and
        // more under load); the caller's section then shows what the window held, and a few
        // more characters narrow it.
        Backend::Sqlite => format!(
            "SELECT number, name, stage, owner_id FROM ( \
               SELECT d.number, d.name, d.stage, d.owner_id, deal_names.rowid AS found \
               FROM deal_names CROSS JOIN deals d ON d.id = deal_names.rowid \
               WHERE deal_names MATCH (CASE WHEN (SELECT next_deal_number FROM tenants \
                 WHERE id = $1) * 2 > (SELECT MAX(id) FROM deals) THEN $5 ELSE $3 END) \
                 AND d.tenant_id = $1 AND d.status = 'open' \
               ORDER BY deal_names.rowid DESC LIMIT {NAME_SEARCH_WINDOW}) AS newest \
             WHERE {owner_clause} ORDER BY found DESC LIMIT $4"
        ),
        // The GIN trigram index on lower(name) serves this LIKE (backslash is PostgreSQL's
        // default LIKE escape), and the planner weighs it against walking the deals newest
        // first, which wins when the piece is common. That choice needs the pattern itself:
        // a cached generic plan cannot see it and walks every deal for a piece that matches
        // nothing (60 ms over 100,000 deals against 0.1 ms), so the caller does not keep this
        // statement prepared and each search is planned with its own pattern.
        Backend::Postgres => format!(
            "SELECT number, name, stage, owner_id FROM deals \
             WHERE tenant_id = $1 AND status = 'open' AND {owner_clause} \
               AND lower(name) LIKE $3 \
             ORDER BY number DESC LIMIT $4"
        ),
    }
}

/// An FTS5 query for "a deal of workspace `tenant_id` whose name contains `typed`": the
/// workspace's term (written by migration 20261206000017's triggers) and one phrase, every
/// character of it literal (a `"` doubled). Public so a test can ask the index what it walks.
pub fn fts_query(tenant_id: i64, typed: &str) -> String {
    format!("workspace : \"<{tenant_id}>\" AND {}", fts_name(typed))
}

/// An FTS5 query for "a deal whose name contains `typed`", in any workspace.
pub fn fts_name(typed: &str) -> String {
    format!("name : \"{}\"", typed.replace('"', "\"\""))
}

/// Open deals of `owners` whose number starts with the digits `prefix` (`12` → 12, 120–129,
/// 1200–1299, …), lowest first. Each length is an index range, so this never scans.
pub async fn open_deals_numbered(
    conn: &mut Conn,
    tenant_id: i64,
    owners: Owners,
    prefix: u32,
    limit: i64,
) -> Result<Vec<DealChoice>> {
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
