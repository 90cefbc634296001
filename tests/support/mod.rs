//! Shared test helpers: a fresh SQLite file per test, a service on a manual clock, callers.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use dealgate::chat::console::caller;
use dealgate::clock::ManualClock;
use dealgate::commands::UserRef;
use dealgate::engine::playbook::Role;
use dealgate::service::{PlaybookSource, Service, Session};
use dealgate::store::Store;
use tempfile::TempDir;

pub const PLAYBOOK: &str = include_str!("../fixtures/three-stages.toml");
pub const WORKSPACE: &str = "acme";

/// A service on its own SQLite file, with a clock at 2026-03-02 09:00 UTC (a Monday).
pub struct TestApp {
    pub service: Service,
    pub clock: Arc<ManualClock>,
    pub dir: TempDir,
}

pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

impl TestApp {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let store = Store::connect(&url).await.expect("open the test database");
        let clock = Arc::new(ManualClock::new(start_time()));
        let source = PlaybookSource {
            reference: "three-stages.toml".into(),
            toml: PLAYBOOK.into(),
        };
        let service = Service::new(store, clock.clone(), source);
        Self {
            service,
            clock,
            dir,
        }
    }

    pub fn database_url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("test.db").display())
    }

    pub async fn session(&self, name: &str) -> Session {
        self.service
            .session(&caller(WORKSPACE, name))
            .await
            .expect("session")
    }

    /// `boss` (admin, first member), `mia` (manager) with reps `ann` and `bob`, and `eve`, a rep
    /// of nobody.
    pub async fn team(&self) -> Team {
        let admin = self.session("boss").await;
        self.session("mia").await;
        self.service
            .set_team_role(&admin, &user("mia"), Role::Manager, None)
            .await
            .unwrap();
        for rep in ["ann", "bob", "eve"] {
            self.session(rep).await;
        }
        for rep in ["ann", "bob"] {
            self.service
                .set_team_role(&admin, &user(rep), Role::Rep, Some(&user("mia")))
                .await
                .unwrap();
        }
        Team {
            admin,
            manager: self.session("mia").await,
            ann: self.session("ann").await,
            bob: self.session("bob").await,
            eve: self.session("eve").await,
        }
    }
}

pub struct Team {
    pub admin: Session,
    pub manager: Session,
    pub ann: Session,
    pub bob: Session,
    pub eve: Session,
}

pub fn user(name: &str) -> UserRef {
    UserRef(name.to_string())
}
