//! Accepting a calibration (issue 15): the probabilities `/playbook calibrate` suggests, written
//! into the playbook in force as a change like any other, previewed, confirmed and broadcast by
//! the playbook change flow. Only the `probability = N` lines change; comments and layout stay.

use crate::engine::ids::StageId;
use crate::store::truth as t;

use super::authz::require_admin;
use super::revision::ProposedPlaybook;
use super::truth::stage_probabilities;
use super::{Preview, Service, ServiceError, ServiceResult, Session};

/// A stage's probability as the calibration suggests it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Recalibration {
    pub stage: StageId,
    pub name: String,
    pub from: u8,
    pub to: u8,
    pub won: u32,
    pub decided: u32,
}

impl Service {
    /// `/playbook calibrate propose:yes` and the calibration's button (admins): previews the
    /// suggested probabilities as the next playbook version.
    pub async fn propose_calibration(&self, session: &Session) -> ServiceResult<Preview> {
        require_admin(&session.member, "change the playbook")?;
        let tenant_id = session.tenant.id;
        let cohorts = {
            let mut conn = self.store.reader().acquire().await?;
            t::stage_cohorts(&mut conn, tenant_id).await?
        };
        let playbook = &session.playbook;
        let changes: Vec<Recalibration> = stage_probabilities(playbook, &cohorts)
            .into_iter()
            .filter(|(_, c)| c.propose)
            .filter_map(|(id, c)| {
                let stage = playbook.stage(&id)?;
                // An open stage keeps a chance either way: 0 % and 100 % are what closing says.
                let to = (c.shrunk * 100.0).round().clamp(1.0, 99.0) as u8;
                (to != stage.probability.percent()).then(|| Recalibration {
                    name: stage.name.clone(),
                    stage: id,
                    from: stage.probability.percent(),
                    to,
                    won: c.won,
                    decided: c.decided,
                })
            })
            .collect();
        if changes.is_empty() {
            return Err(ServiceError::Invalid(
                "There is nothing to propose: every configured probability lies inside its \
                 interval, or fewer than 30 deals that entered the stage have closed. \
                 `/playbook calibrate` shows each stage's figures."
                    .to_string(),
            ));
        }
        let tenant = self.tenant_by_id(tenant_id).await?;
        let text = with_probabilities(&tenant.playbook_toml, &changes)?;
        let reason = format!(
            "Calibrated on closed deals: {}",
            changes
                .iter()
                .map(|c| format!(
                    "{} {}% → {}% ({} of {} won)",
                    c.name, c.from, c.to, c.won, c.decided
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
        self.propose_playbook(
            session,
            &ProposedPlaybook {
                reference: tenant.playbook_ref.clone(),
                bytes: text.into_bytes(),
            },
            "",
            &reason,
        )
        .await
    }
}

/// The playbook text with each named stage's `probability` set, everything else as written.
fn with_probabilities(text: &str, changes: &[Recalibration]) -> ServiceResult<String> {
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e| {
        ServiceError::Playbook(format!("the playbook in force does not parse: {e}"))
    })?;
    let stages = doc
        .get_mut("stage")
        .and_then(toml_edit::Item::as_array_of_tables_mut)
        .ok_or_else(|| ServiceError::Playbook("the playbook in force has no [[stage]]".into()))?;
    for change in changes {
        let stage = stages
            .iter_mut()
            .find(|s| s.get("id").and_then(toml_edit::Item::as_str) == Some(change.stage.as_str()))
            .ok_or_else(|| {
                ServiceError::Playbook(format!("no [[stage]] with id `{}`", change.stage))
            })?;
        // Assigning a value keeps the key's place and its comments.
        stage["probability"] = toml_edit::value(i64::from(change.to));
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_probability_lines_change() {
        let text = "# Our process\nname = \"P\"\n\n[[stage]]\nid = \"qualify\"\nprobability = 10 # first look\n\n[[stage]]\nid = \"solution\"\nprobability = 40\n";
        let out = with_probabilities(
            text,
            &[Recalibration {
                stage: "solution".parse().unwrap(),
                name: "Solution".into(),
                from: 40,
                to: 27,
                won: 8,
                decided: 35,
            }],
        )
        .unwrap();
        assert_eq!(out, text.replace("probability = 40", "probability = 27"));
    }
}
