//! `POST /v1/feedback`: feedback collected elsewhere, validated against its kind's scale, bound
//! to the key's store, resolved past merge aliases, replayed under one Idempotency-Key, and on
//! the customer's timeline.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};

async fn send(app: &TestApp, key: &str, body: Value) -> reqwest::Response {
    app.post("/v1/feedback", key, body).await
}

fn nps(customer: &str, score: i64) -> Value {
    json!({
        "customer_id": customer, "kind": "nps", "score": score, "channel": "store",
        "touchpoint": "checkout", "store_id": "s1", "agent_id": "ag-7",
        "occurred_at": "2026-11-22T10:00:00Z"
    })
}

#[tokio::test]
async fn a_store_backend_records_feedback_and_it_is_on_the_timeline() {
    let app = TestApp::spawn().await;
    let backend = app.backend_key().await;
    let key = app.api_key(&["feedback:write"]).await;
    let customer = app.customer_id(&backend, "f@example.com").await;

    let body = ok(
        send(&app, &key, nps(&customer, 9)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["customer_id"], customer.as_str());
    assert_eq!(body["kind"], "nps");
    assert_eq!(body["scale"], 10);
    assert_eq!(body["score"], 9);
    assert_eq!(body["channel"], "store");
    assert_eq!(body["touchpoint"], "checkout");
    assert_eq!(body["store_id"], "s1");
    assert_eq!(body["agent_id"], "ag-7");
    assert_eq!(body["occurred_at"], "2026-11-22T10:00:00Z");
    assert!(body["recovery_case_id"].is_null());

    let admin = app.admin_token().await;
    let timeline = ok(
        app.get(&format!("/v1/customers/{customer}/timeline"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    let entry = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "feedback")
        .cloned()
        .expect("a feedback entry");
    assert_eq!(entry["summary"], "NPS 9/10");
    assert_eq!(entry["ref"]["id"], body["id"]);
}

#[tokio::test]
async fn scores_are_checked_against_the_kind_and_its_scale() {
    let app = TestApp::spawn().await;
    let key = app.api_key(&["feedback:write"]).await;
    let base = |kind: &str, score: Value, scale: Value| {
        json!({"kind": kind, "score": score, "scale": scale, "channel": "kiosk",
               "occurred_at": "2026-11-22T10:00:00Z"})
    };
    for (kind, score, scale, field) in [
        ("nps", json!(11), Value::Null, "score"),
        ("nps", json!(-1), Value::Null, "score"),
        ("nps", json!(5), json!(7), "scale"),
        ("csat", json!(0), Value::Null, "score"),
        ("csat", json!(6), Value::Null, "score"),
        ("csat", json!(3), json!(7), "scale"),
        ("ces", json!(6), json!(5), "score"),
        ("ces", json!(8), Value::Null, "score"),
        ("ces", json!(3), json!(6), "scale"),
        ("ces", json!(0), json!(7), "score"),
    ] {
        let body = problem(
            send(&app, &key, base(kind, score.clone(), scale.clone())).await,
            StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
        assert_eq!(
            body["errors"][0]["field"], field,
            "{kind} {score} scale {scale}: {body}"
        );
    }
    // Both ends of every scale are accepted; CES defaults to 7 points.
    for (kind, score, scale, want_scale) in [
        ("nps", 0, Value::Null, 10),
        ("nps", 10, json!(10), 10),
        ("csat", 1, Value::Null, 5),
        ("csat", 5, Value::Null, 5),
        ("ces", 5, json!(5), 5),
        ("ces", 7, Value::Null, 7),
        ("ces", 1, json!(7), 7),
    ] {
        let body = ok(
            send(&app, &key, base(kind, json!(score), scale)).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(body["scale"], want_scale);
        assert_eq!(body["score"], score);
        assert!(body["customer_id"].is_null(), "anonymous feedback");
    }
}

#[tokio::test]
async fn a_skipped_question_needs_a_comment_and_bad_fields_are_named() {
    let app = TestApp::spawn().await;
    let key = app.api_key(&["feedback:write"]).await;
    let skipped = ok(
        send(
            &app,
            &key,
            json!({"kind": "csat", "score": null, "comment": "Queue was long",
                   "channel": "store", "occurred_at": "2026-11-22T10:00:00Z"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert!(skipped["score"].is_null());
    assert_eq!(skipped["comment"], "Queue was long");

    problem(
        send(
            &app,
            &key,
            json!({"kind": "csat", "channel": "store", "occurred_at": "2026-11-22T10:00:00Z"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "empty_response",
    )
    .await;
    for (body, field) in [
        (
            json!({"kind": "nps", "score": 3, "channel": "In Store", "occurred_at": "2026-11-22T10:00:00Z"}),
            "channel",
        ),
        (
            json!({"kind": "nps", "score": 3, "channel": "store", "occurred_at": "2026-11-22T13:00:00Z"}),
            "occurred_at",
        ),
        (
            json!({"kind": "nps", "score": 3, "channel": "store", "occurred_at": "1999-12-31T00:00:00Z"}),
            "occurred_at",
        ),
        (
            json!({"kind": "nps", "score": 3, "channel": "store", "comment": "x".repeat(2001), "occurred_at": "2026-11-22T10:00:00Z"}),
            "comment",
        ),
        (
            json!({"kind": "nps", "score": 3, "channel": "store", "touchpoint": " ", "occurred_at": "2026-11-22T10:00:00Z"}),
            "touchpoint",
        ),
    ] {
        let p = problem(
            send(&app, &key, body).await,
            StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
        assert_eq!(p["errors"][0]["field"], field, "{p}");
    }
    for body in [
        json!({"kind": "stars", "score": 3, "channel": "store", "occurred_at": "2026-11-22T10:00:00Z"}),
        json!({"kind": "nps", "score": 3, "channel": "store"}),
        json!({"kind": "nps", "score": 3, "channel": "store", "occurred_at": "2026-11-22T10:00:00Z", "balance": 1}),
        json!({"kind": "nps", "score": 3.5, "channel": "store", "occurred_at": "2026-11-22T10:00:00Z"}),
    ] {
        let p = problem(
            send(&app, &key, body.clone()).await,
            StatusCode::BAD_REQUEST,
            "invalid_body",
        )
        .await;
        assert!(p["detail"].is_string(), "{body}: {p}");
    }
}

#[tokio::test]
async fn unknown_erased_and_merged_customers() {
    let app = TestApp::spawn().await;
    let backend = app.backend_key().await;
    let key = app.api_key(&["feedback:write"]).await;
    problem(
        send(&app, &key, nps("nobody", 9)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_customer",
    )
    .await;

    let admin = app.admin_token().await;
    let gone = app.customer_id(&backend, "gone@example.com").await;
    let resp = app
        .request(
            Method::DELETE,
            &format!("/v1/customers/{gone}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    problem(
        send(&app, &key, nps(&gone, 9)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "customer_erased",
    )
    .await;

    let target = app.customer_id(&backend, "t@example.com").await;
    let source = app.customer_id(&backend, "s@example.com").await;
    ok(
        app.post(
            &format!("/v1/customers/{target}/merge"),
            &admin,
            json!({"source_customer_id": source}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let body = ok(
        send(&app, &key, nps(&source, 10)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        body["customer_id"],
        target.as_str(),
        "an alias names the survivor"
    );
}

#[tokio::test]
async fn a_store_bound_key_sends_only_its_own_store() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let bound = ok(
        app.post(
            "/v1/api-keys",
            &admin,
            json!({"name": "till", "scopes": ["feedback:write"], "store_id": "s2"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut body = json!({"kind": "nps", "score": 8, "channel": "store",
                          "occurred_at": "2026-11-22T10:00:00Z"});
    let own = ok(send(&app, &bound, body.clone()).await, StatusCode::CREATED).await;
    assert_eq!(own["store_id"], "s2", "defaults to the key's store");
    body["store_id"] = json!("s1");
    problem(
        send(&app, &bound, body).await,
        StatusCode::FORBIDDEN,
        "store_mismatch",
    )
    .await;
}

#[tokio::test]
async fn only_feedback_keys_and_support_record_feedback() {
    let app = TestApp::spawn().await;
    let body = json!({"kind": "nps", "score": 8, "channel": "phone",
                      "occurred_at": "2026-11-22T10:00:00Z"});
    let other = app.api_key(&["customers:write"]).await;
    problem(
        send(&app, &other, body.clone()).await,
        StatusCode::FORBIDDEN,
        "missing_scope",
    )
    .await;
    for role in ["marketer", "analyst"] {
        let token = app.staff_token(role).await;
        problem(
            send(&app, &token, body.clone()).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    problem(
        send(&app, "pk_nonsense", body.clone()).await,
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
    )
    .await;
    // Authorisation before parsing: a caller without the scope learns nothing about the body.
    problem(
        send(&app, &other, json!({"nonsense": true})).await,
        StatusCode::FORBIDDEN,
        "missing_scope",
    )
    .await;
    let support = app.staff_token("support").await;
    ok(send(&app, &support, body).await, StatusCode::CREATED).await;
}

#[tokio::test]
async fn one_idempotency_key_records_once() {
    let app = TestApp::spawn().await;
    let backend = app.backend_key().await;
    let key = app.api_key(&["feedback:write"]).await;
    let customer = app.customer_id(&backend, "i@example.com").await;
    let post = |body: Value| {
        app.client
            .post(app.url("/v1/feedback"))
            .bearer_auth(&key)
            .header("Idempotency-Key", "fb-1")
            .json(&body)
            .send()
    };
    let first = post(nps(&customer, 10)).await.expect("sent");
    let first = ok(first, StatusCode::CREATED).await;
    let again = post(nps(&customer, 10)).await.expect("sent");
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let again = ok(again, StatusCode::CREATED).await;
    assert_eq!(again["id"], first["id"]);
    problem(
        post(nps(&customer, 3)).await.expect("sent"),
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    let admin = app.admin_token().await;
    let timeline = ok(
        app.get(&format!("/v1/customers/{customer}/timeline"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    let feedback = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "feedback")
        .count();
    assert_eq!(feedback, 1, "recorded once");
}
