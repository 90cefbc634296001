//! The one door from the chat adapters: an invocation (who, what they typed or pressed, the
//! delivery it came in, the people it names) in; its answer, or the promise of one, out. The
//! request bracket lives here once for every platform: a command that changes something, and
//! every press, is claimed by its delivery key, run, and its answer recorded, so a duplicated
//! or retried delivery gets the first answer instead of running the command again. A command
//! whose change is one write (`Command::claimed_by_its_write`) is claimed by that write, which
//! records the delivery's effect, and its first read says whether the delivery ran before
//! (`Service::claim_by_write`); the others write a claim first, while their reads run.
//!
//! What it promises (README, "When a client hangs up, retries or replays"):
//! - The adapter runs `handle` in a task of its own, so a client that hangs up does not stop
//!   it: the command runs to completion and its answer is recorded.
//! - A retry of a delivery that finished gets the recorded answer.
//! - A retry of a delivery whose process died before it answered runs the command, unless its
//!   work had committed (its transaction wrote the delivery's effect row), in which case the
//!   retry is told so and nothing runs again; a claim written first is taken over only once
//!   its lease lapses.
//!
//! Answers are stored as the adapter renders them (platform JSON), so a duplicate gets exactly
//! the bytes the first delivery got. Adapters are left with decoding payloads and rendering.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::command::Command;
use super::execute::{self, AppliedBefore, Finished, error_reply, execute};
use super::press::Press;
use super::replies;
use super::reply::Reply;
use crate::engine::ids::DealNumber;
use crate::service::{Caller, Claim, Delivery, Service, ServiceError};
use crate::telemetry::{self, Outcome};

/// How long a duplicate waits for the first delivery's answer: inside the 3 seconds Discord and
/// Slack give an answer.
pub const DUPLICATE_WAIT: Duration = Duration::from_secs(2);

/// What a person did.
#[derive(Debug, Clone, PartialEq)]
enum Action {
    /// Typed a command.
    Command(Command),
    /// Pressed one of dealgate's buttons.
    Press(Press),
}

impl Action {
    /// The command's name as metrics and logs label it; a press by the command it stands for.
    fn name(&self) -> &'static str {
        match self {
            Action::Command(command) => command.name(),
            Action::Press(press) => Command::pressed(press).map_or("press", |c| c.name()),
        }
    }
}

/// One request from a chat platform, decoded by its adapter.
#[derive(Debug, Clone)]
pub struct Invocation {
    caller: Caller,
    action: Action,
    /// The platform's key for this delivery (interaction id, trigger id, body hash), by which
    /// a command that changes something is claimed.
    delivery: Delivery,
    /// `(user key, name)` of the people the command names, as the platform identified them:
    /// they become members (reps) if new, so `/team set @dana manager` works before Dana has
    /// used dealgate.
    mentioned: Vec<(String, String)>,
    /// Whether the adapter can acknowledge now and deliver a slow command's reply later.
    can_defer: bool,
}

impl Invocation {
    /// A typed command, claimed by `delivery` if it changes something.
    pub fn command(caller: Caller, command: Command, delivery: Delivery) -> Self {
        Self::of(caller, Action::Command(command), delivery)
    }

    /// A button press, always claimed by `delivery`.
    pub fn press(caller: Caller, press: Press, delivery: Delivery) -> Self {
        Self::of(caller, Action::Press(press), delivery)
    }

    fn of(caller: Caller, action: Action, delivery: Delivery) -> Self {
        Self {
            caller,
            action,
            delivery,
            mentioned: Vec::new(),
            can_defer: false,
        }
    }

    /// The people the command names, as `(user key, name)`.
    pub fn mentioning(mut self, people: Vec<(String, String)>) -> Self {
        self.mentioned = people;
        self
    }

    /// Whether the adapter can deliver a slow command's reply after acknowledging it.
    pub fn deferrable(mut self, can_defer: bool) -> Self {
        self.can_defer = can_defer;
        self
    }
}

/// An answer, and whether this delivery is the one that produced it (a duplicate's answer was
/// already given once; an adapter that posts answers elsewhere posts only fresh ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    pub fresh: bool,
    pub answer: String,
}

/// Slow work the adapter acknowledged: `finish` gives its reply.
#[derive(Debug, Clone)]
pub struct Deferred {
    caller: Caller,
    command: Command,
}

impl Deferred {
    /// What to show until the reply arrives, where the platform shows nothing of its own.
    pub fn acknowledgement(&self) -> Reply {
        let what = match self.command {
            Command::DigestPreview => "Working out the digest…",
            Command::Coach { .. } => "Working out the coaching figures…",
            Command::PlaybookEvidence { .. } => "Working out what has worked…",
            Command::PlaybookCalibrate { .. } => "Working out the stages' probabilities…",
            Command::ForecastAccuracy { .. } => "Working out how the forecast fared…",
            Command::ForecastChanges { .. } => "Working out how the pipeline moved…",
            _ => "Working out the forecast…",
        };
        Reply::new(what).ephemeral()
    }
}

/// What `handle` decided.
#[derive(Debug, Clone)]
pub enum Handled {
    /// Answer with this, rendered by the adapter.
    Now(Answered),
    /// Acknowledge now; `finish` the work and deliver its reply the platform's way.
    Later(Deferred),
}

/// Handles one invocation. `render` turns a reply into what the adapter answers with (and what
/// is recorded for duplicates). Each one is counted and timed (`telemetry`) and logged with its
/// command, workspace, delivery and latency.
pub async fn handle(
    service: &Service,
    invocation: Invocation,
    render: impl Fn(&Reply) -> String,
) -> Handled {
    let started = Instant::now();
    let name = invocation.action.name();
    let (platform, workspace) = (
        invocation.caller.platform,
        invocation.caller.workspace.clone(),
    );
    let interaction = invocation.delivery.key.clone();
    // The tone of the reply this delivery rendered; none for a duplicate given the first answer.
    let rendered = Mutex::new(None);
    let render = |reply: &Reply| {
        *rendered.lock().unwrap_or_else(|e| e.into_inner()) = Some(Outcome::of(reply));
        render(reply)
    };
    let handled = handle_inner(service, invocation, &render).await;
    let outcome = match &handled {
        Handled::Later(_) => Outcome::Deferred,
        Handled::Now(_) => rendered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or(Outcome::Duplicate),
    };
    let took = started.elapsed();
    telemetry::command_handled(name, outcome, took);
    tracing::info!(
        command = name,
        %platform,
        workspace = %workspace,
        interaction = %interaction,
        outcome = outcome.as_str(),
        latency_ms = took.as_secs_f64() * 1000.0,
        "command handled"
    );
    handled
}

async fn handle_inner(
    service: &Service,
    invocation: Invocation,
    render: &impl Fn(&Reply) -> String,
) -> Handled {
    let Invocation {
        caller,
        action,
        delivery,
        mentioned,
        can_defer,
    } = invocation;
    if !mentioned.is_empty() {
        // A failure here shows up as the command's own "nobody called …" reply.
        if let Ok(session) = service.session(&caller).await
            && let Err(e) = service.introduce_members(&session, &mentioned).await
        {
            tracing::warn!(error = ?e, "could not add the members a command named");
        }
    }
    let action = match action {
        // Deferred work is not claimed, so only reads are deferred: a command that changes
        // something runs inside its claim whatever it costs.
        Action::Command(command)
            if command.is_slow() && !command.changes_something() && can_defer =>
        {
            return Handled::Later(Deferred { caller, command });
        }
        other => other,
    };
    let claimed = match &action {
        Action::Command(command) => command.changes_something(),
        Action::Press(_) => true,
    };
    if !claimed {
        // A read: running it again changes nothing, and skipping the claim keeps it off the
        // single SQLite writer.
        let answer = render(&run(service, &caller, action).await);
        return Handled::Now(Answered {
            fresh: true,
            answer,
        });
    }
    let answered = match command_of(action) {
        Ok(command) if command.claimed_by_its_write() => {
            let (command, begun) =
                execute::begin_delivery(service, &caller, command, &delivery).await;
            let claim = service
                .claim_by_write(&delivery, begun.session(), DUPLICATE_WAIT)
                .await;
            let work = |d: Delivery| async move {
                execute::finish_by_write(service, command, begun, &d, render).await
            };
            once(service, &delivery, render, claim, work).await
        }
        Ok(command) => {
            let (claim, (command, begun)) = tokio::join!(
                service.claim_interaction(&delivery, DUPLICATE_WAIT),
                execute::begin(service, &caller, command)
            );
            let work = |d: Delivery| async move {
                execute::finish_once(service, command, begun, Some(&d))
                    .await
                    .map(Finished::reply)
            };
            once(service, &delivery, render, claim, work).await
        }
        Err(press) => {
            let claim = service.claim_interaction(&delivery, DUPLICATE_WAIT).await;
            let work =
                |_| async move { Ok(Finished::reply(pressed(service, &caller, press).await)) };
            once(service, &delivery, render, claim, work).await
        }
    };
    Handled::Now(answered)
}

/// Runs acknowledged slow work and gives its reply.
pub async fn finish(service: &Service, deferred: Deferred) -> Reply {
    let started = Instant::now();
    let name = deferred.command.name();
    let reply = execute(service, &deferred.caller, deferred.command).await;
    // Counted a second time, now with how it ended (the first count said `deferred`).
    telemetry::command_handled(name, Outcome::of(&reply), started.elapsed());
    reply
}

/// Runs an action that needs no claim (it changes nothing).
async fn run(service: &Service, caller: &Caller, action: Action) -> Reply {
    match command_of(action) {
        Ok(command) => execute(service, caller, command).await,
        Err(press) => pressed(service, caller, press).await,
    }
}

/// The command `action` runs: the one typed, or the one a button stands for; otherwise the
/// press, which does something of its own.
fn command_of(action: Action) -> Result<Command, Press> {
    match action {
        Action::Command(command) => Ok(command),
        Action::Press(press) => Command::pressed(&press).ok_or(press),
    }
}

/// A press that stands for no command.
async fn pressed(service: &Service, caller: &Caller, press: Press) -> Reply {
    match press {
        Press::AskApproval { deal } => ask_approval(service, caller, deal).await,
        Press::Log { .. }
        | Press::Approve { .. }
        | Press::ConfirmPlaybook { .. }
        | Press::ProposeCalibration
        | Press::Acknowledge { .. } => replies::user_error("That button did nothing."),
    }
}

/// The rep who cannot approve asks the owner's manager: a message in the channel that calls on
/// them, with a button that approves.
async fn ask_approval(service: &Service, caller: &Caller, deal: DealNumber) -> Reply {
    let asked = async {
        let session = service.session(caller).await?;
        let request = service.request_approval(&session, deal).await?;
        Ok::<_, ServiceError>(replies::approval_requested(
            &request,
            &session.member.display_name,
            &session.playbook,
        ))
    };
    asked.await.unwrap_or_else(|e| error_reply(&e, None))
}

/// Runs `work` at most once for `delivery`, as `claim` allows, and returns its answer, which it
/// records. Claimed first, a command's reads (`execute::begin`) ran while its claim was written;
/// claimed by its write, they brought the claim. If the claim finds the delivery answered, the
/// reads go unused. Work that finds itself applied before (a duplicate that ran beside the
/// first) answers with the first's answer once it is recorded.
///
/// An answer is recorded as the reply goes out. Work that recorded its answer itself
/// (`execute::Finished::Recorded`: the refusal of a command claimed by its write, whose answer
/// is the only record that the delivery was judged) is answered with it as it is.
async fn once<W, Fut>(
    service: &Service,
    delivery: &Delivery,
    render: &impl Fn(&Reply) -> String,
    claim: Result<Claim, ServiceError>,
    work: W,
) -> Answered
where
    W: FnOnce(Delivery) -> Fut,
    Fut: Future<Output = Result<Finished, AppliedBefore>>,
{
    let already = || {
        render(&replies::user_error(
            &ServiceError::AlreadyApplied.to_string(),
        ))
    };
    let answer = match claim {
        Ok(Claim::New) => match work(delivery.clone()).await {
            Ok(Finished::Reply(reply)) => render(&reply),
            Ok(Finished::Recorded(answer)) => {
                return Answered {
                    fresh: true,
                    answer,
                };
            }
            Err(AppliedBefore) => match service.await_answer(delivery, DUPLICATE_WAIT).await {
                Ok(Some(answer)) => {
                    return Answered {
                        fresh: false,
                        answer,
                    };
                }
                _ => already(),
            },
        },
        Ok(Claim::Applied) => already(),
        Ok(Claim::Answered(answer)) => {
            return Answered {
                fresh: false,
                answer,
            };
        }
        Ok(Claim::InFlight) => {
            return Answered {
                fresh: false,
                answer: render(&replies::user_error(
                    "This command arrived twice and the first one is still being handled; it \
                     was not run a second time.",
                )),
            };
        }
        Err(e) => {
            return Answered {
                fresh: false,
                answer: render(&error_reply(&e, None)),
            };
        }
    };
    if let Err(e) = service.record_interaction(delivery, &answer).await {
        // The command's work, if any, is committed; a retry will find its effect row.
        tracing::error!(
            platform = %delivery.platform, interaction = %delivery.key, error = ?e,
            "answer not recorded"
        );
    }
    Answered {
        fresh: true,
        answer,
    }
}
