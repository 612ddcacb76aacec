//! The load generator: `UpdateHumanProfile` over REST/JSON (HTTP/1.1 keep-alive), native gRPC
//! (h2c, tonic) and gRPC-Web (HTTP/1.1), or straight through the application service. Each
//! worker owns one user, so it knows the sequence every answer must report; values alternate
//! so every call is a real change; any error ends the run with that error.

use crate::BenchError;
use crate::histogram::Histogram;
use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use persona_api_grpc::pb::zitadel::management::v1::management_service_client::ManagementServiceClient;
use persona_api_grpc::pb::zitadel::management::v1::{UpdateHumanProfileRequest, UpdateHumanProfileResponse};
use persona_api_grpc::pb::zitadel::user::v2::user_service_client::UserServiceClient;
use persona_api_grpc::pb::zitadel::user::v2::{SetHumanProfile, UpdateHumanUserRequest};
use persona_domain::service::RequestMeta;
use persona_domain::{Service, UpdateHumanProfileRequest as DomainRequest};
use persona_storage::SeaOrmStore;
use prost::Message;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tonic::transport::Channel;

/// What a run drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// The application service on `persona-storage`, in this process: no protocol.
    Storage,
    /// REST/JSON over HTTP/1.1 keep-alive.
    Rest,
    /// Native gRPC over h2c.
    Grpc,
    /// gRPC-Web (binary) over HTTP/1.1 keep-alive.
    GrpcWeb,
    /// Connect unary with the JSON codec over HTTP/1.1 keep-alive.
    Connect,
    /// v2's `UpdateHumanUser` over native gRPC (h2c), as ZITADEL's Node SDK calls it.
    GrpcV2,
    /// SCIM `PATCH /scim/v2/{org}/Users/{id}` (PatchOp replace) over HTTP/1.1 keep-alive.
    ScimPatch,
}

impl Protocol {
    /// Its name in the table and the summary.
    pub fn name(self) -> &'static str {
        match self {
            Self::Storage => "storage",
            Self::Rest => "rest",
            Self::Grpc => "grpc",
            Self::GrpcWeb => "grpcweb",
            Self::Connect => "connect",
            Self::GrpcV2 => "grpc-v2",
            Self::ScimPatch => "scim-patch",
        }
    }
}

/// One user a worker updates, with the sequence it has now and the values it holds.
#[derive(Debug, Clone)]
pub struct Slot {
    /// User id.
    pub id: String,
    /// The user's sequence now.
    pub sequence: u64,
    /// Which of the two profiles comes next.
    pub next_b: bool,
}

/// The two profiles every user alternates between (the seeded one differs from both).
struct Values {
    first: &'static str,
    last: &'static str,
    nick: &'static str,
    display: &'static str,
    language: &'static str,
    gender: i32,
}

const A: Values =
    Values { first: "Ada", last: "Lovelace", nick: "", display: "Ada Lovelace", language: "en", gender: 1 };
const B: Values =
    Values { first: "Grace", last: "Hopper", nick: "amazing", display: "Grace Hopper", language: "en-US", gender: 3 };

fn values(next_b: bool) -> &'static Values {
    if next_b { &B } else { &A }
}

fn grpc_request(id: &str, v: &Values) -> UpdateHumanProfileRequest {
    UpdateHumanProfileRequest {
        user_id: id.to_owned(),
        first_name: v.first.to_owned(),
        last_name: v.last.to_owned(),
        nick_name: v.nick.to_owned(),
        display_name: v.display.to_owned(),
        preferred_language: v.language.to_owned(),
        gender: v.gender,
    }
}

fn v2_request(id: &str, v: &Values) -> UpdateHumanUserRequest {
    UpdateHumanUserRequest {
        user_id: id.to_owned(),
        profile: Some(SetHumanProfile {
            given_name: v.first.to_owned(),
            family_name: v.last.to_owned(),
            nick_name: Some(v.nick.to_owned()),
            display_name: Some(v.display.to_owned()),
            preferred_language: Some(v.language.to_owned()),
            gender: Some(v.gender),
        }),
        ..UpdateHumanUserRequest::default()
    }
}

/// Where the server is and who calls.
#[derive(Clone)]
pub enum Target {
    /// The in-process service.
    Storage(Service<SeaOrmStore>),
    /// A server at this address.
    Server(String),
    /// A server at this address, for SCIM on the users of this org.
    Scim {
        /// Host and port.
        address: String,
        /// The org in the SCIM base path.
        org: String,
    },
}

/// One worker's connection.
enum Client {
    Storage(Service<SeaOrmStore>),
    /// REST, gRPC-Web or Connect, by `protocol`.
    Http1 {
        sender: SendRequest<Full<Bytes>>,
        protocol: Protocol,
    },
    Grpc(ManagementServiceClient<Channel>),
    GrpcV2(UserServiceClient<Channel>),
    /// SCIM, whose paths name the users' org.
    Scim {
        sender: SendRequest<Full<Bytes>>,
        org: Arc<str>,
    },
}

/// One HTTP/1.1 keep-alive connection to `address`.
pub async fn http1(address: &str) -> Result<SendRequest<Full<Bytes>>, BenchError> {
    let stream = TcpStream::connect(address).await.map_err(|e| BenchError::new(format!("connect {address}: {e}")))?;
    stream.set_nodelay(true).map_err(|e| BenchError::new(format!("nodelay: {e}")))?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| BenchError::new(format!("HTTP/1.1 handshake: {e}")))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// `n` h2c channels to the server.
async fn channels(address: &str, n: usize) -> Result<Vec<Channel>, BenchError> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let channel = Channel::from_shared(format!("http://{address}"))
            .map_err(|e| BenchError::new(format!("uri: {e}")))?
            .tcp_nodelay(true)
            .connect()
            .await
            .map_err(|e| BenchError::new(format!("h2c connect: {e}")))?;
        out.push(channel);
    }
    Ok(out)
}

impl Client {
    async fn update(&mut self, authorization: &str, slot: &Slot) -> Result<u64, BenchError> {
        let v = values(slot.next_b);
        match self {
            Self::Storage(service) => {
                let meta = RequestMeta { authorization: Some(authorization), ..RequestMeta::default() };
                let request = DomainRequest {
                    user_id: slot.id.clone(),
                    first_name: v.first.to_owned(),
                    last_name: v.last.to_owned(),
                    nick_name: v.nick.to_owned(),
                    display_name: v.display.to_owned(),
                    preferred_language: v.language.to_owned(),
                    gender: v.gender,
                };
                let details = service
                    .update_human_profile(&meta, &request)
                    .await
                    .map_err(|e| BenchError::new(format!("service answered {:?}: {}", e.kind(), e.message())))?;
                Ok(details.sequence)
            }
            Self::Grpc(client) => {
                let mut request = tonic::Request::new(grpc_request(&slot.id, v));
                let value = authorization.parse().map_err(|_| BenchError::new("authorization metadata"))?;
                request.metadata_mut().insert("authorization", value);
                let response = client
                    .update_human_profile(request)
                    .await
                    .map_err(|s| BenchError::new(format!("gRPC answered {:?}: {}", s.code(), s.message())))?;
                response.into_inner().details.map(|d| d.sequence).ok_or_else(|| BenchError::new("gRPC: no details"))
            }
            Self::GrpcV2(client) => {
                let mut request = tonic::Request::new(v2_request(&slot.id, v));
                let value = authorization.parse().map_err(|_| BenchError::new("authorization metadata"))?;
                request.metadata_mut().insert("authorization", value);
                let response = client
                    .update_human_user(request)
                    .await
                    .map_err(|s| BenchError::new(format!("gRPC v2 answered {:?}: {}", s.code(), s.message())))?;
                response.into_inner().details.map(|d| d.sequence).ok_or_else(|| BenchError::new("gRPC v2: no details"))
            }
            Self::Scim { sender, org } => {
                let body = serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [
                        {"op": "replace", "path": "name.givenName", "value": v.first},
                        {"op": "replace", "path": "name.familyName", "value": v.last},
                        {"op": "replace", "path": "displayName", "value": v.display},
                        {"op": "replace", "path": "preferredLanguage", "value": v.language}
                    ]
                });
                let request = http::Request::patch(format!("/scim/v2/{org}/Users/{}", slot.id))
                    .header("host", "127.0.0.1")
                    .header("authorization", authorization)
                    .header("content-type", "application/scim+json")
                    .body(Full::new(Bytes::from(body.to_string())))
                    .map_err(|e| BenchError::new(format!("request: {e}")))?;
                let (status, _, body) = exchange(sender, request).await?;
                if status != 200 {
                    return Err(BenchError::new(format!("SCIM answered {status}: {}", String::from_utf8_lossy(&body))));
                }
                let json: serde_json::Value = serde_json::from_slice(&body)
                    .map_err(|e| BenchError::new(format!("SCIM body is not JSON ({e})")))?;
                json["meta"]["version"]
                    .as_str()
                    .and_then(|v| v.strip_prefix("W/\"")?.strip_suffix('"')?.parse().ok())
                    .ok_or_else(|| BenchError::new(format!("SCIM body without meta.version: {json}")))
            }
            Self::Http1 { sender, protocol: Protocol::Connect } => {
                let body = serde_json::to_vec(&grpc_request(&slot.id, v))
                    .map_err(|e| BenchError::new(format!("Connect request as JSON: {e}")))?;
                let request = http::Request::post("/zitadel.management.v1.ManagementService/UpdateHumanProfile")
                    .header("host", "127.0.0.1")
                    .header("authorization", authorization)
                    .header("content-type", "application/json")
                    .header("connect-protocol-version", "1")
                    .body(Full::new(Bytes::from(body)))
                    .map_err(|e| BenchError::new(format!("request: {e}")))?;
                let (status, _, body) = exchange(sender, request).await?;
                if status != 200 {
                    let text = String::from_utf8_lossy(&body);
                    return Err(BenchError::new(format!("Connect answered {status}: {text}")));
                }
                let json: serde_json::Value = serde_json::from_slice(&body)
                    .map_err(|e| BenchError::new(format!("Connect body is not JSON ({e})")))?;
                json["details"]["sequence"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| BenchError::new(format!("Connect body without details.sequence: {json}")))
            }
            Self::Http1 { sender, protocol: Protocol::Rest } => {
                let body = format!(
                    "{{\"firstName\":\"{}\",\"lastName\":\"{}\",\"nickName\":\"{}\",\"displayName\":\"{}\",\"preferredLanguage\":\"{}\",\"gender\":{}}}",
                    v.first, v.last, v.nick, v.display, v.language, v.gender
                );
                let request = http::Request::put(format!("/management/v1/users/{}/profile", slot.id))
                    .header("host", "127.0.0.1")
                    .header("authorization", authorization)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body)))
                    .map_err(|e| BenchError::new(format!("request: {e}")))?;
                let (status, _, body) = exchange(sender, request).await?;
                if status != 200 {
                    return Err(BenchError::new(format!("REST answered {status}: {}", String::from_utf8_lossy(&body))));
                }
                let json: serde_json::Value = serde_json::from_slice(&body)
                    .map_err(|e| BenchError::new(format!("REST body is not JSON ({e})")))?;
                json["details"]["sequence"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| BenchError::new(format!("REST body without details.sequence: {json}")))
            }
            // gRPC-Web: the other protocol an HTTP/1.1 client is made for.
            Self::Http1 { sender, .. } => {
                let encoded = grpc_request(&slot.id, v).encode_to_vec();
                let length = u32::try_from(encoded.len()).map_err(|_| BenchError::new("message too long"))?;
                let mut framed = Vec::with_capacity(encoded.len() + 5);
                framed.push(0);
                framed.extend_from_slice(&length.to_be_bytes());
                framed.extend_from_slice(&encoded);
                let request = http::Request::post("/zitadel.management.v1.ManagementService/UpdateHumanProfile")
                    .header("host", "127.0.0.1")
                    .header("authorization", authorization)
                    .header("content-type", "application/grpc-web+proto")
                    .header("x-grpc-web", "1")
                    .body(Full::new(Bytes::from(framed)))
                    .map_err(|e| BenchError::new(format!("request: {e}")))?;
                let (status, headers, body) = exchange(sender, request).await?;
                if status != 200 {
                    return Err(BenchError::new(format!("gRPC-Web answered HTTP {status}")));
                }
                grpc_web_sequence(&headers, body)
            }
        }
    }
}

/// Sends `request` and reads the whole answer: status, headers and body.
pub async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: http::Request<Full<Bytes>>,
) -> Result<(u16, http::HeaderMap, Bytes), BenchError> {
    sender.ready().await.map_err(|e| BenchError::new(format!("connection: {e}")))?;
    let response = sender.send_request(request).await.map_err(|e| BenchError::new(format!("request: {e}")))?;
    let status = response.status().as_u16();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| BenchError::new(format!("body: {e}")))?.to_bytes();
    Ok((status, parts.headers, body))
}

/// The sequence in a gRPC-Web answer, or the error its status names.
fn grpc_web_sequence(headers: &http::HeaderMap, mut body: Bytes) -> Result<u64, BenchError> {
    let mut status = headers.get("grpc-status").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut message = headers.get("grpc-message").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut data = None;
    while body.remaining() >= 5 {
        let flag = body.get_u8();
        let length = body.get_u32() as usize;
        if body.remaining() < length {
            return Err(BenchError::new("gRPC-Web: truncated frame"));
        }
        let frame = body.split_to(length);
        if flag & 0x80 == 0 {
            data = Some(frame);
        } else {
            for line in String::from_utf8_lossy(&frame).split("\r\n") {
                if let Some((key, value)) = line.split_once(':') {
                    match key.trim().to_ascii_lowercase().as_str() {
                        "grpc-status" => status = Some(value.trim().to_owned()),
                        "grpc-message" => message = Some(value.trim().to_owned()),
                        _ => {}
                    }
                }
            }
        }
    }
    match status.as_deref() {
        Some("0") => {}
        other => {
            return Err(BenchError::new(format!(
                "gRPC-Web status {}: {}",
                other.unwrap_or("missing"),
                message.unwrap_or_default()
            )));
        }
    }
    let data = data.ok_or_else(|| BenchError::new("gRPC-Web: no message"))?;
    let response =
        UpdateHumanProfileResponse::decode(data).map_err(|e| BenchError::new(format!("gRPC-Web decode: {e}")))?;
    response.details.map(|d| d.sequence).ok_or_else(|| BenchError::new("gRPC-Web: no details"))
}

/// How long a run lasts.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Unrecorded warm-up at the start.
    pub warmup: Duration,
    /// Recorded time after it.
    pub measure: Duration,
}

/// The outcome of one run.
pub struct RunResult {
    /// Completed updates per second in the recorded window.
    pub rps: f64,
    /// Updates completed in the recorded window.
    pub count: u64,
    /// Latency in microseconds.
    pub latency: Histogram,
    /// Errors (a run with any is reported as failed).
    pub errors: u64,
}

impl RunResult {
    /// A latency quantile in milliseconds.
    pub fn ms(&self, quantile: f64) -> f64 {
        micros_to_ms(self.latency.value_at_quantile(quantile))
    }

    /// The slowest update in milliseconds.
    pub fn max_ms(&self) -> f64 {
        micros_to_ms(self.latency.max())
    }
}

/// Adds `part` to `total` as if both were one run of their summed recorded time.
pub fn merge(total: &mut Option<RunResult>, part: RunResult) {
    match total {
        None => *total = Some(part),
        Some(sum) => {
            #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
            let (a, b) = (sum.count as f64, part.count as f64);
            // Throughputs over equal windows: the combined one is their mean.
            let windows = (a / sum.rps.max(f64::MIN_POSITIVE)) + (b / part.rps.max(f64::MIN_POSITIVE));
            sum.latency.add(&part.latency);
            sum.count += part.count;
            sum.errors += part.errors;
            sum.rps = if windows > 0.0 { (a + b) / windows } else { 0.0 };
        }
    }
}

fn micros_to_ms(micros: u64) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "latencies are far below 2^52 microseconds")]
    let micros = micros as f64;
    micros / 1000.0
}

/// Runs `concurrency` workers, worker `i` on `slots[i]`, and updates the slots.
pub async fn run(
    target: &Target,
    protocol: Protocol,
    authorization: &str,
    slots: &mut [Slot],
    concurrency: usize,
    timing: Timing,
) -> Result<RunResult, BenchError> {
    if slots.len() < concurrency {
        return Err(BenchError::new("fewer users than workers"));
    }
    let mut clients = Vec::with_capacity(concurrency);
    match (target, protocol) {
        (Target::Storage(service), Protocol::Storage) => {
            clients.extend((0..concurrency).map(|_| Client::Storage(service.clone())));
        }
        (Target::Server(address), Protocol::Rest | Protocol::GrpcWeb | Protocol::Connect) => {
            for _ in 0..concurrency {
                clients.push(Client::Http1 { sender: http1(address).await?, protocol });
            }
        }
        (Target::Server(address), Protocol::Grpc | Protocol::GrpcV2) => {
            // Up to 4 HTTP/2 connections, the workers' streams spread over them.
            let pool = channels(address, concurrency.min(4)).await?;
            for i in 0..concurrency {
                let channel = pool[i % pool.len()].clone();
                clients.push(if protocol == Protocol::Grpc {
                    Client::Grpc(ManagementServiceClient::new(channel))
                } else {
                    Client::GrpcV2(UserServiceClient::new(channel))
                });
            }
        }
        (Target::Scim { address, org }, Protocol::ScimPatch) => {
            let org: Arc<str> = Arc::from(org.as_str());
            for _ in 0..concurrency {
                clients.push(Client::Scim { sender: http1(address).await?, org: Arc::clone(&org) });
            }
        }
        _ => return Err(BenchError::new("this protocol needs another target")),
    }
    let authorization: Arc<str> = Arc::from(authorization);
    let start = Instant::now() + Duration::from_millis(20);
    let measure_from = start + timing.warmup;
    let end = measure_from + timing.measure;
    let mut tasks = Vec::with_capacity(concurrency);
    for (mut client, slot) in clients.into_iter().zip(slots.iter().cloned()) {
        let authorization = Arc::clone(&authorization);
        tasks.push(tokio::spawn(async move {
            let mut slot = slot;
            let mut histogram = Histogram::default();
            let mut count = 0u64;
            tokio::time::sleep_until(start.into()).await;
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let call = tokio::time::timeout(Duration::from_secs(30), client.update(&authorization, &slot)).await;
                let answered = Instant::now();
                let sequence = match call {
                    Ok(Ok(sequence)) => sequence,
                    Ok(Err(error)) => return Err((slot, error)),
                    Err(_) => return Err((slot, BenchError::new("no answer within 30 s"))),
                };
                if sequence != slot.sequence + 1 {
                    let error = BenchError::new(format!(
                        "user {} answered sequence {sequence}, expected {}",
                        slot.id,
                        slot.sequence + 1
                    ));
                    return Err((slot, error));
                }
                slot.sequence = sequence;
                slot.next_b = !slot.next_b;
                if sent >= measure_from && answered <= end {
                    let micros = u64::try_from(answered.duration_since(sent).as_micros()).unwrap_or(u64::MAX);
                    histogram.record(micros);
                    count += 1;
                }
            }
            Ok::<_, (Slot, BenchError)>((slot, histogram, count))
        }));
    }
    let mut latency = Histogram::default();
    let mut first_error = None;
    let mut errors = 0;
    for (task, slot) in tasks.into_iter().zip(slots.iter_mut()) {
        match task.await {
            Ok(Ok((updated, histogram, n))) => {
                *slot = updated;
                latency.add(&histogram);
                debug_assert_eq!(histogram.len(), n);
            }
            Ok(Err((updated, error))) => {
                *slot = updated;
                errors += 1;
                first_error.get_or_insert(error);
            }
            Err(join) => {
                errors += 1;
                first_error.get_or_insert(BenchError::new(format!("worker panicked: {join}")));
            }
        }
    }
    if let Some(error) = first_error {
        return Err(BenchError::new(format!(
            "{} at concurrency {concurrency}: {errors} worker(s) failed, first: {error}",
            protocol.name()
        )));
    }
    let count = latency.len();
    #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
    let rps = count as f64 / timing.measure.as_secs_f64();
    Ok(RunResult { rps, count, latency, errors })
}
