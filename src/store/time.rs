//! Text forms of time in the database: UTC timestamps that sort as text, and ISO dates.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use super::StoreError;

/// `2026-11-26T08:30:00.000000Z`: fixed width, so text order is time order.
pub fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn parse_ts(table: &'static str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            table,
            detail: format!("timestamp `{text}`: {e}"),
        })
}

pub fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub fn parse_date(table: &'static str, text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| StoreError::Corrupt {
        table,
        detail: format!("date `{text}`: {e}"),
    })
}
