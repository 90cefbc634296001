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

/// Open deals of `owners` whose name contains `pattern` (see `contains_pattern`) or whose
/// number starts with `number_prefix`, highest number first, at most `limit`.
pub async fn open_deals_matching(
    conn: &mut Conn,
    tenant_id: i64,
    owners: Owners,
    pattern: &str,
    number_prefix: &str,
    limit: i64,
) -> Result<Vec<DealChoiceRow>> {
    let owner_clause = match owners {
        Owners::One(_) => "owner_id = $2",
        Owners::ReportsOf(_) => {
            "owner_id IN (SELECT id FROM members WHERE tenant_id = $1 AND manager_id = $2)"
        }
        Owners::AllBut(_) => "owner_id <> $2",
    };
    let member = match owners {
        Owners::One(id) | Owners::ReportsOf(id) | Owners::AllBut(id) => id,
    };
    // An empty prefix would match every number; `number_prefix` is then a value no number
    // starts with, so the name alone decides.
    let sql = format!(
        "SELECT number, name, stage, owner_id FROM deals \
         WHERE tenant_id = $1 AND status = 'open' AND {owner_clause} \
         AND (lower(name) LIKE $3 ESCAPE '\\' OR CAST(number AS TEXT) LIKE $4) \
         ORDER BY number DESC LIMIT $5"
    );
    let prefix = if number_prefix.is_empty() {
        "-".to_string()
    } else {
        format!("{number_prefix}%")
    };
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(member)
        .bind(pattern)
        .bind(prefix)
        .bind(limit)
        .fetch_all(conn)
        .await?)
}

/// The open deal with exactly this number, with its owner's manager (for the may-act check).
pub async fn open_deal_by_number(
    conn: &mut Conn,
    tenant_id: i64,
    number: i64,
) -> Result<Option<(DealChoiceRow, Option<i64>)>> {
    #[derive(FromRow)]
    struct Row {
        number: i64,
        name: String,
        stage: String,
        owner_id: i64,
        manager_id: Option<i64>,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT d.number, d.name, d.stage, d.owner_id, m.manager_id FROM deals d \
         JOIN members m ON m.id = d.owner_id \
         WHERE d.tenant_id = $1 AND d.number = $2 AND d.status = 'open'",
    )
    .bind(tenant_id)
    .bind(number)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| {
        (
            DealChoiceRow {
                number: r.number,
                name: r.name,
                stage: r.stage,
                owner_id: r.owner_id,
            },
            r.manager_id,
        )
    }))
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
