//! An outgoing message as the outbox keeps it: where it goes, the `Reply` to render there, and
//! the nonce that lets the platform refuse a duplicate.
//!
//! The reply is stored as JSON through `StoredReply`, a mirror of `Reply` kept here so the reply
//! model itself carries no serialization concerns; the image goes in its own column.

use serde::{Deserialize, Serialize};

use crate::commands::reply::{Button, Field, Image, Reply, Tone};
use crate::store::jobs::OutboxRow;

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A channel, by its platform id (or any name in the console).
    Channel(String),
    /// A direct message to a member, by their platform user key.
    Direct(String),
}

impl Target {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Channel(_) => "channel",
            Self::Direct(_) => "dm",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Self::Channel(id) | Self::Direct(id) => id,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Channel(id) => write!(f, "#{id}"),
            Self::Direct(id) => write!(f, "DM @{id}"),
        }
    }
}

/// A message read back from the outbox for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    pub id: i64,
    pub tenant_id: i64,
    /// The workspace's platform, which picks the sender: `console`, `discord` or `slack`.
    pub platform: String,
    pub target: Target,
    pub reply: Reply,
    /// Unique per message and stable across retries: Discord's `nonce` with `enforce_nonce`
    /// turns a retried post into the same message instead of a second one.
    pub nonce: String,
    /// Attempts made before this one.
    pub attempts: u32,
    /// What an earlier attempt finished before it failed, as its sender reported it
    /// (`SendError::Partly`); `None` on a first attempt.
    pub progress: Option<String>,
}

impl TryFrom<OutboxRow> for OutboxMessage {
    type Error = crate::store::StoreError;

    fn try_from(row: OutboxRow) -> Result<Self, Self::Error> {
        let corrupt = |detail: String| crate::store::StoreError::Corrupt {
            table: "outbox",
            detail,
        };
        let stored: StoredReply = serde_json::from_str(&row.payload)
            .map_err(|e| corrupt(format!("payload of message {}: {e}", row.id)))?;
        let mut reply = stored.into_reply();
        if let (Some(file_name), Some(png)) = (row.image_name, row.image) {
            reply.image = Some(Image { file_name, png });
        }
        let target = match row.target_kind.as_str() {
            "channel" => Target::Channel(row.target),
            "dm" => Target::Direct(row.target),
            other => return Err(corrupt(format!("target kind `{other}`"))),
        };
        Ok(Self {
            id: row.id,
            tenant_id: row.tenant_id,
            platform: row.platform,
            target,
            reply,
            nonce: row.nonce,
            attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
            progress: row.progress,
        })
    }
}

/// `Reply` as JSON, image and announcement left out (a scheduled message announces nothing
/// further).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredReply {
    title: String,
    lines: Vec<String>,
    fields: Vec<(String, String, bool)>,
    tone: String,
    buttons: Vec<(String, String)>,
}

impl StoredReply {
    pub fn from_reply(reply: &Reply) -> Self {
        let tone = match reply.tone {
            Tone::Info => "info".to_string(),
            Tone::Success => "success".to_string(),
            Tone::Refusal => "refusal".to_string(),
            Tone::Error => "error".to_string(),
            Tone::Stage { index, of } => format!("stage:{index}:{of}"),
        };
        Self {
            title: reply.title.clone(),
            lines: reply.lines.clone(),
            fields: reply
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.value.clone(), f.inline))
                .collect(),
            tone,
            buttons: reply
                .buttons
                .iter()
                .map(|b| (b.label.clone(), b.command.clone()))
                .collect(),
        }
    }

    fn into_reply(self) -> Reply {
        let tone = match self.tone.as_str() {
            "success" => Tone::Success,
            "refusal" => Tone::Refusal,
            "error" => Tone::Error,
            other => other
                .strip_prefix("stage:")
                .and_then(|rest| rest.split_once(':'))
                .and_then(|(i, of)| {
                    Some(Tone::Stage {
                        index: i.parse().ok()?,
                        of: of.parse().ok()?,
                    })
                })
                .unwrap_or(Tone::Info),
        };
        Reply {
            title: self.title,
            lines: self.lines,
            fields: self
                .fields
                .into_iter()
                .map(|(name, value, inline)| Field {
                    name,
                    value,
                    inline,
                })
                .collect(),
            tone,
            buttons: self
                .buttons
                .into_iter()
                .map(|(label, command)| Button { label, command })
                .collect(),
            ephemeral: false,
            image: None,
            announce: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_reply_reads_back_as_the_same_reply_without_its_image() {
        let reply = Reply::new("Daily forecast")
            .line("**Open** 12")
            .field("Weighted", "EUR 1,000")
            .tone(Tone::Stage { index: 1, of: 3 })
            .button("Show", "/forecast");
        let json = serde_json::to_string(&StoredReply::from_reply(&reply)).unwrap();
        let back: StoredReply = serde_json::from_str(&json).unwrap();
        assert_eq!(back.into_reply(), reply);
    }
}
