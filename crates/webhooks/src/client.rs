//! One HTTP/1.1 POST per attempt, over TCP or TLS (rustls with the *ring* provider, the roots
//! of the system's CA bundle). Connections are kept alive and reused per endpoint (a small pool
//! of idle HTTP/1 connections), unless the endpoint answers `Connection: close`.

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// Where an endpoint is: scheme, host, port and the request target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `https`?
    pub tls: bool,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// `Host` header value.
    pub authority: String,
    /// Path and query.
    pub path: String,
}

/// Why a URL cannot be an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UrlError(String);

impl Target {
    /// Parses an `http://` or `https://` URL.
    ///
    /// # Errors
    /// [`UrlError`] for another scheme, a missing host or a bad port.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let fail = |why: &str| UrlError(format!("{why}; write it as http(s)://host[:port]/path"));
        let (scheme, rest) = url.split_once("://").ok_or_else(|| fail("the URL has no scheme"))?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            _ => return Err(fail("the scheme is not http or https")),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        let tail = tail.split('#').next().unwrap_or_default();
        let path = if tail.starts_with('/') { tail.to_owned() } else { format!("/{tail}") };
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']').ok_or_else(|| fail("an IPv6 address lacks its ]"))?;
            (host.to_owned(), after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host.to_owned(), Some(port)),
                None => (authority.to_owned(), None),
            }
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(fail("the URL has no host"));
        }
        let port = match port {
            Some(port) => port.parse().map_err(|_| fail("the port is not a number"))?,
            None if tls => 443,
            None => 80,
        };
        Ok(Self { tls, host, port, authority: authority.to_owned(), path })
    }

    /// The endpoint as a metrics label and in logs: scheme, host, port and path, without
    /// credentials or query.
    #[must_use]
    pub fn label(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let path = self.path.split('?').next().unwrap_or_default();
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        format!("{scheme}://{host}:{}{path}", self.port)
    }
}

/// Why an attempt got no HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// TCP or TLS could not be set up.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The exchange failed.
    #[error("the request failed: {0}")]
    Http(String),
    /// No CA bundle for an https endpoint.
    #[error("no CA certificates for https endpoints: {0}")]
    NoRoots(String),
}

/// Which connections can carry a request: https?, host, port.
type PoolKey = (bool, String, u16);

/// One HTTP/1 connection's request side.
type Sender = SendRequest<Full<Bytes>>;

/// The HTTP client of the delivery loop.
#[derive(Clone)]
pub struct Client {
    idle: Arc<Mutex<HashMap<PoolKey, Vec<Sender>>>>,
    tls: Option<TlsConnector>,
    roots_error: Option<String>,
    user_agent: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("tls", &self.tls.is_some()).finish_non_exhaustive()
    }
}

/// The system CA bundle: `SSL_CERT_FILE`, else the usual places.
fn ca_bundle() -> Option<PathBuf> {
    if let Some(file) = std::env::var_os("SSL_CERT_FILE") {
        return Some(PathBuf::from(file));
    }
    ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"]
        .into_iter()
        .map(Path::new)
        .find(|path| path.is_file())
        .map(Path::to_path_buf)
}

fn tls_connector() -> Result<TlsConnector, String> {
    let path = ca_bundle().ok_or_else(|| "no CA bundle found (set SSL_CERT_FILE)".to_owned())?;
    let mut roots = RootCertStore::empty();
    let certificates = CertificateDer::pem_file_iter(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    for certificate in certificates.flatten() {
        let _ = roots.add(certificate);
    }
    if roots.is_empty() {
        return Err(format!("{} holds no certificate", path.display()));
    }
    let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

impl Client {
    /// A client; TLS roots are read only when `https` is true (some endpoint needs them).
    #[must_use]
    pub fn new(https: bool) -> Self {
        let (tls, roots_error) = if https {
            match tls_connector() {
                Ok(connector) => (Some(connector), None),
                Err(error) => (None, Some(error)),
            }
        } else {
            (None, None)
        };
        Self {
            idle: Arc::default(),
            tls,
            roots_error,
            user_agent: format!("persona-webhooks/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// Why https endpoints cannot be reached, if they cannot.
    #[must_use]
    pub fn tls_problem(&self) -> Option<&str> {
        self.roots_error.as_deref()
    }

    /// POSTs `body` with `headers` to `target`; answers the HTTP status.
    ///
    /// # Errors
    /// [`SendError`] when there was no answer.
    pub async fn post(&self, target: &Target, headers: &[(&str, String)], body: String) -> Result<u16, SendError> {
        let mut request = http::Request::post(target.path.as_str())
            .header(http::header::HOST, target.authority.as_str())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, self.user_agent.as_str());
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let request = request.body(Full::new(Bytes::from(body))).map_err(|e| SendError::Http(e.to_string()))?;
        let key = (target.tls, target.host.clone(), target.port);
        // An idle connection first; one the endpoint closed meanwhile fails before the request
        // is written, and the request goes out on a new connection instead.
        let mut request = request;
        while let Some(mut sender) = self.take_idle(&key) {
            if sender.ready().await.is_err() {
                continue;
            }
            match sender.try_send_request(request).await {
                Ok(response) => return self.finish(key, sender, response).await,
                Err(mut error) => match error.take_message() {
                    Some(unsent) => request = unsent,
                    None => return Err(SendError::Http(error.into_error().to_string())),
                },
            }
        }
        let mut sender = self.connect(target).await?;
        let response = sender.send_request(request).await.map_err(|e| SendError::Http(e.to_string()))?;
        self.finish(key, sender, response).await
    }

    fn take_idle(&self, key: &PoolKey) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().ok()?;
        let senders = idle.get_mut(key)?;
        while let Some(sender) = senders.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    /// Reads the answer to its end (so that the connection can carry the next request) and
    /// keeps the connection for the next attempt unless the endpoint asked to close it.
    async fn finish(
        &self,
        key: PoolKey,
        sender: SendRequest<Full<Bytes>>,
        response: http::Response<hyper::body::Incoming>,
    ) -> Result<u16, SendError> {
        let status = response.status().as_u16();
        let close =
            response.headers().get_all(http::header::CONNECTION).iter().any(|value| {
                value.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
            });
        let drained = response.into_body().collect().await.is_ok();
        if drained
            && !close
            && !sender.is_closed()
            && let Ok(mut idle) = self.idle.lock()
        {
            {
                let senders = idle.entry(key).or_default();
                if senders.len() < IDLE_PER_ENDPOINT {
                    senders.push(sender);
                }
            }
        }
        Ok(status)
    }

    async fn connect(&self, target: &Target) -> Result<SendRequest<Full<Bytes>>, SendError> {
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| SendError::Connect(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        if target.tls {
            let connector = self.tls.as_ref().ok_or_else(|| {
                SendError::NoRoots(self.roots_error.clone().unwrap_or_else(|| "TLS is not set up".to_owned()))
            })?;
            let name = ServerName::try_from(target.host.clone())
                .map_err(|e| SendError::Connect(format!("server name: {e}")))?;
            let stream = connector.connect(name, tcp).await.map_err(|e| SendError::Connect(e.to_string()))?;
            handshake(TokioIo::new(stream)).await
        } else {
            handshake(TokioIo::new(tcp)).await
        }
    }
}

/// Idle connections kept per endpoint (the delivery loop sends at most its concurrency at once).
const IDLE_PER_ENDPOINT: usize = 64;

/// An HTTP/1 connection over `io`, driven by a task of its own until either side closes it
/// (the pool drops its sender).
async fn handshake<T>(io: T) -> Result<SendRequest<Full<Bytes>>, SendError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) =
        hyper::client::conn::http1::handshake(io).await.map_err(|e| SendError::Http(e.to_string()))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "webhook connection closed");
        }
    });
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_and_labelled_without_credentials() {
        let target = Target::parse("https://user:pw@crm.internal/hooks/persona?token=x").expect("valid");
        assert_eq!(
            target,
            Target {
                tls: true,
                host: "crm.internal".into(),
                port: 443,
                authority: "crm.internal".into(),
                path: "/hooks/persona?token=x".into(),
            }
        );
        assert_eq!(target.label(), "https://crm.internal:443/hooks/persona");
        let local = Target::parse("http://127.0.0.1:8080").expect("valid");
        assert_eq!((local.port, local.path.as_str(), local.label()), (8080, "/", "http://127.0.0.1:8080/".into()));
        let v6 = Target::parse("http://[::1]:9/x").expect("valid");
        assert_eq!((v6.host.as_str(), v6.port, v6.label()), ("::1", 9, "http://[::1]:9/x".into()));
        for bad in ["ftp://x/", "crm.internal/hooks", "http:///x", "http://x:port/", "http://[::1/x"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
