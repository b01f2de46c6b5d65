//! `kilele school create`: the operator's way to add a school with its first admin, until
//! the owner console can do it.

use anyhow::{bail, Context};
use kilele::audit::Actor;
use kilele::db::tenant_tx;
use kilele::identity::{check_new_password, password, store as users, Email, Role};
use kilele::tenancy::{store as tenants, TenantId, TenantSlug};
use kilele::Language;
use sqlx::PgPool;

pub struct NewSchool<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub plan: &'a str,
    pub language: Language,
    pub admission_prefix: &'a str,
    pub admin_email: &'a str,
    pub admin_name: &'a str,
    pub admin_password: &'a str,
}

/// Creates an empty school (roles, settings, no calendar, no classes) and its admin, who
/// also holds the teacher role (head teachers teach; allocations need a teacher). The
/// registry row is written as the schema owner (`owner`); the school's data through `pool`,
/// the application role, under row-level security.
pub async fn create(owner: &PgPool, pool: &PgPool, s: &NewSchool<'_>, at: chrono::DateTime<chrono::Utc>) -> anyhow::Result<TenantId> {
    let slug = TenantSlug::parse(s.code).map_err(|e| anyhow::anyhow!("school code: {}", e.message))?;
    let email = Email::parse(s.admin_email).map_err(|e| anyhow::anyhow!("admin email: {}", e.message))?;
    check_new_password(s.admin_password).map_err(|e| anyhow::anyhow!("admin password: {}", e.message))?;
    let prefix = kilele::academic::students::check_admission_prefix(s.admission_prefix)
        .map_err(|_| anyhow::anyhow!("admission prefix: 1–10 letters or digits"))?;
    if tenants::find_by_slug(pool, &slug).await?.is_some() {
        bail!("a school with code {slug} already exists");
    }
    let hash = password::hash(s.admin_password)?;
    let tenant = tenants::create(owner, &slug, s.name, s.plan, s.language).await.context("creating the school (is the plan known?)")?;
    let mut tx = tenant_tx(pool, tenant).await?;
    users::ensure_default_roles(&mut tx).await?;
    kilele::academic::setup::create_settings(&mut tx, &prefix).await?;
    let actor = Actor::system("operator");
    let by = users::ChangedBy { actor: &actor, at };
    users::create_school_user(&mut tx, &email, s.admin_name, Some(&hash), &[Role::SchoolAdmin, Role::Teacher], by).await?;
    kilele::audit::append(
        &mut tx,
        at,
        &actor,
        kilele::audit::actions::SCHOOL_CREATED,
        slug.as_str(),
        serde_json::json!({ "plan": s.plan }),
    )
    .await?;
    tx.commit().await?;
    Ok(tenant)
}
