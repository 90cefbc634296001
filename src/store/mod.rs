//! Persistence through sqlx. Two levels, as in bors: free functions that run one statement on
//! any connection or transaction (`tenants`, `members`, `deals`, `pipeline`), and `Store`, which
//! owns the pools and hands out transactions. `*Row` structs are converted to engine types here,
//! at the boundary.
//!
//! Queries are runtime-checked and written once for every backend through sqlx's `Any` driver:
//! `$1` placeholders, text timestamps and integer money work the same on SQLite and PostgreSQL.
//! Every integer column is 64-bit on both (`BIGINT` on PostgreSQL), because the `Any` driver
//! decodes only the exact width: an `INTEGER` (int4) column read as `i64` would fail.

mod connect;
mod connections;
pub mod deals;
pub mod digest;
mod group_commit;
pub mod history;
pub mod imports;
pub mod jobs;
pub mod lookup;
pub mod members;
pub mod pipeline;
pub mod playbooks;
pub mod receipts;
pub mod rows;
pub mod schedules;
mod sqlite_checkpoints;
mod sqlite_writer;
pub mod tenants;
mod time;
pub mod truth;
pub mod writer;

pub use connect::{Backend, Store, redacted_url, sqlite_path};
pub use connections::{Checkout, Connections, WriteTx};
pub use rows::*;
pub use time::{date_text, parse_date, parse_ts, ts};

use thiserror::Error;

/// A connection or transaction handed to the one-statement operations.
pub type Conn = sqlx::AnyConnection;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// An error of SQLite's writer thread (see `sqlite_writer`).
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The row changed since it was read (its `version` moved on): retry with fresh data.
    #[error("the row changed since it was read")]
    Conflict,
    /// A value in the database that the code cannot read: a bug or a hand edit.
    #[error("corrupt row in {table}: {detail}")]
    Corrupt { table: &'static str, detail: String },
    /// A write handed to a group commit whose writer stopped before it finished (its request was
    /// cancelled); whether the write happened is not known.
    #[error("a batched write was interrupted before it finished")]
    BatchLost,
    /// The work of an interaction was applied before (its effect row exists): nothing of this
    /// attempt was written.
    #[error("this interaction's work was already applied")]
    AlreadyApplied,
    /// The error of a batched write, shared by every item of the batch.
    #[error("{0}")]
    Shared(std::sync::Arc<StoreError>),
    #[error(
        "unsupported database URL `{0}`; use sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE"
    )]
    UnsupportedUrl(String),
    /// The database cannot be reached or opened, and why.
    #[error("{0}")]
    Unavailable(String),
    /// Something this backend does not do, and what does it instead.
    #[error("{0}")]
    Unsupported(String),
}

impl StoreError {
    /// Whether the database refused a write because it is open read-only (a SQLite URL with
    /// `mode=ro`), on sqlx's connections or the writer's thread.
    pub fn is_read_only(&self) -> bool {
        // SQLITE_READONLY is 8; its extended codes keep 8 in the low byte.
        let read_only = |code: i32| code & 0xff == 8;
        match self {
            Self::Sqlite(rusqlite::Error::SqliteFailure(failure, _)) => {
                read_only(failure.extended_code)
            }
            Self::Sqlx(sqlx::Error::Database(db)) => {
                // PostgreSQL's codes are SQLSTATEs, some of them numbers too.
                db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                    && db
                        .code()
                        .and_then(|code| code.parse().ok())
                        .is_some_and(read_only)
            }
            Self::Shared(shared) => shared.is_read_only(),
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
