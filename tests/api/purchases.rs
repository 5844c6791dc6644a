//! Recording purchases: earning, natural-key idempotency under concurrency, and bad input.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::program::set_program;

pub async fn till(app: &TestApp) -> String {
    app.api_key(&[
        "customers:read",
        "customers:write",
        "purchases:write",
        "points:read",
        "tokens:issue",
    ])
    .await
}

pub fn purchase(external_id: &str, customer_id: &str, total_minor: i64) -> Value {
    json!({"external_id": external_id, "customer_id": customer_id, "channel": "store",
           "occurred_at": "2026-11-22T11:00:00Z", "currency": "USD", "total_minor": total_minor})
}

async fn setup() -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    let key = till(&app).await;
    let customer = app
        .customer(&key, json!({"email": "buyer@example.com"}))
        .await;
    let id = customer["id"].as_str().unwrap().to_owned();
    (app, key, id)
}

#[tokio::test]
async fn a_purchase_earns_one_point_per_unit_pending_for_the_return_window() {
    let (app, key, id) = setup().await;
    let body = ok(
        app.post("/v1/purchases", &key, purchase("o-1", &id, 12_345))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["points"]["earned"], 123);
    assert_eq!(body["points"]["status"], "pending");
    assert_eq!(body["points"]["available_at"], "2026-12-06T11:00:00Z");
    assert_eq!(body["points"]["expires_at"], "2027-12-06T11:00:00Z");
    assert_eq!(
        body["points"]["breakdown"],
        json!([{"rule": "base", "points": 123}])
    );
    assert_eq!(body["balance"]["available"], 0);
    assert_eq!(body["balance"]["pending"], 123);
    assert_eq!(body["balance"]["lifetime_earned"], 123);
    assert_eq!(body["customer_id"], id.as_str());
}

#[tokio::test]
async fn lines_earn_separately_and_must_sum_to_the_total() {
    let (app, key, id) = setup().await;
    let mut p = purchase("o-1", &id, 300);
    p["lines"] = json!([
        {"sku": "cup", "category": "coffee", "quantity": 1, "unit_price_minor": 150},
        {"sku": "bun", "quantity": 1, "unit_price_minor": 150}
    ]);
    let body = ok(
        app.post("/v1/purchases", &key, p.clone()).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["points"]["earned"], 2);
    assert_eq!(body["lines"][0]["points"], 1);
    assert_eq!(body["lines"][1]["points"], 1);
    p["external_id"] = json!("o-2");
    p["total_minor"] = json!(301);
    let body = problem(
        app.post("/v1/purchases", &key, p).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "lines");
}

#[tokio::test]
async fn a_retry_replays_the_purchase_and_a_changed_body_is_a_conflict() {
    let (app, key, id) = setup().await;
    let first = ok(
        app.post("/v1/purchases", &key, purchase("o-1", &id, 1000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let resp = app
        .post("/v1/purchases", &key, purchase("o-1", &id, 1000))
        .await;
    assert_eq!(resp.headers()["idempotent-replayed"], "true");
    let again = ok(resp, StatusCode::OK).await;
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["points"], first["points"]);
    assert_eq!(again["balance"]["pending"], 10);
    let resp = app
        .post("/v1/purchases", &key, purchase("o-1", &id, 2000))
        .await;
    problem(resp, StatusCode::CONFLICT, "purchase_conflict").await;
    let balance = ok(
        app.get(&format!("/v1/customers/{id}/points"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(balance["pending"], 10);
}

#[tokio::test]
async fn an_itemised_purchase_sent_again_or_twice_at_once_is_recorded_once() {
    let (app, key, id) = setup().await;
    let itemised = |total: i64| {
        let mut body = purchase("o-lines", &id, total);
        body["lines"] = json!([
            {"sku": "BEANS", "category": "coffee", "quantity": 2, "unit_price_minor": total / 4},
            {"sku": "MUG", "quantity": 1, "unit_price_minor": total / 2},
        ]);
        body
    };
    // Two copies at once, then a retry: one purchase, the others replay it.
    let (a, b) = tokio::join!(
        app.post("/v1/purchases", &key, itemised(2000)),
        app.post("/v1/purchases", &key, itemised(2000))
    );
    let mut statuses = vec![a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, vec![StatusCode::OK, StatusCode::CREATED]);
    let first: Value = a.json().await.unwrap();
    let retry = ok(
        app.post("/v1/purchases", &key, itemised(2000)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(retry["id"], first["id"]);
    assert_eq!(retry["lines"].as_array().map(Vec::len), Some(2));
    // The same external_id with other lines is a conflict, not an error.
    let resp = app.post("/v1/purchases", &key, itemised(4000)).await;
    problem(resp, StatusCode::CONFLICT, "purchase_conflict").await;
    let balance = ok(
        app.get(&format!("/v1/customers/{id}/points"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(balance["pending"], 20);
}

#[tokio::test]
async fn fifty_concurrent_copies_of_one_purchase_record_it_once() {
    let (app, key, id) = setup().await;
    let body = purchase("o-race", &id, 5000);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let client = app.client.clone();
        let url = app.url("/v1/purchases");
        let key = key.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }));
    }
    let mut created = 0;
    let mut replayed = 0;
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let resp = t.await.unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => replayed += 1,
            other => panic!("unexpected {other}: {body}"),
        }
        ids.insert(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!((created, replayed, ids.len()), (1, 49, 1));
    let balance = ok(
        app.get(&format!("/v1/customers/{id}/points"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(balance["pending"], 50);
    let history = ok(
        app.get(&format!("/v1/customers/{id}/points/history"), &key)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(history["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn amounts_that_are_zero_negative_fractional_strings_or_too_big_are_refused() {
    let (app, key, id) = setup().await;
    for (total, code) in [
        (json!(0), "validation_failed"),
        (json!(-100), "validation_failed"),
        (json!(12.5), "invalid_body"),
        (json!("100"), "invalid_body"),
        (json!(9_223_372_036_854_775_808u64), "invalid_body"),
        (json!(9_223_372_036_854_775_807i64), "validation_failed"),
    ] {
        let mut p = purchase("o-bad", &id, 1);
        p["total_minor"] = total.clone();
        problem(
            app.post("/v1/purchases", &key, p).await,
            StatusCode::BAD_REQUEST,
            code,
        )
        .await;
    }
    let mut p = purchase("o-bad", &id, 100);
    p["lines"] = json!([{"sku": "a", "quantity": 0, "unit_price_minor": 100}]);
    let body = problem(
        app.post("/v1/purchases", &key, p).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "lines[0].quantity");
    let mut p = purchase("o-bad", &id, 501);
    p["lines"] = json!(vec![
        json!({"sku": "a", "quantity": 1, "unit_price_minor": 1});
        501
    ]);
    let body = problem(
        app.post("/v1/purchases", &key, p).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "lines");
}

#[tokio::test]
async fn unknown_customers_currencies_and_future_dates_are_refused() {
    let (app, key, id) = setup().await;
    let resp = app
        .post("/v1/purchases", &key, purchase("o-1", "nobody", 100))
        .await;
    problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "unknown_customer").await;
    let mut p = purchase("o-1", &id, 100);
    p["currency"] = json!("EUR");
    problem(
        app.post("/v1/purchases", &key, p).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "currency_mismatch",
    )
    .await;
    let mut p = purchase("o-1", &id, 100);
    p["currency"] = json!("dollars");
    problem(
        app.post("/v1/purchases", &key, p).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let mut p = purchase("o-1", &id, 100);
    p["occurred_at"] = json!("2026-11-23T12:00:00Z");
    problem(
        app.post("/v1/purchases", &key, p).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let mut p = purchase("o-1", &id, 100);
    p["customer_external_id"] = json!("x");
    problem(
        app.post("/v1/purchases", &key, p).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let mut p = purchase("o-1", &id, 100);
    p["points"] = json!(1000);
    problem(
        app.post("/v1/purchases", &key, p).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    // None of these recorded anything.
    let balance = ok(
        app.get(&format!("/v1/customers/{id}/points"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(balance["pending"], 0);
}

#[tokio::test]
async fn a_purchase_can_name_the_customer_by_external_id() {
    let app = TestApp::spawn().await;
    let key = till(&app).await;
    let c = app.customer(&key, json!({"external_id": "pos-9"})).await;
    let mut p = purchase("o-1", "", 1000);
    p.as_object_mut().unwrap().remove("customer_id");
    p["customer_external_id"] = json!("pos-9");
    let body = ok(
        app.post("/v1/purchases", &key, p).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["customer_id"], c["id"]);
}

#[tokio::test]
async fn a_store_bound_key_records_its_own_store_only() {
    let (app, _, id) = setup().await;
    let admin = app.admin_token().await;
    let created = ok(
        app.post(
            "/v1/api-keys",
            &admin,
            json!({"name": "till", "scopes": ["purchases:write"], "store_id": "s1"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let key = created["key"].as_str().unwrap();
    let body = ok(
        app.post("/v1/purchases", key, purchase("o-1", &id, 100))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["store_id"], "s1");
    let mut p = purchase("o-2", &id, 100);
    p["store_id"] = json!("s2");
    problem(
        app.post("/v1/purchases", key, p).await,
        StatusCode::FORBIDDEN,
        "store_mismatch",
    )
    .await;
}

#[tokio::test]
async fn recording_needs_the_purchases_write_scope() {
    let (app, _, id) = setup().await;
    let key = app.api_key(&["customers:read"]).await;
    problem(
        app.post("/v1/purchases", &key, purchase("o-1", &id, 100))
            .await,
        StatusCode::FORBIDDEN,
        "missing_scope",
    )
    .await;
    let analyst = app.staff_token("analyst").await;
    problem(
        app.post("/v1/purchases", &analyst, purchase("o-1", &id, 100))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn preview_computes_points_without_recording() {
    let (app, key, id) = setup().await;
    let body = ok(
        app.post("/v1/purchases/preview", &key, purchase("o-1", &id, 999))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["points"]["earned"], 9);
    assert_eq!(body["points"]["status"], "pending");
    let list = ok(
        app.get(&format!("/v1/customers/{id}/purchases"), &key)
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(list["data"].as_array().unwrap().is_empty());
    ok(
        app.post("/v1/purchases", &key, purchase("o-1", &id, 999))
            .await,
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test]
async fn with_no_return_window_points_are_available_at_once_and_expire_at_month_end() {
    let (app, key, id) = setup().await;
    set_program(&app, json!({"pending_days": 0, "expiry_months": 1})).await;
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2028-02-01T00:00:00Z")
            .unwrap()
            .into(),
    );
    let mut p = purchase("o-1", &id, 500);
    p["occurred_at"] = json!("2028-01-31T10:00:00Z");
    let body = ok(
        app.post("/v1/purchases", &key, p).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["points"]["status"], "available");
    assert_eq!(body["points"]["expires_at"], "2028-02-29T10:00:00Z");
    assert_eq!(body["balance"]["available"], 5);
    assert_eq!(
        body["balance"]["next_expiry"],
        json!({"points": 5, "at": "2028-02-29T10:00:00Z"})
    );
    // A non-leap year, recorded when it happened (purchases older than 30 days are refused).
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2027-02-01T00:00:00Z")
            .unwrap()
            .into(),
    );
    let mut p = purchase("o-2", &id, 500);
    p["occurred_at"] = json!("2027-01-31T10:00:00Z");
    let body = ok(
        app.post("/v1/purchases", &key, p).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["points"]["expires_at"], "2027-02-28T10:00:00Z");
    assert_eq!(
        body["balance"]["next_expiry"],
        json!({"points": 5, "at": "2027-02-28T10:00:00Z"})
    );
}

#[tokio::test]
async fn purchases_list_newest_first_for_staff_and_for_the_customer() {
    let (app, key, id) = setup().await;
    for (i, at) in [
        "2026-11-20T10:00:00Z",
        "2026-11-21T10:00:00Z",
        "2026-11-19T10:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        let mut p = purchase(&format!("o-{i}"), &id, 1000);
        p["occurred_at"] = json!(at);
        ok(
            app.post("/v1/purchases", &key, p).await,
            StatusCode::CREATED,
        )
        .await;
    }
    let page = ok(
        app.get(&format!("/v1/customers/{id}/purchases?limit=2"), &key)
            .await,
        StatusCode::OK,
    )
    .await;
    let ext: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(ext, ["o-1", "o-0"]);
    assert_eq!(page["data"][0]["points"]["status"], "pending");
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = ok(
        app.get(
            &format!("/v1/customers/{id}/purchases?limit=2&cursor={cursor}"),
            &key,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rest["data"][0]["external_id"], "o-2");
    let token = app.customer_token(&key, &id).await;
    let mine = ok(app.get("/v1/me/purchases", &token).await, StatusCode::OK).await;
    assert_eq!(mine["data"].as_array().unwrap().len(), 3);
    problem(
        app.get("/v1/customers/nobody/purchases", &key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        app.request(
            Method::GET,
            &format!("/v1/customers/{id}/purchases"),
            Some(&token),
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn an_idempotency_key_on_a_purchase_replays_and_guards_against_reuse() {
    let (app, key, id) = setup().await;
    let send = |body: Value| {
        app.client
            .post(app.url("/v1/purchases"))
            .bearer_auth(&key)
            .header("Idempotency-Key", "till-7-0042")
            .json(&body)
            .send()
    };
    let first = ok(
        send(purchase("o-1", &id, 1000)).await.unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let resp = send(purchase("o-1", &id, 1000)).await.unwrap();
    assert_eq!(resp.headers()["idempotent-replayed"], "true");
    assert_eq!(
        ok(resp, StatusCode::CREATED).await,
        first,
        "the first response, status and body"
    );
    problem(
        send(purchase("o-2", &id, 1000)).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    let balance = ok(
        app.get(&format!("/v1/customers/{id}/points"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(balance["pending"], 10);
}
