//! `/admin/customers`: search by name, email, phone or external id, and filter by tier, segment
//! and tag (`GET /v1/customers`).

use actix_web::http::StatusCode;
use actix_web::web;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{PAGE, localized, named, pager, rows};
use crate::admin::api::with_query;
use crate::admin::form::Errors;
use crate::admin::render::page_with_status;
use crate::admin::{Console, ConsoleResult, i18n};
use crate::auth::Permission;

/// The segments, as the API names them.
pub const SEGMENTS: &[&str] = &[
    "new",
    "champion",
    "loyal",
    "promising",
    "at_risk",
    "hibernating",
    "lost",
];

/// The search form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    q: String,
    email: String,
    phone: String,
    tier: String,
    segment: String,
    tag: String,
    cursor: String,
}

/// `GET /admin/customers`.
pub async fn list(cx: Console, query: web::Query<SearchQuery>) -> ConsoleResult {
    cx.require(Permission::CUSTOMERS_READ)?;
    let s = query.into_inner();
    let filters = [
        ("q", s.q.trim()),
        ("email", s.email.trim()),
        ("phone", s.phone.trim()),
        ("tier", s.tier.as_str()),
        ("segment", s.segment.as_str()),
        ("tag", s.tag.trim()),
    ];
    let mut asked = filters.to_vec();
    asked.extend([("limit", PAGE), ("cursor", s.cursor.as_str())]);
    let api = cx.api()?;
    let path = with_query("/v1/customers", &asked);
    let (tiers, found) = tokio::join!(api.get("/v1/tiers"), api.get(&path));
    let tiers: Vec<Value> = tiers?
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| json!({"value": t["id"], "label": localized(&t["name"], cx.lang)}))
        .collect();
    let segments: Vec<Value> = SEGMENTS
        .iter()
        .map(|s| json!({"value": s, "label": i18n::text(cx.lang, &format!("profile.segment.{s}"))}))
        .collect();
    let values: serde_json::Map<String, Value> = filters
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    let searched = filters.iter().any(|(_, v)| !v.is_empty());
    let (status, customers, pages, errors) = match found {
        Ok(page) => (
            StatusCode::OK,
            rows(&page, named),
            json!(pager(
                "/admin/customers",
                &filters,
                &s.cursor,
                &page["next_cursor"],
            )),
            Errors::default(),
        ),
        Err(e) => {
            let failure = e.into_form_failure()?;
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Vec::new(),
                json!({}),
                Errors::from_failure(&failure, |_| None),
            )
        }
    };
    page_with_status(
        &cx,
        status,
        "customers/list.html",
        json!({
            "customers": customers, "pages": pages, "values": values, "errors": errors.to_value(),
            "tiers": tiers, "segments": segments, "searched": searched,
        }),
    )
}
