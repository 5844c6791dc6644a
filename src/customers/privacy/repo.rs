//! Queries behind erasure: free text that could hold personal data, cleared in place.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{customer_events, idempotency_keys, ledger_entries, messages};

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
