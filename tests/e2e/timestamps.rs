//! Timestamps on input (issue 10): an expiration that is not a valid `google.protobuf.Timestamp`
//! (years 0001 to 9999, nanos 0 to 999,999,999; in JSON RFC 3339 with 0 to 9 fractional digits)
//! is InvalidArgument naming the field, on every protocol, and never a token that does not expire.

use crate::calls::{Call, Protocol, invoke};
use crate::harness::{Server, add_machine};
use persona_api_grpc::pb::google::protobuf::Timestamp;
use persona_api_grpc::pb::zitadel::management::v1 as pb;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_expirations_are_refused_on_every_protocol() {
    let server = Server::start().await;
    let (machine, _) = add_machine(&server, "bot", &[], json!({})).await;
    let admin = server.admin();
    let metadata = [("authorization", admin.as_str())];
    let message = "invalid AddPersonalAccessTokenRequest.ExpirationDate: value must be a valid timestamp: years 0001 to 9999, nanos 0 to 999999999";

    let malformed =
        [(253_402_300_800, 0), (i64::MAX, 0), (i64::MIN, 0), (4_102_444_800, 2_000_000_000), (4_102_444_800, -1)];
    for (seconds, nanos) in malformed {
        let request = pb::AddPersonalAccessTokenRequest {
            user_id: machine.clone(),
            expiration_date: Some(Timestamp { seconds, nanos }),
        };
        // The JSON mapping cannot even write these instants: REST is checked with strings below.
        for protocol in [Protocol::Grpc, Protocol::GrpcWeb] {
            let call = Call::AddPersonalAccessToken(request.clone());
            let outcome = invoke(&server, protocol, &call, &metadata).await.outcome;
            assert_eq!((outcome.code, outcome.message.as_str()), (3, message), "{protocol:?} {seconds} {nanos}");
            assert_eq!(outcome.violations, ["expirationDate"], "{protocol:?} {seconds} {nanos}");
        }
    }

    let path = format!("/management/v1/users/{machine}/pats");
    for date in ["10000-01-01T00:00:00Z", "2100-01-01T00:00:00.1234567890Z", "2100-12-31T23:59:60Z", "soon"] {
        let (status, _, outcome) = server.rest("POST", &path, &metadata, Some(json!({"expirationDate": date}))).await;
        assert_eq!((status, outcome.code), (400, 3), "REST {date}: {outcome:?}");
    }
    // The edges of the range are instants, and a token with one works.
    let (status, _, created) =
        server.rest("POST", &path, &metadata, Some(json!({"expirationDate": "9999-12-31T23:59:59.999999999Z"}))).await;
    assert_eq!(status, 200, "{created:?}");
    let bearer = format!("Bearer {}", created.ok()["token"].as_str().expect("token"));
    let (_, _, outcome) =
        server.rest("GET", "/management/v1/orgs/me", &[("authorization", bearer.as_str())], None).await;
    assert_eq!(outcome.message, "membership not found (AUTHZ-cdgFk)", "the token authenticates its (role-less) user");
}
