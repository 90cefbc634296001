//! Parsing an invocation into a `Command`. Console text goes through `parse_line`; Discord and
//! Slack hand named values to `build`, which `parse_line` also ends in, so every platform accepts
//! and refuses the same input with the same words.
//!
//! ```text
//! /log deal-42 discovery-call "met the CFO"
//! → Command::Log { deal: deal-42, activity: discovery-call, note: Some("met the CFO") }
//! /log deal-42
//! → `/log` needs `activity`. Usage: `/log deal activity [note]` — e.g. `/log deal-42 discovery-call "met the CFO"`
//! ```
//!
//! Arguments go in the catalogue's order or as `name:value`, mixed as you like: positional words
//! fill the options not given by name, in order, and the last option marked `rest` takes every
//! remaining word (`/lost deal-42 went with a competitor`). Refusals and their reply text are in `error.rs`.

use super::args::Args;
use super::catalogue::{self, CommandSpec, OptionKind, OptionSpec};
use super::command::Command;
use super::error::unknown_option;
use super::tokenize::{Token, tokens};

pub(crate) use super::error::unknown_command;
pub use super::error::{ParseError, ValueProblem};
pub use super::tokenize::tokenize;
pub use super::values::{parse_date, parse_period, parse_user};

/// Parses a console line such as `/log deal-42 discovery-call "met the CFO"`. The slash is
/// optional and the command name case-insensitive.
pub fn parse_line(line: &str) -> Result<Command, ParseError> {
    let trimmed = line.trim_start();
    let rest = trimmed.strip_prefix('/').unwrap_or(trimmed);
    // Quote positions count from what the person typed, slash included.
    let skipped = line.chars().count() - rest.chars().count();
    let mut tokens = tokens(rest)
        .map_err(|e| match e {
            ParseError::UnclosedQuote { open, close, at } => ParseError::UnclosedQuote {
                open,
                close,
                at: at + skipped,
            },
            other => other,
        })?
        .into_iter();
    let Some(first) = tokens.next() else {
        return Err(ParseError::Empty);
    };
    let rest: Vec<Token> = tokens.collect();
    let (spec, args) = match command_name(&first, rest.first())? {
        (spec, 2) => (spec, &rest[1..]),
        (spec, _) => (spec, &rest[..]),
    };
    build(spec, &assign(spec, args)?)
}

/// The command the line starts with, and how many words its name took (1 or 2).
fn command_name(
    first: &Token,
    second: Option<&Token>,
) -> Result<(&'static CommandSpec, usize), ParseError> {
    let one = first.text.to_lowercase();
    let two = second.map(|s| format!("{one} {}", s.text.to_lowercase()));
    if let Some(spec) = two.as_deref().and_then(catalogue::find) {
        return Ok((spec, 2));
    }
    if let Some(spec) = catalogue::find(&one) {
        return Ok((spec, 1));
    }
    // A group named alone runs its `show` when that needs nothing more: `/playbook proposal`.
    if let Some(spec) = catalogue::find(&format!("{one} show"))
        && spec.options.iter().all(|o| !o.required)
    {
        return Ok((spec, 1));
    }
    Err(unknown_command(
        &first.text,
        second.map(|s| s.text.as_str()),
    ))
}

/// `name:value` when `name` looks like an option name (`to`, `override`); a time (`10:30`) or a
/// link (`https://…`) in free text then stays text unless its prefix is a real option name.
fn named(token: &Token) -> Option<(&str, &str)> {
    if token.quoted {
        return None;
    }
    let (name, value) = token.text.split_once(':')?;
    let shaped = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-');
    shaped.then_some((name, value))
}

/// Sorts the words after the command name into named raw values, in the way `build` takes them.
fn assign(
    spec: &'static CommandSpec,
    words: &[Token],
) -> Result<Vec<(String, String)>, ParseError> {
    let mut args: Vec<(String, String)> = Vec::new();
    // Where a rest option given by name was typed: words after it may continue it.
    let mut named_rest_at = None;
    let mut positional: Vec<(usize, &Token)> = Vec::new();
    for (i, token) in words.iter().enumerate() {
        match named(token).and_then(|(name, value)| Some((spec.option(name)?, value))) {
            Some((option, value)) => {
                if args.iter().any(|(n, _)| n == option.name) {
                    return Err(ParseError::DuplicateOption {
                        command: spec,
                        option: option.name,
                    });
                }
                if option.rest {
                    named_rest_at = Some(i);
                }
                args.push((option.name.to_string(), value.to_string()));
            }
            None => positional.push((i, token)),
        }
    }
    let free: Vec<&OptionSpec> = spec
        .options
        .iter()
        .filter(|o| !args.iter().any(|(n, _)| n == o.name))
        .collect();
    let mut words = positional.into_iter().peekable();
    for option in free {
        let Some(&(_, token)) = words.peek() else {
            break;
        };
        // A `name:value` where a deal, stage or date belongs is a mistyped option, not a value.
        if !takes_words(option)
            && let Some((name, _)) = named(token)
        {
            return Err(unknown_option(spec, name));
        }
        let value = if option.rest {
            words
                .by_ref()
                .map(|(_, t)| t.text.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            words
                .next()
                .map(|(_, t)| t.text.clone())
                .unwrap_or_default()
        };
        args.push((option.name.to_string(), value));
    }
    let leftover: Vec<(usize, &Token)> = words.collect();
    let Some(&(first_left, _)) = leftover.first() else {
        return Ok(args);
    };
    // `/lost deal-42 reason:went with a competitor`: the named rest option keeps the words
    // typed after it, as it would have positionally.
    if named_rest_at.is_some_and(|at| at < first_left)
        && let Some(last) = spec.options.last()
        && let Some((_, value)) = args.iter_mut().find(|(n, _)| n == last.name)
    {
        for (_, token) in &leftover {
            value.push(' ');
            value.push_str(&token.text);
        }
        return Ok(args);
    }
    if let Some((name, _)) = leftover.iter().find_map(|(_, t)| named(t)) {
        return Err(unknown_option(spec, name));
    }
    let extra: Vec<&str> = leftover.iter().map(|(_, t)| t.text.as_str()).collect();
    Err(ParseError::TooManyArguments {
        command: spec,
        extra: extra.join(" "),
    })
}

fn takes_words(option: &OptionSpec) -> bool {
    matches!(option.kind, OptionKind::Text | OptionKind::CommandName)
}

/// Builds a `Command` from named raw values: the console's, or Discord's and Slack's options.
/// Option names are matched case-insensitively; blank values count as not given.
pub fn build(spec: &'static CommandSpec, args: &[(String, String)]) -> Result<Command, ParseError> {
    Command::from_args(Args::parse(spec, args)?)
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
