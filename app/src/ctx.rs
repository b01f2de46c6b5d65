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
    /// A server function posted as a plain form failed: its error, to show next to the form.
    pub form_error: Option<crate::errors::AppError>,
    /// `https://host` as the browser sees this site (for links people copy).
    pub origin: String,
}

impl RequestCtx {
    pub fn t(&self, key: &str) -> String {
        crate::i18n::t(self.lang, key)
    }

    /// For keys that came from outside (a URL): unknown keys show a generic message.
    pub fn t_known(&self, key: &str) -> String {
        crate::i18n::t_known(self.lang, key)
    }

    /// The messages of a failed form post, field by field.
    pub fn form_errors(&self) -> Vec<(String, String)> {
        use crate::errors::AppError;
        match &self.form_error {
            None => vec![],
            // The error arrived in the URL: only our own message keys are shown.
            Some(AppError::Invalid { field, message }) => vec![(field.clone(), self.t_known(message))],
            Some(AppError::InvalidFields(fields)) => fields.iter().map(|(f, m)| (f.clone(), self.t_known(m))).collect(),
            Some(other) => vec![(String::new(), self.t_known(other.i18n_key()))],
        }
    }
}

/// The request context of the current render or server-function call.
pub fn request_ctx() -> RequestCtx {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<RequestCtx>().cloned())
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
}
