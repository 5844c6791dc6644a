//! Merging two records of one customer: everything moves to the target, the history stays one
//! chain, and the source answers as an alias of the target.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::purchases::purchase;

async fn adjust(app: &TestApp, token: &str, id: &str, points: i64) {
    let resp = app
        .client
        .post(app.url(&format!("/v1/customers/{id}/points/adjustments")))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
        .json(&json!({"points": points, "reason": "welcome"}))
        .send()
        .await
        .unwrap();
    ok(resp, StatusCode::CREATED).await;
}

async fn merge(app: &TestApp, token: &str, target: &str, source: &str) -> reqwest::Response {
    app.post(
        &format!("/v1/customers/{target}/merge"),
        token,
        json!({"source_customer_id": source}),
    )
    .await
}

async fn balance(app: &TestApp, token: &str, id: &str) -> Value {
    ok(
        app.get(&format!("/v1/customers/{id}/points"), token).await,
        StatusCode::OK,
    )
    .await
}

/// The whole history, oldest first, read two entries a page.
async fn history(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut path = format!("/v1/customers/{id}/points/history?limit=2");
    loop {
        let page = ok(app.get(&path, token).await, StatusCode::OK).await;
        entries.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/v1/customers/{id}/points/history?limit=2&cursor={cursor}")
            }
            None => break,
        }
    }
    entries.reverse();
    entries
}

/// Asserts that the history is one chain: seq 1..n, each running balance the previous plus the
/// entry, ending at the balance.
fn assert_chain(entries: &[Value], balance: &Value) {
    let (mut available, mut pending) = (0, 0);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["seq"], i as i64 + 1, "seq without gaps: {entries:#?}");
        available += e["points"].as_i64().unwrap();
        pending += e["pending"].as_i64().unwrap();
        assert_eq!(e["balance_after"], available, "entry {i}: {entries:#?}");
        assert_eq!(e["pending_after"], pending, "entry {i}: {entries:#?}");
    }
    assert_eq!(balance["available"], available);
    assert_eq!(balance["pending"], pending);
}

#[tokio::test]
async fn merging_moves_points_codes_purchases_and_tier_and_the_source_becomes_an_alias() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let support = app.staff_token("support").await;
    let key = crate::purchases::till(&app).await;
    let tier = |name: &str, threshold: i64| json!({"name": {"en": name}, "threshold": threshold, "multiplier_percent": 100, "benefits": []});
    ok(
        app.post("/v1/tiers", &admin, tier("Silver", 500)).await,
        StatusCode::CREATED,
    )
    .await;
    let gold = ok(
        app.post("/v1/tiers", &admin, tier("Gold", 800)).await,
        StatusCode::CREATED,
    )
    .await["id"]
        .clone();
    let target = app
        .customer(
            &admin,
            json!({"external_id": "store-t", "email": "t@example.com", "attributes": {"a": "t"}, "tags": ["store"]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let source = app
        .customer(
            &admin,
            json!({"external_id": "app-s", "phone": "+989121234567", "first_name": "Sara",
                   "attributes": {"a": "s", "b": "s"}, "tags": ["app"]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Target: 100 available, 600 pending, Silver. Source: 700 - 200 available, 300 pending, a code.
    adjust(&app, &admin, &target, 100).await;
    ok(
        app.post("/v1/purchases", &key, purchase("t-1", &target, 60_000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    adjust(&app, &admin, &source, 700).await;
    ok(
        app.post("/v1/purchases", &key, purchase("s-1", &source, 30_000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let reward = app
        .reward_id(
            &admin,
            json!({"name": {"en": "Coffee"}, "kind": "free_product", "sku": "coffee", "cost_points": 200}),
        )
        .await;
    let code = app.redeem(&admin, &source, &reward, "r-1").await;
    assert_eq!(
        balance(&app, &admin, &target).await["tier"]["current"]["name"]["en"],
        "Silver"
    );

    let merged = ok(
        merge(&app, &support, &target, &source).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(merged["id"], target.as_str());
    assert_eq!(merged["external_id"], "store-t", "the target keeps its own");
    assert_eq!(merged["phone"], "+989121234567", "taken from the source");
    assert_eq!(merged["first_name"], "Sara");
    assert_eq!(merged["attributes"], json!({"a": "t", "b": "s"}));
    assert_eq!(merged["tags"], json!(["app", "store"]));
    assert!(merged.get("merged_from").is_none());

    let after = balance(&app, &admin, &target).await;
    assert_eq!(after["available"], 100 + 500);
    assert_eq!(after["pending"], 600 + 300);
    assert_eq!(after["redeemed"], 200);
    assert_eq!(
        after["lifetime_earned"],
        600 + 300,
        "adjustments are not earnings"
    );
    assert_eq!(
        after["tier"]["current"]["id"], gold,
        "900 combined points reach Gold"
    );
    assert_eq!(after["tier"]["qualifying_points"], 900);
    let entries = history(&app, &admin, &target).await;
    assert_eq!(entries.len(), 5);
    assert_chain(&entries, &after);

    let owner = ok(
        app.get(&format!("/v1/codes/{code}"), &admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(owner["customer_id"], target.as_str());
    let bought = ok(
        app.get(&format!("/v1/customers/{target}/purchases"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(bought["data"].as_array().unwrap().len(), 2);

    // The source's id and external id name the target now.
    for path in [
        format!("/v1/customers/{source}"),
        "/v1/customers/by-external-id/app-s".to_owned(),
    ] {
        let resp = app.get(&path, &admin).await;
        let location = resp.headers()["content-location"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(location, format!("/v1/customers/{target}"));
        let body = ok(resp, StatusCode::OK).await;
        assert_eq!(body["id"], target.as_str());
        assert_eq!(body["merged_from"], source.as_str());
    }
    assert_eq!(balance(&app, &admin, &source).await["available"], 600);

    // A store still sending the source's external id earns for the target.
    let mut p = purchase("s-2", &source, 10_000);
    p.as_object_mut().unwrap().remove("customer_id");
    p["customer_external_id"] = json!("app-s");
    ok(
        app.post("/v1/purchases", &key, p).await,
        StatusCode::CREATED,
    )
    .await;
    let last = balance(&app, &admin, &target).await;
    assert_eq!(last["pending"], 900 + 100);
    // So does one sending the source's Patron id.
    let body = ok(
        app.post("/v1/purchases", &key, purchase("s-3", &source, 10_000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["customer_id"], target.as_str());
    let last = balance(&app, &admin, &target).await;
    assert_eq!(last["pending"], 900 + 200);
    assert_chain(&history(&app, &admin, &target).await, &last);
    // And a redemption for the source's id spends the target's points.
    let code = app.redeem(&admin, &source, &reward, "r-2").await;
    let owner = ok(
        app.get(&format!("/v1/codes/{code}"), &admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(owner["customer_id"], target.as_str());
    let spent = balance(&app, &admin, &target).await;
    assert_eq!(spent["available"], 600 - 200);
    assert_eq!(spent["redeemed"], 200 + 200);
    assert_chain(&history(&app, &admin, &target).await, &spent);
}

#[tokio::test]
async fn merging_refuses_itself_an_alias_an_unknown_id_and_a_marketer() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let a = app.customer_id(&admin, "a@example.com").await;
    let b = app.customer_id(&admin, "b@example.com").await;
    let c = app.customer_id(&admin, "c@example.com").await;
    problem(
        merge(&app, &admin, &a, &a).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "merge_into_self",
    )
    .await;
    problem(
        merge(&app, &admin, &a, "nobody").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        merge(&app, &admin, "nobody", &a).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let marketer = app.staff_token("marketer").await;
    problem(
        merge(&app, &marketer, &a, &b).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let reader = app.api_key(&["customers:read"]).await;
    problem(
        merge(&app, &reader, &a, &b).await,
        StatusCode::FORBIDDEN,
        "missing_scope",
    )
    .await;
    problem(
        app.post(
            &format!("/v1/customers/{a}/merge"),
            &admin,
            json!({"source_customer_id": b, "balance": 1}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;

    let writer = app.api_key(&["customers:write"]).await;
    ok(merge(&app, &writer, &a, &b).await, StatusCode::OK).await;
    // b now names a: merging it into a again is merging a into itself.
    problem(
        merge(&app, &admin, &a, &b).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "merge_into_self",
    )
    .await;
    problem(
        merge(&app, &admin, &b, &a).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "merge_into_self",
    )
    .await;
    // An alias cannot be merged again into someone else.
    problem(
        merge(&app, &admin, &c, &b).await,
        StatusCode::CONFLICT,
        "customer_merged",
    )
    .await;
    // Merging a into c takes the alias b along: b names c now.
    ok(merge(&app, &admin, &c, &a).await, StatusCode::OK).await;
    let via_b = ok(
        app.get(&format!("/v1/customers/{b}"), &admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(via_b["id"], c.as_str());
}

#[tokio::test]
async fn two_merges_racing_in_opposite_directions_leave_one_survivor_with_both_balances() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let support = app.staff_token("support").await;
    for round in 0..3 {
        let a = app
            .customer_id(&admin, &format!("a{round}@example.com"))
            .await;
        let b = app
            .customer_id(&admin, &format!("b{round}@example.com"))
            .await;
        adjust(&app, &admin, &a, 100).await;
        adjust(&app, &admin, &a, 20).await;
        adjust(&app, &admin, &b, 3).await;
        let (ab, ba) = tokio::join!(merge(&app, &admin, &a, &b), merge(&app, &support, &b, &a));
        let statuses = [ab.status(), ba.status()];
        let (winner, loser) = if ab.status() == StatusCode::OK {
            (ab, ba)
        } else {
            (ba, ab)
        };
        let survivor = ok(winner, StatusCode::OK).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        problem(loser, StatusCode::UNPROCESSABLE_ENTITY, "merge_into_self").await;
        assert!(statuses.contains(&StatusCode::UNPROCESSABLE_ENTITY));
        for id in [&a, &b] {
            let found = ok(
                app.get(&format!("/v1/customers/{id}"), &admin).await,
                StatusCode::OK,
            )
            .await;
            assert_eq!(found["id"], survivor.as_str());
        }
        let after = balance(&app, &admin, &survivor).await;
        assert_eq!(after["available"], 123);
        assert_chain(&history(&app, &admin, &survivor).await, &after);
    }
}

#[tokio::test]
async fn merging_moves_feedback_invitations_and_recovery_cases_to_the_target() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let support = app.staff_token("support").await;
    let target = app.customer_id(&admin, "t@example.com").await;
    let source = app.customer_id(&admin, "s@example.com").await;
    {
        use diesel::RunQueryDsl;
        let mut conn = app.pool.get().unwrap();
        let at = "'2026-11-22 09:00:00'";
        for sql in [
            format!(
                "INSERT INTO surveys (id, name, kind, scale, question, open_question, \
                 trigger_type, delay_hours, reminder_after_hours, max_reminders, \
                 expires_after_days, active, created_at, updated_at) VALUES ('sv-1', 'S', 'csat', \
                 5, '{{}}', '{{}}', 'manual', 1, 48, 0, 14, TRUE, {at}, {at})"
            ),
            format!(
                "INSERT INTO survey_invitations (id, survey_id, customer_id, kind, scale, \
                 dedupe_key, cause_type, cause_id, status, due_at, created_at, updated_at) VALUES \
                 ('inv-1', 'sv-1', '{source}', 'csat', 5, 'manual:sv-1:x', 'manual', 'x', \
                 'scheduled', {at}, {at}, {at})"
            ),
        ] {
            assert_eq!(diesel::sql_query(sql).execute(&mut *conn).unwrap(), 1);
        }
    }
    let feedback = app.api_key(&["feedback:write"]).await;
    let mut recorded = Vec::new();
    for (score, at) in [(10, "2026-11-22T10:00:00Z"), (1, "2026-11-21T10:00:00Z")] {
        let body = json!({"customer_id": source, "kind": "nps", "score": score,
                          "channel": "store", "occurred_at": at});
        recorded.push(
            ok(
                app.post("/v1/feedback", &feedback, body).await,
                StatusCode::CREATED,
            )
            .await,
        );
    }
    let case_id = recorded[1]["recovery_case_id"].as_str().unwrap().to_owned();

    ok(
        merge(&app, &support, &target, &source).await,
        StatusCode::OK,
    )
    .await;

    let profile = ok(
        app.get(&format!("/v1/customers/{target}/profile"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(profile["last_feedback"]["nps"]["score"], 10);
    let case = ok(
        app.get(&format!("/v1/recovery-cases/{case_id}"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(case["customer_id"], target.as_str());
    let doc = ok(
        app.get(&format!("/v1/customers/{target}/export"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    let ids = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let responses = ids(&doc["feedback_responses"]);
    assert_eq!(responses.len(), 2);
    for r in &recorded {
        assert!(responses.contains(&r["id"].as_str().unwrap().to_owned()));
    }
    assert_eq!(ids(&doc["survey_invitations"]), vec!["inv-1"]);
    assert_eq!(ids(&doc["recovery_cases"]), vec![case_id]);
    // Nothing stays with the alias.
    let mut conn = app.pool.get().unwrap();
    for table in ["feedback_responses", "survey_invitations", "recovery_cases"] {
        use diesel::RunQueryDsl;
        let sql =
            format!("UPDATE {table} SET customer_id = customer_id WHERE customer_id = '{source}'");
        assert_eq!(
            diesel::sql_query(sql).execute(&mut *conn).unwrap(),
            0,
            "{table}"
        );
    }
}
