//! Expiry and the lots behind it: a return never takes back points that already expired, and a
//! cancelled code gives its points back to the lots they came from, with their expiry.

use patron::clock::Clock as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok};
use crate::program::set_program;
use crate::purchases::purchase;

const SCOPES: &[&str] = &[
    "customers:write",
    "purchases:write",
    "points:read",
    "points:write",
    "rewards:redeem",
    "codes:use",
];

async fn setup() -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    set_program(&app, json!({"pending_days": 0, "expiry_months": 1})).await;
    let key = app.api_key(SCOPES).await;
    let id = app.customer_id(&key, "a@example.com").await;
    (app, key, id)
}

/// A purchase at the clock's current time.
async fn buy(app: &TestApp, key: &str, id: &str, external_id: &str, total: i64) -> String {
    let mut p = purchase(external_id, id, total);
    p["occurred_at"] = json!(app.clock.now().to_rfc3339());
    ok(app.post("/v1/purchases", key, p).await, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn balance(app: &TestApp, key: &str, id: &str) -> Value {
    ok(
        app.get(&format!("/v1/customers/{id}/points"), key).await,
        StatusCode::OK,
    )
    .await
}

async fn expire(app: &TestApp) -> u64 {
    let (pool, clock): (patron::db::Pool, patron::clock::SharedClock) =
        (app.pool.clone(), app.clock.clone());
    tokio::task::spawn_blocking(move || patron::points::jobs::expire_points(&pool, &clock))
        .await
        .unwrap()
        .unwrap()
        .items
}

#[tokio::test]
async fn a_return_after_its_points_expired_takes_back_only_what_had_not_expired() {
    let (app, key, id) = setup().await;
    let first = buy(&app, &key, &id, "o-1", 10_000).await;
    // 30 of the first purchase's 100 points are spent before they expire.
    ok(
        app.client
            .post(app.url(&format!("/v1/customers/{id}/points/adjustments")))
            .bearer_auth(&key)
            .header("Idempotency-Key", "spend")
            .json(&json!({"points": -30, "reason": "spent"}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    app.clock.advance(chrono::Duration::days(20));
    buy(&app, &key, &id, "o-2", 10_000).await;
    app.clock.advance(chrono::Duration::days(15));
    assert_eq!(expire(&app).await, 1, "the first purchase's lot expires");
    let b = balance(&app, &key, &id).await;
    assert_eq!(
        (b["available"].as_i64(), b["expired"].as_i64()),
        (Some(100), Some(70))
    );
    // Returning all of it reverses 100 points: 70 had expired already, only the 30 spent
    // ones are taken from the second purchase's points.
    let ret = ok(
        app.post(
            &format!("/v1/purchases/{first}/returns"),
            &key,
            json!({"external_id": "r-1", "amount_minor": 10_000}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(ret["points_reversed"], 100);
    assert_eq!(ret["balance"]["available"], 70);
    let history = ok(
        app.get(&format!("/v1/customers/{id}/points/history?limit=1"), &key)
            .await,
        StatusCode::OK,
    )
    .await;
    let entry = &history["data"][0];
    assert_eq!(
        (entry["kind"].as_str(), entry["points"].as_i64()),
        (Some("reverse"), Some(-30))
    );
    assert_eq!(entry["note"], "70 points had already expired");
}

async fn reward(app: &TestApp) -> String {
    let marketer = app.staff_token("marketer").await;
    app.reward_id(
        &marketer,
        json!({"name": "Mug", "kind": "gift", "cost_points": 60, "code_validity_days": 90}),
    )
    .await
}

async fn cancel(app: &TestApp, key: &str, code: &str) -> Value {
    ok(
        app.client
            .post(app.url(&format!("/v1/codes/{code}/cancel")))
            .bearer_auth(key)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await
}

#[tokio::test]
async fn a_cancelled_code_gives_its_points_back_with_the_expiry_they_had() {
    let (app, key, id) = setup().await;
    let reward = reward(&app).await;
    buy(&app, &key, &id, "o-1", 10_000).await;
    let expires = balance(&app, &key, &id).await["next_expiry"]["at"].clone();
    let code = app.redeem(&key, &id, &reward, "redeem").await;
    assert_eq!(balance(&app, &key, &id).await["next_expiry"]["points"], 40);
    app.clock.advance(chrono::Duration::days(10));
    let cancelled = cancel(&app, &key, &code).await;
    assert_eq!(cancelled["balance"]["available"], 100);
    assert_eq!(
        cancelled["balance"]["next_expiry"],
        json!({"points": 100, "at": expires}),
        "the 60 points expire with the lot they came from, not ten days later"
    );
}

#[tokio::test]
async fn points_refunded_from_a_lot_that_expired_meanwhile_expire_again() {
    let (app, key, id) = setup().await;
    let reward = reward(&app).await;
    buy(&app, &key, &id, "o-1", 10_000).await;
    let code = app.redeem(&key, &id, &reward, "redeem").await;
    app.clock.advance(chrono::Duration::days(35));
    assert_eq!(expire(&app).await, 1);
    assert_eq!(balance(&app, &key, &id).await["available"], 0);
    let cancelled = cancel(&app, &key, &code).await;
    assert_eq!(cancelled["balance"]["available"], 60);
    assert_eq!(cancelled["balance"]["next_expiry"]["points"], 60);
    assert_eq!(
        expire(&app).await,
        1,
        "the refunded points were already due"
    );
    let b = balance(&app, &key, &id).await;
    assert_eq!(
        (b["available"].as_i64(), b["expired"].as_i64()),
        (Some(0), Some(100))
    );
}

/// A redemption takes points from the lots that expire soonest, also past the lots one read
/// brings (32), and reports the expiry that is next once they are spent.
#[tokio::test]
async fn a_redemption_spends_the_soonest_lots_past_one_page_and_tells_the_next_expiry() {
    let (app, key, exact) = setup().await;
    let past = app.customer_id(&key, "past@example.com").await;
    // Witnesses: lots bought at the same instants as the 33rd and 34th onwards, so their
    // soonest expiry is the one the spenders are left with.
    let from_33 = app.customer_id(&key, "from33@example.com").await;
    let from_34 = app.customer_id(&key, "from34@example.com").await;
    for k in 1..=40 {
        buy(&app, &key, &exact, &format!("e-{k}"), 1_000).await;
        buy(&app, &key, &past, &format!("p-{k}"), 1_000).await;
        if k >= 33 {
            buy(&app, &key, &from_33, &format!("w33-{k}"), 1_000).await;
        }
        if k >= 34 {
            buy(&app, &key, &from_34, &format!("w34-{k}"), 1_000).await;
        }
        app.clock.advance(chrono::Duration::hours(1));
    }
    let marketer = app.staff_token("marketer").await;
    let page = app
        .reward_id(
            &marketer,
            json!({"name": "Lamp", "kind": "gift", "cost_points": 320}),
        )
        .await;
    let more = app
        .reward_id(
            &marketer,
            json!({"name": "Chair", "kind": "gift", "cost_points": 330}),
        )
        .await;
    let expected_33 = balance(&app, &key, &from_33).await["next_expiry"].clone();
    let expected_34 = balance(&app, &key, &from_34).await["next_expiry"].clone();
    assert_eq!(expected_33["points"], 10);

    // 320 points are exactly the 32 soonest lots of 10: the lots after them were not read.
    let redeemed = app.redeem_answer(&key, &exact, &page, "exact").await;
    assert_eq!(redeemed["balance"]["available"], 80);
    assert_eq!(redeemed["balance"]["next_expiry"], expected_33);
    assert_eq!(
        balance(&app, &key, &exact).await["next_expiry"],
        expected_33
    );

    // 330 points take a lot from the second page.
    let redeemed = app.redeem_answer(&key, &past, &more, "past").await;
    assert_eq!(redeemed["balance"]["available"], 70);
    assert_eq!(redeemed["balance"]["next_expiry"], expected_34);
    assert_eq!(balance(&app, &key, &past).await["next_expiry"], expected_34);

    // What the lots hold is what the balances say: everything left expires.
    app.clock.advance(chrono::Duration::days(40));
    while expire(&app).await > 0 {}
    for (id, expired) in [(&exact, 80), (&past, 70), (&from_33, 80), (&from_34, 70)] {
        let b = balance(&app, &key, id).await;
        assert_eq!(
            (b["available"].as_i64(), b["expired"].as_i64()),
            (Some(0), Some(expired))
        );
    }
}
