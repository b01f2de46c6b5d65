//! Personal data at rest: national ID and birth certificate numbers, medical notes and
//! guardian phone numbers are stored encrypted (AES-256-GCM), and phone numbers are looked up
//! through a keyed blind index (HMAC-SHA-256) instead of the plaintext.
//!
//! - **Keys** come from configuration as a [`KeyRing`]: several AES-256 keys by key id, the
//!   active one used for new encryptions, and a separate HMAC key for blind indexes.
//! - **Envelope** ([`Sealed`]): one `bytea` column holds
//!   `[version=1][kid_len u8][kid][12-byte random nonce][ciphertext || 16-byte tag]`, so every
//!   value says which key sealed it and old keys can be rotated out ([`KeyRing::needs_rotation`],
//!   [`KeyRing::reencrypt`]).
//! - **Binding** ([`Aad`]): the school (tenant id) and the column name are authenticated as
//!   associated data, together with the envelope header. A ciphertext copied into another
//!   school's row or another column does not decrypt.
//! - **Blind index** ([`KeyRing::blind_index`]): deterministic per (tenant, field, value) and
//!   useless without the index key; the caller normalises the value first (e.g. E.164).
//!
//! Decrypting is the caller's decision: only code paths that have checked the reader's
//! permission call [`KeyRing::decrypt`]. No message of [`PiiError`] and no `Debug` output
//! contains key material or plaintext.

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// The envelope format version written by this code.
pub const ENVELOPE_VERSION: u8 = 1;
/// AES-GCM nonce length in bytes.
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length in bytes (appended to the ciphertext).
pub const TAG_LEN: usize = 16;
/// Longest key id.
pub const MAX_KID_LEN: usize = 32;
/// The key id of [`KeyRing::development`].
pub const DEVELOPMENT_KID: &str = "dev1";

/// Why keys could not be loaded or a value could not be sealed or opened. Messages name key
/// ids and positions only: never key bytes, never plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PiiError {
    #[error("no PII encryption keys configured")]
    NoKeys,
    #[error("PII key entry {position} is not `<key id>:<base64 key>`")]
    MalformedKeyEntry { position: usize },
    #[error("PII key id of entry {position} is invalid (1-32 characters of a-z, 0-9, `_`, `-`)")]
    InvalidKeyId { position: usize },
    #[error("PII key id `{kid}` is configured more than once")]
    DuplicateKeyId { kid: String },
    #[error("PII key `{kid}` is not valid standard base64")]
    KeyNotBase64 { kid: String },
    #[error("PII key `{kid}` is {len} bytes; AES-256 needs 32")]
    KeyWrongLength { kid: String, len: usize },
    #[error("active PII key id is invalid (1-32 characters of a-z, 0-9, `_`, `-`)")]
    InvalidActiveKeyId,
    #[error("active PII key id `{kid}` is not one of the configured keys")]
    UnknownActiveKey { kid: String },
    #[error("blind index key is not valid standard base64")]
    IndexKeyNotBase64,
    #[error("blind index key is {len} bytes; it must be 32")]
    IndexKeyWrongLength { len: usize },
    #[error("malformed PII envelope: {0}")]
    MalformedEnvelope(&'static str),
    #[error("unsupported PII envelope version {0}")]
    UnsupportedVersion(u8),
    #[error("PII envelope was sealed under unknown key id `{kid}`")]
    UnknownKeyId { kid: String },
    #[error("PII decryption failed (wrong key, wrong school or field, or altered data)")]
    DecryptionFailed,
    #[error("PII encryption failed")]
    EncryptionFailed,
    #[error("decrypted PII is not valid UTF-8")]
    NotUtf8,
    #[error("operating system randomness is unavailable")]
    Randomness,
}

/// What a ciphertext is bound to: the school and the column (e.g. `"students.national_id"`).
/// Use the same constant `field` when sealing and opening a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Aad {
    pub tenant: Uuid,
    pub field: &'static str,
}

impl Aad {
    pub const fn new(tenant: Uuid, field: &'static str) -> Self {
        Self { tenant, field }
    }

    /// The associated data actually authenticated: a domain label, the envelope header
    /// (version, key id), the tenant and the field, each length-prefixed.
    fn bytes(&self, version: u8, kid: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        for part in [b"kilele-pii-v1".as_slice(), &[version], kid.as_bytes(), self.tenant.as_bytes(), self.field.as_bytes()] {
            out.extend_from_slice(&(part.len() as u64).to_be_bytes());
            out.extend_from_slice(part);
        }
        out
    }
}

/// A parsed envelope. Stored as one `bytea`:
/// `[version=1][kid_len u8][kid bytes][12-byte nonce][ciphertext || tag]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    kid: String,
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl Sealed {
    /// The id of the key that sealed this value.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.kid.len() + NONCE_LEN + self.ciphertext.len());
        out.push(ENVELOPE_VERSION);
        // The kid was validated (at most 32 bytes) when this value was built.
        out.push(self.kid.len() as u8);
        out.extend_from_slice(self.kid.as_bytes());
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Parses and checks the layout (not the authenticity: that is decryption's job).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PiiError> {
        let (&version, rest) = bytes.split_first().ok_or(PiiError::MalformedEnvelope("empty"))?;
        if version != ENVELOPE_VERSION {
            return Err(PiiError::UnsupportedVersion(version));
        }
        let (&kid_len, rest) = rest.split_first().ok_or(PiiError::MalformedEnvelope("truncated header"))?;
        let kid_len = usize::from(kid_len);
        if kid_len == 0 || kid_len > MAX_KID_LEN {
            return Err(PiiError::MalformedEnvelope("bad key id length"));
        }
        if rest.len() < kid_len + NONCE_LEN + TAG_LEN {
            return Err(PiiError::MalformedEnvelope("truncated"));
        }
        let (kid, rest) = rest.split_at(kid_len);
        let kid = std::str::from_utf8(kid).ok().filter(|k| valid_kid(k)).ok_or(PiiError::MalformedEnvelope("bad key id"))?;
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let mut nonce_arr = [0u8; NONCE_LEN];
        nonce_arr.copy_from_slice(nonce);
        Ok(Self { kid: kid.to_owned(), nonce: nonce_arr, ciphertext: ciphertext.to_vec() })
    }
}

/// The keys for personal data: AES-256-GCM keys by id (old ones kept for reading until
/// rotated out), the active id for new encryptions, and the blind-index HMAC key.
///
/// `Debug` shows key ids only.
#[derive(Clone)]
pub struct KeyRing {
    keys: BTreeMap<String, Aes256Gcm>,
    active: String,
    index: HmacSha256,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .field("active", &self.active)
            .field("index_key", &"<redacted>")
            .finish()
    }
}

impl KeyRing {
    /// Loads keys from configuration.
    /// - `keys`: `"k1:<base64 of 32 bytes>,k2:<base64 of 32 bytes>"` (standard base64; spaces
    ///   around entries, ids and keys are ignored; key ids are 1-32 of `a-z 0-9 _ -`).
    /// - `active`: the id used for new encryptions; must be one of `keys`.
    /// - `index_key`: base64 of exactly 32 bytes, the HMAC key of blind indexes. It is not
    ///   rotated with the encryption keys: changing it means recomputing every index.
    pub fn parse(keys: &str, active: &str, index_key: &str) -> Result<KeyRing, PiiError> {
        let mut ring = BTreeMap::new();
        for (i, entry) in keys.split(',').map(str::trim).enumerate() {
            let position = i + 1;
            if entry.is_empty() {
                // Tolerate a trailing comma; an empty configuration is caught below.
                continue;
            }
            let (kid, key) = entry.split_once(':').ok_or(PiiError::MalformedKeyEntry { position })?;
            let kid = kid.trim();
            if !valid_kid(kid) {
                return Err(PiiError::InvalidKeyId { position });
            }
            if ring.contains_key(kid) {
                return Err(PiiError::DuplicateKeyId { kid: kid.to_owned() });
            }
            let key = decode_key(key).map_err(|e| match e {
                KeyDecode::NotBase64 => PiiError::KeyNotBase64 { kid: kid.to_owned() },
                KeyDecode::Length(len) => PiiError::KeyWrongLength { kid: kid.to_owned(), len },
            })?;
            ring.insert(kid.to_owned(), Aes256Gcm::new(&GenericArray::from(key)));
        }
        if ring.is_empty() {
            return Err(PiiError::NoKeys);
        }
        let active = active.trim();
        if !valid_kid(active) {
            return Err(PiiError::InvalidActiveKeyId);
        }
        if !ring.contains_key(active) {
            return Err(PiiError::UnknownActiveKey { kid: active.to_owned() });
        }
        let index = decode_key(index_key).map_err(|e| match e {
            KeyDecode::NotBase64 => PiiError::IndexKeyNotBase64,
            KeyDecode::Length(len) => PiiError::IndexKeyWrongLength { len },
        })?;
        Ok(KeyRing { keys: ring, active: active.to_owned(), index: index_mac(&index) })
    }

    /// A fixed key ring for development and tests, so demo data stays readable between runs.
    /// Key id [`DEVELOPMENT_KID`]; the AES key is `SHA-256("kilele development PII key dev1 (not secret)")`
    /// and the index key `SHA-256("kilele development blind index key (not secret)")`.
    ///
    /// **These keys are public.** Production must refuse to start with them (the caller's
    /// job: configuration requires real keys outside development).
    pub fn development() -> KeyRing {
        let key: [u8; 32] = Sha256::digest(b"kilele development PII key dev1 (not secret)").into();
        let index: [u8; 32] = Sha256::digest(b"kilele development blind index key (not secret)").into();
        let mut keys = BTreeMap::new();
        keys.insert(DEVELOPMENT_KID.to_owned(), Aes256Gcm::new(&GenericArray::from(key)));
        KeyRing { keys, active: DEVELOPMENT_KID.to_owned(), index: index_mac(&index) }
    }

    /// True when any part of this ring is the public development material: the development key
    /// id, an AES key that decrypts what the development key sealed, or the development blind
    /// index key. Production refuses to start with such a ring.
    pub fn uses_development_material(&self) -> bool {
        let dev = KeyRing::development();
        if self.keys.contains_key(DEVELOPMENT_KID) {
            return true;
        }
        if self.blind_index(Uuid::nil(), "probe", "kilele") == dev.blind_index(Uuid::nil(), "probe", "kilele") {
            return true;
        }
        // The development AES key filed under another id: compared by behaviour (the same
        // plaintext sealed with the same nonce gives the same bytes only under the same key).
        let nonce = GenericArray::from([7u8; 12]);
        let dev_sealed = dev.keys.values().next().and_then(|k| k.encrypt(&nonce, b"probe".as_ref()).ok());
        self.keys.values().any(|k| k.encrypt(&nonce, b"probe".as_ref()).ok() == dev_sealed)
    }

    /// The key id new encryptions are sealed under.
    pub fn active_kid(&self) -> &str {
        &self.active
    }

    /// All configured key ids, sorted.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Seals `plaintext` under the active key with a fresh random nonce, bound to `aad`.
    /// Returns the envelope bytes for the `bytea` column.
    pub fn encrypt(&self, plaintext: &str, aad: &Aad) -> Result<Vec<u8>, PiiError> {
        let cipher = self.keys.get(&self.active).ok_or_else(|| PiiError::UnknownKeyId { kid: self.active.clone() })?;
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.try_fill_bytes(&mut nonce).map_err(|_| PiiError::Randomness)?;
        let aad_bytes = aad.bytes(ENVELOPE_VERSION, &self.active);
        let ciphertext = cipher
            .encrypt(&GenericArray::from(nonce), Payload { msg: plaintext.as_bytes(), aad: &aad_bytes })
            .map_err(|_| PiiError::EncryptionFailed)?;
        Ok(Sealed { kid: self.active.clone(), nonce, ciphertext }.to_bytes())
    }

    /// Opens an envelope sealed under any configured key. Fails when the envelope is
    /// malformed, its key is unknown, or it was bound to another school or field or altered.
    /// Call only for a reader who holds the permission to see this field.
    pub fn decrypt(&self, envelope: &[u8], aad: &Aad) -> Result<String, PiiError> {
        let sealed = Sealed::from_bytes(envelope)?;
        let cipher = self.keys.get(&sealed.kid).ok_or_else(|| PiiError::UnknownKeyId { kid: sealed.kid.clone() })?;
        let aad_bytes = aad.bytes(ENVELOPE_VERSION, &sealed.kid);
        let plaintext = cipher
            .decrypt(&GenericArray::from(sealed.nonce), Payload { msg: &sealed.ciphertext, aad: &aad_bytes })
            .map_err(|_| PiiError::DecryptionFailed)?;
        String::from_utf8(plaintext).map_err(|_| PiiError::NotUtf8)
    }

    /// True when the envelope is not sealed under the active key. An envelope that cannot be
    /// parsed also answers true, so a rotation job tries [`KeyRing::reencrypt`] and reports
    /// the error instead of silently skipping the row.
    pub fn needs_rotation(&self, envelope: &[u8]) -> bool {
        Sealed::from_bytes(envelope).map(|s| s.kid != self.active).unwrap_or(true)
    }

    /// Opens the envelope and seals the value again under the active key (new nonce).
    pub fn reencrypt(&self, envelope: &[u8], aad: &Aad) -> Result<Vec<u8>, PiiError> {
        let plaintext = self.decrypt(envelope, aad)?;
        self.encrypt(&plaintext, aad)
    }

    /// Keyed blind index for equality lookups (e.g. a guardian's phone): HMAC-SHA-256 over
    /// length-prefixed (label, tenant, field, value), 32 bytes. Deterministic, and different
    /// per school and per field. `normalized_value` must already be in canonical form
    /// (e.g. E.164 for phones), or equal values will not match.
    pub fn blind_index(&self, tenant: Uuid, field: &'static str, normalized_value: &str) -> Vec<u8> {
        let mut mac = self.index.clone();
        for part in [b"kilele-blind-index-v1".as_slice(), tenant.as_bytes(), field.as_bytes(), normalized_value.as_bytes()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }
}

fn valid_kid(kid: &str) -> bool {
    (1..=MAX_KID_LEN).contains(&kid.len()) && kid.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

enum KeyDecode {
    NotBase64,
    Length(usize),
}

fn decode_key(b64: &str) -> Result<[u8; 32], KeyDecode> {
    let bytes = BASE64.decode(b64.trim()).map_err(|_| KeyDecode::NotBase64)?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeyDecode::Length(bytes.len()))
}

/// HMAC keyed with a 32-byte key. HMAC pads a key shorter than the hash block (64 bytes for
/// SHA-256) with zeros, so keying with the zero-padded block is the same HMAC as keying with
/// the 32 bytes, and this way construction cannot fail.
fn index_mac(key: &[u8; 32]) -> HmacSha256 {
    let mut block = hmac::digest::Key::<HmacSha256>::default();
    block[..key.len()].copy_from_slice(key);
    <HmacSha256 as KeyInit>::new(&block)
}

#[cfg(test)]
mod tests {
    #[test]
    fn development_material_is_recognised_under_any_key_id() {
        assert!(KeyRing::development().uses_development_material());
        let real = KeyRing::parse(&format!("k1:{}", BASE64.encode([9u8; 32])), "k1", &BASE64.encode([8u8; 32])).unwrap();
        assert!(!real.uses_development_material());
        let dev_aes: [u8; 32] = Sha256::digest(b"kilele development PII key dev1 (not secret)").into();
        let renamed = KeyRing::parse(&format!("k1:{}", BASE64.encode(dev_aes)), "k1", &BASE64.encode([8u8; 32])).unwrap();
        assert!(renamed.uses_development_material(), "the development AES key under another id");
        let dev_index: [u8; 32] = Sha256::digest(b"kilele development blind index key (not secret)").into();
        let dev_idx = KeyRing::parse(&format!("k1:{}", BASE64.encode([9u8; 32])), "k1", &BASE64.encode(dev_index)).unwrap();
        assert!(dev_idx.uses_development_material(), "the development blind index key");
    }

    use super::*;

    const FIELD: &str = "students.national_id";

    fn b64(byte: u8) -> String {
        BASE64.encode([byte; 32])
    }

    fn ring(keys: &[(&str, u8)], active: &str) -> KeyRing {
        let spec: Vec<String> = keys.iter().map(|(kid, b)| format!("{kid}:{}", b64(*b))).collect();
        KeyRing::parse(&spec.join(","), active, &b64(0x77)).unwrap()
    }

    fn aad() -> Aad {
        Aad::new(Uuid::from_u128(1), FIELD)
    }

    #[test]
    fn round_trip() {
        let r = ring(&[("k1", 1)], "k1");
        for value in ["T-1234-5678", "", "Mzio wa pumu; anatumia inhaler 💊"] {
            let env = r.encrypt(value, &aad()).unwrap();
            assert_eq!(r.decrypt(&env, &aad()).unwrap(), value);
            if !value.is_empty() {
                assert!(!env.windows(value.len()).any(|w| w == value.as_bytes()), "plaintext visible in envelope");
            }
        }
    }

    #[test]
    fn envelope_layout() {
        let r = ring(&[("k1", 1)], "k1");
        let env = r.encrypt("abc", &aad()).unwrap();
        assert_eq!(env[0], 1);
        assert_eq!(env[1], 2);
        assert_eq!(&env[2..4], b"k1");
        assert_eq!(env.len(), 2 + 2 + NONCE_LEN + 3 + TAG_LEN);
        let sealed = Sealed::from_bytes(&env).unwrap();
        assert_eq!(sealed.kid(), "k1");
        assert_eq!(sealed.to_bytes(), env);
    }

    #[test]
    fn wrong_tenant_or_field_fails() {
        let r = ring(&[("k1", 1)], "k1");
        let env = r.encrypt("T-1234", &aad()).unwrap();
        assert_eq!(r.decrypt(&env, &Aad::new(Uuid::from_u128(2), FIELD)), Err(PiiError::DecryptionFailed));
        assert_eq!(r.decrypt(&env, &Aad::new(Uuid::from_u128(1), "guardians.phone")), Err(PiiError::DecryptionFailed));
    }

    #[test]
    fn any_tampered_byte_fails() {
        let r = ring(&[("k1", 1)], "k1");
        let env = r.encrypt("T-1234", &aad()).unwrap();
        for i in 0..env.len() {
            let mut bad = env.clone();
            bad[i] ^= 0x01;
            assert!(r.decrypt(&bad, &aad()).is_err(), "byte {i} flipped still decrypts");
        }
        let mut truncated = env.clone();
        truncated.pop();
        assert_eq!(r.decrypt(&truncated, &aad()), Err(PiiError::DecryptionFailed));
    }

    #[test]
    fn unknown_kid_fails() {
        let r1 = ring(&[("k1", 1)], "k1");
        let r2 = ring(&[("k2", 2)], "k2");
        let env = r1.encrypt("T-1234", &aad()).unwrap();
        assert_eq!(r2.decrypt(&env, &aad()), Err(PiiError::UnknownKeyId { kid: "k1".into() }));
        // Same kid, different key bytes: authentication fails.
        let other = ring(&[("k1", 9)], "k1");
        assert_eq!(other.decrypt(&env, &aad()), Err(PiiError::DecryptionFailed));
    }

    #[test]
    fn rotation() {
        let old = ring(&[("k1", 1)], "k1");
        let env = old.encrypt("+255712345678", &aad()).unwrap();
        assert!(!old.needs_rotation(&env));

        let new = ring(&[("k1", 1), ("k2", 2)], "k2");
        assert_eq!(new.active_kid(), "k2");
        assert_eq!(new.key_ids().collect::<Vec<_>>(), ["k1", "k2"]);
        assert_eq!(new.decrypt(&env, &aad()).unwrap(), "+255712345678");
        assert!(new.needs_rotation(&env));

        let rotated = new.reencrypt(&env, &aad()).unwrap();
        assert_eq!(Sealed::from_bytes(&rotated).unwrap().kid(), "k2");
        assert!(!new.needs_rotation(&rotated));
        assert_eq!(new.decrypt(&rotated, &aad()).unwrap(), "+255712345678");

        // Once k1 is retired, only the rotated value is readable.
        let retired = ring(&[("k2", 2)], "k2");
        assert_eq!(retired.decrypt(&rotated, &aad()).unwrap(), "+255712345678");
        assert!(retired.decrypt(&env, &aad()).is_err());
        // Rotation cannot move a value to another school.
        assert!(new.reencrypt(&env, &Aad::new(Uuid::from_u128(2), FIELD)).is_err());
        assert!(new.needs_rotation(b"garbage"));
    }

    #[test]
    fn same_value_encrypts_differently() {
        let r = ring(&[("k1", 1)], "k1");
        let a = r.encrypt("T-1234", &aad()).unwrap();
        let b = r.encrypt("T-1234", &aad()).unwrap();
        assert_ne!(a, b);
        assert_ne!(Sealed::from_bytes(&a).unwrap().nonce, Sealed::from_bytes(&b).unwrap().nonce);
    }

    #[test]
    fn blind_index_is_deterministic_and_separated() {
        let r = ring(&[("k1", 1)], "k1");
        let (t1, t2) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let phone = "+255712345678";
        let base = r.blind_index(t1, "guardians.phone", phone);
        assert_eq!(base.len(), 32);
        assert_eq!(base, r.blind_index(t1, "guardians.phone", phone));
        assert_eq!(base, ring(&[("k9", 9)], "k9").blind_index(t1, "guardians.phone", phone), "index key is independent of AES keys");
        assert_ne!(base, r.blind_index(t2, "guardians.phone", phone));
        assert_ne!(base, r.blind_index(t1, "students.phone", phone));
        assert_ne!(base, r.blind_index(t1, "guardians.phone", "+255712345679"));
        let other_key = KeyRing::parse(&format!("k1:{}", b64(1)), "k1", &b64(0x78)).unwrap();
        assert_ne!(base, other_key.blind_index(t1, "guardians.phone", phone));
        // Length prefixes: moving bytes between field and value changes the index.
        assert_ne!(r.blind_index(t1, "ab", "c"), r.blind_index(t1, "a", "bc"));
    }

    #[test]
    fn blind_index_is_plain_hmac_sha256_with_the_32_byte_key() {
        let r = ring(&[("k1", 1)], "k1");
        let tenant = Uuid::from_u128(7);
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&[0x77; 32]).unwrap();
        for part in [b"kilele-blind-index-v1".as_slice(), tenant.as_bytes(), b"f", b"v"] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        assert_eq!(r.blind_index(tenant, "f", "v"), mac.finalize().into_bytes().to_vec());
    }

    #[test]
    fn parse_accepts_spacing_and_rejects_bad_input() {
        let good = format!(" k1 : {} , k-2_b:{},", b64(1), b64(2));
        let r = KeyRing::parse(&good, " k-2_b ", &format!(" {} ", b64(3))).unwrap();
        assert_eq!(r.active_kid(), "k-2_b");

        let idx = b64(3);
        let k1 = format!("k1:{}", b64(1));
        assert_eq!(KeyRing::parse("", "k1", &idx).unwrap_err(), PiiError::NoKeys);
        assert_eq!(KeyRing::parse(" , ", "k1", &idx).unwrap_err(), PiiError::NoKeys);
        assert_eq!(KeyRing::parse(&b64(1), "k1", &idx).unwrap_err(), PiiError::MalformedKeyEntry { position: 1 });
        assert_eq!(KeyRing::parse("k1:not base64!!", "k1", &idx).unwrap_err(), PiiError::KeyNotBase64 { kid: "k1".into() });
        assert_eq!(
            KeyRing::parse(&format!("k1:{}", BASE64.encode([1u8; 16])), "k1", &idx).unwrap_err(),
            PiiError::KeyWrongLength { kid: "k1".into(), len: 16 }
        );
        assert_eq!(KeyRing::parse(&k1, "k2", &idx).unwrap_err(), PiiError::UnknownActiveKey { kid: "k2".into() });
        assert_eq!(KeyRing::parse(&k1, "", &idx).unwrap_err(), PiiError::InvalidActiveKeyId);
        assert_eq!(KeyRing::parse(&format!("{k1},K2:{}", b64(2)), "k1", &idx).unwrap_err(), PiiError::InvalidKeyId { position: 2 });
        assert_eq!(KeyRing::parse(&format!(":{}", b64(2)), "k1", &idx).unwrap_err(), PiiError::InvalidKeyId { position: 1 });
        let long = "k".repeat(33);
        assert_eq!(KeyRing::parse(&format!("{long}:{}", b64(2)), &long, &idx).unwrap_err(), PiiError::InvalidKeyId { position: 1 });
        assert_eq!(KeyRing::parse(&format!("{k1},{k1}"), "k1", &idx).unwrap_err(), PiiError::DuplicateKeyId { kid: "k1".into() });
        assert_eq!(KeyRing::parse(&k1, "k1", "%%%").unwrap_err(), PiiError::IndexKeyNotBase64);
        assert_eq!(KeyRing::parse(&k1, "k1", &BASE64.encode([0u8; 31])).unwrap_err(), PiiError::IndexKeyWrongLength { len: 31 });
        // URL-safe alphabet is not standard base64.
        let url_safe = base64::engine::general_purpose::URL_SAFE.encode([0xfb; 32]);
        assert_eq!(KeyRing::parse(&format!("k1:{url_safe}"), "k1", &idx).unwrap_err(), PiiError::KeyNotBase64 { kid: "k1".into() });
    }

    #[test]
    fn errors_and_debug_reveal_no_key_material() {
        let secret = b64(0xab);
        let index = b64(0xcd);
        let r = KeyRing::parse(&format!("k1:{secret}"), "k1", &index).unwrap();
        let debug = format!("{r:?}");
        assert!(debug.contains("k1"));
        for needle in [secret.as_str(), index.as_str(), "171", "205", "ab, ab", "0xab", "abab", "cdcd"] {
            assert!(!debug.contains(needle), "Debug leaks {needle}: {debug}");
        }
        let bad_entry = KeyRing::parse(&secret, "k1", &index).unwrap_err().to_string();
        assert!(!bad_entry.contains(&secret));
        let bad_len = KeyRing::parse(&format!("k1:{}", BASE64.encode([0xab; 31])), "k1", &index).unwrap_err().to_string();
        assert!(!bad_len.contains(&BASE64.encode([0xab; 31])));
    }

    #[test]
    fn development_ring_is_stable() {
        let a = KeyRing::development();
        let b = KeyRing::development();
        assert_eq!(a.active_kid(), DEVELOPMENT_KID);
        let env = a.encrypt("T-1234", &aad()).unwrap();
        assert_eq!(b.decrypt(&env, &aad()).unwrap(), "T-1234");
        assert_eq!(a.blind_index(Uuid::from_u128(1), "f", "v"), b.blind_index(Uuid::from_u128(1), "f", "v"));
        // Its keys are the documented derivations.
        let key = BASE64.encode(Sha256::digest(b"kilele development PII key dev1 (not secret)"));
        let index = BASE64.encode(Sha256::digest(b"kilele development blind index key (not secret)"));
        let parsed = KeyRing::parse(&format!("dev1:{key}"), "dev1", &index).unwrap();
        assert_eq!(parsed.decrypt(&env, &aad()).unwrap(), "T-1234");
        assert_eq!(parsed.blind_index(Uuid::from_u128(1), "f", "v"), a.blind_index(Uuid::from_u128(1), "f", "v"));
    }

    #[test]
    fn malformed_envelopes_are_errors_not_panics() {
        let r = ring(&[("k1", 1)], "k1");
        let good = r.encrypt("x", &aad()).unwrap();
        assert_eq!(Sealed::from_bytes(&[]), Err(PiiError::MalformedEnvelope("empty")));
        assert_eq!(Sealed::from_bytes(&[2, 2, b'k', b'1']), Err(PiiError::UnsupportedVersion(2)));
        assert_eq!(Sealed::from_bytes(&[1]), Err(PiiError::MalformedEnvelope("truncated header")));
        assert_eq!(Sealed::from_bytes(&[1, 0]), Err(PiiError::MalformedEnvelope("bad key id length")));
        assert_eq!(Sealed::from_bytes(&[1, 33]), Err(PiiError::MalformedEnvelope("bad key id length")));
        assert_eq!(Sealed::from_bytes(&[1, 200, 1, 2, 3]), Err(PiiError::MalformedEnvelope("bad key id length")));
        assert_eq!(Sealed::from_bytes(&good[..2 + 2 + NONCE_LEN + TAG_LEN - 1]), Err(PiiError::MalformedEnvelope("truncated")));
        let mut bad_kid = good.clone();
        bad_kid[2] = b'K';
        assert_eq!(Sealed::from_bytes(&bad_kid), Err(PiiError::MalformedEnvelope("bad key id")));
        bad_kid[2] = 0xff;
        assert_eq!(Sealed::from_bytes(&bad_kid), Err(PiiError::MalformedEnvelope("bad key id")));
        // Every prefix of a valid envelope is handled without panicking.
        for n in 0..good.len() {
            assert!(r.decrypt(&good[..n], &aad()).is_err());
        }
    }
}
