//! Survey invitations (API.md section 7): after a purchase, inside a ticket follow-up and by
//! campaign; sent by the `survey_invitations` job with a personal link, reminded once, honouring
//! survey consent and the cooldown; answered once from the app, never by another customer.

use std::time::Duration as Wait;

use chrono::Duration;
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::mail::MailSink;
use crate::program::set_program;
use crate::surveys::{create, nps};

const WAIT: Wait = Wait::from_secs(10);

/// An invitation as stored.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: String,
    pub survey_id: String,
    pub status: String,
    pub reason: Option<String>,
    pub cause_type: String,
    pub channel: Option<String>,
    pub touchpoint: Option<String>,
    pub agent_id: Option<String>,
}

/// The customer's invitations, oldest first.
pub fn stored(app: &TestApp, customer: &str) -> Vec<Stored> {
    use patron::db::schema::survey_invitations as inv;
    let mut conn = app.pool.get().unwrap();
    type Row = (
        String,
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = inv::table
        .filter(inv::customer_id.eq(customer))
        .order((inv::created_at.asc(), inv::id.asc()))
        .select((
            inv::id,
            inv::survey_id,
            inv::status,
            inv::reason,
            inv::cause_type,
            inv::channel,
            inv::touchpoint,
            inv::agent_id,
        ))
        .load(&mut *conn)
        .unwrap();
    rows.into_iter()
        .map(|r| Stored {
            id: r.0,
            survey_id: r.1,
            status: r.2,
            reason: r.3,
            cause_type: r.4,
            channel: r.5,
            touchpoint: r.6,
            agent_id: r.7,
        })
        .collect()
}

/// The path of the survey link of a stored message (`/s/{token}`).
pub fn link_of_message(app: &TestApp, message_id: &str) -> String {
    use patron::db::schema::messages;
    let mut conn = app.pool.get().unwrap();
    let raw: String = messages::table
        .find(message_id)
        .select(messages::payload)
        .first(&mut *conn)
        .unwrap();
    let payload: Value = serde_json::from_str(&raw).unwrap();
    let url = payload["survey_url"].as_str().expect("a survey_url");
    url[url.find("/s/").expect("a survey path")..].to_owned()
}

/// The customer's messages of a kind, newest first.
pub async fn messages(app: &TestApp, customer: &str, kind: &str) -> Vec<Value> {
    let admin = app.admin_token().await;
    let path = format!("/v1/messages?customer_id={customer}&kind={kind}");
    ok(app.get(&path, &admin).await, StatusCode::OK).await["data"]
        .as_array()
        .unwrap()
        .clone()
}

/// The `/s/` path of the first survey link in a text.
pub fn link_in(text: &str) -> String {
    let at = text.find("/s/").expect("a survey link");
    text[at..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .next()
        .unwrap()
        .to_owned()
}

/// A customer with an email, who agreed to surveys (or not), in a locale.
pub async fn member(app: &TestApp, email: &str, surveys: bool, locale: &str) -> String {
    let key = app.backend_key().await;
    let body = json!({"email": email, "first_name": "Sara", "locale": locale,
        "consents": {"email_marketing": false, "sms_marketing": false, "surveys": surveys}});
    app.customer(&key, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A program without quiet hours (the tests move the clock freely).
pub async fn open_hours(app: &TestApp) {
    set_program(
        app,
        json!({"contact_policy": {"quiet_hours": null, "weekly_marketing_cap": 3,
                                  "survey_cooldown_days": 30}}),
    )
    .await;
}

/// Invites customers to a manual survey; returns `{created, skipped}`.
pub async fn invite(app: &TestApp, survey: &str, customers: &[&str], campaign: &str) -> Value {
    let admin = app.admin_token().await;
    ok(
        app.post(
            &format!("/v1/surveys/{survey}/invitations"),
            &admin,
            json!({"customer_ids": customers, "campaign": campaign}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await
}

/// A manual NPS survey with an invitation sent to the customer; returns the invitation id.
pub async fn sent_invitation(app: &TestApp, customer: &str) -> String {
    let admin = app.admin_token().await;
    let s = create(app, &admin, nps("Campaign", "manual")).await;
    invite(app, s["id"].as_str().unwrap(), &[customer], "c1").await;
    app.run_job("survey_invitations").await;
    let inv = stored(app, customer);
    assert_eq!(inv.last().unwrap().status, "sent");
    inv.last().unwrap().id.clone()
}

async fn purchase(app: &TestApp, key: &str, external_id: &str, customer: &str) {
    use patron::clock::Clock;
    let mut body = crate::purchases::purchase(external_id, customer, 2_000);
    body["store_id"] = json!("st-7");
    body["occurred_at"] = json!(app.clock.now().to_rfc3339());
    ok(
        app.post("/v1/purchases", key, body).await,
        StatusCode::CREATED,
    )
    .await;
}

async fn purchase_again(app: &TestApp, key: &str, external_id: &str, customer: &str) {
    use patron::clock::Clock;
    let mut body = crate::purchases::purchase(external_id, customer, 2_000);
    body["store_id"] = json!("st-7");
    body["occurred_at"] = json!(app.clock.now().to_rfc3339());
    ok(app.post("/v1/purchases", key, body).await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_purchase_invites_for_each_active_post_purchase_survey_and_the_job_emails_a_working_link()
{
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    open_hours(&app).await;
    let admin = app.admin_token().await;
    let mut body = nps("After purchase", "post_purchase");
    body["delay_hours"] = json!(2);
    let survey = create(&app, &admin, body).await;
    let mut inactive = nps("Old", "post_purchase");
    inactive["active"] = json!(false);
    create(&app, &admin, inactive).await;
    create(&app, &admin, nps("By hand", "manual")).await;
    let customer = member(&app, "sara@example.com", true, "en").await;
    let till = app.api_key(&["purchases:write"]).await;
    purchase(&app, &till, "o-1", &customer).await;

    let inv = stored(&app, &customer);
    assert_eq!(inv.len(), 1, "{inv:?}");
    assert_eq!(inv[0].survey_id, survey["id"].as_str().unwrap());
    assert_eq!(inv[0].status, "scheduled");
    assert_eq!(inv[0].cause_type, "purchase");
    assert_eq!(inv[0].channel.as_deref(), Some("store"));
    assert_eq!(inv[0].touchpoint.as_deref(), Some("purchase"));
    // A retried purchase invites no one again.
    purchase_again(&app, &till, "o-1", &customer).await;
    assert_eq!(stored(&app, &customer).len(), 1);

    assert_eq!(
        app.run_job("survey_invitations").await.items,
        0,
        "not due yet"
    );
    app.clock.advance(Duration::hours(2));
    assert_eq!(app.run_job("survey_invitations").await.items, 1);
    assert_eq!(stored(&app, &customer)[0].status, "sent");
    app.run_job("dispatch_outbox").await;
    let got = mail.wait_for(1, WAIT).await;
    assert_eq!(got[0].to, ["sara@example.com"]);
    let path = link_in(&got[0].text());
    // The HTML part escapes the slashes of the link (`&#x2f;`), which browsers read back.
    assert_eq!(path, link_in(&got[0].html().replace("&#x2f;", "/")));
    let page = app.request(Method::GET, &path, None, None).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("How likely are you to recommend us to a friend?"),
        "{html}"
    );
    // Running again sends nothing more.
    assert_eq!(app.run_job("survey_invitations").await.items, 0);
    let sent = messages(&app, &customer, "survey_invitation").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]["cause"],
        json!({"type": "survey_invitation", "id": inv[0].id})
    );
}

#[tokio::test]
async fn without_survey_consent_the_invitation_is_suppressed_and_no_email_goes_out() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    open_hours(&app).await;
    let customer = member(&app, "no@example.com", false, "en").await;
    let id = sent_invitation_attempt(&app, &customer).await;
    let inv = stored(&app, &customer);
    assert_eq!(inv[0].id, id);
    assert_eq!(inv[0].status, "suppressed");
    assert_eq!(inv[0].reason.as_deref(), Some("no_survey_consent"));
    let m = messages(&app, &customer, "survey_invitation").await;
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["status"], "suppressed");
    assert_eq!(m[0]["reason"], "no_survey_consent");
    app.run_job("dispatch_outbox").await;
    tokio::time::sleep(Wait::from_millis(300)).await;
    assert!(mail.received().is_empty());
    // The customer never got the link: it answers nothing.
    let token = app
        .customer_token(&app.backend_key().await, &customer)
        .await;
    problem(
        app.post(
            &format!("/v1/me/surveys/{id}/response"),
            &token,
            json!({"score": 9}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

/// A manual invitation for the customer, run through the job whatever its outcome.
async fn sent_invitation_attempt(app: &TestApp, customer: &str) -> String {
    let admin = app.admin_token().await;
    let s = create(app, &admin, nps("Campaign", "manual")).await;
    invite(app, s["id"].as_str().unwrap(), &[customer], "c1").await;
    assert_eq!(app.run_job("survey_invitations").await.items, 1);
    stored(app, customer)[0].id.clone()
}

#[tokio::test]
async fn a_second_invitation_within_the_survey_cooldown_is_suppressed() {
    let app = TestApp::spawn().await;
    open_hours(&app).await;
    let admin = app.admin_token().await;
    let s = create(&app, &admin, nps("After purchase", "post_purchase")).await;
    let customer = member(&app, "a@example.com", true, "en").await;
    let till = app.api_key(&["purchases:write"]).await;
    purchase(&app, &till, "o-1", &customer).await;
    app.run_job("survey_invitations").await;
    app.clock.advance(Duration::days(3));
    purchase(&app, &till, "o-2", &customer).await;
    app.run_job("survey_invitations").await;
    let inv = stored(&app, &customer);
    assert_eq!(inv.len(), 2);
    assert_eq!(inv[0].status, "sent");
    assert_eq!(inv[1].status, "suppressed");
    assert_eq!(inv[1].reason.as_deref(), Some("survey_cooldown"));
    // A deactivated survey's scheduled invitations are cancelled.
    app.clock.advance(Duration::days(31));
    let admin = app.admin_token().await;
    let id = s["id"].as_str().unwrap();
    let mut delayed = nps("Later", "post_purchase");
    delayed["delay_hours"] = json!(5);
    let later = create(&app, &admin, delayed).await;
    ok(
        app.patch(
            &format!("/v1/surveys/{id}"),
            &admin,
            json!({"active": false}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    purchase(&app, &till, "o-3", &customer).await;
    let lid = later["id"].as_str().unwrap();
    ok(
        app.patch(
            &format!("/v1/surveys/{lid}"),
            &admin,
            json!({"active": false}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    app.clock.advance(Duration::hours(6));
    app.run_job("survey_invitations").await;
    let inv = stored(&app, &customer);
    assert_eq!(inv.len(), 3);
    assert_eq!(inv[2].status, "cancelled");
    assert_eq!(inv[2].reason.as_deref(), Some("survey_inactive"));
}

#[tokio::test]
async fn one_reminder_goes_out_after_reminder_after_hours_and_never_a_second() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    open_hours(&app).await;
    let admin = app.admin_token().await;
    let mut body = nps("Campaign", "manual");
    body["reminder_after_hours"] = json!(24);
    let s = create(&app, &admin, body).await;
    let a = member(&app, "a@example.com", true, "en").await;
    let b = member(&app, "b@example.com", true, "en").await;
    invite(&app, s["id"].as_str().unwrap(), &[&a, &b], "c1").await;
    app.run_job("survey_invitations").await;
    app.run_job("dispatch_outbox").await;
    let got = mail.wait_for(2, WAIT).await;
    let link_a = got
        .iter()
        .find(|m| m.to == ["a@example.com"])
        .map(|m| link_in(&m.text()))
        .unwrap();
    // B answers from the app; A does not.
    let token_b = app.customer_token(&app.backend_key().await, &b).await;
    let inv_b = stored(&app, &b)[0].id.clone();
    ok(
        app.post(
            &format!("/v1/me/surveys/{inv_b}/response"),
            &token_b,
            json!({"score": 10}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    app.clock.advance(Duration::hours(23));
    assert_eq!(
        app.run_job("survey_reminders").await.items,
        0,
        "not due yet"
    );
    app.clock.advance(Duration::hours(2));
    let (one, two) = tokio::join!(
        app.run_job("survey_reminders"),
        app.run_job("survey_reminders")
    );
    assert_eq!(one.items + two.items, 1, "{one:?} {two:?}");
    assert_eq!(app.run_job("survey_reminders").await.items, 0);
    app.run_job("dispatch_outbox").await;
    let got = mail.wait_for(3, WAIT).await;
    assert_eq!(got[2].to, ["a@example.com"]);
    assert_eq!(
        link_in(&got[2].text()),
        link_a,
        "the reminder carries the same link"
    );
    let reminders = messages(&app, &a, "survey_reminder").await;
    assert_eq!(reminders.len(), 1);
    assert_eq!(
        reminders[0]["status"], "sent",
        "the cooldown does not hold a reminder back"
    );
    assert!(messages(&app, &b, "survey_reminder").await.is_empty());
    app.clock.advance(Duration::days(10));
    assert_eq!(app.run_job("survey_reminders").await.items, 0);
    app.run_job("dispatch_outbox").await;
    tokio::time::sleep(Wait::from_millis(300)).await;
    assert_eq!(mail.received().len(), 3);
}

#[tokio::test]
async fn a_reminder_without_survey_consent_is_suppressed() {
    let app = TestApp::spawn().await;
    open_hours(&app).await;
    let customer = member(&app, "a@example.com", true, "en").await;
    sent_invitation(&app, &customer).await;
    let key = app.backend_key().await;
    ok(
        app.patch(
            &format!("/v1/customers/{customer}"),
            &key,
            json!({"consents": {"surveys": false}}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    app.clock.advance(Duration::hours(73));
    assert_eq!(app.run_job("survey_reminders").await.items, 1);
    let reminders = messages(&app, &customer, "survey_reminder").await;
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0]["reason"], "no_survey_consent");
}

#[tokio::test]
async fn a_ticket_follow_up_carries_a_link_to_its_survey_page() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|s| mail.configure(s)).await;
    let admin = app.admin_token().await;
    let s = create(
        &app,
        &admin,
        json!({"name": "Support", "kind": "csat", "trigger": "post_resolution",
               "question": {"en": "How satisfied are you with our support?"}}),
    )
    .await;
    set_program(
        &app,
        json!({"follow_up": {"enabled": true, "delay_hours": 1, "survey_id": s["id"]},
               "contact_policy": {"quiet_hours": null, "weekly_marketing_cap": 3,
                                  "survey_cooldown_days": 30}}),
    )
    .await;
    let customer = member(&app, "t@example.com", true, "en").await;
    let desk = app.api_key(&["tickets:write"]).await;
    let t = ok(
        app.post(
            "/v1/tickets",
            &desk,
            json!({"external_id": "zd-1", "customer_id": customer, "channel": "chat",
                   "subject": "Late parcel"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let tid = t["id"].as_str().unwrap();
    ok(
        app.post(
            &format!("/v1/tickets/{tid}/resolve"),
            &desk,
            json!({"agent": {"id": "ag-9", "name": "Mina"}}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    app.clock.advance(Duration::hours(2));
    app.run_job("ticket_follow_ups").await;
    let inv = stored(&app, &customer);
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0].status, "sent");
    assert_eq!(inv[0].cause_type, "ticket");
    assert_eq!(inv[0].channel.as_deref(), Some("chat"));
    assert_eq!(inv[0].touchpoint.as_deref(), Some("support"));
    assert_eq!(inv[0].agent_id.as_deref(), Some("ag-9"));
    // The invitations job has nothing to send: the follow-up is the invitation's message.
    assert_eq!(app.run_job("survey_invitations").await.items, 0);
    app.run_job("dispatch_outbox").await;
    let got = mail.wait_for(1, WAIT).await;
    let path = link_in(&got[0].text());
    let page = app.request(Method::GET, &path, None, None).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("How satisfied are you with our support?"));
    assert!(html.contains("Very dissatisfied") && html.contains("Very satisfied"));
    let form = [("score", "5"), ("comment", "Quick and kind")];
    let resp = crate::survey_page::post_form(&app, &path, &form).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(stored(&app, &customer)[0].status, "answered");
}

#[tokio::test]
async fn a_suppressed_follow_up_carries_no_survey() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let s = create(&app, &admin, nps("Support", "post_resolution")).await;
    set_program(
        &app,
        json!({"follow_up": {"enabled": true, "delay_hours": 1, "survey_id": s["id"]}}),
    )
    .await;
    let customer = member(&app, "t@example.com", false, "en").await;
    let desk = app.api_key(&["tickets:write"]).await;
    let t = ok(
        app.post(
            "/v1/tickets",
            &desk,
            json!({"external_id": "zd-1", "customer_id": customer, "channel": "email",
                   "subject": "Refund"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let tid = t["id"].as_str().unwrap();
    ok(
        app.post(&format!("/v1/tickets/{tid}/resolve"), &desk, json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    app.clock.advance(Duration::hours(2));
    app.run_job("ticket_follow_ups").await;
    assert!(stored(&app, &customer).is_empty());
    let m = messages(&app, &customer, "ticket_follow_up").await;
    assert_eq!(m[0]["reason"], "no_survey_consent");
}

#[tokio::test]
async fn the_program_refuses_an_unknown_follow_up_survey() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let mut doc = crate::program::defaults();
    doc["follow_up"]["survey_id"] = json!("no-such-survey");
    let bad = problem(
        app.request(Method::PUT, "/v1/program", Some(&admin), Some(doc))
            .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "follow_up.survey_id");
}

#[tokio::test]
async fn manual_invitations_are_made_once_per_campaign() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let s = create(&app, &admin, nps("Campaign", "manual")).await;
    let id = s["id"].as_str().unwrap();
    let a = member(&app, "a@example.com", true, "en").await;
    let b = member(&app, "b@example.com", true, "en").await;
    let gone = member(&app, "gone@example.com", true, "en").await;
    let erase = app
        .request(
            Method::DELETE,
            &format!("/v1/customers/{gone}"),
            Some(&admin),
            None,
        )
        .await;
    ok(erase, StatusCode::NO_CONTENT).await;

    let first = invite(&app, id, &[&a, &b, &gone, &a], "spring").await;
    assert_eq!(first, json!({"created": 2, "skipped": 2}));
    let again = invite(&app, id, &[&a, &b], "spring").await;
    assert_eq!(again, json!({"created": 0, "skipped": 2}));
    let other = invite(&app, id, &[&a], "autumn").await;
    assert_eq!(other, json!({"created": 1, "skipped": 0}));
    assert_eq!(stored(&app, &a).len(), 2);
    assert_eq!(stored(&app, &b).len(), 1);

    let path = format!("/v1/surveys/{id}/invitations");
    let unknown = problem(
        app.post(
            &path,
            &admin,
            json!({"customer_ids": [b, "ghost"], "campaign": "winter"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_customer",
    )
    .await;
    assert!(unknown["detail"].as_str().unwrap().contains("ghost"));
    assert_eq!(stored(&app, &b).len(), 1, "no partial effect");
    let bad = problem(
        app.post(&path, &admin, json!({"customer_ids": [], "campaign": ""}))
            .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(bad["errors"].as_array().unwrap().len(), 2);
    problem(
        app.post(
            "/v1/surveys/nope/invitations",
            &admin,
            json!({"customer_ids": [a], "campaign": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    ok(
        app.patch(
            &format!("/v1/surveys/{id}"),
            &admin,
            json!({"active": false}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    problem(
        app.post(&path, &admin, json!({"customer_ids": [a], "campaign": "x"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "survey_inactive",
    )
    .await;
}

#[tokio::test]
async fn two_concurrent_job_runs_send_each_invitation_once() {
    let app = TestApp::spawn().await;
    open_hours(&app).await;
    let admin = app.admin_token().await;
    let s = create(&app, &admin, nps("Campaign", "manual")).await;
    let mut customers = Vec::new();
    for i in 0..6 {
        customers.push(member(&app, &format!("c{i}@example.com"), true, "en").await);
    }
    let ids: Vec<&str> = customers.iter().map(String::as_str).collect();
    invite(&app, s["id"].as_str().unwrap(), &ids, "c").await;
    let (a, b) = tokio::join!(
        app.run_job("survey_invitations"),
        app.run_job("survey_invitations")
    );
    assert_eq!(a.items + b.items, 6, "{a:?} {b:?}");
    for customer in &customers {
        assert_eq!(messages(&app, customer, "survey_invitation").await.len(), 1);
        assert_eq!(stored(&app, customer)[0].status, "sent");
    }
}

#[tokio::test]
async fn the_app_lists_and_answers_the_customers_own_surveys_only() {
    let app = TestApp::spawn().await;
    open_hours(&app).await;
    let a = member(&app, "a@example.com", true, "fa-IR").await;
    let b = member(&app, "b@example.com", true, "en").await;
    let inv = sent_invitation(&app, &a).await;
    let key = app.backend_key().await;
    let token_a = app.customer_token(&key, &a).await;
    let token_b = app.customer_token(&key, &b).await;

    let open = ok(app.get("/v1/me/surveys", &token_a).await, StatusCode::OK).await;
    let item = &open["data"][0];
    assert_eq!(item["id"], inv.as_str());
    assert_eq!(item["kind"], "nps");
    assert_eq!(item["scale"], json!({"min": 0, "max": 10}));
    assert_eq!(
        item["question"],
        "چقدر احتمال دارد ما را به دوستانتان پیشنهاد کنید؟"
    );
    assert_eq!(item["open_question"], "دلیل اصلی امتیاز شما چیست؟");
    assert_eq!(item["status"], "open");
    assert!(item["answered_at"].is_null());

    // Customer B neither sees nor answers A's invitation.
    let theirs = ok(
        app.get("/v1/me/surveys?status=all", &token_b).await,
        StatusCode::OK,
    )
    .await;
    assert!(theirs["data"].as_array().unwrap().is_empty());
    let path = format!("/v1/me/surveys/{inv}/response");
    problem(
        app.post(&path, &token_b, json!({"score": 0})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Staff tokens and API keys do not reach /v1/me.
    let admin = app.admin_token().await;
    problem(
        app.post(&path, &admin, json!({"score": 9})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let bad = problem(
        app.post(&path, &token_a, json!({"score": 11})).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "score");
    problem(
        app.post(&path, &token_a, json!({"score": null, "comment": "  "}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "empty_response",
    )
    .await;
    let long = problem(
        app.post(&path, &token_a, json!({"comment": "x".repeat(2001)}))
            .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(long["errors"][0]["field"], "comment");

    let answered = ok(
        app.post(&path, &token_a, json!({"score": 0, "comment": "Too slow"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(answered["invitation_id"], inv.as_str());
    assert_eq!(answered["kind"], "nps");
    assert_eq!(answered["score"], 0);
    assert_eq!(answered["comment"], "Too slow");
    assert_eq!(answered["occurred_at"], "2026-11-22T12:00:00Z");
    problem(
        app.post(&path, &token_a, json!({"score": 5})).await,
        StatusCode::CONFLICT,
        "already_answered",
    )
    .await;
    let open = ok(app.get("/v1/me/surveys", &token_a).await, StatusCode::OK).await;
    assert!(open["data"].as_array().unwrap().is_empty());
    let done = ok(
        app.get("/v1/me/surveys?status=answered", &token_a).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["data"][0]["status"], "answered");
    assert_eq!(done["data"][0]["answered_at"], "2026-11-22T12:00:00Z");
    problem(
        app.get("/v1/me/surveys?status=closed", &token_a).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    // The answer is on the timeline.
    let timeline = ok(
        app.get(&format!("/v1/customers/{a}/timeline"), &admin)
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
    assert!(kinds.contains(&"feedback"), "{kinds:?}");
}

#[tokio::test]
async fn an_expired_or_unsent_invitation_cannot_be_answered_from_the_app() {
    let app = TestApp::spawn().await;
    open_hours(&app).await;
    let admin = app.admin_token().await;
    let a = member(&app, "a@example.com", true, "en").await;
    let inv = sent_invitation(&app, &a).await;
    let token = app.customer_token(&app.backend_key().await, &a).await;
    // A scheduled invitation (not sent yet) is not the customer's to answer.
    let s2 = create(&app, &admin, nps("Later", "manual")).await;
    invite(&app, s2["id"].as_str().unwrap(), &[&a], "c2").await;
    let scheduled = stored(&app, &a)
        .into_iter()
        .find(|i| i.status == "scheduled")
        .unwrap();
    problem(
        app.post(
            &format!("/v1/me/surveys/{}/response", scheduled.id),
            &token,
            json!({"score": 3}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    app.clock.advance(Duration::days(31));
    let token = app.customer_token(&app.backend_key().await, &a).await;
    problem(
        app.post(
            &format!("/v1/me/surveys/{inv}/response"),
            &token,
            json!({"score": 3}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invitation_expired",
    )
    .await;
    let all = ok(
        app.get("/v1/me/surveys?status=all", &token).await,
        StatusCode::OK,
    )
    .await;
    let statuses: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["expired"]);
    problem(
        app.post(
            "/v1/me/surveys/no-such/response",
            &token,
            json!({"score": 3}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn an_invitation_whose_email_the_dispatcher_suppresses_is_withdrawn() {
    let app = TestApp::spawn().await;
    open_hours(&app).await;
    let customer = member(&app, "w@example.com", true, "en").await;
    let invitation = sent_invitation(&app, &customer).await;
    // Consent is withdrawn after the invitation was written, before the dispatcher sends it.
    let key = app.backend_key().await;
    ok(
        app.patch(
            &format!("/v1/customers/{customer}"),
            &key,
            json!({"consents": {"surveys": false}}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    app.run_job("dispatch_outbox").await;
    let sent = messages(&app, &customer, "survey_invitation").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["status"], "suppressed");
    assert_eq!(sent[0]["reason"], "no_survey_consent");
    // It reached no one: withdrawn with the message's reason, no reminder, not in the app.
    let inv = stored(&app, &customer);
    assert_eq!(inv.last().unwrap().id, invitation);
    assert_eq!(inv.last().unwrap().status, "suppressed");
    assert_eq!(
        inv.last().unwrap().reason.as_deref(),
        Some("no_survey_consent")
    );
    app.clock.advance(Duration::hours(73));
    assert_eq!(app.run_job("survey_reminders").await.items, 0);
    let token = app.customer_token(&key, &customer).await;
    let mine = ok(
        app.get("/v1/me/surveys?status=all", &token).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["data"].as_array().unwrap().len(), 0, "{mine}");
}

#[tokio::test]
async fn a_survey_deactivated_after_its_invitation_sends_no_reminder() {
    let app = TestApp::spawn().await;
    open_hours(&app).await;
    let customer = member(&app, "r@example.com", true, "en").await;
    let invitation = sent_invitation(&app, &customer).await;
    let admin = app.admin_token().await;
    let survey = stored(&app, &customer)[0].survey_id.clone();
    ok(
        app.patch(
            &format!("/v1/surveys/{survey}"),
            &admin,
            json!({"active": false}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    app.clock.advance(Duration::hours(73));
    assert_eq!(app.run_job("survey_reminders").await.items, 0);
    assert!(
        messages(&app, &customer, "survey_reminder")
            .await
            .is_empty()
    );
    // The invitation itself can still be answered.
    let token = app
        .customer_token(&app.backend_key().await, &customer)
        .await;
    ok(
        app.post(
            &format!("/v1/me/surveys/{invitation}/response"),
            &token,
            json!({"score": 8}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
}
