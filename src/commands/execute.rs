//! Running a command: resolve the caller's session, run the command (`Command::run`), and turn a
//! refusal or a failure into its reply. Every adapter comes through here, so a command behaves
//! the same in the console, Discord and Slack.
//!
//! ```text
//! /advance deal-42
//! → deal-42 can't leave Qualify yet
//!   Requirements not met (1):
//!   ❌ Log Discovery call held (`discovery-call`) in this stage — log `discovery-call`: `/log deal-42 discovery-call`
//! ```

use crate::service::{Caller, Delivery, Service, ServiceError, ServiceResult, Session};

use super::command::Command;
use super::parse::parse_line;
use super::replies;
use super::reply::Reply;
use crate::telemetry::Outcome;

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
    let (command, begun) = begin(service, caller, command).await;
    finish(service, command, begun, delivery).await
}

/// What a command reads before it runs: its session, or for `help` the whole reply.
pub enum Begun {
    Help(Reply),
    Session(ServiceResult<Session>),
}

/// Reads what `command` needs before it runs (see [`finish`]). It changes nothing a command
/// depends on (at most it adds a newcomer to the workspace), so a chat delivery reads it while
/// its claim is being written rather than after.
pub async fn begin(service: &Service, caller: &Caller, command: Command) -> (Command, Begun) {
    let begun = match &command {
        Command::Help { command } => Begun::Help(help(service, caller, command.as_deref()).await),
        _ => Begun::Session(service.session_about(caller, command.about_deal()).await),
    };
    (command, begun)
}

/// [`begin`] for `delivery` of a command claimed by its write (`Command::claimed_by_its_write`):
/// the session also brings what the database holds of the delivery, read in the same snapshot
/// as the deal, for `Service::claim_by_write`; or it is the read kept from the caller's last
/// such command on the deal, which the use case checks before it acts on it.
pub async fn begin_delivery(
    service: &Service,
    caller: &Caller,
    command: Command,
    delivery: &Delivery,
) -> (Command, Begun) {
    let session = match command.about_deal() {
        Some(deal) => service.session_kept_or_read(caller, deal, delivery).await,
        None => service.session_about_delivery(caller, None, delivery).await,
    };
    (command, Begun::Session(session))
}

impl Begun {
    /// The session read, if the command has one and it was read.
    pub fn session(&self) -> Option<&Session> {
        match self {
            Self::Session(Ok(session)) => Some(session),
            _ => None,
        }
    }
}

/// The reply to `/help`, about `command` if one is named.
async fn help(service: &Service, caller: &Caller, command: Option<&str>) -> Reply {
    match super::help::help_reply(command) {
        Ok(mut reply) => {
            // A member reads it against the workspace's playbook; help makes nobody a member.
            let known = Caller {
                known_only: true,
                ..caller.clone()
            };
            if let Ok(session) = service.session(&known).await {
                reply = super::help::for_playbook(reply, command, &session.playbook);
            }
            super::help::on_platform(reply, caller.platform)
        }
        Err(e) => replies::user_error(&e.to_string()),
    }
}

/// Runs `command` in the session [`begin`] read, for `delivery` if it was claimed.
pub async fn finish(
    service: &Service,
    command: Command,
    begun: Begun,
    delivery: Option<&Delivery>,
) -> Reply {
    finish_once(service, command, begun, delivery)
        .await
        .unwrap_or_else(|AppliedBefore| error_reply(&ServiceError::AlreadyApplied, None))
}

/// A command run for a delivery found the delivery's work applied before, by another attempt
/// (a duplicate that ran beside the first, or a retry of one that died): its answer is that
/// attempt's.
#[derive(Debug)]
pub struct AppliedBefore;

/// [`finish`], telling apart a delivery applied before.
pub async fn finish_once(
    service: &Service,
    command: Command,
    begun: Begun,
    delivery: Option<&Delivery>,
) -> Result<Reply, AppliedBefore> {
    let mut session = match begun {
        Begun::Help(reply) => return Ok(reply),
        Begun::Session(Ok(session)) => session,
        Begun::Session(Err(e)) => return Ok(error_reply(&e, None)),
    };
    session.delivery = delivery.cloned();
    match command.run(service, &session).await {
        Ok(reply) => Ok(reply),
        Err(ServiceError::AlreadyApplied) => Err(AppliedBefore),
        Err(e) => Ok(error_reply(&e, Some(&session))),
    }
}

/// What a command run for a delivery claimed by its write gave (see [`finish_by_write`]).
pub enum Finished {
    /// Its reply, to be rendered and recorded as the command's answer.
    Reply(Box<Reply>),
    /// Its answer, rendered by the caller's `render` and recorded already.
    Recorded(String),
}

impl Finished {
    pub fn reply(reply: Reply) -> Self {
        Self::Reply(Box::new(reply))
    }
}

/// [`finish_once`] for a delivery of a command claimed by its write, whose session may be a
/// read kept from the caller's last such command (`execute::begin_delivery`).
///
/// A refusal wrote nothing, so its answer is the only record that the delivery was judged: it
/// is rendered and written here, before it goes out, so a retry is never judged again. One
/// judged on a kept read without a check (`Session::refused_on_kept_read`) is written with the
/// check, in one statement; if the read no longer held, the command is judged again on a fresh
/// read, whose reply is the answer. A command that did something comes back as its reply, its
/// answer recorded as it goes out.
pub async fn finish_by_write(
    service: &Service,
    command: Command,
    begun: Begun,
    delivery: &Delivery,
    render: &impl Fn(&Reply) -> String,
) -> Result<Finished, AppliedBefore> {
    let mut session = match begun {
        Begun::Session(Ok(session)) if session.is_kept() => session,
        begun => {
            let reply = finish_once(service, command, begun, Some(delivery)).await?;
            return Ok(refusal_recorded(service, delivery, render, reply).await);
        }
    };
    session.delivery = Some(delivery.clone());
    // A refusal comes as a reply (`/advance`'s names what is missing) or as an error.
    let reply = match command.clone().run(service, &session).await {
        Ok(reply) => reply,
        Err(ServiceError::AlreadyApplied) => return Err(AppliedBefore),
        Err(e) => error_reply(&e, Some(&session)),
    };
    // A command that did something checked the kept read first, so only a refusal can be
    // judged on it unchecked.
    if Outcome::of(&reply) == Outcome::Ok || !session.refused_on_kept_read() {
        return Ok(refusal_recorded(service, delivery, render, reply).await);
    }
    let answer = render(&reply);
    match service.record_refusal_as_read(&session, &answer).await {
        Ok(true) => return Ok(Finished::Recorded(answer)),
        Ok(false) => {}
        // Whether the read held is unknown: the fresh judgement answers, or says what failed.
        Err(e) => tracing::warn!(error = ?e, "a refusal on a kept read was not recorded"),
    }
    match service.session_afresh(&session).await {
        Err(ServiceError::AlreadyApplied) => Err(AppliedBefore),
        fresh => {
            let reply =
                finish_once(service, command, Begun::Session(fresh), Some(delivery)).await?;
            Ok(refusal_recorded(service, delivery, render, reply).await)
        }
    }
}

/// `reply`, given to `delivery` of a command claimed by its write: a refusal's answer is
/// written before it goes out (see [`finish_by_write`]); the reply of a command that did
/// something is left for its caller to record.
async fn refusal_recorded(
    service: &Service,
    delivery: &Delivery,
    render: &impl Fn(&Reply) -> String,
    reply: Reply,
) -> Finished {
    if Outcome::of(&reply) == Outcome::Ok {
        return Finished::reply(reply);
    }
    let answer = render(&reply);
    if let Err(e) = service.record_refusal(delivery, &answer).await {
        // A retry will be judged again, on what it finds then.
        tracing::error!(
            platform = %delivery.platform, interaction = %delivery.key, error = ?e,
            "the answer of a refusal was not recorded"
        );
    }
    Finished::Recorded(answer)
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
