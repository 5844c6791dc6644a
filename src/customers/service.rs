//! Customer rules: natural keys are unique (409 with the existing id, also under races), a customer
//! stays identifiable, and every change is audited in the same transaction.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::model::{Customer, CustomerChanges, CustomerFields, CustomerId, CustomerRow};
use super::repo::{self, ListFilter};
use crate::audit::{self, Actor};
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::timeline::{self, Kind, NewEvent};

/// What can go wrong with customers.
#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    /// Another customer already has this external id, email or phone.
    #[error("a customer with this external_id, email or phone exists")]
    Exists {
        /// That customer's id.
        existing_id: String,
    },
    /// No such customer.
    #[error("customer not found")]
    NotFound,
    /// The change would leave no external id, email or phone.
    #[error("a customer needs at least one of external_id, email or phone")]
    Unidentifiable,
    /// `referral_code_used` names no customer.
    #[error("no customer has this referral code")]
    UnknownReferralCode,
    /// The customer's personal data was erased; nothing new is recorded for them.
    #[error("this customer's data was erased; nothing new can be recorded for them")]
    Erased,
    /// The birthday can only be set once by the customer.
    #[error("the birthday is already set; ask support to change it")]
    BirthdayAlreadySet,
    /// Database failure.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl From<CustomerError> for ApiError {
    fn from(err: CustomerError) -> Self {
        match err {
            CustomerError::Exists { ref existing_id } => {
                let id = existing_id.clone();
                ApiError::conflict("customer_exists", err.to_string()).with_existing_id(id)
            }
            CustomerError::NotFound => ApiError::not_found("Customer"),
            CustomerError::UnknownReferralCode => {
                ApiError::unprocessable("unknown_referral_code", err.to_string())
            }
            CustomerError::Unidentifiable => {
                ApiError::unprocessable("customer_unidentifiable", err.to_string())
            }
            CustomerError::Erased => ApiError::unprocessable("customer_erased", err.to_string()),
            CustomerError::BirthdayAlreadySet => {
                ApiError::unprocessable("birthday_already_set", err.to_string())
            }
            CustomerError::Db(e) => e.into(),
        }
    }
}

/// After a unique violation (a concurrent create won the race), names the winner.
fn conflict_after_race(
    conn: &mut DbConnection,
    err: CustomerError,
    f: &CustomerFields,
    except: Option<&str>,
) -> CustomerError {
    match err {
        CustomerError::Db(ref e) if db::is_unique_violation(e) => {
            match repo::find_conflict(
                conn,
                f.external_id.as_deref(),
                f.email.as_deref(),
                f.phone.as_deref(),
                except,
            ) {
                Ok(Some(existing_id)) => CustomerError::Exists { existing_id },
                Ok(None) => err,
                Err(e) => e.into(),
            }
        }
        other => other,
    }
}

/// Creates a customer with tags.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    fields: CustomerFields,
    tags: Vec<String>,
    now: NaiveDateTime,
) -> Result<Customer, CustomerError> {
    let mut row = CustomerRow::new(CustomerId::generate(), fields.clone(), now);
    if !row.is_identifiable() {
        return Err(CustomerError::Unidentifiable);
    }
    let result = db::write(conn, |c| {
        if let Some(existing_id) = repo::find_conflict_for(c, &fields)? {
            return Err(CustomerError::Exists { existing_id });
        }
        if let Some(code) = &fields.referral_code_used {
            let referrer = repo::find_by_referral_code(c, &code.to_uppercase())?;
            row.referred_by = Some(referrer.ok_or(CustomerError::UnknownReferralCode)?.id);
        }
        repo::insert(c, &row)?;
        crate::points::ledger::open_balance(c, &row.id, now)?;
        super::stats::open(c, &row.id, now)?;
        super::search::index(c, &row)?;
        repo::replace_tags(c, &row.id, &tags)?;
        audit::record(c, actor, "customer.create", "customer", &row.id, now)?;
        timeline::record(
            c,
            NewEvent {
                customer_id: &row.id,
                kind: Kind::Created,
                channel: timeline::channel_of(actor),
                summary: "Joined the club".to_owned(),
                ref_type: "customer",
                ref_id: &row.id,
                occurred_at: now,
            },
            now,
        )?;
        Ok(())
    });
    result.map_err(|e| conflict_after_race(conn, e, &fields, None))?;
    Ok(Customer { row, tags })
}

/// The customer an id names now, for a write: follows a merge alias; an erased customer is
/// refused with [`CustomerError::Erased`].
pub fn live(conn: &mut DbConnection, id: &str) -> Result<CustomerRow, CustomerError> {
    let row = repo::resolve(conn, id)?.ok_or(CustomerError::NotFound)?;
    if row.erased_at.is_some() {
        return Err(CustomerError::Erased);
    }
    Ok(row)
}

/// Loads a customer with tags.
pub fn get(conn: &mut DbConnection, id: &str) -> Result<Customer, CustomerError> {
    let row = repo::find(conn, id)?.ok_or(CustomerError::NotFound)?;
    let tags = repo::tags(conn, id)?;
    Ok(Customer { row, tags })
}

/// Loads the customer an id names now, following a merge alias; the second value is the id
/// asked for when it was an alias.
pub fn lookup(
    conn: &mut DbConnection,
    id: &str,
) -> Result<(Customer, Option<String>), CustomerError> {
    let row = repo::resolve(conn, id)?.ok_or(CustomerError::NotFound)?;
    let merged_from = (row.id != id).then(|| id.to_owned());
    let tags = repo::tags(conn, &row.id)?;
    Ok((Customer { row, tags }, merged_from))
}

/// Loads a customer by external id, following a merge alias; the second value is the id of the
/// merged record that holds the external id, if it was one.
pub fn get_by_external_id(
    conn: &mut DbConnection,
    external_id: &str,
) -> Result<(Customer, Option<String>), CustomerError> {
    let found = repo::find_by_external_id(conn, external_id)?.ok_or(CustomerError::NotFound)?;
    let merged_from = found.merged_into.is_some().then(|| found.id.clone());
    let row = repo::follow_alias(conn, found)?.ok_or(CustomerError::NotFound)?;
    let tags = repo::tags(conn, &row.id)?;
    Ok((Customer { row, tags }, merged_from))
}

/// Who is changing the customer: staff and backends may rewrite a birthday, the customer only once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Editor {
    /// Staff or an API key.
    Operator,
    /// The customer through `/v1/me`.
    Customer,
}

/// Applies validated changes.
pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    editor: Editor,
    id: &str,
    changes: CustomerChanges,
    now: NaiveDateTime,
) -> Result<Customer, CustomerError> {
    let mut keys = CustomerFields::default();
    // A merged record's id changes the surviving customer; an erased customer is not changed.
    let id = &live(conn, id)?.id;
    let result = db::write(conn, |c| {
        // Locked first, so a concurrent password change or PATCH is not written back over.
        let mut row = repo::find_for_update(c, id)?.ok_or(CustomerError::NotFound)?;
        // An erasure is final: no personal data is written back onto the record.
        if row.erased_at.is_some() {
            return Err(CustomerError::Erased);
        }
        if row.merged_into.is_some() {
            // Merged away between the look-up and the lock.
            return Err(CustomerError::NotFound);
        }
        if editor == Editor::Customer && row.birthday.is_some() && changes.birthday.is_some() {
            return Err(CustomerError::BirthdayAlreadySet);
        }
        let tags = changes.tags.clone();
        row.apply(changes);
        row.note_birthday(now);
        row.updated_at = now;
        if !row.is_identifiable() {
            return Err(CustomerError::Unidentifiable);
        }
        keys.external_id = row.external_id.clone();
        keys.email = row.email.clone();
        keys.phone = row.phone.clone();
        if let Some(existing_id) = repo::find_conflict(
            c,
            row.external_id.as_deref(),
            row.email.as_deref(),
            row.phone.as_deref(),
            Some(id),
        )? {
            return Err(CustomerError::Exists { existing_id });
        }
        repo::update(c, &row)?;
        super::search::index(c, &row)?;
        if let Some(tags) = &tags {
            repo::replace_tags(c, id, tags)?;
        }
        audit::record(c, actor, "customer.update", "customer", id, now)?;
        let tags = match tags {
            Some(t) => t,
            None => repo::tags(c, id)?,
        };
        Ok(Customer { row, tags })
    });
    result.map_err(|e| conflict_after_race(conn, e, &keys, Some(id)))
}

/// Lists customers with their tags; returns one row more than `limit` when there is a next page.
pub fn list(
    conn: &mut DbConnection,
    filter: ListFilter,
    limit: i64,
) -> Result<Vec<Customer>, CustomerError> {
    let rows = repo::list(conn, filter, limit)?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut tags: HashMap<String, Vec<String>> = HashMap::new();
    for (customer_id, tag) in repo::tags_of(conn, &ids)? {
        tags.entry(customer_id).or_default().push(tag);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let tags = tags.remove(&row.id).unwrap_or_default();
            Customer { row, tags }
        })
        .collect())
}

/// Sets the customer's login password (already hashed).
pub fn set_password(
    conn: &mut DbConnection,
    id: &str,
    hash: &str,
    now: NaiveDateTime,
) -> Result<(), CustomerError> {
    db::write(conn, |c| {
        if repo::set_password(c, id, hash, now)? == 0 {
            return Err(CustomerError::NotFound);
        }
        audit::record(
            c,
            &Actor::Customer(id.to_owned()),
            "customer.set_password",
            "customer",
            id,
            now,
        )?;
        Ok(())
    })
}
