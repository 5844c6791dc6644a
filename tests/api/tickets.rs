//! Support tickets (API.md section 6): opened once per external_id, resolved with the agent
//! recorded, one follow-up message per resolution after the program's delay, withdrawn by a
//! reopening, suppressed with the reason; and tickets in the profile, the export, erasure and
//! merge.

use chrono::Duration;
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};

const JOB: &str = "ticket_follow_ups";

/// An app with a helpdesk key (`tickets:write`) and a backend key for customers. Staff reads go
/// through the admin, logged in again whenever the test clock has moved past their token.
struct Desk {
    app: TestApp,
    key: String,
    backend: String,
}

async fn desk() -> Desk {
    let app = TestApp::spawn().await;
    let key = app.api_key(&["tickets:write"]).await;
    let backend = app.backend_key().await;
    Desk { app, key, backend }
}

impl Desk {
    /// A customer who agreed to surveys (or not).
    async fn member(&self, email: &str, surveys: bool) -> String {
        let body = json!({"email": email, "first_name": "Sara",
            "consents": {"email_marketing": false, "sms_marketing": false, "surveys": surveys}});
        self.app.customer(&self.backend, body).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn open(&self, external_id: &str, customer: &str) -> Value {
        ok(
            self.app
                .post("/v1/tickets", &self.key, ticket(external_id, customer))
                .await,
            StatusCode::CREATED,
        )
        .await
    }

    async fn resolve(&self, id: &str, body: Value) -> Value {
        ok(
            self.app
                .post(&format!("/v1/tickets/{id}/resolve"), &self.key, body)
                .await,
            StatusCode::OK,
        )
        .await
    }

    async fn reopen(&self, id: &str) -> Value {
        let resp = self
            .app
            .request(
                Method::POST,
                &format!("/v1/tickets/{id}/reopen"),
                Some(&self.key),
                None,
            )
            .await;
        ok(resp, StatusCode::OK).await
    }

    async fn get(&self, path: &str) -> Value {
        let admin = self.app.admin_token().await;
        ok(self.app.get(path, &admin).await, StatusCode::OK).await
    }

    /// The customer's follow-up messages, newest first.
    async fn follow_ups(&self, customer: &str) -> Vec<Value> {
        let path = format!("/v1/messages?customer_id={customer}&kind=ticket_follow_up");
        self.get(&path).await["data"].as_array().unwrap().clone()
    }

    /// Moves the clock past the default follow-up delay (24 hours) and runs the job.
    async fn after_delay(&self) -> patron::scheduler::JobReport {
        self.app
            .clock
            .advance(Duration::hours(24) + Duration::minutes(1));
        self.app.run_job(JOB).await
    }
}

fn ticket(external_id: &str, customer: &str) -> Value {
    json!({"external_id": external_id, "customer_id": customer, "channel": "chat",
           "subject": "Cracked saffron jar qq", "category": "damage",
           "agent": {"id": "ag-1", "name": "Reza"}})
}

/// The stored payload of a message (the API shows metadata only).
fn payload(app: &TestApp, message_id: &str) -> Value {
    use patron::db::schema::messages;
    let mut conn = app.pool.get().unwrap();
    let raw: String = messages::table
        .find(message_id)
        .select(messages::payload)
        .first(&mut *conn)
        .unwrap();
    serde_json::from_str(&raw).unwrap()
}

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn opening_a_ticket_answers_201_and_a_retry_200_with_the_same_ticket() {
    let d = desk().await;
    let customer = d.member("a@example.com", true).await;
    let first = d.open("zd-1", &customer).await;
    assert_eq!(first["status"], "open");
    assert_eq!(first["channel"], "chat");
    assert_eq!(first["subject"], "Cracked saffron jar qq");
    assert_eq!(first["category"], "damage");
    assert_eq!(first["agent"], json!({"id": "ag-1", "name": "Reza"}));
    assert_eq!(first["opened_at"], "2026-11-22T12:00:00Z");
    assert_eq!(
        first["follow_up"],
        json!({"status": "none", "due_at": null})
    );
    let again = ok(
        d.app
            .post("/v1/tickets", &d.key, ticket("zd-1", &customer))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["id"], first["id"]);
    let list = d.get(&format!("/v1/tickets?customer_id={customer}")).await;
    assert_eq!(ids(&list), vec![first["id"].as_str().unwrap()]);
}

#[tokio::test]
async fn the_same_external_id_for_another_customer_is_409() {
    let d = desk().await;
    let a = d.member("a@example.com", true).await;
    let b = d.member("b@example.com", true).await;
    d.open("zd-1", &a).await;
    problem(
        d.app.post("/v1/tickets", &d.key, ticket("zd-1", &b)).await,
        StatusCode::CONFLICT,
        "external_id_conflict",
    )
    .await;
    let list = d.get(&format!("/v1/tickets?customer_id={b}")).await;
    assert!(ids(&list).is_empty());
}

#[tokio::test]
async fn an_unknown_customer_is_422_and_an_erased_one_422_customer_erased() {
    let d = desk().await;
    problem(
        d.app
            .post("/v1/tickets", &d.key, ticket("zd-1", "no-such-customer"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_customer",
    )
    .await;
    let gone = d.member("gone@example.com", true).await;
    let resp = d
        .app
        .request(
            Method::DELETE,
            &format!("/v1/customers/{gone}"),
            Some(&d.app.admin_token().await),
            None,
        )
        .await;
    ok(resp, StatusCode::NO_CONTENT).await;
    problem(
        d.app
            .post("/v1/tickets", &d.key, ticket("zd-2", &gone))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "customer_erased",
    )
    .await;
}

#[tokio::test]
async fn tickets_list_by_customer_and_status_newest_first_in_pages() {
    let d = desk().await;
    let a = d.member("a@example.com", true).await;
    let b = d.member("b@example.com", true).await;
    let mut opened = Vec::new();
    for (i, at) in [
        "2026-11-20T10:00:00Z",
        "2026-11-22T09:00:00Z",
        "2026-11-21T10:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        let mut body = ticket(&format!("zd-{i}"), &a);
        body["opened_at"] = json!(at);
        let t = ok(
            d.app.post("/v1/tickets", &d.key, body).await,
            StatusCode::CREATED,
        )
        .await;
        opened.push(t["id"].as_str().unwrap().to_owned());
    }
    d.open("other", &b).await;
    d.resolve(&opened[1], json!({})).await;

    let page1 = d.get(&format!("/v1/tickets?customer_id={a}&limit=2")).await;
    assert_eq!(ids(&page1), vec![opened[1].clone(), opened[2].clone()]);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2 = d
        .get(&format!(
            "/v1/tickets?customer_id={a}&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(ids(&page2), vec![opened[0].clone()]);
    assert!(page2["next_cursor"].is_null());

    let open = d
        .get(&format!("/v1/tickets?customer_id={a}&status=open"))
        .await;
    assert_eq!(ids(&open), vec![opened[2].clone(), opened[0].clone()]);
    let resolved = d.get("/v1/tickets?status=resolved").await;
    assert_eq!(ids(&resolved), vec![opened[1].clone()]);
    assert_eq!(ids(&d.get("/v1/tickets").await).len(), 4);

    let bad = problem(
        d.app
            .get("/v1/tickets?status=closed", &d.app.admin_token().await)
            .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "status");
    problem(
        d.app
            .get("/v1/tickets?cursor=nonsense", &d.app.admin_token().await)
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_cursor",
    )
    .await;
    problem(
        d.app
            .get("/v1/tickets?limit=0", &d.app.admin_token().await)
            .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let long = format!("/v1/tickets?customer_id={}", "c".repeat(101));
    let bad = problem(
        d.app.get(&long, &d.app.admin_token().await).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "customer_id");
}

#[tokio::test]
async fn an_unknown_ticket_is_404() {
    let d = desk().await;
    problem(
        d.app.get("/v1/tickets/nope", &d.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        d.app
            .post("/v1/tickets/nope/resolve", &d.key, json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let resp = d
        .app
        .request(Method::POST, "/v1/tickets/nope/reopen", Some(&d.key), None)
        .await;
    problem(resp, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn resolving_records_the_agent_and_a_second_resolve_schedules_nothing_new() {
    let d = desk().await;
    let customer = d.member("a@example.com", true).await;
    let t = d.open("zd-1", &customer).await;
    let id = t["id"].as_str().unwrap();
    d.app.clock.advance(Duration::hours(2));
    let resolved = d
        .resolve(
            id,
            json!({"agent": {"id": "ag-2", "name": "Mina"}, "resolution_note": "Sent a new jar"}),
        )
        .await;
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolved_at"], "2026-11-22T14:00:00Z");
    assert_eq!(
        resolved["resolved_by"],
        json!({"id": "ag-2", "name": "Mina"})
    );
    assert_eq!(resolved["agent"], json!({"id": "ag-1", "name": "Reza"}));
    assert_eq!(resolved["resolution_note"], "Sent a new jar");
    assert_eq!(resolved["resolutions"], 1);
    assert_eq!(
        resolved["follow_up"],
        json!({"status": "scheduled", "due_at": "2026-11-23T14:00:00Z"})
    );

    d.app.clock.advance(Duration::hours(1));
    let twice = d
        .resolve(
            id,
            json!({"agent": {"id": "ag-3"}, "resolution_note": "again"}),
        )
        .await;
    assert_eq!(twice["resolutions"], 1);
    assert_eq!(twice["resolved_by"], resolved["resolved_by"]);
    assert_eq!(twice["resolution_note"], "Sent a new jar");
    assert_eq!(twice["follow_up"], resolved["follow_up"]);
    assert_eq!(d.get(&format!("/v1/tickets/{id}")).await, twice);

    d.after_delay().await;
    assert_eq!(d.follow_ups(&customer).await.len(), 1);
}

#[tokio::test]
async fn without_an_agent_at_resolution_the_tickets_agent_is_recorded() {
    let d = desk().await;
    let customer = d.member("a@example.com", true).await;
    let t = d.open("zd-1", &customer).await;
    let resolved = d.resolve(t["id"].as_str().unwrap(), json!({})).await;
    assert_eq!(
        resolved["resolved_by"],
        json!({"id": "ag-1", "name": "Reza"})
    );
    assert!(resolved["resolution_note"].is_null());
}

#[tokio::test]
async fn the_job_enqueues_the_follow_up_only_after_the_delay_with_its_payload() {
    let d = desk().await;
    let customer = d.member("a@example.com", true).await;
    let t = d.open("zd-1", &customer).await;
    let id = t["id"].as_str().unwrap();
    d.resolve(
        id,
        json!({"agent": {"id": "ag-2", "name": "Mina"}, "resolution_note": "Sent a new jar"}),
    )
    .await;

    d.app.clock.advance(Duration::hours(23));
    let early = d.app.run_job(JOB).await;
    assert_eq!(early.items, 0);
    assert!(d.follow_ups(&customer).await.is_empty());

    let report = d.after_delay().await;
    assert_eq!(report.items, 1);
    let messages = d.follow_ups(&customer).await;
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m["status"], "pending");
    assert_eq!(m["category"], "survey");
    assert_eq!(m["cause"], json!({"type": "ticket", "id": id}));
    assert!(m["reason"].is_null());
    assert_eq!(
        payload(&d.app, m["id"].as_str().unwrap()),
        json!({"ticket_subject": "Cracked saffron jar qq", "resolution_note": "Sent a new jar",
               "agent_name": "Mina", "survey_url": null})
    );
    let ticket = d.get(&format!("/v1/tickets/{id}")).await;
    assert_eq!(ticket["follow_up"]["status"], "enqueued");

    // Running again (or later) writes nothing more.
    d.app.clock.advance(Duration::hours(1));
    assert_eq!(d.app.run_job(JOB).await.items, 0);
    assert_eq!(d.follow_ups(&customer).await.len(), 1);
}

#[tokio::test]
async fn reopening_before_the_job_cancels_the_follow_up_and_nothing_is_enqueued() {
    let d = desk().await;
    let customer = d.member("a@example.com", true).await;
    let t = d.open("zd-1", &customer).await;
    let id = t["id"].as_str().unwrap();
    d.resolve(id, json!({})).await;
    let reopened = d.reopen(id).await;
    assert_eq!(reopened["status"], "open");
    assert!(reopened["resolved_at"].is_null());
    assert_eq!(reopened["follow_up"]["status"], "cancelled");
    // Reopening an open ticket changes nothing.
    assert_eq!(d.reopen(id).await, reopened);
    d.after_delay().await;
    assert!(d.follow_ups(&customer).await.is_empty());
}

#[tokio::test]
async fn reopening_after_the_job_cancels_the_pending_message() {
    let d = desk().await;
    let customer = d.member("a@example.com", true).await;
    let t = d.open("zd-1", &customer).await;
    let id = t["id"].as_str().unwrap();
    d.resolve(id, json!({})).await;
    d.after_delay().await;
    assert_eq!(d.follow_ups(&customer).await[0]["status"], "pending");
    let reopened = d.reopen(id).await;
    assert_eq!(reopened["follow_up"]["status"], "cancelled");
    let messages = d.follow_ups(&customer).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["status"], "cancelled");
    assert_eq!(messages[0]["reason"], "ticket_reopened");
}

#[tokio::test]
async fn resolving_again_after_a_reopen_gives_a_second_follow_up() {
    let d = desk().await;
    let customer = d.member("a@example.com", true).await;
    let t = d.open("zd-1", &customer).await;
    let id = t["id"].as_str().unwrap();
    d.resolve(id, json!({})).await;
    d.after_delay().await;
    d.reopen(id).await;
    let again = d.resolve(id, json!({"resolution_note": "Refunded"})).await;
    assert_eq!(again["resolutions"], 2);
    assert_eq!(again["follow_up"]["status"], "scheduled");
    d.after_delay().await;
    let messages = d.follow_ups(&customer).await;
    let statuses: Vec<&str> = messages
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["pending", "cancelled"], "one per resolution");
    assert_eq!(
        payload(&d.app, messages[0]["id"].as_str().unwrap())["resolution_note"],
        "Refunded"
    );
    // A third run or a repeated resolve adds nothing.
    d.resolve(id, json!({})).await;
    d.after_delay().await;
    assert_eq!(d.follow_ups(&customer).await.len(), 2);
}

#[tokio::test]
async fn a_follow_up_is_suppressed_while_another_ticket_is_open() {
    let d = desk().await;
    let customer = d.member("a@example.com", true).await;
    let t = d.open("zd-1", &customer).await;
    d.open("zd-2", &customer).await;
    d.resolve(t["id"].as_str().unwrap(), json!({})).await;
    d.after_delay().await;
    let messages = d.follow_ups(&customer).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["status"], "suppressed");
    assert_eq!(messages[0]["reason"], "another_ticket_open");
    let timeline = d
        .get(&format!(
            "/v1/customers/{customer}/timeline?type=message_suppressed"
        ))
        .await;
    let entries = timeline["data"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["ref"]["id"], messages[0]["id"]);
}

#[tokio::test]
async fn a_follow_up_is_suppressed_without_survey_consent() {
    let d = desk().await;
    let customer = d.member("a@example.com", false).await;
    let t = d.open("zd-1", &customer).await;
    d.resolve(t["id"].as_str().unwrap(), json!({})).await;
    d.after_delay().await;
    let messages = d.follow_ups(&customer).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["status"], "suppressed");
    assert_eq!(messages[0]["reason"], "no_survey_consent");
}

#[tokio::test]
async fn a_second_follow_up_within_the_survey_cooldown_is_suppressed() {
    let d = desk().await;
    let customer = d.member("a@example.com", true).await;
    let first = d.open("zd-1", &customer).await;
    let second = d.open("zd-2", &customer).await;
    d.resolve(first["id"].as_str().unwrap(), json!({})).await;
    d.app.clock.advance(Duration::minutes(5));
    d.resolve(second["id"].as_str().unwrap(), json!({})).await;
    d.after_delay().await;
    let messages = d.follow_ups(&customer).await;
    let seen: Vec<(&str, &str)> = messages
        .iter()
        .map(|m| {
            (
                m["cause"]["id"].as_str().unwrap(),
                m["reason"]
                    .as_str()
                    .unwrap_or(m["status"].as_str().unwrap()),
            )
        })
        .collect();
    assert_eq!(seen.len(), 2);
    assert!(seen.contains(&(first["id"].as_str().unwrap(), "pending")));
    assert!(seen.contains(&(second["id"].as_str().unwrap(), "survey_cooldown")));
}

#[tokio::test]
async fn two_concurrent_job_runs_write_each_follow_up_once() {
    let d = desk().await;
    let mut customers = Vec::new();
    for i in 0..6 {
        let customer = d.member(&format!("c{i}@example.com"), true).await;
        let t = d.open(&format!("zd-{i}"), &customer).await;
        d.resolve(t["id"].as_str().unwrap(), json!({})).await;
        customers.push(customer);
    }
    d.app.clock.advance(Duration::hours(25));
    let (a, b) = tokio::join!(d.app.run_job(JOB), d.app.run_job(JOB));
    assert_eq!(a.items + b.items, 6, "{a:?} {b:?}");
    for customer in &customers {
        let messages = d.follow_ups(customer).await;
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["status"], "pending");
    }
}

#[tokio::test]
async fn tickets_are_on_the_timeline_without_their_subject() {
    let d = desk().await;
    let customer = d.member("a@example.com", true).await;
    let t = d.open("zd-1", &customer).await;
    let id = t["id"].as_str().unwrap();
    d.app.clock.advance(Duration::hours(1));
    d.resolve(id, json!({"resolution_note": "Sent a new jar"}))
        .await;
    d.app.clock.advance(Duration::hours(1));
    d.reopen(id).await;
    let timeline = d
        .get(&format!(
            "/v1/customers/{customer}/timeline?type=ticket_opened,ticket_resolved"
        ))
        .await;
    let entries = timeline["data"].as_array().unwrap();
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec!["ticket_opened", "ticket_resolved", "ticket_opened"]
    );
    assert!(entries[0]["summary"].as_str().unwrap().contains("reopened"));
    for e in entries {
        assert_eq!(e["ref"]["id"], id);
        assert_eq!(e["channel"], "chat");
        let summary = e["summary"].as_str().unwrap();
        assert!(summary.contains("damage"), "{summary}");
        assert!(
            !summary.contains("saffron") && !summary.contains("jar"),
            "{summary}"
        );
    }
}

#[tokio::test]
async fn the_profile_lists_the_open_tickets() {
    let d = desk().await;
    let customer = d.member("a@example.com", true).await;
    let done = d.open("zd-1", &customer).await;
    d.app.clock.advance(Duration::minutes(1));
    let open = d.open("zd-2", &customer).await;
    d.resolve(done["id"].as_str().unwrap(), json!({})).await;
    let profile = d.get(&format!("/v1/customers/{customer}/profile")).await;
    assert_eq!(
        profile["open_tickets"],
        json!([{"id": open["id"], "external_id": "zd-2", "channel": "chat",
                "subject": "Cracked saffron jar qq", "category": "damage",
                "opened_at": "2026-11-22T12:01:00Z", "agent": {"id": "ag-1", "name": "Reza"}}])
    );
}

#[tokio::test]
async fn the_export_contains_tickets_and_message_metadata() {
    let d = desk().await;
    let customer = d.member("a@example.com", true).await;
    let t = d.open("zd-1", &customer).await;
    d.resolve(
        t["id"].as_str().unwrap(),
        json!({"resolution_note": "Sent a new jar"}),
    )
    .await;
    d.after_delay().await;
    let doc = d.get(&format!("/v1/customers/{customer}/export")).await;
    let tickets = doc["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["subject"], "Cracked saffron jar qq");
    assert_eq!(tickets[0]["resolution_note"], "Sent a new jar");
    assert_eq!(tickets[0]["follow_up_status"], "enqueued");
    let messages = doc["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["kind"], "ticket_follow_up");
    assert_eq!(messages[0]["status"], "pending");
    assert!(messages[0].get("payload").is_none(), "no bodies or values");
    assert_eq!(doc["offers"], json!([]));
}

#[tokio::test]
async fn erasure_cancels_the_pending_and_the_scheduled_follow_ups_and_blanks_the_tickets() {
    let d = desk().await;
    let customer = d.member("a@example.com", true).await;
    let first = d.open("zd-1", &customer).await;
    let first_id = first["id"].as_str().unwrap();
    d.resolve(first_id, json!({"resolution_note": "Sent a new jar"}))
        .await;
    d.after_delay().await;
    let second = d.open("zd-2", &customer).await;
    let second_id = second["id"].as_str().unwrap();
    d.resolve(second_id, json!({})).await;
    let resp = d
        .app
        .request(
            Method::DELETE,
            &format!("/v1/customers/{customer}"),
            Some(&d.app.admin_token().await),
            None,
        )
        .await;
    ok(resp, StatusCode::NO_CONTENT).await;

    let messages = d.follow_ups(&customer).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["status"], "cancelled");
    assert_eq!(messages[0]["reason"], "customer_erased");
    assert_eq!(
        payload(&d.app, messages[0]["id"].as_str().unwrap()),
        json!({})
    );
    let first = d.get(&format!("/v1/tickets/{first_id}")).await;
    assert_eq!(first["subject"], "[erased]");
    assert!(first["resolution_note"].is_null());
    let second = d.get(&format!("/v1/tickets/{second_id}")).await;
    assert_eq!(second["follow_up"]["status"], "cancelled");
    d.after_delay().await;
    assert_eq!(d.follow_ups(&customer).await.len(), 1);
}

#[tokio::test]
async fn a_merge_moves_the_tickets_and_messages_to_the_survivor() {
    let d = desk().await;
    let target = d.member("t@example.com", true).await;
    let source = d.member("s@example.com", true).await;
    let t = d.open("zd-1", &source).await;
    d.resolve(t["id"].as_str().unwrap(), json!({})).await;
    d.after_delay().await;
    let support = d.app.staff_token("support").await;
    ok(
        d.app
            .post(
                &format!("/v1/customers/{target}/merge"),
                &support,
                json!({"source_customer_id": source}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let list = d.get(&format!("/v1/tickets?customer_id={target}")).await;
    assert_eq!(ids(&list), vec![t["id"].as_str().unwrap()]);
    assert_eq!(list["data"][0]["customer_id"], target.as_str());
    assert_eq!(d.follow_ups(&target).await.len(), 1);
    // The alias's id lists the survivor's tickets.
    let via_alias = d.get(&format!("/v1/tickets?customer_id={source}")).await;
    assert_eq!(ids(&via_alias), ids(&list));
}

#[tokio::test]
async fn ticket_routes_need_the_right_credentials() {
    let d = desk().await;
    let customer = d.member("a@example.com", true).await;
    let t = d.open("zd-1", &customer).await;
    let resolve = format!("/v1/tickets/{}/resolve", t["id"].as_str().unwrap());
    let resp = d.app.request(Method::GET, "/v1/tickets", None, None).await;
    problem(resp, StatusCode::UNAUTHORIZED, "missing_credentials").await;

    let marketer = d.app.staff_token("marketer").await;
    ok(d.app.get("/v1/tickets", &marketer).await, StatusCode::OK).await;
    problem(
        d.app
            .post("/v1/tickets", &marketer, ticket("zd-2", &customer))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    problem(
        d.app.post(&resolve, &marketer, json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let other_key = d.app.api_key(&["customers:read"]).await;
    problem(
        d.app
            .post("/v1/tickets", &other_key, ticket("zd-2", &customer))
            .await,
        StatusCode::FORBIDDEN,
        "missing_scope",
    )
    .await;
    problem(
        d.app.get("/v1/tickets", &other_key).await,
        StatusCode::FORBIDDEN,
        "missing_scope",
    )
    .await;

    let customer_token = d.app.customer_token(&d.backend, &customer).await;
    problem(
        d.app.get("/v1/tickets", &customer_token).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let support = d.app.staff_token("support").await;
    ok(
        d.app
            .post("/v1/tickets", &support, ticket("zd-2", &customer))
            .await,
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test]
async fn invalid_ticket_input_is_400_with_every_field() {
    let d = desk().await;
    let customer = d.member("a@example.com", true).await;
    let bad = json!({"external_id": "x".repeat(101), "customer_id": customer, "channel": "fax",
        "subject": "s".repeat(301), "category": " ", "opened_at": "2026-11-22T13:00:00Z",
        "agent": {"id": ""}});
    let body = problem(
        d.app.post("/v1/tickets", &d.key, bad).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let mut fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "agent.id",
            "category",
            "channel",
            "external_id",
            "opened_at",
            "subject"
        ]
    );
    let mut unknown = ticket("zd-1", &customer);
    unknown["status"] = json!("resolved");
    problem(
        d.app.post("/v1/tickets", &d.key, unknown).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    let nul = json!({"external_id": "zd-1", "customer_id": customer, "channel": "chat",
        "subject": "a\u{0}b"});
    problem(
        d.app.post("/v1/tickets", &d.key, nul).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;

    let t = d.open("zd-1", &customer).await;
    let resolve = format!("/v1/tickets/{}/resolve", t["id"].as_str().unwrap());
    let body = problem(
        d.app
            .post(
                &resolve,
                &d.key,
                json!({"resolution_note": "n".repeat(4001)}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "resolution_note");
    let body = problem(
        d.app
            .post(
                &resolve,
                &d.key,
                json!({"resolved_at": "2026-11-22T11:00:00Z"}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "resolved_at");
    // Nothing was resolved by the refused requests.
    assert_eq!(
        d.get(&format!("/v1/tickets/{}", t["id"].as_str().unwrap()))
            .await["status"],
        "open"
    );
}
