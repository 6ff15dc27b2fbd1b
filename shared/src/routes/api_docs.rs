//! `GET /openapi.json` (the document from [`crate::openapi`]) and `GET /docs`
//! (Swagger UI, compiled into the binary: no CDN, no network).
//!
//! The page loads its script and style from `docs/...` relative to itself and finds
//! the document at `<base>/openapi.json`, so it works under any stage or path prefix.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderValue, Method, Response, header};

use super::Endpoint;
use crate::config::{self, ConfigError, Environment, ServiceSettings};
use crate::error::ApiError;
use crate::http::{HttpResponse, error_response, json_cacheable};
use crate::openapi::{self, OptionalRoutes};

/// The page's Content-Security-Policy: scripts and styles from this origin only (the
/// start-up script is a file for that reason); Swagger UI sets inline styles and
/// uses data: images; "Try it out" calls this origin.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'none'";

/// The compiled-in files: (path suffix, content type, body).
const ASSETS: [(&str, &str, &str); 4] = [
    (
        "/docs",
        "text/html; charset=utf-8",
        include_str!("../../assets/swagger-ui/docs.html"),
    ),
    (
        "/docs/docs.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/swagger-ui/docs.js"),
    ),
    (
        "/docs/swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/swagger-ui/swagger-ui-bundle.js"),
    ),
    (
        "/docs/swagger-ui.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/swagger-ui/swagger-ui.css"),
    ),
];

/// How long browsers may keep the page and its assets.
const MAX_AGE_SECONDS: u32 = 3600;

/// Serves the document and the page. Cheap to clone: one instance answers several
/// path suffixes of [`super::EndpointsByPath`].
#[derive(Clone)]
pub struct ApiDocsEndpoint {
    issuer: Arc<str>,
    optional: OptionalRoutes,
    /// Built on the first request rather than at cold start.
    document: Arc<OnceLock<String>>,
}

impl ApiDocsEndpoint {
    /// Every path suffix this endpoint answers.
    pub const PATH_SUFFIXES: [&'static str; 5] = [
        "/openapi.json",
        "/docs",
        "/docs/docs.js",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-ui.css",
    ];

    pub fn new(issuer: &str, optional: OptionalRoutes) -> Self {
        ApiDocsEndpoint {
            issuer: issuer.into(),
            optional,
            document: Arc::new(OnceLock::new()),
        }
    }

    /// `AUTH_ISSUER` (the API's base URL, listed as the document's server) and the
    /// self-service switches (their routes are listed only when switched on).
    pub fn from_env(env: &dyn Environment) -> Result<Self, ConfigError> {
        let service = ServiceSettings::from_env(env)?;
        let optional = OptionalRoutes {
            registration: config::switch(env, "SELF_SERVICE_REGISTRATION")?,
            password_change: config::switch(env, "SELF_SERVICE_PASSWORD_CHANGE")?,
        };
        Ok(ApiDocsEndpoint::new(&service.issuer, optional))
    }

    fn respond(&self, request: &http::Request<Bytes>) -> Result<HttpResponse, ApiError> {
        if request.method() != Method::GET {
            return Err(ApiError::MethodNotAllowed { allow: "GET" });
        }
        let path = request.uri().path().trim_end_matches('/');
        if path.ends_with("/openapi.json") {
            let document = self
                .document
                .get_or_init(|| openapi::document_json(&self.issuer, self.optional));
            return Ok(json_cacheable(document, MAX_AGE_SECONDS));
        }
        let (suffix, content_type, body) = ASSETS
            .iter()
            .find(|(suffix, _, _)| path.ends_with(suffix))
            .ok_or(ApiError::NotFound)?;
        let mut response = Response::new((*body).to_owned());
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={MAX_AGE_SECONDS}")) {
            headers.insert(header::CACHE_CONTROL, value);
        }
        if *suffix == "/docs" {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(DOCS_CSP),
            );
        }
        Ok(response)
    }
}

#[async_trait]
impl Endpoint for ApiDocsEndpoint {
    async fn handle(&self, request: http::Request<Bytes>) -> HttpResponse {
        match self.respond(&request) {
            Ok(response) => response,
            Err(error) => error_response(&error, ""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(endpoint: &ApiDocsEndpoint, path: &str) -> HttpResponse {
        let request = http::Request::get(path).body(Bytes::new()).unwrap();
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(endpoint.handle(request))
    }

    fn endpoint(optional: OptionalRoutes) -> ApiDocsEndpoint {
        ApiDocsEndpoint::new("https://auth.example.com", optional)
    }

    #[test]
    fn serves_the_document_with_the_issuer_as_server() {
        let response = get(&endpoint(OptionalRoutes::default()), "/openapi.json");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        let doc: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["servers"][0]["url"], "https://auth.example.com");
    }

    #[test]
    fn self_service_routes_are_listed_only_when_switched_on() {
        let paths = |optional| {
            let response = get(&endpoint(optional), "/prod/openapi.json");
            let doc: serde_json::Value = serde_json::from_str(response.body()).unwrap();
            let paths = doc["paths"].as_object().unwrap().clone();
            (
                paths.contains_key("/users"),
                paths.contains_key("/users/me/password"),
            )
        };
        assert_eq!(paths(OptionalRoutes::default()), (false, false));
        assert_eq!(
            paths(OptionalRoutes {
                registration: true,
                password_change: false
            }),
            (true, false)
        );
        assert_eq!(
            paths(OptionalRoutes {
                registration: true,
                password_change: true
            }),
            (true, true)
        );
    }

    #[test]
    fn the_page_and_its_assets_come_from_the_binary() {
        let docs = endpoint(OptionalRoutes::default());
        let page = get(&docs, "/docs");
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
        assert!(
            page.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("script-src 'self'")
        );
        assert!(
            !page.body().contains("http"),
            "the page must not load from a CDN"
        );
        for (path, content_type) in [
            ("/docs/docs.js", "text/javascript; charset=utf-8"),
            (
                "/stage/docs/swagger-ui-bundle.js",
                "text/javascript; charset=utf-8",
            ),
            // The page asks for `docs/...` relative to itself, also from `/docs/`.
            ("/docs/docs/swagger-ui.css", "text/css; charset=utf-8"),
        ] {
            let asset = get(&docs, path);
            assert_eq!(asset.status(), 200, "{path}");
            assert_eq!(asset.headers()["content-type"], content_type, "{path}");
            assert!(asset.body().len() > 100, "{path}");
        }
        assert!(get(&docs, "/docs/").body().contains("swagger-ui"));
    }

    #[test]
    fn other_paths_and_methods_are_refused() {
        let docs = endpoint(OptionalRoutes::default());
        assert_eq!(get(&docs, "/docs/secret.txt").status(), 404);
        let post = http::Request::post("/openapi.json")
            .body(Bytes::new())
            .unwrap();
        let response = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(docs.handle(post));
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()["allow"], "GET");
    }
}
