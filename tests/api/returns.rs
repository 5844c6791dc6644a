//! Returns reverse exactly what was earned on what came back.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::program::set_program;
use crate::purchases::{purchase, till};

async fn setup() -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    let key = till(&app).await;
    let c = app.customer(&key, json!({"email": "a@example.com"})).await;
    (app, key, c["id"].as_str().unwrap().to_owned())
}

async fn balance(app: &TestApp, key: &str, id: &str) -> Value {
    ok(
        app.get(&format!("/v1/customers/{id}/points"), key).await,
        StatusCode::OK,
    )
    .await
}

async fn history_sums(app: &TestApp, key: &str, id: &str) -> (i64, i64, i64) {
    let h = ok(
        app.get(&format!("/v1/customers/{id}/points/history?limit=200"), key)
            .await,
        StatusCode::OK,
    )
    .await;
    h["data"]
        .as_array()
        .unwrap()
        .iter()
        .fold((0, 0, 0), |(a, p, n), e| {
            (
                a + e["points"].as_i64().unwrap(),
                p + e["pending"].as_i64().unwrap(),
                n + e["negative"].as_i64().unwrap(),
            )
        })
}

async fn ret(app: &TestApp, key: &str, purchase_id: &str, body: Value) -> reqwest::Response {
    app.post(&format!("/v1/purchases/{purchase_id}/returns"), key, body)
        .await
}

#[tokio::test]
async fn line_returns_reverse_exactly_the_points_of_those_lines_from_pending() {
    let (app, key, id) = setup().await;
    let mut p = purchase("o-1", &id, 800);
    p["lines"] = json!([
        {"sku": "coffee", "quantity": 2, "unit_price_minor": 250},
        {"sku": "bun", "quantity": 1, "unit_price_minor": 300}
    ]);
    let bought = ok(
        app.post("/v1/purchases", &key, p).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(bought["points"]["earned"], 8);
    let pid = bought["id"].as_str().unwrap();
    let first = ok(
        ret(
            &app,
            &key,
            pid,
            json!({"external_id": "r-1", "lines": [{"sku": "coffee", "quantity": 1}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (
            first["amount_minor"].as_i64(),
            first["points_reversed"].as_i64()
        ),
        (Some(250), Some(2))
    );
    let second = ok(
        ret(
            &app,
            &key,
            pid,
            json!({"external_id": "r-2", "lines": [{"sku": "coffee", "quantity": 1}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        second["points_reversed"], 3,
        "two halves add up to the 5 points the coffee earned"
    );
    assert_eq!(second["balance"]["pending"], 3);
    let third = ok(
        ret(
            &app,
            &key,
            pid,
            json!({"external_id": "r-3", "lines": [{"sku": "bun", "quantity": 1}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(third["points_reversed"], 3);
    assert_eq!(third["purchase_returned_minor"], 800);
    let b = balance(&app, &key, &id).await;
    assert_eq!(
        (b["available"].as_i64(), b["pending"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(history_sums(&app, &key, &id).await, (0, 0, 0));
    let resp = ret(
        &app,
        &key,
        pid,
        json!({"external_id": "r-4", "lines": [{"sku": "bun", "quantity": 1}]}),
    )
    .await;
    problem(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "return_exceeds_purchase",
    )
    .await;
}

#[tokio::test]
async fn amount_returns_add_up_to_exactly_what_the_purchase_earned() {
    let (app, key, id) = setup().await;
    let bought = ok(
        app.post("/v1/purchases", &key, purchase("o-1", &id, 1000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let pid = bought["id"].as_str().unwrap();
    let mut reversed = Vec::new();
    for (i, amount) in [333, 333, 334].iter().enumerate() {
        let body = ok(
            ret(
                &app,
                &key,
                pid,
                json!({"external_id": format!("r-{i}"), "amount_minor": amount}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        reversed.push(body["points_reversed"].as_i64().unwrap());
    }
    assert_eq!(reversed, [3, 3, 4]);
    assert_eq!(balance(&app, &key, &id).await["pending"], 0);
    let resp = ret(
        &app,
        &key,
        pid,
        json!({"external_id": "r-9", "amount_minor": 1}),
    )
    .await;
    problem(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "return_exceeds_purchase",
    )
    .await;
}

#[tokio::test]
async fn returns_must_match_how_the_purchase_was_recorded() {
    let (app, key, id) = setup().await;
    let plain = ok(
        app.post("/v1/purchases", &key, purchase("o-1", &id, 1000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let resp = ret(
        &app,
        &key,
        plain["id"].as_str().unwrap(),
        json!({"external_id": "r-1", "lines": [{"sku": "x", "quantity": 1}]}),
    )
    .await;
    problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "invalid_return").await;
    let mut p = purchase("o-2", &id, 100);
    p["lines"] = json!([{"sku": "a", "quantity": 1, "unit_price_minor": 100}]);
    let lined = ok(
        app.post("/v1/purchases", &key, p).await,
        StatusCode::CREATED,
    )
    .await;
    let lid = lined["id"].as_str().unwrap();
    problem(
        ret(
            &app,
            &key,
            lid,
            json!({"external_id": "r-2", "amount_minor": 50}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_return",
    )
    .await;
    problem(
        ret(
            &app,
            &key,
            lid,
            json!({"external_id": "r-3", "lines": [{"sku": "b", "quantity": 1}]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_return",
    )
    .await;
    problem(
        ret(
            &app,
            &key,
            lid,
            json!({"external_id": "r-4", "lines": [{"sku": "a", "quantity": 2}]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "return_exceeds_purchase",
    )
    .await;
    problem(
        ret(&app, &key, lid, json!({"external_id": "r-5"})).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    problem(
        ret(
            &app,
            &key,
            lid,
            json!({"external_id": "r-5", "amount_minor": -5}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    problem(
        ret(
            &app,
            &key,
            "nope",
            json!({"external_id": "r-6", "amount_minor": 5}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let reader = app.api_key(&["points:read"]).await;
    problem(
        ret(
            &app,
            &reader,
            lid,
            json!({"external_id": "r-7", "amount_minor": 5}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "missing_scope",
    )
    .await;
}

#[tokio::test]
async fn a_retried_return_replays_and_a_changed_one_conflicts() {
    let (app, key, id) = setup().await;
    let bought = ok(
        app.post("/v1/purchases", &key, purchase("o-1", &id, 1000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let pid = bought["id"].as_str().unwrap();
    let body = json!({"external_id": "r-1", "amount_minor": 500});
    let first = ok(
        ret(&app, &key, pid, body.clone()).await,
        StatusCode::CREATED,
    )
    .await;
    let resp = ret(&app, &key, pid, body).await;
    assert_eq!(resp.headers()["idempotent-replayed"], "true");
    let again = ok(resp, StatusCode::OK).await;
    assert_eq!(again["id"], first["id"]);
    problem(
        ret(
            &app,
            &key,
            pid,
            json!({"external_id": "r-1", "amount_minor": 400}),
        )
        .await,
        StatusCode::CONFLICT,
        "return_conflict",
    )
    .await;
    assert_eq!(balance(&app, &key, &id).await["pending"], 5);
}

async fn spend_then_return(policy: &str) -> (TestApp, String, String, Value) {
    let (app, key, id) = setup().await;
    set_program(&app, json!({"pending_days": 0, "return_policy": policy})).await;
    let writer = app.api_key(&["points:write"]).await;
    let bought = ok(
        app.post("/v1/purchases", &key, purchase("o-1", &id, 1000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(bought["balance"]["available"], 10);
    let resp = app
        .client
        .post(app.url(&format!("/v1/customers/{id}/points/adjustments")))
        .bearer_auth(&writer)
        .header("Idempotency-Key", "spend")
        .json(&json!({"points": -8, "reason": "spent in store"}))
        .send()
        .await
        .unwrap();
    ok(resp, StatusCode::CREATED).await;
    let body = ok(
        ret(
            &app,
            &key,
            bought["id"].as_str().unwrap(),
            json!({"external_id": "r-1", "amount_minor": 1000}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    (app, key, id, body)
}

#[tokio::test]
async fn within_balance_forgives_points_already_spent() {
    let (app, key, id, body) = spend_then_return("within_balance").await;
    assert_eq!(
        (
            body["points_reversed"].as_i64(),
            body["uncovered_points"].as_i64()
        ),
        (Some(10), Some(8))
    );
    assert_eq!(
        (
            body["balance"]["available"].as_i64(),
            body["balance"]["negative"].as_i64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(history_sums(&app, &key, &id).await, (0, 0, 0));
}

#[tokio::test]
async fn allow_negative_records_a_debt_that_later_points_pay_off() {
    let (app, key, id, body) = spend_then_return("allow_negative").await;
    assert_eq!(
        (
            body["balance"]["available"].as_i64(),
            body["balance"]["negative"].as_i64()
        ),
        (Some(0), Some(8))
    );
    assert_eq!(history_sums(&app, &key, &id).await, (0, 0, 8));
    let next = ok(
        app.post("/v1/purchases", &key, purchase("o-2", &id, 1500))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (
            next["balance"]["available"].as_i64(),
            next["balance"]["negative"].as_i64()
        ),
        (Some(7), Some(0))
    );
    assert_eq!(history_sums(&app, &key, &id).await, (7, 0, 0));
    assert_eq!(
        next["balance"]["next_expiry"]["points"], 7,
        "the paid-off part left the new lot"
    );
}

#[tokio::test]
async fn concurrent_returns_never_exceed_the_purchase() {
    let (app, key, id) = setup().await;
    let bought = ok(
        app.post("/v1/purchases", &key, purchase("o-1", &id, 1000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let url = app.url(&format!(
        "/v1/purchases/{}/returns",
        bought["id"].as_str().unwrap()
    ));
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let (client, url, key) = (app.client.clone(), url.clone(), key.clone());
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(key)
                    .json(&json!({"external_id": format!("r-{i}"), "amount_minor": 200}))
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let (mut created, mut refused) = (0, 0);
    for t in tasks {
        let resp = t.await.unwrap();
        if resp.status() == StatusCode::CREATED {
            created += 1;
        } else {
            problem(
                resp,
                StatusCode::UNPROCESSABLE_ENTITY,
                "return_exceeds_purchase",
            )
            .await;
            refused += 1;
        }
    }
    assert_eq!((created, refused), (5, 5));
    assert_eq!(balance(&app, &key, &id).await["pending"], 0);
}
