//! Where a report card's time goes. In release, with numbers on this machine:
//!
//! ```sh
//! cargo test --release -p documents -- --ignored --nocapture profile_report_cards
//! ```
//!
//! Renders `PROFILE_CARDS` (200) different cards through several renderers (templates with
//! sections removed, PDF and cache settings), in batches that take turns, so that every variant
//! sees the same machine load; prints ms per card for the layout (typst's compilation, the
//! fit-to-page retries included), the PDF export and both, and each variant's total against the
//! first one's. `PROFILE_BASELINE=path/to/report-card.typ` adds that template (e.g. an older
//! one from git) as the baseline; `PROFILE_TRY=/tmp/a.typ,…` adds templates to compare (read at
//! run time, no rebuild); `PROFILE_VARIANTS=a,b` picks variants by name. Timings are printed,
//! never asserted.

use std::time::{Duration, Instant};

use super::*;

/// A variant of the renderer to time.
struct Variant {
    name: String,
    renderer: Renderer,
    compile: Duration,
    pdf: Duration,
    compile_cpu: Duration,
    pdf_cpu: Duration,
    cards: usize,
    bytes: usize,
    retries: usize,
    /// How many layouts (compilations) the cards took.
    compilations: usize,
    /// How many cards fitted at each text size but the first.
    sizes: std::collections::BTreeMap<String, usize>,
    /// Each batch's CPU time per card (layout and PDF), for the median: steadier than the
    /// sum when other work shares the machine.
    batches: Vec<f64>,
}

/// CPU time of the whole process (all threads: typst lays out with rayon), from the
/// scheduler's per-thread nanosecond counters.
fn process_cpu() -> Duration {
    let mut total = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) {
                total += stat.split_whitespace().next().and_then(|ns| ns.parse::<u64>().ok()).unwrap_or(0);
            }
        }
    }
    Duration::from_nanos(total)
}

/// A small deterministic random number generator (xorshift), so that every run times the
/// same cards.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// `n` different cards of one school, as in a class's batch: half English, half Kiswahili,
/// every student with their own name, marks, scores, positions and remarks.
pub(super) fn batch_of_cards(n: usize) -> Vec<ReportCard> {
    const FIRST: &[&str] = &["Neema", "Baraka", "Amani", "Rehema", "Juma", "Zawadi", "Imani", "Hamisi", "Upendo", "Faraji"];
    const MIDDLE: &[&str] = &["Joseph", "Elia", "Musa", "Ramadhani", "Petro", "Saidi", "Yohana", "Athumani"];
    const LAST: &[&str] = &["Mushi", "Kimaro", "Mrema", "Lyimo", "Massawe", "Swai", "Temba", "Shirima", "Mollel", "Urio"];
    const REMARKS_EN: &[&str] = &[
        "Good work; keep it up.",
        "Revise the topics of the second half of the term.",
        "Needs more practice.",
        "Excellent.",
        "Show all working in calculations.",
        "Steady improvement.",
        "Must hand in homework on time.",
        "Capable of much better results with effort.",
    ];
    const REMARKS_SW: &[&str] = &[
        "Kazi nzuri; endelea hivyo.",
        "Rudia mada za nusu ya pili ya muhula.",
        "Afanye mazoezi zaidi.",
        "Bora kabisa.",
        "Onyesha hatua zote za hesabu.",
        "Anaendelea vizuri.",
        "Awasilishe kazi za nyumbani kwa wakati.",
        "Anaweza kufanya vizuri zaidi akijituma.",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..n)
        .map(|i| {
            let mut card = if i % 2 == 0 { ReportCard::sample() } else { ReportCard::sample_kiswahili() };
            let remarks = if i % 2 == 0 { REMARKS_EN } else { REMARKS_SW };
            card.student.name = format!("{} {} {}", rng.pick(FIRST), rng.pick(MIDDLE), rng.pick(LAST));
            card.student.admission_number = format!("S.2024/{:04}", 100 + i);
            card.verification_code = format!("K{:03}-{:04}", rng.below(1000), i);
            let mut total = 0.0;
            for (s, subject) in card.subjects.iter_mut().enumerate() {
                if subject.score.is_empty() {
                    continue; // the exempted subject stays exempted
                }
                let marks: Vec<u64> = (0..3).map(|_| 25 + rng.below(74)).collect();
                subject.marks = marks.iter().map(|m| if rng.below(40) == 0 { "ABS".to_string() } else { m.to_string() }).collect();
                let score = marks.iter().sum::<u64>() as f64 / 3.0;
                total += score;
                subject.score = format!("{score:.1}");
                subject.score_value = Some(score);
                subject.grade = match score as u64 {
                    75.. => "A",
                    65..=74 => "B",
                    45..=64 => "C",
                    30..=44 => "D",
                    _ => "F",
                }
                .into();
                subject.points = match subject.grade.as_str() {
                    "A" => "1",
                    "B" => "2",
                    "C" => "3",
                    "D" => "4",
                    _ => "5",
                }
                .into();
                subject.position = format!("{} / 41", 1 + rng.below(41));
                subject.class_average = Some(40.0 + (rng.below(300) as f64) / 10.0 + s as f64 * 0.1);
                subject.remark = rng.pick(remarks).into();
            }
            card.summary.total = format!("{total:.1}");
            card.summary.average = format!("{:.1}", total / 13.0);
            card.summary.stream_position = format!("{} / 41", 1 + rng.below(41));
            card.summary.class_position = format!("{} / 160", 1 + rng.below(160));
            card.attendance = Some(Attendance { days_present: 50 + rng.below(12) as u32, days_open: 61 });
            card
        })
        .collect()
}

/// The template with the calls to some of its sections (in the card's body, after the text
/// size is set) removed.
fn without(template: &str, sections: &[&str]) -> String {
    let marker = "#set text(size: d.text_size * 1pt)";
    let at = template.find(marker).expect("the template's body starts with the text size") + marker.len();
    let (head, body) = template.split_at(at);
    let mut body = body.to_string();
    for section in sections {
        // Calls as a line of their own (`#header()`) or as grid cells (`chart(),`).
        let (call, replacement) = if section.starts_with('#') { (format!("{section}()"), "") } else { (format!("{section}()"), "[]") };
        assert!(body.contains(&call), "{call} not in the template's body");
        body = body.replace(&call, replacement);
    }
    format!("{head}{body}")
}

fn variant(name: &str, template: &str, settings: Settings) -> Variant {
    Variant {
        name: name.into(),
        renderer: Renderer::with_settings(template, settings).expect("renderer"),
        compile: Duration::ZERO,
        pdf: Duration::ZERO,
        compile_cpu: Duration::ZERO,
        pdf_cpu: Duration::ZERO,
        cards: 0,
        bytes: 0,
        retries: 0,
        sizes: Default::default(),
        compilations: 0,
        batches: Vec::new(),
    }
}

fn variants() -> Vec<Variant> {
    let current = world::REPORT_CARD_TEMPLATE;
    // `PROFILE_ONE_LAYOUT=1`: one layout per card at the first text size, never a second.
    let normal = Settings { fit: std::env::var_os("PROFILE_ONE_LAYOUT").is_none(), ..Settings::default() };
    let mut all = Vec::new();
    if let Ok(path) = std::env::var("PROFILE_BASELINE") {
        let baseline = std::fs::read_to_string(&path).expect("PROFILE_BASELINE");
        // As the renderer was before: tagged PDF, plain bisection.
        all.push(variant("baseline", &baseline, Settings { tagged: true, cache_max_age: 0, guess_size: false, ..normal }));
    }
    all.push(variant("current", current, normal));
    // Templates to try, read at run time (no rebuild): `PROFILE_TRY=/tmp/a.typ,/tmp/b.typ`.
    for path in std::env::var("PROFILE_TRY").unwrap_or_default().split(',').filter(|p| !p.is_empty()) {
        let template = std::fs::read_to_string(path).expect("PROFILE_TRY");
        let name = std::path::Path::new(path).file_stem().map_or(path.into(), |s| s.to_string_lossy().into_owned());
        all.push(variant(&name, &template, normal));
    }
    all.push(variant("tagged-pdf", current, Settings { tagged: true, ..normal }));
    all.push(variant("plain-bisection", current, Settings { guess_size: false, ..normal }));
    for age in [0, 1, 2, 4] {
        if age != normal.cache_max_age {
            all.push(variant(&format!("cache-age-{age}"), current, Settings { cache_max_age: age, ..normal }));
        }
    }
    for (name, sections) in [
        ("no-header", &["#header", "#student"][..]),
        ("no-table", &["#subject-table"]),
        ("no-chart", &["chart"]),
        ("no-summary", &["summary"]),
        ("no-comments", &["#comments"]),
        ("no-dates-fees", &["#dates-fees"]),
        ("footer-only", &["#header", "#student", "#subject-table", "chart", "summary", "#comments", "#dates-fees"]),
    ] {
        all.push(variant(name, &without(current, sections), normal));
    }
    if let Ok(names) = std::env::var("PROFILE_VARIANTS") {
        let wanted: Vec<&str> = names.split(',').map(str::trim).collect();
        let tried = std::env::var("PROFILE_TRY").unwrap_or_default();
        all.retain(|v| v.name == "baseline" || wanted.contains(&v.name.as_str()) || tried.contains(v.name.as_str()));
    }
    all
}

/// Lays out, then exports, one batch of cards with one variant, adding the times up.
fn time_batch(variant: &mut Variant, cards: &[ReportCard]) {
    let settings = variant.renderer.settings;
    let batch_cpu = process_cpu();
    let (wall, cpu) = (Instant::now(), process_cpu());
    let mut documents = Vec::with_capacity(cards.len());
    let compilations = COMPILATIONS.load(std::sync::atomic::Ordering::Relaxed);
    for card in cards {
        let _evict = EvictOnDrop(settings.cache_max_age);
        let compiled = variant.renderer.compile_report_card(card).expect("compiles");
        if compiled.text_size != TEXT_SIZES[0] {
            variant.retries += 1;
            *variant.sizes.entry(format!("{}pt", compiled.text_size)).or_default() += 1;
        }
        documents.push(compiled.document);
    }
    variant.compile += wall.elapsed();
    variant.compilations += COMPILATIONS.load(std::sync::atomic::Ordering::Relaxed) - compilations;
    variant.compile_cpu += process_cpu() - cpu;
    let (wall, cpu) = (Instant::now(), process_cpu());
    for (card, document) in cards.iter().zip(&documents) {
        let _evict = EvictOnDrop(settings.cache_max_age);
        variant.bytes += variant.renderer.export_pdf(card, document).expect("exports").len();
    }
    variant.pdf += wall.elapsed();
    variant.pdf_cpu += process_cpu() - cpu;
    variant.cards += cards.len();
    variant.batches.push((process_cpu() - batch_cpu).as_secs_f64() * 1000.0 / cards.len() as f64);
}

#[test]
#[ignore]
fn profile_report_cards() {
    let n: usize = std::env::var("PROFILE_CARDS").ok().and_then(|n| n.parse().ok()).unwrap_or(200);
    let batch = std::env::var("PROFILE_BATCH").ok().and_then(|n| n.parse().ok()).unwrap_or(20).min(n);
    let cards = batch_of_cards(n);
    let mut variants = variants();
    // Warm up every variant (the first card after `Renderer::new` pays for lazy set-up).
    for variant in &mut variants {
        time_batch(variant, &cards[..2]);
        (variant.compile, variant.pdf, variant.compile_cpu, variant.pdf_cpu) = Default::default();
        (variant.cards, variant.bytes, variant.retries) = (0, 0, 0);
        variant.batches.clear();
        variant.sizes.clear();
        variant.compilations = 0;
    }
    for (round, chunk) in cards.chunks(batch).enumerate() {
        // Take turns, starting with a different variant each round.
        let count = variants.len();
        for k in 0..count {
            time_batch(&mut variants[(round + k) % count], chunk);
        }
    }
    let ms = |d: Duration, n: usize| d.as_secs_f64() * 1000.0 / n as f64;
    let median = |v: &Variant| {
        let mut batches = v.batches.clone();
        batches.sort_by(f64::total_cmp);
        batches[batches.len() / 2]
    };
    let base = median(&variants[0]);
    println!("\n{n} different cards per variant, batches of {batch} taking turns; ms per card (wall; CPU of all threads in brackets); median: of the batches' CPU per card (layout + PDF)");
    println!(
        "{:<14} {:>16} {:>16} {:>16} {:>8} {:>8} {:>9} {:>7}",
        "variant", "layout", "PDF", "total", "median", "vs first", "PDF bytes", "refits"
    );
    for v in &variants {
        let total = ms(v.compile + v.pdf, v.cards);
        println!(
            "{:<14} {:>7.2} ({:>6.2}) {:>7.2} ({:>6.2}) {:>7.2} ({:>6.2}) {:>8.2} {:>7.2}x {:>9} {:>7}",
            v.name,
            ms(v.compile, v.cards),
            ms(v.compile_cpu, v.cards),
            ms(v.pdf, v.cards),
            ms(v.pdf_cpu, v.cards),
            total,
            ms(v.compile_cpu + v.pdf_cpu, v.cards),
            median(v),
            median(v) / base,
            v.bytes / v.cards,
            v.retries,
        );
    }
    for v in variants.iter().filter(|v| v.retries > 0) {
        println!("{}: {} layouts for {} cards; smaller type for {:?}", v.name, v.compilations, v.cards, v.sizes);
    }
}
