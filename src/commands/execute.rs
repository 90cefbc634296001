//! Running a command: resolve the caller, call the use case, build the reply. Every adapter
//! comes through here, so a command behaves the same in the console, Discord and Slack.
//!
//! ```text
//! /advance deal-42
//! → deal-42 can't leave Qualify yet
//!   Requirements not met (1):
//!   ❌ Log Discovery call held (`discovery-call`) in this stage — log `discovery-call`: `/log deal-42 discovery-call`
//! ```

use crate::service::{Caller, Delivery, Service, ServiceError, Session, known_stage};

use super::command::Command;
use super::digest_replies;
use super::parse::parse_line;
use super::replies;
use super::reply::Reply;

/// Parses and runs one command line as `caller`.
pub async fn execute_line(service: &Service, caller: &Caller, line: &str) -> Reply {
    match parse_line(line) {
        Ok(command) => execute(service, caller, command).await,
        Err(e) => replies::user_error(&e.to_string()),
    }
}

/// Runs a parsed command as `caller`.
pub async fn execute(service: &Service, caller: &Caller, command: Command) -> Reply {
    execute_for(service, caller, command, None).await
}

/// Runs a parsed command as `caller` for a claimed chat delivery (see `commands::interact`):
/// the command's transaction records the delivery's effect, so it is applied at most once.
pub async fn execute_for(
    service: &Service,
    caller: &Caller,
    command: Command,
    delivery: Option<&Delivery>,
) -> Reply {
    if let Command::Help { command } = &command {
        return match super::help::help_reply(command.as_deref()) {
            Ok(reply) => super::help::on_platform(reply, caller.platform),
            Err(e) => replies::user_error(&e.to_string()),
        };
    }
    let mut session = match service.session(caller).await {
        Ok(s) => s,
        Err(e) => return error_reply(&e, None),
    };
    session.delivery = delivery.cloned();
    match run(service, &session, command).await {
        Ok(reply) => reply,
        Err(e) => error_reply(&e, Some(&session)),
    }
}

async fn run(
    service: &Service,
    session: &Session,
    command: Command,
) -> Result<Reply, ServiceError> {
    let playbook = &session.playbook;
    let me = session.member.display_name.as_str();
    Ok(match command {
        Command::DealNew {
            name,
            amount,
            close,
            owner,
            stage,
        } => {
            let view = service
                .create_deal(
                    session,
                    &name,
                    amount,
                    close,
                    owner.as_ref(),
                    stage.as_ref(),
                )
                .await?;
            replies::deal_created(&view, playbook)
        }
        Command::DealShow { deal } => {
            replies::deal_shown(&service.show_deal(session, deal).await?, playbook)
        }
        Command::DealList { owner, stage } => {
            let deals = service
                .list_deals(session, owner.as_ref(), stage.as_ref())
                .await?;
            let whose = match (&owner, session.member.role) {
                (Some(o), _) => super::user_text::user(o.to_string()),
                (None, crate::engine::playbook::Role::Rep) => "yours".to_string(),
                (None, crate::engine::playbook::Role::Manager) => "your team's".to_string(),
                (None, crate::engine::playbook::Role::Admin) => "everyone's".to_string(),
            };
            let whose = match &stage {
                Some(s) => format!("{whose}, in {s}"),
                None => whose,
            };
            replies::deal_list(&deals, playbook, &whose)
        }
        Command::DealSet { deal, field, value } => {
            let value = match super::values::field_value(&field, &value) {
                Ok(v) => v,
                Err(e) => return Ok(replies::user_error(&e.to_string())),
            };
            let view = service.set_field(session, deal, &field, value).await?;
            replies::field_set(&view, playbook, field.as_str())
        }
        Command::Log {
            deal,
            activity,
            note,
        } => {
            let outcome = service
                .log_activity(session, deal, &activity, note.as_deref())
                .await?;
            replies::logged(&outcome, playbook)
        }
        Command::Advance {
            deal,
            to,
            override_reason,
        } => {
            let moved = service
                .advance(session, deal, to.as_ref(), override_reason.as_deref())
                .await?;
            replies::moved(&moved, playbook, me)
        }
        Command::Back { deal, to, reason } => replies::moved(
            &service.back(session, deal, &to, &reason).await?,
            playbook,
            me,
        ),
        Command::Approve { deal, note } => replies::approved(
            &service.approve(session, deal, note.as_deref()).await?,
            playbook,
            me,
        ),
        Command::Won { deal } => replies::moved(&service.won(session, deal).await?, playbook, me),
        Command::Lost { deal, reason } => {
            replies::moved(&service.lost(session, deal, &reason).await?, playbook, me)
        }
        Command::Playbook { stage } => match stage {
            None => replies::playbook_view(playbook, None),
            Some(id) => replies::playbook_view(playbook, Some(known_stage(playbook, &id)?)),
        },
        Command::Forecast { period, owner } => replies::forecast_view(
            &service.forecast(session, period, owner.as_ref()).await?,
            playbook,
        ),
        Command::TeamSet {
            user,
            role,
            manager,
        } => replies::team_set(
            &service
                .set_team_role(session, &user, role, manager.as_ref())
                .await?,
        ),
        Command::TeamList => replies::team_view(&service.team(session).await?),
        Command::DigestSetup {
            channel,
            time,
            timezone,
            weekdays_only,
            fiscal_start,
        } => digest_replies::digest_scheduled(
            &service
                .setup_digest(
                    session,
                    &channel,
                    time,
                    timezone,
                    weekdays_only.unwrap_or(true),
                    fiscal_start,
                )
                .await?,
        ),
        Command::DigestPreview => {
            let figures = service.preview_digest(session).await?;
            let zone = service.schedule(session.tenant.id).await?.digest.zone;
            let mut reply = digest_replies::digest(&figures, playbook, zone).ephemeral();
            reply.image = Some(
                super::digest_chart::render(&figures, playbook).map_err(ServiceError::Internal)?,
            );
            reply
        }
        Command::NudgesSetup {
            time,
            to_reps,
            repeat_days,
        } => digest_replies::nudges_scheduled(
            &service
                .setup_nudges(session, time, to_reps.unwrap_or(false), repeat_days)
                .await?,
        ),
        Command::NudgesSnooze { deal, days } => {
            digest_replies::snoozed(&service.snooze_nudges(session, deal, days).await?)
        }
        Command::Help { .. } => unreachable!("answered before the session is resolved"),
    })
}

pub(crate) fn error_reply(e: &ServiceError, session: Option<&Session>) -> Reply {
    if e.is_internal() {
        let reference = reference_id();
        tracing::error!(reference = %reference, error = ?e, "command failed");
        return replies::internal_error(&reference);
    }
    match (e, session) {
        (
            ServiceError::Move {
                number,
                stage,
                refusal,
            },
            Some(s),
        ) => replies::refused(*number, refusal, &s.playbook, s.playbook.stage(stage)),
        _ => replies::user_error(&e.to_string()),
    }
}

/// A short reference to find an internal error in the log, unique within the process.
fn reference_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("E{:x}-{n}", std::process::id())
}
