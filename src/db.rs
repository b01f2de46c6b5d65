//! The one way into tenant-owned data.
//!
//! Every tenant-scoped unit of work opens a transaction whose first statement sets
//! `app.tenant_id` transaction-locally. Row-level security then limits every statement in
//! it to that tenant, even one that forgets its `WHERE tenant_id = …`. When the transaction
//! ends the setting is gone, so a pooled connection that is reused sees nothing (fails closed).

pub mod once;

use crate::tenancy::TenantId;
use crate::{DomainError, ValidationError};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

/// A transaction scoped to one school, which knows that school: domain functions take the
/// tenant from here instead of a separate argument, so the tenant written into rows, audit
/// entries and storage keys can never differ from the one row-level security enforces.
/// It derefs to the connection for queries (`&mut **tx`, as with a plain transaction).
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    tenant: TenantId,
}

impl TenantTx {
    /// The school this transaction is scoped to.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for TenantTx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for TenantTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}

/// The connection pool and the database error, named here so that `app/` needs no `sqlx`
/// dependency of its own: SQL written outside the domain does not compile.
pub type Pool = PgPool;
pub use sqlx::Error as DbError;

/// Connection settings from a `postgres://` URL. Without an `sslmode` in it, a database on
/// this machine (`localhost`, `127.0.0.1`, `::1`, a socket directory) is reached without TLS:
/// encrypting loopback traffic protects nothing and cost about a tenth of the database's
/// time per page (issue 6's profile). Anything else keeps sqlx's default (`prefer`); a
/// production URL to another host should say `sslmode=verify-full`.
pub fn connect_options(url: &str) -> Result<sqlx::postgres::PgConnectOptions, sqlx::Error> {
    use sqlx::postgres::{PgConnectOptions, PgSslMode};
    let options: PgConnectOptions = url.parse()?;
    let says_ssl = url.split_once('?').is_some_and(|(_, query)| query.split('&').any(|kv| kv.starts_with("sslmode=")));
    let host = options.get_host();
    let local = host.starts_with('/') || matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]");
    Ok(if local && !says_ssl { options.ssl_mode(PgSslMode::Disable) } else { options })
}

/// The database answers (readiness).
/// Listens on `channel` until `pool` is closed, on a connection of its own (a pool of one with
/// `pool`'s settings, never one of the pages'). `up(true)` once listening; each notification's
/// payload goes to `message`; `up(false)` when the connection is lost or fails, and it connects
/// again after `retry`. Notifications sent while it was down are lost, and no lost connection
/// is replaced silently: a caller that must not miss one starts afresh on the next `up(true)`.
/// `what` names the listener in the log.
pub async fn listen(
    pool: PgPool,
    channel: &str,
    retry: std::time::Duration,
    what: &str,
    mut up: impl FnMut(bool) + Send,
    mut message: impl FnMut(&str) + Send,
) {
    let own =
        sqlx::postgres::PgPoolOptions::new().max_connections(1).min_connections(0).connect_lazy_with((*pool.connect_options()).clone());
    while !pool.is_closed() {
        let outcome = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(&own).await?;
            listener.eager_reconnect(false);
            listener.ignore_pool_close_event(true);
            listener.listen(channel).await?;
            up(true);
            while let Some(n) = listener.try_recv().await? {
                message(n.payload());
            }
            Ok::<(), sqlx::Error>(())
        }
        .await;
        match outcome {
            Ok(()) => tracing::warn!(listener = what, "listener connection lost"),
            Err(e) => tracing::warn!(listener = what, error = %e, "listener failed"),
        }
        up(false);
        tokio::time::sleep(retry).await;
    }
    own.close().await;
}

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
    let tx = pool.begin_with(sqlx::AssertSqlSafe(begin)).await?;
    Ok(TenantTx { tx, tenant })
}

/// Opens a savepoint: what is written until [`end_savepoint`] can be undone alone, leaving
/// the transaction usable (a refused insert must not poison the rest of the unit of work).
/// Savepoints of the same name nest: each end refers to the newest one.
pub async fn savepoint(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query("SAVEPOINT kilele_change").execute(&mut **tx).await.map(|_| ())
}

/// Ends the savepoint opened by [`savepoint`]: released when `result` is Ok, rolled back
/// (everything written since undone) when not. The result passes through.
pub async fn end_savepoint<T>(tx: &mut TenantTx, result: Result<T, DomainError>) -> Result<T, DomainError> {
    keep_savepoint(tx, result.is_ok()).await?;
    result
}

/// Ends the savepoint opened by [`savepoint`]: released when `keep`, rolled back otherwise
/// (for a unit of work whose refusal is a report, not an error: a marks save with conflicts).
/// Either way it is gone afterwards: `ROLLBACK TO` alone keeps a savepoint, and savepoints
/// opened inside one another share the name, so an outer rollback would stop at an inner one
/// left behind and keep what was written between them (a claimed payment without its
/// posting, in a batch of payments).
pub async fn keep_savepoint(tx: &mut TenantTx, keep: bool) -> Result<(), sqlx::Error> {
    if !keep {
        sqlx::query("ROLLBACK TO SAVEPOINT kilele_change").execute(&mut **tx).await?;
    }
    sqlx::query("RELEASE SAVEPOINT kilele_change").execute(&mut **tx).await.map(|_| ())
}

/// One round trip inside a school's transaction (a benchmark's baseline for a page's reads).
pub async fn ping_in(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(&mut **tx).await.map(|_| ())
}

/// What a violated constraint means to the person who filled the form: (constraint name,
/// form field, i18n message key). Unique and exclusion constraints become a
/// [`DomainError::Conflict`] (409), foreign keys a [`DomainError::Invalid`] (422). The one
/// table for every writer: a new constraint that people can trip over gets a row here.
pub const CONSTRAINTS: &[(&str, &str, &str)] = &[
    ("users_tenant_id_email_key", "email", "error-email-taken"),
    ("academic_years_tenant_id_year_key", "year", "error-year-exists"),
    ("terms_tenant_id_academic_year_id_number_key", "year", "error-year-exists"),
    ("terms_no_overlap", "term", "error-term-overlap"),
    ("levels_tenant_id_code_key", "ordinal", "error-level-exists"),
    ("streams_tenant_id_level_id_name_key", "name", "error-stream-exists"),
    ("subject_combinations_tenant_id_code_key", "code", "error-combination-exists"),
    ("students_combination_fk", "combination_id", "error-combination-in-use"),
    ("school_subjects_tenant_id_code_key", "code", "error-subject-exists"),
    ("students_tenant_id_admission_no_key", "admission_no", "error-admission-exists"),
    ("students_tenant_id_stream_id_fkey", "stream", "error-class-unknown"),
    ("enrolments_tenant_id_student_id_academic_year_id_key", "stream", "error-conflict"),
    ("enrolments_tenant_id_stream_id_fkey", "stream", "error-class-unknown"),
    ("student_guardians_pkey", "guardian_phone", "students-error-guardian-linked"),
    ("student_guardians_tenant_id_student_id_fkey", "guardian_phone", "error-not-found"),
    ("student_guardians_tenant_id_guardian_id_fkey", "guardian_phone", "error-not-found"),
    ("result_publications_tenant_id_term_id_level_id_key", "level", "results-error-already-published"),
    ("grading_schemes_tenant_id_key_version_key", "scheme", "error-scheme-changed-meanwhile"),
    ("payments_reference_once", "reference", "finance-error-reference-used"),
    ("payments_reference_once_any_case", "reference", "finance-error-reference-used"),
    ("fee_structures_one_per_class", "level", "error-conflict"),
    ("journal_entries_once", "source", "error-conflict"),
    ("tenants_slug_key", "code", "error-school-code-taken"),
    ("tenants_plan_code_fkey", "plan", "error-plan-unknown"),
];

/// The field error for a violated constraint, from its SQLSTATE and name (`None` when the
/// error is no constraint violation or the constraint is not one people can trip over).
/// `field` overrides the table's field where the form has several (`term2`).
pub fn constraint_error(code: Option<&str>, constraint: Option<&str>, field: Option<&str>) -> Option<DomainError> {
    let conflict = match code? {
        // unique_violation, exclusion_violation
        "23505" | "23P01" => true,
        // foreign_key_violation
        "23503" => false,
        _ => return None,
    };
    let (_, table_field, message) = CONSTRAINTS.iter().find(|(name, _, _)| Some(*name) == constraint)?;
    let field = field.unwrap_or(table_field).to_owned();
    let message = (*message).to_owned();
    Some(if conflict { DomainError::Conflict { field, message } } else { ValidationError { field, message }.into() })
}

/// A database error as the domain reports it: a known constraint becomes a field error
/// ([`CONSTRAINTS`]), anything else stays a database error.
pub fn map_constraint(err: sqlx::Error) -> DomainError {
    map_constraint_on(err, None)
}

/// [`map_constraint`], naming the form field when the table's is too general.
pub fn map_constraint_on(err: sqlx::Error, field: Option<&str>) -> DomainError {
    let mapped = match &err {
        sqlx::Error::Database(db) => constraint_error(db.code().as_deref(), db.constraint(), field),
        _ => None,
    };
    mapped.unwrap_or(DomainError::Database(err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_databases_go_without_tls_unless_the_url_says() {
        use sqlx::postgres::PgSslMode;
        let mode = |url: &str| format!("{:?}", connect_options(url).unwrap().get_ssl_mode());
        assert_eq!(mode("postgres://app@127.0.0.1:5432/kilele"), format!("{:?}", PgSslMode::Disable));
        assert_eq!(mode("postgres://app@localhost/kilele"), format!("{:?}", PgSslMode::Disable));
        assert_eq!(mode("postgres://app@127.0.0.1/kilele?sslmode=require"), format!("{:?}", PgSslMode::Require));
        assert_eq!(mode("postgres://app@db.internal/kilele"), format!("{:?}", PgSslMode::Prefer));
    }

    #[test]
    fn unique_and_exclusion_are_conflicts_with_the_tables_field() {
        let e = constraint_error(Some("23505"), Some("students_tenant_id_admission_no_key"), None);
        assert!(
            matches!(&e, Some(DomainError::Conflict { field, message }) if field == "admission_no" && message == "error-admission-exists"),
            "{e:?}"
        );
        let e = constraint_error(Some("23P01"), Some("terms_no_overlap"), Some("term2"));
        assert!(
            matches!(&e, Some(DomainError::Conflict { field, message }) if field == "term2" && message == "error-term-overlap"),
            "{e:?}"
        );
    }

    #[test]
    fn foreign_keys_are_invalid_fields() {
        let e = constraint_error(Some("23503"), Some("students_combination_fk"), None);
        assert!(
            matches!(&e, Some(DomainError::Invalid(v)) if v.field == "combination_id" && v.message == "error-combination-in-use"),
            "{e:?}"
        );
    }

    #[test]
    fn unknown_constraints_and_other_errors_stay_database_errors() {
        assert!(constraint_error(Some("23505"), Some("no_such_constraint"), None).is_none());
        assert!(constraint_error(Some("23505"), None, None).is_none());
        assert!(constraint_error(Some("40001"), Some("students_tenant_id_admission_no_key"), None).is_none());
        assert!(constraint_error(None, Some("students_tenant_id_admission_no_key"), None).is_none());
        assert!(matches!(map_constraint(sqlx::Error::RowNotFound), DomainError::Database(_)));
    }

    #[test]
    fn every_row_is_well_formed_and_named_once() {
        let mut seen = std::collections::HashSet::new();
        for (name, field, message) in CONSTRAINTS {
            assert!(seen.insert(*name), "{name} twice");
            assert!(!field.is_empty() && message.contains("error-"), "{name}");
        }
    }
}
