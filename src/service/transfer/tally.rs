//! What an import did, or in a dry run would do, summed over its batches.

use std::collections::BTreeMap;

use super::plan::Refusal;
use super::source::RowProblem;
use crate::engine::deal::Deal;
use crate::engine::ids::DealNumber;

/// How many refused rows and flagged deals a tally keeps by line: a report names the first
/// ones and counts the rest, so a million bad rows cannot fill memory.
pub const LISTED: usize = 200;

/// A deal that misses a gate of a stage it passed: imported all the same (an import is
/// history, not a rep's move) and flagged out of process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flagged {
    pub line: u64,
    pub name: String,
    /// `None` in a dry run: the deal has no number yet.
    pub number: Option<DealNumber>,
    /// Each missed requirement, `[stage] requirement`.
    pub broken: Vec<String>,
}

impl Flagged {
    pub(super) fn of(p: &super::plan::PlannedDeal, deal: &Deal, broken: Vec<String>) -> Self {
        Self {
            line: p.line,
            name: deal.name.clone(),
            number: Some(deal.number),
            broken,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Refused rows, the first `LISTED` of them by line.
    pub refused: Vec<RowProblem>,
    pub refused_count: u64,
    /// Source stages the playbook does not have, with how many rows name each.
    pub unknown_stages: BTreeMap<String, u64>,
    /// Owners (or members) the team does not have, with how many rows name each.
    pub unknown_owners: BTreeMap<String, u64>,
    /// Rows of pipelines not imported, by pipeline.
    pub other_pipelines: BTreeMap<String, u64>,
    /// Deals out of process, the first `LISTED` of them.
    pub flagged: Vec<Flagged>,
    pub flagged_count: u64,
}

impl Tally {
    pub fn refuse_reason(&mut self, line: u64, reason: String) {
        self.refused_count += 1;
        if self.refused.len() < LISTED {
            self.refused.push(RowProblem { line, reason });
        }
    }

    /// A row the file adapter could not read.
    pub fn problem(&mut self, problem: RowProblem) {
        self.refuse_reason(problem.line, problem.reason);
    }

    pub(super) fn refuse(&mut self, line: u64, refusal: Refusal) {
        match &refusal {
            Refusal::UnknownStages(stages) => {
                for s in stages {
                    *self.unknown_stages.entry(s.clone()).or_default() += 1;
                }
            }
            Refusal::UnknownOwner(o) => *self.unknown_owners.entry(o.clone()).or_default() += 1,
            Refusal::Other(_) => {}
        }
        self.refuse_reason(line, refusal.reason());
    }

    pub(super) fn other_pipeline(&mut self, pipeline: &str) {
        *self
            .other_pipelines
            .entry(pipeline.trim().to_string())
            .or_default() += 1;
    }

    pub(super) fn flag(&mut self, flagged: Flagged) {
        if flagged.broken.is_empty() {
            return;
        }
        self.flagged_count += 1;
        if self.flagged.len() < LISTED {
            self.flagged.push(flagged);
        }
    }

    /// Adds another batch's tally to this one.
    pub fn add(&mut self, other: Tally) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.refused_count += other.refused_count;
        let room = LISTED.saturating_sub(self.refused.len());
        self.refused.extend(other.refused.into_iter().take(room));
        for (k, v) in other.unknown_stages {
            *self.unknown_stages.entry(k).or_default() += v;
        }
        for (k, v) in other.unknown_owners {
            *self.unknown_owners.entry(k).or_default() += v;
        }
        for (k, v) in other.other_pipelines {
            *self.other_pipelines.entry(k).or_default() += v;
        }
        self.flagged_count += other.flagged_count;
        let room = LISTED.saturating_sub(self.flagged.len());
        self.flagged.extend(other.flagged.into_iter().take(room));
    }

    /// Rows that would be written (created or updated).
    pub fn written(&self) -> u64 {
        self.created + self.updated
    }
}
