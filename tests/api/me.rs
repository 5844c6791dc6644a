//! The customer's own view through `/v1/me`, and customer password login.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, ok, problem};

async fn customer_with_token(app: &TestApp, body: serde_json::Value) -> (String, String) {
    let key = app.backend_key().await;
    let c = app.customer(&key, body).await;
    let id = c["id"].as_str().unwrap().to_owned();
    let token = app.customer_token(&key, &id).await;
    (id, token)
}

#[tokio::test]
async fn a_minted_customer_token_reads_and_changes_the_own_profile() {
    let app = TestApp::spawn().await;
    let (id, token) = customer_with_token(&app, json!({"email": "a@example.com"})).await;
    let me = ok(app.get("/v1/me", &token).await, StatusCode::OK).await;
    assert_eq!(me["id"], id);
    let body = ok(
        app.patch("/v1/me", &token, json!({"first_name": "Sara", "locale": "ar", "time_zone": "Asia/Dubai", "consents": {"email_marketing": true}})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["first_name"], "Sara");
    assert_eq!(body["locale"], "ar");
    assert_eq!(body["consents"]["email_marketing"], true);
}

#[tokio::test]
async fn a_customer_sets_a_birthday_once_and_cannot_change_email_or_tags() {
    let app = TestApp::spawn().await;
    let (_, token) = customer_with_token(&app, json!({"email": "a@example.com"})).await;
    let body = ok(
        app.patch("/v1/me", &token, json!({"birthday": "1995-06-01"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["birthday"], "1995-06-01");
    let resp = app
        .patch("/v1/me", &token, json!({"birthday": "1995-06-02"}))
        .await;
    problem(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "birthday_already_set",
    )
    .await;
    problem(
        app.patch("/v1/me", &token, json!({"email": "b@example.com"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    problem(
        app.patch("/v1/me", &token, json!({"tags": ["vip"]})).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
}

#[tokio::test]
async fn a_staff_token_or_api_key_on_me_returns_403_forbidden() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    problem(
        app.get("/v1/me", &admin).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let key = app.backend_key().await;
    problem(
        app.get("/v1/me", &key).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn a_customer_token_expires_with_the_clock() {
    let app = TestApp::spawn().await;
    let (_, token) = customer_with_token(&app, json!({"email": "a@example.com"})).await;
    app.clock.advance(chrono::Duration::minutes(31));
    problem(
        app.get("/v1/me", &token).await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    )
    .await;
}

#[tokio::test]
async fn a_customer_sets_a_password_and_logs_in_with_it() {
    let app = TestApp::spawn().await;
    let (id, token) = customer_with_token(&app, json!({"email": "Reza@example.com"})).await;
    let resp = app
        .request(
            Method::POST,
            "/v1/auth/customer-login",
            None,
            Some(json!({"email": "reza@example.com", "password": "whatever1"})),
        )
        .await;
    problem(resp, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    let resp = app
        .request(
            Method::PUT,
            "/v1/me/password",
            Some(&token),
            Some(json!({"new_password": "short"})),
        )
        .await;
    problem(resp, StatusCode::BAD_REQUEST, "validation_failed").await;
    let resp = app
        .request(
            Method::PUT,
            "/v1/me/password",
            Some(&token),
            Some(json!({"new_password": "first password"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);

    let login = ok(
        app.request(
            Method::POST,
            "/v1/auth/customer-login",
            None,
            Some(json!({"email": "REZA@example.com", "password": "first password"})),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(login["token_type"], "Bearer");
    let own = login["access_token"].as_str().unwrap();
    let me = ok(app.get("/v1/me", own).await, StatusCode::OK).await;
    assert_eq!(me["id"], id);
    assert_eq!(me["has_password"], true);
    // The customer token is not a staff token.
    problem(
        app.get("/v1/staff", own).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    // Changing it needs the current one.
    let resp = app
        .request(
            Method::PUT,
            "/v1/me/password",
            Some(own),
            Some(json!({"new_password": "second password"})),
        )
        .await;
    problem(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_current_password",
    )
    .await;
    let resp = app
        .request(
            Method::PUT,
            "/v1/me/password",
            Some(own),
            Some(json!({"current_password": "first password", "new_password": "second password"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = app
        .request(
            Method::POST,
            "/v1/auth/customer-login",
            None,
            Some(json!({"email": "reza@example.com", "password": "first password"})),
        )
        .await;
    problem(resp, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn a_staff_token_is_not_accepted_for_customer_login_routes_and_vice_versa() {
    let app = TestApp::spawn().await;
    // Staff credentials do not log in as a customer.
    let resp = app
        .request(Method::POST, "/v1/auth/customer-login", None, Some(json!({"email": crate::helpers::ADMIN_EMAIL, "password": crate::helpers::ADMIN_PASSWORD})))
        .await;
    problem(resp, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}
