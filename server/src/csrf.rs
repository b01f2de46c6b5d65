//! Cross-site request forgery protection for every state-changing request, server
//! functions included.
//!
//! Browsers say where a request comes from: `Sec-Fetch-Site` (all current browsers) and
//! `Origin` (on every POST). A state-changing request is accepted only when the browser says
//! it came from our own origin. A request that carries neither header is refused as well: it
//! is not from a current browser, and cookie-authenticated clients must be browsers (the
//! future /api/v1 uses bearer tokens and no cookies). Together with SameSite=Lax cookies
//! this closes CSRF without per-form tokens, so pages stay cacheable and work without JS.

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// Paths authenticated by something other than cookies (provider signatures).
fn is_exempt(path: &str) -> bool {
    path.starts_with("/api/v1/webhooks/")
}

/// `https://host:port` → `host:port`.
fn origin_authority(origin: &str) -> Option<&str> {
    let rest = origin.split_once("://")?.1;
    Some(rest.trim_end_matches('/'))
}

pub fn verdict(method: &Method, path: &str, headers: &HeaderMap) -> Result<(), &'static str> {
    if is_safe(method) || is_exempt(path) {
        return Ok(());
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return match site {
            "same-origin" | "none" => Ok(()),
            _ => Err("cross-site request"),
        };
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => match (origin_authority(origin), host) {
            (Some(a), Some(h)) if a.eq_ignore_ascii_case(h) => Ok(()),
            _ => Err("origin does not match host"),
        },
        None => Err("no origin information"),
    }
}

pub async fn protect(req: Request, next: Next) -> Response {
    match verdict(req.method(), req.uri().path(), req.headers()) {
        Ok(()) => next.run(req).await,
        Err(why) => {
            tracing::warn!(reason = why, path = %req.uri().path(), "csrf: refused");
            crate::pages::message(StatusCode::FORBIDDEN, crate::pages::language_of(req.headers()), "error-csrf", ("/", "go-home"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn reads_pass_writes_need_same_origin() {
        assert!(verdict(&Method::GET, "/admin", &headers(&[])).is_ok());
        assert!(verdict(&Method::POST, "/login", &headers(&[])).is_err());
        assert!(verdict(&Method::POST, "/login", &headers(&[("sec-fetch-site", "same-origin")])).is_ok());
        assert!(verdict(&Method::POST, "/login", &headers(&[("sec-fetch-site", "cross-site")])).is_err());
        assert!(verdict(&Method::POST, "/login", &headers(&[("sec-fetch-site", "same-site")])).is_err());
        let same = headers(&[("host", "school.kilele.test:3000"), ("origin", "http://school.kilele.test:3000")]);
        assert!(verdict(&Method::POST, "/api/x", &same).is_ok());
        let evil = headers(&[("host", "school.kilele.test"), ("origin", "https://evil.example")]);
        assert!(verdict(&Method::POST, "/api/x", &evil).is_err());
        let null = headers(&[("host", "school.kilele.test"), ("origin", "null")]);
        assert!(verdict(&Method::POST, "/logout", &null).is_err());
        assert!(verdict(&Method::POST, "/api/v1/webhooks/mpesa/kilimanjaro-hills", &headers(&[])).is_ok());
        assert!(verdict(&Method::POST, "/webhooks/mpesa", &headers(&[])).is_err(), "only the versioned webhook paths");
    }
}
