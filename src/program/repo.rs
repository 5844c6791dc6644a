//! Loading and saving the program document.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ProgramSettings;
use crate::db::{DbConnection, schema::program};

/// The current settings, or the defaults when none were saved yet.
pub fn load(conn: &mut DbConnection) -> QueryResult<ProgramSettings> {
    let stored: Option<String> = program::table
        .find(1)
        .select(program::document)
        .first(conn)
        .optional()?;
    Ok(stored
        .and_then(|doc| serde_json::from_str(&doc).map_err(|e| tracing::error!(error = %e, "stored program document is unreadable; using defaults")).ok())
        .unwrap_or_default())
}

/// Replaces the settings (call inside a write transaction).
pub fn save(
    conn: &mut DbConnection,
    settings: &ProgramSettings,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let document = serde_json::to_string(settings)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let updated = diesel::update(program::table.find(1))
        .set((program::document.eq(&document), program::updated_at.eq(at)))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(program::table)
            .values((
                program::id.eq(1),
                program::document.eq(&document),
                program::updated_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}
