//! Customers: create, read, change, search, uniqueness and access control.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};

fn field_names(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn creating_a_customer_normalises_and_returns_the_whole_profile() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let body = app
        .customer(
            &key,
            json!({
                "external_id": "pos-42", "email": "  Leila@Example.COM ", "phone": "+98 912 123 4567",
                "first_name": "Leila", "last_name": "Ahmadi", "birthday": "1990-03-21",
                "time_zone": "Asia/Tehran", "locale": "fa-ir", "preferred_channel": "sms",
                "consents": {"email_marketing": true, "sms_marketing": false, "surveys": true},
                "tags": ["vip", "vip", "tehran"], "attributes": {"shoe_size": "38"}
            }),
        )
        .await;
    assert_eq!(body["email"], "leila@example.com");
    assert_eq!(body["phone"], "+989121234567");
    assert_eq!(body["locale"], "fa-IR");
    assert_eq!(body["time_zone"], "Asia/Tehran");
    assert_eq!(
        body["consents"],
        json!({"email_marketing": true, "sms_marketing": false, "surveys": true})
    );
    assert_eq!(body["tags"], json!(["vip", "tehran"]));
    assert_eq!(body["attributes"], json!({"shoe_size": "38"}));
    assert_eq!(body["has_password"], false);
    assert_eq!(body["created_at"], "2026-11-22T12:00:00Z");
    let id = body["id"].as_str().unwrap();
    let fetched = ok(
        app.get(&format!("/v1/customers/{id}"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(fetched["tags"], json!(["tehran", "vip"]));
    assert_eq!(fetched["email"], "leila@example.com");
    let by_ext = ok(
        app.get("/v1/customers/by-external-id/pos-42", &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(by_ext["id"], id);
}

#[tokio::test]
async fn a_customer_without_external_id_email_or_phone_returns_400() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let body = problem(
        app.post("/v1/customers", &key, json!({"first_name": "Nobody"}))
            .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(field_names(&body), ["external_id"]);
}

#[tokio::test]
async fn invalid_fields_are_all_reported_at_once() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let resp = app
        .post(
            "/v1/customers",
            &key,
            json!({
                "email": "not an email", "phone": "0912", "time_zone": "Mars/Olympus", "locale": "english",
                "birthday": "2030-01-01", "preferred_channel": "pigeon", "first_name": "x".repeat(201),
                "tags": [""], "attributes": {"k": "v".repeat(2000)}
            }),
        )
        .await;
    let body = problem(resp, StatusCode::BAD_REQUEST, "validation_failed").await;
    let mut fields = field_names(&body);
    fields.sort();
    assert_eq!(
        fields,
        [
            "attributes",
            "birthday",
            "email",
            "first_name",
            "locale",
            "phone",
            "preferred_channel",
            "tags",
            "time_zone"
        ]
    );
}

#[tokio::test]
async fn birthdays_accept_full_dates_and_month_day_only() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let a = app
        .customer(
            &key,
            json!({"email": "a@example.com", "birthday": "--02-29"}),
        )
        .await;
    assert_eq!(a["birthday"], "--02-29");
    let b = app
        .customer(
            &key,
            json!({"email": "b@example.com", "birthday": "2026-11-22"}),
        )
        .await;
    assert_eq!(b["birthday"], "2026-11-22");
    for bad in [
        "2026-11-23",
        "--13-01",
        "1990-02-30",
        "21/03/1990",
        "1899-12-31",
    ] {
        let resp = app
            .post(
                "/v1/customers",
                &key,
                json!({"email": "c@example.com", "birthday": bad}),
            )
            .await;
        let body = problem(resp, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert_eq!(field_names(&body), ["birthday"], "{bad}");
    }
}

#[tokio::test]
async fn duplicate_email_phone_or_external_id_returns_409_with_the_existing_id() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let first = app
        .customer(
            &key,
            json!({"external_id": "x1", "email": "a@example.com", "phone": "+15551234567"}),
        )
        .await;
    let id = first["id"].as_str().unwrap();
    for dup in [
        json!({"email": "A@example.com"}),
        json!({"phone": "+1 555 123 4567"}),
        json!({"external_id": "x1"}),
    ] {
        let body = problem(
            app.post("/v1/customers", &key, dup).await,
            StatusCode::CONFLICT,
            "customer_exists",
        )
        .await;
        assert_eq!(body["existing_id"], id);
    }
}

#[tokio::test]
async fn concurrent_creates_with_one_email_make_one_customer_and_409s_naming_it() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let attempts = (0..12).map(|i| {
        let app = &app;
        let key = &key;
        async move {
            app.post(
                "/v1/customers",
                key,
                json!({"email": "race@example.com", "external_id": format!("r{i}")}),
            )
            .await
        }
    });
    let responses = futures_join_all(attempts).await;
    let mut created = Vec::new();
    let mut conflicts = Vec::new();
    for resp in responses {
        match resp.status() {
            StatusCode::CREATED => created.push(ok(resp, StatusCode::CREATED).await),
            _ => conflicts.push(problem(resp, StatusCode::CONFLICT, "customer_exists").await),
        }
    }
    assert_eq!(created.len(), 1);
    assert_eq!(conflicts.len(), 11);
    assert!(
        conflicts
            .iter()
            .all(|c| c["existing_id"] == created[0]["id"])
    );
    let list = ok(
        app.get("/v1/customers?email=race@example.com", &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

/// Runs futures concurrently on the current task.
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = handles.iter().map(|_| None).collect();
    let mut handles: Vec<_> = handles.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, out) in handles.iter_mut().zip(outputs.iter_mut()) {
            if let Some(fut) = slot {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *out = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.unwrap()).collect()
}

#[tokio::test]
async fn an_unknown_customer_returns_404_not_found() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    problem(
        app.get("/v1/customers/nope", &key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        app.get("/v1/customers/by-external-id/nope", &key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        app.patch("/v1/customers/nope", &key, json!({"first_name": "x"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        app.post("/v1/customers/nope/tokens", &key, json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn patch_changes_given_fields_clears_nulls_and_replaces_tags() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let c = app.customer(&key, json!({"email": "a@example.com", "first_name": "Ali", "last_name": "Rezaei", "tags": ["a", "b"]})).await;
    let id = c["id"].as_str().unwrap();
    app.clock.advance(chrono::Duration::minutes(5));
    let body = ok(
        app.patch(&format!("/v1/customers/{id}"), &key, json!({"last_name": null, "phone": "+971501234567", "tags": ["c"], "consents": {"surveys": true}})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["first_name"], "Ali");
    assert!(body["last_name"].is_null());
    assert_eq!(body["phone"], "+971501234567");
    assert_eq!(body["tags"], json!(["c"]));
    assert_eq!(body["consents"]["surveys"], true);
    assert_eq!(body["consents"]["email_marketing"], false);
    assert_eq!(body["updated_at"], "2026-11-22T12:05:00Z");
    let fetched = ok(
        app.get(&format!("/v1/customers/{id}"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(fetched["tags"], json!(["c"]));
}

#[tokio::test]
async fn patch_cannot_remove_every_identifier_or_take_another_customers_email() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let a = app.customer(&key, json!({"email": "a@example.com"})).await;
    let b = app.customer(&key, json!({"email": "b@example.com"})).await;
    let a_id = a["id"].as_str().unwrap();
    let resp = app
        .patch(
            &format!("/v1/customers/{a_id}"),
            &key,
            json!({"email": null}),
        )
        .await;
    problem(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "customer_unidentifiable",
    )
    .await;
    let resp = app
        .patch(
            &format!("/v1/customers/{a_id}"),
            &key,
            json!({"email": "B@example.com"}),
        )
        .await;
    let body = problem(resp, StatusCode::CONFLICT, "customer_exists").await;
    assert_eq!(body["existing_id"], b["id"]);
    let resp = app
        .patch(
            &format!("/v1/customers/{a_id}"),
            &key,
            json!({"id": "other"}),
        )
        .await;
    problem(resp, StatusCode::BAD_REQUEST, "invalid_body").await;
}

#[tokio::test]
async fn search_filters_by_email_phone_tag_and_text() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    app.customer(
        &key,
        json!({"email": "maryam@example.com", "first_name": "Maryam", "tags": ["vip"]}),
    )
    .await;
    app.customer(
        &key,
        json!({"phone": "+442071234567", "first_name": "Oliver"}),
    )
    .await;
    app.customer(
        &key,
        json!({"external_id": "till-7", "first_name": "Omar", "tags": ["vip"]}),
    )
    .await;
    let names = |body: Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["first_name"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = ok(app.get("/v1/customers", &key).await, StatusCode::OK).await;
    assert_eq!(names(all), ["Omar", "Oliver", "Maryam"]);
    assert_eq!(
        names(
            ok(
                app.get("/v1/customers?email=MARYAM@example.com", &key)
                    .await,
                StatusCode::OK
            )
            .await
        ),
        ["Maryam"]
    );
    assert_eq!(
        names(
            ok(
                app.get("/v1/customers?phone=%2B44%20207%20123%204567", &key)
                    .await,
                StatusCode::OK
            )
            .await
        ),
        ["Oliver"]
    );
    assert_eq!(
        names(ok(app.get("/v1/customers?tag=vip", &key).await, StatusCode::OK).await),
        ["Omar", "Maryam"]
    );
    assert_eq!(
        names(ok(app.get("/v1/customers?q=OmA", &key).await, StatusCode::OK).await),
        ["Omar"]
    );
    assert_eq!(
        names(ok(app.get("/v1/customers?q=till", &key).await, StatusCode::OK).await),
        ["Omar"]
    );
    assert!(names(ok(app.get("/v1/customers?q=%25", &key).await, StatusCode::OK).await).is_empty());
}

#[tokio::test]
async fn the_customer_list_pages_newest_first_with_a_cursor() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        // Two customers share each timestamp, so the cursor must break ties by id.
        if i % 2 == 0 {
            app.clock.advance(chrono::Duration::seconds(1));
        }
        ids.push(
            app.customer(&key, json!({"external_id": format!("c{i}")}))
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut seen = Vec::new();
    let mut path = "/v1/customers?limit=2".to_owned();
    loop {
        let page = ok(app.get(&path, &key).await, StatusCode::OK).await;
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/customers?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids);
    problem(
        app.get("/v1/customers?cursor=garbage", &key).await,
        StatusCode::BAD_REQUEST,
        "invalid_cursor",
    )
    .await;
    problem(
        app.get("/v1/customers?limit=500", &key).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    problem(
        app.get("/v1/customers?limit=ten", &key).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
}

#[tokio::test]
async fn staff_roles_decide_who_reads_and_writes_customers() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let c = app.customer(&key, json!({"email": "a@example.com"})).await;
    let path = format!("/v1/customers/{}", c["id"].as_str().unwrap());
    for role in ["marketer", "analyst"] {
        let token = app.staff_token(role).await;
        ok(app.get(&path, &token).await, StatusCode::OK).await;
        problem(
            app.patch(&path, &token, json!({"first_name": "x"})).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    let support = app.staff_token("support").await;
    ok(
        app.patch(&path, &support, json!({"first_name": "x"})).await,
        StatusCode::OK,
    )
    .await;
    problem(
        app.post(&format!("{path}/tokens"), &support, json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn a_customer_token_cannot_reach_another_customer_or_staff_routes() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let a = app.customer(&key, json!({"email": "a@example.com"})).await;
    let b = app.customer(&key, json!({"email": "b@example.com"})).await;
    let token_a = app.customer_token(&key, a["id"].as_str().unwrap()).await;
    let b_id = b["id"].as_str().unwrap();
    let a_id = a["id"].as_str().unwrap();
    problem(
        app.get(&format!("/v1/customers/{b_id}"), &token_a).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    problem(
        app.get(&format!("/v1/customers/{a_id}"), &token_a).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    problem(
        app.patch(
            &format!("/v1/customers/{b_id}"),
            &token_a,
            json!({"first_name": "x"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    problem(
        app.get("/v1/customers", &token_a).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    problem(
        app.get("/v1/staff", &token_a).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    problem(
        app.post(
            "/v1/api-keys",
            &token_a,
            json!({"name": "x", "scopes": ["customers:read"]}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let me = ok(app.get("/v1/me", &token_a).await, StatusCode::OK).await;
    assert_eq!(me["id"], a["id"]);
}

#[tokio::test]
async fn a_customer_created_with_an_idempotency_key_is_created_once() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let send = || {
        app.client
            .post(app.url("/v1/customers"))
            .bearer_auth(&key)
            .header("Idempotency-Key", "signup-77")
            .json(&json!({"email": "once@example.com"}))
            .send()
    };
    let first = ok(send().await.unwrap(), StatusCode::CREATED).await;
    let resp = send().await.unwrap();
    assert_eq!(resp.headers()["idempotent-replayed"], "true");
    assert_eq!(ok(resp, StatusCode::CREATED).await, first);
}
