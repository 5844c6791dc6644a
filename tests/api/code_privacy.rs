//! Reward codes are bearer vouchers: a request to `/v1/codes/{code}` leaves the code neither in
//! the metrics nor in the request logs (both carry the route pattern).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, ok};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures this test process's logs from now on; None if another subscriber was installed first
/// (e.g. with TEST_LOG set).
fn captured_logs() -> Option<Captured> {
    static LOGS: OnceLock<Option<Captured>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_env_filter("patron=info")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .ok()
            .map(|_| logs)
    })
    .clone()
}

#[tokio::test]
async fn a_code_in_the_path_never_reaches_metrics_or_logs() {
    let logs = captured_logs();
    let app = TestApp::spawn().await;
    let marketer = app.staff_token("marketer").await;
    let key = app
        .api_key(&[
            "customers:write",
            "points:write",
            "rewards:redeem",
            "codes:use",
        ])
        .await;
    let customer = app
        .customer(&key, json!({"email": "voucher@example.com"}))
        .await;
    let id = customer["id"].as_str().unwrap();
    let reward = ok(
        app.post(
            "/v1/rewards",
            &marketer,
            json!({"name": "Mug", "kind": "gift", "cost_points": 10}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let adjust = app
        .client
        .post(app.url(&format!("/v1/customers/{id}/points/adjustments")))
        .bearer_auth(&key)
        .header("Idempotency-Key", "fund")
        .json(&json!({"points": 50, "reason": "test"}))
        .send()
        .await
        .unwrap();
    ok(adjust, StatusCode::CREATED).await;
    let redeemed = app
        .client
        .post(app.url(&format!("/v1/customers/{id}/redemptions")))
        .bearer_auth(&key)
        .header("Idempotency-Key", "mug")
        .json(&json!({"reward_id": reward["id"]}))
        .send()
        .await
        .unwrap();
    let redeemed = ok(redeemed, StatusCode::CREATED).await;
    let shown = redeemed["code"].as_str().unwrap().to_owned();
    let stored = shown.replace('-', "");
    ok(
        app.get(&format!("/v1/codes/{shown}"), &key).await,
        StatusCode::OK,
    )
    .await;
    ok(
        app.get(&format!("/v1/codes/{stored}"), &key).await,
        StatusCode::OK,
    )
    .await;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("/v1/codes/{code}"), "{metrics}");
    for form in [&shown, &stored] {
        assert!(!metrics.contains(form.as_str()), "metrics hold the code");
    }
    if let Some(logs) = logs {
        let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
        assert!(
            text.contains("/v1/codes/{code}"),
            "the request was logged by its route"
        );
        for form in [&shown, &stored] {
            assert!(!text.contains(form.as_str()), "logs hold the code {form}");
        }
    }
}
