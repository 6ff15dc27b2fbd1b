//! The errors a request can end in. Each variant maps to exactly one HTTP status and
//! OAuth error code in [`crate::http::error_response`]; nothing else decides that.

use std::borrow::Cow;

/// What went wrong with a request, as the client may learn it.
///
/// Descriptions are written for the client: they never carry a stored value, a
/// table name, a hash or an upstream error message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// RFC 6749 §5.2 `invalid_request`: the request itself is malformed.
    #[error("invalid_request: {0}")]
    InvalidRequest(Cow<'static, str>),
    /// RFC 6749 §5.2 `invalid_grant`: wrong password, unknown or disabled user. One
    /// body for all of them, so that the answer reveals nothing about who exists.
    #[error("invalid_grant")]
    InvalidGrant,
    /// RFC 6749 §5.2 `invalid_grant` while the username is locked after repeated
    /// failures: the password was not even checked. Known and unknown names alike.
    #[error("invalid_grant (locked for {retry_after_seconds} s)")]
    LoginLocked { retry_after_seconds: u64 },
    /// RFC 6749 §5.2 `invalid_grant` for a refresh token that is unknown, expired,
    /// revoked, already used, or whose user is gone or disabled.
    #[error("invalid_grant (refresh token)")]
    InvalidRefreshToken,
    /// RFC 6749 §5.2 `invalid_grant` for an authorization code that is unknown,
    /// expired, already used, issued to another client or redirect URI, or whose
    /// PKCE verifier does not match (RFC 7636 §4.6). One body for all of them.
    #[error("invalid_grant (authorization code)")]
    InvalidAuthorizationCode,
    /// The current password given to change it is wrong (400 `invalid_grant`, the
    /// RFC 6749 code for wrong resource-owner credentials).
    #[error("invalid_grant (current password)")]
    WrongCurrentPassword,
    /// The request conflicts with what is stored (409): a taken username, a password
    /// changed by someone else meanwhile.
    #[error("{code}: {description}")]
    Conflict {
        code: &'static str,
        description: &'static str,
    },
    /// RFC 7009 §2.2.1 `unsupported_token_type`: access tokens cannot be revoked here.
    #[error("unsupported_token_type")]
    UnsupportedTokenType,
    /// RFC 6749 §5.2 `invalid_client`: no client named, an unknown or disabled
    /// client, a wrong, missing or unexpected secret, unreadable Basic credentials.
    /// One answer for all of them (401 with a `Basic` challenge).
    #[error("invalid_client")]
    InvalidClient,
    /// RFC 6749 §5.2 `unauthorized_client`: the client may not use this grant, or
    /// (RFC 7009 §2.1) revoke a token issued to another client.
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(&'static str),
    /// RFC 6749 §5.2 `unsupported_grant_type`.
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// RFC 6749 §5.2 `invalid_scope`.
    #[error("invalid_scope: {0}")]
    InvalidScope(Cow<'static, str>),
    /// The method is not served by this endpoint (405, with `Allow`).
    #[error("method not allowed")]
    MethodNotAllowed { allow: &'static str },
    /// No resource at this path (404).
    #[error("not found")]
    NotFound,
    /// The body is larger than [`crate::oauth::MAX_BODY_BYTES`] (413).
    #[error("payload too large")]
    PayloadTooLarge,
    /// RFC 6750 §3.1: the request carried no bearer token at all (401 with only the realm).
    #[error("no bearer token")]
    MissingToken,
    /// RFC 6750 §3.1 `invalid_token`: expired, forged, malformed or revoked (401).
    #[error("invalid_token: {0}")]
    InvalidToken(&'static str),
    /// RFC 6750 §3.1 `insufficient_scope`: a valid token without the scope this
    /// resource requires (403, with the required scope in the challenge).
    #[error("insufficient_scope: {required}")]
    InsufficientScope { required: String },
    /// A dependency (the table) is unreachable or throttled; retrying later may work (503).
    #[error("temporarily_unavailable")]
    TemporarilyUnavailable,
    /// A bug or misconfiguration on our side (500). Details go to the log, never to the client.
    #[error("server_error")]
    Internal,
}

impl ApiError {
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        ApiError::InvalidRequest(description.into())
    }
}

impl From<crate::store::StoreError> for ApiError {
    /// A store that cannot be reached is a 503 the client may retry; anything else
    /// from the store is our fault. The detail is logged where it happened.
    fn from(error: crate::store::StoreError) -> Self {
        match error {
            crate::store::StoreError::Unavailable(_) => ApiError::TemporarilyUnavailable,
            other => {
                tracing::error!(error = %other, "unexpected user store result");
                ApiError::Internal
            }
        }
    }
}
