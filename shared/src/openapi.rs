//! The OpenAPI 3.1 description of the API, served at `GET /openapi.json`.
//!
//! Response bodies are the handlers' own types (`TokenResponse`, `PublicProfile`,
//! `ServerMetadata` derive their schemas), and the error codes come from the one
//! mapping in [`crate::http`]. The request forms, which the handlers read field by
//! field, are described by the `*Form` types below. Each route is one `#[utoipa::path]`
//! item in this file; a test checks that the routes the service serves and the
//! document's paths are the same set.

use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::server::Server;
use utoipa::{Modify, OpenApi, ToSchema};

use crate::http::OAUTH_ERROR_CODES;

/// Which optional routes a deployment serves: the document lists only those.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OptionalRoutes {
    /// `POST /users`.
    pub registration: bool,
    /// `POST /users/me/password`.
    pub password_change: bool,
}

/// The document for a deployment whose issuer (and API base URL) is `issuer`.
pub fn document(issuer: &str, optional: OptionalRoutes) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.servers = Some(vec![Server::new(issuer)]);
    if !optional.registration {
        doc.paths.paths.shift_remove("/users");
    }
    if !optional.password_change {
        doc.paths.paths.shift_remove("/users/me/password");
    }
    doc
}

/// [`document`] as JSON.
pub fn document_json(issuer: &str, optional: OptionalRoutes) -> String {
    document(issuer, optional)
        .to_json()
        .unwrap_or_else(|_| "{}".to_owned())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "OAuth 2.0 authorization server",
        description = "Issues and revokes OAuth 2.0 tokens (RFC 6749, RFC 7009) and \
            protects `GET /users/me` with them (RFC 6750). Access tokens are JWTs \
            (RFC 9068) verifiable with the published key set (RFC 7517).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        authorize,
        authorize_login,
        authorize_consent,
        authorize_stylesheet,
        token,
        revoke,
        users_me,
        userinfo_get,
        userinfo_post,
        logout_get,
        logout_post,
        register,
        change_password,
        authorization_server_metadata,
        openid_configuration,
        json_web_key_set,
        openapi_json,
        api_docs_page,
    ),
    components(schemas(
        LoginForm,
        ConsentForm,
        TokenRequestForm,
        RevocationForm,
        RegistrationBody,
        PasswordChangeBody,
        OAuthError,
        JsonWebKeySet,
        crate::routes::token::TokenResponse,
        crate::users::PublicProfile,
        crate::oidc::UserClaims,
        LogoutParameters,
        crate::routes::well_known::ServerMetadata,
    )),
    modifiers(&SecuritySchemes, &ErrorCodes),
    tags(
        (name = "sign-in", description = "Browser sign-in: RFC 6749 §4.1 authorization code \
            flow with PKCE (RFC 7636) and the hosted login and consent pages"),
        (name = "tokens", description = "RFC 6749 token endpoint and RFC 7009 revocation"),
        (name = "users", description = "The signed-in user's own account"),
        (name = "openid", description = "OpenID Connect: UserInfo (Core §5.3) and \
            RP-initiated logout (RP-Initiated Logout 1.0)"),
        (name = "discovery", description = "Public metadata, keys and this document"),
    ),
)]
struct ApiDoc;

/// `bearer` (RFC 6750 access tokens) and `client_basic` (RFC 6749 §2.3.1).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

/// Fills `OAuthError.error` with every code the service can answer with, taken from
/// the mapping that produces them.
struct ErrorCodes;

impl Modify for ErrorCodes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::Schema;
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        if let Some(RefOr::T(Schema::Object(error))) = components.schemas.get_mut("OAuthError")
            && let Some(RefOr::T(Schema::Object(code))) = error.properties.get_mut("error")
        {
            code.enum_values = Some(OAUTH_ERROR_CODES.iter().map(|c| (*c).into()).collect());
        }
    }
}

/// The grants this server supports at `POST /token`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // a schema only: the handler reads the form field by field
enum GrantTypeName {
    AuthorizationCode,
    Password,
    RefreshToken,
    ClientCredentials,
}

/// `POST /token` form fields (`application/x-www-form-urlencoded`, RFC 6749
/// Appendix B). Which are required depends on `grant_type`.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
struct TokenRequestForm {
    grant_type: GrantTypeName,
    /// `password` grant (§4.3.2): the resource owner's username.
    #[schema(max_length = 64)]
    username: Option<String>,
    /// `password` grant: the resource owner's password.
    #[schema(format = Password, max_length = 72)]
    password: Option<String>,
    /// `refresh_token` grant (§6).
    refresh_token: Option<String>,
    /// `authorization_code` grant (§4.1.3): the code from the redirect.
    code: Option<String>,
    /// `authorization_code` grant: required when the authorization request sent one,
    /// and then the same string.
    redirect_uri: Option<String>,
    /// `authorization_code` grant: the PKCE verifier (RFC 7636 §4.5), 43 to 128
    /// characters.
    #[schema(min_length = 43, max_length = 128)]
    code_verifier: Option<String>,
    /// Space-separated scopes (§3.3); at most what the user and the client may have.
    scope: Option<String>,
    /// Required for public clients. Confidential clients may send it with
    /// `client_secret` (`client_secret_post`) or use HTTP Basic instead, never both.
    client_id: Option<String>,
    /// `client_secret_post` (§2.3.1).
    #[schema(format = Password)]
    client_secret: Option<String>,
}

/// `POST /authorize/login` form fields: what the login page posts.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
struct LoginForm {
    /// The pending authorization request's opaque id, from the page.
    request_id: String,
    /// The page's CSRF token; the request also needs the browser-binding cookie
    /// set by `GET /authorize`.
    csrf_token: String,
    username: String,
    #[schema(format = Password)]
    password: String,
}

/// `POST /authorize/consent` form fields: what the consent page posts.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
struct ConsentForm {
    request_id: String,
    csrf_token: String,
    /// `allow` or `deny`.
    decision: String,
}

/// `POST /logout` form fields: RP-Initiated Logout §2, and the confirmation page's.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
struct LogoutParameters {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    /// The confirmation page's, bound to the browser-binding cookie.
    csrf_token: Option<String>,
    /// The confirmation page's: `logout` or `stay`.
    decision: Option<String>,
}

/// `POST /revoke` form fields (RFC 7009 §2.1).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
struct RevocationForm {
    /// The refresh token to revoke, with every token of its login.
    token: String,
    /// Accepted and not needed: the server tells the kinds apart. Any access token
    /// (a JWT) is answered with `unsupported_token_type`; they expire on their own.
    token_type_hint: Option<String>,
    client_id: Option<String>,
    #[schema(format = Password)]
    client_secret: Option<String>,
}

/// `POST /users` body: exactly these fields.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RegistrationBody {
    /// 1 to 64 of `A-Z a-z 0-9 . _ - @ +`, unique regardless of case.
    #[schema(max_length = 64, pattern = "^[A-Za-z0-9._@+-]{1,64}$")]
    username: String,
    /// NIST SP 800-63B: at least the configured minimum length (8 by default and at
    /// least, which is what `minLength` says), at most 72 bytes, not a common
    /// password, not containing the username.
    #[schema(format = Password, min_length = 8)]
    password: String,
    #[schema(format = Email)]
    email: Option<String>,
    #[schema(max_length = 128)]
    full_name: Option<String>,
}

/// `POST /users/me/password` body: exactly these fields.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct PasswordChangeBody {
    #[schema(format = Password)]
    current_password: String,
    /// The same rules as at registration.
    #[schema(format = Password, min_length = 8)]
    new_password: String,
}

/// Every error body (RFC 6749 §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
struct OAuthError {
    /// The error code; the list is generated from the server's error mapping.
    error: String,
    /// A human-readable explanation, never an internal detail.
    error_description: Option<String>,
}

/// RFC 7517 §5 JWK Set: the public keys that verify access tokens.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
struct JsonWebKeySet {
    #[schema(value_type = Vec<Object>)]
    keys: Vec<serde_json::Value>,
}

// ---- Routes --------------------------------------------------------------------------
//
// Documentation items only: the handlers live in `crate::routes`.

/// Authorization endpoint (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 9207). For a
/// person's browser, not for scripts: it answers with HTML pages and redirects.
///
/// An unknown client or a redirect URI that is not registered (exact match;
/// loopback redirects on any port, RFC 8252 §7.3) is an HTML error page. Every other
/// error is a redirect to the client with `error`, `error_description`, `state`
/// and `iss`. With a live session the browser goes straight back with a `code`;
/// otherwise the login page (and, for clients that are not first-party, the
/// consent page) is shown.
#[utoipa::path(
    get,
    path = "/authorize",
    tag = "sign-in",
    operation_id = "authorize",
    params(
        ("response_type" = Option<String>, Query, description = "`code`"),
        ("client_id" = Option<String>, Query, description = "A registered client"),
        ("redirect_uri" = Option<String>, Query,
            description = "One of the client's; may be left out when it has exactly one"),
        ("scope" = Option<String>, Query, description = "Space-separated scopes"),
        ("state" = Option<String>, Query, description = "Echoed in the redirect"),
        ("code_challenge" = Option<String>, Query,
            description = "BASE64URL(SHA-256(code_verifier)), 43 characters: required"),
        ("code_challenge_method" = Option<String>, Query, description = "`S256`: required"),
        ("prompt" = Option<String>, Query, description = "Space-separated: `none` (alone), \
            `login`, `consent`, `select_account` (shows the login form)"),
        ("max_age" = Option<String>, Query,
            description = "Seconds since the last password entry after which it is asked again"),
        ("login_hint" = Option<String>, Query, description = "Pre-fills the username"),
        ("nonce" = Option<String>, Query,
            description = "Echoed exactly in the ID token (OpenID Connect, scope `openid`)"),
        ("id_token_hint" = Option<String>, Query,
            description = "An ID token this service issued to the client; a session of another \
                user is not used"),
        ("ui_locales" = Option<String>, Query, description = "Accepted and ignored"),
        ("display" = Option<String>, Query, description = "Accepted and ignored"),
        ("request" = Option<String>, Query, description = "Refused: `request_not_supported`"),
        ("request_uri" = Option<String>, Query,
            description = "Refused: `request_uri_not_supported`"),
    ),
    responses(
        (status = 200, description = "The login or consent page", content_type = "text/html",
            body = String),
        (status = 303, description = "Back to the client with `code` (or `error`), `state` and `iss`",
            headers(("Location" = String, description = "The client's redirect URI"))),
        (status = 400, description = "Unknown client or unregistered redirect URI: an error page, \
            no redirect", content_type = "text/html", body = String),
        (status = 405, description = "Only GET", content_type = "text/html", body = String),
        (status = 503, description = "The store is unavailable", content_type = "text/html",
            body = String),
    ),
)]
#[allow(dead_code)]
fn authorize() {}

/// The login form's target: the one sign-in path of the password grant (throttle,
/// lock, identical errors), then a session and the redirect to the client.
#[utoipa::path(
    post,
    path = "/authorize/login",
    tag = "sign-in",
    operation_id = "authorizeLogin",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The consent page", content_type = "text/html", body = String),
        (status = 303, description = "Back to the client with a code; sets the session cookie",
            headers(("Location" = String, description = "The client's redirect URI"))),
        (status = 400, description = "Wrong credentials (the form again), or an expired or \
            used form", content_type = "text/html", body = String),
        (status = 403, description = "CSRF token or browser binding does not match",
            content_type = "text/html", body = String),
        (status = 405, description = "Only POST", content_type = "text/html", body = String),
        (status = 429, description = "The username is locked after repeated failures",
            content_type = "text/html", body = String,
            headers(("Retry-After" = u32, description = "Seconds"))),
        (status = 503, description = "The store is unavailable", content_type = "text/html",
            body = String),
    ),
)]
#[allow(dead_code)]
fn authorize_login() {}

/// The consent form's target: Allow issues a code (and remembers the consent), Deny
/// redirects with `access_denied`.
#[utoipa::path(
    post,
    path = "/authorize/consent",
    tag = "sign-in",
    operation_id = "authorizeConsent",
    request_body(content = ConsentForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Back to the client with a code or `access_denied`",
            headers(("Location" = String, description = "The client's redirect URI"))),
        (status = 400, description = "An expired or used form, or no session",
            content_type = "text/html", body = String),
        (status = 403, description = "CSRF token or browser binding does not match",
            content_type = "text/html", body = String),
        (status = 405, description = "Only POST", content_type = "text/html", body = String),
        (status = 503, description = "The store is unavailable", content_type = "text/html",
            body = String),
    ),
)]
#[allow(dead_code)]
fn authorize_consent() {}

/// The sign-in pages' stylesheet, with the configured brand colour.
#[utoipa::path(
    get,
    path = "/authorize/style.css",
    tag = "sign-in",
    operation_id = "authorizeStylesheet",
    responses((status = 200, description = "CSS", content_type = "text/css", body = String)),
)]
#[allow(dead_code)]
fn authorize_stylesheet() {}

/// Token endpoint (RFC 6749 §3.2): authorization code with PKCE (§4.1.3, RFC 7636
/// §4.5), password (§4.3), refresh token (§6) and client credentials (§4.4) grants.
///
/// Public clients send `client_id`; confidential clients authenticate with HTTP Basic
/// or `client_secret` in the form. Five failed logins of one username lock it for a
/// while (`invalid_grant` with `Retry-After`).
#[utoipa::path(
    post,
    path = "/token",
    tag = "tokens",
    operation_id = "token",
    request_body(content = TokenRequestForm, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_basic" = [])),
    responses(
        (status = 200, description = "Tokens issued (RFC 6749 §5.1)", body = crate::routes::token::TokenResponse,
            headers(("Cache-Control" = String, description = "no-store"))),
        (status = 400, description = "invalid_request, invalid_grant, unauthorized_client, \
            unsupported_grant_type or invalid_scope (§5.2)", body = OAuthError,
            headers(("Retry-After" = u32, description = "Seconds, when the username is locked \
                after repeated failures"))),
        (status = 401, description = "invalid_client (§5.2)", body = OAuthError,
            headers(("WWW-Authenticate" = String, description = "Basic challenge"))),
        (status = 405, description = "Only POST", body = OAuthError),
        (status = 413, description = "Body over 8 KiB", body = OAuthError),
        (status = 503, description = "temporarily_unavailable", body = OAuthError,
            headers(("Retry-After" = u32, description = "Seconds"))),
    ),
)]
#[allow(dead_code)]
fn token() {}

/// Token revocation (RFC 7009). Revoking a refresh token ends its whole login.
#[utoipa::path(
    post,
    path = "/revoke",
    tag = "tokens",
    operation_id = "revoke",
    request_body(content = RevocationForm, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_basic" = [])),
    responses(
        (status = 200, description = "Revoked, or unknown: the answer is the same (§2.2)",
            body = Object),
        (status = 400, description = "invalid_request, unauthorized_client or \
            unsupported_token_type", body = OAuthError),
        (status = 401, description = "invalid_client", body = OAuthError,
            headers(("WWW-Authenticate" = String, description = "Basic challenge"))),
        (status = 405, description = "Only POST", body = OAuthError),
        (status = 413, description = "Body over 8 KiB", body = OAuthError),
        (status = 503, description = "temporarily_unavailable", body = OAuthError),
    ),
)]
#[allow(dead_code)]
fn revoke() {}

/// The signed-in user's profile: a resource protected by a bearer token (RFC 6750).
#[utoipa::path(
    get,
    path = "/users/me",
    tag = "users",
    operation_id = "usersMe",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile", body = crate::users::PublicProfile),
        (status = 400, description = "invalid_request (e.g. a token in the query string)",
            body = OAuthError),
        (status = 401, description = "No token, or invalid_token", body = OAuthError,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge (RFC 6750 §3)"))),
        (status = 405, description = "Only GET", body = OAuthError),
        (status = 503, description = "temporarily_unavailable", body = OAuthError),
    ),
)]
#[allow(dead_code)]
fn users_me() {}

/// OpenID Connect UserInfo (Core §5.3): the claims of the token's scope about its
/// user, `sub` always. The token needs the `openid` scope.
#[utoipa::path(
    get,
    path = "/userinfo",
    tag = "openid",
    operation_id = "userinfo",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The claims", body = crate::oidc::UserClaims),
        (status = 400, description = "invalid_request (e.g. a token in the query string)",
            body = OAuthError),
        (status = 401, description = "No token, or invalid_token", body = OAuthError,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge (RFC 6750 §3)"))),
        (status = 403, description = "insufficient_scope: the token lacks `openid`",
            body = OAuthError,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge naming the scope"))),
        (status = 405, description = "Only GET and POST", body = OAuthError),
        (status = 503, description = "temporarily_unavailable", body = OAuthError),
    ),
)]
#[allow(dead_code)]
fn userinfo_get() {}

/// The same. The token may also come as `access_token` in an
/// `application/x-www-form-urlencoded` body instead of the header (RFC 6750 §2.2; both
/// at once, or any other body parameter, is `invalid_request`). The body is left out of
/// this description so that generated requests stay in the header form.
#[utoipa::path(
    post,
    path = "/userinfo",
    tag = "openid",
    operation_id = "userinfoPost",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The claims", body = crate::oidc::UserClaims),
        (status = 400, description = "invalid_request", body = OAuthError),
        (status = 401, description = "No token, or invalid_token", body = OAuthError,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge (RFC 6750 §3)"))),
        (status = 403, description = "insufficient_scope: the token lacks `openid`",
            body = OAuthError),
        (status = 405, description = "Only GET and POST", body = OAuthError),
        (status = 413, description = "Body over 8 KiB", body = OAuthError),
        (status = 415, description = "A body that is not form-encoded", body = OAuthError),
        (status = 503, description = "temporarily_unavailable", body = OAuthError),
    ),
)]
#[allow(dead_code)]
fn userinfo_post() {}

/// The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0). With a valid
/// `id_token_hint` the session ends at once; without one the user confirms on a
/// page. Then the browser goes to the registered `post_logout_redirect_uri` (with
/// `state`) or sees a "signed out" page.
#[utoipa::path(
    get,
    path = "/logout",
    tag = "openid",
    operation_id = "logout",
    params(
        ("id_token_hint" = Option<String>, Query,
            description = "An ID token this service issued; expired ones are accepted"),
        ("client_id" = Option<String>, Query, description = "Must match the hint's `aud`"),
        ("post_logout_redirect_uri" = Option<String>, Query,
            description = "Registered for the client (exact match)"),
        ("state" = Option<String>, Query, description = "Echoed in the redirect"),
    ),
    responses(
        (status = 200, description = "The confirmation page, or the signed-out page",
            content_type = "text/html", body = String),
        (status = 303, description = "Signed out: to `post_logout_redirect_uri` with `state`",
            headers(("Location" = String, description = "The registered URI"))),
        (status = 400, description = "An invalid hint, unknown client or unregistered \
            redirect URI: an error page, no redirect", content_type = "text/html", body = String),
        (status = 405, description = "Only GET and POST", content_type = "text/html", body = String),
        (status = 503, description = "The store is unavailable", content_type = "text/html",
            body = String),
    ),
)]
#[allow(dead_code)]
fn logout_get() {}

/// The same parameters as a form (RP-Initiated Logout §2 allows POST); the
/// confirmation page posts here too, with its CSRF token and `decision`.
#[utoipa::path(
    post,
    path = "/logout",
    tag = "openid",
    operation_id = "logoutPost",
    request_body(content = LogoutParameters, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The confirmation page, or the signed-out page",
            content_type = "text/html", body = String),
        (status = 303, description = "Signed out: to `post_logout_redirect_uri` with `state`",
            headers(("Location" = String, description = "The registered URI"))),
        (status = 400, description = "An invalid hint, unknown client, unregistered redirect \
            URI or unreadable form: an error page", content_type = "text/html", body = String),
        (status = 405, description = "Only GET and POST", content_type = "text/html", body = String),
        (status = 503, description = "The store is unavailable", content_type = "text/html",
            body = String),
    ),
)]
#[allow(dead_code)]
fn logout_post() {}

/// Self-service registration (only when switched on).
#[utoipa::path(
    post,
    path = "/users",
    tag = "users",
    operation_id = "register",
    request_body(content = RegistrationBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered", body = crate::users::PublicProfile),
        (status = 400, description = "invalid_request: the body or a password rule", body = OAuthError),
        (status = 405, description = "Only POST", body = OAuthError),
        (status = 409, description = "username_taken", body = OAuthError),
        (status = 413, description = "Body over 8 KiB", body = OAuthError),
        (status = 503, description = "temporarily_unavailable", body = OAuthError),
    ),
)]
#[allow(dead_code)]
fn register() {}

/// Self-service password change (only when switched on). Every refresh token of the
/// user stops working.
#[utoipa::path(
    post,
    path = "/users/me/password",
    tag = "users",
    operation_id = "changePassword",
    request_body(content = PasswordChangeBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "invalid_request (a password rule) or invalid_grant \
            (wrong current password)", body = OAuthError,
            headers(("Retry-After" = u32, description = "Seconds, when locked after repeated \
                wrong passwords"))),
        (status = 401, description = "No token, or invalid_token", body = OAuthError),
        (status = 405, description = "Only POST", body = OAuthError),
        (status = 409, description = "conflict: changed meanwhile", body = OAuthError),
        (status = 413, description = "Body over 8 KiB", body = OAuthError),
        (status = 503, description = "temporarily_unavailable", body = OAuthError),
    ),
)]
#[allow(dead_code)]
fn change_password() {}

/// Authorization server metadata (RFC 8414).
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "discovery",
    operation_id = "authorizationServerMetadata",
    responses((status = 200, description = "The metadata",
        body = crate::routes::well_known::ServerMetadata)),
)]
#[allow(dead_code)]
fn authorization_server_metadata() {}

/// OpenID Provider metadata (OpenID Connect Discovery 1.0 §3): the same document,
/// where relying parties and API Gateway's JWT authorizer look for it.
#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "discovery",
    operation_id = "openidConfiguration",
    responses((status = 200, description = "The metadata",
        body = crate::routes::well_known::ServerMetadata)),
)]
#[allow(dead_code)]
fn openid_configuration() {}

/// The public keys that verify access tokens (RFC 7517).
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "discovery",
    operation_id = "jsonWebKeySet",
    responses((status = 200, description = "The key set", body = JsonWebKeySet)),
)]
#[allow(dead_code)]
fn json_web_key_set() {}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "discovery",
    operation_id = "openapi",
    responses((status = 200, description = "OpenAPI 3.1", body = Object)),
)]
#[allow(dead_code)]
fn openapi_json() {}

/// Interactive documentation (Swagger UI, served from the function itself).
#[utoipa::path(
    get,
    path = "/docs",
    tag = "discovery",
    operation_id = "docs",
    responses((status = 200, description = "An HTML page", content_type = "text/html", body = String)),
)]
#[allow(dead_code)]
fn api_docs_page() {}
