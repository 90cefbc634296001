//! Reading a deals export: Salesforce (Data Loader's API names or a report's labels), HubSpot,
//! or dealgate's own. The file is read as a stream, a row at a time, so a 100,000-row export
//! takes no more memory than one row; the caller sees each row as a deal, a refused row (the
//! reading goes on), or a fatal error (it stops).
//!
//! ```text
//! let mut file = DealFile::open(path, None, DateOrder::MonthFirst)?;   // header checked here
//! file.format()       → SourceFormat::HubSpot
//! file.next()         → Some(Ok(Ok(SourceDeal { line: 2, source_id: "1234567", .. })))
//! file.next()         → Some(Ok(Err(RowProblem { line: 3, reason: "Close Date `31/31/2026`
//!                        is not a date; it was read month first, … import it with --day-first" })))
//! ```
//!
//! What a row means for a workspace (its stage on the playbook, its owner on the team) is the
//! service's business: here a row is only read and checked as text.

use std::fmt;
use std::path::Path;

pub use super::history::{ActivityFile, HistoryFile};

use super::cells::starts_like_formula;
use super::headers::{Columns, Layout, entered_column};
use super::stream::{Row, Rows};
use super::values;
use crate::engine::deal::DealStatus;
use crate::engine::ids::DealNumber;
use crate::engine::text::{code_point, first_forbidden, is_forbidden};
use crate::service::limits;
use crate::service::transfer::{Entered, RowProblem, SourceDeal, SourceFormat};

/// Why a file cannot be read on: it stops the import. `line` is the file line it was found on
/// (the header is line 1), when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub line: Option<u64>,
    pub message: String,
}

impl FileError {
    pub(super) fn new(line: Option<u64>, message: String) -> Self {
        Self { line, message }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for FileError {}

/// How a date with slashes is read. Month first by default: Salesforce's en_US locale, the
/// one most orgs export in, writes 3/31/2026. `--day-first` reads 31/03/2026.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateOrder {
    #[default]
    MonthFirst,
    DayFirst,
}

/// A deals export being read. Each item is a deal, a refused row, or the error that stopped
/// the reading (after which the iterator ends).
pub struct DealFile {
    rows: Rows,
    layout: Layout,
    columns: DealColumns,
    order: DateOrder,
}

impl DealFile {
    /// Opens `path` and checks its header: the export it is (or that it is the one `format`
    /// names) and that the columns a deal needs are there.
    pub fn open(
        path: &Path,
        format: Option<SourceFormat>,
        order: DateOrder,
    ) -> Result<DealFile, FileError> {
        let rows = Rows::open(path)?;
        let columns = Columns::new(rows.header());
        let layout = columns.layout(format)?;
        let rows = if layout == Layout::Dealgate {
            rows.restoring()
        } else {
            rows
        };
        Ok(DealFile {
            columns: DealColumns::new(layout, &columns),
            layout,
            rows,
            order,
        })
    }

    pub fn format(&self) -> SourceFormat {
        self.layout.format()
    }

    /// Bytes of the file read so far, for a progress bar against its size.
    pub fn bytes_read(&self) -> u64 {
        self.rows.bytes_read()
    }

    fn deal(&self, row: Row) -> Result<SourceDeal, RowProblem> {
        let line = row.line;
        self.columns
            .deal(&row, self.layout, self.order)
            .map_err(|reason| RowProblem { line, reason })
    }
}

impl Iterator for DealFile {
    type Item = Result<Result<SourceDeal, RowProblem>, FileError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(
            self.rows
                .next()?
                .map(|row| row.and_then(|row| self.deal(row))),
        )
    }
}

/// Where a deal's values are in the file, found once from the header.
struct DealColumns {
    id: Named,
    name: Named,
    stage: Named,
    close: Named,
    /// The owner columns the file has, by preference (see `Core::owners`).
    owners: Vec<Named>,
    amount: Option<usize>,
    currency: Option<usize>,
    closed: Option<Named>,
    won: Option<Named>,
    /// dealgate's own `status` column.
    status: Option<usize>,
    created: Option<Named>,
    pipeline: Option<usize>,
    entered: Vec<(Named, String, Option<String>)>,
    stage_entered: Option<Named>,
    closed_at: Option<Named>,
    fields: Vec<(usize, String)>,
}

/// A column's index and its name as the file writes it, for messages.
#[derive(Clone)]
pub(super) struct Named(pub(super) usize, pub(super) String);

impl DealColumns {
    fn new(layout: Layout, columns: &Columns) -> Self {
        let named = |names: &[&str]| {
            columns
                .find_any(names)
                .map(|i| Named(i, columns.name(i).trim().to_string()))
        };
        // `Columns::layout` has checked the required ones are there.
        let must = |names: &[&str]| named(names).unwrap_or(Named(usize::MAX, names[0].into()));
        let core = layout.core();
        let mut entered = Vec::new();
        let mut fields = Vec::new();
        for (i, header) in columns.iter() {
            if layout == Layout::HubSpot
                && let Some((stage, pipeline)) = entered_column(header)
            {
                entered.push((Named(i, header.trim().to_string()), stage, pipeline));
            }
            if layout == Layout::Dealgate
                && let Some(field) = header.trim().strip_prefix("field:")
            {
                fields.push((i, field.to_string()));
            }
        }
        let dealgate = layout == Layout::Dealgate;
        Self {
            id: must(core.id),
            name: must(core.name),
            stage: must(core.stage),
            close: must(core.close),
            owners: core.owners.iter().filter_map(|o| named(&[o])).collect(),
            amount: columns.find("Amount"),
            currency: columns.find_any(&[
                "CurrencyIsoCode",
                "Currency",
                "Opportunity Currency",
                "Amount Currency",
            ]),
            closed: named(&["IsClosed", "Closed", "Is Deal Closed?"]).filter(|_| !dealgate),
            won: named(&["IsWon", "Won", "Is Closed Won"]).filter(|_| !dealgate),
            status: columns.find("status").filter(|_| dealgate),
            created: named(&["CreatedDate", "Created Date", "Create Date", "created_at"]),
            pipeline: columns
                .find("Pipeline")
                .filter(|_| layout == Layout::HubSpot),
            entered,
            stage_entered: named(&["stage_entered_at"]).filter(|_| dealgate),
            closed_at: named(&["closed_at"]).filter(|_| dealgate),
            fields,
        }
    }

    fn deal(&self, row: &Row, layout: Layout, order: DateOrder) -> Result<SourceDeal, String> {
        let source_id = required(row, &self.id)?;
        let name = required(row, &self.name)?;
        // dealgate's own export neutralised its formula-like names, and holds them as names: they
        // come back as they were. A CRM's formulas are refused.
        check_name(&name, layout != Layout::Dealgate)?;
        let stage = required(row, &self.stage)?;
        if starts_like_formula(&stage) {
            return Err(formula("stage", &stage));
        }
        let owner = self
            .owners
            .iter()
            .map(|c| cell(row, c.0).trim())
            .find(|o| !o.is_empty())
            .ok_or_else(|| {
                let names: Vec<&str> = self.owners.iter().map(|c| c.1.as_str()).collect();
                match names.as_slice() {
                    [one] => format!("the row has no owner (the {one} cell is blank)"),
                    _ => format!("the row has no owner ({} are all blank)", names.join(", ")),
                }
            })?
            .to_string();
        let close = required(row, &self.close)?;
        let close_date =
            values::date(&close, order).map_err(|why| format!("{} {why}", self.close.1))?;
        let (amount, written_currency) = match self.amount {
            Some(i) => values::amount(cell(row, i))?,
            None => Default::default(),
        };
        let currency = self
            .currency
            .map(|i| cell(row, i).trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .or(written_currency);
        let status = match self.status {
            Some(i) => dealgate_status(cell(row, i))?,
            None => values::status(self.flag(row, &self.closed)?, self.flag(row, &self.won)?)?,
        };
        let stamp = |column: Option<&Named>| optional_timestamp(row, column, order);
        let mut entered = Vec::new();
        for (column, stage, pipeline) in &self.entered {
            if let Some(at) = stamp(Some(column))? {
                entered.push(Entered {
                    stage: stage.clone(),
                    pipeline: pipeline.clone(),
                    at,
                });
            }
        }
        let number = if layout == Layout::Dealgate {
            Some(source_id.parse::<DealNumber>().map_err(|_| {
                format!(
                    "`{}` `{}` is not a deal; dealgate's export names deals as deal-42",
                    self.id.1,
                    shown(&source_id)
                )
            })?)
        } else {
            None
        };
        Ok(SourceDeal {
            line: row.line,
            source_id,
            name,
            stage,
            amount,
            currency,
            close_date,
            owner,
            status,
            created_at: stamp(self.created.as_ref())?,
            entered,
            pipeline: self
                .pipeline
                .map(|i| cell(row, i).trim().to_string())
                .filter(|p| !p.is_empty()),
            stage_entered_at: stamp(self.stage_entered.as_ref())?,
            closed_at: stamp(self.closed_at.as_ref())?,
            number,
            fields: self
                .fields
                .iter()
                .filter(|(i, _)| !cell(row, *i).trim().is_empty())
                .map(|(i, id)| (id.clone(), cell(row, *i).to_string()))
                .collect(),
        })
    }

    fn flag(&self, row: &Row, column: &Option<Named>) -> Result<Option<bool>, String> {
        match column {
            Some(Named(i, name)) => values::flag(cell(row, *i), name),
            None => Ok(None),
        }
    }
}

/// The cell at `index`; the row is as wide as the header, so it is there.
pub(super) fn cell(row: &Row, index: usize) -> &str {
    row.cells.get(index).map_or("", String::as_str)
}

/// The trimmed text of a column a row must fill in.
pub(super) fn required(row: &Row, column: &Named) -> Result<String, String> {
    let text = cell(row, column.0).trim();
    if text.is_empty() {
        return Err(format!("the row has no {} (the cell is blank)", column.1));
    }
    Ok(text.to_string())
}

fn optional_timestamp(
    row: &Row,
    column: Option<&Named>,
    order: DateOrder,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
    let Some(Named(i, name)) = column else {
        return Ok(None);
    };
    let text = cell(row, *i).trim();
    if text.is_empty() {
        return Ok(None);
    }
    values::timestamp(text, order)
        .map(Some)
        .map_err(|why| format!("{name} {why}"))
}

/// Refuses a name a spreadsheet would run, that is too long, or that hides characters.
fn check_name(name: &str, refuse_formulas: bool) -> Result<(), String> {
    if refuse_formulas && starts_like_formula(name) {
        return Err(formula("name", name));
    }
    let length = name.chars().count();
    if length > limits::DEAL_NAME {
        return Err(format!(
            "the name is {length} characters long; the most is {} — shorten it in the source",
            limits::DEAL_NAME
        ));
    }
    if let Some((at, c)) = first_forbidden(name) {
        return Err(format!(
            "the name has an invisible or control character ({}) at character {at}; a name is \
             one line of visible text — fix the cell in the source",
            code_point(c)
        ));
    }
    Ok(())
}

fn formula(what: &str, text: &str) -> String {
    format!(
        "the {what} `{}` looks like a spreadsheet formula; dealgate does not import formulas — \
         fix the cell in the source",
        shown(text)
    )
}

fn dealgate_status(text: &str) -> Result<Option<DealStatus>, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "open" => Ok(Some(DealStatus::Open)),
        "won" => Ok(Some(DealStatus::Won)),
        "lost" => Ok(Some(DealStatus::Lost)),
        _ => Err(format!(
            "the status `{}` is not open, won or lost",
            shown(text.trim())
        )),
    }
}

/// `text` for a message: at most 40 characters, invisible and control characters shown as �.
pub(super) fn shown(text: &str) -> String {
    const MAX: usize = 40;
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        out.push(if is_forbidden(c) { '\u{FFFD}' } else { c });
    }
    out
}
