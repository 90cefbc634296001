//! The pure domain: playbook, gates, stage moves, coaching facts and forecast math.
//!
//! Nothing here does I/O or reads a clock, and as a crate of its own it cannot reach the
//! application that uses it (`dealgate`, which re-exports it as `dealgate::engine`): everything
//! comes in as plain values (including `now`), so every rule is testable with plain unit tests.

pub mod adherence;
pub mod coaching;
pub mod currency;
pub mod deal;
pub mod forecast;
pub mod gates;
pub mod ids;
pub mod nudge;
pub mod people;
pub mod playbook;
pub mod process;
pub mod revision;
pub mod schedule;
pub mod suggest;
pub mod text;
pub mod transition;
pub mod truth;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod properties;
