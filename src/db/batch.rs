//! Writes of one change that need nothing from each other, sent in one round trip (a batch of
//! more than 200 statements, in one per 200).
//!
//! On PostgreSQL the statements become the parts of one statement (`WITH p0 AS (INSERT …
//! RETURNING 1), p1 AS (UPDATE … RETURNING 1) SELECT …`), which answers how many rows each
//! part wrote. All parts see the database as it was before the statement, so a batch may only
//! hold writes that do not read each other's rows (foreign keys are checked at the end of the
//! statement, so a part may insert a row that another part's row refers to). On SQLite, where a
//! statement is a function call, they simply run in order.

use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Untyped};
use diesel::sqlite::{Sqlite, SqliteConnection};

use crate::db::DbConnection;

/// A statement of one backend whose type is forgotten.
pub struct Part<'a, DB>(Box<dyn QueryFragment<DB> + Send + 'a>);

impl<DB> QueryId for Part<'_, DB> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB: diesel::backend::Backend> QueryFragment<DB> for Part<'_, DB> {
    // As for `Combined`: a part has a bounded number of shapes.
    fn is_safe_to_cache_prepared(&self, _: &DB) -> QueryResult<bool> {
        Ok(true)
    }

    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }
}

impl RunQueryDsl<SqliteConnection> for Part<'_, Sqlite> {}

/// The parts as one PostgreSQL statement; `cached` when its text takes a bounded number of
/// shapes.
struct Combined<'p, 'a> {
    parts: &'p [Part<'a, Pg>],
    cached: bool,
}

impl QueryId for Combined<'_, '_> {
    type QueryId = ();
    // Prepared once per connection and shape, keyed by its text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Combined<'_, '_> {
    type SqlType = Untyped;
}

impl QueryFragment<Pg> for Combined<'_, '_> {
    // Diesel does not cache UPDATEs, upserts or inserts with optional columns (their text can
    // vary); a short batch's parts take a bounded number of shapes (see `Batch::push`), so the
    // statement is prepared once per connection and shape instead of parsed and planned on
    // every request.
    fn is_safe_to_cache_prepared(&self, _: &Pg) -> QueryResult<bool> {
        Ok(self.cached)
    }

    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH ");
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_sql(&format!("p{i} AS ("));
            part.walk_ast(out.reborrow())?;
            out.push_sql(" RETURNING 1)");
        }
        for i in 0..self.parts.len() {
            if i > 0 {
                out.push_sql(" UNION ALL ");
            }
            out.push_sql(&format!(
                "SELECT CAST({i} AS BIGINT) AS part, count(*) AS n FROM p{i}"
            ));
        }
        Ok(())
    }
}

impl RunQueryDsl<PgConnection> for Combined<'_, '_> {}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    part: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Most parts kept prepared: larger batches (a spend over many lots) vary in length.
const MAX_CACHED_PARTS: usize = 24;
/// Most parts in one statement: well within PostgreSQL's 65,535 parameters.
const MAX_PARTS: usize = 200;

/// Statements collected for one round trip.
pub struct Batch<'a> {
    parts: Parts<'a>,
    /// A part's text varies (a multi-row insert): the statement is not kept prepared.
    varying: bool,
}

enum Parts<'a> {
    Postgres(Vec<Part<'a, Pg>>),
    Sqlite(Vec<Part<'a, Sqlite>>),
}

impl<'a> Batch<'a> {
    /// An empty batch for this connection's backend.
    pub fn new(conn: &DbConnection) -> Self {
        let parts = match conn {
            DbConnection::Postgres(_) => Parts::Postgres(Vec::new()),
            DbConnection::Sqlite(_) => Parts::Sqlite(Vec::new()),
        };
        Self {
            parts,
            varying: false,
        }
    }

    /// Adds a statement (without `RETURNING`); returns its index in [`Batch::run`]'s answer.
    ///
    /// The statement must take a bounded number of shapes (no `IN` lists, no multi-row inserts
    /// of varying length): batches of up to 24 parts are kept prepared, once per shape.
    pub fn push<Q>(&mut self, statement: Q) -> usize
    where
        Q: QueryFragment<Pg> + QueryFragment<Sqlite> + Send + 'a,
    {
        match &mut self.parts {
            Parts::Postgres(parts) => {
                parts.push(Part(Box::new(statement)));
                parts.len() - 1
            }
            Parts::Sqlite(parts) => {
                parts.push(Part(Box::new(statement)));
                parts.len() - 1
            }
        }
    }

    /// Whether the statements go to PostgreSQL (in one round trip).
    pub fn is_postgres(&self) -> bool {
        matches!(self.parts, Parts::Postgres(_))
    }

    /// Adds a statement only PostgreSQL can run as it is (a multi-row insert); ignored on SQLite.
    /// A batch holding one is not kept prepared (its text varies with the number of rows).
    pub fn push_postgres<Q: QueryFragment<Pg> + Send + 'a>(&mut self, statement: Q) {
        if let Parts::Postgres(parts) = &mut self.parts {
            parts.push(Part(Box::new(statement)));
            self.varying = true;
        }
    }

    /// Runs the statements; returns the rows each one wrote, in the order they were added.
    pub fn run(self, conn: &mut DbConnection) -> QueryResult<Vec<usize>> {
        match (self.parts, conn) {
            (Parts::Postgres(parts), DbConnection::Postgres(c)) => {
                if parts.is_empty() {
                    return Ok(Vec::new());
                }
                // A long batch (a spend over many lots) goes in several statements, each within
                // PostgreSQL's limit on parameters, and is not kept prepared: its text varies.
                let cached = !self.varying && parts.len() <= MAX_CACHED_PARTS;
                let mut written = vec![0; parts.len()];
                for (chunk, parts) in parts.chunks(MAX_PARTS).enumerate() {
                    let combined = Combined { parts, cached };
                    let counts: Vec<Count> = combined.load(c)?;
                    for count in counts {
                        if let Some(slot) = usize::try_from(count.part)
                            .ok()
                            .map(|i| chunk * MAX_PARTS + i)
                            .and_then(|i| written.get_mut(i))
                        {
                            *slot = usize::try_from(count.n).unwrap_or(0);
                        }
                    }
                }
                Ok(written)
            }
            (Parts::Sqlite(parts), DbConnection::Sqlite(c)) => {
                parts.into_iter().map(|part| part.execute(c)).collect()
            }
            _ => Err(diesel::result::Error::QueryBuilderError(
                "a batch runs on the backend it was made for".into(),
            )),
        }
    }
}
