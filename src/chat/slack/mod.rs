//! Slack: slash commands and button presses over HTTP (signed with the app's signing secret),
//! replies in Block Kit, and the digest and nudges posted through the Web API by the outbox.
//! The workspace (`team_id`) is the tenant and the Slack user id the member.
//!
//! ```text
//! /advance deal-42                  (a rep, in #sales)
//! → ✋ deal-42 can't leave Qualify yet        (ephemeral, with a "Log discovery-call" button)
//! /log deal-42 discovery-call note:"met the CFO"
//! /advance deal-42
//! → ▶️ deal-42 advanced to Solution           (in_channel)
//! ```

pub mod config;
pub mod dispatch;
pub mod http;
pub mod manifest;
pub mod render;
pub mod verify;
pub mod web;

pub use config::{ConfigError, Settings, SlackArgs};
pub use dispatch::Dispatcher;
pub use web::SlackSender;
