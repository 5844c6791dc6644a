//! Loading and saving the program document.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ProgramSettings;
use crate::db::{DbConnection, json, schema::program};

/// The current settings, or the defaults when none were saved yet. A stored document that does
/// not parse is an error (never the defaults: they would silently change how points are earned).
pub fn load(conn: &mut DbConnection) -> QueryResult<ProgramSettings> {
    let stored: Option<String> = program::table
        .find(1)
        .select(program::document)
        .first(conn)
        .optional()?;
    match stored {
        Some(doc) => json::parse(&doc),
        None => Ok(ProgramSettings::default()),
    }
}

/// Replaces the settings (call inside a write transaction).
pub fn save(
    conn: &mut DbConnection,
    settings: &ProgramSettings,
    at: NaiveDateTime,
) -> QueryResult<()> {
    crate::cache::changed(crate::cache::Topic::Program);
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
