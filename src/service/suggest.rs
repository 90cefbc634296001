//! Suggestions while a person types an option (autocomplete): deals they may act on,
//! the activities and stages that make sense for the deal named so far. Read-only, on the read
//! pool, a few indexed queries each, so an answer comes well inside the 3 seconds chat platforms wait.

use crate::engine::ids::{DealNumber, StageId};
use crate::engine::playbook::{Playbook, Role};
use crate::store::lookup::{self, DealChoice, Owners};

use super::{Service, ServiceResult, Session};

/// At most this many suggestions are worked out: more than anyone reads while typing, and a
/// bound on the queries behind them. Adapters cut to their platform's own limit.
const MAX_SUGGESTIONS: usize = 25;

/// One suggestion: what the person reads and the value the option gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub label: String,
    pub value: String,
}

/// Which way a stage suggestion looks from the deal's current stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageDirection {
    /// `/advance … to`: the open stages after the current one.
    Ahead,
    /// `/back … to`: the open stages before it.
    Behind,
    /// Any stage (`/deal list stage`, `/playbook stage`).
    Any,
    /// Open stages only (`/deal new stage`).
    Open,
}

impl Service {
    /// Deals for a `deal` option: the caller's own open deals first, then the others they may
    /// act on (their reports' for a manager, everyone's for an admin), matching `typed` by
    /// number (`42`, `deal-42`, `#42`) or by a piece of the name.
    pub async fn suggest_deals(
        &self,
        session: &Session,
        typed: &str,
    ) -> ServiceResult<Vec<Choice>> {
        let typed = typed.trim();
        let digits = typed
            .to_ascii_lowercase()
            .trim_start_matches("deal-")
            .trim_start_matches("deal")
            .trim_start_matches('#')
            .to_string();
        let number: Option<u32> =
            if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
                digits.parse().ok()
            } else {
                None
            };
        let me = session.member.id;
        let tenant = session.tenant.id;
        let backend = self.store.backend();
        let mut conn = self.store.reader().acquire().await?;
        // The deals the caller may see: their own first, then the others'.
        let others = match session.member.role {
            _ if session.tenant.team_pipeline_open => Some(Owners::AllBut(me)),
            Role::Rep => None,
            Role::Manager => Some(Owners::ReportsOf(me)),
            Role::Admin => Some(Owners::AllBut(me)),
        };
        let mut found: Vec<DealChoice> = Vec::new();
        // A number typed means the number (12, then 120…129, …), not names with those digits.
        for owners in std::iter::once(Owners::One(me)).chain(others) {
            if found.len() >= MAX_SUGGESTIONS {
                break;
            }
            let room = (MAX_SUGGESTIONS - found.len()) as i64;
            let more = match number {
                Some(n) => lookup::open_deals_numbered(&mut conn, tenant, owners, n, room).await?,
                None => {
                    lookup::open_deals_named(&mut conn, backend, tenant, owners, typed, room)
                        .await?
                }
            };
            extend_unique(
                &mut found,
                more.into_iter().filter(|d| match owners {
                    Owners::One(_) => true,
                    _ => d.owner_id != me,
                }),
            );
        }
        Ok(found
            .iter()
            .take(MAX_SUGGESTIONS)
            .map(|d| deal_choice(d, &session.playbook))
            .collect())
    }

    /// Activities for `/log … activity`: the recommended activities of the deal's current
    /// stage first (when the deal is already named), then every other one in playbook order.
    pub async fn suggest_activities(
        &self,
        session: &Session,
        deal: Option<DealNumber>,
        typed: &str,
    ) -> ServiceResult<Vec<Choice>> {
        let playbook = &session.playbook;
        let current = self.current_stage(session, deal).await?;
        let mut stages: Vec<_> = playbook.stages.iter().collect();
        if let Some(at) = current.as_ref().and_then(|c| playbook.stage_index(c)) {
            let here = stages.remove(at);
            stages.insert(0, here);
        }
        let choices = stages.iter().flat_map(|s| {
            s.activities.iter().map(|a| Choice {
                label: format!("{} · {}", a.name, s.name),
                value: a.id.to_string(),
            })
        });
        Ok(filtered(choices, typed))
    }

    /// Stages for a `to` or `stage` option, seen from the named deal's current stage.
    pub async fn suggest_stages(
        &self,
        session: &Session,
        deal: Option<DealNumber>,
        direction: StageDirection,
        typed: &str,
    ) -> ServiceResult<Vec<Choice>> {
        let playbook = &session.playbook;
        let current = match direction {
            StageDirection::Ahead | StageDirection::Behind => {
                self.current_stage(session, deal).await?
            }
            _ => None,
        };
        let at = current.as_ref().and_then(|c| playbook.stage_index(c));
        let choices = playbook
            .stages
            .iter()
            .enumerate()
            .filter(|(i, s)| match (direction, at) {
                (StageDirection::Any, _) => true,
                (StageDirection::Ahead, Some(at)) => *i > at && s.is_open(),
                (StageDirection::Behind, Some(at)) => *i < at,
                _ => s.is_open(),
            })
            .map(|(_, s)| Choice {
                label: format!("{} ({}%)", s.name, s.probability.percent()),
                value: s.id.to_string(),
            });
        Ok(filtered(choices, typed))
    }

    /// Fields for `/deal set … field`: the built-in ones and the playbook's own.
    pub fn suggest_fields(&self, session: &Session, typed: &str) -> Vec<Choice> {
        let builtin = crate::engine::playbook::BUILTIN_FIELDS
            .iter()
            .map(|f| Choice {
                label: (*f).to_string(),
                value: (*f).to_string(),
            });
        let custom = session.playbook.fields.iter().map(|f| Choice {
            label: format!("{} ({})", f.name, f.id),
            value: f.id.to_string(),
        });
        filtered(builtin.chain(custom), typed)
    }

    async fn current_stage(
        &self,
        session: &Session,
        deal: Option<DealNumber>,
    ) -> ServiceResult<Option<StageId>> {
        let Some(number) = deal else {
            return Ok(None);
        };
        let mut conn = self.store.reader().acquire().await?;
        let stage =
            lookup::deal_stage(&mut conn, session.tenant.id, i64::from(number.get())).await?;
        Ok(stage.and_then(|s| s.parse().ok()))
    }
}

fn extend_unique(found: &mut Vec<DealChoice>, more: impl IntoIterator<Item = DealChoice>) {
    for deal in more {
        if !found.iter().any(|d| d.number == deal.number) {
            found.push(deal);
        }
    }
}

fn deal_choice(d: &DealChoice, playbook: &Playbook) -> Choice {
    let stage = playbook
        .stage(&d.stage)
        .map_or_else(|| d.stage.to_string(), |s| s.name.clone());
    let label = format!("{} · {} · {stage}", d.number, d.name);
    Choice {
        label: truncate(&label, 100),
        value: d.number.to_string(),
    }
}

/// Keeps the choices whose label or value contains `typed` (any case), at most `MAX_SUGGESTIONS`.
fn filtered(choices: impl Iterator<Item = Choice>, typed: &str) -> Vec<Choice> {
    let typed = typed.trim().to_lowercase();
    choices
        .filter(|c| {
            typed.is_empty() || c.label.to_lowercase().contains(&typed) || c.value.contains(&typed)
        })
        .take(MAX_SUGGESTIONS)
        .collect()
}

/// At most `max` characters (Discord's limit on a choice's name), with an ellipsis if cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}
