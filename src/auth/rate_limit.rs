//! In-memory rate limits (per instance): login attempts per IP and per email, requests per API key,
//! and failed credentials per client address.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::ApiError;

/// Keys kept before stale ones are swept, so the limiter cannot grow without bound.
const SWEEP_ABOVE: usize = 10_000;

/// A keyed token-bucket limiter.
#[derive(Debug)]
pub struct Limiter {
    inner: DefaultKeyedRateLimiter<String>,
}

impl Limiter {
    /// Allows `n` attempts per minute per key.
    pub fn per_minute(n: u32) -> Self {
        Self::with_quota(Quota::per_minute(
            NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN),
        ))
    }

    /// Allows `n` requests per second per key, in bursts of up to `n`.
    pub fn per_second(n: u32) -> Self {
        Self::with_quota(Quota::per_second(
            NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN),
        ))
    }

    fn with_quota(quota: Quota) -> Self {
        Self {
            inner: DefaultKeyedRateLimiter::keyed(quota),
        }
    }

    /// Takes one unit for each key; the first exhausted key gives 429 with Retry-After.
    pub fn check<'a>(&self, keys: impl IntoIterator<Item = &'a str>) -> Result<(), ApiError> {
        if self.inner.len() > SWEEP_ABOVE {
            self.inner.retain_recent();
        }
        for key in keys {
            if let Err(not_until) = self.inner.check_key(&key.to_owned()) {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                return Err(ApiError::rate_limited(wait.as_secs() + 1));
            }
        }
        Ok(())
    }
}

/// Failed credentials (unknown or revoked API keys, bad tokens) per client address. An address
/// that used up its allowance gets 429 before its next unknown API key costs a database query.
/// Keys this instance has already seen valid skip the check, so a valid key sharing an address
/// (a store behind one NAT) with a misconfigured till keeps working; revocation is still checked
/// against the database on every request.
#[derive(Debug)]
pub struct CredentialThrottle {
    /// Failures allowed per minute per address, refilled continuously.
    per_minute: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
    known_keys: Mutex<HashSet<String>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl CredentialThrottle {
    /// Allows `n` failures per minute per address, in bursts of up to `n`.
    pub fn per_minute(n: u32) -> Self {
        Self {
            per_minute: f64::from(n.max(1)),
            buckets: Mutex::default(),
            known_keys: Mutex::default(),
        }
    }

    fn refilled(&self, b: Bucket, now: Instant) -> Bucket {
        let gained = now.duration_since(b.at).as_secs_f64() * self.per_minute / 60.0;
        Bucket {
            tokens: (b.tokens + gained).min(self.per_minute),
            at: now,
        }
    }

    /// 429 `rate_limited` (with the seconds until the next attempt) when `address` has no
    /// failures left.
    pub fn check(&self, address: &str) -> Result<(), ApiError> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(bucket) = buckets.get_mut(address) else {
            return Ok(());
        };
        *bucket = self.refilled(*bucket, Instant::now());
        if bucket.tokens >= 1.0 {
            return Ok(());
        }
        let wait = (1.0 - bucket.tokens) * 60.0 / self.per_minute;
        // Whole seconds, rounded up; at most one minute.
        Err(ApiError::rate_limited(wait.ceil().clamp(1.0, 60.0) as u64))
    }

    /// Counts a failed credential from `address`.
    pub fn failed(&self, address: &str) {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() > SWEEP_ABOVE {
            // Full buckets carry no information.
            buckets.retain(|_, b| self.refilled(*b, now).tokens < self.per_minute);
        }
        let bucket = buckets.entry(address.to_owned()).or_insert(Bucket {
            tokens: self.per_minute,
            at: now,
        });
        let refilled = self.refilled(*bucket, now);
        *bucket = Bucket {
            tokens: (refilled.tokens - 1.0).max(0.0),
            at: now,
        };
    }

    /// Whether the key with this hash was valid here before.
    pub fn is_known(&self, key_hash: &str) -> bool {
        self.known_keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(key_hash)
    }

    /// Remembers a valid key (by hash); forgets them all rather than grow without bound.
    pub fn remember(&self, key_hash: &str) {
        let mut known = self
            .known_keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if known.len() >= SWEEP_ABOVE {
            known.clear();
        }
        known.insert(key_hash.to_owned());
    }

    /// Forgets a key that is no longer valid.
    pub fn forget(&self, key_hash: &str) {
        self.known_keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key_hash);
    }
}
