//! An invocation's option values, each parsed by its kind, for `Command::from_args` to take out
//! by name. Console text (after `parse.rs` sorts the words) and Discord's and Slack's options
//! all arrive here as named raw values, so every platform accepts and refuses the same input
//! with the same words.

use chrono::NaiveDate;

use super::catalogue::{self, CommandSpec, OptionKind, OptionSpec};
use super::error::{ParseError, ValueProblem, unknown_command, unknown_option};
use super::values::{parse_date, parse_period, parse_user, text_limit};
use crate::engine::forecast::PeriodSpec;
use crate::engine::ids::{ActivityId, DealNumber, FieldName, Money, StageId};
use crate::engine::playbook::Role;
use crate::service::UserRef;

/// The parsed values of one invocation, taken out by option name as its `Command` is built.
pub(super) struct Args {
    spec: &'static CommandSpec,
    values: Vec<(&'static str, Value)>,
}

impl Args {
    /// Parses named raw values: option names are matched case-insensitively, blank values
    /// count as not given, and a required option missing is refused here.
    pub(super) fn parse(
        spec: &'static CommandSpec,
        raw: &[(String, String)],
    ) -> Result<Self, ParseError> {
        let mut given: Vec<(&'static OptionSpec, &str)> = Vec::new();
        for (name, raw) in raw {
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
        let mut values = Vec::new();
        for option in spec.options {
            let raw = given
                .iter()
                .find(|(o, _)| o.name == option.name)
                .map(|(_, raw)| *raw);
            match raw {
                Some(raw) if !is_blank(option, raw) => {
                    values.push((option.name, value(option, raw)?))
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
        Ok(Self { spec, values })
    }

    /// The command these values were given to.
    pub(super) fn spec(&self) -> &'static CommandSpec {
        self.spec
    }

    /// An option's value, `None` when it was not given.
    pub(super) fn opt<T: FromValue>(&mut self, name: &str) -> Option<T> {
        let at = self.values.iter().position(|(n, _)| *n == name)?;
        T::from_value(self.values.swap_remove(at).1)
    }

    /// A required option's value.
    pub(super) fn req<T: FromValue>(&mut self, name: &'static str) -> Result<T, ParseError> {
        self.opt(name).ok_or(ParseError::MissingOption {
            command: self.spec,
            option: name,
        })
    }
}

/// A value that counts as not given: empty, or prose that is nothing but line breaks and
/// invisible characters (a name made of those is refused instead, saying which).
fn is_blank(option: &OptionSpec, raw: &str) -> bool {
    raw.is_empty()
        || (option.kind == OptionKind::Text
            && super::values::is_prose(option.name)
            && crate::engine::text::one_line(raw).trim().is_empty())
}

/// One option's value, parsed by kind.
pub(super) enum Value {
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
    Preview(i64),
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
        OptionKind::File => {
            let path = raw.trim();
            if path.is_empty() {
                return Err(bad(ValueProblem::File));
            }
            Value::Text(path.to_string())
        }
        OptionKind::Preview => Value::Preview(
            raw.trim()
                .trim_start_matches('#')
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(ValueProblem::Preview(raw.trim().to_string())))?,
        ),
        // The command the leading words name (what follows is its arguments), or a group's
        // word, whose commands help lists.
        OptionKind::CommandName => match catalogue::find_leading(raw) {
            Some(spec) => Value::Text(spec.name.to_string()),
            None if raw.split_whitespace().count() == 1 && !catalogue::group(raw).is_empty() => {
                Value::Text(raw.trim().trim_start_matches('/').to_lowercase())
            }
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

/// The payload of a `Value` of the matching kind.
pub(super) trait FromValue: Sized {
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
    chrono::Month => Month, i64 => Preview,
);
