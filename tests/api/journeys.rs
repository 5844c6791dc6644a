//! Whole journeys from cause to inbox, over real SMTP: the birthday job and the dispatcher at the
//! customer's local morning, a resolved ticket's follow-up after the delay, and a tier upgrade in
//! the customer's language. Each step runs the registered job, as the scheduler does.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok};
use crate::mail::MailSink;
use crate::program::set_program;

const WAIT: Duration = Duration::from_secs(10);

fn at(s: &str) -> chrono::DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&Utc)
}

async fn member(app: &TestApp, key: &str, body: Value) -> String {
    app.customer(key, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs every message job in the order the scheduler's minutes would.
async fn tick(app: &TestApp) {
    for job in ["birthday_offers", "ticket_follow_ups", "dispatch_outbox"] {
        app.run_job(job).await;
    }
}

#[tokio::test]
async fn birthday_offers_reach_the_inbox_at_nine_local_in_tehran_and_in_los_angeles() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    let admin = app.admin_token().await;
    let reward = app
        .reward_id(
            &admin,
            json!({"name": {"en": "Birthday cake", "fa": "کیک تولد"}, "kind": "gift",
                   "cost_points": 500}),
        )
        .await;
    set_program(
        &app,
        json!({"birthday": {"enabled": true, "bonus_points": 50, "reward_id": reward,
            "days_before": 0, "local_hour": 9, "feb29": "feb28", "min_days_known": 30,
            "valid_days": 30}}),
    )
    .await;
    let key = app.backend_key().await;
    let consent = json!({"email_marketing": true, "sms_marketing": false, "surveys": true});
    let tehran = member(
        &app,
        &key,
        json!({"email": "sara@example.com", "first_name": "سارا", "locale": "fa",
               "time_zone": "Asia/Tehran", "birthday": "1990-03-10", "consents": consent}),
    )
    .await;
    let la = member(
        &app,
        &key,
        json!({"email": "liam@example.com", "first_name": "Liam", "locale": "en",
               "time_zone": "America/Los_Angeles", "birthday": "1985-03-10", "consents": consent}),
    )
    .await;
    let no_consent = member(
        &app,
        &key,
        json!({"email": "quiet@example.com", "time_zone": "Asia/Tehran",
               "birthday": "1991-03-10"}),
    )
    .await;

    // 09:00 in Tehran on 10 March 2027 is 05:30 UTC, while it is still 9 March in Los Angeles.
    app.clock.set(at("2027-03-10T05:29:00Z"));
    tick(&app).await;
    assert!(mail.received().is_empty());
    app.clock.set(at("2027-03-10T05:30:00Z"));
    tick(&app).await;
    let got = mail.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1, "only Tehran's morning has come");
    let fa = &got[0];
    assert_eq!(fa.to, ["sara@example.com"]);
    let html = fa.html();
    assert!(
        html.contains(r#"lang="fa""#) && html.contains(r#"dir="rtl""#),
        "{html}"
    );
    assert!(html.contains("سارا"), "{html}");
    assert!(html.contains("کیک تولد"), "the gift in Persian: {html}");
    assert!(fa.text().contains("سارا"));
    assert!(fa.header("List-Unsubscribe").is_some());
    // The gift code in the message is the customer's own code, shown in the app too.
    let token = app.customer_token(&key, &tehran).await;
    let offers = ok(app.get("/v1/me/offers", &token).await, StatusCode::OK).await;
    let code = offers["data"][0]["code"].as_str().unwrap().to_owned();
    assert!(html.contains(&code) && fa.text().contains(&code), "{code}");

    // 09:00 in Los Angeles (UTC−8) is 17:00 UTC the same day.
    app.clock.set(at("2027-03-10T16:59:00Z"));
    tick(&app).await;
    assert_eq!(mail.received().len(), 1);
    app.clock.set(at("2027-03-10T17:00:00Z"));
    tick(&app).await;
    let got = mail.wait_for(2, WAIT).await;
    let en = &got[1];
    assert_eq!(en.to, ["liam@example.com"]);
    assert!(en.html().contains(r#"lang="en" dir="ltr""#));
    assert!(en.text().contains("Liam"));
    assert!(en.text().contains("Birthday cake"));

    // Later runs, the next day, send nothing again; the customer without consent got the gift
    // in the app but no email.
    app.clock.set(at("2027-03-11T10:00:00Z"));
    tick(&app).await;
    tick(&app).await;
    assert_eq!(mail.received().len(), 2);
    let staff = app.staff_token("support").await;
    let quiet = ok(
        app.get(
            &format!("/v1/messages?customer_id={no_consent}&kind=birthday_offer"),
            &staff,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(quiet["data"][0]["status"], "suppressed");
    assert_eq!(quiet["data"][0]["reason"], "no_marketing_consent");
    let token = app.customer_token(&key, &no_consent).await;
    let offers = ok(app.get("/v1/me/offers", &token).await, StatusCode::OK).await;
    assert_eq!(offers["data"].as_array().unwrap().len(), 1);
    let sent = ok(
        app.get(
            &format!("/v1/messages?customer_id={la}&kind=birthday_offer"),
            &staff,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(sent["data"][0]["status"], "sent");
    assert_eq!(sent["data"][0]["attempts"], 1);
}

#[tokio::test]
async fn a_resolved_ticket_is_followed_up_by_email_after_the_delay_and_only_once() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    set_program(
        &app,
        json!({"follow_up": {"enabled": true, "delay_hours": 24}, "contact_policy": {
            "quiet_hours": null, "weekly_marketing_cap": 3, "survey_cooldown_days": 30}}),
    )
    .await;
    let key = app.backend_key().await;
    let helpdesk = app.api_key(&["tickets:write"]).await;
    let id = member(
        &app,
        &key,
        json!({"email": "noor@example.com", "first_name": "Noor", "locale": "ar",
               "consents": {"email_marketing": false, "sms_marketing": false, "surveys": true}}),
    )
    .await;
    let ticket = ok(
        app.post(
            "/v1/tickets",
            &helpdesk,
            json!({"external_id": "zd-77", "customer_id": id, "channel": "chat",
                   "subject": "Late delivery"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let ticket_id = ticket["id"].as_str().unwrap();
    app.clock.advance(chrono::Duration::hours(1));
    ok(
        app.post(
            &format!("/v1/tickets/{ticket_id}/resolve"),
            &helpdesk,
            json!({"agent": {"id": "a-9", "name": "Layla"},
                   "resolution_note": "A new parcel was sent by express."}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // A second resolve (a retried request) schedules nothing new.
    ok(
        app.post(
            &format!("/v1/tickets/{ticket_id}/resolve"),
            &helpdesk,
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    app.clock.advance(chrono::Duration::hours(23));
    tick(&app).await;
    assert!(mail.received().is_empty(), "not before the delay");
    app.clock.advance(chrono::Duration::hours(1));
    tick(&app).await;
    tick(&app).await;
    let got = mail.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.to, ["noor@example.com"]);
    let html = m.html();
    assert!(
        html.contains(r#"lang="ar""#) && html.contains(r#"dir="rtl""#),
        "{html}"
    );
    for part in [html, m.text()] {
        assert!(part.contains("Noor"), "{part}");
        assert!(part.contains("A new parcel was sent by express."), "{part}");
        assert!(part.contains("Layla"), "{part}");
    }
    assert_eq!(
        m.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click"),
        "a survey message carries one-click unsubscribe"
    );
    let admin = app.admin_token().await;
    let timeline = ok(
        app.get(&format!("/v1/customers/{id}/timeline"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    let kinds: Vec<&str> = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for kind in ["ticket_opened", "ticket_resolved", "message_sent"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    app.clock.advance(chrono::Duration::days(2));
    tick(&app).await;
    assert_eq!(mail.received().len(), 1, "one follow-up per resolution");
}

#[tokio::test]
async fn a_tier_upgrade_is_congratulated_in_the_customers_language() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    set_program(&app, json!({"pending_days": 0})).await;
    let admin = app.admin_token().await;
    ok(
        app.post(
            "/v1/tiers",
            &admin,
            json!({"name": {"en": "Gold", "fa": "طلایی"}, "threshold": 100,
                   "multiplier_percent": 100, "benefits": []}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let key = app.backend_key().await;
    let id = member(
        &app,
        &key,
        json!({"email": "reza@example.com", "first_name": "رضا", "locale": "fa-IR",
               "consents": {"email_marketing": true, "sms_marketing": false, "surveys": false}}),
    )
    .await;
    let till = app.api_key(&["purchases:write"]).await;
    ok(
        app.post(
            "/v1/purchases",
            &till,
            crate::purchases::purchase("o-1", &id, 20_000),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    app.clock.set(at("2026-11-23T10:00:00Z"));
    app.run_job("dispatch_outbox").await;
    let got = mail.wait_for(1, WAIT).await;
    let m = &got[0];
    assert_eq!(m.to, ["reza@example.com"]);
    let html = m.html();
    assert!(html.contains(r#"dir="rtl""#), "{html}");
    assert!(html.contains("طلایی"), "the tier's Persian name: {html}");
    assert!(!html.contains("Gold"), "{html}");
}
