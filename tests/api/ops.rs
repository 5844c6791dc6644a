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

/// The value of a counter without labels in the Prometheus text format.
fn counter(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_the_sql_statements_requests_send() {
    let app = TestApp::spawn().await;
    let key = app
        .api_key(&["customers:read", "customers:write", "points:read"])
        .await;
    let id = app.customer_id(&key, "counted@example.com").await;
    let read = |app: &TestApp| {
        let url = app.url("/metrics");
        let client = app.client.clone();
        async move {
            let text = client.get(url).send().await.unwrap().text().await.unwrap();
            counter(&text, "patron_db_statements_total")
                .unwrap_or_else(|| panic!("no statement counter in {text}"))
        }
    };
    let balance = format!("/v1/customers/{id}/points");
    // The first read also loads the key, the program and the tiers into this instance's caches.
    ok(app.get(&balance, &key).await, StatusCode::OK).await;
    // Then a balance read is one statement; the cache poll's are counted apart. (A machine so
    // busy that the poll falls a second behind makes the caches step aside: measure again.)
    let mut sent = 0;
    for _ in 0..5 {
        let before = read(&app).await;
        ok(app.get(&balance, &key).await, StatusCode::OK).await;
        sent = read(&app).await - before;
        if sent == 1 {
            break;
        }
    }
    assert_eq!(sent, 1);
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
    ("put", "/v1/staff/me/password"),
    ("post", "/v1/api-keys"),
    ("get", "/v1/api-keys"),
    ("delete", "/v1/api-keys/{id}"),
    ("post", "/v1/customers"),
    ("get", "/v1/customers"),
    ("get", "/v1/customers/{id}"),
    ("patch", "/v1/customers/{id}"),
    ("get", "/v1/customers/by-external-id/{external_id}"),
    ("post", "/v1/customers/{id}/tokens"),
    ("get", "/v1/customers/{id}/export"),
    ("delete", "/v1/customers/{id}"),
    ("get", "/v1/me/export"),
    ("post", "/v1/customers/{id}/merge"),
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
    ("get", "/v1/me/offers"),
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
    ("get", "/v1/customers/{id}/profile"),
    ("get", "/v1/customers/{id}/timeline"),
    ("post", "/v1/customers/{id}/tags"),
    ("delete", "/v1/customers/{id}/tags/{tag}"),
    ("get", "/v1/me/profile"),
    ("get", "/v1/admin/jobs"),
    ("get", "/v1/messages"),
    ("get", "/v1/messages/{id}"),
    ("post", "/v1/tickets"),
    ("get", "/v1/tickets"),
    ("get", "/v1/tickets/{id}"),
    ("post", "/v1/tickets/{id}/resolve"),
    ("post", "/v1/tickets/{id}/reopen"),
    ("post", "/v1/feedback"),
    ("get", "/v1/reports/nps"),
    ("get", "/v1/reports/csat"),
    ("get", "/v1/reports/ces"),
    ("get", "/v1/reports/comments"),
    ("get", "/v1/reports/loyalty"),
    ("get", "/v1/reports/retention"),
    ("get", "/v1/reports/recovery"),
    ("get", "/v1/recovery-cases"),
    ("get", "/v1/recovery-cases/{id}"),
    ("post", "/v1/recovery-cases/{id}/resolve"),
    ("get", "/v1/templates"),
    ("get", "/v1/templates/{kind}/{locale}"),
    ("put", "/v1/templates/{kind}/{locale}"),
    ("delete", "/v1/templates/{kind}/{locale}"),
    ("post", "/v1/templates/{kind}/{locale}/preview"),
    ("get", "/v1/surveys"),
    ("post", "/v1/surveys"),
    ("get", "/v1/surveys/{id}"),
    ("patch", "/v1/surveys/{id}"),
    ("post", "/v1/surveys/{id}/invitations"),
    ("get", "/v1/me/surveys"),
    ("post", "/v1/me/surveys/{invitation_id}/response"),
    // Links in emails: outside /v1, no credentials (the signed token is the credential).
    ("get", "/u/{token}"),
    ("post", "/u/{token}"),
    ("get", "/s/{token}"),
    ("post", "/s/{token}"),
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

async fn openapi(app: &TestApp) -> Value {
    ok(
        app.request(Method::GET, "/openapi.json", None, None).await,
        StatusCode::OK,
    )
    .await
}

/// Every operation of the document, as (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.clone(), path.clone(), op.clone()));
        }
    }
    out
}

#[tokio::test]
async fn openapi_scope_enum_lists_the_wire_names() {
    let app = TestApp::spawn().await;
    let doc = openapi(&app).await;
    let scopes: Vec<&str> = doc["components"]["schemas"]["Scope"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        scopes,
        [
            "customers:read",
            "customers:write",
            "purchases:write",
            "points:read",
            "points:write",
            "rewards:redeem",
            "codes:use",
            "tickets:write",
            "feedback:write",
            "events:write",
            "tokens:issue",
        ]
    );
}

#[tokio::test]
async fn openapi_error_responses_are_problem_json_with_the_shared_statuses() {
    let app = TestApp::spawn().await;
    let doc = openapi(&app).await;
    let mut ids = std::collections::HashSet::new();
    for (method, path, op) in operations(&doc) {
        let responses = op["responses"].as_object().unwrap();
        for (status, response) in responses {
            let page = path.starts_with("/s/") && response["content"].get("text/html").is_some();
            if (status.starts_with('4') || status.starts_with('5')) && !page {
                let content = response["content"].as_object().unwrap();
                assert_eq!(
                    content.keys().collect::<Vec<_>>(),
                    ["application/problem+json"],
                    "{method} {path} {status}"
                );
                assert_eq!(
                    content["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem"
                );
            }
        }
        let has = |s: &str| responses.contains_key(s);
        if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
            assert!(has("401") && has("403") && has("429"), "{method} {path}");
            assert_eq!(responses["429"]["headers"]["Retry-After"]["required"], true);
        }
        if op.get("requestBody").is_some() {
            assert!(has("400") && has("413") && has("415"), "{method} {path}");
        }
        if path.contains('{') {
            assert!(has("404"), "{method} {path}");
        }
        let operation_id = op["operationId"].as_str().unwrap().to_owned();
        assert!(
            ids.insert(operation_id),
            "{method} {path}: operationId reused"
        );
    }
    let purchase = &doc["paths"]["/v1/purchases"]["post"]["responses"];
    assert!(
        purchase["409"]["description"]
            .as_str()
            .unwrap()
            .contains("`purchase_conflict`")
    );
    assert!(
        purchase["422"]["description"]
            .as_str()
            .unwrap()
            .contains("`idempotency_key_reused`")
    );
}

#[tokio::test]
async fn openapi_request_schemas_carry_the_enforced_limits() {
    let app = TestApp::spawn().await;
    let doc = openapi(&app).await;
    let schemas = &doc["components"]["schemas"];
    let purchase = &schemas["PurchaseRequest"]["properties"];
    assert_eq!(purchase["external_id"]["minLength"], 1);
    assert_eq!(purchase["external_id"]["maxLength"], 200);
    assert_eq!(purchase["lines"]["maxItems"], 500);
    assert_eq!(purchase["total_minor"]["minimum"], 1);
    let limit = doc["paths"]["/v1/customers"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()
        .clone();
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 200);
}

#[tokio::test]
async fn another_method_on_a_known_path_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let resp = app
        .request(Method::PUT, "/v1/customers/some-id", None, None)
        .await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "DELETE, GET, PATCH");
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");

    let resp = app.request(Method::DELETE, "/healthz", None, None).await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "GET");

    let resp = app.request(Method::GET, "/v1/nowhere", None, None).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.headers().get("allow").is_none());
}

#[tokio::test]
async fn a_response_that_flattens_a_request_type_allows_its_own_fields() {
    let app = TestApp::spawn().await;
    let doc = openapi(&app).await;
    let rule = &doc["components"]["schemas"]["RuleResponse"];
    let parts = rule["allOf"]
        .as_array()
        .expect("RuleResponse flattens RuleBody");
    assert!(
        parts
            .iter()
            .all(|p| p.get("$ref").is_none() && p["additionalProperties"] != false),
        "{rule}"
    );
    // The request type itself still refuses unknown fields.
    assert_eq!(
        doc["components"]["schemas"]["RuleBody"]["additionalProperties"],
        false
    );
}

#[tokio::test]
async fn openapi_path_parameters_are_in_the_path_and_the_rest_in_the_query() {
    let app = TestApp::spawn().await;
    let doc = ok(
        app.request(Method::GET, "/openapi.json", None, None).await,
        StatusCode::OK,
    )
    .await;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("operations") {
            for param in op["parameters"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap_or_default();
                if param["in"] == "path" {
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: `{name}` is documented as a path parameter"
                    );
                }
            }
        }
    }
}
