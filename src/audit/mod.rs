//! Audit: an append-only, per-school, hash-chained log. Each entry's hash covers its
//! content and the previous entry's hash, so changing or deleting any entry breaks the chain
//! from that point; the stored head (newest seq and hash) catches a deleted tail.
//!
//! The link is an HMAC-SHA-256 keyed with `AUDIT_KEY` ([`key`]), which the database never
//! sees, so a row INSERTed with SQL does not verify. Entries written before the key existed
//! (plain SHA-256, [`entry_hash`]) are accepted only as each school's fixed unkeyed prefix,
//! recorded once by migration 0008.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub mod actions;
#[cfg(feature = "ssr")]
pub mod key;
#[cfg(feature = "ssr")]
pub mod pii;
#[cfg(feature = "ssr")]
pub mod platform;
#[cfg(feature = "ssr")]
mod store;
pub use actions::Action;
#[cfg(feature = "ssr")]
pub use key::{install_key, installed_key, AuditKey, AuditKeyError};
#[cfg(feature = "ssr")]
pub use store::{append, load_chain, verify_tenant};

pub const GENESIS: [u8; 32] = [0; 32];

/// Who did it. `label` is what a reader of the log sees (an email, "system", "seed").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub label: String,
}

impl Actor {
    pub fn user(id: Uuid, label: &str) -> Self {
        Self { id: Some(id), label: label.to_owned() }
    }
    pub fn anonymous(label: &str) -> Self {
        Self { id: None, label: label.to_owned() }
    }
    pub fn system(label: &str) -> Self {
        Self { id: None, label: format!("system:{label}") }
    }
}

/// One stored entry, as read back for verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub details: Value,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// JSON with object keys sorted at every depth, so the hash does not depend on how the
/// database or a serializer orders keys.
pub fn canonical_json(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    if let Some(v) = map.get(key) {
                        write(v, out);
                    }
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// Timestamps are hashed at microsecond precision: what PostgreSQL stores.
pub fn normalise_time(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// Feeds an entry's fields, length-prefixed (no separator ambiguity), to `sink`.
#[allow(clippy::too_many_arguments)]
fn entry_fields(
    tag: &[u8],
    tenant: Uuid,
    seq: i64,
    at: DateTime<Utc>,
    actor_id: Option<Uuid>,
    actor: &str,
    action: &str,
    subject: &str,
    details: &Value,
    prev_hash: &[u8],
    mut sink: impl FnMut(&[u8]),
) {
    let mut field = |bytes: &[u8]| {
        sink(&(bytes.len() as u64).to_be_bytes());
        sink(bytes);
    };
    field(tag);
    field(tenant.as_bytes());
    field(&seq.to_be_bytes());
    field(normalise_time(at).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string().as_bytes());
    field(actor_id.map(|id| id.to_string()).unwrap_or_default().as_bytes());
    field(actor.as_bytes());
    field(action.as_bytes());
    field(subject.as_bytes());
    field(canonical_json(details).as_bytes());
    field(prev_hash);
}

/// The unkeyed hash of an entry (SHA-256): how entries were chained before the audit key.
/// Only an school's recorded unkeyed prefix is still verified this way; anyone can compute it.
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    tenant: Uuid,
    seq: i64,
    at: DateTime<Utc>,
    actor_id: Option<Uuid>,
    actor: &str,
    action: &str,
    subject: &str,
    details: &Value,
    prev_hash: &[u8],
) -> [u8; 32] {
    let mut h = Sha256::new();
    entry_fields(b"kilele-audit-v1", tenant, seq, at, actor_id, actor, action, subject, details, prev_hash, |b| h.update(b));
    h.finalize().into()
}

/// The keyed link of an entry: HMAC-SHA-256 under the audit key.
#[cfg(feature = "ssr")]
#[allow(clippy::too_many_arguments)]
pub fn entry_mac(
    key: &AuditKey,
    tenant: Uuid,
    seq: i64,
    at: DateTime<Utc>,
    actor_id: Option<Uuid>,
    actor: &str,
    action: &str,
    subject: &str,
    details: &Value,
    prev_hash: &[u8],
) -> Result<[u8; 32], AuditKeyError> {
    use hmac::Mac;
    let mut m = key.mac()?;
    entry_fields(b"kilele-audit-v2", tenant, seq, at, actor_id, actor, action, subject, details, prev_hash, |b| m.update(b));
    Ok(m.finalize().into_bytes().into())
}

/// What verification found wrong, in chain order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChainBreak {
    /// Entry content does not match its hash (modified).
    HashMismatch { seq: i64 },
    /// Entry does not point at the previous entry's hash (an entry before it was removed or
    /// altered).
    LinkBroken { seq: i64 },
    /// Sequence numbers skip (entries deleted).
    Gap { expected: i64, found: i64 },
    /// The recorded head does not match the last entry (tail deleted or head altered).
    HeadMismatch { head_seq: i64, last_seq: i64 },
    /// The entry carries a correct *unkeyed* hash where the keyed MAC belongs: it was written
    /// without the audit key, i.e. not through `audit::append` (for instance with SQL).
    NotKeyed { seq: i64 },
}

/// A stored chain as read back: its entries in order, the recorded head (newest seq and
/// hash), and how many leading entries predate the audit key (0 for most schools).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoredChain {
    pub entries: Vec<AuditEntry>,
    pub head: Option<(i64, Vec<u8>)>,
    pub unkeyed_until: i64,
}

/// Checks a tenant's whole chain with the audit key. Entries up to `unkeyed_until` are
/// checked with the old unkeyed hash; every later one must carry the key's MAC. A later entry
/// carrying a valid *unkeyed* hash was written by someone without the key (e.g. SQL as the
/// application role): [`ChainBreak::NotKeyed`].
#[cfg(feature = "ssr")]
pub fn verify_chain(key: &AuditKey, tenant: Uuid, chain: &StoredChain) -> Result<Vec<ChainBreak>, AuditKeyError> {
    let mut breaks = Vec::new();
    let mut prev_hash: Vec<u8> = GENESIS.to_vec();
    let mut expected = 1;
    for e in &chain.entries {
        if e.seq != expected {
            breaks.push(ChainBreak::Gap { expected, found: e.seq });
        }
        if e.prev_hash != prev_hash {
            breaks.push(ChainBreak::LinkBroken { seq: e.seq });
        }
        let unkeyed = entry_hash(tenant, e.seq, e.at, e.actor_id, &e.actor, &e.action, &e.subject, &e.details, &e.prev_hash);
        if e.seq <= chain.unkeyed_until {
            if unkeyed.as_slice() != e.hash.as_slice() {
                breaks.push(ChainBreak::HashMismatch { seq: e.seq });
            }
        } else {
            let keyed = entry_mac(key, tenant, e.seq, e.at, e.actor_id, &e.actor, &e.action, &e.subject, &e.details, &e.prev_hash)?;
            if keyed.as_slice() != e.hash.as_slice() {
                breaks.push(if unkeyed.as_slice() == e.hash.as_slice() {
                    ChainBreak::NotKeyed { seq: e.seq }
                } else {
                    ChainBreak::HashMismatch { seq: e.seq }
                });
            }
        }
        prev_hash = e.hash.clone();
        expected = e.seq + 1;
    }
    let last_seq = chain.entries.last().map(|e| e.seq).unwrap_or(0);
    let (head_seq, head_hash) = chain.head.clone().unwrap_or((0, GENESIS.to_vec()));
    if head_seq != last_seq || head_hash != prev_hash {
        breaks.push(ChainBreak::HeadMismatch { head_seq, last_seq });
    }
    Ok(breaks)
}

#[cfg(all(test, feature = "ssr"))]
#[allow(clippy::unwrap_used)] // test helpers: a failed unwrap fails the test
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> AuditKey {
        AuditKey::development()
    }

    /// `n` entries, the first `unkeyed` of them with the old unkeyed hash.
    fn chain_from(tenant: Uuid, n: i64, unkeyed: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_vec();
        let at = Utc::now();
        (1..=n)
            .map(|seq| {
                let details = json!({"b": seq, "a": "x"});
                let hash = if seq <= unkeyed {
                    entry_hash(tenant, seq, at, None, "seed", "login.succeeded", "s", &details, &prev)
                } else {
                    entry_mac(&key(), tenant, seq, at, None, "seed", "login.succeeded", "s", &details, &prev).unwrap()
                };
                let e = AuditEntry {
                    seq,
                    at: normalise_time(at),
                    actor_id: None,
                    actor: "seed".into(),
                    action: "login.succeeded".into(),
                    subject: "s".into(),
                    details,
                    prev_hash: prev.clone(),
                    hash: hash.to_vec(),
                };
                prev = hash.to_vec();
                e
            })
            .collect()
    }

    fn chain(tenant: Uuid, n: i64) -> Vec<AuditEntry> {
        chain_from(tenant, n, 0)
    }

    fn verify_chain(tenant: Uuid, entries: &[AuditEntry], head: Option<(i64, Vec<u8>)>) -> Vec<ChainBreak> {
        super::verify_chain(&key(), tenant, &StoredChain { entries: entries.to_vec(), head, unkeyed_until: 0 }).unwrap()
    }

    #[test]
    fn unkeyed_entries_verify_only_as_the_recorded_prefix() {
        let t = Uuid::new_v4();
        let c = chain_from(t, 5, 2);
        let stored = |unkeyed_until| StoredChain { entries: c.clone(), head: head(&c), unkeyed_until };
        assert!(super::verify_chain(&key(), t, &stored(2)).unwrap().is_empty());
        // Without the recorded prefix, the two old entries are what a forger without the key writes.
        assert_eq!(
            super::verify_chain(&key(), t, &stored(0)).unwrap(),
            vec![ChainBreak::NotKeyed { seq: 1 }, ChainBreak::NotKeyed { seq: 2 }]
        );
        // A keyed entry is no valid unkeyed one either.
        assert_eq!(super::verify_chain(&key(), t, &stored(3)).unwrap(), vec![ChainBreak::HashMismatch { seq: 3 }]);
    }

    #[test]
    fn another_key_does_not_verify() {
        let t = Uuid::new_v4();
        let c = chain(t, 3);
        let other = AuditKey::parse(&"11".repeat(32)).unwrap();
        let breaks = super::verify_chain(&other, t, &StoredChain { entries: c.clone(), head: head(&c), unkeyed_until: 0 }).unwrap();
        assert_eq!(breaks.len(), 3, "{breaks:?}");
    }

    fn head(entries: &[AuditEntry]) -> Option<(i64, Vec<u8>)> {
        entries.last().map(|e| (e.seq, e.hash.clone()))
    }

    #[test]
    fn intact_chain_verifies() {
        let t = Uuid::new_v4();
        let c = chain(t, 5);
        assert!(verify_chain(t, &c, head(&c)).is_empty());
        assert!(verify_chain(t, &[], None).is_empty());
    }

    #[test]
    fn modified_entry_is_detected() {
        let t = Uuid::new_v4();
        let mut c = chain(t, 5);
        let h = head(&c);
        c[2].subject = "someone else".into();
        assert_eq!(verify_chain(t, &c, h), vec![ChainBreak::HashMismatch { seq: 3 }]);
    }

    #[test]
    fn deleted_entries_are_detected() {
        let t = Uuid::new_v4();
        let c = chain(t, 5);
        let h = head(&c);
        let mut middle = c.clone();
        middle.remove(1);
        let breaks = verify_chain(t, &middle, h.clone());
        assert!(breaks.contains(&ChainBreak::Gap { expected: 2, found: 3 }));
        assert!(breaks.contains(&ChainBreak::LinkBroken { seq: 3 }));
        let mut tail = c.clone();
        tail.pop();
        assert_eq!(verify_chain(t, &tail, h), vec![ChainBreak::HeadMismatch { head_seq: 5, last_seq: 4 }]);
    }

    #[test]
    fn another_tenants_chain_does_not_verify() {
        let c = chain(Uuid::new_v4(), 2);
        assert!(!verify_chain(Uuid::new_v4(), &c, head(&c)).is_empty());
    }

    #[test]
    fn canonical_json_sorts_keys_deeply() {
        let v = json!({"b": {"z": 1, "a": [ {"y": 2, "x": 1} ]}, "a": "é"});
        assert_eq!(canonical_json(&v), r#"{"a":"é","b":{"a":[{"x":1,"y":2}],"z":1}}"#);
    }
}
