//! The test harness: `spawn_app()` and helpers to sign in as any demo role and to prove a
//! request made as one school for another school's resource is refused.
#![allow(dead_code)]

use chrono::Utc;
use kilele::clock::ManualClock;
use reqwest::header::{HeaderMap, HeaderValue, ORIGIN};
use reqwest::redirect::Policy;
use server::config::{derive_app_url, Config, Environment, LogFormat};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::{Mutex, OnceCell};

pub const PASSWORD: &str = server::seed::DEMO_PASSWORD;
pub const KHSS: &str = "kilimanjaro-hills";
pub const MLPS: &str = "mwanza-lakeside";
pub const BASE_DOMAIN: &str = "kilele.test";
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// `postgres://…/anything` → `postgres://…/<db>`.
fn with_db(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).expect("DATABASE_URL must be a URL");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

async fn admin_conn() -> PgConnection {
    let url = with_db(&server_url(), "postgres");
    PgConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {url}: {e}. scripts/test starts one; or set DATABASE_URL."))
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();
static CLONE_LOCK: Mutex<()> = Mutex::const_new(());

/// Creates `name`, migrated and seeded with the demo at `scale` (1: the usual demo), with
/// statistics as a running database has them. Returns its owner URL.
async fn seeded_database(admin: &mut PgConnection, name: &str, scale: usize) -> String {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut *admin).await.unwrap();
    let owner_url = with_db(&server_url(), name);
    server::cli::migrate(&owner_url).await.expect("migrations apply");
    let app_pool = PgPoolOptions::new().max_connections(2).connect(&derive_app_url(&owner_url).unwrap()).await.unwrap();
    let owner_pool = PgPoolOptions::new().max_connections(1).connect(&owner_url).await.unwrap();
    // What `kilele` does at startup: audit appends MAC with the configured key.
    kilele::audit::install_key(kilele::audit::AuditKey::development()).unwrap();
    server::seed::demo_scaled(&owner_pool, &app_pool, &kilele::audit::pii::KeyRing::development(), false, scale).await.expect("demo seed");
    sqlx::query("ANALYZE").execute(&owner_pool).await.unwrap();
    app_pool.close().await;
    owner_pool.close().await;
    owner_url
}

/// A database migrated and demo-seeded once per test run; each test gets a copy.
async fn template() -> String {
    TEMPLATE
        .get_or_init(|| async {
            let name = format!("kilele_t_tpl_{}", std::process::id());
            let mut admin = admin_conn().await;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut admin).await.unwrap();
            seeded_database(&mut admin, &name, 1).await;
            name
        })
        .await
        .clone()
}

/// A fresh database seeded with the demo at `scale` times the students per stream (5: a
/// 2,000-student secondary school), not from the template. When `explain` is set, every
/// later session on it runs with auto_explain, its plans sent to the client as notices
/// (see `plans.rs`). Returns (name, owner URL).
pub async fn scaled_database(scale: usize, explain: bool) -> (String, String) {
    let name = format!("kilele_t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = admin_conn().await;
    let owner_url = seeded_database(&mut admin, &name, scale).await;
    if explain {
        for setting in [
            "session_preload_libraries = 'auto_explain'",
            "auto_explain.log_min_duration = 0",
            "auto_explain.log_analyze = on",
            "auto_explain.log_timing = off",
            "auto_explain.log_format = 'json'",
            "auto_explain.log_level = 'notice'",
            "auto_explain.log_nested_statements = on",
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("ALTER DATABASE {name} SET {setting}"))).execute(&mut admin).await.unwrap();
        }
    }
    (name, owner_url)
}

/// A fresh database for one test (a copy of the template). Returns its owner URL.
pub async fn fresh_database() -> (String, String) {
    let template = template().await;
    let name = format!("kilele_t_{}", uuid::Uuid::new_v4().simple());
    let _guard = CLONE_LOCK.lock().await;
    let mut admin = admin_conn().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name} TEMPLATE {template}"))).execute(&mut admin).await.unwrap();
    (name.clone(), with_db(&server_url(), &name))
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub db_name: String,
    pub owner_url: String,
    /// Connected as the application role (RLS applies).
    pub pool: PgPool,
    /// Connected as the schema owner (a superuser here): for setting up tampering.
    pub owner_pool: PgPool,
    pub clock: Arc<ManualClock>,
    pub base_domain: Option<String>,
    /// Where the development outbox writes emails (.eml files).
    pub mail_dir: std::path::PathBuf,
    /// The server's cache of principals (to see that it is in use).
    pub principals: kilele::identity::cache::PrincipalCache,
    /// Where the server (and `worker()`) keep files.
    pub storage: server::config::StorageLocation,
    /// The authenticator apps of people who set up two-factor sign-in in this test: email →
    /// (secret, last time step a code was sent for).
    pub authenticators: std::sync::Mutex<std::collections::HashMap<String, (String, i64)>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

#[derive(Default)]
pub struct Options {
    pub base_domain: Option<String>,
    /// A database of its own instead of a template copy: see [`scaled_database`].
    pub database: Option<(String, String)>,
    /// Files somewhere else than a fresh temporary directory (the S3 tests).
    pub storage: Option<server::config::StorageLocation>,
    /// M-Pesa OpenAPI (a simulator's): see `payments::mpesa_simulator`.
    pub mpesa: Option<kilele::payments::mpesa::MpesaSettings>,
    /// Airtel Money's Open API (a simulator's base URL).
    pub airtel: Option<String>,
    /// Tigo Pesa's push gateway (a simulator's base URL).
    pub tigo: Option<String>,
    /// GePG (a simulator's).
    pub gepg: Option<kilele::payments::gepg::GepgSettings>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    spawn_app_with_sign_in(options, server::config::SignInLimits::default()).await
}

/// A server with its own sign-in limits (rate limits, concurrent password checks).
pub async fn spawn_app_with_sign_in(options: Options, sign_in: server::config::SignInLimits) -> TestApp {
    kilele::storage::install_crypto_provider();
    let (db_name, owner_url) = match options.database.clone() {
        Some(db) => db,
        None => fresh_database().await,
    };
    let db_name_for_mail = db_name.clone();
    let storage = options
        .storage
        .clone()
        .unwrap_or_else(|| server::config::StorageLocation::Local(std::env::temp_dir().join(format!("kilele-storage-{db_name}"))));
    let config = Config {
        database_url: Some(owner_url.clone()),
        app_database_url: derive_app_url(&owner_url).unwrap(),
        worker_database_url: server::config::derive_worker_url(&owner_url).unwrap(),
        redis_url: redis_url(),
        base_domain: options.base_domain.clone(),
        public_url: None,
        environment: Environment::Development,
        session_idle: chrono::Duration::minutes(30),
        session_absolute: chrono::Duration::hours(12),
        log_format: LogFormat::Pretty,
        site_addr: "127.0.0.1:0".parse().unwrap(),
        db_pool_size: 5,
        pii: kilele::audit::pii::KeyRing::development(),
        audit_key: kilele::audit::AuditKey::development(),
        storage: storage.clone(),
        smtp_url: None,
        mail_dir: std::env::temp_dir().join(format!("kilele-mail-{db_name}")),
        mail_from: "Kilele <no-reply@kilele.test>".into(),
        metrics_token: Some(METRICS_TOKEN.into()),
        sign_in,
        mpesa: options.mpesa.clone(),
        airtel_base_url: options.airtel.clone(),
        tigo_base_url: options.tigo.clone(),
        gepg: options.gepg.clone(),
    };
    server::telemetry::init(LogFormat::Pretty);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let leptos = server::web::leptos_options(&config);
    let state = server::web::build_state(config, clock.clone(), leptos)
        .await
        .unwrap_or_else(|e| panic!("server state: {e:#}. Is Redis running? scripts/test starts it."));
    let pool = state.deps.pool.clone();
    let principals = state.deps.principals.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::web::serve(state, listener, async move {
        let _ = rx.await;
    }));
    let owner_pool = PgPoolOptions::new().max_connections(2).connect(&owner_url).await.unwrap();
    TestApp {
        addr,
        base: format!("http://{addr}"),
        db_name,
        owner_url,
        pool,
        owner_pool,
        clock,
        base_domain: options.base_domain,
        mail_dir: std::env::temp_dir().join(format!("kilele-mail-{db_name_for_mail}")),
        principals,
        storage,
        authenticators: Default::default(),
        shutdown: Some(tx),
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let name = self.db_name.clone();
        // Best effort: drop this test's database from a thread of its own (Drop is sync).
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(mut c) = PgConnection::connect(&with_db(&server_url(), "postgres")).await {
                    let _ =
                        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut c).await;
                }
            });
        })
        .join();
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (tests read Location),
/// and sends `Origin` like a browser does on POST.
pub struct Browser {
    pub client: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub base: String,
    pub origin: String,
}

/// How many audit entries of `action` school `school` has (read as the schema owner).
pub async fn audited(app: &TestApp, school: &str, action: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log a JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = $1 AND a.action = $2")
        .bind(school)
        .bind(action)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap()
}

/// A fresh `once` token, as a form that makes a document (a payment, a discount…) carries:
/// without one the request is refused as an out-of-date form before any other check runs.
pub fn once() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn redirect_target(resp: &reqwest::Response) -> Option<String> {
    resp.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

impl TestApp {
    /// A worker like the one `kilele worker` runs, writing emails to `mail_dir`.
    pub fn worker(&self) -> server::worker::Worker {
        let outbox = server::mail::Outbox::new(None, self.mail_dir.clone(), "Kilele <no-reply@kilele.test>").unwrap();
        // As `kilele worker`: connected as kilele_worker, the only role that may claim jobs.
        let pool =
            PgPoolOptions::new().max_connections(2).connect_lazy(&server::config::derive_worker_url(&self.owner_url).unwrap()).unwrap();
        let printer = server::cards::job::Printer {
            pool: pool.clone(),
            storage: self.storage.open().unwrap(),
            renderer: std::sync::Arc::new(documents::Renderer::new().unwrap()),
            verify_base: Some("https://kilele.test".into()),
            clock: self.clock.clone(),
        };
        server::worker::Worker {
            pool,
            pii: std::sync::Arc::new(kilele::audit::pii::KeyRing::development()),
            audit_key: std::sync::Arc::new(kilele::audit::AuditKey::development()),
            outbox: std::sync::Arc::new(outbox),
            printer,
        }
    }

    /// Where this app's storage layer keeps files (a local directory unless the test asked
    /// for an object store).
    pub fn storage_dir(&self) -> std::path::PathBuf {
        match &self.storage {
            server::config::StorageLocation::Local(dir) => dir.clone(),
            server::config::StorageLocation::S3(_) => panic!("this app keeps its files in an object store"),
        }
    }

    /// The emails the worker has written so far.
    pub fn sent_emails(&self) -> Vec<String> {
        std::fs::read_dir(&self.mail_dir)
            .map(|d| d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect())
            .unwrap_or_default()
    }

    /// A browser talking to the bare address (school chosen by school code).
    pub fn browser(&self) -> Browser {
        self.browser_for_host(None)
    }

    /// A browser talking to `<slug>.<BASE_DOMAIN>` (resolved to this server).
    pub fn browser_for_host(&self, slug: Option<&str>) -> Browser {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let mut builder = http_client().cookie_provider(jar.clone()).redirect(Policy::none());
        let base = match (slug, &self.base_domain) {
            (Some(s), Some(d)) => {
                let host = format!("{s}.{d}");
                builder = builder.resolve(&host, self.addr);
                format!("http://{host}:{}", self.addr.port())
            }
            _ => self.base.clone(),
        };
        // Tests read English: the language cookie a person gets from the switch.
        jar.add_cookie_str("kilele_lang=en", &base.parse::<url::Url>().unwrap());
        let mut headers = HeaderMap::new();
        headers.insert("accept-language", HeaderValue::from_static("en"));
        Browser { client: builder.default_headers(headers).build().unwrap(), jar, origin: base.clone(), base }
    }

    /// Signs in as a demo account; `role` is the part before the @ (admin, teacher, bursar,
    /// parent, student) and `school` a slug, or `None` for the platform owner.
    pub async fn login_as(&self, school: Option<&str>, role: &str) -> Browser {
        let b = match (&self.base_domain, school) {
            (Some(_), Some(s)) => self.browser_for_host(Some(s)),
            _ => self.browser(),
        };
        let email = match school {
            Some(s) => format!("{role}@{s}.test"),
            None => "owner@kilele.test".into(),
        };
        let resp = b.login(school.unwrap_or(""), &email, PASSWORD).await;
        let mut to = redirect_target(&resp).unwrap_or_default();
        assert!(to != "/login", "login as {email} failed");
        if to == "/login/code" {
            let code = self.code_for(&email);
            to = redirect_target(&b.post_form("/login/code", &[("code", &code)]).await).unwrap_or_default();
            assert!(to != "/login/code" && to != "/login", "the code of {email} was refused");
        }
        if to == "/account/two-factor" {
            // Their grace period is over (the test moved the clock on): they set it up, as
            // they would have to.
            self.enrol_two_factor(&b, &email).await;
        }
        b
    }

    /// Sets up two-factor sign-in for the person signed in on `b`, through the pages as they
    /// would (start, read the key, confirm with the password and a first code). Returns the
    /// secret and the ten recovery codes; the test's authenticator remembers the secret.
    pub async fn enrol_two_factor(&self, b: &Browser, email: &str) -> (String, Vec<String>) {
        let page = "/account/two-factor";
        let resp = b.form_to_server_fn("account/two-factor/start", &[], page).await;
        b.assert_form_ok(&resp).await;
        let (_, html) = b.get_text(page).await;
        let secret = between(&html, r#"data-testid="totp-secret""#, "</code>")
            .and_then(|tag| tag.split_once('>').map(|(_, text)| text.to_owned()))
            .unwrap_or_else(|| panic!("no key on the set-up page: {html}"));
        self.authenticators.lock().unwrap().insert(email.to_owned(), (secret.clone(), 0));
        let code = self.code_for(email);
        let resp = b.form_to_server_fn("account/two-factor/confirm", &[("password", PASSWORD), ("code", &code)], page).await;
        assert_eq!(redirect_target(&resp).as_deref(), Some(page));
        let (_, html) = b.get_text(page).await;
        let at = html.find(r#"data-testid="recovery-codes""#).unwrap_or_else(|| panic!("no recovery codes shown: {html}"));
        let codes: Vec<String> = html[at..].split("<li><code>").skip(1).filter_map(|c| c.split('<').next()).map(str::to_owned).collect();
        assert_eq!(codes.len(), 10, "{html}");
        (secret, codes)
    }

    /// The code `email`'s authenticator shows now. A code is good once: when this time
    /// step's code was already sent, the clock moves on to the next step first.
    pub fn code_for(&self, email: &str) -> String {
        let mut apps = self.authenticators.lock().unwrap();
        let (secret, last) = apps.get_mut(email).unwrap_or_else(|| panic!("{email} has no authenticator in this test"));
        let step = |at: chrono::DateTime<chrono::Utc>| at.timestamp() / 30;
        while step(kilele::clock::Clock::now(&*self.clock)) <= *last {
            self.clock.advance(chrono::Duration::seconds(30));
        }
        let now = kilele::clock::Clock::now(&*self.clock);
        *last = step(now);
        kilele::identity::two_factor::code_at(secret, now).unwrap()
    }
}

/// The text between `start` and the next `end` in `html`.
pub fn between(html: &str, start: &str, end: &str) -> Option<String> {
    let from = html.find(start)? + start.len();
    Some(html[from..].split(end).next()?.to_owned())
}

impl Browser {
    /// The error block a form post left for the page it was sent back to (read, and so
    /// consumed, with a GET of that page), or `None` when it went through. Errors never
    /// travel in the URL.
    pub async fn form_errors_after(&self, resp: &reqwest::Response) -> Option<String> {
        let back = redirect_target(resp).unwrap_or_else(|| panic!("a form post is redirected, got {}", resp.status()));
        assert!(!back.contains("__err") && !back.contains("error="), "an error in the URL: {back}");
        let (_, html) = self.get_text(&back).await;
        let at = html.find(r#"data-testid="form-errors""#)?;
        Some(html[at..(at + 800).min(html.len())].to_owned())
    }

    /// Asserts that a form post went through: back to its page, and that page shows no error.
    pub async fn assert_form_ok(&self, resp: &reqwest::Response) {
        if let Some(errors) = self.form_errors_after(resp).await {
            panic!("the form post was refused: {errors}");
        }
    }

    /// `path` is a path on this site, or a full URL (as in a Location header).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        let url = if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base) };
        self.client.get(url).send().await.unwrap()
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }

    /// `path` once `settled` holds for its status and body (at most 5 s), or its last answer.
    /// For a change made behind the app's back (the owner's connection): it reaches the
    /// server's principal cache through a notification sent at commit, milliseconds later.
    pub async fn get_text_once(&self, path: &str, settled: impl Fn(u16, &str) -> bool) -> (u16, String) {
        let mut answer = self.get_text(path).await;
        for _ in 0..100 {
            if settled(answer.0, &answer.1) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            answer = self.get_text(path).await;
        }
        answer
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client.post(format!("{}{path}", self.base)).header(ORIGIN, &self.origin).form(form).send().await.unwrap()
    }

    /// Calls a server function the way the browser's fetch does (JSON reply).
    pub async fn server_fn(&self, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}/api/{endpoint}", self.base))
            .header(ORIGIN, &self.origin)
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Posts a plain HTML form to a server function, as a browser without JavaScript does
    /// (it answers with a redirect back to `from`).
    pub async fn form_to_server_fn(&self, endpoint: &str, form: &[(&str, &str)], from: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/api/{endpoint}", self.base))
            .header(ORIGIN, &self.origin)
            .header("accept", "text/html,application/xhtml+xml")
            .header("referer", format!("{}{from}", self.base))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, school_code: &str, email: &str, password: &str) -> reqwest::Response {
        self.post_form("/login", &[("school_code", school_code), ("email", email), ("password", password)]).await
    }

    /// The `Cookie` header this browser would send.
    pub fn cookie_header(&self) -> String {
        use reqwest::cookie::CookieStore;
        let url: url::Url = self.base.parse().unwrap();
        self.jar.cookies(&url).and_then(|v| v.to_str().ok().map(str::to_owned)).unwrap_or_default()
    }

    pub fn session_id(&self) -> Option<String> {
        self.cookie_header()
            .split(';')
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == "kilele_session")
            .map(|(_, v)| v.to_owned())
    }
}

/// What a cross-tenant attempt is: a request made with school A's session for a resource of
/// school B.
pub struct CrossTenantRequest<'a> {
    pub method: reqwest::Method,
    pub path: &'a str,
    pub form: &'a [(&'a str, &'a str)],
}

/// Asserts that `req`, made while signed in to school `a` as `role` but addressed to school
/// `b` (by subdomain, carrying A's session cookie), is refused and shows none of `b_marker`.
/// Every module with tenant-scoped pages or server functions uses this.
pub async fn assert_cross_tenant_refused(app: &TestApp, a: &str, role: &str, b: &str, req: CrossTenantRequest<'_>, b_marker: &str) {
    assert!(app.base_domain.is_some(), "cross-tenant checks need spawn_app_with(base_domain)");
    let signed_in = app.login_as(Some(a), role).await;
    // Carry A's cookie to B's host, as an attacker who copied it would.
    let cookie = signed_in.cookie_header();
    assert!(cookie.contains("kilele_session="), "no session cookie after signing in to {a}");
    let b_host = format!("{b}.{}", app.base_domain.as_deref().unwrap());
    let client = http_client().redirect(Policy::none()).resolve(&b_host, app.addr).build().unwrap();
    let url = format!("http://{b_host}:{}{}", app.addr.port(), req.path);
    let origin = format!("http://{b_host}:{}", app.addr.port());
    let resp = client
        .request(req.method.clone(), url)
        .header("cookie", cookie)
        .header(ORIGIN, origin)
        .header("accept", "application/json")
        .form(req.form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap();
    assert!(matches!(status, 401 | 403 | 404), "{} {} as {role}@{a} on {b}'s host: expected refusal, got {status}", req.method, req.path);
    assert!(!body.contains(b_marker), "{} {} leaked {b}'s data", req.method, req.path);
}

/// A fresh, empty bucket on the S3-compatible server that `scripts/test` starts (moto), as a
/// storage location with `prefix`. Fails, saying what is missing, when there is no server.
pub async fn s3_bucket(prefix: &str) -> server::config::StorageLocation {
    let endpoint = std::env::var("KILELE_TEST_S3_ENDPOINT").unwrap_or_else(|_| {
        panic!("KILELE_TEST_S3_ENDPOINT is not set: the object-store tests need an S3-compatible server (scripts/test starts moto_server and sets it)")
    });
    kilele::storage::install_crypto_provider();
    let bucket = format!("kilele-t-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    // moto creates buckets without a signature; a real server would need one.
    let r = http_client()
        .build()
        .unwrap()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("the S3 server at {endpoint} does not answer: {e}"));
    assert!(r.status().is_success(), "creating bucket {bucket}: {}", r.status());
    server::config::StorageLocation::S3(kilele::storage::S3Settings {
        bucket,
        prefix: prefix.into(),
        endpoint: Some(endpoint),
        region: "us-east-1".into(),
        access_key_id: "kilele-test".into(),
        secret_access_key: "kilele-test-secret".into(),
    })
}

/// Every test's HTTP client starts here. Plain http to the test server: no trusted roots to
/// load (reqwest has TLS for the object store, and reading the system's roots costs tens of
/// ms per client, which a test that opens a hundred browsers at once would feel).
///
/// Every request is bounded too: a request the server never answers fails its test with the
/// address it asked for, instead of stalling the whole run.
pub fn http_client() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_certs_only(std::iter::empty::<reqwest::Certificate>()).timeout(std::time::Duration::from_secs(120))
}

/// A "pay now" push of the school's demo parent for `student` (the school's M-Pesa channel
/// opened for it), made the way `portal/fees/pay` records one, without calling a wallet.
pub async fn push_for(app: &TestApp, tenant: uuid::Uuid, student: uuid::Uuid) -> uuid::Uuid {
    let pii = kilele::audit::pii::KeyRing::development();
    let parent: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE tenant_id = $1 AND email LIKE 'parent@%'")
        .bind(tenant)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    let mut tx = kilele::db::tenant_tx(&app.pool, kilele::tenancy::TenantId(tenant)).await.unwrap();
    let actor = kilele::audit::Actor::system("test");
    let at = kilele::clock::Clock::now(&*app.clock);
    let by = || kilele::identity::store::ChangedBy { actor: &actor, at };
    let creds = r#"{"api_key":"test-key","service_provider_code":"171717"}"#;
    kilele::payments::pushes::set_wallet(&mut tx, &pii, kilele::payments::Provider::Mpesa, creds, &[], by()).await.unwrap();
    let new = kilele::payments::pushes::NewPush {
        provider: kilele::payments::Provider::Mpesa,
        student_id: student,
        requested_by: parent,
        phone: "0712345678".into(),
        amount: "1000".into(),
    };
    let push = kilele::payments::pushes::begin(&mut tx, &pii, &new, by()).await.unwrap();
    tx.commit().await.unwrap();
    push.id
}
