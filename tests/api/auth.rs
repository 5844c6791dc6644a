//! Logins, tokens and the abuse cases around them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use jsonwebtoken::{EncodingKey, Header, encode};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, SECRET, TestApp, ok, problem};

fn forge(claims: &Value, secret: &str) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn staff_claims(app_now: i64, sub: &str) -> Value {
    json!({"sub": sub, "iss": "patron", "aud": "patron:staff", "iat": app_now, "exp": app_now + 600})
}

async fn admin_id(app: &TestApp, token: &str) -> String {
    let list = ok(app.get("/v1/staff", token).await, StatusCode::OK).await;
    list["data"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn staff_login_returns_a_bearer_token_that_reaches_staff_routes() {
    let app = TestApp::spawn().await;
    let body = ok(app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await, StatusCode::OK).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();
    let list = ok(app.get("/v1/staff", token).await, StatusCode::OK).await;
    assert_eq!(list["data"][0]["email"], ADMIN_EMAIL);
    assert_eq!(list["data"][0]["role"], "admin");
}

#[tokio::test]
async fn login_email_is_case_insensitive() {
    let app = TestApp::spawn().await;
    ok(
        app.login(" ADMIN@Example.com ", ADMIN_PASSWORD).await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn a_wrong_password_returns_401_invalid_credentials() {
    let app = TestApp::spawn().await;
    problem(
        app.login(ADMIN_EMAIL, "not the password").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_email_returns_401_invalid_credentials() {
    let app = TestApp::spawn().await;
    problem(
        app.login("nobody@example.com", ADMIN_PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
}

#[tokio::test]
async fn twenty_wrong_logins_in_a_row_are_rate_limited_with_retry_after() {
    let app = TestApp::spawn().await;
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let resp = app.login(ADMIN_EMAIL, "wrong password").await;
        statuses.push(resp.status());
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry: u64 = resp.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry), "Retry-After {retry}");
            problem(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        }
    }
    assert!(
        statuses[..10]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        statuses[10..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // The right password is refused too while the limit holds: the limit is per email and IP.
    problem(
        app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
}

#[tokio::test]
async fn a_password_over_1024_bytes_returns_400_without_hashing() {
    let app = TestApp::spawn().await;
    let long = "p".repeat(200 * 1024);
    let body = problem(
        app.login(ADMIN_EMAIL, &long).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "password");
}

#[tokio::test]
async fn a_one_megabyte_password_is_refused_before_it_is_read() {
    let app = TestApp::spawn().await;
    let huge = "p".repeat(1024 * 1024);
    problem(
        app.login(ADMIN_EMAIL, &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
}

#[tokio::test]
async fn missing_or_malformed_authorization_returns_401_missing_credentials() {
    let app = TestApp::spawn().await;
    problem(
        app.request(Method::GET, "/v1/customers", None, None).await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    )
    .await;
    let resp = app
        .client
        .get(app.url("/v1/customers"))
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    problem(resp, StatusCode::UNAUTHORIZED, "missing_credentials").await;
}

#[tokio::test]
async fn an_alg_none_token_returns_401_invalid_token() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let sub = admin_id(&app, &admin).await;
    let now = app.clock_now();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(staff_claims(now, &sub).to_string());
    let token = format!("{header}.{payload}.");
    problem(
        app.get("/v1/staff", &token).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn a_tampered_token_returns_401_invalid_token() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let mut parts: Vec<String> = admin.split('.').map(str::to_owned).collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("someone-else");
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    problem(
        app.get("/v1/staff", &parts.join(".")).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn a_token_signed_with_another_key_returns_401_invalid_token() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let sub = admin_id(&app, &admin).await;
    let token = forge(
        &staff_claims(app.clock_now(), &sub),
        "another-key-of-at-least-thirty-two-bytes!",
    );
    problem(
        app.get("/v1/staff", &token).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn an_expired_token_returns_401_token_expired() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    ok(app.get("/v1/staff", &admin).await, StatusCode::OK).await;
    app.clock.advance(Duration::hours(2));
    problem(
        app.get("/v1/staff", &admin).await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    )
    .await;
}

#[tokio::test]
async fn a_token_with_exp_as_a_string_returns_401_invalid_token() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let sub = admin_id(&app, &admin).await;
    let mut claims = staff_claims(app.clock_now(), &sub);
    claims["exp"] = json!((app.clock_now() + 600).to_string());
    problem(
        app.get("/v1/staff", &forge(&claims, SECRET)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn a_token_missing_a_required_claim_returns_401_invalid_token() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let sub = admin_id(&app, &admin).await;
    let mut claims = staff_claims(app.clock_now(), &sub);
    claims.as_object_mut().unwrap().remove("iat");
    problem(
        app.get("/v1/staff", &forge(&claims, SECRET)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn a_token_with_a_wrong_audience_or_issuer_returns_401_invalid_token() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let sub = admin_id(&app, &admin).await;
    let mut claims = staff_claims(app.clock_now(), &sub);
    claims["aud"] = json!("someone-else");
    problem(
        app.get("/v1/staff", &forge(&claims, SECRET)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    let mut claims = staff_claims(app.clock_now(), &sub);
    claims["iss"] = json!("not-patron");
    problem(
        app.get("/v1/staff", &forge(&claims, SECRET)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn a_correctly_forged_staff_token_works_which_proves_the_forgery_tests_test_something() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let sub = admin_id(&app, &admin).await;
    ok(
        app.get(
            "/v1/staff",
            &forge(&staff_claims(app.clock_now(), &sub), SECRET),
        )
        .await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn a_customer_token_relabelled_as_staff_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let sub = admin_id(&app, &admin).await;
    // A customer-audience token whose subject happens to be a staff id names no customer, so it
    // is refused before any route (customer tokens are checked against the customer record).
    let mut claims = staff_claims(app.clock_now(), &sub);
    claims["aud"] = json!("patron:customer");
    problem(
        app.get("/v1/staff", &forge(&claims, SECRET)).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
}

impl TestApp {
    pub fn clock_now(&self) -> i64 {
        use patron::clock::Clock;
        self.clock.now().timestamp()
    }
}
