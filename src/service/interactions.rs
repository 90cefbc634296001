//! Processing a chat interaction once. The adapter claims the interaction id before it runs a
//! command that changes something and records the answer after; a duplicated delivery finds the
//! claim and gets the recorded answer instead of running the command again.

use std::time::Duration;

use crate::store::receipts;

use super::{Service, ServiceResult};

/// How long an interaction's receipt (its claim and answer) is kept.
pub const RECEIPTS_KEPT: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First delivery: run the command, then `record_interaction`.
    New,
    /// Delivered before; this is the answer given then.
    Answered(String),
    /// Delivered before and still running (or the process stopped before it recorded an answer).
    InFlight,
}

impl Service {
    /// Claims an interaction id. A duplicate that arrives while the first delivery still runs
    /// waits up to `wait` for its answer, polling the read pool.
    pub async fn claim_interaction(
        &self,
        platform: &str,
        interaction_id: &str,
        wait: Duration,
    ) -> ServiceResult<Claim> {
        let now = self.clock.now();
        if self
            .store
            .claim_interaction(platform, interaction_id, now)
            .await?
        {
            return Ok(Claim::New);
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let mut conn = self.store.reader().acquire().await?;
            if let Some(Some(answer)) = receipts::find(&mut conn, platform, interaction_id).await? {
                return Ok(Claim::Answered(answer));
            }
            drop(conn);
            if tokio::time::Instant::now() >= deadline {
                return Ok(Claim::InFlight);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Records the answer given to a claimed interaction.
    pub async fn record_interaction(
        &self,
        platform: &str,
        interaction_id: &str,
        answer: &str,
    ) -> ServiceResult<()> {
        Ok(self
            .store
            .record_interaction(platform, interaction_id, answer)
            .await?)
    }

    /// Forgets interactions received more than `RECEIPTS_KEPT` ago; returns how many. Discord
    /// and Slack stop redelivering an interaction within minutes, so an older receipt can only
    /// take space. The scheduler loop calls this every hour.
    pub async fn prune_interaction_receipts(&self) -> ServiceResult<u64> {
        let before = self.clock.now() - RECEIPTS_KEPT;
        let mut conn = self.store.writer().acquire().await?;
        Ok(receipts::prune(&mut conn, before).await?)
    }

    /// Whether the database answers a trivial query (for a health check).
    pub async fn database_ok(&self) -> bool {
        match self.store.reader().acquire().await {
            Ok(mut conn) => crate::store::lookup::ping(&mut conn).await.is_ok(),
            Err(_) => false,
        }
    }
}
