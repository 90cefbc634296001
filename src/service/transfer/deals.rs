//! Importing deal rows, a batch at a time: each batch one transaction, every deal in it with its
//! history or none of it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::plan::{Importer, PlannedDeal};
use super::source::SourceDeal;
use super::tally::{Flagged, Tally};
use crate::engine::deal::{Deal, DealFacts, DealStatus};
use crate::engine::ids::DealNumber;
use crate::engine::playbook::Playbook;
use crate::engine::process::{Passage, broken_gates};
use crate::service::{Service, ServiceResult, retrying};
use crate::store::imports::{self, ImportedChange, ImportedDeal};
use crate::store::{Conn, StoreError, deals, tenants};

/// One pass over a deals file: the importer, and the ids seen so far (a file that names a deal
/// twice is refused at the second row, not silently updated by it).
#[derive(Debug)]
pub struct DealImport {
    importer: Importer,
    seen: HashMap<String, u64>,
    /// What the pass has done so far.
    pub tally: Tally,
}

impl DealImport {
    pub fn new(importer: Importer) -> Self {
        Self {
            importer,
            seen: HashMap::new(),
            tally: Tally::default(),
        }
    }
}

/// What becomes of a planned row against what the workspace holds.
enum Action {
    Create,
    Update(Deal),
    Unchanged,
}

impl Service {
    /// Imports (with `write`) or sizes up (without) a batch of rows, adding what it did to
    /// `run.tally`. Rows of another pipeline are counted and left; rows that cannot map are
    /// refused with their line; nothing is written for them. With `write`, the batch is one
    /// transaction.
    pub async fn import_deals(
        &self,
        run: &mut DealImport,
        rows: &[SourceDeal],
        write: bool,
    ) -> ServiceResult<()> {
        let now = self.clock.now();
        let mut planned = Vec::with_capacity(rows.len());
        for row in rows {
            if !run.importer.takes_pipeline(row.pipeline.as_deref()) {
                run.tally
                    .other_pipeline(row.pipeline.as_deref().unwrap_or_default());
                continue;
            }
            match run.importer.plan(row, now) {
                Ok(p) => match run.seen.get(&p.source_id) {
                    Some(first) => run.tally.refuse_reason(
                        row.line,
                        format!(
                            "the id `{}` was already imported from line {first}",
                            crate::engine::text::one_line(&p.source_id)
                        ),
                    ),
                    None => {
                        run.seen.insert(p.source_id.clone(), p.line);
                        planned.push(p);
                    }
                },
                Err(refusal) => run.tally.refuse(row.line, refusal),
            }
        }
        if planned.is_empty() {
            return Ok(());
        }
        let importer = &run.importer;
        let batch = if write {
            retrying(|| self.write_batch(importer, &planned, now)).await?
        } else {
            let mut conn = self.store.reader().acquire().await?;
            size_up(&mut conn, importer, &planned, now).await?
        };
        run.tally.add(batch);
        Ok(())
    }

    async fn write_batch(
        &self,
        importer: &Importer,
        planned: &[PlannedDeal],
        now: DateTime<Utc>,
    ) -> ServiceResult<Tally> {
        let mut tally = Tally::default();
        let mut tx = self.store.begin().await?;
        let existing = lookup(&mut tx, importer, planned).await?;
        // The batch's new deals take their numbers in one statement (a file's own numbers
        // aside, which go in one by one where they are free).
        let fresh = planned
            .iter()
            .filter(|p| p.number.is_none() && !existing.contains_key(&p.source_id))
            .count();
        let mut numbers =
            imports::take_deal_numbers(&mut tx, importer.tenant.id, fresh as i64).await?;
        let mut creates = Vec::new();
        for p in planned {
            match decide(importer, p, existing.get(&p.source_id)) {
                Action::Unchanged => tally.unchanged += 1,
                Action::Create => {
                    let number = number_for(&mut tx, importer, p, &mut numbers).await?;
                    creates.push((p, number));
                }
                Action::Update(deal) => {
                    let (deal, broken) = update(&mut tx, importer, p, deal, now).await?;
                    tally.updated += 1;
                    tally.flag(Flagged::of(p, &deal, broken));
                }
            }
        }
        for (p, deal, broken) in create(&mut tx, importer, &creates, now).await? {
            tally.created += 1;
            tally.flag(Flagged::of(p, &deal, broken));
        }
        tx.commit().await?;
        Ok(tally)
    }
}

/// What a batch would do, read only.
async fn size_up(
    conn: &mut Conn,
    importer: &Importer,
    planned: &[PlannedDeal],
    now: DateTime<Utc>,
) -> ServiceResult<Tally> {
    let mut tally = Tally::default();
    let existing = lookup(conn, importer, planned).await?;
    for p in planned {
        match decide(importer, p, existing.get(&p.source_id)) {
            Action::Unchanged => tally.unchanged += 1,
            Action::Create => {
                tally.created += 1;
                tally.flag(Flagged {
                    line: p.line,
                    name: p.name.clone(),
                    number: None,
                    broken: judge_new(&importer.playbook, p, None, now),
                });
            }
            Action::Update(_) => tally.updated += 1,
        }
    }
    Ok(tally)
}

async fn lookup(
    conn: &mut Conn,
    importer: &Importer,
    planned: &[PlannedDeal],
) -> ServiceResult<HashMap<String, Deal>> {
    let ids: Vec<&str> = planned.iter().map(|p| p.source_id.as_str()).collect();
    Ok(imports::by_source_ids(conn, importer.tenant.id, importer.format.as_str(), &ids).await?)
}

fn decide(importer: &Importer, p: &PlannedDeal, held: Option<&Deal>) -> Action {
    let Some(deal) = held else {
        return Action::Create;
    };
    let differs = deal.name != p.name
        || deal.owner_id != p.owner.id
        || deal.amount != p.amount
        || deal.close_date != p.close_date
        || deal.stage != p.stage
        || deal.status != p.status
        // Only dealgate's own files carry custom fields; a CRM's row leaves them alone.
        || (importer.format == super::SourceFormat::Dealgate && deal.fields != p.fields);
    if differs {
        Action::Update(deal.clone())
    } else {
        Action::Unchanged
    }
}

/// The number a new deal takes: dealgate's own files keep theirs where the workspace has it free
/// (so `deal-42` is still deal-42 after moving); the rest take the next of the batch's block.
async fn number_for(
    conn: &mut Conn,
    importer: &Importer,
    p: &PlannedDeal,
    numbers: &mut std::ops::Range<i64>,
) -> ServiceResult<i64> {
    let tenant = importer.tenant.id;
    Ok(match p.number {
        Some(n) if imports::number_free(conn, tenant, n).await? => {
            imports::number_after(conn, tenant, n).await?;
            n
        }
        Some(_) => tenants::take_deal_number(conn, tenant).await?,
        None => match numbers.next() {
            Some(n) => n,
            None => tenants::take_deal_number(conn, tenant).await?,
        },
    })
}

/// Writes a batch's new deals and their histories, a statement for the deals and one for the
/// histories (round trips, not rows, are what an import's time goes on), each deal judged
/// against the stages its history says it passed.
async fn create<'p>(
    conn: &mut Conn,
    importer: &Importer,
    creates: &[(&'p PlannedDeal, i64)],
    now: DateTime<Utc>,
) -> ServiceResult<Vec<(&'p PlannedDeal, Deal, Vec<String>)>> {
    let tenant = importer.tenant.id;
    let source = importer.format.as_str();
    let broken: Vec<Vec<String>> = creates
        .iter()
        .map(|(p, n)| judge_new(&importer.playbook, p, DealNumber::new(*n as u32), now))
        .collect();
    let rows: Vec<ImportedDeal> = creates
        .iter()
        .zip(&broken)
        .map(|((p, number), broken)| ImportedDeal {
            tenant_id: tenant,
            number: *number,
            name: &p.name,
            owner_id: p.owner.id,
            amount: p.amount,
            close_date: p.close_date,
            stage: &p.stage,
            stage_entered_at: p.stage_entered_at,
            status: p.status,
            fields: &p.fields,
            created_at: p.created_at,
            closed_at: p.closed_at,
            out_of_process: broken.len(),
            source,
            source_id: &p.source_id,
        })
        .collect();
    let mut written = imports::insert_deals(conn, &rows, now).await?;
    let mut history = Vec::new();
    let mut done = Vec::with_capacity(creates.len());
    for ((p, _), broken) in creates.iter().zip(broken) {
        let deal = written
            .remove(&p.source_id)
            .ok_or_else(|| StoreError::Corrupt {
                table: "deals",
                detail: format!("the import of `{}` returned no row", p.source_id),
            })?;
        let mut from = None;
        for (stage, at) in &p.history {
            history.push(ImportedChange {
                tenant_id: tenant,
                deal_id: deal.id,
                actor_id: p.owner.id,
                from: from.map(|s: &crate::engine::ids::StageId| s.as_str()),
                to: stage.as_str(),
                kind: importer.move_kind(from, stage),
                overridden_gates: &[],
                reason: None,
                at: *at,
                source,
            });
            from = Some(stage);
        }
        done.push((*p, deal, broken));
    }
    imports::insert_changes(conn, &history).await?;
    Ok(done)
}

/// Brings a deal the workspace holds up to its changed row: its values, and a stage change
/// when the stage moved (dated when the source says it entered the stage, else now). Amount
/// and close date changes go in its field history, as an edit in chat would.
async fn update(
    conn: &mut Conn,
    importer: &Importer,
    p: &PlannedDeal,
    mut deal: Deal,
    now: DateTime<Utc>,
) -> ServiceResult<(Deal, Vec<String>)> {
    let before = deal.clone();
    deal.name = p.name.clone();
    deal.owner_id = p.owner.id;
    deal.amount = p.amount;
    deal.close_date = p.close_date;
    if importer.format == super::SourceFormat::Dealgate {
        deal.fields = p.fields.clone();
    }
    let moved = deal.stage != p.stage;
    if moved {
        deal.stage = p.stage.clone();
        deal.stage_entered_at = Some(p.stage_entered_at)
            .filter(|at| *at > before.stage_entered_at)
            .unwrap_or(now);
    }
    deal.status = p.status;
    deal.closed_at = match p.status {
        DealStatus::Open => None,
        _ => before
            .closed_at
            .filter(|_| before.status == p.status)
            .or(p.closed_at)
            .or(Some(deal.stage_entered_at)),
    };
    deals::update(conn, &mut deal, now).await?;
    if moved {
        imports::insert_change(
            conn,
            &ImportedChange {
                tenant_id: deal.tenant_id,
                deal_id: deal.id,
                actor_id: p.owner.id,
                from: Some(before.stage.as_str()),
                to: deal.stage.as_str(),
                kind: importer.move_kind(Some(&before.stage), &deal.stage),
                overridden_gates: &[],
                reason: None,
                at: deal.stage_entered_at,
                source: importer.format.as_str(),
            },
        )
        .await?;
    }
    for (field, old, new) in [
        ("amount", before.amount.to_string(), deal.amount.to_string()),
        (
            "close_date",
            before.close_date.to_string(),
            deal.close_date.to_string(),
        ),
    ] {
        if old != new {
            deals::insert_field_change(conn, &deal, p.owner.id, field, Some(&old), &new, now)
                .await?;
        }
    }
    let records = deals::records(conn, deal.id).await?;
    let broken = broken_gates(&importer.playbook, &records.facts(&deal), now.date_naive());
    deals::set_out_of_process(conn, &deal, broken.len()).await?;
    deal.out_of_process = u32::try_from(broken.len()).ok();
    Ok((deal, broken.iter().map(described).collect()))
}

/// The requirements a new deal would miss of the stages its history says it passed.
fn judge_new(
    playbook: &Playbook,
    p: &PlannedDeal,
    number: Option<DealNumber>,
    now: DateTime<Utc>,
) -> Vec<String> {
    let facts = DealFacts {
        number: number.or(DealNumber::new(1)).expect("1 is a deal number"),
        name: p.name.clone(),
        amount: p.amount,
        close_date: p.close_date,
        stage: p.stage.clone(),
        stage_entered_at: p.stage_entered_at,
        status: p.status,
        fields: p.fields.clone(),
        activities: Vec::new(),
        approvals: Vec::new(),
        passage: Passage {
            visited: p.history.iter().map(|(s, _)| s.clone()).collect(),
            overridden: Vec::new(),
        },
    };
    broken_gates(playbook, &facts, now.date_naive())
        .iter()
        .map(described)
        .collect()
}

fn described(check: &crate::engine::gates::GateCheck) -> String {
    format!("[{}] {}", check.stage, check.requirement)
}
