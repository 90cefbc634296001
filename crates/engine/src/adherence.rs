//! Whether the process is used, and what has worked: per stage, how deals left it (gates met or
//! overridden, the recommended activities done by then, days spent, where overrides ended), and
//! for each recommended activity the win rate of closed deals that did it against those that did
//! not, with a 90 % Wilson interval.
//!
//! ```text
//! exits(&history)                    → one StageExit per time a deal left a stage
//! adherence(&playbook, &exits, who)  → per open stage: exits, met, overridden, coverage, days
//! evidence(&playbook, stage, &closed)→ per activity: did 18 of 24 won (75 %, 59–86 %) · did not …
//! ```

use chrono::{DateTime, Utc};

use crate::deal::{DealStatus, LoggedActivity};
use crate::ids::{ActivityId, DealNumber, StageId};
use crate::playbook::{Playbook, Stage};
use crate::transition::{StageChange, TransitionKind};

/// A deal's history as the coaching figures read it.
#[derive(Debug, Clone, PartialEq)]
pub struct DealHistory {
    pub number: DealNumber,
    pub owner_id: i64,
    pub status: DealStatus,
    /// Out of process now.
    pub out_of_process: bool,
    /// Oldest first, from its creation.
    pub changes: Vec<StageChange>,
    pub activities: Vec<LoggedActivity>,
}

/// How a deal left a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Forward (advanced or won) with every gate met.
    Met,
    /// Forward past unmet gates, on a manager's override.
    Overridden,
    /// Back to an earlier stage.
    Back,
    /// Closed lost from the stage.
    Lost,
}

/// One time a deal left a stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageExit {
    pub deal: DealNumber,
    pub owner_id: i64,
    pub stage: StageId,
    pub entered_at: DateTime<Utc>,
    pub left_at: DateTime<Utc>,
    pub how: Exit,
    /// The stage's recommended activities logged in the stage by the time it left, each once.
    pub activities_done: usize,
    /// What became of the deal: its status now, and whether it is out of process now.
    pub status: DealStatus,
    pub out_of_process: bool,
}

/// Every exit of every deal from a stage of `playbook`, in `[from, until)`.
pub fn exits(
    playbook: &Playbook,
    deals: &[DealHistory],
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Vec<StageExit> {
    let mut out = Vec::new();
    for deal in deals {
        for pair in deal.changes.windows(2) {
            let (entered, left) = (&pair[0], &pair[1]);
            let Some(kind) = left.kind else { continue };
            if left.from.as_ref() != Some(&entered.to)
                || from.is_some_and(|f| left.at < f)
                || until.is_some_and(|u| left.at >= u)
            {
                continue;
            }
            let Some(stage) = playbook.stage(&entered.to).filter(|s| s.is_open()) else {
                continue;
            };
            let how = match kind {
                TransitionKind::Advance | TransitionKind::Won if left.overridden => {
                    Exit::Overridden
                }
                TransitionKind::Advance | TransitionKind::Won => Exit::Met,
                TransitionKind::Back => Exit::Back,
                TransitionKind::Lost => Exit::Lost,
            };
            out.push(StageExit {
                deal: deal.number,
                owner_id: deal.owner_id,
                stage: stage.id.clone(),
                entered_at: entered.at,
                left_at: left.at,
                how,
                activities_done: done_in(stage, &deal.activities, left.at),
                status: deal.status,
                out_of_process: deal.out_of_process,
            });
        }
    }
    out
}

/// Distinct recommended activities of `stage` logged in it by `until`: work done on an earlier
/// visit to the stage still counts, as it does for the stage's gates.
fn done_in(stage: &Stage, logged: &[LoggedActivity], until: DateTime<Utc>) -> usize {
    stage
        .activities
        .iter()
        .filter(|a| {
            logged
                .iter()
                .any(|l| l.activity == a.id && l.stage == stage.id && l.at <= until)
        })
        .count()
}

/// One stage's figures over a set of exits.
#[derive(Debug, Clone, PartialEq)]
pub struct StageFigures {
    pub exits: usize,
    /// Forward exits, and of those with every gate met and on an override.
    pub forward: usize,
    pub met: usize,
    pub overridden: usize,
    /// Mean share of the stage's recommended activities done at exit, whole percent; `None`
    /// without exits or when the stage recommends nothing.
    pub coverage: Option<u8>,
    /// Median days between entering and leaving; `None` without exits.
    pub median_days: Option<f64>,
    /// Deals that left and are out of process now (counted once per deal).
    pub out_of_process: usize,
    /// Where the deals that left on an override stand now.
    pub overrides_won: usize,
    pub overrides_lost: usize,
    pub overrides_open: usize,
}

/// A stage's figures for one rep (or everyone) and for the team.
#[derive(Debug, Clone, PartialEq)]
pub struct StageAdherence {
    pub stage: StageId,
    pub name: String,
    pub rep: StageFigures,
    pub team: StageFigures,
}

/// Per open stage in process order, the figures of the deals `owners` own (everyone's when
/// `None`) beside the team's.
pub fn adherence(
    playbook: &Playbook,
    exits: &[StageExit],
    owners: Option<&[i64]>,
) -> Vec<StageAdherence> {
    playbook
        .open_stages()
        .map(|stage| {
            let of_stage: Vec<&StageExit> = exits.iter().filter(|e| e.stage == stage.id).collect();
            let mine: Vec<&StageExit> = of_stage
                .iter()
                .copied()
                .filter(|e| owners.is_none_or(|o| o.contains(&e.owner_id)))
                .collect();
            StageAdherence {
                stage: stage.id.clone(),
                name: stage.name.clone(),
                rep: figures(stage, &mine),
                team: figures(stage, &of_stage),
            }
        })
        .collect()
}

fn figures(stage: &Stage, exits: &[&StageExit]) -> StageFigures {
    let forward: Vec<&&StageExit> = exits
        .iter()
        .filter(|e| matches!(e.how, Exit::Met | Exit::Overridden))
        .collect();
    let overrides: Vec<&&StageExit> = exits.iter().filter(|e| e.how == Exit::Overridden).collect();
    let recommended = stage.activities.len();
    let coverage = (recommended > 0 && !exits.is_empty()).then(|| {
        let sum: usize = exits
            .iter()
            .map(|e| e.activities_done * 100 / recommended)
            .sum();
        u8::try_from(sum / exits.len()).unwrap_or(100)
    });
    let mut days: Vec<f64> = exits
        .iter()
        .map(|e| (e.left_at - e.entered_at).num_minutes() as f64 / (24.0 * 60.0))
        .collect();
    days.sort_by(f64::total_cmp);
    let median_days = match days.len() {
        0 => None,
        n if n % 2 == 1 => Some(days[n / 2]),
        n => Some((days[n / 2 - 1] + days[n / 2]) / 2.0),
    };
    let mut out_deals: Vec<DealNumber> = exits
        .iter()
        .filter(|e| e.out_of_process)
        .map(|e| e.deal)
        .collect();
    out_deals.sort();
    out_deals.dedup();
    StageFigures {
        exits: exits.len(),
        forward: forward.len(),
        met: forward.iter().filter(|e| e.how == Exit::Met).count(),
        overridden: overrides.len(),
        coverage,
        median_days,
        out_of_process: out_deals.len(),
        overrides_won: overrides
            .iter()
            .filter(|e| e.status == DealStatus::Won)
            .count(),
        overrides_lost: overrides
            .iter()
            .filter(|e| e.status == DealStatus::Lost)
            .count(),
        overrides_open: overrides
            .iter()
            .filter(|e| e.status == DealStatus::Open)
            .count(),
    }
}

/// Below this many closed deals on either side (did it, did not), a win rate says too little to
/// act on: "not enough data".
pub const MIN_DEALS: u32 = 5;

/// z for a two-sided 90 % interval.
const Z90: f64 = 1.644_853_626_951_472_2;

/// Won out of closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WinRate {
    pub won: u32,
    pub closed: u32,
}

impl WinRate {
    pub fn rate(self) -> Option<f64> {
        (self.closed > 0).then(|| f64::from(self.won) / f64::from(self.closed))
    }

    /// The Wilson score interval at 90 %: sound at small counts and at 0 % or 100 %, where the
    /// normal approximation gives nonsense.
    pub fn interval90(self) -> Option<(f64, f64)> {
        let p = self.rate()?;
        let n = f64::from(self.closed);
        let z2 = Z90 * Z90;
        let denominator = 1.0 + z2 / n;
        let centre = (p + z2 / (2.0 * n)) / denominator;
        let half = Z90 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
        Some(((centre - half).max(0.0), (centre + half).min(1.0)))
    }

    pub fn enough(self) -> bool {
        self.closed >= MIN_DEALS
    }
}

/// A closed deal as the evidence reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedDeal {
    pub won: bool,
    /// Every stage it was in.
    pub visited: Vec<StageId>,
    pub activities: Vec<LoggedActivity>,
}

/// What closed deals that passed through a stage say about one of its recommended activities.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityEvidence {
    pub activity: ActivityId,
    pub name: String,
    /// Closed deals that logged it while in the stage.
    pub did: WinRate,
    /// Closed deals that were in the stage and did not.
    pub did_not: WinRate,
}

impl ActivityEvidence {
    /// Both sides hold at least `MIN_DEALS` closed deals.
    pub fn enough(&self) -> bool {
        self.did.enough() && self.did_not.enough()
    }
}

/// For each recommended activity of `stage`, in the playbook's order.
pub fn evidence(stage: &Stage, closed: &[ClosedDeal]) -> Vec<ActivityEvidence> {
    let through: Vec<&ClosedDeal> = closed
        .iter()
        .filter(|d| d.visited.contains(&stage.id))
        .collect();
    stage
        .activities
        .iter()
        .map(|a| {
            let (mut did, mut did_not) = (WinRate::default(), WinRate::default());
            for deal in &through {
                let side = if deal
                    .activities
                    .iter()
                    .any(|l| l.activity == a.id && l.stage == stage.id)
                {
                    &mut did
                } else {
                    &mut did_not
                };
                side.closed += 1;
                side.won += u32::from(deal.won);
            }
            ActivityEvidence {
                activity: a.id.clone(),
                name: a.name.clone(),
                did,
                did_not,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
