//! A passive reader of what a client sends, for the limits hyper does not keep itself.
//!
//! It sees the same bytes hyper reads, changes none of them, and tells:
//! - whether the connection speaks HTTP/2 (it starts with the client preface) or HTTP/1.1;
//! - whether the client is in the middle of its preface, of a frame header, or of a header
//!   block (a `HEADERS` frame and its `CONTINUATION`s up to the one with `END_HEADERS`). A
//!   client that stops there holds the connection without ever making a request, so the
//!   listener gives those moments a deadline;
//! - how many streams the client opened and how many it reset (`RST_STREAM`), which is how a
//!   rapid-reset flood shows.
//!
//! Only frame headers are parsed (9 bytes: length, type, flags, stream id); payloads are
//! skipped, so the cost is a few comparisons per frame.

/// The HTTP/2 client connection preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Frame types that matter here.
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const PUSH_PROMISE: u8 = 0x5;
const CONTINUATION: u8 = 0x9;

/// The `END_HEADERS` flag of `HEADERS`, `PUSH_PROMISE` and `CONTINUATION`.
const END_HEADERS: u8 = 0x4;

/// Where in the client's byte stream the reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The first bytes: `matched` of them equal the HTTP/2 preface so far.
    Preface { matched: usize },
    /// Not HTTP/2: hyper's HTTP/1.1 reader keeps its own header deadline.
    Http1,
    /// Reading a frame header: `have` of its 9 bytes so far.
    FrameHeader { have: usize },
    /// Skipping `left` payload bytes of a frame of type `kind`.
    Payload { kind: u8, left: usize },
}

/// What the client sent so far, as far as the limits care.
#[derive(Debug, Clone)]
pub struct FrameReader {
    phase: Phase,
    header: [u8; 9],
    /// Inside a header block: a `HEADERS` or `PUSH_PROMISE` without `END_HEADERS` was read and
    /// the `CONTINUATION` that ends it has not been read completely.
    in_header_block: bool,
    /// Whether the frame being read ends its header block.
    ends_block: bool,
    /// Numbers what the client is in the middle of: each frame header begun outside a header
    /// block starts a new one (a header block is one thing from its HEADERS to its end).
    unit: u64,
    highest_stream: u32,
    opened: u64,
    resets: u64,
}

impl Default for FrameReader {
    fn default() -> Self {
        Self {
            phase: Phase::Preface { matched: 0 },
            header: [0; 9],
            in_header_block: false,
            ends_block: false,
            unit: 0,
            highest_stream: 0,
            opened: 0,
            resets: 0,
        }
    }
}

impl FrameReader {
    /// Takes note of `bytes`, the next ones the client sent.
    pub fn read(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match self.phase {
                Phase::Http1 => return,
                Phase::Preface { matched } => {
                    let take = (PREFACE.len() - matched).min(bytes.len());
                    if bytes[..take] != PREFACE[matched..matched + take] {
                        self.phase = Phase::Http1;
                        return;
                    }
                    bytes = &bytes[take..];
                    let matched = matched + take;
                    self.phase = if matched == PREFACE.len() {
                        Phase::FrameHeader { have: 0 }
                    } else {
                        Phase::Preface { matched }
                    };
                }
                Phase::FrameHeader { have } => {
                    if have == 0 && !self.in_header_block {
                        self.unit += 1;
                    }
                    let take = (9 - have).min(bytes.len());
                    self.header[have..have + take].copy_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    if have + take < 9 {
                        self.phase = Phase::FrameHeader { have: have + take };
                    } else {
                        self.frame_started();
                    }
                }
                Phase::Payload { kind, left } => {
                    let take = left.min(bytes.len());
                    bytes = &bytes[take..];
                    if take == left {
                        self.frame_ended(kind);
                    } else {
                        self.phase = Phase::Payload { kind, left: left - take };
                    }
                }
            }
        }
    }

    /// A frame header is complete: count what it opens or resets.
    fn frame_started(&mut self) {
        let [l0, l1, l2, kind, flags, s0, s1, s2, s3] = self.header;
        let length = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
        let stream = u32::from_be_bytes([s0 & 0x7f, s1, s2, s3]);
        match kind {
            HEADERS => {
                // A HEADERS frame on a new stream id opens a stream; on a known one it carries
                // trailers.
                if stream > self.highest_stream {
                    self.highest_stream = stream;
                    self.opened += 1;
                }
                self.in_header_block = true;
                self.ends_block = flags & END_HEADERS != 0;
            }
            PUSH_PROMISE => {
                self.in_header_block = true;
                self.ends_block = flags & END_HEADERS != 0;
            }
            CONTINUATION => self.ends_block = flags & END_HEADERS != 0,
            RST_STREAM => self.resets += 1,
            _ => {}
        }
        self.phase = Phase::Payload { kind, left: length };
        if length == 0 {
            self.frame_ended(kind);
        }
    }

    fn frame_ended(&mut self, kind: u8) {
        if matches!(kind, HEADERS | PUSH_PROMISE | CONTINUATION) && self.ends_block {
            self.in_header_block = false;
        }
        self.phase = Phase::FrameHeader { have: 0 };
    }

    /// Whether the connection turned out not to be HTTP/2 (hyper's HTTP/1.1 deadline applies).
    #[must_use]
    pub fn is_http1(&self) -> bool {
        self.phase == Phase::Http1
    }

    /// Whether the client stopped somewhere it must not linger: in its preface (or before its
    /// first byte), in a frame header, or in a header block.
    #[cfg(test)]
    fn is_mid_header(&self) -> bool {
        self.stalled_in().is_some()
    }

    /// What the client is in the middle of, when [`is_mid_header`](Self::is_mid_header): the
    /// same value as long as it is the same preface, frame header or header block, so that a
    /// deadline runs from its start however many reads it takes, and starts again for the next.
    #[must_use]
    pub fn stalled_in(&self) -> Option<u64> {
        let mid = match self.phase {
            Phase::Http1 => false,
            Phase::Preface { .. } => true,
            Phase::FrameHeader { have } => have > 0 || self.in_header_block,
            Phase::Payload { .. } => self.in_header_block,
        };
        mid.then_some(self.unit)
    }

    /// Streams the client opened (HTTP/2).
    #[must_use]
    pub fn opened(&self) -> u64 {
        self.opened
    }

    /// `RST_STREAM` frames the client sent (HTTP/2).
    #[must_use]
    pub fn resets(&self) -> u64 {
        self.resets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let length = u32::try_from(payload.len()).expect("small");
        let mut out = length.to_be_bytes()[1..].to_vec();
        out.extend([kind, flags]);
        out.extend(stream.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn fed(chunks: &[&[u8]]) -> FrameReader {
        let mut reader = FrameReader::default();
        for chunk in chunks {
            reader.read(chunk);
        }
        reader
    }

    #[test]
    fn a_connection_is_mid_header_until_its_preface_is_complete_and_http1_never() {
        assert!(FrameReader::default().is_mid_header(), "before the first byte");
        let half = fed(&[&PREFACE[..10]]);
        assert!(half.is_mid_header() && !half.is_http1());
        let whole = fed(&[&PREFACE[..10], &PREFACE[10..]]);
        assert!(!whole.is_mid_header() && !whole.is_http1());
        let http1 = fed(&[b"GET / HTTP/1.1\r\n"]);
        assert!(http1.is_http1() && !http1.is_mid_header());
        // "PRI" that goes on differently is HTTP/1.1 too.
        assert!(fed(&[b"PRI * HTTP/1.1\r\n"]).is_http1());
    }

    #[test]
    fn header_blocks_are_open_until_the_frame_with_end_headers_has_arrived_whole() {
        let settings = frame(0x4, 0, 0, &[]);
        let open = frame(HEADERS, 0, 1, b"block");
        let more = frame(CONTINUATION, 0, 1, b"more");
        let end = frame(CONTINUATION, END_HEADERS, 1, b"end");
        let complete = frame(HEADERS, END_HEADERS | 0x1, 3, b"whole");
        let data = frame(0x0, 0, 3, b"body");

        let table: [(&str, Vec<&[u8]>, bool); 8] = [
            ("settings only", vec![PREFACE, &settings], false),
            ("half a frame header", vec![PREFACE, &settings[..4]], true),
            ("HEADERS without END_HEADERS", vec![PREFACE, &open], true),
            ("and a CONTINUATION without it", vec![PREFACE, &open, &more], true),
            ("the last CONTINUATION, cut short", vec![PREFACE, &open, &more, &end[..11]], true),
            ("the last CONTINUATION, whole", vec![PREFACE, &open, &more, &end], false),
            ("a complete HEADERS, cut short", vec![PREFACE, &complete[..12]], true),
            ("a complete HEADERS and half its DATA", vec![PREFACE, &complete, &data[..11]], false),
        ];
        for (case, chunks, mid) in table {
            assert_eq!(fed(&chunks).is_mid_header(), mid, "{case}");
            // Byte by byte gives the same answer.
            let bytes: Vec<u8> = chunks.concat();
            let singles: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(fed(&singles).is_mid_header(), mid, "{case}, byte by byte");
        }
    }

    #[test]
    fn each_header_block_is_its_own_stall_however_the_reads_fall() {
        let block = frame(HEADERS, END_HEADERS | 0x1, 1, b"a header block");
        let mut bytes = PREFACE.to_vec();
        for stream in [1u32, 3, 5, 7] {
            bytes.extend(frame(HEADERS, END_HEADERS | 0x1, stream, b"a header block"));
        }
        // Reads that each end inside the next HEADERS frame (the preface being one byte longer
        // than a frame): never a clean point in between until the last.
        let mut reader = FrameReader::default();
        let mut seen = Vec::new();
        for chunk in bytes.chunks(block.len()) {
            reader.read(chunk);
            seen.extend(reader.stalled_in());
        }
        assert!(!reader.is_mid_header(), "the last read ends the last block");
        seen.dedup();
        assert_eq!(seen.len(), 5, "the preface and every block are told apart: {seen:?}");
        // A block continued over several frames stays one.
        let mut reader = fed(&[PREFACE, &frame(HEADERS, 0, 1, b"first")]);
        let open = reader.stalled_in();
        reader.read(&frame(CONTINUATION, 0, 1, b"second"));
        assert_eq!(reader.stalled_in(), open);
    }

    #[test]
    fn opened_streams_and_resets_are_counted_trailers_aside() {
        let mut bytes = PREFACE.to_vec();
        for stream in [1u32, 3, 5] {
            bytes.extend(frame(HEADERS, END_HEADERS, stream, b"h"));
            bytes.extend(frame(RST_STREAM, 0, stream, &8u32.to_be_bytes()));
        }
        bytes.extend(frame(HEADERS, END_HEADERS | 0x1, 5, b"trailers"));
        let reader = fed(&[&bytes]);
        assert_eq!((reader.opened(), reader.resets()), (3, 3));
        assert!(!reader.is_mid_header());
    }
}
