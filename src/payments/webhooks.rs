//! Standard Webhooks signatures (<https://www.standardwebhooks.com>), as every bank request
//! carries them: `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`, a
//! space-separated list of `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, the key
//! being the base64-decoded part of a `whsec_…` secret. Several secrets may be active at once
//! (a bank rotating its secret signs with both for a while). A request more than five minutes
//! from our clock either way is refused: a captured request cannot be replayed later.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a request's timestamp may be from our clock.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// A signing secret.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// `whsec_<base64>` (24–64 bytes), as a bank is given it.
    pub fn parse(text: &str) -> Option<Self> {
        let key = STANDARD.decode(text.trim().strip_prefix("whsec_")?).ok()?;
        (24..=64).contains(&key.len()).then_some(Self(key))
    }

    /// A fresh secret of 32 random bytes.
    pub fn generate() -> (Self, String) {
        let key: [u8; 32] = rand::random();
        (Self(key.to_vec()), format!("whsec_{}", STANDARD.encode(key)))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Option<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).ok()?;
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        Some(mac)
    }

    /// The `webhook-signature` value for a request (the simulators' and our replies' side).
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        self.mac(id, timestamp, body).map(|m| format!("v1,{}", STANDARD.encode(m.finalize().into_bytes()))).unwrap_or_default()
    }
}

/// Why a request's signature is refused (each answered 401, kept in the inbox with the reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("payments-error-unsigned")]
    Unsigned,
    #[error("payments-error-stale")]
    Stale,
    #[error("payments-error-signature")]
    BadSignature,
}

impl Refused {
    pub fn key(self) -> &'static str {
        match self {
            Self::Unsigned => "payments-error-unsigned",
            Self::Stale => "payments-error-stale",
            Self::BadSignature => "payments-error-signature",
        }
    }
}

/// The three headers as sent.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Checks a request against the active secrets at `now`. Returns the webhook id.
pub fn verify<'a>(secrets: &[Secret], headers: Signed<'a>, body: &[u8], now: DateTime<Utc>) -> Result<&'a str, Refused> {
    let (Some(id), Some(timestamp), Some(signature)) = (headers.id, headers.timestamp, headers.signature) else {
        return Err(Refused::Unsigned);
    };
    if id.is_empty() || id.len() > 100 || id.contains('.') {
        return Err(Refused::Unsigned);
    }
    let timestamp: i64 = timestamp.trim().parse().map_err(|_| Refused::Unsigned)?;
    if now.timestamp().abs_diff(timestamp) > TOLERANCE_SECONDS.unsigned_abs() {
        return Err(Refused::Stale);
    }
    let offered: Vec<Vec<u8>> =
        signature.split(' ').filter_map(|s| s.strip_prefix("v1,")).filter_map(|b| STANDARD.decode(b).ok()).collect();
    let matches = secrets
        .iter()
        .any(|secret| offered.iter().any(|sig| secret.mac(id, timestamp, body).is_some_and(|mac| mac.verify_slice(sig).is_ok())));
    if matches {
        Ok(id)
    } else {
        Err(Refused::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_vector_signs_and_verifies() {
        // The Standard Webhooks reference libraries' test vector.
        let secret = Secret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let sig = secret.sign("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body);
        assert_eq!(sig, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
        let at = DateTime::from_timestamp(1649367553 + 60, 0).unwrap();
        let headers = Signed { id: Some("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"), timestamp: Some("1649367553"), signature: Some(&sig) };
        assert_eq!(verify(std::slice::from_ref(&secret), headers, body, at), Ok("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"));
    }

    #[test]
    fn forged_tampered_stale_and_unsigned_requests_are_refused() {
        let (secret, text) = Secret::generate();
        assert!(Secret::parse(&text).is_some() && Secret::parse("whsec_short").is_none() && Secret::parse("C2FVsBQ").is_none());
        let (other, _) = Secret::generate();
        let now = Utc::now();
        let ts = now.timestamp().to_string();
        let body = br#"{"transactionRef":"T1","amount":"100.00"}"#;
        let good = secret.sign("evt_1", now.timestamp(), body);
        let h = |sig: &'static str| Signed { id: Some("evt_1"), timestamp: None, signature: Some(sig) };
        let signed = |sig: &str, ts: &str| {
            verify(std::slice::from_ref(&secret), Signed { id: Some("evt_1"), timestamp: Some(ts), signature: Some(sig) }, body, now)
                .map(|_| ())
        };
        assert_eq!(signed(&good, &ts), Ok(()));
        // Rotation: the old and the new secret both sign; either one active is enough.
        let both = format!("{} {good}", other.sign("evt_1", now.timestamp(), body));
        assert_eq!(signed(&both, &ts), Ok(()));
        assert_eq!(
            verify(std::slice::from_ref(&other), Signed { id: Some("evt_1"), timestamp: Some(&ts), signature: Some(&good) }, body, now),
            Err(Refused::BadSignature),
            "forged: another key"
        );
        let tampered = br#"{"transactionRef":"T1","amount":"900.00"}"#;
        assert_eq!(
            verify(
                std::slice::from_ref(&secret),
                Signed { id: Some("evt_1"), timestamp: Some(&ts), signature: Some(&good) },
                tampered,
                now
            ),
            Err(Refused::BadSignature)
        );
        let old = (now.timestamp() - TOLERANCE_SECONDS - 1).to_string();
        assert_eq!(
            signed(&secret.sign("evt_1", now.timestamp() - TOLERANCE_SECONDS - 1, body), &old),
            Err(Refused::Stale),
            "replayed later"
        );
        assert_eq!(verify(std::slice::from_ref(&secret), h("v1,xx"), body, now), Err(Refused::Unsigned));
        assert_eq!(signed("v2,abc", &ts), Err(Refused::BadSignature));
        assert_eq!(signed(&good, "soon"), Err(Refused::Unsigned));
        // Extreme timestamps are stale, not an overflow.
        assert_eq!(signed(&good, &i64::MIN.to_string()), Err(Refused::Stale));
        assert_eq!(signed(&good, &i64::MAX.to_string()), Err(Refused::Stale));
    }
}
