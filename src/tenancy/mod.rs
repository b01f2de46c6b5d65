//! Tenancy: schools (tenants), their plans and feature flags, and how a request finds its
//! tenant (subdomain or school code).

use crate::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod onboarding;
#[cfg(feature = "ssr")]
pub mod store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TenantId(pub Uuid);

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The school code: the tenant's slug, e.g. `kilimanjaro-hills`. It is also the subdomain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TenantSlug(String);

impl TenantSlug {
    /// Accepts what people type: surrounding spaces and capitals are forgiven.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let slug = input.trim().to_ascii_lowercase();
        let bytes = slug.as_bytes();
        let valid_chars = bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
        let ends_ok = bytes.first().is_some_and(|b| *b != b'-') && bytes.last().is_some_and(|b| *b != b'-');
        if slug.is_empty() {
            return Err(ValidationError::new("school_code", "error-school-code-required"));
        }
        if !(3..=63).contains(&slug.len()) || !valid_chars || !ends_ok {
            return Err(ValidationError::new("school_code", "error-school-code-invalid"));
        }
        Ok(Self(slug))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TenantStatus {
    Active,
    Suspended,
}

impl TenantStatus {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }
}

/// Modules a plan switches on for a school.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Feature {
    Finance,
    Sms,
    Analytics,
}

impl Feature {
    pub const ALL: [Feature; 3] = [Feature::Finance, Feature::Sms, Feature::Analytics];

    pub fn code(self) -> &'static str {
        match self {
            Self::Finance => "finance",
            Self::Sms => "sms",
            Self::Analytics => "analytics",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }
}

/// A school as the rest of the system sees it once a request is resolved to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub name: String,
    pub status: TenantStatus,
    pub plan_code: String,
    pub features: Vec<Feature>,
    pub default_language: crate::Language,
}

impl Tenant {
    pub fn has_feature(&self, feature: Feature) -> bool {
        self.features.contains(&feature)
    }

    pub fn can_sign_in(&self) -> bool {
        self.status == TenantStatus::Active
    }
}

/// `<slug>.<base_domain>` → slug. Anything else (the bare base domain, another domain, an
/// IP address, a nested subdomain) resolves to no tenant.
pub fn slug_from_host(host: &str, base_domain: &str) -> Option<TenantSlug> {
    let host = host.trim().to_ascii_lowercase();
    let host = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name.to_owned(),
        _ => host,
    };
    let base = base_domain.trim().trim_start_matches('.').to_ascii_lowercase();
    let label = host.strip_suffix(&base)?.strip_suffix('.')?;
    if label.is_empty() || label.contains('.') {
        return None;
    }
    TenantSlug::parse(label).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn school_code_is_forgiving_but_strict() {
        assert_eq!(TenantSlug::parse("  Kilimanjaro-Hills ").map(|s| s.0), Ok("kilimanjaro-hills".into()));
        assert!(TenantSlug::parse("").is_err());
        assert!(TenantSlug::parse("-bad").is_err());
        assert!(TenantSlug::parse("bad-").is_err());
        assert!(TenantSlug::parse("a b").is_err());
        assert!(TenantSlug::parse("ab").is_err());
    }

    #[test]
    fn slug_from_subdomain() {
        let base = "kilele.test";
        assert_eq!(slug_from_host("kilimanjaro-hills.kilele.test", base).map(|s| s.0), Some("kilimanjaro-hills".into()));
        assert_eq!(slug_from_host("Mwanza-Lakeside.kilele.test:3000", base).map(|s| s.0), Some("mwanza-lakeside".into()));
        assert_eq!(slug_from_host("kilele.test", base), None);
        assert_eq!(slug_from_host("a.b.kilele.test", base), None);
        assert_eq!(slug_from_host("evilkilele.test", base), None);
        assert_eq!(slug_from_host("127.0.0.1:3000", base), None);
    }

    #[test]
    fn features_round_trip() {
        for f in Feature::ALL {
            assert_eq!(Feature::parse(f.code()), Some(f));
        }
        assert_eq!(Feature::parse("nope"), None);
    }
}
