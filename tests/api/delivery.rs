//! Delivery of outbox messages over real SMTP (the test server in `mail.rs`): headers, MIME
//! parts, languages, retries, permanent refusals, concurrent dispatchers and the contact policy.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use patron::clock::Clock;
use patron::messages::Kind;
use patron::messages::outbox::{NewMessage, enqueue};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::mail::{MailSink, Reply};
use crate::program::set_program;

const WAIT: Duration = Duration::from_secs(10);

/// Writes a message to the outbox through `outbox::enqueue`, due now; returns its id.
pub async fn enqueue_for(app: &TestApp, customer_id: &str, kind: Kind, payload: Value) -> String {
    let pool = app.pool.clone();
    let now = app.clock.now_naive();
    let customer = customer_id.to_owned();
    tokio::task::spawn_blocking(move || {
        pool.scoped(|| {
            let mut conn = pool.get().expect("connection");
            enqueue(
                &mut conn,
                NewMessage {
                    customer_id: &customer,
                    kind,
                    dedupe_key: format!("test:{}", uuid::Uuid::now_v7()),
                    cause_type: "test",
                    cause_id: "test",
                    payload,
                    due_at: now,
                    suppressed: None,
                },
                now,
            )
        })
    })
    .await
    .expect("enqueue task")
    .expect("enqueue")
    .expect("a new message")
}

/// A member who consented to everything, with this email and more fields.
pub async fn member(app: &TestApp, email: &str, extra: Value) -> String {
    let key = app.backend_key().await;
    let mut body = json!({"email": email,
        "consents": {"email_marketing": true, "sms_marketing": false, "surveys": true}});
    for (k, v) in extra.as_object().expect("an object") {
        body[k] = v.clone();
    }
    app.customer(&key, body).await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// The message with its attempt log, as staff see it.
pub async fn message(app: &TestApp, id: &str) -> Value {
    let admin = app.admin_token().await;
    ok(
        app.get(&format!("/v1/messages/{id}"), &admin).await,
        StatusCode::OK,
    )
    .await
}

pub async fn dispatch(app: &TestApp) {
    app.run_job("dispatch_outbox").await;
}

async fn timeline_kinds(app: &TestApp, customer: &str) -> Vec<String> {
    let admin = app.admin_token().await;
    let body = ok(
        app.get(&format!("/v1/customers/{customer}/timeline"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

fn outcomes(msg: &Value) -> Vec<(String, Option<i64>)> {
    msg["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["outcome"].as_str().unwrap().to_owned(),
                a["smtp_code"].as_i64(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_birthday_offer_arrives_with_its_headers_both_parts_and_personal_values() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| {
        mail.configure(s);
        s.smtp.from = "Club Café <club@patron.test>".to_owned();
        s.server.public_url = "https://club.example".to_owned();
    })
    .await;
    let admin = app.admin_token().await;
    ok(
        app.post(
            "/v1/tiers",
            &admin,
            json!({"name": "Gold", "threshold": 500, "multiplier_percent": 150, "benefits": []}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = member(&app, "zoe@example.com", json!({"first_name": "Zoë"})).await;
    let till = app.api_key(&["purchases:write"]).await;
    let mut sale = crate::purchases::purchase("o-1", &id, 12_000);
    sale["lines"] =
        json!([{"sku": "latte", "category": "Coffee", "quantity": 1, "unit_price_minor": 12_000}]);
    ok(
        app.post("/v1/purchases", &till, sale).await,
        StatusCode::CREATED,
    )
    .await;
    let resp = app
        .client
        .post(app.url(&format!("/v1/customers/{id}/points/adjustments")))
        .bearer_auth(&admin)
        .header("Idempotency-Key", "gift")
        .json(&json!({"points": 1250, "reason": "welcome"}))
        .send()
        .await
        .unwrap();
    ok(resp, StatusCode::CREATED).await;

    let msg_id = enqueue_for(
        &app,
        &id,
        Kind::BirthdayOffer,
        json!({"code": "BDAY-7Q4K", "code_expires_at": "2026-12-22T12:00:00Z",
               "bonus_points": 200, "reward_name": {"en": "Free coffee", "fa": "قهوه"},
               "ignored_key": true}),
    )
    .await;
    dispatch(&app).await;

    let got = mail.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.to, ["zoe@example.com"]);
    let subject = m.header("Subject").unwrap();
    assert_eq!(subject, "Happy birthday, Zoë! A gift is waiting for you");
    let raw_subject = m.raw_header("Subject").unwrap();
    assert!(raw_subject.contains("=?utf-8?"), "encoded: {raw_subject}");
    assert!(raw_subject.is_ascii());
    assert_eq!(m.header("From").unwrap(), "Club Café <club@patron.test>");
    assert!(m.raw_header("From").unwrap().is_ascii());
    let unsubscribe = m.header("List-Unsubscribe").unwrap();
    assert!(
        unsubscribe.starts_with("<https://club.example/u/") && unsubscribe.ends_with('>'),
        "{unsubscribe}"
    );
    assert_eq!(
        m.header("List-Unsubscribe-Post").unwrap(),
        "List-Unsubscribe=One-Click"
    );
    let content_type = m.header("Content-Type").unwrap();
    assert!(
        content_type.starts_with("multipart/alternative"),
        "{content_type}"
    );

    let html = m.html();
    let text = m.text();
    assert!(html.contains(r#"<html lang="en" dir="ltr">"#), "{html}");
    for part in [&html, &text] {
        assert!(part.contains("Hi Zoë,"), "{part}");
        assert!(part.contains("BDAY-7Q4K"), "{part}");
        assert!(part.contains("Free coffee"), "{part}");
        assert!(part.contains("22 December 2026"), "{part}");
        assert!(part.contains("200 bonus points"), "{part}");
        assert!(part.contains("Coffee?"), "favourite category: {part}");
        assert!(part.contains("Your balance: 1,250 points"), "{part}");
        assert!(part.contains("Only 380 more to reach Gold"), "{part}");
    }
    let link = unsubscribe.trim_matches(['<', '>']);
    // Values are HTML-escaped in the HTML part (`/` too); browsers read the entities back.
    let escaped = link.replace('/', "&#x2f;");
    assert!(html.contains(&format!("href=\"{escaped}\"")), "{html}");
    assert!(text.contains(link), "{text}");

    let stored = message(&app, &msg_id).await;
    assert_eq!(stored["status"], "sent");
    assert_eq!(stored["attempts"], 1);
    assert_eq!(stored["locale"], "en");
    assert_eq!(stored["to"], "zoe@example.com");
    assert_eq!(stored["subject"], subject);
    assert_eq!(
        m.header("Message-ID").unwrap(),
        stored["message_id"].as_str().unwrap()
    );
    assert_eq!(outcomes(&stored), [("sent".to_owned(), None)]);
    assert!(
        timeline_kinds(&app, &id)
            .await
            .contains(&"message_sent".to_owned())
    );
}

#[tokio::test]
async fn persian_messages_are_right_to_left_with_solar_hijri_dates_and_persian_digits() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    let id = member(
        &app,
        "maryam@example.com",
        json!({"first_name": "مریم", "locale": "fa-IR", "time_zone": "Asia/Tehran"}),
    )
    .await;
    // 21 December 2026 is 30 Azar 1405.
    enqueue_for(
        &app,
        &id,
        Kind::PointsExpiring,
        json!({"points": 1250, "expires_at": "2026-12-21T12:00:00Z"}),
    )
    .await;
    dispatch(&app).await;
    let got = mail.wait_for(1, WAIT).await;
    let m = &got[0];
    assert_eq!(
        m.header("Subject").unwrap(),
        "۱٬۲۵۰ امتیاز شما در ۳۰ آذر ۱۴۰۵ منقضی می\u{200c}شود"
    );
    let html = m.html();
    assert!(html.contains(r#"<html lang="fa" dir="rtl">"#), "{html}");
    assert!(html.contains("مریم عزیز، سلام"), "{html}");
    assert!(html.contains("۳۰ آذر ۱۴۰۵"), "{html}");
    assert!(m.text().contains("در تاریخ ۳۰ آذر ۱۴۰۵"));
    // About the customer's own points: no consent needed, no unsubscribe header.
    assert_eq!(m.header("List-Unsubscribe"), None);
}

#[tokio::test]
async fn arabic_messages_are_right_to_left_and_fall_back_to_the_program_locale() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    let arab = member(&app, "ahmad@example.com", json!({"locale": "ar"})).await;
    enqueue_for(
        &app,
        &arab,
        Kind::TierChanged,
        json!({"tier_name": {"en": "Gold", "ar": "ذهبي"}}),
    )
    .await;
    dispatch(&app).await;
    let m = &mail.wait_for(1, WAIT).await[0];
    assert_eq!(m.header("Subject").unwrap(), "مرحبًا بك في مستوى ذهبي!");
    assert!(m.html().contains(r#"<html lang="ar" dir="rtl">"#));
    assert!(
        m.text().starts_with("مرحبًا،"),
        "no name: a neutral greeting"
    );

    // A customer in a language without templates gets the program's default locale.
    set_program(&app, json!({"default_locale": "fa"})).await;
    let german = member(&app, "hans@example.com", json!({"locale": "de-DE"})).await;
    let msg = enqueue_for(
        &app,
        &german,
        Kind::TierChanged,
        json!({"tier_name": "Gold"}),
    )
    .await;
    dispatch(&app).await;
    let m = &mail.wait_for(2, WAIT).await[1];
    assert!(m.html().contains(r#"<html lang="fa" dir="rtl">"#));
    assert_eq!(message(&app, &msg).await["locale"], "fa");
}

#[tokio::test]
async fn a_message_arrives_after_retries_when_the_smtp_server_was_down() {
    let mail = MailSink::down();
    let app = TestApp::spawn_with(|s| {
        mail.configure(s);
        s.messages.backoff_base_secs = 10;
        s.messages.backoff_max_secs = 60;
    })
    .await;
    let id = member(&app, "patient@example.com", json!({})).await;
    let msg = enqueue_for(
        &app,
        &id,
        Kind::SurveyInvitation,
        json!({"survey_url": "https://s.example/1"}),
    )
    .await;

    dispatch(&app).await;
    let first = message(&app, &msg).await;
    assert_eq!(first["status"], "pending");
    assert_eq!(first["attempts"], 1);
    assert!(
        first["last_error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("connect"),
        "{first}"
    );
    let message_id = first["message_id"].as_str().unwrap().to_owned();
    let due = chrono::DateTime::parse_from_rfc3339(first["due_at"].as_str().unwrap()).unwrap();
    let waited = due.with_timezone(&Utc) - app.clock.now();
    assert!(
        waited > chrono::Duration::zero() && waited <= chrono::Duration::seconds(10),
        "{waited}"
    );

    // Not due yet: nothing happens.
    dispatch(&app).await;
    assert_eq!(message(&app, &msg).await["attempts"], 1);

    app.clock.advance(chrono::Duration::seconds(61));
    dispatch(&app).await;
    assert_eq!(message(&app, &msg).await["attempts"], 2);

    mail.up();
    app.clock.advance(chrono::Duration::seconds(61));
    dispatch(&app).await;
    let got = mail.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1);
    let done = message(&app, &msg).await;
    assert_eq!(done["status"], "sent");
    assert_eq!(done["attempts"], 3);
    assert_eq!(done["last_error"], Value::Null);
    assert_eq!(
        outcomes(&done),
        [
            ("temporary_failure".to_owned(), None),
            ("temporary_failure".to_owned(), None),
            ("sent".to_owned(), None)
        ]
    );
    // The Message-ID fixed at the first attempt is the one that went out.
    assert_eq!(done["message_id"], message_id.as_str());
    assert_eq!(got[0].header("Message-ID").unwrap(), message_id);
}

#[tokio::test]
async fn a_permanent_refusal_fails_after_exactly_one_attempt() {
    let mail = MailSink::start();
    mail.set_reply(Reply::RejectRcpt);
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    let id = member(&app, "gone@example.com", json!({})).await;
    let msg = enqueue_for(&app, &id, Kind::PointsExpiring, json!({"points": 5})).await;
    dispatch(&app).await;
    app.clock.advance(chrono::Duration::hours(2));
    dispatch(&app).await;
    let failed = message(&app, &msg).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["attempts"], 1);
    assert_eq!(
        outcomes(&failed),
        [("permanent_failure".to_owned(), Some(550))]
    );
    assert!(
        failed["last_error"].as_str().unwrap().contains("550"),
        "{failed}"
    );
    assert!(mail.received().is_empty());
    assert!(
        timeline_kinds(&app, &id)
            .await
            .contains(&"message_failed".to_owned())
    );

    // A 550 at the end of DATA is permanent too.
    mail.set_reply(Reply::RejectData);
    let msg = enqueue_for(&app, &id, Kind::PointsExpiring, json!({"points": 6})).await;
    dispatch(&app).await;
    let failed = message(&app, &msg).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(
        outcomes(&failed),
        [("permanent_failure".to_owned(), Some(550))]
    );
}

#[tokio::test]
async fn temporary_refusals_are_retried_up_to_max_attempts_then_fail() {
    let mail = MailSink::start();
    mail.set_reply(Reply::DeferData);
    let app = TestApp::spawn_with(|s| {
        mail.configure(s);
        s.messages.max_attempts = 2;
        s.messages.backoff_base_secs = 10;
        s.messages.backoff_max_secs = 10;
    })
    .await;
    let id = member(&app, "busy@example.com", json!({})).await;
    let msg = enqueue_for(&app, &id, Kind::PointsExpiring, json!({"points": 5})).await;
    dispatch(&app).await;
    assert_eq!(message(&app, &msg).await["status"], "pending");
    mail.set_reply(Reply::DeferRcpt);
    app.clock.advance(chrono::Duration::seconds(11));
    dispatch(&app).await;
    let failed = message(&app, &msg).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["attempts"], 2);
    assert_eq!(
        outcomes(&failed),
        [
            ("temporary_failure".to_owned(), Some(451)),
            ("temporary_failure".to_owned(), Some(451))
        ]
    );
    assert!(
        timeline_kinds(&app, &id)
            .await
            .contains(&"message_failed".to_owned())
    );
}

#[tokio::test]
async fn two_dispatchers_at_once_deliver_each_message_exactly_once() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| {
        mail.configure(s);
        s.messages.batch_size = 7;
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let customer = member(&app, &format!("c{i}@example.com"), json!({})).await;
        for n in 0..6 {
            ids.push(
                enqueue_for(
                    &app,
                    &customer,
                    Kind::PointsExpiring,
                    json!({"points": n + 1}),
                )
                .await,
            );
        }
    }
    for _ in 0..6 {
        tokio::join!(dispatch(&app), dispatch(&app));
    }
    let got = mail.wait_for(ids.len(), WAIT).await;
    assert_eq!(got.len(), ids.len(), "each message exactly once");
    let mut message_ids: Vec<String> = got
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    message_ids.sort();
    message_ids.dedup();
    assert_eq!(message_ids.len(), ids.len(), "unique Message-IDs");
    for id in &ids {
        let m = message(&app, id).await;
        assert_eq!(m["status"], "sent");
        assert_eq!(m["attempts"], 1);
    }
}

#[tokio::test]
async fn quiet_hours_defer_a_message_until_they_end_in_the_customers_time_zone() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    // Quiet 21:00–08:00 (the default). 19:30 UTC is 23:00 in Tehran.
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 22, 19, 30, 0).unwrap());
    let id = member(
        &app,
        "night@example.com",
        json!({"time_zone": "Asia/Tehran"}),
    )
    .await;
    let msg = enqueue_for(&app, &id, Kind::TierChanged, json!({"tier_name": "Gold"})).await;
    dispatch(&app).await;
    let deferred = message(&app, &msg).await;
    assert_eq!(deferred["status"], "pending");
    assert_eq!(deferred["reason"], "deferred: quiet_hours");
    assert_eq!(deferred["due_at"], "2026-11-23T04:30:00Z");
    assert_eq!(deferred["attempts"], 0);
    assert!(mail.received().is_empty());

    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 23, 4, 30, 0).unwrap());
    dispatch(&app).await;
    mail.wait_for(1, WAIT).await;
    let sent = message(&app, &msg).await;
    assert_eq!(sent["status"], "sent");
    assert_eq!(sent["reason"], Value::Null);
}

#[tokio::test]
async fn the_weekly_marketing_cap_suppresses_further_offers_until_the_week_has_passed() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    set_program(
        &app,
        json!({"contact_policy": {"quiet_hours": null, "weekly_marketing_cap": 1, "survey_cooldown_days": 30}}),
    )
    .await;
    let id = member(&app, "capped@example.com", json!({})).await;
    let first = enqueue_for(&app, &id, Kind::BirthdayOffer, json!({"code": "A"})).await;
    let second = enqueue_for(&app, &id, Kind::TierChanged, json!({"tier_name": "Gold"})).await;
    dispatch(&app).await;
    let statuses = [message(&app, &first).await, message(&app, &second).await];
    let sent = statuses.iter().filter(|m| m["status"] == "sent").count();
    let capped: Vec<_> = statuses
        .iter()
        .filter(|m| m["status"] == "suppressed")
        .collect();
    assert_eq!((sent, capped.len()), (1, 1), "{statuses:?}");
    assert_eq!(capped[0]["reason"], "weekly_cap");
    assert_eq!(mail.received().len(), 1);
    assert!(
        timeline_kinds(&app, &id)
            .await
            .contains(&"message_suppressed".to_owned())
    );

    // Service messages do not count, and are not capped.
    enqueue_for(&app, &id, Kind::PointsExpiring, json!({"points": 3})).await;
    app.clock.advance(chrono::Duration::days(6));
    let third = enqueue_for(&app, &id, Kind::BirthdayOffer, json!({"code": "B"})).await;
    dispatch(&app).await;
    assert_eq!(message(&app, &third).await["reason"], "weekly_cap");

    app.clock
        .advance(chrono::Duration::days(1) + chrono::Duration::minutes(1));
    let fourth = enqueue_for(&app, &id, Kind::BirthdayOffer, json!({"code": "C"})).await;
    dispatch(&app).await;
    assert_eq!(message(&app, &fourth).await["status"], "sent");
}

#[tokio::test]
async fn messages_without_consent_or_email_are_suppressed_with_the_reason() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    let key = app.backend_key().await;
    let shy = app
        .customer(&key, json!({"email": "shy@example.com"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let offer = enqueue_for(&app, &shy, Kind::BirthdayOffer, json!({"code": "X"})).await;
    let survey = enqueue_for(
        &app,
        &shy,
        Kind::SurveyInvitation,
        json!({"survey_url": "https://s/1"}),
    )
    .await;
    let phone_only = app
        .customer(
            &key,
            json!({"phone": "+14155550100",
        "consents": {"email_marketing": true, "surveys": true}}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let no_email = enqueue_for(&app, &phone_only, Kind::TierChanged, json!({})).await;
    dispatch(&app).await;
    for (id, reason) in [
        (&offer, "no_marketing_consent"),
        (&survey, "no_survey_consent"),
        (&no_email, "no_email"),
    ] {
        let m = message(&app, id).await;
        assert_eq!(m["status"], "suppressed");
        assert_eq!(m["reason"], reason);
        assert_eq!(m["attempts"], 0);
    }
    assert!(mail.received().is_empty());
}

#[tokio::test]
async fn the_survey_cooldown_suppresses_a_second_survey_message() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    let id = member(&app, "asked@example.com", json!({})).await;
    let first = enqueue_for(
        &app,
        &id,
        Kind::SurveyInvitation,
        json!({"survey_url": "https://s/1"}),
    )
    .await;
    dispatch(&app).await;
    assert_eq!(message(&app, &first).await["status"], "sent");
    app.clock.advance(chrono::Duration::days(3));
    let second = enqueue_for(
        &app,
        &id,
        Kind::TicketFollowUp,
        json!({"ticket_subject": "Late", "survey_url": null}),
    )
    .await;
    dispatch(&app).await;
    let m = message(&app, &second).await;
    assert_eq!(m["status"], "suppressed");
    assert_eq!(m["reason"], "survey_cooldown");
    assert_eq!(mail.received().len(), 1);
}

#[tokio::test]
async fn a_follow_up_without_a_survey_link_still_renders() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    let id = member(&app, "fixed@example.com", json!({"first_name": "Sam"})).await;
    enqueue_for(
        &app,
        &id,
        Kind::TicketFollowUp,
        json!({"ticket_subject": "Broken mug", "resolution_note": "Refunded <in full>",
               "agent_name": "Ana", "survey_url": null}),
    )
    .await;
    dispatch(&app).await;
    let m = &mail.wait_for(1, WAIT).await[0];
    let html = m.html();
    assert!(html.contains("Ana has resolved your request"), "{html}");
    assert!(html.contains("Refunded &lt;in full&gt;"), "escaped: {html}");
    assert!(m.text().contains("Refunded <in full>"));
    assert!(html.contains("simply reply to this email"), "{html}");
    // Survey-category messages carry the unsubscribe headers too.
    assert!(m.header("List-Unsubscribe").is_some());
}

#[tokio::test]
async fn marking_a_message_is_conditional_on_the_claim_so_a_cancelled_one_stays_cancelled() {
    let app = TestApp::spawn().await;
    let id = member(&app, "reopened@example.com", json!({})).await;
    let msg = enqueue_for(&app, &id, Kind::TicketFollowUp, json!({})).await;
    let pool = app.pool.clone();
    let now = app.clock.now_naive();
    let (claimed, sent, failed) = tokio::task::spawn_blocking(move || {
        pool.scoped(|| {
            use patron::messages::repo;
            let mut c = pool.get().unwrap();
            let claimed =
                repo::claim(&mut c, "tok", now, now + chrono::Duration::minutes(5), 10).unwrap();
            // The ticket is reopened while the message is being sent.
            let cancelled = patron::messages::outbox::cancel_by_cause(
                &mut c,
                "test",
                "test",
                "ticket_reopened",
                now,
            )
            .unwrap();
            assert_eq!(cancelled, 1, "a claimed message can be cancelled");
            let sent = repo::mark_sent(&mut c, &msg, "tok", now).unwrap();
            let failed = repo::mark_failed_attempt(&mut c, &msg, "tok", "x", None, now).unwrap();
            (claimed.len(), sent, failed)
        })
    })
    .await
    .unwrap();
    assert_eq!((claimed, sent, failed), (1, false, false));
    let admin = app.admin_token().await;
    let list = ok(
        app.get(&format!("/v1/messages?customer_id={id}"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["data"][0]["status"], "cancelled");
    assert_eq!(list["data"][0]["reason"], "ticket_reopened");
}

#[tokio::test]
async fn the_outbox_list_filters_by_customer_kind_and_status() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    let a = member(&app, "a@example.com", json!({})).await;
    let b = member(&app, "b@example.com", json!({})).await;
    enqueue_for(&app, &a, Kind::PointsExpiring, json!({"points": 1})).await;
    enqueue_for(&app, &a, Kind::TierChanged, json!({"tier_name": "Gold"})).await;
    enqueue_for(&app, &b, Kind::PointsExpiring, json!({"points": 2})).await;
    dispatch(&app).await;
    let marketer = app.staff_token("marketer").await;
    let count = |v: Value| v["data"].as_array().unwrap().len();
    let get = |q: String| {
        let (app, t) = (&app, marketer.clone());
        async move {
            ok(
                app.get(&format!("/v1/messages{q}"), &t).await,
                StatusCode::OK,
            )
            .await
        }
    };
    assert_eq!(count(get(format!("?customer_id={a}")).await), 2);
    assert_eq!(count(get("?kind=points_expiring".into()).await), 2);
    assert_eq!(count(get(format!("?customer_id={b}&status=sent")).await), 1);
    assert_eq!(count(get("?status=failed".into()).await), 0);
    let page = get("?limit=2".into()).await;
    assert_eq!(count(page.clone()), 2);
    assert!(page["next_cursor"].is_string());

    let bad = app.get("/v1/messages?kind=postcard", &marketer).await;
    let body = problem(bad, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "kind");
    let bad = app.get("/v1/messages?status=lost", &marketer).await;
    problem(bad, StatusCode::BAD_REQUEST, "validation_failed").await;
    let key = app.backend_key().await;
    problem(
        app.get("/v1/messages", &key).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let admin = app.admin_token().await;
    problem(
        app.get("/v1/messages/nope", &admin).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
