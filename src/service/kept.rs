//! What this process keeps of a `/log`'s or a move's reads, so the caller's next `/log` or move
//! on the same deal is judged without reading it all again.
//!
//! A `/log` reads the caller, the workspace, the deal with its owner and its records, then
//! writes one activity. On PostgreSQL that read is most of what the command costs the
//! database, and the same rep logs on the same few deals all day. So the service keeps what
//! the last `/log` of each caller on each deal ended with, and the next one starts from it;
//! its write then checks, in the same statement, that nothing it relied on has changed since
//! (`deals::ReadStamps`): a kept read is never acted on once stale, whichever process or replica
//! changed it. A kept read that fails that check, or that would refuse the command, is
//! dropped and the command judged again on a fresh read (`Service::log_activity`). The moves
//! (`/advance`, `/back`, `/won`, `/lost`) start from the same kept read: a move is checked first
//! in one small statement instead of the whole read (`Service::kept_still_holds`); a refusal
//! is checked by the statement that writes its answer (`Service::record_refusal_as_read`), so
//! it reads nothing at all, and is judged again on a fresh read if the check fails. What a
//! `/log` or a move wrote is kept in place of what it read (`Service::settled_and_kept`).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::engine::deal::Deal;
use crate::engine::ids::DealNumber;
use crate::engine::people::Member;
use crate::engine::playbook::{Playbook, Role};
use crate::store::deals::{self, DealRecords};
use crate::store::receipts::{Recording, Seen};

use super::deals::DealView;
use super::workspace::KeptSession;
use super::{Caller, Platform, Service, ServiceError, ServiceResult, Session, Workspace};

/// How many callers' deals a process keeps: a sales floor's reps each on their deals of the
/// week. The oldest kept goes first; one is about 2 KiB.
pub(super) const KEPT_READS: usize = 2_048;

/// Who asked about which deal: a kept read is only ever used for the same question.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct KeptKey {
    platform: Platform,
    workspace: String,
    user_key: String,
    /// The platform's own vouching raises the member's role in the session, so a read kept
    /// with one floor is not used with another.
    platform_role: Option<Role>,
    deal: DealNumber,
}

impl KeptKey {
    pub(super) fn of(caller: &Caller, deal: DealNumber) -> Self {
        Self {
            platform: caller.platform,
            workspace: caller.workspace.clone(),
            user_key: caller.user_key.clone(),
            platform_role: caller.platform_role,
            deal,
        }
    }
}

/// A session and a deal as a `/log` read them, plus what it wrote since.
#[derive(Debug, Clone)]
pub(super) struct KeptRead {
    pub tenant: Workspace,
    pub session_version: i64,
    pub member: Member,
    pub playbook: Arc<Playbook>,
    pub deal: Deal,
    pub owner: Member,
    pub records: DealRecords,
}

impl Service {
    /// Before a use case that reads no more acts on `session`, kept from an earlier command:
    /// whether what it read still holds, checked in one small statement with what the database
    /// holds of the session's delivery. `Ok(None)`: go on with `session`, as good as one read
    /// now (a session read now, not kept, is always so). `Ok(Some(fresh))`: it did not hold, so
    /// go on with `fresh`, read afresh. A delivery that came before is
    /// `ServiceError::AlreadyApplied`: its first answer stands.
    pub(super) async fn kept_still_holds(
        &self,
        session: &Session,
        number: DealNumber,
    ) -> ServiceResult<Option<Session>> {
        let Some((kept, read)) = session
            .kept
            .as_ref()
            .and_then(|k| k.as_read.map(|read| (k, read)))
        else {
            return Ok(None);
        };
        kept.checked.set();
        let effect = session.delivery.as_ref().map(|d| d.effect());
        let (holds, seen) = deals::still_as_read(&self.store, read, effect).await?;
        if !holds {
            return self.afresh(session, kept, number).await.map(Some);
        }
        if seen.came_before() {
            return Err(ServiceError::AlreadyApplied);
        }
        Ok(None)
    }

    /// The session a command judged on `kept` goes on with once that turned out stale (or
    /// would refuse it): read now, with what the database holds of the delivery, which, if the
    /// delivery came before, is `ServiceError::AlreadyApplied`.
    pub(super) async fn afresh(
        &self,
        session: &Session,
        kept: &KeptSession,
        number: DealNumber,
    ) -> ServiceResult<Session> {
        kept.checked.set();
        self.kept.forget(&kept.key);
        let mut fresh = self
            .session_read_to_keep(&kept.caller, number, session.delivery.as_ref())
            .await?;
        if fresh.seen.as_ref().is_some_and(Seen::came_before) {
            return Err(ServiceError::AlreadyApplied);
        }
        fresh.delivery = session.delivery.clone();
        Ok(fresh)
    }

    /// Records `answer`, a refusal of `session`'s delivery judged on a read kept from an
    /// earlier command that nothing checked (`Session::refused_on_kept_read`), in one statement
    /// with the check: written, and `true`, only while the read still holds and the delivery
    /// has neither an answer nor an effect (a move it made, whose answer may still be queued).
    /// The check costs the refusal no statement of its own. `false`: nothing was written and
    /// the kept read is dropped; the command is to be judged again on
    /// [`Service::session_afresh`].
    pub async fn record_refusal_as_read(
        &self,
        session: &Session,
        answer: &str,
    ) -> ServiceResult<bool> {
        let (Some(delivery), Some(kept)) = (&session.delivery, &session.kept) else {
            return Err(not_kept("recorded without its delivery"));
        };
        let Some(read) = kept.as_read else {
            return Err(not_kept(
                "recorded as judged on a read it was not judged on",
            ));
        };
        let recorded = self
            .record(delivery, answer, Recording::WrittenIf(read))
            .await?;
        if !recorded {
            self.kept.forget(&kept.key);
        }
        Ok(recorded)
    }

    /// `session`, a read kept from an earlier command whose refusal could not be recorded
    /// ([`Service::record_refusal_as_read`]), read afresh for the same command and delivery:
    /// `ServiceError::AlreadyApplied` if the delivery came before (its first answer stands).
    pub async fn session_afresh(&self, session: &Session) -> ServiceResult<Session> {
        let Some(kept) = &session.kept else {
            return Err(not_kept("read afresh without a kept read"));
        };
        self.afresh(session, kept, kept.key.deal).await
    }

    /// The view of `deal` as `session`'s command wrote it (a `/log`, a move), its process
    /// standing recorded if that changed, and what it ended with kept for the caller's next
    /// command on the deal.
    pub(super) async fn settled_and_kept(
        &self,
        session: &Session,
        deal: Deal,
        owner: Member,
        records: DealRecords,
    ) -> ServiceResult<DealView> {
        let keep = session
            .kept
            .is_some()
            .then(|| (deal.clone(), owner.clone(), records.clone()));
        let view = self.view_of(&session.playbook, deal, owner, records)?;
        let standing = self
            .settle_standing(&view.deal, view.out_of_process.len())
            .await;
        if let Some((mut deal, owner, records)) = keep {
            deal.out_of_process = standing;
            self.keep(session, deal, owner, records);
        }
        Ok(view)
    }

    /// Keeps what `session`'s command ended with, for the caller's next one on the deal.
    fn keep(&self, session: &Session, deal: Deal, owner: Member, records: DealRecords) {
        let Some(kept) = &session.kept else {
            return;
        };
        self.kept.keep(
            kept.key.clone(),
            KeptRead {
                tenant: session.tenant.clone(),
                session_version: session.session_version,
                member: session.member.clone(),
                playbook: Arc::clone(&session.playbook),
                deal,
                owner,
                records,
            },
        );
    }
}

/// A refusal on a kept read handled for a session that has none: a caller's mistake.
fn not_kept(what: &str) -> ServiceError {
    ServiceError::Internal(anyhow::anyhow!("a refusal on a kept read was {what}"))
}

/// The kept reads, oldest first out.
#[derive(Debug)]
pub(super) struct KeptReads {
    /// Keys and reads each allocated once, so the map itself stays a few words an entry.
    held: Mutex<Bounded<Arc<KeptKey>, Arc<KeptRead>>>,
}

impl Default for KeptReads {
    fn default() -> Self {
        Self {
            held: Mutex::new(Bounded::new(KEPT_READS)),
        }
    }
}

impl KeptReads {
    /// The read kept for `key`, if any.
    pub(super) fn get(&self, key: &KeptKey) -> Option<Arc<KeptRead>> {
        self.lock().get(key).cloned()
    }

    /// Keeps `read` for `key` in place of what was kept, the oldest going if full.
    pub(super) fn keep(&self, key: KeptKey, read: KeptRead) {
        self.lock().insert(Arc::new(key), Arc::new(read));
    }

    /// Drops what was kept for `key`: it turned out stale.
    pub(super) fn forget(&self, key: &KeptKey) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Bounded<Arc<KeptKey>, Arc<KeptRead>>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A map of at most `capacity` entries that lets its oldest go first.
#[derive(Debug)]
struct Bounded<K, V> {
    capacity: usize,
    entries: HashMap<K, V>,
    /// Keys in the order they were first inserted; one inserted again keeps its place.
    order: VecDeque<K>,
}

impl<K: Clone + Eq + std::hash::Hash, V> Bounded<K, V> {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + std::hash::Hash + ?Sized,
    {
        self.entries.get(key)
    }

    fn insert(&mut self, key: K, value: V) {
        if self.entries.insert(key.clone(), value).is_none() {
            self.order.push_back(key);
            while self.order.len() > self.capacity {
                if let Some(oldest) = self.order.pop_front() {
                    self.entries.remove(&oldest);
                }
            }
        }
    }

    fn remove<Q>(&mut self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + std::hash::Hash + ?Sized,
    {
        if self.entries.remove(key).is_some() {
            self.order.retain(|k| k.borrow() != key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_entry_goes_first_when_full_and_one_inserted_again_keeps_its_place() {
        let mut kept = Bounded::new(3);
        for n in 1..=3 {
            kept.insert(n, n * 10);
        }
        kept.insert(1, 11);
        kept.insert(4, 40);
        assert_eq!(
            kept.get(&1),
            None,
            "the oldest went, though it was kept again"
        );
        assert_eq!(kept.get(&2), Some(&20));
        assert_eq!(kept.get(&4), Some(&40));
        kept.remove(&2);
        kept.insert(5, 50);
        assert_eq!(kept.get(&3), Some(&30), "a removed entry freed its room");
        assert_eq!(kept.order, VecDeque::from([3, 4, 5]));
        assert_eq!(kept.entries.len(), 3);
    }
}
