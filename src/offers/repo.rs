//! Offer queries, and the birthday job's read of the customers whose day may be due.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::OfferRow;
use crate::db::DbConnection;
use crate::db::schema::{customers, offers};

/// Inserts the offer unless the customer already has one of this kind for this occasion
/// (another run or instance was first); true when this call inserted it.
pub fn claim(conn: &mut DbConnection, row: &OfferRow) -> QueryResult<bool> {
    // ON CONFLICT is backend SQL that diesel's MultiConnection does not render. The expected
    // duplicate must not abort the transaction (on PostgreSQL a caught unique violation has).
    let insert = diesel::insert_into(offers::table)
        .values(row)
        .on_conflict((offers::customer_id, offers::kind, offers::occasion))
        .do_nothing();
    let inserted = match conn {
        DbConnection::Postgres(pg) => insert.execute(pg)?,
        DbConnection::Sqlite(lite) => insert.execute(lite)?,
    };
    Ok(inserted == 1)
}

/// Attaches the gift code to an offer.
pub fn set_code(conn: &mut DbConnection, offer_id: &str, code: &str) -> QueryResult<()> {
    diesel::update(offers::table.find(offer_id))
        .set(offers::code.eq(code))
        .execute(conn)
        .map(drop)
}

/// The customer's offers still valid at `now`, newest first (at most `limit`).
pub fn valid_of(
    conn: &mut DbConnection,
    customer_id: &str,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OfferRow>> {
    offers::table
        .filter(offers::customer_id.eq(customer_id))
        .filter(
            offers::valid_until
                .is_null()
                .or(offers::valid_until.gt(now)),
        )
        .select(OfferRow::as_select())
        .order((offers::created_at.desc(), offers::id.desc()))
        .limit(limit)
        .load(conn)
}

/// What the birthday job needs to decide whether a customer is due.
#[derive(Debug, Clone, Queryable)]
pub struct BirthdayCandidate {
    pub id: String,
    pub time_zone: Option<String>,
    pub birthday_set_at: Option<NaiveDateTime>,
}

/// One page of the live customers with this birthday month-day, in id order after `after`.
/// Reads `customers_birthday_md_idx` (birthday_md, id): one index range per page.
pub fn birthday_page(
    conn: &mut DbConnection,
    md: i32,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<BirthdayCandidate>> {
    let mut query = customers::table
        .filter(customers::birthday_md.eq(md))
        .filter(customers::merged_into.is_null())
        .filter(customers::erased_at.is_null())
        .select((
            customers::id,
            customers::time_zone,
            customers::birthday_set_at,
        ))
        .order(customers::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(customers::id.gt(after.to_owned()));
    }
    query.load(conn)
}

/// Which of these customers already have a birthday offer for `occasion` (read through the
/// offers' unique index), so a run skips them without a transaction each.
pub fn birthday_offered(
    conn: &mut DbConnection,
    customer_ids: &[String],
    occasion: &str,
) -> QueryResult<Vec<String>> {
    if customer_ids.is_empty() {
        return Ok(Vec::new());
    }
    offers::table
        .filter(offers::customer_id.eq_any(customer_ids))
        .filter(offers::kind.eq(super::OfferKind::Birthday.as_str()))
        .filter(offers::occasion.eq(occasion))
        .select(offers::customer_id)
        .load(conn)
}
