//! From TOML text to a validated `Playbook`, with every problem located by line and key.

use std::fmt;
use std::ops::Range;

use thiserror::Error;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::model::Playbook;
use super::raw::RawPlaybook;
use super::validate;

/// One thing wrong (or worth a second look) in a playbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based; `None` when the problem is about the playbook as a whole (no won stage, say).
    pub line: Option<usize>,
    /// Where in the document, e.g. `stage[2].gate[1].activity`; entries count from 1.
    pub key: String,
    /// What is wrong and what would be right.
    pub message: String,
}

impl Problem {
    /// Control characters (a newline in a quoted key or value echoed back) are escaped, so that
    /// a problem always renders on one line.
    pub(super) fn new(
        line: Option<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            line,
            key: one_line(key.into()),
            message: one_line(message.into()),
        }
    }

    /// `acme.toml:12: stage[2].probability: …`, the form editors and CI logs link to a line.
    pub fn render(&self, source_name: &str) -> String {
        match self.line {
            Some(line) => format!("{source_name}:{line}: {}: {}", self.key, self.message),
            None => format!("{source_name}: {}: {}", self.key, self.message),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.key, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

/// A playbook that passed validation, and what is legal but probably a mistake.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub playbook: Playbook,
    pub warnings: Vec<Problem>,
}

/// Why a playbook was refused: every problem found, in line order.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", render_all(.source_name, .problems))]
pub struct LoadError {
    /// The file name (or template name) the problems are reported against.
    pub source_name: String,
    pub problems: Vec<Problem>,
}

fn one_line(text: String) -> String {
    if !text.contains(char::is_control) {
        return text;
    }
    (text.chars())
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn render_all(source_name: &str, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| p.render(source_name))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses and validates a playbook. `source_name` only labels the problems (a file name).
///
/// # Errors
///
/// Every problem that can be found at once: TOML syntax errors (all the parser recovers from),
/// or else an unknown key or a value of the wrong type (serde stops at the first), or else
/// every broken rule of the playbook itself.
pub fn load_str(source_name: &str, text: &str) -> Result<Loaded, LoadError> {
    let lines = LineIndex::new(text);
    let refuse = |problems| LoadError {
        source_name: source_name.to_string(),
        problems,
    };
    let raw: RawPlaybook = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(err) => return Err(refuse(toml_problems(text, &lines, &err))),
    };
    validate::validate(&raw, &lines)
        .map(|(playbook, warnings)| Loaded { playbook, warnings })
        .map_err(refuse)
}

/// Byte offsets to 1-based line numbers.
pub(super) struct LineIndex {
    /// Offset of the first byte of every line after the first.
    starts: Vec<usize>,
}

impl LineIndex {
    pub(super) fn new(text: &str) -> Self {
        Self {
            starts: text.match_indices('\n').map(|(i, _)| i + 1).collect(),
        }
    }

    pub(super) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset) + 1
    }

    pub(super) fn of<T>(&self, spanned: &Spanned<T>) -> Option<usize> {
        Some(self.line(spanned.span().start))
    }
}

/// Beyond this many, syntax errors are mostly echoes of the first ones.
const MAX_SYNTAX_PROBLEMS: usize = 10;

/// Turns a failed `toml::from_str` into problems: every syntax error the parser can recover
/// from, or else the one shape error serde stopped at (an unknown key, a value of the wrong
/// type), located by walking the parsed document to the key it is about.
fn toml_problems(text: &str, lines: &LineIndex, err: &toml::de::Error) -> Vec<Problem> {
    let (document, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        let mut problems: Vec<Problem> = syntax
            .iter()
            .take(MAX_SYNTAX_PROBLEMS)
            .map(|e| Problem::new(e.span().map(|s| lines.line(s.start)), "syntax", e.message()))
            .collect();
        if syntax.len() > MAX_SYNTAX_PROBLEMS {
            let more = syntax.len() - MAX_SYNTAX_PROBLEMS;
            problems.push(Problem::new(
                None,
                "syntax",
                format!("{more} more syntax errors not shown; fix the ones above first"),
            ));
        }
        return problems;
    }
    let span = err.span();
    let key = span
        .as_ref()
        .and_then(|span| path_to(document.get_ref(), span))
        .unwrap_or_else(|| "(top level)".to_string());
    vec![Problem::new(
        span.map(|s| lines.line(s.start)),
        key,
        humanize(err.message()),
    )]
}

/// The path of the deepest key or value whose text covers `target`, in the same notation as
/// every other problem (`stage[1].activities[2].bogus`).
fn path_to(table: &DeTable<'_>, target: &Range<usize>) -> Option<String> {
    let mut path = Vec::new();
    let mut best = None;
    search_table(table, target, &mut path, &mut best);
    best
}

fn covers(span: &Range<usize>, target: &Range<usize>) -> bool {
    span.start <= target.start && target.end <= span.end
}

fn search_table(
    table: &DeTable<'_>,
    target: &Range<usize>,
    path: &mut Vec<String>,
    best: &mut Option<String>,
) {
    for (key, value) in table {
        let segment = if path.is_empty() {
            key.get_ref().to_string()
        } else {
            format!(".{}", key.get_ref())
        };
        path.push(segment);
        if covers(&key.span(), target) || covers(&value.span(), target) {
            *best = Some(path.concat());
        }
        search_value(value, target, path, best);
        path.pop();
    }
}

fn search_value(
    value: &Spanned<DeValue<'_>>,
    target: &Range<usize>,
    path: &mut Vec<String>,
    best: &mut Option<String>,
) {
    match value.get_ref() {
        DeValue::Table(table) => search_table(table, target, path, best),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(format!("[{}]", i + 1));
                // An array-of-tables entry's span is its `[[header]]`: a match there still
                // means this entry, and its keys (searched next) are more precise when they match.
                if covers(&item.span(), target) {
                    *best = Some(path.concat());
                }
                search_value(item, target, path, best);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Serde speaks of fields, `i64` and structs; a playbook author reads keys, numbers and tables.
fn humanize(message: &str) -> String {
    let mut out = message
        .replacen("unknown field", "unknown key", 1)
        .replace(", expected", "; expected");
    out = out
        .replace("expected i64", "expected a whole number")
        .replace("a sequence", "an array");
    if let Some(at) = out.find("struct Raw") {
        let end = out[at + "struct ".len()..]
            .find(|c: char| !c.is_alphanumeric())
            .map_or(out.len(), |i| at + "struct ".len() + i);
        out.replace_range(at..end, "a table");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::test_support::*;

    #[test]
    fn malformed_toml_is_refused_with_the_parsers_line() {
        let text = minimal_with("name = \"Propose\"", "name = \"Propose");
        let line = line_of(&text, "name = \"Propose");
        assert_only(
            &problems(&text),
            Some(line),
            "syntax",
            "invalid basic string",
        );
    }

    #[test]
    fn every_recoverable_syntax_error_is_reported() {
        let text = minimal_with("probability = 10", "probability = 1O").replacen(
            "probability = 60",
            "probability = = 60",
            1,
        );
        let problems = problems(&text);
        assert_has(
            &problems,
            Some(line_of(&text, "probability = 1O")),
            "syntax",
            "",
        );
        assert_has(
            &problems,
            Some(line_of(&text, "probability = = 60")),
            "syntax",
            "",
        );
    }

    #[test]
    fn a_flood_of_syntax_errors_is_cut_short_with_a_count() {
        let text: String = (0..40).map(|i| format!("key{i} = = {i}\n")).collect();
        let problems = problems(&text);
        assert_eq!(problems.len(), MAX_SYNTAX_PROBLEMS + 1);
        assert!(
            problems
                .last()
                .unwrap()
                .message
                .contains("more syntax errors not shown")
        );
    }

    #[test]
    fn a_duplicate_key_is_a_syntax_error_at_its_line() {
        let text = minimal_with("probability = 60", "probability = 60\nprobability = 70");
        assert_only(
            &problems(&text),
            Some(line_of(&text, "probability = 70")),
            "syntax",
            "duplicate key",
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line_and_path() {
        let cases = [
            (
                minimal_with("name = \"Test\"", "name = \"Test\"\nowner = \"me\""),
                "owner =",
                "owner",
            ),
            (
                minimal_with("id = \"propose\"", "id = \"propose\"\nprobabilty = 60"),
                "probabilty",
                "stage[2].probabilty",
            ),
            (
                minimal_with(
                    "{ id = \"terms-agreed\", name = \"Terms agreed\" }",
                    "{ id = \"terms-agreed\", name = \"Terms agreed\", due = 3 }",
                ),
                "due = 3",
                "stage[2].activities[3].due",
            ),
            (
                minimal_with(
                    "rule = \"min_length:10\"",
                    "rule = \"min_length:10\"\nrequired = true",
                ),
                "required",
                "stage[2].gate[1].required",
            ),
            (
                minimal_with("id = \"champion\"", "id = \"champion\"\ntype = \"text\""),
                "type =",
                "field[1].type",
            ),
        ];
        for (text, needle, key) in cases {
            let unknown = key.rsplit('.').next().unwrap();
            assert_only(
                &problems(&text),
                Some(line_of(&text, needle)),
                key,
                &format!("unknown key `{unknown}`; expected"),
            );
        }
        let text = minimal_with(
            "kind = \"field\"",
            "kind = \"approval\"\nwhen = { field = \"amount\", over = 5 }",
        )
        .replacen("field = \"champion\"\nrule = \"min_length:10\"\n", "", 1);
        assert_only(
            &problems(&text),
            Some(line_of(&text, "over = 5")),
            "stage[2].gate[1].when.over",
            "unknown key `over`",
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_is_refused_with_its_line_and_path_in_plain_words() {
        let text = minimal_with("probability = 60", "probability = \"sixty\"");
        assert_only(
            &problems(&text),
            Some(line_of(&text, "sixty")),
            "stage[2].probability",
            "invalid type: string \"sixty\"; expected a whole number",
        );
        let text = minimal_with("probability = 60", "probability = 60.5");
        assert_only(
            &problems(&text),
            Some(line_of(&text, "60.5")),
            "stage[2].probability",
            "expected a whole number",
        );
        let text = minimal_with(
            "  { id = \"proposal-sent\", name = \"Proposal sent\" },",
            "  \"proposal-sent\",",
        );
        assert_only(
            &problems(&text),
            Some(line_of(&text, "\"proposal-sent\",")),
            "stage[2].activities[1]",
            "expected a table",
        );
        let problems = problems("name = \"Test\"\nstage = 3\n");
        assert_only(
            &problems,
            Some(2),
            "stage",
            "invalid type: integer `3`; expected an array",
        );
    }

    #[test]
    fn the_error_names_the_source_and_puts_each_problem_on_its_own_line() {
        let text = minimal_with("probability = 10", "probability = 110").replacen(
            "outcome = \"won\"",
            "outcome = \"lost\"",
            1,
        );
        let err = load_str("acme.toml", &text).unwrap_err();
        let line = line_of(&text, "probability = 110");
        assert_eq!(
            err.to_string(),
            format!(
                "acme.toml:{line}: stage[1].probability: probability 110 is out of range; use a whole percent from 0 to 100\n\
                 acme.toml: stage: there is no Closed Won stage; add one `[[stage]]` with outcome = \"won\" after the open stages"
            )
        );
        assert_eq!(
            err.problems[0].to_string(),
            format!(
                "line {line}: stage[1].probability: probability 110 is out of range; use a whole percent from 0 to 100"
            )
        );
    }

    #[test]
    fn a_value_with_a_newline_is_echoed_escaped_so_each_problem_stays_on_one_line() {
        let text = minimal_with(
            "forecast_category = \"best_case\"",
            "forecast_category = \"best\\ncase\"",
        );
        let err = load_str("test.toml", &text).unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert!(
            err.problems[0].message.contains("`best\\ncase`"),
            "{:?}",
            err.problems[0]
        );
        assert_eq!(err.to_string().lines().count(), 1);
    }

    #[test]
    fn line_numbers_count_from_one_and_follow_every_newline() {
        let lines = LineIndex::new("a\nbb\n\nc");
        let found: Vec<usize> = (0..7).map(|offset| lines.line(offset)).collect();
        assert_eq!(found, [1, 1, 2, 2, 2, 3, 4]);
        assert_eq!(LineIndex::new("").line(0), 1);
    }

    #[test]
    fn serde_words_become_playbook_words() {
        assert_eq!(
            humanize("unknown field `x`, expected `id` or `name`"),
            "unknown key `x`; expected `id` or `name`"
        );
        assert_eq!(
            humanize("invalid type: integer `3`, expected struct RawCondition"),
            "invalid type: integer `3`; expected a table"
        );
        assert_eq!(
            humanize("invalid type: string \"a\", expected a sequence"),
            "invalid type: string \"a\"; expected an array"
        );
    }
}

#[cfg(test)]
mod properties {
    //! `load_str` must never panic, whatever it is given, and whatever it accepts it must
    //! read back exactly as written.

    use proptest::prelude::*;

    use super::load_str;
    use crate::ids::{FieldName, Probability};
    use crate::playbook::model::*;
    use crate::playbook::templates::{TEMPLATES, template_source};

    fn check_never_panics(text: &str) {
        let line_count = text.lines().count() + 1;
        if let Err(err) = load_str("fuzz.toml", text) {
            assert!(!err.problems.is_empty(), "a refusal always says why");
            assert_eq!(
                err.to_string().lines().count(),
                err.problems.len(),
                "one line per problem"
            );
            for p in &err.problems {
                assert!(
                    p.line.is_none_or(|l| (1..=line_count).contains(&l)),
                    "{p:?} in a {line_count}-line text"
                );
                assert!(!p.key.is_empty() && !p.message.is_empty(), "{p:?}");
            }
        }
    }

    proptest! {
        #[test]
        fn loading_arbitrary_text_never_panics(text in any::<String>()) {
            check_never_panics(&text);
        }

        #[test]
        fn loading_a_damaged_template_never_panics(
            which in 0..TEMPLATES.len(),
            at in 0.0..1.0f64,
            cut in 0usize..200,
            insert in "(?s).{0,20}",
        ) {
            let source = template_source(TEMPLATES[which].0).unwrap();
            let boundaries: Vec<usize> = source.char_indices().map(|(i, _)| i).chain([source.len()]).collect();
            let start = boundaries[((boundaries.len() - 1) as f64 * at) as usize];
            let end = boundaries.iter().copied().find(|&b| b >= start + cut).unwrap_or(source.len());
            let damaged = format!("{}{insert}{}", &source[..start], &source[end..]);
            check_never_panics(&damaged);
        }

        #[test]
        fn loading_a_template_without_one_of_its_lines_never_panics(which in 0..TEMPLATES.len(), drop in any::<prop::sample::Index>()) {
            let source = template_source(TEMPLATES[which].0).unwrap();
            let lines: Vec<&str> = source.lines().collect();
            let drop = drop.index(lines.len());
            let damaged: String = lines.iter().enumerate().filter(|(i, _)| *i != drop).map(|(_, l)| format!("{l}\n")).collect();
            check_never_panics(&damaged);
        }

        #[test]
        fn a_valid_playbook_written_as_toml_loads_back_unchanged(playbook in arb_playbook()) {
            let text = crate::playbook::test_support::to_toml(&playbook);
            match load_str("roundtrip.toml", &text) {
                Ok(loaded) => prop_assert_eq!(loaded.playbook, playbook, "text:\n{}", text),
                Err(err) => prop_assert!(false, "refused:\n{}\ntext:\n{}", err, text),
            }
        }
    }

    // --- generating valid playbooks -----------------------------------------------------------

    /// Any non-blank text, control characters, quotes and newlines included.
    fn text() -> impl Strategy<Value = String> {
        "(?s).{1,24}".prop_filter("names are not blank", |s| !s.trim().is_empty())
    }

    fn slug() -> impl Strategy<Value = String> {
        "[a-z0-9][a-z0-9_-]{0,12}"
    }

    #[derive(Debug, Clone)]
    struct GateSpec {
        kind: u8,
        pick: usize,
        count: u32,
        rule: u8,
        min_length: u32,
        admin: bool,
        at_least: Option<i64>,
        label: Option<String>,
    }

    fn gate_spec() -> impl Strategy<Value = GateSpec> {
        (
            0u8..3,
            any::<usize>(),
            1u32..5,
            0u8..2,
            1u32..200,
            any::<bool>(),
            prop::option::of(0i64..1_000_000_000),
            prop::option::of(text()),
        )
            .prop_map(
                |(kind, pick, count, rule, min_length, admin, at_least, label)| GateSpec {
                    kind,
                    pick,
                    count,
                    rule,
                    min_length,
                    admin,
                    at_least,
                    label,
                },
            )
    }

    type StageSpec = (
        String,
        String,
        Option<String>,
        u8,
        ForecastCategory,
        Option<u32>,
        Vec<(String, String, Option<String>)>,
        Vec<GateSpec>,
    );

    fn category() -> impl Strategy<Value = ForecastCategory> {
        prop::sample::select(ForecastCategory::ALL.to_vec())
    }

    fn stage_spec() -> impl Strategy<Value = StageSpec> {
        (
            slug(),
            text(),
            prop::option::of(text()),
            0u8..=100,
            category(),
            prop::option::of(1u32..400),
            prop::collection::vec((slug(), text(), prop::option::of(text())), 0..5),
            prop::collection::vec(gate_spec(), 0..4),
        )
    }

    fn arb_playbook() -> impl Strategy<Value = Playbook> {
        (
            text(),
            "[A-Z]{3}",
            prop::collection::vec((slug(), text(), prop::option::of(text())), 0..4),
            prop::collection::vec(stage_spec(), 1..6),
            prop::collection::vec((slug(), text(), 0u8..=100, category()), 2..4),
        )
            .prop_map(|(name, currency, fields, open, closed)| {
                build(name, currency, fields, open, closed)
            })
    }

    /// Turns random specs into a playbook that is valid by construction: ids are made unique
    /// by a numbered prefix, and each gate's `pick` chooses among what it may legally name.
    fn build(
        name: String,
        currency: String,
        fields: Vec<(String, String, Option<String>)>,
        open: Vec<StageSpec>,
        closed: Vec<(String, String, u8, ForecastCategory)>,
    ) -> Playbook {
        let fields: Vec<CustomField> = fields
            .into_iter()
            .enumerate()
            .map(|(i, (id, name, hint))| CustomField {
                id: format!("f{i}{id}").parse().unwrap(),
                name,
                hint,
            })
            .collect();
        let mut stages: Vec<Stage> = open
            .iter()
            .enumerate()
            .map(
                |(i, (id, name, description, p, category, stall, activities, _))| Stage {
                    id: format!("s{i}{id}").parse().unwrap(),
                    name: name.clone(),
                    description: description.clone(),
                    probability: Probability::new(i64::from(*p)).unwrap(),
                    forecast_category: *category,
                    outcome: None,
                    stall_after_days: *stall,
                    activities: activities
                        .iter()
                        .enumerate()
                        .map(|(j, (id, name, hint))| Activity {
                            id: format!("a{i}-{j}{id}").parse().unwrap(),
                            name: name.clone(),
                            hint: hint.clone(),
                        })
                        .collect(),
                    gates: Vec::new(),
                },
            )
            .collect();
        let all_activities: Vec<_> = stages
            .iter()
            .flat_map(|s| s.activities.iter().map(|a| a.id.clone()))
            .collect();
        let mut field_names: Vec<FieldName> =
            BUILTIN_FIELDS.iter().map(|f| f.parse().unwrap()).collect();
        field_names.extend(fields.iter().map(|f| f.id.clone()));
        for (i, spec) in open.iter().enumerate() {
            let own: Vec<_> = stages[i].activities.iter().map(|a| a.id.clone()).collect();
            stages[i].gates = spec
                .7
                .iter()
                .map(|g| gate(g, &own, &all_activities, &field_names))
                .collect();
        }
        for (k, (id, name, p, category)) in closed.into_iter().enumerate() {
            stages.push(Stage {
                id: format!("c{k}{id}").parse().unwrap(),
                name,
                description: None,
                probability: Probability::new(i64::from(p)).unwrap(),
                forecast_category: category,
                outcome: Some(if k == 0 { Outcome::Won } else { Outcome::Lost }),
                stall_after_days: None,
                activities: Vec::new(),
                gates: Vec::new(),
            });
        }
        Playbook {
            name,
            currency,
            stages,
            fields,
        }
    }

    fn gate(
        spec: &GateSpec,
        own: &[crate::ids::ActivityId],
        all: &[crate::ids::ActivityId],
        fields: &[FieldName],
    ) -> Gate {
        let kind = match spec.kind {
            0 if !own.is_empty() && spec.rule == 0 => GateKind::Activity {
                activity: own[spec.pick % own.len()].clone(),
                scope: ActivityScope::Stage,
                count: spec.count,
            },
            0 if !all.is_empty() => GateKind::Activity {
                activity: all[spec.pick % all.len()].clone(),
                scope: ActivityScope::Ever,
                count: spec.count,
            },
            1 => {
                let field = fields[spec.pick % fields.len()].clone();
                let rule = match (field.as_str(), spec.rule) {
                    (_, 0) => FieldRule::Present,
                    ("amount", _) => FieldRule::Positive,
                    ("close_date", _) => FieldRule::FutureDate,
                    _ => FieldRule::MinLength(spec.min_length),
                };
                GateKind::Field { field, rule }
            }
            _ => GateKind::Approval {
                role: if spec.admin {
                    Role::Admin
                } else {
                    Role::Manager
                },
                when: spec.at_least.map(|major| Condition {
                    field: "amount".parse().unwrap(),
                    at_least: major * 100,
                }),
            },
        };
        Gate {
            label: spec.label.clone(),
            kind,
        }
    }
}
