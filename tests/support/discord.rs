//! Discord test helpers: interaction payloads as Discord sends them (with the fields serenity
//! 0.12.5 requires, PROTOCOLS.md §1.4), an Ed25519 key pair made here, and the HTTP endpoint
//! served on 127.0.0.1 in front of a `TestApp`, with its REST client pointed at a fake Discord.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::sync::Arc;

use dealgate::chat::discord::http::router;
use dealgate::chat::discord::rest::Rest;
use dealgate::chat::discord::verify::PublicKey;
use dealgate::chat::discord::{Dispatcher, RoleMap};
use dealgate::chat::server::{Limits, Server};
use dealgate::clock::Clock;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use serenity::all::ApplicationId;

use crate::fake_discord::{APPLICATION_ID, BOT_TOKEN, FakeDiscord};
use crate::support::TestApp;

pub const GUILD: &str = "9001";
pub const CHANNEL: &str = "7001";

/// The test key pair: seed 32 × 0x11 (PROTOCOLS.md §1.2).
pub fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[0x11; 32])
}

pub fn public_key_hex(key: &SigningKey) -> String {
    key.verifying_key()
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn sign(key: &SigningKey, timestamp: &str, body: &[u8]) -> String {
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body);
    key.sign(&message)
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A Discord user: id, username and Discord permissions in the guild.
#[derive(Debug, Clone, Copy)]
pub struct Person {
    pub id: &'static str,
    pub name: &'static str,
    /// The member's permission bits, as Discord sends them (a string).
    pub permissions: &'static str,
}

/// Server owner with Manage Server: a dealgate admin whatever the database says.
pub const BOSS: Person = Person {
    id: "1000",
    name: "boss",
    permissions: "32",
};
pub const MIA: Person = Person {
    id: "1002",
    name: "mia",
    permissions: "0",
};
pub const ANN: Person = Person {
    id: "1001",
    name: "ann",
    permissions: "0",
};

fn member(p: Person) -> Value {
    json!({
        "user": {"id": p.id, "username": p.name, "discriminator": "0", "global_name": null, "avatar": null},
        "roles": [], "joined_at": "2026-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false,
        "flags": 0, "pending": false, "permissions": p.permissions, "nick": null
    })
}

fn envelope(id: u64, kind: u8, who: Person, data: Value) -> Value {
    json!({
        "id": id.to_string(), "application_id": APPLICATION_ID, "type": kind,
        "token": format!("token-{id}"), "version": 1,
        "guild_id": GUILD, "channel_id": CHANNEL, "locale": "en-US", "guild_locale": "en-US",
        "entitlements": [], "attachment_size_limit": 10485760, "app_permissions": "0",
        "authorizing_integration_owners": {"0": GUILD}, "context": 0,
        "member": member(who), "data": data
    })
}

/// A string option.
pub fn opt(name: &str, value: &str) -> Value {
    json!({"name": name, "type": 3, "value": value})
}

/// A user option.
pub fn user_opt(name: &str, who: Person) -> Value {
    json!({"name": name, "type": 6, "value": who.id})
}

/// The option being typed in an autocomplete request.
pub fn focused(name: &str, value: &str) -> Value {
    json!({"name": name, "type": 3, "value": value, "focused": true})
}

/// `/name options…`, or `/group sub options…` nested as Discord nests a subcommand. `users` are
/// resolved the way Discord resolves user options.
pub fn command_data(name: &str, options: Vec<Value>, users: &[Person]) -> Value {
    let (top, options) = match name.split_once(' ') {
        Some((group, sub)) => (
            group.to_string(),
            vec![json!({"name": sub, "type": 1, "options": options})],
        ),
        None => (name.to_string(), options),
    };
    let mut resolved = json!({});
    if !users.is_empty() {
        let mut u = serde_json::Map::new();
        for p in users {
            u.insert(
                p.id.to_string(),
                json!({"id": p.id, "username": p.name, "discriminator": "0", "global_name": null, "avatar": null}),
            );
        }
        resolved = json!({"users": u});
    }
    json!({"id": "5001", "name": top, "type": 1, "options": options, "resolved": resolved})
}

pub fn command(id: u64, who: Person, name: &str, options: Vec<Value>) -> Value {
    envelope(id, 2, who, command_data(name, options, &[]))
}

/// `/deal new NAME 50000 2030-06-30` as `who`, interaction `id`.
pub fn deal_new(id: u64, who: Person, name: &str) -> Value {
    command(
        id,
        who,
        "deal new",
        vec![
            opt("name", name),
            opt("amount", "50000"),
            opt("close", "2030-06-30"),
        ],
    )
}

/// The caller the endpoint makes of `who` in [`GUILD`]: Manage Server makes an admin.
pub fn caller(who: Person) -> dealgate::service::Caller {
    let manages_server = who.permissions.parse::<u64>().unwrap_or(0) & 0x20 != 0;
    dealgate::service::Caller {
        platform: dealgate::service::Platform::Discord,
        workspace: GUILD.into(),
        workspace_name: format!("Discord server {GUILD}"),
        user_key: who.id.into(),
        display_name: who.name.into(),
        platform_role: manages_server.then_some(dealgate::engine::playbook::Role::Admin),
        known_only: false,
    }
}

pub fn command_naming(
    id: u64,
    who: Person,
    name: &str,
    options: Vec<Value>,
    users: &[Person],
) -> Value {
    envelope(id, 2, who, command_data(name, options, users))
}

pub fn autocomplete(id: u64, who: Person, name: &str, options: Vec<Value>) -> Value {
    envelope(id, 4, who, command_data(name, options, &[]))
}

/// A button press on a message the bot sent.
pub fn press(id: u64, who: Person, custom_id: &str) -> Value {
    let mut v = envelope(
        id,
        3,
        who,
        json!({"custom_id": custom_id, "component_type": 2}),
    );
    v["message"] = json!({
        "id": "8001", "channel_id": CHANNEL,
        "author": {"id": "42", "username": "dealgate", "discriminator": "0", "avatar": null, "bot": true},
        "content": "", "timestamp": "2026-03-02T09:00:00.000000+00:00", "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": [], "pinned": false, "type": 0, "flags": 64
    });
    v
}

/// The same interaction sent from a DM: a user, no guild, no member.
pub fn in_dm(mut v: Value) -> Value {
    let user = v["member"]["user"].clone();
    let obj = v.as_object_mut().unwrap();
    obj.remove("guild_id");
    obj.remove("member");
    obj.insert("user".into(), user);
    obj.insert("context".into(), json!(1));
    v
}

/// The endpoint on 127.0.0.1, its fake Discord, and a client that signs.
pub struct Endpoint {
    pub app: TestApp,
    pub fake: FakeDiscord,
    pub url: String,
    pub client: reqwest::Client,
    pub key: SigningKey,
    /// The server under the endpoint, to read its load.
    pub server: Server,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Endpoint {
    pub async fn start() -> Self {
        Self::on(TestApp::new().await).await
    }

    /// The endpoint behind a server with these limits.
    pub async fn start_with(limits: Limits) -> Self {
        Self::on_with(TestApp::new().await, limits).await
    }

    /// The endpoint in front of `app` (either backend).
    pub async fn on(app: TestApp) -> Self {
        Self::on_with(app, Limits::default()).await
    }

    /// The endpoint in front of `app`, behind a server with these limits.
    pub async fn on_with(app: TestApp, limits: Limits) -> Self {
        let fake = FakeDiscord::start().await;
        let key = signing_key();
        let public: PublicKey = public_key_hex(&key).parse().unwrap();
        let rest = Rest::with(
            BOT_TOKEN.to_string(),
            ApplicationId::new(APPLICATION_ID.parse().unwrap()),
            Some(&fake.base),
        );
        // The endpoint gets its own `Service` on the same database and clock.
        let service = Arc::new(app.service.with_clock(app.clock.clone()));
        let dispatcher = Arc::new(
            Dispatcher::new(service, RoleMap::default()).with_attachments(
                dealgate::chat::discord::attachments::Attachments::default().also_from(&fake.base),
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let routes = router(dispatcher, public, rest);
        let server = Server::new(limits);
        let serving = server.clone();
        tokio::spawn(async move {
            serving
                .serve(listener, routes, async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            app,
            fake,
            url,
            client: reqwest::Client::new(),
            key,
            server,
            stop: Some(stop),
        }
    }

    /// The endpoint in front of `app`, with deal-1 (Acme, 50,000, in the first stage) created
    /// by `owner` as interaction 1.
    pub async fn with_deal_1(app: TestApp, owner: Person) -> Self {
        let ep = Self::on(app).await;
        let created = ep.reply(&deal_new(1, owner, "Acme")).await;
        assert!(title(&created).starts_with("Created"), "{created}");
        ep
    }

    /// POSTs raw bytes with the given headers.
    pub async fn post_raw(&self, body: Vec<u8>, headers: &[(&str, String)]) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/discord/interactions", self.url))
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        req.send().await.expect("request reached the endpoint")
    }

    /// The test clock's time as Discord's request timestamp.
    pub fn timestamp(&self) -> String {
        self.app.clock.now().timestamp().to_string()
    }

    /// Signs and POSTs an interaction; returns the status and the JSON answer.
    pub async fn send(&self, interaction: &Value) -> (u16, Value) {
        self.send_at(interaction, &self.timestamp()).await
    }

    /// Signs and POSTs an interaction with the given timestamp.
    pub async fn send_at(&self, interaction: &Value, timestamp: &str) -> (u16, Value) {
        let body = serde_json::to_vec(interaction).unwrap();
        let sig = sign(&self.key, timestamp, &body);
        let res = self
            .post_raw(
                body,
                &[
                    ("x-signature-ed25519", sig),
                    ("x-signature-timestamp", timestamp.to_string()),
                ],
            )
            .await;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Sends an interaction that must be answered with a message; returns the embed.
    pub async fn reply(&self, interaction: &Value) -> Value {
        let (status, answer) = self.send(interaction).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["type"], 4, "{answer}");
        answer["data"]["embeds"][0].clone()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An embed's title.
pub fn title(embed: &Value) -> String {
    embed["title"].as_str().unwrap_or_default().to_string()
}

/// An embed's text.
pub fn text(embed: &Value) -> String {
    embed["description"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
