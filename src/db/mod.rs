//! Database access: one diesel codebase over SQLite and PostgreSQL, pooled, bridged to async.

pub mod batch;
pub mod json;
pub mod migrations;
pub mod raw;
pub mod schema;

use std::cell::RefCell;
use std::ops::Deref;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use diesel::connection::{
    AnsiTransactionManager, Instrumentation, InstrumentationEvent, SimpleConnection,
    TransactionManager,
};
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

/// Runs `$body` on the connection underneath a [`DbConnection`], bound to `$c`, for statements
/// that diesel builds for each backend but not for the two together (`ON CONFLICT`). The body
/// is compiled once per backend.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgres($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

/// The query backend of [`DbConnection`], for boxed queries.
pub type Backend = <DbConnection as Connection>::Backend;

/// The connection pool shared by the whole application. On SQLite it also carries the write
/// gate: SQLite allows one writer at a time, and writers that queue on this in-process lock are
/// served in turn instead of sleeping in SQLite's busy handler (which backs off by up to 100 ms
/// per retry and made the slowest writes hundreds of milliseconds late under load). Other
/// processes on the same file still meet `busy_timeout`.
#[derive(Clone)]
pub struct Pool {
    inner: r2d2::Pool<Manager>,
    write_gate: Option<Arc<Mutex<()>>>,
    statements: prometheus::IntCounter,
    caches: Arc<crate::cache::Caches>,
    target: Target,
    /// One permit per connection: [`run`] waits for one before it hands work to a blocking
    /// thread, so that the thread finds a connection free instead of sleeping in the pool.
    permits: Arc<tokio::sync::Semaphore>,
    /// How long [`run`] waits for a permit (the pool's own checkout timeout).
    timeout: Duration,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("state", &self.inner.state())
            .finish_non_exhaustive()
    }
}

impl Deref for Pool {
    type Target = r2d2::Pool<Manager>;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

thread_local! {
    /// The write gate of the pool whose work runs on this thread, if it has one.
    static WRITE_GATE: RefCell<Option<Arc<Mutex<()>>>> = const { RefCell::new(None) };
}

impl Pool {
    /// Statements sent to the database through this pool's connections (BEGIN and COMMIT
    /// included), for `/metrics` (`patron_db_statements_total`).
    pub fn statements(&self) -> &prometheus::IntCounter {
        &self.statements
    }

    /// Runs blocking work that uses this pool, with its write gate in force for `write` and its
    /// caches in use (`crate::cache`); the copies of what the work changed are dropped when it
    /// returns.
    pub fn scoped<T>(&self, f: impl FnOnce() -> T) -> T {
        let previous = WRITE_GATE.with(|g| g.replace(self.write_gate.clone()));
        let result = crate::cache::scoped(&self.caches, f);
        WRITE_GATE.with(|g| g.replace(previous));
        result
    }

    /// This pool's caches (`crate::cache`).
    pub fn caches(&self) -> &crate::cache::Caches {
        &self.caches
    }

    /// Starts checking, every `interval`, whether cached data changed (`crate::cache`), on a
    /// connection of its own. Call once the migrations have run.
    pub fn start_cache_polling(&self, interval: Duration) -> std::io::Result<()> {
        // Its statements are not the requests': they are counted apart (and not exported).
        let statements = prometheus::IntCounter::new(
            "patron_cache_poll_statements_total",
            "statements of the cache poll",
        )
        .map_err(std::io::Error::other)?;
        let manager = Manager {
            target: self.target.clone(),
            statements,
        };
        crate::cache::start_polling(
            &self.caches,
            move || manager.connect().map_err(anyhow::Error::from),
            interval,
        )
    }
}

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
    statements: prometheus::IntCounter,
}

/// A connection idle for longer than this is tested (`SELECT 1`) before it is handed out.
const IDLE_TEST_AFTER: Duration = Duration::from_secs(30);

/// What the pool knows about one connection, kept in the connection's diesel instrumentation:
/// it sees every statement, so it counts them, knows when the connection was last used, and
/// notices a failed statement (after which the connection is tested before its next use).
struct Watch {
    statements: prometheus::IntCounter,
    last_used: Instant,
    failed: bool,
}

impl Instrumentation for Watch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => {
                self.statements.inc();
                self.last_used = Instant::now();
            }
            InstrumentationEvent::FinishQuery { error: Some(_), .. } => self.failed = true,
            _ => {}
        }
    }
}

impl Watch {
    /// Whether the connection must be tested before use; clears the failure mark (the test
    /// that follows decides).
    fn needs_test(&mut self) -> bool {
        let needed = self.failed || self.last_used.elapsed() > IDLE_TEST_AFTER;
        self.failed = false;
        needed
    }
}

fn watch_of(conn: &mut DbConnection) -> Option<&mut Watch> {
    let instrumentation = match conn {
        DbConnection::Postgres(c) => c.instrumentation(),
        DbConnection::Sqlite(c) => c.instrumentation(),
    };
    instrumentation.downcast_mut::<Watch>()
}

// busy_timeout comes first so that switching a fresh file to WAL waits for a concurrent opener.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        let watch = || Watch {
            statements: self.statements.clone(),
            last_used: Instant::now(),
            failed: false,
        };
        match &self.target {
            Target::Sqlite(path) => {
                let mut conn =
                    SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                conn.set_instrumentation(watch());
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
            Target::Postgres(url) => {
                let mut conn =
                    PgConnection::establish(url).map_err(r2d2::Error::ConnectionError)?;
                conn.set_instrumentation(watch());
                Ok(DbConnection::Postgres(conn))
            }
        }
    }

    /// Tests a connection only when it has been idle for a while or its last statement failed:
    /// a `SELECT 1` on every checkout would be a round trip per request. A connection that
    /// breaks in use fails that request, is marked by its failed statement, and is tested (and
    /// replaced if dead) before it is handed out again.
    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        if watch_of(conn).is_none_or(Watch::needs_test) {
            conn.ping().map_err(r2d2::Error::QueryError)?;
        }
        Ok(())
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
    let statements = prometheus::IntCounter::new(
        "patron_db_statements_total",
        "SQL statements sent to the database (BEGIN, COMMIT and connection tests included)",
    )?;
    let manager = Manager {
        target: target.clone(),
        statements: statements.clone(),
    };
    if matches!(manager.target, Target::Sqlite(_)) {
        // Switch a new file to WAL once, before the pool opens its connections in parallel:
        // the switch takes an exclusive lock that concurrent openers would report as "locked".
        drop(manager.connect()?);
    }
    let write_gate = matches!(manager.target, Target::Sqlite(_)).then(|| Arc::new(Mutex::new(())));
    let size = size.max(1);
    let inner = r2d2::Pool::builder()
        .max_size(size)
        .connection_timeout(timeout)
        .build(manager)?;
    Ok(Pool {
        inner,
        write_gate,
        statements,
        caches: Arc::default(),
        target,
        permits: Arc::new(tokio::sync::Semaphore::new(size as usize)),
        timeout,
    })
}

/// How many times `run` tries work that failed on a deadlock or serialization failure.
const ATTEMPTS: u32 = 5;

/// Runs blocking database work on the blocking thread pool; the connection is checked out there.
///
/// Work that fails because the database chose it as a deadlock victim or could not serialise it
/// (`ApiError::is_transient`) has been rolled back, and is run again, up to [`ATTEMPTS`] times in
/// all, after a short randomised pause. So `f` must do all its work inside its own transaction.
pub async fn run<T, E, F>(pool: &Pool, mut f: F) -> Result<T, ApiError>
where
    F: FnMut(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    // Requests queue here, in the async runtime, rather than as blocking threads asleep in the
    // pool: a thread woken for every free connection costs more than the work it then does.
    // Background jobs check connections out directly, so a permit may still meet a short wait.
    let Ok(Ok(permit)) =
        tokio::time::timeout(pool.timeout, Arc::clone(&pool.permits).acquire_owned()).await
    else {
        tracing::warn!("no database connection became free in time");
        return Err(ApiError::database_unavailable());
    };
    let pool = pool.clone();
    let outcome = actix_web::web::block(move || -> Result<T, ApiError> {
        let _permit = permit;
        pool.scoped(|| {
            let mut conn = pool.get().map_err(ApiError::from)?;
            let mut attempt = 1;
            loop {
                match f(&mut conn).map_err(Into::into) {
                    Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                        tracing::warn!(attempt, error = %e, "transaction conflicted; running it again");
                        let pause = rand::random_range(1..=10 * u64::from(attempt));
                        std::thread::sleep(Duration::from_millis(pause));
                        attempt += 1;
                    }
                    other => return other,
                }
            }
        })
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
    let gate = if outermost_sqlite(conn) {
        WRITE_GATE.with(|g| g.borrow().clone())
    } else {
        None
    };
    // Held until the transaction ends; a poisoned gate still serialises writers.
    let _turn = gate
        .as_ref()
        .map(|g| g.lock().unwrap_or_else(PoisonError::into_inner));
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

/// Whether this is a SQLite connection outside any transaction.
fn outermost_sqlite(conn: &mut DbConnection) -> bool {
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c)
            .transaction_depth()
            .is_ok_and(|d| d.is_none()),
        DbConnection::Postgres(_) => false,
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

/// Whether a diesel error means the transaction lost a race it may win if run again: a
/// serialization failure (40001), a deadlock (40P01), or SQLite's busy database.
pub fn is_transient(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match err {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(_, info) => {
            let message = info.message();
            message.contains("deadlock detected") || message.contains("database is locked")
        }
        _ => false,
    }
}

/// Whether a diesel error is a foreign-key violation.
pub fn is_foreign_key_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ForeignKeyViolation,
            _
        )
    )
}

/// Whether a diesel error is a unique-constraint violation.
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
