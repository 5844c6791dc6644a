//! The job registry. Jobs (outbox dispatch, birthday offers, …) register here as they arrive;
//! `patron jobs run NAME` runs one now.

/// A job that can be run by name.
#[derive(Debug, Clone, Copy)]
pub struct JobSpec {
    /// Stable name, also the `scheduler.jobs.<name>` config key.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
}

/// Every registered job. None yet.
pub const JOBS: &[JobSpec] = &[];

/// Finds a job by name.
pub fn find(name: &str) -> Option<&'static JobSpec> {
    JOBS.iter().find(|j| j.name == name)
}
