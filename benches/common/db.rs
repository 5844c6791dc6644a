//! The database a benchmark runs on: a fresh SQLite file, or a schema of its own in
//! PostgreSQL (`PATRON_BENCH_POSTGRES_URL`, else `PATRON_TEST_POSTGRES_URL`, else the local
//! server) that is dropped afterwards. Shared by the benchmarks with `#[path]`.

use anyhow::{Context, Result};
use diesel::{Connection, RunQueryDsl, pg::PgConnection};

/// A benchmark's database.
pub enum BenchDb {
    Sqlite(#[allow(dead_code)] tempfile::TempDir, String),
    Postgres {
        admin: String,
        schema: String,
        url: String,
    },
}

impl BenchDb {
    pub fn sqlite() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        Ok(BenchDb::Sqlite(dir, url))
    }

    pub fn postgres() -> Result<Self> {
        let admin = std::env::var("PATRON_BENCH_POSTGRES_URL")
            .or_else(|_| std::env::var("PATRON_TEST_POSTGRES_URL"))
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let schema = format!("bench_{}", uuid::Uuid::now_v7().simple());
        let mut conn = PgConnection::establish(&admin)
            .with_context(|| format!("PostgreSQL at {admin} is unreachable"))?;
        diesel::sql_query(format!("CREATE SCHEMA {schema}")).execute(&mut conn)?;
        let sep = if admin.contains('?') { '&' } else { '?' };
        let url = format!("{admin}{sep}options=-c%20search_path%3D{schema}");
        Ok(BenchDb::Postgres { admin, schema, url })
    }

    pub fn url(&self) -> &str {
        match self {
            BenchDb::Sqlite(_, url) | BenchDb::Postgres { url, .. } => url,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            BenchDb::Sqlite(..) => "SQLite",
            BenchDb::Postgres { .. } => "PostgreSQL",
        }
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if let BenchDb::Postgres { admin, schema, .. } = self
            && let Ok(mut conn) = PgConnection::establish(admin)
        {
            let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&mut conn);
        }
    }
}
