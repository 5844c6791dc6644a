//! `occurred_at` is bounded in the past by the program (`purchase_backdate_days`,
//! `event_backdate_days`), and back-dated events cannot escape per-period limits.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::program::set_program;
use crate::purchases::purchase;

async fn setup() -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    let key = app
        .api_key(&[
            "customers:write",
            "purchases:write",
            "points:read",
            "events:write",
        ])
        .await;
    let id = app
        .customer(&key, json!({"email": "late@example.com"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (app, key, id)
}

async fn event(app: &TestApp, key: &str, id: &str, idem: &str, at: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/v1/customers/{id}/events")))
        .bearer_auth(key)
        .header("Idempotency-Key", idem)
        .json(&json!({"name": "review_written", "occurred_at": at}))
        .send()
        .await
        .unwrap()
}

fn purchase_at(external_id: &str, id: &str, at: &str) -> Value {
    let mut p = purchase(external_id, id, 1000);
    p["occurred_at"] = json!(at);
    p
}

async fn refused_on_occurred_at(resp: reqwest::Response) {
    let body = problem(resp, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "occurred_at", "{body}");
}

#[tokio::test]
async fn a_purchase_older_than_purchase_backdate_days_returns_400_on_occurred_at() {
    // The clock reads 2026-11-22T12:00:00Z; the default window is 30 days.
    let (app, key, id) = setup().await;
    refused_on_occurred_at(
        app.post(
            "/v1/purchases",
            &key,
            purchase_at("o-old", &id, "2026-10-23T11:59:59Z"),
        )
        .await,
    )
    .await;
    refused_on_occurred_at(
        app.post(
            "/v1/purchases/preview",
            &key,
            purchase_at("o-old", &id, "2026-10-23T11:59:59Z"),
        )
        .await,
    )
    .await;
    ok(
        app.post(
            "/v1/purchases",
            &key,
            purchase_at("o-late", &id, "2026-10-23T12:00:00Z"),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    set_program(&app, json!({"purchase_backdate_days": 5})).await;
    refused_on_occurred_at(
        app.post(
            "/v1/purchases",
            &key,
            purchase_at("o-6", &id, "2026-11-16T11:00:00Z"),
        )
        .await,
    )
    .await;
}

#[tokio::test]
async fn a_custom_event_older_than_event_backdate_days_returns_400_on_occurred_at() {
    let (app, key, id) = setup().await;
    refused_on_occurred_at(event(&app, &key, &id, "e-1", "2026-11-20T11:59:00Z").await).await;
    ok(
        event(&app, &key, &id, "e-2", "2026-11-20T12:00:00Z").await,
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test]
async fn back_dating_events_does_not_escape_a_daily_limit() {
    let (app, key, id) = setup().await;
    let marketer = app.staff_token("marketer").await;
    ok(
        app.post(
            "/v1/earning-rules",
            &marketer,
            json!({"name": "Reviews", "kind": "event_bonus", "event_name": "review_written",
                   "points": 10, "limit": 1, "limit_period": "day"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    // Oldest first: each back-dated event lands in an earlier day than the last award.
    let first = ok(
        event(&app, &key, &id, "e-1", "2026-11-20T13:00:00Z").await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(first["points_awarded"], 10);
    for (idem, at) in [
        ("e-2", "2026-11-21T09:00:00Z"),
        ("e-3", "2026-11-22T11:00:00Z"),
    ] {
        let body = ok(event(&app, &key, &id, idem, at).await, StatusCode::CREATED).await;
        assert_eq!(body["points_awarded"], 0, "{at}: {body}");
        assert!(body["rule_id"].is_null());
    }
    // The next day of receipt has a fresh allowance.
    app.clock.advance(Duration::days(1));
    let next = ok(
        event(&app, &key, &id, "e-4", "2026-11-22T18:00:00Z").await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(next["points_awarded"], 10);
    assert_eq!(next["balance"]["available"], 20);
}
