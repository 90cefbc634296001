//! Importing dealgate's own activity and stage-history files onto deals imported before: each
//! row is added unless the deal already has it, so a second import changes nothing.

use std::collections::{HashMap, HashSet};

use super::plan::{Importer, Refusal};
use super::source::{SourceActivity, SourceChange};
use super::tally::Tally;
use crate::engine::deal::Deal;
use crate::engine::ids::ActivityId;
use crate::engine::text::one_line;
use crate::service::{Service, ServiceResult};
use crate::store::imports::{self, ImportedActivity, ImportedChange};
use crate::store::{Conn, ts};

/// One pass over an activities or history file.
#[derive(Debug)]
pub struct RecordImport {
    importer: Importer,
    pub tally: Tally,
}

impl RecordImport {
    pub fn new(importer: Importer) -> Self {
        Self {
            importer,
            tally: Tally::default(),
        }
    }
}

/// A batch of rows of dealgate's activities or stage-history export.
#[derive(Debug, Clone, Copy)]
pub enum Records<'r> {
    Activities(&'r [SourceActivity]),
    History(&'r [SourceChange]),
}

impl Service {
    /// Imports (with `write`, in one transaction) or sizes up a batch of activity or
    /// stage-history rows.
    pub async fn import_records(
        &self,
        run: &mut RecordImport,
        rows: Records<'_>,
        write: bool,
    ) -> ServiceResult<()> {
        let importer = &run.importer;
        let tally = if write {
            let mut tx = self.store.begin().await?;
            let tally = apply(&mut tx, importer, rows, true).await?;
            tx.commit().await?;
            tally
        } else {
            let mut conn = self.store.reader().acquire().await?;
            apply(&mut conn, importer, rows, false).await?
        };
        run.tally.add(tally);
        Ok(())
    }
}

async fn apply(
    conn: &mut Conn,
    importer: &Importer,
    rows: Records<'_>,
    write: bool,
) -> ServiceResult<Tally> {
    match rows {
        Records::Activities(rows) => activities(conn, importer, rows, write).await,
        Records::History(rows) => history(conn, importer, rows, write).await,
    }
}

/// The deals the rows name, by the name their export gave them.
async fn deals_named<'a>(
    conn: &mut Conn,
    importer: &Importer,
    names: impl Iterator<Item = &'a str>,
) -> ServiceResult<HashMap<String, Deal>> {
    let ids: Vec<&str> = names.collect::<HashSet<_>>().into_iter().collect();
    Ok(imports::by_source_ids(conn, importer.tenant.id, importer.format.as_str(), &ids).await?)
}

fn missing_deal(deal: &str) -> Refusal {
    Refusal::Other(format!(
        "`{}` is not in the workspace: import the deals file first",
        one_line(deal)
    ))
}

async fn activities(
    conn: &mut Conn,
    importer: &Importer,
    rows: &[SourceActivity],
    write: bool,
) -> ServiceResult<Tally> {
    let mut tally = Tally::default();
    let deals = deals_named(conn, importer, rows.iter().map(|r| r.deal.as_str())).await?;
    for row in rows {
        let checked = (|| {
            let deal = deals
                .get(&row.deal)
                .ok_or_else(|| missing_deal(&row.deal))?;
            let member = importer.owner(&row.member)?;
            let stage = importer.stage(&row.stage)?;
            let activity: ActivityId = row.activity.parse().map_err(|_| {
                Refusal::Other(format!(
                    "`{}` is not an activity id",
                    one_line(&row.activity)
                ))
            })?;
            Ok::<_, Refusal>((deal, member, stage, activity))
        })();
        let (deal, member, stage, activity) = match checked {
            Ok(c) => c,
            Err(refusal) => {
                tally.refuse(row.line, refusal);
                continue;
            }
        };
        let new = ImportedActivity {
            tenant_id: deal.tenant_id,
            deal_id: deal.id,
            member_id: member.id,
            activity: activity.as_str(),
            note: row.note.as_deref(),
            stage: stage.as_str(),
            at: row.at,
            source: importer.format.as_str(),
        };
        let added = if write {
            let added = imports::insert_activity(conn, &new).await?;
            if added {
                imports::unjudge(conn, deal.id).await?;
            }
            added
        } else {
            !imports::has_activity(conn, &new).await?
        };
        if added {
            tally.created += 1;
        } else {
            tally.unchanged += 1;
        }
    }
    Ok(tally)
}

async fn history(
    conn: &mut Conn,
    importer: &Importer,
    rows: &[SourceChange],
    write: bool,
) -> ServiceResult<Tally> {
    let mut tally = Tally::default();
    let deals = deals_named(conn, importer, rows.iter().map(|r| r.deal.as_str())).await?;
    for row in rows {
        let checked = (|| {
            let deal = deals
                .get(&row.deal)
                .ok_or_else(|| missing_deal(&row.deal))?;
            let actor = importer.owner(&row.actor)?;
            let to = importer.stage(&row.to_stage)?;
            let from = row
                .from_stage
                .as_deref()
                .map(|s| importer.stage(s))
                .transpose()?;
            if !["create", "advance", "back", "won", "lost"].contains(&row.kind.as_str())
                || (row.kind == "create") != from.is_none()
            {
                return Err(Refusal::Other(format!(
                    "`{}` is not a kind of stage change here: create (with no from_stage), \
                     advance, back, won or lost",
                    one_line(&row.kind)
                )));
            }
            Ok::<_, Refusal>((deal, actor, from, to))
        })();
        let (deal, actor, from, to) = match checked {
            Ok(c) => c,
            Err(refusal) => {
                tally.refuse(row.line, refusal);
                continue;
            }
        };
        let held = imports::changes(conn, deal.id).await?;
        let at = ts(row.at);
        let gates = (!row.overridden.is_empty()).then(|| row.overridden.join("\n"));
        // The same move (kind, stage and moment) is the same row: unchanged when it says the same,
        // brought up to date when an import wrote it with less (a deals file knows no reasons).
        // A deal has one creation: the one a deals import wrote gives way to the history's.
        // Rows made in dealgate are never touched.
        let same = held.iter().find(|h| {
            (h.kind == row.kind && h.to == to.as_str() && h.at == at)
                || (h.kind == "create" && row.kind == "create")
        });
        let replaces = match same {
            Some(h)
                if h.source.is_none()
                    || (h.to == to.as_str()
                        && h.at == at
                        && h.actor_id == actor.id
                        && h.reason == row.reason
                        && h.gates == gates
                        && h.from.as_deref() == from.as_ref().map(|s| s.as_str())) =>
            {
                tally.unchanged += 1;
                continue;
            }
            Some(h) => Some(h.id),
            None => None,
        };
        if write {
            if let Some(id) = replaces {
                imports::delete_change(conn, id).await?;
            }
            imports::insert_change(
                conn,
                &ImportedChange {
                    tenant_id: deal.tenant_id,
                    deal_id: deal.id,
                    actor_id: actor.id,
                    from: from.as_ref().map(|s| s.as_str()),
                    to: to.as_str(),
                    kind: &row.kind,
                    overridden_gates: &row.overridden,
                    reason: row.reason.as_deref(),
                    at: row.at,
                    source: importer.format.as_str(),
                },
            )
            .await?;
            imports::unjudge(conn, deal.id).await?;
        }
        if replaces.is_some() {
            tally.updated += 1;
        } else {
            tally.created += 1;
        }
    }
    Ok(tally)
}
