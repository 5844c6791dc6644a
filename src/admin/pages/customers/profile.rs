//! `/admin/customers/{id}`: the 360° view (`GET /v1/customers/{id}/profile`) with the support
//! actions (adjust points, redeem a reward) for the roles that may use them.

use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::{Value, json};

use super::{localized, named, part, rows};
use crate::admin::api::seg;
use crate::admin::form::{Errors, fresh_key};
use crate::admin::render::{page_with_status, redirect};
use crate::admin::{Console, ConsoleResult, i18n};
use crate::auth::Permission;

/// What the action forms of the 360 view show again after a failure: what was typed and what
/// is wrong.
#[derive(Debug, Default)]
pub struct ActionForms {
    /// The points adjustment.
    pub adjust: Option<(Value, Errors)>,
    /// The redemption.
    pub redeem: Option<(Value, Errors)>,
}

fn form_data(form: Option<(Value, Errors)>) -> Value {
    let (values, errors) = form.unwrap_or_else(|| (json!({}), Errors::default()));
    // A fresh key each time the form is shown: a corrected form is a new request.
    json!({"values": values, "errors": errors.to_value(), "key": fresh_key()})
}

/// `GET /admin/customers/{id}`.
pub async fn overview(cx: Console, id: web::Path<String>) -> ConsoleResult {
    cx.require(Permission::CUSTOMERS_READ)?;
    show(&cx, &id, ActionForms::default(), StatusCode::OK).await
}

/// The rewards a staff member may redeem for the customer, as select options.
fn reward_options(cx: &Console, rewards: &Value) -> Vec<Value> {
    rows(rewards, |r| r)
        .into_iter()
        .filter(|r| r["active"].as_bool().unwrap_or(false))
        .map(|r| {
            let cost = i18n::text(cx.lang, "profile.points_n")
                .replace("{n}", &cx.lang.number(r["cost_points"].as_i64().unwrap_or(0)));
            json!({"value": r["id"], "label": format!("{} · {cost}", localized(&r["name"], cx.lang))})
        })
        .collect()
}

/// The 360 view, with the action forms as given.
pub async fn show(cx: &Console, id: &str, forms: ActionForms, status: StatusCode) -> ConsoleResult {
    let api = cx.api()?;
    let redeems = cx.can(Permission::REWARDS_REDEEM);
    let path = format!("/v1/customers/{}/profile", seg(id));
    let (profile, rewards) = tokio::join!(api.get(&path), async {
        if redeems {
            api.get("/v1/rewards?limit=200").await
        } else {
            Ok(Value::Null)
        }
    });
    let p = profile?;
    let canonical = p["customer"]["id"].as_str().unwrap_or(id).to_owned();
    if canonical != id && status == StatusCode::OK {
        // A merged record's id: show the customer it became.
        return redirect(&format!("/admin/customers/{}", part(&canonical)));
    }
    let tier = &p["tier"];
    let progress = match (
        tier["next_tier"]["threshold"].as_i64(),
        tier["qualifying_points"].as_i64(),
    ) {
        (Some(max), Some(value)) if max > 0 => json!({"value": value.min(max), "max": max}),
        _ => Value::Null,
    };
    page_with_status(
        cx,
        status,
        "customers/profile.html",
        json!({
            "tab": "overview",
            "id": canonical,
            "c": named(p["customer"].clone()),
            "currency": p["purchases"]["currency"],
            "tier_name": localized(&tier["current"]["name"], cx.lang),
            "next_tier_name": localized(&tier["next_tier"]["name"], cx.lang),
            "progress": progress,
            "rewards": reward_options(cx, &rewards?),
            "adjust": form_data(forms.adjust),
            "redeem": form_data(forms.redeem),
            "p": p,
        }),
    )
}
