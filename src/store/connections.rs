//! Handing out connections, and write transactions on them.
//!
//! PostgreSQL uses sqlx's pool as it is. On SQLite, sqlx's pool pings a connection when it is
//! taken and again when it is given back; each ping is a round trip to the connection's worker
//! thread (about 45 µs on the project's machine, mostly thread switching), and the ping on
//! return runs before the next waiting task gets the connection, so on the single writer it
//! sits on every write's critical path. A local SQLite connection has no far end that could
//! hang up, so the pings buy nothing: [`Connections`] hands them out and takes them back
//! without a word to the database, and reopens one that was lost.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::any::AnyConnectOptions;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Connection as _, Transaction};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A set of connections to one database: sqlx's pool, or local SQLite connections.
#[derive(Debug, Clone)]
pub struct Connections(Source);

#[derive(Debug, Clone)]
enum Source {
    Pool(AnyPool),
    Local(Arc<Local>),
}

#[derive(Debug)]
struct Local {
    options: AnyConnectOptions,
    /// Statements run on every new connection (pragmas).
    setup: &'static str,
    idle: Mutex<Vec<AnyConnection>>,
    /// One permit per connection that may exist.
    permits: Arc<Semaphore>,
    size: usize,
    acquire_timeout: Duration,
    closed: AtomicBool,
}

impl Connections {
    pub fn pool(pool: AnyPool) -> Self {
        Self(Source::Pool(pool))
    }

    /// Up to `size` SQLite connections, opened when first needed; one is opened now, so a bad
    /// URL or an unreadable file fails here rather than at the first command.
    pub async fn local(
        options: AnyConnectOptions,
        setup: &'static str,
        size: usize,
        acquire_timeout: Duration,
    ) -> Result<Self, sqlx::Error> {
        let local = Arc::new(Local {
            options,
            setup,
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Arc::new(Semaphore::new(size)),
            size,
            acquire_timeout,
            closed: AtomicBool::new(false),
        });
        let first = local.open().await?;
        local.put_back(first);
        Ok(Self(Source::Local(local)))
    }

    /// `(connections handed out now, the most there may be)`.
    pub fn in_use(&self) -> (usize, usize) {
        match &self.0 {
            Source::Pool(pool) => {
                let open = pool.size() as usize;
                (
                    open.saturating_sub(pool.num_idle()),
                    pool.options().get_max_connections() as usize,
                )
            }
            Source::Local(local) => (
                local.size.saturating_sub(local.permits.available_permits()),
                local.size,
            ),
        }
    }

    /// Opens connections until the set holds the most it may (each is otherwise opened when a
    /// command first finds none idle), giving up on any not open `within`; returns the ones it
    /// took, held. Those handed out already (to the writer, to commands) are not waited for.
    pub async fn fill(&self, within: Duration) -> Vec<Checkout> {
        // Each connection taken is held until every one is: one given back early would be
        // taken again instead of a new one being opened.
        let mut opening = tokio::task::JoinSet::new();
        let (in_use, most) = self.in_use();
        for _ in 0..most.saturating_sub(in_use) {
            let connections = self.clone();
            opening.spawn(async move { tokio::time::timeout(within, connections.acquire()).await });
        }
        let mut held = Vec::new();
        while let Some(opened) = opening.join_next().await {
            if let Ok(Ok(Ok(conn))) = opened {
                held.push(conn);
            }
        }
        held
    }

    pub async fn acquire(&self) -> Result<Checkout, sqlx::Error> {
        match &self.0 {
            Source::Pool(pool) => Ok(Checkout(Held::Pool(pool.acquire().await?))),
            Source::Local(local) => local.acquire().await,
        }
    }

    /// A turn at writing, for a writer that has a connection of its own to the same SQLite file
    /// (see `sqlite_writer`): while it is held, nobody takes a connection from these. `None`
    /// for sqlx's pools, whose server runs writers side by side. Waits as long as it takes.
    pub async fn turn(&self) -> Result<Option<OwnedSemaphorePermit>, sqlx::Error> {
        match &self.0 {
            Source::Pool(_) => Ok(None),
            Source::Local(local) => Arc::clone(&local.permits)
                .acquire_many_owned(u32::try_from(local.size).unwrap_or(u32::MAX))
                .await
                .map(Some)
                .map_err(|_| sqlx::Error::PoolClosed),
        }
    }

    /// A transaction: `BEGIN IMMEDIATE` on SQLite (see `Store::begin`), `BEGIN` on PostgreSQL.
    pub async fn begin(&self) -> Result<WriteTx, sqlx::Error> {
        match &self.0 {
            Source::Pool(pool) => Ok(WriteTx(Tx::Pool(pool.begin().await?))),
            Source::Local(local) => {
                // The transaction owns the connection before `BEGIN` is sent: if this future is
                // dropped while `BEGIN IMMEDIATE` is in flight, SQLite's thread still runs it, and
                // only `WriteTx`'s drop (a `ROLLBACK` queued behind it) makes sure the connection
                // goes back outside any transaction.
                let mut tx = WriteTx(Tx::Local(Some(local.acquire().await?)));
                sqlx::query("BEGIN IMMEDIATE").execute(&mut *tx).await?;
                Ok(tx)
            }
        }
    }

    pub async fn close(&self) {
        match &self.0 {
            Source::Pool(pool) => pool.close().await,
            Source::Local(local) => {
                local.closed.store(true, Ordering::SeqCst);
                local.permits.close();
                let idle =
                    std::mem::take(&mut *local.idle.lock().unwrap_or_else(|e| e.into_inner()));
                for conn in idle {
                    let _ = conn.close().await;
                }
            }
        }
    }
}

impl Local {
    async fn acquire(self: &Arc<Self>) -> Result<Checkout, sqlx::Error> {
        let permit = tokio::time::timeout(
            self.acquire_timeout,
            Arc::clone(&self.permits).acquire_owned(),
        )
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?
        .map_err(|_| sqlx::Error::PoolClosed)?;
        if self.closed.load(Ordering::SeqCst) {
            return Err(sqlx::Error::PoolClosed);
        }
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => self.open().await?,
        };
        Ok(Checkout(Held::Local {
            conn: Some(conn),
            home: Arc::clone(self),
            _permit: permit,
        }))
    }

    async fn open(&self) -> Result<AnyConnection, sqlx::Error> {
        let mut conn = self.options.connect().await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(self.setup))
            .execute(&mut conn)
            .await?;
        Ok(conn)
    }

    fn put_back(&self, conn: AnyConnection) {
        if !self.closed.load(Ordering::SeqCst) {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
        }
    }
}

/// A connection taken from [`Connections`]; it goes back when dropped.
pub struct Checkout(Held);

enum Held {
    Pool(PoolConnection<Any>),
    Local {
        conn: Option<AnyConnection>,
        home: Arc<Local>,
        // Released after `Drop` has put the connection back, so a waiting task finds it idle.
        _permit: OwnedSemaphorePermit,
    },
}

impl Checkout {
    /// Closes the connection instead of returning it (its state is unknown); the next
    /// checkout opens a fresh one.
    fn discard(mut self) {
        if let Held::Local { conn, .. } = &mut self.0 {
            conn.take();
        }
    }
}

impl Deref for Checkout {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            Held::Pool(c) => c,
            Held::Local { conn, .. } => conn.as_ref().expect("a held connection is present"),
        }
    }
}

impl DerefMut for Checkout {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            Held::Pool(c) => c,
            Held::Local { conn, .. } => conn.as_mut().expect("a held connection is present"),
        }
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        if let Held::Local { conn, home, .. } = &mut self.0
            && let Some(c) = conn.take()
        {
            home.put_back(c);
        }
    }
}

/// A write transaction. Dropped without [`WriteTx::commit`], it is rolled back.
pub struct WriteTx(Tx);

enum Tx {
    Pool(Transaction<'static, Any>),
    /// `None` once committed or rolled back.
    Local(Option<Checkout>),
}

impl WriteTx {
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        match &mut self.0 {
            Tx::Pool(_) => {
                let Tx::Pool(tx) = std::mem::replace(&mut self.0, Tx::Local(None)) else {
                    unreachable!("matched above")
                };
                tx.commit().await
            }
            Tx::Local(slot) => {
                let Some(mut conn) = slot.take() else {
                    return Ok(());
                };
                match sqlx::query("COMMIT").execute(&mut *conn).await {
                    Ok(_) => Ok(()),
                    Err(e) => {
                        // A failed COMMIT (SQLITE_BUSY) leaves the transaction open.
                        if sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
                            conn.discard();
                        }
                        Err(e)
                    }
                }
            }
        }
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            Tx::Pool(tx) => tx,
            Tx::Local(conn) => conn.as_ref().expect("transaction still open"),
        }
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            Tx::Pool(tx) => tx,
            Tx::Local(conn) => conn.as_mut().expect("transaction still open"),
        }
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let Tx::Local(slot) = &mut self.0 else {
            // sqlx's transaction rolls itself back.
            return;
        };
        let Some(mut conn) = slot.take() else {
            return;
        };
        // The connection (and its permit) go back only after the rollback, so the next writer
        // never starts inside this transaction.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
                        conn.discard();
                    }
                });
            }
            Err(_) => conn.discard(),
        }
    }
}
