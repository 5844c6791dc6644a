//! Malformed input gets problem+json with a stable code, never a 500.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, problem};

#[tokio::test]
async fn malformed_json_returns_400_malformed_json() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let resp = app
        .client
        .post(app.url("/v1/customers"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{\"email\": \"a@example.com\",")
        .send()
        .await
        .unwrap();
    problem(resp, StatusCode::BAD_REQUEST, "malformed_json").await;
}

#[tokio::test]
async fn unknown_fields_such_as_balance_return_400_invalid_body() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let resp = app
        .post(
            "/v1/customers",
            &key,
            json!({"email": "a@example.com", "balance": 5}),
        )
        .await;
    let body = problem(resp, StatusCode::BAD_REQUEST, "invalid_body").await;
    assert!(
        body["detail"].as_str().unwrap().contains("balance"),
        "{body}"
    );
}

#[tokio::test]
async fn wrong_field_types_return_400_invalid_body() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let resp = app.post("/v1/customers", &key, json!({"email": 42})).await;
    problem(resp, StatusCode::BAD_REQUEST, "invalid_body").await;
}

#[tokio::test]
async fn a_one_megabyte_body_returns_413_payload_too_large() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let big = "x".repeat(1024 * 1024);
    let resp = app
        .post(
            "/v1/customers",
            &key,
            json!({"email": "a@example.com", "first_name": big}),
        )
        .await;
    problem(resp, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[tokio::test]
async fn a_wrong_content_type_returns_415_unsupported_media_type() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let resp = app
        .client
        .post(app.url("/v1/customers"))
        .bearer_auth(&key)
        .header("content-type", "text/plain")
        .body("{\"email\": \"a@example.com\"}")
        .send()
        .await
        .unwrap();
    problem(
        resp,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_route_returns_404_not_found() {
    let app = TestApp::spawn().await;
    let resp = app
        .request(Method::GET, "/v1/nothing-here", None, None)
        .await;
    problem(resp, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_wrong_method_on_a_known_route_returns_405_method_not_allowed() {
    let app = TestApp::spawn().await;
    let resp = app
        .request(Method::DELETE, "/v1/customers", None, None)
        .await;
    problem(resp, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    let resp = app.request(Method::PUT, "/v1/auth/login", None, None).await;
    problem(resp, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

#[tokio::test]
async fn unknown_query_parameters_return_400_invalid_query() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let resp = app.get("/v1/customers?colour=blue", &key).await;
    problem(resp, StatusCode::BAD_REQUEST, "invalid_query").await;
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let first = app.request(Method::GET, "/healthz", None, None).await;
    let second = app.request(Method::GET, "/healthz", None, None).await;
    let a = first.headers()["x-request-id"].to_str().unwrap().to_owned();
    let b = second.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!a.is_empty());
    assert_ne!(a, b);
}
