//! In-memory rate limits (per instance): login attempts per IP and per email, requests per API key.

use std::num::NonZeroU32;

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
