//! Discovery: `GET /.well-known/openid-configuration` (OpenID Connect Discovery
//! 1.0 §3, §4), `GET /.well-known/oauth-authorization-server` (RFC 8414: the same
//! document, so the two never disagree; RFC 8414 §2 allows the OpenID fields) and
//! `GET /.well-known/jwks.json` (RFC 7517). Both documents are built once at cold
//! start; this function needs no table and no private key.

use async_trait::async_trait;
use bytes::Bytes;
use http::Method;
use serde::Serialize;

use super::Endpoint;
use crate::clients::GrantType;
use crate::config::{self, ConfigError, Environment, ServiceSettings};
use crate::error::ApiError;
use crate::http::{HttpResponse, error_response, json_cacheable};

/// How long clients and caches may keep the documents. A key rotation waits at least
/// this long between publishing a new key and signing with it (see the README).
pub const MAX_AGE_SECONDS: u32 = 300;

const CLIENT_AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];

/// RFC 8414 §2 authorization server metadata, which is also the OpenID Provider
/// metadata of Discovery §3.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    /// OpenID Connect Core §5.3.
    pub userinfo_endpoint: String,
    pub revocation_endpoint: String,
    pub jwks_uri: String,
    /// OpenID Connect RP-Initiated Logout 1.0 §2.1.
    pub end_session_endpoint: String,
    #[schema(value_type = Vec<String>)]
    pub grant_types_supported: Vec<&'static str>,
    #[schema(value_type = Vec<String>)]
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    #[schema(value_type = Vec<String>)]
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// The authorization code flow only (RFC 6749 §4.1).
    #[schema(value_type = Vec<String>)]
    pub response_types_supported: Vec<&'static str>,
    /// `query`: the answer comes back in the redirect's query (RFC 6749 §4.1.2).
    #[schema(value_type = Vec<String>)]
    pub response_modes_supported: Vec<&'static str>,
    /// PKCE is required, `S256` only (RFC 7636 §4.3, RFC 9700 §2.1.1).
    #[schema(value_type = Vec<String>)]
    pub code_challenge_methods_supported: Vec<&'static str>,
    /// Every authorization response carries `iss` (RFC 9207 §3).
    pub authorization_response_iss_parameter_supported: bool,
    /// Discovery §3: `sub` is the user's id, the same for every client.
    #[schema(value_type = Vec<String>)]
    pub subject_types_supported: Vec<&'static str>,
    /// The configured key's algorithm (RS256 is what `template.yaml` deploys;
    /// empty under HS256, which issues no ID tokens).
    #[schema(value_type = Vec<String>)]
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    #[schema(value_type = Vec<String>)]
    pub claims_supported: Vec<&'static str>,
    /// Request objects (Core §6) and the `claims` parameter (Core §5.5) are not
    /// supported; Discovery defaults `request_uri_parameter_supported` to true, so
    /// it is published as false.
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    pub claims_parameter_supported: bool,
}

impl ServerMetadata {
    /// Endpoints live under the issuer URL, as API Gateway serves them.
    /// `scopes_supported` lists the OpenID Connect scopes, then the configured ones.
    pub fn new(
        issuer: &str,
        scopes_supported: Vec<String>,
        algorithm: crate::keys::SigningAlgorithm,
    ) -> Self {
        // HS256 deployments are OAuth 2.0 only: no ID tokens, so no OpenID scopes.
        let openid = algorithm != crate::keys::SigningAlgorithm::Hs256;
        let mut scopes: Vec<String> = crate::oidc::IDENTITY_SCOPES
            .iter()
            .filter(|_| openid)
            .map(|s| s.to_string())
            .collect();
        for scope in scopes_supported {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        let id_token_algorithms = match algorithm {
            crate::keys::SigningAlgorithm::Hs256 => Vec::new(),
            other => vec![other.name()],
        };
        ServerMetadata {
            issuer: issuer.to_owned(),
            authorization_endpoint: format!("{issuer}/authorize"),
            token_endpoint: format!("{issuer}/token"),
            userinfo_endpoint: format!("{issuer}{}", super::users_me::USERINFO_SUFFIX),
            revocation_endpoint: format!("{issuer}/revoke"),
            jwks_uri: format!("{issuer}/.well-known/jwks.json"),
            end_session_endpoint: format!("{issuer}{}", crate::pages::LOGOUT_PATH),
            grant_types_supported: GrantType::ALL.iter().map(|g| g.as_str()).collect(),
            // `none` is a public client identified by client_id alone (RFC 7591 §2).
            token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS.to_vec(),
            revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS.to_vec(),
            scopes_supported: scopes,
            response_types_supported: vec!["code"],
            response_modes_supported: vec!["query"],
            code_challenge_methods_supported: vec!["S256"],
            authorization_response_iss_parameter_supported: true,
            subject_types_supported: vec!["public"],
            id_token_signing_alg_values_supported: id_token_algorithms,
            claims_supported: crate::oidc::CLAIMS_SUPPORTED.to_vec(),
            request_parameter_supported: false,
            request_uri_parameter_supported: false,
            claims_parameter_supported: false,
        }
    }
}

pub struct WellKnownEndpoint {
    metadata: String,
    key_set: String,
}

impl WellKnownEndpoint {
    pub fn new(metadata: &ServerMetadata, key_set: &serde_json::Value) -> Self {
        WellKnownEndpoint {
            metadata: serde_json::to_string(metadata).unwrap_or_default(),
            key_set: key_set.to_string(),
        }
    }

    /// `AUTH_ISSUER`, `JWT_ALGORITHM`, `JWT_VERIFICATION_KEYS` and the optional
    /// `AUTH_SCOPES_SUPPORTED` (space-separated, published as `scopes_supported`
    /// after `openid profile email`).
    pub fn from_env(env: &dyn Environment) -> Result<Self, ConfigError> {
        let service = ServiceSettings::from_env(env)?;
        let scopes = env
            .get("AUTH_SCOPES_SUPPORTED")
            .map(|v| crate::oauth::ScopeSet::parse(&v))
            .transpose()
            .map_err(|_| ConfigError::Invalid {
                var: "AUTH_SCOPES_SUPPORTED",
                reason: "must be space-separated RFC 6749 scope tokens".into(),
            })?
            .map(|set| set.iter().map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(WellKnownEndpoint::new(
            &ServerMetadata::new(&service.issuer, scopes, config::signing_algorithm(env)?),
            &config::public_key_set(env)?,
        ))
    }

    fn respond(&self, request: &http::Request<Bytes>) -> Result<HttpResponse, ApiError> {
        if request.method() != Method::GET {
            return Err(ApiError::MethodNotAllowed { allow: "GET" });
        }
        // Matched by suffix: behind API Gateway, `cargo lambda watch` and the local
        // server alike, whatever prefix the path carries.
        let path = request.uri().path();
        if path.ends_with("/.well-known/oauth-authorization-server")
            || path.ends_with("/.well-known/openid-configuration")
        {
            Ok(json_cacheable(&self.metadata, MAX_AGE_SECONDS))
        } else if path.ends_with("/.well-known/jwks.json") {
            Ok(json_cacheable(&self.key_set, MAX_AGE_SECONDS))
        } else {
            Err(ApiError::NotFound)
        }
    }
}

#[async_trait]
impl Endpoint for WellKnownEndpoint {
    async fn handle(&self, request: http::Request<Bytes>) -> HttpResponse {
        match self.respond(&request) {
            Ok(response) => response,
            Err(error) => error_response(&error, ""),
        }
    }
}
