//! The 360° profile and the timeline: `GET /v1/customers/{id}/profile`, `/timeline`, staff tags,
//! and the customer's own subset at `GET /v1/me/profile`.
//!
//! A profile is a fixed number of indexed reads, whatever the length of the customer's history:
//! the statistics and usage rows kept up to date by purchases and returns, the balance row, the
//! tier's monthly qualifying rows inside the window, one page of the timeline, the open
//! tickets, and the latest answer of each feedback kind.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{Customer, CustomerRow};
use super::routes::CustomerResponse;
use super::stats::{self, Segment, StatsRow, UsageRow};
use super::{repo, validate};
use crate::app::AppState;
use crate::audit;
use crate::auth::{Caller, CustomerCaller, Permission};
use crate::body::Body;
use crate::db::schema::customers;
use crate::db::{self, DbConnection};
use crate::error::{ApiError, Problem};
use crate::pagination;
use crate::points::ledger;
use crate::points::routes::BalanceResponse;
use crate::program::{ProgramSettings, SegmentSettings};
use crate::tiers::routes::TierProgress;
use crate::timeline::{self, Entry, Kind};

/// Timeline entries on a profile.
const PROFILE_TIMELINE: i64 = 20;
/// Open tickets on a profile, newest first.
const PROFILE_OPEN_TICKETS: i64 = 50;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(profile)
        .service(timeline_of)
        .service(add_tag)
        .service(remove_tag)
        .service(my_profile);
}

/// Where a customer is in their relationship with the brand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JourneyStage {
    /// No purchase yet.
    Prospect,
    /// One purchase.
    FirstPurchase,
    /// Two purchases or more.
    Repeat,
    /// A repeat buyer who promotes the brand: an NPS promoter or a successful referral.
    Advocate,
    /// Bought before, but not for more than `segments.lapsed_days`.
    Lapsed,
}

/// The journey stage from the statistics, decided in this order: prospect, lapsed, advocate,
/// first purchase, repeat.
pub fn journey_stage(
    stats: &StatsRow,
    promoter: bool,
    s: &SegmentSettings,
    now: NaiveDateTime,
) -> JourneyStage {
    let Some(last) = stats.last_purchase_at else {
        return JourneyStage::Prospect;
    };
    let lapsed_at = last
        .checked_add_days(chrono::Days::new(u64::try_from(s.lapsed_days).unwrap_or(0)))
        .unwrap_or(NaiveDateTime::MAX);
    if now >= lapsed_at {
        JourneyStage::Lapsed
    } else if promoter || stats.referrals_successful > 0 {
        JourneyStage::Advocate
    } else if stats.purchase_count <= 1 {
        JourneyStage::FirstPurchase
    } else {
        JourneyStage::Repeat
    }
}

/// A channel, store or category the customer bought through.
#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    /// The channel (`store`, `web`…), store id or category.
    value: String,
    /// Purchases that used it.
    purchases: i64,
    /// Spend there after returns, in minor units.
    spent_minor: i64,
    /// The latest purchase there.
    last_at: DateTime<Utc>,
}

impl From<UsageRow> for Usage {
    fn from(u: UsageRow) -> Self {
        Self {
            value: u.value,
            purchases: u.purchases,
            spent_minor: u.spent_minor,
            last_at: u.last_at.and_utc(),
        }
    }
}

/// Purchase statistics, kept up to date as purchases and returns are recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseStats {
    /// Purchases recorded (a returned purchase still counts).
    count: i64,
    /// Sum of purchase totals before returns, in minor units of `currency`.
    total_minor: i64,
    /// Sum of amounts returned.
    returned_minor: i64,
    /// `total_minor - returned_minor`.
    net_minor: i64,
    /// `net_minor / count`, rounded down; 0 without purchases.
    average_order_minor: i64,
    /// The program's currency.
    currency: String,
    first_purchase_at: Option<DateTime<Utc>>,
    last_purchase_at: Option<DateTime<Utc>>,
    /// The category with the highest spend after returns (ties: alphabetical); null when no
    /// line had a category.
    favourite_category: Option<String>,
    /// Channels used, highest spend first.
    channels: Vec<Usage>,
    /// Stores used, highest spend first.
    stores: Vec<Usage>,
    /// Categories bought, highest spend first.
    categories: Vec<Usage>,
}

/// The segment and since when the customer is in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentInfo {
    segment: Segment,
    since: DateTime<Utc>,
}

/// A customer's latest answer of one kind.
#[derive(Debug, Serialize, ToSchema)]
pub struct LatestAnswer {
    score: i32,
    /// Top of the answer's scale: NPS 10, CSAT 5, CES 5 or 7.
    scale: i32,
    answered_at: DateTime<Utc>,
}

/// The latest answered (not skipped) score of each kind; null when there is none.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackScores {
    nps: Option<LatestAnswer>,
    csat: Option<LatestAnswer>,
    ces: Option<LatestAnswer>,
}

impl FeedbackScores {
    /// Three indexed reads, whatever the length of the customer's history.
    fn load(c: &mut DbConnection, customer_id: &str) -> QueryResult<Self> {
        let mut latest = |kind| -> QueryResult<Option<LatestAnswer>> {
            Ok(
                crate::feedback::responses::latest_answer(c, customer_id, kind)?.map(
                    |(score, scale, at)| LatestAnswer {
                        score,
                        scale,
                        answered_at: at.and_utc(),
                    },
                ),
            )
        };
        Ok(Self {
            nps: latest(crate::feedback::Kind::Nps)?,
            csat: latest(crate::feedback::Kind::Csat)?,
            ces: latest(crate::feedback::Kind::Ces)?,
        })
    }

    /// Whether the latest NPS answer is a promoter's (9 or 10).
    fn promoter(&self) -> bool {
        self.nps.as_ref().is_some_and(|a| a.score >= 9)
    }
}

/// An open support ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenTicket {
    id: String,
    external_id: String,
    channel: String,
    subject: String,
    category: Option<String>,
    opened_at: DateTime<Utc>,
    /// The agent the ticket was opened with.
    agent: Option<crate::tickets::routes::AgentView>,
}

impl From<crate::tickets::TicketRow> for OpenTicket {
    fn from(t: crate::tickets::TicketRow) -> Self {
        Self {
            agent: t.agent_id.map(|id| crate::tickets::routes::AgentView {
                id,
                name: t.agent_name,
            }),
            id: t.id,
            external_id: t.external_id,
            channel: t.channel,
            subject: t.subject,
            category: t.category,
            opened_at: t.opened_at.and_utc(),
        }
    }
}

/// The customer's referrals.
#[derive(Debug, Serialize, ToSchema)]
pub struct Referrals {
    /// The customer's own code to share.
    code: Option<String>,
    /// Customers who signed up with it.
    made: i64,
    /// Of those, how many made a first purchase that paid the referral bonus.
    successful: i64,
}

/// The 360° view of a customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Profile {
    /// Identity, contact details, consents, preferred channel, tags and attributes.
    customer: CustomerResponse,
    /// Tier and progress.
    tier: TierProgress,
    /// Points summary.
    points: BalanceResponse,
    purchases: PurchaseStats,
    segment: SegmentInfo,
    journey_stage: JourneyStage,
    last_feedback: FeedbackScores,
    /// Open support tickets, newest first (at most 50).
    open_tickets: Vec<OpenTicket>,
    referrals: Referrals,
    /// The latest 20 timeline entries, newest first.
    timeline: Vec<Entry>,
}

/// The customer's own view of their profile (no segment, tags, attributes or internal notes).
#[derive(Debug, Serialize, ToSchema)]
pub struct MyProfile {
    customer: CustomerResponse,
    tier: TierProgress,
    points: BalanceResponse,
    purchases: MyPurchaseStats,
    referrals: Referrals,
}

/// The customer's own purchase figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyPurchaseStats {
    count: i64,
    net_minor: i64,
    currency: String,
    first_purchase_at: Option<DateTime<Utc>>,
    last_purchase_at: Option<DateTime<Utc>>,
}

fn referrals_made(conn: &mut DbConnection, id: &str) -> QueryResult<i64> {
    customers::table
        .filter(customers::referred_by.eq(id))
        .count()
        .get_result(conn)
}

fn purchase_stats(stats: &StatsRow, usage: Vec<UsageRow>, currency: &str) -> PurchaseStats {
    let mut channels = Vec::new();
    let mut stores = Vec::new();
    let mut categories = Vec::new();
    for u in usage {
        match u.dimension.as_str() {
            "channel" => channels.push(Usage::from(u)),
            "store" => stores.push(Usage::from(u)),
            _ => categories.push(Usage::from(u)),
        }
    }
    let net = stats.net_spent_minor();
    PurchaseStats {
        count: stats.purchase_count,
        total_minor: stats.spent_minor,
        returned_minor: stats.returned_minor,
        net_minor: net,
        average_order_minor: if stats.purchase_count > 0 {
            net / stats.purchase_count
        } else {
            0
        },
        currency: currency.to_owned(),
        first_purchase_at: stats.first_purchase_at.map(|t| t.and_utc()),
        last_purchase_at: stats.last_purchase_at.map(|t| t.and_utc()),
        // Usage comes ordered by spend (then value), so the first category is the favourite.
        favourite_category: categories
            .iter()
            .find(|c| c.spent_minor > 0)
            .map(|c| c.value.clone()),
        channels,
        stores,
        categories,
    }
}

/// Everything the profile shows, read in a bounded number of indexed queries.
struct Parts {
    customer: Customer,
    program: ProgramSettings,
    tier: crate::tiers::service::TierStatus,
    balance: BalanceResponse,
    stats: StatsRow,
    usage: Vec<UsageRow>,
    referrals_made: i64,
}

fn parts(c: &mut DbConnection, row: CustomerRow, now: NaiveDateTime) -> Result<Parts, ApiError> {
    let id = row.id.clone();
    let tags = repo::tags(c, &id)?;
    let program = crate::program::repo::load(c)?;
    let tier = crate::tiers::service::status(c, &id, &program, now)?;
    let balance = BalanceResponse::new(ledger::balance(c, &id, now)?, ledger::next_expiry(c, &id)?);
    Ok(Parts {
        stats: stats::load(c, &id, now)?,
        usage: stats::usage(c, &id)?,
        referrals_made: referrals_made(c, &id)?,
        customer: Customer { row, tags },
        program,
        tier,
        balance,
    })
}

fn build(c: &mut DbConnection, requested: &str, now: NaiveDateTime) -> Result<Profile, ApiError> {
    let row = repo::resolve(c, requested)?.ok_or_else(|| ApiError::not_found("Customer"))?;
    let p = parts(c, row, now)?;
    let id = p.customer.row.id.clone();
    let entries = timeline::page(c, &id, &timeline::Filter::default(), PROFILE_TIMELINE)?;
    let open_tickets = crate::tickets::repo::open_for_customer(c, &id, PROFILE_OPEN_TICKETS)?;
    let last_feedback = FeedbackScores::load(c, &id)?;
    let (segment, _) = stats::segment_of(
        &p.stats,
        p.customer.row.created_at,
        &p.program.segments,
        now,
    );
    // The stored segment can lag the clock until the job passes; the profile shows the segment
    // as of now, and `since` from the store when it agrees.
    let since = if p.stats.segment == segment.as_str() {
        p.stats.segment_since
    } else {
        now
    };
    Ok(Profile {
        journey_stage: journey_stage(&p.stats, last_feedback.promoter(), &p.program.segments, now),
        segment: SegmentInfo {
            segment,
            since: since.and_utc(),
        },
        referrals: Referrals {
            code: p.customer.row.referral_code.clone(),
            made: p.referrals_made,
            successful: p.stats.referrals_successful,
        },
        purchases: purchase_stats(&p.stats, p.usage, &p.program.currency),
        last_feedback,
        open_tickets: open_tickets.into_iter().map(OpenTicket::from).collect(),
        customer: CustomerResponse::from(p.customer),
        tier: p.tier.into(),
        points: p.balance,
        timeline: entries,
    })
}

/// The 360° view of a customer in one call. A merged customer's id answers with the customer it
/// was merged into.
#[utoipa::path(tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = Profile), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/customers/{id}/profile")]
async fn profile(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::CUSTOMERS_READ)?;
    let now = state.clock.now_naive();
    let body = db::run(&state.pool, move |c| build(c, &id, now)).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// The customer's own profile: tier, points, purchase figures and referrals.
#[utoipa::path(tag = "me", security(("bearer" = [])),
    responses((status = 200, body = MyProfile), (status = 401, body = Problem), (status = 403, body = Problem)))]
#[get("/me/profile")]
async fn my_profile(
    state: web::Data<AppState>,
    caller: CustomerCaller,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now_naive();
    let body = db::run(&state.pool, move |c| -> Result<MyProfile, ApiError> {
        let row =
            repo::find(c, &caller.customer_id.0)?.ok_or_else(|| ApiError::not_found("Customer"))?;
        let p = parts(c, row, now)?;
        Ok(MyProfile {
            referrals: Referrals {
                code: p.customer.row.referral_code.clone(),
                made: p.referrals_made,
                successful: p.stats.referrals_successful,
            },
            purchases: MyPurchaseStats {
                count: p.stats.purchase_count,
                net_minor: p.stats.net_spent_minor(),
                currency: p.program.currency.clone(),
                first_purchase_at: p.stats.first_purchase_at.map(|t| t.and_utc()),
                last_purchase_at: p.stats.last_purchase_at.map(|t| t.and_utc()),
            },
            customer: CustomerResponse::from(p.customer),
            tier: p.tier.into(),
            points: p.balance,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// Timeline filters and paging; newest first.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// Comma-separated kinds to include, e.g. `purchase,return` (default: all). Kinds: created,
    /// purchase, return, points, redemption, code_used, code_cancelled, tier_change, event,
    /// ticket_opened, ticket_resolved, message_sent, message_failed, message_suppressed, feedback, merge, erasure.
    #[serde(rename = "type")]
    #[param(rename = "type", max_length = 300)]
    kinds: Option<String>,
    /// Entries at or after this time.
    from: Option<DateTime<Utc>>,
    /// Entries strictly before this time.
    to: Option<DateTime<Utc>>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Cursor from the previous page.
    cursor: Option<String>,
}

/// A page of the timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct Timeline {
    data: Vec<Entry>,
    next_cursor: Option<String>,
}

fn parse_kinds(raw: Option<&str>) -> Result<Vec<Kind>, ApiError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    if raw.chars().count() > 300 {
        return Err(ApiError::validation(vec![crate::error::FieldError::new(
            "type",
            "must be at most 300 characters",
        )]));
    }
    let mut kinds = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let kind = Kind::parse(name).ok_or_else(|| {
            ApiError::validation(vec![crate::error::FieldError::new(
                "type",
                format!("unknown kind `{name}`"),
            )])
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// Every interaction with the customer across channels, newest first: joining, purchases,
/// returns, points entries, redemptions, codes used and cancelled, tier changes, custom events,
/// tickets, messages, feedback and merges. Entries take their place by when they happened.
#[utoipa::path(tag = "customers", params(TimelineQuery), security(("bearer" = [])),
    responses((status = 200, body = Timeline), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
#[get("/customers/{id}/timeline")]
async fn timeline_of(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::CUSTOMERS_READ)?;
    let query: TimelineQuery = crate::body::query(req.query_string())?;
    let limit = pagination::limit(query.limit)?;
    let filter = timeline::Filter {
        kinds: parse_kinds(query.kinds.as_deref())?,
        from: query.from.map(|t| t.naive_utc()),
        to: query.to.map(|t| t.naive_utc()),
        before: query
            .cursor
            .as_deref()
            .map(pagination::decode_position)
            .transpose()?,
    };
    let mut entries = db::run(&state.pool, move |c| -> Result<Vec<Entry>, ApiError> {
        let row = repo::resolve(c, &id)?.ok_or_else(|| ApiError::not_found("Customer"))?;
        Ok(timeline::page(c, &row.id, &filter, limit + 1)?)
    })
    .await?;
    let next_cursor =
        pagination::next_position_page(&mut entries, limit, |e| (e.at.naive_utc(), e.id.clone()));
    Ok(HttpResponse::Ok().json(Timeline {
        data: entries,
        next_cursor,
    }))
}

/// A tag to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTag {
    /// Not blank, up to 64 characters (e.g. a persona: `bargain-hunter`).
    #[schema(min_length = 1, max_length = 64)]
    tag: String,
}

/// The customer's tags after the change.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tags {
    tags: Vec<String>,
}

/// Tagging is staff work: marketers keep their personas, support its notes.
const TAGS_WRITE: Permission = Permission {
    scope: Some(crate::auth::Scope::CustomersWrite),
    roles: &[crate::auth::Role::Marketer, crate::auth::Role::Support],
};

fn change_tag(
    c: &mut DbConnection,
    actor: &audit::Actor,
    id: &str,
    tag: &str,
    add: bool,
    now: NaiveDateTime,
) -> Result<Vec<String>, ApiError> {
    db::write(c, |c| -> Result<Vec<String>, ApiError> {
        let row = super::service::live(c, id)?;
        // The customer row is locked, so two concurrent additions cannot pass the limit.
        repo::find_for_update(c, &row.id)?;
        let mut tags = repo::tags(c, &row.id)?;
        let present = tags.iter().any(|t| t == tag);
        if add && !present {
            tags.push(tag.to_owned());
            validate::tags(&tags).map_err(|m| {
                ApiError::unprocessable("too_many_tags", format!("The customer has {m}"))
            })?;
        } else if !add && present {
            tags.retain(|t| t != tag);
        } else {
            tags.sort();
            return Ok(tags);
        }
        tags.sort();
        repo::replace_tags(c, &row.id, &tags)?;
        let action = if add {
            "customer.tag"
        } else {
            "customer.untag"
        };
        audit::record(c, actor, action, "customer", &row.id, now)?;
        Ok(tags)
    })
}

/// Add a tag to a customer (no change if it is there already).
#[utoipa::path(tag = "customers", request_body = NewTag, security(("bearer" = [])),
    responses((status = 200, body = Tags), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, description = "`too_many_tags`, `customer_erased`", body = Problem)))]
#[post("/customers/{id}/tags")]
async fn add_tag(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body<NewTag>,
) -> Result<HttpResponse, ApiError> {
    caller.require(TAGS_WRITE)?;
    let raw = body.read().await?.tag;
    let tag = validate::text(&raw, validate::MAX_TAG_LEN)
        .map_err(|m| ApiError::validation(vec![crate::error::FieldError::new("tag", m)]))?;
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let tags = db::run(&state.pool, move |c| {
        change_tag(c, &actor, &id, &tag, true, now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Tags { tags }))
}

/// Remove a tag from a customer (no change if it is not there).
#[utoipa::path(tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = Tags), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, description = "`customer_erased`", body = Problem)))]
#[delete("/customers/{id}/tags/{tag}")]
async fn remove_tag(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.require(TAGS_WRITE)?;
    let (id, tag) = path.into_inner();
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let tags = db::run(&state.pool, move |c| {
        change_tag(c, &actor, &id, tag.trim(), false, now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Tags { tags }))
}
