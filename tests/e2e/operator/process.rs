//! The `persona` binary as an operator runs it: started with a chosen environment and
//! arguments, its standard error captured, stopped by signals, its exit status read.

use crate::harness::{HttpClient, free_port, http_client, http_request};
use bytes::Bytes;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// The binary with a clean environment (only `PATH`) and `env` on top.
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_persona"));
    command.args(args).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).stdin(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// Runs a command that should end by itself (`config`, `migrate`, `--help`, a failing start).
pub async fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = command(args, env);
    command.stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("the command ends within 30 s")
        .expect("the binary runs")
}

/// What a test wants of a server start.
#[derive(Default)]
pub struct Options<'a> {
    /// Environment on top of the defaults (listen address, SQLite in the data directory,
    /// admin token file, `info` logs).
    pub env: Vec<(&'a str, String)>,
    /// Extra arguments after `serve`.
    pub args: Vec<String>,
    /// Whether the listener speaks TLS (the start is then awaited with a TLS probe).
    pub tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    /// The data directory (`persona.db`, `admin.pat`); a fresh one when `None`.
    pub dir: Option<TempDir>,
}

/// A running `persona serve` with its own data directory and captured standard error.
pub struct Persona {
    pub address: String,
    pub admin_token: String,
    pub dir: TempDir,
    child: Child,
    logs: Arc<Mutex<String>>,
    http: HttpClient,
}

impl Persona {
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let options = Options { env: env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(), ..Options::default() };
        Self::start_with(options).await
    }

    pub async fn start_with(options: Options<'_>) -> Self {
        let dir = options.dir.unwrap_or_else(|| tempfile::tempdir().expect("temporary directory"));
        let address = format!("127.0.0.1:{}", free_port());
        let pat: PathBuf = dir.path().join("admin.pat");
        let database = format!("sqlite://{}?mode=rwc", dir.path().join("persona.db").display());
        let mut defaults: Vec<(&str, String)> = vec![
            ("PERSONA_LISTEN", address.clone()),
            ("PERSONA_DATABASE__URL", database),
            ("PERSONA_BOOTSTRAP__ADMIN_PAT_PATH", pat.display().to_string()),
            ("PERSONA_LOG__LEVEL", "info".to_owned()),
        ];
        defaults.retain(|(key, _)| !options.env.iter().any(|(k, _)| k == key));
        let env: Vec<(&str, &str)> = defaults.iter().chain(options.env.iter()).map(|(k, v)| (*k, v.as_str())).collect();
        let mut args = vec!["serve"];
        args.extend(options.args.iter().map(String::as_str));
        let mut command = command(&args, &env);
        command.stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = command.spawn().expect("the persona binary starts");
        let logs = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("piped standard error");
        let sink = logs.clone();
        let echo = std::env::var_os("TEST_LOG").is_some();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if echo {
                    eprintln!("{line}");
                }
                let mut logs = sink.lock().expect("log buffer");
                logs.push_str(&line);
                logs.push('\n');
            }
        });
        let mut server = Self { address, admin_token: String::new(), dir, child, logs, http: http_client() };
        server.wait_until_up(options.tls).await;
        server.admin_token = std::fs::read_to_string(&pat).expect("admin token file").trim().to_owned();
        server
    }

    async fn wait_until_up(&mut self, tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("persona exited during start: {status}\n{}", self.logs());
            }
            let up = match &tls {
                None => self.request("GET", "/healthz", &[], Bytes::new()).await.is_ok_and(|r| r.0 == 200),
                Some(config) => super::tls::get_over_tls(&self.address, config.clone(), "/healthz", false)
                    .await
                    .is_ok_and(|(status, _)| status == 200),
            };
            if up {
                return;
            }
            assert!(Instant::now() < deadline, "persona did not come up\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn admin(&self) -> String {
        format!("Bearer {}", self.admin_token)
    }

    pub fn database_file(&self) -> PathBuf {
        self.dir.path().join("persona.db")
    }

    /// Everything the process wrote to standard error so far.
    pub fn logs(&self) -> String {
        self.logs.lock().expect("log buffer").clone()
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

    /// A plain HTTP/1.1 request: status, headers, body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(u16, http::HeaderMap, Bytes), String> {
        http_request(&self.http, &self.address, method, path, headers, body).await
    }

    /// A REST call with the admin's token and a JSON body: status, headers, JSON.
    pub async fn rest(&self, method: &str, path: &str, body: Option<Value>) -> (u16, http::HeaderMap, Value) {
        let auth = self.admin();
        let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
        let payload = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let (status, headers, body) = self.request(method, path, &headers, payload).await.expect("REST request");
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("JSON body ({e}): {}", String::from_utf8_lossy(&body)));
        (status, headers, json)
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
}

impl Drop for Persona {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

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

/// Writes `text` to `name` in `dir` and returns its path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a file");
    path
}
