//! The playbook revised in place: versions, a preview of what a change would do, and applying
//! it in one transaction.
//!
//! An admin proposes a new playbook (a Discord attachment, a console path, the CLI's file). The
//! proposal is checked as `playbook check` checks a file, compared with the version in force,
//! and its impact on the open deals worked out; a proposal that could apply is kept as a draft
//! and nothing else changes. Confirming the draft applies exactly what was previewed, and only
//! onto the version it was previewed against. Every replica reads the version in force with
//! each command's session (`tenants.playbook_toml`), so its cached parse of the old version is
//! dropped at the next command.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::engine::deal::Deal;
use crate::engine::playbook::{Playbook, load_str};
use crate::engine::revision::{Change, Impact, StageMapping, changes, plan, terminal_moves};
use crate::store::{Conn, Tenant, deals, playbooks, tenants};

use super::authz::require_admin;
use super::forecast::period_range;
use super::{Service, ServiceError, ServiceResult, Session};
use crate::engine::forecast::PeriodSpec;

/// The largest playbook accepted, in bytes: far above any real one (the templates are 3–9 KiB),
/// and small enough that a stray upload is refused before it is parsed.
pub const MAX_PLAYBOOK_BYTES: usize = 256 * 1024;

/// One version of a workspace's playbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookVersion {
    pub version: i64,
    pub reference: String,
    /// Who applied it; `None` for the version the workspace started with.
    pub changed_by: Option<String>,
    pub reason: Option<String>,
    /// What changed, in plain words.
    pub summary: Vec<String>,
    pub at: DateTime<Utc>,
}

impl From<playbooks::VersionRow> for PlaybookVersion {
    fn from(r: playbooks::VersionRow) -> Self {
        Self {
            version: r.version,
            reference: r.playbook_ref,
            changed_by: r.changed_by,
            reason: r.reason,
            summary: r
                .summary
                .map(|s| s.lines().map(str::to_string).collect())
                .unwrap_or_default(),
            at: r.created_at,
        }
    }
}

/// A proposed playbook as it arrived: where it came from (a file name) and its bytes.
#[derive(Debug, Clone)]
pub struct ProposedPlaybook {
    pub reference: String,
    pub bytes: Vec<u8>,
}

/// What a proposed change would do, shown before anything changes.
#[derive(Debug, Clone)]
pub struct Preview {
    /// The draft to confirm; `None` when the change cannot apply as it stands (deals of a
    /// removed stage with nowhere to go).
    pub draft: Option<i64>,
    /// The workspace it is for.
    pub workspace_id: i64,
    pub base_version: i64,
    pub reference: String,
    pub reason: String,
    pub changes: Vec<Change>,
    pub impact: Impact,
    /// Closed deals of removed won or lost stages and where they go (no mapping needed).
    pub closed_moves: Vec<(String, String)>,
    /// What `playbook check` warns about the proposal (it applies anyway).
    pub warnings: Vec<String>,
    pub mapping: StageMapping,
    pub currency: String,
}

/// A change applied.
#[derive(Debug, Clone)]
pub struct Applied {
    pub version: PlaybookVersion,
    pub playbook: Arc<Playbook>,
    /// Deals moved out of removed stages, open and closed.
    pub moved: u64,
}

/// Who applies a change: a member, or the operator at the command line.
#[derive(Debug, Clone)]
pub enum Proposer<'a> {
    Member(&'a Session),
    Operator,
}

impl Proposer<'_> {
    fn name(&self) -> String {
        match self {
            Self::Member(s) => s.member.display_name.clone(),
            Self::Operator => "the operator (command line)".to_string(),
        }
    }
}

impl Service {
    /// `/playbook`'s header: the version in force and when it began.
    pub async fn playbook_in_force(&self, session: &Session) -> ServiceResult<PlaybookVersion> {
        let mut conn = self.store.reader().acquire().await?;
        let id = session.tenant.id;
        playbooks::version(&mut conn, id, session.tenant.playbook_version)
            .await?
            .map(PlaybookVersion::from)
            .ok_or_else(|| {
                ServiceError::Internal(anyhow::anyhow!(
                    "workspace {id} has no row for its playbook version {}",
                    session.tenant.playbook_version
                ))
            })
    }

    /// `/playbook history`: every version, newest first.
    pub async fn playbook_history(&self, session: &Session) -> ServiceResult<Vec<PlaybookVersion>> {
        let mut conn = self.store.reader().acquire().await?;
        Ok(playbooks::versions(&mut conn, session.tenant.id)
            .await?
            .into_iter()
            .map(PlaybookVersion::from)
            .collect())
    }

    /// Refuses anyone but an admin before a proposal is even read.
    pub fn may_change_playbook(&self, session: &Session) -> ServiceResult<()> {
        require_admin(&session.member, "change the playbook")
    }

    /// `/playbook update`: checks a proposed playbook and previews its change (admins only).
    pub async fn propose_playbook(
        &self,
        session: &Session,
        proposed: &ProposedPlaybook,
        mapping: &str,
        reason: &str,
    ) -> ServiceResult<Preview> {
        require_admin(&session.member, "change the playbook")?;
        let tenant = self.tenant_by_id(session.tenant.id).await?;
        self.preview(
            &tenant,
            Proposer::Member(session),
            proposed,
            mapping,
            reason,
        )
        .await
    }

    /// `/playbook confirm`: applies a previewed change (admins only).
    pub async fn confirm_playbook(&self, session: &Session, draft: i64) -> ServiceResult<Applied> {
        require_admin(&session.member, "change the playbook")?;
        self.apply_draft(session.tenant.id, draft, Proposer::Member(session))
            .await
    }

    /// `dealgate playbook apply`: the operator's preview of a change to a workspace found by
    /// platform and id, without a member's session.
    pub async fn propose_playbook_as_operator(
        &self,
        platform: super::Platform,
        workspace: &str,
        proposed: &ProposedPlaybook,
        mapping: &str,
        reason: &str,
    ) -> ServiceResult<Preview> {
        let tenant = self.tenant_named(platform, workspace).await?;
        self.preview(&tenant, Proposer::Operator, proposed, mapping, reason)
            .await
    }

    /// The operator's confirmation of a preview (`--yes`).
    pub async fn confirm_playbook_as_operator(
        &self,
        tenant_id: i64,
        draft: i64,
    ) -> ServiceResult<Applied> {
        self.apply_draft(tenant_id, draft, Proposer::Operator).await
    }

    pub(super) async fn tenant_by_id(&self, id: i64) -> ServiceResult<Tenant> {
        let mut conn = self.store.reader().acquire().await?;
        tenants::get(&mut conn, id)
            .await?
            .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("workspace {id} is gone")))
    }

    async fn preview(
        &self,
        tenant: &Tenant,
        proposer: Proposer<'_>,
        proposed: &ProposedPlaybook,
        mapping_text: &str,
        reason: &str,
    ) -> ServiceResult<Preview> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ServiceError::Invalid(
                "Say why the playbook changes (`reason`): every member reads it with the change."
                    .to_string(),
            ));
        }
        super::deals::check_text("reason", reason, super::limits::REASON)?;
        let text = proposed_text(proposed)?;
        let loaded = load_str(&proposed.reference, &text).map_err(|e| {
            ServiceError::Invalid(format!(
                "The proposed playbook has problems; nothing changed. Fix them and try again \
                 (`dealgate playbook check FILE` finds the same):\n{e}"
            ))
        })?;
        let old = self.playbook_of(tenant)?;
        let new = loaded.playbook;
        if new.currency != old.currency {
            return Err(ServiceError::Invalid(format!(
                "The proposed playbook counts in {}, the workspace in {}: amounts are kept in {}'s \
                 units, so the currency cannot change in place. Keep `currency = \"{}\"`.",
                new.currency, old.currency, old.currency, old.currency
            )));
        }
        let mapping =
            StageMapping::parse(mapping_text).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let found = changes(&old, &new);
        if found.is_empty() {
            return Err(ServiceError::Invalid(format!(
                "The proposed playbook is the same process as version {} in force; nothing to \
                 change.",
                tenant.playbook_version
            )));
        }
        let schedule = self.schedule(tenant.id).await?;
        let today = schedule.digest.today(self.clock.now());
        let quarter = period_range(PeriodSpec::ThisQuarter, today, schedule.fiscal_start_month);
        let (Some(from), Some(until)) = (quarter.from, quarter.until) else {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "this quarter has no bounds"
            )));
        };
        let last = until.pred_opt().unwrap_or(until);
        let facts = {
            let mut conn = self.store.reader().acquire().await?;
            open_deal_facts(&mut conn, tenant.id).await?
        };
        let impact = plan(&old, &new, &mapping, &facts, (from, last), today)
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let closed_moves = terminal_moves(&old, &new)
            .into_iter()
            .map(|(from, to)| {
                let name =
                    |p: &Playbook, id| p.stage(id).map_or_else(String::new, |s| s.name.clone());
                (name(&old, &from), name(&new, &to))
            })
            .collect();
        let draft = if impact.unmapped().next().is_none() {
            let mut tx = self.store.begin().await?;
            let id = playbooks::insert_draft(
                &mut tx,
                &playbooks::NewDraft {
                    tenant_id: tenant.id,
                    base_version: tenant.playbook_version,
                    playbook_ref: &proposed.reference,
                    playbook_toml: &text,
                    mapping: &mapping.to_string(),
                    reason,
                    proposed_by: &proposer.name(),
                },
                self.clock.now(),
            )
            .await?;
            tx.commit().await?;
            Some(id)
        } else {
            None
        };
        Ok(Preview {
            draft,
            workspace_id: tenant.id,
            base_version: tenant.playbook_version,
            reference: proposed.reference.clone(),
            reason: reason.to_string(),
            changes: found,
            impact,
            closed_moves,
            warnings: loaded
                .warnings
                .iter()
                .map(|w| w.render(&proposed.reference))
                .collect(),
            mapping,
            currency: old.currency.clone(),
        })
    }

    /// Applies a draft in one transaction: the new version, deals of removed stages mapped, the
    /// version in force switched, every deal's standing to be judged again.
    async fn apply_draft(
        &self,
        tenant_id: i64,
        draft_id: i64,
        proposer: Proposer<'_>,
    ) -> ServiceResult<Applied> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        tenants::lock(&mut tx, tenant_id).await?;
        let draft = playbooks::draft(&mut tx, tenant_id, draft_id)
            .await?
            .ok_or_else(|| {
                ServiceError::Invalid(format!(
                    "There is no playbook preview {draft_id} in this workspace; \
                     `/playbook update` makes one."
                ))
            })?;
        let tenant = tenants::get(&mut tx, tenant_id).await?.ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!("workspace {tenant_id} is gone"))
        })?;
        if draft.applied_at.is_some() {
            return Err(ServiceError::Invalid(format!(
                "Preview {draft_id} was already applied; the version in force is {}. \
                 `/playbook history` lists the versions.",
                tenant.playbook_version
            )));
        }
        if tenant.playbook_version != draft.base_version {
            return Err(ServiceError::Invalid(format!(
                "The playbook changed since preview {draft_id} was made (it was made against \
                 version {}; version {} is in force now), so it was not applied. Preview the \
                 change again with `/playbook update`.",
                draft.base_version, tenant.playbook_version
            )));
        }
        let old = self.playbook_of(&tenant)?;
        let new = load_str(&draft.playbook_ref, &draft.playbook_toml)
            .map_err(|e| ServiceError::Playbook(e.to_string()))?
            .playbook;
        let mapping = StageMapping::parse(&draft.mapping)
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        // Deals created in a removed stage since the preview have nowhere to go unless the
        // mapping names the stage: refused, and the admin previews again.
        for stage in old.open_stages().filter(|s| new.stage(&s.id).is_none()) {
            if mapping.get(&stage.id).is_none()
                && playbooks::open_in_stage(&mut tx, tenant_id, stage.id.as_str()).await? > 0
            {
                return Err(ServiceError::Invalid(format!(
                    "Deals entered {} (`{}`) since preview {draft_id}, and the new playbook has \
                     no such stage; preview again with a mapping for it.",
                    stage.name, stage.id
                )));
            }
        }
        let found = changes(&old, &new);
        let mut summary: Vec<String> = found.iter().map(ToString::to_string).collect();
        let mut moved = 0;
        let pairs: Vec<(String, String)> = mapping
            .pairs()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .chain(
                terminal_moves(&old, &new)
                    .into_iter()
                    .map(|(a, b)| (a.to_string(), b.to_string())),
            )
            .collect();
        for (from, to) in &pairs {
            let n = playbooks::move_stage(&mut tx, tenant_id, from, to, now).await?;
            if n > 0 {
                summary.push(format!(
                    "{n} deal{} moved from `{from}` to `{to}`",
                    if n == 1 { "" } else { "s" }
                ));
            }
            moved += n;
        }
        let version = draft.base_version + 1;
        let changed_by = proposer.name();
        let summary_text = summary.join("\n");
        playbooks::insert_version(
            &mut tx,
            &playbooks::NewVersion {
                tenant_id,
                version,
                playbook_ref: &draft.playbook_ref,
                playbook_toml: &draft.playbook_toml,
                changed_by: Some(&changed_by),
                reason: Some(&draft.reason),
                summary: Some(&summary_text),
            },
            now,
        )
        .await?;
        let switched = playbooks::set_in_force(
            &mut tx,
            tenant_id,
            draft.base_version,
            version,
            &draft.playbook_ref,
            &draft.playbook_toml,
        )
        .await?;
        if !switched || !playbooks::mark_applied(&mut tx, draft_id, now).await? {
            // The workspace's row is held above, so only a hand edit gets here.
            return Err(ServiceError::Busy);
        }
        playbooks::forget_standing(&mut tx, tenant_id).await?;
        let version_info = PlaybookVersion {
            version,
            reference: draft.playbook_ref,
            changed_by: Some(changed_by.clone()),
            reason: Some(draft.reason),
            summary,
            at: now,
        };
        let applied_by = match &proposer {
            Proposer::Member(session) => Some(&session.member),
            Proposer::Operator => None,
        };
        self.announce_change(
            &mut tx,
            (tenant_id, &tenant.external_id),
            &new.name,
            &version_info,
            applied_by,
            now,
        )
        .await?;
        if let Proposer::Member(session) = &proposer {
            self.mark_applied(&mut tx, session).await?;
        }
        tx.commit().await?;
        let playbook = Arc::new(new);
        tracing::info!(
            tenant = tenant_id,
            version,
            moved,
            by = %changed_by,
            "playbook changed"
        );
        // Every deal's standing is forgotten above; the first list, digest or nudges judge
        // them all again before reading, so applying stays one short transaction.
        Ok(Applied {
            version: version_info,
            playbook,
            moved,
        })
    }
}

/// The refusal of a playbook file over `MAX_PLAYBOOK_BYTES`, wherever it is found out (an
/// adapter may know from the size a platform declares, before fetching anything).
pub fn too_large(file: &str) -> ServiceError {
    // Readers stop one byte past the limit, so the true size is not known.
    ServiceError::Invalid(format!(
        "`{file}` is larger than {} KiB, the most a playbook may be; is it the right file? \
         Nothing changed.",
        MAX_PLAYBOOK_BYTES / 1024
    ))
}

/// The proposal's text: refused when too large, not text, or empty.
fn proposed_text(proposed: &ProposedPlaybook) -> ServiceResult<String> {
    if proposed.bytes.len() > MAX_PLAYBOOK_BYTES {
        return Err(too_large(&proposed.reference));
    }
    let text = std::str::from_utf8(&proposed.bytes).map_err(|_| {
        ServiceError::Invalid(format!(
            "`{}` is not a text file; a playbook is a TOML file (`dealgate playbook show \
             default` prints one to start from). Nothing changed.",
            proposed.reference
        ))
    })?;
    if text.trim().is_empty() {
        return Err(ServiceError::Invalid(format!(
            "`{}` is empty; a playbook is a TOML file (`dealgate playbook show default` prints \
             one to start from). Nothing changed.",
            proposed.reference
        )));
    }
    Ok(text.to_string())
}

/// Every open deal of the workspace with what its gates are judged on.
async fn open_deal_facts(
    conn: &mut Conn,
    tenant_id: i64,
) -> ServiceResult<Vec<crate::engine::deal::DealFacts>> {
    let open: Vec<Deal> = playbooks::open_deals(&mut *conn, tenant_id).await?;
    let mut facts = Vec::with_capacity(open.len());
    for deal in &open {
        facts.push(deals::records(&mut *conn, deal.id).await?.facts(deal));
    }
    Ok(facts)
}
