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

/// Inserts a purchase and its lines unless a purchase with its `external_id` exists (also one
/// a concurrent transaction is committing: the insert waits for it). Returns whether it inserted.
pub fn insert_new(
    conn: &mut DbConnection,
    purchase: &PurchaseRow,
    lines: &[LineRow],
) -> QueryResult<bool> {
    let insert = diesel::insert_into(purchases::table)
        .values(purchase)
        .on_conflict(purchases::external_id)
        .do_nothing();
    let inserted = crate::on_backend!(conn, |c| insert.execute(c))?;
    if inserted == 0 {
        return Ok(false);
    }
    if !lines.is_empty() {
        // One multi-row insert (at most 500 lines of 10 columns: within both backends' limits
        // on bound parameters).
        crate::on_backend!(conn, |c| diesel::insert_into(purchase_lines::table)
            .values(lines)
            .execute(c))?;
    }
    Ok(true)
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
