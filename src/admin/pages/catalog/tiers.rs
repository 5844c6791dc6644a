//! `/admin/tiers`: the tiers (`/v1/tiers`), created, changed and deleted (after a confirmation).

use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::{Map, Value, json};

use super::{LOCALES, localized, number, put_localized, required_number, shown};
use crate::admin::api::{Api, seg};
use crate::admin::form::{Errors, fresh_key};
use crate::admin::render::{self, page_with_status};
use crate::admin::{Console, ConsoleError, ConsoleResult, Form, i18n};
use crate::auth::Permission;
use crate::messages::locale::Locale;

/// Registers the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/tiers", web::get().to(list))
        .route("/tiers/new", web::get().to(new))
        .route("/tiers/new", web::post().to(create))
        .route("/tiers/{id}/edit", web::get().to(edit))
        .route("/tiers/{id}/edit", web::post().to(update))
        .route("/tiers/{id}/delete", web::get().to(confirm_delete))
        .route("/tiers/{id}/delete", web::post().to(delete));
}

/// The tiers, each with its name and benefits in the page's language.
async fn tiers(cx: &Console, api: &Api) -> Result<Vec<Value>, ConsoleError> {
    let all = api.get("/v1/tiers").await?;
    Ok(all
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let mut t = t.clone();
            t["shown_name"] = json!(shown(&t["name"], cx.lang));
            let benefits: Vec<String> = t["benefits"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|b| shown(b, cx.lang))
                .collect();
            t["shown_benefits"] = json!(benefits);
            t
        })
        .collect())
}

async fn one(cx: &Console, api: &Api, id: &str) -> Result<Value, ConsoleError> {
    tiers(cx, api)
        .await?
        .into_iter()
        .find(|t| t["id"] == id)
        .ok_or(ConsoleError::NotFound)
}

async fn list_page(cx: &Console, status: StatusCode, errors: &Errors) -> ConsoleResult {
    let api = cx.api()?;
    let tiers = tiers(cx, &api).await?;
    page_with_status(
        cx,
        status,
        "catalog/tiers.html",
        json!({"tiers": tiers, "errors": errors.to_value()}),
    )
}

/// `GET /admin/tiers`.
async fn list(cx: Console) -> ConsoleResult {
    cx.require(Permission::PROGRAM_READ)?;
    list_page(&cx, StatusCode::OK, &Errors::default()).await
}

/// Benefits as the API takes them: line `i` of each language's box is benefit `i`.
fn benefits(form: &Form) -> Vec<Value> {
    let lines: Vec<Vec<&str>> = LOCALES
        .iter()
        .map(|l| {
            form.get(&format!("benefits.{l}"))
                .lines()
                .map(str::trim)
                .collect()
        })
        .collect();
    let count = lines.iter().map(Vec::len).max().unwrap_or(0);
    (0..count)
        .filter_map(|i| {
            let text: Map<String, Value> = LOCALES
                .iter()
                .zip(&lines)
                .filter_map(|(l, ls)| {
                    ls.get(i)
                        .filter(|s| !s.is_empty())
                        .map(|s| ((*l).to_owned(), json!(s)))
                })
                .collect();
            (!text.is_empty()).then_some(Value::Object(text))
        })
        .collect()
}

/// A tier from the API as form values.
fn values_of(tier: &Value) -> Value {
    let mut values = Map::new();
    put_localized(&mut values, "name", &tier["name"]);
    values.insert("threshold".into(), json!(tier["threshold"].to_string()));
    values.insert(
        "multiplier_percent".into(),
        json!(tier["multiplier_percent"].to_string()),
    );
    for locale in LOCALES {
        let lines: Vec<String> = tier["benefits"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| match b {
                Value::String(s) if locale == "en" => s.clone(),
                b => b[locale].as_str().unwrap_or_default().to_owned(),
            })
            .collect();
        let text = lines.join("\n").trim_end().to_owned();
        values.insert(format!("benefits.{locale}"), json!(text));
    }
    Value::Object(values)
}

/// The tier the form describes, as the API takes it.
fn body(form: &Form, lang: Locale, errors: &mut Errors) -> Value {
    let threshold = required_number(form, "threshold", errors, lang);
    let multiplier = number(form, "multiplier_percent", errors, lang).unwrap_or(100);
    json!({
        "name": localized(form, "name"),
        "threshold": threshold,
        "multiplier_percent": multiplier,
        "benefits": benefits(form),
    })
}

/// Where the API's problems are shown: a name at its English box, a taken threshold at the
/// threshold.
fn form_problems(failure: &crate::admin::api::ApiFailure) -> Errors {
    let mut errors = Errors::from_failure(failure, |field| match field {
        "name" => Some("name.en".into()),
        f if f.starts_with("benefits") => Some("benefits.en".into()),
        _ => None,
    });
    if failure.code == "tier_threshold_taken" {
        errors.add("threshold", failure.detail.clone());
    }
    errors
}

fn form_page(
    cx: &Console,
    status: StatusCode,
    tier: Option<&Value>,
    values: Value,
    errors: &Errors,
) -> ConsoleResult {
    let action = match tier {
        Some(t) => format!(
            "/admin/tiers/{}/edit",
            seg(t["id"].as_str().unwrap_or_default())
        ),
        None => "/admin/tiers/new".to_owned(),
    };
    page_with_status(
        cx,
        status,
        "catalog/tier_form.html",
        json!({"tier": tier, "action": action, "values": values,
               "errors": errors.to_value(), "key": fresh_key()}),
    )
}

/// `GET /admin/tiers/new`.
async fn new(cx: Console) -> ConsoleResult {
    cx.require(Permission::PROGRAM_WRITE)?;
    let values = json!({"multiplier_percent": "100"});
    form_page(&cx, StatusCode::OK, None, values, &Errors::default())
}

/// `POST /admin/tiers/new`.
async fn create(cx: Console, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::PROGRAM_WRITE)?;
    let form = cx.form(payload).await?;
    let mut errors = Errors::default();
    let body = body(&form, cx.lang, &mut errors);
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    if !errors.is_empty() {
        return form_page(&cx, invalid, None, form.values(), &errors);
    }
    let api = cx.api()?;
    match api.post_once("/v1/tiers", &body, form.get("_key")).await {
        Ok(_) => render::redirect_with("/admin/tiers", "created"),
        Err(e) => {
            let errors = form_problems(&e.into_form_failure()?);
            form_page(&cx, invalid, None, form.values(), &errors)
        }
    }
}

/// `GET /admin/tiers/{id}/edit`.
async fn edit(cx: Console, id: web::Path<String>) -> ConsoleResult {
    cx.require(Permission::PROGRAM_WRITE)?;
    let tier = one(&cx, &cx.api()?, &id).await?;
    form_page(
        &cx,
        StatusCode::OK,
        Some(&tier),
        values_of(&tier),
        &Errors::default(),
    )
}

/// `POST /admin/tiers/{id}/edit`: every field of the form replaces the tier's.
async fn update(cx: Console, id: web::Path<String>, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::PROGRAM_WRITE)?;
    let form = cx.form(payload).await?;
    let api = cx.api()?;
    let tier = one(&cx, &api, &id).await?;
    let mut errors = Errors::default();
    let body = body(&form, cx.lang, &mut errors);
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    if !errors.is_empty() {
        return form_page(&cx, invalid, Some(&tier), form.values(), &errors);
    }
    match api.patch(&format!("/v1/tiers/{}", seg(&id)), &body).await {
        Ok(_) => render::redirect_with("/admin/tiers", "saved"),
        Err(e) => {
            let errors = form_problems(&e.into_form_failure()?);
            form_page(&cx, invalid, Some(&tier), form.values(), &errors)
        }
    }
}

/// `GET /admin/tiers/{id}/delete`: asks first.
async fn confirm_delete(cx: Console, id: web::Path<String>) -> ConsoleResult {
    cx.require(Permission::PROGRAM_WRITE)?;
    let tier = one(&cx, &cx.api()?, &id).await?;
    let name = tier["shown_name"].as_str().unwrap_or_default();
    render::confirm(
        &cx,
        &i18n::text(cx.lang, "tiers.delete_title"),
        &i18n::text(cx.lang, "tiers.delete_message").replace("{name}", name),
        &i18n::text(cx.lang, "tiers.delete_button"),
        &format!("/admin/tiers/{}/delete", seg(&id)),
        json!({}),
        "/admin/tiers",
    )
}

/// `POST /admin/tiers/{id}/delete`: a tier in use stays, and the list says why.
async fn delete(cx: Console, id: web::Path<String>, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::PROGRAM_WRITE)?;
    cx.form(payload).await?;
    match cx.api()?.delete(&format!("/v1/tiers/{}", seg(&id))).await {
        Ok(_) => render::redirect_with("/admin/tiers", "deleted"),
        Err(e) => {
            let failure = e.into_form_failure()?;
            let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::CONFLICT);
            list_page(&cx, status, &Errors::from_failure(&failure, |_| None)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benefits_are_lines_across_the_languages() {
        let form = Form::parse(
            "benefits.en=Free+shipping%0A%0ALounge&benefits.fa=%D8%A7%D8%B1%D8%B3%D8%A7%D9%84%0AX"
                .as_bytes(),
        );
        let b = benefits(&form);
        assert_eq!(
            Value::Array(b.clone()),
            json!([{"en": "Free shipping", "fa": "ارسال"}, {"fa": "X"}, {"en": "Lounge"}])
        );
        let values = values_of(
            &json!({"name": "Gold", "threshold": 1, "multiplier_percent": 100,
                                        "benefits": b}),
        );
        assert_eq!(values["benefits.en"], "Free shipping\n\nLounge");
        assert_eq!(values["benefits.fa"], "ارسال\nX");
        assert_eq!(values["name.en"], "Gold");
    }
}
