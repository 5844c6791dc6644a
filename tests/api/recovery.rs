//! Closing the loop: a bad answer opens one recovery case carrying the agent and touchpoint, the
//! apology points and message are given once per response and capped per customer per window
//! (also under concurrent answers), and support resolves cases that others may only read.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::mail::MailSink;
use crate::program::set_program;

/// The program's recovery settings.
fn recovery(apology_points: i64, max_apologies: i64, send_message: bool) -> Value {
    json!({"recovery": {"apology_points": apology_points, "max_apologies": max_apologies,
                        "window_days": 90, "send_message": send_message}})
}

/// An answer sent by a store backend.
fn answer(customer: Option<&str>, kind: &str, score: i64, scale: Option<i64>) -> Value {
    let mut body = json!({
        "kind": kind, "score": score, "channel": "store", "touchpoint": "checkout",
        "store_id": "s1", "agent_id": "ag-7", "comment": "The queue was far too long",
        "occurred_at": "2026-11-22T10:00:00Z"
    });
    if let Some(c) = customer {
        body["customer_id"] = json!(c);
    }
    if let Some(s) = scale {
        body["scale"] = json!(s);
    }
    body
}

struct Setup {
    app: TestApp,
    /// `feedback:write`.
    key: String,
    customer: String,
}

async fn setup_with(app: TestApp, settings: Value) -> Setup {
    set_program(&app, settings).await;
    let backend = app.backend_key().await;
    let customer = app
        .customer(
            &backend,
            json!({"email": "sara@example.com", "first_name": "Sara"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Setup {
        key: app.api_key(&["feedback:write"]).await,
        customer,
        app,
    }
}

async fn setup(settings: Value) -> Setup {
    setup_with(TestApp::spawn().await, settings).await
}

/// Posts an answer; returns the recovery case it opened, if any.
async fn send(s: &Setup, body: Value) -> Option<String> {
    let body = ok(
        s.app.post("/v1/feedback", &s.key, body).await,
        StatusCode::CREATED,
    )
    .await;
    body["recovery_case_id"].as_str().map(str::to_owned)
}

async fn cases(s: &Setup, token: &str, query: &str) -> Vec<Value> {
    let page = ok(
        s.app
            .get(&format!("/v1/recovery-cases{query}"), token)
            .await,
        StatusCode::OK,
    )
    .await;
    page["data"].as_array().unwrap().clone()
}

async fn balance(s: &Setup) -> i64 {
    let b = ok(
        s.app
            .get(
                &format!("/v1/customers/{}/points", s.customer),
                &s.app.admin_token().await,
            )
            .await,
        StatusCode::OK,
    )
    .await;
    b["available"].as_i64().unwrap()
}

/// Ledger entries whose source is a recovery case.
async fn apology_entries(s: &Setup) -> Vec<Value> {
    let page = ok(
        s.app
            .get(
                &format!("/v1/customers/{}/points/history", s.customer),
                &s.app.admin_token().await,
            )
            .await,
        StatusCode::OK,
    )
    .await;
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"]["type"] == "recovery_case")
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_detractor_answer_opens_exactly_one_case_with_the_agent_and_touchpoint() {
    let s = setup(recovery(0, 1, false)).await;
    let case_id = send(&s, answer(Some(&s.customer), "nps", 3, None))
        .await
        .expect("a case");

    let list = cases(&s, &s.app.admin_token().await, "").await;
    assert_eq!(list.len(), 1);
    let case = &list[0];
    assert_eq!(case["id"], case_id.as_str());
    assert_eq!(case["customer_id"], s.customer.as_str());
    assert_eq!(case["kind"], "nps");
    assert_eq!(case["scale"], 10);
    assert_eq!(case["score"], 3);
    assert_eq!(case["comment"], "The queue was far too long");
    assert_eq!(case["channel"], "store");
    assert_eq!(case["touchpoint"], "checkout");
    assert_eq!(case["store_id"], "s1");
    assert_eq!(case["agent_id"], "ag-7");
    assert_eq!(case["status"], "open");
    assert_eq!(case["apology_points"], 0);
    assert_eq!(case["apologized"], false);
    assert_eq!(case["opened_at"], "2026-11-22T12:00:00Z");
    assert_eq!(case["resolved_at"], Value::Null);

    let one = ok(
        s.app
            .get(
                &format!("/v1/recovery-cases/{case_id}"),
                &s.app.admin_token().await,
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(&one, case);
    problem(
        s.app
            .get(
                "/v1/recovery-cases/no-such-case",
                &s.app.admin_token().await,
            )
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn passives_promoters_and_skipped_answers_open_no_case() {
    let s = setup(recovery(0, 1, false)).await;
    for score in [7, 8, 9, 10] {
        assert_eq!(
            send(&s, answer(Some(&s.customer), "nps", score, None)).await,
            None
        );
    }
    let mut skipped = answer(Some(&s.customer), "nps", 0, None);
    skipped["score"] = Value::Null;
    assert_eq!(send(&s, skipped).await, None);
    assert!(cases(&s, &s.app.admin_token().await, "").await.is_empty());
}

#[tokio::test]
async fn csat_and_ces_open_a_case_in_the_bottom_two_points_of_their_scale() {
    let s = setup(recovery(0, 1, false)).await;
    let c = Some(s.customer.as_str());
    assert!(send(&s, answer(c, "csat", 2, None)).await.is_some());
    assert!(send(&s, answer(c, "csat", 3, None)).await.is_none());
    assert!(send(&s, answer(c, "ces", 2, Some(7))).await.is_some());
    assert!(send(&s, answer(c, "ces", 3, Some(7))).await.is_none());
    assert!(send(&s, answer(c, "ces", 2, Some(5))).await.is_some());
    assert!(send(&s, answer(c, "ces", 3, Some(5))).await.is_none());
    assert!(send(&s, answer(c, "nps", 6, None)).await.is_some());

    let ces = cases(&s, &s.app.admin_token().await, "?kind=ces").await;
    let scales: Vec<i64> = ces.iter().map(|c| c["scale"].as_i64().unwrap()).collect();
    assert_eq!(ces.len(), 2);
    assert!(scales.contains(&5) && scales.contains(&7), "{scales:?}");
    assert_eq!(
        cases(&s, &s.app.admin_token().await, "?kind=csat")
            .await
            .len(),
        1
    );
    assert_eq!(cases(&s, &s.app.admin_token().await, "").await.len(), 4);
}

#[tokio::test]
async fn apology_points_are_credited_once_when_the_same_request_is_posted_twice() {
    let s = setup(recovery(50, 1, false)).await;
    let post = || {
        s.app
            .client
            .post(s.app.url("/v1/feedback"))
            .bearer_auth(&s.key)
            .header("Idempotency-Key", "bad-1")
            .json(&answer(Some(&s.customer), "nps", 2, None))
            .send()
    };
    let first = ok(post().await.unwrap(), StatusCode::CREATED).await;
    let again = ok(post().await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(first["recovery_case_id"], again["recovery_case_id"]);
    let case_id = first["recovery_case_id"].as_str().unwrap();

    assert_eq!(balance(&s).await, 50);
    let entries = apology_entries(&s).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["kind"], "bonus");
    assert_eq!(entries[0]["points"], 50);
    assert_eq!(entries[0]["source"]["id"], case_id);
    assert_eq!(entries[0]["note"], "recovery_apology");
    let list = cases(&s, &s.app.admin_token().await, "").await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["apology_points"], 50);
    assert_eq!(list[0]["apologized"], true);
}

#[tokio::test]
async fn the_cap_gives_one_apology_per_window_and_another_after_it() {
    let s = setup(recovery(50, 1, false)).await;
    let c = Some(s.customer.as_str());
    let first = send(&s, answer(c, "nps", 1, None)).await.unwrap();
    let second = send(&s, answer(c, "csat", 1, None)).await.unwrap();
    assert_ne!(first, second);
    assert_eq!(balance(&s).await, 50);
    let by_id = |list: &[Value], id: &str| {
        list.iter()
            .find(|c| c["id"] == id)
            .cloned()
            .expect("listed")
    };
    let list = cases(&s, &s.app.admin_token().await, "").await;
    assert_eq!(by_id(&list, &first)["apologized"], true);
    assert_eq!(by_id(&list, &second)["apologized"], false);
    assert_eq!(by_id(&list, &second)["apology_points"], 0);

    // 91 days on, the first apology has left the 90-day window.
    s.app.clock.advance(chrono::Duration::days(91));
    let mut later = answer(c, "ces", 1, Some(7));
    later["occurred_at"] = json!("2027-02-21T10:00:00Z");
    let third = send(&s, later).await.unwrap();
    let list = cases(&s, &s.app.admin_token().await, "").await;
    assert_eq!(by_id(&list, &third)["apology_points"], 50);
    assert_eq!(balance(&s).await, 100);
    assert_eq!(apology_entries(&s).await.len(), 2);
}

#[tokio::test]
async fn concurrent_bad_answers_of_one_customer_get_one_apology() {
    let s = setup(recovery(50, 1, false)).await;
    let mut posts = Vec::new();
    for i in 0..6 {
        let mut body = answer(Some(&s.customer), "nps", i % 7, None);
        body["touchpoint"] = json!(format!("t{i}"));
        let req = s
            .app
            .client
            .post(s.app.url("/v1/feedback"))
            .bearer_auth(&s.key)
            .json(&body);
        posts.push(tokio::spawn(req.send()));
    }
    for post in posts {
        ok(post.await.unwrap().unwrap(), StatusCode::CREATED).await;
    }
    let list = cases(&s, &s.app.admin_token().await, "").await;
    assert_eq!(list.len(), 6);
    let apologized = list.iter().filter(|c| c["apologized"] == true).count();
    assert_eq!(apologized, 1, "{list:?}");
    assert_eq!(balance(&s).await, 50);
    assert_eq!(apology_entries(&s).await.len(), 1);
}

#[tokio::test]
async fn anonymous_feedback_opens_a_case_without_an_apology() {
    let s = setup(recovery(50, 1, true)).await;
    let case_id = send(&s, answer(None, "nps", 0, None))
        .await
        .expect("a case");
    let case = ok(
        s.app
            .get(
                &format!("/v1/recovery-cases/{case_id}"),
                &s.app.admin_token().await,
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(case["customer_id"], Value::Null);
    assert_eq!(case["apologized"], false);
    assert_eq!(case["apology_points"], 0);
}

#[tokio::test]
async fn the_recovery_apology_email_arrives_with_the_points() {
    let mail = MailSink::start();
    let app = TestApp::spawn_with(|st| mail.configure(st)).await;
    let s = setup_with(app, recovery(25, 1, true)).await;
    let case_id = send(&s, answer(Some(&s.customer), "nps", 2, None))
        .await
        .unwrap();
    s.app.run_job("dispatch_outbox").await;
    let got = mail.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, vec!["sara@example.com".to_owned()]);
    assert_eq!(got[0].header("Subject").as_deref(), Some("We’re sorry"));
    let text = got[0].text();
    assert!(text.contains("Hi Sara"), "{text}");
    assert!(text.contains("25 points"), "{text}");

    let messages = ok(
        s.app
            .get(
                &format!(
                    "/v1/messages?customer_id={}&kind=recovery_apology",
                    s.customer
                ),
                &s.app.admin_token().await,
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let messages = messages["data"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["status"], "sent");
    assert_eq!(messages[0]["cause"]["id"], case_id.as_str(), "{messages:?}");
}

/// The id of the one staff member with this role.
async fn staff_id(s: &Setup, role: &str) -> String {
    let staff = ok(
        s.app.get("/v1/staff", &s.app.admin_token().await).await,
        StatusCode::OK,
    )
    .await;
    staff["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == role)
        .and_then(|m| m["id"].as_str())
        .expect("staff member")
        .to_owned()
}

#[tokio::test]
async fn support_resolves_a_case_once_and_the_resolution_is_audited() {
    let s = setup(recovery(0, 1, false)).await;
    let case_id = send(&s, answer(Some(&s.customer), "nps", 4, None))
        .await
        .unwrap();
    let support = s.app.staff_token("support").await;
    let support_id = staff_id(&s, "support").await;
    let path = format!("/v1/recovery-cases/{case_id}/resolve");

    let body = problem(
        s.app
            .post(&path, &support, json!({"note": "x".repeat(2001)}))
            .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "note");
    problem(
        s.app.post(&path, &support, json!({"notes": "typo"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;

    s.app.clock.advance(chrono::Duration::minutes(10));
    let resolved = ok(
        s.app
            .post(
                &path,
                &support,
                json!({"note": "Called her; refunded the delivery"}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolved_at"], "2026-11-22T12:10:00Z");
    assert_eq!(resolved["resolved_by"], support_id.as_str());
    assert_eq!(
        resolved["resolution_note"],
        "Called her; refunded the delivery"
    );

    problem(
        s.app.post(&path, &support, json!({})).await,
        StatusCode::CONFLICT,
        "case_already_resolved",
    )
    .await;
    problem(
        s.app
            .request(
                Method::POST,
                "/v1/recovery-cases/no-such-case/resolve",
                Some(&support),
                None,
            )
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Audited once, by the support member.
    let mut conn = s.app.pool.get().unwrap();
    let sql = format!(
        "UPDATE audit_log SET at = at WHERE action = 'recovery_case.resolve' \
         AND target_type = 'recovery_case' AND target_id = '{case_id}' \
         AND actor_type = 'staff' AND actor_id = '{support_id}'"
    );
    use diesel::RunQueryDsl;
    assert_eq!(diesel::sql_query(sql).execute(&mut *conn).unwrap(), 1);
}

#[tokio::test]
async fn analysts_and_marketers_read_cases_but_only_support_and_admin_resolve() {
    let s = setup(recovery(0, 1, false)).await;
    let case_id = send(&s, answer(Some(&s.customer), "csat", 1, None))
        .await
        .unwrap();
    let path = format!("/v1/recovery-cases/{case_id}/resolve");
    for role in ["analyst", "marketer"] {
        let token = s.app.staff_token(role).await;
        assert_eq!(cases(&s, &token, "").await.len(), 1);
        ok(
            s.app
                .get(&format!("/v1/recovery-cases/{case_id}"), &token)
                .await,
            StatusCode::OK,
        )
        .await;
        problem(
            s.app.post(&path, &token, json!({})).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    // API keys have no scope for recovery cases: refused before the query is even read.
    let key = s
        .app
        .api_key(&["feedback:write", "customers:read", "tickets:write"])
        .await;
    for url in [
        "/v1/recovery-cases".to_owned(),
        "/v1/recovery-cases?status=bogus&limit=0".to_owned(),
        format!("/v1/recovery-cases/{case_id}"),
    ] {
        problem(
            s.app.get(&url, &key).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    problem(
        s.app.post(&path, &key, json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let customer = s
        .app
        .customer_token(&s.app.backend_key().await, &s.customer)
        .await;
    problem(
        s.app.get("/v1/recovery-cases", &customer).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    problem(
        s.app
            .request(Method::GET, "/v1/recovery-cases", None, None)
            .await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    )
    .await;
    problem(
        s.app.post(&path, "not-a-token", json!({})).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    let admin = ok(
        s.app
            .post(&path, &s.app.admin_token().await, json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(admin["status"], "resolved");
    assert_eq!(admin["resolution_note"], Value::Null);
}

#[tokio::test]
async fn the_list_filters_by_status_customer_and_kind_and_pages_newest_first() {
    let s = setup(recovery(0, 1, false)).await;
    let backend = s.app.backend_key().await;
    let other = s.app.customer_id(&backend, "other@example.com").await;
    let mut ids = Vec::new();
    for (who, kind) in [
        (s.customer.as_str(), "nps"),
        (other.as_str(), "csat"),
        (s.customer.as_str(), "ces"),
    ] {
        ids.push(send(&s, answer(Some(who), kind, 1, None)).await.unwrap());
        s.app.clock.advance(chrono::Duration::minutes(1));
    }
    let support = s.app.staff_token("support").await;
    ok(
        s.app
            .post(
                &format!("/v1/recovery-cases/{}/resolve", ids[0]),
                &support,
                json!({}),
            )
            .await,
        StatusCode::OK,
    )
    .await;

    let listed = |v: Vec<Value>| -> Vec<String> {
        v.iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(
        listed(cases(&s, &s.app.admin_token().await, "").await),
        newest_first
    );
    assert_eq!(
        listed(cases(&s, &s.app.admin_token().await, "?status=open").await),
        vec![ids[2].clone(), ids[1].clone()]
    );
    assert_eq!(
        listed(cases(&s, &s.app.admin_token().await, "?status=resolved").await),
        vec![ids[0].clone()]
    );
    assert_eq!(
        listed(
            cases(
                &s,
                &s.app.admin_token().await,
                &format!("?customer_id={}", s.customer)
            )
            .await
        ),
        vec![ids[2].clone(), ids[0].clone()]
    );
    assert_eq!(
        listed(
            cases(
                &s,
                &s.app.admin_token().await,
                &format!("?customer_id={}&kind=nps&status=resolved", s.customer)
            )
            .await
        ),
        vec![ids[0].clone()]
    );

    // Two a page.
    let page = ok(
        s.app
            .get("/v1/recovery-cases?limit=2", &s.app.admin_token().await)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        listed(page["data"].as_array().unwrap().clone()),
        newest_first[..2]
    );
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let page = ok(
        s.app
            .get(
                &format!("/v1/recovery-cases?limit=2&cursor={cursor}"),
                &s.app.admin_token().await,
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        listed(page["data"].as_array().unwrap().clone()),
        newest_first[2..]
    );
    assert_eq!(page["next_cursor"], Value::Null);

    for (query, code) in [
        ("?status=closed", "validation_failed"),
        ("?kind=stars", "validation_failed"),
        ("?limit=0", "validation_failed"),
        ("?limit=201", "validation_failed"),
        ("?cursor=@@@", "invalid_cursor"),
        ("?sort=asc", "invalid_query"),
        ("?limit=many", "invalid_query"),
    ] {
        problem(
            s.app
                .get(
                    &format!("/v1/recovery-cases{query}"),
                    &s.app.admin_token().await,
                )
                .await,
            StatusCode::BAD_REQUEST,
            code,
        )
        .await;
    }
    let long = "x".repeat(101);
    problem(
        s.app
            .get(
                &format!("/v1/recovery-cases?customer_id={long}"),
                &s.app.admin_token().await,
            )
            .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn a_merged_customers_cases_move_to_the_survivor_and_its_old_id_lists_them() {
    let s = setup(recovery(30, 1, false)).await;
    let backend = s.app.backend_key().await;
    let target = s.app.customer_id(&backend, "target@example.com").await;
    let case_id = send(&s, answer(Some(&s.customer), "nps", 0, None))
        .await
        .unwrap();
    let support = s.app.staff_token("support").await;
    ok(
        s.app
            .post(
                &format!("/v1/customers/{target}/merge"),
                &support,
                json!({"source_customer_id": s.customer}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    for id in [&s.customer, &target] {
        let list = cases(
            &s,
            &s.app.admin_token().await,
            &format!("?customer_id={id}"),
        )
        .await;
        assert_eq!(list.len(), 1, "{id}");
        assert_eq!(list[0]["id"], case_id.as_str());
        assert_eq!(list[0]["customer_id"], target.as_str());
    }
    // The apology given to the source counts towards the survivor's cap.
    let later = send(&s, answer(Some(&target), "csat", 1, None))
        .await
        .unwrap();
    let case = ok(
        s.app
            .get(
                &format!("/v1/recovery-cases/{later}"),
                &s.app.admin_token().await,
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(case["apologized"], false);
    let points = ok(
        s.app
            .get(
                &format!("/v1/customers/{target}/points"),
                &s.app.admin_token().await,
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(points["available"], 30);
}
