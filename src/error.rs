//! `ApiError`: every failure the API reports, rendered as RFC 9457 problem+json with a stable `code`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError, error::JsonPayloadError};
use serde::Serialize;
use utoipa::ToSchema;

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path in the request, e.g. `lines[0].quantity`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A field error from a path and a message.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The problem+json body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// A stable snake_case identifier clients can switch on.
    pub code: String,
    /// Field-level problems, for validation failures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The id of an existing object that conflicts with this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<String>,
}

/// An error returned by a handler.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    existing_id: Option<String>,
    retry_after: Option<u64>,
    source: Option<anyhow::Error>,
}

impl ApiError {
    /// An error with a status, stable code and human-readable detail.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            existing_id: None,
            retry_after: None,
            source: None,
        }
    }

    /// 400 `validation_failed` listing the invalid fields.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", errors.len()),
        };
        Self {
            errors,
            ..Self::new(StatusCode::BAD_REQUEST, "validation_failed", detail)
        }
    }

    /// 400 with a code of its own.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 401: no or bad credentials.
    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    /// 403: authenticated but not allowed.
    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }

    /// 404 `not_found`.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 409 with a code of its own.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 422: well-formed but breaks a business rule.
    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    /// 429 `rate_limited` with the seconds to wait.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many attempts; retry later",
            )
        }
    }

    /// 503 `database_unavailable`: no connection could be had in time.
    pub fn database_unavailable() -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "The database is unavailable; retry shortly",
        )
    }

    /// 500 `internal_error`; the cause is logged, never sent.
    pub fn internal(cause: anyhow::Error) -> Self {
        Self {
            source: Some(cause),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "An unexpected error occurred; the X-Request-Id header identifies it in the logs",
            )
        }
    }

    /// Names the fields a problem is about (shown next to them by a form).
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// Attaches the id of the existing object a conflict is about.
    pub fn with_existing_id(mut self, id: impl Into<String>) -> Self {
        self.existing_id = Some(id.into());
        self
    }

    /// The same problem without its logged cause (the cause stays with the original).
    pub fn duplicate(&self) -> Self {
        Self {
            status: self.status,
            code: self.code,
            detail: self.detail.clone(),
            errors: self.errors.clone(),
            existing_id: self.existing_id.clone(),
            retry_after: self.retry_after,
            source: None,
        }
    }

    /// Whether the work failed only because it lost a race in the database (deadlock victim,
    /// serialization failure) and may succeed if run again.
    pub fn is_transient(&self) -> bool {
        self.code == "database_busy"
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Whether this is a 4xx (a failure the client caused, stored for idempotent replays).
    pub fn status_is_client_error(&self) -> bool {
        self.status.is_client_error()
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(cause) = &self.source {
            tracing::error!(error = ?cause, "request failed");
        }
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let Some(secs) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        response.body(self.problem_json())
    }
}

impl ApiError {
    /// The problem+json body.
    pub fn problem_json(&self) -> String {
        let body = Problem {
            kind: format!(
                "https://patron.dev/problems/{}",
                self.code.replace('_', "-")
            ),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            errors: self.errors.clone(),
            existing_id: self.existing_id.clone(),
        };
        serde_json::to_string(&body).unwrap_or_default()
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        match err {
            diesel::result::Error::NotFound => ApiError::not_found("Resource"),
            e if crate::db::is_transient(&e) => ApiError {
                retry_after: Some(1),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_busy",
                    "The request kept conflicting with concurrent ones; retry it",
                )
            },
            e if crate::db::is_unique_violation(&e) => {
                ApiError::conflict("conflict", "The request conflicts with an existing object")
            }
            e => ApiError::internal(e.into()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(error = %err, "database pool unavailable");
        ApiError::database_unavailable()
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        ApiError::internal(err)
    }
}

/// 403 `store_mismatch`: a store-bound API key acting for another store.
pub fn store_mismatch() -> ApiError {
    ApiError::forbidden("store_mismatch", "This API key is bound to another store")
}

/// Maps JSON body extractor failures onto problem+json.
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Request bodies must be application/json",
        ),
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("Request bodies are limited to {limit} bytes"),
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::bad_request("invalid_body", format!("The request body is invalid: {e}"))
        }
        JsonPayloadError::Deserialize(e) => ApiError::bad_request(
            "malformed_json",
            format!("The request body is not valid JSON: {e}"),
        ),
        other => ApiError::bad_request(
            "malformed_json",
            format!("The request body could not be read: {other}"),
        ),
    };
    api.into()
}

/// Maps query string extractor failures onto problem+json.
pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &HttpRequest,
) -> actix_web::Error {
    ApiError::bad_request(
        "invalid_query",
        format!("The query string is invalid: {err}"),
    )
    .into()
}

/// Maps path extractor failures onto problem+json.
pub fn path_error(err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request("invalid_path", format!("The path is invalid: {err}")).into()
}
