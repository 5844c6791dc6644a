//! Staff queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::StaffRow;
use crate::db::{DbConnection, schema::staff};

/// Finds a staff member by id.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<StaffRow>> {
    staff::table
        .find(id)
        .select(StaffRow::as_select())
        .first(conn)
        .optional()
}

/// Finds a staff member by normalised email.
pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<StaffRow>> {
    staff::table
        .filter(staff::email.eq(email))
        .select(StaffRow::as_select())
        .first(conn)
        .optional()
}

/// Inserts a staff member.
pub fn insert(conn: &mut DbConnection, row: &StaffRow) -> QueryResult<()> {
    crate::cache::changed(crate::cache::Topic::Staff);
    diesel::insert_into(staff::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// Whether any staff member exists.
pub fn any(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(staff::table.select(staff::id))).get_result(conn)
}

/// Staff ordered by id (time-ordered), after the cursor id.
pub fn list(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<StaffRow>> {
    let mut query = staff::table
        .select(StaffRow::as_select())
        .order(staff::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(staff::id.gt(after.to_owned()));
    }
    query.load(conn)
}

/// Sets role and active flag.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    role: &str,
    active: bool,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    crate::cache::changed(crate::cache::Topic::Staff);
    diesel::update(staff::table.find(id))
        .set((
            staff::role.eq(role),
            staff::active.eq(active),
            staff::updated_at.eq(at),
        ))
        .execute(conn)
}

/// Replaces a staff member's password hash.
pub fn set_password(
    conn: &mut DbConnection,
    id: &str,
    password_hash: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    crate::cache::changed(crate::cache::Topic::Staff);
    diesel::update(staff::table.find(id))
        .set((
            staff::password_hash.eq(password_hash),
            staff::updated_at.eq(at),
        ))
        .execute(conn)
}

/// Locks every active admin's row for the rest of the transaction and returns how many there
/// are. A concurrent demotion that committed first is seen (PostgreSQL re-checks a row it waited
/// for), so two admins demoting each other cannot both count the other.
pub fn lock_active_admins(conn: &mut DbConnection) -> QueryResult<usize> {
    diesel::update(
        staff::table
            .filter(staff::role.eq("admin"))
            .filter(staff::active.eq(true)),
    )
    .set(staff::updated_at.eq(staff::updated_at))
    .execute(conn)
}
