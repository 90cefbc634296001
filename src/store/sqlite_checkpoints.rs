//! Checkpoints of SQLite's write-ahead log, kept off the writer's thread.
//!
//! SQLite copies the log back into the database file (a checkpoint, two `fsync`s) inside the
//! commit that takes the log past 1,000 pages, so left to itself the writer's thread stops
//! every few hundred commands to do it while every command waits for its next group. Measured
//! under `/log` load, the writer without those pauses did 9–16 % more commands a second. Here
//! the writer's connection only notes how long the log is after each commit, and a thread of
//! its own, on a connection of its own, checkpoints once the log is long enough. Commits go on
//! meanwhile (a `PASSIVE` checkpoint never blocks them).
//!
//! The log restarts from its beginning only when a write begins with everything in it copied
//! back, which a checkpoint running beside a stream of commits rarely leaves. So once the log
//! is much longer than it should be, the writer checkpoints itself between two groups: by
//! then the other thread has copied nearly all of it, so little is left to do, and the log
//! stays bounded.

use std::cell::Cell;
use std::ffi::c_int;
use std::sync::mpsc;

use rusqlite::Connection;
use rusqlite::hooks::Wal;

use super::{Result, StoreError};

/// Log pages after which the checkpoint thread is woken (SQLite's own default threshold).
const WOKEN_AT: c_int = 1000;

/// Log pages at which the writer checkpoints itself (about 32 MiB of 4 KiB pages).
const INLINE_AT: c_int = 8 * WOKEN_AT;

thread_local! {
    /// Pages in the log after the last commit of the writer connection on this thread (one
    /// writer per thread; the hook SQLite calls takes no state of ours).
    static LOG_PAGES: Cell<c_int> = const { Cell::new(0) };
}

fn note_log_pages(_: &Wal, pages: c_int) -> rusqlite::Result<()> {
    LOG_PAGES.set(pages);
    Ok(())
}

/// The checkpoint thread, from the writer's side; the thread ends when this is dropped.
pub(super) struct Checkpoints {
    wake: mpsc::SyncSender<()>,
}

impl Checkpoints {
    /// Opens a connection of its own to the SQLite file at `path`, set up by `setup`, starts
    /// the checkpoint thread, and takes SQLite's automatic checkpoints off `writer` (its log
    /// hook replaces them). The thread's handle is for tests, which wait for it to end.
    pub fn start(
        path: &str,
        setup: &str,
        writer: &Connection,
    ) -> Result<(Self, std::thread::JoinHandle<()>)> {
        let conn = Connection::open(path)?;
        conn.execute_batch(setup)?;
        // One waiting wake-up is enough: a checkpoint copies whatever the log holds by then.
        let (wake, woken) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("dealgate-sqlite-checkpoints".into())
            .spawn(move || {
                while woken.recv().is_ok() {
                    if let Err(e) = checkpoint(&conn) {
                        tracing::warn!(error = %e, "a checkpoint of the SQLite log failed");
                    }
                }
            })
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot start the checkpoint thread: {e}"))
            })?;
        writer.wal_hook(Some(note_log_pages));
        Ok((Self { wake }, thread))
    }

    /// After a commit of the writer's connection `writer`, on its thread: wakes the checkpoint
    /// thread once the log is long, or checkpoints here once it is too long.
    pub fn after_commit(&self, writer: &Connection) {
        let pages = LOG_PAGES.get();
        if pages >= INLINE_AT {
            // Busy while the other thread checkpoints; the next commit tries again.
            match checkpoint(writer) {
                Ok(()) => LOG_PAGES.set(0),
                Err(e) => tracing::debug!(error = %e, pages, "the writer's checkpoint waits"),
            }
        } else if pages >= WOKEN_AT {
            let _ = self.wake.try_send(());
        }
    }
}

fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETUP: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";

    /// A writer connection to a new database in `dir`, with the checkpoint thread started and
    /// past SQLite's own checkpoint threshold committed (a row of 3,000 bytes at a time).
    fn filled(
        dir: &tempfile::TempDir,
    ) -> (Connection, String, Checkpoints, std::thread::JoinHandle<()>) {
        let path = dir.path().join("t.db").to_str().unwrap().to_string();
        let writer = Connection::open(&path).unwrap();
        writer.execute_batch(SETUP).unwrap();
        writer.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
        let (checkpoints, thread) = Checkpoints::start(&path, SETUP, &writer).unwrap();
        for _ in 0..(WOKEN_AT + 200) {
            writer
                .execute("INSERT INTO t VALUES (zeroblob(3000))", [])
                .unwrap();
        }
        (writer, path, checkpoints, thread)
    }

    fn file_size(path: &str) -> u64 {
        std::fs::metadata(path).unwrap().len()
    }

    #[test]
    fn the_writer_leaves_the_log_to_the_checkpoint_thread_which_copies_it_once_woken() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, path, checkpoints, thread) = filled(&dir);
        // Without the hook SQLite would have checkpointed inside a commit by now, and the rows
        // would be in the database file.
        assert!(LOG_PAGES.get() > WOKEN_AT, "{}", LOG_PAGES.get());
        assert!(file_size(&path) < 1 << 20, "{}", file_size(&path));

        checkpoints.after_commit(&writer);
        drop(checkpoints);
        thread.join().unwrap();
        assert!(file_size(&path) > 3 << 20, "{}", file_size(&path));
    }

    #[test]
    fn a_log_far_too_long_is_checkpointed_by_the_writer_itself() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, path, checkpoints, _thread) = filled(&dir);
        LOG_PAGES.set(INLINE_AT);
        checkpoints.after_commit(&writer);
        assert_eq!(LOG_PAGES.get(), 0);
        assert!(file_size(&path) > 3 << 20, "{}", file_size(&path));
    }
}
