//! The writer: group commit for whole commands.
//!
//! A command that changes something writes up to three times: it claims its interaction id
//! (unless its work is its claim: `/log`, the moves), does its work (an activity, a move), and
//! records the answer it gave. Each of those used to be a
//! transaction of its own; on SQLite's single writer and on PostgreSQL's write-ahead log every
//! commit has a price of its own (pages written again, readers' caches dropped, a log flush).
//! Here concurrent commands' writes of all three kinds queue together, and whoever gets the
//! turn writes everything queued by then in **one** transaction: the answers in one statement,
//! the claims in one statement, each command's work as the statement or script it would have
//! run alone (on PostgreSQL the works of a kind that has a [`Batch`] statement, `/log`'s, in
//! that one statement), then one `COMMIT`. Nobody waits on a timer: an idle system commits a
//! group of one at once. (On PostgreSQL, claims and answers have connections whose commits do
//! not wait for the disk, and there they queue and commit apart from the work: see
//! [`Writer::new`]; a group of work that is then one statement runs without `BEGIN` and
//! `COMMIT`, atomic alone: see `commit_group`.)
//!
//! What stays true for each command:
//! - Its effects are all or nothing. A command's work runs whole inside the group's
//!   transaction; if anything in the group fails, the whole group rolls back, and its jobs are
//!   written again one transaction each, so one command's failure (an interaction applied
//!   before, a broken row) is its own and no innocent command fails with it.
//! - Nobody hears "done" before it is durable: a job's result is handed out only after the
//!   `COMMIT` of the transaction that wrote it returned. (The one exception is not a command's
//!   effect: an interaction's answer is queued, not awaited; see `Writer::answer`.)
//! - A caller that stops waiting (its client hung up) does not stop the group: the group is
//!   written by a task of its own (see `group_commit`), or on SQLite by the writer's thread
//!   (see `sqlite_writer`), which no caller can stop.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use sqlx::Row as _;
use tokio::sync::Notify;
use tokio_util::task::TaskTracker;

use super::connect::PING_AFTER_IDLE;
use super::group_commit::GroupCommit;
use super::receipts::{self, AnswerItem, ClaimItem, Claimed, already_applied};
use super::sqlite_writer::SqliteWriter;
use super::{Checkout, Connections, Result, StoreError};

/// A value bound to a placeholder of a [`Write`]: the kinds the use cases' writes bind.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl Value {
    fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Int(v) => (*v).into(),
            Self::Text(v) => v.as_deref().into(),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Text(Some(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Text(Some(v.to_string()))
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Self::Text(v)
    }
}

/// A command's work, as the group writer runs it: one statement (PostgreSQL) or a script of
/// statements without `BEGIN` and `COMMIT` (SQLite), numbered `$1`…, and its values. The text is
/// the same for every command of a kind, so each connection prepares it once. What it returns is
/// the first column of the first row any of its statements returns (an id), if one does.
#[derive(Debug, Clone)]
pub struct Write {
    pub sql: String,
    pub values: Vec<Value>,
    /// The id of the row the write locks (a deal): a group runs its work in this order, so two
    /// groups written side by side on PostgreSQL take their locks in the same order and cannot
    /// deadlock each other.
    pub locks: i64,
    /// How this write joins the others of its kind in a group as one statement, where its kind
    /// has such a statement (PostgreSQL).
    pub batch: Option<Batch>,
}

/// A kind of write whose writes in a group run as one statement on PostgreSQL, where each
/// statement is a round trip and an executor started: the writes of a busy group then cost one
/// statement, not one each. The statement takes its rows' locks where the first of its writes
/// would have run (in id order among themselves), so two groups written side by side by two
/// replicas can now meet in a deadlock; PostgreSQL then fails one of the two, whose writes are
/// written again one by one (see [`write_group`]).
#[derive(Debug, Clone, Copy)]
pub struct Batch {
    /// The statement: `$1` is a JSON array of the writes' rows, each with an `ord` (its place
    /// in the array) added; it returns `(ord, id)` for each row it wrote. A row it did not
    /// return is that write's `None`, as the write alone would have returned no row.
    pub sql: &'static str,
    /// The name in a row of each of the write's values, by position (`""`: not in the row). A
    /// write with fewer values leaves the rest of the names out (the statement reads `NULL`).
    pub columns: &'static [&'static str],
}

impl Write {
    pub fn new(sql: String, locks: i64) -> Self {
        Self {
            sql,
            values: Vec::new(),
            locks,
            batch: None,
        }
    }

    /// Lets this write run in one statement with the other writes of `batch`'s kind in its
    /// group (see [`Batch`]).
    pub fn batched(mut self, batch: Batch) -> Self {
        self.batch = Some(batch);
        self
    }

    /// Binds the next placeholder.
    pub fn bind(mut self, value: impl Into<Value>) -> Self {
        self.values.push(value.into());
        self
    }

    async fn run(&self, conn: &mut sqlx::AnyConnection) -> Result<Option<i64>> {
        let rows = bind_values(
            sqlx::query(sqlx::AssertSqlSafe(self.sql.as_str())),
            &self.values,
        )
        .fetch_all(conn)
        .await
        .map_err(retriable)?;
        Ok(rows.first().map(|row| row.try_get(0)).transpose()?)
    }
}

/// Runs `writes`, all of one [`Batch`] kind, as that kind's one statement; what each returned.
async fn run_batch(writes: &[&Write], conn: &mut sqlx::AnyConnection) -> Result<Vec<Option<i64>>> {
    let mut sql = None;
    let mut rows = Vec::with_capacity(writes.len());
    for (ord, write) in writes.iter().enumerate() {
        let batch = write
            .batch
            .as_ref()
            .ok_or_else(|| batch_mismatch("a write without one"))?;
        if sql.is_some_and(|sql| sql != batch.sql) {
            return Err(batch_mismatch("writes of two kinds"));
        }
        sql = Some(batch.sql);
        let mut row = serde_json::Map::new();
        row.insert("ord".into(), ord.into());
        for (name, value) in batch.columns.iter().zip(&write.values) {
            if !name.is_empty() {
                row.insert((*name).into(), value.to_json());
            }
        }
        rows.push(serde_json::Value::Object(row));
    }
    let Some(sql) = sql else {
        return Ok(Vec::new());
    };
    let rows = serde_json::Value::Array(rows).to_string();
    let written = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(rows)
        .fetch_all(conn)
        .await
        .map_err(retriable)?;
    let mut ids = vec![None; writes.len()];
    for row in written {
        let (ord, id): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        let slot = usize::try_from(ord)
            .ok()
            .and_then(|ord| ids.get_mut(ord))
            .ok_or_else(|| batch_mismatch("a row that was not sent"))?;
        *slot = Some(id);
    }
    Ok(ids)
}

fn batch_mismatch(what: &str) -> StoreError {
    StoreError::Corrupt {
        table: "group commit",
        detail: format!("a batch of writes got {what}"),
    }
}

/// A deadlock or a serialization failure means only that the statement met another
/// transaction: `StoreError::Conflict`, which makes the use case run again on fresh data.
/// Otherwise the error as `already_applied` tells it.
fn retriable(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && matches!(db.code().as_deref(), Some("40P01" | "40001"))
    {
        return StoreError::Conflict;
    }
    already_applied(e)
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds `values` to `query`'s next placeholders, in order (borrowed, not copied).
pub fn bind_values<'q>(mut query: AnyQuery<'q>, values: &'q [Value]) -> AnyQuery<'q> {
    for value in values {
        query = match value {
            Value::Int(v) => query.bind(*v),
            Value::Text(v) => query.bind(v.as_deref()),
        };
    }
    query
}

/// One write waiting for its group.
#[derive(Debug)]
pub(super) enum Job {
    Claim(ClaimItem),
    Work(Write),
    Answer(AnswerItem),
}

pub(super) enum Done {
    Claimed(Claimed),
    /// What the work returned: see [`Write`].
    Worked(Option<i64>),
    /// Whether the answer was recorded (see `receipts::recorded`).
    Answered(bool),
}

/// Faults a test injects into the writer, to see what callers are told when a group fails.
/// Not for production use: everything here is off unless a test turns it on.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct Faults {
    /// Whether a test turned any fault on; until then nothing is held, failed or recorded.
    armed: AtomicBool,
    /// The next this many transactions that hold a command's work fail at `COMMIT` (and roll
    /// back); a group's jobs written again one by one count as transactions of their own.
    failing: AtomicUsize,
    /// The fewest commands' work a transaction holds for `failing` to fail it.
    failing_from: AtomicUsize,
    /// Whether transactions that hold a command's work wait before they commit, until
    /// `queued` reaches `hold_until` or the test releases them.
    holding: AtomicBool,
    hold_until: AtomicUsize,
    /// Commands' work jobs queued since the writer started.
    queued: AtomicUsize,
    changed: Notify,
    /// The next this many transactions that hold a command's work panic at `COMMIT`.
    panicking: AtomicUsize,
    /// Notified as each held transaction starts waiting.
    pub waiting: Notify,
    /// For each transaction that held work and reached `COMMIT`: how many commands' work it
    /// held, and whether a fault failed it.
    groups: std::sync::Mutex<Vec<(usize, bool)>>,
}

impl Faults {
    /// Makes the next `transactions` transactions that hold a command's work fail at `COMMIT`.
    pub fn fail_commits(&self, transactions: usize) {
        self.armed.store(true, Ordering::SeqCst);
        self.failing_from.store(1, Ordering::SeqCst);
        self.failing.store(transactions, Ordering::SeqCst);
    }

    /// Makes the next `transactions` transactions that hold several commands' work (a group,
    /// not one written again alone) fail at `COMMIT`.
    pub fn fail_group_commits(&self, transactions: usize) {
        self.armed.store(true, Ordering::SeqCst);
        self.failing_from.store(2, Ordering::SeqCst);
        self.failing.store(transactions, Ordering::SeqCst);
    }

    /// Makes the next `transactions` transactions that hold a command's work panic at `COMMIT`,
    /// as a bug in the writer would.
    pub fn panic_at_commits(&self, transactions: usize) {
        self.armed.store(true, Ordering::SeqCst);
        self.panicking.store(transactions, Ordering::SeqCst);
    }

    /// Makes transactions that hold a command's work wait before they commit until `more`
    /// further work jobs have been queued (or `release`).
    pub fn hold_commits(&self, more: usize) {
        self.armed.store(true, Ordering::SeqCst);
        self.hold_until.store(
            self.queued.load(Ordering::SeqCst).saturating_add(more),
            Ordering::SeqCst,
        );
        self.holding.store(true, Ordering::SeqCst);
    }

    /// Lets held transactions go on, and later ones pass.
    pub fn release(&self) {
        self.holding.store(false, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    /// Each transaction that held work and reached `COMMIT`: (commands' work, failed by a fault).
    pub fn groups(&self) -> Vec<(usize, bool)> {
        self.groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether a test turned a fault on.
    fn armed(&self) -> bool {
        self.armed.load(Ordering::Relaxed)
    }

    fn queued_work(&self) {
        if !self.armed() {
            return;
        }
        self.queued.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    /// What happens at the `COMMIT` of a transaction that holds `work` commands' work: `Err`
    /// if it is to fail.
    pub(super) async fn at_commit(&self, work: usize) -> Result<()> {
        if work == 0 || !self.armed() {
            return Ok(());
        }
        if self.holding.load(Ordering::SeqCst) {
            self.waiting.notify_one();
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                let held = self.holding.load(Ordering::SeqCst)
                    && self.queued.load(Ordering::SeqCst) < self.hold_until.load(Ordering::SeqCst);
                if !held {
                    break;
                }
                changed.await;
            }
        }
        if self
            .panicking
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            panic!("a panic injected by a test at COMMIT");
        }
        let fail = work >= self.failing_from.load(Ordering::SeqCst)
            && self
                .failing
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        self.groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((work, fail));
        if fail {
            return Err(StoreError::Unavailable(
                "the commit failed (a fault injected by a test)".into(),
            ));
        }
        Ok(())
    }
}

/// The writes of one database, committed in groups.
#[derive(Debug)]
pub struct Writer {
    route: Route,
    faults: Arc<Faults>,
}

type Groups = GroupCommit<Job, Result<Done>>;

/// How groups reach the database.
#[derive(Debug)]
enum Route {
    /// Through sqlx's connections: PostgreSQL.
    Sqlx {
        sinks: Sinks,
        groups: Arc<Groups>,
        /// Claims and answers, when `sinks.bookkeeping` takes them: their groups then take
        /// turns of their own, so a claim never waits for a group of work to flush.
        bookkeeping: Arc<Groups>,
        /// The tasks that see queued answers written (see [`Writer::answer`]).
        answers: TaskTracker,
    },
    /// SQLite's writer thread.
    Thread(SqliteWriter),
}

impl Writer {
    /// The writer of the database `connections` write to. One group is written at a time: on
    /// SQLite there is one writer connection anyway, and on PostgreSQL four groups written side
    /// by side were measured slower (1,440 `/log`/s against 1,640 at 32 connections): each
    /// then holds a command or two, and the grouping is lost. Claims and answers, once
    /// [`Writer::with_bookkeeping`] gives them connections of their own, are grouped apart and
    /// take turns of their own: a claim waited for the group of work ahead of it to flush, and
    /// at a steady 1,000 commands/s that wait set the p99.
    pub fn new(connections: Connections) -> Self {
        Self {
            route: Route::Sqlx {
                sinks: Sinks {
                    work: connections,
                    kept: Arc::default(),
                    bookkeeping: None,
                },
                groups: Arc::default(),
                bookkeeping: Arc::default(),
                answers: TaskTracker::new(),
            },
            faults: Arc::default(),
        }
    }

    /// The writer of the SQLite file at `path`: a thread of its own with a connection set up
    /// by `setup` (see `sqlite_writer`), taking turns with the store's sqlx write `connections`.
    /// `read_only` opens it as the URL's `mode=ro` asks: a write then fails as on any connection.
    pub fn on_sqlite_thread(
        path: &str,
        read_only: bool,
        setup: &str,
        connections: Connections,
    ) -> Result<Self> {
        let faults = Arc::<Faults>::default();
        let thread = SqliteWriter::start(path, read_only, setup, connections, Arc::clone(&faults))?;
        Ok(Self {
            route: Route::Thread(thread),
            faults,
        })
    }

    /// Writes groups that hold no command's work (claims alone, answers alone) on
    /// `connections`, if given, instead (PostgreSQL: connections that commit without waiting
    /// for the flush to disk, see `connect::lazy_commits`).
    pub fn with_bookkeeping(mut self, connections: Option<Connections>) -> Self {
        if let Route::Sqlx { sinks, .. } = &mut self.route {
            sinks.bookkeeping = connections;
        }
        self
    }

    /// Where groups of bookkeeping alone are written, if not with the work.
    pub fn bookkeeping(&self) -> Option<&Connections> {
        match &self.route {
            Route::Sqlx { sinks, .. } => sinks.bookkeeping.as_ref(),
            Route::Thread(_) => None,
        }
    }

    /// SQLite's writer thread, where that is the route, for reads on its connection.
    ///
    /// `None` once a test armed a fault. The thread cannot read while a group's transaction is
    /// open (the read would see writes not yet committed), so a commit a test holds at
    /// `COMMIT` holds every read queued behind it, and the commands the test waits for to
    /// queue their work could never read.
    pub(super) fn sqlite_thread(&self) -> Option<&SqliteWriter> {
        match &self.route {
            Route::Thread(_) if self.faults.armed() => None,
            Route::Thread(thread) => Some(thread),
            Route::Sqlx { .. } => None,
        }
    }

    #[doc(hidden)]
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Claims an interaction id, in a group with other commands' writes.
    pub async fn claim(&self, item: ClaimItem) -> Result<Claimed> {
        match self.submit(Job::Claim(item)).await? {
            Done::Claimed(c) => Ok(c),
            _ => Err(mismatch()),
        }
    }

    /// Runs a command's work, in a group with other commands' writes; what it returned (see
    /// [`Write`]), once the group committed.
    pub async fn work(&self, write: Write) -> Result<Option<i64>> {
        match self.submit(Job::Work(write)).await? {
            Done::Worked(id) => Ok(id),
            _ => Err(mismatch()),
        }
    }

    /// Records an interaction's answer, in a group with other commands' writes, and returns
    /// once it is queued, before it is written ([`Writer::close`] waits for it): the reply
    /// goes out while its record is written. It is queued where claims are, before anything
    /// queued after this returns, so a duplicate's claim is written after it (a group writes
    /// answers before claims) and finds it. A failure to write it is logged: the command's
    /// work, if any, has committed, and a retry finds its effect row.
    pub async fn answer(&self, item: AnswerItem) -> Result<()> {
        let (sinks, groups, answers) = match &self.route {
            Route::Thread(thread) => return thread.queue(Job::Answer(item)),
            Route::Sqlx {
                sinks,
                groups,
                bookkeeping,
                answers,
            } => (
                sinks.clone(),
                Arc::clone(queue_for(false, sinks, groups, bookkeeping)),
                answers,
            ),
        };
        let (platform, interaction) = (item.platform.clone(), item.interaction_id.clone());
        let ticket = groups.enqueue(Job::Answer(item));
        let faults = Arc::clone(&self.faults);
        answers.spawn(async move {
            let written = groups
                .wait(ticket, |jobs| {
                    write_on(sinks.clone(), Arc::clone(&faults), jobs)
                })
                .await
                .map_err(StoreError::Shared)
                .and_then(|done| done);
            let error = match written {
                Ok(Done::Answered(_)) => return,
                Ok(_) => mismatch(),
                Err(e) => e,
            };
            tracing::error!(%platform, %interaction, error = ?error, "answer not recorded");
        });
        Ok(())
    }

    /// Records an interaction's answer, in a group with other commands' writes, and returns
    /// once it is written (see [`Writer::answer`] for the answer queued without waiting):
    /// whether it was, which only an answer with a read to check can fail
    /// (`AnswerItem::unless_changed`).
    pub async fn answer_written(&self, item: AnswerItem) -> Result<bool> {
        match self.submit(Job::Answer(item)).await? {
            Done::Answered(recorded) => Ok(recorded),
            _ => Err(mismatch()),
        }
    }

    /// For a store that closes: writes every answer queued without waiting, gives the
    /// connection kept between groups back to its pool (whose close waits for every connection
    /// handed out), and closes the bookkeeping's connections.
    pub async fn close(&self) {
        match &self.route {
            Route::Thread(thread) => thread.flush().await,
            Route::Sqlx { sinks, answers, .. } => {
                answers.close();
                answers.wait().await;
                drop(sinks.kept.lock().await.take());
                if let Some(bookkeeping) = &sinks.bookkeeping {
                    bookkeeping.close().await;
                }
            }
        }
    }

    async fn submit(&self, job: Job) -> Result<Done> {
        let faults = &self.faults;
        let work = matches!(job, Job::Work(_));
        let queued = || {
            if work {
                faults.queued_work();
            }
        };
        match &self.route {
            Route::Thread(thread) => thread.submit(job, queued).await,
            Route::Sqlx {
                sinks,
                groups,
                bookkeeping,
                ..
            } => queue_for(work, sinks, groups, bookkeeping)
                .submit(job, queued, |jobs| {
                    write_on(sinks.clone(), Arc::clone(faults), jobs)
                })
                .await
                .map_err(StoreError::Shared)?,
        }
    }
}

/// Where a job queues on sqlx's route: a command's work with the groups of work; claims and
/// answers in groups of their own where the bookkeeping has connections of its own, else with
/// the work. Claims and answers always queue in the same place, so a group writes an answer
/// before a duplicate's claim queued after it.
fn queue_for<'g>(
    work: bool,
    sinks: &Sinks,
    groups: &'g Arc<Groups>,
    bookkeeping: &'g Arc<Groups>,
) -> &'g Arc<Groups> {
    if !work && sinks.bookkeeping.is_some() {
        bookkeeping
    } else {
        groups
    }
}

/// Writes a group of `jobs` on sqlx's connections: each job's result.
async fn write_on(sinks: Sinks, faults: Arc<Faults>, jobs: Vec<Job>) -> Result<Vec<Result<Done>>> {
    let mut sink = SqlxSink {
        sinks: &sinks,
        faults: &faults,
    };
    Ok(write_group(&jobs, &mut sink).await)
}

/// Where the writer writes a group.
#[derive(Debug, Clone)]
struct Sinks {
    /// Groups that hold a command's work, and the others unless `bookkeeping` is given.
    work: Connections,
    /// The connection of `work` the last group of work committed on, for the next (see [`Kept`]).
    kept: Arc<tokio::sync::Mutex<Option<Kept>>>,
    /// Groups of claims alone, or answers alone.
    bookkeeping: Option<Connections>,
}

/// A connection the writer keeps between groups of work, so that one PostgreSQL backend runs
/// them all, its statements prepared and its caches warm. Taken from the pool anew for each
/// group, the groups went round all sixteen write connections (the pool hands out the one idle
/// longest), and each prepared every statement for itself: after a start, a steady 1,000
/// commands a second queued behind that in its first second (p99 130–680 ms).
struct Kept {
    conn: Checkout,
    since: Instant,
}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept").field("since", &self.since).finish()
    }
}

impl Sinks {
    /// The connection to write a group of work on: the one kept, if it was used moments ago
    /// or still answers, or else one from the pool (which checks it).
    async fn work_connection(&self, kept: &mut Option<Kept>) -> Result<Checkout> {
        if let Some(mut k) = kept.take()
            && (k.since.elapsed() < PING_AFTER_IDLE
                || sqlx::Connection::ping(&mut *k.conn).await.is_ok())
        {
            return Ok(k.conn);
        }
        Ok(self.work.acquire().await?)
    }
}

fn mismatch() -> StoreError {
    StoreError::Corrupt {
        table: "group commit",
        detail: "a job got the result of a job of another kind".into(),
    }
}

/// What writes a group's jobs in one transaction (see [`Parts`]): sqlx's connections, or
/// SQLite's writer thread.
pub(super) trait Sink {
    async fn together(&mut self, jobs: &[&Job]) -> Result<Vec<Done>>;
}

/// Writes `jobs` in one transaction; if that fails, each alone (claims together, answers
/// together), so a failure stays with the job that caused it. One result per job, in order.
/// Both routes write their groups this way.
pub(super) async fn write_group(jobs: &[Job], sink: &mut impl Sink) -> Vec<Result<Done>> {
    let all: Vec<&Job> = jobs.iter().collect();
    match sink.together(&all).await {
        Ok(done) => done.into_iter().map(Ok).collect(),
        Err(e) if jobs.len() == 1 => vec![Err(e)],
        Err(e) => {
            tracing::debug!(error = %e, jobs = jobs.len(), "a group failed; writing its jobs one by one");
            one_by_one(jobs, sink).await
        }
    }
}

async fn one_by_one(jobs: &[Job], sink: &mut impl Sink) -> Vec<Result<Done>> {
    let mut results: Vec<Option<Result<Done>>> = jobs.iter().map(|_| None).collect();
    // Claims, and answers, are one statement for many callers: each kind goes in together.
    let kinds: [fn(&Job) -> bool; 2] = [
        |j| matches!(j, Job::Claim(_)),
        |j| matches!(j, Job::Answer(_)),
    ];
    for kind in kinds {
        let picked: Vec<usize> = (0..jobs.len()).filter(|&i| kind(&jobs[i])).collect();
        if picked.is_empty() {
            continue;
        }
        let group: Vec<&Job> = picked.iter().map(|&i| &jobs[i]).collect();
        match sink.together(&group).await {
            Ok(done) => {
                for (&i, d) in picked.iter().zip(done) {
                    results[i] = Some(Ok(d));
                }
            }
            Err(e) => {
                let e = Arc::new(e);
                for i in picked {
                    results[i] = Some(Err(StoreError::Shared(Arc::clone(&e))));
                }
            }
        }
    }
    for (i, job) in jobs.iter().enumerate() {
        if let Job::Work(_) = job {
            let done = sink.together(&[job]).await;
            results[i] = Some(done.map(|mut d| d.remove(0)));
        }
    }
    results
        .into_iter()
        .map(|r| r.expect("every job was written"))
        .collect()
}

/// A group's jobs by kind, as a transaction writes them: the answers first, then the claims,
/// then each command's work in the order of the rows it locks (see [`Write::locks`]).
///
/// An answer and a claim of the same interaction in one group are a delivery's answer, queued
/// without waiting (see [`Writer::answer`]), and a duplicate of it that came after: the claim
/// must find the answer, or it would take the interaction over once the lease has lapsed. A
/// claim and a work job in one group never belong to the same command: a command claims
/// before it works.
pub(super) struct Parts<'a> {
    jobs: &'a [&'a Job],
    pub claims: Vec<&'a ClaimItem>,
    pub writes: Vec<&'a Write>,
    pub answers: Vec<&'a AnswerItem>,
}

impl<'a> Parts<'a> {
    pub fn of(jobs: &'a [&'a Job]) -> Self {
        let (mut claims, mut writes, mut answers) = (Vec::new(), Vec::new(), Vec::new());
        for job in jobs {
            match job {
                Job::Claim(c) => claims.push(c),
                Job::Work(w) => writes.push(w),
                Job::Answer(a) => answers.push(a),
            }
        }
        Self {
            jobs,
            claims,
            writes,
            answers,
        }
    }

    /// Claims alone, or answers alone: one statement, its own transaction.
    pub fn bookkeeping_alone(&self) -> bool {
        self.writes.is_empty() && (self.claims.is_empty() || self.answers.is_empty())
    }

    /// The indexes of `writes` in the order their work runs.
    pub fn lock_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.writes.len()).collect();
        order.sort_by_key(|&i| self.writes[i].locks);
        order
    }

    /// The indexes of `writes` in the order their work runs, in steps: a step of one write
    /// runs its own statement; a step of several (writes of one [`Batch`] kind) runs as that
    /// kind's one statement, where the first of them would have run.
    pub fn batched_lock_order(&self) -> Vec<Vec<usize>> {
        let mut steps: Vec<Vec<usize>> = Vec::new();
        let mut step_of_kind: HashMap<&str, usize> = HashMap::new();
        for i in self.lock_order() {
            let Some(batch) = &self.writes[i].batch else {
                steps.push(vec![i]);
                continue;
            };
            match step_of_kind.get(batch.sql) {
                Some(&step) => steps[step].push(i),
                None => {
                    step_of_kind.insert(batch.sql, steps.len());
                    steps.push(vec![i]);
                }
            }
        }
        steps
    }

    /// One result per job, in the order given: whether the answers were recorded, what the
    /// claims found, what each write returned (each in the order of its kind's jobs).
    pub fn results(
        &self,
        answered: Vec<bool>,
        claimed: Vec<Claimed>,
        worked: Vec<Option<i64>>,
    ) -> Vec<Done> {
        let (mut answered, mut claimed, mut worked) = (
            answered.into_iter(),
            claimed.into_iter(),
            worked.into_iter(),
        );
        self.jobs
            .iter()
            .map(|job| match job {
                Job::Claim(_) => Done::Claimed(claimed.next().unwrap_or(Claimed::Held)),
                Job::Work(_) => Done::Worked(worked.next().flatten()),
                Job::Answer(_) => Done::Answered(answered.next().unwrap_or(false)),
            })
            .collect()
    }
}

/// Groups written on sqlx's connections.
struct SqlxSink<'s> {
    sinks: &'s Sinks,
    faults: &'s Faults,
}

impl Sink for SqlxSink<'_> {
    /// Writes `jobs` in one transaction on sqlx's connections (see [`Parts`]).
    async fn together(&mut self, jobs: &[&Job]) -> Result<Vec<Done>> {
        let (sinks, faults) = (self.sinks, self.faults);
        let parts = Parts::of(jobs);
        // On connections that commit without the flush, claims and answers need no
        // transaction of their own to share a commit: each statement commits at once.
        let lazy = parts.writes.is_empty() && sinks.bookkeeping.is_some();
        if lazy || parts.bookkeeping_alone() {
            let mut conn = sinks
                .bookkeeping
                .as_ref()
                .unwrap_or(&sinks.work)
                .acquire()
                .await?;
            let answered = receipts::record_all(&mut conn, &parts.answers).await?;
            let claimed = receipts::claim_all(&mut conn, &parts.claims).await?;
            return Ok(parts.results(answered, claimed, Vec::new()));
        }
        // One group at a time holds the kept connection; a group that failed leaves none kept,
        // and its connection goes back to the pool, which rolls back and checks it.
        let mut kept = sinks.kept.lock().await;
        let mut conn = sinks.work_connection(&mut kept).await?;
        let done = commit_group(&mut conn, &parts, faults).await?;
        *kept = Some(Kept {
            conn,
            since: Instant::now(),
        });
        Ok(done)
    }
}

/// Writes a group that holds work in one transaction on `conn` (see [`Parts`]).
async fn commit_group(
    conn: &mut sqlx::AnyConnection,
    parts: &Parts<'_>,
    faults: &Faults,
) -> Result<Vec<Done>> {
    let steps = parts.batched_lock_order();
    let mut worked = vec![None; parts.writes.len()];
    // A group of work that is one statement (one command's, or a batch of one kind) is atomic
    // alone, and commits alone: two round trips fewer than `BEGIN` … `COMMIT`, the busiest
    // groups' shape on PostgreSQL, whose claims and answers go apart. (A fault a test injects
    // at `COMMIT` needs the transaction.)
    if let [step] = &steps[..]
        && parts.answers.is_empty()
        && parts.claims.is_empty()
        && !faults.armed()
    {
        run_step(conn, parts, step, &mut worked).await?;
        return Ok(parts.results(Vec::new(), Vec::new(), worked));
    }
    let mut tx = sqlx::Connection::begin(conn).await?;
    let answered = receipts::record_all(&mut tx, &parts.answers).await?;
    let claimed = receipts::claim_all(&mut tx, &parts.claims).await?;
    for step in &steps {
        run_step(&mut tx, parts, step, &mut worked).await?;
    }
    faults.at_commit(parts.writes.len()).await?;
    tx.commit().await?;
    Ok(parts.results(answered, claimed, worked))
}

/// Runs one step of `parts.batched_lock_order()` on `conn`: one write's statement, or a
/// batch's; what each write returned goes to its place in `worked`.
async fn run_step(
    conn: &mut sqlx::AnyConnection,
    parts: &Parts<'_>,
    step: &[usize],
    worked: &mut [Option<i64>],
) -> Result<()> {
    if let [i] = step[..] {
        worked[i] = parts.writes[i].run(conn).await?;
        return Ok(());
    }
    let writes: Vec<&Write> = step.iter().map(|&i| parts.writes[i]).collect();
    for (&i, id) in step.iter().zip(run_batch(&writes, conn).await?) {
        worked[i] = id;
    }
    Ok(())
}
