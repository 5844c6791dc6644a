//! Browser tests of the staff console: headless Chromium through WebDriver against the real server,
//! each with its own fresh database (SQLite, or PostgreSQL with PATRON_TEST_POSTGRES_URL).

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

#[allow(dead_code)]
mod harness;

mod access;
mod catalog;
mod customers;
#[allow(dead_code)]
#[path = "../api/insight_seed.rs"]
mod insight_seed;

mod insight;

mod session;
