//! Opening the database: pools, pragmas and migrations.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Transaction};

use super::{Result, StoreError};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
}

/// The database: a pool for reads and one for writes.
///
/// On SQLite every write goes through a single connection. SQLite allows one writer at a time
/// anyway; queueing in the pool instead of in SQLite's busy handler keeps tail latency flat and
/// avoids the deadlock where two deferred transactions both try to upgrade to writers.
#[derive(Debug, Clone)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `url` (`sqlite://dealgate.db`; the file is created if missing) and applies
    /// any migrations not yet applied.
    pub async fn connect(url: &str) -> Result<Self> {
        let store = Self::open(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating (for `dealgate migrate`, which reports what it applied).
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        if !url.starts_with("sqlite:") {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        }
        let url = sqlite_url_with_create(url);
        let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        fn pragmas(
            conn: &mut sqlx::AnyConnection,
            _meta: sqlx::pool::PoolConnectionMetadata,
        ) -> futures_core::future::BoxFuture<'_, Result<(), sqlx::Error>> {
            Box::pin(async move {
                // WAL lets readers run beside the writer; NORMAL sync is durable across a process
                // crash and loses at most the last commit on power loss, the usual trade-off.
                sqlx::raw_sql(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                     PRAGMA journal_size_limit = 67108864;",
                )
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        }
        let write = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(pragmas)
            .connect_with(options.clone())
            .await?;
        let read = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(pragmas)
            .connect_with(options)
            .await?;
        Ok(Self {
            read,
            write,
            backend: Backend::Sqlite,
        })
    }

    /// Applies pending migrations; returns how many were applied.
    pub async fn migrate(&self) -> Result<usize> {
        let mut conn = self.write.acquire().await?;
        let before = applied_count(&mut conn).await;
        SQLITE_MIGRATIONS.run(&mut *conn).await?;
        let after = applied_count(&mut conn).await;
        Ok(after.saturating_sub(before))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A transaction for a use case that writes.
    pub async fn begin(&self) -> Result<Transaction<'static, sqlx::Any>> {
        Ok(self.write.begin().await?)
    }

    /// The pool for a write that is one statement (its own transaction), without the two round
    /// trips of `BEGIN` and `COMMIT`.
    pub fn writer(&self) -> &AnyPool {
        &self.write
    }

    /// The pool for reads outside a transaction.
    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

async fn applied_count(conn: &mut sqlx::AnyConnection) -> usize {
    // The table does not exist before the first migration; that simply means none applied.
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(conn)
        .await
        .map(|n| n as usize)
        .unwrap_or(0)
}

/// sqlx opens SQLite read-write but refuses to create a missing file unless asked; a new user
/// expects `sqlite://dealgate.db` to just work.
fn sqlite_url_with_create(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}
