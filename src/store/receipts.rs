//! Interaction receipts: each chat interaction id is claimed once, and its answer kept so a
//! duplicated delivery gets the same one.

use chrono::{DateTime, Utc};

use super::{Conn, Result, ts};

/// Claims `interaction_id`; true when this call claimed it, false when it was claimed before.
/// One statement, so it costs a single round trip on the writer.
pub async fn claim(
    conn: &mut Conn,
    platform: &str,
    interaction_id: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO interaction_receipts (platform, interaction_id, received_at) \
         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(platform)
    .bind(interaction_id)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores the answer of a claimed interaction.
pub async fn record(
    conn: &mut Conn,
    platform: &str,
    interaction_id: &str,
    response: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE interaction_receipts SET response = $1 WHERE platform = $2 AND interaction_id = $3",
    )
    .bind(response)
    .bind(platform)
    .bind(interaction_id)
    .execute(conn)
    .await?;
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
