//! Ledger history is in the order postings were applied: `seq` is assigned under the balance row
//! lock, so each `balance_after` continues from the entry before it, even when writes race.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::purchases::purchase;

const SCOPES: &[&str] = &[
    "customers:write",
    "purchases:write",
    "points:read",
    "points:write",
    "rewards:redeem",
];

/// Every entry of the customer, oldest first, read page by page (so the cursor is walked too).
async fn whole_history(app: &TestApp, key: &str, customer: &str) -> Vec<Value> {
    let mut newest_first = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/customers/{customer}/points/history?limit=37");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = ok(app.get(&path, key).await, StatusCode::OK).await;
        newest_first.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    newest_first.reverse();
    newest_first
}

/// Walks the history oldest first: seq counts 1, 2, 3, … and each entry's `balance_after` and
/// `pending_after` are the previous ones plus its `points` and `pending`.
fn assert_continuous(history: &[Value], balance: &Value) {
    let (mut available, mut pending) = (0, 0);
    for (i, e) in history.iter().enumerate() {
        assert_eq!(e["seq"].as_i64(), Some(i as i64 + 1), "entry {i}: {e}");
        available += e["points"].as_i64().unwrap();
        pending += e["pending"].as_i64().unwrap();
        assert_eq!(
            e["balance_after"].as_i64(),
            Some(available),
            "entry {i} does not continue from the one before: {e}"
        );
        assert_eq!(e["pending_after"].as_i64(), Some(pending), "entry {i}: {e}");
    }
    assert_eq!(balance["available"].as_i64(), Some(available));
    assert_eq!(balance["pending"].as_i64(), Some(pending));
    let newest = history.last().expect("entries");
    assert_eq!(newest["balance_after"], balance["available"]);
}

#[tokio::test]
async fn racing_purchases_adjustments_and_redemptions_leave_a_continuous_history() {
    // 270 requests from one key within about a second: above the per-key rate limit, which is
    // not what this test is about.
    let app = TestApp::spawn_with(|s| s.auth.api_key_requests_per_second = 100_000).await;
    let key = app.api_key(SCOPES).await;
    let marketer = app.staff_token("marketer").await;
    let reward = app
        .reward_id(
            &marketer,
            json!({"name": "Mug", "kind": "gift", "cost_points": 70}),
        )
        .await;
    let customer = app.customer_id(&key, "a@example.com").await;
    // Enough for most, not all, of the debits: some redemptions fail, and a failure posts nothing.
    ok(
        app.client
            .post(app.url(&format!("/v1/customers/{customer}/points/adjustments")))
            .bearer_auth(&key)
            .header("Idempotency-Key", "seed")
            .json(&json!({"points": 1500, "reason": "welcome"}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    // The clock moves while the requests race, as a real one does: the time each request reads
    // before it waits for the balance lock is not the order in which it gets the lock.
    let clock = app.clock.clone();
    let ticking = tokio::spawn(async move {
        loop {
            clock.advance(chrono::Duration::milliseconds(1));
            tokio::time::sleep(std::time::Duration::from_micros(200)).await;
        }
    });
    for round in 0..3 {
        let mut tasks = Vec::new();
        for i in 0..90 {
            let (client, base, key, customer, reward) = (
                app.client.clone(),
                app.base.clone(),
                key.clone(),
                customer.clone(),
                reward.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let req = match i % 3 {
                    // Purchases earn pending points.
                    0 => client.post(format!("{base}/v1/purchases")).json(&purchase(
                        &format!("o-{round}-{i}"),
                        &customer,
                        1000 + i,
                    )),
                    1 => client
                        .post(format!("{base}/v1/customers/{customer}/points/adjustments"))
                        .header("Idempotency-Key", format!("a-{round}-{i}"))
                        .json(
                            &json!({"points": if i % 2 == 0 { 15 } else { -10 }, "reason": "race"}),
                        ),
                    _ => client
                        .post(format!("{base}/v1/customers/{customer}/redemptions"))
                        .header("Idempotency-Key", format!("r-{round}-{i}"))
                        .json(&json!({"reward_id": reward})),
                };
                let resp = req.bearer_auth(key).send().await.unwrap();
                (i, resp)
            }));
        }
        for t in tasks {
            let (i, resp) = t.await.unwrap();
            match (i % 3, resp.status()) {
                (_, StatusCode::CREATED) => {}
                (1 | 2, StatusCode::UNPROCESSABLE_ENTITY) => {
                    problem(
                        resp,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "insufficient_points",
                    )
                    .await;
                }
                (_, status) => panic!(
                    "request {i} answered {status}: {}",
                    resp.text().await.unwrap()
                ),
            }
        }
        let balance = ok(
            app.get(&format!("/v1/customers/{customer}/points"), &key)
                .await,
            StatusCode::OK,
        )
        .await;
        let history = whole_history(&app, &key, &customer).await;
        assert!(history.len() > 1 + 30 * (round + 1), "round {round}");
        assert_continuous(&history, &balance);
    }
    ticking.abort();
}

#[tokio::test]
async fn the_customers_own_history_is_ordered_by_seq_and_pages_by_it() {
    let app = TestApp::spawn().await;
    let key = app.api_key(SCOPES).await;
    let customer = app.customer_id(&key, "a@example.com").await;
    for i in 0..5 {
        ok(
            app.post(
                "/v1/purchases",
                &key,
                purchase(&format!("o-{i}"), &customer, 500),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let admin = app.admin_token().await;
    let token = ok(
        app.post(
            &format!("/v1/customers/{customer}/tokens"),
            &admin,
            json!({}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = ok(
        app.get("/v1/me/points/history?limit=3", &token).await,
        StatusCode::OK,
    )
    .await;
    let seqs: Vec<i64> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [5, 4, 3]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = ok(
        app.get(
            &format!("/v1/me/points/history?limit=3&cursor={cursor}"),
            &token,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let seqs: Vec<i64> = rest["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [2, 1]);
    assert!(rest["next_cursor"].is_null());
    problem(
        app.get("/v1/me/points/history?cursor=bm90LWEtbnVtYmVy", &token)
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_cursor",
    )
    .await;
}
