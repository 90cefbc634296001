//! The rules for stage gates: the one part of a playbook that blocks a rep, so the part whose
//! mistakes matter most.

use toml::Spanned;

use crate::ids::{ActivityId, FieldName, Money};
use crate::playbook::model::{
    ActivityScope, BUILTIN_FIELDS, Condition, FieldRule, Gate, GateKind, Role,
};
use crate::playbook::raw::{RawCondition, RawGate, RawStage};

use super::{Check, Known};

const KINDS: &str = "activity, field, approval";
const RULES: &str = "present, positive, future_date, min_length:N";

impl Check<'_> {
    /// The gates of stage `i`; a terminal stage may have none, since nothing leaves it forward.
    pub(super) fn gates(
        &mut self,
        i: usize,
        s: &Spanned<RawStage>,
        terminal: bool,
        known: &Known,
    ) -> Option<Vec<Gate>> {
        let gates = &s.get_ref().gates;
        let Some(first) = gates.first() else {
            return Some(Vec::new());
        };
        if terminal {
            let message = format!(
                "`{}` is a terminal stage: nothing leaves it forward, so it cannot have gates; \
                 put them on the last open stage, the one deals close from",
                known.stage_names[i]
            );
            self.error_at(first, format!("stage[{}].gate", i + 1), message);
            return None;
        }
        let checked: Vec<_> = gates
            .iter()
            .enumerate()
            .map(|(j, g)| self.gate(i, j, g, known))
            .collect();
        checked.into_iter().collect()
    }

    fn gate(
        &mut self,
        stage: usize,
        j: usize,
        g: &Spanned<RawGate>,
        known: &Known,
    ) -> Option<Gate> {
        let key = format!("stage[{}].gate[{}]", stage + 1, j + 1);
        let (line, raw) = (self.lines.of(g), g.get_ref());
        let label = self.optional_text(raw.label.as_ref(), &format!("{key}.label"));
        let kind_key = format!("{key}.kind");
        let Some(kind) = &raw.kind else {
            return self.missing(line, &kind_key, &format!("use one of {KINDS}"));
        };
        let kind_name = kind.get_ref().as_str();
        let parse_kind = |k: &str| match k {
            "activity" => Some(&["activity", "scope", "count"][..]),
            "field" => Some(&["field", "rule"][..]),
            "approval" => Some(&["role", "when"][..]),
            _ => None,
        };
        let allowed = self.choice(kind, &kind_key, "gate kind", KINDS, parse_kind)?;

        // One table serves every kind, so a key of another kind would otherwise be ignored
        // silently: an author who wrote it meant something by it.
        let present = [
            ("activity", raw.activity.as_ref().map(Spanned::span)),
            ("scope", raw.scope.as_ref().map(Spanned::span)),
            ("count", raw.count.as_ref().map(Spanned::span)),
            ("field", raw.field.as_ref().map(Spanned::span)),
            ("rule", raw.rule.as_ref().map(Spanned::span)),
            ("role", raw.role.as_ref().map(Spanned::span)),
            ("when", raw.when.as_ref().map(Spanned::span)),
        ];
        let mut misplaced = false;
        for (name, span) in present {
            if let Some(span) = span.filter(|_| !allowed.contains(&name)) {
                let article = if kind_name.starts_with('a') {
                    "an"
                } else {
                    "a"
                };
                let message = format!(
                    "`{name}` does not belong in {article} {kind_name} gate, which takes {} \
                     and an optional label",
                    allowed.join(", ")
                );
                self.error(
                    Some(self.lines.line(span.start)),
                    format!("{key}.{name}"),
                    message,
                );
                misplaced = true;
            }
        }
        let checked = match kind_name {
            "activity" => self.activity_gate(stage, &key, line, raw, known),
            "field" => self.field_gate(&key, line, raw, known),
            _ => self.approval_gate(&key, raw),
        };
        if misplaced {
            return None;
        }
        Some(Gate {
            label,
            kind: checked?,
        })
    }

    fn activity_gate(
        &mut self,
        stage: usize,
        key: &str,
        line: Option<usize>,
        raw: &RawGate,
        known: &Known,
    ) -> Option<GateKind> {
        let scope = match &raw.scope {
            None => Some(ActivityScope::Stage),
            Some(s) => {
                let options = "stage (logged while in this stage, the default), \
                               ever (logged at any time)";
                self.choice(s, &format!("{key}.scope"), "scope", options, |s| match s {
                    "stage" => Some(ActivityScope::Stage),
                    "ever" => Some(ActivityScope::Ever),
                    _ => None,
                })
            }
        };
        let count = match &raw.count {
            None => Some(1),
            Some(n) => u32::try_from(*n.get_ref())
                .ok()
                .filter(|n| *n >= 1)
                .or_else(|| {
                    let message = format!(
                        "count {} is not allowed; use a whole number of at least 1 (the default), \
                     since a gate that asks for nothing is no gate",
                        n.get_ref()
                    );
                    self.error_at(n, format!("{key}.count"), message);
                    None
                }),
        };

        let mut own: Vec<(&str, Option<usize>)> = (known.activities.iter())
            .filter(|(_, (owner, _))| *owner == stage)
            .map(|(id, (_, at))| (id.as_str(), *at))
            .collect();
        own.sort_by_key(|(_, at)| *at);
        let own: Vec<&str> = own.into_iter().map(|(id, _)| id).collect();

        let activity_key = format!("{key}.activity");
        let Some(activity) = &raw.activity else {
            let example = own.first().copied().unwrap_or("discovery-call");
            let hint =
                format!("name the activity this gate requires, e.g. activity = \"{example}\"");
            return self.missing(line, &activity_key, &hint);
        };
        let name = activity.get_ref();
        let Some(&(owner, _)) = known.activities.get(name.as_str()) else {
            let suggestion = if own.is_empty() {
                "add it to this stage's `activities` first".to_string()
            } else {
                format!(
                    "name one of this stage's activities ({}) or add it to a stage's `activities`",
                    own.join(", ")
                )
            };
            let message = format!("no stage recommends activity `{name}`; {suggestion}");
            self.error_at(activity, activity_key, message);
            return None;
        };
        // The model promises that a stage-scoped gate names its own stage's activity: that is
        // the work a rep sees recommended while the gate blocks them.
        if scope == Some(ActivityScope::Stage) && owner != stage {
            let message = format!(
                "activity `{name}` is recommended in stage `{}`, not this one; a gate with \
                 scope = \"stage\" must name one of its own stage's activities, so recommend \
                 it here instead or set scope = \"ever\"",
                known.stage_names[owner]
            );
            self.error_at(activity, activity_key, message);
            return None;
        }
        let activity = name.parse::<ActivityId>().ok()?;
        Some(GateKind::Activity {
            activity,
            scope: scope?,
            count: count?,
        })
    }

    fn field_gate(
        &mut self,
        key: &str,
        line: Option<usize>,
        raw: &RawGate,
        known: &Known,
    ) -> Option<GateKind> {
        let field_key = format!("{key}.field");
        let field: Option<FieldName> = self.required_slug(
            raw.field.as_ref(),
            line,
            &field_key,
            "e.g. field = \"amount\"",
        );
        let field = field.filter(|field| {
            let known_field = BUILTIN_FIELDS.contains(&field.as_str())
                || known.fields.contains_key(field.as_str());
            if !known_field && let Some(at) = &raw.field {
                let mut declared: Vec<&str> = known.fields.keys().map(String::as_str).collect();
                declared.sort_unstable();
                let declared = match declared.as_slice() {
                    [] => String::new(),
                    ids => format!(" ({})", ids.join(", ")),
                };
                let message = format!(
                    "unknown field `{field}`; use a built-in field ({}) or one declared in a \
                     `[[field]]` table{declared}",
                    BUILTIN_FIELDS.join(", ")
                );
                self.error_at(at, field_key.clone(), message);
            }
            known_field
        });

        let rule_key = format!("{key}.rule");
        let rule = match &raw.rule {
            None => self.missing(line, &rule_key, &format!("use one of {RULES}")),
            Some(r) => parse_rule(r.get_ref())
                .map_err(|m| self.error_at(r, &rule_key, m))
                .ok(),
        };
        let (field, rule) = (field?, rule?);
        if let Some(message) = rule_misfit(&field, rule)
            && let Some(at) = &raw.rule
        {
            self.error_at(at, rule_key, message);
            return None;
        }
        Some(GateKind::Field { field, rule })
    }

    fn approval_gate(&mut self, key: &str, raw: &RawGate) -> Option<GateKind> {
        let role = match &raw.role {
            None => Some(Role::Manager),
            Some(r) if r.get_ref() == "rep" => {
                let message = "a rep cannot approve a deal; use manager (the default) or admin";
                self.error_at(r, format!("{key}.role"), message);
                None
            }
            Some(r) => self.choice(r, &format!("{key}.role"), "role", "manager, admin", |r| {
                Role::parse(r).filter(|role| *role != Role::Rep && r == role.as_str())
            }),
        };
        let when = match &raw.when {
            None => Some(None),
            Some(w) => self.condition(key, w).map(Some),
        };
        Some(GateKind::Approval {
            role: role?,
            when: when?,
        })
    }

    fn condition(&mut self, key: &str, w: &Spanned<RawCondition>) -> Option<Condition> {
        const EXAMPLE: &str = "write when = { field = \"amount\", at_least = 100000 }";
        let (line, raw) = (self.lines.of(w), w.get_ref());
        let field_key = format!("{key}.when.field");
        let field = match &raw.field {
            None => self.missing(line, &field_key, EXAMPLE),
            Some(f) if f.get_ref() == "amount" => f.get_ref().parse::<FieldName>().ok(),
            Some(f) => {
                let message = format!(
                    "a condition can only test `amount`, not `{}`; {EXAMPLE}",
                    f.get_ref()
                );
                self.error_at(f, field_key, message);
                None
            }
        };
        let at_least_key = format!("{key}.when.at_least");
        let at_least = match &raw.at_least {
            None => self.missing(line, &at_least_key, EXAMPLE),
            // Authors write amounts as people say them; deals store minor units.
            Some(n) => Money::from_major(*n.get_ref())
                .map(Money::minor)
                .or_else(|| {
                    let message = format!(
                        "at_least {} is not an amount; use a whole amount in major units \
                     (100000 means 100,000.00) from 0 to 10,000,000,000",
                        n.get_ref()
                    );
                    self.error_at(n, at_least_key, message);
                    None
                }),
        };
        Some(Condition {
            field: field?,
            at_least: at_least?,
        })
    }
}

fn parse_rule(s: &str) -> Result<FieldRule, String> {
    match s {
        "present" => Ok(FieldRule::Present),
        "positive" => Ok(FieldRule::Positive),
        "future_date" => Ok(FieldRule::FutureDate),
        _ => match s.strip_prefix("min_length:") {
            Some(n) => (n.trim().parse::<u32>().ok())
                .filter(|n| *n > 0)
                .map(FieldRule::MinLength)
                .ok_or_else(|| {
                    format!(
                        "`{s}` needs a positive whole number of characters after the colon, \
                         e.g. min_length:40"
                    )
                }),
            None => Err(format!("unknown rule `{s}`; use one of {RULES}")),
        },
    }
}

/// A rule has to suit its field's type: `close_date` is the one date field and `amount` the
/// one number; `name` and every custom field are text. Refusing a misfit here beats a gate
/// that can never be met (`future_date` on text) or is met by anything (`min_length` on a
/// number).
fn rule_misfit(field: &FieldName, rule: FieldRule) -> Option<String> {
    let f = field.as_str();
    let message = match rule {
        FieldRule::FutureDate if f != "close_date" => format!(
            "future_date applies only to `close_date`, the one date field; for `{f}` use \
             present or min_length:N"
        ),
        FieldRule::Positive if f != "amount" => format!(
            "positive applies only to `amount`, the one number field; for `{f}` use present \
             or min_length:N"
        ),
        FieldRule::MinLength(_) if f == "amount" => {
            "min_length counts the characters of text, and `amount` is a number; use positive"
                .to_string()
        }
        FieldRule::MinLength(_) if f == "close_date" => {
            "min_length counts the characters of text, and `close_date` is a date; use \
             future_date or present"
                .to_string()
        }
        _ => return None,
    };
    Some(message)
}

#[cfg(test)]
mod tests {
    use crate::playbook::test_support::*;
    use crate::playbook::{ActivityScope, FieldRule, GateKind, Role};

    const ACTIVITY_GATE: &str = "kind = \"activity\"\nactivity = \"discovery-call\"";
    const FIELD_GATE: &str = "kind = \"field\"\nfield = \"champion\"\nrule = \"min_length:10\"";

    /// The minimal playbook with its first gate (an activity gate on `qualify`) replaced.
    fn first_gate(gate: &str) -> String {
        minimal_with(ACTIVITY_GATE, gate)
    }

    /// The minimal playbook with its second gate (a field gate on `propose`) replaced.
    fn second_gate(gate: &str) -> String {
        minimal_with(FIELD_GATE, gate)
    }

    #[test]
    fn gates_take_their_defaults_scope_stage_count_one_and_role_manager() {
        let text = second_gate("kind = \"approval\"");
        let playbook = loaded(&text).playbook;
        assert_eq!(
            playbook.stages[0].gates[0].kind,
            GateKind::Activity {
                activity: "discovery-call".parse().unwrap(),
                scope: ActivityScope::Stage,
                count: 1
            }
        );
        assert_eq!(playbook.stages[0].gates[0].label, None);
        assert_eq!(
            playbook.stages[1].gates[0].kind,
            GateKind::Approval {
                role: Role::Manager,
                when: None
            }
        );
    }

    #[test]
    fn a_gate_naming_an_unknown_activity_is_refused_with_its_line() {
        let text = first_gate("kind = \"activity\"\nactivity = \"demo-given\"");
        let line = line_of(&text, "activity = \"demo-given\"");
        assert_only(
            &problems(&text),
            Some(line),
            "stage[1].gate[1].activity",
            "no stage recommends activity `demo-given`; name one of this stage's activities \
             (discovery-call, pain-identified, budget-discussed)",
        );
    }

    #[test]
    fn a_stage_scoped_gate_must_name_an_activity_of_its_own_stage_but_ever_may_name_any() {
        let text = second_gate("kind = \"activity\"\nactivity = \"discovery-call\"");
        let at = lines_of(&text, "activity = \"discovery-call\"")[1];
        assert_only(
            &problems(&text),
            Some(at),
            "stage[2].gate[1].activity",
            "is recommended in stage `qualify`, not this one",
        );

        let text = second_gate(
            "kind = \"activity\"\nactivity = \"discovery-call\"\nscope = \"ever\"\ncount = 2",
        );
        let gate = &loaded(&text).playbook.stages[1].gates[0];
        assert_eq!(
            gate.kind,
            GateKind::Activity {
                activity: "discovery-call".parse().unwrap(),
                scope: ActivityScope::Ever,
                count: 2
            }
        );
    }

    #[test]
    fn a_gate_naming_an_unknown_field_is_refused_with_the_fields_that_exist() {
        let text = second_gate("kind = \"field\"\nfield = \"budget\"\nrule = \"present\"");
        assert_only(
            &problems(&text),
            Some(line_of(&text, "field = \"budget\"")),
            "stage[2].gate[1].field",
            "unknown field `budget`; use a built-in field (name, amount, close_date) or one declared \
             in a `[[field]]` table (champion)",
        );
    }

    #[test]
    fn gates_on_a_terminal_stage_are_refused() {
        let text = minimal_with(
            "forecast_category = \"closed\"\n",
            "forecast_category = \"closed\"\n\n[[stage.gate]]\nkind = \"approval\"\n",
        );
        let line = line_of(&text, "kind = \"approval\"") - 1;
        assert_only(
            &problems(&text),
            Some(line),
            "stage[3].gate",
            "`closed-won` is a terminal stage",
        );
    }

    #[test]
    fn unknown_kinds_rules_roles_and_scopes_are_refused_with_the_choices() {
        let cases = [
            (
                first_gate("kind = \"checklist\""),
                "checklist",
                "stage[1].gate[1].kind",
                "unknown gate kind `checklist`; use one of activity, field, approval",
            ),
            (
                second_gate("kind = \"field\"\nfield = \"champion\"\nrule = \"long\""),
                "long",
                "stage[2].gate[1].rule",
                "unknown rule `long`; use one of present, positive, future_date, min_length:N",
            ),
            (
                second_gate("kind = \"approval\"\nrole = \"director\""),
                "director",
                "stage[2].gate[1].role",
                "unknown role `director`; use one of manager, admin",
            ),
            (
                second_gate("kind = \"approval\"\nrole = \"Manager\""),
                "Manager",
                "stage[2].gate[1].role",
                "unknown role `Manager`",
            ),
            (
                second_gate("kind = \"approval\"\nrole = \"rep\""),
                "rep",
                "stage[2].gate[1].role",
                "a rep cannot approve",
            ),
            (
                first_gate(&format!("{ACTIVITY_GATE}\nscope = \"deal\"")),
                "\"deal\"",
                "stage[1].gate[1].scope",
                "unknown scope `deal`; use one of stage",
            ),
        ];
        for (text, needle, key, words) in cases {
            assert_only(&problems(&text), Some(line_of(&text, needle)), key, words);
        }
    }

    #[test]
    fn a_gate_without_a_kind_is_refused_at_its_header() {
        let text = first_gate("activity = \"discovery-call\"");
        let header = line_of(&text, "activity = \"discovery-call\"") - 1;
        assert_only(
            &problems(&text),
            Some(header),
            "stage[1].gate[1].kind",
            "missing `kind`; use one of activity, field, approval",
        );
    }

    #[test]
    fn a_count_of_zero_is_refused() {
        let text = first_gate(&format!("{ACTIVITY_GATE}\ncount = 0"));
        assert_only(
            &problems(&text),
            Some(line_of(&text, "count = 0")),
            "stage[1].gate[1].count",
            "at least 1",
        );
    }

    #[test]
    fn min_length_needs_a_positive_whole_number() {
        for rule in [
            "min_length:0",
            "min_length:",
            "min_length:ten",
            "min_length:-4",
            "min_length:2.5",
        ] {
            let text = second_gate(&format!(
                "kind = \"field\"\nfield = \"champion\"\nrule = \"{rule}\""
            ));
            let message = format!("`{rule}` needs a positive whole number of characters");
            assert_only(
                &problems(&text),
                Some(line_of(&text, "rule =")),
                "stage[2].gate[1].rule",
                &message,
            );
        }
        let text = second_gate("kind = \"field\"\nfield = \"champion\"\nrule = \"min_length:40\"");
        let kind = &loaded(&text).playbook.stages[1].gates[0].kind;
        assert_eq!(
            kind,
            &GateKind::Field {
                field: "champion".parse().unwrap(),
                rule: FieldRule::MinLength(40)
            }
        );
    }

    #[test]
    fn a_rule_must_suit_the_type_of_its_field() {
        let cases = [
            (
                "champion",
                "future_date",
                "future_date applies only to `close_date`",
            ),
            (
                "amount",
                "future_date",
                "future_date applies only to `close_date`",
            ),
            ("name", "positive", "positive applies only to `amount`"),
            (
                "close_date",
                "positive",
                "positive applies only to `amount`",
            ),
            (
                "amount",
                "min_length:3",
                "`amount` is a number; use positive",
            ),
            ("close_date", "min_length:3", "`close_date` is a date"),
        ];
        for (field, rule, words) in cases {
            let text = second_gate(&format!(
                "kind = \"field\"\nfield = \"{field}\"\nrule = \"{rule}\""
            ));
            assert_only(
                &problems(&text),
                Some(line_of(&text, "rule =")),
                "stage[2].gate[1].rule",
                words,
            );
        }
        for (field, rule) in [
            ("close_date", "future_date"),
            ("amount", "positive"),
            ("name", "min_length:5"),
            ("close_date", "present"),
        ] {
            let text = second_gate(&format!(
                "kind = \"field\"\nfield = \"{field}\"\nrule = \"{rule}\""
            ));
            loaded(&text);
        }
    }

    #[test]
    fn a_key_of_another_gate_kind_is_refused_rather_than_ignored() {
        let text = first_gate(&format!(
            "{ACTIVITY_GATE}\nrule = \"present\"\nrole = \"admin\""
        ));
        let problems = problems(&text);
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert_has(
            &problems,
            Some(line_of(&text, "rule = \"present\"")),
            "stage[1].gate[1].rule",
            "`rule` does not belong in an activity gate, which takes activity, scope, count and an optional label",
        );
        assert_has(
            &problems,
            Some(line_of(&text, "role = \"admin\"")),
            "stage[1].gate[1].role",
            "does not belong",
        );
    }

    #[test]
    fn an_approval_condition_is_on_amount_in_major_units_and_kept_in_minor_units() {
        let text = second_gate(
            "kind = \"approval\"\nrole = \"admin\"\nlabel = \"Big deal\"\nwhen = { field = \"amount\", at_least = 100000 }",
        );
        let gate = &loaded(&text).playbook.stages[1].gates[0];
        assert_eq!(gate.label.as_deref(), Some("Big deal"));
        let GateKind::Approval {
            role,
            when: Some(when),
        } = &gate.kind
        else {
            panic!("{gate:?}")
        };
        assert_eq!(*role, Role::Admin);
        assert_eq!(when.field.as_str(), "amount");
        assert_eq!(when.at_least, 10_000_000, "100,000.00 in cents");
    }

    #[test]
    fn an_approval_condition_on_another_field_or_with_a_bad_amount_is_refused() {
        let text =
            second_gate("kind = \"approval\"\nwhen = { field = \"champion\", at_least = 1 }");
        assert_only(
            &problems(&text),
            Some(line_of(&text, "when =")),
            "stage[2].gate[1].when.field",
            "a condition can only test `amount`, not `champion`",
        );
        let text = second_gate("kind = \"approval\"\nwhen = { field = \"amount\", at_least = -1 }");
        assert_only(
            &problems(&text),
            Some(line_of(&text, "when =")),
            "stage[2].gate[1].when.at_least",
            "at_least -1 is not an amount",
        );
        let text = second_gate("kind = \"approval\"\nwhen = { at_least = 5 }");
        assert_only(
            &problems(&text),
            Some(line_of(&text, "when =")),
            "stage[2].gate[1].when.field",
            "missing `field`",
        );
    }
}
