//! Health, readiness, metrics and request ids.

use crate::harness::*;

#[tokio::test]
async fn health_readiness_metrics_and_request_ids() {
    let app = spawn_app().await;
    let c = reqwest::Client::new();
    let r = c.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers().contains_key("x-request-id"), "every response carries a request id");
    let r = c.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_eq!(body["redis"], "ok");
    // An incoming request id is kept (so a proxy's id follows the request through the logs).
    let r = c.get(format!("{}/healthz", app.base)).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");

    let b = app.login_as(Some(KHSS), "admin").await;
    b.get("/admin").await;
    let text = c.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("kilele_http_requests_total{"), "{text}");
    assert!(text.contains(r#"route="/admin""#));
    assert!(text.contains("kilele_http_request_duration_seconds_bucket"));
    assert!(text.contains("kilele_db_pool_connections "));
}

#[tokio::test]
async fn unknown_pages_are_404_in_the_readers_language() {
    let app = spawn_app().await;
    let b = app.browser();
    let (status, html) = b.get_text("/no/such/page").await;
    assert_eq!(status, 404);
    assert!(html.contains("Page not found"));
}
