//! Reads and writes of the global tenant registry.

use super::{Feature, Tenant, TenantId, TenantSlug, TenantStatus};
use crate::Language;
use sqlx::{PgExecutor, Row};
use uuid::Uuid;

const TENANT_COLUMNS: &str = "t.id, t.slug, t.name, t.status, t.plan_code, t.default_language, p.features";

fn tenant_from_row(row: &sqlx::postgres::PgRow) -> Result<Tenant, sqlx::Error> {
    tenant_from_columns(row, TenantId(row.try_get("id")?))
}

/// A school from a row with its registry columns (`slug`, `name`, `status`, `plan_code`,
/// `default_language`, `features`) whose id the caller knows.
pub(crate) fn tenant_from_columns(row: &sqlx::postgres::PgRow, id: TenantId) -> Result<Tenant, sqlx::Error> {
    let slug: String = row.try_get("slug")?;
    let status: String = row.try_get("status")?;
    let lang: String = row.try_get("default_language")?;
    let features: Vec<String> = row.try_get("features")?;
    Ok(Tenant {
        id,
        slug: TenantSlug::parse(&slug).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        name: row.try_get("name")?,
        status: TenantStatus::parse(&status).unwrap_or(TenantStatus::Suspended),
        plan_code: row.try_get("plan_code")?,
        features: features.iter().filter_map(|f| Feature::parse(f)).collect(),
        default_language: Language::parse(&lang).unwrap_or_default(),
    })
}

pub async fn find_by_slug<'e>(db: impl PgExecutor<'e>, slug: &TenantSlug) -> Result<Option<Tenant>, sqlx::Error> {
    let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants t JOIN plans p ON p.code = t.plan_code WHERE t.slug = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(slug.as_str()).fetch_optional(db).await?.as_ref().map(tenant_from_row).transpose()
}

pub async fn find_by_id<'e>(db: impl PgExecutor<'e>, id: TenantId) -> Result<Option<Tenant>, sqlx::Error> {
    let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants t JOIN plans p ON p.code = t.plan_code WHERE t.id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(db).await?.as_ref().map(tenant_from_row).transpose()
}

pub async fn list_all<'e>(db: impl PgExecutor<'e>) -> Result<Vec<Tenant>, sqlx::Error> {
    let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants t JOIN plans p ON p.code = t.plan_code ORDER BY t.name");
    sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(db).await?.iter().map(tenant_from_row).collect()
}

/// Adds a school to the registry. Operator commands only (`kilele school create`, the demo
/// seed): it needs the schema owner; the application role cannot write `tenants`.
pub async fn create<'e>(
    db: impl PgExecutor<'e>,
    slug: &TenantSlug,
    name: &str,
    plan_code: &str,
    default_language: Language,
) -> Result<TenantId, sqlx::Error> {
    let id: Uuid = sqlx::query_scalar("INSERT INTO tenants (slug, name, plan_code, default_language) VALUES ($1, $2, $3, $4) RETURNING id")
        .bind(slug.as_str())
        .bind(name)
        .bind(plan_code)
        .bind(default_language.code())
        .fetch_one(db)
        .await?;
    Ok(TenantId(id))
}

/// Whether any school exists (the demo seed runs only on an empty database).
pub async fn any_exists<'e>(db: impl PgExecutor<'e>) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tenants)").fetch_one(db).await
}

/// Suspends or reactivates a school. Needs the schema owner (no web path does this yet; the
/// owner console will get a narrow security-definer function like the one below).
pub async fn set_status<'e>(db: impl PgExecutor<'e>, id: TenantId, status: TenantStatus) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tenants SET status = $2 WHERE id = $1").bind(id.0).bind(status.as_str()).execute(db).await?;
    Ok(())
}

/// The school's default language, inside that school's tenant transaction: the application
/// role cannot UPDATE `tenants`, so this goes through a security-definer function that
/// changes only this column of only the transaction's own school (migration 0008).
pub async fn set_default_language<'e>(db: impl PgExecutor<'e>, id: TenantId, lang: Language) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_school_default_language($1, $2)").bind(id.0).bind(lang.code()).execute(db).await?;
    Ok(())
}

/// One school's line in the owner console: counts only, computed by a security-definer
/// function so the owner never reads a school's rows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TenantCounts {
    pub tenant: Tenant,
    pub students: i64,
    pub staff: i64,
    pub guardians: i64,
    pub streams: i64,
}

pub async fn overview(pool: &sqlx::PgPool) -> Result<Vec<TenantCounts>, sqlx::Error> {
    let tenants = list_all(pool).await?;
    let rows = sqlx::query("SELECT tenant_id, students, staff, guardians, streams FROM platform_tenant_overview()").fetch_all(pool).await?;
    let by_tenant: std::collections::HashMap<Uuid, &sqlx::postgres::PgRow> =
        rows.iter().filter_map(|r| Some((r.try_get::<Uuid, _>("tenant_id").ok()?, r))).collect();
    let mut out = Vec::with_capacity(tenants.len());
    for tenant in tenants {
        let row = by_tenant.get(&tenant.id.0);
        let get = |name: &str| row.and_then(|r| r.try_get::<i64, _>(name).ok()).unwrap_or(0);
        out.push(TenantCounts {
            students: get("students"),
            staff: get("staff"),
            guardians: get("guardians"),
            streams: get("streams"),
            tenant,
        });
    }
    Ok(out)
}
