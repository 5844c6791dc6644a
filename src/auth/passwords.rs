//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane), off the async workers.

use std::sync::OnceLock;

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{ApiError, FieldError};

/// Longest password accepted, in bytes; longer input is rejected before any hashing work.
pub const MAX_LEN: usize = 1024;

fn hasher() -> Argon2<'static> {
    // Params::DEFAULT is m=19456 KiB, t=2, p=1: the OWASP recommendation for argon2id.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

/// Checks a new password's length; `field` names it in the error.
pub fn check_new(field: &str, password: &str, min_chars: usize) -> Result<(), FieldError> {
    if password.len() > MAX_LEN {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_LEN} bytes"),
        ));
    }
    if password.chars().count() < min_chars {
        return Err(FieldError::new(
            field,
            format!("must be at least {min_chars} characters"),
        ));
    }
    Ok(())
}

/// Rejects an over-long password given at login, without hashing it.
pub fn check_login(password: &str) -> Result<(), ApiError> {
    if password.len() > MAX_LEN {
        return Err(ApiError::validation(vec![FieldError::new(
            "password",
            format!("must be at most {MAX_LEN} bytes"),
        )]));
    }
    Ok(())
}

/// Hashes a password into a PHC string (blocking; call from the blocking pool).
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))
}

/// Whether `password` matches `stored` (blocking). With no stored hash, a dummy hash is checked
/// so that unknown accounts take as long as known ones.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let stored = stored.unwrap_or_else(|| dummy_hash());
    match PasswordHash::new(stored) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash("patron-dummy-password").unwrap_or_default())
}

/// Hashes on the blocking pool.
pub async fn hash_async(password: String) -> Result<String, ApiError> {
    actix_web::web::block(move || hash(&password))
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("blocking task failed: {e}")))?
        .map_err(ApiError::internal)
}

/// Verifies on the blocking pool.
pub async fn verify_async(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    actix_web::web::block(move || verify(&password, stored.as_deref()))
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("blocking task failed: {e}")))
}
