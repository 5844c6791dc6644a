//! The job registry. Jobs register here as they arrive (outbox dispatch, birthday offers, …);
//! `patron jobs run NAME` runs one now.

use crate::clock::SharedClock;
use crate::db::Pool;
pub use crate::points::jobs::JobReport;

/// A job that can be run by name.
#[derive(Clone, Copy)]
pub struct JobSpec {
    /// Stable name, also the `scheduler.jobs.<name>` config key.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
    /// The job body (blocking; run it on the blocking pool).
    pub run: fn(&Pool, &SharedClock) -> anyhow::Result<JobReport>,
}

impl std::fmt::Debug for JobSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobSpec")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Every registered job.
pub const JOBS: &[JobSpec] = &[
    JobSpec {
        name: "release_pending",
        description: "make pending points available once their return window has passed",
        run: crate::points::jobs::release_pending,
    },
    JobSpec {
        name: "expire_points",
        description: "expire earned points whose lot reached its expiry date (soonest first)",
        run: crate::points::jobs::expire_points,
    },
    JobSpec {
        name: "tier_review",
        description: "downgrade customers who stayed below their tier past the grace period",
        run: crate::tiers::service::review,
    },
    JobSpec {
        name: "recompute_segments",
        description: "move customers whose RFM segment is due to their segment as of now",
        run: crate::customers::stats::recompute_segments,
    },
];

/// Finds a job by name.
pub fn find(name: &str) -> Option<&'static JobSpec> {
    JOBS.iter().find(|j| j.name == name)
}
