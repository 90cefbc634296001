//! The one reply model every adapter renders: terminal text, Discord embeds and components,
//! Slack Block Kit. Builders in `replies.rs` make these; adapters never invent content.

use super::press::Press;

/// A reply to a command, or an announcement.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reply {
    pub title: String,
    /// Paragraphs or list lines under the title, in order. Markdown-light: `**bold**` and
    /// `` `code` `` only, which every platform can show. Anything a person typed goes in through
    /// `user_text::user`, here as in the title and fields, so each renderer can escape it.
    pub lines: Vec<String>,
    /// Labelled values shown side by side where the platform can (amount, stage, …).
    pub fields: Vec<Field>,
    pub tone: Tone,
    pub buttons: Vec<Button>,
    /// Shown only to the person who asked (refusals and personal views).
    pub ephemeral: bool,
    /// A chart or other image attached to the message.
    pub image: Option<Image>,
    /// Sent on to the channel for everyone (a stage change), besides the reply itself.
    pub announce: Option<Box<Reply>>,
    /// The one person this reply calls on (an approval request pings the manager); adapters
    /// mention them where their platform can, and nobody else is ever notified.
    pub notify: Option<Notify>,
}

/// Who a reply calls on, and why, in words that follow their name.
#[derive(Debug, Clone, PartialEq)]
pub struct Notify {
    /// Their stable id on the platform, which a mention needs.
    pub user_key: String,
    pub display_name: String,
    /// E.g. "your approval is asked for."
    pub why: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub inline: bool,
}

/// Colour of the reply; adapters map it (and a stage's position) to their palette.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tone {
    #[default]
    Info,
    Success,
    Refusal,
    Error,
    /// A deal's stage, by position among the open stages (0-based) out of `of`.
    Stage {
        index: u8,
        of: u8,
    },
}

/// A button that does exactly what a command would: pressing it does `press` as the presser.
#[derive(Debug, Clone, PartialEq)]
pub struct Button {
    pub label: String,
    pub press: Press,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub file_name: String,
    pub png: Vec<u8>,
}

impl Reply {
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            ..Self::default()
        }
    }

    pub fn line(mut self, line: impl Into<String>) -> Self {
        self.lines.push(line.into());
        self
    }

    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push(Field {
            name: name.into(),
            value: value.into(),
            inline: true,
        });
        self
    }

    pub fn tone(mut self, tone: Tone) -> Self {
        self.tone = tone;
        self
    }

    pub fn ephemeral(mut self) -> Self {
        self.ephemeral = true;
        self
    }

    pub fn button(mut self, label: impl Into<String>, press: Press) -> Self {
        self.buttons.push(Button {
            label: label.into(),
            press,
        });
        self
    }

    pub fn notify(mut self, notify: Notify) -> Self {
        self.notify = Some(notify);
        self
    }
}

#[cfg(test)]
impl Reply {
    /// A refusal of deal-3 with `line`, a button that logs `discovery-call` and one that asks for
    /// approval: what the renderers' tests render.
    pub(crate) fn sample_refusal(line: &str) -> Self {
        let deal = crate::engine::ids::DealNumber::new(3).expect("3 is a deal number");
        Reply::new("deal-3 can't leave Qualify yet")
            .line(line)
            .tone(Tone::Refusal)
            .button(
                "Log discovery-call",
                Press::Log {
                    deal,
                    activity: "discovery-call".parse().expect("a valid activity id"),
                },
            )
            .button("Ask for approval", Press::AskApproval { deal })
            .ephemeral()
    }
}
