//! Earning rules and the dry run through the console.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{form_fields, pairs, problem_at, set};
use crate::console_client::{ConsoleClient, location};
use crate::helpers::{TestApp, ok};

async fn rules(app: &TestApp) -> Value {
    ok(
        app.get("/v1/earning-rules", &app.admin_token().await).await,
        StatusCode::OK,
    )
    .await
}

#[tokio::test]
async fn a_rule_is_created_edited_and_deleted_through_the_confirmation_page() {
    let app = TestApp::spawn().await;
    let mut console = ConsoleClient::admin(&app).await;
    let (status, html) = console.page("/admin/rules/new").await;
    assert_eq!(status, StatusCode::OK);
    let mut form = form_fields(&html, "rule-form");
    set(&mut form, "name", "Big basket");
    set(&mut form, "kind", "purchase_bonus");
    set(&mut form, "points", "50");
    set(&mut form, "min_total_minor", "10000");
    set(&mut form, "starts_at", "2026-01-01T00:00");
    set(&mut form, "store_ids", "s1, s2");
    form.push(("channels".into(), "store".into()));
    form.push(("channels".into(), "web".into()));
    let resp = console.send_form("/admin/rules/new", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/admin/rules?flash=created");
    let all = rules(&app).await;
    let rule = &all[0];
    assert_eq!(rule["name"], "Big basket");
    assert_eq!(rule["kind"], "purchase_bonus");
    assert_eq!(rule["active"], true);
    assert_eq!(rule["points"], 50);
    assert_eq!(rule["min_total_minor"], 10000);
    assert_eq!(rule["starts_at"], "2026-01-01T00:00:00Z");
    assert_eq!(rule["store_ids"], json!(["s1", "s2"]));
    assert_eq!(rule["channels"], json!(["store", "web"]));
    let id = rule["id"].as_str().unwrap();

    let (status, html) = console.page("/admin/rules").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Big basket") && html.contains("+50 points"),
        "{html}"
    );

    // Edit: the form shows the rule; emptied fields are removed, the kind can change.
    let (status, html) = console.page(&format!("/admin/rules/{id}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    let mut form = form_fields(&html, "rule-form");
    assert!(
        form.contains(&("channels".into(), "web".into())),
        "{form:?}"
    );
    assert!(form.contains(&("starts_at".into(), "2026-01-01T00:00".into())));
    form.retain(|(k, _)| k != "channels" && k != "active");
    set(&mut form, "kind", "multiplier");
    set(&mut form, "points", "");
    set(&mut form, "min_total_minor", "");
    set(&mut form, "multiplier_percent", "200");
    set(&mut form, "match.category", "coffee");
    set(&mut form, "starts_at", "");
    let resp = console
        .send_form(&format!("/admin/rules/{id}/edit"), &pairs(&form))
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let rule = &rules(&app).await[0];
    assert_eq!(rule["kind"], "multiplier");
    assert_eq!(rule["active"], false);
    assert_eq!(rule["channels"], json!([]));
    assert_eq!(rule["multiplier_percent"], 200);
    assert_eq!(rule["match"], json!({"category": "coffee", "sku": null}));
    assert_eq!(rule["points"], Value::Null);
    assert_eq!(rule["starts_at"], Value::Null);

    // Delete: a confirmation page first, whose button posts the deletion.
    let (status, html) = console.page(&format!("/admin/rules/{id}/delete")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Big basket") && html.contains("id=\"confirm\""),
        "{html}"
    );
    let resp = console
        .post(&format!("/admin/rules/{id}/delete"), &[])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/admin/rules?flash=deleted");
    assert_eq!(rules(&app).await, json!([]));
}

#[tokio::test]
async fn a_rule_the_api_refuses_shows_each_problem_next_to_its_field() {
    let app = TestApp::spawn().await;
    let mut console = ConsoleClient::admin(&app).await;
    let (_, html) = console.page("/admin/rules/new").await;
    let mut form = form_fields(&html, "rule-form");
    set(&mut form, "name", "Double coffee");
    set(&mut form, "kind", "multiplier");
    set(&mut form, "multiplier_percent", "200");
    set(&mut form, "points", "5");
    set(&mut form, "starts_at", "2026-02-01T00:00");
    set(&mut form, "ends_at", "2026-01-01T00:00");
    let resp = console.send_form("/admin/rules/new", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert_eq!(
        problem_at(&html, "match.category").as_deref(),
        Some("give exactly one of category and sku"),
        "{html}"
    );
    assert_eq!(
        problem_at(&html, "points").as_deref(),
        Some("is not used by this kind of rule")
    );
    assert_eq!(
        problem_at(&html, "ends_at").as_deref(),
        Some("must be after starts_at")
    );
    let kept = form_fields(&html, "rule-form");
    assert!(kept.contains(&("name".into(), "Double coffee".into())));
    assert!(
        kept.contains(&("kind".into(), "multiplier".into())),
        "{kept:?}"
    );
    assert_eq!(rules(&app).await, json!([]));
}

#[tokio::test]
async fn a_dry_run_shows_what_a_basket_would_earn_for_a_customer() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let key = app.backend_key().await;
    let customer = app.customer_id(&key, "dry@example.com").await;
    ok(
        app.post(
            "/v1/earning-rules",
            &admin,
            json!({"name": "Coffee double", "kind": "multiplier", "multiplier_percent": 200,
                   "match": {"category": "coffee"}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let mut console = ConsoleClient::admin(&app).await;
    let (status, html) = console.page("/admin/rules").await;
    assert_eq!(status, StatusCode::OK);
    let mut form = form_fields(&html, "dry-run-form");
    set(&mut form, "customer_id", &customer);
    set(&mut form, "lines[1].sku", "LATTE");
    set(&mut form, "lines[1].category", "coffee");
    set(&mut form, "lines[1].quantity", "2");
    set(&mut form, "lines[1].unit_price_minor", "500");
    set(&mut form, "lines[2].sku", "BAGEL");
    set(&mut form, "lines[2].unit_price_minor", "1000");
    set(&mut form, "lines[0].quantity", "");
    let resp = console
        .send_form("/admin/rules/dry-run", &pairs(&form))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    // 20.00 at 1 point per 1.00 is 20 points; the coffee lines (10.00) earn double: 10 more.
    assert!(html.contains("This basket would earn 30 points."), "{html}");
    assert!(
        html.contains("Base rate") && html.contains("Coffee double"),
        "{html}"
    );
    let kept = form_fields(&html, "dry-run-form");
    assert!(kept.contains(&("lines[1].sku".into(), "LATTE".into())));
    let history = ok(
        app.get(&format!("/v1/customers/{customer}/purchases"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(history["data"], json!([]), "nothing was recorded");

    // Problems land at the row they belong to, and an unknown customer is said so.
    set(&mut form, "lines[2].quantity", "0");
    let resp = console
        .send_form("/admin/rules/dry-run", &pairs(&form))
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert_eq!(
        problem_at(&html, "lines[2].quantity").as_deref(),
        Some("must be between 1 and 1000000"),
        "{html}"
    );
    set(&mut form, "lines[2].quantity", "1");
    set(&mut form, "customer_id", "no-such-customer");
    let resp = console
        .send_form("/admin/rules/dry-run", &pairs(&form))
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("class=\"problem\""), "{html}");
}

#[tokio::test]
async fn a_marketer_manages_rules_and_dry_runs_them_an_analyst_does_neither() {
    let app = TestApp::spawn().await;
    let (mut marketer, _) = ConsoleClient::with_role(&app, "marketer").await;
    let (status, html) = marketer.page("/admin/rules").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"create-rule\""));
    assert!(html.contains("id=\"dry-run-form\""), "{html}");

    let (mut analyst, _) = ConsoleClient::with_role(&app, "analyst").await;
    let (status, html) = analyst.page("/admin/rules").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("create-rule"));
    assert!(html.contains("id=\"dry-run-unavailable\""), "{html}");
    assert!(!html.contains("id=\"dry-run-form\""));
    let resp = analyst
        .post(
            "/admin/rules/dry-run",
            &[("customer_id", "x"), ("total_minor", "100")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let (status, _) = analyst.page("/admin/rules/new").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let resp = analyst
        .post(
            "/admin/rules/new",
            &[
                ("name", "x"),
                ("kind", "first_purchase_bonus"),
                ("points", "5"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(rules(&app).await, json!([]));
}
