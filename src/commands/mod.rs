//! The platform-neutral command layer: the catalogue, parsing an invocation into a `Command`,
//! running it through the service and building the `Reply`.

pub mod catalogue;
pub mod command;
pub mod parse;
pub mod reply;

pub use command::{Command, PeriodSpec, UserRef};
pub use reply::Reply;
pub mod execute;
pub mod help;
pub mod replies;
