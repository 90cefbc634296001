//! Discord: slash commands over the gateway (serenity's client) and over the HTTP interactions
//! endpoint, both handing each interaction to one dispatcher, so a command behaves the same
//! either way.
//!
//! ```text
//! /advance deal:deal-42            (a rep, in #sales)
//! → deal-42 can't leave Qualify yet           (ephemeral, with a "Log discovery-call" button)
//! /log deal:deal-42 activity:discovery-call
//! /advance deal:deal-42
//! → deal-42 advanced to Solution              (public in #sales, colour of the stage)
//! ```

pub mod attachments;
pub mod config;
pub use crate::commands::press as custom_id;
pub mod dispatch;
pub mod gateway;
pub mod http;
pub mod options;
pub mod outbox;
pub mod register;
pub mod render;
pub mod rest;
pub mod verify;

pub use config::{ConfigError, Purpose, RawSettings, RoleMap, Secret, Settings};
pub use dispatch::Dispatcher;
