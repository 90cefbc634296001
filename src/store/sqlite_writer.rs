//! SQLite's writer: one thread of its own that owns a write connection and commits the queued
//! commands' writes in groups.
//!
//! sqlx runs each SQLite connection on a worker thread and hands it every statement (and each
//! row back) through channels, so a group of commands written through it costs a thread
//! hand-off per statement: `BEGIN IMMEDIATE`, the claims, each command's work, the answers,
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
use super::writer::{self, Done, Faults, Job, Value, Write};
use super::{Connections, Result, StoreError};

/// Distinct statements kept prepared: the kinds of work, and the claim and answer statements
/// for the group sizes met (one text per size). Past this the cache starts over.
const PREPARED: usize = 96;

type Reply = oneshot::Sender<Result<Done>>;

/// The handle of the writer thread; the thread ends when this is dropped.
#[derive(Debug)]
pub struct SqliteWriter {
    jobs: mpsc::Sender<(Job, Reply)>,
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
        let conn = Connection::open_with_flags(path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(sqlite_error)?;
        conn.execute_batch(setup).map_err(sqlite_error)?;
        let (jobs, queue) = mpsc::channel();
        let runtime = Handle::current();
        std::thread::Builder::new()
            .name("dealgate-sqlite-writer".into())
            .spawn(move || {
                let mut thread = Thread {
                    conn: &conn,
                    prepared: HashMap::new(),
                    faults: &faults,
                };
                thread.serve(&queue, &turns, &runtime);
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start the writer thread: {e}")))?;
        Ok(Self { jobs })
    }

    /// Queues `job` and returns its result once the group that holds it committed. `queued`
    /// is called once the job is in the queue.
    pub async fn submit(&self, job: Job, queued: impl FnOnce()) -> Result<Done> {
        let (reply, done) = oneshot::channel();
        self.jobs
            .send((job, reply))
            .map_err(|_| StoreError::BatchLost)?;
        queued();
        done.await.unwrap_or(Err(StoreError::BatchLost))
    }
}

/// The thread's state: its connection and the statements prepared on it.
struct Thread<'c> {
    conn: &'c Connection,
    /// Each script's statements, by the script's text.
    prepared: HashMap<String, Vec<Prepared<'c>>>,
    faults: &'c Faults,
}

impl writer::Sink for Thread<'_> {
    fn together<'a>(
        &'a mut self,
        jobs: &'a [&'a Job],
    ) -> impl Future<Output = Result<Vec<Done>>> + 'a {
        Thread::together(self, jobs)
    }
}

/// One statement of a script, prepared, and which value each of its placeholders takes.
struct Prepared<'c> {
    statement: Statement<'c>,
    /// For each placeholder in order, the index of its value (`$3` takes `values[2]`).
    takes: Vec<usize>,
}

impl<'c> Thread<'c> {
    fn serve(
        &mut self,
        queue: &mpsc::Receiver<(Job, Reply)>,
        turns: &Connections,
        runtime: &Handle,
    ) {
        while let Ok(first) = queue.recv() {
            let mut group = vec![first];
            while group.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
            let (jobs, replies): (Vec<Job>, Vec<Reply>) = group.into_iter().unzip();
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
                // A caller that stopped waiting no longer needs its result.
                let _ = reply.send(result);
            }
        }
    }

    /// Writes `jobs` as `writer::together` does (claims, the work in lock order, answers, one
    /// transaction unless it is bookkeeping alone).
    async fn together(&mut self, jobs: &[&Job]) -> Result<Vec<Done>> {
        let parts = writer::Parts::of(jobs);
        if parts.bookkeeping_alone() {
            let claimed = self.claim(&parts.claims)?;
            self.answer(&parts.answers)?;
            return Ok(parts.results(claimed, Vec::new()));
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
        let (claimed, worked) = written?;
        Ok(parts.results(claimed, worked))
    }

    async fn transaction(
        &mut self,
        parts: &writer::Parts<'_>,
    ) -> Result<(Vec<Claimed>, Vec<Option<i64>>)> {
        let claimed = self.claim(&parts.claims)?;
        let mut worked = vec![None; parts.writes.len()];
        for i in parts.lock_order() {
            worked[i] = self.work(parts.writes[i])?;
        }
        self.answer(&parts.answers)?;
        self.faults.at_commit(parts.writes.len()).await?;
        Ok((claimed, worked))
    }

    fn claim(&mut self, items: &[&receipts::ClaimItem]) -> Result<Vec<Claimed>> {
        let Some((sql, values)) = receipts::claims_statement(items) else {
            return Ok(Vec::new());
        };
        let mut rows = Vec::new();
        self.run(&sql, &values, |row| {
            rows.push((row.get(0)?, row.get(1)?, row.get(2)?));
            Ok(())
        })
        .map_err(sqlite_error)?;
        Ok(receipts::claimed(items, rows))
    }

    fn answer(&mut self, items: &[&receipts::AnswerItem]) -> Result<()> {
        if let Some((sql, values)) = receipts::answers_statement(items) {
            self.run(&sql, &values, |_| Ok(())).map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// A command's work: the id its script returned first, if any.
    fn work(&mut self, write: &Write) -> Result<Option<i64>> {
        let mut id = None;
        self.run(&write.sql, &write.values, |row| {
            if id.is_none() {
                id = Some(row.get(0)?);
            }
            Ok(())
        })
        .map_err(work_error)?;
        Ok(id)
    }

    fn run_plain(&mut self, sql: &str) -> Result<()> {
        self.run(sql, &[], |_| Ok(())).map_err(sqlite_error)
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

fn sqlite_error(e: rusqlite::Error) -> StoreError {
    StoreError::Sqlite(e)
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
            vec![Value::Int(7), Value::from("x")],
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
