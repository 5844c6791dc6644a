//! Rewards, redemptions and codes.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::program::set_program;
use crate::purchases::purchase;

const SCOPES: &[&str] = &[
    "customers:write",
    "purchases:write",
    "points:read",
    "points:write",
    "rewards:redeem",
    "codes:use",
    "tokens:issue",
];

async fn setup() -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    set_program(&app, json!({"pending_days": 0})).await;
    let key = app.api_key(SCOPES).await;
    let marketer = app.staff_token("marketer").await;
    (app, key, marketer)
}

/// A customer with `points` available.
async fn funded(app: &TestApp, key: &str, email: &str, points: i64) -> String {
    let c = app
        .customer(key, json!({"email": email, "locale": "fa"}))
        .await;
    let id = c["id"].as_str().unwrap().to_owned();
    ok(
        app.post(
            "/v1/purchases",
            key,
            purchase(&format!("o-{email}"), &id, points * 100),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    id
}

async fn reward(app: &TestApp, marketer: &str, extra: Value) -> String {
    let mut body = json!({"name": {"en": "Free coffee", "fa": "قهوه رایگان"}, "kind": "free_product", "sku": "coffee", "cost_points": 300});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let created = ok(
        app.post("/v1/rewards", marketer, body).await,
        StatusCode::CREATED,
    )
    .await;
    created["id"].as_str().unwrap().to_owned()
}

async fn redeem(
    app: &TestApp,
    token: &str,
    customer: &str,
    reward: &str,
    key: &str,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/v1/customers/{customer}/redemptions")))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({"reward_id": reward}))
        .send()
        .await
        .unwrap()
}

async fn use_code(app: &TestApp, token: &str, code: &str, key: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/v1/codes/{code}/use")))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({"store_id": "s1", "purchase_external_id": "o-77"}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn marketers_manage_the_catalogue_and_bad_rewards_are_refused() {
    let (app, key, marketer) = setup().await;
    let id = reward(&app, &marketer, json!({"stock": 3})).await;
    let got = ok(
        app.get(&format!("/v1/rewards/{id}"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(got["name"]["fa"], "قهوه رایگان");
    assert_eq!(got["stock"], 3);
    assert_eq!(got["code_validity_days"], 30);
    let patched = ok(
        app.patch(
            &format!("/v1/rewards/{id}"),
            &marketer,
            json!({"stock": null, "cost_points": 250}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(patched["stock"].is_null());
    assert_eq!(patched["cost_points"], 250);
    let list = ok(app.get("/v1/rewards", &marketer).await, StatusCode::OK).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);

    let bad = json!({"name": "", "kind": "percent_discount", "cost_points": 0, "valid_from": "2027-01-01T00:00:00Z", "valid_until": "2026-01-01T00:00:00Z"});
    let body = problem(
        app.post("/v1/rewards", &marketer, bad).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let mut fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        ["cost_points", "name", "percent_off", "valid_until"]
    );
    let resp = app
        .post(
            "/v1/rewards",
            &marketer,
            json!({"name": "x", "kind": "free_product", "cost_points": 5}),
        )
        .await;
    problem(resp, StatusCode::BAD_REQUEST, "validation_failed").await;
    let resp = app
        .post(
            "/v1/rewards",
            &marketer,
            json!({"name": "x", "kind": "gift", "cost_points": 5, "balance": 1}),
        )
        .await;
    problem(resp, StatusCode::BAD_REQUEST, "invalid_body").await;
    let analyst = app.staff_token("analyst").await;
    problem(
        app.post(
            "/v1/rewards",
            &analyst,
            json!({"name": "x", "kind": "gift", "cost_points": 5}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    problem(
        app.patch("/v1/rewards/nope", &marketer, json!({"active": false}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_customer_redeems_points_for_a_code_the_store_uses_once() {
    let (app, key, marketer) = setup().await;
    let customer = funded(&app, &key, "a@example.com", 1000).await;
    let reward_id = reward(&app, &marketer, json!({})).await;
    let resp = redeem(&app, &key, &customer, &reward_id, "r-1").await;
    let body = ok(resp, StatusCode::CREATED).await;
    let code = body["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 14, "{code}");
    assert!(
        code.chars()
            .all(|c| c == '-' || "23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(c)),
        "{code}"
    );
    assert_eq!(body["points_spent"], 300);
    assert_eq!(body["expires_at"], "2026-12-22T12:00:00Z");
    assert_eq!(
        (
            body["balance"]["available"].as_i64(),
            body["balance"]["redeemed"].as_i64()
        ),
        (Some(700), Some(300))
    );

    let check = ok(
        app.get(&format!("/v1/codes/{}", code.to_lowercase()), &key)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (check["status"].as_str(), check["customer_id"].as_str()),
        (Some("issued"), Some(customer.as_str()))
    );
    let used = ok(use_code(&app, &key, &code, "u-1").await, StatusCode::OK).await;
    assert_eq!(
        (used["status"].as_str(), used["used_store_id"].as_str()),
        (Some("used"), Some("s1"))
    );
    let resp = use_code(&app, &key, &code, "u-1").await;
    assert_eq!(resp.headers()["idempotent-replayed"], "true");
    assert_eq!(ok(resp, StatusCode::OK).await, used);
    problem(
        use_code(&app, &key, &code, "u-2").await,
        StatusCode::CONFLICT,
        "code_not_usable",
    )
    .await;
    problem(
        use_code(&app, &key, "AAAA-BBBB-CCCC", "u-3").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let history = ok(
        app.get(&format!("/v1/customers/{customer}/points/history"), &key)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(history["data"][0]["kind"], "redeem");
    assert_eq!(history["data"][0]["points"], -300);
}

#[tokio::test]
async fn cancelling_an_unused_code_gives_the_points_and_stock_back() {
    let (app, key, marketer) = setup().await;
    let customer = funded(&app, &key, "a@example.com", 1000).await;
    let reward_id = reward(&app, &marketer, json!({"stock": 1})).await;
    let code = ok(
        redeem(&app, &key, &customer, &reward_id, "r-1").await,
        StatusCode::CREATED,
    )
    .await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = funded(&app, &key, "b@example.com", 1000).await;
    problem(
        redeem(&app, &key, &other, &reward_id, "r-2").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "out_of_stock",
    )
    .await;
    let resp = app
        .request(
            Method::POST,
            &format!("/v1/codes/{code}/cancel"),
            Some(&key),
            None,
        )
        .await;
    let body = ok(resp, StatusCode::OK).await;
    assert_eq!(body["code"]["status"], "cancelled");
    assert_eq!(
        (
            body["balance"]["available"].as_i64(),
            body["balance"]["redeemed"].as_i64()
        ),
        (Some(1000), Some(0))
    );
    ok(
        redeem(&app, &key, &other, &reward_id, "r-3").await,
        StatusCode::CREATED,
    )
    .await;
    let resp = app
        .request(
            Method::POST,
            &format!("/v1/codes/{code}/cancel"),
            Some(&key),
            None,
        )
        .await;
    problem(resp, StatusCode::CONFLICT, "code_not_cancellable").await;
    problem(
        use_code(&app, &key, &code, "u-1").await,
        StatusCode::CONFLICT,
        "code_not_usable",
    )
    .await;
}

#[tokio::test]
async fn an_unaffordable_redemption_fails_and_replays_as_a_failure_after_a_top_up() {
    let (app, key, marketer) = setup().await;
    let customer = funded(&app, &key, "a@example.com", 120).await;
    let reward_id = reward(&app, &marketer, json!({"cost_points": 500})).await;
    let body = problem(
        redeem(&app, &key, &customer, &reward_id, "r-1").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "insufficient_points",
    )
    .await;
    assert_eq!(
        body["detail"],
        "the reward costs 500 points; 120 are available"
    );
    ok(
        app.post(
            "/v1/purchases",
            &key,
            purchase("o-more", &customer, 100_000),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let resp = redeem(&app, &key, &customer, &reward_id, "r-1").await;
    assert_eq!(resp.headers()["idempotent-replayed"], "true");
    problem(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "insufficient_points",
    )
    .await;
    ok(
        redeem(&app, &key, &customer, &reward_id, "r-2").await,
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test]
async fn keys_and_answers_with_quotes_and_backslashes_are_stored_and_replayed_as_sent() {
    let (app, key, marketer) = setup().await;
    let customer = funded(&app, &key, "q@example.com", 1000).await;
    // The answer names the reward: quotes, backslashes and dollar signs go into the stored body.
    let reward_id = reward(
        &app,
        &marketer,
        json!({"name": {"en": "Bob's \"best\" \\ coffee $$ $x$", "fa": "قهوه"}}),
    )
    .await;
    let tricky = r"it's a \ key $$ --";
    let first = redeem(&app, &key, &customer, &reward_id, tricky).await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = ok(first, StatusCode::CREATED).await;
    assert_eq!(
        first["reward"]["name"]["en"],
        "Bob's \"best\" \\ coffee $$ $x$"
    );
    let again = redeem(&app, &key, &customer, &reward_id, tricky).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(ok(again, StatusCode::CREATED).await, first);
    // The same key written as an SQL literal would be is another key.
    let escaped = r"it''s a \\ key $$ --";
    let second = ok(
        redeem(&app, &key, &customer, &reward_id, escaped).await,
        StatusCode::CREATED,
    )
    .await;
    assert_ne!(second["code"], first["code"]);
    let balance = ok(
        app.get(&format!("/v1/customers/{customer}/points"), &key)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(balance["available"], 1000 - 2 * 300);
}

#[tokio::test]
async fn a_hundred_concurrent_redemptions_against_ten_rewards_worth_of_points_issue_ten_codes() {
    let (app, key, marketer) = setup().await;
    let customer = funded(&app, &key, "a@example.com", 3000).await;
    let reward_id = reward(&app, &marketer, json!({})).await;
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let (client, url, key, reward_id) = (
                app.client.clone(),
                app.url(&format!("/v1/customers/{customer}/redemptions")),
                key.clone(),
                reward_id.clone(),
            );
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(key)
                    .header("Idempotency-Key", format!("k{i}"))
                    .json(&json!({"reward_id": reward_id}))
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let (mut created, mut refused) = (0, 0);
    for t in tasks {
        let resp = t.await.unwrap();
        if resp.status() == StatusCode::CREATED {
            created += 1;
        } else {
            problem(
                resp,
                StatusCode::UNPROCESSABLE_ENTITY,
                "insufficient_points",
            )
            .await;
            refused += 1;
        }
    }
    assert_eq!((created, refused), (10, 90));
    let balance = ok(
        app.get(&format!("/v1/customers/{customer}/points"), &key)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (balance["available"].as_i64(), balance["redeemed"].as_i64()),
        (Some(0), Some(3000))
    );
}

#[tokio::test]
async fn twenty_concurrent_redeemers_of_a_stock_of_five_get_five_codes() {
    let (app, key, marketer) = setup().await;
    let reward_id = reward(&app, &marketer, json!({"stock": 5, "cost_points": 10})).await;
    let mut customers = Vec::new();
    for i in 0..20 {
        customers.push(funded(&app, &key, &format!("c{i}@example.com"), 10).await);
    }
    let tasks: Vec<_> = customers
        .iter()
        .map(|c| {
            let (client, url, key, reward_id) = (
                app.client.clone(),
                app.url(&format!("/v1/customers/{c}/redemptions")),
                key.clone(),
                reward_id.clone(),
            );
            let idem = format!("k-{c}");
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(key)
                    .header("Idempotency-Key", idem)
                    .json(&json!({"reward_id": reward_id}))
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let (mut created, mut refused) = (0, 0);
    for t in tasks {
        let resp = t.await.unwrap();
        if resp.status() == StatusCode::CREATED {
            created += 1;
        } else {
            problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "out_of_stock").await;
            refused += 1;
        }
    }
    assert_eq!((created, refused), (5, 15));
    let r = ok(
        app.get(&format!("/v1/rewards/{reward_id}"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(r["stock"], 0);
}

#[tokio::test]
async fn limits_validity_and_activity_are_enforced() {
    let (app, key, marketer) = setup().await;
    let customer = funded(&app, &key, "a@example.com", 1000).await;
    let limited = reward(
        &app,
        &marketer,
        json!({"per_customer_limit": 2, "cost_points": 10}),
    )
    .await;
    ok(
        redeem(&app, &key, &customer, &limited, "a").await,
        StatusCode::CREATED,
    )
    .await;
    ok(
        redeem(&app, &key, &customer, &limited, "b").await,
        StatusCode::CREATED,
    )
    .await;
    problem(
        redeem(&app, &key, &customer, &limited, "c").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reward_limit_reached",
    )
    .await;
    let inactive = reward(&app, &marketer, json!({"active": false})).await;
    problem(
        redeem(&app, &key, &customer, &inactive, "d").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reward_unavailable",
    )
    .await;
    let later = reward(
        &app,
        &marketer,
        json!({"valid_from": "2027-01-01T00:00:00Z"}),
    )
    .await;
    problem(
        redeem(&app, &key, &customer, &later, "e").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reward_unavailable",
    )
    .await;
    problem(
        redeem(&app, &key, &customer, "nope", "f").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        redeem(&app, &key, "nobody", &limited, "g").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let resp = app
        .post(
            &format!("/v1/customers/{customer}/redemptions"),
            &key,
            json!({"reward_id": limited}),
        )
        .await;
    problem(resp, StatusCode::BAD_REQUEST, "idempotency_key_required").await;
    let reader = app.api_key(&["points:read"]).await;
    problem(
        redeem(&app, &reader, &customer, &limited, "h").await,
        StatusCode::FORBIDDEN,
        "missing_scope",
    )
    .await;
}

#[tokio::test]
async fn a_code_past_its_validity_reads_expired_and_cannot_be_used() {
    let (app, key, marketer) = setup().await;
    let customer = funded(&app, &key, "a@example.com", 1000).await;
    let reward_id = reward(&app, &marketer, json!({"code_validity_days": 7})).await;
    let code = ok(
        redeem(&app, &key, &customer, &reward_id, "r").await,
        StatusCode::CREATED,
    )
    .await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(chrono::Duration::days(8));
    let check = ok(
        app.get(&format!("/v1/codes/{code}"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(check["status"], "expired");
    problem(
        use_code(&app, &key, &code, "u").await,
        StatusCode::CONFLICT,
        "code_not_usable",
    )
    .await;
}

#[tokio::test]
async fn the_app_shows_the_catalogue_and_redeems_for_its_own_customer() {
    let (app, key, marketer) = setup().await;
    let customer = funded(&app, &key, "a@example.com", 400).await;
    let cheap = reward(&app, &marketer, json!({})).await;
    let dear = reward(
        &app,
        &marketer,
        json!({"cost_points": 5000, "name": "Big gift", "kind": "gift", "sku": null}),
    )
    .await;
    let token = app.customer_token(&key, &customer).await;
    let catalogue = ok(app.get("/v1/me/rewards", &token).await, StatusCode::OK).await;
    let by_id = |id: &str| {
        catalogue
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id(&cheap)["name"], "قهوه رایگان");
    assert_eq!(by_id(&cheap)["affordable"], true);
    assert_eq!(by_id(&dear)["affordable"], false);
    assert_eq!(by_id(&dear)["locked_by_tier"], false);
    let resp = app
        .client
        .post(app.url("/v1/me/redemptions"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "app-1")
        .json(&json!({"reward_id": cheap}))
        .send()
        .await
        .unwrap();
    let body = ok(resp, StatusCode::CREATED).await;
    let codes = ok(app.get("/v1/me/codes", &token).await, StatusCode::OK).await;
    assert_eq!(codes[0]["code"], body["code"]);
    problem(
        app.get(
            &format!("/v1/codes/{}", body["code"].as_str().unwrap()),
            &token,
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn concurrent_earning_and_redeeming_on_one_customer_leave_an_exact_balance() {
    let (app, key, marketer) = setup().await;
    let customer = funded(&app, &key, "a@example.com", 600).await;
    let reward_id = reward(&app, &marketer, json!({"cost_points": 50})).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (client, key, customer, reward_id) = (
            app.client.clone(),
            key.clone(),
            customer.clone(),
            reward_id.clone(),
        );
        let base = app.base.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let body = purchase(&format!("o-c{i}"), &customer, 3000);
                client
                    .post(format!("{base}/v1/purchases"))
                    .bearer_auth(key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
            } else {
                client
                    .post(format!("{base}/v1/customers/{customer}/redemptions"))
                    .bearer_auth(key)
                    .header("Idempotency-Key", format!("r{i}"))
                    .json(&json!({"reward_id": reward_id}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        }));
    }
    let mut redeemed = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        let status = t.await.unwrap();
        if i % 2 == 0 {
            assert_eq!(status, StatusCode::CREATED);
        } else if status == StatusCode::CREATED {
            redeemed += 1;
        } else {
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        }
    }
    // 600 funded + 10 purchases of 30 points, minus 50 per code issued.
    let balance = ok(
        app.get(&format!("/v1/customers/{customer}/points"), &key)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        balance["available"].as_i64().unwrap(),
        600 + 10 * 30 - 50 * redeemed
    );
    assert_eq!(balance["redeemed"].as_i64().unwrap(), 50 * redeemed);
    assert_eq!(
        redeemed, 10,
        "600 points afford all ten redemptions whatever the order"
    );
    let history = ok(
        app.get(
            &format!("/v1/customers/{customer}/points/history?limit=200"),
            &key,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let sum: i64 = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["points"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, balance["available"].as_i64().unwrap());
}

#[tokio::test]
async fn creating_config_with_an_idempotency_key_happens_once() {
    let (app, _, marketer) = setup().await;
    let post = |path: &str, body: Value| {
        app.client
            .post(app.url(path))
            .bearer_auth(&marketer)
            .header("Idempotency-Key", "setup-1")
            .json(&body)
            .send()
    };
    let gift = json!({"name": "Mug", "kind": "gift", "cost_points": 10});
    let first = ok(
        post("/v1/rewards", gift.clone()).await.unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let resp = post("/v1/rewards", gift).await.unwrap();
    assert_eq!(resp.headers()["idempotent-replayed"], "true");
    assert_eq!(ok(resp, StatusCode::CREATED).await["id"], first["id"]);
    let list = ok(app.get("/v1/rewards", &marketer).await, StatusCode::OK).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let resp = post(
        "/v1/rewards",
        json!({"name": "Cap", "kind": "gift", "cost_points": 10}),
    )
    .await
    .unwrap();
    problem(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    // A key names one request: reusing it for another path is refused too.
    let resp = post("/v1/tiers", json!({"name": "Gold", "threshold": 100}))
        .await
        .unwrap();
    problem(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
}
