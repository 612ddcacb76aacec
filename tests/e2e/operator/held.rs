//! Requests held open by the test: a body sent in two parts, so that the server keeps the
//! request in flight (for shutdown, shedding and the in-flight gauge) as long as the test wants.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An HTTP/1.1 request whose body is sent in two parts, so that the server holds it in flight
/// for as long as the test wants.
pub struct HeldRequest {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl HeldRequest {
    /// Sends the headers and the first half of `body`.
    pub async fn open(address: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Self {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let half = body.len() / 2;
        stream.write_all(head.as_bytes()).await.expect("send headers");
        stream.write_all(&body[..half]).await.expect("send half the body");
        stream.flush().await.expect("flush");
        Self { stream, rest: body[half..].to_vec() }
    }

    /// Sends the rest of the body and reads the answer: status and body.
    pub async fn finish(self) -> (u16, Vec<u8>) {
        self.send_rest().await.answer().await
    }

    /// Sends the rest of the body, leaving the answer unread.
    pub async fn send_rest(mut self) -> Self {
        let rest = std::mem::take(&mut self.rest);
        self.stream.write_all(&rest).await.expect("send the rest");
        self
    }

    /// Reads the answer without sending the rest of the body.
    pub async fn answer(mut self) -> (u16, Vec<u8>) {
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(30), self.stream.read_to_end(&mut raw))
            .await
            .expect("an answer within 30 s")
            .expect("read the answer");
        parse_response(&raw)
    }
}

/// Status and body of a raw HTTP/1.1 response that ends with the connection.
fn parse_response(raw: &[u8]) -> (u16, Vec<u8>) {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete response head");
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status code");
    let body = &raw[split + 4..];
    let chunked = head.lines().any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding: chunked"));
    if !chunked {
        return (status, body.to_vec());
    }
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..end]).trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        out.extend_from_slice(&rest[end + 2..end + 2 + size]);
        rest = &rest[end + 2 + size + 2..];
    }
    (status, out)
}
