//! Earning rule queries.

use diesel::prelude::*;

use super::RuleRow;
use crate::db::DbConnection;
use crate::db::schema::earning_rules;

/// Active rules of these kinds.
pub fn active(conn: &mut DbConnection, kinds: &[&str]) -> QueryResult<Vec<RuleRow>> {
    earning_rules::table
        .filter(earning_rules::active.eq(true))
        .filter(earning_rules::kind.eq_any(kinds))
        .select(RuleRow::as_select())
        .order(earning_rules::id.asc())
        .load(conn)
}

/// Active event rules for an event name.
pub fn for_event(conn: &mut DbConnection, name: &str) -> QueryResult<Vec<RuleRow>> {
    earning_rules::table
        .filter(earning_rules::active.eq(true))
        .filter(earning_rules::event_name.eq(name))
        .select(RuleRow::as_select())
        .load(conn)
}

/// Every rule, oldest first.
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<RuleRow>> {
    earning_rules::table
        .select(RuleRow::as_select())
        .order(earning_rules::id.asc())
        .limit(1000)
        .load(conn)
}

/// Finds a rule.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<RuleRow>> {
    earning_rules::table
        .find(id)
        .select(RuleRow::as_select())
        .first(conn)
        .optional()
}

/// Locks the rule's row for the rest of the transaction (a no-op UPDATE, so it works on both
/// databases), then reads it: a read-modify-write cannot lose a concurrent change.
pub fn find_for_update(conn: &mut DbConnection, id: &str) -> QueryResult<Option<RuleRow>> {
    diesel::update(earning_rules::table.find(id))
        .set(earning_rules::updated_at.eq(earning_rules::updated_at))
        .execute(conn)?;
    find(conn, id)
}

/// Inserts or replaces a rule.
pub fn save(conn: &mut DbConnection, row: &RuleRow) -> QueryResult<()> {
    crate::cache::changed(crate::cache::Topic::EarningRules);
    let updated = diesel::update(earning_rules::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(earning_rules::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Deletes a rule; false if there was none.
pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    crate::cache::changed(crate::cache::Topic::EarningRules);
    Ok(diesel::delete(earning_rules::table.find(id)).execute(conn)? == 1)
}
