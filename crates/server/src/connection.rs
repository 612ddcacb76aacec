//! One client connection, from its first byte to its close, with the HTTP/2 limits hyper does
//! not keep itself:
//!
//! - [`ClientStream`] is the byte stream hyper reads and writes, watched by a
//!   [`FrameReader`]. Over HTTP/1.1 it writes the contract's JSON answer in place of hyper's
//!   bodiless refusal of a request it could not read (see [`refusals`]). A client that stops in its preface (or never sends a byte), in a frame
//!   header or in an HTTP/2 header block is cut off once it has been there for
//!   `limits.header_read_timeout_seconds` (hyper keeps that deadline itself for HTTP/1.1
//!   request heads only). A client that has reset more than `limits.http2_max_reset_streams`
//!   streams, and more than half of the streams it opened, is flagged as a rapid-reset flood.
//! - [`ConnectionService`] runs the application for each request of the connection. It first
//!   yields once: hyper's HTTP/2 stream task polls the request before it looks for a
//!   `RST_STREAM`, so a stream reset before its task ran is dropped right there, before any
//!   authentication or database read. On a flagged connection it answers `Unavailable` at once.
//! - [`serve`] drives hyper's connection. A flagged connection gets GOAWAY and is closed
//!   [`CLOSE_GRACE`] later at the latest; server shutdown closes every connection gracefully.

use crate::frames::FrameReader;
use crate::metrics::{Cut, Metrics};
use crate::observe::Protocol;
use crate::protect::{UNAVAILABLE, refuse};
use crate::refusals;
use axum::Router;
use axum::response::Response;
use bytes::Bytes;
use http::Request;
use http::header::CONTENT_TYPE;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Notify, watch};
use tokio::time::Sleep;
use tower::ServiceExt;

/// How long a flagged connection may take to finish after its GOAWAY before it is cut.
pub const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The limits a connection is held to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a client may stay in its preface, a frame header or a header block.
    pub header_timeout: Duration,
    /// HTTP/2 streams the client may reset before a majority of resets flags the connection.
    pub max_resets: u64,
}

/// What the stream and the service of one connection share.
#[derive(Debug, Default)]
struct Shared {
    flagged: AtomicBool,
    flag: Notify,
}

/// A client's byte stream, passed through unchanged, with its limits kept.
pub struct ClientStream<T> {
    inner: T,
    reader: FrameReader,
    limits: Limits,
    shared: Arc<Shared>,
    metrics: Arc<Metrics>,
    /// What the client is in the middle of (see [`FrameReader::stalled_in`]) and since when.
    stalled: Option<(u64, Instant)>,
    deadline: Option<Pin<Box<Sleep>>>,
    timed_out: bool,
    /// The answer written instead of hyper's bodiless refusal (HTTP/1.1), once there is one.
    replacing: Option<Replacing>,
}

impl<T> ClientStream<T> {
    fn new(inner: T, limits: Limits, shared: Arc<Shared>, metrics: Arc<Metrics>) -> Self {
        Self {
            inner,
            reader: FrameReader::default(),
            limits,
            shared,
            metrics,
            // Until the first bytes arrive the client is in its preface, as far as we know.
            stalled: Some((0, Instant::now())),
            deadline: None,
            timed_out: false,
            replacing: None,
        }
    }

    /// Notes the bytes hyper just read.
    fn received(&mut self, bytes: &[u8]) {
        if self.reader.is_http1() || bytes.is_empty() {
            return;
        }
        self.reader.read(bytes);
        match self.reader.stalled_in() {
            Some(unit) if self.stalled.is_some_and(|(same, _)| same == unit) => {}
            now => {
                self.stalled = now.map(|unit| (unit, Instant::now()));
                self.deadline = None;
            }
        }
        let (resets, opened) = (self.reader.resets(), self.reader.opened());
        if resets > self.limits.max_resets
            && resets.saturating_mul(2) > opened
            && !self.shared.flagged.swap(true, Ordering::AcqRel)
        {
            self.metrics.connection_cut(Cut::ResetFlood);
            tracing::warn!(resets, opened, "closing an HTTP/2 connection: its client reset most of its streams");
            self.shared.flag.notify_one();
        }
    }

    /// An error once the client has been mid-header for longer than the deadline; otherwise
    /// arranges to be woken when the deadline passes.
    fn check_deadline(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let Some((_, since)) = self.stalled else { return Ok(()) };
        let at = tokio::time::Instant::from_std(since + self.limits.header_timeout);
        let deadline = self.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if deadline.as_mut().poll(cx).is_pending() {
            return Ok(());
        }
        if !std::mem::replace(&mut self.timed_out, true) {
            self.metrics.connection_cut(Cut::HeaderTimeout);
            tracing::debug!(
                timeout_seconds = self.limits.header_timeout.as_secs(),
                "closing a connection: its client stopped in the middle of its request headers"
            );
        }
        Err(io::Error::new(io::ErrorKind::TimedOut, "the request headers did not arrive in time"))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ClientStream<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                this.received(&buf.filled()[before..]);
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match this.check_deadline(cx) {
                Ok(()) => Poll::Pending,
                Err(error) => Poll::Ready(Err(error)),
            },
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ClientStream<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.replacing.is_none() && this.reader.is_http1() {
            this.replacing =
                refusals::replacement(buf).map(|answer| Replacing { answer, written: 0, covers: buf.len() });
        }
        if this.replacing.as_ref().is_some_and(Replacing::unfinished) {
            return this.poll_replacement(cx);
        }
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.pending_write(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if this.replacing.is_none() && this.reader.is_http1() && total <= refusals::MAX_HEAD {
            let written: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            this.replacing =
                refusals::replacement(&written).map(|answer| Replacing { answer, written: 0, covers: total });
        }
        if this.replacing.as_ref().is_some_and(Replacing::unfinished) {
            return this.poll_replacement(cx);
        }
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.pending_write(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.pending_write(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The contract-shaped answer being written in place of one of hyper's bodiless refusals.
struct Replacing {
    answer: Bytes,
    written: usize,
    /// The length of hyper's head, reported to hyper as written once the answer is out.
    covers: usize,
}

impl Replacing {
    fn unfinished(&self) -> bool {
        self.written < self.answer.len()
    }
}

impl<T: AsyncWrite + Unpin> ClientStream<T> {
    /// Writes the rest of the replacement answer; done, it tells hyper its head was written.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        loop {
            let Some(replacing) = self.replacing.as_mut() else { return Poll::Ready(Ok(0)) };
            if !replacing.unfinished() {
                return Poll::Ready(Ok(replacing.covers));
            }
            match Pin::new(&mut self.inner).poll_write(cx, &replacing.answer[replacing.written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => replacing.written += n,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return self.pending_write(cx, Poll::Pending),
            }
        }
    }
}

impl<T> ClientStream<T> {
    /// A write that cannot go on (the client reads nothing) keeps the header deadline too,
    /// since hyper may then not be reading.
    fn pending_write<R>(&mut self, cx: &mut Context<'_>, polled: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        match polled {
            Poll::Pending => match self.check_deadline(cx) {
                Ok(()) => Poll::Pending,
                Err(error) => Poll::Ready(Err(error)),
            },
            ready => ready,
        }
    }
}

/// The application as one connection runs it (see the module documentation).
#[derive(Clone)]
pub struct ConnectionService {
    app: Router,
    shared: Arc<Shared>,
}

impl<B> tower::Service<Request<B>> for ConnectionService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let (app, shared) = (self.app.clone(), self.shared.clone());
        Box::pin(async move {
            // Lets hyper see a RST_STREAM that came with the request before any work is done.
            tokio::task::yield_now().await;
            if shared.flagged.load(Ordering::Acquire) {
                let protocol = Protocol::of(request.headers(), request.uri().path());
                let message = "This connection is being closed: it reset too many streams";
                return Ok(refuse(protocol, request.headers().get(CONTENT_TYPE), UNAVAILABLE, message));
            }
            app.oneshot(request).await
        })
    }
}

/// Serves `app` on `io` until the connection ends, keeping `limits`; on `shutdown` the
/// connection is asked to finish (HTTP/1.1: after its request in progress; HTTP/2: GOAWAY).
///
/// # Errors
/// What hyper reports about the connection (a client that broke off, a protocol error, a
/// deadline passed); for logging only.
pub async fn serve<T>(
    io: T,
    builder: auto::Builder<TokioExecutor>,
    app: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let shared = Arc::new(Shared::default());
    let stream = ClientStream::new(io, limits, shared.clone(), metrics);
    let service = TowerToHyperService::new(ConnectionService { app, shared: shared.clone() });
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => result,
        _ = shutdown.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
        () = shared.flag.notified() => {
            connection.as_mut().graceful_shutdown();
            tokio::time::timeout(CLOSE_GRACE, connection).await.unwrap_or(Ok(()))
        }
    }
}
