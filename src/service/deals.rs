//! Deal use cases: create, show, list, set a field, log an activity, approve.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::UserRef;
use super::limits;
use super::process::ProcessAlert;

use crate::engine::coaching::{Coverage, coverage, days_in_stage, is_stalled};
use crate::engine::currency;
use crate::engine::deal::DealStatus;
use crate::engine::deal::{ActivityEntry, Deal};
use crate::engine::gates::{GateCheck, Remedy, evaluate_stage};
use crate::engine::ids::{ActivityId, DealNumber, FieldName, Money, StageId};
use crate::engine::people::Member;
use crate::engine::playbook::{BUILTIN_FIELDS, Playbook, Role};
use crate::engine::process::broken_gates;
use crate::engine::suggest::closest;
use crate::engine::transition::StageChange;
use crate::store::StoreError;
use crate::store::deals::{self, DealFilter, NewActivity, NewDeal, NewStageChange};
use crate::store::{Conn, members, tenants};

use super::authz::{can_act_on, require_act_on, require_approver, require_see};
use super::workspace::resolve_user;
use super::{Service, ServiceError, ServiceResult, Session, retrying};

/// Everything `/deal show` and the replies about one deal need.
#[derive(Debug, Clone)]
pub struct DealView {
    pub deal: Deal,
    pub owner: Member,
    /// Gates of the current stage (empty for a closed deal).
    pub checks: Vec<GateCheck>,
    pub coverage: Option<Coverage>,
    pub days_in_stage: i64,
    pub stalled: bool,
    /// Latest first, at most [`deals::RECENT`].
    pub recent_activities: Vec<ActivityEntry>,
    pub history: Vec<StageChange>,
    /// Gates of stages it left that no longer hold and were not overridden: while there are
    /// any, the deal is out of process (see `engine::process`).
    pub out_of_process: Vec<GateCheck>,
}

/// What `/approve` did: the deal as it is now, and the stage the approval counts for (the one
/// it is in, or one it left whose approval it no longer met).
#[derive(Debug, Clone)]
pub struct Approved {
    pub view: DealView,
    pub stage: StageId,
}

/// A line of `/deal list`.
#[derive(Debug, Clone)]
pub struct DealSummary {
    pub deal: Deal,
    pub owner: String,
    pub stalled: bool,
    /// What no longer holds of the stages it left (empty: in process).
    pub out_of_process: Vec<GateCheck>,
}

/// A new value for a deal field, already parsed at the edge.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Amount(Money),
    CloseDate(NaiveDate),
    /// `name` or a custom field.
    Text(String),
}

impl std::fmt::Display for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Amount(a) => write!(f, "{a}"),
            Self::CloseDate(d) => write!(f, "{d}"),
            Self::Text(t) => f.write_str(t),
        }
    }
}

/// What `/log` did.
#[derive(Debug, Clone)]
pub struct LoggedOutcome {
    pub view: DealView,
    pub activity: ActivityId,
    /// The activity's name in the playbook.
    pub activity_name: String,
    /// Whether it is one of the current stage's recommended activities.
    pub recommended_here: bool,
}

impl Service {
    /// `/deal new`: a new deal, owned by the caller unless another owner is named (which needs
    /// the right to act for that owner). Starting in a later stage skips its gates, so only a
    /// manager or admin may do it (importing an existing pipeline).
    pub async fn create_deal(
        &self,
        session: &Session,
        name: &str,
        amount: Money,
        close: NaiveDate,
        owner: Option<&UserRef>,
        stage: Option<&StageId>,
    ) -> ServiceResult<DealView> {
        let now = self.clock.now();
        let playbook = &session.playbook;
        let name = name.trim();
        check_text("deal name", name, limits::DEAL_NAME)?;
        check_close_date(close, now.date_naive())?;
        let amount = currency::check(amount, &playbook.currency)?;
        let stage = match stage {
            None => playbook.first_stage().id.clone(),
            Some(id) => {
                let s = known_stage(playbook, id)?;
                if !s.is_open() {
                    return Err(ServiceError::Invalid(format!(
                        "A new deal starts in an open stage, not `{id}`; close it afterwards with \
                         `/won` or `/lost`."
                    )));
                }
                if s.id != playbook.first_stage().id && session.member.role < Role::Manager {
                    return Err(ServiceError::Forbidden(format!(
                        "Only a manager can create a deal in a later stage (it skips that stage's \
                         gates). Create it in `{}` and `/advance` it.",
                        playbook.first_stage().id
                    )));
                }
                s.id.clone()
            }
        };
        let mut tx = self.store.begin().await?;
        let owner_row = match owner {
            Some(o) => resolve_user(&mut tx, session.tenant.id, o).await?,
            None => session.member.clone(),
        };
        if !can_act_on(&session.member, &owner_row) {
            return Err(ServiceError::Forbidden(format!(
                "You can't create a deal for {}: reps create their own deals; managers also \
                 their reps'; admins anyone's.",
                crate::engine::text::mark_user(&owner_row.display_name)
            )));
        }
        let number = tenants::take_deal_number(&mut tx, session.tenant.id).await?;
        let deal = deals::insert(
            &mut tx,
            &NewDeal {
                tenant_id: session.tenant.id,
                number,
                name,
                owner_id: owner_row.id,
                amount,
                close_date: close,
                stage: &stage,
            },
            now,
        )
        .await?;
        deals::insert_stage_change(
            &mut tx,
            &NewStageChange {
                deal: &deal,
                actor_id: session.member.id,
                from: None,
                kind: "create",
                overridden_gates: &[],
                reason: None,
                effect: None,
                expected_close: None,
            },
            now,
        )
        .await?;
        self.mark_applied(&mut tx, session).await?;
        tx.commit().await?;
        self.view_committed(playbook, deal, owner_row).await
    }

    /// `/deal show`: anyone in the workspace may look; the pipeline is shared knowledge.
    pub async fn show_deal(
        &self,
        session: &Session,
        number: DealNumber,
    ) -> ServiceResult<DealView> {
        let (deal, owner, records) = self.load_with_records(session, number).await?;
        require_see(
            &session.member,
            &owner,
            session.tenant.team_pipeline_open,
            &number.to_string(),
        )?;
        self.view_of(&session.playbook, deal, owner, records)
    }

    /// A deal, its owner and its records as one snapshot (see `deals::get_with_records`).
    pub(super) async fn load_with_records(
        &self,
        session: &Session,
        number: DealNumber,
    ) -> ServiceResult<(Deal, Member, deals::DealRecords)> {
        if let Some(found) = session.prefetched.take(number) {
            return Ok(found);
        }
        if let Some(found) = deals::get_with_records(&self.store, session.tenant.id, number).await?
        {
            return Ok(found);
        }
        // No deal, or a deal without its owner row: the slower path says which.
        let mut conn = self.store.reader().acquire().await?;
        let (deal, owner) = load_deal_and_owner(&mut conn, session, number).await?;
        let records = deals::records(&mut conn, deal.id).await?;
        Ok((deal, owner, records))
    }

    /// `/deal list`: open deals of the named owner, or the caller's own (a rep) or their team's
    /// (a manager) or everyone's (an admin); optionally in one stage.
    pub async fn list_deals(
        &self,
        session: &Session,
        owner: Option<&UserRef>,
        stage: Option<&StageId>,
    ) -> ServiceResult<Vec<DealSummary>> {
        const MAX_LISTED: i64 = 50;
        if let Some(s) = stage {
            known_stage(&session.playbook, s)?;
        }
        self.judge_stale(session.tenant.id, &session.playbook, false)
            .await?;
        let mut conn = self.store.reader().acquire().await?;
        let owners: Option<Vec<i64>> = match owner {
            Some(o) => {
                let named = resolve_user(&mut conn, session.tenant.id, o).await?;
                require_see(
                    &session.member,
                    &named,
                    session.tenant.team_pipeline_open,
                    &format!(
                        "{}'s deals",
                        crate::engine::text::mark_user(&named.display_name)
                    ),
                )?;
                Some(vec![named.id])
            }
            None => match session.member.role {
                Role::Rep => Some(vec![session.member.id]),
                Role::Manager => {
                    let mut ids =
                        members::reports_of(&mut conn, session.tenant.id, session.member.id)
                            .await?;
                    ids.push(session.member.id);
                    Some(ids)
                }
                Role::Admin => None,
            },
        };
        let status = match stage
            .and_then(|s| session.playbook.stage(s))
            .and_then(|s| s.outcome)
        {
            Some(crate::engine::playbook::Outcome::Won) => DealStatus::Won,
            Some(crate::engine::playbook::Outcome::Lost) => DealStatus::Lost,
            None => DealStatus::Open,
        };
        let filter = DealFilter {
            owners: owners.as_deref(),
            stage,
            status: Some(status),
        };
        let found = deals::list(&mut conn, session.tenant.id, &filter, MAX_LISTED).await?;
        let everyone = members::list(&mut conn, session.tenant.id).await?;
        let now = self.clock.now();
        // Only deals on record as out of process are judged again, to say what no longer holds.
        let mut broken = HashMap::new();
        for deal in found.iter().filter(|d| d.out_of_process.unwrap_or(0) > 0) {
            let records = deals::records(&mut conn, deal.id).await?;
            let checks = broken_gates(&session.playbook, &records.facts(deal), now.date_naive());
            broken.insert(deal.id, checks);
        }
        Ok(found
            .into_iter()
            .map(|deal| {
                let owner = everyone
                    .iter()
                    .find(|m| m.id == deal.owner_id)
                    .map(|m| m.display_name.clone())
                    .unwrap_or_else(|| "unknown".to_string());
                let stalled = session.playbook.stage(&deal.stage).is_some_and(|s| {
                    deal.status == DealStatus::Open && days_past(s.stall_after_days, &deal, now)
                });
                DealSummary {
                    out_of_process: broken.remove(&deal.id).unwrap_or_default(),
                    deal,
                    owner,
                    stalled,
                }
            })
            .collect())
    }

    /// `/deal set deal field value`: a built-in field (`name`, `amount`, `close_date`) or one
    /// the playbook declares. Every change is kept in the field history.
    pub async fn set_field(
        &self,
        session: &Session,
        number: DealNumber,
        field: &FieldName,
        value: FieldValue,
    ) -> ServiceResult<DealView> {
        if !session.playbook.is_known_field(field) {
            return Err(ServiceError::UnknownField {
                given: field.to_string(),
                known: field_list(&session.playbook),
            });
        }
        let value = match (field.as_str(), value) {
            ("amount", v @ FieldValue::Amount(_))
            | ("close_date", v @ FieldValue::CloseDate(_)) => v,
            ("amount" | "close_date", _) => {
                return Err(ServiceError::Invalid(format!(
                    "`{field}` takes {}.",
                    if field.as_str() == "amount" {
                        "an amount, e.g. `48000`"
                    } else {
                        "a date, e.g. `2026-12-31`"
                    }
                )));
            }
            (_, FieldValue::Text(t)) => {
                let t = t.trim().to_string();
                check_text(field.as_str(), &t, limits::FIELD_VALUE)?;
                FieldValue::Text(t)
            }
            (_, other) => FieldValue::Text(other.to_string()),
        };
        match value {
            FieldValue::CloseDate(date) => check_close_date(date, self.clock.now().date_naive())?,
            FieldValue::Amount(amount) => {
                currency::check(amount, &session.playbook.currency)?;
            }
            FieldValue::Text(_) => {}
        }
        let new_text = value.to_string();
        retrying(|| async {
            let now = self.clock.now();
            let mut tx = self.store.begin().await?;
            let (mut deal, owner) = load_deal_and_owner(&mut tx, session, number).await?;
            require_act_on(session, &owner, &format!("change {number}"))?;
            require_open(&deal)?;
            let old = match &value {
                FieldValue::Amount(a) => Some(std::mem::replace(&mut deal.amount, *a).to_string()),
                FieldValue::CloseDate(d) => {
                    Some(std::mem::replace(&mut deal.close_date, *d).to_string())
                }
                FieldValue::Text(t) if field.as_str() == "name" => {
                    Some(std::mem::replace(&mut deal.name, t.clone()))
                }
                FieldValue::Text(t) => deal.fields.insert(field.clone(), t.clone()),
            };
            deals::update(&mut tx, &mut deal, now).await?;
            deals::insert_field_change(
                &mut tx,
                &deal,
                session.member.id,
                field.as_str(),
                old.as_deref(),
                &new_text,
                now,
            )
            .await?;
            // A field is the one fact whose change can break a gate the deal has passed: the
            // deal goes out of process in this transaction, and its owner's manager is asked.
            let standing = self
                .record_standing(&mut tx, &session.playbook, &deal, now)
                .await?;
            if standing.newly_out {
                let alert = |manager| ProcessAlert {
                    deal: deal.clone(),
                    owner: owner.clone(),
                    manager,
                    changed_by: session.member.display_name.clone(),
                    field: field.to_string(),
                    old: old.clone(),
                    new: new_text.clone(),
                    broken: standing.broken.clone(),
                };
                self.ask_manager(
                    &mut tx,
                    &session.playbook,
                    alert,
                    &owner,
                    &session.member,
                    now,
                )
                .await?;
            }
            self.mark_applied(&mut tx, session).await?;
            tx.commit().await?;
            self.view_committed(&session.playbook, deal, owner).await
        })
        .await
    }

    /// `/log deal activity [note]`: any activity the playbook knows, recorded with the stage
    /// the deal is in now.
    ///
    /// A session kept from the caller's last `/log` on the deal
    /// ([`Service::session_kept_or_read`]) is acted on only if the write finds everything it
    /// read unchanged; if not, or if it would refuse the command (a kept read may be what
    /// refuses it: a playbook or a role changed since), the command is judged again on a fresh
    /// read, which also says whether the delivery came before.
    pub async fn log_activity(
        &self,
        session: &Session,
        number: DealNumber,
        activity: &ActivityId,
        note: Option<&str>,
    ) -> ServiceResult<LoggedOutcome> {
        let Some(kept) = session.kept.as_ref().filter(|_| session.is_kept()) else {
            return self.log_in(session, number, activity, note).await;
        };
        match self.log_in(session, number, activity, note).await {
            Err(ServiceError::Store(StoreError::Conflict)) => {
                tracing::debug!("a kept read no longer held; reading afresh");
            }
            Err(e) if !e.is_internal() && !matches!(e, ServiceError::AlreadyApplied) => {
                tracing::debug!(error = %e, "a kept read refused; judging afresh");
            }
            done => return done,
        }
        let fresh = self.afresh(session, kept, number).await?;
        self.log_in(&fresh, number, activity, note).await
    }

    /// [`Service::log_activity`] in `session` as read, kept or fresh.
    async fn log_in(
        &self,
        session: &Session,
        number: DealNumber,
        activity: &ActivityId,
        note: Option<&str>,
    ) -> ServiceResult<LoggedOutcome> {
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if let Some(n) = note {
            check_text("note", n, limits::NOTE)?;
        }
        let Some((_, spec)) = session.playbook.activity(activity) else {
            let all = session.playbook.stages.iter().flat_map(|s| &s.activities);
            let mut hint = did_you_mean(activity.as_str(), all.map(|a| a.id.as_str()));
            hint.push_str(" `/playbook <stage>` lists each stage's activities.");
            return Err(ServiceError::UnknownActivity {
                given: activity.to_string(),
                hint,
            });
        };
        let activity_name = spec.name.clone();
        // Reads run on the read pool; the write records the activity only if the deal is still
        // at the version that was read and authorized, so it carries the stage the deal is
        // still in (another replica may be advancing it right now). The reply is built after
        // the write, so the writer (one connection on SQLite) is held only for the write.
        let attempt = || async {
            let now = self.clock.now();
            let (deal, owner, mut records) = self.load_with_records(session, number).await?;
            require_act_on(session, &owner, &format!("log activities on {number}"))?;
            require_open(&deal)?;
            let new = NewActivity {
                tenant_id: session.tenant.id,
                deal_id: deal.id,
                member_id: session.member.id,
                activity: activity.as_str(),
                note,
                stage: deal.stage.as_str(),
            };
            let effect = session.delivery.as_ref().map(|d| d.effect());
            // A kept read is checked whole by the write; a fresh one by the deal's version,
            // as every command's.
            let stamps = session
                .kept
                .as_ref()
                .and_then(|k| k.as_read)
                .map(|read| read.stamps);
            deals::log_unless_changed(&self.store, &deal, &new, now, effect, stamps).await?;
            let recommended_here = session
                .playbook
                .stage(&deal.stage)
                .is_some_and(|s| s.activities.iter().any(|a| &a.id == activity));
            // The reply shows what was read, plus this activity (the newest): the write's
            // checks proved no move or edit came between.
            records.note_logged(ActivityEntry {
                activity: activity.clone(),
                member_id: session.member.id,
                note: note.map(str::to_string),
                stage: deal.stage.clone(),
                at: now,
            });
            let view = self.settled_and_kept(session, deal, owner, records).await?;
            Ok((view, recommended_here))
        };
        // A kept read that fails its checks is not read again here but whole, by the caller.
        let (view, recommended_here) = if session.is_kept() {
            attempt().await?
        } else {
            retrying(attempt).await?
        };
        Ok(LoggedOutcome {
            view,
            activity: activity.clone(),
            activity_name,
            recommended_here,
        })
    }

    /// `/approve deal [note]`: the owner's manager (or an admin) approves the deal in its
    /// current stage, satisfying that stage's approval gates.
    pub async fn approve(
        &self,
        session: &Session,
        number: DealNumber,
        note: Option<&str>,
    ) -> ServiceResult<Approved> {
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if let Some(n) = note {
            check_text("note", n, limits::NOTE)?;
        }
        retrying(|| async {
            let now = self.clock.now();
            let mut tx = self.store.begin().await?;
            let (deal, owner) = load_deal_and_owner(&mut tx, session, number).await?;
            require_approver(&session.member, &owner, &format!("approve {number}"))?;
            require_open(&deal)?;
            // What the approval is for, decided on the deal as it is: the deal must still be
            // where it was read (a move meanwhile makes this run again on fresh data).
            deals::hold(&mut tx, &deal).await?;
            let records = deals::records(&mut tx, deal.id).await?;
            let facts = records.facts(&deal);
            // An approval gate of a stage the deal left and no longer meets is what an approval
            // now is for (the deal is out of process until it is given); otherwise it is for the
            // stage the deal is in, and counts until it leaves.
            let mine = |c: &GateCheck| {
                matches!(c.remedy, Remedy::Approval { role } if role <= session.member.role)
            };
            let missing = broken_gates(&session.playbook, &facts, now.date_naive())
                .into_iter()
                .find(mine);
            let stage = match missing {
                Some(check) => check.stage,
                None => {
                    if let Some(given) = facts.standing_approval(session.member.role) {
                        return Err(self
                            .already_approved(&mut tx, session, &deal, given)
                            .await?);
                    }
                    deal.stage.clone()
                }
            };
            deals::insert_approval(
                &mut tx,
                &deal,
                &stage,
                session.member.id,
                session.member.role,
                note,
                now,
            )
            .await?;
            self.record_standing(&mut tx, &session.playbook, &deal, now)
                .await?;
            self.mark_applied(&mut tx, session).await?;
            tx.commit().await?;
            let view = self.view_committed(&session.playbook, deal, owner).await?;
            Ok(Approved { view, stage })
        })
        .await
    }

    /// The refusal of an approval that would add nothing: who gave the one that stands, when.
    async fn already_approved(
        &self,
        conn: &mut Conn,
        session: &Session,
        deal: &Deal,
        given: &crate::engine::deal::GivenApproval,
    ) -> ServiceResult<ServiceError> {
        let by = members::get(conn, session.tenant.id, given.approver_id)
            .await?
            .map_or_else(
                || "a former member".to_string(),
                |m| crate::engine::text::mark_user(&m.display_name),
            );
        let stage = session
            .playbook
            .stage(&deal.stage)
            .map_or_else(|| deal.stage.to_string(), |s| s.name.clone());
        Ok(ServiceError::AlreadyApproved {
            number: deal.number,
            stage,
            by,
            on: given.at.date_naive(),
        })
    }

    /// Builds the view of a deal from inside the caller's connection or transaction.
    /// The view of a deal just written, built on the read pool after commit, so the writer
    /// (one connection on SQLite) is held only for the write itself.
    pub(super) async fn view_committed(
        &self,
        playbook: &Playbook,
        deal: Deal,
        owner: Member,
    ) -> ServiceResult<DealView> {
        let mut conn = self.store.reader().acquire().await?;
        self.view(&mut conn, playbook, deal, owner).await
    }

    pub(super) async fn view(
        &self,
        conn: &mut Conn,
        playbook: &Playbook,
        deal: Deal,
        owner: Member,
    ) -> ServiceResult<DealView> {
        let records = deals::records(&mut *conn, deal.id).await?;
        self.view_of(playbook, deal, owner, records)
    }

    /// The view of `deal` from its records, already read.
    pub(super) fn view_of(
        &self,
        playbook: &Playbook,
        deal: Deal,
        owner: Member,
        records: deals::DealRecords,
    ) -> ServiceResult<DealView> {
        let now = self.clock.now();
        let facts = records.facts(&deal);
        let stage = playbook.stage(&deal.stage);
        let open = deal.status == DealStatus::Open;
        let checks = match stage {
            Some(s) if open => evaluate_stage(playbook, s, &facts, now.date_naive()),
            _ => Vec::new(),
        };
        let coverage = stage.filter(|_| open).map(|s| coverage(s, &facts));
        let stalled = open && stage.is_some_and(|s| is_stalled(s, &facts, now));
        let out_of_process = broken_gates(playbook, &facts, now.date_naive());
        let deals::DealRecords {
            activities,
            stage_changes: history,
            ..
        } = records;
        let recent_activities = activities.into_iter().rev().take(deals::RECENT).collect();
        Ok(DealView {
            days_in_stage: days_in_stage(&facts, now),
            deal,
            owner,
            checks,
            coverage,
            stalled,
            recent_activities,
            history,
            out_of_process,
        })
    }
}

fn days_past(threshold: Option<u32>, deal: &Deal, now: chrono::DateTime<chrono::Utc>) -> bool {
    threshold.is_some_and(|t| (now - deal.stage_entered_at).num_days() > i64::from(t))
}

pub(super) async fn load_deal(
    conn: &mut Conn,
    session: &Session,
    number: DealNumber,
) -> ServiceResult<Deal> {
    deals::get(conn, session.tenant.id, number)
        .await?
        .ok_or(ServiceError::DealNotFound(number))
}

/// The deal and its owner in one read (every command about a deal needs both).
pub(super) async fn load_deal_and_owner(
    conn: &mut Conn,
    session: &Session,
    number: DealNumber,
) -> ServiceResult<(Deal, Member)> {
    match deals::get_with_owner(conn, session.tenant.id, number).await? {
        Some(found) => Ok(found),
        // Not found, or found without its owner (a broken row): tell the two apart.
        None => {
            let deal = load_deal(conn, session, number).await?;
            let owner = owner_of(conn, &deal).await?;
            Ok((deal, owner))
        }
    }
}

pub(super) async fn owner_of(conn: &mut Conn, deal: &Deal) -> ServiceResult<Member> {
    members::get(conn, deal.tenant_id, deal.owner_id)
        .await?
        .ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!(
                "owner {} of {} is missing",
                deal.owner_id,
                deal.number
            ))
        })
}

pub(super) fn require_open(deal: &Deal) -> ServiceResult<()> {
    if deal.status == DealStatus::Open {
        Ok(())
    } else {
        Err(ServiceError::DealClosed {
            number: deal.number,
            status: deal.status,
        })
    }
}

/// The stage with this id, or an error naming the stages there are (and the one probably meant).
pub fn known_stage<'p>(
    playbook: &'p Playbook,
    id: &StageId,
) -> ServiceResult<&'p crate::engine::playbook::Stage> {
    playbook
        .stage(id)
        .ok_or_else(|| ServiceError::UnknownStage {
            given: id.to_string(),
            hint: did_you_mean(id.as_str(), playbook.stages.iter().map(|s| s.id.as_str())),
            known: stage_list(playbook),
        })
}

fn did_you_mean<'a>(typed: &str, names: impl Iterator<Item = &'a str>) -> String {
    closest(typed, names)
        .map(|name| format!(" Did you mean `{name}`?"))
        .unwrap_or_default()
}

pub(super) fn stage_list(playbook: &Playbook) -> String {
    playbook
        .stages
        .iter()
        .map(|s| format!("`{}`", s.id))
        .collect::<Vec<_>>()
        .join(", ")
}

fn field_list(playbook: &Playbook) -> String {
    BUILTIN_FIELDS
        .iter()
        .map(|f| f.to_string())
        .chain(playbook.fields.iter().map(|f| f.id.to_string()))
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How far ahead a close date may be: a deal expected to close later than this is a typo
/// (`9999-12-31`) or not yet a deal.
pub const MAX_CLOSE_YEARS: u32 = 5;

/// A close date is today or later, and at most `MAX_CLOSE_YEARS` ahead.
fn check_close_date(date: NaiveDate, today: NaiveDate) -> ServiceResult<()> {
    if date < today {
        return Err(ServiceError::Invalid(format!(
            "The close date {date} is in the past; give the date you expect to close, today or \
             later."
        )));
    }
    let latest = today
        .checked_add_months(chrono::Months::new(12 * MAX_CLOSE_YEARS))
        .unwrap_or(NaiveDate::MAX);
    if date > latest {
        return Err(ServiceError::Invalid(format!(
            "The close date {date} is more than {MAX_CLOSE_YEARS} years away; give the date you \
             expect to close, {latest} at the latest."
        )));
    }
    Ok(())
}

pub(super) fn check_text(what: &str, text: &str, max: usize) -> ServiceResult<()> {
    let len = text.chars().count();
    if text.is_empty() {
        Err(ServiceError::Invalid(format!(
            "The {what} is empty; write something."
        )))
    } else if len > max {
        Err(ServiceError::Invalid(format!(
            "The {what} can be at most {max} characters; this one has {len}."
        )))
    } else {
        Ok(())
    }
}
