//! Accept failures and the connection cap, each said once, not once per connection.

use std::io;
use std::time::Duration;

use tokio::time::Instant;

/// A failed accept that concerns one client only (it hung up before we took it): the next
/// accept can go ahead at once.
pub fn is_the_clients(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

const FIRST_WAIT: Duration = Duration::from_millis(10);
const LONGEST_WAIT: Duration = Duration::from_secs(1);

/// Waits after a failed accept, doubling the wait while failures go on. Out of file
/// descriptors (EMFILE), the pending connection stays queued and accept fails again at
/// once: without a wait that is a loop at full speed, and with a log line per failure a
/// log filling at that speed.
#[derive(Debug, Default)]
pub struct Backoff {
    /// The current run of failures: when it began, how many, the next wait.
    failing: Option<(Instant, u64, Duration)>,
}

impl Backoff {
    pub async fn failed(&mut self, e: &io::Error) {
        let (_, count, wait) = self.failing.get_or_insert_with(|| {
            tracing::warn!(
                error = %e,
                "accepting connections fails; retrying with a growing wait (up to 1 s) and \
                 saying when it works again. Out of file descriptors: lower --max-connections \
                 or raise the limit (ulimit -n)"
            );
            (Instant::now(), 0, FIRST_WAIT)
        });
        *count += 1;
        let this = *wait;
        *wait = (*wait * 2).min(LONGEST_WAIT);
        tokio::time::sleep(this).await;
    }

    pub fn recovered(&mut self) {
        if let Some((since, count, _)) = self.failing.take() {
            tracing::warn!(
                failures = count,
                seconds = since.elapsed().as_secs_f32(),
                "accepting connections works again"
            );
        }
    }
}

/// Says that every connection slot is taken at most once a minute: a cap reached under
/// attack is reached again with every connection that ends.
#[derive(Debug, Default)]
pub struct FullNotice {
    last: Option<Instant>,
}

impl FullNotice {
    pub fn cap_reached(&mut self, cap: u32) {
        if self
            .last
            .is_some_and(|last| last.elapsed() < Duration::from_secs(60))
        {
            return;
        }
        self.last = Some(Instant::now());
        tracing::warn!(
            cap,
            "every connection slot is taken: new connections get the reserve (one request \
             each, tight timeouts) or wait; said at most once a minute"
        );
    }
}
