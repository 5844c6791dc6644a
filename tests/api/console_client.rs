//! A browser-like client of the staff console for HTTP-level tests: keeps cookies, reads the CSRF
//! token out of pages, and sends forms.

use std::collections::HashMap;

use reqwest::{Response, StatusCode, header};
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, ok};

pub struct ConsoleClient {
    pub base: String,
    http: reqwest::Client,
    /// Cookie name → value, as a browser would send them to `/admin`.
    pub cookies: HashMap<String, String>,
    /// The session's CSRF token, read from the last page that had one.
    pub csrf: String,
}

/// The value of the hidden `_csrf` field in `html`, if any.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// The value of the hidden field `name` in `html`, if any.
pub fn hidden_in(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html.find(&marker)? + marker.len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

impl ConsoleClient {
    pub fn new(app: &TestApp) -> Self {
        Self {
            base: app.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: HashMap::new(),
            csrf: String::new(),
        }
    }

    /// Signs the bootstrap admin in.
    pub async fn admin(app: &TestApp) -> Self {
        Self::signed_in(app, ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// A new staff member with `role` (created through the API), signed in; returns the client and
    /// the member's id.
    pub async fn with_role(app: &TestApp, role: &str) -> (Self, String) {
        let admin = app.admin_token().await;
        let email = format!("{role}-{}@example.com", uuid::Uuid::now_v7().simple());
        let password = "a long enough password";
        let created = ok(
            app.post(
                "/v1/staff",
                &admin,
                json!({"email": email, "password": password, "role": role}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let id = created["id"].as_str().expect("id").to_owned();
        (Self::signed_in(app, &email, password).await, id)
    }

    /// Signs in with `email` and `password`, asserting that it worked.
    pub async fn signed_in(app: &TestApp, email: &str, password: &str) -> Self {
        let mut client = Self::new(app);
        let resp = client.sign_in(email, password).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "sign-in failed");
        let (status, _) = client.page("/admin/").await;
        assert_eq!(status, StatusCode::OK);
        client
    }

    /// Loads the sign-in page and sends it with `email` and `password`.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Response {
        let (status, html) = self.page("/admin/sign-in").await;
        assert_eq!(status, StatusCode::OK);
        let token = csrf_in(&html).expect("the sign-in form has a CSRF token");
        self.send_form(
            "/admin/sign-in",
            &[
                ("_csrf", &token),
                ("email", email),
                ("password", password),
                ("next", ""),
            ],
        )
        .await
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, resp: &Response) {
        for value in resp.headers().get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let removed = text.contains("Max-Age=0") || value.is_empty();
                if removed {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
    }

    /// `GET path` as the browser would.
    pub async fn get(&mut self, path: &str) -> Response {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .header(header::COOKIE, self.cookie_header())
            .send()
            .await
            .expect("request sent");
        self.keep_cookies(&resp);
        resp
    }

    /// `GET path`: the status and the page, remembering its CSRF token.
    pub async fn page(&mut self, path: &str) -> (StatusCode, String) {
        let resp = self.get(path).await;
        let status = resp.status();
        let html = resp.text().await.expect("body");
        if let Some(token) = csrf_in(&html) {
            self.csrf = token;
        }
        (status, html)
    }

    /// Posts exactly `fields` (no CSRF token added).
    pub async fn send_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("request sent");
        self.keep_cookies(&resp);
        resp
    }

    /// Posts `fields` with the session's CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf.clone();
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.send_form(path, &all).await
    }

    /// Posts `fields` and follows the redirect: the status and page where it ends.
    pub async fn post_and_follow(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let resp = self.post(path, fields).await;
        if resp.status() == StatusCode::SEE_OTHER {
            let to = location(&resp);
            return self.page(&to).await;
        }
        let status = resp.status();
        (status, resp.text().await.expect("body"))
    }
}

/// The `Location` of a redirect.
pub fn location(resp: &Response) -> String {
    resp.headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
