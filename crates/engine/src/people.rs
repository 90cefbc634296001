//! The people of a workspace, as the rules about who may do what see them.

use crate::playbook::Role;

/// A member of a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: i64,
    pub tenant_id: i64,
    /// Their stable id on the workspace's platform (the console uses the name).
    pub user_key: String,
    pub display_name: String,
    pub role: Role,
    /// The member id of their manager, if they have one.
    pub manager_id: Option<i64>,
}
