//! Files in and out: `dealgate import` reads CSV exports of Salesforce, HubSpot or dealgate
//! itself, and `dealgate export` writes dealgate's. An adapter like the chat ones: it reads and
//! writes files and hands typed rows to the service, which decides what they mean for a
//! workspace.

pub mod cells;
mod headers;
mod history;
pub mod import;
pub mod read;
pub mod report;
mod stream;
mod values;
pub mod write;

#[cfg(test)]
mod tests;

use crate::engine::text::one_line;
use crate::service::Platform;

/// A workspace as the operator's commands name it: `PLATFORM:ID`.
pub fn workspace(text: &str) -> anyhow::Result<(Platform, &str)> {
    text.split_once(':')
        .and_then(|(p, id)| Some((Platform::parse(p)?, id)))
        .filter(|(_, id)| !id.is_empty())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--workspace `{}`: write PLATFORM:ID, e.g. console:demo, slack:T024BE7LD or \
                 discord:81384788765712384",
                one_line(text)
            )
        })
}
