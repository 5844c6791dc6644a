//! Customers: identity, contact details, consents, tags and attributes — the core of the profile.

pub mod me_routes;
pub mod merge;
mod merge_repo;
pub mod model;
pub mod privacy;
pub mod profile;
pub mod repo;
pub mod routes;
pub mod search;
pub mod service;
pub mod stats;
pub mod validate;
