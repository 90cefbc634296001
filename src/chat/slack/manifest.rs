//! `dealgate slack manifest --url https://bot.example.com`: the Slack app manifest (JSON, which
//! Slack's "Create New App → From an app manifest" accepts), generated from the catalogue so the
//! slash commands Slack shows are exactly the commands dealgate understands.
//!
//! By default the app registers one slash command, `/dealgate`, which takes any command line
//! (`/dealgate advance deal-42`, `/dealgate help`): thirteen top-level commands such as `/log`
//! or `/team` would clash with other apps in a workspace. With `short` each one-word command is
//! its own slash command too (`/advance`) and each group one whose first word picks the command
//! (`/deal new …`, `/team list`); the same parser serves both. Mentions and channels are escaped
//! by Slack (`should_escape`) so a digest channel and a named colleague arrive as ids, not names.

use serde_json::{Value, json};

use super::dispatch::CATCH_ALL;
use crate::chat::cut;
use crate::commands::catalogue::{CATALOGUE, CommandSpec};

/// Bot scopes: slash commands, posting (also in public channels the bot was not invited to,
/// for the digest), opening DMs (nudges) and uploading the digest chart.
pub const SCOPES: &[&str] = &[
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "files:write",
];

/// Slack's limits for a slash command.
const DESCRIPTION_MAX: usize = 2000;
const USAGE_HINT_MAX: usize = 1000;

/// The manifest for an app served at `base_url`: `/dealgate` alone, or with `short` every
/// command's own slash command beside it.
pub fn manifest(base_url: &str, short: bool) -> Value {
    let base = base_url.trim().trim_end_matches('/');
    let commands_url = format!("{base}/slack/commands");
    let mut commands: Vec<Value> = Vec::new();
    let mut groups: Vec<&str> = Vec::new();
    for spec in CATALOGUE.iter().filter(|_| short) {
        match spec.name.split_once(' ') {
            Some((group, _)) => {
                if !groups.contains(&group) {
                    groups.push(group);
                    commands.push(group_command(group, &commands_url));
                }
            }
            // `help` is reached as `/dealgate help`: a workspace's own `/help` is too likely
            // to be taken.
            None if spec.name == "help" => {}
            None => commands.push(slash(spec.name, spec.summary, &hint(spec), &commands_url)),
        }
    }
    commands.push(slash(
        CATCH_ALL,
        "Any dealgate command as one line; `/dealgate help` lists them",
        "help | advance deal-42 | deal list | …",
        &commands_url,
    ));
    json!({
        "display_information": {
            "name": "dealgate",
            "description": "Your sales process where the team talks: stages, gates, forecast",
            "background_color": "#2c2d30",
        },
        "features": {
            "bot_user": {"display_name": "dealgate", "always_online": true},
            "slash_commands": commands,
        },
        "oauth_config": {"scopes": {"bot": SCOPES}},
        "settings": {
            "interactivity": {"is_enabled": true, "request_url": format!("{base}/slack/interactivity")},
            "org_deploy_enabled": false,
            "socket_mode_enabled": false,
            "token_rotation_enabled": false,
        },
    })
}

fn slash(name: &str, description: &str, usage_hint: &str, url: &str) -> Value {
    json!({
        "command": format!("/{name}"),
        "url": url,
        "description": cut(description, DESCRIPTION_MAX),
        "usage_hint": cut(usage_hint, USAGE_HINT_MAX),
        "should_escape": true,
    })
}

/// `/deal`: its commands' words and summaries.
fn group_command(group: &str, url: &str) -> Value {
    let members: Vec<&CommandSpec> = CATALOGUE
        .iter()
        .filter(|s| s.name.split_once(' ').is_some_and(|(g, _)| g == group))
        .collect();
    let description = members
        .iter()
        .map(|s| format!("{}: {}", &s.name[group.len() + 1..], s.summary))
        .collect::<Vec<_>>()
        .join(" · ");
    let usage_hint = members
        .iter()
        .map(|s| hint(s))
        .collect::<Vec<_>>()
        .join(" | ");
    slash(group, &description, &usage_hint, url)
}

/// The usage after the command's own slash word: `deal [to] [override]` for `/advance`,
/// `new name amount close [owner] [stage]` for `/deal new`.
fn hint(spec: &CommandSpec) -> String {
    let full = spec.usage();
    let first = spec.name.split(' ').next().unwrap_or_default();
    full.strip_prefix(&format!("/{first}"))
        .unwrap_or(&full)
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_command_is_reachable_through_a_slash_command() {
        let m = manifest("https://bot.example.com/", true);
        let commands = m["features"]["slash_commands"].as_array().unwrap();
        let names: Vec<&str> = commands
            .iter()
            .map(|c| c["command"].as_str().unwrap())
            .collect();
        for spec in CATALOGUE {
            let first = spec.name.split(' ').next().unwrap();
            assert!(
                names.contains(&format!("/{first}").as_str()) || spec.name == "help",
                "{} has no slash command",
                spec.name
            );
        }
        assert!(names.contains(&"/dealgate"));
        for c in commands {
            assert_eq!(c["url"], "https://bot.example.com/slack/commands");
            assert!(c["command"].as_str().unwrap().len() <= 32);
            assert!(!c["description"].as_str().unwrap().is_empty());
        }
        let deal = commands.iter().find(|c| c["command"] == "/deal").unwrap();
        assert!(
            deal["usage_hint"]
                .as_str()
                .unwrap()
                .starts_with("new name amount close")
        );
        let advance = commands
            .iter()
            .find(|c| c["command"] == "/advance")
            .unwrap();
        assert_eq!(advance["usage_hint"], "deal [to] [override]");
        assert_eq!(
            m["settings"]["interactivity"]["request_url"],
            "https://bot.example.com/slack/interactivity"
        );
        assert_eq!(m["oauth_config"]["scopes"]["bot"][0], "commands");
    }
}
