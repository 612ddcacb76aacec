//! The accept loop: HTTP/1.1 and HTTP/2 (h2c or TLS) on one port, a cap on open connections,
//! HTTP/2 keep-alive, stream and reset limits, and graceful shutdown. Each connection is then
//! served by [`connection::serve`].
//!
//! On shutdown the listener closes (new connections are refused), every open connection is told
//! to finish (HTTP/1.1: after the request in progress; HTTP/2: GOAWAY) and the loop waits up to
//! the grace period for them; connections still open then are cut.

use crate::config::LimitsConfig;
use crate::connection::{self, Limits};
use crate::metrics::{Gauge, Held, Metrics};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

/// How long a client may take for the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How the listener treats connections.
#[derive(Debug, Clone)]
pub struct ListenerSettings {
    /// Open connections at most.
    pub max_connections: usize,
    /// Concurrent HTTP/2 streams per connection.
    pub http2_max_concurrent_streams: u32,
    /// HTTP/2 keep-alive ping interval; `None`: no pings.
    pub http2_keep_alive_interval: Option<Duration>,
    /// How long to wait for a ping's answer.
    pub http2_keep_alive_timeout: Duration,
    /// How long a client may take to send HTTP/1.1 request headers, or stay in its HTTP/2
    /// preface, a frame header or a header block.
    pub header_read_timeout: Duration,
    /// HTTP/2 streams a client may reset before a majority of resets closes the connection.
    pub http2_max_reset_streams: u64,
    /// HTTP/2 streams reset before they were taken up, at once (h2's own rapid-reset guard).
    pub http2_max_pending_reset_streams: usize,
    /// HTTP/2 streams Persona may reset for the client's protocol errors, per connection.
    pub http2_max_local_error_reset_streams: usize,
    /// How long open connections get to finish after shutdown began.
    pub grace: Duration,
}

impl ListenerSettings {
    /// The settings from the configuration's limits and grace period.
    #[must_use]
    pub fn new(limits: &LimitsConfig, grace_seconds: u64) -> Self {
        let interval = limits.http2_keep_alive_interval_seconds;
        Self {
            max_connections: limits.max_connections,
            http2_max_concurrent_streams: limits.http2_max_concurrent_streams,
            http2_keep_alive_interval: (interval > 0).then(|| Duration::from_secs(interval)),
            http2_keep_alive_timeout: Duration::from_secs(limits.http2_keep_alive_timeout_seconds),
            header_read_timeout: Duration::from_secs(limits.header_read_timeout_seconds),
            http2_max_reset_streams: limits.http2_max_reset_streams,
            http2_max_pending_reset_streams: limits.http2_max_pending_reset_streams,
            http2_max_local_error_reset_streams: limits.http2_max_local_error_reset_streams,
            grace: Duration::from_secs(grace_seconds),
        }
    }

    fn builder(&self) -> auto::Builder<TokioExecutor> {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new()).header_read_timeout(self.header_read_timeout).keep_alive(true);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(self.http2_max_concurrent_streams)
            .max_pending_accept_reset_streams(self.http2_max_pending_reset_streams)
            .max_local_error_reset_streams(self.http2_max_local_error_reset_streams)
            .keep_alive_interval(self.http2_keep_alive_interval)
            .keep_alive_timeout(self.http2_keep_alive_timeout);
        builder
    }

    fn limits(&self) -> Limits {
        Limits { header_timeout: self.header_read_timeout, max_resets: self.http2_max_reset_streams }
    }
}

/// A connection's slot under `max_connections` and its unit of `persona_connections_open`,
/// both given back when the connection's task ends or is dropped.
struct OpenConnection {
    _gauge: Held,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// Whether shutdown left connections behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every connection finished within the grace period.
    All,
    /// The grace period ended with connections still open; they were cut.
    Cut(usize),
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains as described above.
pub async fn run(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    settings: &ListenerSettings,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) -> Drained {
    let builder = settings.builder();
    let limits = settings.limits();
    // Every connection holds a receiver until it ends: `send` asks them all to finish and
    // `closed` tells when the last one did.
    let (stop, _) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            metrics.connection_refused();
            tracing::debug!(%peer, limit = settings.max_connections, "connection limit reached: closing a new connection");
            drop(stream);
            continue;
        };
        let open = OpenConnection { _gauge: metrics.hold(Gauge::ConnectionsOpen), _permit: permit };
        let _ = stream.set_nodelay(true);
        let stopping = stop.subscribe();
        let (builder, app, tls, metrics) = (builder.clone(), app.clone(), tls.clone(), metrics.clone());
        tokio::spawn(async move {
            let _open = open;
            let result = match tls {
                None => connection::serve(stream, builder, app, limits, metrics, stopping).await,
                Some(acceptor) => {
                    let Some(stream) = handshake(&acceptor, stream).await else { return };
                    connection::serve(stream, builder, app, limits, metrics, stopping).await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%peer, error = %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let open = stop.receiver_count();
    tracing::info!(
        connections = open,
        grace_seconds = settings.grace.as_secs(),
        "no longer accepting; draining connections"
    );
    stop.send_replace(true);
    match tokio::time::timeout(settings.grace, stop.closed()).await {
        Ok(()) => Drained::All,
        Err(_) => Drained::Cut(metrics.open_connections()),
    }
}

async fn handshake(acceptor: &TlsAcceptor, stream: TcpStream) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(error)) => {
            tracing::debug!(%error, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            None
        }
    }
}
