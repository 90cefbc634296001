//! Aggregates for the forecast, computed in SQL so a large pipeline is never loaded row by row.

use chrono::NaiveDate;
use sqlx::AssertSqlSafe;

use super::{Conn, Result, StoreError, date_text};
use crate::engine::forecast::YearMonth;
use crate::engine::ids::StageId;

/// Which open deals count.
#[derive(Debug, Default, Clone)]
pub struct PipelineFilter<'a> {
    pub owners: Option<&'a [i64]>,
    /// Close date on or after.
    pub from: Option<NaiveDate>,
    /// Close date before.
    pub until: Option<NaiveDate>,
}

/// Deals sharing a stage, an owner and a month (of their close date, or of the day they closed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub stage: StageId,
    pub owner_id: i64,
    pub month: YearMonth,
    pub count: u64,
    /// Sum of amounts, minor units.
    pub amount: i64,
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    stage: String,
    owner_id: i64,
    month: String,
    n: i64,
    amount: i64,
}

impl TryFrom<GroupRow> for Group {
    type Error = StoreError;

    fn try_from(g: GroupRow) -> Result<Self> {
        let corrupt = || StoreError::Corrupt {
            table: "deals",
            detail: format!("stage `{}` / month `{}`", g.stage, g.month),
        };
        let (year, month) = g.month.split_once('-').ok_or_else(corrupt)?;
        Ok(Self {
            stage: g.stage.parse().map_err(|_| corrupt())?,
            owner_id: g.owner_id,
            month: YearMonth {
                year: year.parse().map_err(|_| corrupt())?,
                month: month.parse().map_err(|_| corrupt())?,
            },
            count: u64::try_from(g.n).map_err(|_| corrupt())?,
            amount: g.amount,
        })
    }
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
) -> Result<Vec<Group>> {
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
    q.fetch_all(conn)
        .await?
        .into_iter()
        .map(Group::try_from)
        .collect()
}

/// Open deals grouped by stage, owner and close month, filtered by close date.
pub async fn open_groups(
    conn: &mut Conn,
    tenant_id: i64,
    filter: &PipelineFilter<'_>,
) -> Result<Vec<Group>> {
    grouped(conn, tenant_id, "open", "close_date", filter).await
}

/// Won deals grouped by owner and the month they closed, filtered by the day they closed.
pub async fn won_groups(
    conn: &mut Conn,
    tenant_id: i64,
    filter: &PipelineFilter<'_>,
) -> Result<Vec<Group>> {
    grouped(conn, tenant_id, "won", "closed_at", filter).await
}
