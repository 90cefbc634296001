//! The platform-neutral command layer: the catalogue, parsing an invocation into a `Command`,
//! running it through the service and building the `Reply`.

pub mod catalogue;
pub mod command;
pub mod digest_chart;
pub mod digest_replies;
mod error;
pub mod execute;
pub mod help;
pub mod interact;
pub mod parse;
pub mod replies;
pub mod reply;
mod schedule_values;
mod tokenize;
pub mod user_text;
mod values;

pub use command::{Command, PeriodSpec, UserRef};
pub use reply::Reply;
