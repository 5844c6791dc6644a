//! Queries behind erasure: free text that could hold personal data, cleared in place.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{customer_events, idempotency_keys, ledger_entries};

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
