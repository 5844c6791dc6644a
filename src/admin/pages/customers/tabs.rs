//! The tabs of the 360 view: timeline, points history, purchases, codes, tickets and feedback,
//! each a page of its own list.

use std::collections::HashMap;

use actix_web::web;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{PAGE, PageQuery, customer, localized, pager, part, rows};
use crate::admin::api::{Api, seg, with_query};
use crate::admin::render::page;
use crate::admin::{Console, ConsoleError, ConsoleResult, i18n};
use crate::auth::Permission;
use crate::rewards::display_code;

/// The timeline filter.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TimelineQuery {
    #[serde(rename = "type")]
    kind: String,
    cursor: String,
}

/// The kinds of timeline entries, as the API names them.
const KINDS: &[&str] = &[
    "created",
    "purchase",
    "return",
    "points",
    "redemption",
    "code_used",
    "code_cancelled",
    "tier_change",
    "event",
    "ticket_opened",
    "ticket_resolved",
    "message_sent",
    "message_failed",
    "message_suppressed",
    "feedback",
    "merge",
    "erasure",
];

/// A page of the customer's timeline.
async fn timeline_page(
    api: &Api,
    id: &str,
    kind: &str,
    limit: &str,
    cursor: &str,
) -> Result<Value, ConsoleError> {
    let path = format!("/v1/customers/{}/timeline", seg(id));
    api.get(&with_query(
        &path,
        &[("type", kind), ("limit", limit), ("cursor", cursor)],
    ))
    .await
}

/// `GET /admin/customers/{id}/timeline`.
pub async fn timeline(
    cx: Console,
    id: web::Path<String>,
    query: web::Query<TimelineQuery>,
) -> ConsoleResult {
    cx.require(Permission::CUSTOMERS_READ)?;
    let api = cx.api()?;
    // Only a known kind is passed on, so the filter cannot fail.
    let kind = if KINDS.contains(&query.kind.as_str()) {
        query.kind.as_str()
    } else {
        ""
    };
    let (c, entries) = tokio::join!(
        customer(&api, &id),
        timeline_page(&api, &id, kind, PAGE, &query.cursor)
    );
    let entries = entries?;
    let kinds: Vec<Value> = KINDS
        .iter()
        .map(|k| json!({"value": k, "label": i18n::text(cx.lang, &format!("profile.kind.{k}"))}))
        .collect();
    let base = format!("/admin/customers/{}/timeline", part(&id));
    page(
        &cx,
        "customers/timeline.html",
        json!({
            "tab": "timeline", "id": *id, "c": c?, "entries": entries["data"], "kinds": kinds,
            "values": {"type": kind},
            "pages": pager(&base, &[("type", kind)], &query.cursor, &entries["next_cursor"]),
        }),
    )
}

/// `GET /admin/customers/{id}/points`: the balance and the ledger, newest first.
pub async fn points(
    cx: Console,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> ConsoleResult {
    cx.require(Permission::POINTS_READ)?;
    let api = cx.api()?;
    let path = format!("/v1/customers/{}/points", seg(&id));
    let history = with_query(
        &format!("{path}/history"),
        &[("limit", PAGE), ("cursor", &query.cursor)],
    );
    let (c, balance, entries) =
        tokio::join!(customer(&api, &id), api.get(&path), api.get(&history));
    let entries = entries?;
    let base = format!("/admin/customers/{}/points", part(&id));
    page(
        &cx,
        "customers/points.html",
        json!({
            "tab": "points", "id": *id, "c": c?, "balance": balance?, "entries": entries["data"],
            "pages": pager(&base, &[], &query.cursor, &entries["next_cursor"]),
        }),
    )
}

/// `GET /admin/customers/{id}/purchases`.
pub async fn purchases(
    cx: Console,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> ConsoleResult {
    cx.require(Permission::POINTS_READ)?;
    let api = cx.api()?;
    let path = with_query(
        &format!("/v1/customers/{}/purchases", seg(&id)),
        &[("limit", PAGE), ("cursor", &query.cursor)],
    );
    let (c, list) = tokio::join!(customer(&api, &id), api.get(&path));
    let list = list?;
    let base = format!("/admin/customers/{}/purchases", part(&id));
    page(
        &cx,
        "customers/purchases.html",
        json!({
            "tab": "purchases", "id": *id, "c": c?, "purchases": list["data"],
            "pages": pager(&base, &[], &query.cursor, &list["next_cursor"]),
        }),
    )
}

/// The codes of redemption entries, with what became of each: the code itself for those who may
/// validate codes, else what the timeline's latest uses and cancellations say.
async fn code_rows(
    cx: &Console,
    api: &Api,
    id: &str,
    entries: &Value,
) -> Result<Vec<Value>, ConsoleError> {
    let mut codes: Vec<Value> = rows(entries, |e| {
        let raw = e["ref"]["id"].as_str().unwrap_or_default().to_owned();
        json!({"code": display_code(&raw), "raw": raw, "at": e["at"], "summary": e["summary"],
               "channel": e["channel"]})
    });
    if cx.can(Permission::CODES_USE) {
        let mut lookups = tokio::task::JoinSet::new();
        for (i, row) in codes.iter().enumerate() {
            let (api, path) = (
                api.clone(),
                format!("/v1/codes/{}", seg(row["raw"].as_str().unwrap_or_default())),
            );
            lookups.spawn(async move { (i, api.get(&path).await) });
        }
        let rewards = api.get("/v1/rewards?limit=200").await?;
        let names: HashMap<String, String> = rows(&rewards, |r| r)
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap_or_default().to_owned(),
                    localized(&r["name"], cx.lang),
                )
            })
            .collect();
        while let Some(done) = lookups.join_next().await {
            let (i, found) = done.map_err(ConsoleError::internal)?;
            // A code that cannot be read now leaves its row without details, not the tab broken.
            let Ok(code) = found else {
                continue;
            };
            let reward = names
                .get(code["reward_id"].as_str().unwrap_or_default())
                .cloned();
            codes[i]["detail"] = code;
            codes[i]["reward"] = json!(reward);
        }
    } else {
        let later = timeline_page(api, id, "code_used,code_cancelled", "200", "").await?;
        for event in rows(&later, |e| e) {
            let status = match event["type"].as_str() {
                Some("code_used") => "used",
                _ => "cancelled",
            };
            for row in codes.iter_mut().filter(|r| r["raw"] == event["ref"]["id"]) {
                if row["status"].is_null() {
                    row["status"] = json!(status);
                }
            }
        }
    }
    Ok(codes)
}

/// `GET /admin/customers/{id}/codes`: the codes redeemed for the customer (from the timeline's
/// redemptions: the API has no list of a customer's codes for staff).
pub async fn codes(
    cx: Console,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> ConsoleResult {
    cx.require(Permission::CUSTOMERS_READ)?;
    let api = cx.api()?;
    let (c, entries) = tokio::join!(
        customer(&api, &id),
        timeline_page(&api, &id, "redemption", PAGE, &query.cursor)
    );
    let entries = entries?;
    let codes = code_rows(&cx, &api, &id, &entries).await?;
    let base = format!("/admin/customers/{}/codes", part(&id));
    page(
        &cx,
        "customers/codes.html",
        json!({
            "tab": "codes", "id": *id, "c": c?, "codes": codes,
            "pages": pager(&base, &[], &query.cursor, &entries["next_cursor"]),
        }),
    )
}

/// `GET /admin/customers/{id}/tickets`.
pub async fn tickets(
    cx: Console,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> ConsoleResult {
    cx.require(Permission::TICKETS_READ)?;
    let api = cx.api()?;
    let path = with_query(
        "/v1/tickets",
        &[
            ("customer_id", id.as_str()),
            ("limit", PAGE),
            ("cursor", &query.cursor),
        ],
    );
    let (c, list) = tokio::join!(customer(&api, &id), api.get(&path));
    let list = list?;
    let base = format!("/admin/customers/{}/tickets", part(&id));
    page(
        &cx,
        "customers/tickets.html",
        json!({
            "tab": "tickets", "id": *id, "c": c?, "tickets": list["data"],
            "pages": pager(&base, &[], &query.cursor, &list["next_cursor"]),
        }),
    )
}

/// `GET /admin/customers/{id}/feedback`: the customer's answers (from the timeline: the API lists
/// no responses per customer) and their recovery cases.
pub async fn feedback(
    cx: Console,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> ConsoleResult {
    cx.require(Permission::CUSTOMERS_READ)?;
    let api = cx.api()?;
    let recovery = cx.can(Permission::RECOVERY_READ);
    let cases_path = with_query(
        "/v1/recovery-cases",
        &[("customer_id", id.as_str()), ("limit", PAGE)],
    );
    let (c, answers, cases) = tokio::join!(
        customer(&api, &id),
        timeline_page(&api, &id, "feedback", PAGE, &query.cursor),
        async {
            if recovery {
                api.get(&cases_path).await
            } else {
                Ok(Value::Null)
            }
        }
    );
    let (answers, cases) = (answers?, cases?);
    let base = format!("/admin/customers/{}/feedback", part(&id));
    page(
        &cx,
        "customers/feedback.html",
        json!({
            "tab": "feedback", "id": *id, "c": c?, "answers": answers["data"],
            "cases": cases["data"], "more_cases": !cases["next_cursor"].is_null(),
            "pages": pager(&base, &[], &query.cursor, &answers["next_cursor"]),
        }),
    )
}
