//! Logins and credentials under attack: staff and customer logins have separate per-email
//! limits, and a burst of bad API keys or tokens from one address is throttled (429) while valid
//! callers carry on.

use std::net::IpAddr;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, ok, problem};

/// A client whose requests come from another loopback address than the tests' usual 127.0.0.1.
fn client_from(last_octet: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, last_octet]))
        .build()
        .unwrap()
}

async fn retry_after(resp: reqwest::Response) {
    let wait: u64 = resp
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After: {wait}");
    problem(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn failed_customer_logins_do_not_lock_a_staff_member_with_the_same_email_out() {
    let app = TestApp::spawn().await;
    let attacker = client_from(2);
    let mut limited = false;
    for _ in 0..12 {
        let resp = attacker
            .post(app.url("/v1/auth/customer-login"))
            .json(&json!({"email": ADMIN_EMAIL, "password": "guess"}))
            .send()
            .await
            .unwrap();
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            problem(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
            break;
        }
        problem(resp, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    assert!(limited, "customer logins for the email are limited");
    // The admin, from their own address, still logs in.
    ok(app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_burst_of_bad_api_keys_from_one_address_gets_429_and_a_known_good_key_still_works() {
    let app = TestApp::spawn_with(|s| s.auth.failed_credentials_per_minute = 5).await;
    let good = app.api_key(&["customers:write"]).await;
    let create = |key: String, email: &'static str| {
        let app = &app;
        async move {
            app.post("/v1/customers", &key, json!({"email": email}))
                .await
        }
    };
    ok(
        create(good.clone(), "one@example.com").await,
        StatusCode::CREATED,
    )
    .await;
    let fresh = app.api_key(&["customers:write"]).await;
    for i in 0..5 {
        let bad = format!("pk_not-a-real-key-{i}");
        problem(
            create(bad, "x@example.com").await,
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
        )
        .await;
    }
    retry_after(create("pk_not-a-real-key-5".into(), "x@example.com").await).await;
    // A key this instance has seen valid is not held back by its neighbours' failures...
    ok(create(good, "two@example.com").await, StatusCode::CREATED).await;
    // ...while an unseen one waits like any other unknown key from this address.
    retry_after(create(fresh.clone(), "three@example.com").await).await;
    // Other addresses are not affected.
    let elsewhere = client_from(3);
    let resp = elsewhere
        .post(app.url("/v1/customers"))
        .bearer_auth(&fresh)
        .json(&json!({"email": "four@example.com"}))
        .send()
        .await
        .unwrap();
    ok(resp, StatusCode::CREATED).await;
}

#[tokio::test]
async fn a_burst_of_bad_tokens_gets_429_and_a_valid_token_still_works() {
    let app = TestApp::spawn_with(|s| s.auth.failed_credentials_per_minute = 5).await;
    let admin = app.admin_token().await;
    for _ in 0..5 {
        problem(
            app.get("/v1/staff", "not.a.token").await,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        )
        .await;
    }
    retry_after(app.get("/v1/staff", "not.a.token").await).await;
    ok(app.get("/v1/staff", &admin).await, StatusCode::OK).await;
}

#[tokio::test]
async fn concurrent_logins_queue_for_a_single_hashing_slot_instead_of_failing() {
    let app = TestApp::spawn_with(|s| {
        s.auth.password_hash_concurrency = 1;
        s.auth.password_hash_wait_ms = 30_000;
    })
    .await;
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let (client, url) = (app.client.clone(), app.url("/v1/auth/login"));
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        ok(task.await.unwrap(), StatusCode::OK).await;
    }
}
