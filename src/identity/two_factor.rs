//! Two-factor sign-in: a time-based code (TOTP, RFC 6238: SHA-1, 6 digits, 30-second steps,
//! one step of clock drift either way) from an authenticator app, or one of ten single-use
//! recovery codes.
//!
//! - The secret is stored sealed with the PII keys (bound to the school and the column), so
//!   a copy of the database cannot generate codes; recovery codes only as keyed blind
//!   indexes, shown once when made.
//! - A code is accepted at most once: the time step it matched must be later than the last
//!   step accepted (`last_step`), so a code read over a shoulder or out of a log is spent.
//! - Setting up takes two steps: [`begin`] keeps a new secret unconfirmed (the page shows it
//!   as a QR code drawn here as SVG, and as text); [`confirm`] checks a first code against
//!   it and only then turns sign-in codes on and makes the recovery codes.
//!
//! Whose factor it is ([`Holder`]): a school user (tenant tables, under row-level security)
//! or platform staff (platform tables).

use super::Email;
use crate::audit::pii::{Aad, KeyRing};
use crate::tenancy::TenantId;
use crate::DomainError;
use chrono::{DateTime, Utc};
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use sqlx::{PgConnection, Row};
use std::fmt::Write as _;
use uuid::Uuid;

/// The name authenticator apps show above the codes.
pub const ISSUER: &str = "Kilele";
/// Secret length: 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
/// How many recovery codes are made at a time.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code: lower case and digits without look-alikes (no i, l, o, 0,
/// 1), so a code copied by hand from paper types back right.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Characters per recovery code (about 59 bits), written in groups of four.
const RECOVERY_LEN: usize = 12;
/// The field a sealed secret is bound to.
const SECRET_FIELD: &str = "totp_secret";
/// The field recovery codes are indexed under.
const RECOVERY_FIELD: &str = "recovery_code";

/// Whose second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// A school user; the connection must be the school's transaction.
    School(TenantId, Uuid),
    /// Platform staff.
    Platform(Uuid),
}

impl Holder {
    fn user(self) -> Uuid {
        match self {
            Self::School(_, user) | Self::Platform(user) => user,
        }
    }

    /// The school a sealed value or a blind index is bound to (nil for the platform).
    fn scope(self) -> Uuid {
        match self {
            Self::School(school, _) => school.0,
            Self::Platform(_) => Uuid::nil(),
        }
    }

    /// The school's statement or the platform's.
    fn sql(self, school: &'static str, platform: &'static str) -> &'static str {
        match self {
            Self::School(..) => school,
            Self::Platform(_) => platform,
        }
    }

    fn recovery_index(self, pii: &KeyRing, code: &str) -> Vec<u8> {
        pii.blind_index(self.scope(), RECOVERY_FIELD, &format!("{}:{code}", self.user()))
    }
}

/// What a person typed at the code prompt: six digits from the app, or a recovery code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    Totp(String),
    Recovery(String),
}

impl Code {
    /// Spaces and dashes are ignored (apps show `123 456`, codes are printed `abcd-efgh-jkmn`);
    /// `None` for anything that cannot be either.
    pub fn parse(raw: &str) -> Option<Self> {
        let plain: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_lowercase();
        if plain.len() == 6 && plain.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Self::Totp(plain));
        }
        if plain.len() == RECOVERY_LEN && plain.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
            return Some(Self::Recovery(plain));
        }
        None
    }
}

/// Where someone's second factor stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct State {
    /// Sign-in asks for a code.
    pub enrolled: bool,
    /// A secret is waiting for its first code.
    pub setting_up: bool,
    /// Recovery codes not used yet.
    pub recovery_left: i64,
}

/// What the set-up page shows: the secret as a QR code and as text to type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// The secret in base32, in groups of four for typing.
    pub secret: String,
    /// An `<svg>` element: the `otpauth://` address as a QR code.
    pub qr_svg: String,
}

/// The outcome of a code at sign-in or before a sensitive change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// The app's code, for a time step not used before.
    Totp,
    /// A recovery code, now spent; `left` remain.
    Recovery { left: i64 },
    /// Wrong, spent, or no second factor at all.
    Wrong,
}

impl Verified {
    pub fn ok(self) -> bool {
        !matches!(self, Self::Wrong)
    }

    /// How the audit log names the factor used.
    pub fn factor(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Recovery { .. } => "recovery_code",
            Self::Wrong => "none",
        }
    }
}

fn internal(e: impl std::fmt::Display) -> DomainError {
    DomainError::Internal(format!("two-factor: {e}"))
}

fn totp(secret: Vec<u8>, account: &str) -> Result<totp_rs::Totp, DomainError> {
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_account_name(account.replace(':', " "))
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(internal)
}

fn seconds(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp()).unwrap_or(0)
}

/// The code an authenticator shows at `at` for a base32 secret (tests and the demo's tools).
pub fn code_at(secret_base32: &str, at: DateTime<Utc>) -> Result<String, DomainError> {
    let secret = totp_rs::Secret::try_from_base32(secret_base32.replace(' ', "")).map_err(internal)?;
    Ok(totp(secret.as_bytes().to_vec(), "x")?.generate(seconds(at)).to_string())
}

/// A QR code of `text` as an SVG element (one path, four modules of quiet zone).
pub fn qr_svg(text: &str) -> Result<String, DomainError> {
    let qr = qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium).map_err(|_| internal("QR code too long"))?;
    let border = 4;
    let size = qr.size();
    let dim = size + 2 * border;
    let mut path = String::new();
    // One rectangle per horizontal run of dark modules: a third of the bytes of one per
    // module, for phones on slow connections.
    for y in 0..size {
        let mut x = 0;
        while x < size {
            if !qr.get_module(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < size && qr.get_module(x, y) {
                x += 1;
            }
            let run = x - start;
            let _ = write!(path, "M{},{}h{run}v1h-{run}z", start + border, y + border);
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {dim} {dim}\" width=\"220\" height=\"220\" \
         shape-rendering=\"crispEdges\" aria-hidden=\"true\"><rect width=\"{dim}\" height=\"{dim}\" fill=\"#fff\"/>\
         <path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

fn new_recovery_code() -> String {
    let mut rng = OsRng;
    let mut code = String::with_capacity(RECOVERY_LEN + 2);
    for i in 0..RECOVERY_LEN {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        code.push(char::from(RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())]));
    }
    code
}

fn group_by_four(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

/// Where `holder`'s second factor stands.
pub async fn state(conn: &mut PgConnection, holder: Holder) -> Result<State, sqlx::Error> {
    let sql = holder.sql(
        "SELECT f.confirmed_at IS NOT NULL AS enrolled,
                (SELECT count(*) FROM user_recovery_codes c WHERE c.user_id = f.user_id AND c.used_at IS NULL) AS unused
           FROM user_second_factors f WHERE f.user_id = $1",
        "SELECT f.confirmed_at IS NOT NULL AS enrolled,
                (SELECT count(*) FROM platform_recovery_codes c WHERE c.user_id = f.user_id AND c.used_at IS NULL) AS unused
           FROM platform_second_factors f WHERE f.user_id = $1",
    );
    let Some(row) = sqlx::query(sql).bind(holder.user()).fetch_optional(&mut *conn).await? else {
        return Ok(State::default());
    };
    let enrolled: bool = row.try_get("enrolled")?;
    Ok(State { enrolled, setting_up: !enrolled, recovery_left: if enrolled { row.try_get("unused")? } else { 0 } })
}

/// Starts (or starts again) setting up: a new secret, kept unconfirmed. Refused with a
/// conflict when a confirmed factor exists (turn it off first, with a code).
pub async fn begin(conn: &mut PgConnection, pii: &KeyRing, holder: Holder, now: DateTime<Utc>) -> Result<(), DomainError> {
    let mut secret = [0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut secret);
    let encoded = totp_rs::Secret::from(secret.to_vec()).to_base32();
    let sealed = pii.encrypt(&encoded, &Aad::new(holder.scope(), SECRET_FIELD))?;
    let written = match holder {
        Holder::School(school, user) => sqlx::query(
            "INSERT INTO user_second_factors (tenant_id, user_id, secret, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, user_id) DO UPDATE SET secret = EXCLUDED.secret, created_at = EXCLUDED.created_at
              WHERE user_second_factors.confirmed_at IS NULL",
        )
        .bind(school.0)
        .bind(user),
        Holder::Platform(user) => sqlx::query(
            "INSERT INTO platform_second_factors (user_id, secret, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, created_at = EXCLUDED.created_at
              WHERE platform_second_factors.confirmed_at IS NULL",
        )
        .bind(user),
    }
    .bind(sealed)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if written == 0 {
        return Err(DomainError::conflict("code", "error-two-factor-already-on"));
    }
    Ok(())
}

/// The secret and whether it is confirmed, opened (`None` without a factor).
async fn secret_of(conn: &mut PgConnection, pii: &KeyRing, holder: Holder) -> Result<Option<(Vec<u8>, bool, i64)>, DomainError> {
    let sql = holder.sql(
        "SELECT secret, confirmed_at IS NOT NULL AS confirmed, last_step FROM user_second_factors WHERE user_id = $1 FOR UPDATE",
        "SELECT secret, confirmed_at IS NOT NULL AS confirmed, last_step FROM platform_second_factors WHERE user_id = $1 FOR UPDATE",
    );
    let Some(row) = sqlx::query(sql).bind(holder.user()).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    let sealed: Vec<u8> = row.try_get("secret")?;
    let encoded = pii.decrypt(&sealed, &Aad::new(holder.scope(), SECRET_FIELD))?;
    let secret = totp_rs::Secret::try_from_base32(&encoded).map_err(internal)?;
    Ok(Some((secret.as_bytes().to_vec(), row.try_get("confirmed")?, row.try_get("last_step")?)))
}

/// What the set-up page shows for a secret waiting for its first code (`None` when there is
/// none). `account` is the name the app lists the codes under.
pub async fn setup(conn: &mut PgConnection, pii: &KeyRing, holder: Holder, account: &str) -> Result<Option<Setup>, DomainError> {
    match secret_of(conn, pii, holder).await? {
        Some((secret, false, _)) => {
            let totp = totp(secret, account)?;
            let url = totp.to_url().map_err(internal)?;
            Ok(Some(Setup { secret: group_by_four(&totp.secret().to_base32()), qr_svg: qr_svg(&url)? }))
        }
        _ => Ok(None),
    }
}

/// The name an authenticator lists a school user's codes under: their email and school.
pub fn account_name(email: &Email, school: Option<&str>) -> String {
    match school {
        Some(school) => format!("{} ({school})", email.as_str()),
        None => email.as_str().to_owned(),
    }
}

/// The time step a TOTP code matches at `now`, if any.
fn matched_step(secret: Vec<u8>, code: &str, now: DateTime<Utc>) -> Result<Option<i64>, DomainError> {
    let totp = totp(secret, "x")?;
    Ok(totp.check(code, seconds(now)).and_then(|step| i64::try_from(step).ok()))
}

/// Spends `step`: true when no later or equal step was accepted before.
async fn spend_step(conn: &mut PgConnection, holder: Holder, step: i64) -> Result<bool, sqlx::Error> {
    let sql = holder.sql(
        "UPDATE user_second_factors SET last_step = $2 WHERE user_id = $1 AND last_step < $2",
        "UPDATE platform_second_factors SET last_step = $2 WHERE user_id = $1 AND last_step < $2",
    );
    Ok(sqlx::query(sql).bind(holder.user()).bind(step).execute(&mut *conn).await?.rows_affected() == 1)
}

/// Confirms setting up with the first code from the app: turns sign-in codes on and returns
/// the ten recovery codes, to be shown once. `None` when the code is wrong (or nothing is
/// being set up).
pub async fn confirm(
    conn: &mut PgConnection,
    pii: &KeyRing,
    holder: Holder,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Option<Vec<String>>, DomainError> {
    let Some(Code::Totp(code)) = Code::parse(code) else {
        return Ok(None);
    };
    let Some((secret, false, _)) = secret_of(conn, pii, holder).await? else {
        return Ok(None);
    };
    let Some(step) = matched_step(secret, &code, now)? else {
        return Ok(None);
    };
    let sql = holder.sql(
        "UPDATE user_second_factors SET confirmed_at = $2, last_step = $3 WHERE user_id = $1",
        "UPDATE platform_second_factors SET confirmed_at = $2, last_step = $3 WHERE user_id = $1",
    );
    sqlx::query(sql).bind(holder.user()).bind(now).bind(step).execute(&mut *conn).await?;
    Ok(Some(replace_recovery_codes(conn, pii, holder).await?))
}

/// Checks a code at sign-in or before a sensitive change. A TOTP code is spent with its
/// time step; a recovery code is spent for good.
pub async fn verify(
    conn: &mut PgConnection,
    pii: &KeyRing,
    holder: Holder,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Verified, DomainError> {
    match Code::parse(code) {
        None => Ok(Verified::Wrong),
        Some(Code::Totp(code)) => {
            let Some((secret, true, _)) = secret_of(conn, pii, holder).await? else {
                return Ok(Verified::Wrong);
            };
            match matched_step(secret, &code, now)? {
                Some(step) if spend_step(conn, holder, step).await? => Ok(Verified::Totp),
                _ => Ok(Verified::Wrong),
            }
        }
        Some(Code::Recovery(plain)) => {
            let index = holder.recovery_index(pii, &plain);
            let sql = holder.sql(
                "UPDATE user_recovery_codes c SET used_at = $3
                   FROM user_second_factors f
                  WHERE f.tenant_id = c.tenant_id AND f.user_id = c.user_id AND f.confirmed_at IS NOT NULL
                    AND c.user_id = $1 AND c.code_hash = $2 AND c.used_at IS NULL",
                "UPDATE platform_recovery_codes c SET used_at = $3
                   FROM platform_second_factors f
                  WHERE f.user_id = c.user_id AND f.confirmed_at IS NOT NULL
                    AND c.user_id = $1 AND c.code_hash = $2 AND c.used_at IS NULL",
            );
            let spent = sqlx::query(sql).bind(holder.user()).bind(index).bind(now).execute(&mut *conn).await?.rows_affected();
            if spent == 0 {
                return Ok(Verified::Wrong);
            }
            Ok(Verified::Recovery { left: state(conn, holder).await?.recovery_left })
        }
    }
}

/// Replaces every recovery code with ten new ones, returned once (never stored readable).
pub async fn replace_recovery_codes(conn: &mut PgConnection, pii: &KeyRing, holder: Holder) -> Result<Vec<String>, DomainError> {
    let delete = holder.sql("DELETE FROM user_recovery_codes WHERE user_id = $1", "DELETE FROM platform_recovery_codes WHERE user_id = $1");
    sqlx::query(delete).bind(holder.user()).execute(&mut *conn).await?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    while codes.len() < RECOVERY_CODES {
        let code = new_recovery_code();
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| holder.recovery_index(pii, &c.replace('-', ""))).collect();
    match holder {
        Holder::School(school, user) => {
            sqlx::query("INSERT INTO user_recovery_codes (tenant_id, user_id, code_hash) SELECT $1, $2, unnest($3::bytea[])")
                .bind(school.0)
                .bind(user)
                .bind(&hashes)
                .execute(&mut *conn)
                .await?
        }
        Holder::Platform(user) => {
            sqlx::query("INSERT INTO platform_recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[])")
                .bind(user)
                .bind(&hashes)
                .execute(&mut *conn)
                .await?
        }
    };
    Ok(codes)
}

/// Removes the second factor and its recovery codes (turned off by its owner, or reset by an
/// admin). True when there was one.
pub async fn remove(conn: &mut PgConnection, holder: Holder) -> Result<bool, sqlx::Error> {
    let sql = holder.sql("DELETE FROM user_second_factors WHERE user_id = $1", "DELETE FROM platform_second_factors WHERE user_id = $1");
    Ok(sqlx::query(sql).bind(holder.user()).execute(&mut *conn).await?.rows_affected() > 0)
}

/// Whether the school asks its teachers for a second factor too (audited).
pub async fn set_for_teachers(tx: &mut crate::db::TenantTx, on: bool, by: super::store::ChangedBy<'_>) -> Result<(), DomainError> {
    let school = tx.tenant();
    // Asking again keeps the first date: teachers' grace periods do not start over.
    sqlx::query(
        "INSERT INTO school_settings (tenant_id, two_factor_for_teachers_since) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO UPDATE SET two_factor_for_teachers_since =
             CASE WHEN EXCLUDED.two_factor_for_teachers_since IS NULL THEN NULL
                  ELSE COALESCE(school_settings.two_factor_for_teachers_since, EXCLUDED.two_factor_for_teachers_since) END",
    )
    .bind(school.0)
    .bind(on.then_some(by.at))
    .execute(&mut **tx)
    .await?;
    by.audit(tx, crate::audit::actions::SCHOOL_TWO_FACTOR_FOR_TEACHERS_SET, &school.0.to_string(), serde_json::json!({ "on": on })).await?;
    Ok(())
}

/// Whether the school asks its teachers for a second factor.
pub async fn for_teachers(tx: &mut crate::db::TenantTx) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query_scalar("SELECT two_factor_for_teachers_since IS NOT NULL FROM school_settings")
        .fetch_optional(&mut **tx)
        .await?
        .unwrap_or(false))
}

/// Whether `by` may reset `user`'s second factor ([`reset`]'s refusals), asked before the
/// admin's password is hashed: their own is a conflict; another school's or an unknown person,
/// or one without a confirmed factor, is not found.
pub async fn may_reset(tx: &mut crate::db::TenantTx, user: Uuid, by: super::store::ChangedBy<'_>) -> Result<(), DomainError> {
    if by.actor.id == Some(user) {
        return Err(DomainError::conflict("user", "error-two-factor-reset-self"));
    }
    let holder = Holder::School(tx.tenant(), user);
    if !state(tx, holder).await?.enrolled {
        return Err(DomainError::NotFound);
    }
    Ok(())
}

/// A school admin removes a staff member's second factor (a lost phone): they set it up again
/// at their next sign-in. Not for the admin's own (that goes through their own page, with
/// their password and a code). Another school's or an unknown person, or one without a second
/// factor: not found.
pub async fn reset(tx: &mut crate::db::TenantTx, user: Uuid, by: super::store::ChangedBy<'_>) -> Result<(), DomainError> {
    may_reset(tx, user, by).await?;
    let holder = Holder::School(tx.tenant(), user);
    if !remove(tx, holder).await? {
        return Err(DomainError::NotFound);
    }
    // Whoever holds their open sessions (a stolen phone's browser) is signed out.
    sqlx::query("UPDATE users SET sessions_valid_from = $2 WHERE id = $1").bind(user).bind(by.at).execute(&mut **tx).await?;
    by.audit(tx, crate::audit::actions::TWO_FACTOR_RESET, &user.to_string(), serde_json::json!({})).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_as_typed() {
        assert_eq!(Code::parse(" 123 456 "), Some(Code::Totp("123456".into())));
        assert_eq!(Code::parse("123-456"), Some(Code::Totp("123456".into())));
        assert_eq!(Code::parse("abcd-efgh-jkmn"), Some(Code::Recovery("abcdefghjkmn".into())));
        assert_eq!(Code::parse("ABCD EFGH JKMN"), Some(Code::Recovery("abcdefghjkmn".into())));
        assert_eq!(Code::parse("12345"), None);
        assert_eq!(Code::parse("1234567"), None);
        // Look-alikes are not in the alphabet: a typed `o` or `1` is not a recovery code.
        assert_eq!(Code::parse("abcd-efgh-jkmo"), None);
        assert_eq!(Code::parse(""), None);
    }

    #[test]
    fn recovery_codes_are_typeable_and_random() {
        let a = new_recovery_code();
        let b = new_recovery_code();
        assert_eq!(a.len(), RECOVERY_LEN + 2);
        assert_ne!(a, b);
        assert!(matches!(Code::parse(&a), Some(Code::Recovery(_))));
    }

    #[test]
    fn a_code_matches_its_step_and_one_either_side() {
        let secret = vec![7u8; SECRET_BYTES];
        let encoded = totp_rs::Secret::from(secret.clone()).to_base32();
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let code = code_at(&encoded, at).unwrap();
        let step = 1_800_000_000 / 30;
        assert_eq!(matched_step(secret.clone(), &code, at).unwrap(), Some(step));
        assert_eq!(matched_step(secret.clone(), &code, at + chrono::TimeDelta::seconds(30)).unwrap(), Some(step));
        assert_eq!(matched_step(secret.clone(), &code, at - chrono::TimeDelta::seconds(30)).unwrap(), Some(step));
        assert_eq!(matched_step(secret.clone(), &code, at + chrono::TimeDelta::seconds(90)).unwrap(), None);
        // RFC 6238 appendix B, SHA-1, T = 59: 94287082 (8 digits); the 6-digit code is its tail.
        let rfc = totp_rs::Secret::from(b"12345678901234567890".to_vec()).to_base32();
        assert_eq!(code_at(&rfc, DateTime::from_timestamp(59, 0).unwrap()).unwrap(), "287082");
    }

    #[test]
    fn the_qr_code_is_an_svg_with_modules() {
        let svg = qr_svg("otpauth://totp/Kilele:a%40b.test?secret=ABC&issuer=Kilele").unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.matches('M').count() > 100, "{svg}");
        assert!(svg.contains("v1h-7z"), "a finder pattern's row of seven is one run: {svg}");
    }
}
