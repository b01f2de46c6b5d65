//! Password hashing: argon2id with m = 19456 KiB, t = 2, p = 1 (the OWASP minimum).

use crate::DomainError;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use std::sync::LazyLock;

pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

fn hasher() -> Result<Argon2<'static>, DomainError> {
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).map_err(|e| DomainError::Internal(format!("argon2 params: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash(password: &str) -> Result<String, DomainError> {
    hasher()?.hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| DomainError::Internal(format!("argon2 hash: {e}")))
}

pub fn verify(password: &str, phc: &str) -> bool {
    hasher().is_ok_and(|h| h.verify_password(password.as_bytes(), phc).is_ok())
}

/// Verified against when the account does not exist, so that "no such user" costs the same
/// time as "wrong password".
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| hash("kilele-no-such-account-dummy").ok());

/// Checks a password off the async runtime. `stored` is `None` for an unknown account (a
/// dummy hash is verified instead, and the answer is always false).
pub async fn verify_off_thread(password: String, stored: Option<String>) -> bool {
    let result = tokio::task::spawn_blocking(move || match stored {
        Some(phc) => verify(&password, &phc),
        None => {
            if let Some(dummy) = DUMMY_HASH.as_deref() {
                let _ = verify(&password, dummy);
            }
            false
        }
    })
    .await;
    result.unwrap_or(false)
}

/// Builds the dummy hash ahead of the first sign-in.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_with_required_parameters_and_verifies() {
        let phc = hash("Demo-Kilele-2026").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("Demo-Kilele-2026", &phc));
        assert!(!verify("demo-kilele-2026", &phc));
        assert!(!verify("Demo-Kilele-2026", "not a hash"));
    }
}
