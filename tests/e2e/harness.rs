//! Starts the real `persona` binary on a free port with a fresh database, and speaks to it the
//! three ways clients do: REST/JSON over HTTP/1.1, native gRPC over h2c, and gRPC-Web.

use base64::Engine;
use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use persona_api_grpc::pb::google::rpc::Status as RpcStatus;
use persona_api_grpc::pb::zitadel::management::v1::management_service_client::ManagementServiceClient;
use persona_api_grpc::pb::zitadel::v1::ErrorDetail;
use prost::Message;
use serde_json::Value;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::process::{Child, Command};
use tonic::transport::Channel;

/// A running server with its own data directory; killed when dropped.
pub struct Server {
    pub address: String,
    pub admin_token: String,
    pub dir: TempDir,
    child: Child,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

/// What a call answered, whatever the protocol: code 0 with the response message as JSON, or
/// the error code, message and ZITADEL error detail.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub code: i32,
    pub message: String,
    pub detail_id: Option<String>,
    pub detail_message: Option<String>,
    pub body: Value,
}

impl Outcome {
    pub fn ok(&self) -> &Value {
        assert_eq!(self.code, 0, "expected success, got {self:?}");
        &self.body
    }
}

impl Server {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    pub async fn start_with(extra_env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let pat: PathBuf = dir.path().join("admin.pat");
        let mut command = Command::new(env!("CARGO_BIN_EXE_persona"));
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PERSONA_LISTEN", &address)
            .env("PERSONA_DATABASE__URL", format!("sqlite://{}?mode=rwc", dir.path().join("persona.db").display()))
            .env("PERSONA_BOOTSTRAP__ADMIN_PAT_PATH", &pat)
            .env("PERSONA_LOG__LEVEL", std::env::var("TEST_LOG").unwrap_or_else(|_| "warn".to_owned()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("TEST_LOG").is_some() { Stdio::inherit() } else { Stdio::null() })
            .kill_on_drop(true);
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let child = command.spawn().expect("the persona binary starts");
        let http = Client::builder(TokioExecutor::new()).build_http();
        let mut server = Self { address, admin_token: String::new(), dir, child, http };
        server.wait_until_healthy().await;
        server.admin_token = std::fs::read_to_string(&pat).expect("admin token file").trim().to_owned();
        server
    }

    async fn wait_until_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("persona exited during start: {status}");
            }
            if let Ok(response) = self.request("GET", "/healthz", &[], Bytes::new()).await
                && response.0 == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "persona did not become healthy");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn admin(&self) -> String {
        format!("Bearer {}", self.admin_token)
    }

    /// A raw HTTP/1.1 request: status, headers, body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(u16, http::HeaderMap, Bytes), String> {
        let mut builder = http::Request::builder().method(method).uri(format!("http://{}{path}", self.address));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Full::new(body)).map_err(|e| e.to_string())?;
        let response = self.http.request(request).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok((status, headers, body))
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
            Outcome { code: 0, message: String::new(), detail_id: None, detail_message: None, body: json }
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
                body: json,
            }
        };
        (status, headers, outcome)
    }

    pub async fn grpc_client(&self) -> ManagementServiceClient<Channel> {
        let channel = Channel::from_shared(format!("http://{}", self.address))
            .expect("uri")
            .connect()
            .await
            .expect("h2c connect");
        ManagementServiceClient::new(channel)
    }

    /// A gRPC-Web call (binary encoding over HTTP/1.1) of `method` with `message`.
    pub async fn grpc_web<M: Message + Default + serde::Serialize>(
        &self,
        method: &str,
        message: &impl Message,
        metadata: &[(&str, &str)],
    ) -> Outcome {
        let encoded = message.encode_to_vec();
        let mut framed = Vec::with_capacity(encoded.len() + 5);
        framed.push(0);
        framed.extend_from_slice(&u32::try_from(encoded.len()).expect("small").to_be_bytes());
        framed.extend_from_slice(&encoded);
        let mut headers = vec![("content-type", "application/grpc-web+proto"), ("x-grpc-web", "1")];
        headers.extend_from_slice(metadata);
        let path = format!("/zitadel.management.v1.ManagementService/{method}");
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
            return Outcome {
                code,
                message: String::new(),
                detail_id: None,
                detail_message: None,
                body: serde_json::to_value(&decoded).expect("json"),
            };
        }
        let message = percent_decode(&get("grpc-message").unwrap_or_default());
        let (detail_id, detail_message) =
            get("grpc-status-details-bin").map_or((None, None), |b64| zitadel_detail(&b64));
        Outcome { code, message, detail_id, detail_message, body: Value::Null }
    }
}

/// Decodes `grpc-status-details-bin` (base64 of `google.rpc.Status`) to the ZITADEL detail.
pub fn zitadel_detail(b64: &str) -> (Option<String>, Option<String>) {
    let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
    let bytes = engine.decode(b64.trim_end_matches('=')).expect("base64 details");
    let status = RpcStatus::decode(bytes.as_slice()).expect("google.rpc.Status");
    status.details.iter().find(|any| any.type_url == "type.googleapis.com/zitadel.v1.ErrorDetail").map_or(
        (None, None),
        |any| {
            let detail = ErrorDetail::decode(&any.value[..]).expect("ErrorDetail");
            (Some(detail.id), Some(detail.message))
        },
    )
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
            body: serde_json::to_value(response.get_ref()).expect("json"),
        },
        Err(status) => {
            let details = status.details();
            let (detail_id, detail_message) = if details.is_empty() {
                (None, None)
            } else {
                let engine = base64::engine::general_purpose::STANDARD;
                zitadel_detail(&engine.encode(details))
            };
            Outcome {
                code: status.code() as i32,
                message: status.message().to_owned(),
                detail_id,
                detail_message,
                body: Value::Null,
            }
        }
    }
}
