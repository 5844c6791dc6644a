//! `GET /v1/me/offers`: the customer's active personal offers, such as the birthday gift.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{OfferRow, repo};
use crate::app::AppState;
use crate::auth::CustomerCaller;
use crate::db::{self, DbConnection};
use crate::error::{ApiError, Problem};
use crate::rewards::{self, CodeRow, LocalizedText, RewardRow};

/// Most offers listed (a customer holds a few at a time: one birthday gift a year).
const MAX_OFFERS: i64 = 200;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(my_offers);
}

/// The reward an offer's code is for.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferReward {
    pub id: String,
    /// In the customer's locale.
    pub name: String,
}

/// A personal offer.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferView {
    pub id: String,
    /// `birthday`.
    pub kind: String,
    /// What the offer is for: the year, for a birthday.
    pub occasion: String,
    /// The gift code to show at the till (`7KQ9-M2XD-4HPT`); `null` for a points-only offer.
    pub code: Option<String>,
    /// The reward the code is for.
    pub reward: Option<OfferReward>,
    pub code_expires_at: Option<DateTime<Utc>>,
    /// `issued` (listed offers are unused).
    pub code_status: Option<String>,
    /// Points credited with the offer (already on the balance).
    pub bonus_points: i64,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
}

/// The offers, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferList {
    pub data: Vec<OfferView>,
    /// Always `null`: the active offers fit in one page.
    pub next_cursor: Option<String>,
}

/// The customer's offers still valid whose code is unused: each with its code and reward.
type ActiveOffer = (OfferRow, Option<(CodeRow, Option<RewardRow>)>);

fn active_offers(
    c: &mut DbConnection,
    customer_id: &str,
    now: NaiveDateTime,
) -> Result<(Option<String>, Vec<ActiveOffer>), ApiError> {
    let customer = crate::customers::repo::resolve(c, customer_id)?
        .ok_or_else(|| ApiError::not_found("Customer"))?;
    let mut out = Vec::new();
    for offer in repo::valid_of(c, &customer.id, now, MAX_OFFERS)? {
        let Some(code) = offer.code.as_deref() else {
            out.push((offer, None));
            continue;
        };
        let Some(code) = rewards::repo::find_code(c, code)? else {
            continue;
        };
        if code.status_at(now) != "issued" {
            continue;
        }
        let reward = rewards::repo::find(c, &code.reward_id)?;
        out.push((offer, Some((code, reward))));
    }
    Ok((customer.locale, out))
}

/// The customer's active personal offers: still valid, with an unused code (a points-only offer
/// shows while it is valid).
#[utoipa::path(tag = "me", security(("bearer" = [])),
    responses((status = 200, body = OfferList), (status = 401, body = Problem), (status = 403, body = Problem)))]
#[get("/me/offers")]
async fn my_offers(
    state: web::Data<AppState>,
    caller: CustomerCaller,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now_naive();
    let (locale, offers) = db::run(&state.pool, move |c| {
        active_offers(c, &caller.customer_id.0, now)
    })
    .await?;
    let data = offers
        .into_iter()
        .map(|(o, gift)| {
            let (code, reward) = match gift {
                Some((code, reward)) => (Some(code), reward),
                None => (None, None),
            };
            OfferView {
                reward: reward.map(|r| OfferReward {
                    name: LocalizedText::from_stored(&r.name).resolve(locale.as_deref()),
                    id: r.id,
                }),
                code_status: code.as_ref().map(|c| c.status_at(now).to_owned()),
                code_expires_at: code.as_ref().map(|c| c.expires_at.and_utc()),
                code: code.map(|c| rewards::display_code(&c.code)),
                id: o.id,
                kind: o.kind,
                occasion: o.occasion,
                bonus_points: o.bonus_points,
                valid_from: o.valid_from.and_utc(),
                valid_until: o.valid_until.map(|t| t.and_utc()),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(OfferList {
        data,
        next_cursor: None,
    }))
}
