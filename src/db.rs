//! The one way into tenant-owned data.
//!
//! Every tenant-scoped unit of work opens a transaction whose first statement sets
//! `app.tenant_id` transaction-locally. Row-level security then limits every statement in
//! it to that tenant, even one that forgets its `WHERE tenant_id = …`. When the transaction
//! ends the setting is gone, so a pooled connection that is reused sees nothing (fails closed).

use crate::tenancy::TenantId;
use sqlx::{PgPool, Postgres, Transaction};

pub type TenantTx = Transaction<'static, Postgres>;

/// The connection pool and the database error, named here so that `app/` needs no `sqlx`
/// dependency of its own: SQL written outside the domain does not compile.
pub type Pool = PgPool;
pub use sqlx::Error as DbError;

/// The database answers (readiness).
pub async fn ping(pool: &PgPool) -> bool {
    sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool).await.is_ok()
}

/// Whether the connected role bypasses row-level security (superuser or BYPASSRLS): the
/// owner console's counts need the schema owner to.
pub async fn role_bypasses_rls(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user").fetch_one(pool).await
}

/// Opens a transaction scoped to `tenant`.
///
/// `BEGIN` and the setting travel in one round trip (a simple-query batch). The tenant id is
/// a `Uuid` printed as hex and dashes, so writing it into the statement is safe.
pub async fn tenant_tx(pool: &PgPool, tenant: TenantId) -> Result<TenantTx, sqlx::Error> {
    let begin = format!("BEGIN; SELECT set_config('app.tenant_id', '{}', true)", tenant.0.hyphenated());
    pool.begin_with(sqlx::AssertSqlSafe(begin)).await
}

/// True when the error is a unique-constraint violation (so callers can turn it into a
/// field error instead of a 500).
pub fn is_unique_violation(err: &sqlx::Error) -> Option<String> {
    match err {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => Some(db.constraint().unwrap_or_default().to_owned()),
        _ => None,
    }
}
