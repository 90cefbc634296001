//! Use cases. Each is one database transaction; authorization is decided here and nowhere else.
//!
//! Adapters hand in a `Caller` (who is asking, from which workspace); the service resolves it to
//! a `Session` (the workspace, the member and the playbook in force), creating the workspace and
//! member on first use.

mod acknowledge;
mod adherence;
mod authz;
mod deals;
mod digest;
mod error;
mod forecast;
mod interactions;
mod kept;
mod moves;
mod outbox;
mod people;
mod process;
mod recalibrate;
mod revision;
mod schedule;
mod scheduled;
mod suggest;
pub mod transfer;
mod truth;
mod workspace;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use crate::engine::schedule::Schedule;
pub use acknowledge::{Acknowledged, Acknowledgements, ChangeNotice, NoticeRenderer};
pub use adherence::{CalibrationView, CoachView, EvidenceView};
pub use deals::{Approved, DealSummary, DealView, FieldValue, LoggedOutcome, known_stage};
pub use digest::{
    ChangedDeal, Changes, DigestFigures, DigestScope, LATE_STAGE_QUIET_DAYS, LIST_LIMIT, RiskDeal,
    RiskGroup, RiskKind, day_label,
};
pub use error::{ServiceError, ServiceResult};
pub use forecast::{ForecastView, PeriodRange, period_range};
pub use interactions::{Claim, DEFAULT_CLAIM_LEASE, Delivery, RECEIPTS_KEPT};
pub use moves::Moved;
pub use outbox::{MessageStatus, NewMessage, QueuedMessage, Target};
pub use people::ApprovalRequest;
pub use process::{AlertRenderer, ProcessAlert};
pub use revision::{
    Applied, MAX_PLAYBOOK_BYTES, PlaybookVersion, Preview, ProposedPlaybook, too_large,
};
pub use schedule::{DEFAULT_DIGEST_TIME, DEFAULT_TIMEZONE, MAX_SNOOZE_DAYS, Snoozed};
pub use scheduled::{AckReminder, DigestRun, Job, NudgeItem, NudgePlan, PlannedNudge, Workspace};
pub use suggest::{Choice, StageDirection};
pub use truth::{AccuracyView, MovementView, RANGE_RUNS, RangeView, WeekCall};
use workspace::ParsedPlaybook;
pub use workspace::{Caller, Platform, PlaybookSource, Session, TeamMember};

use crate::clock::Clock;
use crate::store::{Store, StoreError};

/// A member named in a command, as the parser read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    /// By their stable id on the platform (a mention).
    Key(String),
    /// By name, as typed (`alice`); the console's keys are names, so a key is tried first.
    Name(String),
}

/// Text limits, in characters: longer input is refused with the limit named.
pub mod limits {
    pub const DEAL_NAME: usize = 120;
    pub const NOTE: usize = 1_000;
    pub const REASON: usize = 500;
    pub const FIELD_VALUE: usize = 1_000;
    pub const USER_NAME: usize = 64;
    pub const MAPPING: usize = 1_000;
}

/// How many times a use case that raced another (stale `version`) is run again on fresh data
/// before the caller is told to try again.
const MAX_ATTEMPTS: usize = 5;

/// The application: store, clock and the playbook new workspaces start with.
pub struct Service {
    store: Store,
    clock: Arc<dyn Clock>,
    default_playbook: PlaybookSource,
    /// Parsed playbooks by tenant id, with the version and the TOML they were parsed from (so
    /// a changed playbook is parsed again).
    playbooks: Mutex<HashMap<i64, ParsedPlaybook>>,
    /// How long an unanswered interaction claim belongs to the attempt that made it.
    claim_lease: chrono::TimeDelta,
    /// Renders the DM that asks a manager about a deal gone out of process; none, none sent.
    alerts: Option<AlertRenderer>,
    /// Renders the notices of an applied playbook change; none, none sent.
    notices: Option<NoticeRenderer>,
    /// What the last `/log` of each caller on each deal read (see `kept`).
    kept: kept::KeptReads,
}

impl Service {
    pub fn new(store: Store, clock: Arc<dyn Clock>, default_playbook: PlaybookSource) -> Self {
        Self {
            store,
            clock,
            default_playbook,
            playbooks: Mutex::new(HashMap::new()),
            claim_lease: DEFAULT_CLAIM_LEASE,
            alerts: None,
            notices: None,
            kept: kept::KeptReads::default(),
        }
    }

    /// The same service reading time from another clock (the demo builds history in the past).
    pub fn with_clock(&self, clock: Arc<dyn Clock>) -> Self {
        Self {
            store: self.store.clone(),
            clock,
            default_playbook: self.default_playbook.clone(),
            playbooks: Mutex::new(HashMap::new()),
            claim_lease: self.claim_lease,
            alerts: self.alerts,
            notices: self.notices,
            kept: kept::KeptReads::default(),
        }
    }

    /// The same service asking managers by DM about deals gone out of process, in messages
    /// `render` makes (see `service::process`).
    pub fn with_process_alerts(mut self, render: AlertRenderer) -> Self {
        self.alerts = Some(render);
        self
    }

    /// The same service with another claim lease (see `service::interactions`).
    pub fn with_claim_lease(mut self, lease: chrono::TimeDelta) -> Self {
        self.claim_lease = lease;
        self
    }

    pub fn claim_lease(&self) -> chrono::TimeDelta {
        self.claim_lease
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }
}

/// Runs `attempt` until it does not fail with a version conflict, at most `MAX_ATTEMPTS` times.
async fn retrying<T, F, Fut>(mut attempt: F) -> ServiceResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ServiceResult<T>>,
{
    for _ in 1..MAX_ATTEMPTS {
        match attempt().await {
            Err(ServiceError::Store(StoreError::Conflict)) => {
                tracing::debug!("version conflict; running the use case again on fresh data");
            }
            other => return other,
        }
    }
    match attempt().await {
        Err(ServiceError::Store(StoreError::Conflict)) => Err(ServiceError::Busy),
        other => other,
    }
}
