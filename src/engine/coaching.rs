//! Coaching facts for one deal: coverage of the stage's recommended activities, time in stage,
//! and whether the deal has stalled.

use chrono::{DateTime, Utc};

use crate::engine::deal::DealFacts;
use crate::engine::ids::ActivityId;
use crate::engine::playbook::Stage;

/// Recommended activities of the deal's current stage, split into done (logged in this stage)
/// and not yet done, both in the playbook's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    pub done: Vec<ActivityId>,
    pub not_done: Vec<ActivityId>,
}

impl Coverage {
    /// Whole percent done; 100 for a stage that recommends nothing.
    pub fn percent(&self) -> u8 {
        let total = self.done.len() + self.not_done.len();
        if total == 0 {
            100
        } else {
            (self.done.len() * 100 / total) as u8
        }
    }
}

pub fn coverage(stage: &Stage, deal: &DealFacts) -> Coverage {
    todo!("{stage:?}{deal:?}")
}

/// Whole days since the deal entered its current stage (0 on the day it entered).
pub fn days_in_stage(deal: &DealFacts, now: DateTime<Utc>) -> i64 {
    todo!("{deal:?}{now}")
}

/// An open deal is stalled when it has been in its stage longer than the stage's
/// `stall_after_days`. Stages without a threshold never stall.
pub fn is_stalled(stage: &Stage, deal: &DealFacts, now: DateTime<Utc>) -> bool {
    todo!("{stage:?}{deal:?}{now}")
}
