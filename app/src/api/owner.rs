//! The owner console's changes: onboarding a school with its first admin's invitation, and
//! suspending or resuming a school. Platform owners only (`platform.tenants.manage`); support
//! staff read.

use crate::errors::AppError;
use leptos::prelude::*;

/// Where these forms come back to.
pub const PAGE: &str = "/owner";

/// The plans a school can be put on: (code, name).
#[server(endpoint = "owner/plans")]
pub async fn load_plans() -> Result<Vec<(String, String)>, AppError> {
    use kilele::identity::Permission;
    let platform = super::scope::Platform::staff(Permission::PlatformTenantsManage)?;
    Ok(kilele::tenancy::onboarding::plans(&platform.deps.pool).await?)
}

/// Onboards a school: its registry row, roles, settings and first admin, who gets a one-time
/// invitation link (shown once to the owner, and sent by email).
#[server(endpoint = "owner/schools/create")]
#[allow(clippy::too_many_arguments)]
pub async fn onboard_school(
    name: String,
    code: String,
    plan: String,
    language: String,
    admission_prefix: String,
    admin_name: String,
    admin_email: String,
) -> Result<(), AppError> {
    use kilele::identity::Permission;
    use kilele::tenancy::onboarding::{onboard, NewSchool};
    let platform = super::scope::Platform::staff(Permission::PlatformTenantsManage)?;
    let school = NewSchool { code, name, plan, language, admission_prefix, admin_name, admin_email };
    let mut made = onboard(&platform.deps.pool, &platform.actor(), &school, platform.deps.clock.now()).await?;
    let link = super::staff::invitation_link(&made.slug, &made.token);
    super::staff::queue_invitation_email(&mut made.tx, &platform.deps, &made.name, &made.admin_email, &link).await?;
    made.tx.commit().await?;
    super::staff::show_once(PAGE, crate::ctx::Notice::INVITE_LINK, Some(link));
    leptos_axum::redirect(PAGE);
    Ok(())
}

/// Suspends (`suspended`) or resumes (`active`) a school: its people's sessions end at their
/// next request and nobody of it can sign in until it is resumed.
#[server(endpoint = "owner/schools/status")]
pub async fn set_school_status(code: String, status: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    use kilele::tenancy::TenantStatus;
    let platform = super::scope::Platform::staff(Permission::PlatformTenantsManage)?;
    let status =
        TenantStatus::parse(&status).ok_or_else(|| AppError::Invalid { field: "status".into(), message: "error-status-invalid".into() })?;
    let school =
        kilele::tenancy::onboarding::set_status(&platform.deps.pool, &platform.actor(), &code, status, platform.deps.clock.now()).await?;
    // This process drops the school's people at once; the others on the registry's notification.
    platform.deps.principals.forget(&school.0.to_string());
    leptos_axum::redirect(PAGE);
    Ok(())
}
