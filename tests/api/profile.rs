//! The 360° profile: figures checked against a scripted history, the timeline's order and pages,
//! segments moving with the clock, search, tags, and who may read what.

use std::collections::HashSet;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use patron::clock::Clock;

use crate::helpers::{TestApp, ok, problem};
use crate::program::set_program;

async fn store_key(app: &TestApp) -> String {
    app.api_key(&[
        "customers:read",
        "customers:write",
        "purchases:write",
        "points:read",
        "points:write",
        "rewards:redeem",
        "codes:use",
        "tokens:issue",
    ])
    .await
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn buy(app: &TestApp, key: &str, body: Value) -> Value {
    ok(
        app.post("/v1/purchases", key, body).await,
        StatusCode::CREATED,
    )
    .await
}

async fn give_back(app: &TestApp, key: &str, purchase: &str, body: Value) {
    ok(
        app.post(&format!("/v1/purchases/{purchase}/returns"), key, body)
            .await,
        StatusCode::CREATED,
    )
    .await;
}

async fn profile(app: &TestApp, token: &str, id: &str) -> Value {
    ok(
        app.get(&format!("/v1/customers/{id}/profile"), token).await,
        StatusCode::OK,
    )
    .await
}

async fn run_segments(app: &TestApp) -> u64 {
    let (pool, clock): (patron::db::Pool, patron::clock::SharedClock) =
        (app.pool.clone(), app.clock.clone());
    tokio::task::spawn_blocking(move || patron::customers::stats::recompute_segments(&pool, &clock))
        .await
        .unwrap()
        .unwrap()
        .items
}

#[tokio::test]
async fn the_profile_adds_up_a_scripted_history_with_returns() {
    let app = TestApp::spawn().await;
    set_program(&app, json!({"currency": "EUR", "pending_days": 0})).await;
    let key = store_key(&app).await;
    let ana = app
        .customer(
            &key,
            json!({"email": "ana@example.com", "first_name": "Ana", "last_name": "Rezaei",
                   "external_id": "pos-ana", "tags": ["vip"], "attributes": {"persona": "planner"},
                   "preferred_channel": "email", "consents": {"email_marketing": true}}),
        )
        .await;
    let id = ana["id"].as_str().unwrap().to_owned();
    let code = ana["referral_code"].as_str().unwrap().to_owned();
    app.customer(
        &key,
        json!({"email": "friend@example.com", "referral_code_used": code}),
    )
    .await;

    let p1 = buy(&app, &key, json!({"external_id": "o-1", "customer_id": id, "channel": "store",
        "store_id": "S1", "occurred_at": "2026-11-01T10:00:00Z", "currency": "EUR", "total_minor": 2500,
        "lines": [{"sku": "coffee", "category": "drinks", "quantity": 2, "unit_price_minor": 500},
                  {"sku": "mug", "category": "homeware", "quantity": 1, "unit_price_minor": 1500}]}))
    .await;
    buy(&app, &key, json!({"external_id": "o-2", "customer_id": id, "channel": "web",
        "occurred_at": "2026-11-10T10:00:00Z", "currency": "EUR", "total_minor": 3000,
        "lines": [{"sku": "beans", "category": "drinks", "quantity": 3, "unit_price_minor": 1000}]}))
    .await;
    let p3 = buy(
        &app,
        &key,
        json!({"external_id": "o-3", "customer_external_id": "pos-ana",
        "channel": "store", "store_id": "S2", "occurred_at": "2026-11-20T10:00:00Z",
        "currency": "EUR", "total_minor": 4000}),
    )
    .await;
    give_back(
        &app,
        &key,
        p1["id"].as_str().unwrap(),
        json!({"external_id": "r-1", "lines": [{"sku": "mug", "quantity": 1}]}),
    )
    .await;
    give_back(
        &app,
        &key,
        p3["id"].as_str().unwrap(),
        json!({"external_id": "r-2", "amount_minor": 1000}),
    )
    .await;

    let analyst = app.staff_token("analyst").await;
    let p = profile(&app, &analyst, &id).await;
    assert_eq!(p["customer"]["id"], id);
    assert_eq!(p["customer"]["email"], "ana@example.com");
    assert_eq!(p["customer"]["consents"]["email_marketing"], true);
    assert_eq!(p["customer"]["preferred_channel"], "email");
    assert_eq!(p["customer"]["tags"], json!(["vip"]));
    assert_eq!(p["customer"]["attributes"]["persona"], "planner");

    let s = &p["purchases"];
    assert_eq!(s["count"], 3);
    assert_eq!(s["total_minor"], 9500);
    assert_eq!(s["returned_minor"], 2500);
    assert_eq!(s["net_minor"], 7000);
    assert_eq!(s["average_order_minor"], 2333);
    assert_eq!(s["currency"], "EUR");
    assert_eq!(s["first_purchase_at"], "2026-11-01T10:00:00Z");
    assert_eq!(s["last_purchase_at"], "2026-11-20T10:00:00Z");
    assert_eq!(s["favourite_category"], "drinks");
    let usage = |list: &Value| -> Vec<(String, i64, i64)> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|u| {
                (
                    u["value"].as_str().unwrap().to_owned(),
                    u["purchases"].as_i64().unwrap(),
                    u["spent_minor"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    // store: 2500 + 4000 - 1500 - 1000; web: 3000.
    assert_eq!(
        usage(&s["channels"]),
        vec![("store".into(), 2, 4000), ("web".into(), 1, 3000)]
    );
    assert_eq!(
        usage(&s["stores"]),
        vec![("S2".into(), 1, 3000), ("S1".into(), 1, 1000)]
    );
    assert_eq!(
        usage(&s["categories"]),
        vec![("drinks".into(), 2, 4000), ("homeware".into(), 1, 0)]
    );

    // Points: 25 + 30 + 40 earned; the mug's 15 and a quarter of o-3's 40 went back.
    let points = ok(
        app.get(&format!("/v1/customers/{id}/points"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(points["available"], 70);
    assert_eq!(p["points"]["available"], 70);
    assert_eq!(p["points"]["lifetime_earned"], points["lifetime_earned"]);
    assert_eq!(p["tier"]["qualifying_points"], 70);

    // Three purchases in the last 30 days, fewer than loyal_purchases (4): promising.
    assert_eq!(p["segment"]["segment"], "promising");
    assert_eq!(p["journey_stage"], "repeat");
    assert_eq!(p["referrals"]["code"], code.as_str());
    assert_eq!(p["referrals"]["made"], 1);
    assert_eq!(p["referrals"]["successful"], 0);
    assert_eq!(p["open_tickets"], json!([]));
    assert_eq!(
        p["last_feedback"],
        json!({"nps": null, "csat": null, "ces": null})
    );

    // The latest entries, newest first: the two returns happened now, after every purchase.
    let timeline = p["timeline"].as_array().unwrap();
    assert!(!timeline.is_empty() && timeline.len() <= 20);
    let kinds: HashSet<&str> = timeline
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for kind in ["created", "purchase", "return", "points"] {
        assert!(kinds.contains(kind), "{kind} missing from {timeline:?}");
    }
    let times: Vec<&str> = timeline.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    let oldest_purchase = timeline.iter().rfind(|e| e["type"] == "purchase").unwrap();
    assert_eq!(oldest_purchase["channel"], "store");
    assert_eq!(oldest_purchase["ref"]["id"], p1["id"]);
    assert!(
        oldest_purchase["summary"]
            .as_str()
            .unwrap()
            .contains("25.00 EUR"),
        "{oldest_purchase}"
    );

    // The same customer reached through their external id's alias-free lookup agrees.
    assert_eq!(
        profile(&app, &analyst, &id).await["purchases"],
        p["purchases"]
    );
    problem(
        app.get("/v1/customers/nobody/profile", &analyst).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn the_timeline_pages_through_every_kind_in_time_order() {
    let app = TestApp::spawn().await;
    set_program(&app, json!({"pending_days": 0})).await;
    let key = store_key(&app).await;
    let marketer = app.staff_token("marketer").await;
    ok(
        app.post(
            "/v1/tiers",
            &marketer,
            json!({"name": "Silver", "threshold": 10}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let reward = app
        .reward_id(
            &marketer,
            json!({"name": "Coffee", "kind": "gift", "cost_points": 5, "code_validity_days": 30}),
        )
        .await;
    let id = app.customer(&key, json!({"email": "tl@example.com"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (n, day) in [(1, "05"), (2, "15"), (3, "21")] {
        buy(&app, &key, json!({"external_id": format!("t-{n}"), "customer_id": id,
            "channel": if n == 2 { "web" } else { "store" },
            "occurred_at": format!("2026-11-{day}T09:00:00Z"), "currency": "USD", "total_minor": 1000}))
        .await;
    }
    app.clock.advance(Duration::minutes(5));
    let code = app.redeem(&key, &id, &reward, "r-1").await;
    app.clock.advance(Duration::minutes(5));
    ok(
        app.client
            .post(app.url(&format!("/v1/codes/{code}/use")))
            .bearer_auth(&key)
            .header("Idempotency-Key", "use-1")
            .json(&json!({"store_id": "S1"}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let support = app.staff_token("support").await;
    let resp = app
        .client
        .post(app.url(&format!("/v1/customers/{id}/points/adjustments")))
        .bearer_auth(&support)
        .header("Idempotency-Key", "adj-1")
        .json(&json!({"points": 3, "reason": "goodwill"}))
        .send()
        .await
        .unwrap();
    ok(resp, StatusCode::CREATED).await;

    let analyst = app.staff_token("analyst").await;
    let all = ok(
        app.get(&format!("/v1/customers/{id}/timeline?limit=200"), &analyst)
            .await,
        StatusCode::OK,
    )
    .await;
    let all = all["data"].as_array().unwrap().clone();
    let kinds: Vec<&str> = all.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for kind in [
        "created",
        "purchase",
        "points",
        "tier_change",
        "redemption",
        "code_used",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    // created, 3 purchases, 3 earn entries, tier change, redemption, its entry, code used, the
    // adjustment's entry.
    assert_eq!(all.len(), 12, "{kinds:?}");
    let key_of = |e: &Value| {
        (
            e["at"].as_str().unwrap().to_owned(),
            e["id"].as_str().unwrap().to_owned(),
        )
    };
    for pair in all.windows(2) {
        assert!(
            key_of(&pair[0]) > key_of(&pair[1]),
            "out of order: {pair:?}"
        );
    }
    // Backdated purchases take their place by when they happened, before the customer joined.
    assert_eq!(all.last().unwrap()["type"], "purchase");
    assert_eq!(all.last().unwrap()["at"], "2026-11-05T09:00:00Z");

    // Pages of three walk the same entries, none twice.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/customers/{id}/timeline?limit=3&cursor={c}"),
            None => format!("/v1/customers/{id}/timeline?limit=3"),
        };
        let page = ok(app.get(&path, &analyst).await, StatusCode::OK).await;
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 3);
        walked.extend(data.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(walked, all);

    // Filters: by kind and by time range.
    let purchases = ok(
        app.get(
            &format!("/v1/customers/{id}/timeline?type=purchase,code_used"),
            &analyst,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let got: Vec<&str> = purchases["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["code_used", "purchase", "purchase", "purchase"]);
    let window = ok(
        app.get(
            &format!(
                "/v1/customers/{id}/timeline?from=2026-11-10T00:00:00Z&to=2026-11-21T00:00:00Z"
            ),
            &analyst,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let got: Vec<(&str, &str)> = window["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["channel"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [("purchase", "web")]);

    problem(
        app.get(
            &format!("/v1/customers/{id}/timeline?type=gossip"),
            &analyst,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    problem(
        app.get(
            &format!("/v1/customers/{id}/timeline?cursor=nonsense"),
            &analyst,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_cursor",
    )
    .await;
    problem(
        app.get("/v1/customers/nobody/timeline", &analyst).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

async fn segment_members(app: &TestApp, token: &str, segment: &str) -> Vec<String> {
    let body = ok(
        app.get(&format!("/v1/customers?segment={segment}"), token)
            .await,
        StatusCode::OK,
    )
    .await;
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn segments_move_with_purchases_and_with_the_clock() {
    let app = TestApp::spawn().await;
    set_program(
        &app,
        json!({"segments": {"new_days": 1, "recent_days": 10, "active_days": 30, "lost_days": 60,
            "champion_purchases": 2, "champion_spent_minor": 1000, "loyal_purchases": 2,
            "lapsed_days": 45}}),
    )
    .await;
    let key = store_key(&app).await;
    // An API key does not expire as the clock moves on.
    let analyst = key.clone();
    let id = app
        .customer(&key, json!({"email": "seg@example.com"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stage = |p: &Value| {
        (
            p["segment"]["segment"].as_str().unwrap().to_owned(),
            p["journey_stage"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(
        stage(&profile(&app, &analyst, &id).await),
        ("new".into(), "prospect".into())
    );
    assert_eq!(
        segment_members(&app, &analyst, "new").await,
        vec![id.clone()]
    );

    let purchase = |n: u32| {
        json!({"external_id": format!("s-{n}"), "customer_id": id, "channel": "store",
               "occurred_at": at(app.clock.now()), "currency": "USD", "total_minor": 2000})
    };
    buy(&app, &key, purchase(1)).await;
    assert_eq!(
        stage(&profile(&app, &analyst, &id).await),
        ("new".into(), "first_purchase".into())
    );

    // Two days on, the customer is no longer new: one recent purchase is promising. The stored
    // segment follows when the job runs.
    app.clock.advance(Duration::days(2));
    assert_eq!(
        segment_members(&app, &analyst, "promising").await,
        Vec::<String>::new()
    );
    assert_eq!(run_segments(&app).await, 1);
    assert_eq!(
        segment_members(&app, &analyst, "promising").await,
        vec![id.clone()]
    );
    assert_eq!(run_segments(&app).await, 0, "nothing is due twice");

    // A second purchase makes a champion at once.
    buy(&app, &key, purchase(2)).await;
    assert_eq!(
        segment_members(&app, &analyst, "champion").await,
        vec![id.clone()]
    );
    assert_eq!(
        stage(&profile(&app, &analyst, &id).await),
        ("champion".into(), "repeat".into())
    );

    for (days, segment, journey) in [
        (15, "loyal", "repeat"),
        (20, "at_risk", "repeat"),
        (12, "at_risk", "lapsed"),
        (20, "lost", "lapsed"),
    ] {
        app.clock.advance(Duration::days(days));
        run_segments(&app).await;
        assert_eq!(
            segment_members(&app, &analyst, segment).await,
            vec![id.clone()],
            "{days} more days"
        );
        assert_eq!(
            stage(&profile(&app, &analyst, &id).await),
            (segment.to_owned(), journey.to_owned())
        );
    }

    // New thresholds put every customer up for review.
    set_program(
        &app,
        json!({"segments": {"new_days": 1, "recent_days": 10, "active_days": 30, "lost_days": 3000,
            "champion_purchases": 2, "champion_spent_minor": 1000, "loyal_purchases": 2,
            "lapsed_days": 45}}),
    )
    .await;
    assert_eq!(run_segments(&app).await, 1);
    assert_eq!(
        segment_members(&app, &analyst, "at_risk").await,
        vec![id.clone()]
    );

    problem(
        app.get("/v1/customers?segment=vip", &analyst).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    let marketer = app.staff_token("marketer").await;
    let mut doc = crate::program::defaults();
    doc["segments"] = json!({"new_days": 1, "recent_days": 40, "active_days": 30, "lost_days": 60,
        "champion_purchases": 0, "champion_spent_minor": 1000, "loyal_purchases": 2, "lapsed_days": 45});
    let body = problem(
        app.request(Method::PUT, "/v1/program", Some(&marketer), Some(doc))
            .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let fields: HashSet<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        HashSet::from(["segments.active_days", "segments.champion_purchases"])
    );
}

async fn search(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let body = ok(
        app.get(&format!("/v1/customers?{query}"), token).await,
        StatusCode::OK,
    )
    .await;
    let mut ids: Vec<String> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["email"].as_str().unwrap_or("-").to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn search_finds_customers_by_name_fragment_contact_tier_segment_and_tag() {
    let app = TestApp::spawn().await;
    set_program(&app, json!({"pending_days": 0})).await;
    let key = store_key(&app).await;
    let marketer = app.staff_token("marketer").await;
    let tier = ok(
        app.post(
            "/v1/tiers",
            &marketer,
            json!({"name": "Gold", "threshold": 5}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ali = app
        .customer(
            &key,
            json!({"email": "ali@example.com", "first_name": "Ali",
            "last_name": "Rezaei", "phone": "+989121234567", "external_id": "POS-77"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.customer(
        &key,
        json!({"email": "alice@example.com", "first_name": "Alice Mary",
        "last_name": "Smith"}),
    )
    .await;
    // Typed with the Persian yeh (U+06CC).
    app.customer(
        &key,
        json!({"email": "fa@example.com", "first_name": "علی", "last_name": "کریمی"}),
    )
    .await;
    buy(
        &app,
        &key,
        json!({"external_id": "g-1", "customer_id": ali, "channel": "store",
        "occurred_at": "2026-11-22T10:00:00Z", "currency": "USD", "total_minor": 1000}),
    )
    .await;
    ok(
        app.post(
            &format!("/v1/customers/{ali}/tags"),
            &marketer,
            json!({"tag": "bargain-hunter"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let a = "ali@example.com".to_owned();
    let b = "alice@example.com".to_owned();
    let f = "fa@example.com".to_owned();
    assert_eq!(
        search(&app, &marketer, "q=ali").await,
        [a.clone(), b.clone()]
    );
    assert_eq!(
        search(&app, &marketer, "q=ALI%20rez").await,
        vec![a.clone()]
    );
    assert_eq!(search(&app, &marketer, "q=mary").await, vec![b.clone()]);
    assert_eq!(search(&app, &marketer, "q=smi").await, vec![b.clone()]);
    assert_eq!(
        search(&app, &marketer, "q=lice").await,
        Vec::<String>::new()
    );
    assert_eq!(search(&app, &marketer, "q=pos-7").await, vec![a.clone()]);
    assert_eq!(search(&app, &marketer, "q=%2B98912").await, vec![a.clone()]);
    assert_eq!(search(&app, &marketer, "q=98912").await, vec![a.clone()]);
    assert_eq!(
        search(&app, &marketer, "q=alice%40exa").await,
        vec![b.clone()]
    );
    // Typed with the Arabic yeh (U+064A) and kaf (U+0643), it still finds the Persian spelling.
    assert_eq!(
        search(&app, &marketer, "q=%D8%B9%D9%84%D9%8A").await,
        vec![f.clone()]
    );
    assert_eq!(
        search(&app, &marketer, "q=%D9%83%D8%B1%DB%8C").await,
        vec![f.clone()]
    );
    assert_eq!(
        search(&app, &marketer, "email=ALI@example.com").await,
        vec![a.clone()]
    );
    assert_eq!(
        search(&app, &marketer, "phone=%2B98%20912%20123%204567").await,
        vec![a.clone()]
    );
    assert_eq!(
        search(&app, &marketer, &format!("tier={tier}")).await,
        vec![a.clone()]
    );
    assert_eq!(
        search(&app, &marketer, "tag=bargain-hunter").await,
        vec![a.clone()]
    );
    assert_eq!(
        search(&app, &marketer, "q=ali&tag=bargain-hunter").await,
        vec![a.clone()]
    );
    assert_eq!(
        search(&app, &marketer, "segment=new").await,
        [a.clone(), b.clone(), f.clone()]
    );

    // A renamed customer is found by the new name only.
    ok(
        app.patch(
            &format!("/v1/customers/{ali}"),
            &key,
            json!({"last_name": "Karimi"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        search(&app, &marketer, "q=rezaei").await,
        Vec::<String>::new()
    );
    assert_eq!(search(&app, &marketer, "q=karimi").await, vec![a.clone()]);

    // Pages of one.
    let first = ok(
        app.get("/v1/customers?q=example&limit=1", &marketer).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(first["data"].as_array().unwrap().len(), 1);
    let next = first["next_cursor"].as_str().unwrap();
    let second = ok(
        app.get(
            &format!("/v1/customers?q=example&limit=1&cursor={next}"),
            &marketer,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(second["data"].as_array().unwrap().len(), 1);
    assert_ne!(first["data"][0]["id"], second["data"][0]["id"]);
}

#[tokio::test]
async fn staff_tag_customers_and_only_the_right_roles_may() {
    let app = TestApp::spawn().await;
    let key = store_key(&app).await;
    let id = app
        .customer(&key, json!({"email": "tags@example.com", "tags": ["a"]}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let marketer = app.staff_token("marketer").await;
    let path = format!("/v1/customers/{id}/tags");
    let tags = ok(
        app.post(&path, &marketer, json!({"tag": " persona-x "}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(tags["tags"], json!(["a", "persona-x"]));
    let again = ok(
        app.post(&path, &marketer, json!({"tag": "persona-x"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["tags"], json!(["a", "persona-x"]));
    let support = app.staff_token("support").await;
    let removed = ok(
        app.request(Method::DELETE, &format!("{path}/a"), Some(&support), None)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(removed["tags"], json!(["persona-x"]));
    let customer = ok(
        app.get(&format!("/v1/customers/{id}"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(customer["tags"], json!(["persona-x"]));

    problem(
        app.post(&path, &marketer, json!({"tag": "  "})).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    problem(
        app.post(&path, &marketer, json!({"tag": "x", "colour": "red"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    let analyst = app.staff_token("analyst").await;
    problem(
        app.post(&path, &analyst, json!({"tag": "x"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let reader = app.api_key(&["customers:read"]).await;
    problem(
        app.post(&path, &reader, json!({"tag": "x"})).await,
        StatusCode::FORBIDDEN,
        "missing_scope",
    )
    .await;
    problem(
        app.post("/v1/customers/nobody/tags", &marketer, json!({"tag": "x"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    for n in 0..49 {
        ok(
            app.post(&path, &marketer, json!({"tag": format!("t{n}")}))
                .await,
            StatusCode::OK,
        )
        .await;
    }
    problem(
        app.post(&path, &marketer, json!({"tag": "one-too-many"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "too_many_tags",
    )
    .await;
}

#[tokio::test]
async fn a_customer_token_reaches_only_its_own_profile() {
    let app = TestApp::spawn().await;
    let key = store_key(&app).await;
    let a = app.customer_id(&key, "a@example.com").await;
    let b = app.customer_id(&key, "b@example.com").await;
    let token = app.customer_token(&key, &a).await;
    for path in [
        format!("/v1/customers/{b}/profile"),
        format!("/v1/customers/{b}/timeline"),
        format!("/v1/customers/{a}/profile"),
    ] {
        problem(
            app.get(&path, &token).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    let mine = ok(app.get("/v1/me/profile", &token).await, StatusCode::OK).await;
    assert_eq!(mine["customer"]["id"], a);
    assert!(mine.get("segment").is_none() && mine.get("timeline").is_none());
    assert_eq!(mine["purchases"]["count"], 0);
    let resp = app
        .client
        .get(app.url(&format!("/v1/customers/{a}/profile")))
        .send()
        .await
        .unwrap();
    problem(resp, StatusCode::UNAUTHORIZED, "missing_credentials").await;
    let staff = app.staff_token("analyst").await;
    problem(
        app.get("/v1/me/profile", &staff).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn the_profile_shows_the_latest_answer_of_each_kind_and_a_promoter_is_an_advocate() {
    let app = TestApp::spawn().await;
    let key = store_key(&app).await;
    let admin = app.admin_token().await;
    let id = app.customer_id(&key, "fan@example.com").await;
    buy(
        &app,
        &key,
        json!({"external_id": "o-1", "customer_id": id, "channel": "store",
               "occurred_at": "2026-11-22T09:00:00Z", "currency": "USD", "total_minor": 1000}),
    )
    .await;
    let p = profile(&app, &admin, &id).await;
    assert_eq!(p["journey_stage"], "first_purchase");
    assert_eq!(
        p["last_feedback"],
        json!({"nps": null, "csat": null, "ces": null})
    );

    let feedback = app.api_key(&["feedback:write"]).await;
    let send = |kind: &str, score: Value, scale: Value, at: &str| {
        let body = json!({"customer_id": id, "kind": kind, "score": score, "scale": scale,
                          "comment": "noted", "channel": "app", "occurred_at": at});
        app.post("/v1/feedback", &feedback, body)
    };
    // Sent out of order: the latest is the one that happened last.
    for (kind, score, scale, at) in [
        ("nps", json!(9), json!(10), "2026-11-22T10:00:00Z"),
        ("nps", json!(3), json!(10), "2026-11-21T10:00:00Z"),
        ("csat", json!(4), json!(5), "2026-11-22T10:30:00Z"),
        ("ces", json!(6), json!(7), "2026-11-20T08:00:00Z"),
        // A skipped question is no answer.
        ("ces", Value::Null, json!(5), "2026-11-22T11:00:00Z"),
    ] {
        ok(send(kind, score, scale, at).await, StatusCode::CREATED).await;
    }
    let p = profile(&app, &admin, &id).await;
    assert_eq!(
        p["last_feedback"],
        json!({
            "nps": {"score": 9, "scale": 10, "answered_at": "2026-11-22T10:00:00Z"},
            "csat": {"score": 4, "scale": 5, "answered_at": "2026-11-22T10:30:00Z"},
            "ces": {"score": 6, "scale": 7, "answered_at": "2026-11-20T08:00:00Z"}
        })
    );
    assert_eq!(p["journey_stage"], "advocate");

    // A later passive answer: no longer a promoter.
    ok(
        send("nps", json!(8), json!(10), "2026-11-22T11:30:00Z").await,
        StatusCode::CREATED,
    )
    .await;
    let p = profile(&app, &admin, &id).await;
    assert_eq!(p["last_feedback"]["nps"]["score"], 8);
    assert_eq!(p["journey_stage"], "first_purchase");

    // A promoter without a purchase is still a prospect.
    let prospect = app.customer_id(&key, "new@example.com").await;
    let body = json!({"customer_id": prospect, "kind": "nps", "score": 10, "channel": "app",
                      "occurred_at": "2026-11-22T10:00:00Z"});
    ok(
        app.post("/v1/feedback", &feedback, body).await,
        StatusCode::CREATED,
    )
    .await;
    let p = profile(&app, &admin, &prospect).await;
    assert_eq!(p["journey_stage"], "prospect");
    assert_eq!(p["last_feedback"]["nps"]["score"], 10);
}
