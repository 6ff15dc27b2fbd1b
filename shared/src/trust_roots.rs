//! The certificate authorities the functions trust for their HTTPS calls to AWS
//! (DynamoDB, Secrets Manager): Mozilla's root program, compiled into the binary by
//! the `webpki-root-certs` crate, instead of the system's files.
//!
//! The SDK's default client reads every certificate under `/etc/ssl/certs` when it
//! first connects, which was most of the functions' cold start beyond a hello-world
//! Lambda (BENCHMARKS.md). Here no certificate file is read at all: the SDK crates are
//! built without their default HTTPS client, and every client gets
//! [`aws_https_client`], whose trust store has the system's roots switched off and
//! which is built on the first call to AWS rather than at start-up. TLS itself is
//! unchanged: rustls on aws-lc-rs, the same cipher suites, full chain and hostname
//! verification.
//!
//! The set is updated with the crate: `cargo update -p webpki-root-certs` (a new
//! version follows each Mozilla release). AWS endpoints chain to Amazon Root CA 1–4
//! and, for older clients, to Starfield Services Root Certificate Authority G2; the
//! tests check that all five are in the set.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, tls::rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The compiled-in roots as one PEM bundle, the form the SDK's trust store takes.
pub fn pem_bundle() -> Vec<u8> {
    let mut pem = Vec::with_capacity(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() * 2200);
    for certificate in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
        let encoded = STANDARD.encode(certificate.as_ref());
        for line in encoded.as_bytes().chunks(64) {
            pem.extend_from_slice(line);
            pem.push(b'\n');
        }
        pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
    }
    pem
}

/// The HTTPS client every AWS SDK client of the service uses: rustls with aws-lc-rs,
/// trusting exactly the compiled-in roots, built on the client's first call (see
/// [`BuiltOnFirstCall`]).
pub fn aws_https_client() -> SharedHttpClient {
    SharedHttpClient::new(BuiltOnFirstCall::default())
}

/// The SDK's hyper client, built when the SDK first asks it for a connector, that is
/// on the first request, and not when the SDK client is constructed.
///
/// The SDK's own client builds a throw-away connector while the SDK client is being
/// constructed (`validate_base_client_config`, meant to read the system's
/// certificate files early), then another on the first request. Each build decodes
/// the PEM bundle and parses every root: about 6.5 million instructions, two thirds
/// of the users-me function's whole cold start (BENCHMARKS.md, "Cold start"). This
/// wrapper leaves that validation out, so the roots are parsed once, on the first
/// call to AWS, and a function that answers without calling AWS never parses them.
#[derive(Debug, Default)]
pub struct BuiltOnFirstCall {
    client: Arc<OnceLock<SharedHttpClient>>,
}

impl BuiltOnFirstCall {
    fn client(&self) -> &SharedHttpClient {
        self.client.get_or_init(|| {
            let trust_store = TrustStore::empty()
                .with_native_roots(false)
                .with_pem_certificate(pem_bundle());
            let context = TlsContext::builder()
                .with_trust_store(trust_store)
                .build()
                // Only fails for a TLS provider other than rustls.
                .expect("a TLS context for rustls");
            Builder::new()
                .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(context)
                .build_https()
        })
    }
}

impl HttpClient for BuiltOnFirstCall {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        // The inner client caches one connector per timeout setting.
        self.client().http_connector(settings, components)
    }

    /// What the SDK's hyper client reports for the user agent, without building it.
    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        Some(ConnectorMetadata::new("hyper", Some(Cow::Borrowed("1.x"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SHA-256 fingerprints of the roots AWS service endpoints chain to, as Amazon
    /// Trust Services publishes them (https://www.amazontrust.com/repository/).
    const AWS_ROOTS: [(&str, &str); 5] = [
        (
            "Amazon Root CA 1",
            "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e",
        ),
        (
            "Amazon Root CA 2",
            "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4",
        ),
        (
            "Amazon Root CA 3",
            "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4",
        ),
        (
            "Amazon Root CA 4",
            "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092",
        ),
        (
            "Starfield Services Root Certificate Authority - G2",
            "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5",
        ),
    ];

    fn fingerprint(der: &[u8]) -> String {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn the_roots_aws_endpoints_chain_to_are_trusted() {
        let trusted: Vec<String> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| fingerprint(c.as_ref()))
            .collect();
        for (name, expected) in AWS_ROOTS {
            assert!(
                trusted.iter().any(|f| f == expected),
                "{name} is not trusted"
            );
        }
        // Mozilla's program, not a handful: roughly 150 roots.
        assert!(trusted.len() > 100, "{}", trusted.len());
    }

    #[test]
    fn the_pem_bundle_holds_every_root_exactly() {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let bundle = pem_bundle();
        let parsed: Vec<CertificateDer<'_>> = CertificateDer::pem_slice_iter(&bundle)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(parsed.len(), webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
        for (ours, theirs) in parsed.iter().zip(webpki_root_certs::TLS_SERVER_ROOT_CERTS) {
            assert_eq!(ours.as_ref(), theirs.as_ref());
        }
    }

    /// The SDK client is constructed without parsing a root; the first request builds
    /// the TLS client (which the next requests share: it is a `OnceLock`).
    #[tokio::test]
    async fn the_tls_client_is_built_on_the_first_request_only() {
        use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
        let credentials = Credentials::new("test", "test", None, None, "test");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        // A server that closes every connection: each request fails, after connecting.
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                drop(socket);
            }
        });
        let lazy = BuiltOnFirstCall::default();
        let built = Arc::clone(&lazy.client);
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .credentials_provider(credentials)
            .region(Region::new("us-east-1"))
            .endpoint_url(&endpoint)
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .http_client(SharedHttpClient::new(lazy))
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(config);
        assert!(built.get().is_none(), "built with the SDK client");

        assert!(client.list_tables().send().await.is_err());
        assert!(built.get().is_some(), "not built by the first request");
    }
}
