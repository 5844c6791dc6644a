//! Rewards through the console, and what read-only roles see of the catalog.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{form_fields, pairs, problem_at, set, untick};
use crate::console_client::{ConsoleClient, location};
use crate::helpers::{TestApp, ok};

async fn rewards(app: &TestApp) -> Value {
    ok(
        app.get("/v1/rewards", &app.admin_token().await).await,
        StatusCode::OK,
    )
    .await["data"]
        .clone()
}

async fn gold(app: &TestApp) -> String {
    let tier = ok(
        app.post(
            "/v1/tiers",
            &app.admin_token().await,
            json!({"name": {"en": "Gold", "fa": "طلایی"}, "threshold": 1000}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    tier["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_reward_with_persian_and_arabic_names_is_created_edited_and_deactivated() {
    let app = TestApp::spawn().await;
    let tier = gold(&app).await;
    let mut console = ConsoleClient::admin(&app).await;
    let (status, html) = console.page("/admin/rewards/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&format!("<option value=\"{tier}\">Gold</option>")),
        "{html}"
    );
    let mut form = form_fields(&html, "reward-form");
    set(&mut form, "name.en", "Free coffee");
    set(&mut form, "name.fa", "قهوهٔ رایگان");
    set(&mut form, "name.ar", "قهوة مجانية");
    set(&mut form, "description.fa", "یک فنجان در هر شعبه");
    set(&mut form, "kind", "free_product");
    set(&mut form, "sku", "COFFEE");
    set(&mut form, "cost_points", "200");
    set(&mut form, "min_tier_id", &tier);
    set(&mut form, "stock", "10");
    set(&mut form, "per_customer_limit", "2");
    set(&mut form, "valid_until", "2030-01-01T00:00");
    let resp = console.send_form("/admin/rewards/new", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/admin/rewards?flash=created");

    let all = rewards(&app).await;
    let reward = &all[0];
    assert_eq!(
        reward["name"],
        json!({"en": "Free coffee", "fa": "قهوهٔ رایگان", "ar": "قهوة مجانية"})
    );
    assert_eq!(reward["description"], json!({"fa": "یک فنجان در هر شعبه"}));
    assert_eq!(reward["kind"], "free_product");
    assert_eq!(reward["sku"], "COFFEE");
    assert_eq!(reward["cost_points"], 200);
    assert_eq!(reward["min_tier_id"], tier.as_str());
    assert_eq!(reward["stock"], 10);
    assert_eq!(reward["per_customer_limit"], 2);
    assert_eq!(reward["valid_until"], "2030-01-01T00:00:00Z");
    assert_eq!(reward["code_validity_days"], 30);
    assert_eq!(reward["active"], true);
    let id = reward["id"].as_str().unwrap();

    let (status, html) = console.page("/admin/rewards").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Free coffee") && html.contains("Gold"),
        "{html}"
    );
    assert!(html.contains(&format!("/admin/rewards/{id}/edit")));

    // Edit: the stock emptied means unlimited; the Persian name changes; the kind stays.
    let (status, html) = console.page(&format!("/admin/rewards/{id}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    let mut form = form_fields(&html, "reward-form");
    assert!(
        form.contains(&("name.ar".into(), "قهوة مجانية".into())),
        "{form:?}"
    );
    assert!(
        !form.iter().any(|(k, _)| k == "kind"),
        "what a reward gives is not editable"
    );
    set(&mut form, "stock", "");
    set(&mut form, "name.fa", "قهوه مجانی");
    set(&mut form, "min_tier_id", "");
    let resp = console
        .send_form(&format!("/admin/rewards/{id}/edit"), &pairs(&form))
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let reward = &rewards(&app).await[0];
    assert_eq!(reward["stock"], Value::Null);
    assert_eq!(reward["min_tier_id"], Value::Null);
    assert_eq!(reward["name"]["fa"], "قهوه مجانی");
    assert_eq!(reward["kind"], "free_product");
    assert_eq!(reward["valid_until"], "2030-01-01T00:00:00Z");

    // A value the API refuses is shown at its field, the rest kept.
    set(&mut form, "cost_points", "0");
    let resp = console
        .send_form(&format!("/admin/rewards/{id}/edit"), &pairs(&form))
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert_eq!(
        problem_at(&html, "cost_points").as_deref(),
        Some("must be between 1 and 1000000000"),
        "{html}"
    );
    assert!(form_fields(&html, "reward-form").contains(&("name.fa".into(), "قهوه مجانی".into())));

    // Deactivate: no DELETE in the API, a confirmed deactivation instead.
    let (status, html) = console
        .page(&format!("/admin/rewards/{id}/deactivate"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Free coffee") && html.contains("id=\"confirm\""),
        "{html}"
    );
    let resp = console
        .post(&format!("/admin/rewards/{id}/deactivate"), &[])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/admin/rewards?flash=reward_deactivated");
    let (_, html) = console
        .page("/admin/rewards?flash=reward_deactivated")
        .await;
    assert!(html.contains("The reward was deactivated."), "{html}");
    assert_eq!(rewards(&app).await[0]["active"], false);
}

#[tokio::test]
async fn a_new_reward_missing_what_its_kind_needs_is_refused_at_the_field() {
    let app = TestApp::spawn().await;
    let mut console = ConsoleClient::admin(&app).await;
    let (_, html) = console.page("/admin/rewards/new").await;
    let mut form = form_fields(&html, "reward-form");
    set(&mut form, "name.fa", "تخفیف");
    set(&mut form, "kind", "percent_discount");
    set(&mut form, "cost_points", "100");
    untick(&mut form, "active");
    let resp = console.send_form("/admin/rewards/new", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert_eq!(
        problem_at(&html, "percent_off").as_deref(),
        Some("must be 1 to 100 for percent_discount"),
        "{html}"
    );
    let kept = form_fields(&html, "reward-form");
    assert!(kept.contains(&("name.fa".into(), "تخفیف".into())));
    assert!(
        !kept.iter().any(|(k, _)| k == "active"),
        "the untick is kept"
    );
    assert_eq!(rewards(&app).await, json!([]));
}

#[tokio::test]
async fn an_analyst_sees_tiers_rewards_and_program_without_buttons_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let tier = gold(&app).await;
    let admin = app.admin_token().await;
    let reward = app
        .reward_id(
            &admin,
            json!({"name": {"en": "Mug", "fa": "لیوان"}, "kind": "gift", "cost_points": 50}),
        )
        .await;
    let (mut analyst, _) = ConsoleClient::with_role(&app, "analyst").await;

    let (status, html) = analyst.page("/admin/tiers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Gold"));
    for absent in ["create-tier", "/edit", "/delete"] {
        assert!(
            !html.contains(absent),
            "{absent} on the analyst's tiers: {html}"
        );
    }
    let (status, html) = analyst.page("/admin/rewards").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Mug"));
    for absent in ["create-reward", "/edit", "/deactivate"] {
        assert!(
            !html.contains(absent),
            "{absent} on the analyst's rewards: {html}"
        );
    }
    let (status, html) = analyst.page("/admin/program").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("save-program"));

    for page in [
        "/admin/tiers/new".to_owned(),
        format!("/admin/tiers/{tier}/edit"),
        format!("/admin/tiers/{tier}/delete"),
        "/admin/rewards/new".to_owned(),
        format!("/admin/rewards/{reward}/edit"),
        format!("/admin/rewards/{reward}/deactivate"),
    ] {
        let (status, _) = analyst.page(&page).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    }
    // Posts carrying the analyst's own valid CSRF token are refused too.
    analyst.page("/admin/tiers").await;
    for (path, fields) in [
        (
            "/admin/tiers/new".to_owned(),
            vec![("name.en", "Silver"), ("threshold", "5")],
        ),
        (
            format!("/admin/tiers/{tier}/edit"),
            vec![("name.en", "Lead"), ("threshold", "5")],
        ),
        (format!("/admin/tiers/{tier}/delete"), vec![]),
        (
            "/admin/rewards/new".to_owned(),
            vec![("name.en", "Pen"), ("kind", "gift"), ("cost_points", "5")],
        ),
        (
            format!("/admin/rewards/{reward}/edit"),
            vec![("name.en", "Cup"), ("cost_points", "5")],
        ),
        (format!("/admin/rewards/{reward}/deactivate"), vec![]),
    ] {
        let resp = analyst.post(&path, &fields).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let tiers = ok(app.get("/v1/tiers", &admin).await, StatusCode::OK).await;
    assert_eq!(tiers.as_array().unwrap().len(), 1);
    assert_eq!(tiers[0]["name"]["en"], "Gold");
    let all = rewards(&app).await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(all[0]["name"]["en"], "Mug");
    assert_eq!(all[0]["active"], true);

    // A support agent may read rewards but not change them either.
    let (mut support, _) = ConsoleClient::with_role(&app, "support").await;
    let (status, html) = support.page("/admin/rewards").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("create-reward"));
}
