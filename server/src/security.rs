//! Headers every response carries, and the caching rules: hashed static files are cached for
//! a year (a repeat visit on 3G downloads only the HTML), everything dynamic is `no-store`
//! (pages show national ids and medical notes; a shared phone's back button must not).

use crate::config::Config;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()";
const HSTS: &str = "max-age=63072000; includeSubDomains";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";
const FAVICON: &str = "public, max-age=604800";

/// Security headers for every response. A page's own CSP (with its script nonce, set while it
/// renders) is kept; everything else gets the base policy.
pub async fn headers(State(config): State<Arc<Config>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let static_file = path.starts_with("/pkg/");
    let mut resp = next.run(req).await;
    let success = resp.status().is_success();
    let h = resp.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(app::security::BASE_CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Invitation and reset tokens must never leak to another site through the Referer. Not
    // `no-referrer`: a server function posted as a plain form (no JavaScript) returns to the
    // page named by its same-origin Referer. A page may set a stricter policy of its own.
    h.entry(header::REFERRER_POLICY).or_insert(HeaderValue::from_static("same-origin"));
    h.insert(HeaderName::from_static("permissions-policy"), HeaderValue::from_static(PERMISSIONS_POLICY));
    h.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    if config.is_https() {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    if path == "/favicon.ico" && success {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(FAVICON));
    } else if !static_file {
        h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    }
    resp
}

/// `kilele.<16 hex>.wasm` and the like: content-addressed, so they never change.
pub fn is_hashed_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let name = name.strip_suffix(".br").or_else(|| name.strip_suffix(".gz")).unwrap_or(name);
    let mut parts = name.rsplit('.');
    let (Some(_ext), Some(hash), Some(stem)) = (parts.next(), parts.next(), parts.next()) else { return false };
    !stem.is_empty() && hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Cache headers for `/pkg/*` (the islands' JS, WASM and the stylesheet).
pub async fn static_cache(req: Request, next: Next) -> Response {
    let hashed = is_hashed_name(req.uri().path());
    let mut resp = next.run(req).await;
    if resp.status().is_success() || resp.status() == axum::http::StatusCode::NOT_MODIFIED {
        let value = if hashed { IMMUTABLE } else { REVALIDATE };
        resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    resp
}

/// Compares two secrets in time independent of where they differ.
pub fn secrets_match(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(given.as_bytes()), Sha256::digest(expected.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_content_hashed_names_are_immutable() {
        assert!(is_hashed_name("/pkg/kilele.0123456789abcdef.wasm"));
        assert!(is_hashed_name("/pkg/kilele.0123456789abcdef.js.br"));
        assert!(!is_hashed_name("/pkg/kilele.js"));
        assert!(!is_hashed_name("/pkg/kilele_bg.wasm"));
        assert!(!is_hashed_name("/pkg/snippets/x/inline0.js"));
        assert!(!is_hashed_name("/pkg/.0123456789abcdef.js"));
    }

    #[test]
    fn secrets_compare_by_value() {
        assert!(secrets_match("token-123", "token-123"));
        assert!(!secrets_match("token-124", "token-123"));
        assert!(!secrets_match("", "token-123"));
    }
}
