//! The request headers (REST) or metadata (gRPC, gRPC-Web) that every call carries besides its
//! message, read the same way for all three protocols.

use http::HeaderMap;
use persona_domain::RequestMeta;

/// `authorization: Bearer <token>`.
pub const AUTHORIZATION: &str = "authorization";
/// `x-zitadel-orgid`: the org to act in.
pub const ORG_ID: &str = "x-zitadel-orgid";
/// `if-match: "<sequence>"`: Persona's conditional update.
pub const IF_MATCH: &str = "if-match";
/// `x-persona-validate-only: true`: run every check, write nothing.
pub const VALIDATE_ONLY: &str = "x-persona-validate-only";

/// The values of the headers Persona reads, owned, so that [`RequestMeta`] can borrow them.
///
/// A value that is not valid UTF-8 is kept with replacement characters, so it fails the
/// domain's checks (`invalid auth header`, unknown org, malformed `If-Match`) instead of
/// counting as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestHeaders {
    authorization: Option<String>,
    org_id: Option<String>,
    if_match: Option<String>,
    validate_only: bool,
}

fn text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

impl RequestHeaders {
    /// Reads the headers of an HTTP request (for gRPC: `tonic::metadata::MetadataMap::as_ref`).
    /// The first value counts when a header is repeated.
    #[must_use]
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self {
            authorization: text(headers, AUTHORIZATION),
            org_id: text(headers, ORG_ID),
            if_match: text(headers, IF_MATCH),
            validate_only: text(headers, VALIDATE_ONLY).is_some_and(|value| value.trim().eq_ignore_ascii_case("true")),
        }
    }

    /// The headers as the application service takes them.
    #[must_use]
    pub fn meta(&self) -> RequestMeta<'_> {
        RequestMeta {
            authorization: self.authorization.as_deref(),
            org_id: self.org_id.as_deref(),
            if_match: self.if_match.as_deref(),
            validate_only: self.validate_only,
        }
    }

    /// Whether the caller asked for a dry run.
    #[must_use]
    pub fn validate_only(&self) -> bool {
        self.validate_only
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn headers_become_request_meta() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        headers.insert(ORG_ID, HeaderValue::from_static("7"));
        headers.insert(IF_MATCH, HeaderValue::from_static("\"3\""));
        headers.insert(VALIDATE_ONLY, HeaderValue::from_static("TRUE"));
        let read = RequestHeaders::from_headers(&headers);
        let meta = read.meta();
        assert_eq!(meta.authorization, Some("Bearer abc"));
        assert_eq!(meta.org_id, Some("7"));
        assert_eq!(meta.if_match, Some("\"3\""));
        assert!(meta.validate_only);
    }

    #[test]
    fn absent_headers_are_none_and_validate_only_needs_true() {
        let mut headers = HeaderMap::new();
        headers.insert(VALIDATE_ONLY, HeaderValue::from_static("yes"));
        let read = RequestHeaders::from_headers(&headers);
        let meta = read.meta();
        assert_eq!((meta.authorization, meta.org_id, meta.if_match), (None, None, None));
        assert!(!meta.validate_only);
    }

    #[test]
    fn non_utf8_values_are_kept_so_that_they_fail_checks() {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_bytes(b"Bearer \xff").expect("obs-text is a valid header value");
        headers.insert(AUTHORIZATION, value);
        let read = RequestHeaders::from_headers(&headers);
        assert_eq!(read.meta().authorization, Some("Bearer \u{fffd}"));
    }
}
