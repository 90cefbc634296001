//! SQLite's writer: one thread of its own that owns a write connection and commits the queued
//! commands' writes in groups.
//!
//! sqlx runs each SQLite connection on a worker thread and hands it every statement (and each
//! row back) through channels, so a group of commands written through it costs a thread
//! hand-off per statement: `BEGIN IMMEDIATE`, the answers, the claims, each command's work,
//! `COMMIT`. Under load that, not SQLite, set the writer's pace (a `perf` profile put about a
//! fifth of dealgate's CPU in futex waits and wake-ups). Here a command's job crosses to the
//! thread once, the thread writes everything queued by then as the group (see `writer` for
//! what a group promises), and each result crosses back once.
//!
//! The thread takes its turn with the store's sqlx write connection (the rare writes that do
//! not go through the writer: playbook edits, imports, jobs), so the two never meet in
//! SQLite's busy handler within one process.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc;

use rusqlite::fallible_iterator::FallibleIterator as _;
use rusqlite::{Connection, OpenFlags, Statement};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::group_commit::MAX_BATCH;
use super::receipts::{self, Claimed};
use super::rows::ByName;
use super::sqlite_checkpoints::Checkpoints;
use super::writer::{self, Done, Faults, Job, Value, Write};
use super::{Connections, Result, StoreError};

/// Distinct statements kept prepared: the kinds of work, and the claim and answer statements
/// for the group sizes met (one text per size). Past this the cache starts over.
const PREPARED: usize = 96;

type Reply = oneshot::Sender<Result<Done>>;

/// A read run on the thread's connection; it sends its result itself.
type Read = Box<dyn FnOnce(&mut Reading<'_, '_>) + Send>;

/// The thread's connection as a read sees it: statements prepared once, as the writes' are.
pub struct Reading<'t, 'c> {
    thread: &'t mut Thread<'c>,
}

impl Reading<'_, '_> {
    /// The first row `sql` returns with `values` bound (`$3` takes the third), as `read` makes
    /// it; `None` if it returns none.
    pub fn first_row<T>(
        &mut self,
        sql: &str,
        values: &[Value],
        read: impl FnOnce(&ByName<'_, '_>) -> Result<T>,
    ) -> Result<Option<T>> {
        self.thread
            .first_row(sql, values, |row| Ok(read(&ByName::new(row))))?
            .transpose()
    }

    /// Every row `sql` returns with `values` bound, in order, as `read` makes each one (by
    /// column position: for statements whose columns are fixed and many rows).
    pub fn rows<T>(
        &mut self,
        sql: &str,
        values: &[Value],
        mut read: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.thread.run(sql, values, |row| {
            out.push(read(row)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Runs `read` inside one read transaction, so the statements it runs see one snapshot
    /// even if another process writes to the file meanwhile.
    pub fn in_snapshot<T>(&mut self, read: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.thread.run_plain("BEGIN")?;
        let result = read(self);
        // Nothing was written: COMMIT only ends the snapshot. Should it fail, the transaction
        // must not stay open under the next group's BEGIN.
        self.thread.run_plain("COMMIT").inspect_err(|_| {
            let _ = self.thread.run_plain("ROLLBACK");
        })?;
        result
    }
}

/// What the thread is asked to do.
enum Task {
    /// A write, and who waits for its result; nobody for an answer queued without waiting
    /// (the thread logs its failure).
    Write(Job, Option<Reply>),
    Read(Read),
    /// Told once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

/// The handle of the writer thread; the thread ends when this is dropped.
#[derive(Debug)]
pub struct SqliteWriter {
    tasks: mpsc::Sender<Task>,
}

impl SqliteWriter {
    /// Opens a connection to the SQLite file at `path` (which must exist: the store opened it
    /// first), read-write unless `read_only`, with `setup`'s pragmas, and starts the thread.
    /// `turns` are the connections the thread takes turns with.
    pub fn start(
        path: &str,
        read_only: bool,
        setup: &str,
        turns: Connections,
        faults: Arc<Faults>,
    ) -> Result<Self> {
        let access = if read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        };
        let conn = Connection::open_with_flags(path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.execute_batch(setup)?;
        let checkpoints = match read_only {
            true => None,
            // Its thread runs detached: it ends when the writer's thread ends.
            false => Some(Checkpoints::start(path, setup, &conn)?.0),
        };
        let (tasks, queue) = mpsc::channel();
        let runtime = Handle::current();
        std::thread::Builder::new()
            .name("dealgate-sqlite-writer".into())
            .spawn(move || {
                let mut thread = Thread {
                    conn: &conn,
                    prepared: HashMap::new(),
                    faults: &faults,
                    checkpoints,
                };
                thread.serve(&queue, &turns, &runtime);
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start the writer thread: {e}")))?;
        Ok(Self { tasks })
    }

    /// Queues `job` and returns its result once the group that holds it committed. `queued`
    /// is called once the job is in the queue.
    pub async fn submit(&self, job: Job, queued: impl FnOnce()) -> Result<Done> {
        let (reply, done) = oneshot::channel();
        self.tasks
            .send(Task::Write(job, Some(reply)))
            .map_err(|_| StoreError::BatchLost)?;
        queued();
        done.await.unwrap_or(Err(StoreError::BatchLost))
    }

    /// Queues `job` without waiting for it: it is written with the next group, before anything
    /// queued after it. A failure is logged by the thread.
    pub fn queue(&self, job: Job) -> Result<()> {
        self.tasks
            .send(Task::Write(job, None))
            .map_err(|_| StoreError::BatchLost)
    }

    /// Returns once everything queued before the call is written (or failed).
    pub async fn flush(&self) {
        let (flushed, done) = oneshot::channel();
        if self.tasks.send(Task::Flush(flushed)).is_ok() {
            // The thread is gone if this fails, and with it anything it had left to write.
            let _ = done.await;
        }
    }

    /// Runs `read` on the thread's connection, between groups, and returns what it returned.
    ///
    /// For the read every command makes first (its caller and deal): SQLite drops a
    /// connection's whole page cache when another connection has committed since its last
    /// read, so under a stream of commands a read pool's connections refill theirs from the
    /// file at every read, while the writer's connection, which made those commits, has every
    /// page it needs in memory. Reads here never see a group half written: they run between
    /// groups, outside any transaction.
    pub async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&mut Reading<'_, '_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, done) = oneshot::channel();
        let task: Read = Box::new(move |reading| {
            // A caller that stopped waiting no longer needs its result.
            let _ = reply.send(read(reading));
        });
        self.tasks
            .send(Task::Read(task))
            .map_err(|_| StoreError::BatchLost)?;
        done.await.unwrap_or(Err(StoreError::BatchLost))
    }
}

/// The thread's state: its connection and the statements prepared on it.
struct Thread<'c> {
    conn: &'c Connection,
    /// Each script's statements, by the script's text.
    prepared: HashMap<String, Vec<Prepared<'c>>>,
    faults: &'c Faults,
    /// Where the log is checkpointed, unless the connection is read-only.
    checkpoints: Option<Checkpoints>,
}

impl writer::Sink for Thread<'_> {
    /// Writes `jobs` as `writer::Parts` orders them: answers, claims, the work in lock order,
    /// in one transaction unless it is bookkeeping alone.
    async fn together(&mut self, jobs: &[&Job]) -> Result<Vec<Done>> {
        let parts = writer::Parts::of(jobs);
        if parts.bookkeeping_alone() {
            let answered = self.answer(&parts.answers)?;
            let claimed = self.claim(&parts.claims)?;
            return Ok(parts.results(answered, claimed, Vec::new()));
        }
        self.run_plain("BEGIN IMMEDIATE")?;
        let written = self.transaction(&parts).await;
        match written {
            Ok(_) => self.run_plain("COMMIT").inspect_err(|_| {
                let _ = self.run_plain("ROLLBACK");
            })?,
            Err(_) => {
                // The error is what the caller hears; a failed rollback leaves SQLite to undo
                // the transaction when the next one begins.
                let _ = self.run_plain("ROLLBACK");
            }
        }
        let (answered, claimed, worked) = written?;
        Ok(parts.results(answered, claimed, worked))
    }
}

/// One statement of a script, prepared, and which value each of its placeholders takes.
struct Prepared<'c> {
    statement: Statement<'c>,
    /// For each placeholder in order, the index of its value (`$3` takes `values[2]`).
    takes: Vec<usize>,
}

impl<'c> Thread<'c> {
    fn serve(&mut self, queue: &mpsc::Receiver<Task>, turns: &Connections, runtime: &Handle) {
        let mut group = Vec::new();
        let mut flushes = Vec::new();
        while let Ok(first) = queue.recv() {
            // Everything queued now was asked for at once, so any order among them is one the
            // callers could have seen: the reads go first, as they are quick and the group's
            // commit is not.
            let mut next = Some(first);
            while let Some(task) = next.take() {
                match task {
                    Task::Read(read) => self.survive("a read", |thread| {
                        read(&mut Reading { thread });
                    }),
                    Task::Write(job, reply) => group.push((job, reply)),
                    Task::Flush(flushed) => flushes.push(flushed),
                }
                if group.len() < MAX_BATCH {
                    next = queue.try_recv().ok();
                }
            }
            if !group.is_empty() {
                let jobs = std::mem::take(&mut group);
                self.survive("a group", |thread| thread.write(jobs, turns, runtime));
            }
            for flushed in flushes.drain(..) {
                let _ = flushed.send(());
            }
        }
    }

    /// Runs `task`, and outlives it if it panics: its callers, whose replies it dropped, hear
    /// that their writes were lost, and the thread goes on serving the ones after them. Without
    /// this one panic would end the thread, and every write after it would fail while reads
    /// and `/healthz` still answered.
    fn survive(&mut self, what: &str, task: impl FnOnce(&mut Self)) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task(self)));
        if outcome.is_err() {
            tracing::error!("the SQLite writer's thread panicked in {what}; it goes on");
            // A transaction the panic left open is undone (none open: SQLite says so, ignored).
            let _ = self.run_plain("ROLLBACK");
        }
    }

    /// Writes `group` (see `writer::write_group`) and tells each job's caller its result.
    fn write(&mut self, group: Vec<(Job, Option<Reply>)>, turns: &Connections, runtime: &Handle) {
        let (jobs, replies): (Vec<Job>, Vec<Option<Reply>>) = group.into_iter().unzip();
        let results = runtime.block_on(async {
            let _turn = match turns.turn().await {
                Ok(turn) => turn,
                Err(e) => {
                    let e = Arc::new(StoreError::from(e));
                    return jobs
                        .iter()
                        .map(|_| Err(StoreError::Shared(Arc::clone(&e))))
                        .collect();
                }
            };
            writer::write_group(&jobs, self).await
        });
        for (reply, result) in replies.into_iter().zip(results) {
            match (reply, result) {
                // A caller that stopped waiting no longer needs its result.
                (Some(reply), result) => {
                    let _ = reply.send(result);
                }
                // Only answers are queued so: their command's work is committed, and a retry of
                // the interaction after its lease is told it was applied.
                (None, Err(e)) => tracing::error!(error = ?e, "a queued answer was not recorded"),
                (None, Ok(_)) => {}
            }
        }
        // After the replies: should the writer checkpoint itself, nobody waits for it.
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.after_commit(self.conn);
        }
    }

    async fn transaction(
        &mut self,
        parts: &writer::Parts<'_>,
    ) -> Result<(Vec<bool>, Vec<Claimed>, Vec<Option<i64>>)> {
        let answered = self.answer(&parts.answers)?;
        let claimed = self.claim(&parts.claims)?;
        let mut worked = vec![None; parts.writes.len()];
        for i in parts.lock_order() {
            worked[i] = self.work(parts.writes[i])?;
        }
        self.faults.at_commit(parts.writes.len()).await?;
        Ok((answered, claimed, worked))
    }

    fn claim(&mut self, items: &[&receipts::ClaimItem]) -> Result<Vec<Claimed>> {
        let statement = receipts::claims_statement(items);
        let rows = self.rows_of(statement, |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
        Ok(receipts::claimed(items, rows))
    }

    /// Whether each answer was recorded (see `receipts::recorded`).
    fn answer(&mut self, items: &[&receipts::AnswerItem]) -> Result<Vec<bool>> {
        let statement = receipts::answers_statement(items);
        let rows = self.rows_of(statement, |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(receipts::recorded(items, rows))
    }

    /// The rows a batch `statement` of `receipts` returns, as `read` makes them; none where
    /// there was no statement (no items).
    fn rows_of<T>(
        &mut self,
        statement: Option<(String, Vec<Value>)>,
        read: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let Some((sql, values)) = statement else {
            return Ok(Vec::new());
        };
        let mut rows = Vec::new();
        self.run(&sql, &values, |row| {
            rows.push(read(row)?);
            Ok(())
        })?;
        Ok(rows)
    }

    /// A command's work: the id its script returned first, if any.
    fn work(&mut self, write: &Write) -> Result<Option<i64>> {
        self.first_row(&write.sql, &write.values, |row| row.get(0))
            .map_err(work_error)
    }

    fn run_plain(&mut self, sql: &str) -> Result<()> {
        Ok(self.run(sql, &[], |_| Ok(()))?)
    }

    /// Runs `script` as [`Thread::run`] does and returns its first row, as `read` makes it.
    fn first_row<T>(
        &mut self,
        script: &str,
        values: &[Value],
        read: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<Option<T>> {
        let (mut read, mut first) = (Some(read), None);
        self.run(script, values, |row| {
            if let Some(read) = read.take() {
                first = Some(read(row)?);
            }
            Ok(())
        })?;
        Ok(first)
    }

    /// Runs each statement of `script` in turn, each to its end, with `values` bound to its
    /// placeholders, and hands every row returned to `row`.
    fn run(
        &mut self,
        script: &str,
        values: &[Value],
        mut row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>,
    ) -> rusqlite::Result<()> {
        if !self.prepared.contains_key(script) {
            if self.prepared.len() >= PREPARED {
                self.prepared.clear();
            }
            let statements = self.prepare(script)?;
            self.prepared.insert(script.to_string(), statements);
        }
        let statements = self.prepared.get_mut(script).expect("prepared just now");
        for one in statements.iter_mut() {
            for (at, &value) in one.takes.iter().enumerate() {
                let index = at + 1;
                match values.get(value) {
                    Some(Value::Int(v)) => one.statement.raw_bind_parameter(index, v)?,
                    Some(Value::Text(v)) => {
                        one.statement.raw_bind_parameter(index, v.as_deref())?
                    }
                    None => {
                        return Err(rusqlite::Error::InvalidParameterCount(
                            value + 1,
                            values.len(),
                        ));
                    }
                }
            }
            let mut rows = one.statement.raw_query();
            while let Some(r) = rows.next()? {
                row(r)?;
            }
        }
        Ok(())
    }

    fn prepare(&self, script: &str) -> rusqlite::Result<Vec<Prepared<'c>>> {
        let mut batch = rusqlite::Batch::new(self.conn, script);
        let mut statements = Vec::new();
        while let Some(statement) = batch.next()? {
            let takes = (1..=statement.parameter_count())
                .map(|i| {
                    statement
                        .parameter_name(i)
                        .and_then(|name| name.strip_prefix('$'))
                        .and_then(|n| n.parse::<usize>().ok())
                        .and_then(|n| n.checked_sub(1))
                        .ok_or_else(|| {
                            rusqlite::Error::InvalidParameterName(
                                statement.parameter_name(i).unwrap_or("?").to_string(),
                            )
                        })
                })
                .collect::<rusqlite::Result<Vec<usize>>>()?;
            statements.push(Prepared { statement, takes });
        }
        Ok(statements)
    }
}

/// As `receipts::already_applied`: the unique violation of an interaction's effect row means
/// the work was applied before.
fn work_error(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, Some(message)) = &e
        && failure.code == rusqlite::ErrorCode::ConstraintViolation
        && receipts::names_effects(message)
    {
        return StoreError::AlreadyApplied;
    }
    StoreError::Sqlite(e)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use super::*;

    async fn writer(dir: &tempfile::TempDir) -> (SqliteWriter, Connection) {
        let path = dir.path().join("w.db");
        let path = path.to_str().expect("a UTF-8 path");
        let setup = Connection::open(path).expect("create the file");
        setup
            .execute_batch(
                "PRAGMA journal_mode = WAL; \
                 CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b INTEGER UNIQUE); \
                 CREATE TABLE interaction_effects (platform TEXT, interaction_id TEXT, \
                 PRIMARY KEY (platform, interaction_id));",
            )
            .expect("the table");
        let write = Connections::local(
            sqlx::any::AnyConnectOptions::from_str(&format!("sqlite://{path}")).expect("a URL"),
            "PRAGMA busy_timeout = 5000;",
            1,
            std::time::Duration::from_secs(5),
        )
        .await
        .expect("the store's write connection");
        let writer = SqliteWriter::start(
            path,
            false,
            "PRAGMA busy_timeout = 5000;",
            write,
            Arc::default(),
        )
        .expect("the thread");
        (writer, setup)
    }

    async fn work(writer: &SqliteWriter, sql: &str, values: Vec<Value>) -> Result<Option<i64>> {
        let mut write = Write::new(sql.to_string(), 1);
        write.values = values;
        match writer.submit(Job::Work(write), || {}).await? {
            Done::Worked(id) => Ok(id),
            _ => panic!("a work job got another kind's result"),
        }
    }

    fn rows(conn: &Connection) -> Vec<(String, i64)> {
        let mut select = conn.prepare("SELECT a, b FROM t ORDER BY id").unwrap();
        select
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[tokio::test]
    async fn a_script_runs_whole_with_each_placeholder_bound_by_its_number() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let (writer, conn) = writer(&dir).await;
        let id = work(
            &writer,
            "INSERT INTO t (a, b) VALUES ($2, $1) RETURNING id; \
             INSERT INTO t (a, b) SELECT $2 || '!', $1 + 1 WHERE changes() = 1 RETURNING id;",
            vec![Value::from(7), Value::from("x")],
        )
        .await
        .expect("written");
        assert_eq!(id, Some(1));
        assert_eq!(rows(&conn), [("x".into(), 7), ("x!".into(), 8)]);

        // A statement that fails part way undoes the script's earlier statements.
        let failed = work(
            &writer,
            "INSERT INTO t (a, b) VALUES ($1, 9); INSERT INTO t (a, b) VALUES ($1, 7);",
            vec![Value::from("y")],
        )
        .await;
        assert!(matches!(failed, Err(StoreError::Sqlite(_))), "{failed:?}");
        assert_eq!(rows(&conn).len(), 2);

        // A placeholder without a value, or not numbered, is an error, not a panic.
        for bad in [
            "INSERT INTO t (a, b) VALUES ($1, $3)",
            "INSERT INTO t (a, b) VALUES (:a, 1)",
        ] {
            let refused = work(&writer, bad, vec![Value::from("z")]).await;
            assert!(
                matches!(refused, Err(StoreError::Sqlite(_))),
                "{bad}: {refused:?}"
            );
        }
        assert_eq!(rows(&conn).len(), 2);

        // An interaction's effect row written twice: its work was applied before.
        let effect = "INSERT INTO t (a, b) VALUES ('e', 10); \
             INSERT INTO interaction_effects VALUES ('discord', $1);";
        let first = work(&writer, effect, vec![Value::from("i-1")]).await;
        assert!(first.is_ok(), "{first:?}");
        let again = work(
            &writer,
            effect.replace("10", "11").as_str(),
            vec![Value::from("i-1")],
        )
        .await;
        assert!(
            matches!(again, Err(StoreError::AlreadyApplied)),
            "{again:?}"
        );
        assert_eq!(
            rows(&conn).len(),
            3,
            "the second application was rolled back"
        );
    }
}
