//! Birthday offers: made at the customer's local hour, once a year, with a gift code and bonus
//! points; `GET /v1/me/offers`; and the program's birthday settings.

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::program::set_program;

const SCOPES: &[&str] = &[
    "customers:read",
    "customers:write",
    "tokens:issue",
    "codes:use",
    "points:read",
];

/// An app whose program gives `bonus_points` and a gift reward on birthdays (`rules` replaces
/// birthday settings); returns the app, an API key and the reward's id.
async fn setup(rules: Value) -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let reward = app
        .reward_id(
            &admin,
            json!({"name": {"en": "Birthday cake", "fa": "کیک تولد"}, "kind": "gift",
                   "cost_points": 500}),
        )
        .await;
    let mut birthday = json!({
        "enabled": true, "bonus_points": 50, "reward_id": reward, "days_before": 0,
        "local_hour": 9, "feb29": "feb28", "min_days_known": 30, "valid_days": 30
    });
    for (k, v) in rules.as_object().unwrap() {
        birthday[k] = v.clone();
    }
    set_program(&app, json!({"birthday": birthday})).await;
    let key = app.api_key(SCOPES).await;
    (app, key, reward)
}

/// Creates a customer with email-marketing consent unless `extra` says otherwise.
async fn member(app: &TestApp, key: &str, email: &str, extra: Value) -> String {
    let mut body = json!({"email": email, "consents": {"email_marketing": true}});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.customer(key, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn at(s: &str) -> chrono::DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&Utc)
}

/// The customer's messages of a kind, as staff see them.
pub async fn messages(app: &TestApp, customer: &str, kind: &str) -> Vec<Value> {
    let admin = app.admin_token().await;
    let body = ok(
        app.get(
            &format!("/v1/messages?customer_id={customer}&kind={kind}"),
            &admin,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    body["data"].as_array().unwrap().clone()
}

/// The stored payload of a message (what the templates will render).
pub fn payload(app: &TestApp, message_id: &str) -> Value {
    use diesel::prelude::*;
    use patron::db::schema::messages;
    let mut conn = app.pool.get().unwrap();
    let stored: String = messages::table
        .find(message_id)
        .select(messages::payload)
        .first(&mut *conn)
        .unwrap();
    serde_json::from_str(&stored).unwrap()
}

async fn offers(app: &TestApp, key: &str, customer: &str) -> Vec<Value> {
    let token = app.customer_token(key, customer).await;
    let body = ok(app.get("/v1/me/offers", &token).await, StatusCode::OK).await;
    assert_eq!(body["next_cursor"], Value::Null);
    body["data"].as_array().unwrap().clone()
}

async fn offers_made(app: &TestApp) -> u64 {
    app.run_job("birthday_offers").await.items
}

#[tokio::test]
async fn the_offer_comes_at_nine_local_in_tehran_and_in_los_angeles() {
    let (app, key, reward) = setup(json!({})).await;
    let tehran = member(
        &app,
        &key,
        "tehran@example.com",
        json!({"time_zone": "Asia/Tehran", "birthday": "1990-03-10", "locale": "fa"}),
    )
    .await;
    let la = member(
        &app,
        &key,
        "la@example.com",
        json!({"time_zone": "America/Los_Angeles", "birthday": "--03-10"}),
    )
    .await;
    // Born on another day: never touched.
    let other = member(
        &app,
        &key,
        "other@example.com",
        json!({"birthday": "1990-06-15"}),
    )
    .await;

    // 09:00 in Tehran (UTC+03:30) on 10 March 2027 is 05:30 UTC, still 9 March in Los Angeles.
    app.clock.set(at("2027-03-10T05:29:00Z"));
    assert_eq!(offers_made(&app).await, 0);
    assert!(messages(&app, &tehran, "birthday_offer").await.is_empty());
    app.clock.set(at("2027-03-10T05:30:00Z"));
    assert_eq!(offers_made(&app).await, 1);
    let sent = messages(&app, &tehran, "birthday_offer").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["status"], "pending");
    assert_eq!(sent[0]["category"], "marketing");
    assert_eq!(sent[0]["cause"]["type"], "offer");
    assert_eq!(sent[0]["due_at"], "2027-03-10T05:30:00Z");
    assert!(messages(&app, &la, "birthday_offer").await.is_empty());

    // 09:00 in Los Angeles (UTC−8 until 14 March) is 17:00 UTC.
    app.clock.set(at("2027-03-10T16:59:00Z"));
    assert_eq!(offers_made(&app).await, 0);
    assert!(messages(&app, &la, "birthday_offer").await.is_empty());
    app.clock.set(at("2027-03-10T17:00:00Z"));
    assert_eq!(offers_made(&app).await, 1);
    let sent = messages(&app, &la, "birthday_offer").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["due_at"], "2027-03-10T17:00:00Z");
    assert!(messages(&app, &other, "birthday_offer").await.is_empty());

    // The gift: in the app, with the code the message carries, valid for 30 days after the
    // birthday to the end of the customer's local day.
    let mine = offers(&app, &key, &tehran).await;
    assert_eq!(mine.len(), 1);
    let offer = &mine[0];
    assert_eq!(offer["kind"], "birthday");
    assert_eq!(offer["occasion"], "2027");
    assert_eq!(offer["reward"]["id"], reward.as_str());
    assert_eq!(offer["reward"]["name"], "کیک تولد");
    assert_eq!(offer["code_status"], "issued");
    assert_eq!(offer["bonus_points"], 50);
    assert_eq!(offer["valid_from"], "2027-03-10T05:30:00Z");
    // 10 April 00:00 in Tehran.
    assert_eq!(offer["code_expires_at"], "2027-04-09T20:30:00Z");
    assert_eq!(offer["valid_until"], "2027-04-09T20:30:00Z");
    let sent = messages(&app, &tehran, "birthday_offer").await;
    assert_eq!(sent[0]["cause"]["id"], offer["id"]);
    let p = payload(&app, sent[0]["id"].as_str().unwrap());
    assert_eq!(p["code"], offer["code"]);
    assert_eq!(p["code_expires_at"], "2027-04-09T20:30:00Z");
    assert_eq!(p["bonus_points"], 50);
    assert_eq!(p["reward_name"], "کیک تولد");
}

#[tokio::test]
async fn feb_29_falls_on_feb_28_or_mar_1_in_other_years() {
    for (rule, early, day) in [
        ("feb28", "2027-02-27T09:00:00Z", "2027-02-28"),
        ("mar1", "2027-02-28T09:00:00Z", "2027-03-01"),
    ] {
        let (app, key, _) = setup(json!({"feb29": rule})).await;
        let leapling = member(
            &app,
            &key,
            "leap@example.com",
            json!({"birthday": "2000-02-29"}),
        )
        .await;
        app.clock.set(at(early));
        assert_eq!(offers_made(&app).await, 0, "{rule}");
        app.clock.set(at(&format!("{day}T08:59:00Z")));
        assert_eq!(offers_made(&app).await, 0, "{rule}");
        app.clock.set(at(&format!("{day}T09:00:00Z")));
        assert_eq!(offers_made(&app).await, 1, "{rule}");
        let sent = messages(&app, &leapling, "birthday_offer").await;
        assert_eq!(sent.len(), 1, "{rule}");
        assert_eq!(offers(&app, &key, &leapling).await[0]["occasion"], "2027");
        // In a leap year the day is 29 February itself.
        app.clock.set(at("2028-02-28T09:00:00Z"));
        assert_eq!(offers_made(&app).await, 0, "{rule}");
        app.clock.set(at("2028-02-29T09:00:00Z"));
        assert_eq!(offers_made(&app).await, 1, "{rule}");
        assert_eq!(
            messages(&app, &leapling, "birthday_offer").await.len(),
            2,
            "{rule}"
        );
    }
}

#[tokio::test]
async fn a_birthday_is_offered_once_however_often_and_concurrently_the_job_runs() {
    let (app, key, _) = setup(json!({"days_before": 2})).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(
            member(
                &app,
                &key,
                &format!("twin{i}@example.com"),
                json!({"birthday": "--05-20"}),
            )
            .await,
        );
    }
    // Two days ahead, at 09:00 UTC (the program's zone).
    app.clock.set(at("2027-05-18T09:00:00Z"));
    let (a, b) = tokio::join!(
        app.run_job("birthday_offers"),
        app.run_job("birthday_offers")
    );
    assert_eq!(a.items + b.items, 6, "{a:?} {b:?}");
    assert_eq!(a.items + a.skipped + b.items + b.skipped, 12, "{a:?} {b:?}");
    assert_eq!(offers_made(&app).await, 0);
    app.clock.set(at("2027-05-18T20:00:00Z"));
    assert_eq!(offers_made(&app).await, 0);
    app.clock.set(at("2027-05-20T09:00:00Z"));
    assert_eq!(offers_made(&app).await, 0);
    for id in &ids {
        assert_eq!(messages(&app, id, "birthday_offer").await.len(), 1);
        assert_eq!(offers(&app, &key, id).await.len(), 1);
        let token = app.customer_token(&key, id).await;
        let points = ok(app.get("/v1/me/points", &token).await, StatusCode::OK).await;
        assert_eq!(points["available"], 50);
    }
    // The next year, once more.
    app.clock.set(at("2028-05-18T09:30:00Z"));
    assert_eq!(offers_made(&app).await, 6);
}

#[tokio::test]
async fn a_run_a_few_hours_late_catches_up_but_a_day_late_does_not() {
    let (app, key, _) = setup(json!({})).await;
    let late = member(
        &app,
        &key,
        "late@example.com",
        json!({"birthday": "--04-01"}),
    )
    .await;
    let missed = member(
        &app,
        &key,
        "missed@example.com",
        json!({"birthday": "--04-02"}),
    )
    .await;
    app.clock.set(at("2027-04-01T14:00:00Z"));
    assert_eq!(offers_made(&app).await, 1);
    assert_eq!(messages(&app, &late, "birthday_offer").await.len(), 1);
    app.clock.set(at("2027-04-03T09:00:00Z"));
    assert_eq!(offers_made(&app).await, 0);
    assert!(messages(&app, &missed, "birthday_offer").await.is_empty());
}

#[tokio::test]
async fn without_marketing_consent_the_message_is_suppressed_but_the_gift_is_in_the_app() {
    let (app, key, _) = setup(json!({})).await;
    let quiet = member(
        &app,
        &key,
        "quiet@example.com",
        json!({"birthday": "1980-07-07", "consents": {"email_marketing": false, "surveys": true}}),
    )
    .await;
    app.clock.set(at("2027-07-07T09:00:00Z"));
    assert_eq!(offers_made(&app).await, 1);
    let sent = messages(&app, &quiet, "birthday_offer").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["status"], "suppressed");
    assert_eq!(sent[0]["reason"], "no_marketing_consent");
    let mine = offers(&app, &key, &quiet).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["code_status"], "issued");
    // The suppression is on the timeline.
    let admin = app.admin_token().await;
    let timeline = ok(
        app.get(&format!("/v1/customers/{quiet}/timeline"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(
        timeline["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "message_suppressed"),
        "{timeline}"
    );
}

#[tokio::test]
async fn a_birthday_entered_or_changed_too_recently_earns_nothing_that_year() {
    let (app, key, _) = setup(json!({})).await;
    // Known since 22 November 2026.
    let old = member(
        &app,
        &key,
        "old@example.com",
        json!({"birthday": "--12-30"}),
    )
    .await;
    let moved = member(
        &app,
        &key,
        "moved@example.com",
        json!({"birthday": "--06-01"}),
    )
    .await;
    let year_fixed = member(
        &app,
        &key,
        "year@example.com",
        json!({"birthday": "--12-30"}),
    )
    .await;
    let unset = member(&app, &key, "unset@example.com", json!({})).await;
    // 10 December: the day moves to 30 December (20 days ahead), a year is added to the same
    // day, and a customer enters their birthday in the app.
    app.clock.set(at("2026-12-10T12:00:00Z"));
    let admin = app.admin_token().await;
    ok(
        app.patch(
            &format!("/v1/customers/{moved}"),
            &admin,
            json!({"birthday": "1991-12-30"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    ok(
        app.patch(
            &format!("/v1/customers/{year_fixed}"),
            &admin,
            json!({"birthday": "1979-12-30"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let token = app.customer_token(&key, &unset).await;
    ok(
        app.patch("/v1/me", &token, json!({"birthday": "1995-12-30"}))
            .await,
        StatusCode::OK,
    )
    .await;
    problem(
        app.patch("/v1/me", &token, json!({"birthday": "1995-12-31"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "birthday_already_set",
    )
    .await;
    app.clock.set(at("2026-12-30T09:00:00Z"));
    assert_eq!(offers_made(&app).await, 2);
    assert_eq!(messages(&app, &old, "birthday_offer").await.len(), 1);
    assert_eq!(messages(&app, &year_fixed, "birthday_offer").await.len(), 1);
    assert!(messages(&app, &moved, "birthday_offer").await.is_empty());
    assert!(messages(&app, &unset, "birthday_offer").await.is_empty());
    // A year later both are known long enough.
    app.clock.set(at("2027-12-30T09:00:00Z"));
    assert_eq!(offers_made(&app).await, 4);
}

#[tokio::test]
async fn erased_and_merged_away_customers_get_no_offer() {
    let (app, key, _) = setup(json!({})).await;
    let admin = app.admin_token().await;
    let erased = member(
        &app,
        &key,
        "gone@example.com",
        json!({"birthday": "--08-08"}),
    )
    .await;
    let target = member(&app, &key, "target@example.com", json!({})).await;
    let source = member(
        &app,
        &key,
        "source@example.com",
        json!({"birthday": "--08-08"}),
    )
    .await;
    ok(
        app.request(
            Method::DELETE,
            &format!("/v1/customers/{erased}"),
            Some(&admin),
            None,
        )
        .await,
        StatusCode::NO_CONTENT,
    )
    .await;
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
    app.clock.set(at("2027-08-08T09:00:00Z"));
    // The survivor took the birthday over (known since the source's was entered).
    assert_eq!(offers_made(&app).await, 1);
    assert_eq!(messages(&app, &target, "birthday_offer").await.len(), 1);
    assert!(messages(&app, &erased, "birthday_offer").await.is_empty());
}

#[tokio::test]
async fn the_bonus_is_on_the_balance_and_explained_by_the_history() {
    let (app, key, _) = setup(json!({"bonus_points": 75})).await;
    let id = member(
        &app,
        &key,
        "bonus@example.com",
        json!({"birthday": "--09-09"}),
    )
    .await;
    app.clock.set(at("2027-09-09T09:00:00Z"));
    assert_eq!(offers_made(&app).await, 1);
    let offer_id = offers(&app, &key, &id).await[0]["id"].clone();
    let token = app.customer_token(&key, &id).await;
    let points = ok(app.get("/v1/me/points", &token).await, StatusCode::OK).await;
    assert_eq!(points["available"], 75);
    assert_eq!(points["lifetime_earned"], 75);
    let history = ok(
        app.get("/v1/me/points/history", &token).await,
        StatusCode::OK,
    )
    .await;
    let entries = history["data"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{history}");
    assert_eq!(entries[0]["kind"], "bonus");
    assert_eq!(entries[0]["points"], 75);
    assert_eq!(entries[0]["balance_after"], 75);
    assert_eq!(entries[0]["source"]["type"], "offer");
    assert_eq!(entries[0]["source"]["id"], offer_id);
    assert_eq!(entries[0]["note"], "birthday");
}

#[tokio::test]
async fn the_gift_code_is_used_at_the_till_once_and_a_cancelled_gift_gives_back_nothing() {
    let (app, key, reward) = setup(json!({"bonus_points": 0})).await;
    let used = member(
        &app,
        &key,
        "cake@example.com",
        json!({"birthday": "--10-10"}),
    )
    .await;
    let cancelled = member(
        &app,
        &key,
        "nocake@example.com",
        json!({"birthday": "--10-10"}),
    )
    .await;
    app.clock.set(at("2027-10-10T09:00:00Z"));
    assert_eq!(offers_made(&app).await, 2);
    let offer = offers(&app, &key, &used).await[0].clone();
    assert_eq!(offer["bonus_points"], 0);
    let code = offer["code"].as_str().unwrap().to_owned();
    let info = ok(
        app.get(&format!("/v1/codes/{code}"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(info["points_spent"], 0);
    assert_eq!(info["reward_id"], reward.as_str());
    let use_code = |code: String| {
        app.client
            .post(app.url(&format!("/v1/codes/{code}/use")))
            .bearer_auth(&key)
            .header(
                "Idempotency-Key",
                format!("use-{code}-{}", uuid::Uuid::now_v7()),
            )
            .json(&json!({"store_id": "s1"}))
            .send()
    };
    let body = ok(use_code(code.clone()).await.unwrap(), StatusCode::OK).await;
    assert_eq!(body["status"], "used");
    problem(
        use_code(code.clone()).await.unwrap(),
        StatusCode::CONFLICT,
        "code_not_usable",
    )
    .await;
    // A used gift is no longer an active offer.
    assert!(offers(&app, &key, &used).await.is_empty());

    let code = offers(&app, &key, &cancelled).await[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = ok(
        app.post(&format!("/v1/codes/{code}/cancel"), &key, json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["code"]["status"], "cancelled");
    assert_eq!(body["balance"]["available"], 0);
    assert!(offers(&app, &key, &cancelled).await.is_empty());
    let token = app.customer_token(&key, &cancelled).await;
    let history = ok(
        app.get("/v1/me/points/history", &token).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(history["data"].as_array().unwrap().len(), 0, "{history}");
}

#[tokio::test]
async fn a_points_only_offer_shows_while_valid() {
    let (app, key, _) = setup(json!({"reward_id": null, "valid_days": 7})).await;
    let id = member(
        &app,
        &key,
        "points@example.com",
        json!({"birthday": "--11-11"}),
    )
    .await;
    app.clock.set(at("2027-11-11T09:00:00Z"));
    assert_eq!(offers_made(&app).await, 1);
    let mine = offers(&app, &key, &id).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["code"], Value::Null);
    assert_eq!(mine[0]["reward"], Value::Null);
    assert_eq!(mine[0]["code_status"], Value::Null);
    assert_eq!(mine[0]["valid_until"], "2027-11-19T00:00:00Z");
    let sent = messages(&app, &id, "birthday_offer").await;
    let p = payload(&app, sent[0]["id"].as_str().unwrap());
    assert_eq!(
        p,
        json!({"code": null, "code_expires_at": null, "bonus_points": 50, "reward_name": null})
    );
    app.clock.set(at("2027-11-19T00:00:00Z"));
    assert!(offers(&app, &key, &id).await.is_empty());
}

#[tokio::test]
async fn offers_need_a_customer_token() {
    let (app, key, _) = setup(json!({})).await;
    problem(
        app.get("/v1/me/offers", &key).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    problem(
        app.request(Method::GET, "/v1/me/offers", None, None).await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    )
    .await;
}

#[tokio::test]
async fn the_program_refuses_an_unknown_birthday_reward_and_an_empty_gift() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let mut doc = crate::program::defaults();
    doc["birthday"]["enabled"] = json!(true);
    doc["birthday"]["reward_id"] = json!("no-such-reward");
    let body = problem(
        app.request(Method::PUT, "/v1/program", Some(&admin), Some(doc.clone()))
            .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "birthday.reward_id", "{body}");
    doc["birthday"]["reward_id"] = Value::Null;
    doc["birthday"]["bonus_points"] = json!(0);
    let body = problem(
        app.request(Method::PUT, "/v1/program", Some(&admin), Some(doc.clone()))
            .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "birthday", "{body}");
    doc["birthday"]["feb29"] = json!("feb30");
    problem(
        app.request(Method::PUT, "/v1/program", Some(&admin), Some(doc.clone()))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    // Off, nothing is needed; points alone are a gift.
    doc["birthday"]["feb29"] = json!("mar1");
    doc["birthday"]["enabled"] = json!(false);
    ok(
        app.request(Method::PUT, "/v1/program", Some(&admin), Some(doc.clone()))
            .await,
        StatusCode::OK,
    )
    .await;
    doc["birthday"]["enabled"] = json!(true);
    doc["birthday"]["bonus_points"] = json!(10);
    ok(
        app.request(Method::PUT, "/v1/program", Some(&admin), Some(doc))
            .await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn no_offers_while_the_program_has_them_off() {
    let (app, key, _) = setup(json!({"enabled": false})).await;
    let id = member(
        &app,
        &key,
        "off@example.com",
        json!({"birthday": "--03-03"}),
    )
    .await;
    app.clock.set(at("2027-03-03T09:00:00Z"));
    assert_eq!(offers_made(&app).await, 0);
    assert!(messages(&app, &id, "birthday_offer").await.is_empty());
}
