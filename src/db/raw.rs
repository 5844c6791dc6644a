//! Statements written in SQL, for what diesel's query builder cannot say on both backends: they
//! are written with `?` placeholders (numbered for PostgreSQL here) and run with bound
//! parameters on whichever connection this is.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{BigInt, Text, Timestamp};
use diesel::sqlite::Sqlite;

use crate::db::DbConnection;

/// A bound parameter.
#[derive(Debug, Clone)]
pub enum Bind {
    Text(String),
    Time(NaiveDateTime),
    Int(i64),
}

fn bind_all<'a, DB>(
    mut q: BoxedSqlQuery<'a, DB, diesel::query_builder::SqlQuery>,
    binds: &[Bind],
) -> BoxedSqlQuery<'a, DB, diesel::query_builder::SqlQuery>
where
    DB: diesel::backend::Backend + diesel::sql_types::HasSqlType<Text>,
    DB: diesel::sql_types::HasSqlType<Timestamp> + diesel::sql_types::HasSqlType<BigInt>,
    String: diesel::serialize::ToSql<Text, DB>,
    NaiveDateTime: diesel::serialize::ToSql<Timestamp, DB>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
{
    for b in binds {
        q = match b.clone() {
            Bind::Text(s) => q.bind::<Text, _>(s),
            Bind::Time(t) => q.bind::<Timestamp, _>(t),
            Bind::Int(n) => q.bind::<BigInt, _>(n),
        };
    }
    q
}

/// `?` placeholders as PostgreSQL's `$1, $2, …` (the statements here hold no `?` in literals).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Runs a statement with `?` placeholders on either backend.
pub fn load<T>(conn: &mut DbConnection, sql: &str, binds: &[Bind]) -> QueryResult<Vec<T>>
where
    T: QueryableByName<Pg> + QueryableByName<Sqlite> + 'static,
{
    match conn {
        DbConnection::Postgres(pg) => {
            bind_all(diesel::sql_query(numbered(sql)).into_boxed::<Pg>(), binds).load(pg)
        }
        DbConnection::Sqlite(lite) => {
            bind_all(diesel::sql_query(sql).into_boxed::<Sqlite>(), binds).load(lite)
        }
    }
}
