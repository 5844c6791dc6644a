//! Customer queries. Every lookup here has an index behind it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{CustomerFields, CustomerRow};
use crate::db::schema::{
    customer_search_terms, customer_stats, customer_tags, customer_tiers, customers,
};
use crate::db::{Backend, DbConnection};

/// Finds a customer by id.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<CustomerRow>> {
    customers::table
        .find(id)
        .select(CustomerRow::as_select())
        .first(conn)
        .optional()
}

/// Finds the customer an id names now: a merged customer's id names the customer it was merged
/// into (merges keep every alias pointing at the surviving record, so one hop is enough).
pub fn resolve(conn: &mut DbConnection, id: &str) -> QueryResult<Option<CustomerRow>> {
    match find(conn, id)? {
        Some(row) => follow_alias(conn, row),
        None => Ok(None),
    }
}

/// Like [`resolve`], by the client's own id.
pub fn resolve_external_id(
    conn: &mut DbConnection,
    external_id: &str,
) -> QueryResult<Option<CustomerRow>> {
    match find_by_external_id(conn, external_id)? {
        Some(row) => follow_alias(conn, row),
        None => Ok(None),
    }
}

/// The row itself, or for a merge alias the customer it was merged into.
pub fn follow_alias(conn: &mut DbConnection, row: CustomerRow) -> QueryResult<Option<CustomerRow>> {
    match row.merged_into.as_deref() {
        Some(target) => find(conn, target),
        None => Ok(Some(row)),
    }
}

/// Locks the customer's row for the rest of the transaction (a no-op UPDATE, so it works on both
/// databases), then reads it: a read-modify-write cannot lose a concurrent change.
pub fn find_for_update(conn: &mut DbConnection, id: &str) -> QueryResult<Option<CustomerRow>> {
    diesel::update(customers::table.find(id))
        .set(customers::updated_at.eq(customers::updated_at))
        .execute(conn)?;
    find(conn, id)
}

/// Finds a customer by the client's own id.
pub fn find_by_external_id(
    conn: &mut DbConnection,
    external_id: &str,
) -> QueryResult<Option<CustomerRow>> {
    customers::table
        .filter(customers::external_id.eq(external_id))
        .select(CustomerRow::as_select())
        .first(conn)
        .optional()
}

/// Finds a customer by normalised email.
pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<CustomerRow>> {
    customers::table
        .filter(customers::email.eq(email))
        .select(CustomerRow::as_select())
        .first(conn)
        .optional()
}

/// Finds the customer whose own referral code this is.
pub fn find_by_referral_code(
    conn: &mut DbConnection,
    code: &str,
) -> QueryResult<Option<CustomerRow>> {
    customers::table
        .filter(customers::referral_code.eq(code))
        .select(CustomerRow::as_select())
        .first(conn)
        .optional()
}

/// The id of another customer holding any of these natural keys.
pub fn find_conflict(
    conn: &mut DbConnection,
    external_id: Option<&str>,
    email: Option<&str>,
    phone: Option<&str>,
    except: Option<&str>,
) -> QueryResult<Option<String>> {
    let except = except.unwrap_or("").to_owned();
    let by = |conn: &mut DbConnection, q: customers::BoxedQuery<'static, Backend>| {
        q.filter(customers::id.ne(except.clone()))
            .select(customers::id)
            .first::<String>(conn)
            .optional()
    };
    if let Some(x) = external_id
        && let Some(id) = by(
            conn,
            customers::table
                .filter(customers::external_id.eq(x.to_owned()))
                .into_boxed(),
        )?
    {
        return Ok(Some(id));
    }
    if let Some(e) = email
        && let Some(id) = by(
            conn,
            customers::table
                .filter(customers::email.eq(e.to_owned()))
                .into_boxed(),
        )?
    {
        return Ok(Some(id));
    }
    if let Some(p) = phone {
        return by(
            conn,
            customers::table
                .filter(customers::phone.eq(p.to_owned()))
                .into_boxed(),
        );
    }
    Ok(None)
}

/// Which natural keys of `fields` another customer holds, as a conflict id.
pub fn find_conflict_for(
    conn: &mut DbConnection,
    f: &CustomerFields,
) -> QueryResult<Option<String>> {
    find_conflict(
        conn,
        f.external_id.as_deref(),
        f.email.as_deref(),
        f.phone.as_deref(),
        None,
    )
}

/// Inserts a customer.
pub fn insert(conn: &mut DbConnection, row: &CustomerRow) -> QueryResult<()> {
    diesel::insert_into(customers::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// Writes every column of the row.
pub fn update(conn: &mut DbConnection, row: &CustomerRow) -> QueryResult<()> {
    diesel::update(customers::table.find(&row.id))
        .set(row)
        .execute(conn)
        .map(drop)
}

/// Sets the login password hash.
pub fn set_password(
    conn: &mut DbConnection,
    id: &str,
    hash: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(customers::table.find(id))
        .set((
            customers::password_hash.eq(hash),
            customers::updated_at.eq(at),
        ))
        .execute(conn)
}

/// A customer's tags, sorted.
pub fn tags(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<String>> {
    customer_tags::table
        .filter(customer_tags::customer_id.eq(id))
        .select(customer_tags::tag)
        .order(customer_tags::tag.asc())
        .load(conn)
}

/// Tags of several customers at once, as (customer_id, tag).
pub fn tags_of(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    customer_tags::table
        .filter(customer_tags::customer_id.eq_any(ids))
        .select((customer_tags::customer_id, customer_tags::tag))
        .order((customer_tags::customer_id.asc(), customer_tags::tag.asc()))
        .load(conn)
}

/// Replaces a customer's tags.
pub fn replace_tags(conn: &mut DbConnection, id: &str, tags: &[String]) -> QueryResult<()> {
    diesel::delete(customer_tags::table.filter(customer_tags::customer_id.eq(id))).execute(conn)?;
    for tag in tags {
        diesel::insert_into(customer_tags::table)
            .values((
                customer_tags::customer_id.eq(id),
                customer_tags::tag.eq(tag),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Filters for listing customers.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    /// Words, each starting a word of the name, the email, phone or external id.
    pub q: Vec<String>,
    /// Exact normalised email.
    pub email: Option<String>,
    /// Exact E.164 phone.
    pub phone: Option<String>,
    /// Has this tag.
    pub tag: Option<String>,
    /// Holds this tier.
    pub tier: Option<String>,
    /// Is in this segment.
    pub segment: Option<String>,
    /// Strictly older than this (created_at, id) position.
    pub before: Option<(NaiveDateTime, String)>,
}

/// Customers newest first, matching the filter.
pub fn list(
    conn: &mut DbConnection,
    filter: ListFilter,
    limit: i64,
) -> QueryResult<Vec<CustomerRow>> {
    let mut query = customers::table
        .filter(customers::merged_into.is_null())
        .select(CustomerRow::as_select())
        .order((customers::created_at.desc(), customers::id.desc()))
        .limit(limit)
        .into_boxed::<Backend>();
    if let Some(email) = filter.email {
        query = query.filter(customers::email.eq(email));
    }
    if let Some(phone) = filter.phone {
        query = query.filter(customers::phone.eq(phone));
    }
    if let Some(tag) = filter.tag {
        let tagged = customer_tags::table
            .filter(customer_tags::tag.eq(tag))
            .select(customer_tags::customer_id);
        query = query.filter(customers::id.eq_any(tagged));
    }
    if let Some(tier) = filter.tier {
        let holders = customer_tiers::table
            .filter(customer_tiers::tier_id.eq(tier))
            .select(customer_tiers::customer_id);
        query = query.filter(customers::id.eq_any(holders));
    }
    if let Some(segment) = filter.segment {
        let members = customer_stats::table
            .filter(customer_stats::segment.eq(segment))
            .select(customer_stats::customer_id);
        query = query.filter(customers::id.eq_any(members));
    }
    for word in filter.q {
        let (low, high) = super::search::prefix_range(&word);
        let matching = customer_search_terms::table
            .filter(customer_search_terms::term.ge(low))
            .filter(customer_search_terms::term.lt(high))
            .select(customer_search_terms::customer_id);
        query = query.filter(customers::id.eq_any(matching));
    }
    if let Some((at, id)) = filter.before {
        query = query.filter(
            customers::created_at
                .lt(at)
                .or(customers::created_at.eq(at).and(customers::id.lt(id))),
        );
    }
    query.load(conn)
}
