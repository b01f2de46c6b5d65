//! The school's background work as the admin sees it: jobs that failed (for good, or waiting
//! for their next try) and a "try again now". Each function: scope (principal, permission,
//! the school's transaction) → domain → commit.

use crate::errors::AppError;
use kilele::jobs::TroubledJob;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::{parse_uuid, scope::Scope};
#[cfg(feature = "ssr")]
use kilele::identity::Permission;

/// The school's failed jobs, newest first.
#[server(endpoint = "admin/jobs")]
pub async fn troubled_jobs() -> Result<Vec<TroubledJob>, AppError> {
    let mut s = Scope::school(Permission::SchoolSettingsManage).await?;
    let jobs = kilele::jobs::troubled(&mut s.tx).await?;
    s.end_read(jobs)
}

/// Puts a failed job back in the queue to run now (the worker is woken at commit).
#[server(endpoint = "admin/jobs/retry")]
pub async fn retry_job(job: String) -> Result<(), AppError> {
    let mut s = Scope::school(Permission::SchoolSettingsManage).await?;
    let job = parse_uuid("job", &job)?;
    kilele::jobs::retry_now(&mut s.tx, job, s.change.by()).await?;
    s.commit(()).await
}
