//! Authorization comes before the body: a caller without the route's role or scope gets 401/403
//! whatever it sends, and learns nothing about what the route would accept. Text input with NUL
//! or other control characters is refused with 400 on both databases.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};

/// Every write operation in the service's own OpenAPI document that needs a credential:
/// (method, path with each `{param}` filled in).
async fn secured_write_routes(app: &TestApp) -> Vec<(Method, String)> {
    let doc = ok(
        app.request(Method::GET, "/openapi.json", None, None).await,
        StatusCode::OK,
    )
    .await;
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (name, method) in [
            ("post", Method::POST),
            ("put", Method::PUT),
            ("patch", Method::PATCH),
            ("delete", Method::DELETE),
        ] {
            let Some(op) = item.get(name) else { continue };
            if op.get("security").is_none() {
                continue;
            }
            let concrete: String = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "x" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            routes.push((method, concrete));
        }
    }
    routes
}

/// The bodies an unauthorised caller might try: none, malformed JSON, and a valid-looking object
/// of the wrong shape.
fn probes(
    app: &TestApp,
    method: &Method,
    path: &str,
    token: Option<&str>,
) -> Vec<reqwest::RequestBuilder> {
    let req = || {
        let r = app.client.request(method.clone(), app.url(path));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    };
    vec![
        req(),
        req()
            .header("content-type", "application/json")
            .body("{\"nonsense\":"),
        req().json(&json!({"unknown_field": "\u{0}", "limit": -1})),
        req().header("content-type", "text/plain").body("hello"),
    ]
}

async fn assert_refused(resp: reqwest::Response, status: StatusCode, codes: &[&str], what: &str) {
    let got = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(got, status, "{what}: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert!(
        codes.contains(&body["code"].as_str().unwrap_or("")),
        "{what}: {text}"
    );
}

#[tokio::test]
async fn every_secured_write_route_refuses_the_wrong_caller_before_reading_the_body() {
    let app = TestApp::spawn().await;
    // Read scopes only: no write route accepts them.
    let key = app.api_key(&["customers:read", "points:read"]).await;
    let writer = app.api_key(&["customers:write", "tokens:issue"]).await;
    let customer = app
        .customer(&writer, json!({"email": "a@example.com"}))
        .await;
    let token = app
        .customer_token(&writer, customer["id"].as_str().unwrap())
        .await;
    let routes = secured_write_routes(&app).await;
    assert!(routes.len() >= 25, "only {} routes found", routes.len());
    for (method, path) in &routes {
        let mine = path.starts_with("/v1/me");
        let what = format!("{method} {path}");
        // No credentials at all.
        for req in probes(&app, method, path, None) {
            let resp = req.send().await.unwrap();
            assert_refused(
                resp,
                StatusCode::UNAUTHORIZED,
                &["missing_credentials"],
                &what,
            )
            .await;
        }
        // An API key without the route's scope (API keys never reach /v1/me).
        for req in probes(&app, method, path, Some(&key)) {
            assert_refused(
                req.send().await.unwrap(),
                StatusCode::FORBIDDEN,
                &["missing_scope", "forbidden"],
                &format!("key: {what}"),
            )
            .await;
        }
        // A customer token reaches only /v1/me.
        if !mine {
            for req in probes(&app, method, path, Some(&token)) {
                assert_refused(
                    req.send().await.unwrap(),
                    StatusCode::FORBIDDEN,
                    &["forbidden"],
                    &format!("customer: {what}"),
                )
                .await;
            }
        }
    }
}

#[tokio::test]
async fn text_with_nul_or_control_characters_is_refused_with_400() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let id = app.customer_id(&key, "a@example.com").await;
    let body = problem(
        app.patch(
            &format!("/v1/customers/{id}"),
            &key,
            json!({"tags": ["vip", "a\u{0}b"]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "tags[1]");
    let body = problem(
        app.post(
            "/v1/customers",
            &key,
            json!({"email": "b@example.com", "first_name": "Bell\u{7}", "attributes": {"k\u{1b}": "v"}}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["attributes.k\\u{1b}", "first_name"]);
    problem(
        app.get("/v1/customers/a%00b", &key).await,
        StatusCode::BAD_REQUEST,
        "invalid_path",
    )
    .await;
    problem(
        app.get("/v1/customers?q=%00", &key).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    problem(
        app.get("/v1/customers/by-external-id/x%7F", &key).await,
        StatusCode::BAD_REQUEST,
        "invalid_path",
    )
    .await;
    // A body is an object: serde alone would read a struct from a positional array.
    problem(
        app.patch(&format!("/v1/customers/{id}"), &key, json!([null, null]))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    // Nothing was stored.
    let list = ok(app.get("/v1/customers", &key).await, StatusCode::OK).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_caller_without_the_role_learns_nothing_about_a_list_query() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let customer = app.customer_id(&key, "q@example.com").await;
    let token = app.customer_token(&key, &customer).await;
    // A customer token reaches only /v1/me…: every staff or key list answers 403 before its
    // query string is read, however wrong that is.
    for path in [
        "/v1/customers",
        "/v1/customers/x/timeline",
        "/v1/customers/x/points/history",
        "/v1/customers/x/purchases",
        "/v1/rewards",
        "/v1/api-keys",
        "/v1/staff",
        "/v1/messages",
        "/v1/tickets",
        "/v1/surveys",
        "/v1/recovery-cases",
        "/v1/reports/nps",
        "/v1/reports/comments",
        "/v1/reports/retention",
    ] {
        let resp = app.get(&format!("{path}?limit=x&colour=red"), &token).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
        problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    }
}
