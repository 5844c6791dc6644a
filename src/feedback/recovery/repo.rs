//! Recovery case queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{feedback_responses, recovery_cases};
use crate::feedback::{Kind, RecoveryCaseRow, RecoveryStatus};

/// A case with the comment of the response that opened it.
pub type CaseWithComment = (RecoveryCaseRow, Option<String>);

/// Inserts a case. `response_id` is unique: one case per response.
pub fn insert(conn: &mut DbConnection, row: &RecoveryCaseRow) -> QueryResult<()> {
    diesel::insert_into(recovery_cases::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// A case by id, with its response's comment.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<CaseWithComment>> {
    recovery_cases::table
        .inner_join(feedback_responses::table)
        .filter(recovery_cases::id.eq(id))
        .select((RecoveryCaseRow::as_select(), feedback_responses::comment))
        .first(conn)
        .optional()
}

/// Apologies the customer was given for cases opened since `since` (through
/// `recovery_cases_customer_idx`). Read under the customer's balance lock, so it is exact.
pub fn apologies_since(
    conn: &mut DbConnection,
    customer_id: &str,
    since: NaiveDateTime,
) -> QueryResult<i64> {
    recovery_cases::table
        .filter(recovery_cases::customer_id.eq(customer_id))
        .filter(recovery_cases::opened_at.ge(since))
        .filter(recovery_cases::apologized.eq(true))
        .count()
        .get_result(conn)
}

/// Records the apology given with a case.
pub fn mark_apologized(
    conn: &mut DbConnection,
    id: &str,
    points: i64,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(recovery_cases::table.find(id))
        .set((
            recovery_cases::apology_points.eq(points),
            recovery_cases::apologized.eq(true),
            recovery_cases::updated_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// Resolves the case if it is open (one conditional statement, so two resolutions racing count
/// once); returns the rows changed.
pub fn resolve_open(
    conn: &mut DbConnection,
    id: &str,
    staff_id: Option<&str>,
    note: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        recovery_cases::table
            .find(id)
            .filter(recovery_cases::status.eq(RecoveryStatus::Open.as_str())),
    )
    .set((
        recovery_cases::status.eq(RecoveryStatus::Resolved.as_str()),
        recovery_cases::resolved_at.eq(now),
        recovery_cases::resolved_by.eq(staff_id),
        recovery_cases::resolution_note.eq(note),
        recovery_cases::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Filters of the case list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<RecoveryStatus>,
    /// Already resolved past merge aliases.
    pub customer_id: Option<String>,
    pub kind: Option<Kind>,
    /// Strictly before this `(opened_at, id)` position.
    pub before: Option<(NaiveDateTime, String)>,
}

/// Cases, newest first (by opening time, then id). The filters meet an index whichever is
/// given: `recovery_cases_customer_idx`, `recovery_cases_status_idx`, else
/// `recovery_cases_opened_idx` (the kind alone is read along it).
pub fn list(conn: &mut DbConnection, f: &Filter, limit: i64) -> QueryResult<Vec<CaseWithComment>> {
    let mut q = recovery_cases::table
        .inner_join(feedback_responses::table)
        .select((RecoveryCaseRow::as_select(), feedback_responses::comment))
        .order((recovery_cases::opened_at.desc(), recovery_cases::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(s) = f.status {
        q = q.filter(recovery_cases::status.eq(s.as_str()));
    }
    if let Some(id) = &f.customer_id {
        q = q.filter(recovery_cases::customer_id.eq(id.clone()));
    }
    if let Some(k) = f.kind {
        q = q.filter(recovery_cases::kind.eq(k.as_str()));
    }
    if let Some((at, id)) = f.before.clone() {
        q = q.filter(
            recovery_cases::opened_at
                .lt(at)
                .or(recovery_cases::opened_at
                    .eq(at)
                    .and(recovery_cases::id.lt(id))),
        );
    }
    q.load(conn)
}

/// Every case of the customer, oldest first (the export).
pub fn all_for_customer(
    conn: &mut DbConnection,
    customer_id: &str,
) -> QueryResult<Vec<RecoveryCaseRow>> {
    recovery_cases::table
        .filter(recovery_cases::customer_id.eq(customer_id))
        .select(RecoveryCaseRow::as_select())
        .order((recovery_cases::opened_at.asc(), recovery_cases::id.asc()))
        .load(conn)
}
