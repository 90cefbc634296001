//! Work a request leaves running: a command whose client hung up (it runs to completion all
//! the same), a deferred result edited in later, an answer posted to a response URL. Each is a
//! task of its own so no connection owns it, and each is tracked here so that stopping the bot
//! waits for it (within the drain bound) instead of dropping it half done.

use std::future::Future;

use tokio_util::task::TaskTracker;

/// The tasks one adapter's requests left running.
#[derive(Debug, Clone, Default)]
pub struct Detached(TaskTracker);

impl Detached {
    /// Runs `work` in a task of its own, tracked.
    pub fn spawn<F>(&self, work: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.spawn(work)
    }

    /// Waits until every tracked task has finished, those a finishing task starts included.
    pub async fn finished(&self) {
        self.0.close();
        self.0.wait().await;
    }
}
