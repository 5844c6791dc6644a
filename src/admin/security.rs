//! Headers on every console response, and errors turned into pages in the staff member's language.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};
use serde_json::json;

use super::{ConsoleError, i18n, render};
use crate::messages::locale::Locale;

/// No inline script or style; everything from Patron itself; never framed; forms post only here.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Wraps `/admin`: renders [`ConsoleError`]s as pages and sets the security headers.
pub async fn console_layer(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let accept_language = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let res = next.call(req).await?;
    let page = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ConsoleError>())
        .filter(|e| !matches!(e, ConsoleError::SignIn { .. }))
        .map(|e| {
            let lang = res
                .request()
                .extensions()
                .get::<Locale>()
                .copied()
                .unwrap_or_else(|| i18n::from_accept_language(accept_language.as_deref()));
            error_page(e, lang)
        });
    let mut res = match page {
        Some(page) => res.into_response(page),
        None => res.map_into_boxed_body(),
    };
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

fn error_page(error: &ConsoleError, lang: Locale) -> HttpResponse {
    let (title, message, detail) = match error {
        ConsoleError::Csrf => ("error.csrf_title", "error.csrf", None),
        ConsoleError::Forbidden => ("error.forbidden_title", "error.forbidden", None),
        ConsoleError::NotFound => ("error.not_found_title", "error.not_found", None),
        ConsoleError::BadForm(d) => ("error.bad_form_title", "error.bad_form", Some(d.clone())),
        ConsoleError::Api(f) => match f.status {
            401 | 403 => ("error.forbidden_title", "error.forbidden", None),
            404 => ("error.not_found_title", "error.not_found", None),
            _ => (
                "error.refused_title",
                "error.refused",
                Some(f.detail.clone()),
            ),
        },
        ConsoleError::Internal(cause) => {
            tracing::error!(error = %cause, "a console page failed");
            ("error.internal_title", "error.internal", None)
        }
        ConsoleError::SignIn { .. } => ("error.internal_title", "error.internal", None),
    };
    let body = render::render_bare(
        "error.html",
        lang,
        json!({"title": title, "message": message, "detail": detail}),
    )
    .unwrap_or_else(|_| "Error".to_owned());
    HttpResponse::build(error.status())
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// `GET /admin/static/console.css`.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(concat!(
            include_str!("static/console.css"),
            include_str!("static/catalog.css"),
            include_str!("static/customers.css"),
            include_str!("static/insight.css"),
            include_str!("static/access.css"),
        ))
}

/// `GET /admin/static/console.js`.
pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(include_str!("static/console.js"))
}
