//! Workspaces, members and the playbook in force: resolving who is asking, and `/team`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::UserRef;
use crate::engine::deal::Deal;
use crate::engine::ids::DealNumber;
use crate::engine::people::Member;
use crate::engine::playbook::{Playbook, Role, load_str};
use crate::store::deals::{CallerKey, DealRecords};
use crate::store::receipts::Seen;
use crate::store::{Tenant, TenantHead, deals, members, tenants};

use super::authz::require_admin;
use super::kept::KeptKey;
use super::{Delivery, Service, ServiceError, ServiceResult};

/// Where a workspace lives; each keeps its own workspaces, members and answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    Console,
    Discord,
    Slack,
}

impl Platform {
    pub const ALL: [Self; 3] = [Self::Console, Self::Discord, Self::Slack];

    /// The name stored with a workspace, an interaction receipt, and shown to operators.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Console => "console",
            Self::Discord => "discord",
            Self::Slack => "slack",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is asking, as the adapter knows them.
#[derive(Debug, Clone)]
pub struct Caller {
    pub platform: Platform,
    /// The workspace id on that platform (guild id, team id, console workspace name).
    pub workspace: String,
    pub workspace_name: String,
    /// The user's stable id on the platform (the console uses the name).
    pub user_key: String,
    pub display_name: String,
    /// A role the platform itself vouches for (e.g. Discord's Administrator permission); the
    /// member has at least this role whatever `/team set` says.
    pub platform_role: Option<Role>,
    /// Only an existing member of an existing workspace: the platform vouches for the user but
    /// not for the workspace (a button pressed in a direct message names its workspace itself),
    /// so nobody joins a workspace that way.
    pub known_only: bool,
}

/// A resolved caller: the workspace, the member and the playbook in force.
#[derive(Debug, Clone)]
pub struct Session {
    pub tenant: super::Workspace,
    pub member: Member,
    pub playbook: Arc<Playbook>,
    /// The chat delivery this session runs a command for, if it was claimed: the command's
    /// transaction records its effect, so it is applied at most once.
    pub delivery: Option<Delivery>,
    /// The deal the command names, read with the caller (see [`Service::session_about`]).
    pub(crate) prefetched: Prefetched,
    /// What the database held of the delivery, read with the caller, where the session was
    /// read for one (see [`Service::session_about_delivery`]).
    pub(crate) seen: Option<Seen>,
    /// The workspace's session version as read (see `deals::ReadStamps`).
    pub(crate) session_version: i64,
    /// Where the session was read for a command claimed by its write
    /// ([`Service::session_kept_or_read`]): what its read is kept by, and whether it is a read
    /// kept from an earlier command.
    pub(crate) kept: Option<Box<KeptSession>>,
}

/// How a session relates to the reads this process keeps (see `service::kept`).
#[derive(Debug, Clone)]
pub(crate) struct KeptSession {
    pub(super) key: KeptKey,
    /// Who asked, to read the session afresh if the kept one turns out stale.
    pub(super) caller: Caller,
    /// Where the session, deal and records come from an earlier command rather than from the
    /// database now: the deal as read and the stamps of what else was read, which the use case
    /// checks before it acts.
    pub(super) as_read: Option<deals::AsRead>,
    /// Whether the use case checked `as_read` (or replaced it by a fresh read): until then a
    /// refusal judged on it is answered only while it holds.
    pub(super) checked: Checked,
}

/// Whether a kept read was checked, set by the use case through the `&Session` it is given.
#[derive(Debug, Default)]
pub(super) struct Checked(AtomicBool);

impl Checked {
    pub(super) fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl Clone for Checked {
    fn clone(&self) -> Self {
        Self(AtomicBool::new(self.get()))
    }
}

impl Session {
    /// Whether this session is a read kept from an earlier command rather than one read now
    /// (see `service::kept`).
    pub(crate) fn is_kept(&self) -> bool {
        self.kept.as_ref().is_some_and(|k| k.as_read.is_some())
    }

    /// Whether a refusal in this session was judged on a read kept from an earlier command
    /// that nothing checked: its answer is then recorded only while that read still holds
    /// (`Service::record_refusal_as_read`), and the command judged again if it does not.
    pub fn refused_on_kept_read(&self) -> bool {
        self.kept
            .as_ref()
            .is_some_and(|k| k.as_read.is_some() && !k.checked.get())
    }
}

/// A deal, its owner and its records, read in the same round trip as the session's caller; the
/// use case's first read of that deal takes it instead of reading again. Later reads (a retry
/// after a conflict) read afresh.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prefetched(Arc<Mutex<Option<(DealNumber, DealSnapshot)>>>);

pub(super) type DealSnapshot = (Deal, Member, DealRecords);

impl Prefetched {
    fn of(number: DealNumber, snapshot: Option<DealSnapshot>) -> Self {
        Self(Arc::new(Mutex::new(snapshot.map(|s| (number, s)))))
    }

    /// What `look` makes of the snapshot of deal `number`, which stays for [`Prefetched::take`].
    pub(super) fn peek<T>(
        &self,
        number: DealNumber,
        look: impl FnOnce(&DealSnapshot) -> T,
    ) -> Option<T> {
        let held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match &*held {
            Some((n, snapshot)) if *n == number => Some(look(snapshot)),
            _ => None,
        }
    }

    /// The snapshot of deal `number`, once.
    pub(super) fn take(&self, number: DealNumber) -> Option<DealSnapshot> {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match held.take() {
            Some((n, snapshot)) if n == number => Some(snapshot),
            _ => None,
        }
    }
}

/// Where a new workspace's playbook comes from: a template name or a file, and its TOML.
#[derive(Debug, Clone)]
pub struct PlaybookSource {
    pub reference: String,
    pub toml: String,
}

/// A workspace's playbook as this process parsed it.
#[derive(Debug)]
pub(super) struct ParsedPlaybook {
    version: i64,
    toml: String,
    playbook: Arc<Playbook>,
}

/// A member as `/team list` shows them.
#[derive(Debug, Clone)]
pub struct TeamMember {
    pub member: Member,
    pub manager: Option<String>,
}

impl Service {
    /// Finds or creates the caller's workspace and member. The first member of a new workspace
    /// is its admin; later ones are reps until `/team set` says otherwise.
    pub async fn session(&self, caller: &Caller) -> ServiceResult<Session> {
        self.session_about(caller, None).await
    }

    /// [`Service::session`] for a command about deal `deal`: where the caller is known, the
    /// deal, its owner and its records are read in the same round trip, and the use case's
    /// first read of the deal takes them from the session.
    pub async fn session_about(
        &self,
        caller: &Caller,
        deal: Option<DealNumber>,
    ) -> ServiceResult<Session> {
        self.session_reading(caller, deal, None).await
    }

    /// [`Service::session_about`] for `delivery` of a command claimed by its write: what the
    /// database holds of the delivery comes with the deal, in the same snapshot, for
    /// [`Service::claim_by_write`].
    pub async fn session_about_delivery(
        &self,
        caller: &Caller,
        deal: Option<DealNumber>,
        delivery: &Delivery,
    ) -> ServiceResult<Session> {
        self.session_reading(caller, deal, Some(delivery)).await
    }

    /// [`Service::session_about_delivery`] for a command claimed by its write (`/log` and the
    /// moves) about `deal`: the read this process kept from the caller's last such command on
    /// that deal, if it kept one, instead of reading again. Its use case checks that the kept
    /// read still holds before it acts on it (`/log` in its write, the moves in a small read:
    /// `Service::kept_still_holds`) and reads afresh if not; no other use case may be given
    /// such a session.
    pub async fn session_kept_or_read(
        &self,
        caller: &Caller,
        deal: DealNumber,
        delivery: &Delivery,
    ) -> ServiceResult<Session> {
        let key = KeptKey::of(caller, deal);
        if let Some(kept) = self.kept.get(&key)
            && (kept.member.display_name == caller.display_name || caller.display_name.is_empty())
        {
            let kept = Arc::unwrap_or_clone(kept);
            let as_read = deals::AsRead {
                deal_id: kept.deal.id,
                version: kept.deal.version,
                stamps: deals::ReadStamps::of(kept.session_version, &kept.records),
            };
            return Ok(Session {
                tenant: kept.tenant,
                member: kept.member,
                playbook: kept.playbook,
                delivery: None,
                prefetched: Prefetched::of(deal, Some((kept.deal, kept.owner, kept.records))),
                seen: None,
                session_version: kept.session_version,
                kept: Some(Box::new(KeptSession {
                    key,
                    caller: caller.clone(),
                    as_read: Some(as_read),
                    checked: Checked::default(),
                })),
            });
        }
        self.session_read_to_keep(caller, deal, Some(delivery))
            .await
    }

    /// [`Service::session_kept_or_read`] read now: the session, deal and records as the
    /// database has them, and what it holds of `delivery`, to be kept once the command is done.
    pub(super) async fn session_read_to_keep(
        &self,
        caller: &Caller,
        deal: DealNumber,
        delivery: Option<&Delivery>,
    ) -> ServiceResult<Session> {
        let mut session = self.session_reading(caller, Some(deal), delivery).await?;
        session.kept = Some(Box::new(KeptSession {
            key: KeptKey::of(caller, deal),
            caller: caller.clone(),
            as_read: None,
            checked: Checked::default(),
        }));
        Ok(session)
    }

    async fn session_reading(
        &self,
        caller: &Caller,
        deal: Option<DealNumber>,
        delivery: Option<&Delivery>,
    ) -> ServiceResult<Session> {
        // Every command resolves its caller, so the common case (both exist, name unchanged)
        // is a read on the read pool and never queues behind writers.
        let key = CallerKey {
            platform: caller.platform.as_str(),
            workspace: &caller.workspace,
            user_key: &caller.user_key,
        };
        let found = match deal {
            Some(number) => {
                let effect = delivery.map(Delivery::effect);
                deals::get_with_caller(&self.store, key, number, effect)
                    .await?
                    .map(|(tenant, member, snapshot, seen)| {
                        let seen = delivery.map(|_| seen);
                        (tenant, member, Prefetched::of(number, snapshot), seen)
                    })
            }
            None => {
                let mut conn = self.store.reader().acquire().await?;
                members::find_with_tenant(&mut conn, key.platform, key.workspace, key.user_key)
                    .await?
                    .map(|(tenant, member)| (tenant, member, Prefetched::default(), None))
            }
        };
        if let Some((mut tenant, member, prefetched, seen)) = found
            && (member.display_name == caller.display_name || caller.display_name.is_empty())
        {
            let playbook = match self.cached_playbook(tenant.id, tenant.playbook_version) {
                Some(parsed) => parsed,
                None => {
                    let mut conn = self.store.reader().acquire().await?;
                    self.read_playbook(&mut conn, &mut tenant).await?
                }
            };
            let mut session = self.finish_session(caller, &tenant, member, playbook)?;
            session.prefetched = prefetched;
            session.seen = seen;
            return Ok(session);
        }
        if caller.known_only {
            return Err(ServiceError::Forbidden(
                "This button belongs to a workspace you are not a member of, so it did nothing."
                    .to_string(),
            ));
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        // Another replica may be creating the same workspace or member right now (the first
        // commands of a new workspace often arrive together); both paths below end with the
        // one row that won, never a unique-key error.
        let tenant = match tenants::find(&mut tx, caller.platform.as_str(), &caller.workspace)
            .await?
        {
            Some(t) => t,
            None => {
                let new = tenants::NewTenant {
                    platform: caller.platform.as_str(),
                    external_id: &caller.workspace,
                    name: &caller.workspace_name,
                    playbook_ref: &self.default_playbook.reference,
                    playbook_toml: &self.default_playbook.toml,
                };
                match tenants::insert_if_absent(&mut tx, &new, now).await? {
                    Some(t) => {
                        tracing::info!(tenant = t.id, platform = %t.platform, workspace = %t.external_id, "new workspace");
                        t
                    }
                    None => tenants::find(&mut tx, caller.platform.as_str(), &caller.workspace)
                        .await?
                        .ok_or_else(|| {
                            ServiceError::Internal(anyhow::anyhow!(
                                "workspace {}/{} was created by another transaction but cannot be read",
                                caller.platform,
                                caller.workspace
                            ))
                        })?,
                }
            }
        };
        let existing = match members::find_by_key(&mut tx, tenant.id, &caller.user_key).await? {
            Some(m) => Some(m),
            None => {
                // Whether the newcomer is the first member (and so the admin) is a question
                // about the whole workspace: hold it, then look again, since the member may
                // have been created by the transaction that held it before us.
                tenants::lock(&mut tx, tenant.id).await?;
                members::find_by_key(&mut tx, tenant.id, &caller.user_key).await?
            }
        };
        let mut member = match existing {
            Some(m) => {
                if m.display_name != caller.display_name && !caller.display_name.is_empty() {
                    members::set_display_name(&mut tx, m.id, &caller.display_name).await?;
                }
                m
            }
            None => {
                let first = members::count(&mut tx, tenant.id).await? == 0;
                let role = if first { Role::Admin } else { Role::Rep };
                members::insert(
                    &mut tx,
                    tenant.id,
                    &caller.user_key,
                    &caller.display_name,
                    role,
                    now,
                )
                .await?
            }
        };
        tx.commit().await?;
        if !caller.display_name.is_empty() {
            member.display_name = caller.display_name.clone();
        }
        let playbook = self.playbook_of(&tenant)?;
        self.finish_session(caller, &tenant.head(), member, playbook)
    }

    fn finish_session(
        &self,
        caller: &Caller,
        tenant: &TenantHead,
        mut member: Member,
        playbook: Arc<Playbook>,
    ) -> ServiceResult<Session> {
        if let Some(floor) = caller.platform_role
            && member.role < floor
        {
            member.role = floor;
        }
        Ok(Session {
            tenant: super::Workspace::try_from(tenant)?,
            member,
            playbook,
            delivery: None,
            prefetched: Prefetched::default(),
            seen: None,
            session_version: tenant.session_version,
            kept: None,
        })
    }

    /// The parsed playbook of a workspace, parsed once and cached.
    pub(super) fn playbook_of(&self, tenant: &Tenant) -> ServiceResult<Arc<Playbook>> {
        self.parsed(
            tenant.id,
            tenant.playbook_version,
            &tenant.playbook_ref,
            &tenant.playbook_toml,
        )
    }

    /// The parse of a workspace's playbook at `version`, if this process has it. A version's
    /// text never changes (a change is a new version), so the version alone says the parse is
    /// current.
    fn cached_playbook(&self, tenant_id: i64, version: i64) -> Option<Arc<Playbook>> {
        let cache = self.playbooks.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(&tenant_id)
            .filter(|parsed| parsed.version == version)
            .map(|parsed| Arc::clone(&parsed.playbook))
    }

    /// Reads and parses the playbook `tenant` has in force. Another replica may have changed
    /// it since the session's row was read: the session then takes the newer version, text
    /// and number together.
    async fn read_playbook(
        &self,
        conn: &mut crate::store::Conn,
        tenant: &mut TenantHead,
    ) -> ServiceResult<Arc<Playbook>> {
        let in_force = tenants::playbook_in_force(conn, tenant.id)
            .await?
            .ok_or_else(|| {
                ServiceError::Internal(anyhow::anyhow!("workspace {} vanished", tenant.id))
            })?;
        tenant.playbook_version = in_force.version;
        self.parsed(
            tenant.id,
            in_force.version,
            &in_force.playbook_ref,
            &in_force.playbook_toml,
        )
    }

    /// The parse of `toml`, version `version` of the workspace's playbook: the cached one if
    /// it was parsed from the same text, else parsed now and cached.
    fn parsed(
        &self,
        tenant_id: i64,
        version: i64,
        playbook_ref: &str,
        toml: &str,
    ) -> ServiceResult<Arc<Playbook>> {
        let mut cache = self.playbooks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(parsed) = cache.get(&tenant_id)
            && parsed.toml == toml
        {
            return Ok(Arc::clone(&parsed.playbook));
        }
        let loaded =
            load_str(playbook_ref, toml).map_err(|e| ServiceError::Playbook(e.to_string()))?;
        let playbook = Arc::new(loaded.playbook);
        cache.insert(
            tenant_id,
            ParsedPlaybook {
                version,
                toml: toml.to_string(),
                playbook: Arc::clone(&playbook),
            },
        );
        Ok(playbook)
    }

    /// `/team set user role [manager]` (admins only).
    pub async fn set_team_role(
        &self,
        session: &Session,
        user: &UserRef,
        role: Role,
        manager: Option<&UserRef>,
    ) -> ServiceResult<TeamMember> {
        require_admin(&session.member, "change roles")?;
        let mut tx = self.store.begin().await?;
        // Held so that two admins stepping down at once cannot both count the other and leave
        // the workspace with none.
        tenants::lock(&mut tx, session.tenant.id).await?;
        let target = resolve_user(&mut tx, session.tenant.id, user).await?;
        let manager = match manager {
            Some(m) => {
                let m = resolve_user(&mut tx, session.tenant.id, m).await?;
                if m.id == target.id {
                    return Err(ServiceError::Invalid(format!(
                        "{} cannot be their own manager.",
                        target.display_name
                    )));
                }
                if m.role < Role::Manager {
                    return Err(ServiceError::Invalid(format!(
                        "{} is a {}; make them a manager first: `/team set {} manager`.",
                        m.display_name, m.role, m.display_name
                    )));
                }
                Some(m)
            }
            None => None,
        };
        if target.id == session.member.id && role < Role::Admin {
            let admins = members::list(&mut tx, session.tenant.id)
                .await?
                .into_iter()
                .filter(|m| m.role == Role::Admin)
                .count();
            if admins <= 1 {
                return Err(ServiceError::Invalid(
                    "You are the only admin; make someone else an admin first, or the workspace \
                     would have nobody to configure it."
                        .to_string(),
                ));
            }
        }
        members::set_role(
            &mut tx,
            session.tenant.id,
            target.id,
            role,
            manager.as_ref().map(|m| m.id),
        )
        .await?;
        self.mark_applied(&mut tx, session).await?;
        tx.commit().await?;
        let mut member = target;
        member.role = role;
        member.manager_id = manager.as_ref().map(|m| m.id);
        Ok(TeamMember {
            member,
            manager: manager.map(|m| m.display_name),
        })
    }

    /// `/team visibility yes|no`: opens the team's pipeline to every member, read only, or
    /// closes it again to each their own (managers: their reps'). Admins only.
    pub async fn set_team_visibility(&self, session: &Session, open: bool) -> ServiceResult<bool> {
        require_admin(&session.member, "change who sees which deals")?;
        let mut tx = self.store.begin().await?;
        tenants::set_team_pipeline_open(&mut tx, session.tenant.id, open).await?;
        self.mark_applied(&mut tx, session).await?;
        tx.commit().await?;
        Ok(open)
    }

    /// A workspace's id and how many deals it holds, if it exists (for operator tools such as
    /// the demo, which act outside any member's session).
    pub async fn workspace_deal_count(
        &self,
        platform: Platform,
        external_id: &str,
    ) -> ServiceResult<Option<(i64, i64)>> {
        let mut conn = self.store.reader().acquire().await?;
        match tenants::find(&mut conn, platform.as_str(), external_id).await? {
            Some(t) => Ok(Some((t.id, tenants::deal_count(&mut conn, t.id).await?))),
            None => Ok(None),
        }
    }

    /// Deletes a workspace and everything in it, in one transaction (the demo's `--reset`).
    pub async fn delete_workspace(&self, tenant_id: i64) -> ServiceResult<()> {
        let mut tx = self.store.begin().await?;
        tenants::delete(&mut tx, tenant_id).await?;
        tx.commit().await?;
        self.playbooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&tenant_id);
        Ok(())
    }

    /// `/team list`: everyone, with role and manager.
    pub async fn team(&self, session: &Session) -> ServiceResult<Vec<TeamMember>> {
        let mut conn = self.store.reader().acquire().await?;
        let all = members::list(&mut conn, session.tenant.id).await?;
        Ok(all
            .iter()
            .map(|m| TeamMember {
                member: m.clone(),
                manager: m
                    .manager_id
                    .and_then(|id| all.iter().find(|o| o.id == id))
                    .map(|o| o.display_name.clone()),
            })
            .collect())
    }
}

/// Whose deals a view covers, and how to say so: the member `named` (if the session may see
/// their deals; `what` names the view in the refusal), else the session's own (a rep), their
/// team's (a manager) or everyone's (`None`, an admin). `everyone` is the workspace's members.
pub(super) async fn owners_in_view(
    conn: &mut sqlx::AnyConnection,
    session: &Session,
    everyone: &[Member],
    named: Option<&UserRef>,
    what: &str,
) -> ServiceResult<(Option<Vec<i64>>, String)> {
    let me = &session.member;
    Ok(match named {
        Some(o) => {
            let m = resolve_user(conn, session.tenant.id, o).await?;
            super::authz::require_see(
                me,
                &m,
                session.tenant.team_pipeline_open,
                &format!(
                    "{}'s {what}",
                    crate::engine::text::mark_user(&m.display_name)
                ),
            )?;
            (Some(vec![m.id]), m.display_name)
        }
        None => match me.role {
            Role::Rep => (Some(vec![me.id]), me.display_name.clone()),
            Role::Manager => {
                let mut ids: Vec<i64> = everyone
                    .iter()
                    .filter(|m| m.manager_id == Some(me.id))
                    .map(|m| m.id)
                    .collect();
                ids.push(me.id);
                (Some(ids), "your team".to_string())
            }
            Role::Admin => (None, "everyone".to_string()),
        },
    })
}

/// Finds the member a command names: by platform key first, then by display name.
pub(super) async fn resolve_user(
    conn: &mut sqlx::AnyConnection,
    tenant_id: i64,
    user: &UserRef,
) -> ServiceResult<Member> {
    let (key, name) = match user {
        UserRef::Key(key) => (key.as_str(), None),
        UserRef::Name(name) => (name.as_str(), Some(name.as_str())),
    };
    if let Some(m) = members::find_by_key(&mut *conn, tenant_id, key).await? {
        return Ok(m);
    }
    let Some(name) = name else {
        // Someone mentioned who is not a member yet and whom the adapter could not introduce.
        return Err(unknown_user(conn, tenant_id, user).await);
    };
    let mut found = members::find_by_name(&mut *conn, tenant_id, name).await?;
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(unknown_user(conn, tenant_id, user).await),
        _ => Err(ServiceError::Invalid(format!(
            "More than one member is called `{name}`; mention them instead."
        ))),
    }
}

/// "Nobody called …", with the members there are (a few of them) as a hint.
async fn unknown_user(
    conn: &mut sqlx::AnyConnection,
    tenant_id: i64,
    user: &UserRef,
) -> ServiceError {
    let hint = match members::list(&mut *conn, tenant_id).await {
        Ok(all) if !all.is_empty() => {
            let names: Vec<&str> = all
                .iter()
                .map(|m| m.display_name.as_str())
                .take(20)
                .collect();
            format!(" Members: {}.", names.join(", "))
        }
        _ => String::new(),
    };
    ServiceError::UnknownUser {
        given: match user {
            UserRef::Key(key) => format!("<@{key}>"),
            UserRef::Name(name) => name.clone(),
        },
        hint,
    }
}
