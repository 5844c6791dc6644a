//! Tiers through the console.

use reqwest::StatusCode;
use serde_json::json;

use super::{action_in, form_fields, pairs, problem_at, set};
use crate::console_client::{ConsoleClient, hidden_in, location};
use crate::helpers::{TestApp, ok};

/// The new-tier form with these names and threshold, as a browser would send it.
async fn new_tier_form(
    console: &mut ConsoleClient,
    fields: &[(&str, &str)],
) -> Vec<(String, String)> {
    let (status, html) = console.page("/admin/tiers/new").await;
    assert_eq!(status, StatusCode::OK);
    let mut form = form_fields(&html, "tier-form");
    for (k, v) in fields {
        set(&mut form, k, v);
    }
    form
}

#[tokio::test]
async fn an_admin_creates_a_tier_with_a_persian_name_and_the_api_lists_it() {
    let app = TestApp::spawn().await;
    let mut console = ConsoleClient::admin(&app).await;
    let form = new_tier_form(
        &mut console,
        &[
            ("name.en", "Gold"),
            ("name.fa", "طلایی"),
            ("threshold", "۱۰۰۰"),
            ("multiplier_percent", "150"),
            ("benefits.en", "Free shipping\nLounge"),
            ("benefits.fa", "ارسال رایگان"),
        ],
    )
    .await;
    let resp = console.send_form("/admin/tiers/new", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/admin/tiers?flash=created");
    let (status, html) = console.page("/admin/tiers?flash=created").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Gold"), "{html}");
    assert!(html.contains("id=\"create-tier\""));

    let tiers = ok(
        app.get("/v1/tiers", &app.admin_token().await).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(tiers.as_array().unwrap().len(), 1);
    let tier = &tiers[0];
    assert_eq!(tier["name"], json!({"en": "Gold", "fa": "طلایی"}));
    assert_eq!(tier["threshold"], 1000, "Persian digits are read");
    assert_eq!(tier["multiplier_percent"], 150);
    assert_eq!(
        tier["benefits"],
        json!([{"en": "Free shipping", "fa": "ارسال رایگان"}, {"en": "Lounge"}])
    );

    // The edit form shows the tier as it is; a change is saved through PATCH.
    let id = tier["id"].as_str().unwrap();
    let (status, html) = console.page(&format!("/admin/tiers/{id}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    let mut form = form_fields(&html, "tier-form");
    assert!(
        form.contains(&("name.fa".into(), "طلایی".into())),
        "{form:?}"
    );
    assert!(form.contains(&("benefits.en".into(), "Free shipping\nLounge".into())));
    set(&mut form, "threshold", "2000");
    set(&mut form, "name.ar", "ذهبي");
    let resp = console
        .send_form(&format!("/admin/tiers/{id}/edit"), &pairs(&form))
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let tiers = ok(
        app.get("/v1/tiers", &app.admin_token().await).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(tiers[0]["threshold"], 2000);
    assert_eq!(
        tiers[0]["name"],
        json!({"en": "Gold", "fa": "طلایی", "ar": "ذهبي"})
    );
    assert_eq!(tiers[0]["benefits"], tier["benefits"]);
}

#[tokio::test]
async fn a_bad_threshold_is_refused_next_to_the_field_with_what_was_typed_kept() {
    let app = TestApp::spawn().await;
    let mut console = ConsoleClient::admin(&app).await;
    let form = new_tier_form(
        &mut console,
        &[
            ("name.fa", "نقره‌ای"),
            ("threshold", "-5"),
            ("benefits.fa", "هدیه"),
        ],
    )
    .await;
    let resp = console.send_form("/admin/tiers/new", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert_eq!(
        problem_at(&html, "threshold").as_deref(),
        Some("must be between 0 and 1000000000"),
        "{html}"
    );
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"e-threshold\""));
    let kept = form_fields(&html, "tier-form");
    assert!(
        kept.contains(&("name.fa".into(), "نقره‌ای".into())),
        "{kept:?}"
    );
    assert!(kept.contains(&("threshold".into(), "-5".into())));
    assert!(kept.contains(&("benefits.fa".into(), "هدیه".into())));

    // Not a number at all: refused before the API is asked.
    let form = new_tier_form(
        &mut console,
        &[("name.en", "Silver"), ("threshold", "lots")],
    )
    .await;
    let resp = console.send_form("/admin/tiers/new", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert_eq!(
        problem_at(&html, "threshold").as_deref(),
        Some("Enter a whole number.")
    );

    // A threshold another tier has: the API's conflict is shown at the threshold.
    let form = new_tier_form(&mut console, &[("name.en", "Silver"), ("threshold", "100")]).await;
    let resp = console.send_form("/admin/tiers/new", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let form = new_tier_form(&mut console, &[("name.en", "Bronze"), ("threshold", "100")]).await;
    let resp = console.send_form("/admin/tiers/new", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert_eq!(
        problem_at(&html, "threshold").as_deref(),
        Some("Another tier has this threshold")
    );

    // No name in any language: the API's problem is shown at the English name.
    let form = new_tier_form(&mut console, &[("threshold", "500")]).await;
    let resp = console.send_form("/admin/tiers/new", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert_eq!(
        problem_at(&html, "name.en").as_deref(),
        Some("must not be empty")
    );

    let tiers = ok(
        app.get("/v1/tiers", &app.admin_token().await).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(tiers.as_array().unwrap().len(), 1, "only Silver: {tiers}");
}

#[tokio::test]
async fn creating_a_tier_without_or_with_a_wrong_csrf_token_is_refused_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let mut console = ConsoleClient::admin(&app).await;
    let mut form = new_tier_form(&mut console, &[("name.en", "Gold"), ("threshold", "10")]).await;
    form.retain(|(k, _)| k != "_csrf");
    let resp = console.send_form("/admin/tiers/new", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    set(&mut form, "_csrf", "not-the-token");
    let resp = console.send_form("/admin/tiers/new", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let tiers = ok(
        app.get("/v1/tiers", &app.admin_token().await).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(tiers, json!([]));
}

#[tokio::test]
async fn a_tier_is_deleted_after_confirming_and_one_in_use_stays_with_the_reason() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let mut ids = Vec::new();
    for (name, threshold) in [("Gold", 1000), ("Silver", 100)] {
        let tier = ok(
            app.post(
                "/v1/tiers",
                &admin,
                json!({"name": {"en": name}, "threshold": threshold}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        ids.push(tier["id"].as_str().unwrap().to_owned());
    }
    // A reward requires Gold.
    app.reward_id(
        &admin,
        json!({"name": "Lounge", "kind": "gift", "cost_points": 10, "min_tier_id": ids[0]}),
    )
    .await;
    let mut console = ConsoleClient::admin(&app).await;

    let (status, html) = console
        .page(&format!("/admin/tiers/{}/delete", ids[1]))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Silver"), "{html}");
    let action = action_in(&html, "/admin/tiers/");
    assert!(action.ends_with("/delete"), "{action}");
    assert!(hidden_in(&html, "_csrf").is_some());
    let resp = console.post(&action, &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/admin/tiers?flash=deleted");

    console
        .page(&format!("/admin/tiers/{}/delete", ids[0]))
        .await;
    let resp = console
        .post(&format!("/admin/tiers/{}/delete", ids[0]), &[])
        .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let html = resp.text().await.unwrap();
    assert!(html.contains("A reward requires this tier"), "{html}");

    let tiers = ok(app.get("/v1/tiers", &admin).await, StatusCode::OK).await;
    assert_eq!(tiers.as_array().unwrap().len(), 1);
    assert_eq!(tiers[0]["id"], ids[0].as_str());
}
