//! The audit chain's key. Each entry is an HMAC-SHA-256 over its fields and the previous
//! entry's MAC, keyed with a secret from configuration (`AUDIT_KEY`) that the database never
//! sees: a role that can INSERT into `audit_log` (the application role) can compute a plain
//! SHA-256 link, but not a MAC that verifies.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

type HmacSha256 = Hmac<Sha256>;

/// The label of the public development key (never accepted in production).
pub const DEVELOPMENT_LABEL: &str = "kilele development audit key (not secret)";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditKeyError {
    #[error("AUDIT_KEY must be hex or standard base64 of at least 32 bytes")]
    Unreadable,
    #[error("AUDIT_KEY is {0} bytes; it needs at least 32")]
    TooShort(usize),
    #[error("no audit key installed in this process (configuration error)")]
    NotInstalled,
    #[error("a different audit key is already installed in this process")]
    Conflicting,
}

/// A secret of at least 32 bytes. Debug never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditKey {
    bytes: Vec<u8>,
    development: bool,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.development {
            f.write_str("AuditKey(development)")
        } else {
            f.write_str("AuditKey(***)")
        }
    }
}

impl AuditKey {
    /// Hex (64 or more hex digits) or standard base64, at least 32 bytes once decoded.
    pub fn parse(text: &str) -> Result<AuditKey, AuditKeyError> {
        let text = text.trim();
        let hex_digits = text.len().is_multiple_of(2) && text.bytes().all(|b| b.is_ascii_hexdigit());
        let bytes = if hex_digits {
            hex::decode(text).map_err(|_| AuditKeyError::Unreadable)?
        } else {
            BASE64.decode(text).map_err(|_| AuditKeyError::Unreadable)?
        };
        if bytes.len() < 32 {
            return Err(AuditKeyError::TooShort(bytes.len()));
        }
        Ok(AuditKey { bytes, development: false })
    }

    /// A fixed, public key for development and tests: `SHA-256(DEVELOPMENT_LABEL)`.
    /// **It is public**: production configuration refuses to start without `AUDIT_KEY`.
    pub fn development() -> AuditKey {
        AuditKey { bytes: Sha256::digest(DEVELOPMENT_LABEL.as_bytes()).to_vec(), development: true }
    }

    pub fn is_development(&self) -> bool {
        self.development
    }

    pub(crate) fn mac(&self) -> Result<HmacSha256, AuditKeyError> {
        <HmacSha256 as Mac>::new_from_slice(&self.bytes).map_err(|_| AuditKeyError::Unreadable)
    }
}

static INSTALLED: OnceLock<AuditKey> = OnceLock::new();

/// Installs the process's audit key, once, at startup (from configuration). Appends happen
/// deep inside domain functions called from ~40 places; they take the key from here rather
/// than through every signature. Installing the same key again is a no-op; a different one
/// is refused, so one process never writes with two keys.
pub fn install_key(key: AuditKey) -> Result<(), AuditKeyError> {
    let installed = INSTALLED.get_or_init(|| key.clone());
    if *installed == key {
        Ok(())
    } else {
        Err(AuditKeyError::Conflicting)
    }
}

/// The installed key; an append without one fails rather than writing an unkeyed entry.
pub fn installed_key() -> Result<&'static AuditKey, AuditKeyError> {
    INSTALLED.get().ok_or(AuditKeyError::NotInstalled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_and_base64_of_32_bytes_or_more() {
        let hex_key = "ab".repeat(32);
        assert_eq!(AuditKey::parse(&hex_key).unwrap().bytes, vec![0xab; 32]);
        let b64 = BASE64.encode([7u8; 48]);
        assert_eq!(AuditKey::parse(&b64).unwrap().bytes, vec![7; 48]);
        assert_eq!(AuditKey::parse(&"ab".repeat(31)).unwrap_err(), AuditKeyError::TooShort(31));
        assert_eq!(AuditKey::parse("not a key!").unwrap_err(), AuditKeyError::Unreadable);
        assert!(!AuditKey::parse(&hex_key).unwrap().is_development());
        assert!(AuditKey::development().is_development());
        assert_eq!(format!("{:?}", AuditKey::parse(&hex_key).unwrap()), "AuditKey(***)");
    }
}
