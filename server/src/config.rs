//! Configuration from the environment (and `.env` in development). Every variable is listed
//! in the README's configuration table.

use anyhow::{bail, Context};
use std::net::SocketAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone)]
pub struct Config {
    /// Schema owner: migrations and operator commands. Never used by serve/worker.
    pub database_url: String,
    /// The application role (`kilele_app`): what serve connects as.
    pub app_database_url: String,
    /// The worker role (`kilele_worker`): the worker loop, the only role that may claim jobs.
    pub worker_database_url: String,
    pub redis_url: String,
    /// When set, `<school>.<BASE_DOMAIN>` selects the school.
    pub base_domain: Option<String>,
    /// The public origin (e.g. https://kilele.co.tz); https makes cookies Secure.
    pub public_url: Option<String>,
    pub environment: Environment,
    pub session_idle: chrono::Duration,
    pub session_absolute: chrono::Duration,
    pub log_format: LogFormat,
    pub site_addr: SocketAddr,
    pub db_pool_size: u32,
    /// Keys for personal data at rest (PII_KEYS, PII_ACTIVE_KEY, PII_INDEX_KEY).
    pub pii: kilele::audit::pii::KeyRing,
    /// The audit chain's HMAC key (AUDIT_KEY); the database never sees it.
    pub audit_key: kilele::audit::AuditKey,
    /// Where uploaded files (student photos) are kept (STORAGE_DIR).
    pub storage_dir: std::path::PathBuf,
    /// Outgoing email: SMTP_URL; without it, messages are written to MAIL_DIR (development).
    pub smtp_url: Option<String>,
    pub mail_dir: std::path::PathBuf,
    pub mail_from: String,
}

// Never print connection strings: they may carry passwords.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact(&self.database_url))
            .field("app_database_url", &redact(&self.app_database_url))
            .field("worker_database_url", &redact(&self.worker_database_url))
            .field("redis_url", &redact(&self.redis_url))
            .field("base_domain", &self.base_domain)
            .field("public_url", &self.public_url)
            .field("environment", &self.environment)
            .field("session_idle", &self.session_idle)
            .field("session_absolute", &self.session_absolute)
            .field("site_addr", &self.site_addr)
            .field("pii", &self.pii)
            .field("audit_key", &self.audit_key)
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparseable url>".into(),
    }
}

/// The app role's URL derived from the owner's: same server and database, user
/// `kilele_app`, no password (trust/peer auth in development; set APP_DATABASE_URL in
/// production).
pub fn derive_app_url(owner_url: &str) -> anyhow::Result<String> {
    derive_role_url(owner_url, "kilele_app")
}

/// The worker role's URL, derived the same way (set WORKER_DATABASE_URL in production).
pub fn derive_worker_url(owner_url: &str) -> anyhow::Result<String> {
    derive_role_url(owner_url, "kilele_worker")
}

fn derive_role_url(owner_url: &str, role: &str) -> anyhow::Result<String> {
    let mut u = url::Url::parse(owner_url).context("DATABASE_URL is not a valid URL")?;
    u.set_username(role).map_err(|_| anyhow::anyhow!("cannot set user in DATABASE_URL"))?;
    u.set_password(None).map_err(|_| anyhow::anyhow!("cannot clear password in DATABASE_URL"))?;
    Ok(u.to_string())
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn parse_var<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| anyhow::anyhow!("{name} has an invalid value")),
    }
}

/// AUDIT_KEY: required in production; the public development key otherwise.
fn audit_key(value: Option<&str>, environment: Environment) -> anyhow::Result<kilele::audit::AuditKey> {
    match value {
        Some(k) => kilele::audit::AuditKey::parse(k).map_err(|e| anyhow::anyhow!("AUDIT_KEY: {e}")),
        None if environment == Environment::Development => Ok(kilele::audit::AuditKey::development()),
        None => bail!("production needs AUDIT_KEY (hex or base64 of at least 32 random bytes; see README)"),
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        let database_url = var("DATABASE_URL").context("DATABASE_URL is not set (see README: Configuration)")?;
        let app_database_url = match var("APP_DATABASE_URL") {
            Some(u) => u,
            None => derive_app_url(&database_url)?,
        };
        let worker_database_url = match var("WORKER_DATABASE_URL") {
            Some(u) => u,
            None => derive_worker_url(&database_url)?,
        };
        let environment = match var("KILELE_ENV").as_deref() {
            None | Some("development") | Some("dev") | Some("test") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(_) => bail!("KILELE_ENV must be development or production"),
        };
        let log_format = match var("LOG_FORMAT").as_deref() {
            Some("json") => LogFormat::Json,
            _ => LogFormat::Pretty,
        };
        let idle_minutes: i64 = parse_var("SESSION_IDLE_MINUTES", 30)?;
        let absolute_hours: i64 = parse_var("SESSION_ABSOLUTE_HOURS", 12)?;
        if idle_minutes <= 0 || absolute_hours <= 0 {
            bail!("session timeouts must be positive");
        }
        let pii = match (var("PII_KEYS"), var("PII_ACTIVE_KEY"), var("PII_INDEX_KEY")) {
            (Some(keys), Some(active), Some(index)) => kilele::audit::pii::KeyRing::parse(&keys, &active, &index)
                .map_err(|e| anyhow::anyhow!("PII_KEYS / PII_ACTIVE_KEY / PII_INDEX_KEY: {e}"))?,
            (None, None, None) if environment == Environment::Development => kilele::audit::pii::KeyRing::development(),
            (None, None, None) => bail!("production needs PII_KEYS, PII_ACTIVE_KEY and PII_INDEX_KEY (see README)"),
            _ => bail!("set all three of PII_KEYS, PII_ACTIVE_KEY and PII_INDEX_KEY, or none (development only)"),
        };
        let audit_key = audit_key(var("AUDIT_KEY").as_deref(), environment)?;
        let smtp_url = var("SMTP_URL");
        if smtp_url.is_none() && environment == Environment::Production {
            bail!("production needs SMTP_URL to send invitations");
        }
        Ok(Self {
            smtp_url,
            mail_dir: var("MAIL_DIR").unwrap_or_else(|| ".data/mail".into()).into(),
            mail_from: var("MAIL_FROM").unwrap_or_else(|| "Kilele <no-reply@kilele.test>".into()),
            storage_dir: var("STORAGE_DIR").unwrap_or_else(|| ".data/storage".into()).into(),
            pii,
            audit_key,
            database_url,
            app_database_url,
            worker_database_url,
            redis_url: var("REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
            base_domain: var("BASE_DOMAIN").map(|d| d.trim_start_matches('.').to_ascii_lowercase()),
            public_url: var("PUBLIC_URL"),
            environment,
            session_idle: chrono::Duration::minutes(idle_minutes),
            session_absolute: chrono::Duration::hours(absolute_hours),
            log_format,
            site_addr: parse_var("LEPTOS_SITE_ADDR", SocketAddr::from(([127, 0, 0, 1], 3000)))?,
            db_pool_size: parse_var("DATABASE_POOL_SIZE", 10)?,
        })
    }

    pub fn cookie_secure(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_url_swaps_user_and_drops_password() {
        let u = derive_app_url("postgres://postgres:secret@127.0.0.1:5432/kilele").unwrap();
        assert_eq!(u, "postgres://kilele_app@127.0.0.1:5432/kilele");
        let w = derive_worker_url("postgres://postgres:secret@127.0.0.1:5432/kilele").unwrap();
        assert_eq!(w, "postgres://kilele_worker@127.0.0.1:5432/kilele");
    }

    #[test]
    fn production_needs_a_real_audit_key() {
        let err = audit_key(None, Environment::Production).unwrap_err().to_string();
        assert!(err.contains("production needs AUDIT_KEY"), "{err}");
        assert!(audit_key(None, Environment::Development).unwrap().is_development());
        let real = audit_key(Some(&"c3".repeat(32)), Environment::Production).unwrap();
        assert!(!real.is_development());
        assert!(audit_key(Some("c3c3"), Environment::Production).unwrap_err().to_string().contains("at least 32"));
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert!(!redact("redis://:pw@h:6379").contains("pw"));
    }
}
