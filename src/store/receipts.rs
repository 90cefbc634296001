//! Interaction receipts: each chat interaction id is claimed once, and its answer kept so a
//! duplicated delivery gets the same one.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::group_commit::GroupCommit;
use super::{Conn, Connections, Result, StoreError, ts};

/// A claim waiting for its batch.
#[derive(Debug)]
pub struct ClaimItem {
    pub platform: String,
    pub interaction_id: String,
    pub now: DateTime<Utc>,
}

/// An answer waiting for its batch.
#[derive(Debug)]
pub struct AnswerItem {
    pub platform: String,
    pub interaction_id: String,
    pub response: String,
}

/// Claims and answers of concurrent interactions, each kind written together (see
/// `group_commit`): a command that changes something costs its own write and a share of two
/// batched ones on the writer, instead of three writes.
#[derive(Debug, Default)]
pub struct Batched {
    claims: GroupCommit<ClaimItem, bool>,
    answers: GroupCommit<AnswerItem, ()>,
}

impl Batched {
    /// Claims an interaction id, batched with other callers' claims; true when this call
    /// claimed it, false when it was claimed before.
    pub async fn claim(&self, writer: &Connections, item: ClaimItem) -> Result<bool> {
        self.claims
            .submit(item, |items| {
                let writer = writer.clone();
                async move {
                    let mut conn = writer.acquire().await?;
                    claim_all(&mut conn, &items).await
                }
            })
            .await
            .map_err(StoreError::Shared)
    }

    /// Stores the answer of a claimed interaction, batched with other callers' answers.
    pub async fn record(&self, writer: &Connections, item: AnswerItem) -> Result<()> {
        self.answers
            .submit(item, |items| {
                let writer = writer.clone();
                async move {
                    let mut conn = writer.acquire().await?;
                    record_all(&mut conn, &items).await?;
                    Ok(vec![(); items.len()])
                }
            })
            .await
            .map_err(StoreError::Shared)
    }
}

/// Claims every item in one statement; for each, true when this call claimed it. Of two items
/// with the same id, only the first can claim it.
pub async fn claim_all(conn: &mut Conn, items: &[ClaimItem]) -> Result<Vec<bool>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = String::from(
        "INSERT INTO interaction_receipts (platform, interaction_id, received_at) VALUES ",
    );
    for i in 0..items.len() {
        let n = i * 3;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, ${}, ${})", n + 1, n + 2, n + 3));
    }
    sql.push_str(" ON CONFLICT DO NOTHING RETURNING platform, interaction_id");
    let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
    for item in items {
        query = query
            .bind(item.platform.as_str())
            .bind(item.interaction_id.as_str())
            .bind(ts(item.now));
    }
    let mut claimed: HashSet<(String, String)> = query.fetch_all(conn).await?.into_iter().collect();
    // `remove` hands the claim to the first of any duplicates in the batch.
    Ok(items
        .iter()
        .map(|i| claimed.remove(&(i.platform.clone(), i.interaction_id.clone())))
        .collect())
}

/// Stores the answers of claimed interactions in one statement.
pub async fn record_all(conn: &mut Conn, items: &[AnswerItem]) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    // `column1…3` name a VALUES list's columns on both SQLite and PostgreSQL.
    let mut sql =
        String::from("UPDATE interaction_receipts SET response = v.column3 FROM (VALUES ");
    for i in 0..items.len() {
        let n = i * 3;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, ${}, ${})", n + 1, n + 2, n + 3));
    }
    sql.push_str(
        ") AS v WHERE interaction_receipts.platform = v.column1 \
         AND interaction_receipts.interaction_id = v.column2",
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for item in items {
        query = query
            .bind(item.platform.as_str())
            .bind(item.interaction_id.as_str())
            .bind(item.response.as_str());
    }
    query.execute(conn).await?;
    Ok(())
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

/// Deletes the receipts of interactions received before `before`; returns how many went.
pub async fn prune(conn: &mut Conn, before: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query("DELETE FROM interaction_receipts WHERE received_at < $1")
        .bind(ts(before))
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
