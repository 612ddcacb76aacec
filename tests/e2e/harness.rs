//! Starts the real `persona` binary and speaks to it the ways clients do: REST/JSON over
//! HTTP/1.1, native gRPC over h2c, gRPC-Web, and Connect (JSON and binary). [`Server`] is the one launcher of the suite:
//! a free port, a data directory and database of its own, captured logs, restart and
//! `kill -9`, signals and the exit status, TLS, extra arguments (a configuration file), and the
//! `/metrics` helpers; [`run`] runs the binary's commands that end by themselves.

use base64::Engine;
use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use persona_api_grpc::pb::google::rpc::{BadRequest, Status as RpcStatus};
use persona_api_grpc::pb::zitadel::management::v1::UpdateHumanProfileRequest;
use persona_api_grpc::pb::zitadel::management::v1::management_service_client::ManagementServiceClient;
use persona_api_grpc::pb::zitadel::v1::ErrorDetail;
use prost::Message;
use serde_json::{Value, json};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::process::{Child, Command};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;
use tonic::transport::Channel;

/// A running `persona serve` with its own data directory; killed when dropped.
pub struct Server {
    pub address: String,
    pub admin_token: String,
    pub dir: TempDir,
    child: Child,
    http: HttpClient,
    /// The environment and arguments it was started with (for [`Server::restart`] and
    /// [`Server::cli`]), `PERSONA_LISTEN` aside.
    env: Vec<(String, String)>,
    args: Vec<String>,
    tls: Option<Arc<ClientConfig>>,
    /// Everything it wrote to standard error, over all its starts.
    logs: Arc<Mutex<Vec<u8>>>,
}

/// How to start a server beyond [`Server::start_with`].
#[derive(Debug, Default)]
pub struct Launch {
    /// `PERSONA_DATABASE__URL`; `None`: a SQLite file in the server's data directory.
    pub database_url: Option<String>,
    /// The admin token when another instance bootstrapped the database (no token file then).
    pub admin_token: Option<String>,
    /// More environment variables; they win over the defaults (`info` logs, the database, the
    /// admin token file in the data directory).
    pub env: Vec<(String, String)>,
    /// Arguments after `serve` (such as `--config FILE`).
    pub args: Vec<String>,
    /// Set when the listener speaks TLS: the start is then awaited with a TLS probe.
    pub tls: Option<Arc<ClientConfig>>,
    /// The data directory (`persona.db`, `admin.pat`); a fresh one when `None`.
    pub dir: Option<TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

/// The plain HTTP client (HTTP/1.1, or h2c when asked) the test harnesses speak with.
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A new [`HttpClient`].
pub fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A raw HTTP/1.1 request with `client` to the server at `address` (`host:port`): status,
/// headers, body.
pub async fn http_request(
    client: &HttpClient,
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<(u16, http::HeaderMap, Bytes), String> {
    let mut builder = http::Request::builder().method(method).uri(format!("http://{address}{path}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(Full::new(body)).map_err(|e| e.to_string())?;
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((status, headers, body))
}

/// `GET path` over TLS, HTTP/2 when `http2` (by ALPN) and HTTP/1.1 otherwise: status and
/// protocol version.
pub async fn get_over_tls(
    address: &str,
    config: Arc<ClientConfig>,
    path: &str,
    http2: bool,
) -> Result<(u16, http::Version), String> {
    let mut config = (*config).clone();
    config.alpn_protocols = vec![if http2 { b"h2".to_vec() } else { b"http/1.1".to_vec() }];
    let tcp = tokio::net::TcpStream::connect(address).await.map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let tls = TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(|e| e.to_string())?;
    let request = http::Request::get(format!("https://localhost{path}"))
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = if http2 {
        let (mut sender, connection) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        sender.send_request(request).await.map_err(|e| e.to_string())?
    } else {
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        sender.send_request(request).await.map_err(|e| e.to_string())?
    };
    let status = response.status().as_u16();
    let version = response.version();
    response.into_body().collect().await.map_err(|e| e.to_string())?;
    Ok((status, version))
}

/// The binary with `args`, a clean environment (only `PATH`) and `env` on top.
fn command<K: AsRef<str>, V: AsRef<str>>(args: &[&str], env: &[(K, V)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_persona"));
    command.args(args).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).stdin(Stdio::null());
    for (key, value) in env {
        command.env(key.as_ref(), value.as_ref());
    }
    command
}

/// Runs a command that should end by itself (`config`, `migrate`, `--help`, a failing start)
/// with a clean environment and `env`: its exit status and output.
pub async fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = command(args, env);
    command.stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("the command ends within 30 s")
        .expect("the binary runs")
}

/// Writes `text` to `name` in `dir` (a configuration file, a certificate) and returns its path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a file");
    path
}

/// Spawns `persona serve <args>` with exactly `env` on a free loopback port; its standard
/// error is appended to `logs` (and echoed to the test's under `TEST_LOG`).
fn spawn(env: &[(String, String)], args: &[String], logs: &Arc<Mutex<Vec<u8>>>) -> (String, Child) {
    let address = format!("127.0.0.1:{}", free_port());
    let mut all = vec!["serve"];
    all.extend(args.iter().map(String::as_str));
    let mut command = command(&all, env);
    command.env("PERSONA_LISTEN", &address).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
    let mut child = command.spawn().expect("the persona binary starts");
    let mut pipe = child.stderr.take().expect("piped standard error");
    let logs = Arc::clone(logs);
    let echo = std::env::var_os("TEST_LOG").is_some();
    tokio::spawn(async move {
        let mut chunk = vec![0u8; 8192];
        while let Ok(n) = tokio::io::AsyncReadExt::read(&mut pipe, &mut chunk).await {
            if n == 0 {
                break;
            }
            if echo {
                let _ = std::io::stderr().write_all(&chunk[..n]);
            }
            logs.lock().expect("log buffer").extend_from_slice(&chunk[..n]);
        }
    });
    (address, child)
}

/// The log level of a server whose test sets none: `info` (the operator tests read its lines),
/// or `debug` / `trace` when `TEST_LOG` asks for that.
fn default_log_level() -> String {
    match std::env::var("TEST_LOG").as_deref() {
        Ok(level @ ("debug" | "trace")) => level.to_owned(),
        _ => "info".to_owned(),
    }
}

/// What a call answered, whatever the protocol: code 0 with the response message as JSON, or
/// the error code, message and ZITADEL error detail.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub code: i32,
    pub message: String,
    pub detail_id: Option<String>,
    pub detail_message: Option<String>,
    /// Fields named by a `google.rpc.BadRequest` detail (Persona's "all field errors").
    pub violations: Vec<String>,
    pub body: Value,
}

impl Outcome {
    pub fn ok(&self) -> &Value {
        assert_eq!(self.code, 0, "expected success, got {self:?}");
        &self.body
    }
}

impl Server {
    /// A server with the defaults: SQLite in a fresh data directory.
    pub async fn start() -> Self {
        Self::launch(Launch::default()).await
    }

    /// A server with `extra_env` on top of the defaults.
    pub async fn start_with(extra_env: &[(&str, &str)]) -> Self {
        let env = extra_env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Self::launch(Launch { env, ..Launch::default() }).await
    }

    /// Starts a server as `launch` says and waits until it answers `/healthz`.
    pub async fn launch(launch: Launch) -> Self {
        let dir = launch.dir.unwrap_or_else(|| tempfile::tempdir().expect("temporary directory"));
        let pat: PathBuf = dir.path().join("admin.pat");
        let database = launch
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.path().join("persona.db").display()));
        let mut env = vec![
            ("PERSONA_DATABASE__URL".to_owned(), database),
            ("PERSONA_BOOTSTRAP__ADMIN_PAT_PATH".to_owned(), pat.display().to_string()),
            ("PERSONA_LOG__LEVEL".to_owned(), default_log_level()),
        ];
        env.retain(|(key, _)| !launch.env.iter().any(|(k, _)| k == key));
        env.extend(launch.env);
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (address, child) = spawn(&env, &launch.args, &logs);
        let mut server = Self {
            address,
            admin_token: String::new(),
            dir,
            child,
            http: http_client(),
            env,
            args: launch.args,
            tls: launch.tls,
            logs,
        };
        server.wait_until_healthy().await;
        server.admin_token = match launch.admin_token {
            Some(token) => token,
            None => std::fs::read_to_string(&pat).expect("admin token file").trim().to_owned(),
        };
        server
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Kills the process with SIGKILL (`kill -9`): no shutdown, no flush, nothing.
    pub async fn kill9(&mut self) {
        self.child.kill().await.expect("SIGKILL");
    }

    /// Starts the binary again on the same data directory, database and settings, on a new port.
    pub async fn restart(&mut self) {
        let _ = self.child.kill().await;
        let (address, child) = spawn(&self.env, &self.args, &self.logs);
        self.address = address;
        self.child = child;
        self.wait_until_healthy().await;
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `signal` (`TERM`, `INT`) to the process.
    pub async fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("the process runs").to_string();
        let status = Command::new("kill").args([&format!("-{signal}"), &pid]).status().await.expect("kill runs");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// Waits for the process to exit by itself.
    pub async fn exit_status(&mut self, within: Duration) -> ExitStatus {
        let status = tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("persona did not exit within {within:?}\n{}", self.logs()))
            .expect("wait for the process");
        // Let the log reader take the last lines.
        tokio::time::sleep(Duration::from_millis(100)).await;
        status
    }

    /// What the server wrote to standard error so far.
    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&self.logs.lock().expect("log buffer")).into_owned()
    }

    async fn wait_until_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("persona exited during start: {status}\n{}", self.logs());
            }
            let up = match &self.tls {
                None => self.request("GET", "/healthz", &[], Bytes::new()).await.is_ok_and(|r| r.0 == 200),
                Some(config) => get_over_tls(&self.address, config.clone(), "/healthz", false)
                    .await
                    .is_ok_and(|(status, _)| status == 200),
            };
            if up {
                return;
            }
            assert!(Instant::now() < deadline, "persona did not become healthy\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn admin(&self) -> String {
        format!("Bearer {}", self.admin_token)
    }

    /// Runs `persona <args>` on this server's database and configuration (as an operator on
    /// the same host would), while the server keeps serving.
    pub async fn cli(&self, args: &[&str]) -> Output {
        command(args, &self.env).output().await.expect("the persona binary runs")
    }

    /// A new machine user holding instance-wide `role`, made with `persona admin token`: its id
    /// and its token as the value of an `authorization` header.
    pub async fn instance_user(&self, user_name: &str, role: &str) -> (String, String) {
        let output = self.cli(&["admin", "token", "--stdout", "--user-name", user_name, "--role", role]).await;
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "admin token: {said}");
        let id = said.split("(id ").nth(1).and_then(|rest| rest.split(')').next()).expect("the id is reported");
        (id.to_owned(), format!("Bearer {}", String::from_utf8(output.stdout).expect("UTF-8 token").trim()))
    }

    /// The database URL the server was started with.
    pub fn database_url(&self) -> String {
        self.env.iter().find(|(k, _)| k == "PERSONA_DATABASE__URL").map(|(_, v)| v.clone()).expect("database URL")
    }

    /// The SQLite file of the default database.
    pub fn database_file(&self) -> PathBuf {
        self.dir.path().join("persona.db")
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        let (status, _, body) = self.request("GET", "/metrics", &[], Bytes::new()).await.expect("metrics");
        assert_eq!(status, 200);
        String::from_utf8(body.to_vec()).expect("UTF-8 metrics")
    }

    /// The value of the metric line that starts with `series` (name and labels), if any.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        self.metrics().await.lines().find_map(|line| {
            let rest = line.strip_prefix(series)?;
            rest.strip_prefix(' ')?.parse().ok()
        })
    }

    /// Polls `/metrics` until `series` has at least `value`.
    pub async fn wait_for_metric(&self, series: &str, value: f64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.metric(series).await.is_some_and(|v| v >= value) {
                return;
            }
            assert!(Instant::now() < deadline, "{series} did not reach {value}:\n{}", self.metrics().await);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls `/metrics` until `series` is exactly `value` (within a bounded wait).
    pub async fn wait_for_metric_value(&self, series: &str, value: f64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.metric(series).await == Some(value) {
                return;
            }
            assert!(Instant::now() < deadline, "{series} did not come to {value}:\n{}", self.metrics().await);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the server handles exactly `count` requests besides the `/metrics` scrape.
    pub async fn wait_for_in_flight_to_be(&self, count: u32) {
        self.wait_for_metric_value("persona_requests_in_flight", f64::from(count + 1)).await;
    }

    /// Waits until the server handles `count` requests besides the `/metrics` scrape itself.
    pub async fn wait_for_in_flight(&self, count: u32) {
        self.wait_for_metric("persona_requests_in_flight", f64::from(count + 1)).await;
    }

    /// A REST call with the admin's token and a JSON body: status, headers, JSON.
    pub async fn rest_as_admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, http::HeaderMap, Value) {
        let auth = self.admin();
        let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
        let payload = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let (status, headers, body) = self.request(method, path, &headers, payload).await.expect("REST request");
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("JSON body ({e}): {}", String::from_utf8_lossy(&body)));
        (status, headers, json)
    }
    /// A raw HTTP/1.1 request: status, headers, body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(u16, http::HeaderMap, Bytes), String> {
        http_request(&self.http, &self.address, method, path, headers, body).await
    }

    /// A REST call with a JSON body, answered as an [`Outcome`].
    pub async fn rest(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, http::HeaderMap, Outcome) {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        let payload = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let (status, headers, body) = self.request(method, path, &all, payload).await.expect("REST request");
        let json: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("JSON body ({e}): {}", String::from_utf8_lossy(&body)));
        let outcome = if status == 200 {
            Outcome {
                code: 0,
                message: String::new(),
                detail_id: None,
                detail_message: None,
                violations: Vec::new(),
                body: json,
            }
        } else {
            let detail = json["details"]
                .as_array()
                .and_then(|d| d.iter().find(|d| d["@type"] == "type.googleapis.com/zitadel.v1.ErrorDetail"))
                .cloned();
            Outcome {
                code: i32::try_from(json["code"].as_i64().expect("code")).expect("small code"),
                message: json["message"].as_str().expect("message").to_owned(),
                detail_id: detail.as_ref().and_then(|d| d["id"].as_str()).map(str::to_owned),
                detail_message: detail.as_ref().and_then(|d| d["message"].as_str()).map(str::to_owned),
                violations: json["details"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")
                    .flat_map(|d| d["fieldViolations"].as_array().cloned().unwrap_or_default())
                    .filter_map(|v| v["field"].as_str().map(str::to_owned))
                    .collect(),
                body: json,
            }
        };
        (status, headers, outcome)
    }

    /// A new h2c connection for native gRPC clients of any service (`ManagementService`,
    /// `UserService`).
    pub async fn grpc_channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.address)).expect("uri").connect().await.expect("h2c connect")
    }

    /// A gRPC-Web call (binary encoding over HTTP/1.1) of `method` of `service` (such as
    /// [`MANAGEMENT`]) with `message`: the HTTP status (always 200), the response headers and
    /// the outcome.
    pub async fn grpc_web<M: Message + Default + serde::Serialize>(
        &self,
        service: &str,
        method: &str,
        message: &impl Message,
        metadata: &[(&str, &str)],
    ) -> (u16, http::HeaderMap, Outcome) {
        let encoded = message.encode_to_vec();
        let mut framed = Vec::with_capacity(encoded.len() + 5);
        framed.push(0);
        framed.extend_from_slice(&u32::try_from(encoded.len()).expect("small").to_be_bytes());
        framed.extend_from_slice(&encoded);
        let mut headers = vec![("content-type", "application/grpc-web+proto"), ("x-grpc-web", "1")];
        headers.extend_from_slice(metadata);
        let path = format!("/{service}/{method}");
        let (status, response_headers, body) =
            self.request("POST", &path, &headers, Bytes::from(framed)).await.expect("gRPC-Web request");
        assert_eq!(status, 200, "gRPC-Web answers HTTP 200");
        let mut trailers: Vec<(String, String)> = response_headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        let mut data = None;
        let mut buf = body;
        while buf.remaining() >= 5 {
            let flag = buf.get_u8();
            let length = buf.get_u32() as usize;
            let frame = buf.split_to(length);
            if flag & 0x80 == 0 {
                data = Some(frame);
            } else {
                for line in String::from_utf8_lossy(&frame).split("\r\n").filter(|l| !l.is_empty()) {
                    if let Some((k, v)) = line.split_once(':') {
                        trailers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                    }
                }
            }
        }
        let get = |name: &str| trailers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let code: i32 = get("grpc-status").expect("grpc-status").parse().expect("numeric status");
        if code == 0 {
            let decoded = M::decode(data.expect("a message")).expect("decodes");
            let outcome = Outcome {
                code,
                message: String::new(),
                detail_id: None,
                detail_message: None,
                violations: Vec::new(),
                body: serde_json::to_value(&decoded).expect("json"),
            };
            return (status, response_headers, outcome);
        }
        let message = percent_decode(&get("grpc-message").unwrap_or_default());
        let details = get("grpc-status-details-bin").map(|b64| decode_details(&b64)).unwrap_or_default();
        let outcome = Outcome {
            code,
            message,
            detail_id: details.id,
            detail_message: details.message,
            violations: details.violations,
            body: Value::Null,
        };
        (status, response_headers, outcome)
    }
}

/// v1's service, as gRPC-Web and Connect name it in the path.
pub const MANAGEMENT: &str = "zitadel.management.v1.ManagementService";
/// ZITADEL's v2 user service, likewise.
pub const USER_V2: &str = "zitadel.user.v2.UserService";

/// How a Connect call writes its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectCodec {
    /// `application/json`.
    Json,
    /// `application/proto`.
    Proto,
}

/// The gRPC number of a Connect code name (`invalid_argument` is 3).
pub fn connect_code(name: &str) -> i32 {
    const NAMES: [&str; 17] = [
        "ok",
        "canceled",
        "unknown",
        "invalid_argument",
        "deadline_exceeded",
        "not_found",
        "already_exists",
        "permission_denied",
        "resource_exhausted",
        "failed_precondition",
        "aborted",
        "out_of_range",
        "unimplemented",
        "internal",
        "unavailable",
        "data_loss",
        "unauthenticated",
    ];
    let number = NAMES.iter().position(|n| *n == name).unwrap_or_else(|| panic!("unknown Connect code {name:?}"));
    i32::try_from(number).expect("small")
}

/// A Connect error body as an [`Outcome`]: its code, message, and the `zitadel.v1.ErrorDetail`
/// and `google.rpc.BadRequest` decoded from their unpadded base64 values.
pub fn connect_outcome(json: Value) -> Outcome {
    let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
    let mut details = Details::default();
    for detail in json["details"].as_array().into_iter().flatten() {
        let value = engine.decode(detail["value"].as_str().expect("detail value")).expect("unpadded base64");
        match detail["type"].as_str() {
            Some("zitadel.v1.ErrorDetail") => {
                let decoded = ErrorDetail::decode(value.as_slice()).expect("ErrorDetail");
                details.id = Some(decoded.id);
                details.message = Some(decoded.message);
            }
            Some("google.rpc.BadRequest") => {
                let bad = BadRequest::decode(value.as_slice()).expect("BadRequest");
                details.violations.extend(bad.field_violations.into_iter().map(|v| v.field));
            }
            other => panic!("unexpected Connect detail type {other:?}"),
        }
    }
    Outcome {
        code: connect_code(json["code"].as_str().expect("code name")),
        message: json["message"].as_str().unwrap_or_default().to_owned(),
        detail_id: details.id,
        detail_message: details.message,
        violations: details.violations,
        body: json,
    }
}

impl Server {
    /// A Connect unary call (HTTP/1.1) of `method` of `service` (such as [`MANAGEMENT`]) with
    /// `message` in `codec`: the HTTP status, the response headers and the outcome. Checks the
    /// content type of the answer: the request's codec on success, JSON on error.
    pub async fn connect<M: Message + Default + serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        codec: ConnectCodec,
        service: &str,
        method: &str,
        message: &(impl Message + serde::Serialize),
        metadata: &[(&str, &str)],
    ) -> (u16, http::HeaderMap, Outcome) {
        let (content_type, body) = match codec {
            ConnectCodec::Json => ("application/json", serde_json::to_vec(message).expect("JSON request")),
            ConnectCodec::Proto => ("application/proto", message.encode_to_vec()),
        };
        let mut headers = vec![("content-type", content_type), ("connect-protocol-version", "1")];
        headers.extend_from_slice(metadata);
        let path = format!("/{service}/{method}");
        let (status, response_headers, body) =
            self.request("POST", &path, &headers, Bytes::from(body)).await.expect("Connect request");
        let answered = response_headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if status != 200 {
            assert_eq!(answered, "application/json", "a Connect error is JSON (HTTP {status})");
            let json: Value = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("Connect error JSON ({e}): {}", String::from_utf8_lossy(&body)));
            return (status, response_headers, connect_outcome(json));
        }
        assert_eq!(answered, content_type, "the answer comes in the request's codec");
        let decoded: M = match codec {
            ConnectCodec::Json => serde_json::from_slice(&body).expect("a JSON response message"),
            ConnectCodec::Proto => M::decode(body).expect("a protobuf response message"),
        };
        let outcome = Outcome {
            code: 0,
            message: String::new(),
            detail_id: None,
            detail_message: None,
            violations: Vec::new(),
            body: serde_json::to_value(&decoded).expect("json"),
        };
        (status, response_headers, outcome)
    }
}

/// What `grpc-status-details-bin` carries, decoded.
#[derive(Debug, Default)]
pub struct Details {
    pub id: Option<String>,
    pub message: Option<String>,
    pub violations: Vec<String>,
}

/// Decodes `grpc-status-details-bin` (base64 of `google.rpc.Status`): the ZITADEL detail and the
/// fields of a `google.rpc.BadRequest`.
pub fn decode_details(b64: &str) -> Details {
    let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
    let bytes = engine.decode(b64.trim_end_matches('=')).expect("base64 details");
    let status = RpcStatus::decode(bytes.as_slice()).expect("google.rpc.Status");
    let mut details = Details::default();
    for any in &status.details {
        if any.type_url == "type.googleapis.com/zitadel.v1.ErrorDetail" {
            let detail = ErrorDetail::decode(&any.value[..]).expect("ErrorDetail");
            details.id = Some(detail.id);
            details.message = Some(detail.message);
        } else if any.type_url == "type.googleapis.com/google.rpc.BadRequest" {
            let bad = BadRequest::decode(&any.value[..]).expect("BadRequest");
            details.violations.extend(bad.field_violations.into_iter().map(|v| v.field));
        }
    }
    details
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&value[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A tonic result as an [`Outcome`].
pub fn from_tonic<M: serde::Serialize>(result: Result<tonic::Response<M>, tonic::Status>) -> Outcome {
    match result {
        Ok(response) => Outcome {
            code: 0,
            message: String::new(),
            detail_id: None,
            detail_message: None,
            violations: Vec::new(),
            body: serde_json::to_value(response.get_ref()).expect("json"),
        },
        Err(status) => {
            let details = status.details();
            let decoded = if details.is_empty() {
                Details::default()
            } else {
                decode_details(&base64::engine::general_purpose::STANDARD.encode(details))
            };
            Outcome {
                code: status.code() as i32,
                message: status.message().to_owned(),
                detail_id: decoded.id,
                detail_message: decoded.message,
                violations: decoded.violations,
                body: Value::Null,
            }
        }
    }
}

/// One PostgreSQL schema per test, shared with the storage crate's tests.
pub use persona_test_support::PgSchema;

/// A cheap handle for concurrent callers: the server's address and admin token, REST over
/// HTTP/1.1 or native gRPC over h2c, every call bounded in time.
#[derive(Clone)]
pub struct Api {
    address: String,
    authorization: String,
    http: HttpClient,
}

/// How long one call of a load or attack may take before the test calls it a hang.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);

impl Server {
    /// An [`Api`] handle acting as the admin.
    pub fn api(&self) -> Api {
        Api { address: self.address.clone(), authorization: self.admin(), http: self.http.clone() }
    }
}

impl Api {
    /// `UpdateHumanProfile` over REST setting the first name to `first` (last and display name
    /// those of [`LOAD_USER`]): the new sequence, or the error's code and message.
    pub async fn update_rest(&self, user: &str, first: &str) -> Result<u64, (i32, String)> {
        let body =
            serde_json::json!({"firstName": first, "lastName": LOAD_USER.last, "displayName": LOAD_USER.display});
        let request = http::Request::builder()
            .method("PUT")
            .uri(format!("http://{}/management/v1/users/{user}/profile", self.address))
            .header("authorization", &self.authorization)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| (-1, e.to_string()))?;
        let call = async {
            let response = self.http.request(request).await.map_err(|e| (-1, e.to_string()))?;
            let status = response.status().as_u16();
            let bytes = response.into_body().collect().await.map_err(|e| (-1, e.to_string()))?.to_bytes();
            let json: Value = serde_json::from_slice(&bytes).map_err(|e| (-2, format!("{status}: {e}")))?;
            if status == 200 {
                json["details"]["sequence"].as_str().and_then(|s| s.parse().ok()).ok_or((-2, json.to_string()))
            } else {
                Err((i32::try_from(json["code"].as_i64().unwrap_or(-2)).unwrap_or(-2), json.to_string()))
            }
        };
        tokio::time::timeout(CALL_TIMEOUT, call).await.unwrap_or_else(|_| Err((-3, "timed out".to_owned())))
    }

    /// The same over native gRPC, on a connection of the caller's own.
    pub async fn update_grpc(
        &self,
        client: &mut ManagementServiceClient<Channel>,
        user: &str,
        first: &str,
    ) -> Result<u64, (i32, String)> {
        let mut request = tonic::Request::new(UpdateHumanProfileRequest {
            user_id: user.to_owned(),
            first_name: first.to_owned(),
            last_name: LOAD_USER.last.to_owned(),
            display_name: LOAD_USER.display.to_owned(),
            ..UpdateHumanProfileRequest::default()
        });
        let value = self.authorization.parse().map_err(|_| (-1, "authorization metadata".to_owned()))?;
        request.metadata_mut().insert("authorization", value);
        match tokio::time::timeout(CALL_TIMEOUT, client.update_human_profile(request)).await {
            Err(_) => Err((-3, "timed out".to_owned())),
            Ok(Err(status)) => Err((status.code() as i32, status.message().to_owned())),
            Ok(Ok(response)) => {
                response.get_ref().details.as_ref().map(|d| d.sequence).ok_or((-2, "no details".to_owned()))
            }
        }
    }

    /// A gRPC client on a connection of its own.
    pub async fn grpc_client(&self) -> Result<ManagementServiceClient<Channel>, String> {
        let channel = Channel::from_shared(format!("http://{}", self.address))
            .map_err(|e| e.to_string())?
            .connect_timeout(CALL_TIMEOUT)
            .connect()
            .await
            .map_err(|e| e.to_string())?;
        Ok(ManagementServiceClient::new(channel))
    }
}

/// Who a human made by [`add_human`] is at first: names and email address.
#[derive(Debug, Clone, Copy)]
pub struct Person {
    pub first: &'static str,
    pub last: &'static str,
    pub display: &'static str,
    pub email: &'static str,
}

/// Ada Lovelace, whom the contract tests update (her display name is the server's default).
pub const ADA: Person = Person { first: "Ada", last: "Lovelace", display: "Ada Lovelace", email: "ada@example.com" };

/// The user of the load and attack tests: [`Api::update_rest`] and [`Api::update_grpc`] change
/// only its first name.
pub const LOAD_USER: Person = Person { first: "First", last: "Load", display: "Load Test", email: "load@example.com" };

/// An `UpdateHumanProfile` of an [`ADA`] user to first name `first`: her other names as they
/// were, no nick name, language or gender.
pub fn update_ada(user_id: &str, first: &str) -> UpdateHumanProfileRequest {
    UpdateHumanProfileRequest {
        user_id: user_id.to_owned(),
        first_name: first.to_owned(),
        last_name: ADA.last.to_owned(),
        display_name: ADA.display.to_owned(),
        ..Default::default()
    }
}

/// Creates human `user_name` as `person`, in the admin's org or in `org` (`x-zitadel-orgid`),
/// and returns its id.
pub async fn add_human(server: &Server, org: Option<&str>, user_name: &str, person: Person) -> String {
    let admin = server.admin();
    let mut headers = vec![("authorization", admin.as_str())];
    if let Some(org) = org {
        headers.push(("x-zitadel-orgid", org));
    }
    let profile = json!({"firstName": person.first, "lastName": person.last, "displayName": person.display});
    let body = json!({"userName": user_name, "profile": profile, "email": {"email": person.email}});
    let (_, _, created) = server.rest("POST", "/management/v1/users/human", &headers, Some(body)).await;
    created.ok()["userId"].as_str().expect("user id").to_owned()
}

/// Creates machine user `name` in the admin's org holding `roles` there (none: a member of
/// nothing) and adds it a personal access token with request body `pat` (`{}`, or an
/// expiration date): (user id, token).
pub async fn add_machine(server: &Server, name: &str, roles: &[&str], pat: Value) -> (String, String) {
    let admin = server.admin();
    let headers = [("authorization", admin.as_str())];
    let (_, _, created) = server
        .rest("POST", "/management/v1/users/machine", &headers, Some(json!({"userName": name, "name": name})))
        .await;
    let id = created.ok()["userId"].as_str().expect("user id").to_owned();
    if !roles.is_empty() {
        let body = json!({"userId": id, "roles": roles});
        server.rest("POST", "/management/v1/orgs/me/members", &headers, Some(body)).await.2.ok();
    }
    let (_, _, token) = server.rest("POST", &format!("/management/v1/users/{id}/pats"), &headers, Some(pat)).await;
    let token = token.ok()["token"].as_str().expect("token").to_owned();
    (id, token)
}

/// A machine user as [`add_machine`] makes it, with a token that does not expire, as the value
/// of an `authorization` header: `Bearer <token>`.
pub async fn machine_bearer(server: &Server, name: &str, roles: &[&str]) -> String {
    let (_, token) = add_machine(server, name, roles, json!({})).await;
    format!("Bearer {token}")
}

/// Opens the database as the server does (the migrations are a no-op on a migrated one), to
/// read the event log and the read model behind the server's back.
pub async fn open_store(url: &str) -> persona_storage::SeaOrmStore {
    let config =
        persona_storage::StorageConfig { max_connections: Some(2), ..persona_storage::StorageConfig::new(url) };
    persona_storage::SeaOrmStore::connect(&config).await.expect("the test opens the database")
}

/// Every event of human `id`, oldest first, after checking that its sequences are exactly
/// 1..=n, that every change's old values are the state before it, and that the read model (the
/// users row) is exactly what the domain's replay of those events builds.
pub async fn audit_user(store: &persona_storage::SeaOrmStore, id: &str) -> Vec<persona_domain::events::Event> {
    use persona_domain::aggregate::{Aggregate, Envelope};
    use persona_domain::events::EventPayload;
    use persona_domain::ids::UserId;
    use persona_domain::ports::{EventPage, Store};
    use persona_domain::user::User;
    let user_id = UserId::new(id);
    let events = store
        .user_events(&user_id, EventPage { cursor: 0, limit: u32::MAX, ascending: true })
        .await
        .expect("events readable");
    let sequences: Vec<u64> = events.iter().map(|e| e.sequence).collect();
    let expected: Vec<u64> = (1..=events.len() as u64).collect();
    assert_eq!(sequences, expected, "user {id}: sequences are unique and contiguous from 1");
    let mut state: Option<User> = None;
    for event in &events {
        if let (EventPayload::ProfileChanged(changed), Some(before)) = (&event.payload, &state) {
            let profile = &before.human().expect("a profile change of a human").profile;
            let olds = [
                (&changed.first_name, profile.first_name()),
                (&changed.last_name, profile.last_name()),
                (&changed.nick_name, profile.nick_name()),
                (&changed.display_name, profile.display_name()),
            ];
            for (change, current) in olds {
                if let Some(change) = change {
                    assert_eq!(
                        &change.old, current,
                        "user {id} event {}: old value is the previous new",
                        event.sequence
                    );
                }
            }
        }
        let envelope = Envelope {
            id: &event.aggregate_id,
            owner: &event.resource_owner,
            sequence: event.sequence,
            at: event.created_at,
        };
        state = Some(User::apply(state, &event.payload, envelope).expect("the events replay"));
    }
    let user = store.user(&user_id).await.expect("read model readable").expect("the user row exists");
    assert_eq!(state.as_ref(), Some(&user), "user {id}: read model = the state the events build");
    events
}

/// The first name event `sequence` of `events` set, if it is a profile change that set one.
pub fn first_name_set_by(events: &[persona_domain::events::Event], sequence: u64) -> Option<String> {
    use persona_domain::events::EventPayload;
    let event = events.iter().find(|e| e.sequence == sequence)?;
    match &event.payload {
        EventPayload::ProfileChanged(changed) => changed.first_name.as_ref().map(|c| c.new.clone()),
        _ => None,
    }
}
