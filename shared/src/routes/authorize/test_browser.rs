//! A browser for tests of the sign-in flow: a cookie jar in front of the authorize
//! endpoint, and the form fields a person would submit. Used by this crate's route
//! tests and by the end-to-end tests on DynamoDB.

use std::collections::HashMap;

use bytes::Bytes;

use crate::http::HttpResponse;
use crate::routes::Endpoint;

/// Remembers the cookies the service sets, and sends them back.
#[derive(Default, Clone)]
pub struct TestBrowser {
    pub cookies: HashMap<String, String>,
}

fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl TestBrowser {
    fn remember(&mut self, response: &HttpResponse) {
        for value in response.headers().get_all("set-cookie") {
            let Some(cookie) = value
                .to_str()
                .ok()
                .and_then(|v| cookie::Cookie::parse(v.to_owned()).ok())
            else {
                panic!("an unreadable Set-Cookie: {value:?}");
            };
            if cookie.value().is_empty() {
                self.cookies.remove(cookie.name());
            } else {
                self.cookies
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, endpoint: &dyn Endpoint, path_and_query: &str) -> HttpResponse {
        let request = http::Request::get(path_and_query)
            .header("cookie", self.cookie_header())
            .body(Bytes::new())
            .expect("a valid test request");
        let response = endpoint.handle(request).await;
        self.remember(&response);
        response
    }

    /// `GET /authorize?{query}`.
    pub async fn authorize(&mut self, endpoint: &dyn Endpoint, query: &str) -> HttpResponse {
        self.get(endpoint, &format!("/authorize?{query}")).await
    }

    pub async fn post(&mut self, endpoint: &dyn Endpoint, path: &str, body: &str) -> HttpResponse {
        let request = http::Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", self.cookie_header())
            .body(Bytes::from(body.to_owned()))
            .expect("a valid test request");
        let response = endpoint.handle(request).await;
        self.remember(&response);
        response
    }

    /// Submits the login form of `page` with these credentials.
    pub async fn log_in(
        &mut self,
        endpoint: &dyn Endpoint,
        page: &HttpResponse,
        username: &str,
        password: &str,
    ) -> HttpResponse {
        let body = format!(
            "request_id={}&csrf_token={}&username={}&password={}",
            hidden(page, "request_id"),
            hidden(page, "csrf_token"),
            enc(username),
            enc(password)
        );
        self.post(endpoint, "/authorize/login", &body).await
    }

    /// Submits the consent form of `page`: `allow` or `deny`.
    pub async fn decide(
        &mut self,
        endpoint: &dyn Endpoint,
        page: &HttpResponse,
        decision: &str,
    ) -> HttpResponse {
        let body = format!(
            "request_id={}&csrf_token={}&decision={decision}",
            hidden(page, "request_id"),
            hidden(page, "csrf_token")
        );
        self.post(endpoint, "/authorize/consent", &body).await
    }
}

/// A hidden form field's value in a page.
pub fn hidden(page: &HttpResponse, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let body = page.body();
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        + marker.len();
    let end = body[start..].find('"').expect("a closed attribute") + start;
    body[start..end].to_owned()
}
