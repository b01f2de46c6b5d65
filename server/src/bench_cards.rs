//! `kilele bench report-cards`: a school's report cards through the real pipeline (batches
//! requested as the admin's button does, the worker's claim-and-run loop, typst, the storage
//! layer, one commit per card, the ZIP), against printing the same card as HTML through
//! Debian's headless Chromium, in the same run on the same machine:
//! - a fresh `chromium --headless --print-to-pdf` per card (two at once: one per core);
//! - one browser kept open (playwright-core `page.pdf`, two pages at once), by
//!   `end2end/print-cards.mjs`.
//!
//! Also typst alone, one card at a time on one thread, and the browser's kept-open figure
//! per card, so the like-for-like ratio is printed next to the pipeline's. The worker's peak
//! RSS is the process's high-water mark, reset (`/proc/self/clear_refs`) just before the
//! batch starts. Figures are printed, never asserted.

use crate::bench::Scratch;
use crate::config::{Config, StorageLocation};
use anyhow::{bail, Context};
use kilele::identity::store::ChangedBy;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Options {
    /// Cards to print at least (whole classes, in teaching order, until this many).
    pub students: usize,
    /// Cards printed by a fresh Chromium each.
    pub fresh: usize,
    /// Cards printed by the kept-open browser.
    pub kept: usize,
}

const SCHOOL: &str = "kilimanjaro-hills";

pub async fn report_cards(mut config: Config, options: Options) -> anyhow::Result<()> {
    if options.students == 0 || options.fresh == 0 || options.kept == 0 {
        bail!("--students, --fresh and --kept must be at least 1");
    }
    let chromium = PathBuf::from(std::env::var("KILELE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    if !chromium.exists() {
        bail!(
            "Chromium not found at {}: install the Debian package chromium (scripts/test does) or set KILELE_CHROMIUM",
            chromium.display()
        );
    }
    let work = std::env::temp_dir().join(format!("kilele-bench-cards-{}", std::process::id()));
    let scratch = Scratch::create(&config).await?;
    let result = run(&mut config, &options, &scratch, &work, &chromium).await;
    scratch.drop().await;
    let _ = tokio::fs::remove_dir_all(&work).await;
    result
}

struct Pipeline {
    cards: u32,
    failed: u32,
    classes: usize,
    elapsed: Duration,
    peak_rss_kb: Option<u64>,
}

async fn run(config: &mut Config, options: &Options, scratch: &Scratch, work: &Path, chromium: &Path) -> anyhow::Result<()> {
    crate::bench::seed_scratch(config, options.students.div_ceil(400).max(1), scratch).await?;
    config.storage = StorageLocation::Local(work.join("storage"));
    let pipeline = pipeline(config, options.students).await?;
    let sizes = pdf_sizes(&work.join("storage"))?;

    // Typst alone on the sample card, one at a time, on one thread.
    let renderer = documents::Renderer::new()?;
    let sample = documents::ReportCard::sample();
    for _ in 0..3 {
        renderer.report_card(&sample)?;
    }
    let runs = 40_u32;
    let started = Instant::now();
    for _ in 0..runs {
        renderer.report_card(&sample)?;
    }
    let typst_one = started.elapsed() / runs;

    // The same card as HTML, printed by Chromium.
    let html_dir = work.join("html");
    std::fs::create_dir_all(&html_dir)?;
    let count = options.fresh.max(options.kept);
    for i in 0..count {
        let mut card = documents::ReportCard::sample();
        card.student.name = format!("{} {i}", card.student.name);
        std::fs::write(html_dir.join(format!("card-{i:05}.html")), documents::html::report_card_html(&card))?;
    }
    let fresh = chromium_fresh(chromium, &html_dir, options.fresh).await?;
    let (kept_total, kept_one) = chromium_kept(chromium, &html_dir, options.kept).await?;

    let rate = |n: f64, d: Duration| n / d.as_secs_f64().max(f64::EPSILON);
    let pipeline_rate = rate(f64::from(pipeline.cards), pipeline.elapsed);
    let fresh_rate = rate(options.fresh as f64, fresh);
    let kept_rate = rate(options.kept as f64, kept_total);
    println!();
    println!(
        "report cards: {} printed ({} failed) for {} classes of one school, {} cores",
        pipeline.cards,
        pipeline.failed,
        pipeline.classes,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("{:<52} {:>10} {:>12}", "", "cards/s", "ms per card");
    let line = |label: &str, per_s: f64| println!("{label:<52} {per_s:>10.1} {:>12.1}", 1000.0 / per_s.max(f64::EPSILON));
    line("typst: job pipeline + storage (all cores)", pipeline_rate);
    line("typst: render only, one card at a time", rate(1.0, typst_one));
    line(&format!("chromium: fresh process per card ({}, 2 at once)", options.fresh), fresh_rate);
    line(&format!("chromium: kept open, page.pdf ({}, 2 pages)", options.kept), kept_rate);
    line("chromium: kept open, one page, one card at a time", rate(1.0, kept_one));
    println!();
    println!("pipeline / chromium kept open:   {:>8.1}x   (goal >= 12x)", pipeline_rate / kept_rate.max(f64::EPSILON));
    println!("pipeline / chromium fresh:       {:>8.1}x   (goal >= 60x)", pipeline_rate / fresh_rate.max(f64::EPSILON));
    println!(
        "one card, typst / kept-open page: {:>8.1}x   (same card, one thread each)",
        kept_one.as_secs_f64() / typst_one.as_secs_f64().max(f64::EPSILON)
    );
    println!("pipeline: {pipeline_rate:.1} cards/s (goal >= 150), {:.1} s for the batch", pipeline.elapsed.as_secs_f64());
    if let Some((avg, min, max)) = sizes {
        println!("PDF size per card: {:.1} KB on average ({:.1}–{:.1} KB)", avg / 1024.0, min as f64 / 1024.0, max as f64 / 1024.0);
    }
    match pipeline.peak_rss_kb {
        Some(kb) => println!("peak RSS of the worker during the batch: {:.0} MB (goal < 300 MB)", kb as f64 / 1024.0),
        None => println!("peak RSS: not readable here (/proc/self/status)"),
    }
    Ok(())
}

/// Publishes enough classes, asks for their cards as the admin's button does, and runs the
/// worker's loop until the queue is empty.
async fn pipeline(config: &Config, students: usize) -> anyhow::Result<Pipeline> {
    let app = sqlx::postgres::PgPoolOptions::new().max_connections(2).connect(&config.app_database_url).await?;
    let tenant = kilele::tenancy::store::find_by_slug(&app, &kilele::tenancy::TenantSlug::parse(SCHOOL)?)
        .await?
        .context("the demo school is missing")?
        .id;
    let mut tx = kilele::db::tenant_tx(&app, tenant).await?;
    let (term, _) = kilele::results::db::current_term(&mut tx).await?.context("the demo school has no current term")?;
    let levels = kilele::academic::classes::db::levels(&mut tx).await?;
    let user = levels.iter().flat_map(|l| &l.streams).find_map(|s| s.class_teacher_id).context("the demo school has no class teacher")?;
    let actor = kilele::audit::Actor::user(user, "bench");
    let at = chrono::Utc::now();
    let mut chosen = Vec::new();
    let mut covered = 0_usize;
    for level in &levels {
        let n = usize::try_from(level.streams.iter().map(|s| s.students).sum::<i64>()).unwrap_or(0);
        if covered >= students {
            break;
        }
        if n > 0 {
            chosen.push(level.id);
            covered += n;
        }
    }
    let started = Instant::now();
    for level in &chosen {
        kilele::results::db::fill_sample_marks(&mut tx, term, *level, user).await?;
        let w = kilele::results::db::Writer { user, by: ChangedBy { actor: &actor, at }, may_amend: true, may_decide: true };
        kilele::results::db::publish_class(&mut tx, term, *level, w).await?;
    }
    let mut batches = Vec::new();
    for level in &chosen {
        batches
            .push(kilele::reporting::db::request_batch(&mut tx, &config.pii, term, *level, None, ChangedBy { actor: &actor, at }).await?);
    }
    tx.commit().await?;
    println!("{} classes ({covered} students) marked and published in {:.1} s", chosen.len(), started.elapsed().as_secs_f64());

    let worker = crate::cli::worker_for(config, crate::cli::worker_pool(config).await?)?;
    // The process's high-water mark from here on (Linux: "5" resets VmHWM to the current RSS).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let started = Instant::now();
    while crate::worker::run_once(&worker).await? > 0 {}
    let elapsed = started.elapsed();
    let peak_rss_kb = peak_rss_kb();

    let mut tx = kilele::db::tenant_tx(&app, tenant).await?;
    let (mut cards, mut failed) = (0, 0);
    for batch in batches {
        let view = kilele::reporting::db::batch_view(&mut tx, batch).await?;
        if view.status != kilele::reporting::BatchStatus::Done {
            bail!("batch {batch} ended {:?}", view.status);
        }
        cards += view.done;
        failed += view.failed;
    }
    tx.rollback().await?;
    app.close().await;
    Ok(Pipeline { cards, failed, classes: chosen.len(), elapsed, peak_rss_kb })
}

fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Average, smallest and largest PDF under `dir`.
fn pdf_sizes(dir: &Path) -> anyhow::Result<Option<(f64, u64, u64)>> {
    let mut sizes = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "pdf") {
                sizes.push(entry.metadata()?.len());
            }
        }
    }
    let (Some(min), Some(max)) = (sizes.iter().min().copied(), sizes.iter().max().copied()) else { return Ok(None) };
    Ok(Some((sizes.iter().sum::<u64>() as f64 / sizes.len() as f64, min, max)))
}

/// `count` cards, each by a new Chromium process, two at a time. Returns the wall time.
async fn chromium_fresh(chromium: &Path, html: &Path, count: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let lanes: Vec<_> = (0..2)
        .map(|lane| {
            let (chromium, html) = (chromium.to_owned(), html.to_owned());
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                for i in (lane..count).step_by(2) {
                    let page = html.join(format!("card-{i:05}.html"));
                    let out = html.join(format!("fresh-{i:05}.pdf"));
                    let profile = html.join(format!("profile-{lane}"));
                    let status = std::process::Command::new(&chromium)
                        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer", "--no-first-run"])
                        .arg(format!("--user-data-dir={}", profile.display()))
                        .arg(format!("--print-to-pdf={}", out.display()))
                        .arg(format!("file://{}", page.display()))
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null())
                        .status()?;
                    if !status.success() || !out.exists() {
                        bail!("chromium did not print {}", page.display());
                    }
                }
                Ok(())
            })
        })
        .collect();
    for lane in lanes {
        lane.await??;
    }
    Ok(started.elapsed())
}

/// `count` cards through one kept-open browser (end2end/print-cards.mjs): the wall time with
/// two pages at once, and the time per card of one page alone.
async fn chromium_kept(chromium: &Path, html: &Path, count: usize) -> anyhow::Result<(Duration, Duration)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end/print-cards.mjs");
    let (chromium, html) = (chromium.to_owned(), html.to_owned());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(&script)
            .arg(&html)
            .arg(count.to_string())
            .env("KILELE_CHROMIUM", &chromium)
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
            .output()
    })
    .await?
    .context("running node end2end/print-cards.mjs (node and the npm packages: scripts/test installs them)")?;
    if !output.status.success() {
        bail!("end2end/print-cards.mjs failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    #[derive(serde::Deserialize)]
    struct Printed {
        two_pages_ms: f64,
        one_page_ms_per_card: f64,
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let printed: Printed = serde_json::from_str(last).with_context(|| format!("print-cards.mjs said: {stdout}"))?;
    Ok((Duration::from_secs_f64(printed.two_pages_ms / 1e3), Duration::from_secs_f64(printed.one_page_ms_per_card / 1e3)))
}
