//! A store-bound API key reaches only its own store's purchases and codes; unbound keys and staff
//! keep their reach.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::program::set_program;
use crate::purchases::purchase;

const SCOPES: &[&str] = &[
    "customers:write",
    "purchases:write",
    "points:read",
    "rewards:redeem",
    "codes:use",
];

struct Stores {
    app: TestApp,
    /// Bound to store s1.
    one: String,
    /// Bound to store s2.
    two: String,
    /// Bound to no store.
    unbound: String,
    customer: String,
}

async fn key(app: &TestApp, store: Option<&str>) -> String {
    let admin = app.admin_token().await;
    let mut body = json!({"name": "till", "scopes": SCOPES});
    if let Some(s) = store {
        body["store_id"] = json!(s);
    }
    ok(
        app.post("/v1/api-keys", &admin, body).await,
        StatusCode::CREATED,
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn setup() -> Stores {
    let app = TestApp::spawn().await;
    set_program(&app, json!({"pending_days": 0})).await;
    let (one, two, unbound) = (
        key(&app, Some("s1")).await,
        key(&app, Some("s2")).await,
        key(&app, None).await,
    );
    let customer = app
        .customer(&unbound, json!({"email": "a@example.com"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Stores {
        app,
        one,
        two,
        unbound,
        customer,
    }
}

async fn available(s: &Stores) -> i64 {
    ok(
        s.app
            .get(&format!("/v1/customers/{}/points", s.customer), &s.unbound)
            .await,
        StatusCode::OK,
    )
    .await["available"]
        .as_i64()
        .unwrap()
}

fn ret(external_id: &str) -> Value {
    json!({"external_id": external_id, "amount_minor": 1000})
}

#[tokio::test]
async fn another_stores_key_cannot_return_a_purchase_and_learns_nothing_of_it() {
    let s = setup().await;
    let bought = ok(
        s.app
            .post(
                "/v1/purchases",
                &s.one,
                purchase("o-1", &s.customer, 10_000),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(bought["store_id"], "s1");
    let path = format!("/v1/purchases/{}/returns", bought["id"].as_str().unwrap());
    let before = available(&s).await;
    problem(
        s.app.post(&path, &s.two, ret("r-1")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(available(&s).await, before, "nothing was reversed");
    ok(
        s.app.post(&path, &s.one, ret("r-1")).await,
        StatusCode::CREATED,
    )
    .await;
    // The other store's key cannot read the recorded return by replaying its external_id either.
    problem(
        s.app.post(&path, &s.two, ret("r-1")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // An unbound key keeps its reach.
    ok(
        s.app.post(&path, &s.unbound, ret("r-2")).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(available(&s).await, before - 20);
}

#[tokio::test]
async fn a_bound_key_records_no_purchase_for_another_store_and_replays_none_of_its() {
    let s = setup().await;
    let mut other = purchase("o-1", &s.customer, 1000);
    other["store_id"] = json!("s1");
    for path in ["/v1/purchases", "/v1/purchases/preview"] {
        problem(
            s.app.post(path, &s.two, other.clone()).await,
            StatusCode::FORBIDDEN,
            "store_mismatch",
        )
        .await;
    }
    ok(
        s.app.post("/v1/purchases", &s.one, other.clone()).await,
        StatusCode::CREATED,
    )
    .await;
    // The same order number from store s2's key is not a retry of store s1's purchase.
    problem(
        s.app
            .post("/v1/purchases", &s.two, purchase("o-1", &s.customer, 1000))
            .await,
        StatusCode::CONFLICT,
        "purchase_conflict",
    )
    .await;
    // Store s1's own retry is a replay.
    ok(
        s.app.post("/v1/purchases", &s.one, other).await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn a_bound_key_lists_only_its_own_stores_purchases() {
    let s = setup().await;
    for (i, k) in [&s.one, &s.two, &s.unbound].into_iter().enumerate() {
        ok(
            s.app
                .post(
                    "/v1/purchases",
                    k,
                    purchase(&format!("o-{i}"), &s.customer, 1000),
                )
                .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let path = format!("/v1/customers/{}/purchases", s.customer);
    let stores = |v: Value| -> Vec<Value> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["store_id"].clone())
            .collect()
    };
    assert_eq!(
        stores(ok(s.app.get(&path, &s.two).await, StatusCode::OK).await),
        [json!("s2")]
    );
    assert_eq!(
        stores(ok(s.app.get(&path, &s.unbound).await, StatusCode::OK).await).len(),
        3
    );
}

/// Gives the customer 1,000 points and creates a reward costing 100; returns the reward's id.
async fn funded_with_reward(s: &Stores) -> String {
    let bought = s
        .app
        .post(
            "/v1/purchases",
            &s.unbound,
            purchase("o-1", &s.customer, 100_000),
        )
        .await;
    ok(bought, StatusCode::CREATED).await;
    let marketer = s.app.staff_token("marketer").await;
    s.app
        .reward_id(
            &marketer,
            json!({"name": "Mug", "kind": "gift", "cost_points": 100}),
        )
        .await
}

async fn cancel(s: &Stores, key: &str, code: &str) -> reqwest::Response {
    s.app
        .client
        .post(s.app.url(&format!("/v1/codes/{code}/cancel")))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_bound_key_cancels_only_codes_redeemed_through_its_store() {
    let s = setup().await;
    let reward = funded_with_reward(&s).await;
    let at_one = s.app.redeem(&s.one, &s.customer, &reward, "c-1").await;
    let unbound = s.app.redeem(&s.unbound, &s.customer, &reward, "c-2").await;
    let validated = ok(
        s.app.get(&format!("/v1/codes/{at_one}"), &s.one).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(validated["redeemed_store_id"], "s1");
    let before = available(&s).await;
    problem(
        cancel(&s, &s.two, &at_one).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        cancel(&s, &s.two, &unbound).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(available(&s).await, before, "no points came back");
    ok(cancel(&s, &s.one, &at_one).await, StatusCode::OK).await;
    ok(cancel(&s, &s.unbound, &unbound).await, StatusCode::OK).await;
    assert_eq!(available(&s).await, before + 200);
    // Staff keep their reach.
    let third = s.app.redeem(&s.one, &s.customer, &reward, "c-3").await;
    let support = s.app.staff_token("support").await;
    ok(cancel(&s, &support, &third).await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_bound_key_uses_codes_only_for_its_own_store() {
    let s = setup().await;
    let reward = funded_with_reward(&s).await;
    let code = s.app.redeem(&s.unbound, &s.customer, &reward, "c-1").await;
    let use_at = |store: &'static str| {
        s.app
            .client
            .post(s.app.url(&format!("/v1/codes/{code}/use")))
            .bearer_auth(&s.two)
            .header("Idempotency-Key", format!("use-{store}"))
            .json(&json!({"store_id": store}))
            .send()
    };
    problem(
        use_at("s1").await.unwrap(),
        StatusCode::FORBIDDEN,
        "store_mismatch",
    )
    .await;
    let used = ok(use_at("s2").await.unwrap(), StatusCode::OK).await;
    assert_eq!(used["used_store_id"], "s2");
}
