//! The rules about the list of stages as a whole: which are open, which closed, in what order.

use toml::Spanned;

use crate::playbook::model::Outcome;
use crate::playbook::raw::RawStage;

use super::{Check, parse_outcome};

/// What a stage is, as far as its `outcome` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StageKind {
    Open,
    Terminal(Outcome),
    /// Its `outcome` is not one we know (reported where it is read).
    Unreadable,
}

impl Check<'_> {
    /// The rules about the list of stages as a whole; returns what each stage is.
    pub(super) fn structure(&mut self, stages: &[Spanned<RawStage>]) -> Vec<StageKind> {
        let kinds: Vec<StageKind> = (stages.iter())
            .map(|s| match &s.get_ref().outcome {
                None => StageKind::Open,
                Some(o) => {
                    parse_outcome(o.get_ref()).map_or(StageKind::Unreadable, StageKind::Terminal)
                }
            })
            .collect();
        if stages.is_empty() {
            let message = "the playbook has no stages; add the open stages in process order, \
                           then a Closed Won stage (outcome = \"won\") and a Closed Lost stage \
                           (outcome = \"lost\")";
            self.error(None, "stage", message);
            return kinds;
        }
        if !kinds.contains(&StageKind::Open) {
            let message = "there is no open stage, so a deal has nowhere to start; add at least \
                           one `[[stage]]` without `outcome` before the closed ones";
            self.error(None, "stage", message);
        }
        let won: Vec<usize> = (0..stages.len())
            .filter(|&i| kinds[i] == StageKind::Terminal(Outcome::Won))
            .collect();
        if let [first, extra @ ..] = won.as_slice() {
            for &i in extra {
                let at = stages[i]
                    .get_ref()
                    .outcome
                    .as_ref()
                    .and_then(|o| self.lines.of(o));
                let message = format!(
                    "a second won stage (the first is `{}`); a playbook has exactly one, \
                     the stage `/won` moves a deal to",
                    stage_name(stages, *first)
                );
                self.error(at, format!("stage[{}].outcome", i + 1), message);
            }
        } else {
            let message = "there is no Closed Won stage; add one `[[stage]]` with \
                           outcome = \"won\" after the open stages";
            self.error(None, "stage", message);
        }
        if !kinds.contains(&StageKind::Terminal(Outcome::Lost)) {
            let message = "there is no Closed Lost stage; add a `[[stage]]` with \
                           outcome = \"lost\" after the open stages";
            self.error(None, "stage", message);
        }
        if let Some(first_terminal) = kinds
            .iter()
            .position(|k| matches!(k, StageKind::Terminal(_)))
        {
            for i in first_terminal + 1..stages.len() {
                if kinds[i] == StageKind::Open {
                    let message = format!(
                        "open stage `{}` comes after the terminal stage `{}`; list the open \
                         stages first, in process order, then the closed ones",
                        stage_name(stages, i),
                        stage_name(stages, first_terminal)
                    );
                    self.error(
                        self.lines.of(&stages[i]),
                        format!("stage[{}]", i + 1),
                        message,
                    );
                }
            }
        }
        kinds
    }
}

/// A stage's id as written, or its position when it has none.
fn stage_name(stages: &[Spanned<RawStage>], i: usize) -> String {
    match &stages[i].get_ref().id {
        Some(id) => id.get_ref().clone(),
        None => format!("stage[{}]", i + 1),
    }
}
