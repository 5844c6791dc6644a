//! Database access: one diesel codebase over SQLite and PostgreSQL, pooled, bridged to async.

pub mod migrations;
pub mod schema;

use std::path::Path;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryResult};

use crate::error::ApiError;

/// A connection to either supported database; the backend is chosen from the URL scheme.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// The query backend of [`DbConnection`], for boxed queries.
pub type Backend = <DbConnection as Connection>::Backend;

/// The connection pool shared by the whole application.
pub type Pool = r2d2::Pool<Manager>;

/// Where the database lives, parsed from `database.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A file path (or `:memory:`).
    Sqlite(String),
    /// A libpq connection URL.
    Postgres(String),
}

impl Target {
    /// Parses `sqlite://path`, `sqlite::memory:` or `postgres://…`/`postgresql://…`.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            anyhow::ensure!(
                !path.is_empty(),
                "database.url `sqlite://` needs a file path"
            );
            Ok(Target::Sqlite(path.to_owned()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Target::Postgres(url.to_owned()))
        } else {
            anyhow::bail!("database.url must start with sqlite:// or postgres:// (got `{url}`)")
        }
    }

    /// The folder that holds the SQLite file, if any.
    pub fn data_dir(&self) -> Option<&Path> {
        match self {
            Target::Sqlite(path) => Path::new(path).parent(),
            Target::Postgres(_) => None,
        }
    }
}

/// Opens connections for the pool and applies the SQLite pragmas to each one.
#[derive(Debug)]
pub struct Manager {
    target: Target,
}

// busy_timeout comes first so that switching a fresh file to WAL waits for a concurrent opener.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.target {
            Target::Sqlite(path) => {
                let mut conn =
                    SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
            Target::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Postgres)
                .map_err(r2d2::Error::ConnectionError),
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

/// Builds the pool, creating the SQLite folder on demand. Fails if the database cannot be reached.
pub fn connect(url: &str, size: u32, timeout: Duration) -> anyhow::Result<Pool> {
    let target = Target::parse(url)?;
    if let Some(dir) = target.data_dir().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create database folder {}: {e}", dir.display()))?;
    }
    let manager = Manager { target };
    if matches!(manager.target, Target::Sqlite(_)) {
        // Switch a new file to WAL once, before the pool opens its connections in parallel:
        // the switch takes an exclusive lock that concurrent openers would report as "locked".
        drop(manager.connect()?);
    }
    let pool = r2d2::Pool::builder()
        .max_size(size.max(1))
        .connection_timeout(timeout)
        .build(manager)?;
    Ok(pool)
}

/// Runs blocking database work on the blocking thread pool; the connection is checked out there.
pub async fn run<T, E, F>(pool: &Pool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    let pool = pool.clone();
    let outcome = actix_web::web::block(move || -> Result<T, ApiError> {
        let mut conn = pool.get().map_err(ApiError::from)?;
        f(&mut conn).map_err(Into::into)
    })
    .await;
    match outcome {
        Ok(result) => result,
        Err(blocking) => Err(ApiError::internal(anyhow::anyhow!(
            "blocking task failed: {blocking}"
        ))),
    }
}

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite (so a read-then-write cannot fail
/// with a stale snapshot), a plain transaction on PostgreSQL. Rolls back when `f` fails.
pub fn write<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    begin_write(conn)?;
    match f(conn) {
        Ok(value) => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            // The original error matters more than a failed rollback, which diesel already marks
            // the connection broken for.
            let _ = <DbConnection as Connection>::TransactionManager::rollback_transaction(conn);
            Err(err)
        }
    }
}

/// Inside an open transaction this starts a savepoint, so services can call each other.
fn begin_write(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => {
            let depth =
                AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?;
            if depth.is_none() {
                AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
            } else {
                AnsiTransactionManager::begin_transaction(c)
            }
        }
        DbConnection::Postgres(c) => AnsiTransactionManager::begin_transaction(c),
    }
}

/// Whether a diesel error is a unique-constraint violation.
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
