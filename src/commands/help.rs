//! `/help`: every command with its usage, or one command explained, built from the catalogue so
//! the help can never disagree with what the parser accepts.
//!
//! ```text
//! /help advance
//! → /advance (ephemeral)
//!   Usage: `/advance deal [to] [override]`
//!   Moves the deal to the next open stage, or to the stage named in `to`. …
//!   **Options**
//!   `deal` (required): The deal: deal-42, 42 or #42
//!   `to` (optional): The stage to move to, if not the next one
//!   …
//!   Example: `/advance deal-42 proposal`
//! ```

use super::Platform;
use super::catalogue::{self, CATALOGUE, CommandSpec};
use super::error::{ParseError, unknown_command};
use super::reply::Reply;
use crate::engine::playbook::{Playbook, Role};

/// The reply to `/help` (no command) or `/help command`. Help is personal, so it is ephemeral.
///
/// The command is the longest run of leading words that names one, so `/help advance deal-42`
/// explains `/advance`; a group's word alone (`/help deal`) lists its commands.
pub fn help_reply(command: Option<&str>) -> Result<Reply, ParseError> {
    let Some(name) = command.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(overview());
    };
    if let Some(spec) = catalogue::find_leading(name) {
        return Ok(explain(spec));
    }
    let mut words = name.split_whitespace();
    let first = words.next().unwrap_or_default();
    group(first).ok_or_else(|| unknown_command(first, words.next()))
}

/// The commands that start with `word` (`deal new`, `deal show`, … for `deal`), if any do.
fn group(word: &str) -> Option<Reply> {
    let members = catalogue::group(word);
    let first = members.first()?;
    let (word, example) = first.name.split_once(' ')?;
    let mut reply = Reply::new(format!("/{word}")).ephemeral().line(format!(
        "`/{word}` is followed by one of these; `/help {word} {example}` explains one."
    ));
    for spec in members {
        reply = reply.line(summary_line(spec));
    }
    Some(reply)
}

/// Help as read on `platform`: where its commands are not all slash commands of their own, it
/// says how to reach them.
pub fn on_platform(mut reply: Reply, platform: Platform) -> Reply {
    if platform == Platform::Slack {
        // Help lists `/help`, which a Slack workspace reaches through `/dealgate`.
        reply.lines.push(
            "On Slack every command follows `/dealgate` (`/dealgate advance deal-42`, \
             `/dealgate help deal`); where the app was installed with the short commands, \
             /advance deal-42 works too."
                .to_string(),
        );
    }
    reply
}

/// Help on `command` as a member of a workspace reads it: `/help won` names the gates its
/// playbook checks.
pub fn for_playbook(mut reply: Reply, command: Option<&str>, playbook: &Playbook) -> Reply {
    if command != Some("won") {
        return reply;
    }
    let gated: Vec<String> = playbook
        .open_stages()
        .filter(|stage| !stage.gates.is_empty())
        .map(|stage| {
            format!(
                "**{}**: {}",
                stage.name,
                super::replies::gate_summary(playbook, stage).join("; ")
            )
        })
        .collect();
    reply = reply.line(if gated.is_empty() {
        "In this workspace's playbook no stage has gates: `/won` always closes the deal."
            .to_string()
    } else {
        "In this workspace's playbook, from the deal's stage on, these gates must be met:"
            .to_string()
    });
    for line in gated {
        reply = reply.line(line);
    }
    reply
}

fn overview() -> Reply {
    let mut reply = Reply::new("dealgate commands").ephemeral();
    let mut group = None;
    for spec in CATALOGUE {
        if group != Some(spec.group) {
            group = Some(spec.group);
            if let Some(heading) = spec.group.heading() {
                reply = reply.line(format!("**{heading}**"));
            }
        }
        reply = reply.line(summary_line(spec));
    }
    reply
}

fn summary_line(spec: &CommandSpec) -> String {
    format!("`{}`: {}", spec.usage(), spec.summary)
}

fn explain(spec: &CommandSpec) -> Reply {
    let mut reply = Reply::new(format!("/{}", spec.name))
        .ephemeral()
        .line(format!("Usage: `{}`", spec.usage()))
        .line(spec.help);
    if spec.min_role > Role::Rep {
        reply = reply.line(format!("Who: {}s and above.", spec.min_role));
    }
    if !spec.options.is_empty() {
        reply = reply.line("**Options**");
        for option in spec.options {
            let need = if option.required {
                "required"
            } else {
                "optional"
            };
            reply = reply.line(format!(
                "`{}` ({need}): {}",
                option.name, option.description
            ));
        }
    }
    reply.line(format!("Example: `{}`", spec.example))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overview_lists_every_command_under_its_group_and_is_private() {
        let reply = help_reply(None).expect("the overview always builds");
        assert!(reply.ephemeral);
        assert_eq!(reply.lines[0], "**Deals**");
        assert!(reply.lines.contains(&"**Team**".to_string()));
        for spec in CATALOGUE {
            let line = summary_line(spec);
            assert_eq!(
                reply.lines.iter().filter(|l| **l == line).count(),
                1,
                "{}",
                spec.name
            );
            if let Some(heading) = spec.group.heading() {
                let at = reply.lines.iter().position(|l| *l == line);
                let under =
                    at.and_then(|at| reply.lines[..at].iter().rfind(|l| l.starts_with("**")));
                assert_eq!(under, Some(&format!("**{heading}**")), "{}", spec.name);
            }
        }
        assert_eq!(
            reply.lines.last().map(String::as_str),
            Some("`/help [command]`: List every command, or explain one")
        );
    }

    #[test]
    fn blank_help_is_the_overview() {
        assert_eq!(help_reply(Some("  ")), help_reply(None));
    }

    #[test]
    fn help_for_a_command_shows_usage_help_options_and_example() {
        let reply = help_reply(Some("advance")).expect("advance exists");
        assert!(reply.ephemeral);
        assert_eq!(reply.title, "/advance");
        assert_eq!(reply.lines[0], "Usage: `/advance deal [to] [override]`");
        assert!(reply.lines[1].starts_with("Moves the deal to the next open stage"));
        assert!(
            reply
                .lines
                .contains(&"`deal` (required): The deal: deal-42, 42 or #42".to_string())
        );
        assert!(
            reply
                .lines
                .iter()
                .any(|l| l.starts_with("`override` (optional): "))
        );
        assert_eq!(
            reply.lines.last().map(String::as_str),
            Some("Example: `/advance deal-42 proposal`")
        );
    }

    #[test]
    fn help_accepts_two_word_names_a_slash_and_any_case() {
        let reply = help_reply(Some("/Deal New")).expect("deal new exists");
        assert_eq!(reply.title, "/deal new");
    }

    #[test]
    fn help_says_who_may_use_a_restricted_command() {
        let approve = help_reply(Some("approve")).expect("approve exists");
        assert!(
            approve
                .lines
                .contains(&"Who: managers and above.".to_string())
        );
        let team = help_reply(Some("team set")).expect("team set exists");
        assert!(team.lines.contains(&"Who: admins and above.".to_string()));
        let log = help_reply(Some("log")).expect("log exists");
        assert!(!log.lines.iter().any(|l| l.starts_with("Who:")));
    }

    #[test]
    fn words_after_the_command_are_its_arguments_not_another_command() {
        let reply = help_reply(Some("advance extra words")).expect("advance exists");
        assert_eq!(reply.title, "/advance");
        let reply = help_reply(Some("deal new Acme 5000")).expect("deal new exists");
        assert_eq!(reply.title, "/deal new");
    }

    #[test]
    fn a_group_word_lists_its_commands() {
        let deal = help_reply(Some("deal")).expect("deal is a group");
        assert_eq!(deal.title, "/deal");
        assert_eq!(
            deal.lines[0],
            "`/deal` is followed by one of these; `/help deal new` explains one."
        );
        for name in ["deal new", "deal show", "deal list", "deal set"] {
            let spec = catalogue::find(name).unwrap();
            assert!(deal.lines.contains(&summary_line(spec)), "{name}");
        }
        let nudges = help_reply(Some("/Nudges")).expect("nudges is a group");
        assert_eq!(nudges.lines.len(), 3, "{nudges:?}");
        assert!(nudges.lines[1].starts_with("`/nudges setup"), "{nudges:?}");
    }

    #[test]
    fn help_for_an_unknown_command_suggests_the_nearest() {
        let err = help_reply(Some("advnce")).expect_err("advnce is not a command");
        assert_eq!(
            err.to_string(),
            "`/advnce` is not a command. Did you mean `/advance`? `/help` lists every command."
        );
    }
}
