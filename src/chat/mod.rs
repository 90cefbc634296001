//! Adapters: each turns a platform's payloads into command invocations and renders `Reply`.

pub mod console;
pub mod discord;
pub mod press;
pub mod slack;
