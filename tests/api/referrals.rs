//! Referrals pay both sides once, after the referred customer's first purchase is released.

use patron::clock::SharedClock;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, ok, problem};
use crate::program::set_program;
use crate::purchases::{purchase, till};

async fn available(app: &TestApp, key: &str, id: &str) -> i64 {
    ok(
        app.get(&format!("/v1/customers/{id}/points"), key).await,
        StatusCode::OK,
    )
    .await["available"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_referred_first_purchase_pays_both_sides_once_after_its_pending_period() {
    let app = TestApp::spawn().await;
    set_program(
        &app,
        json!({"referral": {"referrer_points": 100, "referred_points": 50}}),
    )
    .await;
    let key = till(&app).await;
    let a = app.customer(&key, json!({"email": "a@example.com"})).await;
    let code = a["referral_code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 10);
    let b = app
        .customer(
            &key,
            json!({"email": "b@example.com", "referral_code_used": code.to_lowercase()}),
        )
        .await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    ok(
        app.post("/v1/purchases", &key, purchase("o-1", b_id, 1000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    ok(
        app.post("/v1/purchases", &key, purchase("o-2", b_id, 1000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        available(&app, &key, a_id).await,
        0,
        "nothing before the pending period ends"
    );
    app.clock.advance(chrono::Duration::days(14));
    let (pool, clock): (patron::db::Pool, SharedClock) = (app.pool.clone(), app.clock.clone());
    let report = tokio::task::spawn_blocking(move || {
        patron::points::jobs::release_pending(&pool, &clock).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(report.items, 2);
    assert_eq!(available(&app, &key, a_id).await, 100);
    assert_eq!(available(&app, &key, b_id).await, 10 + 10 + 50);
    let history = ok(
        app.get(&format!("/v1/customers/{a_id}/points/history"), &key)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(history["data"].as_array().unwrap().len(), 1);
    assert_eq!(history["data"][0]["kind"], "bonus");
    assert_eq!(
        history["data"][0]["source"],
        json!({"type": "referral", "id": b_id})
    );
}

#[tokio::test]
async fn without_a_pending_period_the_referral_pays_at_the_first_purchase() {
    let app = TestApp::spawn().await;
    set_program(
        &app,
        json!({"pending_days": 0, "referral": {"referrer_points": 100, "referred_points": 0}}),
    )
    .await;
    let key = till(&app).await;
    let a = app.customer(&key, json!({"email": "a@example.com"})).await;
    let b = app
        .customer(
            &key,
            json!({"email": "b@example.com", "referral_code_used": a["referral_code"]}),
        )
        .await;
    ok(
        app.post(
            "/v1/purchases",
            &key,
            purchase("o-1", b["id"].as_str().unwrap(), 1000),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    ok(
        app.post(
            "/v1/purchases",
            &key,
            purchase("o-2", b["id"].as_str().unwrap(), 1000),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(available(&app, &key, a["id"].as_str().unwrap()).await, 100);
    assert_eq!(available(&app, &key, b["id"].as_str().unwrap()).await, 20);
}

#[tokio::test]
async fn an_unknown_referral_code_is_refused() {
    let app = TestApp::spawn().await;
    let key = till(&app).await;
    let resp = app
        .post(
            "/v1/customers",
            &key,
            json!({"email": "b@example.com", "referral_code_used": "NOPE"}),
        )
        .await;
    problem(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_referral_code",
    )
    .await;
}
