//! Time as the domain sees it: the system clock in production, a settable clock in tests.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, DurationRound, NaiveDateTime, Utc};

/// A source of the current time, truncated to microseconds so both databases store it exactly.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// The current instant as a naive UTC timestamp for the database.
    fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }
}

/// Shared handle to the application clock.
pub type SharedClock = Arc<dyn Clock>;

fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::microseconds(1)).unwrap_or(t)
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        truncate(Utc::now())
    }
}

/// A clock that stands still until moved; for tests.
#[derive(Debug)]
pub struct SettableClock {
    now: Mutex<DateTime<Utc>>,
}

impl SettableClock {
    /// A clock showing `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(truncate(start)),
        }
    }

    /// Sets the time.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = truncate(to);
    }

    /// Moves the time forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now = truncate(*now + by);
    }
}

impl Clock for SettableClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
