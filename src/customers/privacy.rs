//! The customer's privacy rights: the export of everything stored about them (right of access)
//! and the erasure of their personal data (right to erasure), with amounts kept so totals stay true.

pub mod contacts;
pub mod export;
pub mod feedback;
pub mod repo;

use actix_web::http::header::{CONTENT_DISPOSITION, ContentDisposition, DispositionParam};
use actix_web::{HttpResponse, delete, get, web};
use chrono::NaiveDateTime;
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::CustomerRow;
use super::repo as customers_repo;
use crate::app::AppState;
use crate::audit::{self, Actor};
use crate::auth::{Caller, CustomerCaller, Permission};
use crate::db::{self, DbConnection};
use crate::error::{ApiError, Problem};
use crate::timeline::{self, Kind, NewEvent};
use export::CustomerExport;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(export_customer)
        .service(export_me)
        .service(erase_customer);
}

/// What can go wrong with an export or an erasure.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// No such customer.
    #[error("customer not found")]
    NotFound,
    /// The id is an alias of a merged customer: the data lives with the target.
    #[error("this customer was merged into {target}; erase that customer instead")]
    Merged {
        /// The customer it was merged into.
        target: String,
    },
    /// Database failure.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl From<PrivacyError> for ApiError {
    fn from(err: PrivacyError) -> Self {
        match err {
            PrivacyError::NotFound => ApiError::not_found("Customer"),
            PrivacyError::Merged { .. } => {
                ApiError::unprocessable("customer_merged", err.to_string())
            }
            PrivacyError::Db(e) => e.into(),
        }
    }
}

/// The export of the customer an id names now (a merge alias names its target).
pub fn export(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> Result<CustomerExport, PrivacyError> {
    let row = customers_repo::resolve(conn, id)?.ok_or(PrivacyError::NotFound)?;
    Ok(export::collect(conn, row, now)?)
}

/// The personal fields of `row` removed. The external id becomes `erased:<id>`, because the
/// table requires one identifier; the API shows it as null.
fn anonymised(mut row: CustomerRow, now: NaiveDateTime) -> CustomerRow {
    row.external_id = Some(format!("erased:{}", row.id));
    row.email = None;
    row.phone = None;
    row.first_name = None;
    row.last_name = None;
    row.birthday = None;
    row.birthday_md = None;
    row.birthday_set_at = None;
    row.time_zone = None;
    row.locale = None;
    row.preferred_channel = None;
    row.consent_email_marketing = false;
    row.consent_sms_marketing = false;
    row.consent_surveys = false;
    row.attributes = "{}".to_owned();
    row.referral_code_used = None;
    row.password_hash = None;
    row.referral_code = None;
    row.erased_at = Some(now);
    row.updated_at = now;
    row
}

/// Erases the customer's personal data in one transaction, under the balance row lock. Returns
/// false when the customer was already erased (nothing happens then). Amounts — ledger entries,
/// lots, balance, purchases, returns, codes — are kept, so every total stays true.
pub fn erase(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    now: NaiveDateTime,
) -> Result<bool, PrivacyError> {
    crate::cache::changed(crate::cache::Topic::Customers);
    db::write(conn, |c| {
        let check = |row: Option<CustomerRow>| -> Result<Option<CustomerRow>, PrivacyError> {
            let row = row.ok_or(PrivacyError::NotFound)?;
            if let Some(target) = row.merged_into.clone() {
                return Err(PrivacyError::Merged { target });
            }
            Ok(row.erased_at.is_none().then_some(row))
        };
        if check(customers_repo::find(c, id)?)?.is_none() {
            return Ok(false);
        }
        // The one lock order: the balance row first, then the customer row; decided again
        // under the locks, so a concurrent merge or erasure is seen.
        crate::points::ledger::lock(c, id)?;
        let Some(row) = check(customers_repo::find_for_update(c, id)?)? else {
            return Ok(false);
        };
        let row = anonymised(row, now);
        customers_repo::update(c, &row)?;
        super::search::index(c, &row)?;
        customers_repo::replace_tags(c, id, &[])?;
        repo::clear_event_properties(c, id)?;
        repo::clear_ledger_notes(c, id)?;
        repo::forget_responses(c, id)?;
        repo::clear_feedback_text(c, id)?;
        // Tickets and invitations before messages, the order the follow-up and invitation jobs
        // and reopening lock them in: a follow-up or invitation being sent now is waited for,
        // and its message then cancelled.
        crate::tickets::repo::forget_customer(c, id, now)?;
        repo::cancel_invitations(c, id, now)?;
        crate::messages::outbox::cancel_for_customer(c, id, "customer_erased", now)?;
        repo::forget_messages(c, id)?;
        timeline::record(
            c,
            NewEvent {
                customer_id: id,
                kind: Kind::Erasure,
                channel: timeline::channel_of(actor),
                summary: "Personal data erased".to_owned(),
                ref_type: "customer",
                ref_id: id,
                occurred_at: now,
            },
            now,
        )?;
        audit::record(c, actor, "customer.erase", "customer", id, now)?;
        Ok(true)
    })
}

fn attachment(doc: &CustomerExport) -> HttpResponse {
    let filename = format!("customer-{}.json", doc.customer.profile.id());
    HttpResponse::Ok()
        .insert_header((
            CONTENT_DISPOSITION,
            ContentDisposition {
                disposition: actix_web::http::header::DispositionType::Attachment,
                parameters: vec![DispositionParam::Filename(filename)],
            },
        ))
        .json(doc)
}

/// Export everything stored about a customer (right of access). A merged customer's id exports
/// the customer it was merged into.
#[utoipa::path(tag = "customers", security(("bearer" = [])),
    responses((status = 200, description = "The document, sent as an attachment `customer-<id>.json`",
            body = CustomerExport),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/customers/{id}/export")]
async fn export_customer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::CUSTOMERS_READ)?;
    let now = state.clock.now_naive();
    let doc = db::run(&state.pool, move |c| export(c, &id, now)).await?;
    Ok(attachment(&doc))
}

/// Export everything stored about the customer (their own right of access).
#[utoipa::path(tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "The document, sent as an attachment `customer-<id>.json`",
            body = CustomerExport),
        (status = 401, description = "`token_revoked` after an erasure or a merge", body = Problem),
        (status = 403, body = Problem)))]
#[get("/me/export")]
async fn export_me(
    state: web::Data<AppState>,
    caller: CustomerCaller,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now_naive();
    let id = caller.customer_id.0;
    let doc = db::run(&state.pool, move |c| export(c, &id, now)).await?;
    Ok(attachment(&doc))
}

/// Erase a customer's personal data (right to erasure; staff with the support or admin role).
///
/// Contact details, names, birthday, locale, time zone, consents, attributes, tags, the password,
/// the referral code, event properties and ledger notes are removed; `external_id` reads null
/// and `erased_at` is set. Amounts stay: ledger, lots, balance, purchases, returns and codes.
/// Ticket subjects read `[erased]` and resolution notes are removed; feedback comments and
/// recovery case notes are removed (scores stay, so reports stay true); messages not sent yet
/// are cancelled (reason `customer_erased`) and so are scheduled ticket follow-ups and survey
/// invitations not answered yet; every message loses its address, subject and personal values.
/// Customer tokens stop working (401 `token_revoked`) and nothing new can be recorded for the
/// customer (422 `customer_erased`). Erasing again answers 204 and changes nothing.
#[utoipa::path(tag = "customers", security(("bearer" = [])),
    responses((status = 204, description = "Erased (or already erased)"),
        (status = 401, body = Problem),
        (status = 403, description = "`forbidden`: API keys and roles other than support and admin", body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "`customer_merged`: the id is an alias; erase the customer it was merged into", body = Problem)))]
#[delete("/customers/{id}")]
async fn erase_customer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::CUSTOMERS_ERASE)?;
    let now = state.clock.now_naive();
    let actor = caller.actor();
    db::run(&state.pool, move |c| erase(c, &actor, &id, now)).await?;
    Ok(HttpResponse::NoContent().finish())
}
