//! `kilele bench pages`: every portal's home against the plain `/healthz` handler, in the same
//! run on the same machine, on a scratch database with a 2,000-student school.
//!
//! Two measurements per page:
//! - closed loop: `concurrency` clients send requests back to back for `seconds`
//!   (throughput, and its ratio to `/healthz`);
//! - open loop at a fixed rate (default 200 requests/s): each request starts at its scheduled
//!   time whether or not earlier ones finished, and its latency counts from that time, so a
//!   slow server cannot hide its queue (no coordinated omission). p50 and p99.
//!
//! Figures are printed, never asserted: they depend on the machine.

use crate::config::Config;
use crate::seed;
use anyhow::{bail, Context};
use kilele::clock::{SharedClock, SystemClock};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Options {
    /// Students per stream are multiplied by this (5 gives Kilimanjaro Hills 2,000 students).
    pub scale: usize,
    pub seconds: u64,
    pub rate: u32,
    pub concurrency: usize,
}

/// One page to measure: who is signed in, and where.
struct Target {
    label: &'static str,
    /// `None`: no sign-in. `Some(("", email))`: platform staff.
    account: Option<(&'static str, &'static str)>,
    path: &'static str,
}

const SCHOOL: &str = "kilimanjaro-hills";

/// The base domain the benchmark serves schools under; every host resolves to the server.
const BENCH_DOMAIN: &str = "kilele.bench";

const TARGETS: [Target; 8] = [
    Target { label: "/healthz (baseline)", account: None, path: "/healthz" },
    // A page with no session and no data: what rendering alone costs.
    Target { label: "sign-in page", account: None, path: "/login" },
    Target { label: "owner home", account: Some(("", seed::OWNER_EMAIL)), path: "/owner" },
    Target { label: "admin home", account: Some((SCHOOL, "admin@kilimanjaro-hills.test")), path: "/admin" },
    Target { label: "teacher home", account: Some((SCHOOL, "teacher@kilimanjaro-hills.test")), path: "/teacher" },
    Target { label: "accountant home", account: Some((SCHOOL, "bursar@kilimanjaro-hills.test")), path: "/accountant" },
    Target { label: "parent home", account: Some((SCHOOL, "parent@kilimanjaro-hills.test")), path: "/portal" },
    Target { label: "student home", account: Some((SCHOOL, "student@kilimanjaro-hills.test")), path: "/portal" },
];

struct Row {
    label: &'static str,
    throughput: f64,
    errors: usize,
    p50: Duration,
    p99: Duration,
}

pub async fn pages(mut config: Config, options: Options) -> anyhow::Result<()> {
    let owner_url = config.owner_url()?.to_owned();
    let db = format!("kilele_bench_{}", std::process::id());
    let mut server_url = url::Url::parse(&owner_url).context("DATABASE_URL is not a URL")?;
    server_url.set_path("/postgres");
    let mut admin = PgConnection::connect(server_url.as_str()).await.context("connecting to the PostgreSQL server as the owner")?;
    kilele::databases::create(&mut admin, &db).await?;
    let result = run(&mut config, &options, &server_url, &db).await;
    let _ = kilele::databases::drop(&mut admin, &db).await;
    result
}

async fn run(config: &mut Config, options: &Options, server_url: &url::Url, db: &str) -> anyhow::Result<()> {
    let mut owner = server_url.clone();
    owner.set_path(&format!("/{db}"));
    crate::cli::migrate(owner.as_str()).await?;
    let app_url = crate::config::derive_app_url(owner.as_str())?;
    config.database_url = Some(owner.to_string());
    config.app_database_url = app_url.clone();
    config.worker_database_url = crate::config::derive_worker_url(owner.as_str())?;
    config.site_addr = "127.0.0.1:0".parse()?;
    // Schools on their own hosts, as in production (`<school>.<BASE_DOMAIN>`): the request
    // context then resolves the school from the host, which is the path worth measuring.
    config.base_domain = Some(BENCH_DOMAIN.to_owned());
    config.public_url = None;

    let seed_pool = PgPoolOptions::new().max_connections(2).connect(&app_url).await?;
    let owner_pool = PgPoolOptions::new().max_connections(1).connect(owner.as_str()).await?;
    let started = Instant::now();
    let report = seed::demo_scaled(&owner_pool, &seed_pool, &config.pii, false, options.scale).await?;
    seed_pool.close().await;
    owner_pool.close().await;
    for (school, students) in &report.schools {
        println!("seeded {school}: {students} students");
    }
    println!("(seeding took {:.1} s)", started.elapsed().as_secs_f64());

    let clock: SharedClock = Arc::new(SystemClock);
    let leptos = crate::web::leptos_options(config);
    let state = crate::web::build_state(config.clone(), clock, leptos).await?;
    let listener = tokio::net::TcpListener::bind(config.site_addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::web::serve(state, listener, async {
        let _ = stopped.await;
    }));

    let mut rows = Vec::new();
    for target in &TARGETS {
        let host = match target.account {
            Some((school, _)) if !school.is_empty() => format!("{school}.{BENCH_DOMAIN}"),
            _ => BENCH_DOMAIN.to_owned(),
        };
        let base = format!("http://{host}:{}", addr.port());
        let client = signed_in_client(&base, &host, addr, target).await?;
        let url = format!("{base}{}", target.path);
        // Warm up: connections, caches, the first query plans.
        for _ in 0..20 {
            let _ = client.get(&url).send().await?.bytes().await?;
        }
        let (throughput, errors) = closed_loop(&client, &url, options.concurrency, Duration::from_secs(options.seconds)).await;
        let (p50, p99, open_errors) = open_loop(&client, &url, options.rate, Duration::from_secs(options.seconds)).await;
        rows.push(Row { label: target.label, throughput, errors: errors + open_errors, p50, p99 });
    }
    let _ = stop.send(());
    let _ = server.await;

    let baseline = rows.first().map(|r| r.throughput).unwrap_or(1.0).max(f64::EPSILON);
    println!();
    println!(
        "kilele bench pages: {} clients closed loop for {} s; open loop at {} requests/s for {} s",
        options.concurrency, options.seconds, options.rate, options.seconds
    );
    println!("{:<22} {:>10} {:>10} {:>10} {:>10} {:>7}", "page", "req/s", "vs healthz", "p50 ms", "p99 ms", "errors");
    for r in &rows {
        println!(
            "{:<22} {:>10.0} {:>9.1}% {:>10.2} {:>10.2} {:>7}",
            r.label,
            r.throughput,
            100.0 * r.throughput / baseline,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3,
            r.errors
        );
    }
    if rows.iter().any(|r| r.errors > 0) {
        bail!("some requests failed (see the errors column)");
    }
    Ok(())
}

async fn signed_in_client(base: &str, host: &str, addr: std::net::SocketAddr, target: &Target) -> anyhow::Result<reqwest::Client> {
    let client = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).resolve(host, addr).build()?;
    if let Some((school, email)) = target.account {
        let resp = client
            .post(format!("{base}/login"))
            .header(reqwest::header::ORIGIN, base)
            .form(&[("school_code", school), ("email", email), ("password", seed::DEMO_PASSWORD)])
            .send()
            .await?;
        let to = resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        if to.is_empty() || to == "/login" {
            bail!("signing in as {email} failed (status {})", resp.status());
        }
    }
    Ok(client)
}

async fn closed_loop(client: &reqwest::Client, url: &str, concurrency: usize, duration: Duration) -> (f64, usize) {
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, url) = (client.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut errors) = (0usize, 0usize);
            while Instant::now() < deadline {
                match fetch(&client, &url).await {
                    true => ok += 1,
                    false => errors += 1,
                }
            }
            (ok, errors)
        }));
    }
    let (mut ok, mut errors) = (0, 0);
    for t in tasks {
        if let Ok((o, e)) = t.await {
            ok += o;
            errors += e;
        }
    }
    (ok as f64 / started.elapsed().as_secs_f64(), errors)
}

async fn open_loop(client: &reqwest::Client, url: &str, rate: u32, duration: Duration) -> (Duration, Duration, usize) {
    let count = (u64::from(rate.max(1)) * duration.as_secs()).max(1);
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for i in 0..count {
        let scheduled = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled).await;
        let (client, url) = (client.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            let ok = fetch(&client, &url).await;
            (scheduled.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut errors = 0;
    for t in tasks {
        match t.await {
            Ok((latency, true)) => latencies.push(latency),
            _ => errors += 1,
        }
    }
    latencies.sort();
    let pct = |p: f64| -> Duration {
        if latencies.is_empty() {
            return Duration::ZERO;
        }
        let idx = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[idx]
    };
    (pct(0.50), pct(0.99), errors)
}

async fn fetch(client: &reqwest::Client, url: &str) -> bool {
    match client.get(url).send().await {
        Ok(resp) if resp.status().is_success() => resp.bytes().await.is_ok(),
        _ => false,
    }
}
