//! The owner console's business: onboarding a school (its registry row, roles, settings and
//! first admin, invited by link) and suspending or resuming one. The registry is written
//! through the narrow functions of migration 0033; every step is audited in the school's
//! chain and in the platform's (`audit::platform`).

use super::{TenantId, TenantSlug, TenantStatus};
use crate::audit::{self, actions, Actor};
use crate::db::{map_constraint, tenant_tx, TenantTx};
use crate::identity::store::{ensure_default_roles, ChangedBy};
use crate::identity::{invitations, Email, Language, Role};
use crate::{DomainError, ValidationError};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// A school as the owner types it in.
#[derive(Debug, Clone, Default)]
pub struct NewSchool {
    pub code: String,
    pub name: String,
    pub plan: String,
    pub language: String,
    pub admission_prefix: String,
    pub admin_name: String,
    pub admin_email: String,
}

/// The school as checked: every field at once, so the owner fixes everything in one go.
struct Checked {
    slug: TenantSlug,
    name: String,
    plan: String,
    language: Language,
    prefix: String,
}

fn check(s: &NewSchool) -> Result<Checked, DomainError> {
    let mut errors = Vec::new();
    let slug = TenantSlug::parse(&s.code).map_err(|e| errors.push(ValidationError::new("code", &e.message))).ok();
    let name = s.name.split_whitespace().collect::<Vec<_>>().join(" ");
    // As the registry's check: 2 to 200 characters.
    if !(2..=200).contains(&name.chars().count()) {
        errors.push(ValidationError::new("name", "error-school-name-required"));
    }
    let plan = s.plan.trim().to_owned();
    if plan.is_empty() {
        errors.push(ValidationError::new("plan", "error-plan-unknown"));
    }
    let language = Language::parse(&s.language);
    if language.is_none() {
        errors.push(ValidationError::new("language", "error-language-invalid"));
    }
    let prefix = crate::academic::students::check_admission_prefix(&s.admission_prefix)
        .map_err(|_| errors.push(ValidationError::new("admission_prefix", "error-admission-prefix-invalid")))
        .ok();
    if let Err(e) = Email::parse(&s.admin_email) {
        errors.push(ValidationError::new("admin_email", &e.message));
    }
    let admin = s.admin_name.split_whitespace().collect::<Vec<_>>().join(" ");
    if admin.is_empty() || admin.chars().count() > 100 {
        errors.push(ValidationError::new("admin_name", "error-name-required"));
    }
    match (slug, language, prefix) {
        (Some(slug), Some(language), Some(prefix)) if errors.is_empty() => Ok(Checked { slug, name, plan, language, prefix }),
        _ => Err(DomainError::InvalidFields(errors)),
    }
}

/// What onboarding made: the new school's transaction (still open, for the invitation email
/// the caller queues in it), its id and code, and the first admin's one-time invitation token.
pub struct Onboarded {
    pub tx: TenantTx,
    pub school: TenantId,
    pub slug: TenantSlug,
    pub name: String,
    pub admin_email: String,
    pub token: String,
}

/// Onboards a school for the platform owner `owner`: the registry row, the school's roles and
/// settings, its first admin (who also teaches: head teachers do) invited by link, and the
/// entries in both audit chains, all in the new school's one transaction. The caller commits.
/// A taken code or an unknown plan is a field error.
pub async fn onboard(pool: &PgPool, owner: &Actor, s: &NewSchool, at: DateTime<Utc>) -> Result<Onboarded, DomainError> {
    let c = check(s)?;
    let owner_id = owner.id.ok_or(DomainError::Forbidden)?;
    let school = TenantId(Uuid::new_v4());
    let mut tx = tenant_tx(pool, school).await?;
    sqlx::query("SELECT platform_create_school($1, $2, $3, $4, $5, $6)")
        .bind(owner_id)
        .bind(school.0)
        .bind(c.slug.as_str())
        .bind(&c.name)
        .bind(&c.plan)
        .bind(c.language.code())
        .execute(&mut *tx)
        .await
        .map_err(map_constraint)?;
    ensure_default_roles(&mut tx).await?;
    crate::academic::setup::create_settings(&mut tx, &c.prefix).await?;
    let by = ChangedBy { actor: owner, at };
    let (_, token) = invitations::invite_staff(&mut tx, &s.admin_email, &s.admin_name, &[Role::SchoolAdmin, Role::Teacher], by).await?;
    let details = serde_json::json!({ "plan": c.plan, "name": c.name });
    audit::append(&mut tx, at, owner, actions::SCHOOL_CREATED, c.slug.as_str(), details.clone()).await?;
    let details = serde_json::json!({ "school": school.0, "plan": c.plan, "name": c.name });
    audit::platform::append(&mut tx, at, owner, actions::PLATFORM_SCHOOL_ONBOARDED, c.slug.as_str(), details).await?;
    Ok(Onboarded { tx, school, slug: c.slug, name: c.name, admin_email: s.admin_email.trim().to_lowercase(), token })
}

/// Suspends or resumes the school with code `code` for the platform owner `owner`. A
/// suspended school's people are signed out at their next request and cannot sign in; the
/// change reaches every process's cache of principals through the registry's trigger.
/// Unknown school: not found. Already in that state: nothing changes, nothing is audited.
pub async fn set_status(
    pool: &PgPool,
    owner: &Actor,
    code: &str,
    status: TenantStatus,
    at: DateTime<Utc>,
) -> Result<TenantId, DomainError> {
    let owner_id = owner.id.ok_or(DomainError::Forbidden)?;
    let slug = TenantSlug::parse(code).map_err(|_| DomainError::NotFound)?;
    let school = super::store::find_by_slug(pool, &slug).await?.ok_or(DomainError::NotFound)?;
    let mut tx = tenant_tx(pool, school.id).await?;
    let changed: bool = sqlx::query_scalar("SELECT platform_set_school_status($1, $2, $3)")
        .bind(owner_id)
        .bind(school.id.0)
        .bind(status.as_str())
        .fetch_one(&mut *tx)
        .await?;
    if changed {
        let action = match status {
            TenantStatus::Suspended => actions::PLATFORM_SCHOOL_SUSPENDED,
            TenantStatus::Active => actions::PLATFORM_SCHOOL_RESUMED,
        };
        audit::append(&mut tx, at, owner, action, slug.as_str(), serde_json::json!({})).await?;
        audit::platform::append(&mut tx, at, owner, action, slug.as_str(), serde_json::json!({ "school": school.id.0 })).await?;
    }
    tx.commit().await?;
    Ok(school.id)
}

/// The plans a school can be put on: (code, name).
pub async fn plans(pool: &PgPool) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT code, name FROM plans ORDER BY max_students NULLS LAST, code").fetch_all(pool).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_checked_at_once() {
        let Err(DomainError::InvalidFields(errors)) = check(&NewSchool::default()) else {
            panic!("an empty form is refused");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in ["code", "name", "plan", "language", "admission_prefix", "admin_email", "admin_name"] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
        let ok = NewSchool {
            code: "arusha-valley".into(),
            name: "  Arusha   Valley School ".into(),
            plan: "standard".into(),
            language: "sw".into(),
            admission_prefix: "avs".into(),
            admin_name: "Head Teacher".into(),
            admin_email: "head@arusha-valley.test".into(),
        };
        let c = check(&ok).unwrap();
        assert_eq!((c.slug.as_str(), c.name.as_str(), c.prefix.as_str()), ("arusha-valley", "Arusha Valley School", "AVS"));
    }
}
