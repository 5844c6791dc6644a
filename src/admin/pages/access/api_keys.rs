//! API keys (admin only): the list, a new key shown once, and revoking.

use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::{Value, json};

use super::{ListQuery, find_in, list_page};
use crate::admin::api::pager;
use crate::admin::api::seg;
use crate::admin::form::{self, Errors};
use crate::admin::session;
use crate::admin::{Console, ConsoleError, ConsoleResult, i18n, render};
use crate::auth::{Permission, Scope};
use crate::db;

/// `GET /admin/api-keys`.
pub async fn list(cx: Console, query: web::Query<ListQuery>) -> ConsoleResult {
    cx.require(Permission::ADMIN)?;
    let (keys, next) = list_page(&cx.api()?, "/v1/api-keys", &query.cursor).await?;
    let pages = pager("/admin/api-keys", &[], &query.cursor, &next);
    let (first_href, next_href) = (pages.first, pages.next);
    render::page(
        &cx,
        "access/api_keys.html",
        json!({"keys": keys, "first_href": first_href, "next_href": next_href}),
    )
}

fn scopes() -> Value {
    Value::Array(
        Scope::ALL
            .iter()
            .map(|s| json!({"value": s.as_str(), "id": s.as_str().replace(':', "-")}))
            .collect(),
    )
}

fn new_page(cx: &Console, status: StatusCode, values: Value, errors: Errors) -> ConsoleResult {
    render::page_with_status(
        cx,
        status,
        "access/api_key_new.html",
        json!({"values": values, "errors": errors.to_value(), "scopes": scopes(),
               "form_key": form::fresh_key()}),
    )
}

/// `GET /admin/api-keys/new`.
pub async fn new(cx: Console) -> ConsoleResult {
    cx.require(Permission::ADMIN)?;
    new_page(
        &cx,
        StatusCode::OK,
        json!({"scopes": []}),
        Errors::default(),
    )
}

/// `POST /admin/api-keys`: `POST /v1/api-keys`. The new key is in this answer only: it is never
/// stored by the console nor put in a URL, so the page cannot be opened again.
pub async fn create(cx: Console, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::ADMIN)?;
    let form = cx.form(payload).await?;
    // The key is shown in this answer only, so the API cannot replay it; instead the form's
    // one-time key makes a reload or a second click create nothing more.
    let form_key = form
        .opt("_key")
        .ok_or_else(|| ConsoleError::BadForm("the form has no one-time key".into()))?
        .to_owned();
    let session_id = cx.session_id.clone();
    let first = db::run(&cx.state.pool, move |c| {
        session::use_form_key(c, &session_id, &form_key)
    })
    .await
    .map_err(|e| ConsoleError::internal(e.code()))?;
    if !first {
        return render::redirect_with("/admin/api-keys", "api_key_sent_twice");
    }
    let mut body = json!({"name": form.get("name").trim(), "scopes": form.all("scopes")});
    if let Some(store) = form.opt("store_id") {
        body["store_id"] = json!(store);
    }
    match cx.api()?.post("/v1/api-keys", &body).await {
        Ok(created) => render::page_with_status(
            &cx,
            StatusCode::CREATED,
            "access/api_key_created.html",
            json!({"key": created}),
        ),
        Err(e) => {
            let failure = e.into_form_failure()?;
            let mut errors = Errors::default();
            for (field, text) in [
                ("name", "api_keys.name_invalid"),
                ("scopes", "api_keys.scopes_invalid"),
                ("store_id", "api_keys.store_invalid"),
            ] {
                if failure.field(field).is_some() {
                    errors.add(field, i18n::text(cx.lang, text));
                }
            }
            if errors.is_empty() {
                errors = Errors::from_failure(&failure, |_| None);
            }
            let values = json!({"name": form.get("name"), "store_id": form.get("store_id"),
                                "scopes": form.all("scopes")});
            new_page(&cx, StatusCode::UNPROCESSABLE_ENTITY, values, errors)
        }
    }
}

/// `GET /admin/api-keys/{id}/revoke`: asks first.
pub async fn confirm_revoke(cx: Console, id: web::Path<String>) -> ConsoleResult {
    cx.require(Permission::ADMIN)?;
    let key = find_in(&cx.api()?, "/v1/api-keys", &id).await?;
    let name = key["name"].as_str().unwrap_or_default();
    let prefix = key["prefix"].as_str().unwrap_or_default();
    render::confirm(
        &cx,
        &i18n::text(cx.lang, "api_keys.revoke_title"),
        &i18n::text(cx.lang, "api_keys.revoke_message")
            .replace("{name}", name)
            .replace("{prefix}", prefix),
        &i18n::text(cx.lang, "api_keys.revoke"),
        &format!("/admin/api-keys/{}/revoke", seg(&id)),
        json!({}),
        "/admin/api-keys",
    )
}

/// `POST /admin/api-keys/{id}/revoke`: `DELETE /v1/api-keys/{id}`.
pub async fn revoke(cx: Console, id: web::Path<String>, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::ADMIN)?;
    cx.form(payload).await?;
    cx.api()?
        .delete(&format!("/v1/api-keys/{}", seg(&id)))
        .await?;
    render::redirect_with("/admin/api-keys", "api_key_revoked")
}
