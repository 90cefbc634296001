//! Whether the process is used, and what has worked: `/coach` (each stage's exits for a rep or a
//! manager's team beside the whole team's) and `/playbook evidence` (each recommended activity's
//! win rate among closed deals that did it and that did not). Both read the workspace's whole
//! history in three statements and leave the arithmetic to `engine::adherence`.

use chrono::{NaiveDate, TimeZone, Utc};

use crate::engine::adherence::{
    ActivityEvidence, ClosedDeal, StageAdherence, adherence, evidence, exits,
};
use crate::engine::deal::DealStatus;
use crate::engine::forecast::PeriodSpec;
use crate::engine::ids::StageId;
use crate::engine::playbook::Role;
use crate::store::{history, members};

use super::forecast::period_range;
use super::workspace::owners_in_view;
use super::{Service, ServiceError, ServiceResult, Session, UserRef, known_stage};

/// `/coach`: whose figures, over which period, stage by stage.
#[derive(Debug, Clone)]
pub struct CoachView {
    /// Whose deals the first figures are: a member's name, "your team" or "everyone".
    pub whose: String,
    /// As a person reads it: "2026 Q4 (Oct 1 – Dec 31)".
    pub period: String,
    pub stages: Vec<StageAdherence>,
}

/// `/playbook calibrate`: per open stage, what the history says its probability is.
#[derive(Debug, Clone)]
pub struct CalibrationView {
    pub stages: Vec<(String, crate::engine::truth::Calibrated)>,
}

/// `/playbook evidence`: per stage, what closed deals say about each recommended activity.
#[derive(Debug, Clone)]
pub struct EvidenceView {
    /// Closed deals in the workspace (won and lost).
    pub closed: usize,
    pub stages: Vec<(String, Vec<ActivityEvidence>)>,
}

impl Service {
    /// `/coach [@rep] [period]` (managers and admins): by default this quarter, for a
    /// manager's own team (an admin's: everyone), against the whole team.
    pub async fn coach(
        &self,
        session: &Session,
        rep: Option<&UserRef>,
        period: Option<PeriodSpec>,
    ) -> ServiceResult<CoachView> {
        if session.member.role < Role::Manager {
            return Err(ServiceError::Forbidden(
                "Only managers and admins coach from these figures; your deals' next steps are \
                 in `/deal list` and `/deal show`."
                    .to_string(),
            ));
        }
        let schedule = self.schedule(session.tenant.id).await?;
        let today = schedule.digest.today(self.clock.now());
        let spec = period.unwrap_or(PeriodSpec::ThisQuarter);
        let range = period_range(spec, today, schedule.fiscal_start_month);
        let label = if spec == PeriodSpec::All {
            "all time".to_string()
        } else {
            range.label.clone()
        };
        let mut conn = self.store.reader().acquire().await?;
        let everyone = members::list(&mut conn, session.tenant.id).await?;
        let (owners, whose) =
            owners_in_view(&mut conn, session, &everyone, rep, "coaching figures").await?;
        let histories = history::deal_histories(&mut conn, session.tenant.id).await?;
        drop(conn);
        let midnight = |d: NaiveDate| Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN));
        let left = exits(
            &session.playbook,
            &histories,
            range.from.map(midnight),
            range.until.map(midnight),
        );
        Ok(CoachView {
            whose,
            period: label,
            stages: adherence(&session.playbook, &left, owners.as_deref()),
        })
    }

    /// `/playbook calibrate` (managers and admins): each open stage's configured probability
    /// against the share of closed deals that entered it and were won.
    pub async fn calibration(&self, session: &Session) -> ServiceResult<CalibrationView> {
        if session.member.role < Role::Manager {
            return Err(ServiceError::Forbidden(
                "Only managers and admins calibrate the stage probabilities; `/playbook` shows \
                 them."
                    .to_string(),
            ));
        }
        let cohorts = {
            let mut conn = self.store.reader().acquire().await?;
            crate::store::truth::stage_cohorts(&mut conn, session.tenant.id).await?
        };
        let playbook = &session.playbook;
        Ok(CalibrationView {
            stages: super::truth::stage_probabilities(playbook, &cohorts)
                .into_iter()
                .filter_map(|(id, calibrated)| {
                    Some((playbook.stage(&id)?.name.clone(), calibrated))
                })
                .collect(),
        })
    }

    /// `/playbook evidence [stage]`: for each recommended activity of the stage (of every open
    /// stage when none is named), the win rate of closed deals that did it there against those
    /// that did not.
    pub async fn playbook_evidence(
        &self,
        session: &Session,
        stage: Option<&StageId>,
    ) -> ServiceResult<EvidenceView> {
        let playbook = &session.playbook;
        let stages: Vec<_> = match stage {
            Some(id) => vec![known_stage(playbook, id)?],
            None => playbook.open_stages().collect(),
        };
        let histories = {
            let mut conn = self.store.reader().acquire().await?;
            history::deal_histories(&mut conn, session.tenant.id).await?
        };
        let closed: Vec<ClosedDeal> = histories
            .into_iter()
            .filter(|d| d.status != DealStatus::Open)
            .map(|d| ClosedDeal {
                won: d.status == DealStatus::Won,
                visited: d
                    .changes
                    .iter()
                    .flat_map(|c| c.from.iter().chain([&c.to]))
                    .cloned()
                    .collect(),
                activities: d.activities,
            })
            .collect();
        Ok(EvidenceView {
            closed: closed.len(),
            stages: stages
                .into_iter()
                .map(|s| (s.name.clone(), evidence(s, &closed)))
                .collect(),
        })
    }
}
