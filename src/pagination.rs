//! Cursor pagination shared by list endpoints: `?limit=` (default 50, max 200) and an opaque `?cursor=`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{ApiError, FieldError};

/// `?limit=&cursor=` of plain list endpoints.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page size.
pub const MAX_LIMIT: i64 = 200;

/// Checks `?limit=`.
pub fn limit(requested: Option<i64>) -> Result<i64, ApiError> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::validation(vec![FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        )])),
    }
}

/// Wraps a position into an opaque cursor.
pub fn encode(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position)
}

/// Unwraps a cursor made by [`encode`].
pub fn decode(cursor: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_cursor",
                "The cursor is not one this service issued",
            )
        })
}

/// The number inside a cursor made by `encode(&n.to_string())` (lists ordered by a sequence).
pub fn decode_seq(cursor: &str) -> Result<i64, ApiError> {
    decode(cursor)?.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_cursor",
            "The cursor is not one this service issued",
        )
    })
}

/// Trims a `limit + 1` fetch to `limit` rows and returns the cursor of the next page, if any.
pub fn next_page<T>(
    rows: &mut Vec<T>,
    limit: i64,
    position: impl Fn(&T) -> String,
) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|r| encode(&position(r)))
    } else {
        None
    }
}

/// A cursor for lists ordered by (timestamp, id).
pub fn encode_position(at: chrono::NaiveDateTime, id: &str) -> String {
    encode(&format!("{}|{id}", at.and_utc().timestamp_micros()))
}

/// The (timestamp, id) inside a cursor made by [`encode_position`].
pub fn decode_position(cursor: &str) -> Result<(chrono::NaiveDateTime, String), ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "invalid_cursor",
            "The cursor is not one this service issued",
        )
    };
    let raw = decode(cursor)?;
    let (micros, id) = raw.split_once('|').ok_or_else(invalid)?;
    let micros: i64 = micros.parse().map_err(|_| invalid())?;
    let at = chrono::DateTime::<chrono::Utc>::from_timestamp_micros(micros).ok_or_else(invalid)?;
    Ok((at.naive_utc(), id.to_owned()))
}

/// Like [`next_page`], for lists ordered by (timestamp, id).
pub fn next_position_page<T>(
    rows: &mut Vec<T>,
    limit: i64,
    position: impl Fn(&T) -> (chrono::NaiveDateTime, String),
) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|r| {
            let (at, id) = position(r);
            encode_position(at, &id)
        })
    } else {
        None
    }
}
