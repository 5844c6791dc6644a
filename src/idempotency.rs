//! `Idempotency-Key` (API.md §1): the first response to a key — success or failure — is stored
//! and returned again for the same request.
//!
//! The operation runs first; the key is then inserted with its response as the last statement
//! of the operation's transaction. A concurrent request with the same key (or a retry) runs the
//! operation too, but its insert of the key waits on the twin's row (PostgreSQL) or it waited for
//! the write lock (SQLite) and finds the key taken: its whole transaction rolls back and it
//! answers with the stored response, so an operation takes effect once. A 4xx failure rolls the
//! transaction back and is then stored in a transaction of its own, unless a twin stored its
//! answer first, which then answers both. 5xx failures are not stored.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderMap};
use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::query_builder::QueryFragment;
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::db::schema::idempotency_keys;
use crate::db::{self, DbConnection};
use crate::error::{ApiError, FieldError};

/// The header.
pub const HEADER: &str = "Idempotency-Key";

/// A validated key, scoped to its caller, with the hash of the request it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    caller: String,
    key: String,
    request_hash: String,
}

/// What an operation answered, or the stored answer of an earlier identical request.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON (or problem+json) body.
    pub body: String,
    /// Whether this is a stored answer.
    pub replayed: bool,
}

impl Outcome {
    /// A JSON success body.
    pub fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Result<Self, ApiError> {
        let body = serde_json::to_string(body).map_err(|e| ApiError::internal(e.into()))?;
        Ok(Self {
            status,
            body,
            replayed: false,
        })
    }

    /// The HTTP response.
    pub fn into_response(self) -> HttpResponse {
        let content_type = if self.status.is_client_error() || self.status.is_server_error() {
            "application/problem+json"
        } else {
            "application/json"
        };
        let mut response = HttpResponse::build(self.status);
        response.insert_header((CONTENT_TYPE, content_type));
        if self.replayed {
            response.insert_header(("Idempotent-Replayed", "true"));
        }
        response.body(self.body)
    }
}

fn caller_scope(caller: &Caller) -> String {
    match caller {
        Caller::Staff { id, .. } => format!("staff:{id}"),
        Caller::ApiKey { id, .. } => format!("api_key:{id}"),
        Caller::Customer(c) => format!("customer:{}", c.customer_id.0),
    }
}

/// Reads and checks the header. `body` is the canonical request body.
pub fn key_from(
    req: &HttpRequest,
    caller: &Caller,
    body: &[u8],
    required: bool,
) -> Result<Option<IdempotencyKey>, ApiError> {
    parse(
        req.headers(),
        req.method().as_str(),
        req.path(),
        caller,
        body,
        required,
    )
}

fn parse(
    headers: &HeaderMap,
    method: &str,
    path: &str,
    caller: &Caller,
    body: &[u8],
    required: bool,
) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(raw) = headers.get(HEADER) else {
        return if required {
            Err(ApiError::bad_request(
                "idempotency_key_required",
                "This operation needs an Idempotency-Key header",
            ))
        } else {
            Ok(None)
        };
    };
    let key = raw
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| (0x20..0x7f).contains(&b)));
    let Some(key) = key else {
        return Err(ApiError::validation(vec![FieldError::new(
            HEADER,
            "must be 1 to 255 printable ASCII characters",
        )]));
    };
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update(b" ");
    hash.update(path.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    Ok(Some(IdempotencyKey {
        caller: caller_scope(caller),
        key: key.to_owned(),
        request_hash: hex::encode(hash.finalize()),
    }))
}

/// Runs `op` at most once per key; without a key it simply runs it in a write transaction.
/// Server errors (5xx) are not stored, so the client can retry them.
pub fn execute<F>(
    conn: &mut DbConnection,
    key: Option<&IdempotencyKey>,
    now: NaiveDateTime,
    op: F,
) -> Result<Outcome, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<Outcome, ApiError>,
{
    execute_with(conn, key, now, |c, _| Ok((op(c)?, None)))
}

/// The insert of a key with its answer, for an operation that sends it with its own writes
/// (one round trip fewer); see [`execute_with`].
pub struct KeyWrite<'k> {
    key: &'k IdempotencyKey,
    now: NaiveDateTime,
}

impl KeyWrite<'_> {
    /// Adds the key's insert with `answer` to `batch`; returns its index in the batch's answer
    /// (1 row written: the key is this request's; 0: a twin's or an earlier request's).
    pub fn push(&self, batch: &mut crate::db::batch::Batch<'_>, answer: &Outcome) -> usize {
        batch.push(insert(self.key, self.now, answer))
    }
}

/// [`execute`] for an operation that may write the key itself: `op` gets the key's insert
/// (with a key) and answers with its outcome and, if it sent the insert with its writes, the
/// rows the insert wrote. The insert must be its transaction's last write, its answer the
/// outcome `op` returns.
pub fn execute_with<F>(
    conn: &mut DbConnection,
    key: Option<&IdempotencyKey>,
    now: NaiveDateTime,
    op: F,
) -> Result<Outcome, ApiError>
where
    F: FnOnce(
        &mut DbConnection,
        Option<&KeyWrite<'_>>,
    ) -> Result<(Outcome, Option<usize>), ApiError>,
{
    let Some(key) = key else {
        return db::write(conn, |c| op(c, None).map(|(outcome, _)| outcome));
    };
    let write = KeyWrite { key, now };
    let result = db::write(conn, |c| -> Result<Outcome, Failure> {
        // No savepoint around `op`: when it refuses, the whole transaction rolls back and the
        // refusal is stored on its own below.
        let (outcome, inserted) = op(c, Some(&write)).map_err(Failure::Op)?;
        // The key is written with its answer last, in one statement. A twin that got here
        // first (or a key used before) wins: this insert waits until the twin's transaction
        // ends and then writes nothing, and everything `op` did here is rolled back, so the
        // work counts once and the twin's answer is replayed below.
        let inserted = match inserted {
            Some(rows) => rows,
            None => store(c, key, now, &outcome)?,
        };
        if inserted == 0 {
            return Err(Failure::Other(ApiError::conflict(
                "idempotency_key_in_use",
                "A request with this Idempotency-Key is still running",
            )));
        }
        Ok(outcome)
    });
    match result {
        Ok(outcome) => Ok(outcome),
        // Refused: the refusal is the key's answer, so that a retry gets it again. A twin that
        // stored its answer first answers for both.
        Err(Failure::Op(e)) if e.status_is_client_error() => {
            let refused = Outcome {
                status: e.status(),
                body: e.problem_json(),
                replayed: false,
            };
            db::write(conn, |c| {
                if store(c, key, now, &refused)? == 1 {
                    return Ok(refused);
                }
                match find(c, key)? {
                    Some(stored) => replay(stored, key),
                    None => Err(ApiError::conflict(
                        "idempotency_key_in_use",
                        "A request with this Idempotency-Key is still running",
                    )),
                }
            })
        }
        // A twin committed first while this one waited: answer with its stored response.
        Err(Failure::Other(e)) if e.code() == "idempotency_key_in_use" => match find(conn, key)? {
            Some(stored) => replay(stored, key),
            None => Err(e),
        },
        Err(Failure::Op(e) | Failure::Other(e)) => Err(e),
    }
}

/// Why keyed work failed: the operation itself, or the key's bookkeeping.
enum Failure {
    Op(ApiError),
    Other(ApiError),
}

impl From<diesel::result::Error> for Failure {
    fn from(e: diesel::result::Error) -> Self {
        Failure::Other(e.into())
    }
}

/// Inserts the key with its answer unless the key exists (a twin's insert waits for this
/// transaction). Returns the rows inserted.
fn store(
    c: &mut DbConnection,
    key: &IdempotencyKey,
    now: NaiveDateTime,
    answer: &Outcome,
) -> QueryResult<usize> {
    let mut batch = crate::db::batch::Batch::new(c);
    batch.push(insert(key, now, answer));
    Ok(batch.run(c)?.first().copied().unwrap_or(0))
}

/// The insert of the key with its answer, unless the key exists.
fn insert(
    key: &IdempotencyKey,
    now: NaiveDateTime,
    answer: &Outcome,
) -> impl QueryFragment<diesel::pg::Pg> + QueryFragment<diesel::sqlite::Sqlite> + Send + 'static {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::caller.eq(key.caller.clone()),
            idempotency_keys::idempotency_key.eq(key.key.clone()),
            idempotency_keys::request_hash.eq(key.request_hash.clone()),
            idempotency_keys::response_status.eq(i32::from(answer.status.as_u16())),
            idempotency_keys::response_body.eq(answer.body.clone()),
            idempotency_keys::created_at.eq(now),
        ))
        .on_conflict((idempotency_keys::caller, idempotency_keys::idempotency_key))
        .do_nothing()
}

fn find(c: &mut DbConnection, key: &IdempotencyKey) -> QueryResult<Option<(String, i32, String)>> {
    idempotency_keys::table
        .find((&key.caller, &key.key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::response_status,
            idempotency_keys::response_body,
        ))
        .first(c)
        .optional()
}

fn replay(
    (hash, status, body): (String, i32, String),
    key: &IdempotencyKey,
) -> Result<Outcome, ApiError> {
    if hash != key.request_hash {
        return Err(ApiError::unprocessable(
            "idempotency_key_reused",
            "This Idempotency-Key was used with a different request",
        ));
    }
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok());
    match status {
        Some(status) => Ok(Outcome {
            status,
            body,
            replayed: true,
        }),
        None => Err(ApiError::conflict(
            "idempotency_key_in_use",
            "A request with this Idempotency-Key is still running",
        )),
    }
}

/// Runs an operation that creates something (201) under the request's optional Idempotency-Key.
pub async fn created<T, F>(
    state: &crate::app::AppState,
    req: &HttpRequest,
    caller: &Caller,
    canonical: &[u8],
    mut op: F,
) -> Result<HttpResponse, ApiError>
where
    T: serde::Serialize,
    F: FnMut(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
{
    let key = key_from(req, caller, canonical, false)?;
    let now = state.clock.now_naive();
    let outcome = db::run(&state.pool, move |c| {
        execute(c, key.as_ref(), now, |c| {
            Outcome::json(StatusCode::CREATED, &op(c)?)
        })
    })
    .await?;
    Ok(outcome.into_response())
}
