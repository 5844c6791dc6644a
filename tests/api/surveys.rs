//! Surveys (API.md section 7): CRUD for marketers, reads for support and analysts, validation
//! with every field named, and the kind and scale fixed once a survey has invitations.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};

/// A valid NPS survey body.
pub fn nps(name: &str, trigger: &str) -> Value {
    json!({"name": name, "kind": "nps", "trigger": trigger,
           "question": {"en": "How likely are you to recommend us to a friend?",
                        "fa": "چقدر احتمال دارد ما را به دوستانتان پیشنهاد کنید؟",
                        "ar": "ما مدى احتمال أن توصي بنا لصديق؟"},
           "open_question": {"en": "What is the main reason for your score?",
                             "fa": "دلیل اصلی امتیاز شما چیست؟"}})
}

/// Creates a survey as `token`; returns it.
pub async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    ok(
        app.post("/v1/surveys", token, body).await,
        StatusCode::CREATED,
    )
    .await
}

#[tokio::test]
async fn a_marketer_creates_a_survey_with_the_defaults_and_reads_it_back() {
    let app = TestApp::spawn().await;
    let marketer = app.staff_token("marketer").await;
    let s = create(&app, &marketer, nps("After purchase", "post_purchase")).await;
    assert_eq!(s["kind"], "nps");
    assert_eq!(s["scale"], json!({"min": 0, "max": 10}));
    assert!(s["ces_scale"].is_null());
    assert_eq!(s["trigger"], "post_purchase");
    assert_eq!(s["delay_hours"], 0);
    assert_eq!(s["reminder_after_hours"], 72);
    assert_eq!(s["max_reminders"], 1);
    assert_eq!(s["expires_after_days"], 30);
    assert_eq!(s["active"], true);
    assert_eq!(
        s["question"]["fa"],
        "چقدر احتمال دارد ما را به دوستانتان پیشنهاد کنید؟"
    );
    assert_eq!(
        s["open_question"]["en"],
        "What is the main reason for your score?"
    );
    let id = s["id"].as_str().unwrap();
    let got = ok(
        app.get(&format!("/v1/surveys/{id}"), &marketer).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(got, s);

    let ces = create(
        &app,
        &marketer,
        json!({"name": "Effort", "kind": "ces", "trigger": "manual",
               "question": {"en": "How easy was it?"}}),
    )
    .await;
    assert_eq!(ces["ces_scale"], 7);
    assert_eq!(ces["scale"], json!({"min": 1, "max": 7}));
    assert_eq!(ces["open_question"], json!({}));
    let csat = create(
        &app,
        &marketer,
        json!({"name": "Support", "kind": "csat", "trigger": "post_resolution",
               "question": {"ar": "ما مدى رضاك؟"}, "delay_hours": 2, "max_reminders": 0,
               "expires_after_days": 7, "reminder_after_hours": 24, "active": false}),
    )
    .await;
    assert_eq!(csat["scale"], json!({"min": 1, "max": 5}));
    assert_eq!(csat["active"], false);
    assert_eq!(csat["max_reminders"], 0);
}

#[tokio::test]
async fn surveys_list_newest_first_with_filters_and_pages() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let a = create(&app, &admin, nps("a", "post_purchase")).await;
    app.clock.advance(chrono::Duration::seconds(1));
    let mut body = nps("b", "manual");
    body["active"] = json!(false);
    let b = create(&app, &admin, body).await;
    app.clock.advance(chrono::Duration::seconds(1));
    let c = create(
        &app,
        &admin,
        json!({"name": "c", "kind": "csat", "trigger": "manual", "question": {"en": "?"}}),
    )
    .await;
    let names = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = ok(app.get("/v1/surveys", &admin).await, StatusCode::OK).await;
    assert_eq!(names(&all), ["c", "b", "a"]);
    let page = ok(app.get("/v1/surveys?limit=2", &admin).await, StatusCode::OK).await;
    assert_eq!(names(&page), ["c", "b"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = ok(
        app.get(&format!("/v1/surveys?limit=2&cursor={cursor}"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(names(&rest), ["a"]);
    assert!(rest["next_cursor"].is_null());
    let active = ok(
        app.get("/v1/surveys?active=true", &admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(names(&active), ["c", "a"]);
    let manual_nps = ok(
        app.get("/v1/surveys?kind=nps&trigger=manual", &admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(names(&manual_nps), ["b"]);
    let _ = (a, b, c);
    let bad = problem(
        app.get("/v1/surveys?kind=stars", &admin).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "kind");
}

#[tokio::test]
async fn invalid_survey_input_is_400_with_every_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let bad = problem(
        app.post(
            "/v1/surveys",
            &admin,
            json!({"name": "", "kind": "stars", "trigger": "sometimes", "question": {},
                   "open_question": {"de": "Warum?"}, "ces_scale": 6, "delay_hours": 9000,
                   "reminder_after_hours": 0, "max_reminders": 2, "expires_after_days": 366}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let mut fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "ces_scale",
            "delay_hours",
            "expires_after_days",
            "kind",
            "max_reminders",
            "name",
            "open_question.de",
            "question",
            "reminder_after_hours",
            "trigger"
        ]
    );
    // A CES scale on another kind, a question too long, a blank one.
    let mut body = nps("x", "manual");
    body["ces_scale"] = json!(5);
    body["question"] = json!({"en": "q".repeat(501), "fa": "  "});
    let bad = problem(
        app.post("/v1/surveys", &admin, body).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["ces_scale", "question.en", "question.fa"]);
    // Unknown fields and control characters are refused before anything else.
    let mut body = nps("x", "manual");
    body["colour"] = json!("blue");
    problem(
        app.post("/v1/surveys", &admin, body).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    problem(
        app.post("/v1/surveys", &admin, nps("nul\u{0}", "manual"))
            .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    problem(
        app.get("/v1/surveys/no-such-survey", &admin).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn patch_changes_only_the_fields_given() {
    let app = TestApp::spawn().await;
    let marketer = app.staff_token("marketer").await;
    let s = create(&app, &marketer, nps("Before", "manual")).await;
    let id = s["id"].as_str().unwrap();
    let path = format!("/v1/surveys/{id}");
    let changed = ok(
        app.patch(&path, &marketer, json!({"name": "After", "active": false}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["name"], "After");
    assert_eq!(changed["active"], false);
    assert_eq!(changed["question"], s["question"]);
    assert_eq!(changed["trigger"], "manual");
    // Until it has invitations, the kind and the scale may change.
    let ces = ok(
        app.patch(&path, &marketer, json!({"kind": "ces", "ces_scale": 5}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(ces["scale"], json!({"min": 1, "max": 5}));
    assert_eq!(ces["ces_scale"], 5);
    let csat = ok(
        app.patch(&path, &marketer, json!({"kind": "csat"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(csat["scale"], json!({"min": 1, "max": 5}));
    assert!(csat["ces_scale"].is_null());
    let bad = problem(
        app.patch(&path, &marketer, json!({"ces_scale": 7})).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "ces_scale");
    problem(
        app.patch("/v1/surveys/nope", &marketer, json!({"name": "x"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn the_kind_and_scale_of_a_survey_with_invitations_cannot_change() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let s = create(&app, &admin, nps("Campaign", "manual")).await;
    let id = s["id"].as_str().unwrap();
    let key = app.backend_key().await;
    let customer = app.customer_id(&key, "a@example.com").await;
    ok(
        app.post(
            &format!("/v1/surveys/{id}/invitations"),
            &admin,
            json!({"customer_ids": [customer], "campaign": "spring"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let path = format!("/v1/surveys/{id}");
    problem(
        app.patch(&path, &admin, json!({"kind": "csat"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "survey_in_use",
    )
    .await;
    // The same kind again, and the other fields, still change.
    let same = ok(
        app.patch(&path, &admin, json!({"kind": "nps", "name": "Renamed"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(same["name"], "Renamed");
    assert_eq!(same["kind"], "nps");
}

#[tokio::test]
async fn survey_routes_need_the_right_role() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let s = create(&app, &admin, nps("Read me", "manual")).await;
    let path = format!("/v1/surveys/{}", s["id"].as_str().unwrap());
    for role in ["analyst", "support", "marketer"] {
        let token = app.staff_token(role).await;
        ok(app.get("/v1/surveys", &token).await, StatusCode::OK).await;
        ok(app.get(&path, &token).await, StatusCode::OK).await;
        if role != "marketer" {
            problem(
                app.post("/v1/surveys", &token, nps("x", "manual")).await,
                StatusCode::FORBIDDEN,
                "forbidden",
            )
            .await;
            problem(
                app.patch(&path, &token, json!({"name": "x"})).await,
                StatusCode::FORBIDDEN,
                "forbidden",
            )
            .await;
            problem(
                app.post(
                    &format!("{path}/invitations"),
                    &token,
                    json!({"customer_ids": ["x"], "campaign": "c"}),
                )
                .await,
                StatusCode::FORBIDDEN,
                "forbidden",
            )
            .await;
        }
    }
    // An analyst learns nothing about the body: the role is checked first.
    let analyst = app.staff_token("analyst").await;
    problem(
        app.post("/v1/surveys", &analyst, json!({"nonsense": true}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let key = app.api_key(&["feedback:write", "customers:read"]).await;
    problem(
        app.get("/v1/surveys", &key).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // Nor about the query string.
    problem(
        app.get("/v1/surveys?limit=x&colour=red", &key).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    problem(
        app.request(Method::GET, "/v1/surveys", None, None).await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    )
    .await;
    let customer = app
        .customer_id(&app.backend_key().await, "c@example.com")
        .await;
    let token = app
        .customer_token(&app.backend_key().await, &customer)
        .await;
    problem(
        app.get("/v1/surveys", &token).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}
