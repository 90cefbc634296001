//! `/playbook update` on Discord: the TOML file attached to the command is fetched from
//! Discord's CDN (a fake one on 127.0.0.1 here), previewed, and applied with the preview's
//! button; a file too large (as Discord says or as it turns out), not text, failing the check,
//! hosted anywhere but Discord or gone from the CDN is refused in words and changes nothing, as
//! is any member but an admin.

#[path = "support/discord.rs"]
mod discord;
#[path = "support/fake_discord.rs"]
mod fake_discord;
mod support;

use discord::{ANN, BOSS, Endpoint, Person, command, opt, press, text, title};
use serde_json::{Value, json};
use support::{PLAYBOOK, TestApp};

/// The fixture's process with Negotiate at 70 %.
fn next_playbook() -> Vec<u8> {
    PLAYBOOK
        .replacen("probability = 80", "probability = 70", 1)
        .into_bytes()
}

/// `/playbook update` with an attachment Discord describes as `name`, `size` bytes at `url`.
fn update_with(id: u64, who: Person, name: &str, size: usize, url: &str) -> Value {
    let mut v = command(
        id,
        who,
        "playbook update",
        vec![
            json!({"name": "file", "type": 11, "value": "777"}),
            opt("reason", "Negotiate closes less often than we said"),
        ],
    );
    v["data"]["resolved"] = json!({"attachments": {"777": {
        "id": "777", "filename": name, "size": size, "url": url, "proxy_url": url,
        "content_type": "application/toml"
    }}});
    v
}

fn buttons(answer: &Value) -> Vec<String> {
    answer["data"]["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["custom_id"].as_str().map(str::to_string))
        .collect()
}

async fn refused(ep: &Endpoint, interaction: &Value) -> String {
    let embed = ep.reply(interaction).await;
    assert_eq!(title(&embed), "That didn't work", "{embed}");
    text(&embed)
}

async fn an_attached_playbook_is_previewed_and_applied_with_the_button(app: TestApp) {
    let ep = Endpoint::on(app).await;
    let url = ep.fake.attach("next.toml", next_playbook());
    let size = next_playbook().len();

    let (status, preview) = ep
        .send(&update_with(101, BOSS, "next.toml", size, &url))
        .await;
    assert_eq!(status, 200, "{preview}");
    let embed = &preview["data"]["embeds"][0];
    assert_eq!(
        title(embed),
        "Playbook change preview: version 1 → 2",
        "{preview}"
    );
    assert!(text(embed).contains("probability 80% → 70%"), "{embed}");
    assert_eq!(buttons(&preview), ["dg1:playbook:1"]);
    assert_eq!(
        preview["data"]["flags"], 64,
        "only the admin sees the preview"
    );
    let fetched = ep
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/attachments/next.toml")
        .count();
    assert_eq!(fetched, 1);

    // A rep with the same file: refused, whatever the file says.
    let rep = refused(&ep, &update_with(102, ANN, "next.toml", size, &url)).await;
    assert!(
        rep.contains("Only an admin can change the playbook."),
        "{rep}"
    );

    let applied = ep.reply(&press(103, BOSS, "dg1:playbook:1")).await;
    assert_eq!(
        title(&applied),
        "Playbook version 2 is in force",
        "{applied}"
    );
    let again = ep.reply(&press(104, BOSS, "dg1:playbook:1")).await;
    assert!(text(&again).contains("was already applied"), "{again}");
}

async fn bad_attachments_are_refused_in_words_and_change_nothing(app: TestApp) {
    let ep = Endpoint::on(app).await;
    let big = ep.fake.attach("big.toml", vec![b'#'; 300 * 1024]);
    let binary = ep.fake.attach("logo.toml", vec![0, 159, 146, 150, 255]);
    let broken = ep.fake.attach(
        "broken.toml",
        PLAYBOOK.replace("outcome = \"won\"\n", "").into_bytes(),
    );
    let gone = format!("{}/attachments/gone.toml", ep.fake.base);
    for (n, (name, size, url, expected)) in [
        ("big.toml", 300 * 1024, big.as_str(), "larger than 256 KiB"),
        // Discord's size says small; the bytes say otherwise.
        ("big.toml", 1_000, big.as_str(), "larger than 256 KiB"),
        ("logo.toml", 5, binary.as_str(), "is not a text file"),
        (
            "broken.toml",
            1_000,
            broken.as_str(),
            "The proposed playbook has problems; nothing changed.",
        ),
        (
            "evil.toml",
            100,
            "https://example.com/evil.toml",
            "is not on Discord's servers",
        ),
        (
            "gone.toml",
            100,
            gone.as_str(),
            "Discord did not hand over `gone.toml` (HTTP 404)",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let said = refused(&ep, &update_with(200 + n as u64, BOSS, name, size, url)).await;
        assert!(said.contains(expected), "{name}: {said}");
    }
    // The file that Discord said was too large was never fetched.
    let big_gets = ep
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/attachments/big.toml")
        .count();
    assert_eq!(big_gets, 1, "only the one whose size lied");
    let history = ep
        .reply(&command(300, BOSS, "playbook history", vec![]))
        .await;
    assert!(!text(&history).contains("Version 2"), "{history}");
}

on_both_backends!(
    an_attached_playbook_is_previewed_and_applied_with_the_button,
    bad_attachments_are_refused_in_words_and_change_nothing,
);
