//! What a page or server function knows about the request it serves. The server's
//! middleware resolves it once per request (session → tenant → principal → language) and
//! stores it in the request's extensions; here we read it back.

use kilele::identity::{Portal, Principal};
use kilele::tenancy::Tenant;
use kilele::Language;
use serde::{Deserialize, Serialize};

/// What the sign-in form had when it was refused, so nothing typed is lost (PRG pattern).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginFlash {
    pub school_code: String,
    pub email: String,
    /// An i18n key.
    pub error: String,
}

/// A one-time message for the page a form post lands on (an invitation link, say): kept in
/// the session, shown once on the next GET of `path`, never carried in a URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The page that shows it.
    pub path: String,
    /// What it is: `invite-link`, `portal-pending` or `portal-open`.
    pub kind: String,
    /// The link to hand on, for `invite-link`.
    pub link: Option<String>,
}

impl Notice {
    pub const INVITE_LINK: &'static str = "invite-link";
    pub const PORTAL_PENDING: &'static str = "portal-pending";
    pub const PORTAL_OPEN: &'static str = "portal-open";
    /// New recovery codes, shown once (`link` holds them, space-separated).
    pub const RECOVERY_CODES: &'static str = "recovery-codes";
    /// The password was changed (other sessions ended).
    pub const PASSWORD_CHANGED: &'static str = "password-changed";
}

/// A refused form post of a plain handler (a file upload): its error, kept in the session and
/// shown once on the next GET of `path` through [`RequestCtx::form_errors`], like a server
/// function's form error. Never carried in a URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormErrorFlash {
    pub path: String,
    pub error: crate::errors::AppError,
}

/// Where a server function leaves a [`Notice`]; the server's middleware moves it into the
/// session once the response is ready (server functions have no session of their own).
#[derive(Debug, Clone, Default)]
pub struct NoticeSlot(pub std::sync::Arc<std::sync::Mutex<Option<Notice>>>);

impl NoticeSlot {
    pub fn take(&self) -> Option<Notice> {
        self.0.lock().ok().and_then(|mut n| n.take())
    }
}

/// Leaves a one-time notice for the next page (see [`Notice`]). `false` when the request
/// has no slot (not served through the middleware).
#[cfg(feature = "ssr")]
pub fn set_notice(notice: Notice) -> bool {
    let slot = leptos::prelude::use_context::<http::request::Parts>().and_then(|parts| parts.extensions.get::<NoticeSlot>().cloned());
    match slot {
        Some(slot) => match slot.0.lock() {
            Ok(mut n) => {
                *n = Some(notice);
                true
            }
            Err(_) => false,
        },
        None => false,
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCtx {
    pub principal: Option<Principal>,
    /// The tenant of the session (signed in) or of the host (subdomain), if any.
    pub tenant: Option<Tenant>,
    /// True when the tenant came from the subdomain: the login form needs no school code.
    pub tenant_from_host: bool,
    pub lang: Language,
    pub portals: Vec<Portal>,
    pub path: String,
    pub login_flash: Option<LoginFlash>,
    /// A form post failed: its error, kept in the session for this page and shown once next
    /// to the form (never read from the URL).
    pub form_error: Option<crate::errors::AppError>,
    /// `https://host` as the browser sees this site (for links people copy).
    pub origin: String,
    /// The one-time notice left for this page by the previous form post.
    pub notice: Option<Notice>,
    /// The signed-in person must set up two-factor sign-in by then (their grace period).
    pub two_factor_due: Option<chrono::DateTime<chrono::Utc>>,
}

impl RequestCtx {
    pub fn t(&self, key: &str) -> String {
        crate::i18n::t(self.lang, key)
    }

    /// For keys that came from outside (a URL): unknown keys show a generic message.
    pub fn t_known(&self, key: &str) -> String {
        crate::i18n::t_known(self.lang, key)
    }

    /// Whether the signed-in user holds `permission` (what a page shows or hides; the server
    /// function checks again).
    pub fn can(&self, permission: kilele::identity::Permission) -> bool {
        self.principal.as_ref().is_some_and(|p| p.can(permission))
    }

    /// Whether this request's school's plan includes `feature` (what a page shows; the server
    /// function checks again).
    pub fn has_feature(&self, feature: kilele::tenancy::Feature) -> bool {
        self.tenant.as_ref().is_some_and(|s| s.has_feature(feature))
    }

    /// The messages of a failed form post, field by field.
    pub fn form_errors(&self) -> Vec<(String, String)> {
        use crate::errors::AppError;
        match &self.form_error {
            None => vec![],
            // Only our own message keys are shown (a key from elsewhere says "something went wrong").
            Some(AppError::Invalid { field, message } | AppError::Conflict { field, message }) => {
                vec![(field.clone(), self.t_known(message))]
            }
            Some(AppError::InvalidFields(fields)) => fields.iter().map(|(f, m)| (f.clone(), self.t_known(m))).collect(),
            Some(other) => vec![(String::new(), self.t_known(other.i18n_key()))],
        }
    }
}

/// The request context of the current render or server-function call.
pub fn request_ctx() -> RequestCtx {
    #[cfg(feature = "ssr")]
    {
        // Borrowed, not `use_context` (which would clone the whole request head, headers and
        // extensions, on every call: pages call this from every component).
        leptos::prelude::with_context::<http::request::Parts, _>(|parts| parts.extensions.get::<RequestCtx>().cloned())
            .flatten()
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        RequestCtx::default()
    }
}

/// Server-side dependencies handed to pages and server functions.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug)]
pub struct Deps {
    /// Connects as the application role: row-level security always applies.
    pub pool: kilele::db::Pool,
    pub clock: kilele::clock::SharedClock,
    /// Encrypts and reveals personal data; builds blind indexes.
    pub pii: std::sync::Arc<kilele::audit::pii::KeyRing>,
    /// Who each session is, kept between requests (`kilele::identity::cache`). A server
    /// function that changes who someone is drops the school's entries at its commit
    /// ([`crate::api::scope::Scope::commit_people`]).
    pub principals: kilele::identity::cache::PrincipalCache,
    /// The accountant's dashboards, kept per school until its ledger moves on
    /// (`kilele::finance::db::dashboards`).
    pub dashboards: kilele::finance::db::dashboards::DashboardCache,
    /// The wallets "pay now" pushes to (`kilele::payments::wallets`).
    pub wallets: kilele::payments::wallets::Wallets,
    /// Checks passwords off the async runtime, a bounded number at once (re-authentication
    /// before a change to someone's sign-in).
    pub verifier: kilele::identity::password::Verifier,
}
