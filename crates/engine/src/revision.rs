//! A playbook revised in place: what changes between the version in force and a proposed one,
//! in plain words, and what the change would do to the open deals before anyone confirms it.
//!
//! ```text
//! changes(&old, &new)
//! → New stage Security review (`security-review`) after Proposal, 50%
//!   Proposal: probability 40% → 45%
//!   Negotiate: new gate: Legal has reviewed the contract
//! plan(&old, &new, &[("demo", "proposal")], &open_deals, quarter, today)
//! → deal-7 and deal-9 move from Demo to Proposal; deal-4 would be out of process at Negotiate;
//!   weighted pipeline this quarter 120,000 → 131,500
//! ```

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;

use crate::deal::{DealFacts, DealStatus};
use crate::forecast::deal_weighted;
use crate::gates::describe;
use crate::ids::{DealNumber, Probability, StageId};
use crate::playbook::{ForecastCategory, Outcome, Playbook, Stage};
use crate::process::broken_gates;

/// One difference between two versions of a playbook, as a person would say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    StageAdded {
        name: String,
        id: StageId,
        /// The stage it follows in the new order; `None` when it comes first.
        after: Option<String>,
        probability: Probability,
    },
    StageRemoved {
        name: String,
        id: StageId,
    },
    StageRenamed {
        id: StageId,
        from: String,
        to: String,
    },
    /// The stages both versions have, in a different order (names as the new version has them).
    StagesReordered {
        from: Vec<String>,
        to: Vec<String>,
    },
    ProbabilityChanged {
        stage: String,
        from: Probability,
        to: Probability,
    },
    CategoryChanged {
        stage: String,
        from: ForecastCategory,
        to: ForecastCategory,
    },
    GateAdded {
        stage: String,
        requirement: String,
    },
    GateRemoved {
        stage: String,
        requirement: String,
    },
    ActivityAdded {
        stage: String,
        activity: String,
    },
    ActivityRemoved {
        stage: String,
        activity: String,
    },
    ActivityRenamed {
        stage: String,
        from: String,
        to: String,
    },
    /// Days before a deal in the stage counts as stalled (`None`: never).
    StallChanged {
        stage: String,
        from: Option<u32>,
        to: Option<u32>,
    },
    /// The stage's description or its activities' hints say something new.
    Reworded {
        stage: String,
    },
    FieldAdded {
        field: String,
    },
    FieldRemoved {
        field: String,
    },
    /// A field kept its id but is named or explained differently.
    FieldReworded {
        field: String,
    },
    Renamed {
        from: String,
        to: String,
    },
}

impl Change {
    /// Whether the change alters what a deal must meet to leave `stage` (by id in the new
    /// version): a rep who has not acknowledged it is told once, when they next advance.
    pub fn touches_gates_of(&self, stage_name: &str) -> bool {
        matches!(self, Self::GateAdded { stage, .. } | Self::GateRemoved { stage, .. } if stage == stage_name)
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StageAdded {
                name,
                id,
                after,
                probability,
            } => {
                write!(f, "New stage {name} (`{id}`)")?;
                match after {
                    Some(a) => write!(f, " after {a}")?,
                    None => f.write_str(" first")?,
                }
                write!(f, ", {probability}")
            }
            Self::StageRemoved { name, id } => write!(f, "Stage {name} (`{id}`) removed"),
            Self::StageRenamed { id, from, to } => write!(f, "Stage `{id}` renamed: {from} → {to}"),
            Self::StagesReordered { from, to } => write!(
                f,
                "Stages in a new order: {} → {}",
                from.join(", "),
                to.join(", ")
            ),
            Self::ProbabilityChanged { stage, from, to } => {
                write!(f, "{stage}: probability {from} → {to}")
            }
            Self::CategoryChanged { stage, from, to } => write!(
                f,
                "{stage}: forecast category {} → {}",
                from.label(),
                to.label()
            ),
            Self::GateAdded { stage, requirement } => write!(f, "{stage}: new gate: {requirement}"),
            Self::GateRemoved { stage, requirement } => {
                write!(f, "{stage}: gate removed: {requirement}")
            }
            Self::ActivityAdded { stage, activity } => {
                write!(f, "{stage}: new recommended activity: {activity}")
            }
            Self::ActivityRemoved { stage, activity } => {
                write!(f, "{stage}: recommended activity removed: {activity}")
            }
            Self::ActivityRenamed { stage, from, to } => {
                write!(f, "{stage}: recommended activity renamed: {from} → {to}")
            }
            Self::StallChanged { stage, from, to } => {
                let days = |d: &Option<u32>| {
                    d.map_or_else(|| "never".to_string(), |d| format!("after {d} days"))
                };
                write!(f, "{stage}: stalls {} (was {})", days(to), days(from))
            }
            Self::Reworded { stage } => {
                write!(f, "{stage}: description or activity hints reworded")
            }
            Self::FieldAdded { field } => write!(f, "New deal field: {field}"),
            Self::FieldRemoved { field } => write!(f, "Deal field removed: {field}"),
            Self::FieldReworded { field } => write!(f, "Deal field reworded: {field}"),
            Self::Renamed { from, to } => write!(f, "Playbook renamed: {from} → {to}"),
        }
    }
}

/// Every difference between `old` and `new`, stages in the new order first, then fields.
pub fn changes(old: &Playbook, new: &Playbook) -> Vec<Change> {
    let mut out = Vec::new();
    if old.name != new.name {
        out.push(Change::Renamed {
            from: old.name.clone(),
            to: new.name.clone(),
        });
    }
    for s in &old.stages {
        if new.stage(&s.id).is_none() {
            out.push(Change::StageRemoved {
                name: s.name.clone(),
                id: s.id.clone(),
            });
        }
    }
    let kept_old: Vec<&StageId> = old
        .stages
        .iter()
        .map(|s| &s.id)
        .filter(|id| new.stage(id).is_some())
        .collect();
    let kept_new: Vec<&StageId> = new
        .stages
        .iter()
        .map(|s| &s.id)
        .filter(|id| old.stage(id).is_some())
        .collect();
    if kept_old != kept_new {
        let names = |ids: &[&StageId]| {
            ids.iter()
                .filter_map(|id| new.stage(id))
                .map(|s| s.name.clone())
                .collect()
        };
        out.push(Change::StagesReordered {
            from: names(&kept_old),
            to: names(&kept_new),
        });
    }
    for (i, s) in new.stages.iter().enumerate() {
        match old.stage(&s.id) {
            None => out.push(Change::StageAdded {
                name: s.name.clone(),
                id: s.id.clone(),
                after: i.checked_sub(1).map(|p| new.stages[p].name.clone()),
                probability: s.probability,
            }),
            Some(before) => stage_changes(old, before, new, s, &mut out),
        }
    }
    for f in &new.fields {
        if old.custom_field(&f.id).is_none() {
            out.push(Change::FieldAdded {
                field: f.name.clone(),
            });
        }
    }
    for f in &old.fields {
        match new.custom_field(&f.id) {
            None => out.push(Change::FieldRemoved {
                field: f.name.clone(),
            }),
            Some(n) if n.name != f.name || n.hint != f.hint => out.push(Change::FieldReworded {
                field: n.name.clone(),
            }),
            Some(_) => {}
        }
    }
    out
}

fn stage_changes(old: &Playbook, before: &Stage, new: &Playbook, s: &Stage, out: &mut Vec<Change>) {
    if before.name != s.name {
        out.push(Change::StageRenamed {
            id: s.id.clone(),
            from: before.name.clone(),
            to: s.name.clone(),
        });
    }
    if before.probability != s.probability {
        out.push(Change::ProbabilityChanged {
            stage: s.name.clone(),
            from: before.probability,
            to: s.probability,
        });
    }
    if before.forecast_category != s.forecast_category {
        out.push(Change::CategoryChanged {
            stage: s.name.clone(),
            from: before.forecast_category,
            to: s.forecast_category,
        });
    }
    // A gate is the same gate when it asks the same thing in the same words; its requirement is
    // worded by the version it belongs to.
    for g in &s.gates {
        if !before.gates.contains(g) {
            out.push(Change::GateAdded {
                stage: s.name.clone(),
                requirement: describe(new, g),
            });
        }
    }
    for g in &before.gates {
        if !s.gates.contains(g) {
            out.push(Change::GateRemoved {
                stage: s.name.clone(),
                requirement: describe(old, g),
            });
        }
    }
    for a in &s.activities {
        if !before.activities.iter().any(|b| b.id == a.id) {
            out.push(Change::ActivityAdded {
                stage: s.name.clone(),
                activity: a.name.clone(),
            });
        }
    }
    for a in &before.activities {
        if !s.activities.iter().any(|b| b.id == a.id) {
            out.push(Change::ActivityRemoved {
                stage: s.name.clone(),
                activity: a.name.clone(),
            });
        }
    }
    for a in &s.activities {
        if let Some(b) = before.activities.iter().find(|b| b.id == a.id)
            && b.name != a.name
        {
            out.push(Change::ActivityRenamed {
                stage: s.name.clone(),
                from: b.name.clone(),
                to: a.name.clone(),
            });
        }
    }
    if before.stall_after_days != s.stall_after_days {
        out.push(Change::StallChanged {
            stage: s.name.clone(),
            from: before.stall_after_days,
            to: s.stall_after_days,
        });
    }
    let hints_changed = s.activities.iter().any(|a| {
        before
            .activities
            .iter()
            .find(|b| b.id == a.id)
            .is_some_and(|b| b.hint != a.hint)
    });
    if before.description != s.description || hints_changed {
        out.push(Change::Reworded {
            stage: s.name.clone(),
        });
    }
}

/// Where the deals of a removed stage go: `old=new` pairs as an admin types them
/// (`demo=proposal, trial=proposal`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageMapping(BTreeMap<StageId, StageId>);

impl StageMapping {
    /// Reads `old=new` pairs separated by commas, spaces or new lines.
    pub fn parse(text: &str) -> Result<Self, MappingProblem> {
        let mut map = BTreeMap::new();
        for pair in text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty())
        {
            let Some((from, to)) = pair.split_once('=') else {
                return Err(MappingProblem::Malformed(pair.to_string()));
            };
            let (Ok(from), Ok(to)) = (from.parse::<StageId>(), to.parse::<StageId>()) else {
                return Err(MappingProblem::Malformed(pair.to_string()));
            };
            if map.insert(from.clone(), to).is_some() {
                return Err(MappingProblem::Twice(from));
            }
        }
        Ok(Self(map))
    }

    pub fn get(&self, from: &StageId) -> Option<&StageId> {
        self.0.get(from)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn pairs(&self) -> impl Iterator<Item = (&StageId, &StageId)> {
        self.0.iter()
    }
}

impl fmt::Display for StageMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: Vec<String> = self.0.iter().map(|(a, b)| format!("{a}={b}")).collect();
        f.write_str(&pairs.join(", "))
    }
}

/// Why a mapping cannot be used, in words that say what would be right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingProblem {
    #[error("`{0}` is not a mapping: write `old-stage=new-stage`, e.g. `demo=proposal`.")]
    Malformed(String),
    #[error("`{0}` is mapped twice; map each removed stage once.")]
    Twice(StageId),
    #[error("`{0}` is not a stage of the playbook in force, so there are no deals to map from it.")]
    UnknownSource(StageId),
    #[error(
        "`{0}` is still a stage in the new playbook; only the deals of removed stages are mapped."
    )]
    NotRemoved(StageId),
    #[error("`{from}={to}`: the new playbook has no stage `{to}`. Its open stages: {open}.")]
    UnknownTarget {
        from: StageId,
        to: StageId,
        open: String,
    },
    #[error("`{from}={to}`: `{to}` closes deals; map open deals to an open stage ({open}).")]
    ClosedTarget {
        from: StageId,
        to: StageId,
        open: String,
    },
}

/// Deals that have to move because their stage is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageMove {
    pub from: StageId,
    pub from_name: String,
    /// `None`: no mapping names where these deals go, and the change cannot apply without one.
    pub to: Option<StageId>,
    pub to_name: Option<String>,
    pub deals: Vec<DealNumber>,
}

/// Deals that met every gate of the stages they left and would not under the new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewlyOut {
    /// The stage the deal would be in, named as the new version names it.
    pub stage: String,
    pub deals: Vec<(DealNumber, Vec<String>)>,
}

/// What a change would do to the open deals, worked out before it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impact {
    pub moves: Vec<StageMove>,
    /// Per stage in the new order, the deals that would newly be out of process.
    pub newly_out: Vec<NewlyOut>,
    /// Weighted value of open deals closing in the quarter, before and after, in minor units.
    pub weighted_before: i128,
    pub weighted_after: i128,
    /// Open deals the playbook in force has, for "of N".
    pub open_deals: usize,
}

impl Impact {
    /// Removed stages that hold open deals and have no mapping: the change cannot apply.
    pub fn unmapped(&self) -> impl Iterator<Item = &StageMove> {
        self.moves.iter().filter(|m| m.to.is_none())
    }
}

/// Checks `mapping` against both versions and works out the impact on `deals` (the workspace's
/// deals with their history; only open ones are looked at). `quarter` is the current quarter,
/// both ends included, for the weighted pipeline.
pub fn plan(
    old: &Playbook,
    new: &Playbook,
    mapping: &StageMapping,
    deals: &[DealFacts],
    quarter: (NaiveDate, NaiveDate),
    today: NaiveDate,
) -> Result<Impact, MappingProblem> {
    let open_names = new
        .open_stages()
        .map(|s| format!("`{}`", s.id))
        .collect::<Vec<_>>()
        .join(", ");
    for (from, to) in mapping.pairs() {
        if old.stage(from).is_none() {
            return Err(MappingProblem::UnknownSource(from.clone()));
        }
        if new.stage(from).is_some() {
            return Err(MappingProblem::NotRemoved(from.clone()));
        }
        match new.stage(to) {
            None => {
                return Err(MappingProblem::UnknownTarget {
                    from: from.clone(),
                    to: to.clone(),
                    open: open_names,
                });
            }
            Some(s) if !s.is_open() => {
                return Err(MappingProblem::ClosedTarget {
                    from: from.clone(),
                    to: to.clone(),
                    open: open_names,
                });
            }
            Some(_) => {}
        }
    }
    let open: Vec<&DealFacts> = deals
        .iter()
        .filter(|d| d.status == DealStatus::Open)
        .collect();
    let mut moves: Vec<StageMove> = Vec::new();
    let mut newly_out: BTreeMap<usize, NewlyOut> = BTreeMap::new();
    let (mut weighted_before, mut weighted_after) = (0i128, 0i128);
    for deal in open {
        let in_quarter = (quarter.0..=quarter.1).contains(&deal.close_date);
        if in_quarter {
            weighted_before += deal_weighted(old, &deal.stage, deal.amount.minor());
        }
        let target = if new.stage(&deal.stage).is_some() {
            Some(deal.stage.clone())
        } else {
            let to = mapping.get(&deal.stage).cloned();
            let entry = match moves.iter_mut().find(|m| m.from == deal.stage) {
                Some(m) => m,
                None => {
                    moves.push(StageMove {
                        from: deal.stage.clone(),
                        from_name: old
                            .stage(&deal.stage)
                            .map_or_else(|| deal.stage.to_string(), |s| s.name.clone()),
                        to_name: to
                            .as_ref()
                            .and_then(|t| new.stage(t))
                            .map(|s| s.name.clone()),
                        to: to.clone(),
                        deals: Vec::new(),
                    });
                    moves.last_mut().expect("just pushed")
                }
            };
            entry.deals.push(deal.number);
            to
        };
        let Some(target) = target else { continue };
        if in_quarter {
            weighted_after += deal_weighted(new, &target, deal.amount.minor());
        }
        let moved = moved_facts(deal, &target, mapping);
        let was_in = broken_gates(old, deal, today).is_empty();
        let broken = broken_gates(new, &moved, today);
        if was_in && !broken.is_empty() {
            let index = new.stage_index(&target).unwrap_or(usize::MAX);
            newly_out
                .entry(index)
                .or_insert_with(|| NewlyOut {
                    stage: new
                        .stage(&target)
                        .map_or_else(|| target.to_string(), |s| s.name.clone()),
                    deals: Vec::new(),
                })
                .deals
                .push((
                    deal.number,
                    broken.into_iter().map(|c| c.requirement).collect(),
                ));
        }
    }
    for m in &mut moves {
        m.deals.sort();
    }
    Ok(Impact {
        moves,
        newly_out: newly_out.into_values().collect(),
        weighted_before,
        weighted_after,
        open_deals: deals
            .iter()
            .filter(|d| d.status == DealStatus::Open)
            .count(),
    })
}

/// The deal as it would stand after the change: in its new stage, and having visited the
/// stages its removed ones map to.
fn moved_facts(deal: &DealFacts, target: &StageId, mapping: &StageMapping) -> DealFacts {
    let mut moved = deal.clone();
    moved.stage = target.clone();
    for v in &mut moved.passage.visited {
        if let Some(to) = mapping.get(v) {
            *v = to.clone();
        }
    }
    moved
}

/// Where closed deals of a removed terminal stage go: to the new version's won stage or first
/// lost stage, by their outcome. Nobody has to map them; the preview says so.
pub fn terminal_moves(old: &Playbook, new: &Playbook) -> Vec<(StageId, StageId)> {
    old.stages
        .iter()
        .filter(|s| new.stage(&s.id).is_none())
        .filter_map(|s| match s.outcome? {
            Outcome::Won => Some((s.id.clone(), new.won_stage().id.clone())),
            Outcome::Lost => Some((s.id.clone(), new.lost_stage().id.clone())),
        })
        .collect()
}

#[cfg(test)]
mod tests;
