//! Who may do what. Reps act on their own deals; managers on their reps' deals and their own;
//! admins on everything. Each sees what they may act on, and everyone sees every deal, read
//! only, once an admin opened the team's pipeline (`/team visibility yes`). Only managers (of
//! the deal's owner) and admins approve and override; only admins configure the workspace.

use crate::engine::people::Member;
use crate::engine::playbook::Role;
use crate::engine::text::mark_user;

use super::{ServiceError, Session};

/// May `actor` change a deal owned by `owner`?
pub fn can_act_on(actor: &Member, owner: &Member) -> bool {
    actor.id == owner.id || actor.role == Role::Admin || manages(actor, owner)
}

/// Does `actor` manage `owner` directly, as a manager?
pub fn manages(actor: &Member, owner: &Member) -> bool {
    actor.role >= Role::Manager && owner.manager_id == Some(actor.id)
}

/// Refuses `session`'s member acting on `owner`'s deal unless they may; the refusal names the
/// owner only to someone who may see the deal.
pub fn require_act_on(session: &Session, owner: &Member, what: &str) -> Result<(), ServiceError> {
    let actor = &session.member;
    if can_act_on(actor, owner) {
        return Ok(());
    }
    let whose = if can_see(actor, owner, session.tenant.team_pipeline_open) {
        format!("it belongs to {}", mark_user(&owner.display_name))
    } else {
        "it is not yours or your team's".to_string()
    };
    Err(ServiceError::Forbidden(format!(
        "You can't {what}: {whose}. Reps act on their own deals; managers on their reps' deals; \
         admins on all."
    )))
}

/// May `viewer` see a deal owned by `owner` (its card, its owner's list and forecast)?
pub fn can_see(viewer: &Member, owner: &Member, team_pipeline_open: bool) -> bool {
    team_pipeline_open || can_act_on(viewer, owner)
}

/// Refuses a read of `owner`'s deals the viewer may not see; `what` names the read.
pub fn require_see(
    viewer: &Member,
    owner: &Member,
    team_pipeline_open: bool,
    what: &str,
) -> Result<(), ServiceError> {
    if can_see(viewer, owner, team_pipeline_open) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!(
            "You can't see {what}: it is not yours or your team's. Reps see their own deals, \
             managers their reps' too, admins all; an admin can open the team's pipeline to \
             everyone, read only, with `/team visibility yes`."
        )))
    }
}

/// Approvals and overrides: the owner's manager, or an admin. A manager does not approve their
/// own deal: a second pair of eyes is the point of the gate.
pub fn require_approver(actor: &Member, owner: &Member, what: &str) -> Result<(), ServiceError> {
    if actor.role == Role::Admin || (manages(actor, owner) && actor.id != owner.id) {
        Ok(())
    } else if actor.role >= Role::Manager {
        Err(ServiceError::Forbidden(format!(
            "You can't {what}: only {}'s manager or an admin can.",
            mark_user(&owner.display_name)
        )))
    } else {
        Err(ServiceError::Forbidden(format!(
            "Only a manager can {what}. Ask your manager to run it, or to `/approve` the deal."
        )))
    }
}

pub fn require_admin(actor: &Member, what: &str) -> Result<(), ServiceError> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!(
            "Only an admin can {what}."
        )))
    }
}
