//! hyper's own refusals of HTTP/1.1 requests it cannot read, in the contract's shape.
//!
//! hyper answers a request it cannot parse before any of Persona's code runs: 400 for a
//! malformed request line or header, 414 for a URI too long, 431 for headers too large or too
//! many. It writes a fixed head (`connection: close`, `content-length: 0`, `date`) with no body
//! and offers no hook to change it. The listener's stream therefore recognises exactly that
//! head, written on its own as hyper does, and sends this module's answer in its place: the
//! same status, `{"code","message"}` as every other REST error, and the connection closed.
//!
//! Nothing Persona answers itself can look like it: every answer of Persona's carries
//! `x-request-id` and a content type, and bodies are JSON or text without bare CR LF.

use bytes::Bytes;
use persona_api_rest::error::ApiError;

/// gRPC code `InvalidArgument`.
const INVALID_ARGUMENT: i32 = 3;
/// gRPC code `ResourceExhausted`, as for a body over the limit (413).
const RESOURCE_EXHAUSTED: i32 = 8;

/// The statuses hyper refuses requests with, their reason phrases, and Persona's code and
/// message for each.
const REFUSALS: [(&str, i32, &str); 3] = [
    ("400 Bad Request", INVALID_ARGUMENT, "The request is not valid HTTP/1.1 (malformed request line or header)"),
    ("414 URI Too Long", RESOURCE_EXHAUSTED, "The request URI is too long"),
    ("431 Request Header Fields Too Large", RESOURCE_EXHAUSTED, "The request headers are too large or too many"),
];

/// The longest head hyper writes for a refusal (status line and three short headers).
pub const MAX_HEAD: usize = 160;

/// The answer to send instead of `written`, when `written` is exactly one of hyper's bodiless
/// refusal heads.
#[must_use]
pub fn replacement(written: &[u8]) -> Option<Bytes> {
    if written.len() > MAX_HEAD {
        return None;
    }
    let text = std::str::from_utf8(written).ok()?;
    let head = text.strip_prefix("HTTP/1.1 ")?.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let (_, code, message) = REFUSALS.iter().find(|(status, _, _)| *status == status_line)?;
    let mut date = None;
    for line in lines {
        let (name, value) = line.split_once(": ")?;
        match (name.to_ascii_lowercase().as_str(), value) {
            ("connection", "close") | ("content-length", "0") => {}
            ("date", value) => date = Some(value),
            _ => return None,
        }
    }
    let (_, _, body) = ApiError::Plain { code: *code, message: (*message).to_owned() }.to_json();
    let mut answer = format!(
        "HTTP/1.1 {status_line}\r\ncontent-type: application/json\r\ncache-control: no-store\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    if let Some(date) = date {
        answer.push_str(&format!("date: {date}\r\n"));
    }
    answer.push_str("\r\n");
    let mut bytes = answer.into_bytes();
    bytes.extend_from_slice(&body);
    Some(Bytes::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "date: Tue, 01 Dec 2026 08:40:32 GMT";

    fn head(status: &str, headers: &[&str]) -> Vec<u8> {
        let mut text = format!("HTTP/1.1 {status}\r\n");
        for header in headers {
            text.push_str(header);
            text.push_str("\r\n");
        }
        text.push_str("\r\n");
        text.into_bytes()
    }

    #[test]
    fn hypers_refusal_heads_are_replaced_by_the_contracts_error_body() {
        for (status, code, http) in
            [("400 Bad Request", 3, 400), ("414 URI Too Long", 8, 414), ("431 Request Header Fields Too Large", 8, 431)]
        {
            let written = head(status, &["connection: close", "content-length: 0", DATE]);
            let answer = replacement(&written).unwrap_or_else(|| panic!("{status} is replaced"));
            let text = String::from_utf8(answer.to_vec()).expect("UTF-8");
            let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
            assert!(head.starts_with(&format!("HTTP/1.1 {http} ")), "{head}");
            assert!(head.contains("content-type: application/json") && head.contains("connection: close"), "{head}");
            assert!(head.contains(&format!("content-length: {}", body.len())) && head.contains(DATE), "{head}");
            let json: serde_json::Value = serde_json::from_str(body).expect("JSON");
            assert_eq!(json["code"], code, "{json}");
            assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()), "{json}");
        }
    }

    #[test]
    fn anything_but_exactly_such_a_head_is_left_alone() {
        let table = [
            head("400 Bad Request", &["connection: close", "content-length: 0", DATE, "x-request-id: 1"]),
            head("400 Bad Request", &["content-type: application/json", "content-length: 2"]),
            head("404 Not Found", &["connection: close", "content-length: 0", DATE]),
            [head("400 Bad Request", &["content-length: 0"]), b"{}".to_vec()].concat(),
            [
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}".to_vec(),
                head("400 Bad Request", &["content-length: 0"]),
            ]
            .concat(),
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n".to_vec(),
            br#"{"code":3,"message":"HTTP/1.1 400 Bad Request"}"#.to_vec(),
        ];
        for written in table {
            assert!(replacement(&written).is_none(), "{}", String::from_utf8_lossy(&written));
        }
    }
}
