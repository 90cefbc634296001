//! A playbook change communicated and understood: when a version is applied, its notice goes
//! through the outbox to the workspace's announcement channel (the digest's) and by DM to each
//! member, in the transaction that applies it, each message once (its nonce names the workspace,
//! the version and the recipient). Members acknowledge with the notice's "Got it" button or
//! `/playbook ack`; `/playbook acks` shows who has and who has not.

use chrono::{DateTime, Utc};

use crate::engine::ids::DealNumber;
use crate::engine::people::Member;
use crate::engine::playbook::{Role, load_str};
use crate::engine::revision::changes;
use crate::store::{Conn, StoreError, deals, jobs, members, playbooks, schedules};

use super::outbox::{NewMessage, Target};
use super::revision::PlaybookVersion;
use super::{Service, ServiceError, ServiceResult, Session};

/// One notice of a change: to the channel, or to one member.
#[derive(Debug, Clone)]
pub struct ChangeNotice {
    pub target: Target,
    /// The member it is for; `None` for the channel.
    pub member: Option<Member>,
    pub playbook_name: String,
    pub version: PlaybookVersion,
    /// The workspace's id on its platform, which the "Got it" button carries: pressed in a
    /// direct message, it is the only way to know the workspace.
    pub workspace: String,
}

/// Renders a notice as a message for the outbox (the wiring hands it in, as for alerts).
pub type NoticeRenderer = fn(&ChangeNotice) -> NewMessage;

/// A member's acknowledgement, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledged {
    pub version: i64,
    /// The version in force now (a notice may be pressed after a newer one applied).
    pub in_force: i64,
    /// `false`: they had acknowledged it before, and nothing new was recorded.
    pub first: bool,
}

/// Who has read the version in force.
#[derive(Debug, Clone)]
pub struct Acknowledgements {
    pub version: PlaybookVersion,
    pub acknowledged: Vec<(Member, DateTime<Utc>)>,
    pub pending: Vec<Member>,
}

impl Service {
    /// The same service announcing applied playbook changes through the outbox, in messages
    /// `render` makes.
    pub fn with_change_notices(mut self, render: NoticeRenderer) -> Self {
        self.notices = Some(render);
        self
    }

    /// Queues the notices of `version` in `conn`'s transaction: the channel, if the workspace
    /// has one, and every member but `applied_by`, who is recorded as having read it.
    pub(super) async fn announce_change(
        &self,
        conn: &mut Conn,
        workspace: (i64, &str),
        playbook_name: &str,
        version: &PlaybookVersion,
        applied_by: Option<&Member>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (tenant_id, external_id) = workspace;
        if let Some(by) = applied_by {
            playbooks::acknowledge(&mut *conn, tenant_id, by.id, version.version, now).await?;
        }
        let Some(render) = self.notices else {
            return Ok(());
        };
        let channel = schedules::get(&mut *conn, tenant_id)
            .await?
            .and_then(|s| s.digest_channel);
        let everyone = members::list(&mut *conn, tenant_id).await?;
        let recipients = channel
            .map(|c| (Target::Channel(c), None, "c".to_string()))
            .into_iter()
            .chain(
                everyone
                    .into_iter()
                    .filter(|m| applied_by.is_none_or(|by| by.id != m.id))
                    .map(|m| {
                        (
                            Target::Direct(m.user_key.clone()),
                            Some(m.clone()),
                            format!("m{}", m.id),
                        )
                    }),
            );
        for (target, member, who) in recipients {
            let message = render(&ChangeNotice {
                target,
                member,
                playbook_name: playbook_name.to_string(),
                version: version.clone(),
                workspace: external_id.to_string(),
            });
            jobs::insert_outbox(
                &mut *conn,
                &jobs::NewOutbox {
                    tenant_id,
                    claim_id: None,
                    target_kind: message.target.kind(),
                    target: message.target.id(),
                    payload: &message.payload,
                    image: None,
                    nonce: &format!("dgv{tenant_id}v{}{who}", version.version),
                },
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// `/playbook ack [version]` and the notice's "Got it": records that the member has read
    /// the version (the one in force unless named).
    pub async fn acknowledge_playbook(
        &self,
        session: &Session,
        version: Option<i64>,
    ) -> ServiceResult<Acknowledged> {
        let in_force = session.tenant.playbook_version;
        let version = version.unwrap_or(in_force);
        let mut tx = self.store.begin().await?;
        if playbooks::version(&mut tx, session.tenant.id, version)
            .await?
            .is_none()
        {
            return Err(ServiceError::Invalid(format!(
                "There is no playbook version {version} here; version {in_force} is in force. \
                 `/playbook history` lists them."
            )));
        }
        let first = playbooks::acknowledge(
            &mut tx,
            session.tenant.id,
            session.member.id,
            version,
            self.clock.now(),
        )
        .await?;
        self.mark_applied(&mut tx, session).await?;
        tx.commit().await?;
        Ok(Acknowledged {
            version,
            in_force,
            first,
        })
    }

    /// `/playbook acks` (managers and admins): who has and has not acknowledged the version
    /// in force.
    pub async fn playbook_acknowledgements(
        &self,
        session: &Session,
    ) -> ServiceResult<Acknowledgements> {
        if session.member.role < Role::Manager {
            return Err(ServiceError::Forbidden(
                "Only managers and admins can see who has acknowledged the playbook; \
                 `/playbook history` shows what changed."
                    .to_string(),
            ));
        }
        let version = self.playbook_in_force(session).await?;
        let mut conn = self.store.reader().acquire().await?;
        let acks =
            playbooks::acknowledgements(&mut conn, session.tenant.id, version.version).await?;
        let everyone = members::list(&mut conn, session.tenant.id).await?;
        let mut acknowledged = Vec::new();
        let mut pending = Vec::new();
        for m in everyone {
            match acks.iter().find(|(id, _)| *id == m.id) {
                Some((_, at)) => acknowledged.push((m, *at)),
                None => pending.push(m),
            }
        }
        acknowledged.sort_by_key(|(_, at)| *at);
        Ok(Acknowledgements {
            version,
            acknowledged,
            pending,
        })
    }

    /// What changed in the gates of `deal`'s stage with the version in force, if the member
    /// has not acknowledged that version and has not been told before: `/advance` says it once,
    /// with its reply. Nothing to read for a workspace still on its first version.
    pub async fn unread_gate_changes(
        &self,
        session: &Session,
        deal: DealNumber,
    ) -> ServiceResult<Vec<String>> {
        let version = session.tenant.playbook_version;
        if version <= 1 {
            return Ok(Vec::new());
        }
        let (tenant_id, member_id) = (session.tenant.id, session.member.id);
        let (stage, previous) = {
            let mut conn = self.store.reader().acquire().await?;
            if playbooks::has_acknowledged(&mut conn, tenant_id, member_id, version).await? {
                return Ok(Vec::new());
            }
            let Some(deal) = deals::get(&mut conn, tenant_id, deal).await? else {
                return Ok(Vec::new());
            };
            let Some(previous) = playbooks::toml_of(&mut conn, tenant_id, version - 1).await?
            else {
                return Ok(Vec::new());
            };
            (deal.stage, previous)
        };
        let Some(name) = session.playbook.stage(&stage).map(|s| s.name.clone()) else {
            return Ok(Vec::new());
        };
        // A version that no longer loads (a hand edit) has nothing to compare; say nothing.
        let Ok(old) = load_str(&previous.0, &previous.1) else {
            return Ok(Vec::new());
        };
        let lines: Vec<String> = changes(&old.playbook, &session.playbook)
            .iter()
            .filter(|c| c.touches_gates_of(&name))
            .map(ToString::to_string)
            .collect();
        if lines.is_empty() {
            return Ok(lines);
        }
        let mut tx = self.store.begin().await?;
        let first = playbooks::note_gate_change_shown(
            &mut tx,
            tenant_id,
            member_id,
            version,
            stage.as_str(),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(if first { lines } else { Vec::new() })
    }
}
