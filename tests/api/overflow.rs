//! Arithmetic that would overflow is refused (422 `points_overflow`), never saturated, and never
//! turned into floating point by SQLite; the program refuses earning rates that could get there.

use diesel::RunQueryDsl;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::program::{defaults, set_program};
use crate::purchases::purchase;

const NEAR_MAX: i64 = i64::MAX - 10;

fn sql(app: &TestApp, statement: &str) {
    let mut conn = app.pool.get().unwrap();
    diesel::sql_query(statement).execute(&mut *conn).unwrap();
}

async fn points(app: &TestApp, key: &str, id: &str) -> Value {
    ok(
        app.get(&format!("/v1/customers/{id}/points"), key).await,
        StatusCode::OK,
    )
    .await
}

async fn adjust(app: &TestApp, key: &str, id: &str, idem: &str, points: i64) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/v1/customers/{id}/points/adjustments")))
        .bearer_auth(key)
        .header("Idempotency-Key", idem)
        .json(&json!({"points": points, "reason": "goodwill"}))
        .send()
        .await
        .unwrap()
}

async fn setup() -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    let key = app
        .api_key(&[
            "customers:write",
            "purchases:write",
            "points:read",
            "points:write",
        ])
        .await;
    let id = app
        .customer(&key, json!({"email": "big@example.com"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (app, key, id)
}

#[tokio::test]
async fn an_earn_rate_that_could_overflow_on_an_allowed_purchase_returns_400() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for (spend_minor, points) in [(1, 1_000_000), (100, 101), (1, 2)] {
        let mut doc = defaults();
        doc["earn_rate"] = json!({"spend_minor": spend_minor, "points": points});
        let body = problem(
            app.request(Method::PUT, "/v1/program", Some(&admin), Some(doc))
                .await,
            StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "earn_rate", "{body}");
    }
    // One point per minor unit is the most: 10^13 × 1 × 10 (tier) × 10 (rule) = 10^15 points.
    set_program(&app, json!({"earn_rate": {"spend_minor": 7, "points": 7}})).await;
}

#[tokio::test]
async fn a_purchase_whose_points_do_not_fit_in_i64_returns_422_points_overflow() {
    let (app, key, id) = setup().await;
    set_program(&app, json!({})).await;
    // A rate saved before rates were bounded: 10^13 × 10^6 points does not fit in i64.
    let mut doc = defaults();
    doc["earn_rate"] = json!({"spend_minor": 1, "points": 1_000_000});
    sql(
        &app,
        &format!("UPDATE program SET document = '{doc}' WHERE id = 1"),
    );
    problem(
        app.post(
            "/v1/purchases",
            &key,
            purchase("o-huge", &id, 10_000_000_000_000),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "points_overflow",
    )
    .await;
    let balance = points(&app, &key, &id).await;
    assert_eq!(
        (balance["available"].as_i64(), balance["pending"].as_i64()),
        (Some(0), Some(0))
    );
    // A purchase that fits still earns exactly.
    let earned = ok(
        app.post("/v1/purchases", &key, purchase("o-small", &id, 1_000_000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(earned["points"]["earned"], 1_000_000_000_000i64);
}

#[tokio::test]
async fn an_adjustment_that_would_overflow_the_balance_returns_422_and_leaves_it_exact() {
    let (app, key, id) = setup().await;
    ok(
        adjust(&app, &key, &id, "first", 10).await,
        StatusCode::CREATED,
    )
    .await;
    sql(
        &app,
        &format!("UPDATE balances SET available = {NEAR_MAX} WHERE customer_id = '{id}'"),
    );
    problem(
        adjust(&app, &key, &id, "second", 1_000).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "points_overflow",
    )
    .await;
    // Still the exact integer (SQLite would have stored 9.223372036854776e18 as a REAL).
    let balance = points(&app, &key, &id).await;
    assert_eq!(balance["available"].as_i64(), Some(NEAR_MAX), "{balance}");
    // Taking points away still works.
    ok(
        adjust(&app, &key, &id, "third", -5).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        points(&app, &key, &id).await["available"].as_i64(),
        Some(NEAR_MAX - 5)
    );
}

#[tokio::test]
async fn a_purchase_that_would_overflow_lifetime_earned_returns_422_points_overflow() {
    let (app, key, id) = setup().await;
    set_program(&app, json!({"pending_days": 0})).await;
    ok(
        app.post("/v1/purchases", &key, purchase("o-1", &id, 1_000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    sql(
        &app,
        &format!("UPDATE balances SET lifetime_earned = {NEAR_MAX} WHERE customer_id = '{id}'"),
    );
    problem(
        app.post("/v1/purchases", &key, purchase("o-2", &id, 5_000))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "points_overflow",
    )
    .await;
    let balance = points(&app, &key, &id).await;
    assert_eq!(balance["available"].as_i64(), Some(10));
    assert_eq!(balance["lifetime_earned"].as_i64(), Some(NEAR_MAX));
}
