//! Clients nobody on the project wrote drive the v2 user service (issue 13): ZITADEL's Python SDK
//! (`zitadel-client`, Connect with JSON), ZITADEL's Node SDK (`@zitadel/client` with
//! `@zitadel/proto`) over each transport of `@connectrpc/connect-node` (Connect binary and JSON,
//! gRPC, gRPC-Web; HTTP/1.1 and h2c), and `buf curl` with ZITADEL's published descriptors over
//! Connect, gRPC and gRPC-Web, plus gRPC and gRPC-Web by server reflection.
//!
//! The SDK flows are the scripts in `tests/sdk/` (one JSON line per step); the tests here judge
//! every step and cross-check it with Persona's own v1 API: the profile v1 reads, the changes
//! v1's `ListUserChanges` lists (with their changed fields), a v1 user read and updated through
//! the SDK, and the user gone over v1 once the SDK deleted it.
//!
//! Where a tool is missing (Python's `zitadel_client`, Node with `tests/sdk/node/node_modules`,
//! `buf`) a test says so and passes, except in CI (`CI` set), where `.ci/run` installs them and
//! their absence is a failure.

use crate::harness::{ADA, Server, add_human};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;

/// The `zitadel-client` release the tests are written against; `.ci/run` installs this one.
const PYTHON_SDK: &str = "4.1.9";

/// How long one step of a flow may take before the test gives up on the script.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// `tests/sdk` in the repository.
fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sdk")
}

/// Whether a tool is there: `found`, or a skip said on standard error; a failure under CI.
fn require(found: bool, what: &str, install: &str) -> bool {
    assert!(found || std::env::var_os("CI").is_none(), "{what} must be installed in CI ({install})");
    if !found {
        eprintln!("{what} is not installed ({install}): skipping this SDK test");
    }
    found
}

/// Python with the pinned `zitadel-client`; a different release installed fails the test, so
/// that what passes is what CI pins.
fn python_sdk_available() -> bool {
    let probe = std::process::Command::new("python3")
        .args(["-c", "from zitadel_client.version import Version; print(Version.VERSION)"])
        .output();
    let version =
        probe.ok().filter(|o| o.status.success()).map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if let Some(version) = &version {
        assert_eq!(version, PYTHON_SDK, "zitadel-client {version} is installed; the tests pin {PYTHON_SDK}");
    }
    require(
        version.is_some(),
        "Python's zitadel-client",
        &format!("python3 -m pip install 'zitadel-client=={PYTHON_SDK}'"),
    )
}

/// Node with the packages of `tests/sdk/node/package-lock.json` installed.
fn node_sdk_available() -> bool {
    let node = std::process::Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    let installed = sdk_dir().join("node/node_modules/@zitadel/client/package.json").is_file();
    require(node && installed, "Node with @zitadel/client", "npm ci --prefix tests/sdk/node")
}

fn buf_available() -> bool {
    let found = std::process::Command::new("buf").arg("--version").output().is_ok_and(|o| o.status.success());
    require(found, "buf", "python3 -m pip install buf-bin")
}

/// One running flow script: the steps it reported so far, by name.
struct Flow {
    label: String,
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    stderr: JoinHandle<String>,
    steps: BTreeMap<String, Value>,
}

impl Flow {
    /// Starts `command` (a flow script with `--pause`).
    fn start(label: &str, mut command: Command) -> Self {
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = command.spawn().unwrap_or_else(|e| panic!("{label}: the flow script starts: {e}"));
        let stdout = child.stdout.take().expect("piped standard output");
        let mut stderr = child.stderr.take().expect("piped standard error");
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        Self { label: label.to_owned(), child, lines: BufReader::new(stdout).lines(), stderr, steps: BTreeMap::new() }
    }

    /// Reads step lines until `last` (or the end of the output when `None`).
    async fn read_until(&mut self, last: Option<&str>) {
        loop {
            let line = tokio::time::timeout(STEP_TIMEOUT, self.lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("{}: no step within {STEP_TIMEOUT:?}; so far {:#?}", self.label, self.steps))
                .expect("read the script's output");
            let Some(line) = line else {
                if last.is_some() {
                    if self.steps.contains_key("add") {
                        // The flow stops when the user cannot be created: say why first.
                        self.ok("add");
                    }
                    let said = self.said().await;
                    panic!("{}: the script ended before step {last:?}: {said}\nsteps: {:#?}", self.label, self.steps);
                }
                return;
            };
            let step: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("{}: not a JSON step ({e}): {line}", self.label));
            let name = step["step"].as_str().expect("every line names its step").to_owned();
            assert_ne!(name, "sdk", "{}: the SDK or the script broke: {step}", self.label);
            let done = last == Some(name.as_str());
            self.steps.insert(name, step);
            if done {
                return;
            }
        }
    }

    /// What the script wrote to standard error (once it has ended).
    async fn said(&mut self) -> String {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        (&mut self.stderr).await.unwrap_or_default()
    }

    /// Lets a paused script go on, reads the rest and checks that it ran to its end.
    async fn resume(&mut self) {
        let stdin = self.child.stdin.as_mut().expect("piped standard input");
        stdin.write_all(b"\n").await.expect("resume the script");
        stdin.flush().await.expect("resume the script");
        self.read_until(None).await;
        let status =
            tokio::time::timeout(STEP_TIMEOUT, self.child.wait()).await.expect("the script ends").expect("wait");
        if !status.success() {
            let said = self.said().await;
            panic!("{}: the script failed ({status}): {said}", self.label);
        }
    }

    /// Step `name`, which must have succeeded.
    fn ok(&self, name: &str) -> &Value {
        let step = self.step(name);
        if step["ok"] != json!(true) {
            let unserved = step["code"] == json!("unimplemented") || step["http_status"] == json!(404);
            let hint =
                if name == "add" && unserved { " (the v2 user service is not served here: issue 13)" } else { "" };
            panic!("{}: step {name} failed{hint}: {step}", self.label);
        }
        step
    }

    /// Step `name`, which must have failed with the Connect code name `code`.
    fn failed(&self, name: &str, code: &str) -> &Value {
        let step = self.step(name);
        assert_eq!(
            (&step["ok"], step["code"].as_str()),
            (&json!(false), Some(code)),
            "{}: step {name} should fail with {code}: {step}",
            self.label
        );
        // The Python SDK sees the HTTP status of the Connect error too.
        if let Some(status) = step["http_status"].as_u64() {
            let expected = match code {
                "invalid_argument" => 400,
                "not_found" => 404,
                other => panic!("no HTTP status expectation for {other}"),
            };
            assert_eq!(status, expected, "{}: step {name}: {step}", self.label);
        }
        step
    }

    fn step(&self, name: &str) -> &Value {
        self.steps.get(name).unwrap_or_else(|| panic!("{}: no step {name}; got {:#?}", self.label, self.steps))
    }
}

/// A sequence as the steps print it (a decimal string).
fn sequence(step: &Value) -> u64 {
    step["sequence"].as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("a sequence in {step}"))
}

/// The profile fields of a step that read a user, in one value to compare.
fn names(step: &Value) -> Value {
    json!({
        "given_name": step["given_name"],
        "family_name": step["family_name"],
        "nick_name": step["nick_name"],
        "display_name": step["display_name"],
        "preferred_language": step["preferred_language"],
        "gender": step["gender"],
    })
}

/// v1's `ListUserChanges` of `user`, oldest first.
async fn v1_changes(server: &Server, user: &str) -> Vec<Value> {
    let path = format!("/management/v1/users/{user}/changes/_search");
    let (status, _, body) = server.rest_as_admin("POST", &path, Some(json!({"query": {"asc": true}}))).await;
    assert_eq!(status, 200, "v1 ListUserChanges {user}: {body}");
    body["result"].as_array().expect("result").clone()
}

/// The changed fields of a v1 change, sorted by field name.
fn changed(change: &Value) -> Vec<Value> {
    let mut fields = change["changedFields"].as_array().cloned().unwrap_or_default();
    fields.sort_by_key(|f| f["field"].as_str().unwrap_or_default().to_owned());
    fields
}

/// Runs a flow script against a fresh server and checks every step, and v1's view of it.
async fn check_flow(server: &Server, label: &str, command: impl FnOnce(&str, &str) -> Command) {
    let v1_user = add_human(server, None, "v1-ada", ADA).await;
    let (status, _, v1_read) = server.rest_as_admin("GET", &format!("/management/v1/users/{v1_user}"), None).await;
    assert_eq!(status, 200, "{v1_read}");
    let org = v1_read["user"]["details"]["resourceOwner"].as_str().expect("the admin's org").to_owned();

    let mut flow = Flow::start(label, command(&v1_user, &org));
    flow.read_until(Some("paused")).await;

    // AddHumanUser: ACTIVE at once (v2), the email's code returned, the phone verified.
    let add = flow.ok("add");
    let user = add["user_id"].as_str().filter(|id| !id.is_empty()).expect("a user id").to_owned();
    assert_eq!(add["resource_owner"], json!(org), "{label}: created in the caller's org");
    assert!(add["email_code"].as_str().is_some_and(|c| !c.is_empty()), "{label}: return_code gives a code: {add}");
    assert_eq!(add["phone_code"], Value::Null, "{label}: no phone code when is_verified: {add}");
    let added = sequence(add);

    let get = flow.ok("get");
    assert_eq!(get["user_id"], json!(user), "{label}");
    assert_eq!(get["state"], "USER_STATE_ACTIVE", "{label}: v2 users are active at once");
    assert_eq!(get["username"], json!(format!("sdk-{label}")), "{label}");
    assert_eq!(
        names(get),
        json!({"given_name": "Ada", "family_name": "Lovelace", "nick_name": "Ada", "display_name": "Ada Lovelace",
               "preferred_language": "en", "gender": "GENDER_FEMALE"}),
        "{label}"
    );
    assert_eq!(
        (&get["email"], &get["email_verified"], &get["phone"], &get["phone_verified"]),
        (&json!(format!("ada-{label}@example.com")), &json!(false), &json!("+41791234567"), &json!(true)),
        "{label}: return_code leaves the email unverified, is_verified sets the phone's flag"
    );
    assert_eq!(get["resource_owner"], json!(org), "{label}");
    assert_eq!(sequence(get), added, "{label}: nothing happened between add and get");

    // UpdateHumanUser with a profile: the names given change, the others stay.
    let updated_human = sequence(flow.ok("update_human"));
    assert!(updated_human > added, "{label}: {updated_human} after {added}");
    let after = flow.ok("get_after_update_human");
    assert_eq!(
        names(after),
        json!({"given_name": "Augusta", "family_name": "King", "nick_name": "Ada", "display_name": "Ada King",
               "preferred_language": "en", "gender": "GENDER_FEMALE"}),
        "{label}: a partial update keeps the fields it does not name"
    );
    assert_eq!(sequence(after), updated_human, "{label}");

    // UpdateUser: only the optional fields present change.
    assert!(flow.ok("update_user")["change_date"].is_string(), "{label}: UpdateUser answers its change date");
    let after = flow.ok("get_after_update_user");
    assert_eq!(
        names(after),
        json!({"given_name": "Augusta", "family_name": "King", "nick_name": "Countess", "display_name": "Ada King",
               "preferred_language": "de", "gender": "GENDER_FEMALE"}),
        "{label}"
    );
    let updated_user = sequence(after);
    assert!(updated_user > updated_human, "{label}");
    flow.ok("update_user_noop");

    let invalid = flow.failed("invalid_given_name", "invalid_argument");
    let expected = "invalid UpdateHumanUserRequest.Profile: embedded message failed validation | caused by: \
                    invalid SetHumanProfile.GivenName: value length must be between 1 and 200 runes, inclusive";
    assert!(invalid["message"].as_str().is_some_and(|m| m.contains(expected)), "{label}: {invalid}");
    let refused = flow.failed("add_send_code", "invalid_argument");
    let said = refused["message"].as_str().unwrap_or_default().to_ascii_lowercase().replace('_', "");
    assert!(said.contains("sendcode"), "{label}: send_code is refused naming the field: {refused}");

    for query in ["list_by_username", "list_by_email"] {
        let listed = flow.ok(query);
        assert_eq!((&listed["total_result"], &listed["user_ids"]), (&json!("1"), &json!([user])), "{label} {query}");
        assert_eq!(listed["users"][0]["given_name"], "Augusta", "{label} {query}");
    }

    // A user made over v1 reads and updates through the SDK (v1's INITIAL state, by v2's name).
    let v1_get = flow.ok("v1_get");
    assert_eq!(
        (&v1_get["user_id"], &v1_get["username"], &v1_get["state"], &v1_get["given_name"], &v1_get["email"]),
        (&json!(v1_user), &json!("v1-ada"), &json!("USER_STATE_INITIAL"), &json!("Ada"), &json!("ada@example.com")),
        "{label}"
    );
    flow.ok("v1_update_user");
    let v1_after = flow.ok("v1_get_after_update");
    assert_eq!((&v1_after["given_name"], &v1_after["family_name"]), (&json!("Grace"), &json!("Lovelace")), "{label}");

    // Paused before the delete: v1 sees what v2 did, in one history.
    let (status, _, profile) = server.rest_as_admin("GET", &format!("/management/v1/users/{user}/profile"), None).await;
    assert_eq!(status, 200, "{label}: {profile}");
    let p = &profile["profile"];
    assert_eq!(
        (&p["firstName"], &p["lastName"], &p["nickName"], &p["displayName"], &p["preferredLanguage"], &p["gender"]),
        (
            &json!("Augusta"),
            &json!("King"),
            &json!("Countess"),
            &json!("Ada King"),
            &json!("de"),
            &json!("GENDER_FEMALE")
        ),
        "{label}: v1 reads the profile v2 wrote"
    );
    let changes = v1_changes(server, &user).await;
    let at = |seq: u64| {
        changes
            .iter()
            .find(|c| c["sequence"] == json!(seq.to_string()))
            .unwrap_or_else(|| panic!("{label}: no change {seq} in {changes:#?}"))
    };
    assert_eq!(
        changed(at(updated_human)),
        [
            json!({"field": "displayName", "oldValue": "Ada Lovelace", "newValue": "Ada King"}),
            json!({"field": "firstName", "oldValue": "Ada", "newValue": "Augusta"}),
            json!({"field": "lastName", "oldValue": "Lovelace", "newValue": "King"}),
        ],
        "{label}: UpdateHumanUser's change in v1's history"
    );
    assert_eq!(
        changed(at(updated_user)),
        [
            json!({"field": "nickName", "oldValue": "Ada", "newValue": "Countess"}),
            json!({"field": "preferredLanguage", "oldValue": "en", "newValue": "de"}),
        ],
        "{label}: UpdateUser's change in v1's history"
    );
    let last = changes.last().expect("changes");
    assert_eq!(last["sequence"], json!(updated_user.to_string()), "{label}: the no-op UpdateUser wrote no event");
    let v1_history = v1_changes(server, &v1_user).await;
    assert_eq!(
        changed(v1_history.last().expect("changes")),
        [json!({"field": "firstName", "oldValue": "Ada", "newValue": "Grace"})],
        "{label}: the SDK's change of a v1 user in v1's history"
    );

    flow.resume().await;
    assert!(sequence(flow.ok("delete")) > updated_user, "{label}");
    for gone in ["get_after_delete", "update_after_delete"] {
        let step = flow.failed(gone, "not_found");
        assert!(step["message"].as_str().is_some_and(|m| m.contains("User could not be found")), "{label}: {step}");
    }
    let listed = flow.ok("list_after_delete");
    // proto3 JSON omits a zero total (the Python SDK then reads None); binary and the Node SDK
    // read 0.
    let total = &listed["total_result"];
    assert!(total.is_null() || *total == json!("0"), "{label}: no user left: {listed}");
    assert_eq!(listed["user_ids"], json!([]), "{label}");
    let (status, _, body) = server.rest_as_admin("GET", &format!("/management/v1/users/{user}"), None).await;
    assert_eq!(status, 404, "{label}: v1 no longer finds the user v2 deleted: {body}");
}

/// The Python flow with `--pause` against `server`, sending `x-zitadel-orgid` for `org`.
fn python_flow(server: &Server, label: &str) -> impl FnOnce(&str, &str) -> Command {
    let base = format!("http://{}", server.address);
    let token = server.admin_token.clone();
    let label = label.to_owned();
    move |v1_user, org| {
        let mut command = Command::new("python3");
        command
            .arg(sdk_dir().join("python/v2_flow.py"))
            .args([&base, &token, "--tag", &label, "--v1-user", v1_user, "--pause"])
            .args(["--header", &format!("x-zitadel-orgid:{org}")]);
        command
    }
}

/// The Node flow with `--pause` over `transport` (extra arguments in `options`).
fn node_flow(server: &Server, label: &str, options: &[&str]) -> impl FnOnce(&str, &str) -> Command {
    let base = format!("http://{}", server.address);
    let token = server.admin_token.clone();
    let label = label.to_owned();
    let options: Vec<String> = options.iter().map(|&o| o.to_owned()).collect();
    move |v1_user, org| {
        let mut command = Command::new("node");
        command
            .current_dir(sdk_dir().join("node"))
            .arg("v2_flow.mjs")
            .args([&base, &token, "--tag", &label, "--v1-user", v1_user, "--pause"])
            .args(["--header", &format!("x-zitadel-orgid:{org}")])
            .args(&options);
        command
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_runs_the_v2_flow_over_connect_json() {
    if !python_sdk_available() {
        return;
    }
    let server = Server::start().await;
    check_flow(&server, "py", python_flow(&server, "py")).await;
}

/// The Node SDK over one transport: a fresh server, the flow, the checks.
async fn node_case(label: &str, options: &[&str]) {
    if !node_sdk_available() {
        return;
    }
    let server = Server::start().await;
    check_flow(&server, label, node_flow(&server, label, options)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_sdk_runs_the_v2_flow_over_connect_binary_on_http1() {
    node_case("connect-bin-h1", &["--transport", "connect", "--http", "1.1"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_sdk_runs_the_v2_flow_over_connect_json_on_h2c() {
    node_case("connect-json-h2", &["--transport", "connect", "--http", "2", "--json"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_sdk_runs_the_v2_flow_over_grpc_with_its_server_transport() {
    node_case("grpc", &["--transport", "grpc"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_sdk_runs_the_v2_flow_over_grpc_web_on_http1() {
    node_case("grpc-web-h1", &["--transport", "grpc-web", "--http", "1.1"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_sdk_runs_the_v2_flow_over_grpc_web_on_h2c() {
    node_case("grpc-web-h2", &["--transport", "grpc-web", "--http", "2"]).await;
}

/// `buf curl` of `UserService/<rpc>` over `protocol` with `schema` (`None`: server reflection):
/// success and the output (standard output, then standard error).
async fn buf_v2(server: &Server, protocol: &str, schema: Option<&Path>, rpc: &str, body: &Value) -> (bool, String) {
    let mut command = Command::new("buf");
    command.args(["curl", "--protocol", protocol, "--header", &format!("authorization: {}", server.admin())]);
    command.args(["--data", &body.to_string()]);
    if let Some(schema) = schema {
        command.arg("--schema").arg(schema);
    }
    if protocol == "grpc" {
        command.arg("--http2-prior-knowledge");
    }
    command.arg(format!("http://{}/zitadel.user.v2.UserService/{rpc}", server.address));
    let output = tokio::time::timeout(STEP_TIMEOUT, command.output()).await.expect("buf ends").expect("buf runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// Writes ZITADEL's published descriptors of the v2 user service (from `@zitadel/proto`) to a
/// file set in `dir`, for `buf curl --schema`.
async fn zitadel_descriptors(dir: &Path) -> PathBuf {
    let out = dir.join("zitadel-user-v2.binpb");
    let output = Command::new("node")
        .current_dir(sdk_dir().join("node"))
        .arg("descriptors.mjs")
        .output()
        .await
        .expect("node runs");
    assert!(output.status.success(), "descriptors.mjs: {}", String::from_utf8_lossy(&output.stderr));
    std::fs::write(&out, &output.stdout).expect("the descriptor set is written");
    out
}

/// [`buf_v2`], which must succeed: its JSON output.
async fn buf_ok(server: &Server, protocol: &str, schema: Option<&Path>, label: &str, rpc: &str, body: Value) -> Value {
    let (ok, out) = buf_v2(server, protocol, schema, rpc, &body).await;
    assert!(ok, "buf curl {label} {rpc}: {out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{label} {rpc}: JSON ({e}): {out}"))
}

/// One user's life with `buf curl` over `protocol`; `schema` `None` reads it by reflection.
async fn buf_flow(server: &Server, protocol: &str, schema: Option<&Path>) {
    let label = format!("{protocol} {}", if schema.is_some() { "with ZITADEL's descriptors" } else { "by reflection" });
    let tag = format!("{protocol}-{}", u8::from(schema.is_some()));
    let call = |rpc: &'static str, body: Value| buf_ok(server, protocol, schema, &label, rpc, body);
    let added = call(
        "AddHumanUser",
        json!({"username": format!("buf-{tag}"), "profile": {"givenName": "Ada", "familyName": "Lovelace"},
               "email": {"email": format!("buf-{tag}@example.com"), "isVerified": true}}),
    )
    .await;
    let user = added["userId"].as_str().expect("user id").to_owned();
    let updated =
        call("UpdateHumanUser", json!({"userId": user, "profile": {"givenName": "Augusta", "familyName": "King"}}))
            .await;
    assert!(updated["details"]["sequence"].is_string(), "{label}: {updated}");
    call("UpdateUser", json!({"userId": user, "human": {"profile": {"nickName": "Countess"}}})).await;
    let read = call("GetUserByID", json!({"userId": user})).await;
    let profile = &read["user"]["human"]["profile"];
    assert_eq!(
        (&profile["givenName"], &profile["familyName"], &profile["nickName"], &read["user"]["state"]),
        (&json!("Augusta"), &json!("King"), &json!("Countess"), &json!("USER_STATE_ACTIVE")),
        "{label}: {read}"
    );
    let listed = call(
        "ListUsers",
        json!({"queries": [{"userNameQuery": {"userName": format!("buf-{tag}"), "method": "TEXT_QUERY_METHOD_EQUALS"}}]}),
    )
    .await;
    assert_eq!(listed["result"][0]["userId"], json!(user), "{label}: {listed}");
    call("DeleteUser", json!({"userId": user})).await;
    let (ok, out) = buf_v2(server, protocol, schema, "GetUserByID", &json!({"userId": user})).await;
    assert!(!ok && out.contains("not_found") && out.contains("User could not be found"), "{label}: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buf_curl_runs_v2_over_connect_grpc_and_grpc_web_with_zitadels_descriptors_and_by_reflection() {
    if !buf_available() || !node_sdk_available() {
        return;
    }
    let server = Server::start().await;
    let schema = zitadel_descriptors(server.dir.path()).await;
    for protocol in ["connect", "grpc", "grpcweb"] {
        buf_flow(&server, protocol, Some(&schema)).await;
    }
    // Reflection is a gRPC stream: buf reads it over gRPC and gRPC-Web, not over Connect.
    for protocol in ["grpc", "grpcweb"] {
        buf_flow(&server, protocol, None).await;
    }
}
