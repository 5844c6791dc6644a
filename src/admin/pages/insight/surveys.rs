//! `/admin/surveys`: the list, a new survey, and a survey's form (`PATCH` on save). Roles that
//! may only read see the form without a way to send it.

use crate::admin::api::pager;
use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::{Map, Value, json};

use super::query;
use crate::admin::api::{seg, with_query};
use crate::admin::form::Errors;
use crate::admin::render::{page, page_with_status, redirect_with};
use crate::admin::{Console, ConsoleResult, Form};
use crate::auth::Permission;

const LOCALES: [&str; 3] = ["en", "fa", "ar"];
const NUMBERS: [&str; 4] = [
    "delay_hours",
    "reminder_after_hours",
    "max_reminders",
    "expires_after_days",
];

/// Registers the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/surveys", web::get().to(list))
        .route("/surveys", web::post().to(create))
        .route("/surveys/new", web::get().to(new))
        .route("/surveys/{id}", web::get().to(show))
        .route("/surveys/{id}", web::post().to(update));
}

/// `GET /admin/surveys`.
async fn list(cx: Console) -> ConsoleResult {
    cx.require(Permission::SURVEYS_READ)?;
    let q = query(&cx);
    let filters: Vec<(&str, &str)> = ["kind", "active"]
        .into_iter()
        .filter_map(|k| q.opt(k).map(|v| (k, v)))
        .collect();
    let mut with_cursor = filters.clone();
    if let Some(c) = q.opt("cursor") {
        with_cursor.push(("cursor", c));
    }
    let answer = cx
        .api()?
        .get(&with_query("/v1/surveys", &with_cursor))
        .await?;
    let next = pager("/admin/surveys", &filters, "", &answer["next_cursor"]).next;
    page(
        &cx,
        "insight/surveys.html",
        json!({
            "surveys": answer["data"],
            "values": q.values(),
            "first": q.opt("cursor").map(|_| with_query("/admin/surveys", &filters)),
            "next": next,
        }),
    )
}

fn defaults() -> Value {
    json!({"kind": "nps", "trigger": "manual", "delay_hours": "0", "reminder_after_hours": "72",
           "max_reminders": "1", "expires_after_days": "30", "active": true})
}

fn form_page(
    cx: &Console,
    status: StatusCode,
    survey: Value,
    values: Value,
    errors: &Errors,
) -> ConsoleResult {
    page_with_status(
        cx,
        status,
        "insight/survey_form.html",
        json!({"survey": survey, "values": values, "errors": errors.to_value()}),
    )
}

/// `GET /admin/surveys/new`.
async fn new(cx: Console) -> ConsoleResult {
    cx.require(Permission::SURVEYS_WRITE)?;
    form_page(
        &cx,
        StatusCode::OK,
        Value::Null,
        defaults(),
        &Errors::default(),
    )
}

/// The form's values of a survey as the API gives it.
fn values_of(s: &Value) -> Value {
    let mut v = Map::new();
    v.insert("name".into(), s["name"].clone());
    v.insert("kind".into(), s["kind"].clone());
    v.insert("trigger".into(), s["trigger"].clone());
    for l in LOCALES {
        v.insert(format!("question_{l}"), s["question"][l].clone());
        v.insert(format!("open_question_{l}"), s["open_question"][l].clone());
    }
    if let Some(scale) = s["ces_scale"].as_i64() {
        v.insert("ces_scale".into(), json!(scale.to_string()));
    }
    for n in NUMBERS {
        v.insert(n.into(), json!(s[n].as_i64().unwrap_or(0).to_string()));
    }
    v.insert(
        "active".into(),
        json!(s["active"].as_bool().unwrap_or(false)),
    );
    Value::Object(v)
}

/// `GET /admin/surveys/{id}`.
async fn show(cx: Console, id: web::Path<String>) -> ConsoleResult {
    cx.require(Permission::SURVEYS_READ)?;
    let survey = cx.api()?.get(&format!("/v1/surveys/{}", seg(&id))).await?;
    let values = values_of(&survey);
    form_page(&cx, StatusCode::OK, survey, values, &Errors::default())
}

/// The API's body for the form; whole numbers the form could not read are noted in `errors`.
fn body(form: &Form, errors: &mut Errors) -> Value {
    let texts = |prefix: &str| -> Map<String, Value> {
        LOCALES
            .iter()
            .filter_map(|l| {
                form.opt(&format!("{prefix}_{l}"))
                    .map(|t| ((*l).to_owned(), json!(t)))
            })
            .collect()
    };
    let mut body = json!({
        "name": form.get("name").trim(),
        "kind": form.get("kind"),
        "question": texts("question"),
        "open_question": texts("open_question"),
        "trigger": form.get("trigger"),
        "active": form.checked("active"),
    });
    // The scale belongs to CES surveys only; a scale left chosen for another kind is ignored.
    if form.get("kind") == "ces"
        && let Some(scale) = form.int("ces_scale", errors)
    {
        body["ces_scale"] = json!(scale);
    }
    for n in NUMBERS {
        if let Some(v) = form.int(n, errors) {
            body[n] = json!(v);
        }
    }
    body
}

/// The form's field for an API field (`question.fa` → `question_fa`).
fn field_of(api: &str) -> Option<String> {
    match api {
        "question" => Some("question_en".into()),
        "open_question" => Some("open_question_en".into()),
        other => Some(other.replace('.', "_")),
    }
}

/// `POST /admin/surveys`.
async fn create(cx: Console, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::SURVEYS_WRITE)?;
    let form = cx.form(payload).await?;
    let mut errors = Errors::default();
    let body = body(&form, &mut errors);
    if !errors.is_empty() {
        return form_page(
            &cx,
            StatusCode::UNPROCESSABLE_ENTITY,
            Value::Null,
            form.values(),
            &errors,
        );
    }
    match cx.api()?.post("/v1/surveys", &body).await {
        Ok(created) => {
            let id = created["id"].as_str().unwrap_or_default();
            redirect_with(&format!("/admin/surveys/{}", seg(id)), "created")
        }
        Err(e) => {
            let failure = e.into_form_failure()?;
            let errors = Errors::from_failure(&failure, field_of);
            form_page(
                &cx,
                StatusCode::UNPROCESSABLE_ENTITY,
                Value::Null,
                form.values(),
                &errors,
            )
        }
    }
}

/// `POST /admin/surveys/{id}`: changes the survey (`PATCH`).
async fn update(cx: Console, id: web::Path<String>, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::SURVEYS_WRITE)?;
    let form = cx.form(payload).await?;
    let api = cx.api()?;
    let path = format!("/v1/surveys/{}", seg(&id));
    let mut errors = Errors::default();
    let body = body(&form, &mut errors);
    let failed = |errors: Errors, survey: Value| {
        form_page(
            &cx,
            StatusCode::UNPROCESSABLE_ENTITY,
            survey,
            form.values(),
            &errors,
        )
    };
    if !errors.is_empty() {
        let survey = api.get(&path).await?;
        return failed(errors, survey);
    }
    match api.patch(&path, &body).await {
        Ok(_) => redirect_with(&format!("/admin/surveys/{}", seg(&id)), "saved"),
        Err(e) => {
            let failure = e.into_form_failure()?;
            let survey = api.get(&path).await?;
            failed(Errors::from_failure(&failure, field_of), survey)
        }
    }
}
