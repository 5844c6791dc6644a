//! The right-of-access export: one typed document with everything Patron stores about a customer.
//!
//! Support tickets, messages and offers come from [`super::contacts`]; feedback answers, survey
//! invitations and recovery cases from [`super::feedback`].

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::customers::model::{Customer, CustomerRow};
use crate::customers::routes::CustomerResponse;
use crate::customers::{repo, stats};
use crate::db::DbConnection;
use crate::db::schema::{
    audit_log, customer_events, customer_tiers, customers, ledger_entries, point_lots,
    purchase_lines, purchase_returns, purchases, qualifying_points, referral_payouts, reward_codes,
    tier_changes,
};
use crate::points::{BalanceRow, EntryRow, LotRow};
use crate::purchases::earning::BreakdownItem;
use crate::purchases::{LineRow, PurchaseRow, ReturnRow};
use crate::rewards::CodeRow;
use crate::tiers::CustomerTierRow;
use crate::timeline::{self, EventRow};

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// A stored UTC timestamp, loaded straight into the wire type.
#[derive(Debug)]
pub struct Stamp(NaiveDateTime);

impl<DB> Queryable<diesel::sql_types::Timestamp, DB> for Stamp
where
    DB: diesel::backend::Backend,
    NaiveDateTime: diesel::deserialize::FromSql<diesel::sql_types::Timestamp, DB>,
{
    type Row = NaiveDateTime;

    fn build(stored: NaiveDateTime) -> diesel::deserialize::Result<Self> {
        Ok(Stamp(stored))
    }
}

impl From<Stamp> for DateTime<Utc> {
    fn from(s: Stamp) -> Self {
        s.0.and_utc()
    }
}

fn json_map(stored: &str) -> QueryResult<BTreeMap<String, String>> {
    serde_json::from_str(stored).map_err(|e| diesel::result::Error::DeserializationError(e.into()))
}

/// Everything stored about one customer (`GET /v1/customers/{id}/export`, `GET /v1/me/export`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerExport {
    /// When this document was made.
    pub exported_at: DateTime<Utc>,
    pub customer: ExportedCustomer,
    pub balance: ExportedBalance,
    /// Every points ledger entry, oldest first.
    pub ledger_entries: Vec<ExportedEntry>,
    /// Earned lots of points, oldest first.
    pub point_lots: Vec<ExportedLot>,
    /// Purchases with their lines and returns, oldest first.
    pub purchases: Vec<ExportedPurchase>,
    /// Reward codes issued to the customer, oldest first.
    pub reward_codes: Vec<ExportedCode>,
    /// The tier held now, if any.
    pub tier: Option<ExportedTier>,
    pub tier_changes: Vec<ExportedTierChange>,
    /// Qualifying points per month (`YYYY-MM`).
    pub qualifying_points: Vec<ExportedMonth>,
    /// Custom events reported for the customer, with their properties.
    pub events: Vec<ExportedEvent>,
    pub referrals: ExportedReferrals,
    pub statistics: ExportedStats,
    /// Channels, stores and categories used.
    pub usage: Vec<ExportedUsage>,
    /// Stored timeline events, oldest first (points entries are in `ledger_entries`).
    pub timeline: Vec<ExportedTimelineEvent>,
    /// Audit-log entries whose target is the customer.
    pub audit_log: Vec<ExportedAudit>,
    /// Support tickets, oldest first.
    pub tickets: Vec<super::contacts::ExportedTicket>,
    /// Messages (sent, queued, suppressed, cancelled; metadata, no bodies), oldest first.
    pub messages: Vec<super::contacts::ExportedMessage>,
    /// Personal offers such as the birthday gift, oldest first.
    pub offers: Vec<super::contacts::ExportedOffer>,
    /// Feedback answers (NPS, CSAT, CES) with their comments, oldest first.
    pub feedback_responses: Vec<super::feedback::ExportedFeedbackResponse>,
    /// Survey invitations, oldest first.
    pub survey_invitations: Vec<super::feedback::ExportedSurveyInvitation>,
    /// Recovery cases opened by bad answers, oldest first.
    pub recovery_cases: Vec<super::feedback::ExportedRecoveryCase>,
}

/// The customer record.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedCustomer {
    #[serde(flatten)]
    pub profile: CustomerResponse,
    /// The customer whose referral code this customer signed up with.
    pub referred_by: Option<String>,
    /// Set when this record was merged into another.
    pub merged_into: Option<String>,
    pub merged_at: Option<DateTime<Utc>>,
    /// Ids of customer records merged into this one.
    pub merged_aliases: Vec<String>,
}

/// The balance.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedBalance {
    pub available: i64,
    pub pending: i64,
    pub negative: i64,
    pub lifetime_earned: i64,
    pub redeemed: i64,
    pub expired: i64,
    pub updated_at: DateTime<Utc>,
}

/// A ledger entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedEntry {
    pub id: String,
    pub seq: i64,
    pub kind: String,
    pub points: i64,
    pub pending: i64,
    pub negative: i64,
    pub balance_after: i64,
    pub pending_after: i64,
    pub source_type: String,
    pub source_id: String,
    pub lot_id: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A lot of earned points.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedLot {
    pub id: String,
    pub source_type: String,
    pub source_id: String,
    pub points: i64,
    pub remaining: i64,
    pub status: String,
    pub earned_at: DateTime<Utc>,
    pub available_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub expired: i64,
}

/// A purchase.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedPurchase {
    pub id: String,
    pub external_id: String,
    pub store_id: Option<String>,
    pub channel: String,
    pub occurred_at: DateTime<Utc>,
    pub currency: String,
    pub total_minor: i64,
    pub points_earned: i64,
    pub breakdown: Vec<BreakdownItem>,
    pub returned_minor: i64,
    pub points_reversed: i64,
    pub created_at: DateTime<Utc>,
    pub lines: Vec<ExportedLine>,
    pub returns: Vec<ExportedReturn>,
}

/// A purchase line.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedLine {
    pub line_no: i32,
    pub sku: String,
    pub name: Option<String>,
    pub category: Option<String>,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub points: i64,
    pub returned_quantity: i64,
    pub points_reversed: i64,
}

/// A return.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedReturn {
    pub id: String,
    pub external_id: String,
    pub amount_minor: i64,
    pub points_reversed: i64,
    pub points_uncovered: i64,
    pub created_at: DateTime<Utc>,
}

/// A reward code.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedCode {
    pub code: String,
    pub reward_id: String,
    pub points_spent: i64,
    /// As stored: `issued`, `used`, `cancelled`.
    pub status: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub used_store_id: Option<String>,
    pub used_purchase_external_id: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub redeemed_store_id: Option<String>,
}

/// The tier held.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedTier {
    pub tier_id: String,
    pub since: DateTime<Utc>,
    pub below_since: Option<DateTime<Utc>>,
}

/// A tier change.
#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct ExportedTierChange {
    pub id: String,
    pub from_tier_id: Option<String>,
    pub to_tier_id: Option<String>,
    /// `upgrade` or `downgrade`.
    pub reason: String,
    pub qualifying_points: i64,
    #[diesel(deserialize_as = Stamp)]
    pub at: DateTime<Utc>,
}

/// Qualifying points of one month.
#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct ExportedMonth {
    pub month: String,
    pub points: i64,
}

/// A custom event.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedEvent {
    pub id: String,
    pub name: String,
    pub occurred_at: DateTime<Utc>,
    pub properties: BTreeMap<String, String>,
    pub rule_id: Option<String>,
    pub points: i64,
    pub created_at: DateTime<Utc>,
}

/// Referral bonuses paid.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedReferrals {
    /// Bonuses for customers this customer referred.
    pub as_referrer: Vec<ExportedPayout>,
    /// The bonus for being referred, if paid.
    pub as_referred: Vec<ExportedPayout>,
}

/// One referral payout.
#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct ExportedPayout {
    pub referred_customer_id: String,
    pub referrer_customer_id: String,
    pub purchase_id: String,
    pub referrer_points: i64,
    pub referred_points: i64,
    #[diesel(deserialize_as = Stamp)]
    pub paid_at: DateTime<Utc>,
}

/// Purchase statistics and segment.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedStats {
    pub purchase_count: i64,
    pub spent_minor: i64,
    pub returned_minor: i64,
    pub first_purchase_at: Option<DateTime<Utc>>,
    pub last_purchase_at: Option<DateTime<Utc>>,
    pub referrals_successful: i64,
    pub segment: String,
    pub segment_since: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One channel, store or category used.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedUsage {
    /// `channel`, `store` or `category`.
    pub dimension: String,
    pub value: String,
    pub purchases: i64,
    pub spent_minor: i64,
    pub last_at: DateTime<Utc>,
}

/// A stored timeline event.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedTimelineEvent {
    pub id: String,
    pub kind: String,
    pub channel: String,
    pub summary: String,
    pub ref_type: String,
    pub ref_id: String,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

/// An audit-log entry about the customer.
#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct ExportedAudit {
    pub id: String,
    /// `staff`, `api_key`, `customer` or `system`.
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub action: String,
    #[diesel(deserialize_as = Stamp)]
    pub at: DateTime<Utc>,
}

/// Collects the document for this (already resolved) customer. Runs in one transaction, so the
/// parts agree with each other.
pub fn collect(
    conn: &mut DbConnection,
    row: CustomerRow,
    now: NaiveDateTime,
) -> QueryResult<CustomerExport> {
    conn.transaction(|c| {
        let id = row.id.clone();
        let tags = repo::tags(c, &id)?;
        let merged_aliases = customers::table
            .filter(customers::merged_into.eq(&id))
            .select(customers::id)
            .order(customers::id.asc())
            .load(c)?;
        let customer = ExportedCustomer {
            referred_by: row.referred_by.clone(),
            merged_into: row.merged_into.clone(),
            merged_at: row.merged_at.map(utc),
            merged_aliases,
            profile: CustomerResponse::from(Customer { row, tags }),
        };
        Ok(CustomerExport {
            exported_at: utc(now),
            customer,
            balance: balance(crate::points::ledger::balance(c, &id, now)?),
            ledger_entries: ledger(c, &id)?,
            point_lots: lots(c, &id)?,
            purchases: purchases_of(c, &id)?,
            reward_codes: codes(c, &id)?,
            tier: tier(c, &id)?,
            tier_changes: tier_changes::table
                .filter(tier_changes::customer_id.eq(&id))
                .select((
                    tier_changes::id,
                    tier_changes::from_tier_id,
                    tier_changes::to_tier_id,
                    tier_changes::reason,
                    tier_changes::qualifying_points,
                    tier_changes::at,
                ))
                .order((tier_changes::at.asc(), tier_changes::id.asc()))
                .load(c)?,
            qualifying_points: qualifying_points::table
                .filter(qualifying_points::customer_id.eq(&id))
                .select((qualifying_points::month, qualifying_points::points))
                .order(qualifying_points::month.asc())
                .load(c)?,
            events: events(c, &id)?,
            referrals: ExportedReferrals {
                as_referrer: payouts(c, &id, true)?,
                as_referred: payouts(c, &id, false)?,
            },
            statistics: statistics(stats::load(c, &id, now)?),
            usage: stats::usage(c, &id)?
                .into_iter()
                .map(|u| ExportedUsage {
                    dimension: u.dimension,
                    value: u.value,
                    purchases: u.purchases,
                    spent_minor: u.spent_minor,
                    last_at: utc(u.last_at),
                })
                .collect(),
            timeline: timeline::all_events(c, &id)?
                .into_iter()
                .map(timeline_event)
                .collect(),
            audit_log: audit_log::table
                .filter(audit_log::target_type.eq("customer"))
                .filter(audit_log::target_id.eq(&id))
                .select((
                    audit_log::id,
                    audit_log::actor_type,
                    audit_log::actor_id,
                    audit_log::action,
                    audit_log::at,
                ))
                .order((audit_log::at.asc(), audit_log::id.asc()))
                .load(c)?,
            tickets: super::contacts::tickets(c, &id)?,
            messages: super::contacts::messages_of(c, &id)?,
            offers: super::contacts::offers_of(c, &id)?,
            feedback_responses: super::feedback::responses(c, &id)?,
            survey_invitations: super::feedback::invitations(c, &id)?,
            recovery_cases: super::feedback::recovery_cases(c, &id)?,
        })
    })
}

fn balance(b: BalanceRow) -> ExportedBalance {
    ExportedBalance {
        available: b.available,
        pending: b.pending,
        negative: b.negative,
        lifetime_earned: b.lifetime_earned,
        redeemed: b.redeemed,
        expired: b.expired,
        updated_at: utc(b.updated_at),
    }
}

fn ledger(c: &mut DbConnection, id: &str) -> QueryResult<Vec<ExportedEntry>> {
    let rows: Vec<EntryRow> = ledger_entries::table
        .filter(ledger_entries::customer_id.eq(id))
        .select(EntryRow::as_select())
        .order(ledger_entries::seq.asc())
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|e| ExportedEntry {
            id: e.id,
            seq: e.seq,
            kind: e.kind,
            points: e.points,
            pending: e.pending,
            negative: e.negative,
            balance_after: e.balance_after,
            pending_after: e.pending_after,
            source_type: e.source_type,
            source_id: e.source_id,
            lot_id: e.lot_id,
            note: e.note,
            created_at: utc(e.created_at),
            expires_at: e.expires_at.map(utc),
        })
        .collect())
}

fn lots(c: &mut DbConnection, id: &str) -> QueryResult<Vec<ExportedLot>> {
    let rows: Vec<LotRow> = point_lots::table
        .filter(point_lots::customer_id.eq(id))
        .select(LotRow::as_select())
        .order((point_lots::earned_at.asc(), point_lots::id.asc()))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|l| ExportedLot {
            id: l.id,
            source_type: l.source_type,
            source_id: l.source_id,
            points: l.points,
            remaining: l.remaining,
            status: l.status,
            earned_at: utc(l.earned_at),
            available_at: utc(l.available_at),
            expires_at: l.expires_at.map(utc),
            expired: l.expired,
        })
        .collect())
}

fn purchases_of(c: &mut DbConnection, id: &str) -> QueryResult<Vec<ExportedPurchase>> {
    let rows: Vec<PurchaseRow> = purchases::table
        .filter(purchases::customer_id.eq(id))
        .select(PurchaseRow::as_select())
        .order((purchases::occurred_at.asc(), purchases::id.asc()))
        .load(c)?;
    let ids: Vec<String> = rows.iter().map(|p| p.id.clone()).collect();
    let mut lines: BTreeMap<String, Vec<ExportedLine>> = BTreeMap::new();
    let line_rows: Vec<LineRow> = purchase_lines::table
        .filter(purchase_lines::purchase_id.eq_any(&ids))
        .select(LineRow::as_select())
        .order((purchase_lines::purchase_id, purchase_lines::line_no))
        .load(c)?;
    for l in line_rows {
        lines.entry(l.purchase_id).or_default().push(ExportedLine {
            line_no: l.line_no,
            sku: l.sku,
            name: l.name,
            category: l.category,
            quantity: l.quantity,
            unit_price_minor: l.unit_price_minor,
            points: l.points,
            returned_quantity: l.returned_quantity,
            points_reversed: l.points_reversed,
        });
    }
    let mut returns: BTreeMap<String, Vec<ExportedReturn>> = BTreeMap::new();
    let return_rows: Vec<ReturnRow> = purchase_returns::table
        .filter(purchase_returns::purchase_id.eq_any(&ids))
        .select(ReturnRow::as_select())
        .order((purchase_returns::created_at, purchase_returns::id))
        .load(c)?;
    for r in return_rows {
        returns
            .entry(r.purchase_id)
            .or_default()
            .push(ExportedReturn {
                id: r.id,
                external_id: r.external_id,
                amount_minor: r.amount_minor,
                points_reversed: r.points_reversed,
                points_uncovered: r.points_uncovered,
                created_at: utc(r.created_at),
            });
    }
    rows.into_iter()
        .map(|p| {
            Ok(ExportedPurchase {
                breakdown: crate::db::json::parse(&p.breakdown)?,
                lines: lines.remove(&p.id).unwrap_or_default(),
                returns: returns.remove(&p.id).unwrap_or_default(),
                id: p.id,
                external_id: p.external_id,
                store_id: p.store_id,
                channel: p.channel,
                occurred_at: utc(p.occurred_at),
                currency: p.currency,
                total_minor: p.total_minor,
                points_earned: p.points_earned,
                returned_minor: p.returned_minor,
                points_reversed: p.points_reversed,
                created_at: utc(p.created_at),
            })
        })
        .collect()
}

fn codes(c: &mut DbConnection, id: &str) -> QueryResult<Vec<ExportedCode>> {
    let rows: Vec<CodeRow> = reward_codes::table
        .filter(reward_codes::customer_id.eq(id))
        .select(CodeRow::as_select())
        .order((reward_codes::issued_at.asc(), reward_codes::code.asc()))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|r| ExportedCode {
            code: r.code,
            reward_id: r.reward_id,
            points_spent: r.points_spent,
            status: r.status,
            issued_at: utc(r.issued_at),
            expires_at: utc(r.expires_at),
            used_at: r.used_at.map(utc),
            used_store_id: r.used_store_id,
            used_purchase_external_id: r.used_purchase_external_id,
            cancelled_at: r.cancelled_at.map(utc),
            redeemed_store_id: r.redeemed_store_id,
        })
        .collect())
}

fn tier(c: &mut DbConnection, id: &str) -> QueryResult<Option<ExportedTier>> {
    let row: Option<CustomerTierRow> = customer_tiers::table
        .find(id)
        .select(CustomerTierRow::as_select())
        .first(c)
        .optional()?;
    Ok(row.map(|t| ExportedTier {
        tier_id: t.tier_id,
        since: utc(t.since),
        below_since: t.below_since.map(utc),
    }))
}

type EventTuple = (
    String,
    String,
    NaiveDateTime,
    String,
    Option<String>,
    i64,
    NaiveDateTime,
);

fn events(c: &mut DbConnection, id: &str) -> QueryResult<Vec<ExportedEvent>> {
    let rows: Vec<EventTuple> = customer_events::table
        .filter(customer_events::customer_id.eq(id))
        .select((
            customer_events::id,
            customer_events::name,
            customer_events::occurred_at,
            customer_events::properties,
            customer_events::rule_id,
            customer_events::points,
            customer_events::created_at,
        ))
        .order((
            customer_events::occurred_at.asc(),
            customer_events::id.asc(),
        ))
        .load(c)?;
    rows.into_iter()
        .map(
            |(id, name, occurred_at, properties, rule_id, points, created_at)| {
                Ok(ExportedEvent {
                    id,
                    name,
                    occurred_at: utc(occurred_at),
                    properties: json_map(&properties)?,
                    rule_id,
                    points,
                    created_at: utc(created_at),
                })
            },
        )
        .collect()
}

fn payouts(c: &mut DbConnection, id: &str, as_referrer: bool) -> QueryResult<Vec<ExportedPayout>> {
    let mut q = referral_payouts::table
        .select((
            referral_payouts::referred_customer_id,
            referral_payouts::referrer_customer_id,
            referral_payouts::purchase_id,
            referral_payouts::referrer_points,
            referral_payouts::referred_points,
            referral_payouts::paid_at,
        ))
        .order((
            referral_payouts::paid_at.asc(),
            referral_payouts::referred_customer_id.asc(),
        ))
        .into_boxed::<crate::db::Backend>();
    q = if as_referrer {
        q.filter(referral_payouts::referrer_customer_id.eq(id.to_owned()))
    } else {
        q.filter(referral_payouts::referred_customer_id.eq(id.to_owned()))
    };
    q.load(c)
}

fn statistics(s: stats::StatsRow) -> ExportedStats {
    ExportedStats {
        purchase_count: s.purchase_count,
        spent_minor: s.spent_minor,
        returned_minor: s.returned_minor,
        first_purchase_at: s.first_purchase_at.map(utc),
        last_purchase_at: s.last_purchase_at.map(utc),
        referrals_successful: s.referrals_successful,
        segment: s.segment,
        segment_since: utc(s.segment_since),
        updated_at: utc(s.updated_at),
    }
}

fn timeline_event(e: EventRow) -> ExportedTimelineEvent {
    ExportedTimelineEvent {
        id: e.id,
        kind: e.kind,
        channel: e.channel,
        summary: e.summary,
        ref_type: e.ref_type,
        ref_id: e.ref_id,
        occurred_at: utc(e.occurred_at),
        recorded_at: utc(e.recorded_at),
    }
}
