//! `dealgate import deals|activities|history FILE`: two passes over the file. The first writes
//! nothing: it reads every row, maps it and says what would be created, updated, left alone
//! and refused (that is the whole of `--dry-run`). The second writes, a batch of rows per
//! transaction, and only when the first refused nothing (or `--skip-refused` says to leave the
//! refused rows out).
//!
//! Why batches and not one transaction: SQLite has one writer, and a 100,000-deal import in one
//! transaction would hold every rep's `/log` behind it for its whole length. Each batch is
//! all-or-nothing (no deal without its history), and the file itself is the resume point: rows
//! already imported are found again by their source id and left as they are, so after a
//! failure the same command goes on where it stopped.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::read::{ActivityFile, DateOrder, DealFile, FileError, HistoryFile};
use super::report;
use super::write::ExportKind;
use crate::service::transfer::{
    DealImport, ImportOptions, Importer, RecordImport, Records, RowProblem, SourceActivity,
    SourceChange, SourceDeal, SourceFormat, Tally,
};
use crate::service::{Platform, Service, ServiceError, ServiceResult};

/// Rows per transaction.
pub const BATCH: usize = 500;

/// Files larger than this get a progress bar (at a terminal): a few thousand rows.
const PROGRESS_FROM_BYTES: u64 = 1 << 20;

/// What `dealgate import` was asked to do.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub kind: ExportKind,
    pub file: PathBuf,
    pub workspace: String,
    pub format: Option<SourceFormat>,
    pub options: ImportOptions,
    pub dates: DateOrder,
    pub dry_run: bool,
    pub skip_refused: bool,
}

/// A file of rows of one kind, read a row at a time.
trait RowFile: Iterator<Item = Result<Result<Self::Row, RowProblem>, FileError>> {
    type Row;
    fn bytes_read(&self) -> u64;
    /// The file line `row` starts on.
    fn line(row: &Self::Row) -> u64;
}

impl RowFile for DealFile {
    type Row = SourceDeal;
    fn bytes_read(&self) -> u64 {
        DealFile::bytes_read(self)
    }
    fn line(row: &SourceDeal) -> u64 {
        row.line
    }
}

impl RowFile for ActivityFile {
    type Row = SourceActivity;
    fn bytes_read(&self) -> u64 {
        ActivityFile::bytes_read(self)
    }
    fn line(row: &SourceActivity) -> u64 {
        row.line
    }
}

impl RowFile for HistoryFile {
    type Row = SourceChange;
    fn bytes_read(&self) -> u64 {
        HistoryFile::bytes_read(self)
    }
    fn line(row: &SourceChange) -> u64 {
        row.line
    }
}

/// One pass's use case: what a batch of rows does in the service.
trait Pass {
    type Row;
    fn tally(&mut self) -> &mut Tally;
    async fn batch(
        &mut self,
        service: &Service,
        rows: &[Self::Row],
        write: bool,
    ) -> ServiceResult<()>;
}

impl Pass for DealImport {
    type Row = SourceDeal;
    fn tally(&mut self) -> &mut Tally {
        &mut self.tally
    }
    async fn batch(
        &mut self,
        service: &Service,
        rows: &[SourceDeal],
        write: bool,
    ) -> ServiceResult<()> {
        service.import_deals(self, rows, write).await
    }
}

struct Activities(RecordImport);
struct History(RecordImport);

impl Pass for Activities {
    type Row = SourceActivity;
    fn tally(&mut self) -> &mut Tally {
        &mut self.0.tally
    }
    async fn batch(
        &mut self,
        service: &Service,
        rows: &[SourceActivity],
        write: bool,
    ) -> ServiceResult<()> {
        service
            .import_records(&mut self.0, Records::Activities(rows), write)
            .await
    }
}

impl Pass for History {
    type Row = SourceChange;
    fn tally(&mut self) -> &mut Tally {
        &mut self.0.tally
    }
    async fn batch(
        &mut self,
        service: &Service,
        rows: &[SourceChange],
        write: bool,
    ) -> ServiceResult<()> {
        service
            .import_records(&mut self.0, Records::History(rows), write)
            .await
    }
}

/// Runs `dealgate import`, printing to `out`. Exit 1 when the file or the mapping is refused,
/// when rows are refused without `--skip-refused`, or when writing stopped part way.
pub async fn run<W: Write>(
    service: &Service,
    request: &ImportRequest,
    out: &mut W,
) -> anyhow::Result<ExitCode> {
    let (platform, workspace) = super::workspace(&request.workspace)?;
    let shown = request.file.display().to_string();
    match request.kind {
        ExportKind::Deals => {
            let file = match DealFile::open(&request.file, request.format, request.dates) {
                Ok(f) => f,
                Err(e) => return refused_file(out, &shown, &e),
            };
            let format = file.format();
            let Some(importer) =
                importer(service, out, platform, workspace, format, &request.options).await?
            else {
                return Ok(ExitCode::FAILURE);
            };
            let reopen = || DealFile::open(&request.file, Some(format), request.dates);
            two_passes(
                service,
                request,
                out,
                &importer,
                file,
                reopen,
                DealImport::new,
            )
            .await
        }
        ExportKind::Activities | ExportKind::History => {
            if request.format.is_some_and(|f| f != SourceFormat::Dealgate) {
                anyhow::bail!(
                    "activities and history are imported from dealgate's own export only; a \
                     Salesforce or HubSpot file brings its deals' history in its deals file"
                );
            }
            let Some(importer) = importer(
                service,
                out,
                platform,
                workspace,
                SourceFormat::Dealgate,
                &request.options,
            )
            .await?
            else {
                return Ok(ExitCode::FAILURE);
            };
            if request.kind == ExportKind::Activities {
                let file = match ActivityFile::open(&request.file) {
                    Ok(f) => f,
                    Err(e) => return refused_file(out, &shown, &e),
                };
                let reopen = || ActivityFile::open(&request.file);
                two_passes(service, request, out, &importer, file, reopen, |i| {
                    Activities(RecordImport::new(i))
                })
                .await
            } else {
                let file = match HistoryFile::open(&request.file) {
                    Ok(f) => f,
                    Err(e) => return refused_file(out, &shown, &e),
                };
                let reopen = || HistoryFile::open(&request.file);
                two_passes(service, request, out, &importer, file, reopen, |i| {
                    History(RecordImport::new(i))
                })
                .await
            }
        }
    }
}

async fn importer<W: Write>(
    service: &Service,
    out: &mut W,
    platform: Platform,
    workspace: &str,
    format: SourceFormat,
    options: &ImportOptions,
) -> anyhow::Result<Option<Importer>> {
    match service.importer(platform, workspace, format, options).await {
        Ok(i) => Ok(Some(i)),
        Err(e) if !e.is_internal() => {
            writeln!(out, "{}", crate::chat::console::terminal(&e.to_string()))?;
            Ok(None)
        }
        Err(e) => Err(e).context("read the workspace"),
    }
}

fn refused_file<W: Write>(out: &mut W, file: &str, e: &FileError) -> anyhow::Result<ExitCode> {
    writeln!(
        out,
        "{}: {}\nNothing was imported.",
        crate::chat::console::terminal(file),
        crate::chat::console::terminal(&e.to_string())
    )?;
    Ok(ExitCode::FAILURE)
}

/// The first pass (always) and the second (unless a dry run, and only when the first allows).
async fn two_passes<W, F, P, O>(
    service: &Service,
    request: &ImportRequest,
    out: &mut W,
    importer: &Importer,
    first: F,
    reopen: O,
    pass: impl Fn(Importer) -> P,
) -> anyhow::Result<ExitCode>
where
    W: Write,
    F: RowFile,
    P: Pass<Row = F::Row>,
    O: Fn() -> Result<F, FileError>,
{
    let name = request.file.display().to_string();
    let size = std::fs::metadata(&request.file).map_or(0, |m| m.len());
    let mut sized = pass(importer.clone());
    let read = read_through(service, first, &mut sized, false, size, "Checking").await;
    if let Err(stop) = read {
        writeln!(out, "{}", report::stopped(&name, &stop, false))?;
        return Ok(ExitCode::FAILURE);
    }
    let heading = report::Heading {
        file: &name,
        kind: request.kind,
        importer,
        dry_run: request.dry_run,
    };
    let tally = sized.tally().clone();
    write!(out, "{}", report::plan(&heading, &tally))?;
    if request.dry_run {
        writeln!(out, "Dry run: nothing was written.")?;
        return Ok(ExitCode::SUCCESS);
    }
    if tally.refused_count > 0 && !request.skip_refused {
        writeln!(out, "{}", report::held_back(&tally))?;
        return Ok(ExitCode::FAILURE);
    }
    if tally.written() == 0 {
        writeln!(
            out,
            "Nothing to change: the workspace already has every row as the file has it."
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let before = service.import_counts(importer).await?;
    let file = match reopen() {
        Ok(f) => f,
        Err(e) => return refused_file(out, &name, &e),
    };
    let mut written = pass(importer.clone());
    let result = read_through(service, file, &mut written, true, size, "Importing").await;
    // Whatever committed is judged, even when a later batch failed.
    service
        .finish_import(importer)
        .await
        .context("judge the imported deals' process standing")?;
    let after = service.import_counts(importer).await?;
    match result {
        Ok(()) => {
            write!(
                out,
                "{}",
                report::done(&heading, written.tally(), before, after)
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(stop) => {
            writeln!(out, "{}", report::stopped(&name, &stop, true))?;
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Why a pass stopped before the end of the file.
#[derive(Debug)]
pub enum Stop {
    /// The file cannot be read on from here.
    File(FileError),
    /// A batch failed: nothing of it was written, and every batch before it was. `from_line` is
    /// its first row.
    Batch { from_line: u64, error: ServiceError },
}

/// Reads the whole file through `pass`, a batch at a time.
async fn read_through<F, P>(
    service: &Service,
    mut file: F,
    pass: &mut P,
    write: bool,
    size: u64,
    verb: &'static str,
) -> Result<(), Stop>
where
    F: RowFile,
    P: Pass<Row = F::Row>,
{
    let bar = progress(size, verb);
    let mut batch: Vec<F::Row> = Vec::with_capacity(BATCH);
    let mut first_line = None;
    loop {
        let next = file.next();
        let end = next.is_none();
        match next {
            Some(Err(e)) => {
                bar.abandon();
                // Rows read before the file went bad are still sized up (or written): the report
                // then says where it stopped and what came before.
                flush(service, pass, &mut batch, &mut first_line, write).await?;
                return Err(Stop::File(e));
            }
            Some(Ok(Err(problem))) => pass.tally().problem(problem),
            Some(Ok(Ok(row))) => {
                first_line.get_or_insert(F::line(&row));
                batch.push(row);
            }
            None => {}
        }
        if batch.len() >= BATCH || (end && !batch.is_empty()) {
            flush(service, pass, &mut batch, &mut first_line, write).await?;
            bar.set_position(file.bytes_read());
        }
        if end {
            bar.finish_and_clear();
            return Ok(());
        }
    }
}

async fn flush<P: Pass>(
    service: &Service,
    pass: &mut P,
    batch: &mut Vec<P::Row>,
    first_line: &mut Option<u64>,
    write: bool,
) -> Result<(), Stop> {
    if batch.is_empty() {
        return Ok(());
    }
    let from_line = first_line.take().unwrap_or(0);
    pass.batch(service, batch, write)
        .await
        .map_err(|error| Stop::Batch { from_line, error })?;
    batch.clear();
    Ok(())
}

/// A progress bar on stderr for a large file at a terminal; hidden otherwise.
fn progress(size: u64, verb: &'static str) -> indicatif::ProgressBar {
    if size < PROGRESS_FROM_BYTES || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(size);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:24}] {bytes}/{total_bytes}, {eta} left",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(verb);
    bar
}
