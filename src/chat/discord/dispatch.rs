//! One dispatcher for both transports: a serenity `Interaction` in, the JSON of the interaction
//! response out (plus, for slow work, what to finish after answering).
//!
//! - Slash command: options → `commands::parse::build` → `commands::execute::execute` → render.
//! - Autocomplete: the service's suggestions for the option being typed.
//! - Button: the versioned `custom_id` → the command it stands for, run as the presser.
//!
//! A command that changes something, and every button press, claims its interaction id first;
//! a duplicated delivery (Discord retries, a resumed gateway replaying events) gets the answer
//! recorded the first time instead of logging an activity twice. Reads are not claimed: running
//! them again changes nothing, and skipping the claim keeps them off the single SQLite writer.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serenity::all::{
    CommandInteraction, ComponentInteraction, CreateInteractionResponse, GuildId, Interaction,
    InteractionId, Member, Permissions,
};

use super::config::RoleMap;
use super::custom_id::Press;
use super::options;
use super::render;
use super::rest::Rest;
use crate::chat::detached::Detached;
use crate::commands::catalogue::OptionKind;
use crate::commands::execute::{error_reply, execute, execute_for};
use crate::commands::interact;
use crate::commands::parse::build;
use crate::commands::{Command, Reply, replies};
use crate::engine::ids::DealNumber;
use crate::engine::playbook::Role;
use crate::engine::text::one_line;
use crate::service::{Caller, Choice, Delivery, Service, ServiceError, StageDirection};

const PLATFORM: &str = "discord";

/// Pauses between attempts to deliver a deferred result (the last entry is never waited).
const FOLLOW_UP_RETRIES: [Duration; 4] = [
    Duration::from_millis(250),
    Duration::from_secs(1),
    Duration::from_secs(3),
    Duration::ZERO,
];

/// Work to finish after the response went out: a deferred command and its interaction token.
#[derive(Debug, Clone)]
pub struct Later {
    pub token: String,
    pub caller: Caller,
    pub command: Command,
}

/// The response to send, and what to do after sending it.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The interaction response as JSON (what the HTTP endpoint returns, or the gateway posts to
    /// the callback URL).
    pub json: String,
    pub later: Option<Later>,
}

impl Answer {
    fn now(response: &CreateInteractionResponse) -> Self {
        Self {
            json: to_json(response),
            later: None,
        }
    }
}

pub struct Dispatcher {
    service: Arc<Service>,
    roles: RoleMap,
    detached: Detached,
}

impl Dispatcher {
    pub fn new(service: Arc<Service>, roles: RoleMap) -> Self {
        Self {
            service,
            roles,
            detached: Detached::default(),
        }
    }

    /// The work this dispatcher's requests left running (see `chat::detached`).
    pub fn detached(&self) -> &Detached {
        &self.detached
    }

    pub fn service(&self) -> &Service {
        &self.service
    }

    pub async fn handle(&self, interaction: Interaction) -> Answer {
        match interaction {
            Interaction::Ping(_) => Answer::now(&CreateInteractionResponse::Pong),
            Interaction::Command(cmd) => self.command(cmd).await,
            Interaction::Autocomplete(cmd) => {
                Answer::now(&render::choices(&self.autocomplete(&cmd).await))
            }
            Interaction::Component(press) => self.press(press).await,
            _ => reply(&replies::user_error(
                "dealgate answers slash commands and its own buttons only.",
            )),
        }
    }

    /// Runs a deferred command and replaces the "thinking…" response with its result.
    ///
    /// Over HTTP this starts before Discord has read the deferred response from our answer, so
    /// a fast result can reach Discord before the message it edits exists. Editing is
    /// idempotent, so a failed edit is simply tried again a few times, well inside the
    /// token's 15 minutes.
    pub async fn finish(&self, later: Later, rest: &Rest) {
        let reply = execute(&self.service, &later.caller, later.command).await;
        for (attempt, wait) in FOLLOW_UP_RETRIES.iter().enumerate() {
            let (edit, files) = render::edit(&reply);
            match rest.edit_original(&later.token, &edit, files).await {
                Ok(()) => return,
                Err(e) if attempt + 1 < FOLLOW_UP_RETRIES.len() => {
                    tracing::debug!(
                        error = format!("{e:#}"),
                        "deferred result not taken yet; retrying"
                    );
                    tokio::time::sleep(*wait).await;
                }
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "deferred result not delivered")
                }
            }
        }
    }

    async fn command(&self, cmd: CommandInteraction) -> Answer {
        let Some(caller) = self.caller(cmd.guild_id, cmd.member.as_deref()) else {
            return in_a_direct_message();
        };
        let invocation = match options::read(&cmd.data) {
            Ok(i) => i,
            Err(e) => return reply(&replies::user_error(&e.to_string())),
        };
        let command = match build(invocation.spec, &invocation.args) {
            Ok(c) => c,
            Err(e) => return reply(&replies::user_error(&e.to_string())),
        };
        if !invocation.users.is_empty() {
            // People named by a user option become members (reps) if new, so `/team set @dana
            // manager` works before Dana has used dealgate. A failure here shows up as the
            // command's own "nobody called …" reply.
            if let Ok(session) = self.service.session(&caller).await
                && let Err(e) = self
                    .service
                    .introduce_members(&session, &invocation.users)
                    .await
            {
                tracing::warn!(error = ?e, "could not add the members a command named");
            }
        }
        if matches!(command, Command::Forecast { .. } | Command::DigestPreview) {
            // A forecast over a large pipeline may take longer than Discord's 3 seconds; answer
            // "thinking…" now and edit in the result. The digest preview too, and its chart can
            // only be uploaded with that edit (see `render::edit`).
            return Answer {
                json: to_json(&render::deferred(true)),
                later: Some(Later {
                    token: cmd.token.clone(),
                    caller,
                    command,
                }),
            };
        }
        if !changes_something(&command) {
            return reply(&execute(&self.service, &caller, command).await);
        }
        self.once(cmd.id, |delivery| async move {
            to_json(&render::response(
                &execute_for(&self.service, &caller, command, Some(&delivery)).await,
            ))
        })
        .await
    }

    async fn press(&self, press: ComponentInteraction) -> Answer {
        let Some(caller) = self.caller(press.guild_id, press.member.as_ref()) else {
            return in_a_direct_message();
        };
        let what = match Press::decode(&press.data.custom_id) {
            Ok(p) => p,
            Err(e) => {
                let refusal = Reply::new("That button did nothing")
                    .line(e.to_string())
                    .tone(crate::commands::reply::Tone::Refusal)
                    .ephemeral();
                return reply(&refusal);
            }
        };
        self.once(press.id, |delivery| async move {
            match (what.command(), &what) {
                (Some(command), _) => to_json(&render::response(
                    &execute_for(&self.service, &caller, command, Some(&delivery)).await,
                )),
                (None, Press::AskApproval { deal }) => self.ask_approval(&caller, *deal).await,
                (None, _) => to_json(&render::response(&replies::user_error(
                    "That button did nothing.",
                ))),
            }
        })
        .await
    }

    async fn ask_approval(&self, caller: &Caller, deal: DealNumber) -> String {
        let asked = async {
            let session = self.service.session(caller).await?;
            let request = self.service.request_approval(&session, deal).await?;
            Ok::<_, ServiceError>(render::approval_request(
                &request,
                &session.member.display_name,
                &session.playbook,
            ))
        };
        match asked.await {
            Ok(response) => to_json(&response),
            Err(e) => to_json(&render::response(&service_error(&e))),
        }
    }

    async fn autocomplete(&self, cmd: &CommandInteraction) -> Vec<Choice> {
        let Some(caller) = self.caller(cmd.guild_id, cmd.member.as_deref()) else {
            return Vec::new();
        };
        let Ok(invocation) = options::read(&cmd.data) else {
            return Vec::new();
        };
        let Some((name, typed)) = &invocation.focused else {
            return Vec::new();
        };
        let Some(option) = invocation.spec.option(name) else {
            return Vec::new();
        };
        let deal = invocation
            .args
            .iter()
            .find(|(n, _)| n == "deal")
            .and_then(|(_, v)| v.parse::<DealNumber>().ok());
        let suggested = async {
            let session = self.service.session(&caller).await?;
            let s = &self.service;
            match option.kind {
                OptionKind::Deal => s.suggest_deals(&session, typed).await,
                OptionKind::Activity => s.suggest_activities(&session, deal, typed).await,
                OptionKind::Stage => {
                    let direction = match invocation.spec.name {
                        "advance" => StageDirection::Ahead,
                        "back" => StageDirection::Behind,
                        "deal new" => StageDirection::Open,
                        _ => StageDirection::Any,
                    };
                    s.suggest_stages(&session, deal, direction, typed).await
                }
                OptionKind::Field => Ok(s.suggest_fields(&session, typed)),
                _ => Ok(Vec::new()),
            }
        };
        suggested.await.unwrap_or_else(|e| {
            tracing::warn!(error = ?e, "autocomplete failed");
            Vec::new()
        })
    }

    /// Runs `work` only for the first delivery of interaction `id` (see `commands::interact`).
    async fn once<W, Fut>(&self, id: InteractionId, work: W) -> Answer
    where
        W: FnOnce(Delivery) -> Fut,
        Fut: Future<Output = String>,
    {
        let render = |reply: &Reply| to_json(&render::response(reply));
        let done = interact::once(
            &self.service,
            &Delivery::new(PLATFORM, id.to_string()),
            render,
            work,
        )
        .await;
        Answer {
            json: done.answer,
            later: None,
        }
    }

    /// The caller of an interaction in a guild; `None` in a DM.
    fn caller(&self, guild: Option<GuildId>, member: Option<&Member>) -> Option<Caller> {
        let guild = guild?;
        let member = member?;
        let user = &member.user;
        // Nicknames are typed by people and may hold line breaks, ESC or bidi overrides; the
        // name is kept on one line without them, and a name that was nothing else falls back
        // to the next one Discord has.
        let display_name = [member.nick.as_deref(), user.global_name.as_deref()]
            .into_iter()
            .flatten()
            .chain([user.name.as_str()])
            .map(|name| one_line(name).trim().to_string())
            .find(|name| !name.is_empty())
            .unwrap_or_else(|| user.id.to_string());
        Some(Caller {
            platform: PLATFORM.to_string(),
            workspace: guild.to_string(),
            workspace_name: format!("Discord server {guild}"),
            user_key: user.id.to_string(),
            display_name,
            platform_role: platform_role(member, &self.roles),
        })
    }
}

/// What Discord vouches for: Administrator or Manage Server makes an admin; the configured
/// roles make an admin or a manager.
pub fn platform_role(member: &Member, roles: &RoleMap) -> Option<Role> {
    let perms = member.permissions.unwrap_or_else(Permissions::empty);
    if perms.intersects(Permissions::ADMINISTRATOR | Permissions::MANAGE_GUILD)
        || member.roles.iter().any(|r| roles.admin.contains(r))
    {
        Some(Role::Admin)
    } else if member.roles.iter().any(|r| roles.manager.contains(r)) {
        Some(Role::Manager)
    } else {
        None
    }
}

/// Commands whose second run would do something again.
fn changes_something(command: &Command) -> bool {
    !matches!(
        command,
        Command::DealShow { .. }
            | Command::DealList { .. }
            | Command::Playbook { .. }
            | Command::Forecast { .. }
            | Command::TeamList
            | Command::Help { .. }
    )
}

fn service_error(e: &ServiceError) -> Reply {
    error_reply(e, None)
}

fn in_a_direct_message() -> Answer {
    reply(&replies::user_error(
        "dealgate works in a server: use its commands in a channel of your team's Discord server, \
         where your deals live.",
    ))
}

fn reply(reply: &Reply) -> Answer {
    Answer::now(&render::response(reply))
}

fn to_json(response: &CreateInteractionResponse) -> String {
    // Serializing serenity's builders cannot fail (no maps with non-string keys); fall back to
    // a plain message rather than panic in a handler.
    serde_json::to_string(response).unwrap_or_else(|_| {
        r#"{"type":4,"data":{"content":"Something went wrong on our side.","flags":64,"allowed_mentions":{"parse":[]}}}"#
            .to_string()
    })
}
