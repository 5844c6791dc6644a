//! Queries behind erasure: free text that could hold personal data, cleared in place.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{
    customer_events, feedback_responses, idempotency_keys, ledger_entries, messages,
    recovery_cases, survey_invitations,
};
use crate::feedback::InvitationStatus;

/// Empties the properties of every custom event of the customer (the events and points stay).
pub fn clear_event_properties(conn: &mut DbConnection, customer_id: &str) -> QueryResult<usize> {
    diesel::update(customer_events::table.filter(customer_events::customer_id.eq(customer_id)))
        .set(customer_events::properties.eq("{}"))
        .execute(conn)
}

/// Removes the notes of the customer's ledger entries (the amounts stay).
pub fn clear_ledger_notes(conn: &mut DbConnection, customer_id: &str) -> QueryResult<usize> {
    diesel::update(
        ledger_entries::table
            .filter(ledger_entries::customer_id.eq(customer_id))
            .filter(ledger_entries::note.is_not_null()),
    )
    .set(ledger_entries::note.eq(None::<String>))
    .execute(conn)
}

/// Deletes stored idempotent responses that mention the customer or were made by them. The
/// table is short-lived (keys are kept about a day), so the scan is bounded.
pub fn forget_responses(conn: &mut DbConnection, customer_id: &str) -> QueryResult<usize> {
    // Ids are UUIDs: no `%` or `_` to escape.
    let mentions = format!("%{customer_id}%");
    let own = format!("customer:{customer_id}");
    diesel::delete(
        idempotency_keys::table.filter(
            idempotency_keys::response_body
                .like(mentions)
                .or(idempotency_keys::caller.eq(own)),
        ),
    )
    .execute(conn)
}

/// Removes what the customer's messages say about them: the address, the rendered subject and
/// the values fixed at the cause (ticket subject, resolution note, offer code…). Kind, status and
/// times stay, so the outbox's history stays true.
pub fn forget_messages(conn: &mut DbConnection, customer_id: &str) -> QueryResult<usize> {
    diesel::update(messages::table.filter(messages::customer_id.eq(customer_id)))
        .set((
            messages::to_address.eq(None::<String>),
            messages::subject.eq(None::<String>),
            messages::payload.eq("{}"),
        ))
        .execute(conn)
}

/// Removes the comments of the customer's feedback responses and the notes of their recovery
/// cases (free text about them). Scores, kinds and times stay, so the reports stay true.
pub fn clear_feedback_text(conn: &mut DbConnection, customer_id: &str) -> QueryResult<()> {
    diesel::update(
        feedback_responses::table
            .filter(feedback_responses::customer_id.eq(customer_id))
            .filter(feedback_responses::comment.is_not_null()),
    )
    .set(feedback_responses::comment.eq(None::<String>))
    .execute(conn)?;
    diesel::update(
        recovery_cases::table
            .filter(recovery_cases::customer_id.eq(customer_id))
            .filter(recovery_cases::resolution_note.is_not_null()),
    )
    .set(recovery_cases::resolution_note.eq(None::<String>))
    .execute(conn)
    .map(drop)
}

/// Cancels the customer's invitations that are waiting to go out or for an answer (reason
/// `customer_erased`): no survey reaches them, and no link of theirs can be answered any more.
pub fn cancel_invitations(
    conn: &mut DbConnection,
    customer_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let waiting = [
        InvitationStatus::Scheduled.as_str(),
        InvitationStatus::Sent.as_str(),
    ];
    diesel::update(
        survey_invitations::table
            .filter(survey_invitations::customer_id.eq(customer_id))
            .filter(survey_invitations::status.eq_any(waiting)),
    )
    .set((
        survey_invitations::status.eq(InvitationStatus::Cancelled.as_str()),
        survey_invitations::reason.eq("customer_erased"),
        survey_invitations::updated_at.eq(now),
    ))
    .execute(conn)
}
