//! The built binary against a fake Discord on 127.0.0.1: `dealgate serve` in gateway mode
//! (HELLO, IDENTIFY, READY, heartbeats, INTERACTION_CREATE, answers at the fake REST API),
//! `dealgate commands register`, and the start-up check of a partly configured Discord.

#[path = "support/binary.rs"]
mod binary;
#[path = "support/discord.rs"]
mod discord;
#[path = "support/fake_discord.rs"]
mod fake_discord;
mod support;

use binary::dealgate;
use discord::*;
use fake_discord::{APPLICATION_ID, BOT_TOKEN, FakeDiscord};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_path_answers_interactions_through_the_configured_api_base() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut bot = dealgate(
        &dir,
        &["serve"],
        &[
            ("DISCORD_TOKEN", BOT_TOKEN),
            ("DISCORD_APPLICATION_ID", APPLICATION_ID),
            ("DISCORD_API_BASE", &fake.base),
        ],
    )
    .spawn()
    .expect("start dealgate serve");

    fake.wait_for("the gateway URL lookup", |r| r.path == "/api/v10/gateway")
        .await;
    fake.wait_gateway("IDENTIFY", |g| g.identify.is_some())
        .await;
    let identify = fake.gateway_log().identify.unwrap();
    assert_eq!(identify["d"]["intents"], 0, "no intents, privileged or not");
    assert_eq!(identify["d"]["token"], format!("Bot {BOT_TOKEN}"));

    fake.dispatch(
        "INTERACTION_CREATE",
        command(
            1,
            BOSS,
            "deal new",
            vec![
                opt("name", "Acme Rollout"),
                opt("amount", "50000"),
                opt("close", "2030-06-30"),
            ],
        ),
    );
    let created = fake
        .wait_for("the answer to /deal new", |r| {
            r.path == "/api/v10/interactions/1/token-1/callback"
        })
        .await;
    assert_eq!(created.method, "POST");
    assert_eq!(
        created.body["data"]["embeds"][0]["title"],
        "Created deal-1 · Acme Rollout"
    );

    fake.dispatch(
        "INTERACTION_CREATE",
        command(
            2,
            BOSS,
            "log",
            vec![opt("deal", "deal-1"), opt("activity", "discovery-call")],
        ),
    );
    fake.wait_for("the answer to /log", |r| {
        r.path == "/api/v10/interactions/2/token-2/callback"
    })
    .await;
    fake.dispatch(
        "INTERACTION_CREATE",
        command(3, BOSS, "advance", vec![opt("deal", "deal-1")]),
    );
    let announced = fake
        .wait_for("the announcement of the stage change", |r| {
            r.path == "/api/v10/interactions/3/token-3/callback"
        })
        .await;
    // The stage change is announced publicly in the channel: no ephemeral flag, the colour of
    // the new stage, and no pings.
    let data = &announced.body["data"];
    assert_eq!(announced.body["type"], 4);
    assert!(
        data.get("flags").is_none_or(|f| f == 0),
        "{}",
        announced.body
    );
    assert_eq!(data["embeds"][0]["title"], "deal-1 advanced to Solution");
    assert!(
        data["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .starts_with("boss moved **Acme Rollout** from Qualify to Solution"),
        "{}",
        announced.body
    );
    assert_eq!(
        data["allowed_mentions"],
        json!({"parse": [], "users": [], "roles": []})
    );
    assert_eq!(
        data["embeds"][0]["color"], 0x5865F2,
        "Solution is the second of three"
    );

    // Slow work defers over the gateway too.
    fake.dispatch(
        "INTERACTION_CREATE",
        command(4, BOSS, "forecast show", vec![opt("period", "all")]),
    );
    let deferred = fake
        .wait_for("the deferred forecast", |r| {
            r.path == "/api/v10/interactions/4/token-4/callback"
        })
        .await;
    assert_eq!(deferred.body["type"], 5);
    let follow = fake
        .wait_for("the forecast follow-up", |r| {
            r.method == "PATCH"
                && r.path
                    == format!("/api/v10/webhooks/{APPLICATION_ID}/token-4/messages/@original")
        })
        .await;
    assert!(
        follow.body["embeds"][0]["title"]
            .as_str()
            .unwrap()
            .starts_with("Forecast"),
        "{}",
        follow.body
    );
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bot faketoken")),
        "every request carries the bot token"
    );

    // Heartbeats every 300 ms, each acknowledged; the connection stays up.
    fake.wait_gateway("two heartbeats", |g| g.heartbeats >= 2)
        .await;
    assert!(
        bot.try_wait().unwrap().is_none(),
        "the bot is still running"
    );
    bot.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_register_overwrites_the_guilds_commands_with_the_catalogue() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dealgate(
        &dir,
        &["commands", "register", "--guild", GUILD],
        &[
            ("DISCORD_TOKEN", BOT_TOKEN),
            ("DISCORD_APPLICATION_ID", APPLICATION_ID),
            ("DISCORD_API_BASE", &fake.base),
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Registered 14 commands in server 9001"));
    let put = fake
        .wait_for("the bulk overwrite", |r| r.method == "PUT")
        .await;
    assert_eq!(
        put.path,
        format!("/api/v10/applications/{APPLICATION_ID}/guilds/{GUILD}/commands")
    );
    let commands = put.body.as_array().unwrap();
    let names: Vec<&str> = commands
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "deal", "log", "advance", "back", "approve", "won", "lost", "playbook", "forecast",
            "coach", "team", "digest", "nudges", "help"
        ]
    );
    let deal = &commands[0];
    assert_eq!(deal["type"], 1);
    assert_eq!(deal["contexts"], json!([0]));
    assert_eq!(deal["options"][0]["name"], "new");
    assert_eq!(deal["options"][0]["type"], 1);
    let name = &deal["options"][0]["options"][0];
    assert_eq!(name["type"], 3);
    assert_eq!(name["name"], "name");
    assert_eq!(name["required"], true);
    assert_eq!(name["max_length"], 120);
    assert_eq!(name["autocomplete"], false);
    let digest = commands.iter().find(|c| c["name"] == "digest").unwrap();
    let setup = &digest["options"][0];
    assert_eq!(setup["name"], "setup");
    assert_eq!(setup["options"][0]["name"], "channel");
    assert_eq!(
        setup["options"][0]["type"], 7,
        "a channel picker hands over the channel id"
    );
    let approve = commands.iter().find(|c| c["name"] == "approve").unwrap();
    assert_eq!(approve["default_member_permissions"], "8192");
    assert_eq!(approve["options"][0]["autocomplete"], true);
}

#[tokio::test]
async fn a_partly_configured_discord_stops_the_start_naming_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dealgate(&dir, &["serve"], &[("DISCORD_TOKEN", "secret-token-value")])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Discord is partly configured: the gateway needs DISCORD_APPLICATION_ID"),
        "{err}"
    );
    assert!(
        !err.contains("secret-token-value"),
        "the token never prints"
    );
    let out = dealgate(&dir, &["serve", "--http", "127.0.0.1:0"], &[])
        .output()
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Nothing configured at all is not a partial Discord: it says what each platform needs.
    assert!(err.contains("nothing to serve"), "{err}");
    assert!(
        err.contains("DISCORD_APPLICATION_ID and DISCORD_PUBLIC_KEY with --http ADDR"),
        "{err}"
    );
    assert!(err.contains("SLACK_SIGNING_SECRET"), "{err}");
}
