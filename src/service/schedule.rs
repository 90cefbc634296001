//! `/digest setup`, `/digest preview`, `/nudges setup` and `/nudges snooze`: the schedule of a
//! workspace and the use cases around it.

use chrono::{Duration, NaiveTime};
use chrono_tz::Tz;

use super::authz::{manages, require_admin};
use super::deals::{check_text, load_deal, owner_of, require_open};
use super::limits;
use super::{DigestFigures, DigestScope, Service, ServiceError, ServiceResult, Session};
use crate::engine::ids::DealNumber;
use crate::engine::playbook::Role;
use crate::engine::schedule::{Daily, Schedule, parse_time_of_day, parse_zone};
use crate::store::date_text;
use crate::store::schedules::{self, Setting};

/// The defaults a workspace has before anyone sets a schedule.
pub const DEFAULT_DIGEST_TIME: &str = "08:30";
pub const DEFAULT_TIMEZONE: &str = "UTC";
pub const DEFAULT_NUDGES_TIME: &str = "09:00";
pub const DEFAULT_NUDGE_REPEAT_DAYS: u32 = 7;
/// Days after a playbook change before the nudges remind whoever has not acknowledged it (the
/// migration's default).
pub const DEFAULT_ACK_REMIND_DAYS: u32 = 3;
/// A workspace's fiscal year starts in January until `/digest setup … fiscal-start` says
/// otherwise.
pub const DEFAULT_FISCAL_START_MONTH: u32 = 1;
/// A snooze may last up to this many days.
pub const MAX_SNOOZE_DAYS: u32 = 90;

/// What `/nudges snooze` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Snoozed {
    pub number: DealNumber,
    pub name: String,
    pub until: chrono::NaiveDate,
    pub reason: String,
}

impl Service {
    /// The workspace's schedule, or the defaults if none was set.
    pub async fn schedule(&self, tenant_id: i64) -> ServiceResult<Schedule> {
        let mut conn = self.store.reader().acquire().await?;
        if let Some(schedule) = schedules::get(&mut conn, tenant_id).await? {
            return Ok(schedule);
        }
        // What the migration's column defaults say, for a workspace that never set one (the
        // constants are valid times and zones; a unit test below reads them).
        let daily = |at: &str| Daily {
            at: parse_time_of_day(at).unwrap_or_default(),
            zone: parse_zone(DEFAULT_TIMEZONE).unwrap_or(chrono_tz::UTC),
            weekdays_only: true,
        };
        Ok(Schedule {
            tenant_id,
            digest_channel: None,
            digest: daily(DEFAULT_DIGEST_TIME),
            fiscal_start_month: DEFAULT_FISCAL_START_MONTH,
            nudges_enabled: false,
            nudges: daily(DEFAULT_NUDGES_TIME),
            nudges_to_reps: false,
            nudge_repeat_days: DEFAULT_NUDGE_REPEAT_DAYS,
            ack_remind_days: DEFAULT_ACK_REMIND_DAYS,
        })
    }

    /// `/digest setup channel time timezone [weekdays-only] [fiscal-start]` (admins). Without
    /// `fiscal_start` the fiscal year keeps the first month set before (January at first).
    pub async fn setup_digest(
        &self,
        session: &Session,
        channel: &str,
        time: NaiveTime,
        zone: Tz,
        weekdays_only: bool,
        fiscal_start: Option<chrono::Month>,
    ) -> ServiceResult<Schedule> {
        require_admin(&session.member, "set up the digest")?;
        let channel = channel.trim();
        if channel.is_empty() || channel.chars().count() > 100 {
            return Err(ServiceError::Invalid(
                "Name the channel the digest goes to, e.g. `#sales-managers` or a mention.".into(),
            ));
        }
        let mut tx = self.store.begin().await?;
        let mut row = schedules::set_digest(
            &mut tx,
            session.tenant.id,
            channel,
            &time.format("%H:%M").to_string(),
            zone.name(),
            weekdays_only,
            self.clock.now(),
        )
        .await?;
        if let Some(month) = fiscal_start {
            row = schedules::set(
                &mut tx,
                session.tenant.id,
                Setting::FiscalStartMonth,
                month.number_from_month(),
                self.clock.now(),
            )
            .await?;
        }
        self.mark_applied(&mut tx, session).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// `/nudges setup time [to-reps] [repeat-days]` (admins). Nudges use the digest's time zone
    /// and days; `repeat_days` of `None` keeps the window set before (7 days at first).
    pub async fn setup_nudges(
        &self,
        session: &Session,
        time: NaiveTime,
        to_reps: bool,
        repeat_days: Option<u32>,
        ack_days: Option<u32>,
    ) -> ServiceResult<Schedule> {
        require_admin(&session.member, "set up coaching nudges")?;
        let mut tx = self.store.begin().await?;
        let mut row = schedules::set_nudges(
            &mut tx,
            session.tenant.id,
            &time.format("%H:%M").to_string(),
            to_reps,
            self.clock.now(),
        )
        .await?;
        if let Some(days) = repeat_days {
            row = schedules::set(
                &mut tx,
                session.tenant.id,
                Setting::NudgeRepeatDays,
                days,
                self.clock.now(),
            )
            .await?;
        }
        if let Some(days) = ack_days {
            row = schedules::set(
                &mut tx,
                session.tenant.id,
                Setting::AckRemindDays,
                days,
                self.clock.now(),
            )
            .await?;
        }
        self.mark_applied(&mut tx, session).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// `/nudges snooze deal days reason`: the deal's owner's manager, or an admin.
    pub async fn snooze_nudges(
        &self,
        session: &Session,
        number: DealNumber,
        days: u32,
        reason: &str,
    ) -> ServiceResult<Snoozed> {
        if !(1..=MAX_SNOOZE_DAYS).contains(&days) {
            return Err(ServiceError::Invalid(format!(
                "Snooze for 1 to {MAX_SNOOZE_DAYS} days."
            )));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ServiceError::Invalid(
                "Say why the nudges can wait, e.g. `/nudges snooze deal-42 7 CFO away until the \
                 20th`: the reason is shown with the snooze."
                    .into(),
            ));
        }
        check_text("reason", reason, limits::REASON)?;
        let schedule = self.schedule(session.tenant.id).await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let deal = load_deal(&mut tx, session, number).await?;
        require_open(&deal)?;
        let owner = owner_of(&mut tx, &deal).await?;
        let me = &session.member;
        if !(me.role == Role::Admin || manages(me, &owner)) {
            return Err(ServiceError::Forbidden(format!(
                "Only {}'s manager or an admin can snooze nudges about {number}.",
                crate::engine::text::mark_user(&owner.display_name)
            )));
        }
        // Through the last day named: snoozing for 7 days on Monday silences nudges until the
        // next Monday's run.
        let until = schedule.digest.today(now) + Duration::days(i64::from(days) - 1);
        let snooze = schedules::NewSnooze {
            tenant_id: session.tenant.id,
            deal_id: deal.id,
            until,
            member_id: me.id,
            reason,
        };
        schedules::snooze(&mut tx, &snooze, now).await?;
        self.mark_applied(&mut tx, session).await?;
        tx.commit().await?;
        tracing::info!(deal = %number, until = %date_text(until), "nudges snoozed");
        Ok(Snoozed {
            number,
            name: deal.name,
            until,
            reason: reason.to_string(),
        })
    }

    /// `/digest preview`: the digest as it would be posted now (managers and admins).
    pub async fn preview_digest(&self, session: &Session) -> ServiceResult<DigestFigures> {
        if session.member.role < Role::Manager {
            return Err(ServiceError::Forbidden(
                "The digest is for managers and admins; `/forecast` shows your own numbers.".into(),
            ));
        }
        let schedule = self.schedule(session.tenant.id).await?;
        let now = self.clock.now();
        let scope = DigestScope {
            tenant_id: session.tenant.id,
            workspace: &session.tenant.name,
            playbook: &session.playbook,
            fiscal_start_month: schedule.fiscal_start_month,
            today: schedule.digest.today(now),
        };
        self.digest_figures(scope, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_times_and_zone_read_as_they_are_written() {
        assert_eq!(
            parse_time_of_day(DEFAULT_DIGEST_TIME),
            NaiveTime::from_hms_opt(8, 30, 0)
        );
        assert_eq!(
            parse_time_of_day(DEFAULT_NUDGES_TIME),
            NaiveTime::from_hms_opt(9, 0, 0)
        );
        assert_eq!(parse_zone(DEFAULT_TIMEZONE), Some(chrono_tz::UTC));
    }
}
