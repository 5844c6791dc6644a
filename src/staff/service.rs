//! Staff rules: unique emails, role changes, and never losing the last active admin.

use chrono::NaiveDateTime;

use super::{StaffRow, repo};
use crate::audit::{self, Actor};
use crate::auth::Role;
use crate::db::{self, DbConnection};
use crate::error::ApiError;

/// What can go wrong with staff accounts.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    /// The email is taken.
    #[error("a staff member with this email exists")]
    Exists,
    /// No such staff member.
    #[error("staff member not found")]
    NotFound,
    /// The change would leave no active admin.
    #[error("the last active admin cannot be demoted or deactivated")]
    LastAdmin,
    /// Database failure.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl From<StaffError> for ApiError {
    fn from(err: StaffError) -> Self {
        match err {
            StaffError::Exists => ApiError::conflict("staff_exists", err.to_string()),
            StaffError::NotFound => ApiError::not_found("Staff member"),
            StaffError::LastAdmin => ApiError::unprocessable("last_admin", err.to_string()),
            StaffError::Db(e) => e.into(),
        }
    }
}

/// Creates a staff member whose password is already hashed.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    email: String,
    password_hash: String,
    role: Role,
    now: NaiveDateTime,
) -> Result<StaffRow, StaffError> {
    let row = StaffRow {
        id: uuid::Uuid::now_v7().to_string(),
        email,
        password_hash,
        role: role.as_str().to_owned(),
        active: true,
        created_at: now,
        updated_at: now,
    };
    db::write(conn, |c| {
        if repo::find_by_email(c, &row.email)?.is_some() {
            return Err(StaffError::Exists);
        }
        repo::insert(c, &row).map_err(|e| {
            if db::is_unique_violation(&e) {
                StaffError::Exists
            } else {
                e.into()
            }
        })?;
        audit::record(c, actor, "staff.create", "staff", &row.id, now)?;
        Ok(())
    })?;
    Ok(row)
}

/// Changes role and/or active flag.
pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    role: Option<Role>,
    active: Option<bool>,
    now: NaiveDateTime,
) -> Result<StaffRow, StaffError> {
    db::write(conn, |c| {
        // Decided under the lock: the count below cannot be raced past.
        let active_admins = repo::lock_active_admins(c)?;
        let mut row = repo::find(c, id)?.ok_or(StaffError::NotFound)?;
        let was_active_admin = row.active && row.role == Role::Admin.as_str();
        if let Some(role) = role {
            row.role = role.as_str().to_owned();
        }
        if let Some(active) = active {
            row.active = active;
        }
        let stays_active_admin = row.active && row.role == Role::Admin.as_str();
        if was_active_admin && !stays_active_admin && active_admins <= 1 {
            return Err(StaffError::LastAdmin);
        }
        row.updated_at = now;
        repo::update(c, id, &row.role, row.active, now)?;
        audit::record(c, actor, "staff.update", "staff", id, now)?;
        Ok(row)
    })
}

/// Stores a staff member's new password (already hashed, the current one already checked).
pub fn change_password(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<(), StaffError> {
    db::write(conn, |c| {
        if repo::set_password(c, id, password_hash, now)? == 0 {
            return Err(StaffError::NotFound);
        }
        audit::record(c, actor, "staff.password_change", "staff", id, now)?;
        // A new password signs every console session of theirs out.
        crate::admin::session::end_all(c, id)?;
        Ok(())
    })
}

/// Creates the first admin if there is no staff yet. Returns whether this call created it; when two
/// instances start at once, the unique email lets exactly one win.
pub fn bootstrap_admin(
    conn: &mut DbConnection,
    email: String,
    password_hash: String,
    now: NaiveDateTime,
) -> Result<bool, StaffError> {
    if repo::any(conn)? {
        return Ok(false);
    }
    match create(conn, &Actor::System, email, password_hash, Role::Admin, now) {
        Ok(_) => Ok(true),
        Err(StaffError::Exists) => Ok(false),
        Err(e) => Err(e),
    }
}
