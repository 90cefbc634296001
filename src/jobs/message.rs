//! An outgoing message as the outbox keeps it: where it goes, the `Reply` to render there, and
//! the nonce that lets the platform refuse a duplicate.
//!
//! The reply is stored as JSON through `StoredReply`, a mirror of `Reply` kept here so the reply
//! model itself carries no serialization concerns; the image goes in its own column.

use serde::{Deserialize, Serialize};

use crate::commands::press::Press;
use crate::commands::reply::{Button, Field, Image, Reply, Tone};
use crate::engine::playbook::Playbook;
use crate::service::{ChangeNotice, NewMessage, Platform, ProcessAlert, QueuedMessage};

pub use crate::service::Target;

/// A message read back from the outbox for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    pub id: i64,
    pub tenant_id: i64,
    /// The workspace's platform, which picks the sender.
    pub platform: Platform,
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

/// A stored payload that is not a reply this version can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payload of message {id} cannot be read: {why}")]
pub struct Unreadable {
    pub id: i64,
    pub why: String,
}

impl TryFrom<QueuedMessage> for OutboxMessage {
    type Error = Unreadable;

    fn try_from(m: QueuedMessage) -> Result<Self, Self::Error> {
        let stored: StoredReply = serde_json::from_str(&m.payload).map_err(|e| Unreadable {
            id: m.id,
            why: e.to_string(),
        })?;
        let mut reply = stored.into_reply();
        if let Some((file_name, png)) = m.image {
            reply.image = Some(Image { file_name, png });
        }
        Ok(Self {
            id: m.id,
            tenant_id: m.tenant_id,
            platform: m.platform,
            target: m.target,
            reply,
            nonce: m.nonce,
            attempts: m.attempts,
            progress: m.progress,
        })
    }
}

/// A reply to queue for `target`: its JSON and its image.
/// The DM that asks a manager about a deal gone out of process (`service::AlertRenderer`).
pub fn process_alert(alert: &ProcessAlert, playbook: &Playbook) -> NewMessage {
    new_message(
        Target::Direct(alert.manager.user_key.clone()),
        &crate::commands::replies::process_alert(alert, playbook),
    )
}

/// The service with every message it queues on its own rendered here: the DM about a deal gone
/// out of process, and the notices of a playbook change.
pub fn rendering(service: crate::service::Service) -> crate::service::Service {
    service
        .with_process_alerts(process_alert)
        .with_change_notices(change_notice)
}

/// The notice of an applied playbook change (`service::NoticeRenderer`).
pub fn change_notice(notice: &ChangeNotice) -> NewMessage {
    new_message(
        notice.target.clone(),
        &crate::commands::playbook_replies::change_notice(notice),
    )
}

pub fn new_message(target: Target, reply: &Reply) -> NewMessage {
    NewMessage {
        target,
        // A struct of strings, numbers and tuples always serializes.
        payload: serde_json::to_string(&StoredReply::from_reply(reply))
            .unwrap_or_else(|_| String::from("{}")),
        image: reply
            .image
            .as_ref()
            .map(|i| (i.file_name.clone(), i.png.clone())),
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
                .map(|b| (b.label.clone(), b.press.encode()))
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
                // A press this version cannot read (none was ever queued with a button before
                // presses were stored encoded) is left out rather than guessed at.
                .filter_map(|(label, press)| {
                    Some(Button {
                        label,
                        press: Press::decode(&press).ok()?,
                    })
                })
                .collect(),
            ephemeral: false,
            image: None,
            announce: None,
            notify: None,
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
            .button(
                "Log demo",
                Press::Log {
                    deal: crate::engine::ids::DealNumber::new(3).unwrap(),
                    activity: "demo".parse().unwrap(),
                },
            );
        let json = serde_json::to_string(&StoredReply::from_reply(&reply)).unwrap();
        let back: StoredReply = serde_json::from_str(&json).unwrap();
        assert_eq!(back.into_reply(), reply);
    }
}
