//! dealgate: a chat-ops bot that runs a B2B sales process where the team already talks.
//!
//! Layers, dependencies pointing down:
//!
//! ```text
//! chat adapters (Discord, Slack, console)
//!   → commands (catalogue, parsing, reply builders)
//!     → service (use cases, one transaction each, authorization)
//!       → store (sqlx: SQLite, PostgreSQL)
//! jobs, beside them: scheduler (digest, nudges) and outbox; builds replies with `commands`,
//!   reads and writes through `service` and `store`; the chat adapters deliver its messages
//! engine (crates/engine, the `dealgate-engine` crate): the pure domain, used by all of the
//!   above and unable to name any of them
//! ```
//!
//! `engine` is that crate re-exported, so `crate::engine::…` and `dealgate::engine::…` paths
//! read as a module's would; time reaches it only as values from the injected clock (`clock`).

pub mod clock;
pub mod commands;
pub use dealgate_engine as engine;
pub mod jobs;
pub mod service;
pub mod store;

pub mod chat;
pub mod config;
pub mod demo;
pub mod shutdown;
