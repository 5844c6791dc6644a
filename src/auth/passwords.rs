//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane), off the async
//! workers, at most `auth.password_hash_concurrency` at a time so a login flood cannot exhaust
//! memory or the blocking pool.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Semaphore;

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

/// Runs argon2 on the blocking pool, a bounded number at a time. Each hash holds 19 MiB while it
/// runs; a caller that finds every slot taken waits up to `wait`, then gets 429 `rate_limited`.
#[derive(Debug, Clone)]
pub struct PasswordGate {
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl PasswordGate {
    /// At most `concurrency` (at least 1) hashes at once; callers wait up to `wait` for a slot.
    pub fn new(concurrency: usize, wait: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            wait,
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await
        {
            Ok(Ok(permit)) => permit,
            _ => return Err(ApiError::rate_limited(1)),
        };
        // The permit moves into the blocking task: a client that hangs up does not free the slot
        // before the hash it started is done.
        actix_web::web::block(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("blocking task failed: {e}")))
    }

    /// Hashes a password.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move || hash(&password))
            .await?
            .map_err(ApiError::internal)
    }

    /// Verifies a password against a stored hash (a dummy hash when there is none).
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, ApiError> {
        self.run(move || verify(&password, stored.as_deref())).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[tokio::test]
    async fn a_caller_finding_every_slot_taken_gets_429_after_the_wait() {
        let gate = PasswordGate::new(1, Duration::from_millis(50));
        let (release, held) = mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        let first = {
            let gate = gate.clone();
            tokio::spawn(async move {
                gate.run(move || {
                    let _ = started.send(());
                    held.recv().ok()
                })
                .await
            })
        };
        running.await.unwrap();
        let second = gate.run(|| ()).await;
        assert_eq!(second.unwrap_err().code(), "rate_limited");
        release.send(()).unwrap();
        assert!(first.await.unwrap().is_ok());
        // The slot is free again.
        assert!(gate.run(|| ()).await.is_ok());
    }
}
