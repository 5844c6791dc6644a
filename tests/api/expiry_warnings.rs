//! Expiry warnings: one `points_expiring` message per customer and expiry date, a week ahead.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::birthday::{messages, payload};
use crate::helpers::{TestApp, ok};
use crate::program::set_program;
use crate::purchases::purchase;

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

async fn buy(app: &TestApp, key: &str, id: &str, order: &str, occurred_at: &str, minor: i64) {
    let mut body = purchase(order, id, minor);
    body["occurred_at"] = json!(occurred_at);
    ok(
        app.post("/v1/purchases", key, body).await,
        StatusCode::CREATED,
    )
    .await;
}

async fn warned(app: &TestApp) -> u64 {
    app.run_job("expiry_warnings").await.items
}

#[tokio::test]
async fn customers_are_warned_once_per_expiry_date_a_week_ahead() {
    let app = TestApp::spawn().await;
    set_program(
        &app,
        json!({"pending_days": 0, "expiry_months": 1, "expiry_warning_days": 7}),
    )
    .await;
    let key = app
        .api_key(&["customers:write", "purchases:write", "points:write"])
        .await;
    // No marketing consent: a warning is about the customer's own points and needs none.
    let id = app.customer_id(&key, "saver@example.com").await;
    // Two lots expire on 22 December (05:00 and 11:00 UTC), one on 21 December.
    buy(&app, &key, &id, "o-1", "2026-11-22T05:00:00Z", 2_000).await;
    buy(&app, &key, &id, "o-2", "2026-11-22T11:00:00Z", 1_000).await;
    buy(&app, &key, &id, "o-3", "2026-11-21T10:00:00Z", 4_000).await;
    // Spending takes the soonest-expiring points first: 35 of the 21 December lot are left.
    let resp = app
        .client
        .post(app.url(&format!("/v1/customers/{id}/points/adjustments")))
        .bearer_auth(&key)
        .header("Idempotency-Key", "spend-5")
        .json(&json!({"points": -5, "reason": "correction"}))
        .send()
        .await
        .unwrap();
    ok(resp, StatusCode::CREATED).await;
    // An erased customer with points about to expire hears nothing.
    let gone = app.customer_id(&key, "gone@example.com").await;
    buy(&app, &key, &gone, "o-4", "2026-11-21T10:00:00Z", 1_000).await;
    let admin = app.admin_token().await;
    ok(
        app.request(
            Method::DELETE,
            &format!("/v1/customers/{gone}"),
            Some(&admin),
            None,
        )
        .await,
        StatusCode::NO_CONTENT,
    )
    .await;

    app.clock.set(at("2026-12-14T09:59:00Z"));
    assert_eq!(warned(&app).await, 0);
    app.clock.set(at("2026-12-14T10:00:00Z"));
    assert_eq!(warned(&app).await, 1);
    assert_eq!(warned(&app).await, 0);
    let sent = messages(&app, &id, "points_expiring").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["status"], "pending");
    assert_eq!(sent[0]["category"], "service");
    assert_eq!(sent[0]["cause"]["type"], "lot_batch");
    assert_eq!(
        payload(&app, sent[0]["id"].as_str().unwrap()),
        json!({"points": 35, "expires_at": "2026-12-21T10:00:00Z"})
    );

    // The 22 December batch: both lots in one message, even from two instances at once.
    app.clock.set(at("2026-12-15T05:00:00Z"));
    let (a, b) = tokio::join!(
        app.run_job("expiry_warnings"),
        app.run_job("expiry_warnings")
    );
    assert_eq!(a.items + b.items, 1, "{a:?} {b:?}");
    app.clock.set(at("2026-12-15T11:00:00Z"));
    assert_eq!(warned(&app).await, 0);
    let sent = messages(&app, &id, "points_expiring").await;
    assert_eq!(sent.len(), 2);
    // Newest first.
    assert_eq!(
        payload(&app, sent[0]["id"].as_str().unwrap()),
        json!({"points": 30, "expires_at": "2026-12-22T05:00:00Z"})
    );
    assert!(messages(&app, &gone, "points_expiring").await.is_empty());
}

#[tokio::test]
async fn no_warnings_when_the_program_sets_none() {
    let app = TestApp::spawn().await;
    set_program(
        &app,
        json!({"pending_days": 0, "expiry_months": 1, "expiry_warning_days": 0}),
    )
    .await;
    let key = app.api_key(&["customers:write", "purchases:write"]).await;
    let id = app.customer_id(&key, "saver@example.com").await;
    buy(&app, &key, &id, "o-1", "2026-11-22T05:00:00Z", 2_000).await;
    app.clock.set(at("2026-12-22T04:00:00Z"));
    assert_eq!(warned(&app).await, 0);
    assert!(messages(&app, &id, "points_expiring").await.is_empty());
}
