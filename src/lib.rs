//! dealgate: a chat-ops bot that runs a B2B sales process where the team already talks.
//!
//! Layers, dependencies pointing down:
//!
//! ```text
//! chat adapters (Discord, Slack, console): decode payloads, render `Reply`
//!   → commands: the one door in (`commands::interact`: claim, run, defer, record), the
//!     catalogue, parsing, typed button presses, reply builders
//!     → service: use cases, one transaction each, authorization; the only door to the store
//!       → store: sqlx on SQLite or PostgreSQL; rows stop here
//! jobs, beside commands: the scheduler and delivery loops, the `Sender` trait and routing;
//!   renders with `commands`, reads and writes only through `service`
//! engine (crates/engine, the `dealgate-engine` crate): the pure domain, used by all of the
//!   above and unable to name any of them
//! ```
//!
//! Wiring (`main.rs`, `demo.rs`) builds a `store::Store` and hands it to `service::Service`.
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
pub mod telemetry;
pub mod transfer;
