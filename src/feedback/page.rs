//! The response page `GET/POST /s/{token}`: a small localized HTML form that works without
//! JavaScript. The token is the invitation id signed with the link key (`feedback::token`), so a
//! forged or changed link is a 404 page before any lookup.
//!
//! Every answer, in every case, is an HTML page with the fitting status: 200 (the form, or the
//! thanks), 404 (unknown link, or one the customer never got), 409 (already answered), 410
//! (expired), 422 (the form again with the error next to its field and the comment kept).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::NaiveDateTime;
use secrecy::ExposeSecret;
use utoipa_actix_web::service_config::ServiceConfig;

use super::invitations::{self, Answer, AnswerError};
use super::page_html::{self, Form, FormError, Localized, Notice, Typed};
use super::survey_text::SurveyText;
use super::{InvitationStatus, Kind, invitation_repo, survey_repo};
use crate::app::AppState;
use crate::db::{self, DbConnection};
use crate::error::{ApiError, Problem};
use crate::messages::locale::Locale;

/// The largest form accepted: a comment of 2000 characters, percent-encoded, fits many times.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// Registers the routes (outside `/v1`: they are links in emails).
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(show).service(submit);
}

/// The answer form as sent by a browser (`application/x-www-form-urlencoded`).
#[derive(Debug, utoipa::ToSchema)]
#[schema(as = SurveyPageForm)]
#[allow(dead_code)]
pub struct PageForm {
    /// The chosen score; missing or empty skips the question.
    score: Option<String>,
    /// The answer to the open question, up to 2000 characters.
    #[schema(max_length = 2000)]
    comment: Option<String>,
}

/// What the page of an invitation shows.
enum Loaded {
    Form(Locale, Form),
    Notice(Locale, Notice),
}

/// The page's language when the link names no invitation: the browser's first language if
/// Patron has it, else English.
fn browser_locale(req: &HttpRequest) -> Locale {
    req.headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|tag| Locale::of_tag(tag.split(';').next().unwrap_or_default().trim()))
        .unwrap_or(Locale::En)
}

fn loaded_page(
    c: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> Result<Option<Loaded>, ApiError> {
    let Some(inv) = invitation_repo::find(c, id)? else {
        return Ok(None);
    };
    let Some(customer) =
        crate::customers::repo::resolve(c, &inv.customer_id)?.filter(|cu| cu.erased_at.is_none())
    else {
        return Ok(None);
    };
    let program = crate::program::repo::load(c)?;
    let locale = Locale::negotiate(customer.locale.as_deref(), &program.default_locale);
    let notice = match InvitationStatus::parse(&inv.status) {
        Some(InvitationStatus::Answered) => Some(Notice::AlreadyAnswered),
        Some(InvitationStatus::Sent) if inv.expires_at.is_some_and(|e| e <= now) => {
            Some(Notice::Expired)
        }
        Some(InvitationStatus::Sent) => None,
        _ => Some(Notice::NotFound),
    };
    if let Some(n) = notice {
        return Ok(Some(Loaded::Notice(locale, n)));
    }
    let Some(survey) = survey_repo::find(c, &inv.survey_id)? else {
        return Ok(None);
    };
    let pick = |stored: &str| -> Result<Option<Localized>, ApiError> {
        let text = SurveyText::from_stored(stored)?;
        Ok(text
            .pick(customer.locale.as_deref(), &program.default_locale)
            .map(|(locale, t)| Localized {
                locale,
                text: t.to_owned(),
            }))
    };
    let form = Form {
        kind: Kind::parse(&inv.kind).unwrap_or(Kind::Nps),
        scale: inv.scale,
        question: pick(&survey.question)?,
        open_question: pick(&survey.open_question)?,
    };
    Ok(Some(Loaded::Form(locale, form)))
}

async fn load(state: &AppState, token: &str) -> Result<Option<(String, Loaded)>, ApiError> {
    let Some(id) = super::token::verify(state.jobs.secret.expose_secret(), token) else {
        return Ok(None);
    };
    let now = state.clock.now_naive();
    let lookup = id.clone();
    let loaded = db::run(&state.pool, move |c| loaded_page(c, &lookup, now)).await?;
    Ok(loaded.map(|l| (id, l)))
}

fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        // The token is in the URL: keep it out of caches and referrers.
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("Content-Security-Policy", page_html::CSP.as_str()))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .body(body)
}

fn notice(locale: Locale, which: Notice) -> HttpResponse {
    let status = match which {
        Notice::Thanks => StatusCode::OK,
        Notice::AlreadyAnswered => StatusCode::CONFLICT,
        Notice::Expired => StatusCode::GONE,
        Notice::NotFound => StatusCode::NOT_FOUND,
    };
    html(status, page_html::notice(locale, which))
}

/// The survey of an invitation: the question with the scale as buttons, the open question, and
/// a button that posts the answer to the same URL.
#[utoipa::path(tag = "surveys",
    params(("token" = String, Path, description = "The signed token of the link in the email.")),
    responses(
        (status = 200, description = "The form, in the customer's language (right to left for fa and ar).", content_type = "text/html", body = String),
        (status = 404, description = "A page: the link is not genuine, or names no survey the customer was sent.", content_type = "text/html", body = String),
        (status = 409, description = "A page: the survey was already answered.", content_type = "text/html", body = String),
        (status = 410, description = "A page: the survey can no longer be answered.", content_type = "text/html", body = String),
        (status = 503, description = "`database_unavailable`", body = Problem)))]
#[get("/s/{token}")]
async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(match load(&state, &token).await? {
        None => notice(browser_locale(&req), Notice::NotFound),
        Some((_, Loaded::Notice(locale, n))) => notice(locale, n),
        Some((_, Loaded::Form(locale, form))) => html(
            StatusCode::OK,
            page_html::form(locale, &form, &Typed::default(), &[]),
        ),
    })
}

/// The fields of a url-encoded form body; a field given twice keeps its first value.
fn form_fields(body: &[u8]) -> (Option<String>, Option<String>) {
    let decode = |s: &str| {
        let spaced = s.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8_lossy()
            .into_owned()
    };
    let (mut score, mut comment) = (None, None);
    for pair in String::from_utf8_lossy(body).split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match decode(k).as_str() {
            "score" if score.is_none() => score = Some(decode(v)),
            "comment" if comment.is_none() => comment = Some(decode(v)),
            _ => {}
        }
    }
    (score, comment)
}

/// Records the answer (once per invitation).
#[utoipa::path(tag = "surveys",
    params(("token" = String, Path, description = "The signed token of the link in the email.")),
    request_body(content = PageForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A thank-you page: the answer was recorded.", content_type = "text/html", body = String),
        (status = 404, description = "A page: the link is not genuine, or names no survey the customer was sent.", content_type = "text/html", body = String),
        (status = 409, description = "A page: the survey was already answered.", content_type = "text/html", body = String),
        (status = 410, description = "A page: the survey can no longer be answered.", content_type = "text/html", body = String),
        (status = 413, description = "`payload_too_large`", body = Problem),
        (status = 422, description = "The form again: a score off the scale, no score and no comment, or a comment too long; the error is next to its field and the comment is kept.", content_type = "text/html", body = String),
        (status = 503, description = "`database_unavailable`, `database_busy`", body = Problem)))]
#[post("/s/{token}")]
async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The form is limited to {MAX_FORM_BYTES} bytes"),
        )
    };
    let body = payload
        .to_bytes_limited(MAX_FORM_BYTES)
        .await
        .map_err(|_| too_large())?
        .map_err(|e| {
            ApiError::bad_request("invalid_body", format!("The form could not be read: {e}"))
        })?;
    let (id, locale, form) = match load(&state, &token).await? {
        None => return Ok(notice(browser_locale(&req), Notice::NotFound)),
        Some((_, Loaded::Notice(locale, n))) => return Ok(notice(locale, n)),
        Some((id, Loaded::Form(locale, form))) => (id, locale, form),
    };
    let (score, comment) = form_fields(&body);
    let mut errors = Vec::new();
    let score = match score.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match s.parse::<i32>() {
            Ok(n) if form.kind.score_allowed(form.scale, n) => Some(n),
            _ => {
                errors.push(FormError::BadScore);
                None
            }
        },
    };
    let typed_comment = comment.unwrap_or_default();
    let comment = invitations::parse_comment(Some(&typed_comment)).unwrap_or_else(|_| {
        errors.push(FormError::BadComment);
        None
    });
    let typed = Typed {
        score,
        comment: typed_comment
            .chars()
            .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
            .take(invitations::MAX_COMMENT)
            .collect(),
    };
    if errors.is_empty() && score.is_none() && comment.is_none() {
        errors.push(FormError::Empty);
    }
    let again = |errors: &[FormError]| {
        html(
            StatusCode::UNPROCESSABLE_ENTITY,
            page_html::form(locale, &form, &typed, errors),
        )
    };
    if !errors.is_empty() {
        return Ok(again(&errors));
    }
    let now = state.clock.now_naive();
    let answer = Answer { score, comment };
    let outcome = db::run(&state.pool, move |c| {
        match invitations::answer(c, &id, None, answer.clone(), "email", now) {
            Ok(_) => Ok(Ok(())),
            Err(AnswerError::Db(e)) => Err(ApiError::from(e)),
            Err(refused) => Ok(Err(refused)),
        }
    })
    .await?;
    Ok(match outcome {
        Ok(()) => notice(locale, Notice::Thanks),
        Err(AnswerError::AlreadyAnswered) => notice(locale, Notice::AlreadyAnswered),
        Err(AnswerError::Expired) => notice(locale, Notice::Expired),
        Err(AnswerError::InvalidScore { .. }) => again(&[FormError::BadScore]),
        Err(AnswerError::Empty) => again(&[FormError::Empty]),
        Err(AnswerError::NotFound | AnswerError::Db(_)) => notice(locale, Notice::NotFound),
    })
}
