//! Asking a rep's manager for an approval, and knowing the people a command names before they
//! have used dealgate themselves.

use crate::engine::deal::Deal;
use crate::engine::ids::DealNumber;
use crate::engine::people::Member;
use crate::store::members;

use super::authz::require_act_on;
use super::deals::{load_deal_and_owner, require_open};
use super::{Service, ServiceError, ServiceResult, Session};

/// Who is asked to approve which deal.
#[derive(Debug, Clone)]
pub struct ApprovalRequest {
    pub deal: Deal,
    pub owner: Member,
    /// The owner's manager, who can `/approve` it.
    pub approver: Member,
}

impl Service {
    /// Someone who may act on a deal asks the owner's manager to approve it. Nothing is stored:
    /// the request is a message, the approval is the manager's `/approve`.
    pub async fn request_approval(
        &self,
        session: &Session,
        number: DealNumber,
    ) -> ServiceResult<ApprovalRequest> {
        let mut conn = self.store.reader().acquire().await?;
        let (deal, owner) = load_deal_and_owner(&mut conn, session, number).await?;
        require_act_on(session, &owner, &format!("ask for approval of {number}"))?;
        require_open(&deal)?;
        let manager = match owner.manager_id {
            Some(id) => members::get(&mut conn, session.tenant.id, id).await?,
            None => None,
        };
        let Some(approver) = manager else {
            return Err(ServiceError::Invalid(format!(
                "{} has no manager in dealgate, so there is nobody to ask. An admin can set one \
                 with `/team set` (user, role rep, manager), or approve {number} themselves.",
                owner.display_name
            )));
        };
        Ok(ApprovalRequest {
            deal,
            owner,
            approver,
        })
    }

    /// Makes sure each `(user key, display name)` a command names is a member, as a rep, so an
    /// admin can `/team set` someone who has not used dealgate yet. Known members are left as
    /// they are; a read finds them, and only a newcomer costs a write.
    pub async fn introduce_members(
        &self,
        session: &Session,
        people: &[(String, String)],
    ) -> ServiceResult<()> {
        let tenant = session.tenant.id;
        let mut missing = Vec::new();
        {
            let mut conn = self.store.reader().acquire().await?;
            for (key, name) in people {
                if members::find_by_key(&mut conn, tenant, key)
                    .await?
                    .is_none()
                {
                    missing.push((key, name));
                }
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        for (key, name) in missing {
            if members::find_by_key(&mut tx, tenant, key).await?.is_none() {
                members::insert(
                    &mut tx,
                    tenant,
                    key,
                    name,
                    crate::engine::playbook::Role::Rep,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
