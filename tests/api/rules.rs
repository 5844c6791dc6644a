//! Earning rules (multipliers and bonuses) and custom events.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::purchases::purchase;

const SCOPES: &[&str] = &[
    "customers:write",
    "purchases:write",
    "points:read",
    "events:write",
];

async fn setup() -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    let marketer = app.staff_token("marketer").await;
    let key = app.api_key(SCOPES).await;
    (app, marketer, key)
}

async fn rule(app: &TestApp, marketer: &str, body: Value) -> Value {
    ok(
        app.post("/v1/earning-rules", marketer, body).await,
        StatusCode::CREATED,
    )
    .await
}

fn coffee_line(external_id: &str, customer: &str, minor: i64) -> Value {
    let mut p = purchase(external_id, customer, minor);
    p["lines"] =
        json!([{"sku": "latte", "category": "coffee", "quantity": 1, "unit_price_minor": minor}]);
    p
}

async fn event(
    app: &TestApp,
    key: &str,
    customer: &str,
    idem: &str,
    at: &str,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/v1/customers/{customer}/events")))
        .bearer_auth(key)
        .header("Idempotency-Key", idem)
        .json(&json!({"name": "review_written", "occurred_at": at, "properties": {"product": "latte"}}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn marketers_manage_rules_and_each_kind_needs_its_own_fields() {
    let (app, marketer, key) = setup().await;
    let created = rule(&app, &marketer, json!({"name": "Coffee", "kind": "multiplier", "multiplier_percent": 200, "match": {"category": "coffee"}})).await;
    assert_eq!(created["active"], true);
    assert_eq!(created["match"], json!({"category": "coffee", "sku": null}));
    let id = created["id"].as_str().unwrap();
    let patched = ok(
        app.patch(
            &format!("/v1/earning-rules/{id}"),
            &marketer,
            json!({"multiplier_percent": 300, "channels": ["web"]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            patched["multiplier_percent"].as_i64(),
            patched["channels"].clone()
        ),
        (Some(300), json!(["web"]))
    );
    let body = problem(
        app.patch(
            &format!("/v1/earning-rules/{id}"),
            &marketer,
            json!({"points": 5, "match": null}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let mut fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["match", "points"]);
    problem(
        app.post(
            "/v1/earning-rules",
            &marketer,
            json!({"name": "x", "kind": "purchase_bonus", "points": 5}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    problem(
        app.post(
            "/v1/earning-rules",
            &marketer,
            json!({"name": "x", "kind": "teleport"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    let list = ok(
        app.get("/v1/earning-rules", &marketer).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let analyst = app.staff_token("analyst").await;
    problem(
        app.post(
            "/v1/earning-rules",
            &analyst,
            json!({"name": "x", "kind": "first_purchase_bonus", "points": 5}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    problem(
        app.get("/v1/earning-rules", &key).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.request(
            Method::DELETE,
            &format!("/v1/earning-rules/{id}"),
            Some(&marketer),
            None
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    problem(
        app.request(
            Method::DELETE,
            &format!("/v1/earning-rules/{id}"),
            Some(&marketer),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_gold_member_buying_ten_units_of_coffee_earns_thirty_as_in_the_contract() {
    let (app, marketer, key) = setup().await;
    ok(
        app.post(
            "/v1/tiers",
            &marketer,
            json!({"name": "Gold", "threshold": 1, "multiplier_percent": 150}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    rule(&app, &marketer, json!({"name": "Coffee", "kind": "multiplier", "multiplier_percent": 200, "match": {"category": "coffee"}})).await;
    rule(&app, &marketer, json!({"name": "Tea", "kind": "multiplier", "multiplier_percent": 120, "match": {"category": "coffee"}})).await;
    let c = app.customer(&key, json!({"email": "a@example.com"})).await;
    let id = c["id"].as_str().unwrap();
    ok(
        app.post("/v1/purchases", &key, purchase("o-0", id, 100))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let body = ok(
        app.post("/v1/purchases", &key, coffee_line("o-1", id, 1000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["points"]["earned"], 30);
    assert_eq!(
        body["points"]["breakdown"],
        json!([{"rule": "base", "points": 10}, {"rule": "tier:Gold", "points": 5}, {"rule": "rule:Coffee", "points": 15}])
    );
}

#[tokio::test]
async fn bonuses_apply_for_big_baskets_first_purchases_and_birthday_months() {
    let (app, marketer, key) = setup().await;
    rule(&app, &marketer, json!({"name": "Big basket", "kind": "purchase_bonus", "points": 50, "min_total_minor": 5000})).await;
    rule(
        &app,
        &marketer,
        json!({"name": "Welcome", "kind": "first_purchase_bonus", "points": 100}),
    )
    .await;
    rule(
        &app,
        &marketer,
        json!({"name": "Birthday", "kind": "birthday_month_bonus", "points": 25}),
    )
    .await;
    let c = app
        .customer(
            &key,
            json!({"email": "a@example.com", "birthday": "--11-30", "time_zone": "Asia/Tehran"}),
        )
        .await;
    let id = c["id"].as_str().unwrap();
    let first = ok(
        app.post("/v1/purchases", &key, purchase("o-1", id, 6000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(first["points"]["earned"], 60 + 50 + 100 + 25);
    let second = ok(
        app.post("/v1/purchases", &key, purchase("o-2", id, 1000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        second["points"]["breakdown"],
        json!([{"rule": "base", "points": 10}, {"rule": "rule:Birthday", "points": 25}])
    );
    // 30 November 21:00 UTC is already 1 December in Tehran: no birthday bonus.
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-11-30T22:00:00Z")
            .unwrap()
            .into(),
    );
    let mut late = purchase("o-3", id, 1000);
    late["occurred_at"] = json!("2026-11-30T21:00:00Z");
    let third = ok(
        app.post("/v1/purchases", &key, late).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(third["points"]["earned"], 10);
}

#[tokio::test]
async fn rule_filters_and_date_windows_limit_where_rules_apply() {
    let (app, marketer, key) = setup().await;
    rule(&app, &marketer, json!({"name": "Web coffee", "kind": "multiplier", "multiplier_percent": 300, "match": {"sku": "latte"}, "channels": ["web"]})).await;
    rule(&app, &marketer, json!({"name": "Old promo", "kind": "purchase_bonus", "points": 99, "min_total_minor": 1, "ends_at": "2026-01-01T00:00:00Z"})).await;
    rule(&app, &marketer, json!({"name": "Store 9", "kind": "purchase_bonus", "points": 7, "min_total_minor": 1, "store_ids": ["s9"]})).await;
    rule(&app, &marketer, json!({"name": "Off", "kind": "purchase_bonus", "points": 5, "min_total_minor": 1, "active": false})).await;
    let c = app.customer(&key, json!({"email": "a@example.com"})).await;
    let id = c["id"].as_str().unwrap();
    let store = ok(
        app.post("/v1/purchases", &key, coffee_line("o-1", id, 1000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(store["points"]["earned"], 10);
    let mut web = coffee_line("o-2", id, 1000);
    web["channel"] = json!("web");
    web["store_id"] = json!("s9");
    let body = ok(
        app.post("/v1/purchases", &key, web).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["points"]["earned"], 30 + 7);
}

#[tokio::test]
async fn a_full_return_also_takes_back_purchase_bonuses() {
    let (app, marketer, key) = setup().await;
    rule(
        &app,
        &marketer,
        json!({"name": "Welcome", "kind": "first_purchase_bonus", "points": 100}),
    )
    .await;
    let c = app.customer(&key, json!({"email": "a@example.com"})).await;
    let id = c["id"].as_str().unwrap();
    let mut p = purchase("o-1", id, 2000);
    p["lines"] = json!([{"sku": "a", "quantity": 2, "unit_price_minor": 1000}]);
    let bought = ok(
        app.post("/v1/purchases", &key, p).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(bought["points"]["earned"], 120);
    let pid = bought["id"].as_str().unwrap();
    let half = ok(
        app.post(
            &format!("/v1/purchases/{pid}/returns"),
            &key,
            json!({"external_id": "r-1", "lines": [{"sku": "a", "quantity": 1}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(half["points_reversed"], 10);
    let rest = ok(
        app.post(
            &format!("/v1/purchases/{pid}/returns"),
            &key,
            json!({"external_id": "r-2", "lines": [{"sku": "a", "quantity": 1}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(rest["points_reversed"], 110);
    assert_eq!(rest["balance"]["pending"], 0);
}

#[tokio::test]
async fn events_earn_bonuses_within_their_limits() {
    let (app, marketer, key) = setup().await;
    let r = rule(&app, &marketer, json!({"name": "Reviews", "kind": "event_bonus", "event_name": "review_written", "points": 20, "limit": 1, "limit_period": "day"})).await;
    let c = app.customer(&key, json!({"email": "a@example.com"})).await;
    let id = c["id"].as_str().unwrap();
    let reader = app.api_key(&["points:read"]).await;
    let first = ok(
        event(&app, &key, id, "e1", "2026-11-22T09:00:00Z").await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (first["points_awarded"].as_i64(), first["rule_id"].clone()),
        (Some(20), r["id"].clone())
    );
    assert_eq!(first["balance"]["available"], 20);
    let replay = event(&app, &key, id, "e1", "2026-11-22T09:00:00Z").await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let second = ok(
        event(&app, &key, id, "e2", "2026-11-22T10:00:00Z").await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (
            second["points_awarded"].as_i64(),
            second["rule_id"].is_null()
        ),
        (Some(0), true)
    );
    let resp = app
        .request(
            Method::DELETE,
            &format!("/v1/earning-rules/{}", r["id"].as_str().unwrap()),
            Some(&marketer),
            None,
        )
        .await;
    problem(resp, StatusCode::CONFLICT, "rule_in_use").await;
    app.clock.advance(chrono::Duration::days(1));
    let third = ok(
        event(&app, &key, id, "e3", "2026-11-23T08:00:00Z").await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(third["points_awarded"], 20);
    assert_eq!(third["balance"]["available"], 40);
    let resp = app
        .post(
            &format!("/v1/customers/{id}/events"),
            &key,
            json!({"name": "review_written", "occurred_at": "2026-11-22T09:00:00Z"}),
        )
        .await;
    problem(resp, StatusCode::BAD_REQUEST, "idempotency_key_required").await;
    problem(
        event(&app, &key, "nobody", "e4", "2026-11-22T09:00:00Z").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        event(&app, &key, id, "e5", "2027-11-22T09:00:00Z").await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    problem(
        event(&app, &reader, id, "e6", "2026-11-22T09:00:00Z").await,
        StatusCode::FORBIDDEN,
        "missing_scope",
    )
    .await;
}
