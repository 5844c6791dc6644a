//! Staff accounts: the people who run the program, with their roles.

pub mod repo;
pub mod routes;
pub mod service;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::staff;

/// A staff row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = staff)]
pub struct StaffRow {
    /// Id.
    pub id: String,
    /// Normalised email.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Role name.
    pub role: String,
    /// Whether the account may log in.
    pub active: bool,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}
