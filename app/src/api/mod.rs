//! Server functions. Each one opens a [`scope::Scope`] (principal → permission → the
//! school's transaction → who changes things), calls the domain, and commits through the
//! scope; errors are mapped in one place (`AppError`'s `From` impls).

pub mod account;
pub mod cards;
pub mod classes;
pub mod finance;
pub mod grading;
pub mod import;
pub mod jobs;
pub mod owner;
pub mod payments;
pub mod promotion;
pub mod results;
pub mod staff;
pub mod students;

use crate::errors::AppError;
use kilele::academic::{ChildSummary, SchoolOverview, TeachingAssignment};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub(crate) mod scope;

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
    let platform = scope::Platform::staff(Permission::PlatformTenantsRead)?;
    let rows = kilele::tenancy::store::overview(&platform.deps.pool).await?;
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
    let mut s = scope::Scope::school(Permission::SchoolOverviewRead).await?;
    let overview = kilele::academic::store::school_overview(&mut s.tx).await?;
    s.end_read(overview)
}

/// Teacher workspace: my classes and subjects this year.
#[server(endpoint = "teacher/classes")]
pub async fn my_classes() -> Result<Vec<TeachingAssignment>, AppError> {
    use kilele::identity::Permission;
    let mut s = scope::Scope::school(Permission::TeachingClassesRead).await?;
    let rows = kilele::academic::store::teaching_assignments(&mut s.tx, s.me.user_id).await?;
    s.end_read(rows)
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
    let mut s = scope::Scope::school_any(&[Permission::PortalChildrenRead, Permission::PortalSelfRead]).await?;
    let mut view = FamilyData::default();
    if s.me.can(Permission::PortalChildrenRead) {
        view.children = kilele::academic::store::children_of_guardian(&mut s.tx, s.me.user_id).await?;
    }
    if s.me.can(Permission::PortalSelfRead) {
        view.me = kilele::academic::store::student_of_user(&mut s.tx, s.me.user_id).await?;
    }
    s.end_read(view)
}

/// School admin: set the language the school's pages default to.
#[server(endpoint = "admin/default-language")]
pub async fn set_school_language(lang: String) -> Result<(), AppError> {
    use kilele::audit::{self, Actor};
    use kilele::identity::Permission;
    let mut s = scope::Scope::school(Permission::SchoolSettingsManage).await?;
    let lang = kilele::Language::parse(&lang)
        .ok_or_else(|| AppError::Invalid { field: "lang".into(), message: "error-language-invalid".into() })?;
    kilele::tenancy::store::set_default_language(&mut *s.tx, s.tenant.id, lang).await?;
    audit::append(
        &mut s.tx,
        s.deps.clock.now(),
        &Actor::user(s.me.user_id, &s.me.email),
        kilele::audit::actions::SCHOOL_DEFAULT_LANGUAGE_CHANGED,
        s.tenant.slug.as_str(),
        serde_json::json!({ "from": s.tenant.default_language.code(), "to": lang.code() }),
    )
    .await?;
    s.commit_people(()).await
}

// ---- Calendar (school admin) ----------------------------------------------------------

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
    let mut s = scope::Scope::school(Permission::SchoolAcademicsManage).await?;
    let years = kilele::academic::calendar::db::list_years(&mut s.tx).await?;
    s.end_read(years)
}

/// Adds an academic year with the usual term dates (two or three terms), to be adjusted.
#[server(endpoint = "admin/calendar/create-year")]
pub async fn create_academic_year(year: String, terms_per_year: String) -> Result<(), AppError> {
    use kilele::academic::calendar;
    use kilele::identity::Permission;
    let mut s = scope::Scope::school(Permission::SchoolAcademicsManage).await?;
    let year: i32 = year.trim().parse().map_err(|_| AppError::Invalid { field: "year".into(), message: "error-year-invalid".into() })?;
    let per: i32 = terms_per_year
        .trim()
        .parse()
        .map_err(|_| AppError::Invalid { field: "terms_per_year".into(), message: "error-terms-per-year".into() })?;
    calendar::db::create_year(&mut s.tx, year, per, &calendar::default_terms(year, per), s.change.by()).await?;
    s.commit(()).await
}

/// Changes one term's dates.
#[server(endpoint = "admin/calendar/update-term")]
pub async fn update_term(term_id: String, starts_on: String, ends_on: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let mut s = scope::Scope::school(Permission::SchoolAcademicsManage).await?;
    let term = parse_uuid("term", &term_id)?;
    let (starts_on, ends_on) = (parse_date("starts_on", &starts_on)?, parse_date("ends_on", &ends_on)?);
    kilele::academic::calendar::db::update_term(&mut s.tx, term, starts_on, ends_on, s.change.by()).await?;
    s.commit(()).await
}

/// Makes a term (and its year) current.
#[server(endpoint = "admin/calendar/current-term")]
pub async fn set_current_term(term_id: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let mut s = scope::Scope::school(Permission::SchoolAcademicsManage).await?;
    let term = parse_uuid("term", &term_id)?;
    kilele::academic::calendar::db::set_current_term(&mut s.tx, term, s.change.by()).await?;
    s.commit(()).await
}
