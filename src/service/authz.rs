//! Who may do what. Reps act on their own deals; managers on their reps' deals and their own;
//! admins on everything. Only managers (of the deal's owner) and admins approve and override;
//! only admins configure the workspace.

use crate::engine::people::Member;
use crate::engine::playbook::Role;
use crate::engine::text::mark_user;

use super::ServiceError;

/// May `actor` change a deal owned by `owner`?
pub fn can_act_on(actor: &Member, owner: &Member) -> bool {
    actor.id == owner.id || actor.role == Role::Admin || manages(actor, owner)
}

/// Does `actor` manage `owner` directly, as a manager?
pub fn manages(actor: &Member, owner: &Member) -> bool {
    actor.role >= Role::Manager && owner.manager_id == Some(actor.id)
}

pub fn require_act_on(actor: &Member, owner: &Member, what: &str) -> Result<(), ServiceError> {
    if can_act_on(actor, owner) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!(
            "You can't {what}: it belongs to {}. Reps act on their own deals; managers on their \
             reps' deals; admins on all.",
            mark_user(&owner.display_name)
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
