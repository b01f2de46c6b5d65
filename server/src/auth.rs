//! Sessions and the request context: session → tenant → principal → language, resolved once
//! per request; sign-in, sign-out and the language switch.

use crate::state::AppState;
use app::ctx::{FormErrorFlash, LoginFlash, Notice, NoticeSlot, RequestCtx};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Utc};
use kilele::audit::{self, Actor};
use kilele::identity::cache::Key;
use kilele::identity::store::{self as users, SignInError, SignedIn};
use kilele::identity::{Portal, Principal};
use kilele::tenancy::{self, store as tenants, Tenant, TenantId, TenantSlug};
use kilele::Language;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

const AUTH_KEY: &str = "auth";
const FLASH_KEY: &str = "login_flash";
/// How stale `last_seen_at` may get before a request writes the session again.
const SESSION_TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
const NOTICE_KEY: &str = "notice";
const FORM_ERROR_KEY: &str = "form_error";
pub use crate::pages::LANG_COOKIE;
use crate::pages::{self, accept_language, cookie, language_of};

/// What the session remembers about who signed in. Roles and permissions are *not* kept
/// here: they are read from the database on every request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: Uuid,
    /// `None` for platform staff. A session is bound to exactly one school.
    pub tenant_id: Option<Uuid>,
    pub signed_in_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The person's `sessions_valid_from` when this session was signed in: when it has
    /// changed since (a new password, a second factor reset), the session is over.
    #[serde(default)]
    pub epoch: Option<DateTime<Utc>>,
}

fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/") || matches!(path, "/healthz" | "/readyz" | "/metrics" | "/favicon.ico")
}

fn host(headers: &HeaderMap) -> &str {
    headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Resolves the request context and enforces portal access. Runs for every page, server
/// function and form post.
pub async fn context(State(st): State<AppState>, session: Session, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if is_static(&path) {
        return next.run(req).await;
    }
    let headers = req.headers().clone();
    // The school the host names (with subdomains). A signed-in request reads its school
    // together with its principal (one round trip) and compares the names; only requests
    // without a principal look the host's school up on its own.
    let host_slug = st.config.base_domain.as_deref().and_then(|base| tenancy::slug_from_host(host(&headers), base));
    let mut host_tenant: Option<Tenant> = None;
    let now = st.deps.clock.now();
    let cookie_lang = cookie(&headers, LANG_COOKIE).and_then(Language::parse);
    let early_lang = cookie_lang.or_else(|| accept_language(&headers)).unwrap_or_default();
    let other_school = || {
        // Bound to another school (or the platform): refuse, and keep the other school's
        // session untouched.
        tracing::warn!(host = host(&headers), "session presented for another school");
        pages::message(StatusCode::FORBIDDEN, early_lang, "error-session-other-school", ("/login", "sign-in"))
    };

    let mut principal: Option<Principal> = None;
    let mut tenant: Option<Tenant> = None;
    let mut session_ended = false;
    let auth: Option<SessionAuth> = session.get(AUTH_KEY).await.ok().flatten();
    if let Some(mut auth) = auth {
        let expired = now - auth.signed_in_at > st.config.session_absolute || now - auth.last_seen_at > st.config.session_idle;
        if expired {
            let _ = session.flush().await;
            session_ended = true;
        } else if host_slug.is_some() && auth.tenant_id.is_none() {
            return other_school();
        } else {
            match load_principal(&st, &auth).await {
                Ok(Some((p, _))) if p.sessions_valid_from != auth.epoch => {
                    // Signed in before the password changed or the second factor was reset.
                    let _ = session.flush().await;
                    session_ended = true;
                }
                Ok(Some((p, t))) => {
                    if let Some(slug) = &host_slug {
                        if t.as_ref().map(|t| &t.slug) != Some(slug) {
                            return other_school();
                        }
                        host_tenant = t.clone();
                    }
                    principal = Some(p);
                    tenant = t;
                    // Touch the session at most once a minute: a Redis write per request
                    // buys nothing for a 30-minute idle timeout.
                    if now - auth.last_seen_at >= SESSION_TOUCH_EVERY {
                        auth.last_seen_at = now;
                        if session.insert(AUTH_KEY, &auth).await.is_err() {
                            return pages::internal(early_lang, "session store unavailable");
                        }
                    }
                }
                Ok(None) => {
                    // Account gone, deactivated, or its school suspended.
                    let _ = session.flush().await;
                    session_ended = true;
                }
                Err(e) => return pages::internal(early_lang, e),
            }
        }
    }
    if let (Some(slug), None) = (&host_slug, &host_tenant) {
        match tenants::find_by_slug(&st.deps.pool, slug).await {
            Ok(Some(t)) => {
                host_tenant = Some(t.clone());
                tenant = Some(t);
            }
            Ok(None) => return pages::message(StatusCode::NOT_FOUND, early_lang, "error-unknown-school", ("/", "go-home")),
            Err(e) => return pages::internal(early_lang, e),
        }
    }
    let fallback_lang = cookie_lang.or(host_tenant.as_ref().map(|t| t.default_language)).unwrap_or(early_lang);

    let features = tenant.as_ref().map(|t| t.features.clone()).unwrap_or_default();
    let lang = principal
        .as_ref()
        .and_then(|p| p.language)
        .or(cookie_lang)
        .or(tenant.as_ref().map(|t| t.default_language))
        .unwrap_or(fallback_lang);
    let portals = principal.as_ref().map(|p| p.portals(&features)).unwrap_or_default();

    // Portal pages need a signed-in user allowed into that portal.
    if let Some(portal) = Portal::for_path(&path) {
        match &principal {
            None => {
                if session_ended {
                    let _ = session.insert(FLASH_KEY, LoginFlash { error: "error-session-expired".into(), ..Default::default() }).await;
                }
                return see_other("/login");
            }
            Some(p) if !p.may_open(portal, &features) => {
                let home = p.landing(&features).map(|l| (l.path(), "go-home")).unwrap_or(("/login", "sign-in"));
                return pages::message(StatusCode::FORBIDDEN, lang, "error-forbidden", home);
            }
            Some(_) => {}
        }
    }
    if path == "/no-portal" && principal.is_none() {
        return see_other("/login");
    }

    // A second factor that is required and overdue: nothing but setting it up.
    if let Some(p) = principal.as_ref().filter(|p| p.second_factor.missing(now)) {
        if !open_while_setting_up(&path) {
            tracing::debug!(user = %p.user_id, "second factor overdue");
            return if req.method() == axum::http::Method::GET {
                see_other(TWO_FACTOR_PATH)
            } else {
                pages::message(StatusCode::FORBIDDEN, lang, "error-two-factor-overdue", (TWO_FACTOR_PATH, "two-factor-set-up"))
            };
        }
    }

    let login_flash = if (path == "/login" || path == CODE_PATH) && req.method() == axum::http::Method::GET {
        session.remove::<LoginFlash>(FLASH_KEY).await.ok().flatten()
    } else {
        None
    };

    // One-time items left for this page: a notice (an invitation link) and a refused form
    // post (a server function's, see `take_form_error`, or a plain handler's, see
    // `flash_form_error`). Shown once, on a GET of the page they were left for.
    let is_get = req.method() == axum::http::Method::GET;
    let notice = if is_get { take_once::<Notice>(&session, NOTICE_KEY, &path, |n| &n.path).await } else { None };
    let flashed_error =
        if is_get { take_once::<FormErrorFlash>(&session, FORM_ERROR_KEY, &path, |f| &f.path).await.map(|f| f.error) } else { None };
    let notice_slot = NoticeSlot::default();
    req.extensions_mut().insert(notice_slot.clone());

    let form_error = flashed_error;
    let origin =
        st.config.public_url.clone().map(|u| u.trim_end_matches('/').to_owned()).unwrap_or_else(|| format!("http://{}", host(&headers)));
    let two_factor_due = principal.as_ref().and_then(|p| p.second_factor.due(now));
    let cached_as = principal.as_ref().map(|p| Key { school: p.tenant_id, user: p.user_id });
    req.extensions_mut().insert(RequestCtx {
        origin,
        form_error,
        principal,
        tenant_from_host: host_tenant.is_some(),
        tenant,
        lang,
        portals,
        path: path.clone(),
        login_flash,
        notice,
        two_factor_due,
    });
    let changes = !matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD);
    let mut resp = next.run(req).await;
    if let (true, Some(key)) = (changes, cached_as) {
        // What this person just changed (their language, their own roles) shows on their next
        // page even if it arrives before the change's notification.
        st.deps.principals.forget_key(key);
    }
    if let Some(flash) = take_form_error(&mut resp) {
        if let Err(e) = session.insert(FORM_ERROR_KEY, &flash).await {
            return pages::internal(lang, e);
        }
    }
    if let Some(n) = notice_slot.take() {
        if let Err(e) = session.insert(NOTICE_KEY, &n).await {
            return pages::internal(lang, e);
        }
    }
    resp
}

/// The session item under `key` when it was left for `path`; removed once taken.
async fn take_once<T: serde::de::DeserializeOwned>(session: &Session, key: &str, path: &str, for_path: fn(&T) -> &str) -> Option<T> {
    let item = session.get::<T>(key).await.ok().flatten()?;
    if for_path(&item) != path {
        return None;
    }
    let _ = session.remove_value(key).await;
    Some(item)
}

/// Refuses a plain form post (a file upload): the error is kept in the session and shown once
/// by the page at `back`, which the browser is sent to. The URL carries no error.
pub async fn flash_form_error(session: Option<&Session>, back: &str, error: app::errors::AppError) -> Response {
    if let Some(session) = session {
        if let Err(e) = session.insert(FORM_ERROR_KEY, FormErrorFlash { path: back.to_owned(), error }).await {
            tracing::warn!(error = %e, "form error not kept");
        }
    }
    see_other(back)
}

/// A server function posted as a plain HTML form redirects back with its error in the URL
/// (`__err=<base64 JSON>` next to `__path`, the framework's convention). Errors reach pages
/// one way only, so take it out: the error is returned for the session (shown once by the
/// page the browser goes back to) and the redirect keeps its other query parameters.
fn take_form_error(resp: &mut Response) -> Option<FormErrorFlash> {
    if !resp.status().is_redirection() {
        return None;
    }
    let location = resp.headers().get(header::LOCATION)?.to_str().ok()?.to_owned();
    let (target, query) = location.split_once('?')?;
    let mut encoded = None;
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    let mut any_kept = false;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "__err" => encoded = Some(v.into_owned()),
            "__path" => {}
            _ => {
                kept.append_pair(&k, &v);
                any_kept = true;
            }
        }
    }
    let encoded = encoded?;
    let error = decode_form_error(&encoded).unwrap_or(app::errors::AppError::Internal);
    let clean = if any_kept { format!("{target}?{}", kept.finish()) } else { target.to_owned() };
    let value = HeaderValue::from_str(&clean).ok()?;
    resp.headers_mut().insert(header::LOCATION, value);
    // The middleware compares paths: a full URL (`http://host/admin/calendar`) keeps its path.
    let path = match url::Url::parse(target) {
        Ok(u) => u.path().to_owned(),
        Err(_) => target.to_owned(),
    };
    Some(FormErrorFlash { path, error })
}

fn decode_form_error(encoded: &str) -> Option<app::errors::AppError> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE.decode(encoded.as_bytes()).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The signed-in user and their school, fresh from the database (one round trip for a
/// school user); `None` when the account is gone or deactivated or the school suspended.
///
/// Kept between requests in `app::Deps::principals` while its change listener runs (see
/// `kilele::identity::cache`); a refusal (`None`) is never kept.
async fn load_principal(st: &AppState, auth: &SessionAuth) -> Result<Option<(Principal, Option<Tenant>)>, sqlx::Error> {
    let key = Key { school: auth.tenant_id.map(TenantId), user: auth.user_id };
    if let Some(found) = st.deps.principals.get(key) {
        return Ok(Some(found));
    }
    let ticket = st.deps.principals.ticket();
    let found = read_principal(st, auth).await?;
    if let Some(value) = &found {
        st.deps.principals.keep(ticket, key, value.clone());
    }
    Ok(found)
}

async fn read_principal(st: &AppState, auth: &SessionAuth) -> Result<Option<(Principal, Option<Tenant>)>, sqlx::Error> {
    match auth.tenant_id {
        None => Ok(users::load_platform_principal(&st.deps.pool, auth.user_id).await?.map(|p| (p, None))),
        Some(tid) => match users::school_and_principal(&st.deps.pool, TenantId(tid), auth.user_id).await? {
            Some((tenant, Some(p))) if tenant.can_sign_in() => Ok(Some((p, Some(tenant)))),
            _ => Ok(None),
        },
    }
}

/// `GET /`: to the user's portal, or to sign in.
pub async fn home(req: Request) -> Response {
    let ctx = req.extensions().get::<RequestCtx>().cloned().unwrap_or_default();
    match (&ctx.principal, ctx.portals.first()) {
        (None, _) => see_other("/login"),
        (Some(_), Some(p)) => see_other(p.path()),
        (Some(_), None) => see_other("/no-portal"),
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub school_code: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
}

/// `POST /login`. On success the session id is cycled (no fixation) and the user lands on
/// their portal; on any refusal they come back to the form with what they typed. When too
/// many password checks are already running, 503 with `Retry-After` and a "try again in a
/// moment" page (what they typed is kept for the form).
pub async fn login(State(st): State<AppState>, session: Session, req: Request) -> Response {
    let headers = req.headers().clone();
    let client = crate::limits::client_of(&headers, req.extensions(), st.sign_in.trust_proxy_headers)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into());
    let lang = req.extensions().get::<RequestCtx>().map(|c| c.lang).unwrap_or_else(|| language_of(&headers));
    // The host's school, as the request context found it (an unknown school's host never
    // gets here: the context answers 404).
    let host_tenant = req.extensions().get::<RequestCtx>().filter(|c| c.tenant_from_host).and_then(|c| c.tenant.clone());
    let Form(form) = match Form::<LoginForm>::from_request(req, &st).await {
        Ok(f) => f,
        Err(_) => return pages::message(StatusCode::BAD_REQUEST, lang, "error-login-invalid", ("/login", "sign-in")),
    };
    let clock = st.deps.clock.clone();
    let verifier = &st.sign_in.verifier;
    let attempt = users::Attempt { email: &form.email, password: &form.password, client: &client };
    let school_code = form.school_code.trim().to_owned();
    let outcome: Result<(SignedIn, Option<Tenant>), SignInError> = if let Some(tenant) = host_tenant {
        users::sign_in_school(&st.deps.pool, clock.as_ref(), verifier, &tenant, attempt).await.map(|p| (p, Some(tenant)))
    } else if school_code.is_empty() {
        users::sign_in_platform(&st.deps.pool, clock.as_ref(), verifier, attempt).await.map(|p| (p, None))
    } else {
        // The school lookup takes a sign-in database turn too, so a flood of sign-ins
        // never queues ahead of pages for connections.
        let found = match (TenantSlug::parse(&school_code), verifier.db_turn().await) {
            (Err(_), _) => Ok(None),
            (Ok(_), Err(_)) => Err(SignInError::Busy),
            (Ok(slug), Ok(_turn)) => tenants::find_by_slug(&st.deps.pool, &slug).await.map_err(SignInError::Database),
        };
        match found {
            Ok(Some(tenant)) => {
                users::sign_in_school(&st.deps.pool, clock.as_ref(), verifier, &tenant, attempt).await.map(|p| (p, Some(tenant)))
            }
            Ok(None) => unknown_school(verifier, &form.password).await,
            Err(e) => Err(e),
        }
    };
    match outcome {
        Ok((SignedIn::Done(principal), tenant)) => signed_in(&st, &session, lang, principal, tenant).await,
        Ok((SignedIn::NeedsCode { user_id, email }, tenant)) => {
            // Not signed in yet: the session only remembers whose code is awaited, for a few
            // minutes. Its id is cycled now (a session id planted before the password cannot
            // try codes) and again when the code passes.
            if let Err(e) = session.cycle_id().await {
                return pages::internal(lang, e);
            }
            let pending =
                PendingCode { user_id, tenant_id: tenant.map(|t| t.id.0), email: email.as_str().to_owned(), at: clock.now(), wrong: 0 };
            if let Err(e) = session.insert(PENDING_CODE_KEY, &pending).await {
                return pages::internal(lang, e);
            }
            see_other(CODE_PATH)
        }
        Err(err) => {
            let error = sign_in_error_key(&err);
            let busy = matches!(err, SignInError::Busy);
            // When busy the page says so itself; the flash only keeps what was typed.
            let flash =
                LoginFlash { school_code, email: form.email.trim().to_owned(), error: if busy { String::new() } else { error.into() } };
            if let Err(e) = session.insert(FLASH_KEY, &flash).await {
                return pages::internal(lang, e);
            }
            if busy {
                tracing::warn!("sign-in refused: password checks saturated");
                return crate::limits::try_again(StatusCode::SERVICE_UNAVAILABLE, lang, std::time::Duration::from_secs(2));
            }
            see_other("/login")
        }
    }
}

/// The message a refused sign-in (password or code) shows.
fn sign_in_error_key(err: &SignInError) -> &'static str {
    match err {
        SignInError::Invalid => "error-login-invalid",
        SignInError::Throttled(_) => "error-login-throttled",
        SignInError::SchoolSuspended => "error-login-suspended",
        SignInError::Busy => "error-login-busy",
        SignInError::Database(e) => {
            tracing::error!(error = %e, "sign-in failed");
            "error-internal"
        }
        SignInError::Domain(e) => {
            tracing::error!(error = %e, "sign-in failed");
            "error-internal"
        }
    }
}

/// Signs the session in (a new session id: no fixation) and sends the person to their
/// portal, or to set up a second factor when theirs is overdue.
async fn signed_in(st: &AppState, session: &Session, lang: Language, principal: Principal, tenant: Option<Tenant>) -> Response {
    if let Err(e) = session.cycle_id().await {
        return pages::internal(lang, e);
    }
    let _ = session.remove_value(PENDING_CODE_KEY).await;
    let now = st.deps.clock.now();
    let auth = SessionAuth {
        user_id: principal.user_id,
        tenant_id: principal.tenant_id.map(|t| t.0),
        signed_in_at: now,
        last_seen_at: now,
        epoch: principal.sessions_valid_from,
    };
    if let Err(e) = session.insert(AUTH_KEY, &auth).await {
        return pages::internal(lang, e);
    }
    if principal.second_factor.missing(now) {
        return see_other(TWO_FACTOR_PATH);
    }
    let features = tenant.map(|t| t.features).unwrap_or_default();
    see_other(principal.landing(&features).map(|p| p.path()).unwrap_or("/no-portal"))
}

/// The page that asks for the code after a right password.
pub const CODE_PATH: &str = "/login/code";
/// Where people set up, and manage, their second factor.
pub const TWO_FACTOR_PATH: &str = "/account/two-factor";
/// How long a right password waits for its code.
const CODE_WAITS: chrono::TimeDelta = chrono::TimeDelta::minutes(5);
const PENDING_CODE_KEY: &str = "pending_code";

/// A sign-in waiting for its code: who, and since when.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingCode {
    user_id: Uuid,
    tenant_id: Option<Uuid>,
    email: String,
    at: DateTime<Utc>,
    /// Wrong codes so far: after [`WRONG_CODES_PER_PASSWORD`] the password is asked again.
    wrong: u8,
}

/// Wrong codes one right password buys before it must be typed again (each password try is
/// counted and slowed too).
const WRONG_CODES_PER_PASSWORD: u8 = 5;

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub code: String,
}

/// `POST /login/code`: the second step of a sign-in, with the code from the app or a
/// recovery code. Wrong codes back off like wrong passwords; after five minutes, or from
/// another school's host, the person starts again at the password.
pub async fn login_code(State(st): State<AppState>, session: Session, req: Request) -> Response {
    let headers = req.headers().clone();
    let client = crate::limits::client_of(&headers, req.extensions(), st.sign_in.trust_proxy_headers)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into());
    let ctx = req.extensions().get::<RequestCtx>().cloned();
    let lang = ctx.as_ref().map(|c| c.lang).unwrap_or_else(|| language_of(&headers));
    let host_tenant = ctx.as_ref().filter(|c| c.tenant_from_host).and_then(|c| c.tenant.clone());
    let Form(form) = match Form::<CodeForm>::from_request(req, &st).await {
        Ok(f) => f,
        Err(_) => return pages::message(StatusCode::BAD_REQUEST, lang, "error-code-invalid", (CODE_PATH, "sign-in")),
    };
    let now = st.deps.clock.now();
    let pending: Option<PendingCode> = session.get(PENDING_CODE_KEY).await.ok().flatten();
    let Some(mut pending) = pending.filter(|p| now - p.at <= CODE_WAITS) else {
        return start_again(&session, "error-code-expired").await;
    };
    let Ok(email) = kilele::identity::Email::parse(&pending.email) else {
        return start_again(&session, "error-code-expired").await;
    };
    let attempt = users::CodeAttempt { user_id: pending.user_id, email: &email, code: &form.code, client: &client };
    let (pool, clock, pii, verifier) = (&st.deps.pool, st.deps.clock.as_ref(), st.deps.pii.as_ref(), &st.sign_in.verifier);
    let outcome = match pending.tenant_id {
        None if host_tenant.is_none() => users::second_step_platform(pool, clock, pii, verifier, attempt).await.map(|(p, v)| (p, v, None)),
        Some(school) if host_tenant.as_ref().is_none_or(|t| t.id.0 == school) => {
            let tenant = match tenants::find_by_id(pool, TenantId(school)).await {
                Ok(Some(t)) => t,
                Ok(None) => return start_again(&session, "error-code-expired").await,
                Err(e) => return pages::internal(lang, e),
            };
            users::second_step_school(pool, clock, pii, verifier, &tenant, attempt).await.map(|(p, v)| (p, v, Some(tenant)))
        }
        // A code typed on another school's host than the password: start again there.
        _ => return start_again(&session, "error-code-expired").await,
    };
    match outcome {
        Ok((principal, verified, tenant)) => {
            let _ = session.remove_value(PENDING_CODE_KEY).await;
            if let kilele::identity::two_factor::Verified::Recovery { left } = verified {
                tracing::info!(left, "signed in with a recovery code");
            }
            signed_in(&st, &session, lang, principal, tenant).await
        }
        Err(SignInError::Busy) => crate::limits::try_again(StatusCode::SERVICE_UNAVAILABLE, lang, std::time::Duration::from_secs(2)),
        Err(SignInError::SchoolSuspended) => start_again(&session, "error-login-suspended").await,
        Err(SignInError::Invalid) => {
            pending.wrong = pending.wrong.saturating_add(1);
            if pending.wrong >= WRONG_CODES_PER_PASSWORD {
                return start_again(&session, "error-code-invalid").await;
            }
            let kept = session.insert(PENDING_CODE_KEY, &pending).await;
            let flashed = session.insert(FLASH_KEY, LoginFlash { error: "error-code-invalid".into(), ..Default::default() }).await;
            if let Err(e) = kept.and(flashed) {
                return pages::internal(lang, e);
            }
            see_other(CODE_PATH)
        }
        Err(err) => {
            if let Err(e) = session.insert(FLASH_KEY, LoginFlash { error: sign_in_error_key(&err).into(), ..Default::default() }).await {
                return pages::internal(lang, e);
            }
            see_other(CODE_PATH)
        }
    }
}

/// Forgets the awaited code and sends the person back to the password, saying why.
async fn start_again(session: &Session, error: &'static str) -> Response {
    let _ = session.remove_value(PENDING_CODE_KEY).await;
    let _ = session.insert(FLASH_KEY, LoginFlash { error: error.into(), ..Default::default() }).await;
    see_other("/login")
}

/// What someone whose second factor is overdue may still open: the set-up page and its
/// server functions, sign-out, the language switch.
fn open_while_setting_up(path: &str) -> bool {
    path == TWO_FACTOR_PATH || path.starts_with("/api/account/two-factor") || matches!(path, "/logout" | "/language" | PASSWORD_PATH)
}

/// Where a signed-in person changes their password.
pub const PASSWORD_PATH: &str = "/account/password";

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub current_password: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub new_password: String,
    #[serde(default)]
    pub new_password_again: String,
}

/// `POST /account/password`: a new password, after the current one and (with a second
/// factor) a code. Every other session of the person ends; this one goes on under a new id.
/// Refusals come back to the security page as field errors (never in the URL).
pub async fn change_password(State(st): State<AppState>, session: Session, req: Request) -> Response {
    use app::errors::AppError;
    use kilele::identity::two_factor::Holder;
    let Some(ctx) = req.extensions().get::<RequestCtx>().cloned() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Some(me) = ctx.principal.clone() else {
        return see_other("/login");
    };
    let lang = ctx.lang;
    let notices = req.extensions().get::<NoticeSlot>().cloned();
    let back = TWO_FACTOR_PATH;
    let refuse = |field: &str, message: &str| AppError::Invalid { field: field.into(), message: message.into() };
    let Form(form) = match Form::<PasswordForm>::from_request(req, &st).await {
        Ok(f) => f,
        Err(_) => return flash_form_error(Some(&session), back, refuse("new_password", "error-password-too-short")).await,
    };
    if let Err(e) = kilele::identity::check_new_password(&form.new_password) {
        return flash_form_error(Some(&session), back, refuse("new_password", &e.message)).await;
    }
    if form.new_password != form.new_password_again {
        return flash_form_error(Some(&session), back, refuse("new_password_again", "error-passwords-differ")).await;
    }
    let Ok(email) = kilele::identity::Email::parse(&me.email) else {
        return pages::internal(lang, "a principal without a valid email");
    };
    let holder = match me.tenant_id {
        Some(school) => Holder::School(school, me.user_id),
        None => Holder::Platform(me.user_id),
    };
    let (pool, clock, pii, verifier) = (&st.deps.pool, st.deps.clock.as_ref(), st.deps.pii.as_ref(), &st.deps.verifier);
    let proof = users::Proof { holder, email: &email, password: &form.current_password, code: &form.code, client: users::REAUTH_CLIENT };
    match users::reauthenticate(pool, clock, pii, verifier, proof).await {
        Ok(()) => {}
        Err(SignInError::Invalid) => {
            return flash_form_error(Some(&session), back, refuse("current_password", "error-reauth-invalid")).await
        }
        Err(SignInError::Throttled(_)) => {
            return flash_form_error(Some(&session), back, refuse("current_password", "error-login-throttled")).await
        }
        Err(SignInError::Busy) => {
            return crate::limits::try_again(StatusCode::SERVICE_UNAVAILABLE, lang, std::time::Duration::from_secs(2))
        }
        Err(e) => return pages::internal(lang, e),
    }
    let new_password = form.new_password.clone();
    let hash = match tokio::task::spawn_blocking(move || kilele::identity::password::hash(&new_password)).await {
        Ok(Ok(hash)) => hash,
        Ok(Err(e)) => return pages::internal(lang, e),
        Err(e) => return pages::internal(lang, e),
    };
    let now = clock.now();
    if let Err(e) = users::change_password(pool, holder, &email, &hash, now).await {
        return pages::internal(lang, e);
    }
    st.deps.principals.forget(&me.tenant_id.map(|t| t.0.to_string()).unwrap_or_else(|| "platform".into()));
    // This session goes on as a fresh sign-in (a new id, signed in now); the others end.
    if let Err(e) = session.cycle_id().await {
        return pages::internal(lang, e);
    }
    let epoch = Some(kilele::audit::normalise_time(now));
    let auth = SessionAuth { user_id: me.user_id, tenant_id: me.tenant_id.map(|t| t.0), signed_in_at: now, last_seen_at: now, epoch };
    if let Err(e) = session.insert(AUTH_KEY, &auth).await {
        return pages::internal(lang, e);
    }
    if let Some(slot) = notices {
        if let Ok(mut n) = slot.0.lock() {
            *n = Some(Notice { path: back.to_owned(), kind: Notice::PASSWORD_CHANGED.to_owned(), link: None });
        }
    }
    see_other(back)
}

/// An unknown school gets the same answer, after the same work, as a wrong password.
async fn unknown_school(
    verifier: &kilele::identity::password::Verifier,
    password: &str,
) -> Result<(SignedIn, Option<Tenant>), SignInError> {
    match verifier.verify(password.to_owned(), None).await {
        Ok(_) => Err(SignInError::Invalid),
        Err(_) => Err(SignInError::Busy),
    }
}

/// `POST /logout`: ends the session everywhere (the record is deleted from Redis).
pub async fn logout(State(st): State<AppState>, session: Session, req: Request) -> Response {
    let lang = req.extensions().get::<RequestCtx>().map(|c| c.lang).unwrap_or_else(|| language_of(req.headers()));
    if let Some(RequestCtx { principal: Some(p), tenant: Some(t), .. }) = req.extensions().get::<RequestCtx>() {
        if let Ok(mut tx) = kilele::db::tenant_tx(&st.deps.pool, t.id).await {
            let ok = audit::append(
                &mut tx,
                st.deps.clock.now(),
                &Actor::user(p.user_id, &p.email),
                kilele::audit::actions::LOGOUT,
                &p.email,
                serde_json::json!({}),
            )
            .await
            .is_ok();
            if ok {
                let _ = tx.commit().await;
            }
        }
    }
    if let Err(e) = session.flush().await {
        return pages::internal(lang, e);
    }
    see_other("/login")
}

#[derive(Debug, Deserialize)]
pub struct LanguageForm {
    pub lang: String,
    #[serde(default)]
    pub next: String,
}

/// Only local paths: never an open redirect.
/// Only local paths: never an open redirect.
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/"
    }
}

/// `POST /language`: remembered for the signed-in user (in the database) and for this
/// browser (a cookie, so the sign-in page follows too).
pub async fn language(State(st): State<AppState>, req: Request) -> Response {
    let ctx = req.extensions().get::<RequestCtx>().cloned().unwrap_or_default();
    let Form(form) = match Form::<LanguageForm>::from_request(req, &st).await {
        Ok(f) => f,
        Err(_) => return pages::message(StatusCode::BAD_REQUEST, ctx.lang, "error-language-invalid", ("/", "go-home")),
    };
    let Some(lang) = Language::parse(&form.lang) else {
        return pages::message(StatusCode::BAD_REQUEST, ctx.lang, "error-language-invalid", ("/", "go-home"));
    };
    if let Some(p) = &ctx.principal {
        let saved = match p.tenant_id {
            None => users::set_platform_user_language(&st.deps.pool, p.user_id, lang).await,
            Some(tid) => {
                async {
                    let mut tx = kilele::db::tenant_tx(&st.deps.pool, tid).await?;
                    users::set_school_user_language(&mut tx, p.user_id, lang).await?;
                    tx.commit().await
                }
                .await
            }
        };
        if let Err(e) = saved {
            return pages::internal(ctx.lang, e);
        }
    }
    let secure = if st.config.cookie_secure() { "; Secure" } else { "" };
    let cookie = format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly{secure}", lang.code());
    let mut resp = see_other(safe_next(&form.next));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

use axum::extract::FromRequest;

/// The signed-in school user of a plain route (uploads, downloads, files) holding every
/// permission of `needs`, and their school: the plain-route twin of `app::api::scope::Scope`.
/// Refusals are ready responses: 401 without a context, to sign-in without a principal,
/// 403 otherwise.
pub fn school_user(
    ctx: Option<&RequestCtx>,
    needs: &[kilele::identity::Permission],
) -> Result<(kilele::identity::Principal, kilele::tenancy::Tenant), Box<Response>> {
    school_user_where(ctx, |me| needs.iter().all(|p| me.can(*p)))
}

/// [`school_user`] for a user holding any one of `permissions` (marks are written by their
/// teacher and by amenders); the domain then asks which one they hold.
pub fn school_user_any(
    ctx: Option<&RequestCtx>,
    permissions: &[kilele::identity::Permission],
) -> Result<(kilele::identity::Principal, kilele::tenancy::Tenant), Box<Response>> {
    school_user_where(ctx, |me| permissions.iter().any(|p| me.can(*p)))
}

fn school_user_where(
    ctx: Option<&RequestCtx>,
    allowed: impl Fn(&kilele::identity::Principal) -> bool,
) -> Result<(kilele::identity::Principal, kilele::tenancy::Tenant), Box<Response>> {
    let ctx = ctx.ok_or_else(|| Box::new(StatusCode::UNAUTHORIZED.into_response()))?;
    let me = ctx.principal.clone().ok_or_else(|| Box::new(axum::response::Redirect::to("/login").into_response()))?;
    let tenant = ctx.tenant.clone().ok_or_else(|| Box::new(StatusCode::FORBIDDEN.into_response()))?;
    if me.tenant_id != Some(tenant.id) || !allowed(&me) {
        return Err(Box::new(crate::pages::message(StatusCode::FORBIDDEN, ctx.lang, "error-forbidden", ("/", "go-home"))));
    }
    Ok((me, tenant))
}

/// A plain route's refusal, already the response to send (boxed: a response is large).
#[derive(Debug)]
pub struct Refusal(Box<Response>);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<Box<Response>> for Refusal {
    fn from(r: Box<Response>) -> Self {
        Self(r)
    }
}

impl From<Response> for Refusal {
    fn from(r: Response) -> Self {
        Self(Box::new(r))
    }
}

/// Who calls a plain route (a file, an export, a progress stream): the signed-in school user
/// with the permissions asked, their school, and the reader's language. Everything is checked
/// before any connection is taken; a handler returns `Result<Response, Refusal>` and goes
/// on with `?`.
pub struct Caller {
    pub me: kilele::identity::Principal,
    pub tenant: kilele::tenancy::Tenant,
    pub lang: kilele::Language,
}

impl Caller {
    fn of(
        req: &axum::extract::Request,
        check: impl Fn(Option<&RequestCtx>) -> Result<(kilele::identity::Principal, kilele::tenancy::Tenant), Box<Response>>,
    ) -> Result<Self, Refusal> {
        let ctx = req.extensions().get::<RequestCtx>();
        let lang = ctx.map(|c| c.lang).unwrap_or_default();
        let (me, tenant) = check(ctx)?;
        Ok(Self { me, tenant, lang })
    }

    /// A user holding every permission of `needs` (see [`school_user`]).
    pub fn holding(req: &axum::extract::Request, needs: &[kilele::identity::Permission]) -> Result<Self, Refusal> {
        Self::of(req, |ctx| school_user(ctx, needs))
    }

    /// A user holding any one of `permissions` (see [`school_user_any`]).
    pub fn holding_any(req: &axum::extract::Request, permissions: &[kilele::identity::Permission]) -> Result<Self, Refusal> {
        Self::of(req, |ctx| school_user_any(ctx, permissions))
    }

    /// Also needs the school's plan to include `feature` (403 without), like the pages.
    pub fn with_feature(self, feature: kilele::tenancy::Feature) -> Result<Self, Refusal> {
        if self.tenant.has_feature(feature) {
            Ok(self)
        } else {
            Err(StatusCode::FORBIDDEN.into_response().into())
        }
    }

    /// A domain refusal as a plain route answers it: another school's or an unknown id 404,
    /// bad input 400, a clash 409; anything else the internal-error page (logged).
    pub fn refused(&self, e: kilele::DomainError) -> Refusal {
        use kilele::DomainError as E;
        match e {
            E::NotFound => StatusCode::NOT_FOUND.into_response().into(),
            E::Invalid(_) | E::InvalidFields(_) => StatusCode::BAD_REQUEST.into_response().into(),
            E::Conflict { .. } => StatusCode::CONFLICT.into_response().into(),
            e => crate::pages::internal(self.lang, e).into(),
        }
    }

    /// Who writes the audit entry of this call, and when.
    pub fn actor(&self) -> kilele::audit::Actor {
        kilele::audit::Actor::user(self.me.user_id, &self.me.email)
    }
}

/// An id from the path: a malformed one is as unknown as another school's (404).
pub fn path_id(raw: &str) -> Result<uuid::Uuid, Refusal> {
    raw.parse().map_err(|_| StatusCode::NOT_FOUND.into_response().into())
}

/// A refused file, said on the `file` field of the page's form errors.
pub fn file_error(key: &str) -> app::errors::AppError {
    app::errors::AppError::Invalid { field: "file".into(), message: key.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_local_only() {
        assert_eq!(safe_next("/admin"), "/admin");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/\\evil"), "/");
    }
}
