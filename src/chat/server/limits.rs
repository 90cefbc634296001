//! The server's limits: typed, with their units and defaults, and as `dealgate serve` flags.

use std::time::Duration;

/// How long a client may take and how many are served at once; see [`super`] for how they
/// play together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time for a request's headers to arrive, counted from the connection opening or from the
    /// previous answer (so also the idle keep-alive timeout).
    pub header_timeout: Duration,
    /// Time for a request's body to arrive, counted from the end of its headers.
    pub body_timeout: Duration,
    /// Connections served at once with the timeouts above.
    pub max_connections: u32,
    /// Connections served beyond `max_connections`, one request each with `reserve_timeout`.
    pub reserve_connections: u32,
    /// The headers' and again the body's time on a reserve connection.
    pub reserve_timeout: Duration,
    /// Bodies read into memory at once, each up to [`super::MAX_BODY`].
    pub max_bodies: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 512,
            reserve_connections: 32,
            reserve_timeout: Duration::from_secs(2),
            max_bodies: 64,
        }
    }
}

impl Limits {
    /// For a port only health probes use (`serve --health`): a few connections on short
    /// clocks, and no bodies worth the name.
    pub fn probes() -> Self {
        Self {
            header_timeout: Duration::from_secs(2),
            body_timeout: Duration::from_secs(2),
            max_connections: 16,
            reserve_connections: 0,
            reserve_timeout: Duration::from_secs(1),
            max_bodies: 1,
        }
    }
}

/// How many of each limited thing are in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Connections on the normal slots, at most `max_connections`.
    pub connections: u32,
    /// Connections on the reserve, at most `reserve_connections`.
    pub reserve: u32,
    /// Bodies being read, at most `max_bodies`.
    pub bodies: u32,
}

/// The limits as `dealgate serve` flags (and `DEALGATE_*` variables), in whole seconds and
/// counts; the defaults are [`Limits::default`]'s.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "HTTP server limits")]
pub struct LimitArgs {
    /// Seconds a client has to send a request's headers; also how long an idle kept-alive
    /// connection stays open.
    #[arg(
        long,
        env = "DEALGATE_HEADER_SECONDS",
        default_value_t = Limits::default().header_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub header_seconds: u64,
    /// Seconds a request's body has to arrive after its headers.
    #[arg(
        long,
        env = "DEALGATE_BODY_SECONDS",
        default_value_t = Limits::default().body_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub body_seconds: u64,
    /// Connections served at once; keep it under the open-file limit (`ulimit -n`) less the
    /// database pool.
    #[arg(
        long,
        env = "DEALGATE_MAX_CONNECTIONS",
        default_value_t = Limits::default().max_connections,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    pub max_connections: u32,
    /// Connections served beyond --max-connections, one quick request each: how /healthz
    /// still answers when slow clients hold every slot. 0 turns the reserve off.
    #[arg(
        long,
        env = "DEALGATE_RESERVE_CONNECTIONS",
        default_value_t = Limits::default().reserve_connections,
        value_parser = clap::value_parser!(u32).range(0..=10_000)
    )]
    pub reserve_connections: u32,
    /// Seconds a reserve connection has for its headers, and again for its body.
    #[arg(
        long,
        env = "DEALGATE_RESERVE_SECONDS",
        default_value_t = Limits::default().reserve_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=60)
    )]
    pub reserve_seconds: u64,
    /// Request bodies read into memory at once, each at most 256 KiB; the others wait their
    /// turn in the kernel's socket buffers.
    #[arg(
        long,
        env = "DEALGATE_MAX_BODIES",
        default_value_t = Limits::default().max_bodies,
        value_parser = clap::value_parser!(u32).range(1..=100_000)
    )]
    pub max_bodies: u32,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            header_timeout: Duration::from_secs(self.header_seconds),
            body_timeout: Duration::from_secs(self.body_seconds),
            max_connections: self.max_connections,
            reserve_connections: self.reserve_connections,
            reserve_timeout: Duration::from_secs(self.reserve_seconds),
            max_bodies: self.max_bodies,
        }
    }
}
