//! Discord's REST API through serenity's `Http`, pointed at `DISCORD_API_BASE` when set (a proxy
//! a team runs, or a fake Discord in tests).
//!
//! Two serenity 0.12.5 traps send requests to the real Discord whatever the proxy says
//! (PROTOCOLS.md §2): the proxy is ignored while the ratelimiter is on, so a configured base
//! turns the ratelimiter off (a proxy in front of Discord is where rate limits are handled then);
//! and `ClientBuilder::new(token)` builds its own `Http`, so the gateway takes this one through
//! `ClientBuilder::new_with_http`.

use std::sync::Arc;

use anyhow::Context;
use serenity::all::{
    ApplicationId, CreateAttachment, EditInteractionResponse, GuildId, InteractionId,
};
use serenity::http::{Http, HttpBuilder};

use super::config::Settings;
use super::register;

/// The REST client.
#[derive(Clone)]
pub struct Rest {
    http: Arc<Http>,
    token: String,
    application_id: ApplicationId,
    api_base: Option<String>,
}

impl Rest {
    pub fn new(settings: &Settings) -> Self {
        let token = settings
            .token
            .as_ref()
            .map(|t| t.expose().to_string())
            .unwrap_or_default();
        Self::with(token, settings.application_id, settings.api_base.as_deref())
    }

    pub fn with(token: String, application_id: ApplicationId, api_base: Option<&str>) -> Self {
        let http = Arc::new(build_http(&token, application_id, api_base));
        Self {
            http,
            token,
            application_id,
            api_base: api_base.map(str::to_string),
        }
    }

    /// A new `Http` with the same token, application and base, for the gateway client (which
    /// takes one by value).
    pub fn new_http(&self) -> Http {
        build_http(&self.token, self.application_id, self.api_base.as_deref())
    }

    /// Bulk-overwrites the application's commands, globally or in one guild; returns how many
    /// Discord now has.
    pub async fn register(&self, guild: Option<GuildId>) -> anyhow::Result<usize> {
        let commands = register::commands();
        let done = match guild {
            Some(g) => self
                .http
                .create_guild_commands(g, &commands)
                .await
                .with_context(|| format!("register the commands in guild {g}"))?,
            None => self
                .http
                .create_global_commands(&commands)
                .await
                .context("register the commands globally")?,
        };
        Ok(done.len())
    }

    /// Answers an interaction that arrived over the gateway (`POST …/callback`).
    pub async fn respond(&self, id: InteractionId, token: &str, json: &str) -> anyhow::Result<()> {
        let body: serde_json::Value =
            serde_json::from_str(json).context("re-read a stored interaction response")?;
        self.http
            .create_interaction_response(id, token, &body, Vec::new())
            .await
            .with_context(|| format!("answer interaction {id}"))
    }

    /// Replaces a deferred response with the result (`PATCH /webhooks/{app}/{token}/messages/@original`),
    /// as multipart when there are files (the JSON lists them as `attachments`).
    pub async fn edit_original(
        &self,
        token: &str,
        edit: &EditInteractionResponse,
        files: Vec<CreateAttachment>,
    ) -> anyhow::Result<()> {
        self.http
            .edit_original_interaction_response(token, edit, files)
            .await
            .context("send the deferred result")?;
        Ok(())
    }
}

fn build_http(token: &str, application_id: ApplicationId, api_base: Option<&str>) -> Http {
    let mut builder = HttpBuilder::new(token).application_id(application_id);
    if let Some(base) = api_base {
        builder = builder.proxy(base).ratelimiter_disabled(true);
    }
    builder.build()
}
