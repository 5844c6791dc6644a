//! Statements written in SQL, for what diesel's query builder cannot say on both backends. They
//! are written with `?` placeholders and run with bound parameters on whichever connection this
//! is. Unlike `diesel::sql_query`, they go through diesel's prepared-statement cache (keyed by
//! their text): a statement run on every request is parsed and planned once per connection.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Text, Timestamp, Untyped};
use diesel::sqlite::{Sqlite, SqliteConnection};

use crate::db::DbConnection;

/// A bound parameter.
#[derive(Debug, Clone)]
pub enum Bind {
    Text(String),
    Time(NaiveDateTime),
    Int(i64),
}

/// A statement with `?` placeholders (none inside literals) and its parameters.
#[derive(Debug, Clone, Copy)]
struct Statement<'a> {
    sql: &'a str,
    binds: &'a [Bind],
}

impl QueryId for Statement<'_> {
    type QueryId = ();
    // Cached by its text and parameter types instead.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Statement<'_> {
    type SqlType = Untyped;
}

impl<DB> QueryFragment<DB> for Statement<'_>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Timestamp> + HasSqlType<BigInt>,
    String: ToSql<Text, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let mut parts = self.sql.split('?');
        if let Some(first) = parts.next() {
            out.push_sql(first);
        }
        let mut binds = self.binds.iter();
        for part in parts {
            match binds.next() {
                Some(Bind::Text(s)) => out.push_bind_param::<Text, _>(s)?,
                Some(Bind::Time(t)) => out.push_bind_param::<Timestamp, _>(t)?,
                Some(Bind::Int(n)) => out.push_bind_param::<BigInt, _>(n)?,
                None => {
                    return Err(diesel::result::Error::QueryBuilderError(
                        "fewer parameters than placeholders".into(),
                    ));
                }
            }
            out.push_sql(part);
        }
        Ok(())
    }
}

impl RunQueryDsl<PgConnection> for Statement<'_> {}
impl RunQueryDsl<SqliteConnection> for Statement<'_> {}

/// Runs a statement with `?` placeholders on either backend.
pub fn load<T>(conn: &mut DbConnection, sql: &str, binds: &[Bind]) -> QueryResult<Vec<T>>
where
    T: QueryableByName<Pg> + QueryableByName<Sqlite> + 'static,
{
    let statement = Statement { sql, binds };
    match conn {
        DbConnection::Postgres(pg) => statement.load(pg),
        DbConnection::Sqlite(lite) => statement.load(lite),
    }
}
