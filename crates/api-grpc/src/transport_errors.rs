//! Requests that cannot be read are the client's fault. tonic answers a message that is not
//! protobuf (or holds a string that is not UTF-8), no message at all, a frame cut short, a compressed flag without
//! an encoding, and broken gRPC-Web base64 with `Internal` (13), and a message over the size
//! limit with `OutOfRange` (11). Persona answers those with `InvalidArgument` (3) and
//! `ResourceExhausted` (8), as REST answers an undecodable body (400, code 3) and a body over the
//! limit (413, code 8): the same fault gets the same code on every protocol, and `Internal`
//! stays reserved for Persona's own failures.
//!
//! Such errors happen before any handler runs, so tonic sends them "trailers-only", in the
//! response headers: [`remap`] rewrites exactly those, matched by tonic's own wording.

use axum::response::Response;
use tonic::{Code, Status};

/// (tonic's code, the start of tonic's message, the code Persona answers with instead).
const CLIENT_FAULTS: [(Code, &str, Code); 6] = [
    (Code::Internal, "failed to decode Protobuf message", Code::InvalidArgument),
    (Code::Internal, "Missing request message", Code::InvalidArgument),
    (Code::Internal, "Unexpected EOF decoding stream", Code::InvalidArgument),
    (Code::Internal, "protocol error: received message with", Code::InvalidArgument),
    (Code::Internal, "tonic-web: ", Code::InvalidArgument),
    (Code::OutOfRange, "Error, decoded message length too large", Code::ResourceExhausted),
];

/// The code a request-reading failure reported as `status` should carry, if it is one.
#[must_use]
pub fn client_fault(status: &Status) -> Option<Code> {
    CLIENT_FAULTS
        .iter()
        .find(|(code, prefix, _)| status.code() == *code && status.message().starts_with(prefix))
        .map(|(_, _, replacement)| *replacement)
}

/// Rewrites the code of a trailers-only answer to a request that could not be read; leaves
/// every other answer alone. Apply it to the gRPC routes, inside the gRPC-Web translation.
pub async fn remap(mut response: Response) -> Response {
    if let Some(status) = Status::from_header_map(response.headers())
        && let Some(code) = client_fault(&status)
    {
        // The message came from these very headers, so it encodes again; on the impossible
        // failure the original status stays, which is still an answer.
        let _ = Status::new(code, status.message()).add_header(response.headers_mut());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_requests_are_client_faults_and_other_statuses_stay() {
        let table = [
            (Status::internal("failed to decode Protobuf message: invalid wire type"), Some(Code::InvalidArgument)),
            (Status::internal("Unexpected EOF decoding stream."), Some(Code::InvalidArgument)),
            (Status::internal("Missing request message."), Some(Code::InvalidArgument)),
            (
                Status::internal("protocol error: received message with compressed-flag but no grpc-encoding"),
                Some(Code::InvalidArgument),
            ),
            (Status::internal("tonic-web: malformed base64 request"), Some(Code::InvalidArgument)),
            (
                Status::out_of_range("Error, decoded message length too large: found 9 bytes"),
                Some(Code::ResourceExhausted),
            ),
            (Status::internal("The stored data is corrupt (PERSONA-DB002)"), None),
            (Status::out_of_range("something else"), None),
            (Status::invalid_argument("failed to decode Protobuf message"), None),
        ];
        for (status, expected) in table {
            assert_eq!(client_fault(&status), expected, "{status:?}");
        }
    }

    #[tokio::test]
    async fn remap_rewrites_the_trailers_only_status() {
        let mut response = Response::new(axum::body::Body::empty());
        Status::internal("Unexpected EOF decoding stream.").add_header(response.headers_mut()).expect("headers");
        let response = remap(response).await;
        let status = Status::from_header_map(response.headers()).expect("a status");
        assert_eq!((status.code(), status.message()), (Code::InvalidArgument, "Unexpected EOF decoding stream."));

        let mut response = Response::new(axum::body::Body::empty());
        Status::internal("a real failure").add_header(response.headers_mut()).expect("headers");
        let response = remap(response).await;
        assert_eq!(Status::from_header_map(response.headers()).map(|s| s.code()), Some(Code::Internal));
    }
}
