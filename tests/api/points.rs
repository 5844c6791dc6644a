//! The ledger: balances equal the sum of history, the release job, immutability.

use diesel::connection::SimpleConnection;
use patron::clock::SharedClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::purchases::{purchase, till};

async fn history(app: &TestApp, key: &str, id: &str) -> Vec<Value> {
    let body = ok(
        app.get(&format!("/v1/customers/{id}/points/history?limit=200"), key)
            .await,
        StatusCode::OK,
    )
    .await;
    body["data"].as_array().unwrap().clone()
}

fn sums(entries: &[Value]) -> (i64, i64) {
    entries.iter().fold((0, 0), |(a, p), e| {
        (
            a + e["points"].as_i64().unwrap(),
            p + e["pending"].as_i64().unwrap(),
        )
    })
}

#[tokio::test]
async fn the_release_job_makes_pending_points_available_once() {
    let app = TestApp::spawn().await;
    let key = till(&app).await;
    let c = app.customer(&key, json!({"email": "a@example.com"})).await;
    let id = c["id"].as_str().unwrap();
    ok(
        app.post("/v1/purchases", &key, purchase("o-1", id, 2500))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let clock: SharedClock = app.clock.clone();
    let pool = app.pool.clone();
    let run = |pool: patron::db::Pool, clock: SharedClock| async move {
        tokio::task::spawn_blocking(move || {
            patron::points::jobs::release_pending(&pool, &clock).unwrap()
        })
        .await
        .unwrap()
    };
    assert_eq!(
        run(pool.clone(), clock.clone()).await.items,
        0,
        "nothing is due yet"
    );
    app.clock.advance(chrono::Duration::days(14));
    assert_eq!(run(pool.clone(), clock.clone()).await.items, 1);
    assert_eq!(
        run(pool.clone(), clock.clone()).await.items,
        0,
        "a second run finds nothing"
    );

    let balance = ok(
        app.get(&format!("/v1/customers/{id}/points"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (balance["available"].as_i64(), balance["pending"].as_i64()),
        (Some(25), Some(0))
    );
    assert_eq!(balance["next_expiry"]["points"], 25);
    let entries = history(&app, &key, id).await;
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["release", "earn"]);
    assert_eq!(sums(&entries), (25, 0));
    assert_eq!(entries[0]["balance_after"], 25);
    assert_eq!(entries[0]["source"]["type"], "purchase");
}

#[tokio::test]
async fn two_release_jobs_at_once_release_each_lot_once() {
    let app = TestApp::spawn().await;
    let key = till(&app).await;
    let c = app.customer(&key, json!({"email": "a@example.com"})).await;
    let id = c["id"].as_str().unwrap();
    for i in 0..20 {
        ok(
            app.post("/v1/purchases", &key, purchase(&format!("o-{i}"), id, 100))
                .await,
            StatusCode::CREATED,
        )
        .await;
    }
    app.clock.advance(chrono::Duration::days(15));
    let jobs: Vec<_> = (0..2)
        .map(|_| {
            let pool = app.pool.clone();
            let clock: SharedClock = app.clock.clone();
            tokio::task::spawn_blocking(move || {
                patron::points::jobs::release_pending(&pool, &clock).unwrap()
            })
        })
        .collect();
    let mut released = 0;
    for j in jobs {
        released += j.await.unwrap().items;
    }
    assert_eq!(released, 20);
    let balance = ok(
        app.get(&format!("/v1/customers/{id}/points"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (balance["available"].as_i64(), balance["pending"].as_i64()),
        (Some(20), Some(0))
    );
    assert_eq!(sums(&history(&app, &key, id).await), (20, 0));
}

#[tokio::test]
async fn the_customer_sees_their_own_balance_and_history() {
    let app = TestApp::spawn().await;
    let key = till(&app).await;
    let c = app.customer(&key, json!({"email": "a@example.com"})).await;
    let id = c["id"].as_str().unwrap();
    ok(
        app.post("/v1/purchases", &key, purchase("o-1", id, 700))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let token = app.customer_token(&key, id).await;
    let me = ok(app.get("/v1/me/points", &token).await, StatusCode::OK).await;
    assert_eq!(me["pending"], 7);
    let h = ok(
        app.get("/v1/me/points/history", &token).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(h["data"][0]["kind"], "earn");
    assert_eq!(h["data"][0]["pending"], 7);
    problem(
        app.get(&format!("/v1/customers/{id}/points"), &token).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    problem(
        app.get("/v1/customers/nobody/points", &key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let key_without_scope = app.api_key(&["customers:read"]).await;
    problem(
        app.get(&format!("/v1/customers/{id}/points"), &key_without_scope)
            .await,
        StatusCode::FORBIDDEN,
        "missing_scope",
    )
    .await;
}

#[tokio::test]
async fn posted_ledger_entries_cannot_be_changed_or_deleted() {
    let app = TestApp::spawn().await;
    let key = till(&app).await;
    let c = app.customer(&key, json!({"email": "a@example.com"})).await;
    ok(
        app.post(
            "/v1/purchases",
            &key,
            purchase("o-1", c["id"].as_str().unwrap(), 700),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let mut conn = app.pool.get().unwrap();
    let err = conn
        .batch_execute("UPDATE ledger_entries SET points = 1000")
        .unwrap_err();
    assert!(err.to_string().contains("immutable"), "{err}");
    let err = conn
        .batch_execute("DELETE FROM ledger_entries")
        .unwrap_err();
    assert!(err.to_string().contains("immutable"), "{err}");
}

#[tokio::test]
async fn the_expiry_job_expires_what_is_left_of_due_lots_once() {
    let app = TestApp::spawn().await;
    crate::program::set_program(&app, json!({"pending_days": 0, "expiry_months": 1})).await;
    let key = app
        .api_key(&[
            "customers:write",
            "purchases:write",
            "points:read",
            "points:write",
        ])
        .await;
    let c = app.customer(&key, json!({"email": "a@example.com"})).await;
    let id = c["id"].as_str().unwrap();
    ok(
        app.post("/v1/purchases", &key, purchase("o-1", id, 1000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let resp = app
        .client
        .post(app.url(&format!("/v1/customers/{id}/points/adjustments")))
        .bearer_auth(&key)
        .header("Idempotency-Key", "spend")
        .json(&json!({"points": -4, "reason": "spent"}))
        .send()
        .await
        .unwrap();
    ok(resp, StatusCode::CREATED).await;
    app.clock.advance(chrono::Duration::days(20));
    let mut later = purchase("o-2", id, 500);
    later["occurred_at"] = json!("2026-12-12T12:00:00Z");
    ok(
        app.post("/v1/purchases", &key, later).await,
        StatusCode::CREATED,
    )
    .await;
    app.clock.advance(chrono::Duration::days(12));
    let run = || {
        let (pool, clock): (patron::db::Pool, SharedClock) = (app.pool.clone(), app.clock.clone());
        tokio::task::spawn_blocking(move || {
            patron::points::jobs::expire_points(&pool, &clock).unwrap()
        })
    };
    assert_eq!(run().await.unwrap().items, 1);
    assert_eq!(run().await.unwrap().items, 0);
    let balance = ok(
        app.get(&format!("/v1/customers/{id}/points"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (balance["available"].as_i64(), balance["expired"].as_i64()),
        (Some(5), Some(6))
    );
    let entries = history(&app, &key, id).await;
    assert_eq!(entries[0]["kind"], "expire");
    assert_eq!(entries[0]["points"], -6);
    assert_eq!(sums(&entries), (5, 0));
}
