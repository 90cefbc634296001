//! Opening the database: the backend chosen from the URL, pools, pragmas and migrations.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use sqlx::ConnectOptions;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};

use super::connections::{Connections, WriteTx};
use super::writer::{Write, Writer};
use super::{Result, StoreError, receipts};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a use case waits for a pooled connection before it fails. Generous: a queue of
/// writers on SQLite's single connection drains in milliseconds, so hitting this means the
/// database is down or wedged, not busy.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections per pool on PostgreSQL (reads and writes each). Sixteen kept the server busy on
/// the 2-core machine without queueing in the pool (PROTOCOLS §6.2); several replicas together
/// must stay under the server's `max_connections` (100 by default), so this is per process.
const POSTGRES_POOL_SIZE: u32 = 16;

/// A PostgreSQL connection idle this long is pinged before it is handed out.
pub(super) const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Connections for the writer's groups that hold only claims or only answers (see
/// [`lazy_commits`]); the writer writes one group at a time.
const LAZY_POOL_SIZE: u32 = 2;

/// Connections whose commits return before PostgreSQL flushed them to disk
/// (`synchronous_commit = off`), for the writer's groups of bookkeeping only: interaction
/// claims and recorded answers, never a command's work. Losing such a commit in a crash of
/// the server loses nothing anyone was told: a claim protects a command that has not run, and
/// the work it protects commits with a flush that also flushes every earlier commit (the log
/// is written in order); a lost answer makes a retry hear that the command was applied (its
/// effect row is in the work's transaction) instead of the first answer's words. What it saves
/// is a flush to disk, twice a command when commands arrive one at a time.
fn lazy_commits(mut options: AnyConnectOptions) -> AnyConnectOptions {
    options
        .database_url
        .query_pairs_mut()
        .append_pair("options[synchronous_commit]", "off");
    options
}

/// How long the first connection to PostgreSQL may take before the server counts as away.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Readers beside SQLite's single writer. WAL lets them run while it writes.
const SQLITE_READERS: usize = 4;

/// Run on every SQLite connection. WAL lets readers run beside the writer; NORMAL sync is
/// durable across a process crash and loses at most the last commit on power loss, the usual
/// trade-off. (A macro, so the readers' setup can add to it.)
macro_rules! sqlite_setup {
    () => {
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA busy_timeout = 5000; PRAGMA journal_size_limit = 67108864;"
    };
}
const SQLITE_SETUP: &str = sqlite_setup!();

/// [`SQLITE_SETUP`] for a reader: a page cache of 1 MiB instead of SQLite's 2. Each reader
/// keeps its own, beside the writer's; on a 100,000-deal file the four filled 11 MiB, a
/// quarter of the process, while the pages they reread come from the operating system's
/// cache.
const SQLITE_READER_SETUP: &str = concat!(sqlite_setup!(), " PRAGMA cache_size = -1024;");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a `DATABASE_URL` names by its scheme, if it is one we support.
    pub fn of_url(url: &str) -> Option<Self> {
        let scheme = url.split_once(':')?.0;
        match scheme {
            "sqlite" => Some(Self::Sqlite),
            "postgres" | "postgresql" => Some(Self::Postgres),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// The database: a pool for reads and one for writes.
///
/// On SQLite the write pool is a single connection, and the writer's thread has one more of
/// its own; the two take turns (see `sqlite_writer`). SQLite allows one writer at a time
/// anyway; queueing in the process instead of in SQLite's busy handler keeps tail latency flat
/// and avoids the deadlock where two deferred transactions both try to upgrade to writers.
///
/// On PostgreSQL both are ordinary pools: the server runs writers side by side and the use
/// cases are written to be correct when several processes write at once (optimistic `version`
/// checks on deals, row locks taken by `UPDATE`, `ON CONFLICT DO NOTHING` for first use).
#[derive(Debug, Clone)]
pub struct Store {
    read: Connections,
    write: Connections,
    backend: Backend,
    /// Commands' writes, committed in groups.
    writer: Arc<Writer>,
}

impl Store {
    /// Connects to `url` and applies any migrations not yet applied. `sqlite://dealgate.db`
    /// creates the file if missing; `postgres://user:password@host:5432/dealgate` (or
    /// `postgresql://…`) needs the database to exist.
    pub async fn connect(url: &str) -> Result<Self> {
        let store = Self::open(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating (for `dealgate migrate`, which reports what it applied).
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        match Backend::of_url(url) {
            Some(Backend::Sqlite) => Self::open_sqlite(url).await,
            Some(Backend::Postgres) => Self::open_postgres(url).await,
            None => Err(StoreError::UnsupportedUrl(redacted_url(url))),
        }
    }

    async fn open_sqlite(url: &str) -> Result<Self> {
        // Every connection would get a database of its own: readers would never see a write.
        if sqlite_in_memory(url) {
            return Err(StoreError::Unsupported(
                "this is a SQLite database in memory, which lives inside one connection, and \
                 dealgate reads and writes on several; set DATABASE_URL to a file, e.g. \
                 sqlite://dealgate.db"
                    .into(),
            ));
        }
        // SQLite says only "unable to open database file"; a missing folder is the usual cause.
        let path = sqlite_path(url);
        let folder = std::path::Path::new(path).parent();
        if let Some(folder) = folder.filter(|f| !f.as_os_str().is_empty() && !f.exists()) {
            return Err(StoreError::Unavailable(format!(
                "the folder {} of the SQLite file {path} does not exist; create it, or set \
                 DATABASE_URL to a file in a folder that does",
                folder.display()
            )));
        }
        if std::path::Path::new(path).is_dir() {
            return Err(StoreError::Unavailable(format!(
                "{path} is a folder, not a SQLite file; set DATABASE_URL to a file in it, e.g. \
                 sqlite://{}/dealgate.db",
                path.trim_end_matches('/')
            )));
        }
        let url = sqlite_url_with_create(url);
        let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        let write = Connections::local(options.clone(), SQLITE_SETUP, 1, ACQUIRE_TIMEOUT).await?;
        let read = Connections::local(
            options,
            SQLITE_READER_SETUP,
            SQLITE_READERS,
            ACQUIRE_TIMEOUT,
        )
        .await?;
        let read_only = sqlite_mode(&url) == Some("ro");
        let writer = Writer::on_sqlite_thread(path, read_only, SQLITE_SETUP, write.clone())?;
        Ok(Self {
            read,
            writer: Arc::new(writer),
            write,
            backend: Backend::Sqlite,
        })
    }

    async fn open_postgres(url: &str) -> Result<Self> {
        let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
        // The pool retries a refused connection until its acquire timeout and then says only
        // that it timed out; one connection first says at once why the server is out of reach.
        match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
            Ok(Ok(first)) => {
                let _ = sqlx::Connection::close(first).await;
            }
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => {
                return Err(StoreError::Unavailable(format!(
                    "no answer from {} within {} s",
                    redacted_url(url),
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        }
        let pool = |size| {
            AnyPoolOptions::new()
                .max_connections(size)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                // sqlx pings every connection it hands out by default: a round trip before
                // each statement a command makes. A connection in use moments ago is as alive
                // as a ping would say; one that sat idle (the server may have restarted since)
                // is still checked, and replaced if it does not answer.
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= PING_AFTER_IDLE {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
        };
        // Two pools, as on SQLite, so a burst of slow reads (a forecast over a big pipeline)
        // cannot take every connection a write needs.
        let write = Connections::pool(
            pool(POSTGRES_POOL_SIZE)
                .connect_with(options.clone())
                .await?,
        );
        let read = Connections::pool(
            pool(POSTGRES_POOL_SIZE)
                .connect_with(options.clone())
                .await?,
        );
        // A pooler in front of the server may refuse the startup parameter that sets it (PgBouncer
        // does unless told to ignore it): the bookkeeping then commits like everything else.
        let bookkeeping = match pool(LAZY_POOL_SIZE)
            .connect_with(lazy_commits(options))
            .await
        {
            Ok(lazy) => Some(Connections::pool(lazy)),
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "connections with synchronous_commit = off were refused; interaction \
                     bookkeeping commits on the write pool"
                );
                None
            }
        };
        Ok(Self {
            read,
            writer: Arc::new(Writer::new(write.clone()).with_bookkeeping(bookkeeping)),
            write,
            backend: Backend::Postgres,
        })
    }

    /// Applies pending migrations; returns how many were applied.
    ///
    /// Safe to run from several replicas at once: on PostgreSQL sqlx holds an advisory lock
    /// while it migrates, on SQLite the database's write lock serializes them.
    pub async fn migrate(&self) -> Result<usize> {
        let mut conn = self.write.acquire().await?;
        let before = applied_count(&mut conn).await;
        self.migrator().run(&mut *conn).await?;
        let after = applied_count(&mut conn).await;
        Ok(after.saturating_sub(before))
    }

    /// Applies pending migrations up to and including `version`; returns how many were
    /// applied. The migration test uses it to meet each migration with the data the previous
    /// ones left, as an upgrade in the field would.
    pub async fn migrate_to(&self, version: i64) -> Result<usize> {
        let mut conn = self.write.acquire().await?;
        let before = applied_count(&mut conn).await;
        self.migrator().run_to(version, &mut *conn).await?;
        let after = applied_count(&mut conn).await;
        Ok(after.saturating_sub(before))
    }

    /// The versions of this backend's migrations, oldest first.
    pub fn migration_versions(&self) -> Vec<i64> {
        self.migrator().iter().map(|m| m.version).collect()
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A transaction for a use case that writes.
    ///
    /// On SQLite it starts with `BEGIN IMMEDIATE`, taking the write lock before the first read.
    /// One process needs no more (its writes share one connection), but when a second process
    /// opens the same file (`dealgate migrate`, an import, a second replica in a test) a
    /// deferred transaction that read and then tries to write fails at once with
    /// `SQLITE_BUSY` if the other wrote meanwhile; an immediate one waits in the busy handler
    /// instead and then reads fresh data.
    pub async fn begin(&self) -> Result<WriteTx> {
        Ok(self.write.begin().await?)
    }

    /// The connections of the writer's bookkeeping-only groups, where they are not
    /// [`Store::writer`]'s.
    pub fn bookkeeping(&self) -> Option<&Connections> {
        self.writer.bookkeeping()
    }

    /// Opens every connection the store's pools may hold, all at once, and has each read
    /// connection run the read every command about a deal starts with; returns how many are
    /// open and the most there may be. For a server that starts: sqlx opens a PostgreSQL
    /// connection when a command first finds none idle, and a new connection costs both sides
    /// a process, a TLS handshake and cold caches, so the first burst of commands after a
    /// start or deploy waited on dozens of them (a steady 1,000 commands a second had a p99
    /// of 108–355 ms in its first ten seconds, under 20 ms after). Opening them was not enough
    /// (p99 240–270 ms): each new connection's first run of a statement also prepares and
    /// plans it and loads PostgreSQL's caches of the tables it names. Any not open `within` is
    /// left to open when needed, as before.
    pub async fn warm_up(&self, within: Duration) -> (usize, usize) {
        let mut filling = tokio::task::JoinSet::new();
        for (name, pool) in self.pools() {
            let reads = name == "reader";
            let (pool, backend) = (pool.clone(), self.backend());
            filling.spawn(async move {
                // Connections handed out already (the writer keeps one) are open too.
                let (busy, most) = pool.in_use();
                let mut held = pool.fill(within).await;
                if reads {
                    for conn in &mut held {
                        if let Err(e) = super::deals::warm(conn, backend).await {
                            tracing::debug!(error = %e, "a read connection did not run the warm-up read");
                        }
                    }
                }
                (busy + held.len(), most)
            });
        }
        let mut totals = (0, 0);
        while let Some(filled) = filling.join_next().await {
            if let Ok((open, most)) = filled {
                totals = (totals.0 + open, totals.1 + most);
            }
        }
        totals
    }

    /// The store's connection pools, by the name `/metrics` gives them: the writer's, the
    /// readers' and, on PostgreSQL, the bookkeeping's.
    pub fn pools(&self) -> Vec<(&'static str, &Connections)> {
        let mut pools = vec![("writer", &self.write), ("reader", &self.read)];
        pools.extend(self.bookkeeping().map(|c| ("bookkeeping", c)));
        pools
    }

    /// The pool for a write that is one statement (its own transaction), without the two round
    /// trips of `BEGIN` and `COMMIT`.
    pub fn writer(&self) -> &Connections {
        &self.write
    }

    /// Claims an interaction id for the caller (see `service::interactions`), taking over an
    /// unanswered claim made before `lapsed_before`. Committed in a group with concurrent
    /// commands' writes (see `writer`).
    pub async fn claim_interaction(
        &self,
        platform: &str,
        interaction_id: &str,
        now: DateTime<Utc>,
        lapsed_before: DateTime<Utc>,
    ) -> Result<receipts::Claimed> {
        let item = receipts::ClaimItem {
            platform: platform.to_string(),
            interaction_id: interaction_id.to_string(),
            now,
            lapsed_before,
        };
        self.writer.claim(item).await
    }

    /// Runs a command's work (one statement, or a SQLite script without `BEGIN`/`COMMIT`) in a
    /// group with concurrent commands' writes; the id it returned, once the group committed.
    pub async fn write_work(&self, write: Write) -> Result<Option<i64>> {
        self.writer.work(write).await
    }

    /// SQLite's writer thread, for the reads that run on its connection.
    pub(super) fn sqlite_thread(&self) -> Option<&super::sqlite_writer::SqliteWriter> {
        self.writer.sqlite_thread()
    }

    /// The writer's fault injection, for tests.
    #[doc(hidden)]
    pub fn writer_faults(&self) -> &super::writer::Faults {
        self.writer.faults()
    }

    /// Stores the answer given to an interaction at `at`, with its receipt if it has none yet
    /// (see `receipts::answers_statement`), committed in a group with concurrent commands'
    /// writes. [`Recording::Queued`](receipts::Recording::Queued) returns once the answer is
    /// queued, so the reply goes out while it is written ([`Store::close`] waits for queued
    /// answers); a duplicate delivery loses nothing by it: it arrives after the answer was
    /// queued, so its claim is written after the answer (in a later group, or later in the same
    /// one: a group writes answers before claims), and a duplicate of a command claimed by its
    /// write that finds no answer yet waits for it.
    /// [`Recording::Written`](receipts::Recording::Written) returns once it is written, and
    /// [`Recording::WrittenIf`](receipts::Recording::WrittenIf) once it is written or found
    /// not to be: `false` if its read no longer held, or the delivery had an answer already.
    pub async fn record_interaction(
        &self,
        platform: &str,
        interaction_id: &str,
        response: &str,
        at: DateTime<Utc>,
        recording: receipts::Recording,
    ) -> Result<bool> {
        let unless_changed = match recording {
            receipts::Recording::WrittenIf(read) => Some(read),
            receipts::Recording::Queued | receipts::Recording::Written => None,
        };
        let item = receipts::AnswerItem {
            platform: platform.to_string(),
            interaction_id: interaction_id.to_string(),
            response: response.to_string(),
            at,
            unless_changed,
        };
        match recording {
            receipts::Recording::Queued => self.writer.answer(item).await.map(|()| true),
            receipts::Recording::Written | receipts::Recording::WrittenIf(_) => {
                self.writer.answer_written(item).await
            }
        }
    }

    /// Writes a copy of a SQLite database, as it stood at one moment, to a new file at `path`
    /// (SQLite's `VACUUM INTO`): safe while the bot runs, and the copy is compact. PostgreSQL
    /// databases are copied with `pg_dump` instead.
    pub async fn backup_into(&self, path: &std::path::Path) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Unsupported(
                "a PostgreSQL database is backed up with pg_dump".into(),
            ));
        }
        let mut conn = self.read.acquire().await?;
        sqlx::query("VACUUM INTO $1")
            .bind(path.to_string_lossy().into_owned())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// The pool for reads outside a transaction.
    pub fn reader(&self) -> &Connections {
        &self.read
    }

    pub async fn close(&self) {
        self.writer.close().await;
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

/// The file a `sqlite:` URL names: `sqlite://dealgate.db`, `sqlite:///var/lib/x.db` and
/// `sqlite:x.db?mode=rwc` give `dealgate.db`, `/var/lib/x.db` and `x.db`.
pub fn sqlite_path(url: &str) -> &str {
    url.trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default()
}

/// The `mode` a SQLite URL asks for (`ro`, `rw`, `rwc`, `memory`), if it names one.
fn sqlite_mode(url: &str) -> Option<&str> {
    let (_, query) = url.split_once('?')?;
    query.split('&').find_map(|pair| pair.strip_prefix("mode="))
}

/// Whether a SQLite URL names a database in memory rather than a file.
fn sqlite_in_memory(url: &str) -> bool {
    sqlite_path(url) == ":memory:" || sqlite_mode(url) == Some("memory")
}

/// sqlx opens SQLite read-write but refuses to create a missing file unless asked; a new user
/// expects `sqlite://dealgate.db` to just work.
fn sqlite_url_with_create(url: &str) -> String {
    if sqlite_mode(url).is_some() {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// The URL with any password replaced by `***`, for messages and logs: a PostgreSQL URL often
/// carries one (`postgres://dealgate:secret@db/dealgate`).
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    // The authority ends at the first `/`, `?` or `#`; a password may contain `:` but an
    // unescaped `@` ends the user information, so the last `@` in the authority is the one.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let (userinfo, host) = authority.split_at(at);
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{host}{tail}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlite_file_is_read_off_each_form_of_url() {
        assert_eq!(sqlite_path("sqlite://dealgate.db"), "dealgate.db");
        assert_eq!(sqlite_path("sqlite:///var/lib/x.db"), "/var/lib/x.db");
        assert_eq!(sqlite_path("sqlite:x.db?mode=rwc"), "x.db");
        assert_eq!(sqlite_mode("sqlite:x.db?cache=shared&mode=ro"), Some("ro"));
        assert_eq!(sqlite_mode("sqlite://dealgate.db"), None);
        assert!(sqlite_in_memory("sqlite::memory:"));
        assert!(sqlite_in_memory("sqlite://x?mode=memory&cache=shared"));
        assert!(!sqlite_in_memory("sqlite://memory.db"));
    }

    #[test]
    fn the_scheme_picks_the_backend() {
        assert_eq!(
            Backend::of_url("sqlite://dealgate.db"),
            Some(Backend::Sqlite)
        );
        assert_eq!(Backend::of_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::of_url("postgres://u@localhost/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::of_url("postgresql://u@localhost/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::of_url("mysql://u@localhost/db"), None);
        assert_eq!(Backend::of_url("dealgate.db"), None);
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redacted_url("postgres://dealgate:s3cr:et@db.internal:5432/dealgate?sslmode=require"),
            "postgres://dealgate:***@db.internal:5432/dealgate?sslmode=require"
        );
        assert_eq!(
            redacted_url("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(redacted_url("sqlite://dealgate.db"), "sqlite://dealgate.db");
    }

    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |m: &sqlx::migrate::Migrator| {
            m.iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&SQLITE_MIGRATIONS),
            names(&POSTGRES_MIGRATIONS),
            "every migration needs its SQLite and its PostgreSQL file, with the same name"
        );
    }

    #[tokio::test]
    async fn an_unknown_scheme_is_refused_without_its_password() {
        let err = Store::open("mysql://root:hunter2@localhost/db")
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("mysql://root:***@localhost/db"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
