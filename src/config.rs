//! Turning configuration values into what the service needs. Values come in from `main` (which
//! reads the environment through clap); library code never reads environment variables.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, bail};

use crate::engine::playbook::{TEMPLATES, load_str, template_source};
use crate::service::PlaybookSource;

/// `DEALGATE_PLAYBOOK`: a built-in template name, or the path of a TOML file. The playbook is
/// validated here so a bad one stops the bot at start-up, not at a rep's first command.
pub fn playbook_source(reference: &str) -> anyhow::Result<PlaybookSource> {
    let toml = match template_source(reference) {
        Some(text) => text.to_string(),
        None => {
            let path = Path::new(reference);
            if !path.exists() {
                let names: Vec<&str> = TEMPLATES.iter().map(|(n, _)| *n).collect();
                bail!(
                    "playbook `{reference}` is neither a built-in template ({}) nor a file",
                    names.join(", ")
                );
            }
            std::fs::read_to_string(path).with_context(|| format!("read playbook {reference}"))?
        }
    };
    if let Err(e) = load_str(reference, &toml) {
        bail!("playbook {reference} is not valid:\n{e}");
    }
    Ok(PlaybookSource {
        reference: reference.to_string(),
        toml,
    })
}

/// A secret (a bot token, a signing secret) that never shows in `Debug` or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.trim().to_string()))
    }
}
