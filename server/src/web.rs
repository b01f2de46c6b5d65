//! The axum application: routes and the middleware stack, in request order:
//! request id → trace → metrics → compression → security headers → session → CSRF →
//! request context (tenant, principal, language, portal access) → handler.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::state::{connect_redis, AppState};
use crate::{auth, broadsheets, cards, csrf, finance, imports, marks, ops, photos};
use app::{shell, App};
use axum::handler::Handler;
use axum::http::{HeaderName, Method, Request};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use kilele::clock::SharedClock;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::postgres::PgPoolOptions;
use std::sync::Arc;
use std::time::Duration;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_redis_store::RedisStore;

/// Leptos settings from the environment cargo-leptos sets (or sensible defaults when the
/// binary runs on its own, as in tests and the container).
pub fn leptos_options(config: &Config) -> LeptosOptions {
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    LeptosOptions::builder()
        .output_name(var("LEPTOS_OUTPUT_NAME", "kilele"))
        .site_root(var("LEPTOS_SITE_ROOT", "target/site"))
        .site_pkg_dir(var("LEPTOS_SITE_PKG_DIR", "pkg"))
        .site_addr(config.site_addr)
        .reload_port(std::env::var("LEPTOS_RELOAD_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3001))
        // Content-hashed file names (scripts/build-site writes hash.txt beside the binary).
        .hash_files(std::env::var("LEPTOS_HASH_FILES").is_ok_and(|v| v == "true"))
        .build()
}

/// Connects to PostgreSQL (as the application role) and Redis and builds the state.
pub async fn build_state(config: Config, clock: SharedClock, leptos: LeptosOptions) -> anyhow::Result<AppState> {
    let pool = PgPoolOptions::new()
        .max_connections(config.db_pool_size)
        .acquire_timeout(Duration::from_secs(5))
        // No ping before every checkout (a round trip per transaction): a connection that died
        // with the server fails its one request and is replaced; readiness reports the outage.
        .test_before_acquire(false)
        .connect_with(kilele::db::connect_options(&config.app_database_url)?)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL as the application role: {e}"))?;
    let redis = connect_redis(&config.redis_url).await.map_err(|e| anyhow::anyhow!("cannot connect to Redis: {e}"))?;
    kilele::identity::password::warm_up();
    let pii = Arc::new(config.pii.clone());
    let storage = config.storage.open()?;
    tracing::info!(storage = %storage.describe(), "files kept in");
    let sign_in = Arc::new(crate::limits::SignInGuards::new(&config.sign_in, config.db_pool_size));
    // The listener holds one connection of its own (not the pool's) and ends with the pool.
    let principals = kilele::identity::cache::PrincipalCache::new();
    tokio::spawn(principals.clone().listen(pool.clone(), Duration::from_secs(1)));
    let wallets = kilele::payments::wallets::Wallets {
        mpesa: match &config.mpesa {
            Some(settings) => {
                Some(Arc::new(kilele::payments::mpesa::MpesaApi::new(settings).map_err(|e| anyhow::anyhow!("MPESA_PUBLIC_KEY: {e}"))?))
            }
            None => None,
        },
        airtel: match &config.airtel_base_url {
            Some(base) => {
                Some(Arc::new(kilele::payments::airtel::AirtelApi::new(base).map_err(|e| anyhow::anyhow!("AIRTEL_BASE_URL: {e}"))?))
            }
            None => None,
        },
        tigo: match &config.tigo_base_url {
            Some(base) => Some(Arc::new(kilele::payments::tigo::TigoApi::new(base).map_err(|e| anyhow::anyhow!("TIGO_BASE_URL: {e}"))?)),
            None => None,
        },
        gepg: match &config.gepg {
            Some(settings) => {
                Some(Arc::new(kilele::payments::gepg::GepgApi::new(settings).map_err(|e| anyhow::anyhow!("GEPG_PUBLIC_KEY: {e}"))?))
            }
            None => None,
        },
    };
    let verifier = sign_in.verifier.clone();
    Ok(AppState::new(crate::state::State {
        card_lookups: crate::limits::CardLookups::new(config.sign_in.trust_proxy_headers),
        refused_deliveries: Default::default(),
        intakes: Default::default(),
        documents: Arc::new(documents::Renderer::new()?),
        sign_in,
        storage,
        leptos,
        deps: app::Deps { pool, clock, pii, principals, dashboards: Default::default(), wallets, verifier },
        redis,
        config: Arc::new(config),
        metrics: Arc::new(Metrics::new()),
    }))
}

/// A route this module answers itself (not a page, not a server function).
pub struct PlainRoute {
    pub method: Method,
    pub path: &'static str,
    handler: MethodRouter<AppState>,
    /// Behind the sign-in rate limits (per client address and global).
    sign_in_limited: bool,
}

impl PlainRoute {
    fn get<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self { method: Method::GET, path, handler: get(handler), sign_in_limited: false }
    }

    fn post<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self { method: Method::POST, path, handler: post(handler), sign_in_limited: false }
    }

    fn sign_in_limited(mut self) -> Self {
        self.sign_in_limited = true;
        self
    }

    fn body_limit(mut self, bytes: usize) -> Self {
        self.handler = self.handler.layer(axum::extract::DefaultBodyLimit::max(bytes));
        self
    }
}

/// A marks file and its multipart envelope.
const MARKS_UPLOAD_LIMIT: usize = kilele::results::upload::MAX_UPLOAD_BYTES + 64 * 1024;

/// Every plain route, in one list: the router is built from it, and the isolation probes
/// (server/tests/it/probes.rs) fail for any entry they have no row for.
pub fn plain_routes() -> Vec<PlainRoute> {
    vec![
        PlainRoute::get("/", auth::home),
        PlainRoute::post("/login", auth::login).sign_in_limited(),
        PlainRoute::post("/login/code", auth::login_code).sign_in_limited(),
        PlainRoute::post("/account/password", auth::change_password).sign_in_limited(),
        PlainRoute::post("/logout", auth::logout),
        PlainRoute::post("/language", auth::language),
        PlainRoute::post("/admin/import/upload", imports::upload).body_limit(kilele::academic::import_store::MAX_UPLOAD_BYTES + 64 * 1024),
        PlainRoute::get("/admin/import/template.csv", imports::template),
        PlainRoute::get("/admin/students/{id}/photo", photos::photo),
        PlainRoute::post("/admin/students/{id}/photo", photos::upload_photo).body_limit(photos::MAX_PHOTO_BYTES + 64 * 1024),
        PlainRoute::get("/admin/students/export.csv", imports::export),
        PlainRoute::get("/admin/students/export.xlsx", imports::export),
        PlainRoute::get("/admin/results/{term}/{level}/broadsheet.xlsx", broadsheets::broadsheet_xlsx),
        // A mark sheet's upload and template, under the teacher's and the approver's page.
        PlainRoute::post("/teacher/marks/{term}/{stream}/{subject}/upload", marks::upload).body_limit(MARKS_UPLOAD_LIMIT),
        PlainRoute::post("/admin/results/sheet/{term}/{stream}/{subject}/upload", marks::upload).body_limit(MARKS_UPLOAD_LIMIT),
        PlainRoute::get("/teacher/marks/{term}/{stream}/{subject}/template.csv", marks::template),
        PlainRoute::get("/admin/results/sheet/{term}/{stream}/{subject}/template.csv", marks::template),
        // Report cards: a card for the admin or the family, a batch's ZIP and live progress.
        PlainRoute::get("/admin/cards/logo", cards::logo),
        PlainRoute::post("/admin/cards/logo", cards::upload_logo).body_limit(cards::MAX_LOGO_BYTES + 64 * 1024),
        PlainRoute::get("/admin/cards/{card}/card.pdf", cards::admin_card),
        PlainRoute::get("/portal/cards/{card}/card.pdf", cards::portal_card),
        PlainRoute::get("/admin/cards/batches/{batch}/cards.zip", cards::batch_zip),
        PlainRoute::get("/admin/cards/batches/{batch}/events", cards::batch_events),
        // Fees: receipts and statements for the bursar and the family, a run's progress, exports.
        PlainRoute::get("/accountant/receipts/{payment}/receipt.pdf", finance::bursar_receipt),
        PlainRoute::get("/portal/receipts/{payment}/receipt.pdf", finance::family_receipt),
        PlainRoute::get("/accountant/accounts/{id}/statement.pdf", finance::bursar_statement),
        PlainRoute::get("/portal/fees/{student}/statement.pdf", finance::family_statement),
        PlainRoute::get("/accountant/invoices/runs/{run}/events", finance::run_events),
        PlainRoute::get("/portal/pushes/{push}/events", finance::push_events),
        PlainRoute::get("/accountant/defaulters.csv", finance::defaulters_export),
        PlainRoute::get("/accountant/defaulters.xlsx", finance::defaulters_export),
        // Payment providers' webhooks: signed by the provider, the school in the path.
        PlainRoute::post("/api/v1/webhooks/{provider}/{school}", crate::payments::notification),
        PlainRoute::post("/api/v1/webhooks/{provider}/{school}/validate", crate::payments::validation),
        PlainRoute::post("/api/v1/webhooks/{provider}/{school}/reversal", crate::payments::reversal),
        // The bursar's bank statements: the upload (multipart) and the reconciliation's CSV.
        PlainRoute::post("/accountant/reconciliation/upload", crate::statements::upload)
            .body_limit(kilele::payments::statements::MAX_FILE_BYTES + 64 * 1024),
        PlainRoute::get("/accountant/reconciliation/{statement}/report.csv", crate::statements::report),
        // Tigo's USSD bill-pay: the payment step (the lookup is `…/validate`).
        PlainRoute::post("/api/v1/webhooks/{provider}/{school}/billpay", crate::payments::billpay),
        PlainRoute::get("/healthz", ops::healthz),
        PlainRoute::get("/readyz", ops::readyz),
        PlainRoute::get("/metrics", ops::metrics),
    ]
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let session_layer = SessionManagerLayer::new(RedisStore::new(state.redis.clone()))
        .with_name("kilele_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.cookie_secure())
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(state.config.session_idle.num_seconds())));
    let request_id = HeaderName::from_static("x-request-id");
    let deps = state.deps.clone();
    let leptos = state.leptos.clone();
    // The islands' JS/WASM/CSS: precompressed at build time (brotli, gzip), cached by name.
    let pkg_dir = std::path::Path::new(leptos.site_root.as_ref()).join(leptos.site_pkg_dir.as_ref());
    let pkg = Router::new()
        .fallback_service(ServeDir::new(pkg_dir).precompressed_br().precompressed_gzip())
        .layer(from_fn(crate::security::static_cache));
    let pkg_path = format!("/{}", leptos.site_pkg_dir);
    plain_routes()
        .into_iter()
        .fold(Router::new().nest_service(&pkg_path, pkg), |router, r| {
            let handler = match r.sign_in_limited {
                true => r.handler.layer(from_fn_with_state(state.clone(), crate::limits::sign_in_rate_limit)),
                false => r.handler,
            };
            router.route(r.path, handler)
        })
        .leptos_routes_with_context(&state, routes, move || provide_context(deps.clone()), move || shell(leptos.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(from_fn(api_error_status))
        .layer(from_fn_with_state(state.clone(), crate::limits::card_lookup_rate_limit))
        .layer(from_fn_with_state(state.clone(), auth::context))
        .layer(from_fn(csrf::protect))
        .layer(session_layer)
        .layer(from_fn_with_state(state.config.clone(), crate::security::headers))
        // Pages and server-function answers compressed on the fly (already-compressed static
        // files pass through: they carry Content-Encoding).
        .layer(CompressionLayer::new().br(true).gzip(true).quality(CompressionLevel::Fastest))
        .layer(from_fn_with_state(state.metrics.clone(), crate::metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            // Path only: query strings may carry personal data.
            tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router(state);
    // The peer address feeds the sign-in rate limits and throttle.
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

/// Server functions answer every error with 500; give API clients the status that says what
/// happened (401, 403, 404, 409, 422), keeping the error body. Internal errors stay 500.
pub async fn api_error_status(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use app::errors::AppError;
    use axum::http::StatusCode;
    let is_api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    if !is_api || resp.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 256 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = err.status();
    }
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}
