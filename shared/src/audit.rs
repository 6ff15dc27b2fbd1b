//! Audit events: one structured JSON log line per security event, with who, which
//! client, from where, and the outcome. Never a password, token or hash: the fields
//! are fixed here, and none of them can carry one.
//!
//! Lines have `"target":"audit"` and the event's name in `fields.audit_event`; the
//! README lists the names and CloudWatch Logs Insights queries over them.

use bytes::Bytes;
use lambda_http::request::RequestContext;

/// The security events this service records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    /// A password checked and accepted (password grant or login form; `method`
    /// says which).
    LoginSuccess,
    /// A sign-in refused: wrong password, unknown or disabled user, or a locked name
    /// (`outcome` says which kind, never which of the first three; `method` how).
    LoginFailure,
    /// Repeated failures locked a username.
    AccountLocked,
    /// An administrator lifted a lock.
    AccountUnlocked,
    /// A user's password was changed (by the user or an administrator).
    PasswordChanged,
    /// A user registered through self-service.
    UserRegistered,
    /// A used refresh token was presented again; its family was revoked.
    RefreshReuseDetected,
    /// A refresh token family was revoked at `/revoke`.
    TokenRevoked,
    /// An authorization code was issued to a client (RFC 6749 §4.1.2).
    AuthorizationCodeIssued,
    /// An authorization code was presented again; what it issued was revoked.
    AuthorizationCodeReuseDetected,
    /// A user allowed a client that is not first-party (the consent page).
    ConsentGranted,
    /// A user denied a client on the consent page.
    ConsentDenied,
    /// An administrator withdrew a user's consent to a client.
    ConsentRevoked,
    /// A sign-in session ended at the end-session endpoint (RP-initiated logout).
    SignedOut,
}

impl AuditEvent {
    pub fn name(self) -> &'static str {
        match self {
            AuditEvent::LoginSuccess => "login_success",
            AuditEvent::LoginFailure => "login_failure",
            AuditEvent::AccountLocked => "account_locked",
            AuditEvent::AccountUnlocked => "account_unlocked",
            AuditEvent::PasswordChanged => "password_changed",
            AuditEvent::UserRegistered => "user_registered",
            AuditEvent::RefreshReuseDetected => "refresh_reuse_detected",
            AuditEvent::TokenRevoked => "token_revoked",
            AuditEvent::AuthorizationCodeIssued => "authorization_code_issued",
            AuditEvent::AuthorizationCodeReuseDetected => "authorization_code_reuse_detected",
            AuditEvent::ConsentGranted => "consent_granted",
            AuditEvent::ConsentDenied => "consent_denied",
            AuditEvent::ConsentRevoked => "consent_revoked",
            AuditEvent::SignedOut => "signed_out",
        }
    }
}

/// Where a request came from. The Lambda adapter finds it in API Gateway's request
/// context; the local server inserts it as a request extension.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOrigin {
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// Longest user agent kept: enough to recognise a client, not a place to smuggle data.
const MAX_USER_AGENT_CHARS: usize = 200;

impl RequestOrigin {
    /// Reads the origin of `request`: a [`RequestOrigin`] extension if present,
    /// else API Gateway's request context (REST v1 or HTTP API v2).
    pub fn of(request: &http::Request<Bytes>) -> RequestOrigin {
        let mut origin = request
            .extensions()
            .get::<RequestOrigin>()
            .cloned()
            .unwrap_or_else(|| match request.extensions().get::<RequestContext>() {
                Some(RequestContext::ApiGatewayV2(context)) => RequestOrigin {
                    source_ip: context.http.source_ip.clone(),
                    user_agent: None,
                    request_id: context.request_id.clone(),
                },
                Some(RequestContext::ApiGatewayV1(context)) => RequestOrigin {
                    source_ip: context.identity.source_ip.clone(),
                    user_agent: None,
                    request_id: context.request_id.clone(),
                },
                _ => RequestOrigin::default(),
            });
        if origin.user_agent.is_none() {
            origin.user_agent = request
                .headers()
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(MAX_USER_AGENT_CHARS).collect());
        }
        origin
    }
}

/// Who the event is about. Every field is an identifier, never a credential.
#[derive(Debug, Clone, Default)]
pub struct Subject<'a> {
    /// The user's id, when the user exists.
    pub user_id: Option<&'a str>,
    /// The case-folded username, when it is a valid one (an invalid "name" may be a
    /// password typed into the wrong field, so it is never logged).
    pub username: Option<&'a str>,
    pub client_id: Option<&'a str>,
}

/// Writes one audit line.
pub fn record(event: AuditEvent, outcome: &str, subject: &Subject<'_>, origin: &RequestOrigin) {
    write(event, outcome, None, subject, origin)
}

/// Writes one audit line of a sign-in, with how the password was typed.
pub fn record_login(
    event: AuditEvent,
    outcome: &str,
    method: crate::sign_in::SignInMethod,
    subject: &Subject<'_>,
    origin: &RequestOrigin,
) {
    write(event, outcome, Some(method.as_str()), subject, origin)
}

fn write(
    event: AuditEvent,
    outcome: &str,
    method: Option<&str>,
    subject: &Subject<'_>,
    origin: &RequestOrigin,
) {
    tracing::info!(
        target: "audit",
        audit_event = event.name(),
        outcome,
        method,
        user_id = subject.user_id,
        username = subject.username,
        client_id = subject.client_id,
        source_ip = origin.source_ip.as_deref(),
        user_agent = origin.user_agent.as_deref(),
        request_id = origin.request_id.as_deref(),
        "audit"
    );
}

/// The case-folded form of `typed` if it is a valid username, for [`Subject`].
pub fn loggable_username(typed: &str) -> Option<String> {
    crate::users::Username::parse(typed).ok().map(|u| u.key())
}

#[cfg(test)]
pub(crate) mod capture {
    //! Collects the JSON log lines written while a test runs on this thread.

    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    pub struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Lines {
        /// The audit lines so far, parsed.
        pub fn audit(&self) -> Vec<serde_json::Value> {
            String::from_utf8_lossy(&self.0.lock().unwrap())
                .lines()
                .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                .filter(|line| line["target"] == "audit")
                .collect()
        }

        pub fn raw(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    /// A JSON subscriber like production's, writing into `Lines`, for this thread.
    pub fn start() -> (Lines, tracing::subscriber::DefaultGuard) {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::INFO)
            .finish();
        (lines, tracing::subscriber::set_default(subscriber))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_comes_from_the_api_gateway_context_and_the_user_agent_header() {
        let event = serde_json::json!({
            "version": "2.0", "routeKey": "POST /token", "rawPath": "/token", "rawQueryString": "",
            "headers": {"user-agent": "curl/8.5", "content-type": "application/x-www-form-urlencoded"},
            "requestContext": {
                "accountId": "1", "apiId": "a", "domainName": "a.example", "domainPrefix": "a",
                "requestId": "req-123", "routeKey": "POST /token", "stage": "$default",
                "time": "30/Nov/2026:00:00:00 +0000", "timeEpoch": 0,
                "http": {"method": "POST", "path": "/token", "protocol": "HTTP/1.1",
                         "sourceIp": "203.0.113.9", "userAgent": "curl/8.5"}
            },
            "isBase64Encoded": false
        });
        let request: lambda_http::Request =
            lambda_http::request::from_str(&event.to_string()).unwrap();
        let origin = RequestOrigin::of(&crate::lambda::to_http_request(request));
        assert_eq!(origin.source_ip.as_deref(), Some("203.0.113.9"));
        assert_eq!(origin.request_id.as_deref(), Some("req-123"));
        assert_eq!(origin.user_agent.as_deref(), Some("curl/8.5"));
    }

    #[test]
    fn only_valid_usernames_are_logged() {
        assert_eq!(loggable_username("Alice").as_deref(), Some("alice"));
        assert_eq!(loggable_username("my secret pass!"), None);
    }
}
