//! Stage moves: `/advance`, `/back`, `/won`, `/lost`. The engine decides what the playbook
//! allows; this decides who may ask and records the move with its history in one transaction.

use chrono::{DateTime, Utc};

use crate::engine::deal::DealStatus;
use crate::engine::forecast::deal_weighted;
use crate::engine::ids::{DealNumber, StageId};
use crate::engine::transition::{Move, Transition, TransitionKind, plan_move};

use super::authz::{require_act_on, require_approver};
use super::deals::{DealView, check_text, known_stage};
use super::limits;
use super::workspace::DealSnapshot;
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
    /// kept from the caller's last command on the deal is judged as it is first: a refusal
    /// goes out without a check of its own, its answer recorded only while the kept read still
    /// holds (`Service::record_refusal_as_read`, by the command's caller). A move is checked
    /// first, and judged again on a fresh read if the kept one no longer holds; what the move
    /// wrote is kept in its place, for the caller's next command on the deal.
    async fn move_deal(
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
        if session.refused_on_kept_read() {
            let now = self.clock.now();
            let judged = session.prefetched.peek(number, |snapshot| {
                judge_move(session, number, snapshot, &mv, override_reason, now)
            });
            if let Some(Err(refusal)) = judged {
                return Err(refusal);
            }
        }
        let fresh = self.kept_still_holds(session, number).await?;
        let session = fresh.as_ref().unwrap_or(session);
        self.move_deal_in(session, number, mv, override_reason)
            .await
    }

    async fn move_deal_in(
        &self,
        session: &Session,
        number: DealNumber,
        mv: Move,
        override_reason: Option<&str>,
    ) -> ServiceResult<Moved> {
        retrying(|| async {
            let now = self.clock.now();
            let playbook = &session.playbook;
            // Reads and the decision run on the read pool; the write transaction is only the
            // version-checked update and the history row, so the single SQLite writer is held
            // briefly. A deal changed meanwhile fails the version check and the move is planned
            // again on fresh data.
            let snapshot = self.load_with_records(session, number).await?;
            let transition = judge_move(session, number, &snapshot, &mv, override_reason, now)?;
            let (mut deal, owner, mut records) = snapshot;
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
            let view = self.settled_and_kept(session, deal, owner, records).await?;
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

/// What moving deal `number` of `snapshot` as `mv` asks would do, in `session`: the transition,
/// or why it is refused (who may move it, whether it is open, its gates).
fn judge_move(
    session: &Session,
    number: DealNumber,
    (deal, owner, records): &DealSnapshot,
    mv: &Move,
    override_reason: Option<&str>,
    now: DateTime<Utc>,
) -> ServiceResult<Transition> {
    require_act_on(session, owner, &format!("move {number}"))?;
    if override_reason.is_some() {
        require_approver(
            &session.member,
            owner,
            &format!("override the gates of {number}"),
        )?;
    }
    if deal.status != DealStatus::Open {
        return Err(ServiceError::DealClosed {
            number,
            status: deal.status,
        });
    }
    let facts = records.facts(deal);
    plan_move(&session.playbook, &facts, mv, override_reason, now).map_err(|refusal| {
        ServiceError::Move {
            number,
            stage: deal.stage.clone(),
            refusal,
        }
    })
}

fn move_reason(mv: &Move) -> Option<&str> {
    match mv {
        Move::Back { reason, .. } | Move::Lost { reason } => Some(reason),
        _ => None,
    }
}
