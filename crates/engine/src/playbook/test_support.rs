//! A small valid playbook for tests to break one way at a time, and helpers to read the result.

use super::model::*;
use super::{Loaded, Problem, load_str};

/// Valid, and without warnings: each test changes one thing and looks for the one problem.
pub(super) const MINIMAL: &str = r#"name = "Test"

[[field]]
id = "champion"
name = "Champion"

[[stage]]
id = "qualify"
name = "Qualify"
probability = 10
forecast_category = "pipeline"
activities = [
  { id = "discovery-call", name = "Discovery call held" },
  { id = "pain-identified", name = "Pain identified" },
  { id = "budget-discussed", name = "Budget discussed" },
]

[[stage.gate]]
kind = "activity"
activity = "discovery-call"

[[stage]]
id = "propose"
name = "Propose"
probability = 60
forecast_category = "best_case"
activities = [
  { id = "proposal-sent", name = "Proposal sent" },
  { id = "pricing-approved", name = "Pricing approved" },
  { id = "terms-agreed", name = "Terms agreed" },
]

[[stage.gate]]
kind = "field"
field = "champion"
rule = "min_length:10"

[[stage]]
id = "closed-won"
name = "Closed Won"
outcome = "won"
probability = 100
forecast_category = "closed"

[[stage]]
id = "closed-lost"
name = "Closed Lost"
outcome = "lost"
probability = 0
forecast_category = "omitted"
"#;

/// `MINIMAL` with the first `from` replaced; panics if `from` is not there, so a test never
/// silently checks the unbroken playbook.
pub(super) fn minimal_with(from: &str, to: &str) -> String {
    assert!(MINIMAL.contains(from), "`{from}` is not in MINIMAL");
    MINIMAL.replacen(from, to, 1)
}

/// The 1-based line of the first line of `text` containing `needle`.
pub(super) fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` is not in the text"))
        + 1
}

/// The 1-based lines of `text` containing `needle`, in order.
pub(super) fn lines_of(text: &str, needle: &str) -> Vec<usize> {
    (text.lines().enumerate())
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect()
}

pub(super) fn loaded(text: &str) -> Loaded {
    load_str("test.toml", text).unwrap_or_else(|e| panic!("expected to load, got:\n{e}"))
}

pub(super) fn problems(text: &str) -> Vec<Problem> {
    match load_str("test.toml", text) {
        Ok(_) => panic!("expected a refusal, but the playbook loaded"),
        Err(e) => {
            assert_eq!(e.source_name, "test.toml");
            e.problems
        }
    }
}

/// Asserts that exactly one problem was found, at `line` and `key`, saying `words`.
pub(super) fn assert_only(problems: &[Problem], line: Option<usize>, key: &str, words: &str) {
    assert_eq!(problems.len(), 1, "expected one problem, got {problems:#?}");
    assert_has(problems, line, key, words);
}

/// Asserts that one of the problems is at `line` and `key` and its message contains `words`.
pub(super) fn assert_has(problems: &[Problem], line: Option<usize>, key: &str, words: &str) {
    assert!(
        problems
            .iter()
            .any(|p| p.line == line && p.key == key && p.message.contains(words)),
        "no problem at line {line:?}, key `{key}`, saying `{words}` in {problems:#?}"
    );
}

// --- writing a playbook as TOML (for round-trip properties) ---

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

pub(crate) fn to_toml(p: &Playbook) -> String {
    let mut out = format!(
        "name = {}\ncurrency = {}\n",
        quote(&p.name),
        quote(&p.currency)
    );
    for f in &p.fields {
        out += &format!(
            "\n[[field]]\nid = {}\nname = {}\n",
            quote(f.id.as_str()),
            quote(&f.name)
        );
        if let Some(hint) = &f.hint {
            out += &format!("hint = {}\n", quote(hint));
        }
    }
    for s in &p.stages {
        out += &format!(
            "\n[[stage]]\nid = {}\nname = {}\n",
            quote(s.id.as_str()),
            quote(&s.name)
        );
        if let Some(d) = &s.description {
            out += &format!("description = {}\n", quote(d));
        }
        out += &format!(
            "probability = {}\nforecast_category = {}\n",
            s.probability.percent(),
            quote(s.forecast_category.as_str())
        );
        match s.outcome {
            Some(Outcome::Won) => out += "outcome = \"won\"\n",
            Some(Outcome::Lost) => out += "outcome = \"lost\"\n",
            None => {}
        }
        if let Some(days) = s.stall_after_days {
            out += &format!("stall_after_days = {days}\n");
        }
        if !s.activities.is_empty() {
            out += "activities = [\n";
            for a in &s.activities {
                let hint = a
                    .hint
                    .as_ref()
                    .map(|h| format!(", hint = {}", quote(h)))
                    .unwrap_or_default();
                out += &format!(
                    "  {{ id = {}, name = {}{hint} }},\n",
                    quote(a.id.as_str()),
                    quote(&a.name)
                );
            }
            out += "]\n";
        }
        for g in &s.gates {
            out += "\n[[stage.gate]]\n";
            if let Some(label) = &g.label {
                out += &format!("label = {}\n", quote(label));
            }
            match &g.kind {
                GateKind::Activity {
                    activity,
                    scope,
                    count,
                } => {
                    let scope = match scope {
                        ActivityScope::Stage => "stage",
                        ActivityScope::Ever => "ever",
                    };
                    out += &format!(
                        "kind = \"activity\"\nactivity = {}\nscope = \"{scope}\"\ncount = {count}\n",
                        quote(activity.as_str())
                    );
                }
                GateKind::Field { field, rule } => {
                    let rule = match rule {
                        FieldRule::Present => "present".to_string(),
                        FieldRule::Positive => "positive".to_string(),
                        FieldRule::FutureDate => "future_date".to_string(),
                        FieldRule::MinLength(n) => format!("min_length:{n}"),
                    };
                    out += &format!(
                        "kind = \"field\"\nfield = {}\nrule = \"{rule}\"\n",
                        quote(field.as_str())
                    );
                }
                GateKind::Approval { role, when } => {
                    out += &format!("kind = \"approval\"\nrole = \"{role}\"\n");
                    if let Some(c) = when {
                        out += &format!(
                            "when = {{ field = {}, at_least = {} }}\n",
                            quote(c.field.as_str()),
                            c.at_least / 100
                        );
                    }
                }
            }
        }
    }
    out
}
