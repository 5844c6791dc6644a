//! Unsubscribe links (RFC 8058): a GET confirms and changes nothing, a POST opts out at once.

use std::time::Duration;

use patron::messages::Kind;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::delivery::{dispatch, enqueue_for, member, message};
use crate::helpers::{TestApp, ok, problem};
use crate::mail::MailSink;

const WAIT: Duration = Duration::from_secs(10);

/// The path of the link in the `List-Unsubscribe` header of the n-th message received.
async fn link_path(mail: &MailSink, n: usize) -> String {
    let got = mail.wait_for(n + 1, WAIT).await;
    let header = got[n].header("List-Unsubscribe").expect("List-Unsubscribe");
    let url = header.trim_matches(['<', '>']);
    let at = url.find("/u/").expect("an unsubscribe path");
    url[at..].to_owned()
}

async fn consents(app: &TestApp, id: &str) -> Value {
    let admin = app.admin_token().await;
    ok(
        app.get(&format!("/v1/customers/{id}"), &admin).await,
        StatusCode::OK,
    )
    .await["consents"]
        .clone()
}

#[tokio::test]
async fn a_post_to_the_link_stops_the_next_marketing_message_and_a_get_does_not() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    let id = member(&app, "leaving@example.com", json!({})).await;
    enqueue_for(&app, &id, Kind::BirthdayOffer, json!({"code": "A1"})).await;
    dispatch(&app).await;
    let path = link_path(&mail, 0).await;

    let page = app.request(Method::GET, &path, None, None).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<html lang="en" dir="ltr">"#), "{html}");
    assert!(html.contains(r#"<form method="post">"#), "{html}");
    assert_eq!(
        consents(&app, &id).await["email_marketing"],
        true,
        "a GET changes nothing"
    );

    // Opened twice, still subscribed: the next offer goes out.
    app.request(Method::GET, &path, None, None).await;
    app.clock.advance(chrono::Duration::days(8));
    enqueue_for(&app, &id, Kind::BirthdayOffer, json!({"code": "A2"})).await;
    dispatch(&app).await;
    mail.wait_for(2, WAIT).await;

    // One click, as a mail client sends it.
    let resp = app
        .client
        .post(app.url(&path))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let done = resp.text().await.unwrap();
    assert!(done.contains("You are unsubscribed"), "{done}");
    let now = consents(&app, &id).await;
    assert_eq!(now["email_marketing"], false);
    assert_eq!(now["surveys"], true, "only the link's category");

    // Doing it again is harmless.
    let again = app.request(Method::POST, &path, None, None).await;
    assert_eq!(again.status(), StatusCode::OK);

    app.clock.advance(chrono::Duration::days(8));
    let next = enqueue_for(&app, &id, Kind::BirthdayOffer, json!({"code": "A3"})).await;
    dispatch(&app).await;
    let m = message(&app, &next).await;
    assert_eq!(m["status"], "suppressed");
    assert_eq!(m["reason"], "no_marketing_consent");
    assert_eq!(mail.received().len(), 2);
}

#[tokio::test]
async fn a_survey_link_withdraws_survey_consent_only_and_its_page_speaks_the_customers_language() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    let id = member(&app, "nazanin@example.com", json!({"locale": "fa"})).await;
    enqueue_for(
        &app,
        &id,
        Kind::SurveyInvitation,
        json!({"survey_url": "https://s/1"}),
    )
    .await;
    dispatch(&app).await;
    let path = link_path(&mail, 0).await;
    let html = app
        .request(Method::GET, &path, None, None)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"<html lang="fa" dir="rtl">"#), "{html}");
    assert!(html.contains("لغو اشتراک"), "{html}");
    let resp = app.request(Method::POST, &path, None, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("اشتراک شما لغو شد"));
    let now = consents(&app, &id).await;
    assert_eq!(now["surveys"], false);
    assert_eq!(now["email_marketing"], true);
}

#[tokio::test]
async fn a_forged_or_garbled_link_is_404() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    let id = member(&app, "target@example.com", json!({})).await;
    enqueue_for(&app, &id, Kind::TierChanged, json!({"tier_name": "Gold"})).await;
    dispatch(&app).await;
    let path = link_path(&mail, 0).await;
    let token = path.trim_start_matches("/u/");
    let (payload, sig) = token.split_once('.').unwrap();
    // Another customer's id under this signature.
    use base64::Engine;
    let other = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("m:someone-else");
    let mut flipped = sig.to_owned();
    let first = if flipped.starts_with('A') { "B" } else { "A" };
    flipped.replace_range(..1, first);
    for bad in [
        format!("/u/{other}.{sig}"),
        format!("/u/{payload}.{flipped}"),
        "/u/garbage".to_owned(),
        format!("/u/{}", "x".repeat(400)),
    ] {
        for method in [Method::GET, Method::POST] {
            let resp = app.request(method.clone(), &bad, None, None).await;
            problem(resp, StatusCode::NOT_FOUND, "not_found").await;
        }
    }
    assert_eq!(consents(&app, &id).await["email_marketing"], true);
}
