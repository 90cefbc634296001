//! `dealgate export`: a workspace's deals, activities or stage history as UTF-8 CSV with a
//! header, ISO dates and times, amounts in major units beside their currency, one row per deal,
//! activity or stage change. Every text cell goes through `cells::neutralise`, so a spreadsheet
//! that opens the file shows a name like `=HYPERLINK(…)` as text instead of running it.

use std::io::Write;

use anyhow::Context;

use super::cells::neutralise;
use crate::engine::currency::decimals;
use crate::engine::ids::Money;
use crate::service::Service;
use crate::service::ServiceResult;
use crate::service::transfer::{
    Cursor, ExportedActivity, ExportedChange, Exporter, time_text as ts,
};

/// What `dealgate export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportKind {
    /// One row per deal, with its custom fields as `field:<id>` columns.
    Deals,
    /// One row per activity logged.
    Activities,
    /// One row per stage change, the creation of each deal included.
    History,
}

pub const DEAL_COLUMNS: [&str; 14] = [
    "deal",
    "name",
    "stage",
    "status",
    "amount",
    "currency",
    "close_date",
    "owner",
    "owner_key",
    "created_at",
    "stage_entered_at",
    "closed_at",
    "source",
    "source_id",
];
pub const ACTIVITY_COLUMNS: [&str; 7] = [
    "deal",
    "activity",
    "stage",
    "member",
    "member_key",
    "note",
    "at",
];
pub const HISTORY_COLUMNS: [&str; 10] = [
    "deal",
    "from_stage",
    "to_stage",
    "kind",
    "actor",
    "actor_key",
    "overridden",
    "gates",
    "reason",
    "at",
];

/// Writes the export to `out`; the number of rows written.
pub async fn export<W: Write>(
    service: &Service,
    exporter: &Exporter,
    kind: ExportKind,
    out: W,
) -> anyhow::Result<u64> {
    let mut csv = csv::WriterBuilder::new().from_writer(out);
    let rows = match kind {
        ExportKind::Deals => deals(service, exporter, &mut csv).await?,
        ExportKind::Activities => activities(service, exporter, &mut csv).await?,
        ExportKind::History => history(service, exporter, &mut csv).await?,
    };
    csv.flush().context("write the export")?;
    Ok(rows)
}

/// A CSV writer's error with its I/O cause as the source, so a reader gone away (`| head`) is
/// told apart from a real failure.
fn written(e: csv::Error) -> anyhow::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => anyhow::Error::from(io).context("write the export"),
        other => anyhow::anyhow!("write the export: {other:?}"),
    }
}

/// `dealgate export KIND --workspace W [--out FILE]`: to stdout, or to a new FILE (never
/// overwritten) written whole or not at all: it is written beside as `FILE.partial` and renamed
/// when complete, so an interrupted export leaves no half file under the name asked for.
pub async fn run<W: Write>(
    service: &Service,
    kind: ExportKind,
    workspace: &str,
    file: Option<&std::path::Path>,
    stdout: &mut W,
) -> anyhow::Result<std::process::ExitCode> {
    let (platform, id) = super::workspace(workspace)?;
    let exporter = match service.exporter(platform, id).await {
        Ok(e) => e,
        Err(e) if !e.is_internal() => {
            writeln!(stdout, "{}", crate::chat::console::terminal(&e.to_string()))?;
            return Ok(std::process::ExitCode::FAILURE);
        }
        Err(e) => return Err(e).context("read the workspace"),
    };
    let Some(path) = file else {
        export(service, &exporter, kind, &mut *stdout).await?;
        return Ok(std::process::ExitCode::SUCCESS);
    };
    if path.exists() {
        anyhow::bail!(
            "{} exists already; choose another name or remove it (an export never overwrites)",
            path.display()
        );
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let opened = std::fs::File::create_new(&partial)
        .with_context(|| format!("create {}", partial.display()))?;
    let written = export(service, &exporter, kind, std::io::BufWriter::new(opened)).await;
    let rows = match written {
        Ok(rows) => rows,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, path).with_context(|| format!("rename to {}", path.display()))?;
    writeln!(stdout, "Wrote {rows} rows to {}.", path.display())?;
    Ok(std::process::ExitCode::SUCCESS)
}

type Csv<W> = csv::Writer<W>;

fn record<W: Write, I, S>(csv: &mut Csv<W>, cells: I) -> anyhow::Result<()>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    csv.write_record(
        cells
            .into_iter()
            .map(|c| neutralise(c.as_ref()).into_owned()),
    )
    .map_err(written)
}

async fn deals<W: Write>(
    service: &Service,
    exporter: &Exporter,
    csv: &mut Csv<W>,
) -> anyhow::Result<u64> {
    let currency = exporter.playbook.currency.clone();
    let fields: Vec<_> = exporter
        .playbook
        .fields
        .iter()
        .map(|f| f.id.clone())
        .collect();
    let mut header: Vec<String> = DEAL_COLUMNS.iter().map(|c| c.to_string()).collect();
    header.extend(fields.iter().map(|f| format!("field:{f}")));
    record(csv, &header)?;
    let (mut after, mut rows) = (0, 0);
    loop {
        let page = service.export_deals(exporter, after).await?;
        let Some(last) = page.last() else {
            return Ok(rows);
        };
        after = last.deal.id;
        for d in &page {
            let deal = &d.deal;
            let mut cells = vec![
                deal.number.to_string(),
                deal.name.clone(),
                deal.stage.to_string(),
                deal.status.as_str().to_string(),
                major(deal.amount, &currency),
                currency.clone(),
                deal.close_date.to_string(),
                d.owner_name.clone(),
                d.owner_key.clone(),
                ts(deal.created_at),
                ts(deal.stage_entered_at),
                deal.closed_at.map(ts).unwrap_or_default(),
                d.source.clone().unwrap_or_default(),
                d.source_id.clone().unwrap_or_default(),
            ];
            cells.extend(
                fields
                    .iter()
                    .map(|f| deal.fields.get(f).cloned().unwrap_or_default()),
            );
            record(csv, &cells)?;
            rows += 1;
        }
    }
}

async fn activities<W: Write>(
    service: &Service,
    exporter: &Exporter,
    csv: &mut Csv<W>,
) -> anyhow::Result<u64> {
    record(csv, ACTIVITY_COLUMNS)?;
    paged(
        csv,
        async |after: &Cursor| service.export_activities(exporter, after).await,
        |a: &ExportedActivity| Cursor {
            number: a.number,
            at: a.at.clone(),
            id: a.id,
        },
        |a: ExportedActivity| {
            vec![
                format!("deal-{}", a.number),
                a.activity,
                a.stage,
                a.member_name,
                a.member_key,
                a.note.unwrap_or_default(),
                a.at,
            ]
        },
    )
    .await
}

async fn history<W: Write>(
    service: &Service,
    exporter: &Exporter,
    csv: &mut Csv<W>,
) -> anyhow::Result<u64> {
    record(csv, HISTORY_COLUMNS)?;
    paged(
        csv,
        async |after: &Cursor| service.export_history(exporter, after).await,
        |c: &ExportedChange| Cursor {
            number: c.number,
            at: c.at.clone(),
            id: c.id,
        },
        |c: ExportedChange| {
            vec![
                format!("deal-{}", c.number),
                c.from_stage.unwrap_or_default(),
                c.to_stage,
                c.kind,
                c.actor_name,
                c.actor_key,
                (c.overridden != 0).to_string(),
                c.gates.unwrap_or_default(),
                c.reason.unwrap_or_default(),
                c.at,
            ]
        },
    )
    .await
}

/// Writes every page `fetch` gives, from the start, a row each: the rows written.
async fn paged<W: Write, T>(
    csv: &mut Csv<W>,
    fetch: impl AsyncFn(&Cursor) -> ServiceResult<Vec<T>>,
    cursor: impl Fn(&T) -> Cursor,
    cells: impl Fn(T) -> Vec<String>,
) -> anyhow::Result<u64> {
    let (mut after, mut rows) = (Cursor::start(), 0);
    loop {
        let page = fetch(&after).await?;
        let Some(last) = page.last() else {
            return Ok(rows);
        };
        after = cursor(last);
        for row in page {
            record(csv, cells(row))?;
            rows += 1;
        }
    }
}

/// An amount in major units, to the currency's decimals: `12500.00`, or `12500` in yen.
fn major(amount: Money, currency: &str) -> String {
    let minor = amount.minor();
    match decimals(currency) {
        0 => (minor / 100).to_string(),
        _ => format!("{}.{:02}", minor / 100, minor % 100),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_in_major_units_to_the_currencys_decimals() {
        let m = |minor| Money::from_minor(minor).unwrap();
        assert_eq!(major(m(1_250_005), "USD"), "12500.05");
        assert_eq!(major(m(0), "EUR"), "0.00");
        assert_eq!(major(m(1_250_000), "JPY"), "12500");
    }
}
