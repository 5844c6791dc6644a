//! The word index behind `GET /v1/customers?q=`: each customer's searchable words, lower-cased,
//! in `customer_search_terms (term, customer_id)`. A word of the query matches a customer when it
//! starts one of their terms — a range scan of the primary key, on both databases (the column is
//! compared bytewise: SQLite's default, `COLLATE "C"` on PostgreSQL).

use std::collections::BTreeSet;

use diesel::prelude::*;

use super::model::CustomerRow;
use crate::db::DbConnection;
use crate::db::schema::customer_search_terms;

/// Longest stored term, in characters; longer words are cut (a prefix still finds them).
const MAX_TERM: usize = 64;

/// Lower-cases and unifies letters that are typed differently for the same word: the Arabic
/// and Persian forms of yeh and kaf, and Arabic-Indic and Persian digits as ASCII digits.
pub fn normalise(word: &str) -> String {
    word.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'ي' | 'ى' => 'ی',
            'ك' => 'ک',
            '٠'..='٩' => char::from_digit(u32::from(c) - u32::from('٠'), 10).unwrap_or(c),
            '۰'..='۹' => char::from_digit(u32::from(c) - u32::from('۰'), 10).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// The words of a free-text query, normalised.
pub fn query_words(q: &str) -> Vec<String> {
    q.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(|w| cut(&normalise(w)))
        .take(5)
        .collect()
}

fn cut(term: &str) -> String {
    term.chars().take(MAX_TERM).collect()
}

/// Every searchable term of a customer: the words of their names, their email whole and its two
/// halves, their phone with and without `+`, and their external id.
pub fn terms_of(row: &CustomerRow) -> BTreeSet<String> {
    let mut terms = BTreeSet::new();
    let mut words = |text: &str| {
        for word in text.split(|c: char| !c.is_alphanumeric()) {
            if !word.is_empty() {
                terms.insert(cut(&normalise(word)));
            }
        }
    };
    for name in [&row.first_name, &row.last_name].into_iter().flatten() {
        words(name);
    }
    if let Some(email) = &row.email {
        terms.insert(cut(email));
        if let Some((local, domain)) = email.split_once('@') {
            terms.insert(cut(local));
            terms.insert(cut(domain));
        }
    }
    if let Some(phone) = &row.phone {
        terms.insert(cut(phone));
        terms.insert(cut(phone.trim_start_matches('+')));
    }
    if let Some(external_id) = &row.external_id {
        terms.insert(cut(&normalise(external_id)));
    }
    terms
}

/// Rewrites a customer's terms from the row (after it was created, changed, merged or erased).
pub fn index(conn: &mut DbConnection, row: &CustomerRow) -> QueryResult<()> {
    diesel::delete(
        customer_search_terms::table.filter(customer_search_terms::customer_id.eq(&row.id)),
    )
    .execute(conn)?;
    let terms: Vec<_> = if row.merged_into.is_some() || row.erased_at.is_some() {
        Vec::new()
    } else {
        terms_of(row)
            .into_iter()
            .map(|t| {
                (
                    customer_search_terms::term.eq(t),
                    customer_search_terms::customer_id.eq(row.id.clone()),
                )
            })
            .collect()
    };
    for term in terms {
        diesel::insert_into(customer_search_terms::table)
            .values(term)
            .execute(conn)?;
    }
    Ok(())
}

/// The bounds of the prefix range `[word, word + U+10FFFF)`.
pub fn prefix_range(word: &str) -> (String, String) {
    (word.to_owned(), format!("{word}\u{10FFFF}"))
}
