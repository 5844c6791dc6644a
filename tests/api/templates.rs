//! Message templates: shipped defaults, staff overrides validated on save, reset, preview.

use std::time::Duration;

use patron::messages::Kind;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::delivery::{dispatch, enqueue_for, member};
use crate::helpers::{TestApp, ok, problem};
use crate::mail::MailSink;

fn valid() -> Value {
    json!({
        "subject": "{{ first_name or 'Friend' }}, your code {{ code }}",
        "html": "<p>Code <b>{{ code }}</b> until {{ code_expires_at | date }}.</p>{% if unsubscribe_url %}<a href=\"{{ unsubscribe_url }}\">stop</a>{% endif %}",
        "text": "Code {{ code }}. Balance {{ points_balance | number }}."
    })
}

#[tokio::test]
async fn staff_list_every_kind_in_every_locale_with_the_shipped_defaults() {
    let app = TestApp::spawn().await;
    let support = app.staff_token("support").await;
    let list = ok(app.get("/v1/templates", &support).await, StatusCode::OK).await;
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 21);
    assert!(data.iter().all(|t| t["overridden"] == false));
    assert_eq!(list["next_cursor"], Value::Null);
    let fa = ok(
        app.get("/v1/templates/birthday_offer/fa", &support).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(fa["overridden"], false);
    assert!(fa["html"].as_str().unwrap().contains(r#"dir="rtl""#));
    assert!(fa["subject"].as_str().unwrap().contains("تولدتان مبارک"));
    for path in [
        "/v1/templates/postcard/en",
        "/v1/templates/birthday_offer/de",
        "/v1/templates/birthday_offer/EN",
    ] {
        problem(
            app.get(path, &support).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
}

#[tokio::test]
async fn a_marketer_overrides_a_template_messages_use_it_and_delete_restores_the_default() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    let marketer = app.staff_token("marketer").await;
    let saved = ok(
        app.request(
            Method::PUT,
            "/v1/templates/birthday_offer/en",
            Some(&marketer),
            Some(valid()),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(saved["overridden"], true);
    assert_eq!(saved["subject"], valid()["subject"]);
    assert!(saved["updated_by"].is_string());
    let list = ok(app.get("/v1/templates", &marketer).await, StatusCode::OK).await;
    let overridden: Vec<_> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["overridden"] == true)
        .map(|t| (t["kind"].as_str().unwrap(), t["locale"].as_str().unwrap()))
        .collect();
    assert_eq!(overridden, [("birthday_offer", "en")]);

    let id = member(&app, "kim@example.com", json!({"first_name": "Kim"})).await;
    enqueue_for(
        &app,
        &id,
        Kind::BirthdayOffer,
        json!({"code": "Z9", "code_expires_at": "2027-01-05T00:00:00Z"}),
    )
    .await;
    dispatch(&app).await;
    let m = &mail.wait_for(1, Duration::from_secs(10)).await[0];
    assert_eq!(m.header("Subject").unwrap(), "Kim, your code Z9");
    assert!(m.html().contains("Code <b>Z9</b> until 5 January 2027."));

    let resp = app
        .request(
            Method::DELETE,
            "/v1/templates/birthday_offer/en",
            Some(&marketer),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let back = ok(
        app.get("/v1/templates/birthday_offer/en", &marketer).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(back["overridden"], false);
    assert!(
        back["subject"]
            .as_str()
            .unwrap()
            .starts_with("Happy birthday")
    );
    // Deleting again changes nothing.
    let resp = app
        .request(
            Method::DELETE,
            "/v1/templates/birthday_offer/en",
            Some(&marketer),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_template_that_does_not_compile_or_render_is_refused_with_the_error() {
    let app = TestApp::spawn().await;
    let marketer = app.staff_token("marketer").await;
    let put = |body: Value| {
        let (app, token) = (&app, marketer.clone());
        async move {
            app.request(
                Method::PUT,
                "/v1/templates/tier_changed/ar",
                Some(&token),
                Some(body),
            )
            .await
        }
    };
    let mut syntax = valid();
    syntax["html"] = json!("<p>{% if first_name %}unclosed</p>");
    let body = problem(
        put(syntax).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "template_invalid",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("body.html"),
        "{body}"
    );

    let mut misspelt = valid();
    misspelt["text"] = json!("Hello {{ frist_name }}");
    let body = problem(
        put(misspelt).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "template_invalid",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("undefined"),
        "{body}"
    );

    // Must also render when optional values (a survey link, a code) are missing.
    let mut fragile = valid();
    fragile["subject"] = json!("Survey {{ survey_url[0] }}");
    problem(
        put(fragile).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "template_invalid",
    )
    .await;

    let mut blank = valid();
    blank["subject"] = json!("{% if false %}x{% endif %}");
    problem(
        put(blank).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "template_invalid",
    )
    .await;

    let mut empty = valid();
    empty["text"] = json!("  ");
    problem(
        put(empty).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let mut extra = valid();
    extra["footer"] = json!("x");
    problem(put(extra).await, StatusCode::BAD_REQUEST, "invalid_body").await;

    let resp = app
        .request(
            Method::PUT,
            "/v1/templates/postcard/ar",
            Some(&marketer),
            Some(valid()),
        )
        .await;
    problem(resp, StatusCode::NOT_FOUND, "not_found").await;
    let after = ok(
        app.get("/v1/templates/tier_changed/ar", &marketer).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(after["overridden"], false);
}

#[tokio::test]
async fn preview_renders_the_template_for_a_real_customer() {
    let app = TestApp::spawn().await;
    let support = app.staff_token("support").await;
    let id = member(
        &app,
        "leila@example.com",
        json!({"first_name": "لیلا", "time_zone": "Asia/Tehran"}),
    )
    .await;
    let body = ok(
        app.post(
            "/v1/templates/points_expiring/fa/preview",
            &support,
            json!({"customer_id": id}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(
        body["subject"].as_str().unwrap().contains("۲۵۰ امتیاز شما"),
        "{body}"
    );
    let html = body["html"].as_str().unwrap();
    assert!(html.contains(r#"<html lang="fa" dir="rtl">"#));
    assert!(html.contains("لیلا عزیز"), "{html}");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("موجودی شما: ۰ امتیاز")
    );

    let missing = app
        .post(
            "/v1/templates/points_expiring/fa/preview",
            &support,
            json!({"customer_id": "nobody"}),
        )
        .await;
    problem(missing, StatusCode::NOT_FOUND, "not_found").await;

    // A marketing preview shows where the unsubscribe link goes, never a working link: staff
    // who may read templates must not be able to opt a customer out with it.
    let offer = ok(
        app.post(
            "/v1/templates/birthday_offer/en/preview",
            &support,
            json!({"customer_id": id}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let text = offer["text"].as_str().unwrap();
    assert!(text.contains("/u/preview"), "{text}");
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/u/"))
        .unwrap()
        .to_owned();
    let token = link.rsplit("/u/").next().unwrap().to_owned();
    assert_eq!(token.trim_end_matches(['.', ')', '>']), "preview");
    let unknown = app
        .post(
            "/v1/templates/points_expiring/xx/preview",
            &support,
            json!({"customer_id": id}),
        )
        .await;
    problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn roles_without_template_permissions_are_refused() {
    let app = TestApp::spawn().await;
    let analyst = app.staff_token("analyst").await;
    let support = app.staff_token("support").await;
    let key = app.backend_key().await;
    problem(
        app.get("/v1/templates", &analyst).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    problem(
        app.get("/v1/templates", &key).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    problem(
        app.post(
            "/v1/templates/tier_changed/en/preview",
            &analyst,
            json!({"customer_id": "x"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // Support may read and preview, not change.
    let resp = app
        .request(
            Method::PUT,
            "/v1/templates/tier_changed/en",
            Some(&support),
            Some(valid()),
        )
        .await;
    problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .request(
            Method::DELETE,
            "/v1/templates/tier_changed/en",
            Some(&support),
            None,
        )
        .await;
    problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .request(
            Method::PUT,
            "/v1/templates/tier_changed/en",
            None,
            Some(valid()),
        )
        .await;
    problem(resp, StatusCode::UNAUTHORIZED, "missing_credentials").await;
}
