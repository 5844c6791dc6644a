//! Tiers: immediate upgrades, multipliers, downgrades only at the review after the grace period.

use patron::clock::SharedClock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::purchases::purchase;

const SCOPES: &[&str] = &[
    "customers:write",
    "purchases:write",
    "points:read",
    "points:write",
    "rewards:redeem",
    "tokens:issue",
];

async fn setup() -> (TestApp, String, String, String, String) {
    let app = TestApp::spawn().await;
    let marketer = app.staff_token("marketer").await;
    let silver = ok(
        app.post(
            "/v1/tiers",
            &marketer,
            json!({"name": "Silver", "threshold": 500}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let gold = ok(
        app.post("/v1/tiers", &marketer, json!({"name": {"en": "Gold", "fa": "طلایی"}, "threshold": 1000, "multiplier_percent": 150, "benefits": ["Free delivery"]})).await,
        StatusCode::CREATED,
    )
    .await;
    let key = app.api_key(SCOPES).await;
    (
        app,
        marketer,
        key,
        silver["id"].as_str().unwrap().to_owned(),
        gold["id"].as_str().unwrap().to_owned(),
    )
}

async fn customer(app: &TestApp, key: &str) -> String {
    app.customer(key, json!({"email": "a@example.com"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn tier_of(app: &TestApp, key: &str, id: &str) -> Value {
    ok(
        app.get(&format!("/v1/customers/{id}/points"), key).await,
        StatusCode::OK,
    )
    .await["tier"]
        .clone()
}

fn review(app: &TestApp) -> tokio::task::JoinHandle<patron::points::jobs::JobReport> {
    let (pool, clock): (patron::db::Pool, SharedClock) = (app.pool.clone(), app.clock.clone());
    tokio::task::spawn_blocking(move || patron::tiers::service::review(&pool, &clock).unwrap())
}

#[tokio::test]
async fn marketers_define_tiers_with_unique_thresholds() {
    let (app, marketer, key, silver, _) = setup().await;
    let list = ok(app.get("/v1/tiers", &marketer).await, StatusCode::OK).await;
    let names: Vec<Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(
        names,
        [json!("Silver"), json!({"en": "Gold", "fa": "طلایی"})]
    );
    problem(
        app.post(
            "/v1/tiers",
            &marketer,
            json!({"name": "Dup", "threshold": 500}),
        )
        .await,
        StatusCode::CONFLICT,
        "tier_threshold_taken",
    )
    .await;
    let body = problem(
        app.post(
            "/v1/tiers",
            &marketer,
            json!({"name": "", "threshold": -1, "multiplier_percent": 50}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 3);
    let analyst = app.staff_token("analyst").await;
    problem(
        app.post("/v1/tiers", &analyst, json!({"name": "X", "threshold": 5}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    problem(
        app.get("/v1/tiers", &key).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let patched = ok(
        app.patch(
            &format!("/v1/tiers/{silver}"),
            &marketer,
            json!({"threshold": 400}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["threshold"], 400);
    let resp = app
        .request(
            Method::DELETE,
            &format!("/v1/tiers/{silver}"),
            Some(&marketer),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    problem(
        app.request(
            Method::DELETE,
            &format!("/v1/tiers/{silver}"),
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
async fn earning_upgrades_at_once_and_gold_earns_half_as_much_again() {
    let (app, marketer, key, _, gold) = setup().await;
    crate::program::set_program(&app, json!({"pending_days": 0})).await;
    let id = customer(&app, &key).await;
    let first = ok(
        app.post("/v1/purchases", &key, purchase("o-1", &id, 60_000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(first["tier"]["current"]["name"], "Silver");
    assert_eq!(first["tier"]["qualifying_points"], 600);
    assert_eq!(first["tier"]["next_tier"]["id"], gold.as_str());
    assert_eq!(first["tier"]["points_to_next_tier"], 400);
    let second = ok(
        app.post("/v1/purchases", &key, purchase("o-2", &id, 40_000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(second["points"]["earned"], 400, "Silver has no multiplier");
    assert_eq!(second["tier"]["current"]["id"], gold.as_str());
    let mut coffee = purchase("o-3", &id, 1000);
    coffee["lines"] = json!([{"sku": "coffee", "quantity": 1, "unit_price_minor": 1000}]);
    let third = ok(
        app.post("/v1/purchases", &key, coffee).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(third["points"]["earned"], 15);
    assert_eq!(
        third["points"]["breakdown"],
        json!([{"rule": "base", "points": 10}, {"rule": "tier:Gold", "points": 5}])
    );
    // Spending never lowers a tier.
    let resp = app
        .client
        .post(app.url(&format!("/v1/customers/{id}/points/adjustments")))
        .bearer_auth(&key)
        .header("Idempotency-Key", "spend")
        .json(&json!({"points": -1000, "reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(
        tier_of(&app, &key, &id).await["current"]["id"],
        gold.as_str()
    );
    problem(
        app.request(
            Method::DELETE,
            &format!("/v1/tiers/{gold}"),
            Some(&marketer),
            None,
        )
        .await,
        StatusCode::CONFLICT,
        "tier_in_use",
    )
    .await;
}

#[tokio::test]
async fn a_tier_is_kept_through_the_grace_period_and_lowered_by_the_review() {
    let (app, _, key, silver, gold) = setup().await;
    let id = customer(&app, &key).await;
    let bought = ok(
        app.post("/v1/purchases", &key, purchase("o-1", &id, 100_000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(bought["tier"]["current"]["id"], gold.as_str());
    // A return takes the qualifying points below Gold, but does not downgrade at once.
    let pid = bought["id"].as_str().unwrap();
    ok(
        app.post(
            &format!("/v1/purchases/{pid}/returns"),
            &key,
            json!({"external_id": "r-1", "amount_minor": 40_000}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let t = tier_of(&app, &key, &id).await;
    assert_eq!(
        (t["current"]["id"].as_str(), t["qualifying_points"].as_i64()),
        (Some(gold.as_str()), Some(600))
    );
    assert_eq!(t["points_to_retain"], 400);
    assert_eq!(t["review_at"], "2026-12-22T12:00:00Z");
    app.clock.advance(chrono::Duration::days(29));
    assert_eq!(
        review(&app).await.unwrap().items,
        0,
        "still in the grace period"
    );
    app.clock.advance(chrono::Duration::days(2));
    assert_eq!(review(&app).await.unwrap().items, 1);
    assert_eq!(
        review(&app).await.unwrap().items,
        0,
        "a second review changes nothing"
    );
    let t = tier_of(&app, &key, &id).await;
    assert_eq!(t["current"]["id"], silver.as_str());
    assert!(t["review_at"].is_null());
}

#[tokio::test]
async fn points_leave_the_window_and_the_review_then_drops_the_tier() {
    let (app, _, key, _, _) = setup().await;
    let id = customer(&app, &key).await;
    ok(
        app.post("/v1/purchases", &key, purchase("o-1", &id, 60_000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    app.clock.advance(chrono::Duration::days(400));
    let t = tier_of(&app, &key, &id).await;
    assert_eq!(
        (
            t["current"]["name"].as_str(),
            t["qualifying_points"].as_i64()
        ),
        (Some("Silver"), Some(0))
    );
    assert_eq!(
        review(&app).await.unwrap().items,
        0,
        "the first review starts the grace period"
    );
    app.clock.advance(chrono::Duration::days(30));
    assert_eq!(review(&app).await.unwrap().items, 1);
    assert!(tier_of(&app, &key, &id).await["current"].is_null());
}

#[tokio::test]
async fn rewards_can_require_a_tier() {
    let (app, marketer, key, silver, gold) = setup().await;
    let id = customer(&app, &key).await;
    ok(
        app.post("/v1/purchases", &key, purchase("o-1", &id, 60_000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let resp = app
        .post(
            "/v1/rewards",
            &marketer,
            json!({"name": "Lounge", "kind": "gift", "cost_points": 10, "min_tier_id": "nope"}),
        )
        .await;
    problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "unknown_tier").await;
    let gold_only = ok(
        app.post(
            "/v1/rewards",
            &marketer,
            json!({"name": "Lounge", "kind": "gift", "cost_points": 10, "min_tier_id": gold}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let silver_ok = ok(
        app.post(
            "/v1/rewards",
            &marketer,
            json!({"name": "Mug", "kind": "gift", "cost_points": 10, "min_tier_id": silver}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    app.clock.advance(chrono::Duration::days(15));
    let (pool, clock): (patron::db::Pool, SharedClock) = (app.pool.clone(), app.clock.clone());
    tokio::task::spawn_blocking(move || {
        patron::points::jobs::release_pending(&pool, &clock).unwrap()
    })
    .await
    .unwrap();
    let token = app.customer_token(&key, &id).await;
    let catalogue = ok(app.get("/v1/me/rewards", &token).await, StatusCode::OK).await;
    let locked = |rid: &Value| {
        catalogue
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == *rid)
            .unwrap()["locked_by_tier"]
            .clone()
    };
    assert_eq!(locked(&gold_only["id"]), true);
    assert_eq!(locked(&silver_ok["id"]), false);
    let redeem = |reward: &Value, k: &str| {
        app.client
            .post(app.url(&format!("/v1/customers/{id}/redemptions")))
            .bearer_auth(&key)
            .header("Idempotency-Key", k)
            .json(&json!({"reward_id": reward["id"]}))
            .send()
    };
    problem(
        redeem(&gold_only, "a").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "tier_required",
    )
    .await;
    ok(redeem(&silver_ok, "b").await.unwrap(), StatusCode::CREATED).await;
}

#[tokio::test]
async fn each_upgrade_enqueues_one_tier_changed_message_with_its_cause() {
    let (app, _marketer, key, silver, gold) = setup().await;
    crate::program::set_program(&app, json!({"pending_days": 0})).await;
    let id = customer(&app, &key).await;
    let staff = app.staff_token("support").await;
    assert_eq!(tier_messages(&app, &staff, &id).await, json!([]));
    ok(
        app.post("/v1/purchases", &key, purchase("o-1", &id, 60_000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    // A purchase that keeps the tier sends nothing new.
    ok(
        app.post("/v1/purchases", &key, purchase("o-2", &id, 1_000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let after_silver = tier_messages(&app, &staff, &id).await;
    assert_eq!(after_silver.as_array().unwrap().len(), 1, "{after_silver}");
    assert_eq!(after_silver[0]["status"], "pending");
    assert_eq!(after_silver[0]["category"], "marketing");
    assert_eq!(after_silver[0]["cause"]["type"], "tier_change");
    ok(
        app.post("/v1/purchases", &key, purchase("o-3", &id, 40_000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let after_gold = tier_messages(&app, &staff, &id).await;
    assert_eq!(after_gold.as_array().unwrap().len(), 2, "{after_gold}");
    assert_ne!(after_gold[0]["cause"]["id"], after_gold[1]["cause"]["id"]);
    // The tier changes the messages point at are the customer's upgrades to Silver and Gold.
    let timeline = ok(
        app.get(
            &format!("/v1/customers/{id}/timeline?type=tier_change"),
            &staff,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let changes: Vec<&str> = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ref"]["id"].as_str().unwrap())
        .collect();
    for m in after_gold.as_array().unwrap() {
        assert!(
            changes.contains(&m["cause"]["id"].as_str().unwrap()),
            "{m} {timeline}"
        );
    }
    let _ = (silver, gold);
    // Bad filters are refused with the field named.
    problem(
        app.get("/v1/messages?kind=postcard", &staff).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    problem(
        app.get("/v1/messages?status=lost", &staff).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
}

async fn tier_messages(app: &TestApp, staff: &str, id: &str) -> Value {
    let path = format!("/v1/messages?customer_id={id}&kind=tier_changed");
    ok(app.get(&path, staff).await, StatusCode::OK).await["data"].clone()
}
