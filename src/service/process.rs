//! Keeping each deal's process standing on record: how many requirements of the stages it has
//! left it no longer meets (`engine::process`). A change of facts that breaks one (only a field
//! edit can: activities and approvals only add, moves leave nothing broken behind them) is judged
//! in the same transaction as the edit, and asks the owner's manager for the approval or override
//! by DM through the outbox, in that transaction too. Deals never judged (from before the record
//! was kept, or after a playbook change) are judged before a list, a digest or nudges reads
//! them; deals out of process, which a missed settle could leave flagged, by each day's digest.

use chrono::{DateTime, Utc};

use crate::engine::deal::Deal;
use crate::engine::gates::GateCheck;
use crate::engine::people::Member;
use crate::engine::playbook::Playbook;
use crate::engine::process::broken_gates;
use crate::store::{Conn, StoreError, deals, jobs, members};

use super::outbox::NewMessage;
use super::{Service, ServiceResult};

/// A deal a field edit has just put out of process, and whom to ask about it.
#[derive(Debug, Clone)]
pub struct ProcessAlert {
    pub deal: Deal,
    pub owner: Member,
    /// The owner's manager, who can approve or override.
    pub manager: Member,
    /// Who changed which field of the deal, from what to what (as the field history keeps it).
    pub changed_by: String,
    pub field: String,
    pub old: Option<String>,
    pub new: String,
    /// What no longer holds, in stage order.
    pub broken: Vec<GateCheck>,
}

/// Renders an alert as a message for the outbox. The service knows when to send one but not
/// what a message looks like; the wiring (`main.rs`, the tests) hands the renderer in.
pub type AlertRenderer = fn(&ProcessAlert, &Playbook) -> NewMessage;

/// What a field edit found about the deal's standing, inside its transaction.
pub(super) struct Standing {
    pub broken: Vec<GateCheck>,
    /// It was in process (or not judged) before the edit and is out of it now.
    pub newly_out: bool,
}

impl Service {
    /// Judges `deal` (as just written in `conn`'s transaction) and records its standing.
    pub(super) async fn record_standing(
        &self,
        conn: &mut Conn,
        playbook: &Playbook,
        deal: &Deal,
        now: DateTime<Utc>,
    ) -> Result<Standing, StoreError> {
        let records = deals::records(&mut *conn, deal.id).await?;
        let broken = broken_gates(playbook, &records.facts(deal), now.date_naive());
        if deal.out_of_process != Some(count(&broken)) {
            deals::set_out_of_process(&mut *conn, deal, broken.len()).await?;
        }
        Ok(Standing {
            newly_out: !broken.is_empty() && deal.out_of_process.unwrap_or(0) == 0,
            broken,
        })
    }

    /// After a write that can only mend a deal's standing (a move, an activity), records the
    /// standing its view found, if the record differs. Its own short transaction after the
    /// write: should it not happen, the record errs on the side of out of process until the
    /// deal's next edit or the digest judges it again. Returns the standing the record holds
    /// now, as far as this process knows.
    pub(super) async fn settle_standing(&self, deal: &Deal, broken: usize) -> Option<u32> {
        let standing = Some(u32::try_from(broken).unwrap_or(u32::MAX));
        if deal.out_of_process == standing {
            return standing;
        }
        // The write the user asked for is done and answered; a failure here only leaves the
        // record erring on the safe side.
        match deals::record_standing(&self.store, deal, broken).await {
            Ok(()) => standing,
            Err(e) => {
                tracing::warn!(deal = deal.id, error = %e, "process standing not recorded after a write");
                deal.out_of_process
            }
        }
    }

    /// Queues the DM that asks `owner`'s manager to approve or override, in `conn`'s
    /// transaction, if there is a manager (other than `actor`, who knows already) and a
    /// renderer. The nonce is the deal and its version, so the same edit never asks twice.
    pub(super) async fn ask_manager(
        &self,
        conn: &mut Conn,
        playbook: &Playbook,
        alert_of: impl FnOnce(Member) -> ProcessAlert,
        owner: &Member,
        actor: &Member,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (Some(render), Some(manager_id)) = (self.alerts, owner.manager_id) else {
            return Ok(());
        };
        if manager_id == actor.id {
            return Ok(());
        }
        let Some(manager) = members::get(&mut *conn, owner.tenant_id, manager_id).await? else {
            return Ok(());
        };
        let alert = alert_of(manager);
        let message = render(&alert, playbook);
        let nonce = format!("dgp{}v{}", alert.deal.id, alert.deal.version);
        jobs::insert_outbox(
            conn,
            &jobs::NewOutbox {
                tenant_id: owner.tenant_id,
                claim_id: None,
                target_kind: message.target.kind(),
                target: message.target.id(),
                payload: &message.payload,
                image: None,
                nonce: &nonce,
            },
            now,
        )
        .await?;
        Ok(())
    }

    /// Judges again every deal of the workspace whose recorded standing may be stale, and
    /// records what changed, so what reads the record next reads it true.
    /// `flagged`: deals out of process too (the digest's daily look), not only those never
    /// judged (every read that shows the record).
    pub(super) async fn judge_stale(
        &self,
        tenant_id: i64,
        playbook: &Playbook,
        flagged: bool,
    ) -> ServiceResult<()> {
        let today = self.clock.now().date_naive();
        let changed: Vec<(Deal, usize)> = {
            let mut conn = self.store.reader().acquire().await?;
            let mut changed = Vec::new();
            for deal in deals::to_judge(&mut conn, tenant_id, flagged).await? {
                let records = deals::records(&mut conn, deal.id).await?;
                let broken = broken_gates(playbook, &records.facts(&deal), today);
                if deal.out_of_process != Some(count(&broken)) {
                    changed.push((deal, broken.len()));
                }
            }
            changed
        };
        if changed.is_empty() {
            return Ok(());
        }
        // Only deals still at the version judged are written: an edit in between judged the
        // deal itself.
        let mut tx = self.store.begin().await?;
        for (deal, broken) in &changed {
            deals::set_out_of_process(&mut tx, deal, *broken).await?;
        }
        tx.commit().await?;
        tracing::info!(
            tenant = tenant_id,
            deals = changed.len(),
            "process standing judged again"
        );
        Ok(())
    }
}

fn count(broken: &[GateCheck]) -> u32 {
    u32::try_from(broken.len()).unwrap_or(u32::MAX)
}
