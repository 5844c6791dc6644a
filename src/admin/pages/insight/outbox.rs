//! `/admin/outbox`: messages with their status, attempts, last error and times, filtered by
//! customer, kind and status, a page at a time; and one message with every attempt.

use crate::admin::api::pager;
use actix_web::web;
use serde_json::json;

use super::query;
use crate::admin::api::{seg, with_query};
use crate::admin::render::page;
use crate::admin::{Console, ConsoleResult};
use crate::auth::Permission;
use crate::messages::{Kind, Status};

/// Registers the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/outbox", web::get().to(list))
        .route("/outbox/{id}", web::get().to(show));
}

/// `GET /admin/outbox`.
async fn list(cx: Console) -> ConsoleResult {
    cx.require(Permission::MESSAGES_READ)?;
    let q = query(&cx);
    let filters: Vec<(&str, &str)> = ["customer_id", "kind", "status"]
        .into_iter()
        .filter_map(|k| q.opt(k).map(|v| (k, v)))
        .collect();
    let mut asked = filters.clone();
    if let Some(c) = q.opt("cursor") {
        asked.push(("cursor", c));
    }
    let answer = cx.api()?.get(&with_query("/v1/messages", &asked)).await?;
    let next = pager("/admin/outbox", &filters, "", &answer["next_cursor"]).next;
    let kinds: Vec<_> = Kind::ALL
        .iter()
        .map(|k| json!({"value": k.as_str(), "key": format!("templates.kind.{}", k.as_str())}))
        .collect();
    let statuses: Vec<_> = Status::ALL.iter().map(|s| s.as_str()).collect();
    page(
        &cx,
        "insight/outbox.html",
        json!({
            "messages": answer["data"],
            "values": q.values(),
            "kinds": kinds,
            "statuses": statuses,
            "first": q.opt("cursor").map(|_| with_query("/admin/outbox", &filters)),
            "next": next,
        }),
    )
}

/// `GET /admin/outbox/{id}`.
async fn show(cx: Console, id: web::Path<String>) -> ConsoleResult {
    cx.require(Permission::MESSAGES_READ)?;
    let message = cx.api()?.get(&format!("/v1/messages/{}", seg(&id))).await?;
    page(&cx, "insight/message.html", json!({"message": message}))
}
