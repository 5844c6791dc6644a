//! `/admin/recovery`: the bad answers being followed up (`/v1/recovery-cases`), by status, kind
//! and customer; one case, resolved with a note.

use actix_web::http::StatusCode;
use actix_web::web;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{PAGE, pager, part};
use crate::admin::api::{seg, with_query};
use crate::admin::form::Errors;
use crate::admin::render::{page_with_status, redirect_with};
use crate::admin::{Console, ConsoleResult, i18n};
use crate::auth::Permission;

/// The list's filters.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CaseFilter {
    status: String,
    kind: String,
    customer_id: String,
    cursor: String,
}

/// Case statuses and answer kinds, as the API names them.
const STATUSES: &[&str] = &["open", "resolved"];
const KINDS: &[&str] = &["nps", "csat", "ces"];

fn options(cx: &Console, prefix: &str, values: &[&str]) -> Vec<Value> {
    values
        .iter()
        .map(|v| json!({"value": v, "label": i18n::text(cx.lang, &format!("{prefix}.{v}"))}))
        .collect()
}

/// A known value, else none.
fn known<'a>(value: &'a str, values: &[&str]) -> &'a str {
    if values.contains(&value) { value } else { "" }
}

/// `GET /admin/recovery`.
pub async fn list(cx: Console, query: web::Query<CaseFilter>) -> ConsoleResult {
    cx.require(Permission::RECOVERY_READ)?;
    let f = query.into_inner();
    let filters = [
        ("status", known(&f.status, STATUSES)),
        ("kind", known(&f.kind, KINDS)),
        ("customer_id", f.customer_id.trim()),
    ];
    let mut asked = filters.to_vec();
    asked.extend([("limit", PAGE), ("cursor", f.cursor.as_str())]);
    let found = cx
        .api()?
        .get(&with_query("/v1/recovery-cases", &asked))
        .await;
    let (code, cases, pages, errors) = match found {
        Ok(list) => (
            StatusCode::OK,
            list["data"].clone(),
            json!(pager(
                "/admin/recovery",
                &filters,
                &f.cursor,
                &list["next_cursor"]
            )),
            Errors::default(),
        ),
        Err(e) => {
            let failure = e.into_form_failure()?;
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!([]),
                json!({}),
                Errors::from_failure(&failure, |_| None),
            )
        }
    };
    let values: serde_json::Map<String, Value> = filters
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    page_with_status(
        &cx,
        code,
        "customers/recovery_list.html",
        json!({
            "cases": cases, "pages": pages, "values": values, "errors": errors.to_value(),
            "statuses": options(&cx, "recovery.status", STATUSES),
            "kinds": options(&cx, "recovery.kind", KINDS),
        }),
    )
}

/// One case, with the resolution form as given.
async fn case_page(
    cx: &Console,
    id: &str,
    status: StatusCode,
    values: Value,
    errors: Errors,
) -> ConsoleResult {
    let api = cx.api()?;
    let case = api.get(&format!("/v1/recovery-cases/{}", seg(id))).await?;
    let c = match case["customer_id"].as_str() {
        Some(owner) => super::customer(&api, owner).await?,
        None => Value::Null,
    };
    page_with_status(
        cx,
        status,
        "customers/recovery_case.html",
        json!({"case": case, "c": c, "values": values, "errors": errors.to_value()}),
    )
}

/// `GET /admin/recovery/{id}`.
pub async fn show(cx: Console, id: web::Path<String>) -> ConsoleResult {
    cx.require(Permission::RECOVERY_READ)?;
    case_page(&cx, &id, StatusCode::OK, json!({}), Errors::default()).await
}

/// `POST /admin/recovery/{id}/resolve`: `{note?}`.
pub async fn resolve(cx: Console, id: web::Path<String>, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::RECOVERY_WRITE)?;
    let form = cx.form(payload).await?;
    let body = match form.opt("note") {
        Some(note) => json!({ "note": note }),
        None => json!({}),
    };
    let path = format!("/v1/recovery-cases/{}/resolve", seg(&id));
    match cx.api()?.post(&path, &body).await {
        Ok(_) => redirect_with(&format!("/admin/recovery/{}", part(&id)), "case_resolved"),
        Err(e) => {
            let failure = e.into_form_failure()?;
            let errors = Errors::from_failure(&failure, |_| None);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            case_page(&cx, &id, status, form.values(), errors).await
        }
    }
}
