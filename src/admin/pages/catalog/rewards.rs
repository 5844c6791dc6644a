//! `/admin/rewards`: the reward catalogue (`/v1/rewards`), with texts in en/fa/ar, stock,
//! validity and minimum tier. The API has no DELETE for rewards (codes refer to them): a reward
//! is deactivated instead, after a confirmation.

use crate::admin::api::pager;
use actix_web::http::StatusCode;
use actix_web::web;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{
    instant, instant_value, localized, number, put_localized, required_number, shown, tier_options,
};
use crate::admin::api::{Api, ApiFailure, seg, with_query};
use crate::admin::form::{Errors, fresh_key};
use crate::admin::render::{self, page, page_with_status};
use crate::admin::{Console, ConsoleError, ConsoleResult, Form, i18n};
use crate::auth::Permission;
use crate::messages::locale::Locale;

/// Registers the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/rewards", web::get().to(list))
        .route("/rewards/new", web::get().to(new))
        .route("/rewards/new", web::post().to(create))
        .route("/rewards/{id}/edit", web::get().to(edit))
        .route("/rewards/{id}/edit", web::post().to(update))
        .route(
            "/rewards/{id}/deactivate",
            web::get().to(confirm_deactivate),
        )
        .route("/rewards/{id}/deactivate", web::post().to(deactivate));
}

const KINDS: &[&str] = &[
    "percent_discount",
    "amount_discount",
    "free_product",
    "gift",
];

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    cursor: String,
}

/// `GET /admin/rewards`: a page of rewards, oldest first.
async fn list(cx: Console, query: web::Query<ListQuery>) -> ConsoleResult {
    cx.require(Permission::REWARDS_READ)?;
    let api = cx.api()?;
    let found = api
        .get(&with_query("/v1/rewards", &[("cursor", &query.cursor)]))
        .await?;
    let tiers = tier_options(&cx, &api).await?;
    let program = api.get("/v1/program").await?;
    let tier_names: Map<String, Value> = tiers
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["value"].as_str().unwrap_or_default().to_owned(),
                t["label"].clone(),
            )
        })
        .collect();
    let rewards: Vec<Value> = found["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let mut r = r.clone();
            r["shown_name"] = json!(shown(&r["name"], cx.lang));
            r["shown_description"] = json!(shown(&r["description"], cx.lang));
            r
        })
        .collect();
    let pages = pager("/admin/rewards", &[], &query.cursor, &found["next_cursor"]);
    page(
        &cx,
        "catalog/rewards.html",
        json!({"rewards": rewards, "tier_names": tier_names, "currency": program["currency"],
               "next_href": pages.next, "first_href": pages.first}),
    )
}

/// A reward from the API as form values.
fn values_of(r: &Value) -> Value {
    let mut v = Map::new();
    put_localized(&mut v, "name", &r["name"]);
    put_localized(&mut v, "description", &r["description"]);
    for field in [
        "kind",
        "percent_off",
        "amount_off_minor",
        "sku",
        "cost_points",
        "min_tier_id",
        "stock",
        "per_customer_limit",
        "code_validity_days",
    ] {
        let text = match &r[field] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        v.insert(field.into(), json!(text));
    }
    v.insert("valid_from".into(), json!(instant_value(&r["valid_from"])));
    v.insert(
        "valid_until".into(),
        json!(instant_value(&r["valid_until"])),
    );
    if r["active"] == true {
        v.insert("active".into(), json!("on"));
    }
    Value::Object(v)
}

/// The fields both a new reward and a change send; emptied ones as `null` (no limit, no date).
fn common(form: &Form, lang: Locale, errors: &mut Errors) -> Map<String, Value> {
    let mut num = |name: &str| {
        number(form, name, errors, lang)
            .map(Value::from)
            .unwrap_or(Value::Null)
    };
    let (stock, limit) = (num("stock"), num("per_customer_limit"));
    let days = num("code_validity_days");
    let cost = required_number(form, "cost_points", errors, lang);
    let mut body = Map::new();
    body.insert("name".into(), Value::Object(localized(form, "name")));
    let description = localized(form, "description");
    body.insert(
        "description".into(),
        if description.is_empty() {
            json!("")
        } else {
            Value::Object(description)
        },
    );
    body.insert("cost_points".into(), json!(cost));
    body.insert("stock".into(), stock);
    body.insert("per_customer_limit".into(), limit);
    body.insert(
        "valid_from".into(),
        json!(instant(form, "valid_from", errors, lang)),
    );
    body.insert(
        "valid_until".into(),
        json!(instant(form, "valid_until", errors, lang)),
    );
    body.insert(
        "min_tier_id".into(),
        form.opt("min_tier_id")
            .map(|s| json!(s))
            .unwrap_or(Value::Null),
    );
    if !days.is_null() {
        body.insert("code_validity_days".into(), days);
    }
    body.insert("active".into(), json!(form.checked("active")));
    body
}

/// A new reward: the common fields and what its kind gives.
fn new_body(form: &Form, lang: Locale, errors: &mut Errors) -> Value {
    let mut body = common(form, lang, errors);
    let percent = number(form, "percent_off", errors, lang);
    let amount = number(form, "amount_off_minor", errors, lang);
    body.insert("kind".into(), json!(form.get("kind")));
    body.insert("percent_off".into(), json!(percent));
    body.insert("amount_off_minor".into(), json!(amount));
    body.insert("sku".into(), json!(form.opt("sku")));
    Value::Object(body)
}

fn form_problems(failure: &ApiFailure) -> Errors {
    let mut errors = Errors::from_failure(failure, |field| match field {
        "name" => Some("name.en".into()),
        "description" => Some("description.en".into()),
        _ => None,
    });
    if failure.code == "unknown_tier" {
        errors.add("min_tier_id", failure.detail.clone());
    }
    errors
}

async fn form_page(
    cx: &Console,
    api: &Api,
    status: StatusCode,
    reward: Option<&Value>,
    values: Value,
    errors: &Errors,
) -> ConsoleResult {
    let action = match reward {
        Some(r) => format!(
            "/admin/rewards/{}/edit",
            seg(r["id"].as_str().unwrap_or_default())
        ),
        None => "/admin/rewards/new".to_owned(),
    };
    let program = api.get("/v1/program").await?;
    let kinds: Vec<Value> = KINDS
        .iter()
        .map(|k| json!({"value": k, "label": i18n::text(cx.lang, &format!("rewards.kind.{k}"))}))
        .collect();
    let reward = reward.map(|r| {
        let mut r = r.clone();
        r["shown_name"] = json!(shown(&r["name"], cx.lang));
        r
    });
    page_with_status(
        cx,
        status,
        "catalog/reward_form.html",
        json!({"reward": reward, "action": action, "values": values, "errors": errors.to_value(),
               "key": fresh_key(), "currency": program["currency"], "kinds": kinds,
               "tiers": tier_options(cx, api).await?}),
    )
}

/// `GET /admin/rewards/new`.
async fn new(cx: Console) -> ConsoleResult {
    cx.require(Permission::REWARDS_WRITE)?;
    let values = json!({"kind": "percent_discount", "active": "on", "code_validity_days": "30"});
    form_page(
        &cx,
        &cx.api()?,
        StatusCode::OK,
        None,
        values,
        &Errors::default(),
    )
    .await
}

/// `POST /admin/rewards/new`.
async fn create(cx: Console, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::REWARDS_WRITE)?;
    let form = cx.form(payload).await?;
    let api = cx.api()?;
    let mut errors = Errors::default();
    let body = new_body(&form, cx.lang, &mut errors);
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    if !errors.is_empty() {
        return form_page(&cx, &api, invalid, None, form.values(), &errors).await;
    }
    match api.post_once("/v1/rewards", &body, form.get("_key")).await {
        Ok(_) => render::redirect_with("/admin/rewards", "created"),
        Err(e) => {
            let errors = form_problems(&e.into_form_failure()?);
            form_page(&cx, &api, invalid, None, form.values(), &errors).await
        }
    }
}

async fn one(api: &Api, id: &str) -> Result<Value, ConsoleError> {
    api.get(&format!("/v1/rewards/{}", seg(id))).await
}

/// `GET /admin/rewards/{id}/edit`.
async fn edit(cx: Console, id: web::Path<String>) -> ConsoleResult {
    cx.require(Permission::REWARDS_WRITE)?;
    let api = cx.api()?;
    let reward = one(&api, &id).await?;
    let values = values_of(&reward);
    form_page(
        &cx,
        &api,
        StatusCode::OK,
        Some(&reward),
        values,
        &Errors::default(),
    )
    .await
}

/// `POST /admin/rewards/{id}/edit`: what a reward gives (kind, discount, sku) stays; the rest is
/// replaced by the form's.
async fn update(cx: Console, id: web::Path<String>, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::REWARDS_WRITE)?;
    let form = cx.form(payload).await?;
    let api = cx.api()?;
    let reward = one(&api, &id).await?;
    let mut errors = Errors::default();
    let body = Value::Object(common(&form, cx.lang, &mut errors));
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    let values = form.values();
    if !errors.is_empty() {
        return form_page(&cx, &api, invalid, Some(&reward), values, &errors).await;
    }
    match api.patch(&format!("/v1/rewards/{}", seg(&id)), &body).await {
        Ok(_) => render::redirect_with("/admin/rewards", "saved"),
        Err(e) => {
            let errors = form_problems(&e.into_form_failure()?);
            form_page(&cx, &api, invalid, Some(&reward), values, &errors).await
        }
    }
}

/// `GET /admin/rewards/{id}/deactivate`: asks first.
async fn confirm_deactivate(cx: Console, id: web::Path<String>) -> ConsoleResult {
    cx.require(Permission::REWARDS_WRITE)?;
    let reward = one(&cx.api()?, &id).await?;
    let name = shown(&reward["name"], cx.lang);
    render::confirm(
        &cx,
        &i18n::text(cx.lang, "rewards.deactivate_title"),
        &i18n::text(cx.lang, "rewards.deactivate_message").replace("{name}", &name),
        &i18n::text(cx.lang, "rewards.deactivate_button"),
        &format!("/admin/rewards/{}/deactivate", seg(&id)),
        json!({}),
        "/admin/rewards",
    )
}

/// `POST /admin/rewards/{id}/deactivate`: customers can no longer redeem it; codes already
/// issued stay valid.
async fn deactivate(cx: Console, id: web::Path<String>, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::REWARDS_WRITE)?;
    cx.form(payload).await?;
    cx.api()?
        .patch(
            &format!("/v1/rewards/{}", seg(&id)),
            &json!({"active": false}),
        )
        .await?;
    render::redirect_with("/admin/rewards", "reward_deactivated")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reward_goes_into_the_form_and_back() {
        let reward = json!({
            "id": "r1", "name": {"en": "Coffee", "fa": "قهوه"}, "description": "",
            "kind": "free_product", "percent_off": null, "amount_off_minor": null, "sku": "COF",
            "cost_points": 100, "min_tier_id": null, "stock": 5, "per_customer_limit": null,
            "valid_from": null, "valid_until": "2027-01-01T00:00:00Z", "code_validity_days": 30,
            "active": true,
        });
        let values = values_of(&reward);
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                values
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k, v.as_str().unwrap())),
            )
            .finish();
        let form = Form::parse(encoded.as_bytes());
        let mut errors = Errors::default();
        let body = new_body(&form, Locale::En, &mut errors);
        assert!(errors.is_empty(), "{:?}", errors.to_value());
        for field in [
            "name",
            "description",
            "kind",
            "sku",
            "cost_points",
            "stock",
            "per_customer_limit",
            "valid_from",
            "valid_until",
            "min_tier_id",
            "code_validity_days",
            "active",
            "percent_off",
            "amount_off_minor",
        ] {
            assert_eq!(body[field], reward[field], "{field}");
        }
    }
}
