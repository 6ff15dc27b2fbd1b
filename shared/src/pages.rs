//! The HTML a person sees: the login, consent and error pages of the browser flow,
//! rendered by `maud` (compile-time templates that escape every interpolated value),
//! and the one stylesheet they share, served by the service itself.
//!
//! Every page goes out with the same security headers ([`html_response`]): a strict
//! Content-Security-Policy (no script at all, no framing, forms only to this origin
//! and, for a page whose form ends in a redirect, the client's redirect target: Chromium
//! applies `form-action` to the redirect after the submit too), `nosniff`,
//! `Referrer-Policy: no-referrer` (so the code in a redirect never leaks in a
//! `Referer`), and `Cache-Control: no-store`.

use http::{HeaderValue, Response, StatusCode, header};
use maud::{DOCTYPE, Markup, html};

use crate::http::HttpResponse;

/// The configurable look: `AUTH_PRODUCT_NAME` and `AUTH_BRAND_COLOUR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    pub product_name: String,
    /// `#rrggbb`.
    pub colour: String,
}

impl Default for Branding {
    fn default() -> Self {
        Branding {
            product_name: "Sign in".to_owned(),
            colour: "#2457d6".to_owned(),
        }
    }
}

/// Whether `value` is a `#rrggbb` colour (the only form accepted, so that nothing but
/// a colour can reach the stylesheet).
pub fn is_hex_colour(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0), under the issuer.
pub const LOGOUT_PATH: &str = "/logout";

/// The path of the stylesheet, under the authorization endpoint.
pub const STYLESHEET_SUFFIX: &str = "/authorize/style.css";

const STYLESHEET_BODY: &str = include_str!("../assets/pages/style.css");

/// The pages of one service: its branding, its URLs and the stylesheet, built once
/// at cold start.
#[derive(Debug, Clone)]
pub struct Pages {
    branding: Branding,
    stylesheet: String,
    stylesheet_url: String,
    login_action: String,
    consent_action: String,
    logout_action: String,
}

/// What the login form shows.
pub struct LoginForm<'a> {
    pub request_id: &'a str,
    pub csrf_token: &'a str,
    pub client_id: &'a str,
    /// `login_hint`, or what the user typed last time.
    pub username: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// What the sign-out confirmation carries through to its POST.
pub struct LogoutForm<'a> {
    pub csrf_token: &'a str,
    pub id_token_hint: Option<&'a str>,
    pub username: &'a str,
    pub client_id: Option<&'a str>,
    pub post_logout_redirect_uri: Option<&'a str>,
    pub state: Option<&'a str>,
}

/// What the consent page shows.
pub struct ConsentForm<'a> {
    pub request_id: &'a str,
    pub csrf_token: &'a str,
    pub client_id: &'a str,
    pub username: &'a str,
    pub scopes: Vec<&'a str>,
}

impl Pages {
    /// `issuer` is the service's public base URL: forms post to it and the
    /// stylesheet is served from it.
    pub fn new(branding: Branding, issuer: &str) -> Self {
        Pages {
            stylesheet: format!(
                ":root {{ --brand: {}; }}\n{STYLESHEET_BODY}",
                branding.colour
            ),
            branding,
            stylesheet_url: format!("{issuer}{STYLESHEET_SUFFIX}"),
            login_action: format!("{issuer}/authorize/login"),
            consent_action: format!("{issuer}/authorize/consent"),
            logout_action: format!("{issuer}{LOGOUT_PATH}"),
        }
    }

    pub fn branding(&self) -> &Branding {
        &self.branding
    }

    fn layout(&self, title: &str, body: Markup) -> Markup {
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="referrer" content="no-referrer";
                    title { (title) " – " (self.branding.product_name) }
                    link rel="stylesheet" href=(self.stylesheet_url);
                }
                body {
                    main class="card" {
                        p class="product" { (self.branding.product_name) }
                        (body)
                    }
                }
            }
        }
    }

    /// The login form: a standard username/password form that password managers
    /// recognise, posting to this origin with the pending request's id and CSRF token.
    pub fn login(&self, form: &LoginForm<'_>) -> Markup {
        self.layout(
            "Sign in",
            html! {
                h1 { "Sign in" }
                p class="lead" { "to continue to " strong { (form.client_id) } }
                @if let Some(error) = form.error {
                    p class="error" role="alert" id="login-error" { (error) }
                }
                form id="login-form" method="post" action=(self.login_action) {
                    input type="hidden" name="request_id" value=(form.request_id);
                    input type="hidden" name="csrf_token" value=(form.csrf_token);
                    label for="username" { "Username" }
                    input id="username" name="username" type="text" autocomplete="username"
                        autocapitalize="none" spellcheck="false" required
                        value=[form.username];
                    label for="password" { "Password" }
                    input id="password" name="password" type="password"
                        autocomplete="current-password" required;
                    button type="submit" { "Sign in" }
                }
            },
        )
    }

    /// The consent page for a client that is not first-party.
    pub fn consent(&self, form: &ConsentForm<'_>) -> Markup {
        self.layout(
            "Allow access",
            html! {
                h1 { "Allow " (form.client_id) "?" }
                p class="lead" {
                    "Signed in as " strong { (form.username) } ". "
                    strong { (form.client_id) } " asks for:"
                }
                @if form.scopes.is_empty() {
                    p id="scopes" { "Your identity only (no other access)." }
                } @else {
                    ul id="scopes" {
                        @for scope in &form.scopes { li { code { (scope) } } }
                    }
                }
                form id="consent-form" method="post" action=(self.consent_action) {
                    input type="hidden" name="request_id" value=(form.request_id);
                    input type="hidden" name="csrf_token" value=(form.csrf_token);
                    div class="actions" {
                        button type="submit" name="decision" value="deny" class="secondary" { "Deny" }
                        button type="submit" name="decision" value="allow" { "Allow" }
                    }
                }
            },
        )
    }

    /// RP-Initiated Logout §2: without an `id_token_hint` for the browser's session
    /// the request may come from any page, so the user confirms. The form posts back
    /// with a CSRF token.
    pub fn logout_confirmation(&self, form: &LogoutForm<'_>) -> Markup {
        self.layout(
            "Sign out",
            html! {
                h1 { "Sign out?" }
                p class="lead" {
                    "You are signed in as " strong { (form.username) } "."
                    @if let Some(client_id) = form.client_id {
                        " " strong { (client_id) } " asks to sign you out."
                    }
                }
                form id="logout-form" method="post" action=(self.logout_action) {
                    input type="hidden" name="csrf_token" value=(form.csrf_token);
                    @if let Some(hint) = form.id_token_hint {
                        input type="hidden" name="id_token_hint" value=(hint);
                    }
                    @if let Some(client_id) = form.client_id {
                        input type="hidden" name="client_id" value=(client_id);
                    }
                    @if let Some(uri) = form.post_logout_redirect_uri {
                        input type="hidden" name="post_logout_redirect_uri" value=(uri);
                    }
                    @if let Some(state) = form.state {
                        input type="hidden" name="state" value=(state);
                    }
                    div class="actions" {
                        button type="submit" name="decision" value="stay" class="secondary" { "Stay signed in" }
                        button type="submit" name="decision" value="logout" { "Sign out" }
                    }
                }
            },
        )
    }

    /// A page that ends the flow: what went wrong and what to do.
    pub fn message(&self, title: &str, message: &str) -> Markup {
        self.layout(
            title,
            html! {
                h1 { (title) }
                p class="lead" id="message" { (message) }
            },
        )
    }

    /// The stylesheet, with the brand colour.
    pub fn stylesheet_response(&self) -> HttpResponse {
        let mut response = Response::new(self.stylesheet.clone());
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        );
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        response
    }
}

/// The `form-action` source that lets a form's redirect reach `redirect_uri`: its
/// origin for http(s), its scheme for a private-use scheme (RFC 8252 §7.1).
pub fn form_action_source(redirect_uri: &str) -> Option<String> {
    let url = url::Url::parse(redirect_uri).ok()?;
    match url.scheme() {
        "http" | "https" => Some(url.origin().ascii_serialization()),
        scheme => Some(format!("{scheme}:")),
    }
}

/// An HTML response with the security headers. `redirect_target` is the client's
/// redirect URI when the page's form ends in a redirect there.
pub fn html_response(
    status: StatusCode,
    page: Markup,
    redirect_target: Option<&str>,
) -> HttpResponse {
    let mut response = Response::new(page.into_string());
    *response.status_mut() = status;
    let form_action = match redirect_target.and_then(form_action_source) {
        Some(source) => format!("'self' {source}"),
        None => "'self'".to_owned(),
    };
    let policy = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    insert_common_headers(headers);
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// A `303 See Other` to `location` (RFC 9700 §4.12: after a POST, never 307), with
/// no caching and no referrer.
pub fn redirect_response(location: &str) -> HttpResponse {
    let mut response = Response::new(String::new());
    *response.status_mut() = StatusCode::SEE_OTHER;
    let headers = response.headers_mut();
    match HeaderValue::from_str(location) {
        Ok(value) => {
            headers.insert(header::LOCATION, value);
        }
        // A location built from a registered URI is always a valid header value.
        Err(_) => *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR,
    }
    insert_common_headers(response.headers_mut());
    response
}

fn insert_common_headers(headers: &mut http::HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages() -> Pages {
        Pages::new(
            Branding {
                product_name: "Acme <ID>".into(),
                colour: "#112233".into(),
            },
            "https://auth.example.com",
        )
    }

    #[test]
    fn login_form_is_what_password_managers_recognise() {
        let html = pages()
            .login(&LoginForm {
                request_id: "rid",
                csrf_token: "tok",
                client_id: "web",
                username: Some("alice"),
                error: None,
            })
            .into_string();
        for part in [
            r#"<form id="login-form" method="post" action="https://auth.example.com/authorize/login">"#,
            r#"<label for="username">Username</label>"#,
            r#"autocomplete="username""#,
            r#"type="password" autocomplete="current-password""#,
            r#"<label for="password">Password</label>"#,
            r#"value="alice""#,
            r#"<input type="hidden" name="csrf_token" value="tok">"#,
            r#"<link rel="stylesheet" href="https://auth.example.com/authorize/style.css">"#,
        ] {
            assert!(html.contains(part), "missing {part} in {html}");
        }
        assert_eq!(html.matches("<button").count(), 1);
        assert!(!html.contains("<script"));
    }

    #[test]
    fn every_interpolated_value_is_escaped() {
        let html = pages()
            .login(&LoginForm {
                request_id: "\"><script>",
                csrf_token: "t",
                client_id: "<b>web</b>",
                username: Some("\" onfocus=\"alert(1)"),
                error: Some("<img src=x>"),
            })
            .into_string();
        assert!(!html.contains("<script>") && !html.contains("<b>web") && !html.contains("<img"));
        assert!(!html.contains("\" onfocus"));
        assert!(html.contains("Acme &lt;ID&gt;"));
    }

    #[test]
    fn html_responses_carry_the_security_headers() {
        let response = html_response(
            StatusCode::OK,
            pages().message("t", "m"),
            Some("http://127.0.0.1:53117/callback?x=1"),
        );
        let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
        let csp = header("content-security-policy");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(
            csp.contains("form-action 'self' http://127.0.0.1:53117;"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "no-referrer");
        assert_eq!(header("cache-control"), "no-store");
        assert!(header("content-type").starts_with("text/html"));
        assert_eq!(
            form_action_source("com.example.app:/callback").as_deref(),
            Some("com.example.app:")
        );
        let plain = html_response(StatusCode::BAD_REQUEST, pages().message("t", "m"), None);
        assert!(
            plain.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("form-action 'self';")
        );
    }

    #[test]
    fn the_stylesheet_carries_the_brand_colour() {
        let response = pages().stylesheet_response();
        assert!(response.body().starts_with(":root { --brand: #112233; }"));
        assert_eq!(
            response.headers()["content-type"],
            "text/css; charset=utf-8"
        );
        assert!(is_hex_colour("#a1B2c3"));
        for bad in ["red", "#abc", "#12345g", "#1234567", "#123456;}"] {
            assert!(!is_hex_colour(bad), "{bad}");
        }
    }
}
