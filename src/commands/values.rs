//! Parsing one option's raw text into its value: dates, forecast periods, members, roles, and
//! the length limits on free text. The ids and money parse through `engine::ids`.
//!
//! ```text
//! parse_date("2026-12-31")  → 2026-12-31
//! parse_date("2026-02-30")  → "there is no 30 February 2026"
//! parse_date("31/12/2026")  → "`31/12/2026` is not a date; write dates as YYYY-MM-DD, e.g. 2026-12-31"
//! parse_period("2026-Q4")   → PeriodSpec::Quarter { year: 2026, quarter: 4 }
//! parse_user("@alice")      → UserRef::Name("alice")
//! ```

use std::fmt;

use chrono::NaiveDate;

use super::error::{ParseError, ValueProblem};
use crate::engine::forecast::PeriodSpec;
use crate::service::{UserRef, limits};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The date shown as an example when the intended one cannot be guessed.
const EXAMPLE_DATE: &str = "2026-12-31";

fn problem(problem: ValueProblem) -> ParseError {
    ParseError::BadValue {
        option: None,
        problem,
    }
}

/// A calendar date written the one unambiguous way, `YYYY-MM-DD`.
///
/// `31/12/2026` could be read day-first or month-first depending on where the writer lives, so
/// other spellings are refused rather than guessed; the reply suggests the ISO form when only one
/// reading is a real date.
pub fn parse_date(s: &str) -> Result<NaiveDate, ParseError> {
    let text = s.trim();
    let parts: Vec<&str> = text.split('-').collect();
    let shape_ok = parts.len() == 3
        && [4, 2, 2]
            .iter()
            .zip(&parts)
            .all(|(len, p)| p.len() == *len && all_digits(p));
    if !shape_ok {
        let example = guess_iso(text).unwrap_or_else(|| EXAMPLE_DATE.to_string());
        return Err(problem(ValueProblem::DateFormat {
            text: text.to_string(),
            example,
        }));
    }
    // The shape check above makes these parses infallible; the fallback only keeps them total.
    let number = |p: &str| p.parse::<u32>().unwrap_or(0);
    let (year, month, day) = (number(parts[0]) as i32, number(parts[1]), number(parts[2]));
    let Some(month_name) = month.checked_sub(1).and_then(|m| MONTHS.get(m as usize)) else {
        return Err(problem(ValueProblem::NoSuchMonth {
            text: text.to_string(),
            month,
        }));
    };
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| {
        problem(ValueProblem::NoSuchDay {
            day,
            month: month_name,
            year,
        })
    })
}

/// The typed value of `/deal set deal field value`: an amount for `amount`, a date for
/// `close_date`, text for everything else (whether the field exists is the service's call).
pub fn field_value(
    field: &crate::engine::ids::FieldName,
    raw: &str,
) -> Result<crate::service::FieldValue, ParseError> {
    use crate::service::FieldValue;
    let with_field = |e: ParseError| match e {
        ParseError::BadValue { problem, .. } => ParseError::BadValue {
            option: Some("value"),
            problem,
        },
        other => other,
    };
    Ok(match field.as_str() {
        "amount" => FieldValue::Amount(
            raw.parse()
                .map_err(|e| with_field(problem(ValueProblem::Value(e))))?,
        ),
        "close_date" => FieldValue::CloseDate(parse_date(raw).map_err(with_field)?),
        _ => FieldValue::Text(raw.to_string()),
    })
}

/// The ISO spelling of `d/m/yyyy`, `m/d/yyyy`, `yyyy/m/d` (with `/`, `.` or `-`) when exactly
/// one reading is a real date.
fn guess_iso(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split(['/', '.', '-']).collect();
    if parts.len() != 3
        || !parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && all_digits(p))
    {
        return None;
    }
    let n: Vec<u32> = parts.iter().filter_map(|p| p.parse().ok()).collect();
    let candidates = if parts[0].len() == 4 {
        vec![(n[0], n[1], n[2])]
    } else if parts[2].len() == 4 {
        vec![(n[2], n[1], n[0]), (n[2], n[0], n[1])]
    } else {
        return None;
    };
    let mut dates: Vec<NaiveDate> = candidates
        .into_iter()
        .filter_map(|(y, m, d)| NaiveDate::from_ymd_opt(y as i32, m, d))
        .collect();
    dates.dedup();
    match dates.as_slice() {
        [only] => Some(only.format("%Y-%m-%d").to_string()),
        _ => None,
    }
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// A forecast window: `this-month`, `next-month`, `this-quarter`, `next-quarter`, `this-year`,
/// `all`, a month `2026-11`, or a quarter `2026-Q4` (also `Q4-2026`), in any case.
pub fn parse_period(s: &str) -> Result<PeriodSpec, ParseError> {
    let text = s.trim();
    let lower = text.to_ascii_lowercase();
    let named = match lower.as_str() {
        "this-month" => Some(PeriodSpec::ThisMonth),
        "next-month" => Some(PeriodSpec::NextMonth),
        "this-quarter" => Some(PeriodSpec::ThisQuarter),
        "next-quarter" => Some(PeriodSpec::NextQuarter),
        "last-month" => Some(PeriodSpec::LastMonth),
        "last-quarter" => Some(PeriodSpec::LastQuarter),
        "this-year" => Some(PeriodSpec::ThisYear),
        "all" => Some(PeriodSpec::All),
        _ => None,
    };
    named
        .or_else(|| dated_period(&lower))
        .ok_or_else(|| problem(ValueProblem::Period(text.to_string())))
}

fn dated_period(lower: &str) -> Option<PeriodSpec> {
    let (a, b) = lower.split_once('-')?;
    let year = |y: &str| {
        (y.len() == 4 && all_digits(y))
            .then(|| y.parse::<i32>().ok())
            .flatten()
    };
    let quarter = |q: &str| match q.strip_prefix('q')? {
        d @ ("1" | "2" | "3" | "4") => d.parse::<u32>().ok(),
        _ => None,
    };
    if let Some(year) = year(a) {
        if let Some(quarter) = quarter(b) {
            return Some(PeriodSpec::Quarter { year, quarter });
        }
        let month =
            (matches!(b.len(), 1 | 2) && all_digits(b)).then(|| b.parse::<u32>().ok())??;
        return (1..=12)
            .contains(&month)
            .then_some(PeriodSpec::Month { year, month });
    }
    Some(PeriodSpec::Quarter {
        quarter: quarter(a)?,
        year: year(b)?,
    })
}

/// A member: `@alice` or `alice` (a name, kept as `alice`), or a mention, which names the
/// platform's user id: Discord's `<@123>` and `<@!123>`, Slack's `<@U024BE7LH>` or
/// `<@U024BE7LH|alice>` (the label after `|` is only a display hint). Both platforms hand a
/// mention over in this one form, so it is read here, once, and the service gets a typed key.
pub fn parse_user(s: &str) -> Result<UserRef, ParseError> {
    let text = s.trim();
    let bad = || problem(ValueProblem::User(text.to_string()));
    if let Some(inner) = text.strip_prefix("<@").and_then(|t| t.strip_suffix('>')) {
        let inner = inner.strip_prefix('!').unwrap_or(inner);
        let (id, label) = inner.split_once('|').unwrap_or((inner, ""));
        // Discord ids are up to 20 digits and Slack's about a dozen letters and digits.
        let id_ok = (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric());
        let label_ok = label.chars().count() <= limits::USER_NAME
            && !label.contains(['<', '>'])
            && crate::engine::text::first_forbidden(label).is_none();
        return if id_ok && label_ok {
            Ok(UserRef::Key(id.to_string()))
        } else {
            Err(bad())
        };
    }
    let name = text.strip_prefix('@').unwrap_or(text);
    let name_ok = (1..=limits::USER_NAME).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if name_ok {
        Ok(UserRef::Name(name.to_string()))
    } else {
        Err(bad())
    }
}

impl fmt::Display for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(key) => write!(f, "<@{key}>"),
            Self::Name(name) => f.write_str(name),
        }
    }
}

/// How a text option is named in a length error, and its limit in characters. Every `Text`
/// option in the catalogue has one (a test below checks).
pub(crate) fn text_limit(option: &str) -> Option<(&'static str, usize)> {
    match option {
        "name" => Some(("a deal name", limits::DEAL_NAME)),
        "note" => Some(("a note", limits::NOTE)),
        "reason" => Some(("a reason", limits::REASON)),
        "override" => Some(("an override reason", limits::REASON)),
        "value" => Some(("a field value", limits::FIELD_VALUE)),
        "map" => Some(("a stage mapping", limits::MAPPING)),
        // The longest bucket name is ten characters; the limit only keeps garbage short.
        "list" => Some(("a bucket name", 32)),
        _ => None,
    }
}

/// A text option's value as it is kept. Names (a deal's name, a field's value, which cards and
/// lists show as a name) refuse control and invisible characters, saying which and where, so
/// what is stored is exactly what the person sees; prose (a note, a reason) is kept on one line
/// with its line breaks as spaces and the invisible characters dropped, since a pasted note
/// with a line break means nothing hostile and refusing it would only cost a retype.
pub(crate) fn clean_text(option: &str, raw: &str) -> Result<String, ValueProblem> {
    use crate::engine::text::{first_forbidden, one_line};
    if is_prose(option) {
        return Ok(one_line(raw).trim().to_string());
    }
    match first_forbidden(raw) {
        Some((at, found)) => Err(ValueProblem::Unprintable {
            what: text_limit(option).map_or("this text", |(what, _)| what),
            found,
            at,
        }),
        None => Ok(raw.to_string()),
    }
}

/// The text options that are prose (kept on one line) rather than names (refused).
pub(crate) fn is_prose(option: &str) -> bool {
    matches!(option, "note" | "reason" | "override")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::catalogue::{CATALOGUE, OptionKind};

    #[test]
    fn every_text_option_has_a_length_limit() {
        for spec in CATALOGUE {
            for option in spec.options.iter().filter(|o| o.kind == OptionKind::Text) {
                assert!(
                    text_limit(option.name).is_some(),
                    "{} {}",
                    spec.name,
                    option.name
                );
            }
        }
    }
}
