//! Signing in and out, and the console language.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use serde::Deserialize;
use serde_json::json;

use crate::admin::form::Errors;
use crate::admin::render::{self, redirect};
use crate::admin::session::{self, COOKIE, CSRF_FIELD, Console, PRE_COOKIE};
use crate::admin::{ConsoleError, ConsoleResult, Form, i18n};
use crate::app::AppState;
use crate::auth::routes::{check_staff_password, limit_login};
use crate::auth::tokens::Audience;
use crate::db;
use crate::error::ApiError;
use crate::messages::locale::Locale;

/// Registers the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/sign-in", web::get().to(show))
        .route("/sign-in", web::post().to(submit))
        .route("/sign-out", web::post().to(sign_out))
        .route("/language", web::post().to(language));
}

#[derive(Deserialize)]
struct SignInQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    signed_out: Option<String>,
}

fn lang_of(req: &HttpRequest, chosen: &str) -> Locale {
    Locale::parse(chosen).unwrap_or_else(|| {
        i18n::from_accept_language(
            req.headers()
                .get(actix_web::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        )
    })
}

#[allow(clippy::too_many_arguments)]
fn sign_in_page(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    lang: Locale,
    next: &str,
    email: &str,
    errors: Errors,
    notice: Option<&str>,
) -> ConsoleResult {
    // The form's CSRF token before there is a session: the same random value in a cookie and in
    // the form (a cross-site page can send neither).
    let pre = req
        .cookie(PRE_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() >= 32)
        .unwrap_or_else(session::random_token);
    let html = render::render_bare(
        "sign_in.html",
        lang,
        json!({
            "pre_csrf": pre,
            "next": session::safe_next(next),
            "values": {"email": email},
            "errors": errors.to_value(),
            "notice": notice,
        }),
    )?;
    Ok(HttpResponse::build(status)
        .cookie(session::cookie(state, PRE_COOKIE, pre))
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// `GET /admin/sign-in`.
async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<SignInQuery>,
) -> ConsoleResult {
    let lang = lang_of(&req, &query.lang);
    let notice = query.signed_out.as_ref().map(|_| "signin.signed_out");
    sign_in_page(
        &state,
        &req,
        StatusCode::OK,
        lang,
        &query.next,
        "",
        Errors::default(),
        notice,
    )
}

/// `POST /admin/sign-in`: rate limited with the API's login, in the same buckets.
async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> ConsoleResult {
    let body = payload
        .to_bytes_limited(8 * 1024)
        .await
        .map_err(|_| ConsoleError::BadForm("the form is too large".into()))?
        .map_err(|e| ConsoleError::BadForm(e.to_string()))?;
    let form = Form::parse(&body);
    let expected = req.cookie(PRE_COOKIE).map(|c| c.value().to_owned());
    match expected {
        Some(token) if !token.is_empty() && session::same_secret(&token, form.get(CSRF_FIELD)) => {}
        _ => return Err(ConsoleError::Csrf),
    }
    let lang = lang_of(&req, form.get("lang"));
    let next = form.get("next").to_owned();
    let email = form.get("email").trim().to_lowercase();
    let password = form.get("password").to_owned();
    let ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let refused = |status: StatusCode, key: &str| {
        let mut errors = Errors::default();
        errors.add("email", i18n::text(lang, key));
        sign_in_page(&state, &req, status, lang, &next, &email, errors, None)
    };
    if let Err(e) = limit_login(&state, &ip, &email, &password, Audience::Staff) {
        return match e.code() {
            "rate_limited" => refused(StatusCode::TOO_MANY_REQUESTS, "signin.rate_limited"),
            _ => refused(StatusCode::BAD_REQUEST, "signin.invalid"),
        };
    }
    let member = match check_staff_password(&state, email.clone(), password).await {
        Ok(member) => member,
        Err(e) if e.code() == "invalid_credentials" => {
            return refused(StatusCode::UNAUTHORIZED, "signin.invalid");
        }
        Err(e) => return Err(ConsoleError::internal(e.code())),
    };
    let replaced = req.cookie(COOKIE).map(|c| session::hash(c.value()));
    let now = state.clock.now_naive();
    let absolute = state.jobs.settings.console.absolute_timeout_secs;
    let staff_id = member.id.clone();
    let token = db::run(&state.pool, move |c| -> Result<String, ApiError> {
        let token = session::start(c, &staff_id, replaced.as_deref(), now, absolute)?;
        session::default_language(c, &staff_id, lang, now)?;
        Ok(token)
    })
    .await
    .map_err(|e| ConsoleError::internal(e.code()))?;
    Ok(HttpResponse::SeeOther()
        .cookie(session::cookie(&state, COOKIE, token))
        .cookie(session::removal(&state, PRE_COOKIE))
        .insert_header(("Location", session::safe_next(&next).to_owned()))
        .finish())
}

/// `POST /admin/sign-out`: the session ends on the server, the cookie is removed.
async fn sign_out(cx: Console, payload: web::Payload) -> ConsoleResult {
    cx.form(payload).await?;
    let id = cx.session_id.clone();
    db::run(&cx.state.pool, move |c| session::delete(c, &id))
        .await
        .map_err(|e| ConsoleError::internal(e.code()))?;
    Ok(HttpResponse::SeeOther()
        .cookie(session::removal(&cx.state, COOKIE))
        .insert_header((
            "Location",
            format!("/admin/sign-in?signed_out=1&lang={}", cx.lang.as_str()),
        ))
        .finish())
}

/// `POST /admin/language`: remembered for the staff member, on every device.
async fn language(cx: Console, payload: web::Payload) -> ConsoleResult {
    let form = cx.form(payload).await?;
    let lang = Locale::parse(form.get("lang"))
        .ok_or_else(|| ConsoleError::BadForm("unknown language".into()))?;
    let (staff_id, now) = (cx.staff_id.clone(), cx.state.clock.now_naive());
    db::run(&cx.state.pool, move |c| {
        session::set_language(c, &staff_id, lang, now)
    })
    .await
    .map_err(|e| ConsoleError::internal(e.code()))?;
    redirect(session::safe_next(form.get("next")))
}
