//! How old a signed request may be. Discord and Slack sign a timestamp with every request; a
//! request captured and sent again later still carries a valid signature, so the timestamp is
//! what makes a replay fail: older than five minutes, or more than a minute ahead of our
//! clock, and the request is refused (401) before any work. Interaction receipts are kept far
//! longer than this window (`service::RECEIPTS_KEPT`), so a replay that is still fresh is
//! answered from its receipt and never runs twice.

use chrono::{DateTime, TimeDelta, Utc};

/// How old a request may be (Slack's own advice, applied to Discord as well).
pub const MAX_AGE: TimeDelta = TimeDelta::minutes(5);

/// How far ahead of our clock a request may be (clocks drift a little either way).
pub const MAX_AHEAD: TimeDelta = TimeDelta::minutes(1);

/// Why a request's timestamp is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unfresh {
    #[error("the request timestamp is not a Unix time in seconds")]
    Unreadable,
    #[error("the request timestamp is more than five minutes old (a replay?)")]
    Stale,
    #[error("the request timestamp is more than a minute in the future")]
    Ahead,
}

/// Checks a request timestamp (Unix seconds, as both platforms send it) against `now`.
pub fn check(timestamp: &str, now: DateTime<Utc>) -> Result<(), Unfresh> {
    let seconds: i64 = timestamp.trim().parse().map_err(|_| Unfresh::Unreadable)?;
    let at = DateTime::from_timestamp(seconds, 0).ok_or(Unfresh::Unreadable)?;
    if at < now - MAX_AGE {
        Err(Unfresh::Stale)
    } else if at > now + MAX_AHEAD {
        Err(Unfresh::Ahead)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn five_minutes_back_and_one_minute_ahead_are_accepted_and_no_more() {
        let now = at(1_800_000_000);
        assert_eq!(check("1800000000", now), Ok(()));
        assert_eq!(check("1799999700", now), Ok(()));
        assert_eq!(check("1799999699", now), Err(Unfresh::Stale));
        assert_eq!(check("1800000060", now), Ok(()));
        assert_eq!(check("1800000061", now), Err(Unfresh::Ahead));
        assert_eq!(check("978307200", now), Err(Unfresh::Stale), "2001");
    }

    #[test]
    fn a_timestamp_that_is_not_unix_seconds_is_refused() {
        let now = at(1_800_000_000);
        for bad in [
            "abc",
            "",
            "1.8e9",
            "-",
            "99999999999999999999",
            "1800000000000000",
        ] {
            assert_eq!(check(bad, now), Err(Unfresh::Unreadable), "{bad:?}");
        }
    }
}
