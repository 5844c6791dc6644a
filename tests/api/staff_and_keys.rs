//! Staff management, roles, API keys and their scopes.

use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, ok, problem};

#[tokio::test]
async fn admins_create_staff_who_can_log_in_with_their_role() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let body = ok(
        app.post(
            "/v1/staff",
            &admin,
            json!({"email": " Sara@Example.com", "password": "twelve chars ok", "role": "support"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["email"], "sara@example.com");
    assert_eq!(body["role"], "support");
    assert_eq!(body["active"], true);
    assert!(body.get("password").is_none() && body.get("password_hash").is_none());
    ok(
        app.login("sara@example.com", "twelve chars ok").await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn a_duplicate_staff_email_returns_409_staff_exists() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let body =
        json!({"email": "sara@example.com", "password": "twelve chars ok", "role": "analyst"});
    ok(
        app.post("/v1/staff", &admin, body.clone()).await,
        StatusCode::CREATED,
    )
    .await;
    problem(
        app.post("/v1/staff", &admin, body).await,
        StatusCode::CONFLICT,
        "staff_exists",
    )
    .await;
}

#[tokio::test]
async fn a_short_staff_password_or_bad_email_returns_400_listing_both() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let resp = app
        .post(
            "/v1/staff",
            &admin,
            json!({"email": "not-an-email", "password": "short", "role": "analyst"}),
        )
        .await;
    let body = problem(resp, StatusCode::BAD_REQUEST, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "password"]);
}

#[tokio::test]
async fn an_unknown_role_returns_400_invalid_body() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let resp = app
        .post(
            "/v1/staff",
            &admin,
            json!({"email": "a@example.com", "password": "twelve chars ok", "role": "owner"}),
        )
        .await;
    problem(resp, StatusCode::BAD_REQUEST, "invalid_body").await;
}

#[tokio::test]
async fn non_admin_staff_cannot_manage_staff_or_api_keys() {
    let app = TestApp::spawn().await;
    for role in ["marketer", "support", "analyst"] {
        let token = app.staff_token(role).await;
        problem(
            app.get("/v1/staff", &token).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        let resp = app
            .post(
                "/v1/api-keys",
                &token,
                json!({"name": "x", "scopes": ["customers:read"]}),
            )
            .await;
        problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    }
}

#[tokio::test]
async fn a_deactivated_staff_member_is_locked_out_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let member = ok(
        app.post(
            "/v1/staff",
            &admin,
            json!({"email": "sam@example.com", "password": "twelve chars ok", "role": "support"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let token = ok(
        app.login("sam@example.com", "twelve chars ok").await,
        StatusCode::OK,
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(app.get("/v1/customers", &token).await, StatusCode::OK).await;
    let id = member["id"].as_str().unwrap();
    let body = ok(
        app.patch(&format!("/v1/staff/{id}"), &admin, json!({"active": false}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["active"], false);
    problem(
        app.get("/v1/customers", &token).await,
        StatusCode::UNAUTHORIZED,
        "account_disabled",
    )
    .await;
    problem(
        app.login("sam@example.com", "twelve chars ok").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
}

#[tokio::test]
async fn a_role_change_takes_effect_on_the_next_request() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let member = ok(
        app.post(
            "/v1/staff",
            &admin,
            json!({"email": "ana@example.com", "password": "twelve chars ok", "role": "analyst"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let token = ok(
        app.login("ana@example.com", "twelve chars ok").await,
        StatusCode::OK,
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    problem(
        app.post("/v1/customers", &token, json!({"email": "c@example.com"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let id = member["id"].as_str().unwrap();
    ok(
        app.patch(
            &format!("/v1/staff/{id}"),
            &admin,
            json!({"role": "support"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    ok(
        app.post("/v1/customers", &token, json!({"email": "c@example.com"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_demoted_or_deactivated() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let list = ok(app.get("/v1/staff", &admin).await, StatusCode::OK).await;
    let id = list["data"][0]["id"].as_str().unwrap();
    problem(
        app.patch(&format!("/v1/staff/{id}"), &admin, json!({"active": false}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "last_admin",
    )
    .await;
    problem(
        app.patch(
            &format!("/v1/staff/{id}"),
            &admin,
            json!({"role": "analyst"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "last_admin",
    )
    .await;
    problem(
        app.patch("/v1/staff/nobody", &admin, json!({"active": false}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn an_api_key_is_shown_once_and_stored_only_as_a_hash() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let created = ok(
        app.post(
            "/v1/api-keys",
            &admin,
            json!({"name": "Till 4", "scopes": ["customers:read"], "store_id": "store-1"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("pk_") && key.len() > 40, "{key}");
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));
    assert_eq!(created["store_id"], "store-1");
    let list = ok(app.get("/v1/api-keys", &admin).await, StatusCode::OK).await;
    assert_eq!(list["data"][0]["name"], "Till 4");
    assert!(list["data"][0].get("key").is_none());
    assert!(!list.to_string().contains(&key));

    use patron::db::schema::api_keys::dsl::*;
    let mut conn = app.pool.get().unwrap();
    let stored: Vec<String> = api_keys.select(key_hash).load(&mut *conn).unwrap();
    assert_eq!(stored, [hex::encode(Sha256::digest(key.as_bytes()))]);
}

#[tokio::test]
async fn an_api_key_without_the_needed_scope_returns_403_missing_scope() {
    let app = TestApp::spawn().await;
    let key = app.api_key(&["customers:read"]).await;
    ok(app.get("/v1/customers", &key).await, StatusCode::OK).await;
    let resp = app
        .post("/v1/customers", &key, json!({"email": "a@example.com"}))
        .await;
    problem(resp, StatusCode::FORBIDDEN, "missing_scope").await;
    problem(
        app.get("/v1/staff", &key).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn a_revoked_api_key_returns_401_api_key_revoked() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let created = ok(
        app.post(
            "/v1/api-keys",
            &admin,
            json!({"name": "old till", "scopes": ["customers:read"]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let key = created["key"].as_str().unwrap();
    ok(app.get("/v1/customers", key).await, StatusCode::OK).await;
    let id = created["id"].as_str().unwrap();
    let resp = app
        .request(
            Method::DELETE,
            &format!("/v1/api-keys/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    problem(
        app.get("/v1/customers", key).await,
        StatusCode::UNAUTHORIZED,
        "api_key_revoked",
    )
    .await;
    let list = ok(app.get("/v1/api-keys", &admin).await, StatusCode::OK).await;
    assert!(list["data"][0]["revoked_at"].is_string());
    let resp = app
        .request(Method::DELETE, "/v1/api-keys/unknown", Some(&admin), None)
        .await;
    problem(resp, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn an_unknown_api_key_returns_401_invalid_api_key() {
    let app = TestApp::spawn().await;
    problem(
        app.get("/v1/customers", "pk_not-a-real-key").await,
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
    )
    .await;
}

#[tokio::test]
async fn api_key_creation_validates_name_and_scopes() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let resp = app
        .post("/v1/api-keys", &admin, json!({"name": "", "scopes": []}))
        .await;
    let body = problem(resp, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    let resp = app
        .post(
            "/v1/api-keys",
            &admin,
            json!({"name": "x", "scopes": ["everything"]}),
        )
        .await;
    problem(resp, StatusCode::BAD_REQUEST, "invalid_body").await;
}

#[tokio::test]
async fn staff_and_key_lists_page_with_a_cursor() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for i in 0..3 {
        ok(
            app.post(
                "/v1/api-keys",
                &admin,
                json!({"name": format!("k{i}"), "scopes": ["customers:read"]}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let first = ok(
        app.get("/v1/api-keys?limit=2", &admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = ok(
        app.get(&format!("/v1/api-keys?limit=2&cursor={cursor}"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(second["data"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());
    problem(
        app.get("/v1/staff?limit=0", &admin).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
}

async fn change_password(
    app: &TestApp,
    token: &str,
    current: &str,
    new: &str,
) -> reqwest::Response {
    app.request(
        Method::PUT,
        "/v1/staff/me/password",
        Some(token),
        Some(json!({"current_password": current, "new_password": new})),
    )
    .await
}

#[tokio::test]
async fn a_staff_member_changes_their_own_password_and_the_old_one_stops_working() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let email = "rana@example.com";
    let member = json!({"email": email, "password": "a long enough password", "role": "analyst"});
    ok(
        app.post("/v1/staff", &admin, member).await,
        StatusCode::CREATED,
    )
    .await;
    let token = ok(
        app.login(email, "a long enough password").await,
        StatusCode::OK,
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = change_password(
        &app,
        &token,
        "a long enough password",
        "a brand new passphrase",
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    ok(
        app.login(email, "a brand new passphrase").await,
        StatusCode::OK,
    )
    .await;
    problem(
        app.login(email, "a long enough password").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;

    use patron::db::schema::audit_log::dsl::*;
    let mut conn = app.pool.get().unwrap();
    let actions: Vec<String> = audit_log.select(action).load(&mut *conn).unwrap();
    assert!(
        actions.iter().any(|a| a == "staff.password_change"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_wrong_current_password_returns_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let resp = change_password(&app, &admin, "not the password", "a brand new passphrase").await;
    let body = problem(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_current_password",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "current_password");
    ok(
        app.login(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
            .await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn a_short_new_password_returns_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let resp = change_password(&app, &admin, crate::helpers::ADMIN_PASSWORD, "short").await;
    let body = problem(resp, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "new_password");
    assert_eq!(body["errors"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn only_staff_tokens_change_a_staff_password() {
    let app = TestApp::spawn().await;
    let key = app.api_key(&["customers:read"]).await;
    let resp = change_password(&app, &key, "anything at all", "a brand new passphrase").await;
    problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let writer = app.api_key(&["customers:write", "tokens:issue"]).await;
    let customer = app.customer_id(&writer, "c@example.com").await;
    let token = app.customer_token(&writer, &customer).await;
    let resp = change_password(&app, &token, "anything at all", "a brand new passphrase").await;
    problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn guessing_the_current_password_is_rate_limited_per_staff_member() {
    let app = TestApp::spawn_with(|s| s.auth.login_attempts_per_minute = 3).await;
    let admin = app.admin_token().await;
    for _ in 0..3 {
        let resp = change_password(&app, &admin, "a guess", "a brand new passphrase").await;
        problem(
            resp,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_current_password",
        )
        .await;
    }
    let resp = change_password(
        &app,
        &admin,
        crate::helpers::ADMIN_PASSWORD,
        "a brand new passphrase",
    )
    .await;
    assert!(resp.headers().contains_key("retry-after"));
    problem(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}
