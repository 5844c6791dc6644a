//! Merging two records of one customer (`POST /v1/customers/{id}/merge`): everything the source
//! owns moves to the target in one transaction, and the source stays only as an alias of it.
//!
//! Both balance rows are locked first, in id order, so two merges of the same pair in opposite
//! directions serialise instead of deadlocking; the loser then finds its target merged away and
//! is refused with `merge_into_self`.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::merge_repo;
use super::model::{Customer, CustomerRow};
use super::routes::CustomerResponse;
use super::{repo, search, stats};
use crate::app::AppState;
use crate::audit::{self, Actor};
use crate::auth::{Caller, Permission};
use crate::body::Body;
use crate::db::{self, DbConnection};
use crate::error::{ApiError, Problem};
use crate::idempotency::{self, Outcome};
use crate::points::ledger;
use crate::tiers::{self, CustomerTierRow};
use crate::timeline::{self, Kind, NewEvent};

/// Registers the route.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(merge_route);
}

/// What can go wrong merging.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Either customer does not exist.
    #[error("customer not found")]
    NotFound,
    /// Both ids name the same customer (also through a merge alias).
    #[error("a customer cannot be merged into itself")]
    IntoSelf,
    /// The source was already merged into another customer.
    #[error("the source customer was already merged into customer {into}")]
    AlreadyMerged {
        /// The customer it lives on in.
        into: String,
    },
    /// Either customer's data was erased.
    #[error("this customer's data was erased; nothing new can be recorded for them")]
    Erased,
    /// The combined balance would leave the range of a 64-bit integer.
    #[error("the combined balance cannot hold this many points")]
    Overflow,
    /// Concurrent merges kept moving the records; the client may try again.
    #[error("the customers are being merged concurrently; try again")]
    Busy,
    /// Database failure.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl From<MergeError> for ApiError {
    fn from(err: MergeError) -> Self {
        match err {
            MergeError::NotFound => ApiError::not_found("Customer"),
            MergeError::IntoSelf => ApiError::unprocessable("merge_into_self", err.to_string()),
            MergeError::AlreadyMerged { .. } => {
                ApiError::conflict("customer_merged", err.to_string())
            }
            MergeError::Erased => ApiError::unprocessable("customer_erased", err.to_string()),
            MergeError::Overflow => ApiError::unprocessable("points_overflow", err.to_string()),
            MergeError::Busy => ApiError::conflict("merge_in_progress", err.to_string()),
            MergeError::Db(e) => e.into(),
        }
    }
}

/// The customer to merge into the one in the path.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The record that goes away (becomes an alias of the target).
    source_customer_id: String,
}

/// Merge another customer record into this one.
///
/// Purchases, ledger entries (appended after the target's, renumbered and with running balances
/// continued), point lots, reward codes, events, timeline, tier history, qualifying points and
/// referrals move to the target; balances are added up; the tier becomes the highest of both
/// tiers and the tier the combined qualifying points reach; statistics are rebuilt. Identity
/// fields the target lacks are taken from the source, tags are joined and the target's
/// attributes win; consents stay the target's. The source keeps its external id when the target
/// has one (lookups by it then answer with the target), otherwise the external id moves too.
/// A target id that is itself a merge alias means the customer it was merged into.
#[utoipa::path(tag = "customers", request_body = MergeRequest, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "optional; the first answer is replayed for the same request")),
    responses((status = 200, description = "The merged target", body = CustomerResponse),
        (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, description = "either customer is unknown", body = Problem),
        (status = 409, description = "`customer_merged`: the source was already merged into a customer (a target that is an alias means its survivor instead); `merge_in_progress`: concurrent merges kept moving the records, try again", body = Problem),
        (status = 422, description = "`merge_into_self`, `customer_erased`, `points_overflow`", body = Problem)))]
#[post("/customers/{id}/merge")]
async fn merge_route(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<MergeRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::CUSTOMERS_WRITE)?;
    let body = body.read().await?;
    let canonical = serde_json::to_vec(&body).map_err(|e| ApiError::internal(e.into()))?;
    let key = idempotency::key_from(&req, &caller, &canonical, false)?;
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let target = id.into_inner();
    let outcome = db::run(&state.pool, move |conn| {
        idempotency::execute(conn, key.as_ref(), now, |c| {
            let merged = merge(c, &actor, &target, &body.source_customer_id, now)?;
            Outcome::json(StatusCode::OK, &CustomerResponse::from(merged))
        })
    })
    .await?;
    Ok(outcome.into_response())
}

/// Merges `source_id` into `target_id` in one transaction; returns the target.
pub fn merge(
    conn: &mut DbConnection,
    actor: &Actor,
    target_id: &str,
    source_id: &str,
    now: NaiveDateTime,
) -> Result<Customer, MergeError> {
    crate::cache::changed(crate::cache::Topic::Customers);
    db::write(conn, |c| {
        let (target, source) = lock_pair(c, target_id, source_id)?;
        let source_now = source.merged_into.clone().unwrap_or(source.id.clone());
        if target.id == source_now {
            return Err(MergeError::IntoSelf);
        }
        if let Some(into) = source.merged_into {
            return Err(MergeError::AlreadyMerged { into });
        }
        if target.erased_at.is_some() || source.erased_at.is_some() {
            return Err(MergeError::Erased);
        }
        // Customer rows are locked too (in id order, like the balances) so a concurrent PATCH
        // is not written over.
        let (first, second) = if target.id < source.id {
            (&target.id, &source.id)
        } else {
            (&source.id, &target.id)
        };
        let a = repo::find_for_update(c, first)?.ok_or(MergeError::NotFound)?;
        let b = repo::find_for_update(c, second)?.ok_or(MergeError::NotFound)?;
        let (target, source) = if a.id == target.id { (a, b) } else { (b, a) };
        let target = merge_rows(c, target, source, now)?;
        let program = crate::program::repo::load(c)?;
        move_points(c, &target.id, &source_now, now)?;
        merge_tier(c, &target.id, &source_now, &program, now)?;
        let referrals = merge_repo::move_referrals(c, &source_now, &target.id)?;
        merge_repo::move_owned_rows(c, &source_now, &target.id)?;
        merge_repo::move_qualifying(c, &source_now, &target.id)?;
        let mut tags: BTreeSet<String> = repo::tags(c, &target.id)?.into_iter().collect();
        tags.extend(repo::tags(c, &source_now)?);
        let tags: Vec<String> = tags.into_iter().collect();
        repo::replace_tags(c, &target.id, &tags)?;
        repo::replace_tags(c, &source_now, &[])?;
        stats::rebuild(c, &target.id, referrals, &program.segments, now)?;
        merge_repo::drop_stats(c, &source_now)?;
        timeline::record(
            c,
            NewEvent {
                customer_id: &target.id,
                kind: Kind::Merge,
                channel: timeline::channel_of(actor),
                summary: "Another customer record was merged into this one".to_owned(),
                ref_type: "customer",
                ref_id: &source_now,
                occurred_at: now,
            },
            now,
        )?;
        audit::record(c, actor, "customer.merge", "customer", &target.id, now)?;
        Ok(Customer { row: target, tags })
    })
}

/// Locks the balance rows of the customers both ids name now, in id order, and reads them after
/// the locks: the target resolved through its alias, the source as it is. A concurrent merge
/// can move a record while this one waits; then the newly named rows are locked too.
fn lock_pair(
    c: &mut DbConnection,
    target_id: &str,
    source_id: &str,
) -> Result<(CustomerRow, CustomerRow), MergeError> {
    let mut locked = BTreeSet::new();
    for _ in 0..4 {
        let target = repo::resolve(c, target_id)?.ok_or(MergeError::NotFound)?;
        let source = repo::find(c, source_id)?.ok_or(MergeError::NotFound)?;
        // An alias has no balance row of its own: the customer it names is locked instead.
        let source_live = source
            .merged_into
            .clone()
            .unwrap_or_else(|| source.id.clone());
        let wanted: BTreeSet<String> = [target.id.clone(), source_live].into();
        if wanted.is_subset(&locked) {
            return Ok((target, source));
        }
        for id in wanted {
            if !locked.contains(&id) {
                ledger::lock(c, &id)?;
                locked.insert(id);
            }
        }
    }
    Err(MergeError::Busy)
}

/// Moves identity fields the target lacks, joins attributes, and turns the source into an alias.
/// Unique columns are cleared on the source before the target takes them.
fn merge_rows(
    c: &mut DbConnection,
    mut t: CustomerRow,
    mut s: CustomerRow,
    now: NaiveDateTime,
) -> Result<CustomerRow, MergeError> {
    fn take(target: &mut Option<String>, source: &mut Option<String>) {
        if target.is_none() {
            *target = source.take();
        }
    }
    take(&mut t.external_id, &mut s.external_id);
    take(&mut t.email, &mut s.email);
    take(&mut t.phone, &mut s.phone);
    take(&mut t.first_name, &mut s.first_name);
    take(&mut t.last_name, &mut s.last_name);
    if t.birthday.is_none() {
        // The birthday moves with what the birthday job knows of it (day, and since when).
        t.birthday_md = s.birthday_md.take();
        t.birthday_set_at = s.birthday_set_at.take();
    }
    take(&mut t.birthday, &mut s.birthday);
    take(&mut t.time_zone, &mut s.time_zone);
    take(&mut t.locale, &mut s.locale);
    take(&mut t.preferred_channel, &mut s.preferred_channel);
    if t.referred_by.is_none() && s.referred_by.as_deref() != Some(t.id.as_str()) {
        t.referred_by = s.referred_by.take();
        take(&mut t.referral_code_used, &mut s.referral_code_used);
    }
    if t.referred_by.as_deref() == Some(s.id.as_str()) {
        // The source referred the target: after the merge that would be a self-referral.
        t.referred_by = None;
    }
    let mut attributes = s.attributes();
    attributes.extend(t.attributes());
    t.attributes = serde_json::to_string(&attributes).unwrap_or_else(|_| "{}".to_owned());
    if !s.is_identifiable() {
        // The row must keep one natural key; this one names the merge and no client's id.
        s.external_id = Some(format!("merged:{}", s.id));
    }
    s.merged_into = Some(t.id.clone());
    s.merged_at = Some(now);
    s.updated_at = now;
    t.updated_at = now;
    repo::update(c, &s)?;
    repo::update(c, &t)?;
    merge_repo::repoint_aliases(c, &s.id, &t.id)?;
    search::index(c, &s)?;
    search::index(c, &t)?;
    Ok(t)
}

/// Adds the source's balance to the target's and appends its ledger entries to the target's
/// history. Every sum is checked first: SQLite would turn an overflowing sum into a float.
fn move_points(
    c: &mut DbConnection,
    target: &str,
    source: &str,
    now: NaiveDateTime,
) -> Result<(), MergeError> {
    let t = ledger::balance(c, target, now)?;
    let s = ledger::balance(c, source, now)?;
    let (max_available, max_pending) = merge_repo::max_running(c, source)?;
    let fits = [
        (t.available, s.available),
        (t.pending, s.pending),
        (t.negative, s.negative),
        (t.lifetime_earned, s.lifetime_earned),
        (t.redeemed, s.redeemed),
        (t.expired, s.expired),
        (t.last_seq, s.last_seq),
        (t.available, max_available),
        (t.pending, max_pending),
    ]
    .iter()
    .all(|(a, b)| a.checked_add(*b).is_some());
    if !fits {
        return Err(MergeError::Overflow);
    }
    merge_repo::append_entries(c, source, target, &t)?;
    merge_repo::add_balance(c, &s, target, now)?;
    Ok(())
}

/// The target's tier after the merge: the highest of both current tiers and the tier the
/// combined qualifying points reach. Called before the qualifying points move: it adds up both
/// customers' windows itself. A tier that changes is recorded with the reason `merge`.
fn merge_tier(
    c: &mut DbConnection,
    target: &str,
    source: &str,
    program: &crate::program::ProgramSettings,
    now: NaiveDateTime,
) -> Result<(), MergeError> {
    let all = tiers::repo::all(c)?;
    let held_t = tiers::repo::of_customer(c, target)?;
    let held_s = tiers::repo::of_customer(c, source)?;
    tiers::repo::clear_customer_tier(c, source)?;
    if all.is_empty() {
        return Ok(());
    }
    let tier_of = |row: &Option<CustomerTierRow>| {
        row.as_ref()
            .and_then(|r| all.iter().find(|t| t.id == r.tier_id))
    };
    let qualifying =
        tiers::repo::qualifying(c, target, now, program.tier_window_months)?.saturating_add(
            tiers::repo::qualifying(c, source, now, program.tier_window_months)?,
        );
    let current = tier_of(&held_t);
    let best = [
        current,
        tier_of(&held_s),
        tiers::service::earned_tier(&all, qualifying),
    ]
    .into_iter()
    .flatten()
    .max_by_key(|t| t.threshold);
    let Some(best) = best else {
        return Ok(());
    };
    let below = qualifying < best.threshold;
    if current.is_some_and(|cur| cur.id == best.id) {
        let marked = held_t.as_ref().and_then(|h| h.below_since);
        if !below && marked.is_some() {
            tiers::repo::set_below_since(c, target, None)?;
        } else if below && marked.is_none() {
            tiers::repo::set_below_since(c, target, Some(now))?;
        }
        return Ok(());
    }
    tiers::repo::set_customer_tier(
        c,
        &CustomerTierRow {
            customer_id: target.to_owned(),
            tier_id: best.id.clone(),
            since: now,
            below_since: below.then_some(now),
        },
    )?;
    tiers::repo::record_change(
        c,
        target,
        current.map(|t| t.id.as_str()),
        Some(&best.id),
        "merge",
        qualifying,
        now,
    )?;
    Ok(())
}
