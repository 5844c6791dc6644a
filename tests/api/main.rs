//! Integration tests: the real server on a free port, its own fresh database per test (SQLite by
//! default, PostgreSQL when PATRON_TEST_POSTGRES_URL is set), spoken to over HTTP.

mod helpers;

mod adjustments;
mod auth;
mod authorization;
mod backdating;
mod birthday;
mod cli;
mod code_privacy;
mod corruption;
mod customers;
mod delivery;
mod errors;
mod expiry_warnings;
mod feedback;
mod history_order;
mod jobs;
mod journeys;
mod ledger_props;
mod lot_expiry;
mod mail;
mod me;
mod merge;
mod migrations;
mod ops;
mod overflow;
mod points;
mod privacy;
mod profile;
mod program;
mod purchases;
mod races;
mod recovery;
mod referrals;
mod returns;
mod rewards;
mod rules;
mod staff_and_keys;
mod store_binding;
mod templates;
mod throttling;
mod tickets;
mod tier_references;
mod tiers;
mod unsubscribe;
