//! Patron: a loyalty club and customer profile service.

pub mod api_keys;
pub mod app;
pub mod audit;
pub mod auth;
pub mod body;
pub mod cli;
pub mod clock;
pub mod config;
pub mod customers;
pub mod db;
pub mod error;
pub mod idempotency;
pub mod ops;
pub mod pagination;
pub mod points;
pub mod program;
pub mod purchases;
pub mod referrals;
pub mod rewards;
pub mod rules;
pub mod scheduler;
pub mod secrets;
pub mod staff;
pub mod telemetry;
pub mod tiers;
pub mod values;
