//! Purchase queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{LineRow, PurchaseRow};
use crate::db::DbConnection;
use crate::db::schema::{point_lots, purchase_lines, purchases};
use crate::points::LotRow;

/// Finds a purchase by its permanent natural key.
pub fn find_by_external_id(
    conn: &mut DbConnection,
    external_id: &str,
) -> QueryResult<Option<PurchaseRow>> {
    purchases::table
        .filter(purchases::external_id.eq(external_id))
        .select(PurchaseRow::as_select())
        .first(conn)
        .optional()
}

/// Lines of several purchases, in line order.
pub fn lines_of(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<LineRow>> {
    purchase_lines::table
        .filter(purchase_lines::purchase_id.eq_any(ids))
        .select(LineRow::as_select())
        .order((
            purchase_lines::purchase_id.asc(),
            purchase_lines::line_no.asc(),
        ))
        .load(conn)
}

/// The lot a purchase earned, if it earned any points.
pub fn lot_of(conn: &mut DbConnection, purchase_id: &str) -> QueryResult<Option<LotRow>> {
    point_lots::table
        .filter(point_lots::source_type.eq("purchase"))
        .filter(point_lots::source_id.eq(purchase_id))
        .select(LotRow::as_select())
        .first(conn)
        .optional()
}

/// The lots several purchases earned.
pub fn lots_of(conn: &mut DbConnection, purchase_ids: &[String]) -> QueryResult<Vec<LotRow>> {
    point_lots::table
        .filter(point_lots::source_type.eq("purchase"))
        .filter(point_lots::source_id.eq_any(purchase_ids))
        .select(LotRow::as_select())
        .load(conn)
}

/// A customer's purchases, newest first, strictly before the cursor position.
pub fn list_for_customer(
    conn: &mut DbConnection,
    customer_id: &str,
    store: Option<&str>,
    before: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<PurchaseRow>> {
    let mut query = purchases::table
        .filter(purchases::customer_id.eq(customer_id.to_owned()))
        .select(PurchaseRow::as_select())
        .order((purchases::occurred_at.desc(), purchases::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(store) = store {
        query = query.filter(purchases::store_id.eq(store.to_owned()));
    }
    if let Some((at, id)) = before {
        query = query.filter(
            purchases::occurred_at
                .lt(at)
                .or(purchases::occurred_at.eq(at).and(purchases::id.lt(id))),
        );
    }
    query.load(conn)
}

/// Whether the customer has any recorded purchase.
pub fn has_purchases(conn: &mut DbConnection, customer_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        purchases::table.filter(purchases::customer_id.eq(customer_id)),
    ))
    .get_result(conn)
}
