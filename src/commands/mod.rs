//! The platform-neutral command layer: the catalogue, parsing an invocation into a `Command`,
//! running it through the service and building the `Reply`.

mod args;
pub mod catalogue;
pub mod command;
pub mod digest_chart;
pub mod digest_replies;
mod error;
pub mod execute;
pub mod help;
pub mod interact;
pub mod parse;
pub mod playbook_replies;
pub mod press;
pub mod replies;
pub mod reply;
mod schedule_values;
pub mod suggest;
mod tokenize;
pub mod truth_chart;
pub mod truth_replies;
pub mod user_text;
mod values;

pub use command::{Command, PeriodSpec, UserRef};
pub use reply::Reply;

/// What adapters need from the layers below, through this one door: who is asking, the
/// application they hand invocations to, a delivery's key, what autocomplete returns, the
/// longest snooze (an option's range), and an outbox message's status (`dealgate outbox`).
pub use crate::service::{
    Caller, Choice, Delivery, MAX_SNOOZE_DAYS, MessageStatus, Platform, Service,
};
