//! The signals that stop `dealgate serve`: SIGTERM (what service managers and container runtimes
//! send) and SIGINT (Ctrl-C), treated alike.
//!
//! The first asks for a drain; a second while draining means "now", for whoever cannot wait.
//! Once these are listened for, the operating system no longer ends the process on them, so the
//! second one must be listened for too.

/// The exit code after a second signal: 128 + the signal's number, as a shell reports a process
/// the signal ended (130 for SIGINT, 143 for SIGTERM).
pub fn exit_code(signal: StopSignal) -> i32 {
    128 + match signal {
        StopSignal::Interrupt => 2,
        StopSignal::Terminate => 15,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    Interrupt,
    Terminate,
}

impl std::fmt::Display for StopSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
        })
    }
}

/// SIGTERM and SIGINT, listened for from `listen` on.
#[cfg(unix)]
pub struct StopSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl StopSignals {
    /// Listens from now on: call it before serving, so a signal during start-up drains too.
    pub fn listen() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// The next signal to arrive.
    pub async fn next(&mut self) -> StopSignal {
        tokio::select! {
            _ = self.terminate.recv() => StopSignal::Terminate,
            _ = self.interrupt.recv() => StopSignal::Interrupt,
        }
    }
}

/// Ctrl-C, where there are no Unix signals.
#[cfg(not(unix))]
pub struct StopSignals;

#[cfg(not(unix))]
impl StopSignals {
    pub fn listen() -> std::io::Result<Self> {
        Ok(Self)
    }

    pub async fn next(&mut self) -> StopSignal {
        let _ = tokio::signal::ctrl_c().await;
        StopSignal::Interrupt
    }
}
