//! One dispatcher for both transports: a serenity `Interaction` in, the JSON of the interaction
//! response out (plus, for slow work, what to finish after answering).
//!
//! - Slash command: options → `commands::parse::build` → `commands::interact::handle` → render.
//! - Autocomplete: `commands::suggest` for the option being typed, cut to Discord's 25.
//! - Button: the versioned `custom_id` → a typed press, handled as the presser.
//!
//! The request bracket (claiming the interaction id, deferring slow work, recording the answer)
//! is `commands::interact`'s; this module decodes Discord's payloads into an `Invocation` and
//! renders the answer.

use std::sync::Arc;
use std::time::Duration;

use serenity::all::{
    CommandInteraction, ComponentInteraction, CreateInteractionResponse, GuildId, Interaction,
    Member, Permissions,
};

use super::attachments::Attachments;
use super::config::RoleMap;
use super::custom_id::Press;
use super::options;
use super::render;
use super::rest::Rest;
use crate::chat::detached::Detached;
use crate::commands::interact::{self, Deferred, Handled, Invocation};
use crate::commands::parse::build;
use crate::commands::suggest::{Suggest, suggestions};
use crate::commands::{Caller, Choice, Delivery, Platform, Reply, Service, replies};
use crate::engine::playbook::Role;
use crate::engine::text::one_line;

const PLATFORM: Platform = Platform::Discord;

/// Discord shows at most this many autocomplete choices.
const MAX_CHOICES: usize = 25;

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
    pub work: Deferred,
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
    attachments: Attachments,
}

impl Dispatcher {
    pub fn new(service: Arc<Service>, roles: RoleMap) -> Self {
        Self {
            service,
            roles,
            detached: Detached::default(),
            attachments: Attachments::default(),
        }
    }

    /// The same dispatcher fetching attachments from these hosts too (a fake Discord's).
    pub fn with_attachments(mut self, attachments: Attachments) -> Self {
        self.attachments = attachments;
        self
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
        let reply = interact::finish(&self.service, later.work).await;
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
        let mut command = match build(invocation.spec, &invocation.args) {
            Ok(c) => c,
            Err(e) => return reply(&replies::user_error(&e.to_string())),
        };
        if let Some((_, file)) = invocation.attachments.first() {
            match self.attachments.fetch(file).await {
                Ok(bytes) => command = command.with_attachment(file.filename.clone(), bytes),
                Err(e) => return reply(&replies::user_error(&e.to_string())),
            }
        }
        let delivery = Delivery::new(PLATFORM, cmd.id.to_string());
        let invocation = Invocation::command(caller, command, delivery)
            .mentioning(invocation.users)
            // A deferred response is edited later with the result, and only an edit can
            // upload the digest preview's chart (see `render::edit`).
            .deferrable(true);
        self.answer(invocation, &cmd.token).await
    }

    async fn press(&self, press: ComponentInteraction) -> Answer {
        let what = match Press::decode(&press.data.custom_id) {
            Ok(p) => p,
            Err(e) => return reply(&replies::button_refused(&e.to_string())),
        };
        let caller = match (self.caller(press.guild_id, press.member.as_ref()), &what) {
            (Some(caller), _) => caller,
            // A button in a direct message (a playbook change's "Got it") names its workspace;
            // the presser must already be a member there.
            (None, Press::Acknowledge { workspace, .. }) if press.guild_id.is_none() => Caller {
                platform: PLATFORM,
                workspace: workspace.clone(),
                workspace_name: String::new(),
                user_key: press.user.id.to_string(),
                display_name: String::new(),
                platform_role: None,
                known_only: true,
            },
            (None, _) => return in_a_direct_message(),
        };
        let delivery = Delivery::new(PLATFORM, press.id.to_string());
        let invocation = Invocation::press(caller, what, delivery);
        self.answer(invocation, &press.token).await
    }

    async fn answer(&self, invocation: Invocation, token: &str) -> Answer {
        let render = |reply: &Reply| to_json(&render::response(reply));
        match interact::handle(&self.service, invocation, render).await {
            Handled::Now(done) => Answer {
                json: done.answer,
                later: None,
            },
            Handled::Later(work) => Answer {
                json: to_json(&render::deferred(true)),
                later: Some(Later {
                    token: token.to_string(),
                    work,
                }),
            },
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
        let mut choices = suggestions(
            &self.service,
            &caller,
            Suggest {
                spec: invocation.spec,
                option: name,
                typed,
                args: &invocation.args,
            },
        )
        .await;
        choices.truncate(MAX_CHOICES);
        choices
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
            platform: PLATFORM,
            workspace: guild.to_string(),
            workspace_name: format!("Discord server {guild}"),
            user_key: user.id.to_string(),
            display_name,
            platform_role: platform_role(member, &self.roles),
            known_only: false,
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
