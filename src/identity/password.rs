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

/// Bounds the password checks running at once (each holds ~19 MiB and a core for tens of
/// milliseconds). A sign-in that cannot get a turn within `wait` is told to try again in a
/// moment instead of piling up blocking threads and memory.
///
/// It also bounds how many sign-ins use the database at once (`db_turns`, a part of the
/// pool), so a flood of sign-ins cannot queue ahead of everyone's pages for connections.
#[derive(Debug, Clone)]
pub struct Verifier {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    db_turns: std::sync::Arc<tokio::sync::Semaphore>,
    wait: std::time::Duration,
}

/// No turn for this password check within the allowed wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many sign-ins at once")]
pub struct Busy;

impl Verifier {
    /// `concurrent` checks at most (at least one), each waiting at most `wait` for a turn.
    pub fn new(concurrent: usize, wait: std::time::Duration) -> Self {
        Self {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(concurrent.max(1))),
            db_turns: std::sync::Arc::new(tokio::sync::Semaphore::new(tokio::sync::Semaphore::MAX_PERMITS)),
            wait,
        }
    }

    /// At most `turns` sign-ins use the database at once.
    pub fn with_db_turns(mut self, turns: usize) -> Self {
        self.db_turns = std::sync::Arc::new(tokio::sync::Semaphore::new(turns.max(1)));
        self
    }

    /// A turn to read the account before checking the password; `Busy` after the wait.
    pub async fn db_turn(&self) -> Result<tokio::sync::OwnedSemaphorePermit, Busy> {
        match tokio::time::timeout(self.wait, self.db_turns.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Busy),
        }
    }

    /// A turn to record the outcome: waits as long as it takes (an outcome is never
    /// dropped, or failures could go uncounted).
    pub async fn db_turn_to_record(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.db_turns.clone().acquire_owned().await.ok()
    }

    /// Twice the cores: argon2 is CPU-bound, a little queueing keeps the cores busy.
    pub fn default_concurrency() -> usize {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) * 2
    }

    /// [`verify_off_thread`] once a turn is free. Unknown accounts (`stored = None`) take a
    /// turn too, so they cost the same and cannot be told apart.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, Busy> {
        let permit = match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            _ => return Err(Busy),
        };
        let ok = verify_off_thread(password, stored).await;
        drop(permit);
        Ok(ok)
    }
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new(Self::default_concurrency(), std::time::Duration::from_secs(2))
    }
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

    #[tokio::test]
    async fn a_full_verifier_says_busy_instead_of_queueing_forever() {
        let v = Verifier::new(1, std::time::Duration::from_millis(20));
        let held = v.permits.clone().acquire_owned().await.unwrap();
        assert_eq!(v.verify("x".into(), None).await, Err(Busy));
        drop(held);
        assert_eq!(v.verify("x".into(), None).await, Ok(false));
    }
}
