//! Manual adjustments and the Idempotency-Key mechanism.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::program::set_program;
use crate::purchases::purchase;

async fn adjust(
    app: &TestApp,
    token: &str,
    id: &str,
    key: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url(&format!("/v1/customers/{id}/points/adjustments")))
        .bearer_auth(token)
        .json(&body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.unwrap()
}

async fn setup() -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    let key = app
        .api_key(&[
            "customers:write",
            "points:read",
            "points:write",
            "purchases:write",
        ])
        .await;
    let c = app.customer(&key, json!({"email": "a@example.com"})).await;
    let id = c["id"].as_str().unwrap().to_owned();
    (app, key, id)
}

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
async fn an_adjustment_needs_a_valid_idempotency_key() {
    let (app, key, id) = setup().await;
    let body = json!({"points": 10, "reason": "goodwill"});
    problem(
        adjust(&app, &key, &id, None, body.clone()).await,
        StatusCode::BAD_REQUEST,
        "idempotency_key_required",
    )
    .await;
    let long = "k".repeat(256);
    problem(
        adjust(&app, &key, &id, Some(&long), body.clone()).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    problem(
        adjust(
            &app,
            &key,
            &id,
            Some("k1"),
            json!({"points": 0, "reason": ""}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    problem(
        adjust(
            &app,
            &key,
            &id,
            Some("k1"),
            json!({"points": 10, "reason": "x", "balance": 5}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    problem(
        adjust(&app, &key, "nobody", Some("k2"), body).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_replayed_adjustment_returns_the_first_response_and_credits_once() {
    let (app, key, id) = setup().await;
    let body =
        json!({"points": 40, "reason": "goodwill", "note_for_customer": "Sorry for the wait"});
    let first = ok(
        adjust(&app, &key, &id, Some("adj-1"), body.clone()).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(first["entry"]["kind"], "adjust");
    assert_eq!(first["entry"]["points"], 40);
    assert_eq!(first["entry"]["note"], "Sorry for the wait");
    assert_eq!(first["balance"]["available"], 40);
    let resp = adjust(&app, &key, &id, Some("adj-1"), body.clone()).await;
    assert_eq!(resp.headers()["idempotent-replayed"], "true");
    assert_eq!(ok(resp, StatusCode::CREATED).await, first);
    assert_eq!(available(&app, &key, &id).await, 40);
    let resp = adjust(
        &app,
        &key,
        &id,
        Some("adj-1"),
        json!({"points": 41, "reason": "goodwill"}),
    )
    .await;
    problem(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    assert_eq!(available(&app, &key, &id).await, 40);
}

#[tokio::test]
async fn idempotency_keys_are_scoped_to_the_caller() {
    let (app, key, id) = setup().await;
    let other = app.api_key(&["points:write", "points:read"]).await;
    let body = json!({"points": 5, "reason": "goodwill"});
    ok(
        adjust(&app, &key, &id, Some("same"), body.clone()).await,
        StatusCode::CREATED,
    )
    .await;
    let resp = adjust(&app, &other, &id, Some("same"), body).await;
    assert!(resp.headers().get("idempotent-replayed").is_none());
    ok(resp, StatusCode::CREATED).await;
    assert_eq!(available(&app, &key, &id).await, 10);
}

#[tokio::test]
async fn a_debit_never_takes_the_balance_below_zero_and_its_failure_replays_after_a_top_up() {
    let (app, key, id) = setup().await;
    ok(
        adjust(
            &app,
            &key,
            &id,
            Some("credit"),
            json!({"points": 120, "reason": "welcome"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let debit = json!({"points": -500, "reason": "correction"});
    let body = problem(
        adjust(&app, &key, &id, Some("debit"), debit.clone()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "insufficient_points",
    )
    .await;
    assert_eq!(body["detail"], "500 points are needed; 120 are available");
    ok(
        adjust(
            &app,
            &key,
            &id,
            Some("top-up"),
            json!({"points": 1000, "reason": "welcome"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let resp = adjust(&app, &key, &id, Some("debit"), debit).await;
    assert_eq!(resp.headers()["idempotent-replayed"], "true");
    problem(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "insufficient_points",
    )
    .await;
    assert_eq!(available(&app, &key, &id).await, 1120);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_take_effect_once() {
    let (app, key, id) = setup().await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (client, url, key) = (
                app.client.clone(),
                app.url(&format!("/v1/customers/{id}/points/adjustments")),
                key.clone(),
            );
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(key)
                    .header("Idempotency-Key", "once")
                    .json(&json!({"points": 7, "reason": "x"}))
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap().status());
    }
    assert!(
        statuses.iter().all(|s| *s == StatusCode::CREATED),
        "{statuses:?}"
    );
    assert_eq!(available(&app, &key, &id).await, 7);
}

#[tokio::test]
async fn concurrent_debits_never_overspend() {
    let (app, key, id) = setup().await;
    ok(
        adjust(
            &app,
            &key,
            &id,
            Some("credit"),
            json!({"points": 100, "reason": "x"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (client, url, key) = (
                app.client.clone(),
                app.url(&format!("/v1/customers/{id}/points/adjustments")),
                key.clone(),
            );
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(key)
                    .header("Idempotency-Key", format!("d{i}"))
                    .json(&json!({"points": -10, "reason": "x"}))
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let (mut created, mut refused) = (0, 0);
    for t in tasks {
        let resp = t.await.unwrap();
        match resp.status() {
            StatusCode::CREATED => created += 1,
            _ => {
                problem(
                    resp,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "insufficient_points",
                )
                .await;
                refused += 1;
            }
        }
    }
    assert_eq!((created, refused), (10, 10));
    assert_eq!(available(&app, &key, &id).await, 0);
    let history = ok(
        app.get(
            &format!("/v1/customers/{id}/points/history?limit=200"),
            &key,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let sum: i64 = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["points"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, 0);
}

#[tokio::test]
async fn debits_spend_the_soonest_expiring_points_first() {
    let (app, key, id) = setup().await;
    set_program(&app, json!({"pending_days": 0})).await;
    ok(
        app.post("/v1/purchases", &key, purchase("o-1", &id, 10_000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    app.clock.advance(chrono::Duration::days(31));
    ok(
        adjust(
            &app,
            &key,
            &id,
            Some("c"),
            json!({"points": 50, "reason": "x"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let body = ok(
        adjust(
            &app,
            &key,
            &id,
            Some("d"),
            json!({"points": -30, "reason": "x"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["balance"]["available"], 120);
    assert_eq!(
        body["balance"]["next_expiry"],
        json!({"points": 70, "at": "2027-11-22T11:00:00Z"})
    );
}

#[tokio::test]
async fn only_support_admins_and_points_write_keys_adjust() {
    let (app, _, id) = setup().await;
    let body = json!({"points": 5, "reason": "x"});
    for role in ["marketer", "analyst"] {
        let token = app.staff_token(role).await;
        problem(
            adjust(&app, &token, &id, Some("k"), body.clone()).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    let support = app.staff_token("support").await;
    ok(
        adjust(&app, &support, &id, Some("k"), body.clone()).await,
        StatusCode::CREATED,
    )
    .await;
    let reader = app.api_key(&["points:read"]).await;
    problem(
        adjust(&app, &reader, &id, Some("k"), body).await,
        StatusCode::FORBIDDEN,
        "missing_scope",
    )
    .await;
}
