//! Coaching facts for one deal: coverage of the stage's recommended activities, time in stage,
//! and whether the deal has stalled.

use chrono::{DateTime, Utc};

use crate::deal::{DealFacts, DealStatus};
use crate::ids::ActivityId;
use crate::playbook::Stage;

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
        // At most 100, so the narrowing cannot truncate.
        (self.done.len() * 100)
            .checked_div(total)
            .map_or(100, |p| p as u8)
    }
}

/// Splits `stage`'s recommended activities by whether the deal logged them while in `stage`.
/// An activity listed twice by the playbook counts once.
pub fn coverage(stage: &Stage, deal: &DealFacts) -> Coverage {
    let mut coverage = Coverage {
        done: Vec::new(),
        not_done: Vec::new(),
    };
    for activity in &stage.activities {
        let id = &activity.id;
        if coverage.done.contains(id) || coverage.not_done.contains(id) {
            continue;
        }
        let logged = deal
            .activities
            .iter()
            .any(|a| &a.activity == id && a.stage == stage.id);
        if logged {
            coverage.done.push(id.clone());
        } else {
            coverage.not_done.push(id.clone());
        }
    }
    coverage
}

/// Whole days since the deal entered its current stage (0 on the day it entered).
pub fn days_in_stage(deal: &DealFacts, now: DateTime<Utc>) -> i64 {
    // A `now` before the stage was entered (clock skew between replicas) reads as day 0, not as
    // a negative age.
    (now - deal.stage_entered_at).num_days().max(0)
}

/// An open deal is stalled when it has been in its stage longer than the stage's
/// `stall_after_days`. Stages without a threshold never stall.
pub fn is_stalled(stage: &Stage, deal: &DealFacts, now: DateTime<Utc>) -> bool {
    deal.status == DealStatus::Open
        && stage
            .stall_after_days
            .is_some_and(|n| days_in_stage(deal, now) > i64::from(n))
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::fixtures::*;
    use crate::playbook::Playbook;

    fn qualify(playbook: &Playbook) -> &Stage {
        &playbook.stages[0]
    }

    #[test]
    fn coverage_counts_recommended_activities_logged_in_this_stage_in_playbook_order() {
        let playbook = playbook();
        let deal = deal("qualify")
            .logged("budget-confirmed", "qualify")
            .logged("budget-confirmed", "qualify")
            .logged("discovery-call", "develop")
            .logged("demo", "qualify");
        let c = coverage(qualify(&playbook), &deal);
        assert_eq!(c.done, vec![id::<ActivityId>("budget-confirmed")]);
        // Logged in another stage, so not done here; `demo` is not this stage's advice at all.
        assert_eq!(
            c.not_done,
            vec![id::<ActivityId>("discovery-call"), id("pain-identified")]
        );
        assert_eq!(c.percent(), 33);
    }

    #[test]
    fn an_activity_the_playbook_lists_twice_is_covered_once() {
        let mut playbook = playbook();
        let repeated = playbook.stages[0].activities[0].clone();
        playbook.stages[0].activities.push(repeated);
        let c = coverage(
            qualify(&playbook),
            &deal("qualify").logged("discovery-call", "qualify"),
        );
        assert_eq!(c.done.len() + c.not_done.len(), 3);
        assert_eq!(c.done, vec![id::<ActivityId>("discovery-call")]);
    }

    #[test]
    fn a_stage_that_recommends_nothing_is_fully_covered() {
        let playbook = playbook();
        let c = coverage(playbook.won_stage(), &deal("qualify"));
        assert!(c.done.is_empty() && c.not_done.is_empty());
        assert_eq!(c.percent(), 100);
    }

    #[test]
    fn days_in_stage_counts_whole_days_and_never_goes_negative() {
        let deal = deal("qualify");
        let entered = deal.stage_entered_at;
        assert_eq!(days_in_stage(&deal, entered), 0);
        assert_eq!(days_in_stage(&deal, entered + Duration::hours(23)), 0);
        assert_eq!(days_in_stage(&deal, entered + Duration::hours(24)), 1);
        assert_eq!(
            days_in_stage(&deal, entered + Duration::days(9) + Duration::hours(3)),
            9
        );
        assert_eq!(days_in_stage(&deal, entered - Duration::days(2)), 0);
    }

    #[test]
    fn an_open_deal_stalls_only_after_more_days_than_the_threshold() {
        let playbook = playbook();
        let deal = deal("qualify");
        let entered = deal.stage_entered_at;
        assert!(!is_stalled(
            qualify(&playbook),
            &deal,
            entered + Duration::days(14)
        ));
        assert!(is_stalled(
            qualify(&playbook),
            &deal,
            entered + Duration::days(15)
        ));
    }

    #[test]
    fn stages_without_a_threshold_and_closed_deals_never_stall() {
        let playbook = playbook();
        let later = deal("qualify").stage_entered_at + Duration::days(400);
        assert!(!is_stalled(&playbook.stages[2], &deal("negotiate"), later));
        let mut won = deal("qualify");
        won.status = DealStatus::Won;
        assert!(!is_stalled(qualify(&playbook), &won, later));
    }
}
