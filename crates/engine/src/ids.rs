//! Identifiers and values parsed at the edge: deal numbers, money, probabilities and the slugs
//! that name stages, activities and fields. Each has a private field and is built only through
//! `FromStr`/`parse`, so a value inside the crate is always valid, and `Display` round-trips.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Why a value typed by a person could not be accepted; the message says what would be right.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueError {
    #[error("`{0}` is not a deal; name a deal as `deal-42`, `42` or `#42`")]
    DealNumber(String),
    #[error(
        "`{0}` is not an amount; write a positive number such as `12500`, `12,500.50` or `12.5k`"
    )]
    Money(String),
    #[error("`{0}` is too large for an amount; the most a deal can be worth is 10,000,000,000")]
    MoneyTooLarge(String),
    #[error("amounts cannot be negative (got `{0}`)")]
    MoneyNegative(String),
    #[error("`{0}` is no amount for a deal; write a positive number such as `12500` or `12.5k`")]
    MoneyZero(String),
    #[error(
        "`{0}` is not an amount: thousands separators go every three digits, as in `1,234,567`"
    )]
    MoneyGrouping(String),
    #[error(
        "`{amount}` is finer than {currency} allows: {currency} amounts are whole numbers, such as `{}`",
        amount.split('.').next().unwrap_or(amount)
    )]
    MoneyFinerThanCurrency { amount: String, currency: String },
    #[error("`{0}` is not a probability; use a whole percent from 0 to 100")]
    Probability(String),
    #[error(
        "`{0}` is not a valid id; use 1 to 64 lowercase letters, digits, `-` or `_`, starting with a letter or digit"
    )]
    Slug(String),
}

/// A deal's per-workspace number, shown as `deal-42`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DealNumber(u32);

impl DealNumber {
    /// Builds a number from a value already known to be valid (a database row).
    pub fn new(n: u32) -> Option<Self> {
        (n > 0).then_some(Self(n))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for DealNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "deal-{}", self.0)
    }
}

impl FromStr for DealNumber {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let lower = t.to_ascii_lowercase();
        let digits = lower
            .strip_prefix("deal-")
            .or_else(|| lower.strip_prefix('#'))
            .unwrap_or(&lower);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::DealNumber(t.to_string()));
        }
        digits
            .parse::<u32>()
            .ok()
            .and_then(Self::new)
            .ok_or_else(|| ValueError::DealNumber(t.to_string()))
    }
}

/// An amount of money in minor units (cents) of the playbook's currency. Never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    /// The largest amount accepted: ten billion in major units. Anything above is a typo.
    pub const MAX_MINOR: i64 = 10_000_000_000 * 100;

    pub fn from_minor(minor: i64) -> Option<Self> {
        (0..=Self::MAX_MINOR)
            .contains(&minor)
            .then_some(Self(minor))
    }

    pub fn from_major(major: i64) -> Option<Self> {
        major.checked_mul(100).and_then(Self::from_minor)
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    /// `12,500` or `12,500.50`, without currency.
    pub fn grouped(self) -> String {
        format_minor(i128::from(self.0))
    }
}

/// Formats a (possibly huge, possibly negative) amount in minor units with thousands separators,
/// dropping `.00`. Shared by money and forecast totals so every figure reads the same.
pub fn format_minor(minor: i128) -> String {
    let neg = minor < 0;
    let abs = minor.unsigned_abs();
    let major = abs / 100;
    let cents = abs % 100;
    let digits = major.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 4);
    if neg {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if cents != 0 {
        out.push_str(&format!(".{cents:02}"));
    }
    out
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

impl FromStr for Money {
    type Err = ValueError;

    /// Accepts `12500`, `12,500`, `12500.5`, `12,500.50`, `12.5k`, `1.2m`, with an optional
    /// leading currency symbol `$ € £`. Thousands separators (`,` or `_`, one kind) must fall
    /// every three digits; zero is refused, since no deal is worth nothing. Whether the amount
    /// suits the workspace's currency is `currency::check`'s business.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let original = s.trim();
        let bad = || ValueError::Money(original.to_string());
        let mut t = original.trim_start_matches(['$', '€', '£']).trim();
        if t.starts_with('-') {
            return Err(ValueError::MoneyNegative(original.to_string()));
        }
        let multiplier: i128 = match t.chars().last().map(|c| c.to_ascii_lowercase()) {
            Some('k') => 1_000,
            Some('m') => 1_000_000,
            _ => 1,
        };
        if multiplier > 1 {
            t = &t[..t.len() - 1];
        }
        let t = ungrouped(t).ok_or_else(|| ValueError::MoneyGrouping(original.to_string()))?;
        let (whole, frac) = match t.split_once('.') {
            Some((w, f)) => (w, f),
            None => (t.as_str(), ""),
        };
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        // Work in millionths so `1.234567m` and `12.50` are both exact before rounding to cents.
        if whole.len() > 15 || frac.len() > 6 {
            return Err(if whole.len() > 15 {
                ValueError::MoneyTooLarge(original.to_string())
            } else {
                bad()
            });
        }
        let whole_v: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        let frac_v: i128 = if frac.is_empty() {
            0
        } else {
            let padded = format!("{frac:0<6}");
            padded.parse().map_err(|_| bad())?
        };
        let micro = (whole_v * 1_000_000 + frac_v) * multiplier;
        if micro % 10_000 != 0 {
            // Fractions of a cent are a typo, not something to round away silently.
            return Err(bad());
        }
        let minor = micro / 10_000;
        if minor > i128::from(Self::MAX_MINOR) {
            return Err(ValueError::MoneyTooLarge(original.to_string()));
        }
        if minor == 0 {
            return Err(ValueError::MoneyZero(original.to_string()));
        }
        Ok(Self(minor as i64))
    }
}

/// The digits of an amount without its thousands separators, or `None` when they are not
/// where they belong: `12,345.5` → `12345.5`; `12,34,5`, `1,23`, `,123` and `1,234_567` → `None`.
/// Text without separators passes through for the caller to judge.
fn ungrouped(t: &str) -> Option<String> {
    let separators: Vec<char> = t.chars().filter(|c| matches!(c, ',' | '_')).collect();
    let Some(&sep) = separators.first() else {
        return Some(t.to_string());
    };
    if separators.iter().any(|c| *c != sep) {
        return None;
    }
    let whole = t.split('.').next().unwrap_or(t);
    if t[whole.len()..].contains(sep) {
        return None;
    }
    let mut groups = whole.split(sep);
    let first = groups.next()?;
    let first_ok = (1..=3).contains(&first.len());
    let rest_ok = groups.all(|g| g.len() == 3);
    (first_ok && rest_ok).then(|| t.chars().filter(|c| *c != sep).collect())
}

/// A probability of close, in whole percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Probability(u8);

impl Probability {
    pub fn new(percent: i64) -> Option<Self> {
        (0..=100).contains(&percent).then_some(Self(percent as u8))
    }

    pub fn percent(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Probability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

impl FromStr for Probability {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().trim_end_matches('%');
        t.parse::<i64>()
            .ok()
            .and_then(Self::new)
            .ok_or_else(|| ValueError::Probability(s.trim().to_string()))
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = ValueError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim();
                if is_slug(t) {
                    Ok(Self(t.to_string()))
                } else {
                    Err(ValueError::Slug(t.to_string()))
                }
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

slug_id!(
    /// The id of a stage in the playbook, e.g. `qualify`.
    StageId
);
slug_id!(
    /// The id of a recommended activity, e.g. `discovery-call`.
    ActivityId
);
slug_id!(
    /// The name of a deal field: a built-in one (`amount`, `close_date`, `name`) or a custom one
    /// declared by the playbook (`champion`).
    FieldName
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deal_numbers_parse_in_all_three_spellings_and_display_canonically() {
        for s in ["deal-42", "42", "#42", "DEAL-42", " deal-42 "] {
            assert_eq!(s.parse::<DealNumber>().unwrap().to_string(), "deal-42");
        }
        for s in [
            "deal-",
            "deal-0",
            "0",
            "-3",
            "deal-4x",
            "",
            "#",
            "99999999999",
        ] {
            assert!(s.parse::<DealNumber>().is_err(), "{s} should be refused");
        }
    }

    #[test]
    fn money_accepts_the_usual_ways_of_writing_an_amount() {
        let cases = [
            ("12500", 1_250_000),
            ("12,500", 1_250_000),
            ("12500.5", 1_250_050),
            ("$12,500.50", 1_250_050),
            ("12.5k", 1_250_000),
            ("1.2m", 120_000_000),
            ("1,234,567", 123_456_700),
            ("1_234", 123_400),
            ("1,200k", 120_000_000),
            (".5", 50),
        ];
        for (text, minor) in cases {
            assert_eq!(text.parse::<Money>().unwrap().minor(), minor, "{text}");
        }
    }

    #[test]
    fn money_refuses_negative_garbage_fractions_of_cents_and_absurd_sizes() {
        assert!(matches!(
            "-5".parse::<Money>(),
            Err(ValueError::MoneyNegative(_))
        ));
        assert!(matches!("lots".parse::<Money>(), Err(ValueError::Money(_))));
        assert!(matches!(
            "1.005".parse::<Money>(),
            Err(ValueError::Money(_))
        ));
        assert!(matches!("".parse::<Money>(), Err(ValueError::Money(_))));
        for zero in ["0", "0.00", "$0", "0k"] {
            assert!(
                matches!(zero.parse::<Money>(), Err(ValueError::MoneyZero(_))),
                "{zero}"
            );
        }
        for sloppy in [
            "12,34,5",
            "1,23",
            ",123",
            "1234,567",
            "1,234_567",
            "1.234,5",
            "12,",
        ] {
            assert!(
                matches!(sloppy.parse::<Money>(), Err(ValueError::MoneyGrouping(_))),
                "{sloppy}"
            );
        }
        assert!(matches!(
            "10000000001".parse::<Money>(),
            Err(ValueError::MoneyTooLarge(_))
        ));
        assert!(matches!(
            "99999999999999999999".parse::<Money>(),
            Err(ValueError::MoneyTooLarge(_))
        ));
    }

    #[test]
    fn money_display_round_trips() {
        for minor in [5, 100, 1_250_050, 12_345_678_900, Money::MAX_MINOR] {
            let m = Money::from_minor(minor).unwrap();
            assert_eq!(m.to_string().parse::<Money>().unwrap(), m);
        }
        assert_eq!(
            Money::from_minor(1_250_050).unwrap().to_string(),
            "12,500.50"
        );
        assert_eq!(format_minor(-123_456_700), "-1,234,567");
    }

    #[test]
    fn slugs_are_lowercase_words_with_dashes() {
        assert!("discovery-call".parse::<ActivityId>().is_ok());
        assert!("Discovery".parse::<ActivityId>().is_err());
        assert!("-x".parse::<StageId>().is_err());
        assert!("a b".parse::<FieldName>().is_err());
        assert_eq!(
            "closed-won".parse::<StageId>().unwrap().to_string(),
            "closed-won"
        );
    }

    #[test]
    fn probabilities_are_whole_percents() {
        assert_eq!("40".parse::<Probability>().unwrap().percent(), 40);
        assert_eq!("40%".parse::<Probability>().unwrap().to_string(), "40%");
        assert!("101".parse::<Probability>().is_err());
        assert!("-1".parse::<Probability>().is_err());
    }
}
