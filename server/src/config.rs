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
    /// Schema owner: `kilele migrate` only. Never read by serve or worker in production.
    pub database_url: Option<String>,
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
    /// Where files (student photos, report cards) are kept: STORAGE_URL=s3://bucket/prefix
    /// (with AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), else the
    /// directory STORAGE_DIR.
    pub storage: StorageLocation,
    /// Outgoing email: SMTP_URL; without it, messages are written to MAIL_DIR (development).
    pub smtp_url: Option<String>,
    pub mail_dir: std::path::PathBuf,
    pub mail_from: String,
    /// Bearer token for `/metrics` (METRICS_TOKEN); without it `/metrics` answers 404.
    pub metrics_token: Option<String>,
    /// Sign-in protection: rate limits, concurrent password checks, proxy trust.
    pub sign_in: SignInLimits,
    /// M-Pesa OpenAPI (MPESA_BASE_URL, MPESA_PUBLIC_KEY): without it, no M-Pesa pushes.
    pub mpesa: Option<kilele::payments::mpesa::MpesaSettings>,
    /// Airtel Money's Open API (AIRTEL_BASE_URL): without it, no Airtel pushes.
    pub airtel_base_url: Option<String>,
    /// Tigo Pesa's push gateway (TIGO_BASE_URL, as issued at onboarding; each school's partner
    /// name completes the paths): without it, no Tigo pushes (USSD bill-pay needs none).
    pub tigo_base_url: Option<String>,
    /// GePG (GEPG_BASE_URL, GEPG_PUBLIC_KEY): without it, no government school can bill.
    pub gepg: Option<kilele::payments::gepg::GepgSettings>,
}

/// A provider reached at a base URL and trusted by its public key (`url_var`, `key_var`: the
/// key base64 DER), both or neither: https only, but http in development for its simulator.
fn url_and_key(url_var: &str, key_var: &str, whose: &str, production: bool) -> anyhow::Result<Option<(String, Vec<u8>)>> {
    use base64::Engine;
    match (var(url_var), var(key_var)) {
        (None, None) => Ok(None),
        (Some(base_url), Some(key)) => {
            if !(base_url.starts_with("https://") || (!production && base_url.starts_with("http://"))) {
                bail!("{url_var} must be an https:// URL (http:// only in development, for the simulator)");
            }
            let der = base64::engine::general_purpose::STANDARD
                .decode(key.trim())
                .with_context(|| format!("{key_var} must be {whose} public key in base64"))?;
            Ok(Some((base_url, der)))
        }
        _ => bail!("set both {url_var} and {key_var}, or neither"),
    }
}

/// M-Pesa OpenAPI from MPESA_BASE_URL (up to the market, e.g.
/// `https://openapi.m-pesa.com/openapi/ipg/v2/vodacomTZN`) and MPESA_PUBLIC_KEY (the portal's
/// base64 public key), both or neither.
fn mpesa_from_env(production: bool) -> anyhow::Result<Option<kilele::payments::mpesa::MpesaSettings>> {
    Ok(url_and_key("MPESA_BASE_URL", "MPESA_PUBLIC_KEY", "the portal's", production)?
        .map(|(base_url, public_key_der)| kilele::payments::mpesa::MpesaSettings { base_url, public_key_der }))
}

/// GePG from GEPG_BASE_URL (its host, e.g. `https://uat1.gepg.go.tz`) and GEPG_PUBLIC_KEY
/// (GePG's public key, base64 DER), both or neither.
fn gepg_from_env(production: bool) -> anyhow::Result<Option<kilele::payments::gepg::GepgSettings>> {
    Ok(url_and_key("GEPG_BASE_URL", "GEPG_PUBLIC_KEY", "GePG's", production)?
        .map(|(base_url, public_key_der)| kilele::payments::gepg::GepgSettings { base_url, public_key_der }))
}

/// Where the storage layer keeps files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageLocation {
    Local(std::path::PathBuf),
    S3(kilele::storage::S3Settings),
}

impl StorageLocation {
    fn from_env() -> anyhow::Result<Self> {
        match var("STORAGE_URL") {
            None => Ok(Self::Local(var("STORAGE_DIR").unwrap_or_else(|| ".data/storage".into()).into())),
            Some(url) if url.starts_with("s3://") => {
                let (bucket, prefix) = kilele::storage::S3Settings::parse_url(&url).map_err(|e| anyhow::anyhow!("STORAGE_URL: {e}"))?;
                let endpoint = var("AWS_ENDPOINT_URL");
                if endpoint.as_deref().is_some_and(|e| !(e.starts_with("http://") || e.starts_with("https://"))) {
                    bail!("AWS_ENDPOINT_URL must start with http:// or https://");
                }
                Ok(Self::S3(kilele::storage::S3Settings {
                    bucket,
                    prefix,
                    endpoint,
                    region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")).unwrap_or_else(|| "us-east-1".into()),
                    access_key_id: var("AWS_ACCESS_KEY_ID").context("STORAGE_URL is s3://…: set AWS_ACCESS_KEY_ID")?,
                    secret_access_key: var("AWS_SECRET_ACCESS_KEY").context("STORAGE_URL is s3://…: set AWS_SECRET_ACCESS_KEY")?,
                }))
            }
            Some(url) if url.starts_with("file://") => Ok(Self::Local(url.trim_start_matches("file://").into())),
            Some(_) => bail!("STORAGE_URL must be s3://bucket/prefix or file:///path"),
        }
    }

    /// The storage layer for this location.
    pub fn open(&self) -> anyhow::Result<kilele::storage::Storage> {
        Ok(match self {
            Self::Local(dir) => kilele::storage::Storage::local(dir.clone()),
            Self::S3(settings) => kilele::storage::Storage::s3(settings).context("STORAGE_URL: the object store")?,
        })
    }
}

/// Limits on `POST /login` (see docs/architecture.md, "Sign-in under load").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInLimits {
    /// Attempts a client address may make in a burst (SIGN_IN_PER_IP_BURST); 0 = no per-address limit.
    pub per_ip_burst: u32,
    /// Sustained attempts per address per minute (SIGN_IN_PER_IP_PER_MINUTE).
    pub per_ip_per_minute: u32,
    /// All addresses together: burst (SIGN_IN_GLOBAL_BURST); 0 = no global limit.
    pub global_burst: u32,
    /// All addresses together: sustained attempts per second (SIGN_IN_GLOBAL_PER_SECOND).
    pub global_per_second: u32,
    /// Password checks running at once (SIGN_IN_CONCURRENCY; default twice the cores).
    pub concurrency: usize,
    /// How long a sign-in may wait for a turn before "try again in a moment"
    /// (SIGN_IN_QUEUE_WAIT_MS).
    pub queue_wait: std::time::Duration,
    /// Take the client address from X-Forwarded-For (TRUST_PROXY_HEADERS=true): only when a
    /// trusted proxy in front sets it; otherwise anyone could pick their own address.
    pub trust_proxy_headers: bool,
}

impl Default for SignInLimits {
    /// A school's whole lab can share one public address (NAT, mobile carriers' CGNAT), so
    /// the per-address limit is generous: 30 at once, then one every two seconds. The
    /// global limit (100 at once, 50 a second) is well above what the password checks can
    /// serve on a small machine, so it only sheds a flood before it queues.
    fn default() -> Self {
        Self {
            per_ip_burst: 30,
            per_ip_per_minute: 30,
            global_burst: 100,
            global_per_second: 50,
            concurrency: kilele::identity::password::Verifier::default_concurrency(),
            queue_wait: std::time::Duration::from_secs(2),
            trust_proxy_headers: false,
        }
    }
}

impl SignInLimits {
    fn from_env() -> anyhow::Result<Self> {
        let d = Self::default();
        let trust = match var("TRUST_PROXY_HEADERS").as_deref() {
            None | Some("false") | Some("0") | Some("no") => false,
            Some("true") | Some("1") | Some("yes") => true,
            Some(_) => bail!("TRUST_PROXY_HEADERS must be true or false"),
        };
        let limits = Self {
            per_ip_burst: parse_var("SIGN_IN_PER_IP_BURST", d.per_ip_burst)?,
            per_ip_per_minute: parse_var("SIGN_IN_PER_IP_PER_MINUTE", d.per_ip_per_minute)?,
            global_burst: parse_var("SIGN_IN_GLOBAL_BURST", d.global_burst)?,
            global_per_second: parse_var("SIGN_IN_GLOBAL_PER_SECOND", d.global_per_second)?,
            concurrency: parse_var("SIGN_IN_CONCURRENCY", d.concurrency)?,
            queue_wait: std::time::Duration::from_millis(parse_var("SIGN_IN_QUEUE_WAIT_MS", 2000u64)?),
            trust_proxy_headers: trust,
        };
        if limits.concurrency == 0 {
            bail!("SIGN_IN_CONCURRENCY must be at least 1");
        }
        if (limits.per_ip_burst > 0 && limits.per_ip_per_minute == 0) || (limits.global_burst > 0 && limits.global_per_second == 0) {
            bail!("sign-in rate limits need a positive rate (set the burst to 0 to turn a limit off)");
        }
        Ok(limits)
    }
}

// Never print connection strings: they may carry passwords.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &self.database_url.as_deref().map(redact))
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
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
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

/// A wallet's base URL: https://, or http:// in development for the simulators.
fn wallet_url(name: &str, production: bool) -> anyhow::Result<Option<String>> {
    match var(name) {
        Some(u) if u.starts_with("https://") || (!production && u.starts_with("http://")) => Ok(Some(u)),
        Some(_) => bail!("{name} must be an https:// URL (http:// only in development, for the simulator)"),
        None => Ok(None),
    }
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

/// What a command needs from the configuration. Production refuses to start a command whose
/// needs are not met, each with a message that says what to set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// serve, worker, all: the application role only, never the schema owner.
    Run,
    /// migrate: the schema owner (DATABASE_URL) only.
    Migrate,
    /// seed, school create, audit verify: operator commands on the application role.
    Operate,
}

impl Config {
    pub fn from_env(purpose: Purpose) -> anyhow::Result<Self> {
        // Fail closed: a deployment that forgot to say what it is gets no development defaults.
        let environment = match var("KILELE_ENV").as_deref() {
            Some("development") | Some("dev") | Some("test") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            None => bail!(
                "KILELE_ENV is not set: set KILELE_ENV=production (or development on a developer machine; scripts/dev writes it to .env)"
            ),
            Some(_) => bail!("KILELE_ENV must be development or production"),
        };
        let production = environment == Environment::Production;
        // In production only `migrate` reads the owner's URL; serve and worker never see it.
        // In production serve and worker never read the owner's URL; migrate and the operator
        // commands (school create writes the registry rows the app role may not) do.
        let database_url = if purpose != Purpose::Run || !production { var("DATABASE_URL") } else { None };
        if purpose == Purpose::Migrate && database_url.is_none() {
            bail!("DATABASE_URL (the schema owner) is not set: `kilele migrate` needs it (see README: Configuration)");
        }
        let app_database_url = match (var("APP_DATABASE_URL"), &database_url) {
            (Some(u), _) => u,
            (None, _) if purpose == Purpose::Migrate => String::new(),
            (None, Some(owner)) if !production => derive_app_url(owner)?,
            (None, _) if production => bail!(
                "production needs APP_DATABASE_URL (the application role kilele_app); serve and worker never use the schema owner's DATABASE_URL"
            ),
            (None, _) => bail!("set APP_DATABASE_URL, or DATABASE_URL to derive it from (see README: Configuration)"),
        };
        let worker_database_url = match (var("WORKER_DATABASE_URL"), &database_url) {
            (Some(u), _) => u,
            (None, Some(owner)) if !production => derive_worker_url(owner)?,
            (None, _) if production && purpose == Purpose::Run => {
                bail!("production needs WORKER_DATABASE_URL (the worker role kilele_worker, the only one that may claim jobs)")
            }
            (None, _) => String::new(),
        };
        let public_url = var("PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned());
        if production && purpose == Purpose::Run {
            match public_url.as_deref() {
                Some(u) if u.starts_with("https://") && url::Url::parse(u).is_ok() => {}
                Some(_) => {
                    bail!("PUBLIC_URL must be an https:// URL in production (cookies are Secure and invitation links are built from it)")
                }
                None => bail!("production needs PUBLIC_URL, the https:// address parents and staff use (e.g. https://kilele.co.tz)"),
            }
        }
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
            (None, None, None) if !production => kilele::audit::pii::KeyRing::development(),
            (None, None, None) if purpose == Purpose::Migrate => kilele::audit::pii::KeyRing::development(),
            (None, None, None) => bail!("production needs PII_KEYS, PII_ACTIVE_KEY and PII_INDEX_KEY (see README)"),
            _ => bail!("set all three of PII_KEYS, PII_ACTIVE_KEY and PII_INDEX_KEY, or none (development only)"),
        };
        if production && purpose != Purpose::Migrate && pii.uses_development_material() {
            bail!("PII_KEYS / PII_INDEX_KEY contain the public development keys: production needs keys of its own (see README: Configuration)");
        }
        // `migrate` appends nothing to the audit chain and so needs no key.
        let audit_key = match purpose {
            Purpose::Migrate => audit_key(var("AUDIT_KEY").as_deref(), Environment::Development)?,
            _ => audit_key(var("AUDIT_KEY").as_deref(), environment)?,
        };
        if production && purpose != Purpose::Migrate && audit_key.is_development() {
            bail!("AUDIT_KEY is the public development key: production needs a key of its own");
        }
        let smtp_url = var("SMTP_URL");
        if smtp_url.is_none() && production && purpose == Purpose::Run {
            bail!("production needs SMTP_URL to send invitations");
        }
        let metrics_token = var("METRICS_TOKEN");
        if metrics_token.as_deref().is_some_and(|t| t.len() < 16) {
            bail!("METRICS_TOKEN must be at least 16 characters");
        }
        Ok(Self {
            smtp_url,
            mail_dir: var("MAIL_DIR").unwrap_or_else(|| ".data/mail".into()).into(),
            mail_from: var("MAIL_FROM").unwrap_or_else(|| "Kilele <no-reply@kilele.test>".into()),
            storage: StorageLocation::from_env()?,
            pii,
            audit_key,
            database_url,
            app_database_url,
            worker_database_url,
            redis_url: var("REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
            base_domain: var("BASE_DOMAIN").map(|d| d.trim_start_matches('.').to_ascii_lowercase()),
            public_url,
            environment,
            session_idle: chrono::Duration::minutes(idle_minutes),
            session_absolute: chrono::Duration::hours(absolute_hours),
            log_format,
            site_addr: parse_var("LEPTOS_SITE_ADDR", SocketAddr::from(([127, 0, 0, 1], 3000)))?,
            db_pool_size: parse_var("DATABASE_POOL_SIZE", 10)?,
            metrics_token,
            sign_in: SignInLimits::from_env()?,
            mpesa: mpesa_from_env(production)?,
            airtel_base_url: wallet_url("AIRTEL_BASE_URL", production)?,
            // Tigo's test gateway is plain http (docs/payments-providers.md §3.1): in production
            // the password travels, so https (or a TLS tunnel the operator runs) only.
            tigo_base_url: wallet_url("TIGO_BASE_URL", production)?,
            gepg: gepg_from_env(production)?,
        })
    }

    /// The schema owner's URL, for the one command that needs it.
    pub fn owner_url(&self) -> anyhow::Result<&str> {
        self.database_url.as_deref().context("DATABASE_URL (the schema owner) is not set")
    }

    /// True when the public address is https: cookies are Secure and HSTS is sent.
    pub fn is_https(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }

    pub fn cookie_secure(&self) -> bool {
        self.is_https()
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
