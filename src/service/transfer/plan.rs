//! Mapping a file's words onto a workspace: its stages onto the playbook's, its owners onto the
//! team, and each row onto the deal and history it becomes. Nothing here touches the database.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, NaiveTime, Utc};

use super::source::{SourceDeal, SourceFormat};
use crate::engine::deal::DealStatus;
use crate::engine::ids::{FieldName, Money, StageId};
use crate::engine::people::Member;
use crate::engine::playbook::{Outcome, Playbook};
use crate::engine::text::one_line;
use crate::service::{ServiceError, ServiceResult, limits};
use crate::store::Tenant;

/// HubSpot's default pipeline: imported when `--pipeline` names none.
pub const DEFAULT_PIPELINE: &str = "Sales Pipeline";

/// What the person importing chose on the command line.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `Source Stage=stage-id` pairs.
    pub stage_map: Vec<(String, String)>,
    /// `source owner=member` pairs.
    pub owner_map: Vec<(String, String)>,
    /// HubSpot: the pipeline whose deals are imported.
    pub pipeline: Option<String>,
}

/// A workspace ready to take a file: its playbook, team and the mapping from the file's words.
#[derive(Debug, Clone)]
pub struct Importer {
    pub(super) tenant: Tenant,
    pub(super) playbook: Arc<Playbook>,
    pub(super) format: SourceFormat,
    pipeline: String,
    stage_map: HashMap<String, StageId>,
    owner_map: HashMap<String, Member>,
    members: Vec<Member>,
}

/// Why a row is not imported, as the report groups it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Every stage of the row (its own, and those its history names) the playbook lacks.
    UnknownStages(Vec<String>),
    UnknownOwner(String),
    /// Anything else, in words.
    Other(String),
}

impl Refusal {
    pub fn reason(&self) -> String {
        match self {
            Self::UnknownStages(stages) => match stages.as_slice() {
                [one] => format!("stage `{}` is not in the playbook", one_line(one)),
                many => format!(
                    "stages {} are not in the playbook",
                    many.iter()
                        .map(|s| format!("`{}`", one_line(s)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
            Self::UnknownOwner(owner) => {
                format!(
                    "owner `{}` is not a member of the workspace",
                    one_line(owner)
                )
            }
            Self::Other(reason) => reason.clone(),
        }
    }
}

/// A row mapped onto the workspace: the deal it becomes and the stages it went through.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedDeal {
    pub line: u64,
    pub source_id: String,
    pub name: String,
    pub owner: Member,
    pub amount: Money,
    pub close_date: chrono::NaiveDate,
    pub stage: StageId,
    pub status: DealStatus,
    pub created_at: DateTime<Utc>,
    pub stage_entered_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Every stage it entered, oldest first; the first is its creation, the last `stage`.
    pub history: Vec<(StageId, DateTime<Utc>)>,
    pub fields: BTreeMap<FieldName, String>,
    /// The number it had in the workspace it was exported from (dealgate's own files).
    pub number: Option<i64>,
}

impl Importer {
    pub(super) fn new(
        tenant: Tenant,
        playbook: Arc<Playbook>,
        members: Vec<Member>,
        format: SourceFormat,
        options: &ImportOptions,
    ) -> ServiceResult<Self> {
        let mut importer = Self {
            tenant,
            playbook,
            format,
            pipeline: options
                .pipeline
                .clone()
                .unwrap_or_else(|| DEFAULT_PIPELINE.to_string()),
            stage_map: HashMap::new(),
            owner_map: HashMap::new(),
            members,
        };
        for (source, target) in &options.stage_map {
            let stage = importer.playbook_stage(target).ok_or_else(|| {
                ServiceError::Invalid(format!(
                    "--map-stage \"{}={}\": the playbook has no stage `{}`. Its stages: {}.",
                    one_line(source),
                    one_line(target),
                    one_line(target),
                    importer.stage_list()
                ))
            })?;
            importer.stage_map.insert(key(source), stage);
        }
        for (source, target) in &options.owner_map {
            let member = importer.member(target).map_err(|why| {
                ServiceError::Invalid(format!(
                    "--map-owner \"{}={}\": {why}. The workspace's members: {}.",
                    one_line(source),
                    one_line(target),
                    importer.member_list()
                ))
            })?;
            importer.owner_map.insert(key(source), member);
        }
        Ok(importer)
    }

    pub fn format(&self) -> SourceFormat {
        self.format
    }

    pub fn workspace_name(&self) -> &str {
        &self.tenant.name
    }

    /// The HubSpot pipeline imported.
    pub fn pipeline(&self) -> &str {
        &self.pipeline
    }

    /// Whether a row of `pipeline` is imported (rows that name none are).
    pub fn takes_pipeline(&self, pipeline: Option<&str>) -> bool {
        self.format != SourceFormat::HubSpot
            || pipeline.is_none_or(|p| p.trim().eq_ignore_ascii_case(self.pipeline.trim()))
    }

    /// The playbook's stages as `id (Name)`, for messages.
    pub fn stage_list(&self) -> String {
        self.playbook
            .stages
            .iter()
            .map(|s| format!("{} ({})", s.id, s.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The team as names, for messages.
    pub fn member_list(&self) -> String {
        if self.members.is_empty() {
            return "none yet (a member joins with their first command)".to_string();
        }
        self.members
            .iter()
            .map(|m| one_line(&m.display_name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A stage of the playbook by id, then by name (case ignored).
    fn playbook_stage(&self, text: &str) -> Option<StageId> {
        let wanted = key(text);
        let stages = &self.playbook.stages;
        stages
            .iter()
            .find(|s| s.id.as_str() == wanted)
            .or_else(|| stages.iter().find(|s| key(&s.name) == wanted))
            .map(|s| s.id.clone())
    }

    /// A source's stage on the playbook: `--map-stage` first (what the person said wins over a
    /// name that happens to match), then by id, then by name.
    pub fn stage(&self, source: &str) -> Result<StageId, Refusal> {
        self.stage_map
            .get(&key(source))
            .cloned()
            .or_else(|| self.playbook_stage(source))
            .ok_or_else(|| Refusal::UnknownStages(vec![source.trim().to_string()]))
    }

    /// A member by key, then by name (case ignored); an email matches a member whose key or
    /// name it is.
    fn member(&self, text: &str) -> Result<Member, String> {
        let wanted = text.trim();
        if let Some(m) = self.members.iter().find(|m| m.user_key == wanted) {
            return Ok(m.clone());
        }
        let named: Vec<&Member> = self
            .members
            .iter()
            .filter(|m| key(&m.display_name) == key(wanted) || key(&m.user_key) == key(wanted))
            .collect();
        match named.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(format!(
                "`{}` is not a member of the workspace",
                one_line(wanted)
            )),
            _ => Err(format!(
                "`{}` names {} members; map it with --map-owner to one member's key",
                one_line(wanted),
                named.len()
            )),
        }
    }

    /// A source's owner (or the member of an activity or history row) on the team:
    /// `--map-owner` first, then key, name or email.
    pub fn owner(&self, source: &str) -> Result<Member, Refusal> {
        if let Some(m) = self.owner_map.get(&key(source)) {
            return Ok(m.clone());
        }
        self.member(source).map_err(|why| {
            if why.contains("names") {
                Refusal::Other(why)
            } else {
                Refusal::UnknownOwner(source.trim().to_string())
            }
        })
    }

    /// Maps one row, or says why it cannot be imported. `now` dates what the file does not.
    pub fn plan(&self, row: &SourceDeal, now: DateTime<Utc>) -> Result<PlannedDeal, Refusal> {
        let name = row.name.trim();
        if name.is_empty() {
            return Err(Refusal::Other("the deal has no name".into()));
        }
        if name.chars().count() > limits::DEAL_NAME {
            return Err(Refusal::Other(format!(
                "the name is longer than {} characters",
                limits::DEAL_NAME
            )));
        }
        if row.source_id.trim().is_empty() {
            return Err(Refusal::Other(
                "the row has no id, so a second import could not find the deal again".into(),
            ));
        }
        let entered = self.entered(row)?;
        let mapped = self.stage(&row.stage)?;
        let owner = self.owner(&row.owner)?;
        if let Some(currency) = row.currency.as_deref().filter(|c| !c.trim().is_empty())
            && !currency
                .trim()
                .eq_ignore_ascii_case(&self.playbook.currency)
        {
            return Err(Refusal::Other(format!(
                "the amount is in {}, and the workspace counts {}",
                one_line(currency.trim()),
                self.playbook.currency
            )));
        }
        let amount = crate::engine::currency::check(row.amount, &self.playbook.currency)
            .map_err(|e| Refusal::Other(e.to_string()))?;
        let (stage, status) = self.standing(&mapped, row.status)?;

        let created_at = row
            .created_at
            .or_else(|| entered.first().map(|(_, at)| *at))
            .unwrap_or(now);
        let close_midnight = row.close_date.and_time(NaiveTime::MIN).and_utc();
        let closed_at = (status != DealStatus::Open).then(|| {
            row.closed_at
                .or_else(|| entered.iter().rev().find(|(s, _)| *s == stage).map(|e| e.1))
                .unwrap_or(close_midnight.max(created_at))
        });
        let mut history = entered;
        if history.is_empty() && status != DealStatus::Open {
            // How a closed deal came through the stages is not in the file: it is shown as
            // created in the first stage and closed the day it closed, which is all that is known.
            history.push((self.playbook.first_stage().id.clone(), created_at));
        }
        if history.last().is_none_or(|(s, _)| *s != stage) {
            let last = history.last().map_or(created_at, |(_, at)| *at);
            let at = closed_at
                .or(row.stage_entered_at)
                .unwrap_or(created_at)
                .max(last);
            history.push((stage.clone(), at));
        }
        let created_at = created_at.min(history[0].1);
        let stage_entered_at = row
            .stage_entered_at
            .unwrap_or_else(|| history.last().map_or(created_at, |(_, at)| *at));

        let mut fields = BTreeMap::new();
        for (id, value) in &row.fields {
            let field: FieldName = id.parse().map_err(|_| {
                Refusal::Other(format!("`field:{}` is not a field name", one_line(id)))
            })?;
            fields.insert(field, value.clone());
        }
        Ok(PlannedDeal {
            line: row.line,
            source_id: row.source_id.trim().to_string(),
            name: name.to_string(),
            owner,
            amount,
            close_date: row.close_date,
            stage,
            status,
            created_at,
            stage_entered_at,
            closed_at,
            history,
            fields,
            number: row.number.map(|n| i64::from(n.get())),
        })
    }

    /// The stages the row says its deal entered, mapped, oldest first; every stage of the row
    /// the playbook lacks is named at once, so the report lists them all.
    fn entered(&self, row: &SourceDeal) -> Result<Vec<(StageId, DateTime<Utc>)>, Refusal> {
        let mut entered = Vec::new();
        let mut unknown: Vec<String> = Vec::new();
        let named = row
            .entered
            .iter()
            .filter(|e| self.takes_pipeline(e.pipeline.as_deref()))
            .map(|e| (e.stage.as_str(), Some(e.at)))
            .chain([(row.stage.as_str(), None)]);
        for (stage, at) in named {
            match (self.stage(stage), at) {
                (Ok(id), Some(at)) => entered.push((id, at)),
                (Ok(_), None) => {}
                (Err(_), _) => {
                    let stage = stage.trim().to_string();
                    if !unknown.contains(&stage) {
                        unknown.push(stage);
                    }
                }
            }
        }
        if !unknown.is_empty() {
            return Err(Refusal::UnknownStages(unknown));
        }
        entered.sort_by_key(|(_, at)| *at);
        entered.dedup_by(|b, a| a.0 == b.0);
        Ok(entered)
    }

    /// The stage and status of a row: the source's own open/won/lost flags when it has them,
    /// else what the mapped stage means in the playbook. Never the stage's name alone.
    fn standing(
        &self,
        mapped: &StageId,
        flags: Option<DealStatus>,
    ) -> Result<(StageId, DealStatus), Refusal> {
        let outcome = self.playbook.stage(mapped).and_then(|s| s.outcome);
        let status_of = |o: Option<Outcome>| match o {
            None => DealStatus::Open,
            Some(Outcome::Won) => DealStatus::Won,
            Some(Outcome::Lost) => DealStatus::Lost,
        };
        let Some(flags) = flags else {
            return Ok((mapped.clone(), status_of(outcome)));
        };
        match (flags, outcome) {
            (DealStatus::Open, None)
            | (DealStatus::Won, Some(Outcome::Won))
            | (DealStatus::Lost, Some(Outcome::Lost)) => Ok((mapped.clone(), flags)),
            (DealStatus::Open, Some(_)) => Err(Refusal::Other(format!(
                "the row says the deal is open, but its stage maps to `{mapped}`, which closes \
                 deals; map the stage to an open one with --map-stage"
            ))),
            (DealStatus::Won, None) => Ok((self.playbook.won_stage().id.clone(), flags)),
            (DealStatus::Lost, None) => Ok((self.playbook.lost_stage().id.clone(), flags)),
            (DealStatus::Won, Some(Outcome::Lost)) | (DealStatus::Lost, Some(Outcome::Won)) => {
                Err(Refusal::Other(format!(
                    "the row says the deal is {}, but its stage maps to `{mapped}`",
                    flags.as_str()
                )))
            }
        }
    }

    /// The kind of a move from `from` to `to` in the playbook's order.
    pub fn move_kind(&self, from: Option<&StageId>, to: &StageId) -> &'static str {
        let Some(from) = from else {
            return "create";
        };
        match self.playbook.stage(to).and_then(|s| s.outcome) {
            Some(Outcome::Won) => "won",
            Some(Outcome::Lost) => "lost",
            None => {
                if self.playbook.stage_index(to) > self.playbook.stage_index(from) {
                    "advance"
                } else {
                    "back"
                }
            }
        }
    }
}

/// How a file's words are compared: trimmed, case ignored.
fn key(text: &str) -> String {
    text.trim().to_lowercase()
}
