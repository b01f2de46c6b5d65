//! The signed-in person's own sign-in: setting up two-factor sign-in (an authenticator app),
//! new recovery codes, turning it off. School users and platform staff alike.
//!
//! Every change needs the password again, and the current code once a second factor is on
//! (`kilele::identity::store::reauthenticate`): a session left open on a shared computer
//! cannot take over the account's sign-in.

use crate::errors::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the set-up page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorView {
    pub enrolled: bool,
    /// Their roles (or their school) require it: it cannot be turned off.
    pub required: bool,
    pub recovery_left: i64,
    /// While setting up: the secret to type in, and as a QR code.
    pub setup: Option<TwoFactorSetup>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorSetup {
    /// Base32, in groups of four.
    pub secret: String,
    /// An `<svg>` element drawn on the server.
    pub qr_svg: String,
}

/// Where these forms come back to.
pub const PAGE: &str = "/account/two-factor";

#[cfg(feature = "ssr")]
pub(crate) mod own {
    use crate::ctx::{request_ctx, Deps};
    use crate::errors::AppError;
    use kilele::audit::actions::Action;
    use kilele::audit::Actor;
    use kilele::identity::store::{self, Proof, SignInError, SignInTx};
    use kilele::identity::two_factor::Holder;
    use kilele::identity::{Email, Principal};
    use kilele::tenancy::Tenant;
    use leptos::prelude::use_context;

    use kilele::identity::store::REAUTH_CLIENT;

    /// The signed-in person (any role, school or platform) and a transaction for their own
    /// second factor: the school's (under its row-level security) or the platform's.
    pub struct Own {
        pub deps: Deps,
        pub me: Principal,
        pub tenant: Option<Tenant>,
        pub holder: Holder,
        pub email: Email,
        pub tx: SignInTx,
    }

    /// The signed-in person, their school (only on their own school's host) and whose
    /// second factor they hold; checked before any connection is taken.
    fn signed_in() -> Result<(Deps, Principal, Option<Tenant>, Holder, Email), AppError> {
        let deps = use_context::<Deps>().ok_or(AppError::Internal)?;
        let ctx = request_ctx();
        let me = ctx.principal.ok_or(AppError::Unauthenticated)?;
        let email = Email::parse(&me.email).map_err(|_| AppError::Internal)?;
        let (holder, tenant) = match me.tenant_id {
            Some(school) => (Holder::School(school, me.user_id), Some(ctx.tenant.filter(|t| t.id == school).ok_or(AppError::Forbidden)?)),
            None => (Holder::Platform(me.user_id), None),
        };
        Ok((deps, me, tenant, holder, email))
    }

    impl Own {
        pub async fn open() -> Result<Self, AppError> {
            let (deps, me, tenant, holder, email) = signed_in()?;
            let tx = SignInTx::begin(&deps.pool, holder).await?;
            Ok(Self { deps, me, tenant, holder, email, tx })
        }

        /// The school's audit chain (in this transaction), or the platform's.
        pub async fn audit(&mut self, action: Action, details: serde_json::Value) -> Result<(), AppError> {
            let actor = Actor::user(self.me.user_id, &self.me.email);
            self.tx.audit(self.deps.clock.now(), &actor, action, &self.me.email, details).await?;
            Ok(())
        }

        /// Commits, and drops the cached principals this changes (whether they have a second
        /// factor is part of who they are on every request).
        pub async fn commit(self) -> Result<(), AppError> {
            let key = match self.tenant.as_ref() {
                Some(t) => t.id.0.to_string(),
                None => "platform".to_owned(),
            };
            self.tx.commit().await?;
            self.deps.principals.forget(&key);
            Ok(())
        }

        /// The account's name in an authenticator app.
        pub fn account_name(&self) -> String {
            kilele::identity::two_factor::account_name(&self.email, self.tenant.as_ref().map(|t| t.slug.as_str()))
        }
    }

    /// The signed-in person's password again, and their current code when a second factor
    /// is on. Checked before the change's own transaction is opened (no connection is held
    /// while the password is hashed); counted in the sign-in backoff.
    pub async fn prove(password: &str, code: &str) -> Result<(), AppError> {
        let (deps, _, _, holder, email) = signed_in()?;
        let proof = Proof { holder, email: &email, password, code, client: REAUTH_CLIENT };
        let refused = |message: &str| AppError::Invalid { field: "password".into(), message: message.into() };
        match store::reauthenticate(&deps.pool, deps.clock.as_ref(), &deps.pii, &deps.verifier, proof).await {
            Ok(()) => Ok(()),
            Err(SignInError::Invalid) => Err(refused("error-reauth-invalid")),
            Err(SignInError::Throttled(_)) => Err(refused("error-login-throttled")),
            Err(SignInError::Busy) => Err(refused("error-login-busy")),
            Err(SignInError::SchoolSuspended) => Err(AppError::Forbidden),
            Err(SignInError::Database(e)) => Err(e.into()),
            Err(SignInError::Domain(e)) => Err(e.into()),
        }
    }
}

/// The set-up page's state.
#[server(endpoint = "account/two-factor")]
pub async fn load_two_factor() -> Result<TwoFactorView, AppError> {
    use kilele::identity::two_factor;
    let mut own = own::Own::open().await?;
    let holder = own.holder;
    let state = two_factor::state(own.tx.conn(), holder).await?;
    let setup = if state.setting_up {
        let (pii, holder, name) = (own.deps.pii.clone(), own.holder, own.account_name());
        two_factor::setup(own.tx.conn(), &pii, holder, &name).await?.map(|s| TwoFactorSetup { secret: s.secret, qr_svg: s.qr_svg })
    } else {
        None
    };
    Ok(TwoFactorView { enrolled: state.enrolled, required: own.me.second_factor.required, recovery_left: state.recovery_left, setup })
}

/// Starts setting up: a new secret, shown on the page until the first code confirms it.
#[server(endpoint = "account/two-factor/start")]
pub async fn start_two_factor() -> Result<(), AppError> {
    let mut own = own::Own::open().await?;
    let (pii, holder, now) = (own.deps.pii.clone(), own.holder, own.deps.clock.now());
    kilele::identity::two_factor::begin(own.tx.conn(), &pii, holder, now).await?;
    own.commit().await?;
    leptos_axum::redirect(PAGE);
    Ok(())
}

/// Confirms setting up with the password and the app's first code; the ten recovery codes
/// are shown once on the page it returns to.
#[server(endpoint = "account/two-factor/confirm")]
pub async fn confirm_two_factor(password: String, code: String) -> Result<(), AppError> {
    own::prove(&password, "").await?;
    let mut own = own::Own::open().await?;
    let (pii, holder, now) = (own.deps.pii.clone(), own.holder, own.deps.clock.now());
    let codes = kilele::identity::two_factor::confirm(own.tx.conn(), &pii, holder, &code, now)
        .await?
        .ok_or_else(|| AppError::Invalid { field: "code".into(), message: "error-code-invalid".into() })?;
    own.audit(kilele::audit::actions::TWO_FACTOR_ENABLED, serde_json::json!({})).await?;
    own.commit().await?;
    show_codes(codes);
    Ok(())
}

/// Ten new recovery codes (the old ones stop working), shown once.
#[server(endpoint = "account/two-factor/recovery")]
pub async fn replace_recovery_codes(password: String, code: String) -> Result<(), AppError> {
    own::prove(&password, &code).await?;
    let mut own = own::Own::open().await?;
    let holder = own.holder;
    if !kilele::identity::two_factor::state(own.tx.conn(), holder).await?.enrolled {
        return Err(AppError::Conflict { field: "code".into(), message: "error-two-factor-off".into() });
    }
    let pii = own.deps.pii.clone();
    let codes = kilele::identity::two_factor::replace_recovery_codes(own.tx.conn(), &pii, holder).await?;
    own.audit(kilele::audit::actions::TWO_FACTOR_RECOVERY_CODES_REPLACED, serde_json::json!({})).await?;
    own.commit().await?;
    show_codes(codes);
    Ok(())
}

/// Turns two-factor sign-in off, for those whose roles do not require it.
#[server(endpoint = "account/two-factor/off")]
pub async fn turn_off_two_factor(password: String, code: String) -> Result<(), AppError> {
    let me = crate::ctx::request_ctx().principal.ok_or(AppError::Unauthenticated)?;
    if me.second_factor.required {
        return Err(AppError::Conflict { field: "code".into(), message: "error-two-factor-required".into() });
    }
    own::prove(&password, &code).await?;
    let mut own = own::Own::open().await?;
    let holder = own.holder;
    if kilele::identity::two_factor::remove(own.tx.conn(), holder).await? {
        own.audit(kilele::audit::actions::TWO_FACTOR_DISABLED, serde_json::json!({})).await?;
    }
    own.commit().await?;
    leptos_axum::redirect(PAGE);
    Ok(())
}

/// Leaves the recovery codes for the page's next GET (through the session, never a URL).
#[cfg(feature = "ssr")]
fn show_codes(codes: Vec<String>) {
    let notice =
        crate::ctx::Notice { path: PAGE.to_owned(), kind: crate::ctx::Notice::RECOVERY_CODES.to_owned(), link: Some(codes.join(" ")) };
    if !crate::ctx::set_notice(notice) {
        tracing::warn!("no notice slot: the recovery codes are not shown");
    }
    leptos_axum::redirect(PAGE);
}
