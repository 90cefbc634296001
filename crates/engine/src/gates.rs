//! Gate evaluation: for a deal in a stage, which requirements hold, in the playbook's words, and
//! what would satisfy each one that does not.

use chrono::NaiveDate;

use crate::deal::DealFacts;
use crate::ids::{ActivityId, FieldName, StageId, format_minor};
use crate::playbook::{ActivityScope, Condition, FieldRule, Gate, GateKind, Playbook, Role, Stage};

/// One gate of one stage, evaluated against a deal.
#[derive(Debug, Clone, PartialEq)]
pub struct GateCheck {
    pub stage: StageId,
    /// Index of the gate within its stage's `gates`.
    pub index: usize,
    /// The requirement as the playbook words it (the gate's label, or a generated sentence
    /// such as "Log Discovery call held (`discovery-call`) in this stage"; see [`describe`]).
    pub requirement: String,
    /// False only for a conditional approval whose condition does not hold (e.g. a small deal):
    /// the gate is then met and says why it does not apply.
    pub applies: bool,
    pub met: bool,
    /// Progress where there is some, e.g. "logged 1 of 2".
    pub progress: Option<String>,
    /// What would satisfy it; the commands layer turns this into a command line.
    pub remedy: Remedy,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Remedy {
    /// `/log deal-42 <activity>`, `remaining` more times.
    LogActivity {
        activity: ActivityId,
        remaining: u32,
    },
    /// `/deal set deal-42 <field> <value>` with a value that satisfies `rule`.
    SetField { field: FieldName, rule: FieldRule },
    /// `/approve deal-42` by someone with `role` or above.
    Approval { role: Role },
}

/// Evaluates every gate of `stage` for `deal`, in the stage's order.
///
/// When the deal is not in `stage` (it is being advanced past it, to a named later stage),
/// activities logged in the deal's current stage count towards that stage's `scope = "stage"`
/// activity gates too, since the rep did the work now. An approval counts for a stage only when
/// given in that stage by the gate's role or above; for the deal's current stage it must also
/// have been given since the deal last entered it, so an approval from an earlier visit does not
/// carry over. For a stage being skipped, any approval recorded in it counts (there is one only
/// if the deal was there before and moved back); otherwise the gate stays unmet.
///
/// A conditional approval whose condition names a field other than `amount` applies unless that
/// field holds a number below the threshold: a missing or unreadable value never waives a gate.
///
/// `today` decides `future_date`.
pub fn evaluate_stage(
    playbook: &Playbook,
    stage: &Stage,
    deal: &DealFacts,
    today: NaiveDate,
) -> Vec<GateCheck> {
    stage
        .gates
        .iter()
        .enumerate()
        .map(|(index, gate)| evaluate_gate(playbook, stage, index, gate, deal, today))
        .collect()
}

/// The unmet gates only, in the stage's order.
pub fn unmet(checks: &[GateCheck]) -> Vec<GateCheck> {
    checks.iter().filter(|c| !c.met).cloned().collect()
}

/// The requirement a gate states: its `label` when the playbook words it, otherwise a sentence
/// generated from the gate itself, such as "Log Discovery call held (`discovery-call`) in this
/// stage", "Set `champion` (at least 40 characters of evidence)", "Amount above zero", "Close
/// date in the future" or "Manager approval for deals of 100,000 or more".
pub fn describe(playbook: &Playbook, gate: &Gate) -> String {
    match gate.label.as_deref().map(str::trim) {
        Some(label) if !label.is_empty() => label.to_string(),
        _ => generated_requirement(playbook, &gate.kind),
    }
}

fn generated_requirement(playbook: &Playbook, kind: &GateKind) -> String {
    match kind {
        GateKind::Activity {
            activity,
            scope,
            count,
        } => {
            let mut s = match playbook.activity(activity) {
                Some((_, a)) => format!("Log {} (`{activity}`)", a.name),
                // A validated playbook names only its own activities; the id alone still says
                // what to type.
                None => format!("Log `{activity}`"),
            };
            if *count > 1 {
                s.push_str(&format!(" {count} times"));
            }
            if *scope == ActivityScope::Stage {
                s.push_str(" in this stage");
            }
            s
        }
        GateKind::Field { field, rule } => match (field.as_str(), rule) {
            ("amount", FieldRule::Positive) => "Amount above zero".to_string(),
            ("close_date", FieldRule::FutureDate) => "Close date in the future".to_string(),
            (_, FieldRule::Present) => format!("Set `{field}`"),
            (_, FieldRule::Positive) => format!("Set `{field}` to a number above zero"),
            (_, FieldRule::FutureDate) => format!("Set `{field}` to a date in the future"),
            (_, FieldRule::MinLength(n)) => {
                let unit = if *n == 1 { "character" } else { "characters" };
                format!("Set `{field}` (at least {n} {unit} of evidence)")
            }
        },
        GateKind::Approval { role, when } => {
            let mut s = format!("{} approval", capitalized(*role));
            if let Some(condition) = when {
                s.push(' ');
                s.push_str(&condition_phrase(condition));
            }
            s
        }
    }
}

/// "for deals of 100,000 or more": `at_least` is in minor units for `amount`, shown in major.
fn condition_phrase(condition: &Condition) -> String {
    if condition.field.as_str() == "amount" {
        format!(
            "for deals of {} or more",
            format_minor(i128::from(condition.at_least))
        )
    } else {
        format!(
            "when `{}` is {} or more",
            condition.field, condition.at_least
        )
    }
}

fn capitalized(role: Role) -> &'static str {
    match role {
        Role::Rep => "Rep",
        Role::Manager => "Manager",
        Role::Admin => "Admin",
    }
}

fn evaluate_gate(
    playbook: &Playbook,
    stage: &Stage,
    index: usize,
    gate: &Gate,
    deal: &DealFacts,
    today: NaiveDate,
) -> GateCheck {
    let mut requirement = describe(playbook, gate);
    let (applies, met, progress, remedy) = match &gate.kind {
        GateKind::Activity {
            activity,
            scope,
            count,
        } => {
            let logged = logged_count(stage, deal, activity, *scope);
            let progress =
                (*count > 1).then(|| format!("logged {} of {count}", logged.min(*count)));
            let remaining = count.saturating_sub(logged);
            let remedy = Remedy::LogActivity {
                activity: activity.clone(),
                remaining,
            };
            (true, logged >= *count, progress, remedy)
        }
        GateKind::Field { field, rule } => {
            let (met, progress) = check_field(deal, field, *rule, today);
            (
                true,
                met,
                progress,
                Remedy::SetField {
                    field: field.clone(),
                    rule: *rule,
                },
            )
        }
        GateKind::Approval { role, when } => {
            let remedy = Remedy::Approval { role: *role };
            match when {
                Some(condition) if !condition_holds(deal, condition) => {
                    // A generated sentence already names the threshold; a label may not.
                    if gate.label.as_deref().is_some_and(|l| !l.trim().is_empty()) {
                        requirement =
                            format!("{requirement} (applies {})", condition_phrase(condition));
                    }
                    (false, true, None, remedy)
                }
                _ => (true, approved(stage, deal, *role), None, remedy),
            }
        }
    };
    GateCheck {
        stage: stage.id.clone(),
        index,
        requirement,
        applies,
        met,
        progress,
        remedy,
    }
}

fn logged_count(
    stage: &Stage,
    deal: &DealFacts,
    activity: &ActivityId,
    scope: ActivityScope,
) -> u32 {
    let skipping = deal.stage != stage.id;
    deal.activities
        .iter()
        .filter(|a| &a.activity == activity)
        .filter(|a| match scope {
            ActivityScope::Ever => true,
            ActivityScope::Stage => a.stage == stage.id || (skipping && a.stage == deal.stage),
        })
        .fold(0u32, |n, a| n.saturating_add(a.times))
}

fn approved(stage: &Stage, deal: &DealFacts, role: Role) -> bool {
    let current = deal.stage == stage.id;
    deal.approvals.iter().any(|a| {
        a.stage == stage.id && a.role >= role && (!current || a.at >= deal.stage_entered_at)
    })
}

fn condition_holds(deal: &DealFacts, condition: &Condition) -> bool {
    if condition.field.as_str() == "amount" {
        return deal.amount.minor() >= condition.at_least;
    }
    match deal
        .field_text(&condition.field)
        .as_deref()
        .and_then(parse_number)
    {
        Some(n) => n >= condition.at_least as f64,
        None => true,
    }
}

/// Whether the field satisfies the rule, and how far along it is when that means something.
fn check_field(
    deal: &DealFacts,
    field: &FieldName,
    rule: FieldRule,
    today: NaiveDate,
) -> (bool, Option<String>) {
    match (field.as_str(), rule) {
        // The typed built-ins are checked on their values, not on their display text.
        ("amount", FieldRule::Positive) => (deal.amount.minor() > 0, None),
        ("close_date", FieldRule::FutureDate) => (deal.close_date > today, None),
        (_, FieldRule::Present) => (deal.field_text(field).is_some(), None),
        (_, FieldRule::Positive) => {
            let n = deal.field_text(field).as_deref().and_then(parse_number);
            (n.is_some_and(|n| n > 0.0), None)
        }
        (_, FieldRule::FutureDate) => {
            let date = deal
                .field_text(field)
                .and_then(|t| t.trim().parse::<NaiveDate>().ok());
            (date.is_some_and(|d| d > today), None)
        }
        (_, FieldRule::MinLength(n)) => {
            // Characters, not bytes: "Zoë" is three characters of evidence.
            let len = deal
                .field_text(field)
                .map_or(0, |t| t.trim().chars().count());
            let len = u32::try_from(len).unwrap_or(u32::MAX);
            let met = len >= n;
            let progress = (len > 0 && !met).then(|| format!("{len} of {n} characters"));
            (met, progress)
        }
    }
}

/// A plain decimal number as a rep would type it: `12`, `-3`, `1,200.50`. Anything else (units,
/// currency signs, `1e5`, `NaN`) is not a number for a gate.
fn parse_number(text: &str) -> Option<f64> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '_')
        .collect();
    let plain = !cleaned.is_empty()
        && cleaned
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+'))
        && cleaned.chars().any(|c| c.is_ascii_digit());
    if !plain {
        return None;
    }
    cleaned.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests;
