//! Health, readiness, metrics, OpenAPI and docs.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, ok};

#[tokio::test]
async fn healthz_and_readyz_report_ok() {
    let app = TestApp::spawn().await;
    let body = ok(
        app.request(Method::GET, "/healthz", None, None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["status"], "ok");
    let body = ok(
        app.request(Method::GET, "/readyz", None, None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_status() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let _ = app.get("/v1/customers/does-not-exist", &key).await;
    let resp = app.request(Method::GET, "/metrics", None, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    assert!(
        text.contains(
            r#"patron_http_requests_total{method="GET",route="/v1/customers/{id}",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains("patron_http_request_duration_seconds_bucket"),
        "{text}"
    );
}

/// Every route of the service, as (method, path) in the OpenAPI document.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/docs"),
    ("post", "/v1/auth/login"),
    ("post", "/v1/auth/customer-login"),
    ("post", "/v1/staff"),
    ("get", "/v1/staff"),
    ("patch", "/v1/staff/{id}"),
    ("post", "/v1/api-keys"),
    ("get", "/v1/api-keys"),
    ("delete", "/v1/api-keys/{id}"),
    ("post", "/v1/customers"),
    ("get", "/v1/customers"),
    ("get", "/v1/customers/{id}"),
    ("patch", "/v1/customers/{id}"),
    ("get", "/v1/customers/by-external-id/{external_id}"),
    ("post", "/v1/customers/{id}/tokens"),
    ("get", "/v1/me"),
    ("patch", "/v1/me"),
    ("put", "/v1/me/password"),
    ("get", "/v1/program"),
    ("put", "/v1/program"),
    ("post", "/v1/purchases"),
    ("post", "/v1/purchases/preview"),
    ("get", "/v1/customers/{id}/purchases"),
    ("get", "/v1/me/purchases"),
    ("get", "/v1/customers/{id}/points"),
    ("get", "/v1/customers/{id}/points/history"),
    ("get", "/v1/me/points"),
    ("get", "/v1/me/points/history"),
    ("post", "/v1/customers/{id}/points/adjustments"),
    ("post", "/v1/purchases/{id}/returns"),
    ("get", "/v1/rewards"),
    ("post", "/v1/rewards"),
    ("get", "/v1/rewards/{id}"),
    ("patch", "/v1/rewards/{id}"),
    ("post", "/v1/customers/{id}/redemptions"),
    ("post", "/v1/me/redemptions"),
    ("get", "/v1/me/codes"),
    ("get", "/v1/me/rewards"),
    ("get", "/v1/codes/{code}"),
    ("post", "/v1/codes/{code}/use"),
    ("post", "/v1/codes/{code}/cancel"),
    ("get", "/v1/tiers"),
    ("post", "/v1/tiers"),
    ("patch", "/v1/tiers/{id}"),
    ("delete", "/v1/tiers/{id}"),
    ("get", "/v1/earning-rules"),
    ("post", "/v1/earning-rules"),
    ("patch", "/v1/earning-rules/{id}"),
    ("delete", "/v1/earning-rules/{id}"),
    ("post", "/v1/customers/{id}/events"),
];

#[tokio::test]
async fn openapi_lists_every_route_with_bearer_security() {
    let app = TestApp::spawn().await;
    let doc: Value = ok(
        app.request(Method::GET, "/openapi.json", None, None).await,
        StatusCode::OK,
    )
    .await;
    for (method, path) in ROUTES {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing from /openapi.json"
        );
    }
    let listed: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(
        listed,
        ROUTES.len(),
        "the document lists routes this test does not know"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test]
async fn docs_page_is_html() {
    let app = TestApp::spawn().await;
    let resp = app.request(Method::GET, "/docs", None, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("redoc"), "{html}");
}
