//! Rows as the database returns them, and their conversion to typed values at this boundary.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::FromRow;

use super::time::{parse_date, parse_ts};
use super::{Result, StoreError};
use crate::engine::deal::{DealFacts, DealStatus, GivenApproval, LoggedActivity};
use crate::engine::ids::{ActivityId, DealNumber, FieldName, Money, StageId};
use crate::engine::playbook::Role;

#[derive(Debug, Clone, FromRow)]
pub struct TenantRow {
    pub id: i64,
    pub platform: String,
    pub external_id: String,
    pub name: String,
    pub playbook_ref: String,
    pub playbook_toml: String,
    pub next_deal_number: i64,
    pub created_at: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct MemberRow {
    pub id: i64,
    pub tenant_id: i64,
    pub user_key: String,
    pub display_name: String,
    pub role: String,
    pub manager_id: Option<i64>,
    pub created_at: String,
}

impl MemberRow {
    pub fn role(&self) -> Role {
        // The CHECK constraint admits only these three; anything else reads as the least power.
        Role::parse(&self.role).unwrap_or(Role::Rep)
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct DealRow {
    pub id: i64,
    pub tenant_id: i64,
    pub number: i64,
    pub name: String,
    pub owner_id: i64,
    pub amount: i64,
    pub close_date: String,
    pub stage: String,
    pub stage_entered_at: String,
    pub status: String,
    pub fields: String,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
}

/// A deal with typed values.
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
}

fn corrupt(detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table: "deals",
        detail: detail.into(),
    }
}

impl TryFrom<DealRow> for Deal {
    type Error = StoreError;

    fn try_from(r: DealRow) -> Result<Self> {
        let number = u32::try_from(r.number)
            .ok()
            .and_then(DealNumber::new)
            .ok_or_else(|| corrupt(format!("number {}", r.number)))?;
        let fields: BTreeMap<String, String> = serde_json::from_str(&r.fields)
            .map_err(|e| corrupt(format!("fields of {number}: {e}")))?;
        let fields = fields
            .into_iter()
            .map(|(k, v)| {
                Ok((
                    k.parse()
                        .map_err(|_| corrupt(format!("field name `{k}`")))?,
                    v,
                ))
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            id: r.id,
            tenant_id: r.tenant_id,
            number,
            name: r.name,
            owner_id: r.owner_id,
            amount: Money::from_minor(r.amount)
                .ok_or_else(|| corrupt(format!("amount {} of {number}", r.amount)))?,
            close_date: parse_date("deals", &r.close_date)?,
            stage: r
                .stage
                .parse()
                .map_err(|_| corrupt(format!("stage `{}`", r.stage)))?,
            stage_entered_at: parse_ts("deals", &r.stage_entered_at)?,
            status: DealStatus::parse(&r.status)
                .ok_or_else(|| corrupt(format!("status `{}`", r.status)))?,
            fields,
            version: r.version,
            created_at: parse_ts("deals", &r.created_at)?,
            updated_at: parse_ts("deals", &r.updated_at)?,
            closed_at: r
                .closed_at
                .as_deref()
                .map(|t| parse_ts("deals", t))
                .transpose()?,
        })
    }
}

impl Deal {
    /// The fields JSON as stored.
    pub fn fields_json(&self) -> String {
        let plain: BTreeMap<&str, &str> = self
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        serde_json::to_string(&plain).unwrap_or_else(|_| "{}".to_string())
    }

    /// What the engine needs to judge this deal.
    pub fn facts(
        &self,
        activities: &[ActivityRow],
        approvals: &[ApprovalRow],
    ) -> Result<DealFacts> {
        let activities = activities
            .iter()
            .map(|a| {
                Ok(LoggedActivity {
                    activity: a.activity.parse::<ActivityId>().map_err(|_| {
                        StoreError::Corrupt {
                            table: "activities",
                            detail: format!("activity `{}`", a.activity),
                        }
                    })?,
                    stage: a.stage.parse().map_err(|_| StoreError::Corrupt {
                        table: "activities",
                        detail: format!("stage `{}`", a.stage),
                    })?,
                    at: parse_ts("activities", &a.at)?,
                })
            })
            .collect::<Result<_>>()?;
        let approvals = approvals
            .iter()
            .map(|a| {
                Ok(GivenApproval {
                    stage: a.stage.parse().map_err(|_| StoreError::Corrupt {
                        table: "approvals",
                        detail: format!("stage `{}`", a.stage),
                    })?,
                    role: Role::parse(&a.role).unwrap_or(Role::Rep),
                    at: parse_ts("approvals", &a.at)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(DealFacts {
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
        })
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct ActivityRow {
    pub id: i64,
    pub deal_id: i64,
    pub member_id: i64,
    pub activity: String,
    pub note: Option<String>,
    pub stage: String,
    pub at: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct ApprovalRow {
    pub id: i64,
    pub deal_id: i64,
    pub approver_id: i64,
    pub role: String,
    pub stage: String,
    pub note: Option<String>,
    pub at: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct StageChangeRow {
    pub id: i64,
    pub deal_id: i64,
    pub actor_id: i64,
    pub from_stage: Option<String>,
    pub to_stage: String,
    pub kind: String,
    pub overridden: i64,
    pub gates: Option<String>,
    pub reason: Option<String>,
    pub at: String,
}
