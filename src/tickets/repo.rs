//! Ticket queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{ERASED_SUBJECT, FollowUpStatus, Status, TicketRow};
use crate::db::DbConnection;
use crate::db::schema::{messages, tickets};
use crate::messages::Category;

/// A ticket by id.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<TicketRow>> {
    tickets::table
        .find(id)
        .select(TicketRow::as_select())
        .first(conn)
        .optional()
}

/// A ticket by its permanent natural key.
pub fn find_by_external_id(
    conn: &mut DbConnection,
    external_id: &str,
) -> QueryResult<Option<TicketRow>> {
    tickets::table
        .filter(tickets::external_id.eq(external_id))
        .select(TicketRow::as_select())
        .first(conn)
        .optional()
}

/// Inserts a ticket.
pub fn insert(conn: &mut DbConnection, row: &TicketRow) -> QueryResult<()> {
    diesel::insert_into(tickets::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// What a resolution writes.
#[derive(Debug, Clone)]
pub struct Resolution<'a> {
    pub resolved_at: NaiveDateTime,
    pub agent_id: Option<&'a str>,
    pub agent_name: Option<&'a str>,
    pub note: Option<&'a str>,
    pub follow_up: FollowUpStatus,
    pub follow_up_due_at: Option<NaiveDateTime>,
}

/// Resolves the ticket if it is open (one conditional statement, so two resolutions racing
/// count once); returns the rows changed.
pub fn resolve_open(
    conn: &mut DbConnection,
    id: &str,
    r: &Resolution<'_>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        tickets::table
            .find(id)
            .filter(tickets::status.eq(Status::Open.as_str())),
    )
    .set((
        tickets::status.eq(Status::Resolved.as_str()),
        tickets::resolved_at.eq(r.resolved_at),
        tickets::resolved_agent_id.eq(r.agent_id),
        tickets::resolved_agent_name.eq(r.agent_name),
        tickets::resolution_note.eq(r.note),
        tickets::resolutions.eq(tickets::resolutions + 1),
        tickets::follow_up_status.eq(r.follow_up.as_str()),
        tickets::follow_up_due_at.eq(r.follow_up_due_at),
        tickets::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Reopens the ticket if it is resolved, clearing the resolution (the timeline keeps it);
/// returns the rows changed.
pub fn reopen_resolved(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        tickets::table
            .find(id)
            .filter(tickets::status.eq(Status::Resolved.as_str())),
    )
    .set((
        tickets::status.eq(Status::Open.as_str()),
        tickets::resolved_at.eq(None::<NaiveDateTime>),
        tickets::resolved_agent_id.eq(None::<String>),
        tickets::resolved_agent_name.eq(None::<String>),
        tickets::resolution_note.eq(None::<String>),
        tickets::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Moves the ticket's follow-up from `from` to `to` unless something else moved it first;
/// returns the rows changed (0: it was not in `from`).
pub fn move_follow_up(
    conn: &mut DbConnection,
    id: &str,
    from: FollowUpStatus,
    to: FollowUpStatus,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        tickets::table
            .find(id)
            .filter(tickets::follow_up_status.eq(from.as_str())),
    )
    .set((
        tickets::follow_up_status.eq(to.as_str()),
        tickets::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Claims a due follow-up for the job: scheduled → enqueued, only while the ticket is still
/// resolved. 0 rows: another instance took it, or the ticket was reopened.
pub fn claim_follow_up(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        tickets::table
            .find(id)
            .filter(tickets::follow_up_status.eq(FollowUpStatus::Scheduled.as_str()))
            .filter(tickets::status.eq(Status::Resolved.as_str()))
            .filter(tickets::follow_up_due_at.le(now)),
    )
    .set((
        tickets::follow_up_status.eq(FollowUpStatus::Enqueued.as_str()),
        tickets::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Ids of scheduled follow-ups due by `now`, oldest due first, after the `(due_at, id)` position
/// (through `tickets_follow_up_idx`).
pub fn due_follow_ups(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<(String, Option<NaiveDateTime>)>> {
    let mut q = tickets::table
        .filter(tickets::follow_up_status.eq(FollowUpStatus::Scheduled.as_str()))
        .filter(tickets::follow_up_due_at.le(now))
        .select((tickets::id, tickets::follow_up_due_at))
        .order((tickets::follow_up_due_at.asc(), tickets::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = after {
        q = q.filter(
            tickets::follow_up_due_at
                .gt(at)
                .or(tickets::follow_up_due_at.eq(at).and(tickets::id.gt(id))),
        );
    }
    q.load(conn)
}

/// Tickets, newest first (by opening time, then id), strictly before the cursor position.
pub fn list(
    conn: &mut DbConnection,
    customer_id: Option<&str>,
    status: Option<Status>,
    before: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<TicketRow>> {
    let mut q = tickets::table
        .select(TicketRow::as_select())
        .order((tickets::opened_at.desc(), tickets::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(id) = customer_id {
        q = q.filter(tickets::customer_id.eq(id.to_owned()));
    }
    if let Some(s) = status {
        q = q.filter(tickets::status.eq(s.as_str()));
    }
    if let Some((at, id)) = before {
        q = q.filter(
            tickets::opened_at
                .lt(at)
                .or(tickets::opened_at.eq(at).and(tickets::id.lt(id))),
        );
    }
    q.load(conn)
}

/// The customer's open tickets, newest first, at most `limit` (through `tickets_customer_idx`).
pub fn open_for_customer(
    conn: &mut DbConnection,
    customer_id: &str,
    limit: i64,
) -> QueryResult<Vec<TicketRow>> {
    list(conn, Some(customer_id), Some(Status::Open), None, limit)
}

/// Every ticket of the customer, oldest first (the export).
pub fn all_for_customer(conn: &mut DbConnection, customer_id: &str) -> QueryResult<Vec<TicketRow>> {
    tickets::table
        .filter(tickets::customer_id.eq(customer_id))
        .select(TicketRow::as_select())
        .order((tickets::opened_at.asc(), tickets::id.asc()))
        .load(conn)
}

/// Whether the customer has an open ticket other than `except`.
pub fn other_open_ticket(
    conn: &mut DbConnection,
    customer_id: &str,
    except: &str,
) -> QueryResult<bool> {
    tickets::table
        .filter(tickets::customer_id.eq(customer_id))
        .filter(tickets::status.eq(Status::Open.as_str()))
        .filter(tickets::id.ne(except))
        .select(tickets::id)
        .first::<String>(conn)
        .optional()
        .map(|found| found.is_some())
}

/// Whether a survey-category message (a follow-up, an invitation, a reminder) was sent to the
/// customer since `since`, or is waiting to go out: the survey cooldown of the contact policy.
pub fn survey_contact_since(
    conn: &mut DbConnection,
    customer_id: &str,
    since: NaiveDateTime,
) -> QueryResult<bool> {
    let survey = Category::Survey.as_str();
    let sent = messages::table
        .filter(messages::customer_id.eq(customer_id))
        .filter(messages::category.eq(survey))
        .filter(messages::status.eq(crate::messages::Status::Sent.as_str()))
        .filter(messages::sent_at.ge(since))
        .select(messages::id)
        .first::<String>(conn)
        .optional()?;
    if sent.is_some() {
        return Ok(true);
    }
    let waiting = [
        crate::messages::Status::Pending.as_str(),
        crate::messages::Status::Sending.as_str(),
    ];
    messages::table
        .filter(messages::customer_id.eq(customer_id))
        .filter(messages::category.eq(survey))
        .filter(messages::status.eq_any(waiting))
        .select(messages::id)
        .first::<String>(conn)
        .optional()
        .map(|found| found.is_some())
}

/// Erasure: the customer's ticket subjects and resolution notes (free text about them) are
/// overwritten and scheduled follow-ups cancelled. Channels, categories, times and the agents
/// (staff, not the customer) stay for the reports.
pub fn forget_customer(
    conn: &mut DbConnection,
    customer_id: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        tickets::table
            .filter(tickets::customer_id.eq(customer_id))
            .filter(tickets::follow_up_status.eq(FollowUpStatus::Scheduled.as_str())),
    )
    .set((
        tickets::follow_up_status.eq(FollowUpStatus::Cancelled.as_str()),
        tickets::updated_at.eq(now),
    ))
    .execute(conn)?;
    diesel::update(tickets::table.filter(tickets::customer_id.eq(customer_id)))
        .set((
            tickets::subject.eq(ERASED_SUBJECT),
            tickets::resolution_note.eq(None::<String>),
            tickets::updated_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}
