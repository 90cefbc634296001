//! dealgate: a chat-ops bot that runs a B2B sales process where the team already talks.
//!
//! Layers, dependencies pointing down: `chat` adapters → `commands` → `service` → `store`, with
//! `engine` (pure domain rules) used by all and importing none.

pub mod clock;
pub mod commands;
pub mod engine;
pub mod jobs;
pub mod service;
pub mod store;

pub mod chat;
pub mod config;
pub mod demo;
pub mod shutdown;
