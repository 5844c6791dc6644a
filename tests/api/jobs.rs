//! `GET /v1/admin/jobs`: every registered job with its schedule and last run (admins only).

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, ok, problem};

fn job<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not listed: {list}"))
}

#[tokio::test]
async fn admins_see_each_job_with_its_last_run_and_others_are_refused() {
    let app = TestApp::spawn().await;
    let marketer = app.staff_token("marketer").await;
    problem(
        app.get("/v1/admin/jobs", &marketer).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let key = app.backend_key().await;
    problem(
        app.get("/v1/admin/jobs", &key).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let admin = app.admin_token().await;
    let list = ok(app.get("/v1/admin/jobs", &admin).await, StatusCode::OK).await;
    assert_eq!(list["scheduler_enabled"], false);
    for name in ["birthday_offers", "expiry_warnings"] {
        let j = job(&list, name);
        assert_eq!(j["runs"], 0);
        assert_eq!(j["last_run"], Value::Null);
    }
    assert_eq!(job(&list, "birthday_offers")["schedule"], "0 */15 * * * *");

    app.run_job("expiry_warnings").await;
    app.run_job("expiry_warnings").await;
    let list = ok(app.get("/v1/admin/jobs", &admin).await, StatusCode::OK).await;
    let j = job(&list, "expiry_warnings");
    assert_eq!(j["runs"], 2);
    let last = &j["last_run"];
    assert_eq!(last["started_at"], "2026-11-22T12:00:00Z");
    assert_eq!(last["finished_at"], "2026-11-22T12:00:00Z");
    assert_eq!(last["items"], 0);
    assert_eq!(last["error"], Value::Null);
    assert!(last["duration_ms"].as_i64().is_some());
    assert_eq!(job(&list, "birthday_offers")["runs"], 0);
}
