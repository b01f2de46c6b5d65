//! Prometheus metrics: requests, latencies and the database pool. One registry per app
//! instance (no globals), so tests can run several servers in one process.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    pool_size: Gauge,
    pool_idle: Gauge,
    /// Transactions that posted verified payments, and how many each held (`crate::intake`).
    payment_batches: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kilele");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.0, 14)));
        let pool_size = Gauge::default();
        let pool_idle = Gauge::default();
        let payment_batches = Histogram::new(exponential_buckets(1.0, 2.0, 7));
        registry.register("http_requests", "HTTP requests served", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency", latency.clone());
        registry.register("db_pool_connections", "Open database connections (app role)", pool_size.clone());
        registry.register("db_pool_idle_connections", "Idle database connections (app role)", pool_idle.clone());
        registry.register(
            "payments_per_commit",
            "Verified payments posted by one transaction (group commit; the count is the transactions)",
            payment_batches.clone(),
        );
        Self { registry, requests, latency, pool_size, pool_idle, payment_batches }
    }

    /// One transaction posted `payments` verified payments together.
    pub fn payments_committed(&self, payments: usize) {
        self.payment_batches.observe(payments as f64);
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests.get_or_create(&RequestLabels { method: method.to_owned(), route: route.to_owned(), status }).inc();
        self.latency.get_or_create(&RouteLabels { method: method.to_owned(), route: route.to_owned() }).observe(seconds);
    }

    /// The text exposition, with pool gauges read at scrape time.
    pub fn render(&self, pool: &sqlx::PgPool) -> String {
        self.pool_size.set(i64::from(pool.size()));
        self.pool_idle.set(i64::try_from(pool.num_idle()).unwrap_or(i64::MAX));
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Records every request. The route label is the matched pattern (never the raw path, which
/// would explode the label set).
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| {
        if req.uri().path().starts_with("/pkg/") {
            "/pkg/*".into()
        } else {
            "unmatched".into()
        }
    });
    let start = Instant::now();
    let response = next.run(req).await;
    metrics.observe(&method, &route, response.status().as_u16(), start.elapsed().as_secs_f64());
    response
}
