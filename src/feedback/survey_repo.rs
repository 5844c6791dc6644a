//! Survey queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Kind, SurveyRow, Trigger};
use crate::db::DbConnection;
use crate::db::schema::{survey_invitations, surveys};

/// The columns a PATCH changes; `None` leaves a column as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = surveys)]
pub struct SurveyChanges {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub scale: Option<i32>,
    pub question: Option<String>,
    pub open_question: Option<String>,
    pub trigger_type: Option<String>,
    pub delay_hours: Option<i32>,
    pub reminder_after_hours: Option<i32>,
    pub max_reminders: Option<i32>,
    pub expires_after_days: Option<i32>,
    pub active: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

/// A survey by id.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<SurveyRow>> {
    surveys::table
        .find(id)
        .select(SurveyRow::as_select())
        .first(conn)
        .optional()
}

/// Locks the survey's row for the rest of the transaction (a no-op UPDATE), then reads it.
pub fn find_for_update(conn: &mut DbConnection, id: &str) -> QueryResult<Option<SurveyRow>> {
    let locked = diesel::update(surveys::table.find(id))
        .set(surveys::updated_at.eq(surveys::updated_at))
        .execute(conn)?;
    if locked == 0 {
        return Ok(None);
    }
    find(conn, id)
}

/// Inserts a survey.
pub fn insert(conn: &mut DbConnection, row: &SurveyRow) -> QueryResult<()> {
    crate::cache::changed(crate::cache::Topic::Surveys);
    diesel::insert_into(surveys::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// Writes only the changed columns.
pub fn update(conn: &mut DbConnection, id: &str, changes: &SurveyChanges) -> QueryResult<usize> {
    crate::cache::changed(crate::cache::Topic::Surveys);
    diesel::update(surveys::table.find(id))
        .set(changes)
        .execute(conn)
}

/// Whether any invitation was made for the survey (its kind and scale are then fixed).
pub fn has_invitations(conn: &mut DbConnection, survey_id: &str) -> QueryResult<bool> {
    survey_invitations::table
        .filter(survey_invitations::survey_id.eq(survey_id))
        .select(survey_invitations::id)
        .first::<String>(conn)
        .optional()
        .map(|found| found.is_some())
}

/// The active surveys with this trigger (through `surveys_trigger_idx`).
pub fn active_with_trigger(
    conn: &mut DbConnection,
    trigger: Trigger,
) -> QueryResult<Vec<SurveyRow>> {
    surveys::table
        .filter(surveys::trigger_type.eq(trigger.as_str()))
        // The bare column, as in `surveys_trigger_idx`'s WHERE (SQLite uses a partial index
        // only for a query that repeats its terms; `active = ?` does not).
        .filter(surveys::active)
        .select(SurveyRow::as_select())
        .order(surveys::id.asc())
        .load(conn)
}

/// Filters of the survey list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub active: Option<bool>,
    pub kind: Option<Kind>,
    pub trigger: Option<Trigger>,
}

/// Surveys, newest first, strictly before the cursor position.
pub fn list(
    conn: &mut DbConnection,
    f: &ListFilter,
    before: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<SurveyRow>> {
    let mut q = surveys::table
        .select(SurveyRow::as_select())
        .order((surveys::created_at.desc(), surveys::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(a) = f.active {
        q = q.filter(surveys::active.eq(a));
    }
    if let Some(k) = f.kind {
        q = q.filter(surveys::kind.eq(k.as_str()));
    }
    if let Some(t) = f.trigger {
        q = q.filter(surveys::trigger_type.eq(t.as_str()));
    }
    if let Some((at, id)) = before {
        q = q.filter(
            surveys::created_at
                .lt(at)
                .or(surveys::created_at.eq(at).and(surveys::id.lt(id))),
        );
    }
    q.load(conn)
}

/// The surveys with these ids.
pub fn find_many(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<SurveyRow>> {
    surveys::table
        .filter(surveys::id.eq_any(ids))
        .select(SurveyRow::as_select())
        .load(conn)
}
