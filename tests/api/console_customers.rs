//! The console's customer pages over HTTP: search, the 360 view and its tabs, adjusting points,
//! redeeming and cancelling codes, tickets and recovery cases — each change checked through the
//! API, each refusal with its status and nothing changed.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::console_client::{ConsoleClient, hidden_in, location};
use crate::helpers::{TestApp, ok, problem};
use crate::purchases::{purchase, till};

/// The text as a console page shows it (HTML-escaped).
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// A customer created by a store backend; returns the id.
async fn member(app: &TestApp, body: Value) -> String {
    let key = app.backend_key().await;
    app.customer(&key, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Points given through the API by the admin.
async fn give_points(app: &TestApp, id: &str, points: i64) {
    let admin = app.admin_token().await;
    let resp = app
        .client
        .post(app.url(&format!("/v1/customers/{id}/points/adjustments")))
        .bearer_auth(&admin)
        .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
        .json(&json!({"points": points, "reason": "welcome"}))
        .send()
        .await
        .unwrap();
    ok(resp, StatusCode::CREATED).await;
}

async fn balance(app: &TestApp, id: &str) -> Value {
    let admin = app.admin_token().await;
    ok(
        app.get(&format!("/v1/customers/{id}/points"), &admin).await,
        StatusCode::OK,
    )
    .await
}

async fn adjustments(app: &TestApp, id: &str) -> Vec<Value> {
    let admin = app.admin_token().await;
    let history = ok(
        app.get(&format!("/v1/customers/{id}/points/history"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    history["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "adjust")
        .cloned()
        .collect()
}

/// A reward costing `cost` points; returns its id.
async fn reward(app: &TestApp, cost: i64) -> String {
    let admin = app.admin_token().await;
    app.reward_id(
        &admin,
        json!({"name": {"en": "Free coffee", "fa": "قهوه رایگان"}, "kind": "free_product",
               "sku": "coffee", "cost_points": cost}),
    )
    .await
}

async fn code_status(app: &TestApp, code: &str) -> Value {
    let admin = app.admin_token().await;
    ok(
        app.get(&format!("/v1/codes/{code}"), &admin).await,
        StatusCode::OK,
    )
    .await
}

#[tokio::test]
async fn search_finds_a_customer_by_email_by_name_and_by_tag() {
    let app = TestApp::spawn().await;
    member(
        &app,
        json!({"email": "sara@example.com", "first_name": "Sara", "last_name": "Ahmadi",
               "tags": ["vip"]}),
    )
    .await;
    member(
        &app,
        json!({"email": "omid@example.com", "first_name": "Omid"}),
    )
    .await;
    let (mut console, _) = ConsoleClient::with_role(&app, "analyst").await;

    let (status, html) = console.page("/admin/customers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Sara Ahmadi") && html.contains("Omid"),
        "{html}"
    );

    let (status, html) = console
        .page("/admin/customers?email=SARA%40example.com")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Sara Ahmadi"), "{html}");
    assert!(!html.contains("omid@example.com"), "{html}");
    assert!(
        html.contains(r#"value="SARA@example.com""#),
        "the filter is kept"
    );

    let (_, html) = console.page("/admin/customers?tag=vip").await;
    assert!(html.contains("Sara Ahmadi"), "{html}");
    assert!(!html.contains("omid@example.com"), "{html}");

    let (_, html) = console.page("/admin/customers?q=omi").await;
    assert!(html.contains("omid@example.com"), "{html}");
    assert!(!html.contains("Sara Ahmadi"), "{html}");

    let (_, html) = console.page("/admin/customers?tag=nobody").await;
    assert!(html.contains("No customer matches this search."), "{html}");

    // A malformed filter: the API's message next to the field, what was typed kept.
    let (status, html) = console.page("/admin/customers?email=not-an-email").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(r#"id="e-email""#), "{html}");
    assert!(html.contains(r#"value="not-an-email""#), "{html}");
}

#[tokio::test]
async fn the_360_view_shows_a_purchase_recorded_through_the_api_and_the_balance() {
    let app = TestApp::spawn().await;
    let key = till(&app).await;
    let id = app
        .customer(
            &key,
            json!({"email": "sara@example.com", "first_name": "Sara", "last_name": "Ahmadi"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        app.post("/v1/purchases", &key, purchase("order-77", &id, 12_345))
            .await,
        StatusCode::CREATED,
    )
    .await;
    give_points(&app, &id, 40).await;
    let (mut console, _) = ConsoleClient::with_role(&app, "support").await;

    let (status, html) = console.page(&format!("/admin/customers/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Sara Ahmadi"), "{html}");
    assert!(html.contains("Purchase order-77"), "the timeline: {html}");
    assert!(
        html.contains(r#"<span id="purchase-count">1</span>"#),
        "{html}"
    );
    assert!(html.contains("123.45 USD"), "the total spent: {html}");
    assert!(
        html.contains(r#"<span id="balance-available">40</span>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<dd id="balance-pending">123</dd>"#),
        "{html}"
    );
    assert!(html.contains(r#"id="adjust-form""#) && html.contains(r#"id="redeem""#));

    let (status, html) = console
        .page(&format!("/admin/customers/{id}/purchases"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("order-77") && html.contains("123.45 USD"),
        "{html}"
    );
    for tab in ["timeline", "points", "codes", "tickets", "feedback"] {
        let (status, html) = console.page(&format!("/admin/customers/{id}/{tab}")).await;
        assert_eq!(status, StatusCode::OK, "{tab}: {html}");
    }
    let (_, html) = console
        .page(&format!("/admin/customers/{id}/timeline?type=purchase"))
        .await;
    assert!(html.contains("Purchase order-77"), "{html}");
    assert!(!html.contains("kind-created"), "only purchases: {html}");

    let (status, _) = console.page("/admin/customers/no-such-customer").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // In Persian: right to left, Persian digits and money.
    let back = format!("/admin/customers/{id}");
    let resp = console
        .post("/admin/language", &[("lang", "fa"), ("next", &back)])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, html) = console.page(&back).await;
    assert!(html.contains(r#"dir="rtl""#), "{html}");
    assert!(html.contains("۱۲۳٫۴۵ USD"), "{html}");
    assert!(
        html.contains("خریدها") && html.contains("اصلاح امتیاز"),
        "{html}"
    );
}

#[tokio::test]
async fn support_adjusts_points_and_the_same_form_sent_twice_adjusts_once() {
    let app = TestApp::spawn().await;
    let id = member(&app, json!({"email": "sara@example.com"})).await;
    let (mut console, _) = ConsoleClient::with_role(&app, "support").await;
    let (_, html) = console.page(&format!("/admin/customers/{id}")).await;
    let key = hidden_in(&html, "_key").expect("the form carries an idempotency key");
    let form = [
        ("_key", key.as_str()),
        ("points", "50"),
        ("reason", "Goodwill after a late delivery"),
        ("note_for_customer", "Sorry for the wait"),
    ];
    let path = format!("/admin/customers/{id}/adjust");
    let resp = console.post(&path, &form).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = location(&resp);
    assert_eq!(to, format!("/admin/customers/{id}?flash=points_adjusted"));
    let resp = console.post(&path, &form).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "a replay");

    assert_eq!(balance(&app, &id).await["available"], 50);
    let entries = adjustments(&app, &id).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["points"], 50);

    let (_, html) = console.page(&to).await;
    assert!(html.contains("The points were adjusted."), "{html}");
    assert!(
        html.contains(r#"<span id="balance-available">50</span>"#),
        "{html}"
    );
    let (_, html) = console.page(&format!("/admin/customers/{id}/points")).await;
    assert!(html.contains("Adjusted") && html.contains("+50"), "{html}");
    assert!(html.contains("Sorry for the wait"), "{html}");
    // Persian digits are read too.
    let (_, html) = console.page(&format!("/admin/customers/{id}")).await;
    let key = hidden_in(&html, "_key").unwrap();
    let resp = console
        .post(
            &path,
            &[("_key", &key), ("points", "-۱۰"), ("reason", "Correction")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(balance(&app, &id).await["available"], 40);
}

#[tokio::test]
async fn an_adjustment_below_zero_is_refused_with_the_apis_message_and_the_values_kept() {
    let app = TestApp::spawn().await;
    let id = member(&app, json!({"email": "sara@example.com"})).await;
    give_points(&app, &id, 5).await;
    let (mut console, _) = ConsoleClient::with_role(&app, "support").await;
    let (_, html) = console.page(&format!("/admin/customers/{id}")).await;
    let key = hidden_in(&html, "_key").unwrap();
    let path = format!("/admin/customers/{id}/adjust");
    let resp = console
        .post(
            &path,
            &[
                ("_key", &key),
                ("points", "-10"),
                ("reason", "Oops, a typo"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();

    // The same request straight to the API, for its message.
    let admin = app.admin_token().await;
    let refused = app
        .client
        .post(app.url(&format!("/v1/customers/{id}/points/adjustments")))
        .bearer_auth(&admin)
        .header("Idempotency-Key", "direct")
        .json(&json!({"points": -10, "reason": "Oops, a typo"}))
        .send()
        .await
        .unwrap();
    let body = problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "insufficient_points",
    )
    .await;
    let message = escaped(body["detail"].as_str().unwrap());
    assert!(
        html.contains(&format!(r#"<p class="error" id="e-points">{message}</p>"#)),
        "{html}"
    );
    assert!(html.contains(r#"value="-10""#), "{html}");
    assert!(html.contains(r#"value="Oops, a typo""#), "{html}");
    assert_ne!(
        hidden_in(&html, "_key").unwrap(),
        key,
        "a corrected form is a new request"
    );
    assert_eq!(balance(&app, &id).await["available"], 5);

    // Fields the form itself requires.
    let resp = console
        .post(&path, &[("_key", &key), ("points", "many"), ("reason", "")])
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains(r#"id="e-points">must be a whole number"#),
        "{html}"
    );
    assert!(
        html.contains(r#"id="e-reason">Say why the points change."#),
        "{html}"
    );
    assert!(html.contains(r#"value="many""#), "{html}");
    assert!(adjustments(&app, &id).await.len() == 1);
}

#[tokio::test]
async fn an_adjustment_without_the_right_csrf_token_is_403_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = member(&app, json!({"email": "sara@example.com"})).await;
    let (mut console, _) = ConsoleClient::with_role(&app, "support").await;
    let (_, html) = console.page(&format!("/admin/customers/{id}")).await;
    let key = hidden_in(&html, "_key").unwrap();
    let path = format!("/admin/customers/{id}/adjust");
    for token in [None, Some("forged")] {
        let mut fields = vec![("_key", key.as_str()), ("points", "50"), ("reason", "x")];
        if let Some(t) = token {
            fields.push(("_csrf", t));
        }
        let resp = console.send_form(&path, &fields).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(balance(&app, &id).await["available"], 0);
    assert!(adjustments(&app, &id).await.is_empty());
}

/// Redeems `reward` from the console as `console`; returns the code page's path.
async fn redeem_in_console(console: &mut ConsoleClient, id: &str, reward: &str) -> String {
    let (_, html) = console.page(&format!("/admin/customers/{id}")).await;
    assert!(html.contains(r#"<option value=""#), "{html}");
    let key = hidden_in(html.split("redeem-form").nth(1).unwrap(), "_key").unwrap();
    let resp = console
        .post(
            &format!("/admin/customers/{id}/redeem"),
            &[("_key", &key), ("reward_id", reward)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    location(&resp)
}

#[tokio::test]
async fn redeeming_from_the_console_shows_the_code_and_it_validates() {
    let app = TestApp::spawn().await;
    let id = member(&app, json!({"email": "sara@example.com"})).await;
    give_points(&app, &id, 500).await;
    let coffee = reward(&app, 300).await;
    let (mut console, _) = ConsoleClient::with_role(&app, "support").await;
    let to = redeem_in_console(&mut console, &id, &coffee).await;
    assert!(
        to.starts_with(&format!("/admin/customers/{id}/codes/")),
        "{to}"
    );
    let (status, html) = console.page(&to).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="redeemed-code""#), "{html}");
    assert!(html.contains("Give the customer this code."), "{html}");
    let code = html
        .split(r#"id="code-value" dir="ltr">"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let found = code_status(&app, &code).await;
    assert_eq!(found["status"], "issued");
    assert_eq!(found["customer_id"], id.as_str());
    assert_eq!(balance(&app, &id).await["available"], 200);
    assert!(html.contains("Free coffee"), "{html}");

    let (_, html) = console.page(&format!("/admin/customers/{id}/codes")).await;
    assert!(html.contains(&code) && html.contains("Valid"), "{html}");

    // Not enough points left for another: the API's message next to the reward.
    let (_, html) = console.page(&format!("/admin/customers/{id}")).await;
    let key = hidden_in(html.split("redeem-form").nth(1).unwrap(), "_key").unwrap();
    let resp = console
        .post(
            &format!("/admin/customers/{id}/redeem"),
            &[("_key", &key), ("reward_id", &coffee)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains(r#"id="e-reward_id""#), "{html}");
    assert!(
        html.contains(&format!(r#"value="{coffee}" selected"#)),
        "{html}"
    );
    assert_eq!(balance(&app, &id).await["available"], 200);
}

#[tokio::test]
async fn cancelling_a_code_asks_first_and_gives_the_points_back() {
    let app = TestApp::spawn().await;
    let id = member(&app, json!({"email": "sara@example.com"})).await;
    give_points(&app, &id, 500).await;
    let coffee = reward(&app, 300).await;
    let admin = app.admin_token().await;
    let code = app.redeem(&admin, &id, &coffee, "r-1").await;
    let (mut console, _) = ConsoleClient::with_role(&app, "support").await;

    let (_, html) = console.page(&format!("/admin/customers/{id}/codes")).await;
    let confirm = format!("/admin/customers/{id}/codes/{code}/cancel");
    assert!(html.contains(&confirm), "{html}");
    let (status, html) = console.page(&confirm).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Cancel this code?") && html.contains(&code),
        "{html}"
    );
    assert_eq!(
        code_status(&app, &code).await["status"],
        "issued",
        "asking changes nothing"
    );
    let key = hidden_in(&html, "_key").unwrap();
    let resp = console.post(&confirm, &[("_key", &key)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&resp),
        format!("/admin/customers/{id}/codes?flash=code_cancelled")
    );
    assert_eq!(code_status(&app, &code).await["status"], "cancelled");
    assert_eq!(balance(&app, &id).await["available"], 500);
    let (_, html) = console.page(&location(&resp)).await;
    assert!(html.contains("Cancelled"), "{html}");

    // The code of another customer is not found under this one.
    let other = member(&app, json!({"email": "omid@example.com"})).await;
    let (status, _) = console
        .page(&format!("/admin/customers/{other}/codes/{code}/cancel"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_analyst_sees_the_360_view_without_actions_and_may_not_use_them() {
    let app = TestApp::spawn().await;
    let id = member(&app, json!({"email": "sara@example.com"})).await;
    give_points(&app, &id, 500).await;
    let coffee = reward(&app, 300).await;
    let admin = app.admin_token().await;
    let code = app.redeem(&admin, &id, &coffee, "r-1").await;
    let (mut analyst, _) = ConsoleClient::with_role(&app, "analyst").await;

    let (status, html) = analyst.page(&format!("/admin/customers/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !html.contains("adjust-form") && !html.contains("redeem-form"),
        "{html}"
    );
    assert!(!html.contains(r#"name="_key""#), "{html}");
    let (status, html) = analyst.page(&format!("/admin/customers/{id}/codes")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&code), "{html}");
    assert!(!html.contains("/cancel"), "{html}");
    let (status, _) = analyst
        .page(&format!("/admin/customers/{id}/codes/{code}/cancel"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let posts = [
        (
            format!("/admin/customers/{id}/adjust"),
            vec![("_key", "k1"), ("points", "50"), ("reason", "x")],
        ),
        (
            format!("/admin/customers/{id}/redeem"),
            vec![("_key", "k2"), ("reward_id", coffee.as_str())],
        ),
        (
            format!("/admin/customers/{id}/codes/{code}/cancel"),
            vec![("_key", "k3")],
        ),
    ];
    for (path, fields) in posts {
        let resp = analyst.post(&path, &fields).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(balance(&app, &id).await["available"], 200);
    assert_eq!(code_status(&app, &code).await["status"], "issued");
    assert_eq!(adjustments(&app, &id).await.len(), 1);
}

async fn open_ticket(app: &TestApp, customer: &str) -> String {
    let helpdesk = app.api_key(&["tickets:write"]).await;
    ok(
        app.post(
            "/v1/tickets",
            &helpdesk,
            json!({"external_id": "zd-1", "customer_id": customer, "channel": "chat",
                   "subject": "Card not charged", "agent": {"id": "ag-1", "name": "Nima"}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn support_resolves_and_reopens_a_ticket_that_an_analyst_only_reads() {
    let app = TestApp::spawn().await;
    let id = member(
        &app,
        json!({"email": "sara@example.com", "first_name": "Sara"}),
    )
    .await;
    let ticket = open_ticket(&app, &id).await;
    let (mut support, _) = ConsoleClient::with_role(&app, "support").await;

    let (status, html) = support.page("/admin/tickets?status=open").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Card not charged"), "{html}");
    let (_, html) = support.page("/admin/tickets?status=resolved").await;
    assert!(!html.contains("Card not charged"), "{html}");
    let (_, html) = support
        .page(&format!("/admin/customers/{id}/tickets"))
        .await;
    assert!(html.contains("Card not charged"), "{html}");
    let (_, html) = support.page(&format!("/admin/customers/{id}")).await;
    assert!(
        html.contains("Card not charged"),
        "open tickets on the 360 view"
    );

    let path = format!("/admin/tickets/{ticket}");
    let (status, html) = support.page(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="resolve-ticket""#), "{html}");

    // A note too long: the API's message next to the field, the note kept.
    let long = "x".repeat(4001);
    let resp = support
        .post(&format!("{path}/resolve"), &[("resolution_note", &long)])
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains(r#"id="e-resolution_note""#), "{html}");
    assert!(html.contains(&long));

    let resp = support
        .post(
            &format!("{path}/resolve"),
            &[("resolution_note", "Refunded the double charge")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let admin = app.admin_token().await;
    let api = format!("/v1/tickets/{ticket}");
    let seen = ok(app.get(&api, &admin).await, StatusCode::OK).await;
    assert_eq!(seen["status"], "resolved");
    assert_eq!(seen["resolution_note"], "Refunded the double charge");
    let (_, html) = support.page(&location(&resp)).await;
    assert!(html.contains("The ticket is resolved."), "{html}");
    assert!(html.contains(r#"id="reopen-ticket""#), "{html}");

    let (mut analyst, _) = ConsoleClient::with_role(&app, "analyst").await;
    let (status, html) = analyst.page(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("reopen-ticket") && !html.contains("resolve-ticket"));
    let resp = analyst.post(&format!("{path}/reopen"), &[]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = support.send_form(&format!("{path}/reopen"), &[]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(
        ok(app.get(&api, &admin).await, StatusCode::OK).await["status"],
        "resolved"
    );

    let resp = support.post(&format!("{path}/reopen"), &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        ok(app.get(&api, &admin).await, StatusCode::OK).await["status"],
        "open"
    );
}

#[tokio::test]
async fn support_resolves_a_recovery_case_opened_by_a_detractor() {
    let app = TestApp::spawn().await;
    let id = member(
        &app,
        json!({"email": "sara@example.com", "first_name": "Sara"}),
    )
    .await;
    let key = app.api_key(&["feedback:write"]).await;
    let answer = ok(
        app.post(
            "/v1/feedback",
            &key,
            json!({"customer_id": id, "kind": "nps", "score": 3, "channel": "store",
                   "touchpoint": "checkout", "comment": "The queue was far too long",
                   "occurred_at": "2026-11-22T10:00:00Z"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let case = answer["recovery_case_id"].as_str().unwrap().to_owned();
    let (mut support, _) = ConsoleClient::with_role(&app, "support").await;

    let (status, html) = support.page("/admin/recovery?status=open&kind=nps").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("The queue was far too long"), "{html}");
    assert!(html.contains(&format!("/admin/recovery/{case}")), "{html}");
    let (_, html) = support
        .page(&format!("/admin/customers/{id}/feedback"))
        .await;
    assert!(html.contains(&format!("/admin/recovery/{case}")), "{html}");
    assert!(html.contains("3 of 10"), "{html}");

    let path = format!("/admin/recovery/{case}");
    let (mut analyst, _) = ConsoleClient::with_role(&app, "analyst").await;
    let (status, html) = analyst.page(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("resolve-case"), "{html}");
    let resp = analyst
        .post(&format!("{path}/resolve"), &[("note", "x")])
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let (_, html) = support.page(&path).await;
    assert!(html.contains(r#"id="resolve-case""#), "{html}");
    let resp = support
        .post(
            &format!("{path}/resolve"),
            &[("note", "Called her and apologised")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let admin = app.admin_token().await;
    let seen = ok(
        app.get(&format!("/v1/recovery-cases/{case}"), &admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(seen["status"], "resolved");
    assert_eq!(seen["resolution_note"], "Called her and apologised");
    let (_, html) = support.page(&location(&resp)).await;
    assert!(html.contains("The case is resolved."), "{html}");

    // Resolving again: the API's refusal, shown with the form.
    let resp = support
        .post(&format!("{path}/resolve"), &[("note", "again")])
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
