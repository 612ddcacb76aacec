//! Optional TLS: with `tls.cert_path` and `tls.key_path` the listener speaks HTTPS, HTTP/1.1
//! and HTTP/2 (by ALPN), and gRPC to a tonic TLS channel, with a self-signed certificate made
//! by the test.

use crate::harness::{Launch, Server, get_over_tls, run, write_file};
use bytes::Bytes;
use persona_api_grpc::pb::zitadel::management::v1::GetMyOrgRequest;
use persona_api_grpc::pb::zitadel::management::v1::management_service_client::ManagementServiceClient;
use std::sync::Arc;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

#[tokio::test]
async fn tls_serves_http1_http2_and_grpc_with_the_configured_certificate() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
    let dir = tempfile::tempdir().expect("dir");
    let cert = write_file(dir.path(), "cert.pem", &certified.cert.pem());
    let key = write_file(dir.path(), "key.pem", &certified.signing_key.serialize_pem());
    let mut roots = RootCertStore::empty();
    roots.add(certified.cert.der().clone()).expect("trust the certificate");
    let client = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let client = Arc::new(client);

    let options = Launch {
        env: vec![
            ("PERSONA_TLS__CERT_PATH".to_owned(), cert.display().to_string()),
            ("PERSONA_TLS__KEY_PATH".to_owned(), key.display().to_string()),
        ],
        tls: Some(client.clone()),
        ..Launch::default()
    };
    let server = Server::launch(options).await;
    assert_eq!(get_over_tls(&server.address, client.clone(), "/ready", false).await, Ok((200, http::Version::HTTP_11)));
    assert_eq!(get_over_tls(&server.address, client, "/ready", true).await, Ok((200, http::Version::HTTP_2)));

    // gRPC over TLS with tonic's own TLS channel, trusting the same certificate.
    let tls =
        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(certified.cert.pem())).domain_name("localhost");
    let channel = Channel::from_shared(format!("https://{}", server.address))
        .expect("uri")
        .tls_config(tls)
        .expect("a TLS channel")
        .connect()
        .await
        .expect("a TLS connection");
    let mut request = tonic::Request::new(GetMyOrgRequest {});
    request.metadata_mut().insert("authorization", server.admin().parse().expect("metadata"));
    let org = ManagementServiceClient::new(channel.clone()).get_my_org(request).await.expect("GetMyOrg over TLS");
    assert!(org.into_inner().org.is_some_and(|org| !org.id.is_empty()));
    let health = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await;
    assert_eq!(health.expect("health over TLS").into_inner().status(), ServingStatus::Serving);
    assert!(
        server.request("GET", "/healthz", &[], Bytes::new()).await.is_err(),
        "plain HTTP is not served on a TLS listener"
    );
}

#[tokio::test]
async fn an_unreadable_certificate_stops_the_start_naming_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    let key = write_file(dir.path(), "key.pem", "not a key");
    let env = [
        ("PERSONA_TLS__CERT_PATH", "/nonexistent/cert.pem"),
        ("PERSONA_TLS__KEY_PATH", key.to_str().expect("path")),
        ("PERSONA_DATABASE__URL", "sqlite::memory:"),
    ];
    let output = run(&["serve"], &env).await;
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("tls.cert_path") && stderr.contains("/nonexistent/cert.pem"), "{stderr}");
}
