//! Cell values as the exports write them: dates in US, day-first or ISO order, timestamps with
//! or without a time zone, amounts with grouping and a currency, yes/no flags. Each parser says
//! in its error what the cell was and what would have been read.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::read::{DateOrder, shown};
use crate::engine::deal::DealStatus;
use crate::engine::ids::Money;

/// A date: `2026-03-31`, or `3/31/2026` (`31/03/2026` with `DateOrder::DayFirst`); a time after
/// the date (`2026-03-31 00:00`, `2026-03-31T00:00:00Z`) is ignored.
pub fn date(text: &str, order: DateOrder) -> Result<NaiveDate, String> {
    let t = text.trim();
    let day = t.split([' ', 'T']).next().unwrap_or(t);
    parse_day(day, order).ok_or_else(|| date_error(t, order))
}

/// A moment: RFC 3339 (`2026-01-15T10:20:30.000Z`, `+0000` offsets too), a date and time
/// without a zone (`2026-03-31 14:22`, `1/15/2026 10:20 AM`, read as UTC), or a date alone
/// (midnight UTC).
pub fn timestamp(text: &str, order: DateOrder) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(at.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(at) = DateTime::parse_from_str(t, format) {
            return Ok(at.with_timezone(&Utc));
        }
    }
    let (day, time) = match t.split_once([' ', 'T']) {
        Some((day, time)) => (day, Some(time.trim().trim_end_matches('Z'))),
        None => (t, None),
    };
    let day = parse_day(day, order).ok_or_else(|| date_error(t, order))?;
    let Some(time) = time else {
        return Ok(day.and_time(NaiveTime::MIN).and_utc());
    };
    ["%H:%M:%S%.f", "%H:%M", "%I:%M %p", "%I:%M:%S %p"]
        .iter()
        .find_map(|format| NaiveTime::parse_from_str(time, format).ok())
        .map(|time| NaiveDateTime::new(day, time).and_utc())
        .ok_or_else(|| {
            format!(
                "`{}` is not a date and time; write it as 2026-03-31 14:22 or 2026-03-31T14:22:00Z",
                shown(t)
            )
        })
}

fn parse_day(day: &str, order: DateOrder) -> Option<NaiveDate> {
    if day.contains('/') {
        let parts: Vec<&str> = day.split('/').collect();
        let [a, b, year] = parts.as_slice() else {
            return None;
        };
        if year.len() != 4 {
            return None;
        }
        let (month, dom) = match order {
            DateOrder::MonthFirst => (a, b),
            DateOrder::DayFirst => (b, a),
        };
        NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, dom.parse().ok()?)
    } else {
        NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
    }
}

fn date_error(text: &str, order: DateOrder) -> String {
    let hint = match (text.contains('/'), order) {
        (true, DateOrder::MonthFirst) => {
            "; it was read month first, as in 3/31/2026 — if the file writes the day first \
             (31/03/2026), import it with --day-first"
        }
        (true, DateOrder::DayFirst) => {
            "; it was read day first (--day-first), as in 31/03/2026 — if the file writes the \
             month first (3/31/2026), import it without --day-first"
        }
        (false, _) => "; write it as 2026-03-31 or 3/31/2026",
    };
    format!("`{}` is not a date{hint}", shown(text))
}

/// An amount in the major unit (`12500`, `12,500.00`, `$12,500.00`, `USD 12,500.00`), as
/// hundredths whatever the currency (so `12500` yen is 1,250,000 hundredths), and the currency
/// code written with it. Blank is zero. `.` is the decimal point and `,` groups thousands: a
/// locale that writes `1.000,00` is refused rather than read a thousand times wrong.
pub fn amount(text: &str) -> Result<(Money, Option<String>), String> {
    let original = text.trim();
    let (number, code) = strip_currency(original);
    if number.is_empty() {
        return if original.is_empty() {
            Ok((Money::default(), None))
        } else {
            Err(format!(
                "the amount `{}` has no number; write it as 12500 or 12,500.00",
                shown(original)
            ))
        };
    }
    let not_a_number = || {
        format!(
            "the amount `{}` is not a number; write it as 12500 or 12,500.00",
            shown(original)
        )
    };
    // A minus sign has no other use in an amount, wherever it stands (`-$5`, `$-5`, `5-`).
    if original.contains('-') || number.starts_with('(') && number.ends_with(')') {
        return Err(format!(
            "the amount `{}` is negative; a deal is worth 0 or more",
            shown(original)
        ));
    }
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if frac.contains(',') || comma_decimals(whole) && frac.is_empty() {
        return Err(format!(
            "the amount `{}` has a comma for its decimal point; dealgate reads `.` decimals and \
             `,` thousands (12,500.00) — export with an English (US) number format",
            shown(original)
        ));
    }
    let digits = ungroup(whole).ok_or_else(|| {
        format!(
            "the amount `{}` has misplaced thousands separators; they go every three digits, \
             as in 12,500.00",
            shown(original)
        )
    })?;
    if digits.is_empty() && frac.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(not_a_number());
    }
    let cents_text = frac.trim_end_matches('0');
    if cents_text.len() > 2 {
        return Err(format!(
            "the amount `{}` is finer than hundredths; round it to two decimals",
            shown(original)
        ));
    }
    let too_large = || {
        format!(
            "the amount `{}` is more than {}, the most a deal can be worth",
            shown(original),
            Money::from_minor(Money::MAX_MINOR).unwrap_or_default()
        )
    };
    let whole: i128 = if digits.is_empty() {
        0
    } else if digits.len() > 20 {
        return Err(too_large());
    } else {
        digits.parse().map_err(|_| not_a_number())?
    };
    let cents: i128 = format!("{cents_text:0<2}")
        .parse()
        .map_err(|_| not_a_number())?;
    let minor = whole * 100 + cents;
    let money = i64::try_from(minor)
        .ok()
        .and_then(Money::from_minor)
        .ok_or_else(too_large)?;
    Ok((money, code))
}

/// The number and the currency written before or after it: a symbol (`$`, `€`, `£`, `¥`) or
/// an ISO code (`USD 12,500.00`, `12,500.00 EUR`).
fn strip_currency(text: &str) -> (&str, Option<String>) {
    if let Some((code, rest)) = text.split_once(' ')
        && is_code(code)
    {
        return (rest.trim(), Some(code.to_string()));
    }
    if let Some((rest, code)) = text.rsplit_once(' ')
        && is_code(code)
    {
        return (rest.trim(), Some(code.to_string()));
    }
    (text.trim_start_matches(['$', '€', '£', '¥']).trim(), None)
}

fn is_code(text: &str) -> bool {
    text.len() == 3 && text.bytes().all(|b| b.is_ascii_uppercase())
}

/// `1,5` or `12,50`: a comma followed by fewer than three digits at the end reads as decimals.
fn comma_decimals(whole: &str) -> bool {
    whole
        .rsplit_once(',')
        .is_some_and(|(_, tail)| !tail.is_empty() && tail.len() < 3)
}

/// The digits without `,` grouping, or `None` when a group is not three digits.
fn ungroup(whole: &str) -> Option<String> {
    if !whole.contains(',') {
        return Some(whole.to_string());
    }
    let mut groups = whole.split(',');
    let first = groups.next()?;
    if first.is_empty() || first.len() > 3 {
        return None;
    }
    let mut out = first.to_string();
    for group in groups {
        if group.len() != 3 {
            return None;
        }
        out.push_str(group);
    }
    Some(out)
}

/// A yes/no flag: `true`/`false`, `1`/`0`, `yes`/`no`, case ignored; blank is unknown.
pub fn flag(text: &str, column: &str) -> Result<Option<bool>, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" | "1" | "yes" => Ok(Some(true)),
        "false" | "0" | "no" => Ok(Some(false)),
        _ => Err(format!(
            "`{column}` is `{}`; write true or false",
            shown(text.trim())
        )),
    }
}

/// Open, won or lost from a source's closed and won flags; `None` when they do not say (the
/// stage decides then).
pub fn status(closed: Option<bool>, won: Option<bool>) -> Result<Option<DealStatus>, String> {
    Ok(match (closed, won) {
        (Some(false), Some(true)) => {
            return Err("the row says the deal is won but not closed; a won deal is closed".into());
        }
        (Some(false), _) => Some(DealStatus::Open),
        (Some(true), Some(true)) | (None, Some(true)) => Some(DealStatus::Won),
        (Some(true), Some(false)) => Some(DealStatus::Lost),
        (Some(true), None) | (None, Some(false) | None) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn minor(text: &str) -> i64 {
        amount(text).unwrap().0.minor()
    }

    #[test]
    fn dates_are_read_in_the_order_asked_for() {
        assert_eq!(
            date("3/31/2026", DateOrder::MonthFirst),
            Ok(day(2026, 3, 31))
        );
        assert_eq!(
            date("31/03/2026", DateOrder::DayFirst),
            Ok(day(2026, 3, 31))
        );
        assert_eq!(
            date("2026-03-31", DateOrder::DayFirst),
            Ok(day(2026, 3, 31))
        );
        assert_eq!(
            date("2026-03-31 00:00", DateOrder::MonthFirst),
            Ok(day(2026, 3, 31))
        );
    }

    #[test]
    fn a_slashed_date_that_does_not_parse_mentions_day_first() {
        let why = date("31/03/2026", DateOrder::MonthFirst).unwrap_err();
        assert!(
            why.contains("month first") && why.contains("--day-first"),
            "{why}"
        );
        let why = date("31/31/2026", DateOrder::DayFirst).unwrap_err();
        assert!(why.contains("day first"), "{why}");
        let why = date("soon", DateOrder::MonthFirst).unwrap_err();
        assert!(!why.contains("--day-first"), "{why}");
    }

    #[test]
    fn timestamps_take_every_shape_the_exports_write() {
        let at = |text| timestamp(text, DateOrder::MonthFirst).unwrap().to_rfc3339();
        assert_eq!(at("2026-01-15T10:20:30.000Z"), "2026-01-15T10:20:30+00:00");
        assert_eq!(
            at("2026-01-15T10:20:30.000+0000"),
            "2026-01-15T10:20:30+00:00"
        );
        assert_eq!(at("2026-01-15T12:20:30+02:00"), "2026-01-15T10:20:30+00:00");
        assert_eq!(at("2026-01-15"), "2026-01-15T00:00:00+00:00");
        assert_eq!(at("2026-02-03 14:22"), "2026-02-03T14:22:00+00:00");
        assert_eq!(at("2026-02-03 14:22:05"), "2026-02-03T14:22:05+00:00");
        assert_eq!(at("1/15/2026 10:20 AM"), "2026-01-15T10:20:00+00:00");
        assert_eq!(at("1/15/2026 1:05 PM"), "2026-01-15T13:05:00+00:00");
        assert_eq!(at("1/15/2026"), "2026-01-15T00:00:00+00:00");
        assert!(timestamp("2026-01-15 noon", DateOrder::MonthFirst).is_err());
    }

    #[test]
    fn amounts_are_hundredths_with_grouping_and_currency() {
        assert_eq!(minor("12500.0"), 1_250_000);
        assert_eq!(minor("12,500.00"), 1_250_000);
        assert_eq!(minor("$12,500.50"), 1_250_050);
        assert_eq!(minor(""), 0);
        assert_eq!(minor("0"), 0);
        assert_eq!(minor(".5"), 50);
        assert_eq!(minor("1,234,567"), 123_456_700);
        assert_eq!(amount("USD 12,500.00").unwrap().1.as_deref(), Some("USD"));
        assert_eq!(
            amount("12500 JPY").unwrap(),
            (Money::from_minor(1_250_000).unwrap(), Some("JPY".into()))
        );
    }

    #[test]
    fn amounts_that_cannot_be_read_say_why() {
        for (text, word) in [
            ("abc", "not a number"),
            ("-5.00", "negative"),
            ("$-5.00", "negative"),
            ("-$5.00", "negative"),
            ("(5.00)", "negative"),
            ("1.005", "finer than hundredths"),
            ("EUR 1.000,00", "comma for its decimal point"),
            ("12,5", "comma for its decimal point"),
            ("1,2345", "thousands separators"),
            ("10000000000.01", "the most a deal can be worth"),
            ("99999999999999999999999", "the most a deal can be worth"),
            ("1.25E+4", "not a number"),
        ] {
            let why = amount(text).unwrap_err();
            assert!(why.contains(word), "{text}: {why}");
        }
        assert_eq!(minor("10000000000"), Money::MAX_MINOR);
        assert_eq!(minor("1.500"), 150);
    }

    #[test]
    fn flags_decide_the_status_when_they_say_it() {
        assert_eq!(status(Some(false), None), Ok(Some(DealStatus::Open)));
        assert_eq!(status(Some(true), Some(true)), Ok(Some(DealStatus::Won)));
        assert_eq!(status(Some(true), Some(false)), Ok(Some(DealStatus::Lost)));
        assert_eq!(status(None, Some(true)), Ok(Some(DealStatus::Won)));
        assert_eq!(status(None, None), Ok(None));
        assert!(status(Some(false), Some(true)).is_err());
        assert_eq!(flag(" TRUE ", "IsWon"), Ok(Some(true)));
        assert_eq!(flag("0", "IsWon"), Ok(Some(false)));
        assert!(
            flag("maybe", "IsWon")
                .unwrap_err()
                .contains("`IsWon` is `maybe`")
        );
    }
}
