//! Processing a chat interaction once, as Stripe processes an idempotency key. The request
//! bracket claims the interaction id of a command that changes something and records the
//! answer after; a duplicated delivery finds the claim and gets the recorded answer instead of
//! running the command again.
//!
//! The command's own transaction writes the interaction's effect row, so a command whose work
//! had committed is never applied again: a retry learns it was applied ([`Claim::Applied`]) and
//! says so. For a command whose change is that one write, the effect row is the claim
//! ([`Service::claim_by_write`]). Every other command writes a claim before it runs
//! ([`Service::claim_interaction`]); that claim is a lease ([`Service::claim_lease`]): if the
//! process that claimed it died before it answered, a retry after the lease takes it over.

use std::time::Duration;

use crate::store::receipts::{self, Claimed, Effect, Recording};

use super::{Platform, Service, ServiceResult, Session};

/// How long an interaction's receipt (its claim and answer) is kept: far longer than the
/// window in which a signed request is accepted (`chat::freshness`), so a replayed request is
/// always either refused as stale or answered from its receipt.
pub const RECEIPTS_KEPT: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// How long a claim without an answer is left to the attempt that made it, by default.
pub const DEFAULT_CLAIM_LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// One delivery of a chat interaction: the platform and the key that identifies the
/// interaction there (a Discord interaction id, a Slack trigger id or body hash). Carried by the
/// session of the command it runs, so the command's transaction records its effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub platform: Platform,
    pub key: String,
}

impl Delivery {
    pub fn new(platform: Platform, key: impl Into<String>) -> Self {
        Self {
            platform,
            key: key.into(),
        }
    }

    pub(crate) fn effect(&self) -> Effect<'_> {
        Effect {
            platform: self.platform.as_str(),
            interaction_id: &self.key,
        }
    }
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First delivery: run the command, then `record_interaction`.
    New,
    /// Delivered before; this is the answer given then.
    Answered(String),
    /// Delivered before and still running (its lease has not lapsed).
    InFlight,
    /// Delivered before; the attempt that claimed it applied the command and stopped before it
    /// recorded an answer. This call now holds the claim: record an answer that says so.
    Applied,
}

impl Service {
    /// Claims an interaction id. A duplicate that arrives while the first delivery still runs
    /// waits up to `wait` for its answer, polling the read pool.
    pub async fn claim_interaction(
        &self,
        delivery: &Delivery,
        wait: Duration,
    ) -> ServiceResult<Claim> {
        let (platform, interaction_id) = (delivery.platform.as_str(), delivery.key.as_str());
        let now = self.clock.now();
        let lapsed_before = now - self.claim_lease;
        match self
            .store
            .claim_interaction(platform, interaction_id, now, lapsed_before)
            .await?
        {
            Claimed::First => return Ok(Claim::New),
            Claimed::TakenOver => {
                let mut conn = self.store.reader().acquire().await?;
                let applied = receipts::applied(&mut conn, platform, interaction_id).await?;
                tracing::info!(
                    platform,
                    interaction = interaction_id,
                    applied,
                    "took over an interaction whose first attempt never answered"
                );
                return Ok(if applied { Claim::Applied } else { Claim::New });
            }
            Claimed::Held => {}
        }
        Ok(self
            .await_answer(delivery, wait)
            .await?
            .map_or(Claim::InFlight, Claim::Answered))
    }

    /// The claim of a delivery of a command claimed by its write (`/log`, the moves: each
    /// applies its change in one write, which records the delivery's effect): no claim is
    /// written before it runs. What the database held of the delivery, read with the command's
    /// session in the same snapshot as its deal (or here, without one), says whether it ran:
    /// - answered: the answer given then;
    /// - applied, not yet answered: its answer is on its way, so wait up to `wait` for it;
    ///   after the lease, or if it does not come, the attempt that applied it died before it
    ///   answered ([`Claim::Applied`]);
    /// - claimed by an attempt that claims first and still within its lease: wait for its
    ///   answer, or [`Claim::InFlight`];
    /// - otherwise [`Claim::New`]: run it. A duplicate running beside it cannot apply it twice:
    ///   the second effect row fails on its key (`ServiceError::AlreadyApplied`), and the
    ///   second waits for the first's answer ([`Service::await_answer`]).
    pub async fn claim_by_write(
        &self,
        delivery: &Delivery,
        session: Option<&Session>,
        wait: Duration,
    ) -> ServiceResult<Claim> {
        if session.is_some_and(Session::is_kept) {
            // Judged on a read kept from an earlier command, which read nothing of this
            // delivery: a `/log`'s write fails on the delivery's effect row if it ran before,
            // and its refusal is judged again on a fresh read that says whether it came before
            // (`Service::log_activity`); a move reads it with its check of the kept read
            // (`Service::kept_still_holds`), and a refusal's answer is written only where the
            // delivery has none, else judged again on a read that sees it
            // (`Service::record_refusal_as_read`).
            return Ok(Claim::New);
        }
        let read;
        let seen = match session.and_then(|s| s.seen.as_ref()) {
            Some(seen) => seen,
            None => {
                let mut conn = self.store.reader().acquire().await?;
                let (platform, key) = (delivery.platform.as_str(), delivery.key.as_str());
                read = receipts::seen(&mut conn, platform, key).await?;
                &read
            }
        };
        let lapsed_before = self.clock.now() - self.claim_lease;
        if let Some((_, Some(answer))) = &seen.receipt {
            return Ok(Claim::Answered(answer.clone()));
        }
        if let Some(applied_at) = seen.applied_at {
            if applied_at >= lapsed_before
                && let Some(answer) = self.await_answer(delivery, wait).await?
            {
                return Ok(Claim::Answered(answer));
            }
            return Ok(Claim::Applied);
        }
        match seen.receipt {
            Some((received_at, None)) if received_at >= lapsed_before => Ok(self
                .await_answer(delivery, wait)
                .await?
                .map_or(Claim::InFlight, Claim::Answered)),
            _ => Ok(Claim::New),
        }
    }

    /// The answer recorded for `delivery`, waiting up to `wait` for it to be written (polling
    /// the read pool); `None` if none was by then.
    pub async fn await_answer(
        &self,
        delivery: &Delivery,
        wait: Duration,
    ) -> ServiceResult<Option<String>> {
        let (platform, interaction_id) = (delivery.platform.as_str(), delivery.key.as_str());
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let mut conn = self.store.reader().acquire().await?;
            if let Some(Some(answer)) = receipts::find(&mut conn, platform, interaction_id).await? {
                return Ok(Some(answer));
            }
            drop(conn);
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Records the answer given to an interaction (with its receipt, for a command claimed by
    /// its write), returning once it is queued: the reply goes out while it is written.
    pub async fn record_interaction(&self, delivery: &Delivery, answer: &str) -> ServiceResult<()> {
        self.record(delivery, answer, Recording::Queued)
            .await
            .map(drop)
    }

    /// Records the answer of a command claimed by its write that wrote nothing (a refusal, an
    /// error), and returns once it is written: nothing else records that the delivery was
    /// judged, so a retry that came before the answer was written would be judged again, on
    /// what may have changed since.
    pub async fn record_refusal(&self, delivery: &Delivery, answer: &str) -> ServiceResult<()> {
        self.record(delivery, answer, Recording::Written)
            .await
            .map(drop)
    }

    /// Records `answer` as `recording` says: whether it was (see `Store::record_interaction`).
    pub(super) async fn record(
        &self,
        delivery: &Delivery,
        answer: &str,
        recording: Recording,
    ) -> ServiceResult<bool> {
        let (platform, key) = (delivery.platform.as_str(), delivery.key.as_str());
        let now = self.clock.now();
        Ok(self
            .store
            .record_interaction(platform, key, answer, now, recording)
            .await?)
    }

    /// Records, inside the transaction `conn` of a command's work, that the work of the
    /// session's delivery was applied: `ServiceError::AlreadyApplied` (roll back) if it was
    /// before. Nothing to do for a command that was not claimed.
    pub(super) async fn mark_applied(
        &self,
        conn: &mut crate::store::Conn,
        session: &super::Session,
    ) -> ServiceResult<()> {
        if let Some(delivery) = &session.delivery {
            receipts::mark_applied(conn, delivery.effect(), self.clock.now()).await?;
        }
        Ok(())
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
