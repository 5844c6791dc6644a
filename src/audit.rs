//! The audit log: who did what to which object, and when. Written in the same transaction as the change.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::{DbConnection, schema::audit_log};

/// Who performed an action.
#[derive(Debug, Clone)]
pub enum Actor {
    /// A staff member (by id).
    Staff(String),
    /// An API key (by id).
    ApiKey(String),
    /// A customer acting on their own data.
    Customer(String),
    /// The service itself or its CLI.
    System,
}

impl Actor {
    fn parts(&self) -> (&'static str, Option<&str>) {
        match self {
            Actor::Staff(id) => ("staff", Some(id)),
            Actor::ApiKey(id) => ("api_key", Some(id)),
            Actor::Customer(id) => ("customer", Some(id)),
            Actor::System => ("system", None),
        }
    }
}

/// Appends one entry, e.g. `record(c, &actor, "customer.create", "customer", &id, now)`.
pub fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    action: &str,
    target_type: &str,
    target_id: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let mut batch = crate::db::batch::Batch::new(conn);
    batch.push(entry(actor, action, target_type, target_id, at));
    batch.run(conn).map(drop)
}

/// The statement that records an audited action (for a `db::batch::Batch`).
pub fn entry(
    actor: &Actor,
    action: &str,
    target_type: &str,
    target_id: &str,
    at: NaiveDateTime,
) -> impl diesel::query_builder::QueryFragment<diesel::pg::Pg>
+ diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>
+ Send
+ 'static {
    let (actor_type, actor_id) = actor.parts();
    diesel::insert_into(audit_log::table).values((
        audit_log::id.eq(uuid::Uuid::now_v7().to_string()),
        audit_log::actor_type.eq(actor_type.to_owned()),
        audit_log::actor_id.eq(actor_id.map(str::to_owned)),
        audit_log::action.eq(action.to_owned()),
        audit_log::target_type.eq(target_type.to_owned()),
        audit_log::target_id.eq(target_id.to_owned()),
        audit_log::at.eq(at),
    ))
}
