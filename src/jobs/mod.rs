//! Scheduled work and delivery: the scheduler claims each day's digest and nudges per workspace
//! and writes their messages to the outbox; the delivery worker sends them.
//!
//! ```text
//! tick(now = Mon 08:30 Europe/Berlin)
//! → claim (acme, digest, 2026-10-26) → outbox: #sales-managers "Forecast digest — Mon 26 Oct"
//! deliver_due(now) → sent 1
//! ```

pub mod message;
pub mod nudges;
pub mod outbox;
pub mod route;
pub mod scheduler;
