//! When a daily job is due, in the workspace's own time zone.
//!
//! A job set for 08:30 in `Europe/Berlin` is due on a working day from 08:30 local time until
//! the end of that local day; the scheduler then claims `(workspace, job, local date)` so it runs
//! once. A bot that was down at 08:30 still finds the job due when it starts later the same day,
//! and never finds yesterday's job due: only today's local date is ever returned.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;

/// A workspace's schedule: where and when the digest goes, and the coaching nudges.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub tenant_id: i64,
    pub digest_channel: Option<String>,
    pub digest: Daily,
    /// The month (1..=12) the fiscal year starts in.
    pub fiscal_start_month: u32,
    pub nudges_enabled: bool,
    pub nudges: Daily,
    pub nudges_to_reps: bool,
    pub nudge_repeat_days: u32,
    /// Days after a playbook version is applied before the nudges remind whoever has not
    /// acknowledged it.
    pub ack_remind_days: u32,
}

/// A daily schedule: local time of day, zone, and whether weekends are days off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Daily {
    pub at: NaiveTime,
    pub zone: Tz,
    pub weekdays_only: bool,
}

impl Daily {
    /// The local date whose run is due at `now`, if any.
    pub fn due(&self, now: DateTime<Utc>) -> Option<NaiveDate> {
        let local = now.with_timezone(&self.zone);
        let today = local.date_naive();
        // Comparing wall-clock times keeps 08:30 at 08:30 across DST changes; on the night the
        // clocks skip an hour, a time inside the gap is reached as soon as the clock passes it.
        (self.is_working_day(today) && local.time() >= self.at).then_some(today)
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !(self.weekdays_only && matches!(date.weekday(), Weekday::Sat | Weekday::Sun))
    }

    /// The local date at `now`.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.zone).date_naive()
    }
}

/// `08:30` or `8:30`, 24-hour.
pub fn parse_time_of_day(text: &str) -> Option<NaiveTime> {
    let (h, m) = text.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

/// An IANA zone name such as `Europe/Berlin`, in any case.
pub fn parse_zone(text: &str) -> Option<Tz> {
    let text = text.trim();
    text.parse::<Tz>().ok().or_else(|| {
        chrono_tz::TZ_VARIANTS
            .iter()
            .find(|z| z.name().eq_ignore_ascii_case(text))
            .copied()
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn berlin(weekdays_only: bool) -> Daily {
        Daily {
            at: NaiveTime::from_hms_opt(8, 30, 0).unwrap(),
            zone: chrono_tz::Europe::Berlin,
            weekdays_only,
        }
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn due_from_the_local_time_until_the_local_day_ends() {
        let s = berlin(true);
        let monday = NaiveDate::from_ymd_opt(2026, 10, 19).unwrap();
        // Summer time: 08:30 in Berlin is 06:30 UTC.
        assert_eq!(s.due(utc(2026, 10, 19, 6, 29)), None);
        assert_eq!(s.due(utc(2026, 10, 19, 6, 30)), Some(monday));
        assert_eq!(s.due(utc(2026, 10, 19, 21, 59)), Some(monday));
        // 00:00 Tuesday in Berlin: a new day, not yet due.
        assert_eq!(s.due(utc(2026, 10, 19, 22, 0)), None);
    }

    #[test]
    fn after_the_clocks_go_back_the_same_local_time_is_an_hour_later_in_utc() {
        let s = berlin(true);
        // Sunday 25 October 2026 ends summer time; Monday 08:30 is 07:30 UTC.
        assert_eq!(s.due(utc(2026, 10, 26, 6, 30)), None);
        assert_eq!(
            s.due(utc(2026, 10, 26, 7, 30)),
            NaiveDate::from_ymd_opt(2026, 10, 26)
        );
    }

    #[test]
    fn weekends_are_days_off_unless_every_day_is_a_working_day() {
        let saturday = utc(2026, 10, 24, 12, 0);
        assert_eq!(berlin(true).due(saturday), None);
        assert_eq!(
            berlin(false).due(saturday),
            NaiveDate::from_ymd_opt(2026, 10, 24)
        );
    }

    #[test]
    fn times_and_zones_parse_as_people_write_them() {
        assert_eq!(parse_time_of_day("8:30"), NaiveTime::from_hms_opt(8, 30, 0));
        assert_eq!(
            parse_time_of_day("17:05"),
            NaiveTime::from_hms_opt(17, 5, 0)
        );
        for bad in ["24:00", "8.30", "830", "08:3", "", "ab:cd"] {
            assert_eq!(parse_time_of_day(bad), None, "{bad}");
        }
        assert_eq!(parse_zone("europe/berlin"), Some(chrono_tz::Europe::Berlin));
        assert_eq!(
            parse_zone("America/New_York"),
            Some(chrono_tz::America::New_York)
        );
        assert_eq!(parse_zone("Mars/Olympus"), None);
    }
}
