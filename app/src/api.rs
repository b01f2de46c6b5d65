//! Server functions. Each one: authenticate → resolve tenant → check permission → call the
//! domain → map errors (via `AppError`'s `From` impls).

use crate::errors::AppError;
use kilele::academic::{ChildSummary, SchoolOverview, TeachingAssignment};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
mod guard {
    use crate::ctx::{request_ctx, Deps};
    use crate::errors::AppError;
    use kilele::identity::{Permission, Principal};
    use kilele::tenancy::{Tenant, TenantId};
    use leptos::prelude::use_context;

    /// The signed-in school user holding `permission`, their school and the dependencies.
    pub fn school(permission: Permission) -> Result<(Deps, Principal, Tenant), AppError> {
        let deps = use_context::<Deps>().ok_or(AppError::Internal)?;
        let ctx = request_ctx();
        let principal = ctx.principal.ok_or(AppError::Unauthenticated)?;
        let tenant = ctx.tenant.ok_or(AppError::Forbidden)?;
        if principal.tenant_id != Some(tenant.id) || !principal.can(permission) {
            return Err(AppError::Forbidden);
        }
        Ok((deps, principal, tenant))
    }

    /// Platform staff holding `permission`.
    pub fn platform(permission: Permission) -> Result<(Deps, Principal), AppError> {
        let deps = use_context::<Deps>().ok_or(AppError::Internal)?;
        let principal = request_ctx().principal.ok_or(AppError::Unauthenticated)?;
        if !principal.is_platform() || !principal.can(permission) {
            return Err(AppError::Forbidden);
        }
        Ok((deps, principal))
    }

    pub fn tenant_id(t: &Tenant) -> TenantId {
        t.id
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchoolRow {
    pub name: String,
    pub code: String,
    pub plan: String,
    pub suspended: bool,
    pub students: i64,
    pub staff: i64,
    pub guardians: i64,
    pub streams: i64,
}

/// Owner console: every school with its counts (aggregates only).
#[server(endpoint = "owner/schools")]
pub async fn owner_schools() -> Result<Vec<SchoolRow>, AppError> {
    use kilele::identity::Permission;
    use kilele::tenancy::TenantStatus;
    let (deps, _) = guard::platform(Permission::PlatformTenantsRead)?;
    let rows = kilele::tenancy::store::overview(&deps.pool).await?;
    Ok(rows
        .into_iter()
        .map(|r| SchoolRow {
            name: r.tenant.name,
            code: r.tenant.slug.to_string(),
            plan: r.tenant.plan_code,
            suspended: r.tenant.status == TenantStatus::Suspended,
            students: r.students,
            staff: r.staff,
            guardians: r.guardians,
            streams: r.streams,
        })
        .collect())
}

/// School admin console: students, staff, classes.
#[server(endpoint = "admin/overview")]
pub async fn admin_overview() -> Result<SchoolOverview, AppError> {
    use kilele::identity::Permission;
    let (deps, _, tenant) = guard::school(Permission::SchoolOverviewRead)?;
    let mut tx = kilele::db::tenant_tx(&deps.pool, guard::tenant_id(&tenant)).await?;
    let overview = kilele::academic::store::school_overview(&mut tx).await?;
    tx.commit().await?;
    Ok(overview)
}

/// Teacher workspace: my classes and subjects this year.
#[server(endpoint = "teacher/classes")]
pub async fn my_classes() -> Result<Vec<TeachingAssignment>, AppError> {
    use kilele::identity::Permission;
    let (deps, me, tenant) = guard::school(Permission::TeachingClassesRead)?;
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    let rows = kilele::academic::store::teaching_assignments(&mut tx, me.user_id).await?;
    tx.commit().await?;
    Ok(rows)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FamilyData {
    /// Guardians: their children. Empty for a student.
    pub children: Vec<ChildSummary>,
    /// Students: their own record.
    pub me: Option<ChildSummary>,
}

/// Parent/student portal.
#[server(endpoint = "portal/family")]
pub async fn family_view() -> Result<FamilyData, AppError> {
    use kilele::identity::Permission;
    let ctx = crate::ctx::request_ctx();
    let me = ctx.principal.as_ref().ok_or(AppError::Unauthenticated)?;
    let permission = if me.can(Permission::PortalChildrenRead) { Permission::PortalChildrenRead } else { Permission::PortalSelfRead };
    let (deps, me, tenant) = guard::school(permission)?;
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    let mut view = FamilyData::default();
    if me.can(Permission::PortalChildrenRead) {
        view.children = kilele::academic::store::children_of_guardian(&mut tx, me.user_id).await?;
    }
    if me.can(Permission::PortalSelfRead) {
        view.me = kilele::academic::store::student_of_user(&mut tx, me.user_id).await?;
    }
    tx.commit().await?;
    Ok(view)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinanceSummary {
    /// Students who will be billed once fees are set up.
    pub active_students: i64,
}

/// Accountant workspace. Finance is not built yet: the page is an empty state, but it only
/// opens for schools whose plan includes finance and users with the permission.
#[server(endpoint = "accountant/overview")]
pub async fn finance_overview() -> Result<FinanceSummary, AppError> {
    use kilele::identity::Permission;
    use kilele::tenancy::Feature;
    let (deps, _, tenant) = guard::school(Permission::FinanceOverviewRead)?;
    if !tenant.has_feature(Feature::Finance) {
        return Err(AppError::Forbidden);
    }
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    let overview = kilele::academic::store::school_overview(&mut tx).await?;
    tx.commit().await?;
    Ok(FinanceSummary { active_students: overview.students })
}

/// School admin: set the language the school's pages default to.
#[server(endpoint = "admin/default-language")]
pub async fn set_school_language(lang: String) -> Result<(), AppError> {
    use kilele::audit::{self, Actor};
    use kilele::identity::Permission;
    let (deps, me, tenant) = guard::school(Permission::SchoolSettingsManage)?;
    let lang = kilele::Language::parse(&lang)
        .ok_or_else(|| AppError::Invalid { field: "lang".into(), message: "error-language-invalid".into() })?;
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    kilele::tenancy::store::set_default_language(&mut *tx, tenant.id, lang).await?;
    audit::append(
        &mut tx,
        tenant.id,
        deps.clock.now(),
        &Actor::user(me.user_id, &me.email),
        "school.default_language.changed",
        tenant.slug.as_str(),
        serde_json::json!({ "from": tenant.default_language.code(), "to": lang.code() }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
