//! What can go wrong on a console page, and the page or redirect each case becomes.
//!
//! Handlers return [`ConsoleResult`] and use `?`; [`super::security::console_layer`] turns an
//! error into a page in the staff member's language.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use super::api::ApiFailure;

/// The result of a console handler.
pub type ConsoleResult = Result<HttpResponse, ConsoleError>;

/// Why a console request failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No valid session: go to the sign-in page, then back to `next`.
    #[error("sign in first")]
    SignIn {
        /// Where to return after signing in.
        next: String,
    },
    /// The form's CSRF token was missing or wrong.
    #[error("the form has expired")]
    Csrf,
    /// The request could not be read as a form.
    #[error("bad form: {0}")]
    BadForm(String),
    /// The staff member's role may not see this page or use this button.
    #[error("forbidden")]
    Forbidden,
    /// No such page or object.
    #[error("not found")]
    NotFound,
    /// The API refused (4xx).
    #[error("the API refused: {} {}", .0.status, .0.code)]
    Api(ApiFailure),
    /// Something broke; logged, and shown as a plain error page.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ConsoleError {
    /// An internal error (logged when rendered).
    pub fn internal(e: impl std::fmt::Display) -> Self {
        ConsoleError::Internal(e.to_string())
    }

    /// For a form: `Ok(failure)` when the API refused the input (400, 409, 422) so the form is
    /// shown again with the problems, else the error as it was.
    pub fn into_form_failure(self) -> Result<ApiFailure, ConsoleError> {
        match self {
            ConsoleError::Api(f) if matches!(f.status, 400 | 409 | 422) => Ok(f),
            other => Err(other),
        }
    }

    /// The status of the page shown.
    pub fn status(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn { .. } => StatusCode::SEE_OTHER,
            ConsoleError::Csrf | ConsoleError::Forbidden => StatusCode::FORBIDDEN,
            ConsoleError::BadForm(_) => StatusCode::BAD_REQUEST,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::Api(f) => match f.status {
                401 | 403 => StatusCode::FORBIDDEN,
                s => StatusCode::from_u16(s).unwrap_or(StatusCode::BAD_REQUEST),
            },
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    // The page itself is rendered by `security::console_layer`, which knows the language; this
    // plain answer is what a response outside that layer would carry.
    fn error_response(&self) -> HttpResponse {
        match self {
            ConsoleError::SignIn { next } => HttpResponse::SeeOther()
                .insert_header((
                    actix_web::http::header::LOCATION,
                    super::session::sign_in_url(next),
                ))
                .finish(),
            other => HttpResponse::build(other.status())
                .content_type("text/plain; charset=utf-8")
                .body(other.status().canonical_reason().unwrap_or("Error")),
        }
    }
}
