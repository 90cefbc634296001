//! Stage moves: `/advance`, `/back`, `/won`, `/lost`. The engine decides what the playbook
//! allows; this decides who may ask and records the move with its history in one transaction.

use crate::engine::deal::DealStatus;
use crate::engine::forecast::deal_weighted;
use crate::engine::ids::{DealNumber, StageId};
use crate::engine::transition::{Move, Transition, TransitionKind, plan_move};

use super::authz::{require_act_on, require_approver};
use super::deals::{DealView, check_text, known_stage};
use super::limits;
use super::{Service, ServiceError, ServiceResult, Session, retrying};
use crate::store::deals::{self, NewStageChange};

/// A move that happened.
#[derive(Debug, Clone)]
pub struct Moved {
    pub transition: Transition,
    /// The deal after the move.
    pub view: DealView,
    /// Weighted value (minor units) before and after.
    pub weighted_before: i128,
    pub weighted_after: i128,
}

impl Service {
    /// `/advance deal [to] [override]`.
    pub async fn advance(
        &self,
        session: &Session,
        number: DealNumber,
        to: Option<&StageId>,
        override_reason: Option<&str>,
    ) -> ServiceResult<Moved> {
        let mv = match to {
            Some(stage) => Move::To(known_stage(&session.playbook, stage)?.id.clone()),
            None => Move::Next,
        };
        self.move_deal(session, number, mv, override_reason).await
    }

    /// `/back deal to reason`.
    pub async fn back(
        &self,
        session: &Session,
        number: DealNumber,
        to: &StageId,
        reason: &str,
    ) -> ServiceResult<Moved> {
        let mv = Move::Back {
            to: known_stage(&session.playbook, to)?.id.clone(),
            reason: reason.trim().to_string(),
        };
        self.move_deal(session, number, mv, None).await
    }

    /// `/won deal [override]`.
    pub async fn won(
        &self,
        session: &Session,
        number: DealNumber,
        override_reason: Option<&str>,
    ) -> ServiceResult<Moved> {
        self.move_deal(session, number, Move::Won, override_reason)
            .await
    }

    /// `/lost deal reason`.
    pub async fn lost(
        &self,
        session: &Session,
        number: DealNumber,
        reason: &str,
    ) -> ServiceResult<Moved> {
        let mv = Move::Lost {
            reason: reason.trim().to_string(),
        };
        self.move_deal(session, number, mv, None).await
    }

    /// Moves deal `number` as `mv` says, if its gates allow (or are overridden). A session
    /// kept from the caller's last command on the deal is checked first, and replaced by a
    /// fresh read if it no longer holds; after a move it is dropped, the deal having changed.
    async fn move_deal(
        &self,
        session: &Session,
        number: DealNumber,
        mv: Move,
        override_reason: Option<&str>,
    ) -> ServiceResult<Moved> {
        let fresh = self.kept_still_holds(session, number).await?;
        let session = fresh.as_ref().unwrap_or(session);
        let moved = self
            .move_deal_in(session, number, mv, override_reason)
            .await;
        if moved.is_ok() {
            self.forget_kept(session);
        }
        moved
    }

    async fn move_deal_in(
        &self,
        session: &Session,
        number: DealNumber,
        mv: Move,
        override_reason: Option<&str>,
    ) -> ServiceResult<Moved> {
        let override_reason = override_reason.map(str::trim);
        for reason in [override_reason, move_reason(&mv)].into_iter().flatten() {
            if !reason.is_empty() {
                check_text("reason", reason, limits::REASON)?;
            }
        }
        retrying(|| async {
            let now = self.clock.now();
            let playbook = &session.playbook;
            // Reads and the decision run on the read pool; the write transaction is only the
            // version-checked update and the history row, so the single SQLite writer is held
            // briefly. A deal changed meanwhile fails the version check and the move is planned
            // again on fresh data.
            let (mut deal, owner, mut records) = self.load_with_records(session, number).await?;
            let facts = records.facts(&deal);
            require_act_on(session, &owner, &format!("move {number}"))?;
            if override_reason.is_some() {
                require_approver(
                    &session.member,
                    &owner,
                    &format!("override the gates of {number}"),
                )?;
            }
            if deal.status != DealStatus::Open {
                return Err(ServiceError::DealClosed {
                    number,
                    status: deal.status,
                });
            }
            let transition =
                plan_move(playbook, &facts, &mv, override_reason, now).map_err(|refusal| {
                    ServiceError::Move {
                        number,
                        stage: deal.stage.clone(),
                        refusal,
                    }
                })?;
            let weighted_before = deal_weighted(playbook, &deal.stage, deal.amount.minor());
            let from = deal.stage.clone();
            deal.stage = transition.to.clone();
            deal.stage_entered_at = now;
            // A closed deal is dated the day it closed (as a CRM books a won deal); the date
            // it was expected to close stays in its field history.
            let mut expected_close = None;
            let closed = match transition.kind {
                TransitionKind::Won => Some(DealStatus::Won),
                TransitionKind::Lost => Some(DealStatus::Lost),
                TransitionKind::Advance | TransitionKind::Back => None,
            };
            if let Some(status) = closed {
                deal.status = status;
                deal.closed_at = Some(now);
                let today = now.date_naive();
                if deal.close_date != today {
                    expected_close = Some(deal.close_date);
                    deal.close_date = today;
                }
            }
            let overridden: Vec<String> = transition
                .overridden
                .iter()
                .map(|c| c.requirement.clone())
                .collect();
            let (deal, change) = deals::record_move(
                &self.store,
                &NewStageChange {
                    deal: &deal,
                    actor_id: session.member.id,
                    from: Some(from.as_str()),
                    kind: transition.kind.as_str(),
                    overridden_gates: &overridden,
                    reason: transition.reason.as_deref(),
                    effect: session.delivery.as_ref().map(|d| d.effect()),
                    expected_close,
                },
                now,
            )
            .await?;
            let weighted_after = if deal.status == DealStatus::Open {
                deal_weighted(playbook, &deal.stage, deal.amount.minor())
            } else {
                0
            };
            // The reply shows the records the move was decided on, plus its history row: the
            // version check proved no move or edit came between. (An activity logged in the
            // same instant does not change the version; it is recorded, and the next view
            // shows it.)
            records.stage_changes.push(change);
            let view = self.view_of(playbook, deal, owner, records)?;
            self.settle_standing(&view.deal, view.out_of_process.len())
                .await;
            if !transition.overridden.is_empty() {
                tracing::info!(
                    tenant = session.tenant.id, deal = %number, by = %session.member.display_name,
                    gates = transition.overridden.len(), "gates overridden"
                );
            }
            Ok(Moved {
                transition,
                view,
                weighted_before,
                weighted_after,
            })
        })
        .await
    }
}

fn move_reason(mv: &Move) -> Option<&str> {
    match mv {
        Move::Back { reason, .. } | Move::Lost { reason } => Some(reason),
        _ => None,
    }
}
