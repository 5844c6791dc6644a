//! Request input read only after the caller is authorised, and refused when it carries control
//! characters (PostgreSQL cannot store NUL in text, and no Patron field means one).

use std::marker::PhantomData;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, FieldError};

/// A JSON request body that has not been read yet.
///
/// Extracting it never fails and reads nothing, so a handler checks the caller first and only
/// then calls [`Body::read`]: an unauthorised caller learns nothing about the route's body.
pub struct Body<T> {
    req: HttpRequest,
    payload: Payload,
    kind: PhantomData<fn() -> T>,
}

impl<T> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Body {
            req: req.clone(),
            payload: payload.take(),
            kind: PhantomData,
        }))
    }
}

impl<T: DeserializeOwned> Body<T> {
    /// Reads and parses the body: 415 without a JSON content type, 413 past the size limit, 400
    /// for malformed JSON, anything but an object, a value of the wrong shape, or text holding
    /// control characters.
    pub async fn read(mut self) -> Result<T, ApiError> {
        let value = web::Json::<Value>::from_request(&self.req, &mut self.payload)
            .await
            .map_err(from_extractor)?
            .into_inner();
        // Every Patron body is an object; serde would also take a struct as a positional array.
        if !value.is_object() {
            return Err(ApiError::bad_request(
                "invalid_body",
                "The request body must be a JSON object",
            ));
        }
        let mut bad = Vec::new();
        find_control_chars(&value, &mut String::new(), &mut bad);
        if !bad.is_empty() {
            return Err(ApiError::validation(bad));
        }
        serde_json::from_value(value).map_err(|e| {
            ApiError::bad_request("invalid_body", format!("The request body is invalid: {e}"))
        })
    }

    /// Like [`Body::read`], but a request without a body (no content type and no length, or a
    /// length of 0) reads as `None`.
    pub async fn read_optional(self) -> Result<Option<T>, ApiError> {
        let headers = self.req.headers();
        let length = headers
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok());
        let empty = match length {
            Some(n) => n.trim() == "0",
            None => {
                !headers.contains_key(actix_web::http::header::CONTENT_TYPE)
                    && !headers.contains_key(actix_web::http::header::TRANSFER_ENCODING)
            }
        };
        if empty {
            Ok(None)
        } else {
            self.read().await.map(Some)
        }
    }
}

/// The problem the JSON extractor's error handler (`error::json_error`) already made.
fn from_extractor(err: actix_web::Error) -> ApiError {
    match err.as_error::<ApiError>() {
        Some(api) => api.duplicate(),
        None => ApiError::bad_request(
            "malformed_json",
            format!("The request body could not be read: {err}"),
        ),
    }
}

/// Whether text holds a character no Patron field accepts: NUL and the other C0 controls but
/// tab, line feed and carriage return (fields that must be one line check those themselves), DEL,
/// and the C1 controls.
pub fn has_control_chars(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

const CONTROL_MESSAGE: &str = "must not contain NUL or other control characters";

fn find_control_chars(value: &Value, path: &mut String, bad: &mut Vec<FieldError>) {
    match value {
        Value::String(s) if has_control_chars(s) => {
            bad.push(FieldError::new(path_or_body(path), CONTROL_MESSAGE));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                find_control_chars(item, path, bad);
                path.truncate(len);
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                if has_control_chars(key) {
                    path.push_str(&key.escape_default().to_string());
                    bad.push(FieldError::new(path.clone(), CONTROL_MESSAGE));
                } else {
                    path.push_str(key);
                    find_control_chars(item, path, bad);
                }
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn path_or_body(path: &str) -> String {
    if path.is_empty() {
        "body".to_owned()
    } else {
        path.to_owned()
    }
}

/// Refuses a request whose path or query string decodes to control characters (400), before
/// routing, so no handler ever looks one up in the database.
pub async fn refuse_control_chars_in_url<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let decoded = |raw: &str| {
        percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned()
    };
    let refused = if has_control_chars(&decoded(req.uri().path())) {
        Some(ApiError::bad_request(
            "invalid_path",
            "The path must not contain NUL or other control characters",
        ))
    } else if has_control_chars(&decoded(req.query_string())) {
        Some(ApiError::bad_request(
            "invalid_query",
            "The query string must not contain NUL or other control characters",
        ))
    } else {
        None
    };
    match refused {
        Some(err) => Ok(req.error_response(err).map_into_right_body()),
        None => Ok(next.call(req).await?.map_into_left_body()),
    }
}

/// The query string as `T`, for a handler to read once the caller is authorised: an extractor
/// would read it first, and tell a caller without the route's role what the route accepts.
/// Failures are 400 `invalid_query`, as the extractor's are.
pub fn query<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    web::Query::<T>::from_query(raw)
        .map(web::Query::into_inner)
        .map_err(|e| {
            ApiError::bad_request("invalid_query", format!("The query string is invalid: {e}"))
        })
}
