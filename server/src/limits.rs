//! Sign-in protection at the edge: rate limits on `POST /login` per client address and for
//! all clients together (GCRA from the `governor` crate), and the bound on concurrent
//! password checks. Over a limit the person gets a localized "try again in a moment" with
//! `Retry-After`, never a pool timeout.

use crate::config::SignInLimits;
use crate::state::AppState;
use app::ctx::RequestCtx;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use kilele::identity::password::Verifier;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

/// Keys kept by the per-address limiter before idle ones are dropped.
const MAX_TRACKED_CLIENTS: usize = 10_000;

/// The limiters and the password-check bound, shared by all requests.
pub struct SignInGuards {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    global: Option<DefaultDirectRateLimiter>,
    pub verifier: Verifier,
    pub trust_proxy_headers: bool,
}

impl SignInGuards {
    /// `db_pool_size`: sign-ins may use at most half the pool at once, so pages always find
    /// connections during a storm.
    pub fn new(limits: &SignInLimits, db_pool_size: u32) -> Self {
        let per_ip = NonZeroU32::new(limits.per_ip_burst)
            .zip(NonZeroU32::new(limits.per_ip_per_minute))
            .map(|(burst, rate)| RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst)));
        let global = NonZeroU32::new(limits.global_burst)
            .zip(NonZeroU32::new(limits.global_per_second))
            .map(|(burst, rate)| RateLimiter::direct(Quota::per_second(rate).allow_burst(burst)));
        Self {
            per_ip,
            global,
            verifier: Verifier::new(limits.concurrency, limits.queue_wait).with_db_turns((db_pool_size as usize / 2).max(1)),
            trust_proxy_headers: limits.trust_proxy_headers,
        }
    }

    /// `Err(wait)` when this attempt is over a limit.
    fn check(&self, ip: Option<IpAddr>) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        if let (Some(limiter), Some(ip)) = (&self.per_ip, ip) {
            if limiter.len() > MAX_TRACKED_CLIENTS {
                limiter.retain_recent();
            }
            limiter.check_key(&ip).map_err(|n| n.wait_time_from(now))?;
        }
        if let Some(limiter) = &self.global {
            limiter.check().map_err(|n| n.wait_time_from(now))?;
        }
        Ok(())
    }
}

/// The client's address: the peer, or — only when a trusted proxy is declared — the
/// address that proxy appended to `X-Forwarded-For` (the rightmost entry: everything left
/// of it was written by the client and proves nothing).
pub fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, trust_proxy_headers: bool) -> Option<IpAddr> {
    if trust_proxy_headers {
        // Only the rightmost entry: if it is not an address, the header proves nothing.
        let entries: Vec<&str> =
            headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).collect();
        let forwarded = entries.last().and_then(|part| part.trim().parse::<IpAddr>().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer.map(|p| p.ip())
}

/// The client address of a request as the sign-in throttle keys it.
pub fn client_of(req_headers: &HeaderMap, extensions: &axum::http::Extensions, trust_proxy_headers: bool) -> Option<IpAddr> {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    client_ip(req_headers, peer, trust_proxy_headers)
}

/// Whole seconds to wait, at least one.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// A localized "too busy, try again in a moment" page with `status` and `Retry-After`.
pub fn try_again(status: StatusCode, lang: kilele::Language, wait: Duration) -> Response {
    with_retry_after(crate::pages::message(status, lang, "error-login-busy", ("/login", "sign-in")), wait)
}

fn with_retry_after(mut resp: Response, wait: Duration) -> Response {
    if let Ok(v) = HeaderValue::from_str(&retry_after_secs(wait).max(1).to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// Looking up a printed card's code (`/verify/<code>` and its server function) is public, so
/// it is limited per client address: enough for anyone checking cards by hand or a school
/// office checking a stack of them, far too few to walk the code space (2^50 codes).
pub struct CardLookups {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    trust_proxy_headers: bool,
}

/// Lookups per address: a burst of this many, then one every `60 / CARD_LOOKUPS_PER_MINUTE` s.
pub const CARD_LOOKUP_BURST: u32 = 20;
pub const CARD_LOOKUPS_PER_MINUTE: u32 = 30;

impl CardLookups {
    pub fn new(trust_proxy_headers: bool) -> Self {
        let quota = NonZeroU32::new(CARD_LOOKUPS_PER_MINUTE)
            .zip(NonZeroU32::new(CARD_LOOKUP_BURST))
            .map(|(rate, burst)| Quota::per_minute(rate).allow_burst(burst))
            .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN));
        Self { per_ip: RateLimiter::keyed(quota), trust_proxy_headers }
    }

    fn check(&self, ip: Option<IpAddr>) -> Result<(), Duration> {
        let Some(ip) = ip else { return Ok(()) };
        if self.per_ip.len() > MAX_TRACKED_CLIENTS {
            self.per_ip.retain_recent();
        }
        let now = DefaultClock::default().now();
        self.per_ip.check_key(&ip).map_err(|n| n.wait_time_from(now))
    }
}

/// Refused payment-webhook deliveries kept in a school's inbox, per client address: a bank
/// whose key or clock is wrong is seen (its first refusals are kept with their reasons), but an
/// anonymous flood cannot fill a school's inbox (beyond this, refusals are answered and not
/// kept). Verified deliveries are never limited: a bank may send thousands a minute.
pub struct RefusedDeliveries {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
}

/// Refusals kept per address: a burst of this many, then this many a minute.
pub const REFUSALS_KEPT_BURST: u32 = 30;
pub const REFUSALS_KEPT_PER_MINUTE: u32 = 30;

impl Default for RefusedDeliveries {
    fn default() -> Self {
        let quota = NonZeroU32::new(REFUSALS_KEPT_PER_MINUTE)
            .zip(NonZeroU32::new(REFUSALS_KEPT_BURST))
            .map(|(rate, burst)| Quota::per_minute(rate).allow_burst(burst))
            .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN));
        Self { per_ip: RateLimiter::keyed(quota) }
    }
}

impl RefusedDeliveries {
    /// Whether one more refusal from `ip` is kept.
    pub fn keep(&self, ip: Option<IpAddr>) -> bool {
        let Some(ip) = ip else { return true };
        if self.per_ip.len() > MAX_TRACKED_CLIENTS {
            self.per_ip.retain_recent();
        }
        self.per_ip.check_key(&ip.to_canonical()).is_ok()
    }
}

/// Whether a request looks a card code up: the page or its server function.
fn is_card_lookup(path: &str) -> bool {
    path.starts_with("/verify/") || path == "/api/verify/card" || path == "/api/verify/receipt"
}

/// Layer on every route: card lookups over the per-address limit get 429 with `Retry-After`.
pub async fn card_lookup_rate_limit(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if !is_card_lookup(req.uri().path()) {
        return next.run(req).await;
    }
    let ip = client_of(req.headers(), req.extensions(), st.card_lookups.trust_proxy_headers);
    if let Err(wait) = st.card_lookups.check(ip) {
        let lang = req.extensions().get::<RequestCtx>().map(|c| c.lang).unwrap_or_else(|| crate::pages::language_of(req.headers()));
        tracing::warn!(client = ?ip, wait_ms = wait.as_millis() as u64, "card lookups rate limited");
        let refused = crate::pages::message(StatusCode::TOO_MANY_REQUESTS, lang, "cards-error-too-many-lookups", ("/", "go-home"));
        return with_retry_after(refused, wait);
    }
    next.run(req).await
}

/// Route layer on `POST /login`: refuses with 429 over the per-address or global limit.
pub async fn sign_in_rate_limit(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let guards = &st.sign_in;
    let ip = client_of(req.headers(), req.extensions(), guards.trust_proxy_headers);
    if let Err(wait) = guards.check(ip) {
        let lang = req.extensions().get::<RequestCtx>().map(|c| c.lang).unwrap_or_else(|| crate::pages::language_of(req.headers()));
        tracing::warn!(client = ?ip, wait_ms = wait.as_millis() as u64, "sign-in rate limited");
        return try_again(StatusCode::TOO_MANY_REQUESTS, lang, wait);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let peer: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 41.59.1.2"));
        assert_eq!(client_ip(&h, Some(peer), false), Some("10.0.0.2".parse().unwrap()));
        assert_eq!(client_ip(&h, Some(peer), true), Some("41.59.1.2".parse().unwrap()));
        assert_eq!(client_ip(&HeaderMap::new(), Some(peer), true), Some("10.0.0.2".parse().unwrap()));
    }

    #[test]
    fn per_address_limit_refuses_after_the_burst_and_others_pass() {
        let limits = SignInLimits { per_ip_burst: 3, per_ip_per_minute: 1, global_burst: 0, ..SignInLimits::default() };
        let g = SignInGuards::new(&limits, 10);
        let a: IpAddr = "41.59.1.2".parse().unwrap();
        for _ in 0..3 {
            assert!(g.check(Some(a)).is_ok());
        }
        let wait = g.check(Some(a)).unwrap_err();
        assert!(wait > Duration::from_secs(1) && retry_after_secs(wait) <= 60, "{wait:?}");
        assert!(g.check(Some("41.59.1.3".parse().unwrap())).is_ok());
    }

    #[test]
    fn card_lookups_are_limited_per_address() {
        let g = CardLookups::new(false);
        let a: IpAddr = "41.59.1.2".parse().unwrap();
        for _ in 0..CARD_LOOKUP_BURST {
            assert!(g.check(Some(a)).is_ok());
        }
        let wait = g.check(Some(a)).unwrap_err();
        assert!(retry_after_secs(wait) >= 1 && retry_after_secs(wait) <= 60, "{wait:?}");
        assert!(g.check(Some("41.59.1.3".parse().unwrap())).is_ok());
        assert!(is_card_lookup("/verify/ABCDE-FGHJK") && is_card_lookup("/api/verify/card") && is_card_lookup("/api/verify/receipt"));
        assert!(!is_card_lookup("/verifyx") && !is_card_lookup("/admin/cards"));
    }

    #[test]
    fn global_limit_counts_everyone() {
        let limits = SignInLimits { per_ip_burst: 0, global_burst: 2, global_per_second: 1, ..SignInLimits::default() };
        let g = SignInGuards::new(&limits, 10);
        assert!(g.check(Some("1.1.1.1".parse().unwrap())).is_ok());
        assert!(g.check(Some("1.1.1.2".parse().unwrap())).is_ok());
        assert!(g.check(Some("1.1.1.3".parse().unwrap())).is_err());
    }
}
