//! The coaching-nudges job: the service plans the day's nudges (who gets which deals, left out
//! what was nudged lately or snoozed); this renders each as a DM and has the service queue them.
//! It runs only on working days (the scheduler asks `Daily::due`, which knows the days off).

use chrono::{DateTime, NaiveDate, Utc};

use super::message::new_message;
use crate::commands::digest_replies::nudges;
use crate::service::{NewMessage, Schedule, Service, ServiceResult};

/// Runs the nudges for `date` unless they already ran. `Ok(true)` when this call ran them.
pub async fn run_nudges(
    service: &Service,
    schedule: &Schedule,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    let Some(plan) = service.plan_nudges(schedule, date, now).await? else {
        return Ok(false);
    };
    let messages: Vec<NewMessage> = plan
        .messages
        .iter()
        .map(|m| {
            let reply = nudges(
                &m.items,
                &plan.playbook.currency,
                m.about_team,
                m.unacknowledged.as_ref(),
            );
            new_message(m.target.clone(), &reply)
        })
        .collect();
    service.queue_nudges(schedule, date, &plan, &messages).await
}
