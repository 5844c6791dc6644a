//! The customer's privacy rights: the export of everything stored about them, and erasure that
//! removes personal data while every amount stays true.

use diesel::RunQueryDsl;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::program::set_program;
use crate::purchases::purchase;

const SCOPES: &[&str] = &[
    "customers:read",
    "customers:write",
    "purchases:write",
    "points:read",
    "points:write",
    "rewards:redeem",
    "events:write",
    "tokens:issue",
];

const EMAIL: &str = "shirin.qqahmadi@example.com";
const PASSWORD: &str = "first password";

/// Every personal value the customer was created with or wrote into free text.
const PERSONAL: &[&str] = &[
    EMAIL,
    "shirin.qqahmadi",
    "+989121234567",
    "989121234567",
    "Shirinqq",
    "Qqahmadi",
    "ext-zz-123",
    "1990-05-17",
    "Asia/Tehran",
    "saffron-latte-qq",
    "vip-xyz",
    "broken-cup-note-qq",
    "pistachio-review-qq",
];

/// A customer with a purchase (lines), a return, an adjustment, a custom event, a redemption,
/// a tier change, tags, attributes and a password.
struct Rich {
    app: TestApp,
    key: String,
    support: String,
    id: String,
    silver: String,
    reward: String,
    token: String,
}

async fn post_with_key(app: &TestApp, token: &str, path: &str, key: &str, body: Value) -> Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn rich() -> Rich {
    let app = TestApp::spawn().await;
    set_program(&app, json!({"pending_days": 0})).await;
    let marketer = app.staff_token("marketer").await;
    let support = app.staff_token("support").await;
    let key = app.api_key(SCOPES).await;
    let silver = ok(
        app.post(
            "/v1/tiers",
            &marketer,
            json!({"name": "Silver", "threshold": 500}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        app.post("/v1/earning-rules", &marketer, json!({"name": "Reviews", "kind": "event_bonus", "event_name": "review_written", "points": 20})).await,
        StatusCode::CREATED,
    )
    .await;
    let reward = app
        .reward_id(
            &marketer,
            json!({"name": "Free cup", "kind": "free_product", "sku": "cup", "cost_points": 100}),
        )
        .await;
    let customer = app
        .customer(
            &key,
            json!({"external_id": "ext-zz-123", "email": EMAIL, "phone": "+989121234567",
                   "first_name": "Shirinqq", "last_name": "Qqahmadi", "birthday": "1990-05-17",
                   "time_zone": "Asia/Tehran", "locale": "fa", "preferred_channel": "sms",
                   "consents": {"email_marketing": true, "sms_marketing": true, "surveys": true},
                   "tags": ["vip-xyz"], "attributes": {"drink": "saffron-latte-qq"}}),
        )
        .await;
    let id = customer["id"].as_str().unwrap().to_owned();
    let mut p = purchase("o-1", &id, 60_000);
    p["lines"] = json!([
        {"sku": "cup", "category": "coffee", "quantity": 2, "unit_price_minor": 20_000},
        {"sku": "bun", "quantity": 1, "unit_price_minor": 20_000}
    ]);
    let bought = ok(
        app.post("/v1/purchases", &key, p).await,
        StatusCode::CREATED,
    )
    .await;
    let pid = bought["id"].as_str().unwrap();
    ok(
        app.post(
            &format!("/v1/purchases/{pid}/returns"),
            &key,
            json!({"external_id": "r-1", "lines": [{"sku": "bun", "quantity": 1}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    ok(
        post_with_key(
            &app,
            &key,
            &format!("/v1/customers/{id}/points/adjustments"),
            "adj-1",
            json!({"points": 50, "reason": "broken-cup-note-qq"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    ok(
        post_with_key(
            &app,
            &key,
            &format!("/v1/customers/{id}/events"),
            "ev-1",
            json!({"name": "review_written", "occurred_at": "2026-11-22T11:30:00Z",
                   "properties": {"product": "pistachio-review-qq"}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    app.redeem(&key, &id, &reward, "redeem-1").await;
    let token = app.customer_token(&key, &id).await;
    let resp = app
        .request(
            Method::PUT,
            "/v1/me/password",
            Some(&token),
            Some(json!({"new_password": PASSWORD})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    Rich {
        app,
        key,
        support,
        id,
        silver,
        reward,
        token,
    }
}

async fn export(app: &TestApp, token: &str, path: &str) -> (String, Value) {
    let resp = app.get(path, token).await;
    let disposition = resp
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (disposition, ok(resp, StatusCode::OK).await)
}

fn kinds(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e[field].as_str().unwrap().to_owned())
        .collect()
}

async fn erase(app: &TestApp, token: &str, id: &str) -> Response {
    app.request(
        Method::DELETE,
        &format!("/v1/customers/{id}"),
        Some(token),
        None,
    )
    .await
}

/// The amounts an erasure must keep: balance, ledger entries, purchases (with lines and
/// returns), codes, lots.
fn amounts(doc: &Value) -> Value {
    let entries: Vec<Value> = doc["ledger_entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            json!([
                e["id"],
                e["kind"],
                e["points"],
                e["pending"],
                e["negative"],
                e["balance_after"],
                e["pending_after"],
                e["created_at"]
            ])
        })
        .collect();
    // The erasure takes the balance row lock but moves no points, so even the balance's
    // `updated_at` stays as it was.
    json!({"balance": doc["balance"], "entries": entries, "purchases": doc["purchases"],
           "codes": doc["reward_codes"], "lots": doc["point_lots"],
           "qualifying_points": doc["qualifying_points"], "statistics": doc["statistics"]})
}

#[tokio::test]
async fn the_export_holds_every_kind_of_record_about_the_customer() {
    let r = rich().await;
    let (disposition, doc) =
        export(&r.app, &r.key, &format!("/v1/customers/{}/export", r.id)).await;
    assert_eq!(
        disposition,
        format!("attachment; filename=\"customer-{}.json\"", r.id)
    );
    assert_eq!(doc["exported_at"], "2026-11-22T12:00:00Z");
    let c = &doc["customer"];
    assert_eq!(c["id"], r.id.as_str());
    assert_eq!(c["external_id"], "ext-zz-123");
    assert_eq!(c["email"], EMAIL);
    assert_eq!(c["phone"], "+989121234567");
    assert_eq!(
        (c["first_name"].clone(), c["last_name"].clone()),
        (json!("Shirinqq"), json!("Qqahmadi"))
    );
    assert_eq!(c["birthday"], "1990-05-17");
    assert_eq!(c["time_zone"], "Asia/Tehran");
    assert_eq!(c["locale"], "fa");
    assert_eq!(c["preferred_channel"], "sms");
    assert_eq!(
        c["consents"],
        json!({"email_marketing": true, "sms_marketing": true, "surveys": true})
    );
    assert_eq!(c["tags"], json!(["vip-xyz"]));
    assert_eq!(c["attributes"], json!({"drink": "saffron-latte-qq"}));
    assert!(c["referral_code"].is_string());
    assert_eq!(c["has_password"], true);
    assert!(c["created_at"].is_string() && c["updated_at"].is_string());
    assert_eq!(c["erased_at"], Value::Null);
    assert_eq!(c["merged_aliases"], json!([]));

    // 600 earned, 200 taken back by the return, 50 adjusted, 20 event bonus, 100 redeemed.
    assert_eq!(doc["balance"]["available"], 370);
    let entry_kinds = kinds(&doc["ledger_entries"], "kind");
    for kind in ["earn", "reverse", "adjust", "redeem"] {
        assert!(
            entry_kinds.iter().any(|k| k == kind),
            "{kind} in {entry_kinds:?}"
        );
    }
    let sum: i64 = doc["ledger_entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["points"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, 370, "the ledger adds up to the balance");
    assert!(
        doc["ledger_entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["note"] == "broken-cup-note-qq")
    );
    assert!(!doc["point_lots"].as_array().unwrap().is_empty());

    let p = &doc["purchases"][0];
    assert_eq!(doc["purchases"].as_array().unwrap().len(), 1);
    assert_eq!(p["external_id"], "o-1");
    assert_eq!(p["total_minor"], 60_000);
    assert_eq!(p["lines"].as_array().unwrap().len(), 2);
    assert_eq!(p["lines"][1]["returned_quantity"], 1);
    assert_eq!(p["returns"][0]["external_id"], "r-1");
    assert_eq!(p["returns"][0]["amount_minor"], 20_000);

    assert_eq!(doc["reward_codes"][0]["reward_id"], r.reward.as_str());
    assert_eq!(doc["reward_codes"][0]["points_spent"], 100);
    assert_eq!(doc["tier"]["tier_id"], r.silver.as_str());
    assert_eq!(doc["tier_changes"][0]["reason"], "upgrade");
    assert_eq!(doc["tier_changes"][0]["to_tier_id"], r.silver.as_str());
    assert!(!doc["qualifying_points"].as_array().unwrap().is_empty());
    assert_eq!(doc["events"][0]["name"], "review_written");
    assert_eq!(doc["events"][0]["points"], 20);
    assert_eq!(
        doc["events"][0]["properties"],
        json!({"product": "pistachio-review-qq"})
    );
    assert_eq!(
        doc["referrals"],
        json!({"as_referrer": [], "as_referred": []})
    );
    assert_eq!(doc["statistics"]["purchase_count"], 1);
    assert_eq!(doc["statistics"]["spent_minor"], 60_000);
    assert_eq!(doc["statistics"]["returned_minor"], 20_000);
    assert!(kinds(&doc["usage"], "dimension").contains(&"category".to_owned()));
    let timeline = kinds(&doc["timeline"], "kind");
    for kind in [
        "created",
        "purchase",
        "return",
        "redemption",
        "tier_change",
        "event",
    ] {
        assert!(timeline.iter().any(|k| k == kind), "{kind} in {timeline:?}");
    }
    let actions = kinds(&doc["audit_log"], "action");
    assert!(
        actions.contains(&"customer.create".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"customer.set_password".to_owned()),
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_customer_exports_their_own_data_and_never_another_customers() {
    let r = rich().await;
    let (_, staff_view) = export(
        &r.app,
        &r.support,
        &format!("/v1/customers/{}/export", r.id),
    )
    .await;
    let (disposition, own) = export(&r.app, &r.token, "/v1/me/export").await;
    assert_eq!(
        disposition,
        format!("attachment; filename=\"customer-{}.json\"", r.id)
    );
    assert_eq!(own, staff_view, "the same document for the same customer");

    let other = r.app.customer_id(&r.key, "other@example.com").await;
    let other_token = r.app.customer_token(&r.key, &other).await;
    let (_, theirs) = export(&r.app, &other_token, "/v1/me/export").await;
    assert_eq!(theirs["customer"]["id"], other.as_str());
    assert_eq!(theirs["purchases"], json!([]));
    let text = theirs.to_string();
    assert!(!text.contains(&r.id) && !text.contains(EMAIL), "{text}");
    // The staff export route does not take a customer token.
    problem(
        r.app
            .get(&format!("/v1/customers/{}/export", r.id), &other_token)
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn erasure_removes_personal_data_and_keeps_every_amount() {
    let r = rich().await;
    let app = &r.app;
    let path = format!("/v1/customers/{}/export", r.id);
    let (_, before) = export(app, &r.key, &path).await;

    let resp = erase(app, &r.support, &r.id).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);

    let record = ok(
        app.get(&format!("/v1/customers/{}", r.id), &r.key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(record["erased_at"], "2026-11-22T12:00:00Z");
    assert_eq!(record["external_id"], Value::Null);
    assert_eq!(record["email"], Value::Null);
    assert_eq!(record["referral_code"], Value::Null);
    assert_eq!(record["has_password"], false);
    assert_eq!(
        record["consents"],
        json!({"email_marketing": false, "sms_marketing": false, "surveys": false})
    );
    let (_, after) = export(app, &r.key, &path).await;
    for doc in [&record, &after] {
        let text = doc.to_string();
        for value in PERSONAL {
            assert!(
                !text.contains(value),
                "`{value}` survived the erasure: {text}"
            );
        }
    }
    assert_eq!(amounts(&after), amounts(&before), "amounts are kept");
    assert_eq!(
        after["ledger_entries"].as_array().unwrap().len(),
        before["ledger_entries"].as_array().unwrap().len()
    );
    assert_eq!(after["events"][0]["properties"], json!({}));
    assert_eq!(after["customer"]["tags"], json!([]));
    assert_eq!(after["customer"]["attributes"], json!({}));
    assert!(kinds(&after["timeline"], "kind").contains(&"erasure".to_owned()));
    assert!(kinds(&after["audit_log"], "action").contains(&"customer.erase".to_owned()));

    problem(
        app.get("/v1/customers/by-external-id/ext-zz-123", &r.key)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    for query in [
        "q=Shirinqq",
        "q=qqahmadi",
        "q=shirin.qqahmadi",
        "q=ext-zz-123",
        "q=989121234567",
        "email=shirin.qqahmadi%40example.com",
        "phone=%2B989121234567",
        "tag=vip-xyz",
    ] {
        let found = ok(
            app.get(&format!("/v1/customers?{query}"), &r.key).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(found["data"], json!([]), "{query}");
    }

    problem(
        app.get("/v1/me", &r.token).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
    problem(
        app.get("/v1/me/export", &r.token).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
    let login = app
        .request(
            Method::POST,
            "/v1/auth/customer-login",
            None,
            Some(json!({"email": EMAIL, "password": PASSWORD})),
        )
        .await;
    problem(login, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    problem(
        app.patch(
            &format!("/v1/customers/{}", r.id),
            &r.key,
            json!({"email": "back@example.com"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "customer_erased",
    )
    .await;
}

#[tokio::test]
async fn erasing_twice_answers_204_and_changes_nothing() {
    let r = rich().await;
    let app = &r.app;
    let admin = app.admin_token().await;
    let resp = erase(app, &admin, &r.id).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let path = format!("/v1/customers/{}/export", r.id);
    let (_, first) = export(app, &r.key, &path).await;
    app.clock.advance(chrono::Duration::minutes(5));
    let resp = erase(app, &r.support, &r.id).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (_, second) = export(app, &r.key, &path).await;
    let mut first = first;
    first["exported_at"] = second["exported_at"].clone();
    assert_eq!(second, first, "a second erasure changes nothing");
    let erasures = kinds(&second["audit_log"], "action")
        .into_iter()
        .filter(|a| a == "customer.erase")
        .count();
    assert_eq!(erasures, 1);
}

#[tokio::test]
async fn writes_for_an_erased_customer_answer_422_customer_erased() {
    let r = rich().await;
    let app = &r.app;
    let resp = erase(app, &r.support, &r.id).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    problem(
        app.post("/v1/purchases", &r.key, purchase("o-2", &r.id, 1000))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "customer_erased",
    )
    .await;
    problem(
        post_with_key(
            app,
            &r.key,
            &format!("/v1/customers/{}/points/adjustments", r.id),
            "adj-2",
            json!({"points": 5, "reason": "late"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "customer_erased",
    )
    .await;
    problem(
        post_with_key(
            app,
            &r.key,
            &format!("/v1/customers/{}/redemptions", r.id),
            "redeem-2",
            json!({"reward_id": r.reward}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "customer_erased",
    )
    .await;
}

#[tokio::test]
async fn only_support_and_admin_staff_erase_and_unknown_ids_are_404() {
    let app = TestApp::spawn().await;
    let key = app.api_key(SCOPES).await;
    let id = app.customer_id(&key, "c@example.com").await;
    for role in ["marketer", "analyst"] {
        let token = app.staff_token(role).await;
        problem(
            erase(&app, &token, &id).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    problem(
        erase(&app, &key, &id).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let support = app.staff_token("support").await;
    problem(
        erase(&app, &support, "no-such-customer").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        app.get("/v1/customers/no-such-customer/export", &key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let reader = app.api_key(&["points:read"]).await;
    problem(
        app.get(&format!("/v1/customers/{id}/export"), &reader)
            .await,
        StatusCode::FORBIDDEN,
        "missing_scope",
    )
    .await;
    let record = ok(
        app.get(&format!("/v1/customers/{id}"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(record["email"], "c@example.com", "nothing was erased");
    assert_eq!(record["erased_at"], Value::Null);
}

#[tokio::test]
async fn a_merged_alias_is_exported_as_its_target_and_cannot_be_erased() {
    let app = TestApp::spawn().await;
    let key = app.api_key(SCOPES).await;
    let target = app.customer_id(&key, "target@example.com").await;
    let alias = app.customer_id(&key, "alias@example.com").await;
    let alias_token = app.customer_token(&key, &alias).await;
    // No merge route in this branch yet: point the alias at the target as a merge leaves it.
    {
        let mut conn = app.pool.get().unwrap();
        let sql = format!(
            "UPDATE customers SET merged_into = '{target}', merged_at = updated_at WHERE id = '{alias}'"
        );
        assert_eq!(diesel::sql_query(sql).execute(&mut *conn).unwrap(), 1);
    }
    let (disposition, doc) = export(&app, &key, &format!("/v1/customers/{alias}/export")).await;
    assert_eq!(
        disposition,
        format!("attachment; filename=\"customer-{target}.json\"")
    );
    assert_eq!(doc["customer"]["id"], target.as_str());
    assert_eq!(doc["customer"]["merged_aliases"], json!([alias]));
    let support = app.staff_token("support").await;
    problem(
        erase(&app, &support, &alias).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "customer_merged",
    )
    .await;
    problem(
        app.get("/v1/me", &alias_token).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
}

#[tokio::test]
async fn ledger_entries_stay_immutable_except_that_erasure_clears_their_note() {
    let r = rich().await;
    let mut conn = r.app.pool.get().unwrap();
    for sql in [
        "UPDATE ledger_entries SET note = 'rewritten'",
        "UPDATE ledger_entries SET note = NULL, points = points + 1",
        "UPDATE ledger_entries SET points = points + 1 WHERE note IS NULL",
    ] {
        let err = diesel::sql_query(sql).execute(&mut *conn).unwrap_err();
        assert!(err.to_string().contains("immutable"), "{sql}: {err}");
    }
    let cleared = diesel::sql_query("UPDATE ledger_entries SET note = NULL WHERE note IS NOT NULL")
        .execute(&mut *conn)
        .unwrap();
    assert!(cleared >= 1, "at least the adjustment's note");
}

/// Two invitations of a survey for the customer, written as the invitation job leaves them: one
/// still scheduled, one answered.
fn invitations(app: &TestApp, customer: &str) {
    let mut conn = app.pool.get().unwrap();
    let at = "'2026-11-22 09:00:00'";
    let statements = [
        format!(
            "INSERT INTO surveys (id, name, kind, scale, question, open_question, trigger_type, \
             delay_hours, reminder_after_hours, max_reminders, expires_after_days, active, \
             created_at, updated_at) VALUES ('sv-1', 'After purchase', 'nps', 10, \
             '{{\"en\": \"Recommend us?\"}}', '{{\"en\": \"Why?\"}}', 'post_purchase', 1, 48, 1, \
             14, TRUE, {at}, {at})"
        ),
        format!(
            "INSERT INTO survey_invitations (id, survey_id, customer_id, kind, scale, dedupe_key, \
             cause_type, cause_id, status, due_at, created_at, updated_at) VALUES ('inv-waiting', \
             'sv-1', '{customer}', 'nps', 10, 'manual:sv-1:a', 'manual', 'a', 'scheduled', {at}, \
             {at}, {at})"
        ),
        format!(
            "INSERT INTO survey_invitations (id, survey_id, customer_id, kind, scale, dedupe_key, \
             cause_type, cause_id, status, due_at, sent_at, answered_at, created_at, updated_at) \
             VALUES ('inv-answered', 'sv-1', '{customer}', 'nps', 10, 'manual:sv-1:b', 'manual', \
             'b', 'answered', {at}, {at}, {at}, {at}, {at})"
        ),
    ];
    for sql in statements {
        assert_eq!(diesel::sql_query(sql).execute(&mut *conn).unwrap(), 1);
    }
}

#[tokio::test]
async fn feedback_is_exported_and_erasure_removes_its_free_text_but_keeps_the_scores() {
    let app = TestApp::spawn().await;
    let key = app.api_key(SCOPES).await;
    let id = app.customer_id(&key, EMAIL).await;
    invitations(&app, &id);
    let feedback = app.api_key(&["feedback:write"]).await;
    let mut recorded = Vec::new();
    for (kind, score, comment) in [
        ("nps", 2, "rude-cashier-qq"),
        ("csat", 5, "lovely-barista-qq"),
    ] {
        let body = json!({"customer_id": id, "kind": kind, "score": score, "comment": comment,
                          "channel": "store", "touchpoint": "checkout", "agent_id": "ag-1",
                          "occurred_at": "2026-11-22T10:00:00Z"});
        recorded.push(
            ok(
                app.post("/v1/feedback", &feedback, body).await,
                StatusCode::CREATED,
            )
            .await,
        );
    }
    let case_id = recorded[0]["recovery_case_id"].as_str().unwrap().to_owned();
    let support = app.staff_token("support").await;
    ok(
        app.post(
            &format!("/v1/recovery-cases/{case_id}/resolve"),
            &support,
            json!({"note": "called-back-note-qq"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let (_, doc) = export(&app, &key, &format!("/v1/customers/{id}/export")).await;
    let responses = doc["feedback_responses"].as_array().unwrap();
    assert_eq!(responses.len(), 2);
    let comments = kinds(&doc["feedback_responses"], "comment");
    assert!(
        comments.contains(&"rude-cashier-qq".to_owned()),
        "{comments:?}"
    );
    assert_eq!(responses[0]["source"], "api");
    assert_eq!(responses[0]["agent_id"], "ag-1");
    assert_eq!(
        kinds(&doc["survey_invitations"], "id"),
        vec!["inv-answered", "inv-waiting"]
    );
    assert_eq!(doc["survey_invitations"][1]["status"], "scheduled");
    let case = &doc["recovery_cases"][0];
    assert_eq!(doc["recovery_cases"].as_array().unwrap().len(), 1);
    assert_eq!(case["id"], case_id.as_str());
    assert_eq!(case["score"], 2);
    assert_eq!(case["status"], "resolved");
    assert_eq!(case["resolution_note"], "called-back-note-qq");

    assert_eq!(
        erase(&app, &support, &id).await.status(),
        StatusCode::NO_CONTENT
    );
    let (_, after) = export(&app, &key, &format!("/v1/customers/{id}/export")).await;
    let text = after.to_string();
    for secret in [
        "rude-cashier-qq",
        "lovely-barista-qq",
        "called-back-note-qq",
    ] {
        assert!(!text.contains(secret), "{secret} survived the erasure");
    }
    let scores: Vec<(Value, Value)> = after["feedback_responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].clone(), r["score"].clone()))
        .collect();
    assert_eq!(
        scores,
        vec![(json!("nps"), json!(2)), (json!("csat"), json!(5))]
    );
    assert!(
        after["feedback_responses"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["comment"].is_null())
    );
    assert_eq!(after["recovery_cases"][0]["score"], 2);
    assert_eq!(after["recovery_cases"][0]["resolution_note"], Value::Null);
    let invitations = &after["survey_invitations"];
    assert_eq!(invitations[1]["status"], "cancelled");
    assert_eq!(invitations[1]["reason"], "customer_erased");
    assert_eq!(invitations[0]["status"], "answered");
    assert_eq!(invitations[0]["reason"], Value::Null);
}
