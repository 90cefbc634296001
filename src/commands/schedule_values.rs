//! Parsing the values of the schedule commands: channels, times of day, time zones, yes/no and
//! day counts.
//!
//! ```text
//! parse_time("8:30")             → 08:30
//! parse_timezone("europe/berlin") → Europe/Berlin
//! parse_timezone("Europe/Berln")  → "… Did you mean Europe/Berlin?"
//! parse_channel("<#1234567890>")  → "<#1234567890>" (the adapter resolves it)
//! ```

use chrono::NaiveTime;
use chrono_tz::Tz;

use super::error::{ParseError, ValueProblem};
use crate::engine::schedule::{parse_time_of_day, parse_zone};
use crate::engine::suggest::closest;

fn problem(problem: ValueProblem) -> ParseError {
    ParseError::BadValue {
        option: None,
        problem,
    }
}

/// A channel as typed: `#name` (kept without the `#`), a platform mention (Discord's `<#123>`,
/// Slack's `<#C024BE7LR|sales>`) kept as typed for the adapter, or a bare id or name.
pub fn parse_channel(raw: &str) -> Result<String, ParseError> {
    let text = raw.trim();
    if let Some((id, label)) = text
        .strip_prefix("<#")
        .and_then(|t| t.strip_suffix('>'))
        .and_then(|t| t.split_once('|'))
    {
        let id_ok = (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric());
        let label_ok = label.chars().count() <= 80
            && label
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
        return if id_ok && label_ok {
            Ok(text.to_string())
        } else {
            Err(problem(ValueProblem::Channel(text.to_string())))
        };
    }
    let name = text.strip_prefix('#').unwrap_or(text);
    let ok = (1..=100).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '<' | '>' | '#'));
    if ok {
        Ok(name.to_string())
    } else {
        Err(problem(ValueProblem::Channel(text.to_string())))
    }
}

pub fn parse_time(raw: &str) -> Result<NaiveTime, ParseError> {
    parse_time_of_day(raw).ok_or_else(|| problem(ValueProblem::Time(raw.trim().to_string())))
}

pub fn parse_timezone(raw: &str) -> Result<Tz, ParseError> {
    parse_zone(raw).ok_or_else(|| {
        let hint = closest(raw.trim(), chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()))
            .map(|s| format!(". Did you mean {s}?"))
            .unwrap_or_default();
        problem(ValueProblem::Timezone {
            text: raw.trim().to_string(),
            hint,
        })
    })
}

pub fn parse_yes_no(raw: &str) -> Result<bool, ParseError> {
    match raw.trim().to_lowercase().as_str() {
        "yes" | "y" | "true" | "on" => Ok(true),
        "no" | "n" | "false" | "off" => Ok(false),
        _ => Err(problem(ValueProblem::YesNo(raw.trim().to_string()))),
    }
}

/// A month by number (`4`) or English name (`april`, `Apr`).
pub fn parse_month(raw: &str) -> Result<chrono::Month, ParseError> {
    let text = raw.trim();
    let by_number = text
        .parse::<u8>()
        .ok()
        .and_then(|n| chrono::Month::try_from(n).ok());
    by_number
        .or_else(|| text.parse::<chrono::Month>().ok())
        .ok_or_else(|| problem(ValueProblem::Month(text.to_string())))
}

pub fn parse_days(raw: &str) -> Result<u32, ParseError> {
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=crate::service::MAX_SNOOZE_DAYS).contains(d))
        .ok_or_else(|| problem(ValueProblem::Days(raw.trim().to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_times_zones_flags_and_days_parse_as_people_type_them() {
        assert_eq!(parse_channel("#sales-managers").unwrap(), "sales-managers");
        assert_eq!(parse_channel("<#1234567890>").unwrap(), "<#1234567890>");
        assert_eq!(
            parse_channel("<#C024BE7LR|sales>").unwrap(),
            "<#C024BE7LR|sales>"
        );
        assert!(parse_channel("<#C024BE7LR|two words>").is_err());
        assert!(parse_channel("two words").is_err());
        assert_eq!(
            parse_time("8:30").unwrap().format("%H:%M").to_string(),
            "08:30"
        );
        assert_eq!(
            parse_timezone("europe/berlin").unwrap(),
            chrono_tz::Europe::Berlin
        );
        assert!(parse_yes_no("Yes").unwrap());
        assert!(!parse_yes_no("off").unwrap());
        assert_eq!(parse_days("7").unwrap(), 7);
        for bad in ["0", "91", "-1", "a week"] {
            assert!(parse_days(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_misspelt_zone_is_refused_with_the_nearest_real_one() {
        let text = parse_timezone("Europe/Berln").unwrap_err().to_string();
        assert!(text.contains("Did you mean Europe/Berlin?"), "{text}");
        assert!(
            parse_timezone("Mars/Olympus")
                .unwrap_err()
                .to_string()
                .contains("IANA")
        );
    }
}
