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
    let db = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&st.deps.pool).await.is_ok();
    let redis = st.redis.ping::<String>(None).await.is_ok();
    let status = if db && redis { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = serde_json::json!({
        "database": if db { "ok" } else { "unreachable" },
        "redis": if redis { "ok" } else { "unreachable" },
    });
    (status, axum::Json(body))
}

pub async fn metrics(State(st): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], st.metrics.render(&st.deps.pool))
}
