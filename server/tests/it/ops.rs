//! Health, readiness, metrics and request ids.

use crate::harness::*;

#[tokio::test]
async fn health_readiness_metrics_and_request_ids() {
    let app = spawn_app().await;
    let c = http_client().build().unwrap();
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
    // Metrics need the bearer token.
    let r = c.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = c.get(format!("{}/metrics", app.base)).bearer_auth("wrong-token-0123456789").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = c.get(format!("{}/metrics", app.base)).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().await.unwrap();
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

/// Every response carries the security headers; a page's CSP names the nonce of its one inline
/// script; dynamic answers are never cached and are compressed for clients that ask.
#[tokio::test]
async fn security_headers_nonce_no_store_and_compression() {
    let app = spawn_app().await;
    let c = http_client().build().unwrap();
    let r = c.get(format!("{}/login", app.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let h = r.headers().clone();
    let html = r.text().await.unwrap();
    let csp = h["content-security-policy"].to_str().unwrap().to_owned();
    let nonce = csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).expect("page CSP has a nonce").to_owned();
    assert!(nonce.len() >= 16, "{csp}");
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the inline islands script carries the CSP nonce");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(h.contains_key("permissions-policy"));
    assert_eq!(h["cache-control"], "no-store");
    assert!(!h.contains_key("strict-transport-security"), "no HSTS over plain http");
    // Two requests, two nonces.
    let again = c.get(format!("{}/login", app.base)).send().await.unwrap();
    assert_ne!(again.headers()["content-security-policy"], h["content-security-policy"]);

    // A signed-in page: no-store as well.
    let b = app.login_as(Some(KHSS), "teacher").await;
    let r = b.client.get(format!("{}/teacher", app.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");

    // Non-page answers get the base policy.
    let r = c.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert!(r.headers()["content-security-policy"].to_str().unwrap().starts_with("default-src 'self'"));

    // Compression for clients that accept it (the page is far over the threshold).
    for (accept, expect) in [("br", "br"), ("gzip", "gzip"), ("br, gzip", "br")] {
        let r = c.get(format!("{}/login", app.base)).header("accept-encoding", accept).send().await.unwrap();
        assert_eq!(r.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some(expect), "Accept-Encoding: {accept}");
    }
    let r = c.get(format!("{}/login", app.base)).send().await.unwrap();
    assert!(!r.headers().contains_key("content-encoding"), "identity when nothing is accepted");
}

/// `KILELE_ENV=production kilele serve` refuses to start with development keys, without an
/// https PUBLIC_URL, or with only the owner's URL — each with a message saying what to set.
#[test]
fn production_refuses_to_start_unsafely() {
    let good_keys = [
        ("PII_KEYS", "k1:CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk="),
        ("PII_ACTIVE_KEY", "k1"),
        ("PII_INDEX_KEY", "CAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg="),
    ];
    let base: Vec<(&str, &str)> = [
        ("KILELE_ENV", "production"),
        ("APP_DATABASE_URL", "postgres://kilele_app:pw@127.0.0.1:1/none"),
        ("PUBLIC_URL", "https://kilele.example"),
        ("SMTP_URL", "smtp://127.0.0.1:1"),
        ("WORKER_DATABASE_URL", "postgres://kilele_worker:pw@127.0.0.1:1/none"),
        ("AUDIT_KEY", "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3"),
        ("REDIS_URL", "redis://127.0.0.1:1"),
    ]
    .into_iter()
    .chain(good_keys)
    .collect();
    let run = |vars: &[(&str, &str)], unset: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kilele"));
        cmd.arg("serve").env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        // Run from an empty directory so no developer .env is read.
        let dir = std::env::temp_dir().join(format!("kilele-prod-check-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        cmd.current_dir(&dir);
        for (k, v) in vars.iter().filter(|(k, _)| !unset.contains(k)) {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let with = |k: &'static str, v: &'static str| {
        let mut vars = base.clone();
        vars.retain(|(name, _)| *name != k);
        vars.push((k, v));
        vars
    };

    let (code, err) = run(&base, &["KILELE_ENV"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("KILELE_ENV is not set"), "{err}");

    let (code, err) = run(&base, &["PII_KEYS", "PII_ACTIVE_KEY", "PII_INDEX_KEY"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("production needs PII_KEYS"), "{err}");
    let mut dev_kid = with("PII_KEYS", "dev1:CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=");
    dev_kid.retain(|(k, _)| *k != "PII_ACTIVE_KEY");
    dev_kid.push(("PII_ACTIVE_KEY", "dev1"));
    let (code, err) = run(&dev_kid, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("development keys"), "{err}");

    let (code, err) = run(&base, &["AUDIT_KEY"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("production needs AUDIT_KEY"), "{err}");

    let (code, err) = run(&base, &["PUBLIC_URL"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("production needs PUBLIC_URL"), "{err}");
    let (code, err) = run(&with("PUBLIC_URL", "http://kilele.example"), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("https"), "{err}");

    // Only the owner's URL: refused, and the owner URL is not used instead.
    let owner_only = with("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres");
    let (code, err) = run(&owner_only, &["APP_DATABASE_URL"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("production needs APP_DATABASE_URL"), "{err}");

    // With everything in place the configuration is accepted: the process gets as far as
    // connecting (to a port where nothing listens) and fails there, not on configuration.
    let (code, err) = run(&base, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot connect to PostgreSQL"), "{err}");
}
