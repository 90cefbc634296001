//! Which sender posts a message: the one for its workspace's platform. `dealgate serve` builds
//! one `Senders` with whatever this process can post to, and the delivery worker hands it every
//! message.
//!
//! ```text
//! Senders::new()
//!     .with(Platform::Console, ConsoleSender::new(std::io::stdout()))
//!     .with(Platform::Discord, discord_sender)
//!     .with(Platform::Slack, slack_sender)        // one line when a Slack sender exists
//! ```
//!
//! A message for a platform with no sender here is not dropped: it stays queued, retried with
//! the usual backoff, with an error that says what is missing, until a process that has that
//! sender (another replica, or this one restarted with the platform configured) delivers it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use super::message::OutboxMessage;
use super::outbox::{Delivered, SendError, Sender};
use crate::service::Platform;

type Sending<'a> = Pin<Box<dyn Future<Output = Result<Delivered, SendError>> + Send + 'a>>;

/// `Sender` with its future boxed, so senders of different types fit in one map.
trait AnySender: Send + Sync {
    fn send_boxed<'a>(&'a self, message: &'a OutboxMessage) -> Sending<'a>;
}

impl<S: Sender> AnySender for S {
    fn send_boxed<'a>(&'a self, message: &'a OutboxMessage) -> Sending<'a> {
        Box::pin(self.send(message))
    }
}

/// The senders this process has, by platform.
#[derive(Default)]
pub struct Senders {
    by_platform: BTreeMap<Platform, Box<dyn AnySender>>,
}

impl Senders {
    pub fn new() -> Self {
        Self::default()
    }

    /// Posts messages of `platform`'s workspaces through `sender` (replacing any before it).
    pub fn with(mut self, platform: Platform, sender: impl Sender + 'static) -> Self {
        self.by_platform.insert(platform, Box::new(sender));
        self
    }

    /// The platforms this process can post to, for the start-up log.
    pub fn platforms(&self) -> Vec<&'static str> {
        self.by_platform.keys().map(|p| p.as_str()).collect()
    }
}

impl Sender for Senders {
    async fn send(&self, message: &OutboxMessage) -> Result<Delivered, SendError> {
        match self.by_platform.get(&message.platform) {
            Some(sender) => sender.send_boxed(message).await,
            None => Err(SendError::Retry {
                after: None,
                reason: format!(
                    "this process cannot post to {platform}: no {platform} sender is configured \
                     (it has: {have}). The message stays queued until `dealgate serve` runs \
                     with {platform} set up.",
                    platform = message.platform,
                    have = match self.platforms() {
                        p if p.is_empty() => "none".to_string(),
                        p => p.join(", "),
                    },
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::commands::reply::Reply;
    use crate::jobs::message::Target;

    /// Counts what it accepts; shared between the router and the test.
    #[derive(Clone, Default)]
    struct Counting(Arc<AtomicUsize>);

    impl Sender for Counting {
        async fn send(&self, _: &OutboxMessage) -> Result<Delivered, SendError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(Delivered::default())
        }
    }

    fn message(platform: Platform) -> OutboxMessage {
        OutboxMessage {
            id: 1,
            tenant_id: 1,
            platform,
            target: Target::Channel("7001".into()),
            reply: Reply::new("Forecast digest"),
            nonce: "dg1m0".into(),
            attempts: 0,
            progress: None,
        }
    }

    #[tokio::test]
    async fn each_message_goes_to_the_sender_of_its_platform() {
        let (discord, console) = (Counting::default(), Counting::default());
        let senders = Senders::new()
            .with(Platform::Discord, discord.clone())
            .with(Platform::Console, console.clone());
        senders.send(&message(Platform::Discord)).await.unwrap();
        senders.send(&message(Platform::Discord)).await.unwrap();
        senders.send(&message(Platform::Console)).await.unwrap();
        assert_eq!(discord.0.load(Ordering::SeqCst), 2);
        assert_eq!(console.0.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_platform_without_a_sender_is_retried_later_and_says_what_is_missing() {
        let senders = Senders::new().with(Platform::Discord, Counting::default());
        let Err(SendError::Retry { reason, .. }) = senders.send(&message(Platform::Slack)).await
        else {
            panic!("a message with no sender must stay queued");
        };
        assert!(reason.contains("no slack sender"), "{reason}");
        assert!(reason.contains("it has: discord"), "{reason}");
    }
}
