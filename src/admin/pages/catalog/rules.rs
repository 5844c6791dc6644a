//! `/admin/rules`: earning rules (`/v1/earning-rules`) of every kind, created, changed (a merge
//! patch that names every field, so emptied fields are removed) and deleted after a confirmation;
//! and the dry run of a basket ([`dry_run`]).

mod dry_run;

use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::{Map, Value, json};

use super::{instant, instant_value, number, shown, tier_options};
use crate::admin::api::{Api, ApiFailure, seg};
use crate::admin::form::{Errors, fresh_key};
use crate::admin::render::{self, page_with_status};
use crate::admin::{Console, ConsoleError, ConsoleResult, Form, i18n};
use crate::auth::Permission;
use crate::messages::locale::Locale;

/// Registers the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/rules", web::get().to(list))
        .route("/rules/new", web::get().to(new))
        .route("/rules/new", web::post().to(create))
        .route("/rules/dry-run", web::post().to(dry_run::run))
        // After a dry run the address is this one; the language menu comes back to it.
        .route(
            "/rules/dry-run",
            web::get().to(|| async { render::redirect("/admin/rules#dry-run") }),
        )
        .route("/rules/{id}/edit", web::get().to(edit))
        .route("/rules/{id}/edit", web::post().to(update))
        .route("/rules/{id}/delete", web::get().to(confirm_delete))
        .route("/rules/{id}/delete", web::post().to(delete));
}

const KINDS: &[&str] = &[
    "multiplier",
    "purchase_bonus",
    "first_purchase_bonus",
    "birthday_month_bonus",
    "event_bonus",
];
const CHANNELS: &[&str] = &["store", "web", "app", "phone", "marketplace"];
const PERIODS: &[&str] = &["day", "week", "month", "year", "lifetime"];

/// `[{value, label}]` of `values`, labelled by the texts `prefix.value`.
fn choices(cx: &Console, prefix: &str, values: &[&str]) -> Value {
    values
        .iter()
        .map(|v| json!({"value": v, "label": i18n::text(cx.lang, &format!("{prefix}.{v}"))}))
        .collect()
}

/// What the rules page shows besides the dry run: the rules, the tiers' names, the currency.
async fn rules_page(cx: &Console, api: &Api, status: StatusCode, mut data: Value) -> ConsoleResult {
    let rules = api.get("/v1/earning-rules").await?;
    let tiers = tier_options(cx, api).await?;
    let program = api.get("/v1/program").await?;
    let names: Map<String, Value> = tiers
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
    data["rules"] = rules;
    data["tier_names"] = Value::Object(names);
    data["currency"] = program["currency"].clone();
    data["channels"] = choices(cx, "rules.channel", CHANNELS);
    data["can_dry_run"] = json!(cx.can(Permission::PURCHASES_PREVIEW));
    data["line_rows"] = json!((0..dry_run::LINE_ROWS).collect::<Vec<_>>());
    if data.get("dry_values").is_none() {
        data["dry_values"] = json!({"channel": "store", "lines[0].quantity": "1"});
    }
    if data.get("dry_errors").is_none() {
        data["dry_errors"] = Errors::default().to_value();
    }
    if data.get("errors").is_none() {
        data["errors"] = Errors::default().to_value();
    }
    page_with_status(cx, status, "catalog/rules.html", data)
}

/// `GET /admin/rules`: the rules, and the dry-run form.
async fn list(cx: Console) -> ConsoleResult {
    cx.require(Permission::PROGRAM_READ)?;
    let api = cx.api()?;
    rules_page(&cx, &api, StatusCode::OK, json!({})).await
}

async fn one(api: &Api, id: &str) -> Result<Value, ConsoleError> {
    let rules = api.get("/v1/earning-rules").await?;
    rules
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["id"] == id)
        .cloned()
        .ok_or(ConsoleError::NotFound)
}

/// A rule from the API as form values.
fn values_of(rule: &Value) -> Value {
    let mut v = Map::new();
    let text = |x: &Value| match x {
        Value::String(s) => json!(s),
        Value::Number(n) => json!(n.to_string()),
        _ => json!(""),
    };
    for field in [
        "name",
        "kind",
        "multiplier_percent",
        "points",
        "min_total_minor",
        "event_name",
        "limit",
        "limit_period",
    ] {
        v.insert(field.into(), text(&rule[field]));
    }
    v.insert("match.category".into(), text(&rule["match"]["category"]));
    v.insert("match.sku".into(), text(&rule["match"]["sku"]));
    if rule["active"] == true {
        v.insert("active".into(), json!("on"));
    }
    v.insert("starts_at".into(), json!(instant_value(&rule["starts_at"])));
    v.insert("ends_at".into(), json!(instant_value(&rule["ends_at"])));
    v.insert("tier_ids".into(), rule["tier_ids"].clone());
    v.insert("channels".into(), rule["channels"].clone());
    let stores: Vec<&str> = rule["store_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    v.insert("store_ids".into(), json!(stores.join(", ")));
    Value::Object(v)
}

/// What was typed, with the boxes ticked in a group always a list.
fn typed(form: &Form) -> Value {
    let mut values = form.values();
    values["tier_ids"] = json!(form.all("tier_ids"));
    values["channels"] = json!(form.all("channels"));
    values
}

/// The whole rule the form describes. Every field is named, empty ones as `null`, so the same
/// body creates a rule and, as a merge patch, removes what was emptied.
fn body(form: &Form, lang: Locale, errors: &mut Errors) -> Value {
    let mut num = |name: &str| {
        number(form, name, errors, lang)
            .map(Value::from)
            .unwrap_or(Value::Null)
    };
    let (multiplier, points) = (num("multiplier_percent"), num("points"));
    let (min_total, limit) = (num("min_total_minor"), num("limit"));
    let text = |name: &str| form.opt(name).map(|s| json!(s)).unwrap_or(Value::Null);
    let line_match = if form.opt("match.category").is_some() || form.opt("match.sku").is_some() {
        json!({"category": text("match.category"), "sku": text("match.sku")})
    } else {
        Value::Null
    };
    let stores: Vec<&str> = form
        .get("store_ids")
        .split([',', '\n', '،'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    json!({
        "name": form.get("name").trim(),
        "kind": form.get("kind"),
        "active": form.checked("active"),
        "starts_at": instant(form, "starts_at", errors, lang),
        "ends_at": instant(form, "ends_at", errors, lang),
        "tier_ids": form.all("tier_ids"),
        "store_ids": stores,
        "channels": form.all("channels"),
        "multiplier_percent": multiplier,
        "match": line_match,
        "points": points,
        "min_total_minor": min_total,
        "event_name": text("event_name"),
        "limit": limit,
        "limit_period": text("limit_period"),
    })
}

fn form_problems(failure: &ApiFailure) -> Errors {
    Errors::from_failure(failure, |field| match field {
        "match" => Some("match.category".into()),
        _ => None,
    })
}

async fn form_page(
    cx: &Console,
    api: &Api,
    status: StatusCode,
    rule: Option<&Value>,
    values: Value,
    errors: &Errors,
) -> ConsoleResult {
    let action = match rule {
        Some(r) => format!(
            "/admin/rules/{}/edit",
            seg(r["id"].as_str().unwrap_or_default())
        ),
        None => "/admin/rules/new".to_owned(),
    };
    let program = api.get("/v1/program").await?;
    page_with_status(
        cx,
        status,
        "catalog/rule_form.html",
        json!({
            "rule": rule, "action": action, "values": values, "errors": errors.to_value(),
            "key": fresh_key(), "currency": program["currency"],
            "kinds": choices(cx, "rules.kind", KINDS),
            "channels": choices(cx, "rules.channel", CHANNELS),
            "periods": choices(cx, "rules.period", PERIODS),
            "tiers": tier_options(cx, api).await?,
        }),
    )
}

/// `GET /admin/rules/new`.
async fn new(cx: Console) -> ConsoleResult {
    cx.require(Permission::PROGRAM_WRITE)?;
    let values = json!({"kind": "multiplier", "active": "on", "tier_ids": [], "channels": []});
    let api = cx.api()?;
    form_page(&cx, &api, StatusCode::OK, None, values, &Errors::default()).await
}

/// `POST /admin/rules/new`.
async fn create(cx: Console, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::PROGRAM_WRITE)?;
    let form = cx.form(payload).await?;
    let api = cx.api()?;
    let mut errors = Errors::default();
    let body = body(&form, cx.lang, &mut errors);
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    if !errors.is_empty() {
        return form_page(&cx, &api, invalid, None, typed(&form), &errors).await;
    }
    match api
        .post_once("/v1/earning-rules", &body, form.get("_key"))
        .await
    {
        Ok(_) => render::redirect_with("/admin/rules", "created"),
        Err(e) => {
            let errors = form_problems(&e.into_form_failure()?);
            form_page(&cx, &api, invalid, None, typed(&form), &errors).await
        }
    }
}

/// `GET /admin/rules/{id}/edit`.
async fn edit(cx: Console, id: web::Path<String>) -> ConsoleResult {
    cx.require(Permission::PROGRAM_WRITE)?;
    let api = cx.api()?;
    let rule = one(&api, &id).await?;
    let values = values_of(&rule);
    form_page(
        &cx,
        &api,
        StatusCode::OK,
        Some(&rule),
        values,
        &Errors::default(),
    )
    .await
}

/// `POST /admin/rules/{id}/edit`.
async fn update(cx: Console, id: web::Path<String>, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::PROGRAM_WRITE)?;
    let form = cx.form(payload).await?;
    let api = cx.api()?;
    let rule = one(&api, &id).await?;
    let mut errors = Errors::default();
    let body = body(&form, cx.lang, &mut errors);
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    if !errors.is_empty() {
        return form_page(&cx, &api, invalid, Some(&rule), typed(&form), &errors).await;
    }
    match api
        .patch(&format!("/v1/earning-rules/{}", seg(&id)), &body)
        .await
    {
        Ok(_) => render::redirect_with("/admin/rules", "saved"),
        Err(e) => {
            let errors = form_problems(&e.into_form_failure()?);
            form_page(&cx, &api, invalid, Some(&rule), typed(&form), &errors).await
        }
    }
}

/// `GET /admin/rules/{id}/delete`: asks first.
async fn confirm_delete(cx: Console, id: web::Path<String>) -> ConsoleResult {
    cx.require(Permission::PROGRAM_WRITE)?;
    let rule = one(&cx.api()?, &id).await?;
    let name = shown(&rule["name"], cx.lang);
    render::confirm(
        &cx,
        &i18n::text(cx.lang, "rules.delete_title"),
        &i18n::text(cx.lang, "rules.delete_message").replace("{name}", &name),
        &i18n::text(cx.lang, "rules.delete_button"),
        &format!("/admin/rules/{}/delete", seg(&id)),
        json!({}),
        "/admin/rules",
    )
}

/// `POST /admin/rules/{id}/delete`: a rule that has awarded points stays, and the list says why.
async fn delete(cx: Console, id: web::Path<String>, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::PROGRAM_WRITE)?;
    cx.form(payload).await?;
    let api = cx.api()?;
    match api.delete(&format!("/v1/earning-rules/{}", seg(&id))).await {
        Ok(_) => render::redirect_with("/admin/rules", "deleted"),
        Err(e) => {
            let failure = e.into_form_failure()?;
            let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::CONFLICT);
            let errors = Errors::from_failure(&failure, |_| None).to_value();
            rules_page(&cx, &api, status, json!({"errors": errors})).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_goes_into_the_form_and_back_unchanged() {
        let rule = json!({
            "id": "r1", "name": "Coffee ×2", "kind": "multiplier", "active": true,
            "starts_at": "2026-01-01T00:00:00Z", "ends_at": null,
            "tier_ids": ["t1", "t2"], "store_ids": ["s1", "s2"], "channels": ["store"],
            "multiplier_percent": 200, "match": {"category": "coffee", "sku": null},
            "points": null, "min_total_minor": null, "event_name": null,
            "limit": null, "limit_period": null,
        });
        let values = values_of(&rule);
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in values.as_object().unwrap() {
            match v {
                Value::Array(items) => {
                    for i in items {
                        pairs.push((k.clone(), i.as_str().unwrap().to_owned()));
                    }
                }
                v => pairs.push((k.clone(), v.as_str().unwrap().to_owned())),
            }
        }
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let form = Form::parse(encoded.as_bytes());
        let mut errors = Errors::default();
        let mut expected = rule.clone();
        expected.as_object_mut().unwrap().remove("id");
        let sent = body(&form, Locale::En, &mut errors);
        assert!(errors.is_empty(), "{:?}", errors.to_value());
        assert_eq!(sent, expected);
    }
}
