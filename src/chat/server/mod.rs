//! The HTTP server under Discord's and Slack's endpoints: our own accept loop on hyper, because
//! `axum::serve` holds a connection as long as its client likes, and the endpoint is on the
//! public internet.
//!
//! What a client gets, with [`Limits`]' defaults:
//!
//! - **Headers** must arrive within `header_timeout` (10 s) of the connection opening, or of the
//!   previous answer on a kept-alive connection: hyper starts that clock as soon as it waits for
//!   a request, so it is also the idle keep-alive timeout. Headers over 16 KiB get 431.
//! - **The body** must arrive within `body_timeout` (10 s) of the headers (408 and the connection
//!   closed otherwise), so a whole request takes at most the two together. Bodies are read here,
//!   before routing, at most `max_bodies` (64) at once and each at most 256 KiB (413 beyond): a
//!   body waiting its turn stays in the kernel's socket buffer, not in our memory, so thousands
//!   of unfinished bodies cost at most 64 × 256 KiB.
//! - **Connections** are served `max_connections` (512) at once. Keep it below the open-file
//!   limit (`ulimit -n`) less the database pool, or accept fails for lack of descriptors; when it
//!   does anyway, accepting backs off and says so once, not once per failure.
//! - **Beyond the cap**, `reserve_connections` (32) more are served one request each, with no
//!   keep-alive and `reserve_timeout` (2 s) for the headers and again for the body. Everything
//!   else waits in the kernel's accept queue until a slot frees.
//!
//! The reserve is how `/healthz` (and a real request) still gets an answer while slow clients
//! hold every slot: a health check or a signed request from Discord or Slack arrives whole in
//! milliseconds, so it passes the tight clock, while a slow client there is cut off within
//! seconds and its slot turns over. We made that the default rather than a separate health port
//! because the probes of load balancers and orchestrators usually hit the port that serves, and
//! it needs no setting to be safe. Its limit: while a flood keeps opening connections, a probe
//! waits behind them in the kernel's accept queue (about 6–7 s under 2,000 slow clients, see
//! BENCHMARKS.md). Where that matters, `dealgate serve --health ADDR` answers `/healthz` on a
//! port of its own, served by a second `Server` with [`Limits::probes`].
//!
//! Shutdown stops accepting, lets each connection finish the request it is on (bounded by the
//! timeouts above) and then closes it; `serve` returns when every connection is closed.

mod accept;
mod limits;
mod request;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

pub use limits::{LimitArgs, Limits, Load};
pub use request::MAX_BODY;

/// hyper's read buffer per connection, which bounds a request's headers (431 beyond). Discord's
/// and Slack's headers are about 1 KiB.
const MAX_HEADER_BUFFER: usize = 16 * 1024;

/// The server: its limits and the slots they count. Clones share the slots.
#[derive(Debug, Clone)]
pub struct Server {
    limits: Limits,
    connections: Arc<Semaphore>,
    reserve: Arc<Semaphore>,
    bodies: Arc<Semaphore>,
    /// Connections open on each kind of slot. Not the semaphores' count: the accept loop holds
    /// a slot while it waits for the next connection.
    open: Arc<[AtomicU32; 2]>,
}

/// A connection slot, normal or reserve, taken before the connection is accepted.
struct Slot {
    reserve: bool,
    _permit: OwnedSemaphorePermit,
}

/// A slot with its connection: counted as open until the connection's task ends, which also
/// gives the slot back.
struct Open {
    slot: Slot,
    counts: Arc<[AtomicU32; 2]>,
}

impl Open {
    fn new(slot: Slot, counts: &Arc<[AtomicU32; 2]>) -> Self {
        counts[usize::from(slot.reserve)].fetch_add(1, Ordering::Relaxed);
        Self {
            slot,
            counts: Arc::clone(counts),
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.counts[usize::from(self.slot.reserve)].fetch_sub(1, Ordering::Relaxed);
    }
}

impl Server {
    pub fn new(limits: Limits) -> Self {
        let permits = |n: u32| Arc::new(Semaphore::new(n as usize));
        Self {
            limits,
            connections: permits(limits.max_connections),
            reserve: permits(limits.reserve_connections),
            bodies: permits(limits.max_bodies),
            open: Arc::new([AtomicU32::new(0), AtomicU32::new(0)]),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// What is in use now.
    pub fn load(&self) -> Load {
        let bodies = self.bodies.available_permits() as u32;
        Load {
            connections: self.open[0].load(Ordering::Relaxed),
            reserve: self.open[1].load(Ordering::Relaxed),
            bodies: self.limits.max_bodies.saturating_sub(bodies),
        }
    }

    /// Serves `router` on `listener` until `shutdown` completes, then drains: no new
    /// connections, each open one finishes the request it is on, and this returns when the
    /// last has closed.
    pub async fn serve(
        &self,
        listener: TcpListener,
        router: Router,
        shutdown: impl Future<Output = ()> + Send,
    ) {
        let (closing, closed) = watch::channel(false);
        let mut shutdown = pin!(shutdown);
        let mut backoff = accept::Backoff::default();
        let mut full = accept::FullNotice::default();
        loop {
            let slot = tokio::select! {
                biased;
                () = &mut shutdown => break,
                slot = self.slot(&mut full) => slot,
            };
            let accepted = tokio::select! {
                biased;
                () = &mut shutdown => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, _)) => {
                    backoff.recovered();
                    let open = Open::new(self.upgrade(slot), &self.open);
                    let conn = Connection {
                        limits: self.limits,
                        bodies: Arc::clone(&self.bodies),
                        router: router.clone(),
                    };
                    tokio::spawn(conn.run(stream, open, closed.clone()));
                }
                Err(e) if accept::is_the_clients(&e) => {}
                Err(e) => {
                    drop(slot);
                    tokio::select! {
                        biased;
                        () = &mut shutdown => break,
                        () = backoff.failed(&e) => {}
                    }
                }
            }
        }
        drop(listener);
        let _ = closing.send(true);
        // Every slot back means every connection's task has ended.
        let _all = self
            .connections
            .acquire_many(self.limits.max_connections)
            .await;
        let _all = self
            .reserve
            .acquire_many(self.limits.reserve_connections)
            .await;
    }

    /// A normal slot when one is free; otherwise whichever frees first, a normal or a reserve
    /// slot.
    async fn slot(&self, full: &mut accept::FullNotice) -> Slot {
        if let Ok(permit) = Arc::clone(&self.connections).try_acquire_owned() {
            return Slot {
                reserve: false,
                _permit: permit,
            };
        }
        full.cap_reached(self.limits.max_connections);
        tokio::select! {
            permit = Arc::clone(&self.connections).acquire_owned() => Slot {
                reserve: false,
                _permit: permit.expect("the connection slots are never closed"),
            },
            permit = Arc::clone(&self.reserve).acquire_owned() => Slot {
                reserve: true,
                _permit: permit.expect("the reserve slots are never closed"),
            },
        }
    }

    /// A reserve slot taken while waiting for a connection is swapped for a normal one freed
    /// meanwhile: the reserve is for when there is none.
    fn upgrade(&self, slot: Slot) -> Slot {
        if !slot.reserve {
            return slot;
        }
        match Arc::clone(&self.connections).try_acquire_owned() {
            Ok(permit) => Slot {
                reserve: false,
                _permit: permit,
            },
            Err(_) => slot,
        }
    }
}

/// What one connection's task needs.
struct Connection {
    limits: Limits,
    bodies: Arc<Semaphore>,
    router: Router,
}

impl Connection {
    async fn run(self, stream: TcpStream, open: Open, mut closing: watch::Receiver<bool>) {
        let reserve = open.slot.reserve;
        // Answers are small and written at once; waiting to fill a packet only adds latency.
        let _ = stream.set_nodelay(true);
        let (header_timeout, body_timeout) = if reserve {
            (self.limits.reserve_timeout, self.limits.reserve_timeout)
        } else {
            (self.limits.header_timeout, self.limits.body_timeout)
        };
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_buf_size(MAX_HEADER_BUFFER)
            .keep_alive(!reserve);
        let (bodies, router) = (self.bodies, self.router);
        let service = hyper::service::service_fn(move |request| {
            request::respond(request, router.clone(), Arc::clone(&bodies), body_timeout)
        });
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let mut conn = pin!(conn);
        let ended = tokio::select! {
            ended = conn.as_mut() => ended,
            _ = closing.changed() => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        // Clients that are slow, hang up or send garbage are expected on a public endpoint;
        // each is cut off as designed, and a log line apiece would let them fill the log.
        if let Err(e) = ended {
            tracing::debug!(error = %e, "connection ended with an error");
        }
        drop(open);
    }
}
