//! Why an invocation was refused, as the reply a person reads: what was wrong and what would
//! be right, with the usage line and an example where the shape of the command was the problem.
//!
//! ```text
//! /log deal-42
//! → `/log` needs `activity`. Usage: `/log deal activity [note]` — e.g. `/log deal-42 discovery-call "met the CFO"`
//! /deal new Acme 5k 2026-02-30
//! → `close`: there is no 30 February 2026
//! ```

use thiserror::Error;

use super::catalogue::{self, CATALOGUE, CommandSpec};
use crate::engine::ids::ValueError;
use crate::engine::text::code_point;

/// Why an invocation was refused. The `Display` text is the reply: what was wrong and what
/// would be right.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ParseError {
    #[error("Type a command after the slash, e.g. `/deal list`. `/help` lists every command.")]
    Empty,
    #[error(
        "The `{open}` at character {at} starts a quote that is never closed: end it with `{close}`. \
         Inside quotes, write `\\{close}` for a quote that belongs to the text."
    )]
    UnclosedQuote { open: char, close: char, at: usize },
    #[error("`/{typed}` is not a command.{}{}", did_you_mean(.suggestion, "/"), HELP_HINT)]
    UnknownCommand {
        typed: String,
        suggestion: Option<&'static str>,
    },
    /// A group word (`deal`, `team`) without one of its commands after it.
    #[error("{}", incomplete(.group, .typed, .choices))]
    UnknownSubcommand {
        group: &'static str,
        typed: Option<String>,
        choices: Vec<&'static str>,
    },
    #[error("`/{}` needs `{option}`. {}", .command.name, usage_hint(.command))]
    MissingOption {
        command: &'static CommandSpec,
        option: &'static str,
    },
    #[error("`{option}` cannot be blank for `/{}`. {}", .command.name, usage_hint(.command))]
    EmptyText {
        command: &'static CommandSpec,
        option: &'static str,
    },
    #[error("{}", unknown_option_text(.command, .option, .suggestion))]
    UnknownOption {
        command: &'static CommandSpec,
        option: String,
        suggestion: Option<&'static str>,
    },
    #[error("`{option}` is given twice; give each option once. {}", usage_hint(.command))]
    DuplicateOption {
        command: &'static CommandSpec,
        option: &'static str,
    },
    #[error(
        "`/{}` got more than it takes: `{extra}` is left over. Put text with spaces in quotes. {}",
        .command.name,
        usage_hint(.command)
    )]
    TooManyArguments {
        command: &'static CommandSpec,
        extra: String,
    },
    /// A value of the wrong form; `option` is `None` when a value parser is called on its own.
    #[error("{}{problem}", .option.map(|o| format!("`{o}`: ")).unwrap_or_default())]
    BadValue {
        option: Option<&'static str>,
        problem: ValueProblem,
    },
}

/// What is wrong with one value, and what would be right.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ValueProblem {
    #[error(transparent)]
    Value(#[from] ValueError),
    #[error("`{text}` is not a date; write dates as YYYY-MM-DD, e.g. {example}")]
    DateFormat { text: String, example: String },
    #[error("`{text}` has no month {month}; months run from 01 to 12")]
    NoSuchMonth { text: String, month: u32 },
    #[error("there is no {day} {month} {year}")]
    NoSuchDay {
        day: u32,
        month: &'static str,
        year: i32,
    },
    #[error(
        "`{0}` is not a period; use this-month, next-month, last-month, this-quarter, \
         next-quarter, last-quarter, \
         this-year, all, a month such as 2026-11 or a quarter such as 2026-Q4"
    )]
    Period(String),
    #[error(
        "`{0}` is not a bucket of the movement; use start, created, pulled-in, up, down, \
         pushed-out, lost, won or end"
    )]
    Bucket(String),
    #[error(
        "`{0}` is not a member; write `@name` (letters, digits, `.`, `_` or `-`, at most 64) \
         or mention them"
    )]
    User(String),
    #[error("`{0}` is not a role; use `rep`, `manager` or `admin`")]
    Role(String),
    #[error("`{0}` is not a channel; mention it (`#sales-managers`) or give its id")]
    Channel(String),
    #[error("`{0}` is not a time of day; write it 24-hour as HH:MM, e.g. 08:30")]
    Time(String),
    #[error(
        "`{text}` is not a time zone; use an IANA name such as Europe/Berlin or America/New_York{hint}"
    )]
    Timezone { text: String, hint: String },
    #[error("`{0}` is neither yes nor no")]
    YesNo(String),
    #[error("`{0}` is not a number of days; give a whole number from 1 to 90")]
    Days(String),
    #[error("`{0}` is not a month; give its name (`april`, `apr`) or number (1 to 12)")]
    Month(String),
    #[error("no file was given; attach the playbook's TOML file (in the console: its path)")]
    File,
    #[error("`{0}` is not a number above zero; give the preview's or version's number, e.g. 3")]
    Preview(String),
    #[error(
        "{what} can't contain control or invisible characters (found {} at position {at}); \
         type it on one line, without special characters",
        code_point(*.found)
    )]
    Unprintable {
        what: &'static str,
        found: char,
        at: usize,
    },
    #[error("{what} can be at most {} characters; yours has {}", thousands(*.limit), thousands(*.actual))]
    TooLong {
        what: &'static str,
        limit: usize,
        actual: usize,
    },
}

/// An option the command does not have, with the closest one it does as a suggestion.
pub(crate) fn unknown_option(spec: &'static CommandSpec, name: &str) -> ParseError {
    let lower = name.to_lowercase();
    let suggestion = crate::engine::suggest::closest(&lower, spec.options.iter().map(|o| o.name));
    ParseError::UnknownOption {
        command: spec,
        option: name.to_string(),
        suggestion,
    }
}

/// The refusal for a name that is not a command: the nearest command if one is close enough,
/// or for a group word (`deal`, `team`) the words that may follow it.
pub(crate) fn unknown_command(first: &str, second: Option<&str>) -> ParseError {
    let one = first.trim().trim_start_matches('/').to_lowercase();
    let second = second.map(str::to_lowercase);
    let two = second.as_ref().map(|s| format!("{one} {s}"));
    if let Some(group) = CATALOGUE
        .iter()
        .find_map(|s| s.name.split_once(' ').map(|(g, _)| g).filter(|g| *g == one))
    {
        if let Some(suggestion) = two.as_deref().and_then(catalogue::suggest) {
            let typed = two.unwrap_or_default();
            return ParseError::UnknownCommand {
                typed,
                suggestion: Some(suggestion),
            };
        }
        let choices = CATALOGUE
            .iter()
            .filter_map(|s| s.name.strip_prefix(group)?.strip_prefix(' '))
            .collect();
        return ParseError::UnknownSubcommand {
            group,
            typed: second,
            choices,
        };
    }
    // `dael new` is a typo of a two-word name; `advnce 42` of a one-word one.
    if let Some(suggestion) = two.as_deref().and_then(catalogue::suggest) {
        let typed = two.unwrap_or_default();
        return ParseError::UnknownCommand {
            typed,
            suggestion: Some(suggestion),
        };
    }
    let suggestion = catalogue::suggest(&one);
    ParseError::UnknownCommand {
        typed: one,
        suggestion,
    }
}

const HELP_HINT: &str = " `/help` lists every command.";

fn did_you_mean(suggestion: &Option<&'static str>, prefix: &str) -> String {
    suggestion
        .map(|s| format!(" Did you mean `{prefix}{s}`?"))
        .unwrap_or_default()
}

fn usage_hint(spec: &CommandSpec) -> String {
    format!("Usage: `{}` — e.g. `{}`", spec.usage(), spec.example)
}

fn incomplete(group: &str, typed: &Option<String>, choices: &[&str]) -> String {
    let words: Vec<String> = choices.iter().map(|c| format!("`{c}`")).collect();
    let list = join_or(&words);
    match typed {
        None => {
            let example = choices
                .first()
                .map(|c| format!(", e.g. `/{group} {c}`"))
                .unwrap_or_default();
            format!("`/{group}` needs one more word: {list}{example}.")
        }
        Some(t) => format!("`/{group} {t}` is not a command; after `/{group}` comes {list}."),
    }
}

fn unknown_option_text(
    spec: &CommandSpec,
    option: &str,
    suggestion: &Option<&'static str>,
) -> String {
    let names: Vec<String> = spec
        .options
        .iter()
        .map(|o| format!("`{}`", o.name))
        .collect();
    let valid = match names.len() {
        0 => "it takes no options.".to_string(),
        1 => format!("its only option is {}.", names[0]),
        _ => format!("its options are {}.", join_and(&names)),
    };
    format!(
        "`/{}` has no option `{option}`.{} {} {}",
        spec.name,
        did_you_mean(suggestion, ""),
        capitalize(&valid),
        usage_hint(spec)
    )
}

fn join_with(items: &[String], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., tail] => format!("{} {last} {tail}", init.join(", ")),
    }
}

fn join_and(items: &[String]) -> String {
    join_with(items, "and")
}

fn join_or(items: &[String]) -> String {
    join_with(items, "or")
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `1204` → `1,204`, as people read counts.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}
