//! Discord's options → the catalogue's named values. Discord nests a two-word command as a
//! subcommand (`/deal new` arrives as command `deal` with one `SUB_COMMAND` option `new` holding
//! the real options); this flattens it and hands the pairs to `commands::parse::build`, the same
//! function console text ends in, so both accept and refuse the same things.

use serenity::all::{CommandData, CommandDataOption, CommandDataOptionValue, UserId};

use super::attachments::AttachmentRef;
use crate::commands::catalogue::{self, CommandSpec};
use crate::commands::parse::{ParseError, unknown_command};

/// A command invocation as Discord sent it, flattened.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub spec: &'static CommandSpec,
    /// Option name → raw value, for `parse::build`. A user option is `<@id>`.
    pub args: Vec<(String, String)>,
    /// The option being typed, in an autocomplete request: its name and the text so far.
    pub focused: Option<(String, String)>,
    /// `(user id, display name)` of every user option, so they can be known as members.
    pub users: Vec<(String, String)>,
    /// Attachment options: the option's name and the file as Discord describes it.
    pub attachments: Vec<(String, AttachmentRef)>,
}

/// Reads the command name and options.
pub fn read(data: &CommandData) -> Result<Invocation, ParseError> {
    let (name, options) = match data.options.first() {
        Some(CommandDataOption {
            name: sub,
            value: CommandDataOptionValue::SubCommand(inner),
            ..
        }) => (format!("{} {sub}", data.name), inner.as_slice()),
        _ => (data.name.clone(), data.options.as_slice()),
    };
    let spec = catalogue::find(&name).ok_or_else(|| {
        let mut words = name.split_whitespace();
        unknown_command(words.next().unwrap_or_default(), words.next())
    })?;
    let mut invocation = Invocation {
        spec,
        args: Vec::new(),
        focused: None,
        users: Vec::new(),
        attachments: Vec::new(),
    };
    for option in options {
        let value = match &option.value {
            CommandDataOptionValue::String(s) => s.clone(),
            CommandDataOptionValue::Integer(n) => n.to_string(),
            CommandDataOptionValue::Number(n) => n.to_string(),
            CommandDataOptionValue::Boolean(b) => b.to_string(),
            CommandDataOptionValue::User(id) => {
                invocation
                    .users
                    .push((id.to_string(), display_name(data, *id)));
                format!("<@{id}>")
            }
            CommandDataOptionValue::Role(id) => id.to_string(),
            CommandDataOptionValue::Channel(id) => id.to_string(),
            // The file's name; the dispatcher fetches its content before the command runs.
            CommandDataOptionValue::Attachment(id) => match data.resolved.attachments.get(id) {
                Some(a) => {
                    invocation.attachments.push((
                        option.name.clone(),
                        AttachmentRef {
                            filename: crate::engine::text::one_line(&a.filename)
                                .trim()
                                .to_string(),
                            size: u64::from(a.size),
                            url: a.url.clone(),
                        },
                    ));
                    crate::engine::text::one_line(&a.filename)
                        .trim()
                        .to_string()
                }
                None => String::new(),
            },
            CommandDataOptionValue::Autocomplete { value, .. } => {
                invocation.focused = Some((option.name.clone(), value.clone()));
                continue;
            }
            // Mentionables and nested groups are not in the catalogue; `build`
            // refuses the option by name.
            _ => String::new(),
        };
        invocation.args.push((option.name.clone(), value));
    }
    Ok(invocation)
}

/// The name a mentioned user goes by in this server: nickname, then global name, then username;
/// on one line without control or invisible characters, as people typed them (a name that was
/// nothing else falls through to the next).
fn display_name(data: &CommandData, id: UserId) -> String {
    let resolved = &data.resolved;
    let user = resolved.users.get(&id);
    [
        resolved.members.get(&id).and_then(|m| m.nick.as_deref()),
        user.and_then(|u| u.global_name.as_deref()),
        user.map(|u| u.name.as_str()),
    ]
    .into_iter()
    .flatten()
    .map(|name| crate::engine::text::one_line(name).trim().to_string())
    .find(|name| !name.is_empty())
    .unwrap_or_else(|| id.to_string())
}
