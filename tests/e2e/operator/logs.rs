//! JSON logs: one line per request in a span with protocol, RPC, route, org header, the org the
//! request acted in, request id, result code and latency; and never a token, password or profile
//! value, at any level.

use crate::calls::{Call, Protocol, invoke};
use crate::harness::{Launch, Server};
use bytes::Bytes;
use persona_api_grpc::pb::zitadel::management::v1 as pb;
use persona_api_grpc::pb::zitadel::management::v1::management_service_client::ManagementServiceClient;
use serde_json::{Value, json};
use std::time::Duration;
use tonic::transport::Channel;

fn with_auth<T>(message: T, auth: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", auth.parse().expect("metadata"));
    request
}

/// The log lines (all JSON) whose span has `field` = `value`.
fn lines_with<'a>(lines: &'a [Value], field: &str, value: &str) -> Vec<&'a Value> {
    lines.iter().filter(|line| line["span"][field] == value).collect()
}

#[tokio::test]
async fn json_logs_trace_each_request_and_never_hold_secrets() {
    let options = Launch {
        env: vec![
            ("PERSONA_LOG__FORMAT".to_owned(), "json".to_owned()),
            ("PERSONA_LOG__LEVEL".to_owned(), "trace".to_owned()),
        ],
        ..Launch::default()
    };
    let mut server = Server::launch(options).await;
    let admin = server.admin();
    let secrets = ["Firstname-Qx7", "Lastname-Qx7", "Nick-Qx7", "Display-Qx7", "qx7@example.com", "Hunter2-Qx7"];

    // REST, with the client's request id and an explicit org.
    let (status, _, org) = server.rest_as_admin("GET", "/management/v1/orgs/me", None).await;
    assert_eq!(status, 200);
    let org_id = org["org"]["id"].as_str().expect("org id").to_owned();
    let body = json!({
        "userName": "qx7",
        "profile": {"firstName": secrets[0], "lastName": secrets[1], "nickName": secrets[2]},
        "email": {"email": secrets[4]}
    });
    let headers = [
        ("content-type", "application/json"),
        ("authorization", admin.as_str()),
        ("x-request-id", "e2e-trace-1"),
        ("x-zitadel-orgid", org_id.as_str()),
    ];
    let (status, response_headers, created) = server
        .request("POST", "/management/v1/users/human", &headers, Bytes::from(body.to_string()))
        .await
        .expect("add user");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&created));
    assert_eq!(response_headers["x-request-id"], "e2e-trace-1");
    let created: Value = serde_json::from_slice(&created).expect("JSON");
    let user_id = created["userId"].as_str().expect("user id").to_owned();

    // A password the import refuses, and a token that does not exist.
    let import = json!({"userName": "qx8", "profile": {"firstName": "A", "lastName": "B"},
        "email": {"email": "qx8@example.com"}, "password": secrets[5]});
    let (status, generated, _) = server.rest_as_admin("POST", "/management/v1/users/human/_import", Some(import)).await;
    assert_eq!(status, 400);
    let generated_id = generated["x-request-id"].to_str().expect("id").to_owned();
    assert_eq!(generated_id.len(), 32, "a generated request id: {generated_id}");
    let bogus = "Bearer bogus-token-Qx7";
    let headers = [("authorization", bogus), ("x-request-id", "e2e-trace-401")];
    let (status, _, _) = server.request("GET", "/management/v1/orgs/me", &headers, Bytes::new()).await.expect("401");
    assert_eq!(status, 401);

    // Another org, acted in through the header.
    let (status, _, second) =
        server.rest_as_admin("POST", "/management/v1/orgs", Some(json!({"name": "Second Qx7"}))).await;
    assert_eq!(status, 200, "{second}");
    let second_id = second["id"].as_str().expect("org id").to_owned();
    let headers =
        [("authorization", admin.as_str()), ("x-zitadel-orgid", second_id.as_str()), ("x-request-id", "e2e-trace-2")];
    let (status, _, _) = server.request("GET", "/management/v1/orgs/me", &headers, Bytes::new()).await.expect("org");
    assert_eq!(status, 200);

    // gRPC: update the profile, create a machine user and its token.
    let channel =
        Channel::from_shared(format!("http://{}", server.address)).expect("uri").connect().await.expect("h2c");
    let mut client = ManagementServiceClient::new(channel);
    let update = pb::UpdateHumanProfileRequest {
        user_id: user_id.clone(),
        first_name: secrets[0].to_owned(),
        last_name: secrets[1].to_owned(),
        display_name: secrets[3].to_owned(),
        ..Default::default()
    };
    client.update_human_profile(with_auth(update, &admin)).await.expect("update");
    let machine =
        pb::AddMachineUserRequest { user_name: "robot-qx7".to_owned(), name: "Robot".to_owned(), ..Default::default() };
    let machine = client.add_machine_user(with_auth(machine, &admin)).await.expect("machine").into_inner();
    let pat = pb::AddPersonalAccessTokenRequest { user_id: machine.user_id, ..Default::default() };
    let token = client.add_personal_access_token(with_auth(pat, &admin)).await.expect("token").into_inner().token;
    let _ = client.get_my_org(with_auth(pb::GetMyOrgRequest {}, &format!("Bearer {token}"))).await;
    let web = invoke(&server, Protocol::GrpcWeb, &Call::GetMyOrg, &[("authorization", &admin)]).await;
    assert_eq!(web.outcome.code, 0, "{web:?}");

    server.signal("TERM").await;
    assert_eq!(server.exit_status(Duration::from_secs(10)).await.code(), Some(0));
    let logs = server.logs();

    let lines: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")))
        .collect();
    let traced = lines_with(&lines, "request_id", "e2e-trace-1");
    let done = traced.iter().find(|l| l["fields"]["message"] == "request done").expect("the request's log line");
    let span = &done["span"];
    assert_eq!(span["protocol"], "rest", "{done}");
    assert_eq!(span["rpc"], "AddHumanUser", "{done}");
    assert_eq!(span["route"], "POST /management/v1/users/human", "{done}");
    assert_eq!(span["org"], org_id.as_str(), "{done}");
    assert_eq!(span["resolved_org"], org_id.as_str(), "{done}");
    assert_eq!(span["code"], "200", "{done}");
    assert!(span["latency_ms"].as_f64().is_some(), "{done}");
    assert!(!lines_with(&lines, "request_id", &generated_id).is_empty(), "generated ids are logged too");
    let grpc_update = lines
        .iter()
        .find(|l| l["span"]["rpc"] == "UpdateHumanProfile" && l["fields"]["message"] == "request done")
        .expect("the gRPC update's log line");
    assert_eq!(grpc_update["span"]["protocol"], "grpc", "{grpc_update}");
    assert_eq!(grpc_update["span"]["code"], "0", "{grpc_update}");
    assert_eq!(grpc_update["span"]["org"], Value::Null, "no header: {grpc_update}");
    assert_eq!(grpc_update["span"]["resolved_org"], org_id.as_str(), "the caller's own org: {grpc_update}");
    let grpc_web = lines
        .iter()
        .find(|l| l["span"]["protocol"] == "grpc-web" && l["fields"]["message"] == "request done")
        .expect("the gRPC-Web call's log line");
    assert_eq!(grpc_web["span"]["resolved_org"], org_id.as_str(), "{grpc_web}");
    let done = |id: &str| {
        let traced = lines_with(&lines, "request_id", id);
        let line = traced.iter().find(|l| l["span"]["code"].is_string()).copied();
        line.unwrap_or_else(|| panic!("no answered log line for {id}:\n{logs}")).clone()
    };
    let other = done("e2e-trace-2");
    assert_eq!(other["span"]["org"], second_id.as_str(), "{other}");
    assert_eq!(other["span"]["resolved_org"], second_id.as_str(), "the org of the header: {other}");
    let refused = done("e2e-trace-401");
    assert_eq!(refused["span"]["code"], "401", "{refused}");
    assert_eq!(refused["span"]["resolved_org"], Value::Null, "no org without a caller: {refused}");

    for secret in secrets.iter().copied().chain([server.admin_token.as_str(), token.as_str(), "bogus-token-Qx7"]) {
        assert!(!logs.contains(secret), "{secret} appears in the logs");
    }
}
