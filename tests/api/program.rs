//! Program settings: defaults, validation as a whole, and who may change them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};

pub fn defaults() -> Value {
    json!({
        "currency": "USD", "earn_rate": {"spend_minor": 100, "points": 1}, "pending_days": 14,
        "expiry_months": 12, "expiry_warning_days": 30, "tier_window_months": 12, "tier_grace_days": 30,
        "point_value_minor": 1, "return_policy": "within_balance",
        "referral": {"referrer_points": 0, "referred_points": 0},
        "purchase_backdate_days": 30, "event_backdate_days": 2,
        "segments": {
            "new_days": 30, "recent_days": 30, "active_days": 90, "lost_days": 365,
            "champion_purchases": 10, "champion_spent_minor": 100000, "loyal_purchases": 4,
            "lapsed_days": 180
        },
        "time_zone": "UTC", "default_locale": "en",
        "birthday": {
            "enabled": false, "bonus_points": 0, "reward_id": null, "days_before": 0,
            "local_hour": 9, "feb29": "feb28", "min_days_known": 30, "valid_days": 30
        },
        "follow_up": {"enabled": true, "delay_hours": 24, "survey_id": null},
        "contact_policy": {
            "quiet_hours": {"start_hour": 21, "end_hour": 8},
            "weekly_marketing_cap": 3, "survey_cooldown_days": 30
        },
        "recovery": {
            "apology_points": 0, "max_apologies": 1, "window_days": 90, "send_message": true
        }
    })
}

/// Replaces the program as an admin.
pub async fn set_program(app: &TestApp, changes: Value) -> Value {
    let admin = app.admin_token().await;
    let mut doc = defaults();
    for (k, v) in changes.as_object().unwrap() {
        doc[k] = v.clone();
    }
    let resp = app
        .request(Method::PUT, "/v1/program", Some(&admin), Some(doc))
        .await;
    ok(resp, StatusCode::OK).await
}

#[tokio::test]
async fn a_new_install_has_sensible_program_defaults() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    assert_eq!(
        ok(app.get("/v1/program", &admin).await, StatusCode::OK).await,
        defaults()
    );
}

#[tokio::test]
async fn a_marketer_replaces_the_program_and_it_is_validated_as_a_whole() {
    let app = TestApp::spawn().await;
    let marketer = app.staff_token("marketer").await;
    let mut doc = defaults();
    doc["currency"] = json!("EUR");
    doc["pending_days"] = json!(0);
    let resp = app
        .request(
            Method::PUT,
            "/v1/program",
            Some(&marketer),
            Some(doc.clone()),
        )
        .await;
    assert_eq!(ok(resp, StatusCode::OK).await, doc);
    assert_eq!(
        ok(app.get("/v1/program", &marketer).await, StatusCode::OK).await,
        doc
    );

    doc["currency"] = json!("euro");
    doc["earn_rate"] = json!({"spend_minor": 0, "points": 1});
    doc["pending_days"] = json!(-1);
    let resp = app
        .request(Method::PUT, "/v1/program", Some(&marketer), Some(doc))
        .await;
    let body = problem(resp, StatusCode::BAD_REQUEST, "validation_failed").await;
    let mut fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        ["currency", "earn_rate.spend_minor", "pending_days"]
    );
}

#[tokio::test]
async fn a_partial_or_unknown_program_document_is_rejected() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let resp = app
        .request(
            Method::PUT,
            "/v1/program",
            Some(&admin),
            Some(json!({"currency": "EUR"})),
        )
        .await;
    problem(resp, StatusCode::BAD_REQUEST, "invalid_body").await;
    let mut doc = defaults();
    doc["balance"] = json!(5);
    let resp = app
        .request(Method::PUT, "/v1/program", Some(&admin), Some(doc))
        .await;
    problem(resp, StatusCode::BAD_REQUEST, "invalid_body").await;
}

#[tokio::test]
async fn only_marketers_and_admins_change_the_program() {
    let app = TestApp::spawn().await;
    for role in ["support", "analyst"] {
        let token = app.staff_token(role).await;
        ok(app.get("/v1/program", &token).await, StatusCode::OK).await;
        let resp = app
            .request(Method::PUT, "/v1/program", Some(&token), Some(defaults()))
            .await;
        problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let key = app.api_key(&["purchases:write", "points:read"]).await;
    problem(
        app.get("/v1/program", &key).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}
