use crate::config::Config;
use crate::metrics::Metrics;
use axum::extract::FromRef;
use fred::prelude::*;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// Everything a request handler may need. Cheap to clone: one reference count (axum clones
/// the state for every middleware and handler that takes it, on every request; cloning the
/// fields themselves was a measurable part of a page's CPU, issue 6).
#[derive(Clone)]
pub struct AppState(Arc<State>);

impl AppState {
    pub fn new(state: State) -> Self {
        Self(Arc::new(state))
    }
}

impl std::ops::Deref for AppState {
    type Target = State;
    fn deref(&self) -> &State {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct State {
    pub leptos: LeptosOptions,
    pub deps: app::Deps,
    pub redis: Pool,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub storage: kilele::storage::Storage,
    /// Sign-in rate limits and the bound on concurrent password checks.
    pub sign_in: Arc<crate::limits::SignInGuards>,
    /// The per-address limit on looking up printed cards' codes.
    pub card_lookups: crate::limits::CardLookups,
    /// Refused payment deliveries kept per address (`crate::payments`).
    pub refused_deliveries: crate::limits::RefusedDeliveries,
    /// Verified payments waiting to be posted with their school's others (`crate::intake`).
    pub intakes: crate::intake::Intakes,
    /// Receipts and statements are rendered in the web process (one page each, milliseconds).
    pub documents: Arc<documents::Renderer>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

pub async fn connect_redis(url: &str) -> anyhow::Result<Pool> {
    let config = Config_::from_url(url)?;
    // Every command is bounded: a reply that never comes (a connection stuck half-open) fails
    // the request after five seconds instead of holding it for ever.
    let performance =
        fred::types::config::PerformanceConfig { default_command_timeout: std::time::Duration::from_secs(5), ..Default::default() };
    let pool = Pool::new(config, Some(performance), None, Some(ReconnectPolicy::new_exponential(0, 100, 5_000, 2)), 4)?;
    // The returned handle is the background connection task; it runs on when detached.
    std::mem::drop(pool.init().await?);
    Ok(pool)
}

use fred::types::config::Config as Config_;
