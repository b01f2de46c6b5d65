//! What the wallets' clients share: an access token (M-Pesa's session) kept per application
//! until shortly before it runs out, and the rule that a call refused as unauthorised (an
//! expired or revoked token) is tried once more with a new one.

use crate::DomainError;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Instant;

/// Tokens by application, each with the moment it stops being used.
#[derive(Default)]
pub struct Tokens(Mutex<HashMap<String, (String, Instant)>>);

impl Tokens {
    /// The application's token, while it is still good.
    pub fn kept(&self, application: &str) -> Option<String> {
        let tokens = self.0.lock().ok()?;
        tokens.get(application).filter(|(_, until)| Instant::now() < *until).map(|(t, _)| t.clone())
    }

    pub fn keep(&self, application: &str, token: &str, until: Instant) {
        if let Ok(mut tokens) = self.0.lock() {
            tokens.insert(application.to_owned(), (token.to_owned(), until));
        }
    }

    /// Keeps the token of a provider's token reply (`access_token`; `expires_in` in seconds,
    /// as a number or a string — Airtel sends "180" — else `default_secs`) until 30 s before
    /// it runs out, and returns it. `None`: the reply has no token.
    pub fn keep_reply(&self, application: &str, reply: &serde_json::Value, default_secs: u64) -> Option<String> {
        let token = reply["access_token"].as_str().filter(|t| !t.is_empty())?.to_owned();
        let lifetime =
            reply["expires_in"].as_u64().or_else(|| reply["expires_in"].as_str().and_then(|s| s.parse().ok())).unwrap_or(default_secs);
        self.keep(application, &token, Instant::now() + std::time::Duration::from_secs(lifetime.saturating_sub(30).max(10)));
        Some(token)
    }

    pub fn forget(&self, application: &str) {
        if let Ok(mut tokens) = self.0.lock() {
            tokens.remove(application);
        }
    }
}

/// The HTTP client the wallets are called with (the TLS provider installed first): a call may
/// stay open while the parent answers the prompt, so 30 s before it is "unknown" (settled by the
/// result or a status query later); a connection must be made within 5 s.
pub fn wallet_client() -> Result<reqwest::Client, String> {
    crate::storage::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .connect_timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())
}

/// A push as sent: the wallet's answer (its HTTP status and body), or what a failed send
/// means — a push that never connected certainly never left (refused: the parent may try
/// again), any other failure is unknown (the money may still move) — or, on a 401, a call for
/// a new token.
pub async fn push_sent(sent: reqwest::Result<reqwest::Response>) -> Result<(u16, String), Try<crate::payments::PushAnswer>> {
    use crate::payments::PushAnswer;
    let resp = match sent {
        Ok(r) => r,
        Err(e) if e.is_connect() => return Err(Try::Done(PushAnswer::Refused("payments-push-unavailable"))),
        Err(_) => return Err(Try::Done(PushAnswer::Unknown)),
    };
    let status = resp.status().as_u16();
    if status == 401 {
        return Err(Try::Unauthorized);
    }
    Ok((status, resp.text().await.unwrap_or_default()))
}

/// What one try of an authenticated call came to.
pub enum Try<T> {
    Done(T),
    /// 401: the token is no longer taken.
    Unauthorized,
}

/// Runs `call` with the application's token (`token` gives the kept one or a new one); when
/// the provider answers 401, forgets it and tries once more with a new one. `none`: the
/// answer when no token can be had (the provider is down or refuses our credentials).
pub async fn with_token<T, Token, Call>(
    tokens: &Tokens,
    application: &str,
    token: impl Fn() -> Token,
    call: impl Fn(String) -> Call,
    none: impl Fn() -> T,
) -> Result<T, DomainError>
where
    Token: Future<Output = Result<String, DomainError>>,
    Call: Future<Output = Result<Try<T>, DomainError>>,
{
    for _ in 0..2 {
        let fresh = match token().await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "no access token from the wallet");
                return Ok(none());
            }
        };
        match call(fresh).await? {
            Try::Done(answer) => return Ok(answer),
            Try::Unauthorized => tokens.forget(application),
        }
    }
    Ok(none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A token is fetched once and reused; a 401 fetches a new one and tries once more; a
    /// second 401, or no token at all, gives the caller's answer for "none".
    #[tokio::test]
    async fn a_token_is_reused_and_renewed_once_on_a_401() {
        let tokens = Tokens::default();
        let fetched = AtomicUsize::new(0);
        let token = || async {
            if let Some(t) = tokens.kept("app") {
                return Ok(t);
            }
            let n = fetched.fetch_add(1, Ordering::SeqCst);
            let t = format!("t{n}");
            tokens.keep("app", &t, Instant::now() + std::time::Duration::from_secs(60));
            Ok(t)
        };
        let ok = |t: String| async move { Ok(Try::Done(t)) };
        assert_eq!(with_token(&tokens, "app", token, ok, || "none".to_owned()).await.unwrap(), "t0");
        assert_eq!(with_token(&tokens, "app", token, ok, || "none".to_owned()).await.unwrap(), "t0", "reused");
        // t0 is refused once: t1 is fetched and taken.
        let refuse_t0 = |t: String| async move { Ok(if t == "t0" { Try::Unauthorized } else { Try::Done(t) }) };
        assert_eq!(with_token(&tokens, "app", token, refuse_t0, || "none".to_owned()).await.unwrap(), "t1");
        // Refused every time: one renewal, then "none".
        let before = fetched.load(Ordering::SeqCst);
        let refuse_all = |_: String| async { Ok::<Try<String>, DomainError>(Try::Unauthorized) };
        assert_eq!(with_token(&tokens, "app", token, refuse_all, || "none".to_owned()).await.unwrap(), "none");
        assert_eq!(fetched.load(Ordering::SeqCst), before + 1, "renewed once, not in a loop");
        // No token to be had: "none", and the call is never made.
        let no_token = || async { Err::<String, _>(DomainError::Internal("down".into())) };
        let never = |_: String| async { panic!("called without a token") };
        assert_eq!(with_token(&tokens, "app", no_token, never, || "none".to_owned()).await.unwrap(), "none");
    }
}
