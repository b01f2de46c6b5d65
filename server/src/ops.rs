//! Operations endpoints: liveness, readiness, metrics.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use fred::prelude::*;

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The database and Redis answer.
pub async fn readyz(State(st): State<AppState>) -> impl IntoResponse {
    let db = kilele::db::ping(&st.deps.pool).await;
    let redis = st.redis.ping::<String>(None).await.is_ok();
    let status = if db && redis { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = serde_json::json!({
        "database": if db { "ok" } else { "unreachable" },
        "redis": if redis { "ok" } else { "unreachable" },
    });
    (status, axum::Json(body))
}

/// Prometheus text for whoever holds METRICS_TOKEN (`Authorization: Bearer …`). Without a
/// configured token there is nothing to see: route names and pool sizes are not public.
pub async fn metrics(State(st): State<AppState>, headers: axum::http::HeaderMap) -> axum::response::Response {
    let Some(expected) = st.config.metrics_token.as_deref() else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if !given.is_some_and(|t| crate::security::secrets_match(t.trim(), expected)) {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "metrics need a bearer token").into_response();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], st.metrics.render(&st.deps.pool)).into_response()
}
