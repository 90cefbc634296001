//! What the engine knows about one deal: plain values handed in by the service.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::ids::{ActivityId, DealNumber, FieldName, Money, StageId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DealStatus {
    Open,
    Won,
    Lost,
}

impl DealStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Won => "won",
            Self::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "won" => Some(Self::Won),
            "lost" => Some(Self::Lost),
            _ => None,
        }
    }
}

/// A deal with typed values, as the store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Deal {
    pub id: i64,
    pub tenant_id: i64,
    pub number: DealNumber,
    pub name: String,
    pub owner_id: i64,
    pub amount: Money,
    pub close_date: NaiveDate,
    pub stage: StageId,
    pub stage_entered_at: DateTime<Utc>,
    pub status: DealStatus,
    pub fields: BTreeMap<FieldName, String>,
    /// Optimistic concurrency: an update succeeds only if nobody moved this on meanwhile.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// How many requirements of stages it has left it no longer meets, as last judged
    /// (`process::broken_gates`); `None` until judged (after an upgrade or a playbook change).
    pub out_of_process: Option<u32>,
}

impl Deal {
    /// What the gates need to judge this deal, with what was logged against it.
    pub fn facts(
        &self,
        activities: Vec<LoggedActivity>,
        approvals: Vec<GivenApproval>,
    ) -> DealFacts {
        DealFacts {
            number: self.number,
            name: self.name.clone(),
            amount: self.amount,
            close_date: self.close_date,
            stage: self.stage.clone(),
            stage_entered_at: self.stage_entered_at,
            status: self.status,
            fields: self.fields.clone(),
            activities,
            approvals,
            passage: crate::process::Passage::default(),
        }
    }
}

/// An activity logged on a deal, as its card lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityEntry {
    pub activity: ActivityId,
    /// Who logged it (a member id).
    pub member_id: i64,
    pub note: Option<String>,
    /// The stage the deal was in when it was logged.
    pub stage: StageId,
    pub at: DateTime<Utc>,
}

impl From<&ActivityEntry> for LoggedActivity {
    fn from(a: &ActivityEntry) -> Self {
        Self {
            activity: a.activity.clone(),
            stage: a.stage.clone(),
            at: a.at,
            times: 1,
        }
    }
}

/// A deal and everything logged against it that gates can ask about.
#[derive(Debug, Clone, PartialEq)]
pub struct DealFacts {
    pub number: DealNumber,
    pub name: String,
    pub amount: Money,
    pub close_date: NaiveDate,
    pub stage: StageId,
    pub stage_entered_at: DateTime<Utc>,
    pub status: DealStatus,
    /// Custom fields by name; values are the text the rep wrote.
    pub fields: BTreeMap<FieldName, String>,
    pub activities: Vec<LoggedActivity>,
    pub approvals: Vec<GivenApproval>,
    /// How it came through the stages (from its history), for the gates of stages it left.
    pub passage: crate::process::Passage,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoggedActivity {
    pub activity: ActivityId,
    /// The stage the deal was in when it was logged.
    pub stage: StageId,
    /// When it was first logged in that stage.
    pub at: DateTime<Utc>,
    /// How many times it was logged in that stage (at least 1): the store hands the gates one
    /// entry per activity and stage, counted in SQL, so a deal with a thousand activities
    /// costs a command what one with ten does.
    pub times: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GivenApproval {
    /// The member who approved.
    pub approver_id: i64,
    /// The stage the deal was in when it was approved; an approval counts for that stage only.
    pub stage: StageId,
    /// The approver's role when they approved.
    pub role: crate::playbook::Role,
    pub at: DateTime<Utc>,
}

impl DealFacts {
    /// An approval that already stands for the deal where it is (given in its current stage
    /// since it entered it) by someone of at least `role`: approving again would add nothing.
    pub fn standing_approval(&self, role: crate::playbook::Role) -> Option<&GivenApproval> {
        self.approvals
            .iter()
            .filter(|a| a.stage == self.stage && a.at >= self.stage_entered_at && a.role >= role)
            .min_by_key(|a| a.at)
    }

    /// The value of a built-in or custom field as text, if it has one.
    pub fn field_text(&self, field: &FieldName) -> Option<String> {
        match field.as_str() {
            "name" => Some(self.name.clone()).filter(|s| !s.trim().is_empty()),
            "amount" => Some(self.amount.to_string()),
            "close_date" => Some(self.close_date.to_string()),
            _ => self
                .fields
                .get(field)
                .cloned()
                .filter(|s| !s.trim().is_empty()),
        }
    }
}
