//! A raw HTTP/2 client (h2c with prior knowledge) that writes frames by hand, for what real
//! clients never do: streams reset by the thousand, header blocks left unfinished, pings left
//! unanswered, more streams than the server allows. A background task reads the server's
//! frames; it acknowledges SETTINGS, returns flow-control credit for DATA, and answers PINGs
//! only when asked to. Header blocks are HPACK literals without indexing (no Huffman coding),
//! which every HPACK decoder accepts.

use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{Mutex, mpsc};

/// The client connection preface.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Frame types.
pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;
pub const CONTINUATION: u8 = 0x9;

/// Flags.
pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;

/// Error codes.
pub const REFUSED_STREAM: u32 = 0x7;
pub const CANCEL: u32 = 0x8;

/// The `SETTINGS_MAX_CONCURRENT_STREAMS` identifier.
pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;

/// One frame from the server.
#[derive(Debug, Clone)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    fn u32_at(&self, at: usize) -> Option<u32> {
        let bytes: [u8; 4] = self.payload.get(at..at + 4)?.try_into().ok()?;
        Some(u32::from_be_bytes(bytes))
    }

    /// A GOAWAY's last stream id and error code.
    pub fn goaway(&self) -> Option<(u32, u32)> {
        (self.kind == GOAWAY).then(|| Some((self.u32_at(0)? & 0x7fff_ffff, self.u32_at(4)?))).flatten()
    }

    /// A RST_STREAM's error code.
    pub fn reset_code(&self) -> Option<u32> {
        (self.kind == RST_STREAM).then(|| self.u32_at(0)).flatten()
    }

    /// The (identifier, value) pairs of a SETTINGS frame.
    pub fn settings(&self) -> Vec<(u16, u32)> {
        if self.kind != SETTINGS {
            return Vec::new();
        }
        self.payload
            .chunks_exact(6)
            .map(|c| (u16::from_be_bytes([c[0], c[1]]), u32::from_be_bytes([c[2], c[3], c[4], c[5]])))
            .collect()
    }
}

/// A frame on the wire.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len()).expect("a small payload");
    let mut out = Vec::with_capacity(9 + payload.len());
    out.extend_from_slice(&length.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// An HPACK integer with an `n`-bit prefix, the prefix's other bits being `high`.
fn hpack_integer(out: &mut Vec<u8>, n: u32, high: u8, value: usize) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(high | u8::try_from(value).expect("fits the prefix"));
        return;
    }
    out.push(high | u8::try_from(max).expect("fits the prefix"));
    let mut rest = value - max;
    while rest >= 128 {
        out.push(u8::try_from(rest % 128).expect("seven bits") | 0x80);
        rest /= 128;
    }
    out.push(u8::try_from(rest).expect("seven bits"));
}

/// A header block of literal fields without indexing, new names, no Huffman coding.
pub fn header_block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.push(0x00);
        hpack_integer(&mut out, 7, 0, name.len());
        out.extend_from_slice(name.as_bytes());
        hpack_integer(&mut out, 7, 0, value.len());
        out.extend_from_slice(value.as_bytes());
    }
    out
}

/// The pseudo-headers of a request and `fields`, as a header block.
pub fn request_block(method: &str, path: &str, authority: &str, fields: &[(&str, &str)]) -> Vec<u8> {
    let mut all = vec![(":method", method), (":scheme", "http"), (":path", path), (":authority", authority)];
    all.extend_from_slice(fields);
    header_block(&all)
}

/// A complete HEADERS frame (END_HEADERS set), with END_STREAM when `end_stream`.
pub fn headers(stream: u32, block: &[u8], end_stream: bool) -> Vec<u8> {
    frame(HEADERS, END_HEADERS | if end_stream { END_STREAM } else { 0 }, stream, block)
}

/// A RST_STREAM frame.
pub fn reset(stream: u32, code: u32) -> Vec<u8> {
    frame(RST_STREAM, 0, stream, &code.to_be_bytes())
}

/// A DATA frame.
pub fn data(stream: u32, payload: &[u8], end_stream: bool) -> Vec<u8> {
    frame(DATA, if end_stream { END_STREAM } else { 0 }, stream, payload)
}

/// Writes to a [`RawH2`] connection, from any task.
#[derive(Clone)]
pub struct Writer(std::sync::Arc<Mutex<OwnedWriteHalf>>);

impl Writer {
    /// Writes `bytes` as they are; an error once the server has closed the connection.
    pub async fn send(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut writer = self.0.lock().await;
        writer.write_all(bytes).await?;
        writer.flush().await
    }
}

/// An HTTP/2 connection driven frame by frame.
/// Dropping it closes the connection.
pub struct RawH2 {
    writer: std::sync::Arc<Mutex<OwnedWriteHalf>>,
    frames: mpsc::UnboundedReceiver<Frame>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for RawH2 {
    fn drop(&mut self) {
        // The reader holds the read half and a writer handle: stopping it closes the socket.
        self.reader.abort();
    }
}

impl RawH2 {
    /// Connects, sends the preface and an empty SETTINGS frame; answers the server's PINGs only
    /// when `answer_pings`.
    pub async fn connect(address: &str, answer_pings: bool) -> Self {
        let stream = TcpStream::connect(address).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (mut reader, mut writer) = stream.into_split();
        let mut hello = PREFACE.to_vec();
        hello.extend(frame(SETTINGS, 0, 0, &[]));
        writer.write_all(&hello).await.expect("send the preface");
        let writer = std::sync::Arc::new(Mutex::new(writer));
        let (sender, frames) = mpsc::unbounded_channel();
        let answers = writer.clone();
        let reader = tokio::spawn(async move {
            loop {
                let mut head = [0u8; 9];
                if reader.read_exact(&mut head).await.is_err() {
                    return;
                }
                let length = usize::try_from(u32::from_be_bytes([0, head[0], head[1], head[2]])).expect("usize");
                let mut payload = vec![0u8; length];
                if reader.read_exact(&mut payload).await.is_err() {
                    return;
                }
                let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
                let received = Frame { kind: head[3], flags: head[4], stream, payload };
                let answer = match (received.kind, received.flags & ACK) {
                    (SETTINGS, 0) => Some(frame(SETTINGS, ACK, 0, &[])),
                    (PING, 0) if answer_pings => Some(frame(PING, ACK, 0, &received.payload)),
                    (DATA, _) if length > 0 => {
                        let credit = u32::try_from(length).expect("u32").to_be_bytes();
                        Some(frame(WINDOW_UPDATE, 0, 0, &credit))
                    }
                    _ => None,
                };
                if let Some(answer) = answer {
                    // The server may be gone already; the reader notices on its next read.
                    let _ = answers.lock().await.write_all(&answer).await;
                }
                if sender.send(received).is_err() {
                    return;
                }
            }
        });
        Self { writer, frames, reader }
    }

    /// Writes `bytes` as they are; an error once the server has closed the connection.
    pub async fn send(&self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer().send(bytes).await
    }

    /// A handle that writes to this connection from another task.
    pub fn writer(&self) -> Writer {
        Writer(self.writer.clone())
    }

    /// The next frame matching `wanted`, skipping others; `None` when the server closes the
    /// connection first. Panics when neither happens within `within`.
    pub async fn wait_for(&mut self, within: Duration, wanted: impl Fn(&Frame) -> bool) -> Option<Frame> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.frames.recv()).await {
                Ok(Some(frame)) if wanted(&frame) => return Some(frame),
                Ok(Some(_)) => {}
                Ok(None) => return None,
                Err(_) => panic!("no such frame and no close within {within:?}"),
            }
        }
    }

    /// Waits until the server closes the connection, and returns the frames it sent until then.
    /// Panics when it stays open longer than `within`.
    pub async fn closed(&mut self, within: Duration) -> Vec<Frame> {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.frames.recv()).await {
                Ok(Some(frame)) => seen.push(frame),
                Ok(None) => return seen,
                Err(_) => {
                    let kinds: Vec<u8> = seen.iter().map(|f| f.kind).collect();
                    panic!("the server kept the connection open for {within:?}; frame types seen: {kinds:?}")
                }
            }
        }
    }
}
