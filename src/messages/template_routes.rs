//! `GET /v1/templates`, `GET/PUT/DELETE /v1/templates/{kind}/{locale}` and
//! `POST /v1/templates/{kind}/{locale}/preview`: staff read the templates in force, override
//! them (validated by compiling and rendering before they are saved), go back to the shipped
//! default, and preview a template for a real customer.

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::Kind;
use super::locale::Locale;
use super::render::{self, Context, Rendered};
use super::templates::{self, TemplateRow, TemplateSet};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::body::Body;
use crate::error::{ApiError, FieldError, Problem};
use crate::{audit, db};

/// Longest subject template, in characters.
const MAX_SUBJECT: usize = 1000;
/// Longest HTML or text template, in characters.
const MAX_BODY: usize = 100_000;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(list_templates)
        .service(get_template)
        .service(put_template)
        .service(delete_template)
        .service(preview_template);
}

/// A kind and locale with whether staff overrode the shipped template.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateSummary {
    pub kind: Kind,
    /// `en`, `fa` or `ar`.
    pub locale: String,
    /// Whether a staff override is in force (else the shipped default).
    pub overridden: bool,
    /// When the override was saved.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Every kind in every locale.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateList {
    pub data: Vec<TemplateSummary>,
    /// Always `null`: the list is complete.
    pub next_cursor: Option<String>,
}

/// The template in force for a kind and locale.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub kind: Kind,
    pub locale: String,
    /// Subject line template (minijinja).
    pub subject: String,
    /// HTML part template (autoescaped).
    pub html: String,
    /// Plain-text part template.
    pub text: String,
    pub overridden: bool,
    pub updated_at: Option<DateTime<Utc>>,
    /// Staff member who saved the override.
    pub updated_by: Option<String>,
}

impl TemplateView {
    fn new(kind: Kind, locale: Locale, stored: Option<TemplateRow>) -> Self {
        let set = stored
            .as_ref()
            .map_or_else(|| templates::default_for(kind, locale), TemplateRow::set);
        Self {
            kind,
            locale: locale.as_str().to_owned(),
            subject: set.subject,
            html: set.html,
            text: set.text,
            overridden: stored.is_some(),
            updated_at: stored.as_ref().map(|r| r.updated_at.and_utc()),
            updated_by: stored.and_then(|r| r.updated_by),
        }
    }
}

/// A template override (minijinja; see the README section Messages for the variables).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    /// Subject line; rendered to one line.
    #[schema(min_length = 1, max_length = 1000)]
    pub subject: String,
    /// HTML part; values are HTML-escaped.
    #[schema(min_length = 1, max_length = 100000)]
    pub html: String,
    /// Plain-text part.
    #[schema(min_length = 1, max_length = 100000)]
    pub text: String,
}

/// Whom to preview a template for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub customer_id: String,
}

/// The kind and locale of a path; 404 when either is unknown.
fn target(path: &(String, String)) -> Result<(Kind, Locale), ApiError> {
    let kind = Kind::parse(&path.0).ok_or_else(|| ApiError::not_found("Message kind"))?;
    let locale = Locale::parse(&path.1).ok_or_else(|| ApiError::not_found("Template locale"))?;
    Ok((kind, locale))
}

/// Every kind in every locale, and which are overridden (staff).
#[utoipa::path(tag = "templates", security(("bearer" = [])),
    responses((status = 200, body = TemplateList), (status = 403, body = Problem)))]
#[get("/templates")]
async fn list_templates(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::TEMPLATES_READ)?;
    let stored = db::run(&state.pool, templates::all_overrides).await?;
    let mut data = Vec::new();
    for kind in Kind::ALL {
        for locale in Locale::ALL {
            let found = stored
                .iter()
                .find(|r| r.kind == kind.as_str() && r.locale == locale.as_str());
            data.push(TemplateSummary {
                kind,
                locale: locale.as_str().to_owned(),
                overridden: found.is_some(),
                updated_at: found.map(|r| r.updated_at.and_utc()),
            });
        }
    }
    Ok(HttpResponse::Ok().json(TemplateList {
        data,
        next_cursor: None,
    }))
}

/// The template in force for a kind and locale: the override, else the shipped default (staff).
#[utoipa::path(tag = "templates", security(("bearer" = [])),
    responses((status = 200, body = TemplateView), (status = 403, body = Problem),
        (status = 404, description = "`not_found`: unknown kind or locale", body = Problem)))]
#[get("/templates/{kind}/{locale}")]
async fn get_template(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::TEMPLATES_READ)?;
    let (kind, locale) = target(&path)?;
    let stored = db::run(&state.pool, move |c| {
        templates::find_override(c, kind, locale)
    })
    .await?;
    Ok(HttpResponse::Ok().json(TemplateView::new(kind, locale, stored)))
}

/// Overrides the template of a kind and locale. It is compiled and rendered against sample
/// values (once with every value, once with every optional value missing) before it is saved;
/// one that fails is refused with the template engine's error. Audited.
#[utoipa::path(tag = "templates", request_body = TemplateBody, security(("bearer" = [])),
    responses((status = 200, body = TemplateView), (status = 403, body = Problem),
        (status = 404, description = "`not_found`: unknown kind or locale", body = Problem),
        (status = 422, description = "`template_invalid`: the template does not compile or render; the detail holds the error", body = Problem)))]
#[put("/templates/{kind}/{locale}")]
async fn put_template(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: Body<TemplateBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::TEMPLATES_WRITE)?;
    let (kind, locale) = target(&path)?;
    let body = body.read().await?;
    check_lengths(&body)?;
    let set = TemplateSet {
        subject: body.subject,
        html: body.html,
        text: body.text,
    };
    let now = state.clock.now();
    templates::validate(&set, locale, now)
        .map_err(|e| ApiError::unprocessable("template_invalid", e))?;
    let actor = caller.actor();
    let row = TemplateRow {
        kind: kind.as_str().to_owned(),
        locale: locale.as_str().to_owned(),
        subject: set.subject,
        html: set.html,
        text: set.text,
        updated_at: now.naive_utc(),
        updated_by: match &caller {
            Caller::Staff { id, .. } => Some(id.clone()),
            _ => None,
        },
    };
    let saved = row.clone();
    db::run(&state.pool, move |c| {
        db::write(c, |c| {
            templates::save_override(c, &saved)?;
            let target = format!("{}/{}", saved.kind, saved.locale);
            audit::record(
                c,
                &actor,
                "template.update",
                "template",
                &target,
                saved.updated_at,
            )
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(TemplateView::new(kind, locale, Some(row))))
}

fn check_lengths(body: &TemplateBody) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    for (field, value, max) in [
        ("subject", &body.subject, MAX_SUBJECT),
        ("html", &body.html, MAX_BODY),
        ("text", &body.text, MAX_BODY),
    ] {
        let len = value.chars().count();
        if value.trim().is_empty() {
            errors.push(FieldError::new(field, "must not be empty"));
        } else if len > max {
            errors.push(FieldError::new(
                field,
                format!("must be at most {max} characters"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Removes the override: the shipped default is in force again (staff; audited). 204 whether
/// or not there was one.
#[utoipa::path(tag = "templates", security(("bearer" = [])),
    responses((status = 204, description = "The shipped default is in force."),
        (status = 403, body = Problem),
        (status = 404, description = "`not_found`: unknown kind or locale", body = Problem)))]
#[delete("/templates/{kind}/{locale}")]
async fn delete_template(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::TEMPLATES_WRITE)?;
    let (kind, locale) = target(&path)?;
    let now = state.clock.now_naive();
    let actor = caller.actor();
    db::run(&state.pool, move |c| {
        db::write(c, |c| {
            if templates::delete_override(c, kind, locale)? {
                let target = format!("{}/{}", kind.as_str(), locale.as_str());
                audit::record(c, &actor, "template.reset", "template", &target, now)?;
            }
            Ok::<_, diesel::result::Error>(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Renders the template in force for a real customer, with sample values for what a cause
/// would fix (offer code, survey link…) (staff).
#[utoipa::path(tag = "templates", request_body = PreviewRequest, security(("bearer" = [])),
    responses((status = 200, body = Rendered), (status = 403, body = Problem),
        (status = 404, description = "`not_found`: unknown kind, locale or customer", body = Problem),
        (status = 422, description = "`template_invalid`: the template does not render for this customer", body = Problem)))]
#[post("/templates/{kind}/{locale}/preview")]
async fn preview_template(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: Body<PreviewRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::TEMPLATES_READ)?;
    let (kind, locale) = target(&path)?;
    let customer_id = body.read().await?.customer_id;
    let now = state.clock.now();
    let (public_url, secret) = (
        state.jobs.settings.server.public_url.clone(),
        state.jobs.secret.clone(),
    );
    let rendered = db::run(&state.pool, move |c| {
        let customer = crate::customers::repo::resolve(c, &customer_id)?
            .ok_or_else(|| ApiError::not_found("Customer"))?;
        let program = crate::program::repo::load(c)?;
        let tz = render::time_zone(customer.time_zone.as_deref(), &program.time_zone);
        // A preview shows where the link goes, never a working one: staff who may read
        // templates must not be able to opt a customer out.
        let unsubscribe_url = super::unsubscribe::url(
            &public_url,
            secrecy::ExposeSecret::expose_secret(&*secret),
            &customer.id,
            kind.category(),
        )
        .map(|_| format!("{}/u/preview", public_url.trim_end_matches('/')));
        let ctx = Context::for_customer(c, &customer, &program, locale, now.naive_utc())?
            .with_payload(&templates::sample_payload(locale, now))
            .with_unsubscribe(unsubscribe_url);
        let set = templates::current(c, kind, locale)?;
        render::render(&set, locale, tz, &ctx)
            .map_err(|e| ApiError::unprocessable("template_invalid", e.to_string()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(rendered))
}
