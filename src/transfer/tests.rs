//! Reading whole files: the fixtures under `tests/fixtures/import/` and files made here for the
//! cases too large or too odd to keep in the repository.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};

use super::read::{ActivityFile, DateOrder, DealFile, FileError, HistoryFile};
use crate::engine::deal::DealStatus;
use crate::service::transfer::{Entered, RowProblem, SourceDeal, SourceFormat};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

/// A file in a fresh temporary directory (kept alive with it).
fn file_with(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deals.csv");
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn open(path: &Path) -> DealFile {
    DealFile::open(path, None, DateOrder::MonthFirst).unwrap()
}

fn open_err(path: &Path) -> FileError {
    match DealFile::open(path, None, DateOrder::MonthFirst) {
        Ok(_) => panic!("{} opened", path.display()),
        Err(e) => e,
    }
}

/// Every row of a file: deals and refusals, or the error that stopped it.
fn read_all(file: DealFile) -> (Vec<SourceDeal>, Vec<RowProblem>, Option<FileError>) {
    let (mut deals, mut problems) = (Vec::new(), Vec::new());
    for item in file {
        match item {
            Ok(Ok(deal)) => deals.push(deal),
            Ok(Err(problem)) => problems.push(problem),
            Err(e) => return (deals, problems, Some(e)),
        }
    }
    (deals, problems, None)
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

const HUBSPOT_HEADER: &str =
    "Record ID,Deal Name,Deal Stage,Amount,Close Date,Deal owner,Pipeline,Create Date";

#[test]
fn a_data_loader_export_is_read_with_its_flags_and_crlf_lines() {
    let file = open(&fixture("salesforce-dataloader.csv"));
    assert_eq!(file.format(), SourceFormat::Salesforce);
    let (deals, problems, stop) = read_all(file);
    assert_eq!((deals.len(), problems, stop), (12, vec![], None));
    let first = &deals[0];
    assert_eq!(first.line, 2);
    assert_eq!(first.source_id, "0065g00000XyzQ1AAJ");
    assert_eq!(first.name, "Acme Corp - Platform Renewal");
    assert_eq!(first.stage, "Prospecting");
    assert_eq!(first.amount.minor(), 1_250_000);
    assert_eq!(first.currency.as_deref(), Some("USD"));
    assert_eq!(first.close_date, day(2026, 4, 30));
    assert_eq!(first.owner, "Alice Adams");
    assert_eq!(first.status, Some(DealStatus::Open));
    assert_eq!(first.created_at, Some(at("2026-01-15T10:20:30Z")));
    assert_eq!(deals[11].line, 13);
    let blank = deals.iter().find(|d| d.name.starts_with("Wonka")).unwrap();
    assert_eq!(blank.amount.minor(), 0);
    let statuses: Vec<_> = deals.iter().filter_map(|d| d.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == DealStatus::Won).count(),
        2
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == DealStatus::Lost).count(),
        2
    );
}

#[test]
fn a_report_export_is_read_to_its_footer() {
    let (deals, problems, stop) = read_all(open(&fixture("salesforce-report.csv")));
    assert_eq!((deals.len(), problems, stop), (10, vec![], None));
    let contoso = &deals[1];
    assert_eq!(contoso.name, "Contoso - \"Phase 2\", EMEA");
    assert_eq!(contoso.amount.minor(), 5_250_000);
    assert_eq!(contoso.currency.as_deref(), Some("USD"));
    assert_eq!(contoso.close_date, day(2026, 5, 15));
    assert_eq!(contoso.created_at, Some(at("2026-01-21T00:00:00Z")));
    assert_eq!(deals[2].name, "Société Générale - Pilot");
    assert_eq!(deals[9].line, 11);
    assert_eq!(deals[9].status, Some(DealStatus::Lost));
}

#[test]
fn a_hubspot_export_gives_the_stages_each_deal_entered() {
    let file = open(&fixture("hubspot-deals.csv"));
    assert_eq!(file.format(), SourceFormat::HubSpot);
    let (deals, problems, stop) = read_all(file);
    assert_eq!((deals.len(), problems, stop), (15, vec![], None));
    let fjord = deals.iter().find(|d| d.source_id == "15209773005").unwrap();
    assert_eq!(fjord.pipeline.as_deref(), Some("Sales Pipeline"));
    assert_eq!(fjord.status, None);
    assert_eq!(fjord.created_at, Some(at("2026-01-06T10:00:00Z")));
    let stages: Vec<&str> = fjord.entered.iter().map(|e| e.stage.as_str()).collect();
    assert_eq!(
        stages,
        [
            "Appointment Scheduled",
            "Qualified to Buy",
            "Presentation Scheduled",
            "Decision Maker Bought-In",
            "Contract Sent"
        ]
    );
    assert_eq!(
        fjord.entered[4],
        Entered {
            stage: "Contract Sent".into(),
            pipeline: Some("Sales Pipeline".into()),
            at: at("2026-02-24T12:40:00Z"),
        }
    );
    let partner = deals.iter().find(|d| d.source_id == "15209773013").unwrap();
    assert_eq!(partner.pipeline.as_deref(), Some("Partner Pipeline"));
    assert_eq!(partner.entered.len(), 1);
    assert_eq!(partner.entered[0].stage, "Discovery");
    assert_eq!(
        partner.entered[0].pipeline.as_deref(),
        Some("Partner Pipeline")
    );
}

#[test]
fn a_header_without_a_required_column_names_it() {
    let err = open_err(&fixture("bad-missing-column.csv"));
    assert_eq!(err.line, Some(1));
    assert!(
        err.message
            .contains("HubSpot deals export lacks the column `Deal Stage`"),
        "{err}"
    );
    assert!(
        err.message.contains("Record ID, Deal Name, Amount"),
        "{err}"
    );
}

#[test]
fn a_format_that_does_not_fit_the_header_is_refused_at_open() {
    let path = fixture("hubspot-deals.csv");
    let err = DealFile::open(&path, Some(SourceFormat::Salesforce), DateOrder::MonthFirst)
        .err()
        .unwrap();
    assert!(
        err.message.contains("--format salesforce was given"),
        "{err}"
    );
    assert!(DealFile::open(&path, Some(SourceFormat::HubSpot), DateOrder::MonthFirst).is_ok());
}

#[test]
fn a_utf8_byte_order_mark_is_skipped() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(
        format!("{HUBSPOT_HEADER}\n1,Acme,Contract Sent,10,2026-03-31,Alice Adams,Sales Pipeline,2026-01-01\n")
            .as_bytes(),
    );
    let (_dir, path) = file_with(&bytes);
    let file = open(&path);
    assert_eq!(file.format(), SourceFormat::HubSpot);
    let (deals, _, stop) = read_all(file);
    assert_eq!(
        (deals.len(), deals[0].source_id.as_str(), stop),
        (1, "1", None)
    );
}

#[test]
fn a_utf16_file_is_refused_at_open_with_how_to_save_it() {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in HUBSPOT_HEADER.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let (_dir, path) = file_with(&bytes);
    let err = open_err(&path);
    assert_eq!(err.line, None);
    assert!(
        err.message.contains("UTF-16") && err.message.contains("CSV UTF-8"),
        "{err}"
    );
}

#[test]
fn a_latin1_row_is_refused_and_the_others_are_read() {
    let (deals, problems, stop) = read_all(open(&fixture("bad-latin1.csv")));
    assert_eq!((deals.len(), stop), (3, None));
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].line, 4);
    assert_eq!(
        problems[0].reason,
        "not UTF-8 text (byte 0xE9 in column `Opportunity Name`); export the file as UTF-8, or \
         convert it: iconv -f WINDOWS-1252 -t UTF-8 in.csv > out.csv"
    );
}

#[test]
fn a_header_of_ten_thousand_columns_is_refused() {
    let header: Vec<String> = (0..10_000).map(|i| format!("c{i}")).collect();
    let (_dir, path) = file_with(header.join(",").as_bytes());
    let err = open_err(&path);
    assert_eq!(
        err.to_string(),
        "line 1: 10000 columns; an export has at most 1000"
    );
}

#[test]
fn a_data_row_of_ten_thousand_cells_stops_the_reading() {
    let row = vec!["x"; 10_000].join(",");
    let text = format!("{HUBSPOT_HEADER}\n{row}\n");
    let (_dir, path) = file_with(text.as_bytes());
    let (_, _, stop) = read_all(open(&path));
    assert_eq!(
        stop.unwrap().to_string(),
        "line 2: 10000 values; an export has at most 1000 columns"
    );
}

#[test]
fn a_50_mb_line_fails_after_about_a_mebibyte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(out, "{HUBSPOT_HEADER}").unwrap();
    write!(out, "1,\"").unwrap();
    let chunk = vec![b'a'; 1024 * 1024];
    for _ in 0..50 {
        out.write_all(&chunk).unwrap();
    }
    drop(out);
    let mut file = open(&path);
    let stop = file.next().unwrap().unwrap_err();
    assert_eq!(
        stop.to_string(),
        "line 2: a row longer than 1 MiB — is a quote never closed?"
    );
    assert!(file.bytes_read() < 2 * 1024 * 1024, "{}", file.bytes_read());
    assert!(file.next().is_none());

    let headerless = dir.path().join("one-line.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&headerless).unwrap());
    for _ in 0..50 {
        out.write_all(&chunk).unwrap();
    }
    drop(out);
    assert_eq!(
        open_err(&headerless).to_string(),
        "line 1: a row longer than 1 MiB — is a quote never closed?"
    );
}

#[test]
fn a_quote_never_closed_stops_the_reading_at_its_row() {
    let (deals, problems, stop) = read_all(open(&fixture("bad-unterminated.csv")));
    assert_eq!((deals.len(), problems.len()), (2, 0));
    let stop = stop.unwrap();
    assert_eq!(stop.line, Some(4));
    assert!(
        stop.message.starts_with("a quoted value is never closed"),
        "{stop}"
    );
}

#[test]
fn data_after_a_footer_stops_the_reading() {
    let text = format!(
        "{HUBSPOT_HEADER}\n1,A,Contract Sent,1,2026-03-31,Alice Adams,P,2026-01-01\n\n\
         \"Generated By: Jane Doe\"\n2,B,Contract Sent,1,2026-03-31,Alice Adams,P,2026-01-01\n"
    );
    let (_dir, path) = file_with(text.as_bytes());
    let (deals, _, stop) = read_all(open(&path));
    assert_eq!(deals.len(), 1);
    assert_eq!(
        stop.unwrap().to_string(),
        "line 5: a data row after the footer lines that began at line 3; a blank or one-cell \
         line ends the rows, so remove it (or everything from line 3 on)"
    );
}

#[test]
fn line_numbers_count_crlf_blank_lines_and_lines_inside_quotes() {
    let row = |id: &str, name: &str, pipeline: &str| {
        format!("{id},{name},Contract Sent,1,2026-03-31,Alice Adams,{pipeline},2026-01-01")
    };
    let text = format!(
        "{HUBSPOT_HEADER}\r\n{}\r\n{}\r\n{}\r\n{}",
        row("1", "first", "\"two\r\nlines\""),
        row("2", "short", "P"),
        row("3", "x,extra", "P"),
        row("4", "last without newline", "P"),
    );
    let (_dir, path) = file_with(text.as_bytes());
    let (deals, problems, stop) = read_all(open(&path));
    assert_eq!(stop, None);
    let lines: Vec<u64> = deals.iter().map(|d| d.line).collect();
    assert_eq!(lines, [2, 4, 6]);
    assert_eq!(deals[0].pipeline.as_deref(), Some("two\r\nlines"));
    assert_eq!(deals[2].name, "last without newline");
    assert_eq!(deals[2].created_at, Some(at("2026-01-01T00:00:00Z")));
    assert_eq!(
        problems,
        [RowProblem {
            line: 5,
            reason: "9 values where the header has 8 columns".into()
        }]
    );
}

#[test]
fn a_formula_for_a_name_is_refused() {
    let (deals, problems, stop) = read_all(open(&fixture("bad-formula.csv")));
    assert_eq!((deals.len(), stop), (2, None));
    assert_eq!(
        problems,
        [RowProblem {
            line: 3,
            reason: "the name `=HYPERLINK(\"http://evil.example\",\"Click\"…` looks like a \
                     spreadsheet formula; dealgate does not import formulas — fix the cell in \
                     the source"
                .into()
        }]
    );
}

#[test]
fn bad_values_are_refused_row_by_row() {
    let (deals, problems, stop) = read_all(open(&fixture("bad-values.csv")));
    assert_eq!(stop, None);
    let owners: Vec<&str> = deals.iter().map(|d| d.owner.as_str()).collect();
    assert_eq!(owners, ["Alice Adams", "Zed Zimmer"]);
    let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [3, 4, 5]);
    assert!(
        problems[0]
            .reason
            .contains("the amount `abc` is not a number")
    );
    assert!(
        problems[1]
            .reason
            .starts_with("Close Date `31/31/2026` is not a date")
    );
    assert!(problems[1].reason.contains("--day-first"));
    assert_eq!(
        problems[2].reason,
        "the row has no Deal Name (the cell is blank)"
    );
}

#[test]
fn day_first_dates_are_read_with_the_day_first() {
    let text = "\"Opportunity ID\",\"Opportunity Name\",\"Stage\",\"Close Date\",\"Opportunity Owner\",\"Created Date\"\n\
                \"006A\",\"Acme\",\"Prospecting\",\"31/03/2026\",\"Alice Adams\",\"15/01/2026 10:20\"\n";
    let (_dir, path) = file_with(text.as_bytes());
    let file = DealFile::open(&path, None, DateOrder::DayFirst).unwrap();
    let (deals, problems, _) = read_all(file);
    assert_eq!(problems, []);
    assert_eq!(deals[0].close_date, day(2026, 3, 31));
    assert_eq!(deals[0].created_at, Some(at("2026-01-15T10:20:00Z")));
    let (_, problems, _) = read_all(open(&path));
    assert!(
        problems[0].reason.contains("import it with --day-first"),
        "{problems:?}"
    );
}

#[test]
fn a_name_too_long_or_with_hidden_characters_is_refused() {
    let long = "n".repeat(121);
    let text = format!(
        "{HUBSPOT_HEADER}\n1,{long},S,1,2026-03-31,A,P,\n2,\"a\u{202E}b\",S,1,2026-03-31,A,P,\n"
    );
    let (_dir, path) = file_with(text.as_bytes());
    let (_, problems, _) = read_all(open(&path));
    assert!(
        problems[0]
            .reason
            .contains("121 characters long; the most is 120"),
        "{problems:?}"
    );
    assert!(problems[1].reason.contains("U+202E"), "{problems:?}");
}

#[test]
fn dealgate_files_have_their_cells_restored() {
    let text = "deal,name,stage,status,amount,currency,close_date,owner,owner_key,created_at,\
                stage_entered_at,closed_at,source,source_id,field:budget,field:empty\n\
                deal-42,'@Acme renewal,proposal,won,12500.50,USD,2026-03-31,Alice Adams,U1,\
                2026-01-15T10:00:00Z,2026-03-01T09:00:00Z,2026-03-30T16:00:00Z,salesforce,006X,'=SUM(A1),\n\
                deal-43,Globex,discovery,open,,USD,2026-04-30,'-Bob,,2026-01-16T10:00:00Z,,,,,'a=1,\n";
    let (_dir, path) = file_with(text.as_bytes());
    let file = open(&path);
    assert_eq!(file.format(), SourceFormat::Dealgate);
    let (deals, problems, stop) = read_all(file);
    assert_eq!(stop, None);
    // dealgate neutralised the name on export and holds it as a name: it comes back as it was.
    assert_eq!(problems, []);
    assert_eq!(deals[0].name, "@Acme renewal");
    let globex = &deals[1];
    assert_eq!(globex.source_id, "deal-43");
    assert_eq!(globex.number.map(|n| n.get()), Some(43));
    assert_eq!(globex.owner, "-Bob");
    assert_eq!(globex.status, Some(DealStatus::Open));
    assert_eq!(globex.fields, [("budget".to_string(), "'a=1".to_string())]);

    let acme = &deals[0];
    assert_eq!(acme.number.map(|n| n.get()), Some(42));
    assert_eq!(acme.owner, "U1");
    assert_eq!(acme.amount.minor(), 1_250_050);
    assert_eq!(acme.status, Some(DealStatus::Won));
    assert_eq!(acme.stage_entered_at, Some(at("2026-03-01T09:00:00Z")));
    assert_eq!(acme.closed_at, Some(at("2026-03-30T16:00:00Z")));
    assert_eq!(
        acme.fields,
        [("budget".to_string(), "=SUM(A1)".to_string())]
    );
}

#[test]
fn dealgate_activities_and_history_are_read() {
    let activities = "deal,activity,stage,member,member_key,note,at\n\
                      deal-42,discovery-call,discovery,Alice Adams,U1,'=met the CFO,2026-03-02T10:00:00Z\n\
                      deal-42,demo,discovery,Bob Brown,,,2026-03-03T10:00:00Z\n\
                      deal-42,demo,discovery,,,,2026-03-03T10:00:00Z\n";
    let (_dir, path) = file_with(activities.as_bytes());
    let rows: Vec<_> = ActivityFile::open(&path)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let first = rows[0].as_ref().unwrap();
    assert_eq!(
        (first.member.as_str(), first.note.as_deref()),
        ("U1", Some("=met the CFO"))
    );
    let second = rows[1].as_ref().unwrap();
    assert_eq!(
        (second.member.as_str(), second.note.as_deref()),
        ("Bob Brown", None)
    );
    assert_eq!(rows[2].as_ref().unwrap_err().line, 4);

    let history = "deal,from_stage,to_stage,kind,actor,actor_key,overridden,gates,reason,at\n\
                   deal-42,,discovery,create,Alice Adams,U1,false,,,2026-03-01T09:00:00Z\n\
                   deal-42,discovery,proposal,advance,Carl Manager,U9,true,\"Budget confirmed\n\nDecision maker met\n\",too slow,2026-03-05T09:00:00Z\n";
    let (_dir, path) = file_with(history.as_bytes());
    let rows: Vec<_> = HistoryFile::open(&path)
        .unwrap()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(rows[0].from_stage, None);
    assert_eq!(rows[1].line, 3);
    assert_eq!(
        rows[1].overridden,
        ["Budget confirmed", "Decision maker met"]
    );
    assert_eq!(rows[1].reason.as_deref(), Some("too slow"));
    assert_eq!(rows[1].actor, "U9");

    let err = HistoryFile::open(&fixture("hubspot-deals.csv"))
        .err()
        .unwrap();
    assert!(
        err.message
            .starts_with("this is not dealgate's history export"),
        "{err}"
    );
}

#[test]
fn an_empty_file_is_refused() {
    for bytes in [&b""[..], b"\n\n", b"\xEF\xBB\xBF"] {
        let (_dir, path) = file_with(bytes);
        assert!(open_err(&path).message.starts_with("the file is empty"));
    }
}
