//! The rules a playbook must satisfy, checked on the raw document so that every problem is
//! reported at once, each at its own line, before a `Playbook` is built.
//!
//! Each check returns `Option`: `None` means "reported, nothing to build", and the playbook is
//! built only when every part came back `Some` and no error was recorded.

mod gates;
mod structure;
mod warnings;

use std::collections::HashMap;
use std::str::FromStr;

use toml::Spanned;

use crate::ids::{ActivityId, FieldName, Probability, StageId, ValueError};

use super::load::{LineIndex, Problem};
use super::model::{
    Activity, BUILTIN_FIELDS, CustomField, ForecastCategory, Outcome, Playbook, Stage,
};
use super::raw::{RawActivity, RawField, RawPlaybook, RawStage};
use structure::StageKind;

/// Checks `raw`; on success returns the playbook and its warnings, otherwise every error found,
/// in line order.
pub(super) fn validate(
    raw: &RawPlaybook,
    lines: &LineIndex,
) -> Result<(Playbook, Vec<Problem>), Vec<Problem>> {
    let mut check = Check {
        lines,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let mut known = Known::default();

    let name = check.required_text(raw.name.as_ref(), None, "name", "e.g. name = \"Acme B2B\"");
    let currency = check.currency(raw.currency.as_ref());
    let fields: Vec<_> = raw
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| check.field(i, f, &mut known))
        .collect();
    let mut stages: Vec<_> = raw
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| check.stage(i, s, &mut known))
        .collect();
    let kinds = check.structure(&raw.stages);
    // Gates come last: they may name an activity recommended by any stage, or any field.
    for (i, stage) in raw.stages.iter().enumerate() {
        let terminal = matches!(kinds[i], StageKind::Terminal(_));
        if let (Some(gates), Some(Some(built))) =
            (check.gates(i, stage, terminal, &known), stages.get_mut(i))
        {
            built.gates = gates;
        }
    }

    let built = (|| {
        Some(Playbook {
            name: name?,
            currency: currency?,
            stages: stages.into_iter().collect::<Option<_>>()?,
            fields: fields.into_iter().collect::<Option<_>>()?,
        })
    })();
    match built {
        Some(playbook) if check.errors.is_empty() => {
            check.warn_about(&playbook, &raw.stages);
            Ok((playbook, sorted(check.warnings)))
        }
        _ => {
            if check.errors.is_empty() {
                // Every check that returns `None` reports why; this only guards that promise.
                check.error(
                    None,
                    "(top level)",
                    "the playbook could not be built; please report this",
                );
            }
            Err(sorted(check.errors))
        }
    }
}

fn sorted(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort_by_key(|p| (p.line.is_none(), p.line));
    problems
}

const CATEGORIES: &str = "pipeline, best_case, commit, closed, omitted";

/// Names collected while checking fields and stages, for the checks that refer to them.
#[derive(Default)]
struct Known {
    /// Activity id → (index of the stage recommending it, line of its id).
    activities: HashMap<String, (usize, Option<usize>)>,
    /// Stage id → line of its id.
    stages: HashMap<String, Option<usize>>,
    /// How messages name each stage: `qualify`, or `stage[3]` when it has no usable id.
    stage_names: Vec<String>,
    /// Custom field id → line of its id.
    fields: HashMap<String, Option<usize>>,
}

struct Check<'a> {
    lines: &'a LineIndex,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
}

/// The last segment of a key path: the key as the author typed it.
fn leaf(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

fn on_line(line: Option<usize>) -> String {
    line.map(|l| format!(" on line {l}")).unwrap_or_default()
}

fn parse_outcome(s: &str) -> Option<Outcome> {
    match s {
        "won" => Some(Outcome::Won),
        "lost" => Some(Outcome::Lost),
        _ => None,
    }
}

impl Check<'_> {
    fn error(&mut self, line: Option<usize>, key: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Problem::new(line, key, message));
    }

    fn error_at<T>(&mut self, at: &Spanned<T>, key: impl Into<String>, message: impl Into<String>) {
        self.error(self.lines.of(at), key, message);
    }

    fn warn(&mut self, line: Option<usize>, key: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Problem::new(line, key, message));
    }

    /// Reports a required key as missing, at the line of the table that should hold it.
    fn missing<T>(&mut self, table: Option<usize>, key: &str, hint: &str) -> Option<T> {
        self.error(table, key, format!("missing `{}`; {hint}", leaf(key)));
        None
    }

    /// A text value that must be there and say something.
    fn required_text(
        &mut self,
        value: Option<&Spanned<String>>,
        table: Option<usize>,
        key: &str,
        hint: &str,
    ) -> Option<String> {
        let Some(v) = value else {
            return self.missing(table, key, hint);
        };
        if v.get_ref().trim().is_empty() {
            self.error_at(v, key, format!("`{}` is empty; {hint}", leaf(key)));
            return None;
        }
        Some(v.get_ref().clone())
    }

    /// An optional text value: absent is fine, blank is a slip worth pointing out.
    fn optional_text(&mut self, value: Option<&Spanned<String>>, key: &str) -> Option<String> {
        let v = value?;
        if v.get_ref().trim().is_empty() {
            let name = leaf(key);
            self.error_at(
                v,
                key,
                format!("`{name}` is empty; write one or leave `{name}` out"),
            );
            return None;
        }
        Some(v.get_ref().clone())
    }

    /// A required id, parsed by its newtype, whose error already says what a good id is.
    fn required_slug<T: FromStr<Err = ValueError>>(
        &mut self,
        value: Option<&Spanned<String>>,
        table: Option<usize>,
        key: &str,
        hint: &str,
    ) -> Option<T> {
        let Some(v) = value else {
            return self.missing(table, key, hint);
        };
        v.get_ref()
            .parse::<T>()
            .map_err(|e| self.error_at(v, key, e.to_string()))
            .ok()
    }

    /// One of a fixed set of words: `parse` recognises them, `options` lists them for the reader.
    fn choice<T>(
        &mut self,
        v: &Spanned<String>,
        key: &str,
        what: &str,
        options: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let parsed = parse(v.get_ref());
        if parsed.is_none() {
            self.error_at(
                v,
                key,
                format!("unknown {what} `{}`; use one of {options}", v.get_ref()),
            );
        }
        parsed
    }

    fn currency(&mut self, value: Option<&Spanned<String>>) -> Option<String> {
        let Some(v) = value else {
            return Some("USD".to_string());
        };
        let code = v.get_ref();
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Some(code.clone());
        }
        let message = format!(
            "`{code}` is not a currency code; use its three capital letters (ISO 4217), \
             e.g. USD, EUR, GBP"
        );
        self.error_at(v, "currency", message);
        None
    }

    fn field(&mut self, i: usize, f: &Spanned<RawField>, known: &mut Known) -> Option<CustomField> {
        let key = format!("field[{}]", i + 1);
        let (line, raw) = (self.lines.of(f), f.get_ref());
        let id_key = format!("{key}.id");
        let id: Option<FieldName> =
            self.required_slug(raw.id.as_ref(), line, &id_key, "e.g. id = \"champion\"");
        let id = id.and_then(|id| {
            let at = raw.id.as_ref().and_then(|v| self.lines.of(v));
            let clash = if BUILTIN_FIELDS.contains(&id.as_str()) {
                Some(format!(
                    "`{id}` is a built-in field ({}); a custom field needs an id of its own",
                    BUILTIN_FIELDS.join(", ")
                ))
            } else {
                known.fields.get(id.as_str()).map(|first| {
                    format!(
                        "field `{id}` is already declared{}; give each field its own id",
                        on_line(*first)
                    )
                })
            };
            if let Some(message) = clash {
                self.error(at, &id_key, message);
                return None;
            }
            known.fields.insert(id.as_str().to_string(), at);
            Some(id)
        });
        let name_hint = "say what the field holds, e.g. name = \"Champion\"";
        let name = self.required_text(raw.name.as_ref(), line, &format!("{key}.name"), name_hint);
        let hint = self.optional_text(raw.hint.as_ref(), &format!("{key}.hint"));
        Some(CustomField {
            id: id?,
            name: name?,
            hint,
        })
    }

    fn stage(&mut self, i: usize, s: &Spanned<RawStage>, known: &mut Known) -> Option<Stage> {
        let key = format!("stage[{}]", i + 1);
        let (line, raw) = (self.lines.of(s), s.get_ref());

        let id_key = format!("{key}.id");
        let id: Option<StageId> =
            self.required_slug(raw.id.as_ref(), line, &id_key, "e.g. id = \"qualify\"");
        let id = id.and_then(|id| {
            let at = raw.id.as_ref().and_then(|v| self.lines.of(v));
            if let Some(first) = known.stages.get(id.as_str()) {
                let message = format!(
                    "stage id `{id}` is already used{}; give each stage its own id",
                    on_line(*first)
                );
                self.error(at, &id_key, message);
                return None;
            }
            known.stages.insert(id.as_str().to_string(), at);
            Some(id)
        });
        known
            .stage_names
            .push(id.as_ref().map_or_else(|| key.clone(), ToString::to_string));

        let name_hint = "name the stage as people say it, e.g. name = \"Qualify\"";
        let name = self.required_text(raw.name.as_ref(), line, &format!("{key}.name"), name_hint);
        let description =
            self.optional_text(raw.description.as_ref(), &format!("{key}.description"));

        let probability_key = format!("{key}.probability");
        let probability = match &raw.probability {
            None => {
                let hint = "give the chance of closing from this stage as a whole percent, \
                            e.g. probability = 20";
                self.missing(line, &probability_key, hint)
            }
            Some(p) => Probability::new(*p.get_ref()).or_else(|| {
                let message = format!(
                    "probability {} is out of range; use a whole percent from 0 to 100",
                    p.get_ref()
                );
                self.error_at(p, &probability_key, message);
                None
            }),
        };

        let category_key = format!("{key}.forecast_category");
        let forecast_category = match &raw.forecast_category {
            None => self.missing(line, &category_key, &format!("use one of {CATEGORIES}")),
            Some(c) => self.choice(
                c,
                &category_key,
                "forecast category",
                CATEGORIES,
                ForecastCategory::parse,
            ),
        };

        let outcome = match &raw.outcome {
            None => Some(None),
            Some(o) => {
                let options = "won, lost (or leave `outcome` out for an open stage)";
                self.choice(
                    o,
                    &format!("{key}.outcome"),
                    "outcome",
                    options,
                    parse_outcome,
                )
                .map(Some)
            }
        };

        let stall_after_days = match &raw.stall_after_days {
            None => Some(None),
            Some(d) => match u32::try_from(*d.get_ref()) {
                Ok(days) if days >= 1 => Some(Some(days)),
                _ => {
                    let message = format!(
                        "stall_after_days {} is not a number of days; use a whole number of at \
                         least 1, or leave it out so deals in this stage never count as stalled",
                        d.get_ref()
                    );
                    self.error_at(d, format!("{key}.stall_after_days"), message);
                    None
                }
            },
        };

        let activities: Vec<_> = (raw.activities.iter().enumerate())
            .map(|(j, a)| self.activity(i, &key, j, a, known))
            .collect();
        Some(Stage {
            id: id?,
            name: name?,
            description,
            probability: probability?,
            forecast_category: forecast_category?,
            outcome: outcome?,
            stall_after_days: stall_after_days?,
            activities: activities.into_iter().collect::<Option<_>>()?,
            gates: Vec::new(),
        })
    }

    fn activity(
        &mut self,
        stage: usize,
        stage_key: &str,
        j: usize,
        a: &Spanned<RawActivity>,
        known: &mut Known,
    ) -> Option<Activity> {
        let key = format!("{stage_key}.activities[{}]", j + 1);
        let (line, raw) = (self.lines.of(a), a.get_ref());
        let id_key = format!("{key}.id");
        let id: Option<ActivityId> = self.required_slug(
            raw.id.as_ref(),
            line,
            &id_key,
            "e.g. id = \"discovery-call\"",
        );
        let id = id.and_then(|id| {
            let at = raw.id.as_ref().and_then(|v| self.lines.of(v));
            if let Some(&(owner, first)) = known.activities.get(id.as_str()) {
                let message = format!(
                    "activity id `{id}` is already used in stage `{}`{}; activity ids are unique \
                     across the playbook, since `/log` names an activity by its id alone",
                    known.stage_names[owner],
                    on_line(first)
                );
                self.error(at, &id_key, message);
                return None;
            }
            known
                .activities
                .insert(id.as_str().to_string(), (stage, at));
            Some(id)
        });
        let name_hint = "say what was done, e.g. name = \"Discovery call held\"";
        let name = self.required_text(raw.name.as_ref(), line, &format!("{key}.name"), name_hint);
        let hint = self.optional_text(raw.hint.as_ref(), &format!("{key}.hint"));
        Some(Activity {
            id: id?,
            name: name?,
            hint,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::playbook::test_support::*;
    use crate::playbook::{ForecastCategory, Outcome};

    #[test]
    fn the_minimal_playbook_loads_without_warnings() {
        let loaded = loaded(MINIMAL);
        assert!(loaded.warnings.is_empty(), "{:#?}", loaded.warnings);
        let playbook = loaded.playbook;
        assert_eq!(playbook.name, "Test");
        assert_eq!(playbook.currency, "USD", "currency defaults to USD");
        let ids: Vec<&str> = playbook.stages.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["qualify", "propose", "closed-won", "closed-lost"]);
        assert_eq!(playbook.won_stage().outcome, Some(Outcome::Won));
        assert_eq!(
            playbook.stages[1].forecast_category,
            ForecastCategory::BestCase
        );
        assert_eq!(playbook.fields[0].id.as_str(), "champion");
    }

    #[test]
    fn a_playbook_without_stages_is_refused() {
        let problems = problems("name = \"Empty\"\n");
        assert_only(&problems, None, "stage", "no stages");
    }

    #[test]
    fn a_playbook_of_terminal_stages_only_is_refused_for_having_no_open_stage() {
        let start = MINIMAL.find("[[stage]]\nid = \"closed-won\"").unwrap();
        let text = format!("name = \"Closed only\"\n{}", &MINIMAL[start..]);
        assert_only(&problems(&text), None, "stage", "no open stage");
    }

    #[test]
    fn a_duplicate_stage_id_is_refused_at_the_second_id_naming_the_first() {
        let text = minimal_with("id = \"propose\"", "id = \"qualify\"");
        let [first, second] = lines_of(&text, "id = \"qualify\"")[..] else {
            panic!()
        };
        let message = format!("already used on line {first}");
        assert_only(&problems(&text), Some(second), "stage[2].id", &message);
    }

    #[test]
    fn a_duplicate_activity_id_is_refused_even_across_stages() {
        let text = minimal_with("id = \"terms-agreed\"", "id = \"pain-identified\"");
        let line = line_of(&text, "{ id = \"pain-identified\", name = \"Terms agreed\"");
        assert_only(
            &problems(&text),
            Some(line),
            "stage[2].activities[3].id",
            "already used in stage `qualify`",
        );
    }

    #[test]
    fn a_duplicate_field_id_is_refused() {
        let text = minimal_with(
            "[[stage]]",
            "[[field]]\nid = \"champion\"\nname = \"Again\"\n\n[[stage]]",
        );
        assert_only(
            &problems(&text),
            Some(line_of(&text, "name = \"Again\"") - 1),
            "field[2].id",
            "already declared on line 4",
        );
    }

    #[test]
    fn a_custom_field_named_like_a_built_in_is_refused() {
        for builtin in ["name", "amount", "close_date"] {
            let text = minimal_with("id = \"champion\"", &format!("id = \"{builtin}\""));
            let problems = problems(&text);
            assert_has(&problems, Some(4), "field[1].id", "is a built-in field");
        }
    }

    #[test]
    fn a_probability_outside_0_to_100_is_refused_with_its_line() {
        for bad in ["101", "-5"] {
            let text = minimal_with("probability = 60", &format!("probability = {bad}"));
            let line = line_of(&text, &format!("probability = {bad}"));
            assert_only(
                &problems(&text),
                Some(line),
                "stage[2].probability",
                "use a whole percent from 0 to 100",
            );
        }
    }

    #[test]
    fn a_playbook_without_a_won_stage_is_refused() {
        let text = minimal_with("outcome = \"won\"", "outcome = \"lost\"");
        assert_only(&problems(&text), None, "stage", "no Closed Won stage");
    }

    #[test]
    fn a_second_won_stage_is_refused_at_its_outcome() {
        let text = minimal_with("outcome = \"lost\"", "outcome = \"won\"");
        let line = line_of(&text, "id = \"closed-lost\"") + 2;
        let problems = problems(&text);
        assert_has(
            &problems,
            Some(line),
            "stage[4].outcome",
            "a second won stage (the first is `closed-won`)",
        );
        assert_has(&problems, None, "stage", "no Closed Lost stage");
        assert_eq!(problems.len(), 2);
    }

    #[test]
    fn an_open_stage_after_a_terminal_stage_is_refused_at_its_header() {
        let text = format!(
            "{MINIMAL}\n[[stage]]\nid = \"late\"\nname = \"Late\"\nprobability = 70\n\
             forecast_category = \"commit\"\n"
        );
        let line = line_of(&text, "id = \"late\"") - 1;
        assert_only(
            &problems(&text),
            Some(line),
            "stage[5]",
            "open stage `late` comes after the terminal stage `closed-won`",
        );
    }

    #[test]
    fn an_unknown_forecast_category_is_refused_with_the_categories_that_exist() {
        let text = minimal_with(
            "forecast_category = \"best_case\"",
            "forecast_category = \"maybe\"",
        );
        let line = line_of(&text, "\"maybe\"");
        assert_only(
            &problems(&text),
            Some(line),
            "stage[2].forecast_category",
            "unknown forecast category `maybe`; use one of pipeline, best_case, commit, closed, omitted",
        );
    }

    #[test]
    fn an_unknown_outcome_is_refused() {
        let text = minimal_with("outcome = \"lost\"", "outcome = \"abandoned\"");
        let problems = problems(&text);
        assert_has(
            &problems,
            Some(line_of(&text, "abandoned")),
            "stage[4].outcome",
            "unknown outcome `abandoned`; use one of won, lost",
        );
    }

    #[test]
    fn ids_that_are_not_slugs_are_refused_with_what_a_good_id_looks_like() {
        let cases = [
            ("id = \"qualify\"", "id = \"Qualify Stage\"", "stage[1].id"),
            (
                "id = \"proposal-sent\"",
                "id = \"proposal sent\"",
                "stage[2].activities[1].id",
            ),
            ("id = \"champion\"", "id = \"Champion\"", "field[1].id"),
        ];
        for (from, to, key) in cases {
            let text = minimal_with(from, to);
            let problems = problems(&text);
            assert_has(
                &problems,
                Some(line_of(&text, to)),
                key,
                "is not a valid id; use 1 to 64 lowercase letters",
            );
        }
    }

    #[test]
    fn a_missing_required_key_is_reported_at_the_line_of_its_table() {
        let text = minimal_with("probability = 60\n", "");
        let header = line_of(&text, "id = \"propose\"") - 1;
        assert_only(
            &problems(&text),
            Some(header),
            "stage[2].probability",
            "missing `probability`",
        );

        let text = minimal_with(
            "{ id = \"pricing-approved\", name = \"Pricing approved\" }",
            "{ id = \"pricing-approved\" }",
        );
        assert_only(
            &problems(&text),
            Some(line_of(&text, "pricing-approved")),
            "stage[2].activities[2].name",
            "missing `name`",
        );

        let text = minimal_with("name = \"Test\"\n", "");
        assert_only(&problems(&text), None, "name", "missing `name`");
    }

    #[test]
    fn blank_names_and_hints_are_refused() {
        let text = minimal_with("name = \"Qualify\"", "name = \"  \"");
        assert_only(
            &problems(&text),
            Some(line_of(&text, "name = \"  \"")),
            "stage[1].name",
            "`name` is empty",
        );
        let text = minimal_with("name = \"Champion\"", "name = \"Champion\"\nhint = \"\"");
        assert_only(
            &problems(&text),
            Some(line_of(&text, "hint = \"\"")),
            "field[1].hint",
            "leave `hint` out",
        );
    }

    #[test]
    fn a_currency_must_be_three_capital_letters() {
        let text = minimal_with("name = \"Test\"", "name = \"Test\"\ncurrency = \"eur\"");
        assert_only(
            &problems(&text),
            Some(2),
            "currency",
            "`eur` is not a currency code",
        );
        let text = minimal_with("name = \"Test\"", "name = \"Test\"\ncurrency = \"EUR\"");
        assert_eq!(loaded(&text).playbook.currency, "EUR");
    }

    #[test]
    fn stall_after_days_must_be_at_least_one_day() {
        for bad in ["0", "-3", "99999999999"] {
            let text = minimal_with(
                "probability = 60",
                &format!("probability = 60\nstall_after_days = {bad}"),
            );
            let line = line_of(&text, "stall_after_days");
            assert_only(
                &problems(&text),
                Some(line),
                "stage[2].stall_after_days",
                "at least 1",
            );
        }
        let text = minimal_with(
            "probability = 60",
            "probability = 60\nstall_after_days = 21",
        );
        assert_eq!(loaded(&text).playbook.stages[1].stall_after_days, Some(21));
    }

    #[test]
    fn several_problems_are_reported_at_once_in_line_order() {
        let text = minimal_with("probability = 10", "probability = 110")
            .replacen(
                "forecast_category = \"best_case\"",
                "forecast_category = \"maybe\"",
                1,
            )
            .replacen("activity = \"discovery-call\"", "activity = \"nope\"", 1)
            .replacen("outcome = \"lost\"", "outcome = \"won\"", 1);
        let problems = problems(&text);
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "stage[1].probability",
                "stage[1].gate[1].activity",
                "stage[2].forecast_category",
                "stage[4].outcome",
                "stage",
            ],
            "{problems:#?}"
        );
        let lines: Vec<Option<usize>> = problems.iter().map(|p| p.line).collect();
        assert!(
            lines
                .windows(2)
                .all(|w| w[0].is_some() && (w[1].is_none() || w[0] < w[1])),
            "{lines:?}"
        );
    }
}
