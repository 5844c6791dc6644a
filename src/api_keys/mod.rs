//! API keys for store backends: `pk_`-prefixed, shown once, stored only as a SHA-256 hash.

pub mod repo;
pub mod routes;
pub mod service;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::auth::Scope;
use crate::db::schema::api_keys;

/// Every API key starts with this.
pub const PREFIX: &str = "pk_";

/// An API key row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    /// Id.
    pub id: String,
    /// Human name.
    pub name: String,
    /// The first characters of the key, to recognise it in lists.
    pub prefix: String,
    /// SHA-256 of the whole key, hex.
    pub key_hash: String,
    /// Space-separated scopes.
    pub scopes: String,
    /// Store the key is bound to.
    pub store_id: Option<String>,
    /// The staff member who created it (None from the CLI).
    pub created_by: Option<String>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Revoked, if it was.
    pub revoked_at: Option<NaiveDateTime>,
}

impl ApiKeyRow {
    /// The scopes, skipping any name this version no longer knows.
    pub fn scopes(&self) -> Vec<Scope> {
        self.scopes
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect()
    }
}

/// A new random key (256 bits) and its display prefix.
pub fn generate() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let key = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let prefix = key.chars().take(PREFIX.len() + 8).collect();
    (key, prefix)
}

/// The stored form of a key. A fast hash suffices: the key has 256 bits of entropy.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}
