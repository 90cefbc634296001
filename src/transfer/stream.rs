//! The rows of a CSV file, one at a time, with the guards every import file needs: a row is at
//! most 1 MiB and 1,000 cells, a quote left open is named, cells are decoded as UTF-8 one by one
//! (so one Latin-1 row is refused and the rest read), and a report's footer is recognised.
//!
//! The `csv` crate does the parsing. Three things it cannot do are done here:
//!
//! - **Bounded reads.** `csv` grows a record until its terminator, so a 50 MB file that is one
//!   unterminated quote would be read whole into memory. `Limited` sits between the file and
//!   `csv` and fails a read once the record being read passes 1 MiB.
//! - **Line numbers.** `csv`'s `Position::line` is the line after the previous record: one too
//!   few after a CRLF (the `\n` is consumed with the next record) and wrong after skipped blank
//!   lines. The start line is computed backward from the record's end instead (see `Rows::line`).
//! - **A quote never closed.** `csv` ends a quoted field at the end of the file without a word;
//!   `Limited` follows the quoting of every byte it hands over, so at the end it knows.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use csv::{ByteRecord, ReaderBuilder, Terminator};

use super::read::FileError;
use crate::service::transfer::RowProblem;

/// The longest row read: no export has a row this long, and a file that does is broken.
pub const MAX_ROW_BYTES: u64 = 1024 * 1024;
/// The most columns a header or row may have; Salesforce's widest objects have a few hundred.
pub const MAX_COLUMNS: usize = 1_000;
/// How much `csv` reads from the file at once.
const BUFFER: usize = 64 * 1024;

/// A row of cells, decoded, and the line it starts on (the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub cells: Vec<String>,
}

/// What reading the next row gave: a row, a row refused in words, or the end of reading.
pub type RowResult = Result<Result<Row, RowProblem>, FileError>;

/// The file's rows after its header.
pub struct Rows {
    reader: csv::Reader<Limited<File>>,
    header: Vec<String>,
    record: ByteRecord,
    /// Bytes of a UTF-8 byte order mark skipped before `csv` saw the file.
    bom: u64,
    /// The last line of the previous record, to see blank lines `csv` skipped.
    last_line: u64,
    /// Where the footer began, once a blank or one-cell row has been seen.
    footer_from: Option<u64>,
    /// Whether each cell is passed through `cells::restore` (dealgate's own files).
    restore: bool,
    done: bool,
}

impl Rows {
    /// Opens `path` and reads its header row.
    pub fn open(path: &Path) -> Result<Self, FileError> {
        let cannot =
            |e: io::Error| FileError::new(None, format!("cannot read {}: {e}", path.display()));
        let mut file = File::open(path).map_err(cannot)?;
        let mut start = [0u8; 3];
        let got = read_up_to(&mut file, &mut start).map_err(cannot)?;
        let start = &start[..got];
        if start.starts_with(&[0xFF, 0xFE]) || start.starts_with(&[0xFE, 0xFF]) {
            return Err(FileError::new(
                None,
                "the file is UTF-16 text, and dealgate reads UTF-8; save it as \"CSV UTF-8 \
                 (Comma delimited)\" (Excel: File > Save As) and import that file"
                    .to_string(),
            ));
        }
        let bom = if start == [0xEF, 0xBB, 0xBF] { 3 } else { 0 };
        let limited = Limited::new(file, start[bom..].to_vec());
        let reader = ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            // Only `\n` ends a row, so every row's end says where its last line is (see
            // `line`); the `\r` of a CRLF is left on the last cell and taken off there.
            .terminator(Terminator::Any(b'\n'))
            .buffer_capacity(BUFFER)
            .from_reader(limited);
        let mut record = ByteRecord::new();
        let mut rows = Self {
            header: Vec::new(),
            bom: bom as u64,
            last_line: 0,
            footer_from: None,
            restore: false,
            done: false,
            record: ByteRecord::new(),
            reader,
        };
        let empty = || {
            FileError::new(
                None,
                "the file is empty: it has no header row; export it again, with its header"
                    .to_string(),
            )
        };
        if !rows.read_record(&mut record)? {
            return Err(empty());
        }
        let line = rows.finish_record(&record)?;
        if record.len() > MAX_COLUMNS {
            return Err(FileError::new(
                Some(line),
                format!(
                    "{} columns; an export has at most {MAX_COLUMNS}",
                    record.len()
                ),
            ));
        }
        let mut header = Vec::with_capacity(record.len());
        for (i, cell) in record.iter().enumerate() {
            let cell =
                std::str::from_utf8(last_trimmed(cell, i + 1 == record.len())).map_err(|e| {
                    FileError::new(
                        Some(line),
                        format!(
                            "the header is not UTF-8 text (byte 0x{:02X} in column {}); {CONVERT}",
                            cell[e.valid_up_to()],
                            i + 1
                        ),
                    )
                })?;
            header.push(cell.to_string());
        }
        if header.iter().all(|h| h.trim().is_empty()) {
            return Err(empty());
        }
        rows.header = header;
        Ok(rows)
    }

    /// Passes every cell through `cells::restore` from now on.
    pub fn restoring(mut self) -> Self {
        self.restore = true;
        self
    }

    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Bytes of the file read so far, for a progress bar against the file's size.
    pub fn bytes_read(&self) -> u64 {
        self.bom + self.reader.position().byte()
    }

    /// Reads one record, turning the row-length guard's error into words.
    fn read_record(&mut self, record: &mut ByteRecord) -> Result<bool, FileError> {
        match self.reader.read_byte_record(record) {
            Ok(more) => Ok(more),
            Err(e) => {
                let line = self.last_line + 1;
                let message = match e.kind() {
                    csv::ErrorKind::Io(io) if is_row_too_long(io) => format!(
                        "a row longer than {} MiB — is a quote never closed?",
                        MAX_ROW_BYTES / (1024 * 1024)
                    ),
                    csv::ErrorKind::Io(io) => format!("cannot read the file: {io}"),
                    _ => format!("cannot read the file: {e}"),
                };
                Err(FileError::new(Some(line), message))
            }
        }
    }

    /// Book-keeping after a record: its start line, the row guard moved on to the next record,
    /// and the check for a quote still open at the end of the file.
    fn finish_record(&mut self, record: &ByteRecord) -> Result<u64, FileError> {
        let end = self.reader.position().byte();
        let limited = self.reader.get_ref();
        let at_end = limited.eof && end == limited.delivered;
        let quote_open = at_end && limited.quote == Quote::Inside;
        // A last `\n` inside a quote never closed is the value's, not the row's end.
        let terminated = !at_end || limited.last == Some(b'\n') && !quote_open;
        let inner: u64 = record
            .iter()
            .map(|cell| cell.iter().filter(|&&b| b == b'\n').count() as u64)
            .sum();
        // `csv` counts every `\n` it consumed, this record's terminator and any inside quoted
        // cells among them; what is left is the line the record starts on.
        let end_line = self.reader.position().line();
        let line = end_line
            .saturating_sub(inner + u64::from(terminated))
            .max(1);
        self.last_line = line + inner;
        self.reader.get_mut().record_start = end;
        if quote_open {
            self.done = true;
            return Err(FileError::new(
                Some(line),
                "a quoted value is never closed; close it with `\"`, or write a quote inside \
                 a quoted value as `\"\"`"
                    .to_string(),
            ));
        }
        Ok(line)
    }

    fn next_row(&mut self) -> Option<RowResult> {
        let mut record = std::mem::take(&mut self.record);
        let result = self.next_row_in(&mut record);
        self.record = record;
        result
    }

    fn next_row_in(&mut self, record: &mut ByteRecord) -> Option<RowResult> {
        loop {
            let previous_last = self.last_line;
            match self.read_record(record) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
            let line = match self.finish_record(record) {
                Ok(line) => line,
                Err(e) => return Some(Err(e)),
            };
            let width = self.header.len();
            if record.len() > MAX_COLUMNS {
                return Some(Err(FileError::new(
                    Some(line),
                    format!(
                        "{} values; an export has at most {MAX_COLUMNS} columns",
                        record.len()
                    ),
                )));
            }
            let blank = (0..record.len()).all(|i| {
                last_trimmed(&record[i], i + 1 == record.len())
                    .trim_ascii()
                    .is_empty()
            });
            let full = record.len() == width && !blank;
            // A blank line, or a line of one cell under a wider header, is where a Salesforce
            // report's footer (title, copyright, "Generated By") begins.
            let skipped_blank = line > previous_last + 1;
            if let Some(from) = self.footer_from {
                if full {
                    return Some(Err(footer_error(line, from)));
                }
                continue;
            }
            if skipped_blank && full {
                let from = previous_last + 1;
                return Some(Err(footer_error(line, from)));
            }
            if blank || (record.len() == 1 && width > 1) {
                self.footer_from = Some(if skipped_blank {
                    previous_last + 1
                } else {
                    line
                });
                continue;
            }
            if record.len() != width {
                return Some(Ok(Err(RowProblem {
                    line,
                    reason: format!(
                        "{} values where the header has {width} columns",
                        record.len()
                    ),
                })));
            }
            return Some(Ok(self.decode(record, line)));
        }
    }

    /// The row's cells as text, or the first cell that is not UTF-8.
    fn decode(&self, record: &ByteRecord, line: u64) -> Result<Row, RowProblem> {
        let mut cells = Vec::with_capacity(record.len());
        for (i, cell) in record.iter().enumerate() {
            let bytes = last_trimmed(cell, i + 1 == record.len());
            let text = std::str::from_utf8(bytes).map_err(|e| RowProblem {
                line,
                reason: format!(
                    "not UTF-8 text (byte 0x{:02X} in column `{}`); {CONVERT}",
                    bytes[e.valid_up_to()],
                    super::read::shown(&self.header[i])
                ),
            })?;
            let text = if self.restore {
                super::cells::restore(text)
            } else {
                text.into()
            };
            cells.push(text.into_owned());
        }
        Ok(Row { line, cells })
    }
}

impl Iterator for Rows {
    type Item = RowResult;

    fn next(&mut self) -> Option<RowResult> {
        if self.done {
            return None;
        }
        let next = self.next_row();
        if matches!(next, None | Some(Err(_))) {
            self.done = true;
        }
        next
    }
}

/// What to do with a file that is not UTF-8.
const CONVERT: &str = "export the file as UTF-8, or convert it: \
     iconv -f WINDOWS-1252 -t UTF-8 in.csv > out.csv";

fn footer_error(line: u64, from: u64) -> FileError {
    FileError::new(
        Some(line),
        format!(
            "a data row after the footer lines that began at line {from}; a blank or one-cell \
             line ends the rows, so remove it (or everything from line {from} on)"
        ),
    )
}

/// The cell without the `\r` a CRLF leaves on a row's last cell (see `Rows::open`).
fn last_trimmed(cell: &[u8], last: bool) -> &[u8] {
    match cell {
        [rest @ .., b'\r'] if last => rest,
        _ => cell,
    }
}

/// Reads until `buf` is full or the file ends; the count read.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The error `Limited` fails a read with, told apart from the file's own errors by its type.
#[derive(Debug)]
struct RowTooLong;

impl std::fmt::Display for RowTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a row is longer than {MAX_ROW_BYTES} bytes")
    }
}

impl std::error::Error for RowTooLong {}

fn is_row_too_long(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<RowTooLong>())
}

/// Where the bytes handed over so far leave the quoting, as `csv` parses it: a quote opens a
/// quoted value only at the start of a cell, and `""` inside one is a quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    CellStart,
    InCell,
    Inside,
    /// Just after a quote inside a quoted value: its end, or the first of `""`.
    Closing,
}

impl Quote {
    fn next(self, byte: u8) -> Self {
        match (self, byte) {
            (Self::Inside, b'"') => Self::Closing,
            (Self::Inside, _) => Self::Inside,
            (Self::Closing, b'"') | (Self::CellStart, b'"') => Self::Inside,
            (_, b',' | b'\n') => Self::CellStart,
            _ => Self::InCell,
        }
    }
}

/// The file as `csv` reads it, failing once the current record passes `MAX_ROW_BYTES`.
///
/// `csv` reads through a buffer and asks for more only when it has parsed all it has, so when
/// `read` is called, every byte handed over since `record_start` belongs to the record being
/// parsed: more than the limit means the record is longer than the limit. A file read stops
/// at most one buffer past the limit.
struct Limited<R> {
    inner: R,
    /// Bytes read ahead of the file (while looking for a byte order mark) not yet handed over.
    pending: Vec<u8>,
    /// Bytes handed to `csv` so far.
    delivered: u64,
    /// Where the record being read starts, set by `Rows` after each record.
    record_start: u64,
    eof: bool,
    last: Option<u8>,
    quote: Quote,
}

impl<R: Read> Limited<R> {
    fn new(inner: R, pending: Vec<u8>) -> Self {
        Self {
            inner,
            pending,
            delivered: 0,
            record_start: 0,
            eof: false,
            last: None,
            quote: Quote::CellStart,
        }
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.delivered - self.record_start > MAX_ROW_BYTES {
            return Err(io::Error::other(RowTooLong));
        }
        let n = if self.pending.is_empty() {
            self.inner.read(buf)?
        } else {
            let n = self.pending.len().min(buf.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            n
        };
        if n == 0 {
            self.eof = !buf.is_empty();
            return Ok(0);
        }
        for &b in &buf[..n] {
            self.quote = self.quote.next(b);
        }
        self.last = Some(buf[n - 1]);
        self.delivered += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoting(text: &str) -> Quote {
        text.bytes().fold(Quote::CellStart, Quote::next)
    }

    #[test]
    fn a_quote_is_open_only_inside_a_quoted_value() {
        assert_eq!(quoting("a,\"b"), Quote::Inside);
        assert_eq!(quoting("a,\"b\"\""), Quote::Inside);
        assert_eq!(quoting("a,\"b\"\"\""), Quote::Closing);
        assert_eq!(quoting("a,b\"c"), Quote::InCell);
        assert_eq!(quoting("\"x\ny\",z\n"), Quote::CellStart);
    }

    #[test]
    fn a_read_past_the_row_limit_fails_with_its_own_error() {
        let data = vec![b'x'; 3 * MAX_ROW_BYTES as usize];
        let mut limited = Limited::new(&data[..], Vec::new());
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        let err = loop {
            match limited.read(&mut buf) {
                Ok(n) => total += n as u64,
                Err(e) => break e,
            }
        };
        assert!(is_row_too_long(&err));
        assert!(total <= MAX_ROW_BYTES + buf.len() as u64);
    }
}
