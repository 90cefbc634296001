//! Built-in playbooks, compiled into the binary: a team can start with one and export it to edit.

use super::load::{Loaded, load_str};

/// Every built-in template: (name, one-line description), in the order they are offered.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "default",
        "Six-stage B2B process from Qualify to Commit, with evidence gates and big-deal approvals",
    ),
    (
        "meddpicc",
        "MEDDPICC: every letter is written evidence a deal must show before it advances",
    ),
    (
        "salesforce",
        "Salesforce's default opportunity stages and probabilities, with light gates",
    ),
    (
        "hubspot",
        "HubSpot's default sales pipeline deal stages and probabilities, with light gates",
    ),
];

/// The TOML text of a built-in template, e.g. to write out as a starting point.
pub fn template_source(name: &str) -> Option<&'static str> {
    match name {
        "default" => Some(include_str!("templates/default.toml")),
        "meddpicc" => Some(include_str!("templates/meddpicc.toml")),
        "salesforce" => Some(include_str!("templates/salesforce.toml")),
        "hubspot" => Some(include_str!("templates/hubspot.toml")),
        _ => None,
    }
}

/// A built-in template, loaded. `None` only for a name not in `TEMPLATES`: the tests below load
/// every listed template, so a listed one always loads.
pub fn load_template(name: &str) -> Option<Loaded> {
    load_str(name, template_source(name)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::{ForecastCategory, GateKind, Playbook};

    fn template(name: &str) -> Playbook {
        let loaded = load_template(name).unwrap_or_else(|| panic!("template {name} loads"));
        assert!(loaded.warnings.is_empty(), "{name}: {:#?}", loaded.warnings);
        loaded.playbook
    }

    /// (id, name, probability, forecast category) of every stage, in order.
    fn stages(playbook: &Playbook) -> Vec<(&str, &str, u8, &str)> {
        (playbook.stages.iter())
            .map(|s| {
                (
                    s.id.as_str(),
                    s.name.as_str(),
                    s.probability.percent(),
                    s.forecast_category.as_str(),
                )
            })
            .collect()
    }

    #[test]
    fn every_listed_template_loads_without_errors_or_warnings() {
        let names: Vec<&str> = TEMPLATES.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["default", "meddpicc", "salesforce", "hubspot"]);
        for (name, description) in TEMPLATES {
            assert!(!description.is_empty() && !description.contains('\n'));
            let source = template_source(name).expect("a listed template has a source");
            if let Err(e) = load_str(name, source) {
                panic!("template {name} does not load:\n{e}");
            }
            template(name);
        }
    }

    #[test]
    fn an_unknown_template_name_has_no_source_and_no_playbook() {
        assert_eq!(template_source("pipedrive"), None);
        assert!(load_template("pipedrive").is_none());
        assert!(load_template("").is_none());
    }

    #[test]
    fn the_default_template_has_six_rising_open_stages_with_guidance_and_few_firm_gates() {
        let playbook = template("default");
        let probabilities: Vec<u8> = playbook
            .stages
            .iter()
            .map(|s| s.probability.percent())
            .collect();
        assert_eq!(probabilities, [10, 20, 40, 60, 80, 90, 100, 0]);
        assert_eq!(playbook.open_stages().count(), 6);
        assert_eq!(playbook.won_stage().id.as_str(), "closed-won");
        assert_eq!(playbook.lost_stage().id.as_str(), "closed-lost");
        let mut categories: Vec<ForecastCategory> = playbook
            .open_stages()
            .map(|s| s.forecast_category)
            .collect();
        assert!(categories.is_sorted(), "categories rise: {categories:?}");
        categories.dedup();
        assert_eq!(
            categories,
            [
                ForecastCategory::Pipeline,
                ForecastCategory::BestCase,
                ForecastCategory::Commit
            ]
        );
        let mut kinds = [0; 3];
        for stage in playbook.open_stages() {
            assert!(
                (6..=8).contains(&stage.activities.len()),
                "{}: {} activities",
                stage.id,
                stage.activities.len()
            );
            assert!(
                stage.activities.iter().all(|a| a.hint.is_some()),
                "{}: every activity has a hint",
                stage.id
            );
            assert!(
                (1..=3).contains(&stage.gates.len()),
                "{}: {} gates",
                stage.id,
                stage.gates.len()
            );
            assert!(
                stage.gates.iter().all(|g| g.label.is_some()),
                "{}: every gate is worded",
                stage.id
            );
            assert!(stage.stall_after_days.is_some() && stage.description.is_some());
            for gate in &stage.gates {
                kinds[match gate.kind {
                    GateKind::Activity { .. } => 0,
                    GateKind::Field { .. } => 1,
                    GateKind::Approval { .. } => 2,
                }] += 1;
            }
        }
        assert!(
            kinds.iter().all(|n| *n > 0),
            "gates mix all three kinds: {kinds:?}"
        );
        let approval = playbook
            .stages
            .iter()
            .flat_map(|s| &s.gates)
            .find_map(|g| match &g.kind {
                GateKind::Approval { when, .. } => when.clone(),
                _ => None,
            });
        assert_eq!(
            approval.map(|c| c.at_least),
            Some(100_000 * 100),
            "large deals only, in cents"
        );
        let fields: Vec<&str> = playbook.fields.iter().map(|f| f.id.as_str()).collect();
        for field in ["pain", "champion", "next_step", "decision_date_confirmed"] {
            assert!(fields.contains(&field), "{field} in {fields:?}");
        }
    }

    #[test]
    fn the_meddpicc_template_asks_for_written_evidence_of_every_letter() {
        let playbook = template("meddpicc");
        let letters = [
            "metrics",
            "economic_buyer",
            "decision_criteria",
            "decision_process",
            "paper_process",
            "identified_pain",
            "champion",
            "competition",
        ];
        for letter in letters {
            let (stage, rule) = (playbook.open_stages())
                .find_map(|s| {
                    s.gates.iter().find_map(|g| match &g.kind {
                        GateKind::Field { field, rule } if field.as_str() == letter => {
                            Some((s, *rule))
                        }
                        _ => None,
                    })
                })
                .unwrap_or_else(|| panic!("no gate asks for {letter}"));
            let crate::playbook::FieldRule::MinLength(n) = rule else {
                panic!(
                    "{letter} in {} is a {rule:?} gate; a one-word tick would pass",
                    stage.id
                )
            };
            assert!(n >= 20, "{letter}: {n} characters is a tick, not evidence");
        }
        let gated: Vec<usize> = playbook.open_stages().map(|s| s.gates.len()).collect();
        assert!(
            gated.iter().all(|n| (1..=3).contains(n)),
            "letters spread over the stages: {gated:?}"
        );
    }

    #[test]
    fn the_salesforce_template_has_salesforces_default_stages_and_probabilities() {
        let playbook = template("salesforce");
        assert_eq!(
            stages(&playbook),
            [
                ("prospecting", "Prospecting", 10, "pipeline"),
                ("qualification", "Qualification", 10, "pipeline"),
                ("needs-analysis", "Needs Analysis", 20, "pipeline"),
                ("value-proposition", "Value Proposition", 50, "pipeline"),
                ("id-decision-makers", "Id. Decision Makers", 60, "pipeline"),
                ("perception-analysis", "Perception Analysis", 70, "pipeline"),
                (
                    "proposal-price-quote",
                    "Proposal/Price Quote",
                    75,
                    "pipeline"
                ),
                ("negotiation-review", "Negotiation/Review", 90, "pipeline"),
                ("closed-won", "Closed Won", 100, "closed"),
                ("closed-lost", "Closed Lost", 0, "omitted"),
            ]
        );
        assert!(
            playbook
                .open_stages()
                .all(|s| s.activities.len() >= 3 && !s.gates.is_empty())
        );
    }

    #[test]
    fn the_hubspot_template_has_hubspots_default_deal_stages_and_probabilities() {
        let playbook = template("hubspot");
        assert_eq!(
            stages(&playbook),
            [
                (
                    "appointment-scheduled",
                    "Appointment Scheduled",
                    20,
                    "pipeline"
                ),
                ("qualified-to-buy", "Qualified to Buy", 40, "pipeline"),
                (
                    "presentation-scheduled",
                    "Presentation Scheduled",
                    60,
                    "pipeline"
                ),
                (
                    "decision-maker-bought-in",
                    "Decision Maker Bought-In",
                    80,
                    "best_case"
                ),
                ("contract-sent", "Contract Sent", 90, "commit"),
                ("closed-won", "Closed Won", 100, "closed"),
                ("closed-lost", "Closed Lost", 0, "omitted"),
            ]
        );
        assert!(
            playbook
                .open_stages()
                .all(|s| s.activities.len() >= 3 && !s.gates.is_empty())
        );
    }
}
