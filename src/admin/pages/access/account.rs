//! The signed-in staff member's own account: who they are, and their password.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::json;

use crate::admin::form::Errors;
use crate::admin::render;
use crate::admin::session;
use crate::admin::{Console, ConsoleError, ConsoleResult, i18n};
use crate::db;
use crate::staff::routes::MIN_PASSWORD_CHARS;

/// `GET /admin/account`.
pub async fn show(cx: Console) -> ConsoleResult {
    page(&cx, StatusCode::OK, Errors::default())
}

// Passwords are never put back into the form.
fn page(cx: &Console, status: StatusCode, errors: Errors) -> ConsoleResult {
    render::page_with_status(
        cx,
        status,
        "access/account.html",
        json!({"values": {}, "errors": errors.to_value(), "min_chars": MIN_PASSWORD_CHARS}),
    )
}

/// `POST /admin/account/password`: through `PUT /v1/staff/me/password`; on success the member's
/// other console sessions end (whoever else holds one is signed out), this one continues.
pub async fn change_password(cx: Console, payload: web::Payload) -> ConsoleResult {
    let form = cx.form(payload).await?;
    let (new, repeat) = (form.get("new_password"), form.get("repeat_password"));
    if new != repeat {
        let mut errors = Errors::default();
        errors.add("repeat_password", i18n::text(cx.lang, "account.mismatch"));
        return page(&cx, StatusCode::UNPROCESSABLE_ENTITY, errors);
    }
    let body = json!({"current_password": form.get("current_password"), "new_password": new});
    match cx.api()?.put("/v1/staff/me/password", &body).await {
        Ok(_) => {}
        Err(ConsoleError::Api(f)) if f.status == 429 => {
            let mut errors = Errors::default();
            errors.add(
                "current_password",
                i18n::text(cx.lang, "account.rate_limited"),
            );
            return page(&cx, StatusCode::TOO_MANY_REQUESTS, errors);
        }
        Err(e) => {
            let failure = e.into_form_failure()?;
            let errors = if failure.code == "invalid_current_password" {
                let mut errors = Errors::default();
                errors.add(
                    "current_password",
                    i18n::text(cx.lang, "account.current_wrong"),
                );
                errors
            } else if failure.field("new_password").is_some() {
                let mut errors = Errors::default();
                let rule = i18n::text(cx.lang, "account.new_invalid")
                    .replace("{n}", &cx.lang.number(MIN_PASSWORD_CHARS as i64));
                errors.add("new_password", rule);
                errors
            } else {
                Errors::from_failure(&failure, |_| None)
            };
            return page(&cx, StatusCode::UNPROCESSABLE_ENTITY, errors);
        }
    }
    // The API ended every console session of this member; this device gets a new one.
    let staff_id = cx.staff_id.clone();
    let now = cx.state.clock.now_naive();
    let absolute = cx.state.jobs.settings.console.absolute_timeout_secs;
    let token = db::run(&cx.state.pool, move |c| {
        session::start(c, &staff_id, None, now, absolute)
    })
    .await
    .map_err(|e| ConsoleError::internal(e.code()))?;
    Ok(HttpResponse::SeeOther()
        .cookie(session::cookie(&cx.state, session::COOKIE, token))
        .insert_header(("Location", "/admin/account?flash=account_password"))
        .finish())
}
