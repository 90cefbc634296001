//! Gateway mode: serenity's client connects to Discord's gateway and receives
//! `INTERACTION_CREATE`; each interaction goes to the dispatcher and the answer is posted to its
//! callback URL. No intents are requested: interactions arrive without any, privileged or not.

use std::sync::Arc;

use anyhow::Context as _;
use serenity::all::{Context, EventHandler, GatewayIntents, Interaction, Ready};
use serenity::async_trait;
use serenity::client::{Client, ClientBuilder};

use super::dispatch::Dispatcher;
use super::rest::Rest;

struct Handler {
    dispatcher: Arc<Dispatcher>,
    rest: Rest,
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected to the Discord gateway");
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        let id = interaction.id();
        let token = interaction.token().to_string();
        let answer = self.dispatcher.handle(interaction).await;
        if let Err(e) = self.rest.respond(id, &token, &answer.json).await {
            tracing::warn!(error = format!("{e:#}"), "interaction answer not delivered");
            return;
        }
        if let Some(later) = answer.later {
            self.dispatcher.finish(later, &self.rest).await;
        }
    }
}

/// A client on `rest`'s `Http` (so `DISCORD_API_BASE` applies to the gateway URL lookup too).
/// Start it with `client.start()`; stop it with `client.shard_manager.shutdown_all()`.
pub async fn client(rest: &Rest, dispatcher: Arc<Dispatcher>) -> anyhow::Result<Client> {
    ClientBuilder::new_with_http(rest.new_http(), GatewayIntents::empty())
        .event_handler(Handler {
            dispatcher,
            rest: rest.clone(),
        })
        .await
        .context("set up the Discord gateway client")
}
