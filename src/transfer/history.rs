//! Reading dealgate's own activities and stage-history exports, which go with its deals export
//! (`dealgate import activities|history`). Read like deals: a row at a time, each a value, a
//! refused row or the error that stops the reading; every cell restored from the export's
//! formula guard.
//!
//! ```text
//! deal,activity,stage,member,member_key,note,at
//! deal-42,discovery-call,qualification,Alice Adams,U123,Met the CFO,2026-03-02T10:00:00Z
//! → SourceActivity { line: 2, deal: "deal-42", member: "U123", note: Some("Met the CFO"), .. }
//! ```

use std::path::Path;

use super::headers::Columns;
use super::read::{DateOrder, FileError, Named, cell, required};
use super::stream::{Row, Rows};
use super::values;
// The columns are the ones `dealgate export` writes.
use super::write::{ACTIVITY_COLUMNS, HISTORY_COLUMNS};
use crate::service::transfer::{RowProblem, SourceActivity, SourceChange};

/// dealgate's activities export being read.
pub struct ActivityFile {
    rows: Rows,
    columns: Vec<Named>,
}

/// dealgate's stage-history export being read.
pub struct HistoryFile {
    rows: Rows,
    columns: Vec<Named>,
}

impl ActivityFile {
    /// Opens `path` and checks its header is dealgate's activities export.
    pub fn open(path: &Path) -> Result<ActivityFile, FileError> {
        let (rows, columns) = open_own(path, "activities", &ACTIVITY_COLUMNS)?;
        Ok(Self { rows, columns })
    }

    pub fn bytes_read(&self) -> u64 {
        self.rows.bytes_read()
    }

    fn activity(&self, row: &Row) -> Result<SourceActivity, String> {
        let c = &self.columns;
        Ok(SourceActivity {
            line: row.line,
            deal: required(row, &c[0])?,
            activity: required(row, &c[1])?,
            stage: required(row, &c[2])?,
            member: person(row, &c[4], &c[3])?,
            note: optional(row, &c[5]),
            at: at(row, &c[6])?,
        })
    }
}

impl HistoryFile {
    /// Opens `path` and checks its header is dealgate's stage-history export.
    pub fn open(path: &Path) -> Result<HistoryFile, FileError> {
        let (rows, columns) = open_own(path, "history", &HISTORY_COLUMNS)?;
        Ok(Self { rows, columns })
    }

    pub fn bytes_read(&self) -> u64 {
        self.rows.bytes_read()
    }

    fn change(&self, row: &Row) -> Result<SourceChange, String> {
        let c = &self.columns;
        Ok(SourceChange {
            line: row.line,
            deal: required(row, &c[0])?,
            from_stage: optional(row, &c[1]),
            to_stage: required(row, &c[2])?,
            kind: required(row, &c[3])?,
            actor: person(row, &c[5], &c[4])?,
            // The requirements a manager passed, one a line inside the cell.
            overridden: cell(row, c[7].0)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            reason: optional(row, &c[8]),
            at: at(row, &c[9])?,
        })
    }
}

impl Iterator for ActivityFile {
    type Item = Result<Result<SourceActivity, RowProblem>, FileError>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = self.rows.next()?;
        Some(row.map(|row| row.and_then(|row| refused(&row, self.activity(&row)))))
    }
}

impl Iterator for HistoryFile {
    type Item = Result<Result<SourceChange, RowProblem>, FileError>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = self.rows.next()?;
        Some(row.map(|row| row.and_then(|row| refused(&row, self.change(&row)))))
    }
}

fn refused<T>(row: &Row, result: Result<T, String>) -> Result<T, RowProblem> {
    result.map_err(|reason| RowProblem {
        line: row.line,
        reason,
    })
}

/// Opens one of dealgate's own exports and finds its columns, all of which it must have.
fn open_own(path: &Path, what: &str, names: &[&str]) -> Result<(Rows, Vec<Named>), FileError> {
    let rows = Rows::open(path)?.restoring();
    let header = Columns::new(rows.header());
    let columns: Vec<Option<Named>> = names
        .iter()
        .map(|n| header.find(n).map(|i| Named(i, (*n).to_string())))
        .collect();
    let missing: Vec<String> = names
        .iter()
        .zip(&columns)
        .filter(|(_, c)| c.is_none())
        .map(|(n, _)| format!("`{n}`"))
        .collect();
    if !missing.is_empty() {
        return Err(FileError::new(
            Some(1),
            format!(
                "this is not dealgate's {what} export: its header lacks {}. dealgate's {what} \
                 export starts {}; this header has: {}",
                missing.join(", "),
                names.join(","),
                header.listed()
            ),
        ));
    }
    Ok((rows, columns.into_iter().flatten().collect()))
}

fn optional(row: &Row, column: &Named) -> Option<String> {
    let text = cell(row, column.0).trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// A person as the export names them: their key when it has one, else their name.
fn person(row: &Row, key: &Named, name: &Named) -> Result<String, String> {
    optional(row, key)
        .or_else(|| optional(row, name))
        .ok_or_else(|| format!("the row has no {} and no {}", name.1, key.1))
}

fn at(row: &Row, column: &Named) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let text = required(row, column)?;
    values::timestamp(&text, DateOrder::MonthFirst).map_err(|why| format!("{} {why}", column.1))
}
