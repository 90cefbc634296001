//! What is legal but probably a mistake: reported with a playbook that loads, never blocking it,
//! since a team may have reasons the loader cannot see.

use toml::Spanned;

use crate::playbook::model::{ForecastCategory, Outcome, Playbook, Stage};
use crate::playbook::raw::RawStage;

use super::Check;

/// Fewer recommended activities than this give a rep too little guidance; more than
/// `MANY_ACTIVITIES` make a list nobody reads.
const FEW_ACTIVITIES: usize = 3;
const MANY_ACTIVITIES: usize = 10;

/// How far along the forecast a category is; the ones outside that ladder have no rank.
fn rank(category: ForecastCategory) -> Option<u8> {
    match category {
        ForecastCategory::Pipeline => Some(0),
        ForecastCategory::BestCase => Some(1),
        ForecastCategory::Commit => Some(2),
        ForecastCategory::Closed | ForecastCategory::Omitted => None,
    }
}

impl Check<'_> {
    /// `raw` is the document `playbook` was built from, stage for stage, for the lines.
    pub(super) fn warn_about(&mut self, playbook: &Playbook, raw: &[Spanned<RawStage>]) {
        let mut previous_open: Option<&Stage> = None;
        for (i, (stage, r)) in playbook.stages.iter().zip(raw).enumerate() {
            let key = format!("stage[{}]", i + 1);
            let header = self.lines.of(r);
            let r = r.get_ref();
            let p_line = r.probability.as_ref().and_then(|p| self.lines.of(p));
            let c_line = r.forecast_category.as_ref().and_then(|c| self.lines.of(c));
            let (p, category) = (stage.probability, stage.forecast_category);
            let Some(outcome) = stage.outcome else {
                if let Some(prev) = previous_open {
                    if p < prev.probability {
                        let message = format!(
                            "probability {p} is lower than the {} of `{}` before it; a deal \
                             should look likelier to close as it advances, or the forecast \
                             shrinks when reps make progress",
                            prev.probability, prev.id
                        );
                        self.warn(p_line, format!("{key}.probability"), message);
                    }
                    if let (Some(now), Some(before)) =
                        (rank(category), rank(prev.forecast_category))
                        && now < before
                    {
                        let message = format!(
                            "forecast category `{}` comes after `{}` in `{}`; categories \
                             usually rise from pipeline to best_case to commit",
                            category.as_str(),
                            prev.forecast_category.as_str(),
                            prev.id
                        );
                        self.warn(c_line, format!("{key}.forecast_category"), message);
                    }
                }
                if category == ForecastCategory::Closed {
                    let message = "an open stage in forecast category `closed` counts unsigned \
                                   deals as closed business; use commit for deals that are all \
                                   but signed";
                    self.warn(c_line, format!("{key}.forecast_category"), message);
                }
                let n = stage.activities.len();
                if !(FEW_ACTIVITIES..=MANY_ACTIVITIES).contains(&n) {
                    let message = format!(
                        "stage `{}` recommends {n} activities; {FEW_ACTIVITIES} to \
                         {MANY_ACTIVITIES} give reps useful guidance without a list nobody reads",
                        stage.id
                    );
                    self.warn(header, format!("{key}.activities"), message);
                }
                previous_open = Some(stage);
                continue;
            };

            let (want_p, want_category, word) = match outcome {
                Outcome::Won => (100, ForecastCategory::Closed, "won"),
                Outcome::Lost => (0, ForecastCategory::Omitted, "lost"),
            };
            if p.percent() != want_p {
                let message = format!(
                    "the {word} stage has probability {p}; a {word} deal is settled, so use \
                     {want_p}"
                );
                self.warn(p_line, format!("{key}.probability"), message);
            }
            if category != want_category {
                let message = format!(
                    "the {word} stage is in forecast category `{}`; {word} deals belong in `{}`",
                    category.as_str(),
                    want_category.as_str()
                );
                self.warn(c_line, format!("{key}.forecast_category"), message);
            }
            if let Some(days) = &r.stall_after_days {
                let message = "stall_after_days has no effect on a terminal stage, whose deals \
                               are closed; leave it out";
                self.warn(
                    self.lines.of(days),
                    format!("{key}.stall_after_days"),
                    message,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::playbook::test_support::*;

    #[test]
    fn a_probability_that_falls_as_stages_advance_is_a_warning_not_a_refusal() {
        let text = minimal_with("probability = 60", "probability = 5");
        let loaded = loaded(&text);
        assert_eq!(loaded.playbook.stages[1].probability.percent(), 5);
        assert_only(
            &loaded.warnings,
            Some(line_of(&text, "probability = 5")),
            "stage[2].probability",
            "probability 5% is lower than the 10% of `qualify` before it",
        );
    }

    #[test]
    fn an_equal_probability_in_the_next_stage_is_not_falling() {
        let text = minimal_with("probability = 60", "probability = 10");
        assert!(loaded(&text).warnings.is_empty());
    }

    #[test]
    fn an_open_stage_with_too_few_or_too_many_activities_is_warned_about() {
        let text = minimal_with(
            "  { id = \"budget-discussed\", name = \"Budget discussed\" },\n",
            "",
        );
        let header = line_of(&text, "id = \"qualify\"") - 1;
        let loaded = loaded(&text);
        assert_only(
            &loaded.warnings,
            Some(header),
            "stage[1].activities",
            "recommends 2 activities; 3 to 10",
        );

        let many: String = (1..=11)
            .map(|i| format!("  {{ id = \"extra-{i}\", name = \"Extra {i}\" }},\n"))
            .collect();
        let text = minimal_with(
            "  { id = \"terms-agreed\", name = \"Terms agreed\" },\n",
            &many,
        );
        let header = line_of(&text, "id = \"propose\"") - 1;
        assert_only(
            &loaded_warnings(&text),
            Some(header),
            "stage[2].activities",
            "recommends 13 activities",
        );
    }

    fn loaded_warnings(text: &str) -> Vec<crate::playbook::Problem> {
        loaded(text).warnings
    }

    #[test]
    fn closed_stages_with_unusual_probabilities_categories_or_stall_limits_are_warned_about() {
        let text = minimal_with("probability = 100", "probability = 95")
            .replacen(
                "forecast_category = \"omitted\"",
                "forecast_category = \"pipeline\"",
                1,
            )
            .replacen(
                "probability = 0",
                "probability = 0\nstall_after_days = 7",
                1,
            );
        let warnings = loaded_warnings(&text);
        assert_eq!(warnings.len(), 3, "{warnings:#?}");
        let p_line = line_of(&text, "probability = 95");
        let message = "the won stage has probability 95%; a won deal is settled, so use 100";
        assert_has(&warnings, Some(p_line), "stage[3].probability", message);
        let c_line = lines_of(&text, "forecast_category = \"pipeline\"")[1];
        let message =
            "the lost stage is in forecast category `pipeline`; lost deals belong in `omitted`";
        assert_has(
            &warnings,
            Some(c_line),
            "stage[4].forecast_category",
            message,
        );
        let s_line = line_of(&text, "stall_after_days = 7");
        assert_has(
            &warnings,
            Some(s_line),
            "stage[4].stall_after_days",
            "no effect on a terminal stage",
        );

        let text = minimal_with("probability = 0", "probability = 3");
        let message = "the lost stage has probability 3%; a lost deal is settled, so use 0";
        assert_only(
            &loaded_warnings(&text),
            Some(line_of(&text, "probability = 3")),
            "stage[4].probability",
            message,
        );
    }

    #[test]
    fn forecast_categories_that_fall_back_or_call_an_open_deal_closed_are_warned_about() {
        let text = minimal_with(
            "forecast_category = \"pipeline\"",
            "forecast_category = \"commit\"",
        );
        let line = line_of(&text, "forecast_category = \"best_case\"");
        let message = "forecast category `best_case` comes after `commit` in `qualify`";
        assert_only(
            &loaded_warnings(&text),
            Some(line),
            "stage[2].forecast_category",
            message,
        );

        let text = minimal_with(
            "forecast_category = \"best_case\"",
            "forecast_category = \"closed\"",
        );
        let line = lines_of(&text, "forecast_category = \"closed\"")[0];
        let message = "an open stage in forecast category `closed`";
        assert_only(
            &loaded_warnings(&text),
            Some(line),
            "stage[2].forecast_category",
            message,
        );
    }

    #[test]
    fn warnings_come_in_line_order() {
        let text = minimal_with("probability = 60", "probability = 5")
            .replacen("probability = 100", "probability = 99", 1)
            .replacen(
                "  { id = \"budget-discussed\", name = \"Budget discussed\" },\n",
                "",
                1,
            );
        let lines: Vec<usize> = loaded_warnings(&text)
            .iter()
            .filter_map(|w| w.line)
            .collect();
        assert_eq!(lines.len(), 3);
        assert!(lines.is_sorted(), "{lines:?}");
    }
}
