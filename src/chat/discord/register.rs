//! The catalogue as Discord application commands, for `dealgate commands register` (a bulk
//! overwrite: what is registered afterwards is exactly the catalogue).
//!
//! Two-word names become a command with subcommands (`deal` → `new`, `show`, …). Options keep
//! the catalogue's order, types and required flags; fixed sets (roles, periods, command names)
//! are choices, open sets (deals, stages, activities, fields) autocomplete. Commands for managers
//! or admins carry `default_member_permissions`, so Discord hides them from reps until a server
//! admin grants them to a role (Server Settings → Integrations → dealgate); dealgate's own
//! authorization still decides who may run what.

use serenity::all::{
    CommandOptionType, CommandType, CreateCommand, CreateCommandOption, InteractionContext,
    Permissions,
};

use crate::commands::catalogue::{CATALOGUE, CommandSpec, OptionKind, OptionSpec};
use crate::commands::command::limits;
use crate::engine::playbook::Role;

/// Period choices: the relative ones. A specific month or quarter is typed in the console or
/// Slack; Discord cannot take both a choice and free text in one option.
pub const PERIODS: [(&str, &str); 8] = [
    ("This month", "this-month"),
    ("Next month", "next-month"),
    ("This quarter", "this-quarter"),
    ("Next quarter", "next-quarter"),
    ("Last month", "last-month"),
    ("Last quarter", "last-quarter"),
    ("This year", "this-year"),
    ("All open deals", "all"),
];

/// Who sees a command by default: admin commands need Manage Server; manager commands Manage
/// Messages, the permission moderators and team leads usually hold.
fn permissions(role: Role) -> Option<Permissions> {
    match role {
        Role::Rep => None,
        Role::Manager => Some(Permissions::MANAGE_MESSAGES),
        Role::Admin => Some(Permissions::MANAGE_GUILD),
    }
}

/// Every command, grouped as Discord nests them, in catalogue order.
pub fn commands() -> Vec<CreateCommand> {
    let mut groups: Vec<(&str, Vec<&'static CommandSpec>)> = Vec::new();
    for spec in CATALOGUE {
        let top = spec.name.split(' ').next().unwrap_or(spec.name);
        match groups.iter_mut().find(|(name, _)| *name == top) {
            Some((_, specs)) => specs.push(spec),
            None => groups.push((top, vec![spec])),
        }
    }
    groups
        .into_iter()
        .map(|(top, specs)| {
            // A group is one Discord command, so it is shown to whoever may use any part of it
            // (`/team list` is for everyone, `/team set` for admins; the service refuses reps).
            let least = specs.iter().map(|s| s.min_role).min().unwrap_or(Role::Rep);
            let mut cmd = CreateCommand::new(top)
                .kind(CommandType::ChatInput)
                .contexts(vec![InteractionContext::Guild]);
            if let Some(p) = permissions(least) {
                cmd = cmd.default_member_permissions(p);
            }
            match specs.as_slice() {
                [one] if one.name == top => cmd
                    .description(one.summary)
                    .set_options(one.options.iter().map(option).collect()),
                _ => {
                    let summary = format!(
                        "{}: {}",
                        top,
                        specs
                            .iter()
                            .filter_map(|s| s.name.split(' ').nth(1))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    cmd.description(summary).set_options(
                        specs
                            .iter()
                            .map(|s| {
                                let sub = s.name.split(' ').nth(1).unwrap_or(s.name);
                                CreateCommandOption::new(
                                    CommandOptionType::SubCommand,
                                    sub,
                                    s.summary,
                                )
                                .set_sub_options(s.options.iter().map(option).collect::<Vec<_>>())
                            })
                            .collect(),
                    )
                }
            }
        })
        .collect()
}

fn option(o: &OptionSpec) -> CreateCommandOption {
    let kind = match o.kind {
        OptionKind::User => CommandOptionType::User,
        // Discord's pickers hand over ids and exact values: a channel id to post the digest to,
        // a whole number of days, a yes or no.
        OptionKind::Channel => CommandOptionType::Channel,
        OptionKind::Days => CommandOptionType::Integer,
        OptionKind::YesNo => CommandOptionType::Boolean,
        OptionKind::File => CommandOptionType::Attachment,
        OptionKind::Preview => CommandOptionType::Integer,
        _ => CommandOptionType::String,
    };
    let mut opt = CreateCommandOption::new(kind, o.name, o.description).required(o.required);
    match o.kind {
        OptionKind::Deal | OptionKind::Stage | OptionKind::Activity | OptionKind::Field => {
            opt = opt.set_autocomplete(true);
        }
        OptionKind::Role => {
            for role in ["rep", "manager", "admin"] {
                opt = opt.add_string_choice(role, role);
            }
        }
        OptionKind::Period => {
            for (name, value) in PERIODS {
                opt = opt.add_string_choice(name, value);
            }
        }
        OptionKind::CommandName => {
            for spec in CATALOGUE {
                opt = opt.add_string_choice(spec.name, spec.name);
            }
        }
        OptionKind::Text => {
            if let Some(max) = text_max(o.name) {
                opt = opt.max_length(max);
            }
        }
        OptionKind::Month => {
            for month in (1..=12u8).filter_map(|n| chrono::Month::try_from(n).ok()) {
                opt = opt.add_string_choice(month.name(), month.name().to_lowercase());
            }
        }
        OptionKind::Days => {
            opt = opt
                .min_int_value(1)
                .max_int_value(u64::from(crate::commands::MAX_SNOOZE_DAYS));
        }
        OptionKind::Preview => {
            opt = opt.min_int_value(1);
        }
        OptionKind::Money
        | OptionKind::File
        | OptionKind::Date
        | OptionKind::User
        | OptionKind::Channel
        | OptionKind::Time
        | OptionKind::Timezone
        | OptionKind::YesNo => {}
    }
    opt
}

/// Discord enforces the length as the person types; the parser refuses longer text anyway.
fn text_max(option: &str) -> Option<u16> {
    let n = match option {
        "name" => limits::DEAL_NAME,
        "note" => limits::NOTE,
        "reason" | "override" => limits::REASON,
        "value" => limits::FIELD_VALUE,
        _ => return None,
    };
    u16::try_from(n).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<serde_json::Value> {
        commands()
            .iter()
            .map(|c| serde_json::to_value(c).unwrap())
            .collect()
    }

    fn find<'a>(cmds: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
        cmds.iter().find(|c| c["name"] == name).unwrap()
    }

    #[test]
    fn two_word_commands_are_subcommands_and_every_catalogue_entry_is_registered() {
        let cmds = all();
        let deal = find(&cmds, "deal");
        let subs: Vec<&str> = deal["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                assert_eq!(o["type"], 1);
                o["name"].as_str().unwrap()
            })
            .collect();
        assert_eq!(subs, ["new", "show", "list", "set"]);
        let registered: usize = cmds
            .iter()
            .map(|c| match c["options"].as_array() {
                Some(opts) if opts.iter().any(|o| o["type"] == 1) => opts.len(),
                _ => 1,
            })
            .sum();
        assert_eq!(registered, CATALOGUE.len());
        assert!(cmds.len() <= 100);
    }

    #[test]
    fn options_carry_types_required_flags_choices_and_autocomplete() {
        let cmds = all();
        let log = find(&cmds, "log");
        let opts = log["options"].as_array().unwrap();
        assert_eq!(opts[0]["name"], "deal");
        assert_eq!(opts[0]["type"], 3);
        assert_eq!(opts[0]["required"], true);
        assert_eq!(opts[0]["autocomplete"], true);
        assert_eq!(opts[1]["autocomplete"], true);
        assert_eq!(opts[2]["required"], false);
        assert_eq!(opts[2]["max_length"], 1000);
        let team = find(&cmds, "team");
        let set = &team["options"][0];
        assert_eq!(set["name"], "set");
        assert_eq!(set["options"][0]["type"], 6, "user option");
        let roles: Vec<&str> = set["options"][1]["choices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["value"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["rep", "manager", "admin"]);
        let forecast = &find(&cmds, "forecast")["options"][0];
        assert_eq!(
            forecast["options"][0]["choices"][2]["value"],
            "this-quarter"
        );
    }

    #[test]
    fn manager_commands_are_hidden_from_reps_by_default() {
        let cmds = all();
        assert_eq!(find(&cmds, "approve")["default_member_permissions"], "8192");
        assert!(find(&cmds, "advance")["default_member_permissions"].is_null());
        assert!(find(&cmds, "team")["default_member_permissions"].is_null());
    }
}
