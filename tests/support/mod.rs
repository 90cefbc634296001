//! Shared test helpers: a fresh database per test on either backend, a service on a manual
//! clock, callers.
//!
//! SQLite tests get a file in a temporary directory. PostgreSQL tests get a database of their
//! own, `dealgate_test_<pid>_<n>_<random>`, created through `DEALGATE_TEST_POSTGRES_URL` (an
//! admin URL such as `postgres://postgres@127.0.0.1:5432/test`) and dropped when the test ends,
//! so tests run in parallel without seeing each other. Without that variable PostgreSQL tests
//! say so on stderr and pass; with `CI` set they fail instead, because CI must run them.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::hash::{BuildHasher, RandomState};
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Once};

use chrono::{DateTime, TimeZone, Utc};
use dealgate::chat::console::caller;
use dealgate::clock::ManualClock;
use dealgate::commands::UserRef;
use dealgate::engine::playbook::Role;
use dealgate::service::{PlaybookSource, Service, Session};
use dealgate::store::{Backend, Store};
use sqlx::Connection;
use tempfile::TempDir;

pub const PLAYBOOK: &str = include_str!("../fixtures/three-stages.toml");
pub const WORKSPACE: &str = "acme";
pub const POSTGRES_URL_VAR: &str = "DEALGATE_TEST_POSTGRES_URL";

/// Generates, for each named `async fn NAME(app: TestApp)`, a module `NAME` with two tests,
/// `NAME::on_sqlite` and `NAME::on_postgres`, so `cargo test on_postgres` runs (and counts) the
/// PostgreSQL half. A test function left out of the list is dead code, which clippy rejects.
///
/// Tests run on tokio's single-threaded test runtime; start the list with `multi_thread:` for
/// tests whose tasks must really run at the same time.
#[macro_export]
macro_rules! on_both_backends {
    (multi_thread: $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@each (flavor = "multi_thread", worker_threads = 4) $($name),*);
    };
    ($($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@each (flavor = "current_thread") $($name),*);
    };
    (@each $flavor:tt $($name:ident),*) => {$(
        mod $name {
            #[tokio::test $flavor]
            async fn on_sqlite() {
                let app = $crate::support::TestApp::new().await;
                super::$name(app).await;
            }

            #[tokio::test $flavor]
            async fn on_postgres() {
                if let Some(app) =
                    $crate::support::TestApp::on($crate::support::TestBackend::Postgres).await
                {
                    super::$name(app).await;
                }
            }
        }
    )*};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test: a SQLite file in a temporary directory, or a
/// PostgreSQL database dropped (with its connections) when this is dropped.
pub struct TestDb {
    pub backend: TestBackend,
    pub url: String,
    dir: Option<TempDir>,
    /// The admin URL and the database's name, to drop it.
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// A fresh, empty database (no migrations applied); `None` when the backend is PostgreSQL
    /// and no server is configured (outside CI only).
    pub async fn create(backend: TestBackend) -> Option<Self> {
        match backend {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Some(Self {
                    backend,
                    url,
                    dir: Some(dir),
                    postgres: None,
                })
            }
            TestBackend::Postgres => {
                let admin = postgres_admin_url()?;
                let name = unique_database_name();
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("connect to {POSTGRES_URL_VAR} ({admin}): {e}"));
                // A test database is thrown away, so its commits need not wait for the disk:
                // about 5 ms saved on each of a test's dozens of commits on this machine.
                for sql in [
                    format!("CREATE DATABASE {name}"),
                    format!("ALTER DATABASE {name} SET synchronous_commit = off"),
                ] {
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut conn)
                        .await
                        .unwrap_or_else(|e| panic!("create the test database {name}: {e}"));
                }
                conn.close().await.ok();
                Some(Self {
                    backend,
                    url: with_database(&admin, &name),
                    dir: None,
                    postgres: Some((admin, name)),
                })
            }
        }
    }

    /// A store on this database, migrated: what one replica would open.
    pub async fn store(&self) -> Store {
        Store::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("open the test database {}: {e}", self.url))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot block on itself; a thread with its
        // own runtime can. `WITH (FORCE)` ends the pools' connections that are still open.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime to drop the test database");
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await?;
                conn.close().await
            })
            .map_err(|e| format!("drop the test database {name}: {e}"))
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            // Panicking in drop while the test already panics would abort and hide its message.
            Ok(Err(e)) if std::thread::panicking() => eprintln!("{e}"),
            Ok(Err(e)) => panic!("{e}"),
            Err(_) => eprintln!("the thread dropping a test database panicked"),
        }
    }
}

/// `DEALGATE_TEST_POSTGRES_URL`, or `None` after saying on stderr that PostgreSQL tests are
/// skipped. With `CI` set a missing URL fails the test: CI must run them.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
            assert!(
                !ci,
                "{POSTGRES_URL_VAR} is not set but CI is: the PostgreSQL tests must run on CI \
                 (see .ci/run)"
            );
            // Once per test binary, and past libtest's capture of `eprintln!` (which shows only
            // a failing test's output), so a local run says plainly what it did not check.
            static SAID: Once = Once::new();
            SAID.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "NOTE: the `on_postgres` tests of this binary are SKIPPED (they pass without \
                     running): set {POSTGRES_URL_VAR}=postgres://postgres@127.0.0.1:5432/test to \
                     run them"
                );
            });
            None
        }
    }
}

/// Unique across parallel tests in this process (the counter) and across test binaries and
/// runs (the process id and a random part), and a plain identifier, so it needs no quoting.
fn unique_database_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let random = RandomState::new().hash_one(n) & 0xffff_ffff;
    format!("dealgate_test_{}_{n}_{random:08x}", std::process::id())
}

/// `url` with its database (the path) replaced by `name`, keeping any query parameters.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a postgres:// URL");
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, format!("?{query}")),
        None => (rest, String::new()),
    };
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    format!("{scheme}://{authority}/{name}{query}")
}

/// A service on its own database, with a clock at 2026-03-02 09:00 UTC (a Monday).
pub struct TestApp {
    pub service: Service,
    pub clock: Arc<ManualClock>,
    /// Declared last so it is dropped after the service has let go of its pools.
    pub db: TestDb,
}

pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

pub fn playbook_source() -> PlaybookSource {
    PlaybookSource {
        reference: "three-stages.toml".into(),
        toml: PLAYBOOK.into(),
    }
}

impl TestApp {
    /// On SQLite, which is always there.
    pub async fn new() -> Self {
        Self::on(TestBackend::Sqlite)
            .await
            .expect("SQLite is always available")
    }

    /// On `backend`; `None` when it is PostgreSQL and none is configured (see
    /// [`postgres_admin_url`]).
    pub async fn on(backend: TestBackend) -> Option<Self> {
        let db = TestDb::create(backend).await?;
        let store = db.store().await;
        let expected = match backend {
            TestBackend::Sqlite => Backend::Sqlite,
            TestBackend::Postgres => Backend::Postgres,
        };
        assert_eq!(store.backend(), expected);
        let clock = Arc::new(ManualClock::new(start_time()));
        let service = dealgate::jobs::message::rendering(Service::new(
            store,
            clock.clone(),
            playbook_source(),
        ));
        Some(Self { service, clock, db })
    }

    /// Another service on the same database with its own pools and playbook cache, as a second
    /// replica would be; it reads time from the same clock.
    pub async fn replica(&self) -> Service {
        dealgate::jobs::message::rendering(Service::new(
            self.db.store().await,
            self.clock.clone(),
            playbook_source(),
        ))
    }

    pub fn database_url(&self) -> String {
        self.db.url.clone()
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

/// A member as a command names them: a name, or a mention (`<@U0MIA0001>`), read by the
/// commands' own parser.
pub fn user(name: &str) -> UserRef {
    dealgate::commands::parse::parse_user(name).expect("a name or a mention")
}
