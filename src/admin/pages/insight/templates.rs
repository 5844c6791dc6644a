//! `/admin/templates`: message templates per kind and locale, overridden or the shipped default;
//! the edit form, going back to the default (after a confirmation), and a preview of the saved
//! template for a chosen customer.
//!
//! The preview's HTML is the customer's message, not part of the console: it is shown as
//! escaped source in a `<pre>`, never inserted into the page (the console's CSP would also
//! refuse its inline styles, and a sandboxed frame's `frame-src` falls back to `'none'`).

use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::{Value, json};

use super::{query, text};
use crate::admin::api::{Api, with_query};
use crate::admin::form::Errors;
use crate::admin::render::{self, page, page_with_status, redirect_with};
use crate::admin::{Console, ConsoleError, ConsoleResult, Form};
use crate::auth::Permission;
use crate::messages::Kind;
use crate::messages::locale::Locale;

/// Registers the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/templates", web::get().to(list))
        .route("/templates/{kind}/{locale}", web::get().to(edit))
        .route("/templates/{kind}/{locale}", web::post().to(save))
        .route(
            "/templates/{kind}/{locale}/reset",
            web::get().to(confirm_reset),
        )
        .route("/templates/{kind}/{locale}/reset", web::post().to(reset));
}

/// `GET /admin/templates`: every kind in every locale.
async fn list(cx: Console) -> ConsoleResult {
    cx.require(Permission::TEMPLATES_READ)?;
    let answer = cx.api()?.get("/v1/templates").await?;
    let all = answer["data"].as_array().cloned().unwrap_or_default();
    let kinds: Vec<Value> = Kind::ALL
        .iter()
        .map(|k| {
            let cells: Vec<Value> = Locale::ALL
                .iter()
                .map(|l| {
                    let found = all
                        .iter()
                        .find(|t| t["kind"] == k.as_str() && t["locale"] == l.as_str());
                    json!({
                        "locale": l.as_str(),
                        "overridden": found.is_some_and(|t| t["overridden"] == true),
                        "updated_at": found.map(|t| t["updated_at"].clone()),
                        "href": format!("/admin/templates/{}/{}", k.as_str(), l.as_str()),
                    })
                })
                .collect();
            json!({"kind": k.as_str(), "locales": cells})
        })
        .collect();
    page(&cx, "insight/templates.html", json!({"kinds": kinds}))
}

/// The kind and locale of a path (404 for others).
fn target(path: &(String, String)) -> Result<(Kind, Locale), ConsoleError> {
    let kind = Kind::parse(&path.0).ok_or(ConsoleError::NotFound)?;
    let locale = Locale::parse(&path.1).ok_or(ConsoleError::NotFound)?;
    Ok((kind, locale))
}

fn api_path(kind: Kind, locale: Locale) -> String {
    format!("/v1/templates/{}/{}", kind.as_str(), locale.as_str())
}

fn edit_path(kind: Kind, locale: Locale) -> String {
    format!("/admin/templates/{}/{}", kind.as_str(), locale.as_str())
}

struct EditPage {
    status: StatusCode,
    values: Value,
    errors: Errors,
    preview: Value,
    preview_errors: Errors,
}

fn edit_page(
    cx: &Console,
    kind: Kind,
    locale: Locale,
    current: &Value,
    p: EditPage,
) -> ConsoleResult {
    page_with_status(
        cx,
        p.status,
        "insight/template_edit.html",
        json!({
            "kind": kind.as_str(),
            "locale": locale.as_str(),
            "dir": locale.dir(),
            "template": current,
            "action": edit_path(kind, locale),
            "values": p.values,
            "errors": p.errors.to_value(),
            "preview": p.preview,
            "preview_values": {"customer": query(cx).get("customer")},
            "preview_errors": p.preview_errors.to_value(),
        }),
    )
}

/// The customer a preview is for: an id, or an email looked up.
async fn customer_for(api: &Api, given: &str) -> Result<Option<String>, ConsoleError> {
    if !given.contains('@') {
        return Ok(Some(given.to_owned()));
    }
    let found = api
        .get(&with_query("/v1/customers", &[("email", given)]))
        .await;
    match found {
        Ok(list) => Ok(list["data"][0]["id"].as_str().map(str::to_owned)),
        // Not an email the API accepts: no such customer.
        Err(ConsoleError::Api(f)) if f.status == 400 => Ok(None),
        Err(e) => Err(e),
    }
}

/// The saved template rendered for `customer` (`{subject, html, text}`), or why it cannot be.
async fn preview(
    cx: &Console,
    api: &Api,
    kind: Kind,
    locale: Locale,
    customer: &str,
) -> Result<(Value, Errors), ConsoleError> {
    let mut errors = Errors::default();
    let Some(id) = customer_for(api, customer).await? else {
        errors.add("customer", text(cx, "templates.no_such_customer"));
        return Ok((Value::Null, errors));
    };
    let path = format!("{}/preview", api_path(kind, locale));
    match api.post(&path, &json!({"customer_id": id})).await {
        Ok(rendered) => Ok((rendered, errors)),
        Err(ConsoleError::Api(f)) if f.status == 404 => {
            errors.add("customer", text(cx, "templates.no_such_customer"));
            Ok((Value::Null, errors))
        }
        Err(ConsoleError::Api(f)) if matches!(f.status, 400 | 422) => {
            errors.add("customer", f.detail);
            Ok((Value::Null, errors))
        }
        Err(e) => Err(e),
    }
}

/// `GET /admin/templates/{kind}/{locale}` (`?customer=` previews the saved template).
async fn edit(cx: Console, path: web::Path<(String, String)>) -> ConsoleResult {
    cx.require(Permission::TEMPLATES_READ)?;
    let (kind, locale) = target(&path)?;
    let api = cx.api()?;
    let current = api.get(&api_path(kind, locale)).await?;
    let values =
        json!({"subject": current["subject"], "html": current["html"], "text": current["text"]});
    let q = query(&cx);
    let (preview, preview_errors) = match q.opt("customer") {
        Some(customer) => preview(&cx, &api, kind, locale, customer).await?,
        None => (Value::Null, Errors::default()),
    };
    let status = if preview_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    edit_page(
        &cx,
        kind,
        locale,
        &current,
        EditPage {
            status,
            values,
            errors: Errors::default(),
            preview,
            preview_errors,
        },
    )
}

/// Browsers send text areas with CRLF line ends; templates are kept with LF.
fn lf(form: &Form, name: &str) -> String {
    form.get(name).replace("\r\n", "\n")
}

/// `POST /admin/templates/{kind}/{locale}`: saves an override (`PUT`).
async fn save(
    cx: Console,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> ConsoleResult {
    cx.require(Permission::TEMPLATES_WRITE)?;
    let form = cx.form(payload).await?;
    let (kind, locale) = target(&path)?;
    let api = cx.api()?;
    let body = json!({"subject": lf(&form, "subject"), "html": lf(&form, "html"), "text": lf(&form, "text")});
    match api.put(&api_path(kind, locale), &body).await {
        Ok(_) => redirect_with(&edit_path(kind, locale), "saved"),
        Err(e) => {
            let failure = e.into_form_failure()?;
            let mut errors = Errors::from_failure(&failure, |_| None);
            if failure.code == "template_invalid" {
                // The engine's message names the part (subject, html or text) that failed.
                errors.add("html", failure.detail.clone());
            }
            let current = api.get(&api_path(kind, locale)).await?;
            edit_page(
                &cx,
                kind,
                locale,
                &current,
                EditPage {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    values: form.values(),
                    errors,
                    preview: Value::Null,
                    preview_errors: Errors::default(),
                },
            )
        }
    }
}

/// `GET /admin/templates/{kind}/{locale}/reset`: asks before going back to the default.
async fn confirm_reset(cx: Console, path: web::Path<(String, String)>) -> ConsoleResult {
    cx.require(Permission::TEMPLATES_WRITE)?;
    let (kind, locale) = target(&path)?;
    let name = format!(
        "{} ({})",
        text(&cx, &format!("templates.kind.{}", kind.as_str())),
        text(&cx, &format!("templates.locale.{}", locale.as_str()))
    );
    render::confirm(
        &cx,
        &text(&cx, "templates.reset_title"),
        &text(&cx, "templates.reset_message").replace("{name}", &name),
        &text(&cx, "templates.reset_button"),
        &format!("{}/reset", edit_path(kind, locale)),
        json!({}),
        &edit_path(kind, locale),
    )
}

/// `POST /admin/templates/{kind}/{locale}/reset`: removes the override (`DELETE`).
async fn reset(
    cx: Console,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> ConsoleResult {
    cx.require(Permission::TEMPLATES_WRITE)?;
    cx.form(payload).await?;
    let (kind, locale) = target(&path)?;
    cx.api()?.delete(&api_path(kind, locale)).await?;
    redirect_with(&edit_path(kind, locale), "template_reset")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_locale_has_a_name() {
        for k in Kind::ALL {
            assert!(crate::admin::i18n::has(&format!(
                "templates.kind.{}",
                k.as_str()
            )));
        }
        for l in Locale::ALL {
            assert!(crate::admin::i18n::has(&format!(
                "templates.locale.{}",
                l.as_str()
            )));
        }
    }
}
