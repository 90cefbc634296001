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

use chrono::NaiveDate;

use super::catalogue::{self, CommandSpec, OptionKind, OptionSpec};
use super::command::{Command, PeriodSpec, UserRef};
use super::tokenize::{Token, tokens};
use super::values::text_limit;
use crate::engine::ids::{ActivityId, DealNumber, FieldName, Money, StageId};
use crate::engine::playbook::Role;

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

/// A value that counts as not given: empty, or prose that is nothing but line breaks and
/// invisible characters (a name made of those is refused instead, saying which).
fn is_blank(option: &OptionSpec, raw: &str) -> bool {
    raw.is_empty()
        || (option.kind == OptionKind::Text
            && super::values::is_prose(option.name)
            && crate::engine::text::one_line(raw).trim().is_empty())
}

fn takes_words(option: &OptionSpec) -> bool {
    matches!(option.kind, OptionKind::Text | OptionKind::CommandName)
}

fn unknown_option(spec: &'static CommandSpec, name: &str) -> ParseError {
    let lower = name.to_lowercase();
    let suggestion = crate::engine::suggest::closest(&lower, spec.options.iter().map(|o| o.name));
    ParseError::UnknownOption {
        command: spec,
        option: name.to_string(),
        suggestion,
    }
}

/// Builds a `Command` from named raw values: the console's, or Discord's and Slack's options.
/// Option names are matched case-insensitively; blank values count as not given.
pub fn build(spec: &'static CommandSpec, args: &[(String, String)]) -> Result<Command, ParseError> {
    let mut given: Vec<(&'static OptionSpec, &str)> = Vec::new();
    for (name, raw) in args {
        let option = spec
            .option(name)
            .ok_or_else(|| unknown_option(spec, name))?;
        if given.iter().any(|(o, _)| o.name == option.name) {
            return Err(ParseError::DuplicateOption {
                command: spec,
                option: option.name,
            });
        }
        given.push((option, raw.trim()));
    }
    let mut values = Values {
        spec,
        values: Vec::new(),
    };
    for option in spec.options {
        let raw = given
            .iter()
            .find(|(o, _)| o.name == option.name)
            .map(|(_, raw)| *raw);
        match raw {
            Some(raw) if !is_blank(option, raw) => {
                values.values.push((option.name, value(option, raw)?))
            }
            Some(_) if option.required && option.kind == OptionKind::Text => {
                return Err(ParseError::EmptyText {
                    command: spec,
                    option: option.name,
                });
            }
            _ if option.required => {
                return Err(ParseError::MissingOption {
                    command: spec,
                    option: option.name,
                });
            }
            _ => {}
        }
    }
    values.command()
}

/// One option's value, parsed by kind.
enum Value {
    Deal(DealNumber),
    Text(String),
    Money(Money),
    Date(NaiveDate),
    Stage(StageId),
    Activity(ActivityId),
    Field(FieldName),
    User(UserRef),
    Role(Role),
    Period(PeriodSpec),
    Time(chrono::NaiveTime),
    Zone(chrono_tz::Tz),
    YesNo(bool),
    Days(u32),
    Month(chrono::Month),
}

fn value(option: &'static OptionSpec, raw: &str) -> Result<Value, ParseError> {
    let bad = |problem: ValueProblem| ParseError::BadValue {
        option: Some(option.name),
        problem,
    };
    let with_name = |mut e: ParseError| {
        if let ParseError::BadValue {
            option: named @ None,
            ..
        } = &mut e
        {
            *named = Some(option.name);
        }
        e
    };
    // Ids are lowercase slugs; lowercasing first lets `Proposal` mean `proposal`.
    let slug = raw.to_lowercase();
    Ok(match option.kind {
        OptionKind::Deal => Value::Deal(raw.parse().map_err(|e| bad(ValueProblem::Value(e)))?),
        OptionKind::Money => Value::Money(raw.parse().map_err(|e| bad(ValueProblem::Value(e)))?),
        OptionKind::Stage => Value::Stage(slug.parse().map_err(|e| bad(ValueProblem::Value(e)))?),
        OptionKind::Activity => {
            Value::Activity(slug.parse().map_err(|e| bad(ValueProblem::Value(e)))?)
        }
        OptionKind::Field => Value::Field(slug.parse().map_err(|e| bad(ValueProblem::Value(e)))?),
        OptionKind::Date => Value::Date(parse_date(raw).map_err(with_name)?),
        OptionKind::Period => Value::Period(parse_period(raw).map_err(with_name)?),
        OptionKind::User => Value::User(parse_user(raw).map_err(with_name)?),
        OptionKind::Role => {
            Value::Role(Role::parse(raw).ok_or_else(|| bad(ValueProblem::Role(raw.to_string())))?)
        }
        OptionKind::Text => {
            let actual = raw.chars().count();
            match text_limit(option.name) {
                Some((what, limit)) if actual > limit => {
                    return Err(bad(ValueProblem::TooLong {
                        what,
                        limit,
                        actual,
                    }));
                }
                _ => Value::Text(super::values::clean_text(option.name, raw).map_err(bad)?),
            }
        }
        OptionKind::Channel => {
            Value::Text(super::schedule_values::parse_channel(raw).map_err(with_name)?)
        }
        OptionKind::Time => {
            Value::Time(super::schedule_values::parse_time(raw).map_err(with_name)?)
        }
        OptionKind::Timezone => {
            Value::Zone(super::schedule_values::parse_timezone(raw).map_err(with_name)?)
        }
        OptionKind::YesNo => {
            Value::YesNo(super::schedule_values::parse_yes_no(raw).map_err(with_name)?)
        }
        OptionKind::Days => {
            Value::Days(super::schedule_values::parse_days(raw).map_err(with_name)?)
        }
        OptionKind::Month => {
            Value::Month(super::schedule_values::parse_month(raw).map_err(with_name)?)
        }
        OptionKind::CommandName => match catalogue::find(raw) {
            Some(spec) => Value::Text(spec.name.to_string()),
            None => {
                let mut words = raw.split_whitespace();
                return Err(unknown_command(
                    words.next().unwrap_or_default(),
                    words.next(),
                ));
            }
        },
    })
}

/// The parsed values of one invocation, taken out by option name as the `Command` is built.
struct Values {
    spec: &'static CommandSpec,
    values: Vec<(&'static str, Value)>,
}

/// The payload of a `Value` of the matching kind.
trait FromValue: Sized {
    fn from_value(value: Value) -> Option<Self>;
}

macro_rules! from_value {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl FromValue for $ty {
            fn from_value(value: Value) -> Option<Self> {
                match value {
                    Value::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    )*};
}

from_value!(
    DealNumber => Deal, String => Text, Money => Money, NaiveDate => Date, StageId => Stage,
    ActivityId => Activity, FieldName => Field, UserRef => User, Role => Role, PeriodSpec => Period,
    chrono::NaiveTime => Time, chrono_tz::Tz => Zone, bool => YesNo, u32 => Days,
    chrono::Month => Month,
);

impl Values {
    fn opt<T: FromValue>(&mut self, name: &str) -> Option<T> {
        let at = self.values.iter().position(|(n, _)| *n == name)?;
        T::from_value(self.values.swap_remove(at).1)
    }

    fn req<T: FromValue>(&mut self, name: &'static str) -> Result<T, ParseError> {
        self.opt(name).ok_or(ParseError::MissingOption {
            command: self.spec,
            option: name,
        })
    }

    fn command(mut self) -> Result<Command, ParseError> {
        let v = &mut self;
        Ok(match v.spec.name {
            "deal new" => Command::DealNew {
                name: v.req("name")?,
                amount: v.req("amount")?,
                close: v.req("close")?,
                owner: v.opt("owner"),
                stage: v.opt("stage"),
            },
            "deal show" => Command::DealShow {
                deal: v.req("deal")?,
            },
            "deal list" => Command::DealList {
                owner: v.opt("owner"),
                stage: v.opt("stage"),
            },
            "deal set" => Command::DealSet {
                deal: v.req("deal")?,
                field: v.req("field")?,
                value: v.req("value")?,
            },
            "log" => Command::Log {
                deal: v.req("deal")?,
                activity: v.req("activity")?,
                note: v.opt("note"),
            },
            "advance" => Command::Advance {
                deal: v.req("deal")?,
                to: v.opt("to"),
                override_reason: v.opt("override"),
            },
            "back" => Command::Back {
                deal: v.req("deal")?,
                to: v.req("to")?,
                reason: v.req("reason")?,
            },
            "approve" => Command::Approve {
                deal: v.req("deal")?,
                note: v.opt("note"),
            },
            "won" => Command::Won {
                deal: v.req("deal")?,
            },
            "lost" => Command::Lost {
                deal: v.req("deal")?,
                reason: v.req("reason")?,
            },
            "playbook" => Command::Playbook {
                stage: v.opt("stage"),
            },
            "forecast" => Command::Forecast {
                period: v.opt("period"),
                owner: v.opt("owner"),
            },
            "team set" => Command::TeamSet {
                user: v.req("user")?,
                role: v.req("role")?,
                manager: v.opt("manager"),
            },
            "team list" => Command::TeamList,
            "help" => Command::Help {
                command: v.opt("command"),
            },
            "digest setup" => Command::DigestSetup {
                channel: v.req("channel")?,
                time: v.req("time")?,
                timezone: v.req("timezone")?,
                weekdays_only: v.opt("weekdays-only"),
                fiscal_start: v.opt("fiscal-start"),
            },
            "digest preview" => Command::DigestPreview,
            "nudges setup" => Command::NudgesSetup {
                time: v.req("time")?,
                to_reps: v.opt("to-reps"),
                repeat_days: v.opt("repeat-days"),
            },
            "nudges snooze" => Command::NudgesSnooze {
                deal: v.req("deal")?,
                days: v.req("days")?,
            },
            // A catalogue entry without a case here; the catalogue tests parse every example,
            // so this is refused as unknown rather than panicking in a chat handler.
            other => {
                return Err(ParseError::UnknownCommand {
                    typed: other.to_string(),
                    suggestion: None,
                });
            }
        })
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
