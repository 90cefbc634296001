//! Aggregates for the forecast, computed in SQL so a large pipeline is never loaded row by row.

use chrono::NaiveDate;
use sqlx::AssertSqlSafe;

use super::{Conn, Result, date_text};

/// Which open deals count.
#[derive(Debug, Default, Clone)]
pub struct PipelineFilter<'a> {
    pub owners: Option<&'a [i64]>,
    /// Close date on or after.
    pub from: Option<NaiveDate>,
    /// Close date before.
    pub until: Option<NaiveDate>,
}

/// One group: deals sharing stage (or owner) and a close month (`YYYY-MM`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupRow {
    pub stage: String,
    pub owner_id: i64,
    pub month: String,
    pub n: i64,
    pub amount: i64,
}

fn where_clause(filter: &PipelineFilter<'_>, date_column: &str, first: usize) -> (String, usize) {
    let mut sql = String::new();
    let mut n = first;
    if filter.from.is_some() {
        n += 1;
        sql.push_str(&format!(" AND {date_column} >= ${n}"));
    }
    if filter.until.is_some() {
        n += 1;
        sql.push_str(&format!(" AND {date_column} < ${n}"));
    }
    if let Some(owners) = filter.owners {
        let marks: Vec<String> = (0..owners.len())
            .map(|i| format!("${}", n + 1 + i))
            .collect();
        n += owners.len();
        sql.push_str(&format!(" AND owner_id IN ({})", marks.join(", ")));
    }
    (sql, n)
}

async fn grouped(
    conn: &mut Conn,
    tenant_id: i64,
    status: &str,
    date_column: &str,
    filter: &PipelineFilter<'_>,
) -> Result<Vec<GroupRow>> {
    if filter.owners.is_some_and(|o| o.is_empty()) {
        return Ok(Vec::new());
    }
    let (extra, _) = where_clause(filter, date_column, 2);
    // CAST keeps SUM an integer on every backend (PostgreSQL would otherwise return NUMERIC).
    let sql = format!(
        "SELECT stage, owner_id, substr({date_column}, 1, 7) AS month, COUNT(*) AS n, \
         CAST(SUM(amount) AS BIGINT) AS amount FROM deals \
         WHERE tenant_id = $1 AND status = $2{extra} GROUP BY stage, owner_id, month"
    );
    let mut q = sqlx::query_as::<_, GroupRow>(AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(status);
    if let Some(from) = filter.from {
        q = q.bind(date_text(from));
    }
    if let Some(until) = filter.until {
        q = q.bind(date_text(until));
    }
    for owner in filter.owners.unwrap_or_default() {
        q = q.bind(*owner);
    }
    Ok(q.fetch_all(conn).await?)
}

/// Open deals grouped by stage, owner and close month, filtered by close date.
pub async fn open_groups(
    conn: &mut Conn,
    tenant_id: i64,
    filter: &PipelineFilter<'_>,
) -> Result<Vec<GroupRow>> {
    grouped(conn, tenant_id, "open", "close_date", filter).await
}

/// Won deals grouped by owner and the month they closed, filtered by the day they closed.
pub async fn won_groups(
    conn: &mut Conn,
    tenant_id: i64,
    filter: &PipelineFilter<'_>,
) -> Result<Vec<GroupRow>> {
    grouped(conn, tenant_id, "won", "closed_at", filter).await
}
