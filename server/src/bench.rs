//! `kilele bench pages`: every portal's home against the plain `/healthz` handler, in the same
//! run on the same machine, on a scratch database with a 2,000-student school.
//!
//! Two measurements per page:
//! - closed loop: `concurrency` clients send requests back to back for `seconds`, a second
//!   of the page and a second of `/healthz` in turn (throughput, and its ratio to `/healthz`
//!   measured in the same turns: both see the same machine, however busy it is);
//! - open loop at a fixed rate (default 200 requests/s): each request starts at its scheduled
//!   time whether or not earlier ones finished, and its latency counts from that time, so a
//!   slow server cannot hide its queue (no coordinated omission). p50 and p99.
//!
//! `kilele bench marks-save`: saving one assessment's column of a sheet as the demo teacher,
//! request to response (checked, written, audited, committed), against `/healthz` and reading
//! the sheet, interleaved in the same run; p50, p95, max and their ratios.
//!
//! Both build a scratch database, seed the demo schools into it and serve it on a loopback
//! port. Figures are printed, never asserted: they depend on the machine.

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
    /// Only the targets whose label contains this (the baseline always runs).
    pub only: Option<String>,
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
    /// `/healthz` in the turns between this page's.
    healthz: f64,
    errors: usize,
    p50: Duration,
    p99: Duration,
}

pub async fn pages(mut config: Config, options: Options) -> anyhow::Result<()> {
    let scratch = Scratch::create(&config).await?;
    let result = async {
        let served = seed_and_serve(&mut config, options.scale, &scratch).await?;
        let result = measure_pages(&served, &options).await;
        served.stop().await;
        result
    }
    .await;
    scratch.drop().await;
    result
}

/// A scratch database on the configured PostgreSQL server, dropped when the bench ends.
pub(crate) struct Scratch {
    admin: PgConnection,
    server_url: url::Url,
    db: String,
}

impl Scratch {
    pub(crate) async fn create(config: &Config) -> anyhow::Result<Self> {
        let owner_url = config.owner_url()?.to_owned();
        let db = format!("kilele_bench_{}", std::process::id());
        let mut server_url = url::Url::parse(&owner_url).context("DATABASE_URL is not a URL")?;
        server_url.set_path("/postgres");
        let mut admin = PgConnection::connect(server_url.as_str()).await.context("connecting to the PostgreSQL server as the owner")?;
        kilele::databases::create(&mut admin, &db).await?;
        Ok(Self { admin, server_url, db })
    }

    pub(crate) async fn drop(mut self) {
        let _ = kilele::databases::drop(&mut self.admin, &self.db).await;
    }
}

/// The server under measurement, on a loopback port.
pub(crate) struct Served {
    pub(crate) addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Served {
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}

/// Migrates the scratch database, seeds the demo schools (`scale` times their students) and
/// starts the server on it, schools on their own hosts.
pub(crate) async fn seed_and_serve(config: &mut Config, scale: usize, scratch: &Scratch) -> anyhow::Result<Served> {
    seed_scratch(config, scale, scratch).await?;
    let clock: SharedClock = Arc::new(SystemClock);
    let leptos = crate::web::leptos_options(config);
    let state = crate::web::build_state(config.clone(), clock, leptos).await?;
    let listener = tokio::net::TcpListener::bind(config.site_addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::web::serve(state, listener, async {
        let _ = stopped.await;
    }));
    Ok(Served { addr, stop, server })
}

/// Migrates the scratch database, points `config` at it and seeds the demo schools (`scale`
/// times their students).
pub(crate) async fn seed_scratch(config: &mut Config, scale: usize, scratch: &Scratch) -> anyhow::Result<()> {
    let mut owner = scratch.server_url.clone();
    owner.set_path(&format!("/{}", scratch.db));
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
    let report = seed::demo_scaled(&owner_pool, &seed_pool, &config.pii, false, scale).await?;
    seed_pool.close().await;
    owner_pool.close().await;
    let mut owner_conn = PgConnection::connect(owner.as_str()).await?;
    kilele::databases::settle(&mut owner_conn).await?;
    owner_conn.close().await?;
    for (school, students) in &report.schools {
        println!("seeded {school}: {students} students");
    }
    println!("(seeding took {:.1} s)", started.elapsed().as_secs_f64());
    Ok(())
}

/// The host and base URL a target is served under.
fn host_and_base(target: &Target, addr: std::net::SocketAddr) -> (String, String) {
    let host = match target.account {
        Some((school, _)) if !school.is_empty() => format!("{school}.{BENCH_DOMAIN}"),
        _ => BENCH_DOMAIN.to_owned(),
    };
    let base = format!("http://{host}:{}", addr.port());
    (host, base)
}

async fn measure_pages(served: &Served, options: &Options) -> anyhow::Result<()> {
    let addr = served.addr;
    let baseline_target = &TARGETS[0];
    let (host, base) = host_and_base(baseline_target, addr);
    let baseline_client = signed_in_client(&base, &host, addr, baseline_target).await?;
    let baseline_url = format!("{base}{}", baseline_target.path);
    let mut rows = Vec::new();
    let wanted = |t: &Target| options.only.as_deref().is_none_or(|o| t.label.contains(o));
    for target in TARGETS.iter().skip(1).filter(|t| wanted(t)) {
        // On stderr as each starts, so a profiler can be pointed at one page.
        eprintln!(
            "bench pages: {} ({} s closed loop interleaved with /healthz, then {} s at {} requests/s)",
            target.label, options.seconds, options.seconds, options.rate
        );
        let (host, base) = host_and_base(target, addr);
        let client = signed_in_client(&base, &host, addr, target).await?;
        let url = format!("{base}{}", target.path);
        // Warm up: connections, caches, the first query plans.
        for _ in 0..20 {
            let _ = client.get(&url).send().await?.bytes().await?;
            let _ = baseline_client.get(&baseline_url).send().await?.bytes().await?;
        }
        // The page and the baseline take turns, a second each, so both see the same machine
        // (other work on it comes and goes); the ratio is of their totals.
        let (mut page, mut healthz, mut errors) = (0.0, 0.0, 0);
        for _ in 0..options.seconds.max(1) {
            let (b, e1) = closed_loop(&baseline_client, &baseline_url, options.concurrency, Duration::from_secs(1)).await;
            let (p, e2) = closed_loop(&client, &url, options.concurrency, Duration::from_secs(1)).await;
            healthz += b;
            page += p;
            errors += e1 + e2;
        }
        let rounds = options.seconds.max(1) as f64;
        let (p50, p99, open_errors) = open_loop(&client, &url, options.rate, Duration::from_secs(options.seconds)).await;
        rows.push(Row {
            label: target.label,
            throughput: page / rounds,
            healthz: healthz / rounds,
            errors: errors + open_errors,
            p50,
            p99,
        });
    }

    println!();
    println!(
        "kilele bench pages: {} clients closed loop for {} s, a second at a time in turn with /healthz; open loop at {} requests/s for {} s",
        options.concurrency, options.seconds, options.rate, options.seconds
    );
    println!(
        "{:<22} {:>10} {:>12} {:>10} {:>10} {:>10} {:>7}",
        "page", "req/s", "healthz req/s", "vs healthz", "p50 ms", "p99 ms", "errors"
    );
    for r in &rows {
        println!(
            "{:<22} {:>10.0} {:>12.0} {:>9.1}% {:>10.2} {:>10.2} {:>7}",
            r.label,
            r.throughput,
            r.healthz,
            100.0 * r.throughput / r.healthz.max(f64::EPSILON),
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

/// `kilele bench marks-save`: what one autosave of a whole column costs end to end.
#[derive(Debug, Clone)]
pub struct MarksSaveOptions {
    /// Students per stream are multiplied by this (2: streams of 100).
    pub scale: usize,
    /// Saves timed (and as many `/healthz` and sheet reads).
    pub runs: usize,
    /// Students in the column saved: the sheet's first this many (all, if it has fewer).
    pub students: usize,
}

const TEACHER: Target = Target { label: "teacher", account: Some((SCHOOL, "teacher@kilimanjaro-hills.test")), path: "/teacher/marks" };

/// Seeds a scratch school, signs in as the demo teacher and times saving one assessment's
/// column of one of the teacher's sheets (every value changed each time, so every save writes
/// and audits every cell), request to response: the server answers after the commit, so
/// the time includes checking, writing and the audit append. Baselines from the same run,
/// interleaved with the saves so that they share the machine's conditions: `GET /healthz`
/// and reading the sheet as the grid does (`POST /api/results/sheet`).
pub async fn marks_save(mut config: Config, options: MarksSaveOptions) -> anyhow::Result<()> {
    if options.runs == 0 || options.students == 0 {
        bail!("--runs and --students must be at least 1");
    }
    let scratch = Scratch::create(&config).await?;
    let result = async {
        let served = seed_and_serve(&mut config, options.scale, &scratch).await?;
        let result = measure_marks_save(&served, &config, &options).await;
        served.stop().await;
        result
    }
    .await;
    scratch.drop().await;
    result
}

/// Sends a request and reads the whole answer: the time from sending to its last byte, and
/// the body, refused unless the status is a success.
async fn timed(request: reqwest::RequestBuilder, what: &str) -> anyhow::Result<(Duration, Vec<u8>)> {
    let started = Instant::now();
    let resp = request.send().await?;
    let status = resp.status();
    let body = resp.bytes().await?;
    let took = started.elapsed();
    if !status.is_success() {
        bail!("{what}: status {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok((took, body.to_vec()))
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> anyhow::Result<T> {
    serde_json::from_slice(body).with_context(|| format!("{what}: unexpected answer"))
}

/// A server function's request, as the pages' scripts send it.
fn api(client: &reqwest::Client, base: &str, endpoint: &str) -> reqwest::RequestBuilder {
    client.post(format!("{base}/api/{endpoint}")).header(reqwest::header::ORIGIN, base).header(reqwest::header::ACCEPT, "application/json")
}

async fn measure_marks_save(served: &Served, config: &Config, options: &MarksSaveOptions) -> anyhow::Result<()> {
    use kilele::results::entry::{CellSave, SaveReport};
    let addr = served.addr;
    let (host, base) = host_and_base(&TEACHER, addr);
    let client = signed_in_client(&base, &host, addr, &TEACHER).await?;

    // The teacher's sheets of the current term: the one with the most students (the first
    // such, in the overview's order).
    let (_, body) = timed(api(&client, &base, "teacher/marks"), "listing the teacher's sheets").await?;
    let mine: app::api::results::TermSheets = parse(&body, "listing the teacher's sheets")?;
    let Some(term) = mine.term_id else { bail!("the demo school has no current term") };
    // `rev`: of equals, `max_by_key` keeps the last, so the overview's first.
    let Some(summary) = mine.sheets.iter().rev().max_by_key(|s| s.students) else { bail!("the demo teacher has no sheets") };
    let (stream, subject) = (summary.stream_id, summary.subject_id);
    let form = vec![("term", term.to_string()), ("stream", stream.to_string()), ("subject", subject.to_string())];
    let (_, body) = timed(api(&client, &base, "results/sheet").form(&form), "reading the sheet").await?;
    let view: kilele::results::entry::SheetView = parse(&body, "reading the sheet")?;
    if !view.can_edit {
        bail!("the demo teacher cannot edit {} {}", view.class_name, view.subject_en);
    }
    let Some(assessment) = view.assessments.assessments().first() else { bail!("the sheet has no assessments") };
    let (key, max) = (assessment.key.clone(), usize::from(assessment.max));
    let students: Vec<uuid::Uuid> = view.rows.iter().take(options.students).map(|r| r.student_id).collect();
    let mut revisions: std::collections::HashMap<uuid::Uuid, i32> = students.iter().map(|s| (*s, 0)).collect();
    for row in &view.rows {
        if let (Some(r), Some(Some(e))) = (revisions.get_mut(&row.student_id), row.entries.first()) {
            *r = e.revision;
        }
    }

    // Save `n`: every student's mark differs from save `n − 1`'s (two values alternate).
    let save = |n: usize, revisions: &std::collections::HashMap<uuid::Uuid, i32>| {
        let cells: Vec<CellSave> = students
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mark = (30 + (i * 7) % 50 + n % 2) % (max + 1);
                CellSave {
                    student: *s,
                    assessment: key.clone(),
                    value: mark.to_string(),
                    base_revision: revisions.get(s).copied().unwrap_or(0),
                }
            })
            .collect();
        serde_json::json!({ "term": term, "stream": stream, "subject": subject, "cells": cells, "reason": null })
    };
    let mut save_number = 0usize;
    let mut one_save = async |revisions: &mut std::collections::HashMap<uuid::Uuid, i32>| -> anyhow::Result<Duration> {
        let body = serde_json::to_vec(&save(save_number, revisions))?;
        save_number += 1;
        let request = api(&client, &base, "results/save").header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
        let (took, answer) = timed(request, "saving the column").await?;
        let report: SaveReport = parse(&answer, "saving the column")?;
        if !report.conflicts.is_empty() || report.saved.len() != students.len() {
            bail!("a save did not write every cell: {} saved, {} conflicts", report.saved.len(), report.conflicts.len());
        }
        for cell in report.saved {
            // Written, not "already so": the revision moved on by one.
            let before = revisions.insert(cell.student, cell.revision).unwrap_or(0);
            if cell.revision != before + 1 {
                bail!("a cell was not written: revision {before} → {}", cell.revision);
            }
        }
        Ok(took)
    };
    let healthz = format!("{base}/healthz");
    let time_healthz = async || -> anyhow::Result<Duration> { Ok(timed(client.get(&healthz), "GET /healthz").await?.0) };
    let time_read = async || -> anyhow::Result<Duration> {
        let (took, body) = timed(api(&client, &base, "results/sheet").form(&form), "reading the sheet").await?;
        let _: kilele::results::entry::SheetView = parse(&body, "reading the sheet")?;
        Ok(took)
    };

    // Warm up: connections, caches, the first query plans, the sheet's first entries (the
    // first save of a sheet also writes the term's setup and the sheet's row).
    for _ in 0..5 {
        one_save(&mut revisions).await?;
        time_healthz().await?;
        time_read().await?;
    }
    // The school's audit chain before and after, read as the application role.
    let pool = PgPoolOptions::new().max_connections(1).connect(&config.app_database_url).await?;
    let slug = kilele::tenancy::TenantSlug::parse(SCHOOL).map_err(|e| anyhow::anyhow!("{SCHOOL}: {e:?}"))?;
    let tenant = kilele::tenancy::store::find_by_slug(&pool, &slug).await?.context("the demo school is missing")?.id;
    let (entries_before, _) = kilele::audit::verify_tenant(&pool, tenant, &config.audit_key).await?;

    let (mut saves, mut healths, mut reads) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..options.runs {
        healths.push(time_healthz().await?);
        reads.push(time_read().await?);
        saves.push(one_save(&mut revisions).await?);
    }

    // Every timed save was audited: one entry each, the chain intact, every mark what the log
    // last recorded for it.
    let (entries_after, breaks) = kilele::audit::verify_tenant(&pool, tenant, &config.audit_key).await?;
    if !breaks.is_empty() {
        bail!("the audit chain is broken: {breaks:?}");
    }
    let appended = entries_after.saturating_sub(entries_before);
    if appended != options.runs {
        bail!("{} saves appended {appended} audit entries", options.runs);
    }
    let mut tx = kilele::db::tenant_tx(&pool, tenant).await?;
    let mismatches = kilele::results::db::verify_marks(&mut tx).await?;
    tx.rollback().await?;
    if !mismatches.is_empty() {
        bail!("{} marks differ from the audit log", mismatches.len());
    }
    pool.close().await;

    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    println!();
    println!(
        "kilele bench marks-save ({build} build): {} sequential saves of one column ({key}, {} of {} students) of {} {}, \
         each changing every value (written and audited); {} GET /healthz and {} sheet reads interleaved with them",
        options.runs,
        students.len(),
        view.rows.len(),
        view.class_name,
        view.subject_en,
        options.runs,
        options.runs
    );
    let (h, r, s) = (Summary::of(&mut healths), Summary::of(&mut reads), Summary::of(&mut saves));
    println!("{:<28} {:>9} {:>9} {:>9}", "request", "p50 ms", "p95 ms", "max ms");
    for (label, x) in [("GET /healthz (baseline)", &h), ("read the sheet (baseline)", &r), ("save the column", &s)] {
        println!("{label:<28} {:>9.2} {:>9.2} {:>9.2}", ms(x.p50), ms(x.p95), ms(x.max));
    }
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(f64::EPSILON);
    println!("{:<28} {:>8.1}x {:>8.1}x {:>8.1}x", "save / healthz", ratio(s.p50, h.p50), ratio(s.p95, h.p95), ratio(s.max, h.max));
    println!("{:<28} {:>8.1}x {:>8.1}x {:>8.1}x", "save / read", ratio(s.p50, r.p50), ratio(s.p95, r.p95), ratio(s.max, r.max));
    println!("audit: {appended} entries appended by the {} saves, chain intact, every mark matches its last audited value", options.runs);
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// p50, p95 (nearest rank) and the maximum.
struct Summary {
    p50: Duration,
    p95: Duration,
    max: Duration,
}

impl Summary {
    fn of(times: &mut [Duration]) -> Self {
        times.sort();
        let rank = |p: f64| -> Duration {
            let n = times.len();
            if n == 0 {
                return Duration::ZERO;
            }
            let idx = ((n as f64 * p).ceil() as usize).clamp(1, n) - 1;
            times.get(idx).copied().unwrap_or_default()
        };
        Self { p50: rank(0.50), p95: rank(0.95), max: times.last().copied().unwrap_or_default() }
    }
}
