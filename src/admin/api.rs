//! Calls to `/v1` on this same instance, as the signed-in staff member.
//!
//! Each page load gets a staff token of the member's own (never sent to the browser), so the API
//! checks their current role, validates, records idempotency and writes the audit log exactly as
//! for any other client.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ConsoleError;

/// How the console reaches the API of the instance it runs in.
#[derive(Debug, Clone)]
pub struct Loopback {
    client: reqwest::Client,
    base: String,
}

impl Loopback {
    /// The API of the server bound to `addr` (an unspecified address is reached over loopback).
    pub fn new(addr: SocketAddr) -> anyhow::Result<Self> {
        let ip = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            client,
            base: format!("http://{}", SocketAddr::new(ip, addr.port())),
        })
    }

    /// A client acting with `token`.
    pub fn with_token(&self, token: String) -> Api {
        Api {
            loopback: self.clone(),
            token,
        }
    }
}

/// One field's problem, as the API reports it in `errors`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FieldProblem {
    /// The JSON path of the field (`name.en`, `lines[0].quantity`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// A 4xx answer of the API.
#[derive(Debug, Clone, Serialize)]
pub struct ApiFailure {
    /// The HTTP status.
    pub status: u16,
    /// The problem's `code`.
    pub code: String,
    /// The problem's `detail`.
    pub detail: String,
    /// Field problems, if any.
    pub errors: Vec<FieldProblem>,
}

impl ApiFailure {
    /// The message for `field` (or a field nested under it), if the API named one.
    pub fn field(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| {
                e.field == field
                    || e.field.starts_with(&format!("{field}."))
                    || e.field.starts_with(&format!("{field}["))
            })
            .map(|e| e.message.as_str())
    }
}

#[derive(Deserialize)]
struct ProblemBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    errors: Vec<FieldProblem>,
}

/// The API, as one staff member.
#[derive(Debug, Clone)]
pub struct Api {
    loopback: Loopback,
    token: String,
}

/// A path segment, percent-encoded (`/v1/customers/{seg(id)}`).
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Links to the first page of a console list (when not on it) and to the next one (when the API
/// gave a `next_cursor`): `path` with the list's `filters`.
#[derive(Debug, Serialize)]
pub struct Pager {
    /// The first page, if this is a later one.
    pub first: Option<String>,
    /// The next page, if there is one.
    pub next: Option<String>,
}

/// The [`Pager`] of the list at `path` with `filters`, now on `cursor`, the API's answer having
/// `next_cursor` = `next`.
pub fn pager(path: &str, filters: &[(&str, &str)], cursor: &str, next: &Value) -> Pager {
    Pager {
        first: (!cursor.is_empty()).then(|| with_query(path, filters)),
        next: next.as_str().map(|c| {
            let mut query = filters.to_vec();
            query.push(("cursor", c));
            with_query(path, &query)
        }),
    }
}

/// `path?k=v&…` with the non-empty values encoded.
pub fn with_query(path: &str, query: &[(&str, &str)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in query {
        if !v.is_empty() {
            ser.append_pair(k, v);
            any = true;
        }
    }
    if any {
        format!("{path}?{}", ser.finish())
    } else {
        path.to_owned()
    }
}

impl Api {
    /// `GET path` (path may carry a query string, see [`with_query`]).
    pub async fn get(&self, path: &str) -> Result<Value, ConsoleError> {
        self.json(Method::GET, path, None, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ConsoleError> {
        self.json(Method::POST, path, Some(body), None).await
    }

    /// `POST path` with a JSON body and an `Idempotency-Key` (the console puts a fresh key in
    /// each form, so a form sent twice takes effect once).
    pub async fn post_once(
        &self,
        path: &str,
        body: &Value,
        key: &str,
    ) -> Result<Value, ConsoleError> {
        self.json(Method::POST, path, Some(body), Some(key)).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, ConsoleError> {
        self.json(Method::PUT, path, Some(body), None).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value, ConsoleError> {
        self.json(Method::PATCH, path, Some(body), None).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Result<Value, ConsoleError> {
        self.json(Method::DELETE, path, None, None).await
    }

    /// `GET path` with `Accept: text/csv`: the CSV text.
    pub async fn csv(&self, path: &str) -> Result<String, ConsoleError> {
        let (_, bytes) = self.send(Method::GET, path, None, None, "text/csv").await?;
        String::from_utf8(bytes.to_vec())
            .map_err(|e| ConsoleError::internal(anyhow::anyhow!("CSV is not UTF-8: {e}")))
    }

    async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Result<Value, ConsoleError> {
        let (status, bytes) = self
            .send(method, path, body, key, "application/json")
            .await?;
        if status == StatusCode::NO_CONTENT || bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            ConsoleError::internal(anyhow::anyhow!(
                "the API answered {path} with bad JSON: {e}"
            ))
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
        accept: &str,
    ) -> Result<(StatusCode, actix_web::web::Bytes), ConsoleError> {
        let url = format!("{}{path}", self.loopback.base);
        let mut req = self
            .loopback
            .client
            .request(method.clone(), &url)
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, accept);
        if let Some(body) = body {
            req = req.json(body);
        }
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        let resp = req.send().await.map_err(|e| {
            ConsoleError::internal(anyhow::anyhow!("calling {method} {path} failed: {e}"))
        })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| {
            ConsoleError::internal(anyhow::anyhow!("reading {method} {path} failed: {e}"))
        })?;
        if status.is_success() {
            return Ok((status, bytes));
        }
        if status.is_client_error() {
            let problem: ProblemBody = serde_json::from_slice(&bytes).unwrap_or(ProblemBody {
                code: String::new(),
                detail: String::new(),
                errors: Vec::new(),
            });
            return Err(ConsoleError::Api(ApiFailure {
                status: status.as_u16(),
                code: problem.code,
                detail: problem.detail,
                errors: problem.errors,
            }));
        }
        Err(ConsoleError::internal(anyhow::anyhow!(
            "{method} {path} answered {status}"
        )))
    }
}
