//! A corrupt stored document (program settings, an earning rule, a reward's text) is an error
//! operators see — 500 `internal_error` with a request id, the cause logged — never a silent
//! fallback to defaults, an inactive rule or empty text.

use diesel::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, ok, problem};
use crate::program::set_program;
use crate::purchases::{purchase, till};

fn corrupt(app: &TestApp, sql: &str) {
    let mut conn = app.pool.get().unwrap();
    let changed = diesel::sql_query(sql).execute(&mut *conn).unwrap();
    assert_eq!(changed, 1, "{sql}");
}

async fn internal_error(resp: reqwest::Response) {
    let body = problem(resp, StatusCode::INTERNAL_SERVER_ERROR, "internal_error").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(
        !detail.contains("corrupt"),
        "no internals in the body: {detail}"
    );
}

#[tokio::test]
async fn a_corrupt_program_document_is_a_500_not_the_defaults() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let key = till(&app).await;
    let customer = app.customer(&key, json!({"email": "c@example.com"})).await;
    let id = customer["id"].as_str().unwrap();
    set_program(
        &app,
        json!({"earn_rate": {"spend_minor": 100, "points": 5}}),
    )
    .await;
    corrupt(
        &app,
        r#"UPDATE program SET document = '{"currency": "USD", "earn_rate": ' WHERE id = 1"#,
    );
    internal_error(app.get("/v1/program", &admin).await).await;
    // Earning at the default rate instead of 5 per 1.00 would be silently wrong.
    internal_error(
        app.post("/v1/purchases", &key, purchase("o-1", id, 1000))
            .await,
    )
    .await;
    let history = ok(
        app.get(&format!("/v1/customers/{id}/purchases"), &key)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(history["data"], json!([]), "nothing was recorded");
}

#[tokio::test]
async fn a_corrupt_earning_rule_is_a_500_not_an_inactive_rule() {
    let app = TestApp::spawn().await;
    let marketer = app.staff_token("marketer").await;
    let key = till(&app).await;
    let customer = app.customer(&key, json!({"email": "c@example.com"})).await;
    let id = customer["id"].as_str().unwrap();
    let rule = ok(
        app.post(
            "/v1/earning-rules",
            &marketer,
            json!({"name": "Big basket", "kind": "purchase_bonus", "points": 50, "min_total_minor": 100}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let rule_id = rule["id"].as_str().unwrap();
    corrupt(
        &app,
        &format!("UPDATE earning_rules SET params = 'not json' WHERE id = '{rule_id}'"),
    );
    internal_error(app.get("/v1/earning-rules", &marketer).await).await;
    internal_error(
        app.post("/v1/purchases", &key, purchase("o-1", id, 1000))
            .await,
    )
    .await;
}

#[tokio::test]
async fn a_corrupt_reward_text_is_a_500_not_empty_text() {
    let app = TestApp::spawn().await;
    let marketer = app.staff_token("marketer").await;
    let reward = ok(
        app.post(
            "/v1/rewards",
            &marketer,
            json!({"name": {"en": "Mug", "fa": "ماگ"}, "kind": "gift", "cost_points": 10}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let reward_id = reward["id"].as_str().unwrap();
    corrupt(
        &app,
        &format!(r#"UPDATE rewards SET name = '{{"en": "Mu' WHERE id = '{reward_id}'"#),
    );
    internal_error(
        app.get(&format!("/v1/rewards/{reward_id}"), &marketer)
            .await,
    )
    .await;
    internal_error(app.get("/v1/rewards", &marketer).await).await;
}
