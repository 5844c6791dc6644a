//! Integration tests: the real server on a free port, its own fresh database per test (SQLite by
//! default, PostgreSQL when PATRON_TEST_POSTGRES_URL is set), spoken to over HTTP.

mod helpers;
#[allow(dead_code)] // The browser tests use the rest.
mod insight_seed;

mod adjustments;
mod auth;
mod authorization;
mod backdating;
mod birthday;
mod cli;
mod code_privacy;
mod console;
mod console_access;
mod console_catalog;
#[allow(dead_code)] // Some helpers serve only some areas' tests.
mod console_client;
mod console_customers;
mod console_insight;
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
mod readme_feedback;
mod recovery;
mod referrals;
mod reports;
mod returns;
mod rewards;
mod rules;
mod scale_out;
mod staff_and_keys;
mod store_binding;
mod survey_invitations;
mod survey_page;
mod surveys;
mod templates;
mod throttling;
mod tickets;
mod tier_references;
mod tiers;
mod unsubscribe;
