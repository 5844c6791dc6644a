//! `/admin/tickets`: support tickets by status and customer; one ticket, resolved with a note or
//! reopened (`/v1/tickets`).

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
pub struct TicketFilter {
    status: String,
    customer_id: String,
    cursor: String,
}

/// Ticket statuses, as the API names them.
const STATUSES: &[&str] = &["open", "resolved"];

/// `GET /admin/tickets`.
pub async fn list(cx: Console, query: web::Query<TicketFilter>) -> ConsoleResult {
    cx.require(Permission::TICKETS_READ)?;
    let f = query.into_inner();
    let status = if STATUSES.contains(&f.status.as_str()) {
        f.status.as_str()
    } else {
        ""
    };
    let filters = [("status", status), ("customer_id", f.customer_id.trim())];
    let mut asked = filters.to_vec();
    asked.extend([("limit", PAGE), ("cursor", f.cursor.as_str())]);
    let found = cx.api()?.get(&with_query("/v1/tickets", &asked)).await;
    let (code, tickets, pages, errors) = match found {
        Ok(list) => (
            StatusCode::OK,
            list["data"].clone(),
            json!(pager(
                "/admin/tickets",
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
    let statuses: Vec<Value> = STATUSES
        .iter()
        .map(|s| json!({"value": s, "label": i18n::text(cx.lang, &format!("tickets.status.{s}"))}))
        .collect();
    page_with_status(
        &cx,
        code,
        "customers/ticket_list.html",
        json!({
            "tickets": tickets, "pages": pages, "statuses": statuses, "errors": errors.to_value(),
            "values": {"status": status, "customer_id": f.customer_id.trim()},
        }),
    )
}

/// One ticket, with the resolution form as given.
async fn ticket_page(
    cx: &Console,
    id: &str,
    status: StatusCode,
    values: Value,
    errors: Errors,
) -> ConsoleResult {
    let api = cx.api()?;
    let ticket = api.get(&format!("/v1/tickets/{}", seg(id))).await?;
    let owner = ticket["customer_id"].as_str().unwrap_or_default();
    let c = super::customer(&api, owner).await?;
    page_with_status(
        cx,
        status,
        "customers/ticket.html",
        json!({"ticket": ticket, "c": c, "values": values, "errors": errors.to_value()}),
    )
}

/// `GET /admin/tickets/{id}`.
pub async fn show(cx: Console, id: web::Path<String>) -> ConsoleResult {
    cx.require(Permission::TICKETS_READ)?;
    ticket_page(&cx, &id, StatusCode::OK, json!({}), Errors::default()).await
}

/// `POST /admin/tickets/{id}/resolve`: `{resolution_note?}`; the ticket's agent stays the one
/// the helpdesk named (the audit log records the staff member).
pub async fn resolve(cx: Console, id: web::Path<String>, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::TICKETS_WRITE)?;
    let form = cx.form(payload).await?;
    let body = match form.opt("resolution_note") {
        Some(note) => json!({ "resolution_note": note }),
        None => json!({}),
    };
    let path = format!("/v1/tickets/{}/resolve", seg(&id));
    match cx.api()?.post(&path, &body).await {
        Ok(_) => redirect_with(&format!("/admin/tickets/{}", part(&id)), "ticket_resolved"),
        Err(e) => {
            let failure = e.into_form_failure()?;
            let errors = Errors::from_failure(&failure, |_| None);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            ticket_page(&cx, &id, status, form.values(), errors).await
        }
    }
}

/// `POST /admin/tickets/{id}/reopen`.
pub async fn reopen(cx: Console, id: web::Path<String>, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::TICKETS_WRITE)?;
    cx.form(payload).await?;
    let path = format!("/v1/tickets/{}/reopen", seg(&id));
    cx.api()?.post(&path, &json!({})).await?;
    redirect_with(&format!("/admin/tickets/{}", part(&id)), "ticket_reopened")
}
