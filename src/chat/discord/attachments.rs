//! Files attached to a slash command (`/playbook update file:`): Discord sends their name, size
//! and a CDN address; the bytes are fetched here, before the command runs, from Discord's own
//! hosts only, at most one byte past the largest file any command takes, within a deadline that
//! leaves the command its share of Discord's 3 seconds.

use std::time::Duration;

use crate::commands::command::{MAX_FILE_BYTES, file_too_large};

/// A file as the interaction describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRef {
    pub filename: String,
    pub size: u64,
    pub url: String,
}

/// Why an attachment was not fetched, in words for the person who attached it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("{}", file_too_large(.0))]
    TooLarge(String),
    #[error("`{0}` is not on Discord's servers, so it was not fetched. Attach the file again.")]
    NotDiscord(String),
    #[error(
        "Discord did not hand over `{file}` ({why}). Attach it again, or run `dealgate playbook \
         apply` on the server."
    )]
    Failed { file: String, why: String },
}

/// The hosts attachments come from, and the client that fetches them.
#[derive(Debug, Clone)]
pub struct Attachments {
    client: reqwest::Client,
    origins: Vec<String>,
}

/// How long fetching one attachment may take.
const DEADLINE: Duration = Duration::from_millis(1500);

impl Default for Attachments {
    fn default() -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(DEADLINE)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            origins: vec![
                "https://cdn.discordapp.com".to_string(),
                "https://media.discordapp.net".to_string(),
            ],
        }
    }
}

impl Attachments {
    /// Also fetches from `origin` (`http://127.0.0.1:9999`): where a fake Discord serves them.
    pub fn also_from(mut self, origin: &str) -> Self {
        self.origins.push(origin.trim_end_matches('/').to_string());
        self
    }

    pub async fn fetch(&self, a: &AttachmentRef) -> Result<Vec<u8>, FetchError> {
        let limit = MAX_FILE_BYTES as u64;
        if a.size > limit {
            return Err(FetchError::TooLarge(a.filename.clone()));
        }
        let allowed = self.origins.iter().any(|o| {
            a.url
                .strip_prefix(o.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
        });
        if !allowed {
            return Err(FetchError::NotDiscord(a.filename.clone()));
        }
        let failed = |why: String| FetchError::Failed {
            file: a.filename.clone(),
            why,
        };
        let mut response = self.client.get(&a.url).send().await.map_err(|e| {
            failed(if e.is_timeout() {
                "it took too long".into()
            } else {
                "no answer".into()
            })
        })?;
        if !response.status().is_success() {
            return Err(failed(format!("HTTP {}", response.status().as_u16())));
        }
        // Whatever the size said, never more than one byte past the limit in memory.
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|_| failed("the download broke off".into()))?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > limit {
                return Err(FetchError::TooLarge(a.filename.clone()));
            }
        }
        Ok(bytes)
    }
}
