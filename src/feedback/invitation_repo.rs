//! Invitation queries. Every change of status is a conditional UPDATE whose row count tells the
//! caller whether it won.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::{InvitationRow, InvitationStatus};
use crate::customers::model::CustomerRow;
use crate::db::DbConnection;
use crate::db::schema::{customers, survey_invitations as inv};

// The predicates of the partial indexes `survey_invitations_due_idx` and
// `survey_invitations_reminder_idx`, written as literals: SQLite uses a partial index only when
// the query repeats its WHERE terms, and a bound parameter (`status = ?`) does not.
const DUE_PREDICATE: &str = "survey_invitations.status = 'scheduled'";
const REMINDER_PREDICATE: &str =
    "survey_invitations.status = 'sent' AND survey_invitations.reminders_sent = 0";

/// Inserts the invitations whose dedupe key is new (`ON CONFLICT DO NOTHING`, so a taken key
/// never aborts the caller's transaction); returns how many were inserted.
pub fn insert_new(conn: &mut DbConnection, rows: &[InvitationRow]) -> QueryResult<usize> {
    let mut inserted = 0;
    for row in rows {
        // ON CONFLICT is backend SQL that diesel's MultiConnection does not render.
        let insert = diesel::insert_into(inv::table)
            .values(row)
            .on_conflict(inv::dedupe_key)
            .do_nothing();
        inserted += match conn {
            DbConnection::Postgres(pg) => insert.execute(pg)?,
            DbConnection::Sqlite(lite) => insert.execute(lite)?,
        };
    }
    Ok(inserted)
}

/// An invitation by id.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<InvitationRow>> {
    inv::table
        .find(id)
        .select(InvitationRow::as_select())
        .first(conn)
        .optional()
}

/// Ids of scheduled invitations due by `now`, oldest due first, after the `(due_at, id)` position
/// (through `survey_invitations_due_idx`).
pub fn due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    let mut q = inv::table
        .filter(sql::<Bool>(DUE_PREDICATE))
        .filter(inv::due_at.le(now))
        .select((inv::id, inv::due_at))
        .order((inv::due_at.asc(), inv::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = after {
        q = q.filter(
            inv::due_at
                .gt(at)
                .or(inv::due_at.eq(at).and(inv::id.gt(id))),
        );
    }
    q.load(conn)
}

/// Claims a due scheduled invitation for the job (scheduled → sent; the job settles the final
/// status in the same transaction). 0 rows: another instance took it first.
pub fn claim_scheduled(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        inv::table
            .find(id)
            .filter(inv::status.eq(InvitationStatus::Scheduled.as_str()))
            .filter(inv::due_at.le(now)),
    )
    .set((
        inv::status.eq(InvitationStatus::Sent.as_str()),
        inv::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Where a claimed invitation ends up.
#[derive(Debug, Clone)]
pub struct Settled<'a> {
    pub status: InvitationStatus,
    pub reason: Option<&'a str>,
    pub sent_at: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
    pub reminder_due_at: Option<NaiveDateTime>,
}

/// Writes the outcome of a claimed invitation.
pub fn settle(
    conn: &mut DbConnection,
    id: &str,
    s: &Settled<'_>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(inv::table.find(id))
        .set((
            inv::status.eq(s.status.as_str()),
            inv::reason.eq(s.reason),
            inv::sent_at.eq(s.sent_at),
            inv::expires_at.eq(s.expires_at),
            inv::reminder_due_at.eq(s.reminder_due_at),
            inv::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Ids of sent, unanswered, unexpired invitations whose reminder is due, oldest first, after the
/// `(reminder_due_at, id)` position (through `survey_invitations_reminder_idx`).
pub fn reminders_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<(String, Option<NaiveDateTime>)>> {
    let mut q = inv::table
        .filter(sql::<Bool>(REMINDER_PREDICATE))
        .filter(inv::reminder_due_at.le(now))
        .filter(inv::expires_at.is_null().or(inv::expires_at.gt(now)))
        .select((inv::id, inv::reminder_due_at))
        .order((inv::reminder_due_at.asc(), inv::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = after {
        q = q.filter(
            inv::reminder_due_at
                .gt(at)
                .or(inv::reminder_due_at.eq(at).and(inv::id.gt(id))),
        );
    }
    q.load(conn)
}

/// Claims the one reminder of an invitation. 0 rows: already reminded (by another instance),
/// answered, or expired.
pub fn claim_reminder(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        inv::table
            .find(id)
            .filter(inv::status.eq(InvitationStatus::Sent.as_str()))
            .filter(inv::reminders_sent.eq(0))
            .filter(inv::reminder_due_at.le(now))
            .filter(inv::expires_at.is_null().or(inv::expires_at.gt(now))),
    )
    .set((inv::reminders_sent.eq(1), inv::updated_at.eq(now)))
    .execute(conn)
}

/// Claims an invitation for its one answer: sent and not expired → answered. 0 rows: answered
/// already, expired, or never sent.
pub fn claim_answer(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        inv::table
            .find(id)
            .filter(inv::status.eq(InvitationStatus::Sent.as_str()))
            .filter(inv::expires_at.is_null().or(inv::expires_at.gt(now))),
    )
    .set((
        inv::status.eq(InvitationStatus::Answered.as_str()),
        inv::answered_at.eq(now),
        inv::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Which of a customer's invitations the app lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mine {
    /// Sent, unanswered and unexpired.
    Open,
    Answered,
    /// Every invitation the customer received (sent or answered).
    All,
}

/// The customer's invitations, newest first, strictly before the cursor position (through
/// `survey_invitations_customer_idx`).
pub fn for_customer(
    conn: &mut DbConnection,
    customer_id: &str,
    which: Mine,
    now: NaiveDateTime,
    before: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<InvitationRow>> {
    let sent = InvitationStatus::Sent.as_str();
    let answered = InvitationStatus::Answered.as_str();
    let mut q = inv::table
        .filter(inv::customer_id.eq(customer_id.to_owned()))
        .select(InvitationRow::as_select())
        .order((inv::created_at.desc(), inv::id.desc()))
        .limit(limit)
        .into_boxed();
    q = match which {
        Mine::Open => q
            .filter(inv::status.eq(sent))
            .filter(inv::expires_at.is_null().or(inv::expires_at.gt(now))),
        Mine::Answered => q.filter(inv::status.eq(answered)),
        Mine::All => q.filter(inv::status.eq_any([sent, answered])),
    };
    if let Some((at, id)) = before {
        q = q.filter(
            inv::created_at
                .lt(at)
                .or(inv::created_at.eq(at).and(inv::id.lt(id))),
        );
    }
    q.load(conn)
}

/// The customers with these ids (aliases and erased ones included), in no particular order.
pub fn customers_by_ids(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<CustomerRow>> {
    customers::table
        .filter(customers::id.eq_any(ids))
        .select(CustomerRow::as_select())
        .load(conn)
}

/// The invitation a survey message carries, withdrawn because the message was suppressed when
/// the dispatcher checked it (consent withdrawn, no email, the contact policy): it reached no one,
/// so it is `suppressed` with the message's reason, gets no reminder and is not counted as sent
/// in response rates. A `survey_invitation` message names its invitation; a ticket follow-up
/// carries the invitation whose dedupe key matches its own (`ticket:{ticket}:{resolution}`).
/// Reminders and other kinds carry none. Returns the rows changed.
pub fn withdraw_for_message(
    conn: &mut DbConnection,
    kind: &str,
    dedupe_key: &str,
    cause_id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let target = match kind {
        "survey_invitation" => inv::table.filter(inv::id.eq(cause_id)).into_boxed(),
        "ticket_follow_up" => match dedupe_key.strip_prefix("ticket_follow_up:") {
            Some(rest) => inv::table
                .filter(inv::dedupe_key.eq(format!("ticket:{rest}")))
                .into_boxed(),
            None => return Ok(0),
        },
        _ => return Ok(0),
    };
    let ids: Vec<String> = target
        .filter(inv::status.eq(InvitationStatus::Sent.as_str()))
        .select(inv::id)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::update(
        inv::table
            .filter(inv::id.eq_any(&ids))
            .filter(inv::status.eq(InvitationStatus::Sent.as_str())),
    )
    .set((
        inv::status.eq(InvitationStatus::Suppressed.as_str()),
        inv::reason.eq(reason),
        inv::sent_at.eq(None::<NaiveDateTime>),
        inv::reminder_due_at.eq(None::<NaiveDateTime>),
        inv::updated_at.eq(now),
    ))
    .execute(conn)
}
