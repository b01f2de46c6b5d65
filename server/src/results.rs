//! `kilele results compute` and `kilele bench results`: term results from a marks file, and
//! how long computing a large class takes. Both are pure computations: they read no
//! configuration, open no database and need no keys, so `main` runs them before loading the
//! configuration.

use clap::ValueEnum;
use kilele::results::{self, sheet, AssessmentSet, ClassResults, GradingScheme, Mark};
use kilele::Language;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Which table `kilele results compute` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Table {
    /// One row per student in merit order: scores and grades, total, average, division, positions.
    Broadsheet,
    /// One row per student and subject: grade, points, remarks, subject positions.
    Details,
    /// Per subject: mean, grade distribution, top and bottom.
    Subjects,
    /// The class and each stream: average and division counts.
    Summary,
}

/// In English, for the operator's terminal.
fn english(key: &str, args: &[(&'static str, String)]) -> String {
    app::i18n::t_args(Language::En, key, args)
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("kilele: {message}");
    ExitCode::from(code)
}

/// `kilele results compute`: prints the computed table as CSV on stdout. Exit 2 for an
/// unknown scheme or assessment set, 1 for a file that cannot be read or has errors (every
/// error is listed on stderr with its line; nothing is printed on stdout).
pub fn compute(scheme: &str, input: &Path, assessments: &str, table: Table) -> ExitCode {
    let Some(scheme) = results::presets::preset(scheme) else {
        return fail(2, &format!("unknown grading scheme {scheme:?}; one of: {}", results::presets::PRESET_KEYS.join(", ")));
    };
    let Some(set) = AssessmentSet::preset(assessments) else {
        return fail(2, &format!("unknown assessments {assessments:?}; one of: {}", AssessmentSet::PRESET_KEYS.join(", ")));
    };
    let bytes = match std::fs::read(input) {
        Ok(b) => b,
        Err(e) => return fail(1, &format!("cannot read {}: {e}", input.display())),
    };
    let name = input.display();
    let marks = match sheet::read_csv(&bytes, &set) {
        Ok(s) => s,
        Err(sheet::SheetError::File { message, detail }) => {
            let args = [("columns", detail.clone()), ("column", detail.clone()), ("max", detail.clone())];
            let mut text = english(&message, &args);
            if message == "results-file-not-csv" && !detail.is_empty() {
                text = format!("{text} ({detail})");
            }
            return fail(1, &format!("{name}: {text}"));
        }
        Err(sheet::SheetError::Rows(errors)) => {
            for e in &errors {
                let typed = if e.value.is_empty() { String::new() } else { format!(" (typed: {:?})", e.value) };
                eprintln!("{name}:{}: {}: {}{typed}", e.line, e.column, english(&e.message, &[]));
            }
            let count = errors.len();
            return fail(1, &format!("{name}: {count} error{} in the marks; nothing computed", if count == 1 { "" } else { "s" }));
        }
    };
    let computed = match results::compute(&marks, &set, &scheme) {
        Ok(r) => r,
        Err(e) => return fail(1, &format!("{name}: {}: {}", e.field, english(&e.message, &[]))),
    };
    let text = match table {
        Table::Broadsheet => sheet::write_broadsheet(&computed),
        Table::Details => sheet::write_details(&computed),
        Table::Subjects => sheet::write_subjects(&computed),
        Table::Summary => sheet::write_summary(&computed),
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(1, &format!("writing the results: {e}")),
    }
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Times `f` `runs` times (after one warm-up run) and returns the median.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    std::hint::black_box(f());
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(f());
            started.elapsed()
        })
        .collect();
    median(&mut times)
}

/// `kilele bench results`: grades, points, divisions, every position and the summaries of a
/// generated class (deterministic: the same sheet every run), timed on one thread; the
/// median against two baselines measured in the same run. Printed, never asserted.
pub fn bench(students: usize, subjects: usize, runs: usize) -> ExitCode {
    let (set, scheme) = match (results::sample::three_assessments(), results::presets::necta_csee_2016()) {
        (Ok(set), Ok(scheme)) => (set, scheme),
        (Err(e), _) | (_, Err(e)) => return fail(1, &format!("bench set-up: {e}")),
    };
    let streams = 4;
    let marks = results::sample::sheet(students, subjects, streams, &set, 2026);
    let computed: ClassResults = match results::compute(&marks, &set, &scheme) {
        Ok(r) => r,
        Err(e) => return fail(1, &format!("bench sheet: {e}")),
    };
    let run = |scheme: &GradingScheme| results::compute(&marks, &set, scheme).map(|r| r.class.divisions);
    let computing = time(runs, || run(&scheme));

    // Baseline 1: one pass over every raw mark, summing the scores.
    let sum_marks = time(runs, || {
        marks
            .students
            .iter()
            .flat_map(|s| &s.subjects)
            .flat_map(|s| &s.marks)
            .map(|m| match m {
                Some(Mark::Score(h)) => u64::from(h.get()),
                _ => 0,
            })
            .sum::<u64>()
    });
    // Baseline 2: sorting every term score of the class once (what one ranking pass costs).
    let scores: Vec<u8> = computed.students.iter().flat_map(|s| &s.subjects).filter_map(|s| s.score()).collect();
    let sort_scores = time(runs, || {
        let mut copy = scores.clone();
        copy.sort_unstable();
        copy
    });

    let entries: usize = marks.students.iter().map(|s| s.subjects.len()).sum();
    let d = computed.class.divisions;
    println!(
        "kilele bench results: {students} students in {streams} streams x {subjects} subjects x {} assessments ({} marks, {entries} subject results), scheme {} v{}, {runs} runs after a warm-up, one thread",
        set.len(),
        entries * set.len(),
        scheme.key(),
        scheme.version()
    );
    println!(
        "  check: divisions I {} II {} III {} IV {} 0 {}, none {}; class average {}",
        d[0],
        d[1],
        d[2],
        d[3],
        d[4],
        computed.class.no_overall,
        computed.class.average.map_or_else(|| "-".into(), |a| a.to_string())
    );
    println!("  compute (term scores, grades, points, divisions, all positions, summaries): median {:.3} ms", ms(computing));
    let ratio = |base: Duration| if base.is_zero() { f64::INFINITY } else { computing.as_secs_f64() / base.as_secs_f64() };
    println!(
        "  baseline: one pass summing the {} raw marks: median {:.3} ms (compute = {:.1}x)",
        entries * set.len(),
        ms(sum_marks),
        ratio(sum_marks)
    );
    println!(
        "  baseline: sorting the {} term scores once: median {:.3} ms (compute = {:.1}x)",
        scores.len(),
        ms(sort_scores),
        ratio(sort_scores)
    );
    let verdict = if ms(computing) < 20.0 { "met" } else { "NOT met" };
    println!("  goal: under 20 ms on one core: {verdict} (a debug build is far slower: build with --release)");
    ExitCode::SUCCESS
}
