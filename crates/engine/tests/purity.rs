//! Keeps the engine pure: no clock, no I/O, no async runtime or database. The compiler already
//! keeps it from naming the application (it is a crate of its own); these checks cover what the
//! compiler allows: the crates it may depend on, and what its own sources call.
//!
//! Both checks cover whatever is there, with no list of files to keep up to date. This file sits
//! outside `src/` because it reads files itself, which is fine for a test and nowhere else.

use std::fs;
use std::path::{Path, PathBuf};

/// Crates that do I/O, keep time or run effects; a name matches its family (`tokio-util`).
/// Randomness from the OS is as impure as the clock, and logging is output.
const IO_CRATES: &[&str] = &[
    "tokio",
    "sqlx",
    "serenity",
    "reqwest",
    "hyper",
    "axum",
    "tower",
    "tracing",
    "log",
    "env_logger",
    "mio",
    "socket2",
    "async-std",
    "smol",
    "ureq",
    "rusqlite",
    "postgres",
    "libc",
    "nix",
    "rustls",
    "native-tls",
    "openssl",
    "notify",
    "tempfile",
    "dirs",
    "getrandom",
    "rand",
];

/// What the engine's code must not say, with why. Paths match however they are imported:
/// `use std::{fs, io};` counts as `std::fs` and `std::io`.
const FORBIDDEN: &[(&str, &str)] = &[
    ("std::fs", "the file system"),
    ("std::net", "the network"),
    ("std::io", "reads or writes streams"),
    ("std::env", "reads the process environment"),
    ("std::process", "runs or ends processes"),
    ("std::os", "talks to the operating system"),
    ("std::thread", "threads and sleeping"),
    ("thread::sleep", "waits on the wall clock"),
    ("std::time::SystemTime", "the wall clock"),
    ("std::time::Instant", "the monotonic clock"),
    ("SystemTime::now", "reads the wall clock"),
    ("Instant::now", "reads the monotonic clock"),
    ("Utc::now", "reads the wall clock"),
    ("Local::now", "reads the wall clock"),
    ("tokio", "async runtime and I/O"),
    ("sqlx", "the database"),
    ("serenity", "Discord"),
    ("reqwest", "HTTP"),
    ("tracing", "logging is output"),
    ("println!", "writes to stdout"),
    ("print!", "writes to stdout"),
    ("eprintln!", "writes to stderr"),
    ("eprint!", "writes to stderr"),
    ("dbg!", "writes to stderr"),
];

#[test]
fn the_engine_depends_on_no_io_crate() {
    let found = io_dependencies(include_str!("../Cargo.toml"));
    assert!(
        found.is_empty(),
        "crates/engine/Cargo.toml depends on crates that do I/O: {found:?}"
    );
}

#[test]
fn no_engine_source_reads_a_clock_or_does_io() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = rust_files(&src);
    // A walk that found nothing would pass vacuously.
    assert!(
        files.iter().any(|f| f.ends_with("lib.rs")) && files.iter().any(|f| f.ends_with("mod.rs")),
        "expected the engine's sources under {}, found {files:?}",
        src.display()
    );
    let mut problems = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).expect("engine source is readable UTF-8");
        let shown = file.strip_prefix(&src).unwrap_or(file).display();
        for (line, word, why) in violations(&text) {
            problems.push(format!(
                "crates/engine/src/{shown}:{line}: `{word}` ({why})"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "the engine must stay pure:\n{}",
        problems.join("\n")
    );
}

/// Every `.rs` file under `dir`, at any depth, in a stable order.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// The crates a manifest depends on (normal, build and per-target) that belong to an I/O family,
/// by their real name when a dependency is renamed with `package = "…"`.
fn io_dependencies(manifest: &str) -> Vec<String> {
    let manifest: toml::Table = manifest.parse().expect("Cargo.toml parses");
    let targets = manifest
        .get("target")
        .and_then(toml::Value::as_table)
        .into_iter()
        .flat_map(|targets| targets.values().filter_map(toml::Value::as_table));
    let tables = sections(&manifest).chain(targets.flat_map(sections));
    let mut found = Vec::new();
    for deps in tables {
        for (key, spec) in deps {
            let name = spec
                .get("package")
                .and_then(toml::Value::as_str)
                .unwrap_or(key);
            let in_family = |family: &&str| {
                name.strip_prefix(*family)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '_']))
            };
            if IO_CRATES.iter().any(in_family) {
                found.push(name.to_string());
            }
        }
    }
    found.sort();
    found
}

/// The dependency tables of a manifest or of one of its `[target.…]` tables.
fn sections(table: &toml::Table) -> impl Iterator<Item = &toml::Table> {
    ["dependencies", "build-dependencies"]
        .into_iter()
        .filter_map(|key| table.get(key).and_then(toml::Value::as_table))
}

/// Each forbidden word in `source` as (line, word, why). Comment lines are skipped so that a
/// comment may say what the code must not do; a comment after code on the same line is not.
fn violations(source: &str) -> Vec<(usize, &'static str, &'static str)> {
    let mut found = Vec::new();
    // The code without comment lines, on one line with single spaces, and each byte's line
    // number: grouped imports are often written over several lines.
    let mut packed = String::new();
    let mut line_of = Vec::new();
    for (n, line) in source.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for &(word, why) in FORBIDDEN {
            if line.contains(word) {
                found.push((n + 1, word, why));
            }
        }
        for c in line.chars().chain(['\n']) {
            let c = if c.is_whitespace() { ' ' } else { c };
            if !(c == ' ' && packed.ends_with(' ')) {
                packed.push(c);
                line_of.extend(std::iter::repeat_n(n + 1, c.len_utf8()));
            }
        }
    }
    for (at, _) in packed.match_indices("::{") {
        let start = packed[..at]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map_or(0, |i| i + 1);
        let mut paths = Vec::new();
        expand(&packed[start..], &mut paths);
        for path in paths {
            for &(word, why) in FORBIDDEN {
                let entry = (line_of[at], word, why);
                if path.starts_with(word) && !found.contains(&entry) {
                    found.push(entry);
                }
            }
        }
    }
    found.sort();
    found
}

/// The paths one `use` tree names, from `prefix::{…}` with its braces expanded:
/// `std::{fs, time::{Instant}}` gives `std::fs` and `std::time::Instant`.
fn expand(tree: &str, out: &mut Vec<String>) {
    let Some(open) = tree.find("::{") else {
        let end = tree.find([',', '}', ';']).unwrap_or(tree.len());
        out.push(tree[..end].to_string());
        return;
    };
    let prefix = &tree[..open];
    let mut depth = 0;
    let mut item_start = open + 3;
    for (i, c) in tree.char_indices().skip_while(|&(i, _)| i < open + 2) {
        match c {
            '{' => depth += 1,
            '}' | ',' if depth == 1 => {
                let item = tree[item_start..i].trim();
                if !item.is_empty() {
                    expand(&format!("{prefix}::{item}"), out);
                }
                item_start = i + 1;
                if c == '}' {
                    return;
                }
            }
            '}' => depth -= 1,
            _ => {}
        }
    }
}

#[test]
fn the_source_check_finds_a_clock_read() {
    let source = "pub fn stamp() -> DateTime<Utc> {\n    chrono::Utc::now()\n}\n";
    assert_eq!(
        violations(source),
        [(2, "Utc::now", "reads the wall clock")]
    );
}

#[test]
fn the_source_check_sees_through_grouped_imports() {
    let source = "use std::collections::BTreeMap;\nuse std::{\n    fmt,\n    time::{Duration, SystemTime},\n    fs::read_to_string,\n};\n";
    let words: Vec<_> = violations(source)
        .into_iter()
        .map(|(line, word, _)| (line, word))
        .collect();
    assert_eq!(words, [(2, "std::fs"), (2, "std::time::SystemTime")]);
}

#[test]
fn the_source_check_passes_pure_code_and_comments() {
    let source = "//! Never `Utc::now`: time comes in as a value.\nuse std::{collections::BTreeMap, fmt};\n\nfn f(now: DateTime<Utc>) -> bool {\n    // not std::fs either\n    now.year() > 2000\n}\n";
    assert_eq!(violations(source), []);
}

#[test]
fn the_dependency_check_finds_io_crates_however_named() {
    let manifest = r#"
[package]
name = "x"

[dependencies]
chrono = "0.4"
tokio-util = "0.7"
rt = { package = "tokio", version = "1" }
serde.workspace = true

[target.'cfg(unix)'.dependencies]
libc = "0.2"

[dev-dependencies]
tempfile = "3"
"#;
    assert_eq!(io_dependencies(manifest), ["libc", "tokio", "tokio-util"]);
}
