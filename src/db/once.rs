//! A form that makes a document is done once, however often it is sent: a double click, or a
//! bursar on a flaky connection pressing again after a timeout. The form carries a fresh
//! token (rendered into it); the first submission records the token in the transaction that
//! makes the document, and a repeat — whose insert waits for that transaction — answers with
//! the first one's result instead of making a second payment or a second discount.
//! A first submission that failed left nothing behind, so sending it again simply retries.

use super::TenantTx;
use crate::{DomainError, ValidationError};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// How long a token is remembered (the worker forgets older ones).
pub const KEPT_FOR: chrono::Duration = chrono::Duration::days(2);

/// The form's token, as sent. Missing or malformed: the page was not ours or is out of date.
pub fn parse_token(input: &str) -> Result<Uuid, DomainError> {
    input.trim().parse::<Uuid>().map_err(|_| DomainError::Invalid(ValidationError::new("once", "form-error-expired")))
}

/// What to do with a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submission {
    /// The first time: do it, then [`done`].
    First,
    /// Sent before and done: answer with this result (the document made).
    Repeat(Option<Uuid>),
}

/// What a form said, as one short hash: a repeat must say the same.
pub fn fingerprint(fields: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for f in fields {
        hash.update((f.len() as u64).to_be_bytes());
        hash.update(f.as_bytes());
    }
    hex::encode(&hash.finalize()[..16])
}

/// Records `token` for `action` by `user` with what the form said (`fingerprint`), or finds
/// its first submission. A token sent with another form, by another user or with other values
/// (a page kept from before and filled in again) is refused (409), never answered with the
/// first submission's result.
pub async fn claim(
    tx: &mut TenantTx,
    token: Uuid,
    action: &str,
    user: Uuid,
    fingerprint: &str,
    at: DateTime<Utc>,
) -> Result<Submission, DomainError> {
    let inserted = sqlx::query(
        "INSERT INTO form_submissions (tenant_id, token, action, user_id, fingerprint, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, token) DO NOTHING",
    )
    .bind(tx.tenant().0)
    .bind(token)
    .bind(action)
    .bind(user)
    .bind(fingerprint)
    .bind(at)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Submission::First);
    }
    let first: Option<(String, Uuid, String, Option<Uuid>)> =
        sqlx::query_as("SELECT action, user_id, fingerprint, result_id FROM form_submissions WHERE token = $1")
            .bind(token)
            .fetch_optional(&mut **tx)
            .await?;
    match first {
        Some((a, u, f, result)) if a == action && u == user && f == fingerprint => Ok(Submission::Repeat(result)),
        Some((a, u, _, _)) if a == action && u == user => Err(DomainError::conflict("once", "form-error-changed-after-sending")),
        _ => Err(DomainError::conflict("once", "form-error-resubmitted")),
    }
}

/// Records what the first submission made, in its transaction.
pub async fn done(tx: &mut TenantTx, token: Uuid, result: Uuid) -> Result<(), DomainError> {
    sqlx::query("UPDATE form_submissions SET result_id = $2 WHERE token = $1").bind(token).bind(result).execute(&mut **tx).await?;
    Ok(())
}

/// Forgets tokens older than [`KEPT_FOR`] in every school (the worker). Returns how many went.
pub async fn purge(pool: &sqlx::PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let mut purged = 0;
    for tenant in crate::tenancy::store::list_all(pool).await? {
        let mut tx = super::tenant_tx(pool, tenant.id).await?;
        purged +=
            sqlx::query("DELETE FROM form_submissions WHERE created_at < $1").bind(now - KEPT_FOR).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
    }
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_malformed_token_is_an_out_of_date_form() {
        for bad in ["", "  ", "not-a-token", "123"] {
            match parse_token(bad) {
                Err(DomainError::Invalid(e)) => assert_eq!((e.field.as_str(), e.message.as_str()), ("once", "form-error-expired")),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let t = Uuid::new_v4();
        assert_eq!(parse_token(&format!(" {t} ")).ok(), Some(t));
        let used = crate::i18n_keys::used(&[include_str!("once.rs")], &["form-error-"]);
        assert_eq!(used.len(), 3, "{used:?}");
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]), "fields are kept apart");
        assert_eq!(fingerprint(&["1", "cash"]), fingerprint(&["1", "cash"]));
        crate::i18n_keys::assert_translated(&used);
    }
}
