//! What `dealgate import` prints: the plan of the first pass, why it holds back, the summary at
//! the end, and where it stopped. Everything from the file or the workspace passes through
//! `terminal`: a cell may hold ESC or a line break.

use std::fmt::Write;

use super::import::Stop;
use super::write::ExportKind;
use crate::chat::console::terminal;
use crate::service::transfer::{Importer, LISTED, SourceFormat, Tally};

/// How many refused rows and flagged deals a report lists before counting the rest.
const SHOWN: usize = 20;

pub struct Heading<'a> {
    pub file: &'a str,
    pub kind: ExportKind,
    pub importer: &'a Importer,
    pub dry_run: bool,
}

fn rows(n: u64) -> String {
    if n == 1 {
        "1 row".into()
    } else {
        format!("{n} rows")
    }
}

fn noun(kind: ExportKind) -> &'static str {
    match kind {
        ExportKind::Deals => "deals",
        ExportKind::Activities => "activities",
        ExportKind::History => "stage changes",
    }
}

/// The first pass: what the import would do.
pub fn plan(h: &Heading<'_>, t: &Tally) -> String {
    let mut s = String::new();
    let format = h.importer.format();
    let _ = writeln!(
        s,
        "{} ({} {}) into workspace {}{}",
        terminal(h.file),
        format.label(),
        noun(h.kind),
        terminal(h.importer.workspace_name()),
        if h.dry_run { ", dry run" } else { "" }
    );
    let _ = writeln!(
        s,
        "  to create: {}, to update: {}, unchanged: {}, refused: {}",
        t.created, t.updated, t.unchanged, t.refused_count
    );
    pipelines(&mut s, h.importer, t);
    refused(&mut s, t);
    unknown(&mut s, h.importer, t);
    // An import that goes on lists them once, at its end.
    if h.dry_run {
        flagged(&mut s, t, "would miss");
    }
    s
}

fn pipelines(s: &mut String, importer: &Importer, t: &Tally) {
    if importer.format() != SourceFormat::HubSpot || t.other_pipelines.is_empty() {
        return;
    }
    let others: Vec<String> = t
        .other_pipelines
        .iter()
        .map(|(p, n)| format!("{} ({})", terminal(p), rows(*n)))
        .collect();
    let _ = writeln!(
        s,
        "  skipped, other pipelines: {}. Importing pipeline `{}`; choose another with \
         --pipeline NAME.",
        others.join(", "),
        terminal(importer.pipeline())
    );
}

fn refused(s: &mut String, t: &Tally) {
    if t.refused_count == 0 {
        return;
    }
    let _ = writeln!(s, "  refused:");
    // The file adapter refuses some rows as it reads them, the service others a batch later.
    let mut by_line: Vec<_> = t.refused.iter().collect();
    by_line.sort_by_key(|p| p.line);
    for p in by_line.into_iter().take(SHOWN) {
        let _ = writeln!(s, "    line {}: {}", p.line, terminal(&p.reason));
    }
    let listed = t.refused.len().min(SHOWN) as u64;
    if t.refused_count > listed {
        let _ = writeln!(
            s,
            "    … and {} more{}",
            rows(t.refused_count - listed),
            if t.refused_count > LISTED as u64 {
                " (run with --dry-run after fixing these to see the rest)"
            } else {
                ""
            }
        );
    }
}

fn unknown(s: &mut String, importer: &Importer, t: &Tally) {
    if !t.unknown_stages.is_empty() {
        let named: Vec<String> = t
            .unknown_stages
            .iter()
            .map(|(stage, n)| format!("`{}` ({})", terminal(stage), rows(*n)))
            .collect();
        let example = t.unknown_stages.keys().next().map_or("", |k| k.as_str());
        let _ = writeln!(
            s,
            "  stages not in the playbook: {}.\n  The playbook's stages: {}.\n  Map each, e.g. \
             --map-stage \"{}=stage-id\"; dealgate does not guess.",
            named.join(", "),
            importer.stage_list(),
            terminal(example)
        );
    }
    if !t.unknown_owners.is_empty() {
        let named: Vec<String> = t
            .unknown_owners
            .iter()
            .map(|(owner, n)| format!("`{}` ({})", terminal(owner), rows(*n)))
            .collect();
        let example = t.unknown_owners.keys().next().map_or("", |k| k.as_str());
        let _ = writeln!(
            s,
            "  owners not in the workspace: {}.\n  Its members: {}.\n  Map each, e.g. \
             --map-owner \"{}=member\" (a member's name or key).",
            named.join(", "),
            importer.member_list(),
            terminal(example)
        );
    }
}

fn flagged(s: &mut String, t: &Tally, verb: &str) {
    if t.flagged_count == 0 {
        return;
    }
    let _ = writeln!(
        s,
        "  out of process: {} {verb} a gate of a stage they passed (imported all the same, as \
         history, and flagged; a manager can approve or override):",
        t.flagged_count
    );
    for f in t.flagged.iter().take(SHOWN) {
        let deal = f.number.map_or_else(
            || terminal(&f.name),
            |n| format!("{n} {}", terminal(&f.name)),
        );
        let missed = match f.broken.as_slice() {
            [one] => one.clone(),
            [first, rest @ ..] => format!("{first}, and {} more", rest.len()),
            [] => continue,
        };
        let _ = writeln!(s, "    line {} ({deal}): {}", f.line, terminal(&missed));
    }
    let listed = t.flagged.len().min(SHOWN) as u64;
    if t.flagged_count > listed {
        let _ = writeln!(s, "    … and {} more", t.flagged_count - listed);
    }
}

/// Why the second pass does not run.
pub fn held_back(t: &Tally) -> String {
    if t.written() == 0 {
        return format!(
            "Nothing was imported: {} refused. Fix them in the file (or map their stages and \
             owners) and run again.",
            rows(t.refused_count)
        );
    }
    format!(
        "Nothing was imported: {} refused. Fix them in the file (or map their stages and owners) \
         and run again, or add --skip-refused to import the other {} and leave those out.",
        rows(t.refused_count),
        rows(t.written())
    )
}

/// The summary after the second pass.
pub fn done(h: &Heading<'_>, t: &Tally, before: (i64, i64, i64), after: (i64, i64, i64)) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Imported {}: created {}, updated {}, unchanged {}, refused and left out {}.",
        noun(h.kind),
        t.created,
        t.updated,
        t.unchanged,
        t.refused_count
    );
    flagged(&mut s, t, "miss");
    let _ = writeln!(
        s,
        "The workspace holds {} deals, {} activities and {} stage changes (before: {}, {}, {}).",
        after.0, after.1, after.2, before.0, before.1, before.2
    );
    s
}

/// Where a pass stopped, and what the person can do.
pub fn stopped(file: &str, stop: &Stop, writing: bool) -> String {
    match stop {
        Stop::File(e) if writing => format!(
            "{}: {}\nThe rows before it are imported. Fix the file and run the same command \
             again: rows already imported are found by their id and left as they are.",
            terminal(file),
            terminal(&e.to_string())
        ),
        Stop::File(e) => format!(
            "{}: {}\nNothing was imported.",
            terminal(file),
            terminal(&e.to_string())
        ),
        Stop::Batch { from_line, error } => format!(
            "{}: stopped at the batch of rows from line {from_line}: {}\n{}",
            terminal(file),
            terminal(&error.to_string()),
            if writing {
                "Nothing of that batch was written; every row before it is imported. Run the \
                 same command again to go on: rows already imported are found by their id and \
                 left as they are."
            } else {
                "Nothing was imported."
            }
        ),
    }
}
