//! Staff members (admin only): the list, a new member, role changes and (de)activation.

use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::{Value, json};

use super::{ListQuery, find_in, list_page, role_options};
use crate::admin::api::pager;
use crate::admin::api::seg;
use crate::admin::form::Errors;
use crate::admin::{Console, ConsoleError, ConsoleResult, Form, i18n, render};
use crate::auth::Permission;

/// `GET /admin/staff`.
pub async fn list(cx: Console, query: web::Query<ListQuery>) -> ConsoleResult {
    cx.require(Permission::ADMIN)?;
    list_with(&cx, &query.cursor, StatusCode::OK, None).await
}

/// The list, with a refusal of the API shown above it.
async fn list_with(
    cx: &Console,
    cursor: &str,
    status: StatusCode,
    problem: Option<String>,
) -> ConsoleResult {
    let (members, next) = list_page(&cx.api()?, "/v1/staff", cursor).await?;
    let pages = pager("/admin/staff", &[], cursor, &next);
    let (first_href, next_href) = (pages.first, pages.next);
    render::page_with_status(
        cx,
        status,
        "access/staff.html",
        json!({"members": members, "roles": role_options(cx), "problem": problem,
               "first_href": first_href, "next_href": next_href}),
    )
}

/// `GET /admin/staff/new`.
pub async fn new(cx: Console) -> ConsoleResult {
    cx.require(Permission::ADMIN)?;
    new_page(
        &cx,
        StatusCode::OK,
        json!({"role": "support"}),
        Errors::default(),
    )
}

fn new_page(cx: &Console, status: StatusCode, values: Value, errors: Errors) -> ConsoleResult {
    render::page_with_status(
        cx,
        status,
        "access/staff_new.html",
        json!({"values": values, "errors": errors.to_value(), "roles": role_options(cx),
               "min_chars": crate::staff::routes::MIN_PASSWORD_CHARS}),
    )
}

/// `POST /admin/staff`: `POST /v1/staff`.
pub async fn create(cx: Console, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::ADMIN)?;
    let form = cx.form(payload).await?;
    let body = json!({"email": form.get("email"), "password": form.get("password"),
                      "role": form.get("role")});
    match cx.api()?.post("/v1/staff", &body).await {
        Ok(_) => render::redirect_with("/admin/staff", "staff_created"),
        Err(e) => {
            let failure = e.into_form_failure()?;
            let mut errors = Errors::default();
            if failure.code == "staff_exists" {
                errors.add("email", i18n::text(cx.lang, "staff.exists"));
            }
            if failure.field("email").is_some() {
                errors.add("email", i18n::text(cx.lang, "staff.email_invalid"));
            }
            if failure.field("password").is_some() {
                let rule = i18n::text(cx.lang, "account.new_invalid").replace(
                    "{n}",
                    &cx.lang
                        .number(crate::staff::routes::MIN_PASSWORD_CHARS as i64),
                );
                errors.add("password", rule);
            }
            if errors.is_empty() {
                errors = Errors::from_failure(&failure, |_| None);
            }
            // The password is never sent back to the browser.
            let values = json!({"email": form.get("email"), "role": form.get("role")});
            new_page(&cx, StatusCode::UNPROCESSABLE_ENTITY, values, errors)
        }
    }
}

/// `POST /admin/staff/{id}/role`: `PATCH /v1/staff/{id} {role}`.
pub async fn change_role(
    cx: Console,
    id: web::Path<String>,
    payload: web::Payload,
) -> ConsoleResult {
    cx.require(Permission::ADMIN)?;
    let form = cx.form(payload).await?;
    update(&cx, &id, json!({"role": form.get("role")})).await
}

/// `GET /admin/staff/{id}/deactivate`: asks first.
pub async fn confirm_deactivate(cx: Console, id: web::Path<String>) -> ConsoleResult {
    cx.require(Permission::ADMIN)?;
    let member = find_in(&cx.api()?, "/v1/staff", &id).await?;
    let email = member["email"].as_str().unwrap_or_default();
    render::confirm(
        &cx,
        &i18n::text(cx.lang, "staff.deactivate_title"),
        &i18n::text(cx.lang, "staff.deactivate_message").replace("{email}", email),
        &i18n::text(cx.lang, "staff.deactivate"),
        &format!("/admin/staff/{}/active", seg(&id)),
        json!({"active": "false"}),
        "/admin/staff",
    )
}

/// `POST /admin/staff/{id}/active`: `PATCH /v1/staff/{id} {active}` (`active=true|false`).
pub async fn set_active(
    cx: Console,
    id: web::Path<String>,
    payload: web::Payload,
) -> ConsoleResult {
    cx.require(Permission::ADMIN)?;
    let form: Form = cx.form(payload).await?;
    let active = match form.get("active") {
        "true" => true,
        "false" => false,
        _ => return Err(ConsoleError::BadForm("active must be true or false".into())),
    };
    update(&cx, &id, json!({"active": active})).await
}

async fn update(cx: &Console, id: &str, body: Value) -> ConsoleResult {
    match cx
        .api()?
        .patch(&format!("/v1/staff/{}", seg(id)), &body)
        .await
    {
        Ok(_) => render::redirect_with("/admin/staff", "staff_updated"),
        Err(e) => {
            let failure = e.into_form_failure()?;
            let problem = if failure.code == "last_admin" {
                i18n::text(cx.lang, "staff.last_admin")
            } else {
                failure.detail
            };
            list_with(cx, "", StatusCode::UNPROCESSABLE_ENTITY, Some(problem)).await
        }
    }
}
