//! HTTP/2 as an attacker speaks it, frame by frame: rapid-reset floods, a header block left
//! unfinished, a connection that never says a word. Each gets a bounded answer (GOAWAY, a
//! closed connection), costs no work per reset stream, and everyone else keeps being served.

use super::frames::{
    ACK, CANCEL, CONTINUATION, GOAWAY, HEADERS, MAX_CONCURRENT_STREAMS, PING, REFUSED_STREAM, RST_STREAM, RawH2,
    SETTINGS, data, frame, headers, request_block, reset,
};
use crate::calls::{Call, PROTOCOLS, invoke};
use crate::harness::Server;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// How long a test waits for the server's answer to a flood before it calls it a hang.
const PATIENCE: Duration = Duration::from_secs(20);

/// `persona_requests_total` of `protocol` and `rpc`, summed over every code: the requests that
/// reached the API (authentication, a database read) rather than being dropped before.
async fn handled(server: &Server, protocol: &str, rpc: &str) -> f64 {
    let prefix = format!("persona_requests_total{{protocol=\"{protocol}\",rpc=\"{rpc}\",");
    let text = server.metrics().await;
    let counts =
        text.lines().filter(|l| l.starts_with(&prefix)).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok());
    counts.fold(0.0, |sum, count| sum + count)
}

/// `streams` HEADERS + RST_STREAM pairs of `GET /management/v1/orgs/me` with a token that is
/// never cached (each handled stream would read the database), as one byte string per pair.
fn flood(server: &Server, streams: u32) -> Vec<Vec<u8>> {
    let block = request_block("GET", "/management/v1/orgs/me", &server.address, &[("authorization", "Bearer unknown")]);
    (0..streams)
        .map(|n| {
            let stream = 2 * n + 1;
            let mut pair = headers(stream, &block, true);
            pair.extend(reset(stream, CANCEL));
            pair
        })
        .collect()
}

/// Sends `pairs` on `h2` from a task of its own, each pair `pause` after the last (none: as
/// fast as the socket takes them), until all are sent or the server closes the connection.
fn send_all(h2: &RawH2, pairs: Vec<Vec<u8>>, pause: Option<Duration>) -> tokio::task::JoinHandle<usize> {
    let writer = h2.writer();
    tokio::spawn(async move {
        let mut sent = 0;
        let batches: Vec<Vec<u8>> = if pause.is_some() { pairs } else { vec![pairs.concat()] };
        for batch in batches {
            if writer.send(&batch).await.is_err() {
                break;
            }
            sent += 1;
            if let Some(pause) = pause {
                tokio::time::sleep(pause).await;
            }
        }
        sent
    })
}

#[tokio::test]
async fn rapid_reset_floods_get_goaway_and_are_not_handled_stream_by_stream() {
    const STREAMS: u32 = 3000;
    let server = Server::start().await;

    // As fast as the socket takes them: h2 itself refuses more than 20 streams reset before
    // they were taken up (limits.http2_max_pending_reset_streams).
    let mut bulk = RawH2::connect(&server.address, false).await;
    let writer = send_all(&bulk, flood(&server, STREAMS), None);
    let goaway = bulk.wait_for(PATIENCE, |f| f.kind == GOAWAY).await.expect("a GOAWAY before the close");
    let (last_stream, code) = goaway.goaway().expect("a GOAWAY payload");
    bulk.closed(PATIENCE).await;
    writer.await.expect("the writer");
    eprintln!("bulk flood of {STREAMS} streams: GOAWAY code {code} after stream {last_stream}");
    assert_eq!(code, 0xb, "ENHANCE_YOUR_CALM");
    assert!(last_stream < 2 * STREAMS / 10, "stopped early: {last_stream}");
    let after_bulk = handled(&server, "rest", "GetMyOrg").await;

    // Paced so that every read holds one or two pairs: each stream is taken up before its
    // reset arrives, and Persona counts the resets itself (limits.http2_max_reset_streams).
    let mut paced = RawH2::connect(&server.address, false).await;
    let writer = send_all(&paced, flood(&server, STREAMS), Some(Duration::from_millis(1)));
    let goaway = paced.wait_for(PATIENCE, |f| f.kind == GOAWAY).await.expect("a GOAWAY before the close");
    paced.closed(PATIENCE).await;
    let sent = writer.await.expect("the writer");
    let handled = handled(&server, "rest", "GetMyOrg").await - after_bulk;
    eprintln!(
        "paced flood: GOAWAY {:?} after {sent} of {STREAMS} pairs were written; {handled} streams reached the API \
         (bulk flood: {after_bulk})",
        goaway.goaway()
    );
    assert!(server.metric("persona_connections_cut_total{reason=\"reset_flood\"}").await >= Some(1.0));
    // A stream reset before its task ran is dropped before authentication: far fewer streams
    // than the default limit of 100 resets reach the API, let alone one per stream sent.
    assert!(handled < 100.0, "{handled} of {sent} reset streams were handled");

    // Everyone else is served as before.
    let admin = server.admin();
    for protocol in PROTOCOLS {
        let reply = invoke(&server, protocol, &Call::GetMyOrg, &[("authorization", &admin)]).await;
        assert_eq!(reply.outcome.code, 0, "{protocol:?} is served: {reply:?}");
    }
}

#[tokio::test]
async fn unfinished_header_blocks_and_silent_connections_are_closed_at_the_header_deadline() {
    // Keep-alive pings off, so that only the header deadline can close anything.
    let server = Server::start_with(&[
        ("PERSONA_LIMITS__HEADER_READ_TIMEOUT_SECONDS", "1"),
        ("PERSONA_LIMITS__HTTP2_KEEP_ALIVE_INTERVAL_SECONDS", "0"),
    ])
    .await;
    let mut idle = RawH2::connect(&server.address, true).await;

    // HEADERS without END_HEADERS, then silence (after the SETTINGS exchange: nothing but a
    // CONTINUATION may follow the HEADERS).
    let mut stalled = RawH2::connect(&server.address, true).await;
    stalled.wait_for(PATIENCE, |f| f.kind == SETTINGS && f.flags & ACK == 0).await.expect("the server's SETTINGS");
    let block = request_block("GET", "/healthz", &server.address, &[]);
    let (first, second) = block.split_at(block.len() / 2);
    let mut unfinished = frame(HEADERS, 0x1, 1, first);
    unfinished.extend(frame(CONTINUATION, 0, 1, &second[..second.len() / 2]));
    stalled.send(&unfinished).await.expect("most of a header block");
    stalled.closed(PATIENCE).await;

    // Half a preface, then silence; and no byte at all.
    let mut half_preface = TcpStream::connect(&server.address).await.expect("connect");
    tokio::io::AsyncWriteExt::write_all(&mut half_preface, b"PRI * HTTP/2.0\r\n").await.expect("write");
    let mut silent = TcpStream::connect(&server.address).await.expect("connect");
    for connection in [&mut half_preface, &mut silent] {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(PATIENCE, connection.read(&mut byte)).await.expect("closed, not kept open");
        assert!(matches!(read, Ok(0) | Err(_)), "closed without an answer: {read:?}");
    }
    let cut = server.metric("persona_connections_cut_total{reason=\"header_timeout\"}").await;
    assert!(cut >= Some(3.0), "{cut:?}\n{}", server.logs());

    // A connection that finished its header blocks may stay idle: it still gets answers.
    idle.send(&headers(1, &block, true)).await.expect("a request on the idle connection");
    let answer = idle.wait_for(PATIENCE, |f| f.kind == HEADERS && f.stream == 1).await;
    assert!(answer.is_some(), "the idle connection was closed");
}

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_closed_and_one_that_answers_stays() {
    let server = Server::start_with(&[
        ("PERSONA_LIMITS__HTTP2_KEEP_ALIVE_INTERVAL_SECONDS", "1"),
        ("PERSONA_LIMITS__HTTP2_KEEP_ALIVE_TIMEOUT_SECONDS", "1"),
    ])
    .await;
    let mut answering = RawH2::connect(&server.address, true).await;
    let mut silent = RawH2::connect(&server.address, false).await;

    let ping = silent.wait_for(PATIENCE, |f| f.kind == PING && f.flags & ACK == 0).await;
    assert!(ping.is_some(), "the server pings an idle connection");
    silent.closed(PATIENCE).await;

    // Three pings, each answered: the connection is still open and serves requests.
    for _ in 0..3 {
        let ping = answering.wait_for(PATIENCE, |f| f.kind == PING && f.flags & ACK == 0).await;
        assert!(ping.is_some(), "pinged, and still open");
    }
    let block = request_block("GET", "/healthz", &server.address, &[]);
    answering.send(&headers(1, &block, true)).await.expect("a request");
    let answer = answering.wait_for(PATIENCE, |f| f.kind == HEADERS && f.stream == 1).await;
    assert!(answer.is_some(), "the answering connection is served");
}

#[tokio::test]
async fn streams_beyond_max_concurrent_streams_are_refused_while_the_others_run() {
    let server = Server::start_with(&[("PERSONA_LIMITS__HTTP2_MAX_CONCURRENT_STREAMS", "2")]).await;
    let mut h2 = RawH2::connect(&server.address, true).await;
    let settings = h2.wait_for(PATIENCE, |f| f.kind == SETTINGS && f.flags & ACK == 0).await.expect("SETTINGS");
    assert!(settings.settings().contains(&(MAX_CONCURRENT_STREAMS, 2)), "{:?}", settings.settings());

    // Three POSTs whose bodies are half sent: two run (waiting for their bodies), the third
    // is refused.
    let auth = server.admin();
    let fields = [("authorization", auth.as_str()), ("content-type", "application/json"), ("content-length", "40")];
    let block = request_block("POST", "/management/v1/orgs", &server.address, &fields);
    for stream in [1, 3, 5] {
        let mut bytes = headers(stream, &block, false);
        bytes.extend(data(stream, br#"{"name":"#, false));
        h2.send(&bytes).await.expect("open a stream");
    }
    let refused = h2.wait_for(PATIENCE, |f| f.kind == RST_STREAM && f.stream == 5).await.expect("stream 5 reset");
    assert_eq!(refused.reset_code(), Some(REFUSED_STREAM));
    server.wait_for_in_flight_to_be(2).await;

    // Once one of the two ends, a new stream runs.
    // The rest of the 40 bytes declared (trailing spaces are valid JSON).
    let rest = format!("{:<32}", r#""Two at a time"}"#);
    h2.send(&data(1, rest.as_bytes(), true)).await.expect("finish stream 1");
    let answered = h2.wait_for(PATIENCE, |f| f.kind == HEADERS && f.stream == 1).await;
    assert!(answered.is_some(), "stream 1 is answered");
    let healthz = request_block("GET", "/healthz", &server.address, &[]);
    h2.send(&headers(7, &healthz, true)).await.expect("open stream 7");
    let answered = h2.wait_for(PATIENCE, |f| (f.kind == HEADERS || f.kind == RST_STREAM) && f.stream == 7).await;
    assert_eq!(answered.map(|f| f.kind), Some(HEADERS), "stream 7 is served");
}
