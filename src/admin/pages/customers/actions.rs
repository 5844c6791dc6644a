//! What support does for a customer from the 360 view: adjust points, redeem a reward (its code
//! shown at once), and cancel an unused code after confirming.

use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::{Value, json};

use super::customer;
use super::profile::{ActionForms, show};
use super::{localized, part};
use crate::admin::api::{Api, seg};
use crate::admin::form::{Errors, fresh_key};
use crate::admin::render::{self, page, redirect_with};
use crate::admin::{Console, ConsoleError, ConsoleResult, i18n};
use crate::auth::Permission;

/// The 360 view again with a form's problems (`422`).
async fn again(cx: &Console, id: &str, forms: ActionForms) -> ConsoleResult {
    show(cx, id, forms, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// The API's refusal: its field problems, or else its detail next to `field` (a rule such as
/// "not enough points" is about that field).
fn refusal(failure: &crate::admin::api::ApiFailure, field: &str) -> Errors {
    if failure.errors.is_empty() {
        let mut errors = Errors::default();
        errors.add(field, failure.detail.clone());
        errors
    } else {
        Errors::from_failure(failure, |_| None)
    }
}

/// `POST /admin/customers/{id}/adjust`: `{points, reason, note_for_customer?}`, once per form.
pub async fn adjust(cx: Console, id: web::Path<String>, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::POINTS_WRITE)?;
    let form = cx.form(payload).await?;
    let mut errors = Errors::default();
    let points = form.int("points", &mut errors);
    if points.is_none() {
        errors.add("points", i18n::text(cx.lang, "profile.points_required"));
    }
    let reason = form.opt("reason");
    if reason.is_none() {
        errors.add("reason", i18n::text(cx.lang, "profile.reason_required"));
    }
    let failed = |errors| ActionForms {
        adjust: Some((form.values(), errors)),
        redeem: None,
    };
    if !errors.is_empty() {
        return again(&cx, &id, failed(errors)).await;
    }
    let mut body = json!({"points": points, "reason": reason});
    if let Some(note) = form.opt("note_for_customer") {
        body["note_for_customer"] = json!(note);
    }
    let path = format!("/v1/customers/{}/points/adjustments", seg(&id));
    match cx.api()?.post_once(&path, &body, form.get("_key")).await {
        Ok(_) => redirect_with(
            &format!("/admin/customers/{}", part(&id)),
            "points_adjusted",
        ),
        Err(e) => {
            let failure = e.into_form_failure()?;
            again(&cx, &id, failed(refusal(&failure, "points"))).await
        }
    }
}

/// `POST /admin/customers/{id}/redeem`: `{reward_id}`, once per form; then the code's page.
pub async fn redeem(cx: Console, id: web::Path<String>, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::REWARDS_REDEEM)?;
    let form = cx.form(payload).await?;
    let failed = |errors| ActionForms {
        adjust: None,
        redeem: Some((form.values(), errors)),
    };
    let Some(reward) = form.opt("reward_id") else {
        let mut errors = Errors::default();
        errors.add("reward_id", i18n::text(cx.lang, "profile.reward_required"));
        return again(&cx, &id, failed(errors)).await;
    };
    let path = format!("/v1/customers/{}/redemptions", seg(&id));
    let body = json!({ "reward_id": reward });
    match cx.api()?.post_once(&path, &body, form.get("_key")).await {
        Ok(redeemed) => {
            let code = redeemed["code"].as_str().unwrap_or_default();
            let to = format!("/admin/customers/{}/codes/{}", part(&id), part(code));
            redirect_with(&to, "code_redeemed")
        }
        Err(e) => {
            let failure = e.into_form_failure()?;
            again(&cx, &id, failed(refusal(&failure, "reward_id"))).await
        }
    }
}

/// The customer and their code `code` (a code of someone else is not found here).
async fn owned_code(api: &Api, id: &str, code: &str) -> Result<(Value, Value), ConsoleError> {
    let path = format!("/v1/codes/{}", seg(code));
    let (c, found) = tokio::join!(customer(api, id), api.get(&path));
    let (c, found) = (c?, found?);
    if found["customer_id"] != c["id"] {
        return Err(ConsoleError::NotFound);
    }
    Ok((c, found))
}

/// `GET /admin/customers/{id}/codes/{code}`: the code, shown large, and what became of it.
pub async fn code(cx: Console, path: web::Path<(String, String)>) -> ConsoleResult {
    cx.require(Permission::CODES_USE)?;
    let (id, code) = path.into_inner();
    let api = cx.api()?;
    let (c, found) = owned_code(&api, &id, &code).await?;
    let reward_id = found["reward_id"].as_str().unwrap_or_default();
    let reward = api.get(&format!("/v1/rewards/{}", seg(reward_id))).await?;
    page(
        &cx,
        "customers/code.html",
        json!({
            "tab": "codes", "id": id, "c": c, "code": found, "reward": reward,
            "reward_name": localized(&reward["name"], cx.lang),
        }),
    )
}

/// `GET /admin/customers/{id}/codes/{code}/cancel`: asks before cancelling.
pub async fn confirm_cancel(cx: Console, path: web::Path<(String, String)>) -> ConsoleResult {
    cx.require(Permission::CODES_USE)?;
    let (id, code) = path.into_inner();
    let (_, found) = owned_code(&cx.api()?, &id, &code).await?;
    let shown = found["code"].as_str().unwrap_or(&code);
    let back = format!("/admin/customers/{}/codes/{}", part(&id), part(shown));
    let text = |key: &str| i18n::text(cx.lang, key);
    render::confirm(
        &cx,
        &text("codes.cancel_title"),
        &text("codes.cancel_message").replace("{code}", shown),
        &text("codes.cancel_button"),
        &format!("{back}/cancel"),
        json!({ "_key": fresh_key() }),
        &back,
    )
}

/// `POST /admin/customers/{id}/codes/{code}/cancel`: the code is cancelled and its points come back.
pub async fn cancel(
    cx: Console,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> ConsoleResult {
    cx.require(Permission::CODES_USE)?;
    let form = cx.form(payload).await?;
    let (id, code) = path.into_inner();
    let api = cx.api()?;
    owned_code(&api, &id, &code).await?;
    let to = format!("/v1/codes/{}/cancel", seg(&code));
    match form.opt("_key") {
        Some(key) => api.post_once(&to, &json!({}), key).await?,
        None => api.post(&to, &json!({})).await?,
    };
    redirect_with(
        &format!("/admin/customers/{}/codes", part(&id)),
        "code_cancelled",
    )
}
