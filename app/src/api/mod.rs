//! Server functions. Each one: authenticate → resolve tenant → check permission → call the
//! domain → map errors (via `AppError`'s `From` impls).

pub mod classes;
pub mod import;
pub mod promotion;
pub mod staff;
pub mod students;

use crate::errors::AppError;
use kilele::academic::{ChildSummary, SchoolOverview, TeachingAssignment};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
mod guard {
    use crate::ctx::{request_ctx, Deps};
    use crate::errors::AppError;
    use kilele::identity::{Permission, Principal};
    use kilele::tenancy::Tenant;
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
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
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
        kilele::audit::actions::SCHOOL_DEFAULT_LANGUAGE_CHANGED,
        tenant.slug.as_str(),
        serde_json::json!({ "from": tenant.default_language.code(), "to": lang.code() }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- Calendar (school admin) ----------------------------------------------------------

/// Who is making a change and when: every write is audited with it.
#[cfg(feature = "ssr")]
pub(crate) struct Change {
    pub actor: kilele::audit::Actor,
    pub at: chrono::DateTime<chrono::Utc>,
}

#[cfg(feature = "ssr")]
impl Change {
    pub fn by(&self) -> kilele::identity::store::ChangedBy<'_> {
        kilele::identity::store::ChangedBy { actor: &self.actor, at: self.at }
    }
}

#[cfg(feature = "ssr")]
fn changed_by(deps: &crate::ctx::Deps, me: &kilele::identity::Principal) -> Change {
    Change { actor: kilele::audit::Actor::user(me.user_id, &me.email), at: deps.clock.now() }
}

#[cfg(feature = "ssr")]
fn parse_uuid(field: &str, value: &str) -> Result<uuid::Uuid, AppError> {
    value.trim().parse().map_err(|_| AppError::Invalid { field: field.into(), message: "error-not-found".into() })
}

#[cfg(feature = "ssr")]
fn parse_date(field: &str, value: &str) -> Result<chrono::NaiveDate, AppError> {
    chrono::NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::Invalid { field: field.into(), message: "error-date-invalid".into() })
}

/// The school's years and terms, newest first.
#[server(endpoint = "admin/calendar")]
pub async fn calendar_years() -> Result<Vec<kilele::academic::calendar::YearView>, AppError> {
    use kilele::identity::Permission;
    let (deps, _, tenant) = guard::school(Permission::SchoolAcademicsManage)?;
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    let years = kilele::academic::calendar::db::list_years(&mut tx).await?;
    tx.commit().await?;
    Ok(years)
}

/// Adds an academic year with the usual term dates (two or three terms), to be adjusted.
#[server(endpoint = "admin/calendar/create-year")]
pub async fn create_academic_year(year: String, terms_per_year: String) -> Result<(), AppError> {
    use kilele::academic::calendar;
    use kilele::identity::Permission;
    let (deps, me, tenant) = guard::school(Permission::SchoolAcademicsManage)?;
    let year: i32 = year.trim().parse().map_err(|_| AppError::Invalid { field: "year".into(), message: "error-year-invalid".into() })?;
    let per: i32 = terms_per_year
        .trim()
        .parse()
        .map_err(|_| AppError::Invalid { field: "terms_per_year".into(), message: "error-terms-per-year".into() })?;
    let change = changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    calendar::db::create_year(&mut tx, tenant.id, year, per, &calendar::default_terms(year, per), by).await?;
    tx.commit().await?;
    Ok(())
}

/// Changes one term's dates.
#[server(endpoint = "admin/calendar/update-term")]
pub async fn update_term(term_id: String, starts_on: String, ends_on: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let (deps, me, tenant) = guard::school(Permission::SchoolAcademicsManage)?;
    let term = parse_uuid("term", &term_id)?;
    let (starts_on, ends_on) = (parse_date("starts_on", &starts_on)?, parse_date("ends_on", &ends_on)?);
    let change = changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    kilele::academic::calendar::db::update_term(&mut tx, tenant.id, term, starts_on, ends_on, by).await?;
    tx.commit().await?;
    Ok(())
}

/// Makes a term (and its year) current.
#[server(endpoint = "admin/calendar/current-term")]
pub async fn set_current_term(term_id: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let (deps, me, tenant) = guard::school(Permission::SchoolAcademicsManage)?;
    let term = parse_uuid("term", &term_id)?;
    let change = changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    kilele::academic::calendar::db::set_current_term(&mut tx, tenant.id, term, by).await?;
    tx.commit().await?;
    Ok(())
}
