//! Use cases. Each is one database transaction; authorization is decided here and nowhere else.
//!
//! Adapters hand in a `Caller` (who is asking, from which workspace); the service resolves it to
//! a `Session` (the workspace, the member and the playbook in force), creating the workspace and
//! member on first use.

mod authz;
mod deals;
mod error;
mod forecast;
mod interactions;
mod moves;
mod people;
mod suggest;
mod workspace;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use deals::{DealSummary, DealView, LoggedOutcome};
pub use error::{ServiceError, ServiceResult};
pub use forecast::{ForecastView, PeriodRange, period_range};
pub use interactions::Claim;
pub use moves::Moved;
pub use people::ApprovalRequest;
pub use suggest::{Choice, MAX_CHOICES, StageDirection};
pub use workspace::{Caller, PlaybookSource, Session, TeamMember};

use crate::clock::Clock;
use crate::engine::playbook::Playbook;
use crate::store::{Store, StoreError};

/// How many times a use case that raced another (stale `version`) is run again on fresh data
/// before the caller is told to try again.
const MAX_ATTEMPTS: usize = 5;

/// The application: store, clock and the playbook new workspaces start with.
pub struct Service {
    store: Store,
    clock: Arc<dyn Clock>,
    default_playbook: PlaybookSource,
    /// Parsed playbooks by tenant id, with the TOML they were parsed from (so a changed
    /// playbook is parsed again).
    playbooks: Mutex<HashMap<i64, (String, Arc<Playbook>)>>,
    /// Fiscal year start month (1..=12) for quarters.
    fiscal_start_month: u32,
}

impl Service {
    pub fn new(store: Store, clock: Arc<dyn Clock>, default_playbook: PlaybookSource) -> Self {
        Self {
            store,
            clock,
            default_playbook,
            playbooks: Mutex::new(HashMap::new()),
            fiscal_start_month: 1,
        }
    }

    /// The same service reading time from another clock (the demo builds history in the past).
    pub fn with_clock(&self, clock: Arc<dyn Clock>) -> Self {
        Self {
            store: self.store.clone(),
            clock,
            default_playbook: self.default_playbook.clone(),
            playbooks: Mutex::new(HashMap::new()),
            fiscal_start_month: self.fiscal_start_month,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    pub fn fiscal_start_month(&self) -> u32 {
        self.fiscal_start_month
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
