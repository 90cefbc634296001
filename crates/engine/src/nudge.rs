//! Coaching nudges: which facts about an open deal are worth a manager's attention, and which
//! recommended activities to suggest next. Pure: the caller hands in the deal's facts and today.

use chrono::NaiveDate;

use crate::ids::ActivityId;
use crate::playbook::Stage;

/// Days in a stage before thin coverage of its recommended activities is worth a nudge: the
/// first days in a stage are for doing them.
pub const COVERAGE_GRACE_DAYS: i64 = 3;

/// Below this share of a stage's recommended activities done, coverage is "mostly not done".
pub const COVERAGE_PERCENT: u8 = 50;

/// At most this many next activities are suggested, so the nudge stays short.
pub const MAX_SUGGESTIONS: usize = 3;

/// What one open deal looks like today.
#[derive(Debug, Clone, PartialEq)]
pub struct NudgeFacts {
    pub days_in_stage: i64,
    /// Recommended activities of the current stage logged in it.
    pub done: Vec<ActivityId>,
    pub close_date: NaiveDate,
    /// Gate overrides on the deal in the recent window.
    pub overrides: u32,
    /// Requirements of stages it left that it no longer meets (`process::broken_gates`).
    pub out_of_process: u32,
}

/// Why a deal is worth a nudge. `key` names the reason in the nudge log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Stalled {
        days: i64,
        threshold: u32,
    },
    ThinCoverage {
        done: usize,
        of: usize,
        days: i64,
    },
    Slipped {
        close_date: NaiveDate,
        days_late: i64,
    },
    Overridden {
        times: u32,
    },
    /// Out of process: the deal needs a manager's approval or override before it moves on.
    OutOfProcess {
        broken: u32,
    },
}

impl Reason {
    pub fn key(&self) -> &'static str {
        match self {
            Self::Stalled { .. } => "stalled",
            Self::ThinCoverage { .. } => "coverage",
            Self::Slipped { .. } => "slipped",
            Self::Overridden { .. } => "override",
            Self::OutOfProcess { .. } => "process",
        }
    }
}

/// Every reason `facts` give for a nudge, in a fixed order.
pub fn reasons(stage: &Stage, facts: &NudgeFacts, today: NaiveDate) -> Vec<Reason> {
    let mut out = Vec::new();
    if facts.out_of_process > 0 {
        out.push(Reason::OutOfProcess {
            broken: facts.out_of_process,
        });
    }
    if let Some(threshold) = stage.stall_after_days
        && facts.days_in_stage > i64::from(threshold)
    {
        out.push(Reason::Stalled {
            days: facts.days_in_stage,
            threshold,
        });
    }
    let recommended = distinct(stage);
    let done = recommended
        .iter()
        .filter(|a| facts.done.contains(a))
        .count();
    if !recommended.is_empty()
        && facts.days_in_stage >= COVERAGE_GRACE_DAYS
        && done * 100 < recommended.len() * usize::from(COVERAGE_PERCENT)
    {
        out.push(Reason::ThinCoverage {
            done,
            of: recommended.len(),
            days: facts.days_in_stage,
        });
    }
    if facts.close_date < today {
        out.push(Reason::Slipped {
            close_date: facts.close_date,
            days_late: (today - facts.close_date).num_days(),
        });
    }
    if facts.overrides > 0 {
        out.push(Reason::Overridden {
            times: facts.overrides,
        });
    }
    out
}

/// The stage's recommended activities not yet done, in playbook order, at most
/// `MAX_SUGGESTIONS`.
pub fn suggestions<'s>(
    stage: &'s Stage,
    done: &[ActivityId],
) -> Vec<&'s crate::playbook::Activity> {
    let mut seen: Vec<&ActivityId> = Vec::new();
    stage
        .activities
        .iter()
        .filter(|a| {
            let fresh = !seen.contains(&&a.id);
            seen.push(&a.id);
            fresh && !done.contains(&a.id)
        })
        .take(MAX_SUGGESTIONS)
        .collect()
}

fn distinct(stage: &Stage) -> Vec<ActivityId> {
    let mut ids: Vec<ActivityId> = Vec::new();
    for a in &stage.activities {
        if !ids.contains(&a.id) {
            ids.push(a.id.clone());
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 20).unwrap()
    }

    fn facts(days: i64, done: &[&str]) -> NudgeFacts {
        NudgeFacts {
            days_in_stage: days,
            done: done.iter().map(|a| id(a)).collect(),
            close_date: NaiveDate::from_ymd_opt(2026, 4, 30).unwrap(),
            overrides: 0,
            out_of_process: 0,
        }
    }

    #[test]
    fn a_fresh_deal_with_nothing_done_is_left_alone_for_the_grace_days() {
        let playbook = playbook();
        assert!(reasons(&playbook.stages[0], &facts(2, &[]), today()).is_empty());
        let r = reasons(&playbook.stages[0], &facts(3, &[]), today());
        assert_eq!(
            r,
            vec![Reason::ThinCoverage {
                done: 0,
                of: 3,
                days: 3
            }]
        );
    }

    #[test]
    fn half_done_is_not_mostly_not_done() {
        let playbook = playbook();
        // Qualify recommends three; two done is over half.
        let r = reasons(
            &playbook.stages[0],
            &facts(5, &["discovery-call", "pain-identified"]),
            today(),
        );
        assert!(r.is_empty(), "{r:?}");
    }

    #[test]
    fn stalled_slipped_and_overridden_are_each_named() {
        let playbook = playbook();
        let mut f = facts(15, &["discovery-call", "pain-identified"]);
        f.close_date = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        f.overrides = 1;
        let keys: Vec<&str> = reasons(&playbook.stages[0], &f, today())
            .iter()
            .map(Reason::key)
            .collect();
        assert_eq!(keys, ["stalled", "slipped", "override"]);
    }

    #[test]
    fn suggestions_are_the_first_activities_not_done_in_playbook_order() {
        let playbook = playbook();
        let s = suggestions(&playbook.stages[0], &[id("discovery-call")]);
        let ids: Vec<&str> = s.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["pain-identified", "budget-confirmed"]);
    }
}
