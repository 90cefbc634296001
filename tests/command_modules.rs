//! Keeps the modules of `src/commands/` free of import cycles: a ring of modules can only be
//! understood, changed and tested all at once, and it is how error text, help and parsing once
//! came to depend on each other.
//!
//! An edge is a `super::x` or `crate::commands::x` reference from one file to a sibling; a name
//! that `mod.rs` re-exports counts as the module it comes from. Inside a file's own `mod tests`
//! (and in `parse_tests.rs`, which is parse's), `super` is that file, so only
//! `super::super::x` and `crate::commands::x` lead elsewhere. Test code counts: a cycle through a
//! test still ties the modules together. This file sits outside `src/` because it reads files.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn the_modules_of_commands_import_each_other_without_a_cycle() {
    let graph = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands"));
    // A scan that finds nothing would pass vacuously.
    assert!(
        graph["parse"].contains("catalogue") && graph["help"].contains("reply"),
        "the scan misses known imports: {graph:#?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!("src/commands imports in a cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_scan_reads_grouped_imports_re_exports_and_test_modules() {
    let modules: BTreeSet<String> = ["a", "b", "c", "d"].map(String::from).into();
    let reexports = BTreeMap::from([("Thing".to_string(), "d".to_string())]);
    let source = "use super::{b, c::X};\nuse super::Thing;\n\
                  #[cfg(test)]\nmod tests {\n    use super::*;\n    use super::super::d;\n}\n";
    let found = references("a", source, false, &modules, &reexports);
    assert_eq!(found, ["b", "c", "d"].map(String::from).into());
    let cyclic = Graph::from([
        ("a".to_string(), ["b".to_string()].into()),
        ("b".to_string(), ["a".to_string()].into()),
    ]);
    assert_eq!(
        find_cycle(&cyclic),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
}

fn graph(dir: &Path) -> Graph {
    let read = |name: &str| fs::read_to_string(dir.join(name)).expect("src/commands is readable");
    let mut files: Vec<String> = fs::read_dir(dir)
        .expect("src/commands is readable")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".rs"))
        .collect();
    files.sort();
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| f.trim_end_matches(".rs").to_string())
        .filter(|m| m != "mod" && !m.ends_with("_tests"))
        .collect();
    let reexports = reexports(&read("mod.rs"), &modules);
    let mut graph = Graph::new();
    for file in files.iter().filter(|f| *f != "mod.rs") {
        let stem = file.trim_end_matches(".rs");
        // `#[path = "parse_tests.rs"] mod tests;` makes it the test module of `parse`.
        let (owner, all_test) = match stem.strip_suffix("_tests") {
            Some(owner) => (owner, true),
            None => (stem, false),
        };
        let found = references(owner, &read(file), all_test, &modules, &reexports);
        graph.entry(owner.to_string()).or_default().extend(found);
    }
    graph
}

/// `pub use command::{Command, UserRef};` in mod.rs: each name to its module.
fn reexports(mod_rs: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for statement in mod_rs.split(';') {
        let Some(path) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, names)) = path.split_once("::") else {
            continue;
        };
        if modules.contains(module) {
            for name in names
                .split(|c: char| !is_ident(c))
                .filter(|n| !n.is_empty())
            {
                out.insert(name.to_string(), module.to_string());
            }
        }
    }
    out
}

/// The sibling modules `source` refers to; `all_test` when the whole file is a test module.
fn references(
    owner: &str,
    source: &str,
    all_test: bool,
    modules: &BTreeSet<String>,
    reexports: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut in_test = all_test;
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or_default();
        if code.starts_with("mod tests") {
            in_test = true;
        }
        let mut names = after(code, "crate::commands::");
        names.extend(after(code, "super::super::"));
        if !in_test {
            names.extend(after(code, "super::").into_iter().filter(|n| n != "super"));
        }
        for name in names {
            let module = reexports.get(&name).unwrap_or(&name);
            if modules.contains(module) && module != owner {
                found.insert(module.clone());
            }
        }
    }
    found
}

/// The first path segment after each `prefix` in `code`; each item of a `{…}` group.
fn after(code: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        // `super::super::x` is not also `super::` followed by `super`.
        if prefix == "super::" && code[..at].ends_with("super::") {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or_default();
            out.extend(group.split(',').map(|item| ident(item.trim())));
        } else {
            out.push(ident(rest));
        }
    }
    out.retain(|name| !name.is_empty());
    out
}

fn ident(s: &str) -> String {
    s.chars().take_while(|c| is_ident(*c)).collect()
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A path that returns to where it started, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}
