//! Queries of the dispatcher. Every change to a claimed message is conditional on its claim
//! token and on its still being `sending`, so a message cancelled meanwhile stays cancelled and
//! an instance whose claim was taken over changes nothing.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::outbox::MessageRow;
use super::{Category, Status};
use crate::db::DbConnection;
use crate::db::schema::{customers, message_attempts, messages};

/// Claims up to `batch` due messages (pending and due, or `sending` with an expired claim left by
/// a stopped instance) for `token` until `until`, and returns them. Two dispatchers may read the
/// same candidates; the conditional UPDATE gives each row to one of them.
pub fn claim(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
    batch: i64,
) -> QueryResult<Vec<MessageRow>> {
    let due = messages::status
        .eq(Status::Pending.as_str())
        .or(messages::claimed_until.lt(now));
    let candidates: Vec<String> = messages::table
        .filter(messages::status.eq_any([Status::Pending.as_str(), Status::Sending.as_str()]))
        .filter(messages::due_at.le(now))
        .filter(due)
        .order((messages::due_at.asc(), messages::id.asc()))
        .limit(batch.max(1))
        .select(messages::id)
        .load(conn)?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    crate::db::write(conn, |c| {
        diesel::update(
            messages::table
                .filter(messages::id.eq_any(&candidates))
                .filter(
                    messages::status
                        .eq(Status::Pending.as_str())
                        .and(messages::due_at.le(now))
                        .or(messages::status
                            .eq(Status::Sending.as_str())
                            .and(messages::claimed_until.lt(now))),
                ),
        )
        .set((
            messages::status.eq(Status::Sending.as_str()),
            messages::claim_token.eq(token),
            messages::claimed_until.eq(until),
            messages::updated_at.eq(now),
        ))
        .execute(c)
    })?;
    messages::table
        .filter(messages::claim_token.eq(token))
        .filter(messages::status.eq(Status::Sending.as_str()))
        .order((messages::due_at.asc(), messages::id.asc()))
        .select(MessageRow::as_select())
        .load(conn)
}

/// The message, while `token` holds it.
macro_rules! holding {
    ($id:expr, $token:expr) => {
        messages::table
            .find($id)
            .filter(messages::claim_token.eq($token))
            .filter(messages::status.eq(Status::Sending.as_str()))
    };
}

/// Renews the claim of `token` on the message to `until`, only while the claim has not expired
/// (after that another instance may have taken it over). False when the claim is lost.
pub fn renew_claim(
    conn: &mut DbConnection,
    id: &str,
    token: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<bool> {
    let renewed = diesel::update(holding!(id, token).filter(messages::claimed_until.gt(now)))
        .set(messages::claimed_until.eq(until))
        .execute(conn)?;
    Ok(renewed == 1)
}

/// The message if `token` still holds it.
pub fn held(conn: &mut DbConnection, id: &str, token: &str) -> QueryResult<Option<MessageRow>> {
    holding!(id, token)
        .select(MessageRow::as_select())
        .first(conn)
        .optional()
}

/// Ends the claim with a final status and its reason (suppressed, cancelled); returns whether
/// the claim still held.
pub fn settle_with_reason(
    conn: &mut DbConnection,
    id: &str,
    token: &str,
    status: Status,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    Ok(diesel::update(holding!(id, token))
        .set((
            messages::status.eq(status.as_str()),
            messages::reason.eq(reason),
            messages::claim_token.eq(None::<String>),
            messages::claimed_until.eq(None::<NaiveDateTime>),
            messages::updated_at.eq(now),
        ))
        .execute(conn)?
        > 0)
}

/// Puts the message back in the queue until `due_at`, with the reason (quiet hours).
pub fn defer(
    conn: &mut DbConnection,
    id: &str,
    token: &str,
    due_at: NaiveDateTime,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    Ok(diesel::update(holding!(id, token))
        .set((
            messages::status.eq(Status::Pending.as_str()),
            messages::due_at.eq(due_at),
            messages::reason.eq(reason),
            messages::claim_token.eq(None::<String>),
            messages::claimed_until.eq(None::<NaiveDateTime>),
            messages::updated_at.eq(now),
        ))
        .execute(conn)?
        > 0)
}

/// What an attempt sends, fixed on the message before it goes out.
pub struct Envelope<'a> {
    pub locale: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    /// Kept across retries.
    pub message_id: &'a str,
}

/// Fixes what the attempt sends: locale, address, subject and Message-ID.
pub fn fix_envelope(
    conn: &mut DbConnection,
    id: &str,
    token: &str,
    e: &Envelope<'_>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    Ok(diesel::update(holding!(id, token))
        .set((
            messages::locale.eq(e.locale),
            messages::to_address.eq(e.to),
            messages::subject.eq(e.subject),
            messages::message_id.eq(e.message_id),
            messages::reason.eq(None::<String>),
            messages::updated_at.eq(now),
        ))
        .execute(conn)?
        > 0)
}

/// Marks the message sent.
pub fn mark_sent(
    conn: &mut DbConnection,
    id: &str,
    token: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    Ok(diesel::update(holding!(id, token))
        .set((
            messages::status.eq(Status::Sent.as_str()),
            messages::sent_at.eq(now),
            messages::attempts.eq(messages::attempts + 1),
            messages::last_error.eq(None::<String>),
            messages::claim_token.eq(None::<String>),
            messages::claimed_until.eq(None::<NaiveDateTime>),
            messages::updated_at.eq(now),
        ))
        .execute(conn)?
        > 0)
}

/// Records a failed attempt: back to `pending` at `retry_at`, or `failed` when `retry_at` is
/// `None`.
pub fn mark_failed_attempt(
    conn: &mut DbConnection,
    id: &str,
    token: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let (status, due) = match retry_at {
        Some(at) => (Status::Pending, Some(at)),
        None => (Status::Failed, None),
    };
    let target = holding!(id, token);
    let common = (
        messages::status.eq(status.as_str()),
        messages::attempts.eq(messages::attempts + 1),
        messages::last_error.eq(error),
        messages::claim_token.eq(None::<String>),
        messages::claimed_until.eq(None::<NaiveDateTime>),
        messages::updated_at.eq(now),
    );
    let changed = match due {
        Some(at) => diesel::update(target)
            .set((common, messages::due_at.eq(at)))
            .execute(conn)?,
        None => diesel::update(target).set(common).execute(conn)?,
    };
    Ok(changed > 0)
}

/// One row of the attempt log.
pub struct Attempt<'a> {
    pub message_id: &'a str,
    pub attempt: i32,
    pub at: NaiveDateTime,
    /// `sent`, `temporary_failure` or `permanent_failure`.
    pub outcome: &'a str,
    pub smtp_code: Option<i32>,
    pub detail: &'a str,
}

/// Appends to the attempt log (a number already logged, by an instance whose claim expired
/// under it, is kept as it was).
pub fn log_attempt(conn: &mut DbConnection, a: &Attempt<'_>) -> QueryResult<()> {
    let detail: String = a.detail.chars().take(1000).collect();
    let insert = diesel::insert_into(message_attempts::table)
        .values((
            message_attempts::id.eq(uuid::Uuid::now_v7().to_string()),
            message_attempts::message_id.eq(a.message_id),
            message_attempts::attempt.eq(a.attempt),
            message_attempts::at.eq(a.at),
            message_attempts::outcome.eq(a.outcome),
            message_attempts::smtp_code.eq(a.smtp_code),
            message_attempts::detail.eq(detail),
        ))
        .on_conflict((message_attempts::message_id, message_attempts::attempt))
        .do_nothing();
    // ON CONFLICT is backend SQL that diesel's MultiConnection does not render.
    match conn {
        DbConnection::Postgres(pg) => insert.execute(pg)?,
        DbConnection::Sqlite(lite) => insert.execute(lite)?,
    };
    Ok(())
}

/// Messages of the category that count against the contact policy since `since`: those sent
/// (read through the partial index `messages_customer_sent_idx`), and those other dispatchers
/// are sending right now after passing the same checks (their claim is live and they have been
/// rendered). Run it with the customer's row locked, so the checks of one customer's messages
/// happen one after the other.
pub fn recent_count(
    conn: &mut DbConnection,
    customer_id: &str,
    category: Category,
    since: NaiveDateTime,
    except: &str,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    let sent: i64 = messages::table
        .filter(messages::customer_id.eq(customer_id))
        .filter(messages::category.eq(category.as_str()))
        .filter(messages::status.eq(Status::Sent.as_str()))
        .filter(messages::sent_at.gt(since))
        .count()
        .get_result(conn)?;
    let in_flight: i64 = messages::table
        .filter(messages::customer_id.eq(customer_id))
        .filter(messages::category.eq(category.as_str()))
        .filter(messages::status.eq(Status::Sending.as_str()))
        .filter(messages::id.ne(except))
        .filter(messages::claimed_until.gt(now))
        .filter(messages::locale.is_not_null())
        .count()
        .get_result(conn)?;
    Ok(sent + in_flight)
}

/// Locks the customer's row for the rest of the transaction (a no-op UPDATE, so it works on
/// both databases): two dispatchers decide one customer's contact policy one after the other.
pub fn lock_customer(c: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::update(customers::table.find(id))
        .set(customers::updated_at.eq(customers::updated_at))
        .execute(c)
        .map(drop)
}
