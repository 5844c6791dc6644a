//! Embedded migrations for both backends, run at start-up and by `patron migrate`.

use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConnection;

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// An arbitrary constant naming the advisory lock that serialises migrations across instances.
const MIGRATION_LOCK: i64 = 0x7061_7472_6f6e;

/// Applies every pending migration and returns the names of those applied.
pub fn run_pending(conn: &mut DbConnection) -> anyhow::Result<Vec<String>> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE)
            .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?
            .iter()
            .map(ToString::to_string)
            .collect(),
        DbConnection::Postgres(c) => {
            // Two instances starting at once must not both run the same migration. The lock is
            // the transaction's, and every pending migration runs in that one transaction, so
            // this also works through a pooler in transaction mode (PgBouncer).
            c.transaction::<_, anyhow::Error, _>(|c| {
                diesel::sql_query(format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                    .execute(c)?;
                c.run_pending_migrations(POSTGRES)
                    .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>())
                    .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))
            })?
        }
    };
    Ok(applied)
}

/// Reverts every applied migration (used by the migrations test).
pub fn revert_all(conn: &mut DbConnection) -> anyhow::Result<usize> {
    let reverted = match conn {
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE),
        DbConnection::Postgres(c) => c.revert_all_migrations(POSTGRES),
    }
    .map_err(|e| anyhow::anyhow!("reverting migrations failed: {e}"))?;
    Ok(reverted.len())
}

/// Reverts the newest applied migration; returns its name (used by the migrations test to check
/// that a migration carries existing rows over).
pub fn revert_last(conn: &mut DbConnection) -> anyhow::Result<String> {
    let reverted = match conn {
        DbConnection::Sqlite(c) => c.revert_last_migration(SQLITE),
        DbConnection::Postgres(c) => c.revert_last_migration(POSTGRES),
    }
    .map_err(|e| anyhow::anyhow!("reverting the last migration failed: {e}"))?;
    Ok(reverted.to_string())
}
