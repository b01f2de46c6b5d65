use std::sync::OnceLock;
use std::time::Instant;

use typst::layout::{Frame, FrameItem};

use super::*;

/// How many times a card was laid out (for the timing harness: the fit-to-page retries).
pub(crate) static COMPILATIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One renderer for all tests (as the server would have): building it is the slow part.
fn renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(|| Renderer::new().expect("renderer"))
}

const LOGO_PNG: &[u8] = include_bytes!("testdata/logo.png");
const LOGO_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="60" height="60" viewBox="0 0 60 60">
<circle cx="30" cy="30" r="28" fill="#1d5b3c"/><path d="M8 44 L26 16 L36 30 L42 22 L52 44 Z" fill="#fff"/></svg>"##;

/// Every text run of the laid-out document, in order, with the fonts used.
fn texts(document: &PagedDocument) -> Vec<(String, String)> {
    fn walk(frame: &Frame, out: &mut Vec<(String, String)>) {
        for (_, item) in frame.items() {
            match item {
                FrameItem::Group(group) => walk(&group.frame, out),
                FrameItem::Text(text) => out.push((text.text.to_string(), text.font.font().info().family.clone())),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    for page in document.pages() {
        walk(&page.frame, &mut out);
    }
    out
}

/// The document's text as one lower-case string with single spaces (runs may break anywhere).
fn plain_text(document: &PagedDocument) -> String {
    let joined = texts(document).into_iter().map(|(text, _)| text).collect::<Vec<_>>().join(" ");
    joined.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The page count in the PDF's page tree (krilla writes it uncompressed: `/Type/Pages/Count N`).
fn pdf_page_count(pdf: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(pdf);
    let rest = &text[text.find("/Type/Pages/Count ")? + "/Type/Pages/Count ".len()..];
    rest[..rest.find(|c: char| !c.is_ascii_digit())?].parse().ok()
}

fn compile(card: &ReportCard) -> (PagedDocument, Vec<String>) {
    let _evict = EvictOnDrop(CACHE_MAX_AGE);
    let compiled = renderer().compile_report_card(card).expect("compiles");
    (compiled.document, compiled.warnings)
}

#[test]
fn renderer_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Renderer>();
}

#[test]
fn english_card_with_14_subjects_is_a_one_page_pdf() {
    let card = ReportCard::sample();
    assert_eq!(card.subjects.len(), 14);
    let rendered = renderer().render_report_card(&card).unwrap();
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    assert!(rendered.pdf.starts_with(b"%PDF-"), "not a PDF");
    assert!(rendered.pdf.ends_with(b"%%EOF") || rendered.pdf.ends_with(b"%%EOF\n"), "truncated PDF");
    assert_eq!(rendered.pages, 1);
    assert_eq!(renderer().report_card_pages(&card).unwrap(), 1);
    // The page count in the PDF itself, not only typst's.
    assert_eq!(pdf_page_count(&rendered.pdf), Some(1));

    let (document, warnings) = compile(&card);
    assert!(warnings.is_empty(), "typst warned: {warnings:?}");
    let text = plain_text(&document);
    for expected in [
        "mlima kilele secondary school",
        "neema joseph mushi",
        "student progress report",
        "basic mathematics",
        "needs more practice in algebra.",
        "division",
        "58 of 61 days (95%)",
        "tzs 150,000",
        "k7qd-m2xa",
        "verify at https://mlimakilele.kilele.co.tz/verify/k7qd-m2xa",
        "generated 3 april 2026",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from the card's text: {text}");
    }
}

#[test]
fn card_is_set_in_the_embedded_dejavu_sans() {
    let (document, _) = compile(&ReportCard::sample());
    let fonts: std::collections::BTreeSet<String> = texts(&document).into_iter().map(|(_, family)| family).collect();
    assert_eq!(fonts.into_iter().collect::<Vec<_>>(), vec!["DejaVu Sans".to_string()]);
    assert!(renderer().assets.font_count() >= 3 + 17, "DejaVu Sans and typst's fallbacks");
}

#[test]
fn kiswahili_card_prints_kiswahili_labels() {
    let card = ReportCard::sample_kiswahili();
    let (document, warnings) = compile(&card);
    assert!(warnings.is_empty(), "typst warned: {warnings:?}");
    assert_eq!(document.pages().len(), 1);
    let text = plain_text(&document);
    for expected in [
        "ripoti ya maendeleo ya mwanafunzi",
        "namba ya usajili",
        "maoni ya mwalimu wa darasa",
        "maoni ya mkuu wa shule",
        "jumla ya alama",
        "nafasi darasani",
        "siku 58 kati ya 61",
        "muhula ujao unaanza",
        "salio la ada",
        "wastani wa darasa",
        "namba ya uthibitisho",
        "sahihi",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from the Kiswahili card: {text}");
    }
    for english in ["student progress report", "position in class", "next term opens", "signature"] {
        assert!(!text.contains(english), "English {english:?} on the Kiswahili card");
    }
    assert!(renderer().report_card(&card).unwrap().starts_with(b"%PDF-"));
}

/// A card with names, remarks and comments at the long end of what schools write.
fn long_card() -> ReportCard {
    let mut card = ReportCard::sample();
    card.school.name = "Mtakatifu Francis wa Asizi Seminari Ndogo na Shule ya Sekondari ya Wasichana".into();
    card.school.motto = "Elimu ni ufunguo wa maisha, nidhamu ni msingi wa mafanikio, kazi ni uhai".into();
    card.student.name = "Anastazia Wilhelmina Nyamizi Kokushubira Rwegasira-Mwakalinga".into();
    for subject in &mut card.subjects {
        subject.name = format!("{} and Allied Studies", subject.name);
        subject.remark = "Shows good understanding in class but must hand in homework on time and revise \
                          the topics covered in the second half of the term before the examinations."
            .into();
    }
    card.class_teacher_comment = "A very long comment. ".repeat(30);
    card.head_teacher_comment = "Another long comment from the head teacher. ".repeat(12);
    card
}

/// 20 subjects and 5 assessments.
fn crowded_card() -> ReportCard {
    let mut card = ReportCard::sample();
    card.assessments = vec!["CAT 1".into(), "CAT 2".into(), "Mid-term".into(), "Project".into(), "Final".into()];
    for subject in &mut card.subjects {
        subject.marks = vec!["55".into(), "61.5".into(), "ABS".into(), "72".into(), "66".into()];
    }
    let extra: Vec<SubjectResult> = card.subjects[..6].to_vec();
    card.subjects.extend(extra);
    card
}

#[test]
fn long_names_and_remarks_still_fit_one_page() {
    let mut card = long_card();
    let (document, warnings) = compile(&card);
    assert!(warnings.is_empty(), "typst warned: {warnings:?}");
    assert_eq!(document.pages().len(), 1);
    let text = plain_text(&document);
    assert!(text.contains("rwegasira-mwakalinga"), "long name cut: {text}");

    // Beyond any reasonable length: cut with an ellipsis, still one page.
    card.subjects.iter_mut().for_each(|s| s.remark = "word ".repeat(400));
    card.class_teacher_comment = "x".repeat(5000);
    assert_eq!(renderer().report_card_pages(&card).unwrap(), 1);
}

#[test]
fn twenty_subjects_and_five_assessments_still_fit_one_page() {
    let card = crowded_card();
    assert_eq!(card.subjects.len(), 20);
    assert_eq!(renderer().report_card_pages(&card).unwrap(), 1);
    assert_eq!(pdf_page_count(&renderer().report_card(&card).unwrap()), Some(1));
}

#[test]
fn card_beyond_the_smallest_type_spills_onto_more_pages_without_error() {
    let mut card = ReportCard::sample();
    let subjects = card.subjects.clone();
    for _ in 0..4 {
        card.subjects.extend(subjects.iter().cloned());
    }
    assert_eq!(card.subjects.len(), 70);
    let rendered = renderer().render_report_card(&card).unwrap();
    assert!(rendered.pages > 1);
    assert_eq!(pdf_page_count(&rendered.pdf), Some(rendered.pages));
}

#[test]
fn sparse_card_renders() {
    let mut card = ReportCard::sample();
    card.assessments.clear();
    card.subjects.truncate(3);
    card.subjects.iter_mut().for_each(|s| {
        s.marks.clear();
        s.score_value = None;
        s.class_average = None;
    });
    card.attendance = None;
    card.conduct = None;
    card.fees = None;
    card.summary.division = None;
    card.summary.division_note = Some("Incomplete: fewer than 7 subjects".into());
    card.school.motto = String::new();
    let (document, warnings) = compile(&card);
    assert!(warnings.is_empty(), "typst warned: {warnings:?}");
    let text = plain_text(&document);
    assert!(text.contains("fee statement: from the school's bursar"), "{text}");
    assert!(text.contains("incomplete: fewer than 7 subjects"), "{text}");
    assert!(renderer().report_card(&card).unwrap().starts_with(b"%PDF-"));
}

#[test]
fn png_and_svg_logos_render() {
    for logo in [LOGO_PNG.to_vec(), LOGO_SVG.as_bytes().to_vec()] {
        let mut card = ReportCard::sample();
        card.school.logo = Some(logo);
        let rendered = renderer().render_report_card(&card).unwrap();
        assert_eq!(rendered.pages, 1);
        assert!(rendered.pdf.starts_with(b"%PDF-"));
    }
}

#[test]
fn bad_logo_is_a_logo_error_not_a_panic() {
    let mut truncated_png = LOGO_PNG[..40].to_vec();
    truncated_png.extend_from_slice(&[0; 16]);
    let cases: [(&str, Vec<u8>); 5] = [
        ("garbage", b"this is not an image".to_vec()),
        ("empty", Vec::new()),
        ("truncated PNG", truncated_png),
        ("broken SVG", b"<svg xmlns=\"http://www.w3.org/2000/svg\"><g>".to_vec()),
        ("too large", vec![0x89; MAX_LOGO_BYTES + 1]),
    ];
    for (what, logo) in cases {
        let mut card = ReportCard::sample();
        card.school.logo = Some(logo);
        match renderer().report_card(&card) {
            Err(DocumentError::Logo(message)) => assert!(!message.is_empty(), "{what}"),
            other => panic!("{what}: expected a logo error, got {other:?}"),
        }
    }
}

#[test]
fn impossible_date_is_a_data_error() {
    let mut card = ReportCard::sample();
    card.issued_on = DocumentDate { year: 2026, month: 2, day: 30 };
    assert!(matches!(renderer().report_card(&card), Err(DocumentError::Data(_))));
}

#[test]
fn bad_accent_colour_falls_back_to_the_default() {
    let mut card = ReportCard::sample();
    card.school.accent_colour = Some("red\"); panic(\"".into());
    assert_eq!(renderer().report_card_pages(&card).unwrap(), 1);
    card.school.accent_colour = Some("#7A1F2B".into());
    assert_eq!(renderer().report_card_pages(&card).unwrap(), 1);
}

#[test]
fn template_errors_are_readable() {
    // Data the template cannot read (here: a label that is not text) fails with typst's
    // message and the template line, not a panic.
    let card = ReportCard::sample();
    let mut value = serde_json::to_value(&card).unwrap();
    value["labels"]["title"] = serde_json::json!(["not", "text"]);
    value["has_logo"] = serde_json::json!(false);
    value["accent"] = serde_json::json!(DEFAULT_ACCENT);
    value["text_size"] = serde_json::json!(9.0);
    value["layout"] = serde_json::to_value(renderer().assets.metrics.table_layout(&value, 9.0)).unwrap();
    let data = serde_json::to_vec(&value).unwrap();
    let world = DocumentWorld::new(&renderer().assets, Template::ReportCard, data, None, Some(document_date(card.issued_on).unwrap()));
    let diags = typst::compile::<PagedDocument>(&world).output.expect_err("must fail");
    let message = describe(Some(&world), &diags);
    assert!(message.starts_with("/report-card.typ:"), "{message}");
    assert!(message.contains("error:"), "{message}");
}

#[test]
fn same_card_gives_the_same_bytes() {
    let card = ReportCard::sample();
    let first = renderer().report_card(&card).unwrap();
    // Something else in between, so that caches are warm with other data.
    renderer().report_card(&ReportCard::sample_kiswahili()).unwrap();
    let second = renderer().report_card(&card).unwrap();
    assert!(first == second, "two renders of the same card differ");
    // The date and identifier come from the data.
    let text = String::from_utf8_lossy(&first);
    assert!(text.contains("D:20260403"), "creation date not from the card");
    let mut other = card.clone();
    other.verification_code = "ZZZZ-ZZZZ".into();
    assert!(renderer().report_card(&other).unwrap() != first);
}

#[test]
fn worker_threads_share_one_renderer() {
    let cards = [ReportCard::sample(), ReportCard::sample_kiswahili()];
    let expected: Vec<Vec<u8>> = cards.iter().map(|c| renderer().report_card(c).unwrap()).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|t| {
                let cards = &cards;
                scope.spawn(move || (0..4).map(|i| renderer().report_card(&cards[(t + i) % 2]).unwrap()).collect::<Vec<_>>())
            })
            .collect();
        for (t, handle) in handles.into_iter().enumerate() {
            for (i, pdf) in handle.join().unwrap().into_iter().enumerate() {
                assert!(pdf == expected[(t + i) % 2], "thread {t} card {i} differs");
            }
        }
    });
}

/// Timing and size, for the numbers in the README:
/// `cargo test -p documents -- --ignored --nocapture measure`.
#[test]
#[ignore]
fn measure_render_time_and_size() {
    let start = Instant::now();
    let renderer = Renderer::new().unwrap();
    println!("Renderer::new: {:?}", start.elapsed());
    let card = ReportCard::sample();
    let start = Instant::now();
    let first = renderer.report_card(&card).unwrap();
    println!("first card: {:?}, {} bytes", start.elapsed(), first.len());
    // Different students, as in a class's batch (the same card twice would hit typst's caches).
    let n: usize = std::env::var("MEASURE_CARDS").ok().and_then(|n| n.parse().ok()).unwrap_or(20);
    let rss = || {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status.lines().find(|l| l.starts_with("VmRSS:")).map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string())
            })
            .unwrap_or_default()
    };
    println!("RSS before the batch: {} kB", rss());
    // CPU time of the process (all threads), in clock ticks of 10 ms: steadier than wall time
    // on a shared machine.
    let cpu_ms = || {
        std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|stat| {
                let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
                Some((fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?) * 10)
            })
            .unwrap_or(0)
    };
    let cpu_start = cpu_ms();
    let cards: Vec<ReportCard> = (0..n)
        .map(|i| {
            let mut card = if i % 2 == 0 { ReportCard::sample() } else { ReportCard::sample_kiswahili() };
            card.student.name = format!("{} {i}", card.student.name);
            card.verification_code = format!("K7QD-{i:04}");
            card.subjects[i % 14].score = format!("{}.5", 40 + i);
            card
        })
        .collect();
    let start = Instant::now();
    let size: usize = cards.iter().map(|card| renderer.report_card(card).unwrap().len()).sum();
    println!("warm: {:?} per card, {} bytes on average", start.elapsed() / n as u32, size / n);
    println!("RSS after {n} cards: {} kB", rss());
    println!("CPU: {} ms per card", (cpu_ms() - cpu_start) as f64 / n as f64);
    let start = Instant::now();
    for card in &cards {
        renderer.report_card_pages(card).unwrap();
    }
    println!("compile only: {:?} per card", start.elapsed() / n as u32);
}

/// The sample cards as PDFs, to look at: `CARD_OUT=/tmp/cards cargo test -p documents --
/// --ignored write_sample_pdfs` (then e.g. `pdftoppm -png -r 80`). `CARD_TEMPLATE=path.typ`
/// prints them with another template (e.g. an older one from git, to compare).
#[test]
#[ignore]
fn write_sample_pdfs() {
    let dir = std::env::var("CARD_OUT").unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    let other = std::env::var("CARD_TEMPLATE").ok().map(|path| {
        let template = std::fs::read_to_string(path).expect("CARD_TEMPLATE");
        Renderer::with_settings(&template, Settings::default()).expect("renderer")
    });
    let renderer = other.as_ref().unwrap_or_else(|| renderer());
    let mut with_logo = ReportCard::sample();
    with_logo.school.logo = Some(LOGO_PNG.to_vec());
    let mut no_fees = ReportCard::sample_kiswahili();
    no_fees.fees = None;
    no_fees.attendance = None;
    for (name, card) in [
        ("en", ReportCard::sample()),
        ("sw", ReportCard::sample_kiswahili()),
        ("logo", with_logo),
        ("long", long_card()),
        ("crowded", crowded_card()),
        ("sw-no-fees", no_fees),
    ] {
        let _evict = EvictOnDrop(CACHE_MAX_AGE);
        let compiled = renderer.compile_report_card(&card).unwrap();
        let pdf = renderer.report_card(&card).unwrap();
        std::fs::write(format!("{dir}/card-{name}.pdf"), &pdf).unwrap();
        println!("{name}: {} page(s) at {}pt, {} bytes", compiled.document.pages().len(), compiled.text_size, pdf.len());
    }
}

#[test]
fn the_html_card_for_the_browser_comparison_has_every_section_escaped() {
    let mut card = ReportCard::sample();
    card.student.name = "Neema <b>\"Mushi\"".into();
    let html = crate::html::report_card_html(&card);
    assert!(html.starts_with("<!doctype html>") && html.ends_with("</html>"));
    assert!(html.contains("Neema &lt;b&gt;&quot;Mushi&quot;") && !html.contains("<b>\"Mushi"));
    assert_eq!(html.matches("<tr><td>").count(), card.subjects.len(), "one row per subject");
    for must in [&card.labels.chart_title, &card.labels.summary, &card.verification_code, &card.school.motto] {
        assert!(html.contains(must.as_str()), "{must}");
    }
}

mod finance;
mod profile;

/// The widths the subject table is laid out with (src/metrics.rs) against typst's own
/// shaping of the same texts on the sample cards: never narrower (a text would wrap in a row
/// laid out for one line), and at most a few percent wider.
#[test]
fn table_widths_match_typst_shaping() {
    for card in [ReportCard::sample(), ReportCard::sample_kiswahili(), crowded_card()] {
        let (document, _) = compile(&card);
        let mut items = Vec::new();
        fn walk(frame: &Frame, out: &mut Vec<(String, f64, f64, bool)>) {
            for (_, item) in frame.items() {
                match item {
                    FrameItem::Group(group) => walk(&group.frame, out),
                    FrameItem::Text(text) => out.push((
                        text.text.to_string(),
                        text.width().to_pt(),
                        text.size.to_pt(),
                        text.font.font().info().variant.weight == typst::text::FontWeight::BOLD,
                    )),
                    _ => {}
                }
            }
        }
        walk(&document.pages()[0].frame, &mut items);
        let metrics = &renderer().assets.metrics;
        let table: std::collections::HashSet<&str> = card
            .subjects
            .iter()
            .flat_map(|s| [&s.code, &s.name, &s.score, &s.grade, &s.points, &s.position, &s.remark].into_iter().chain(&s.marks))
            .map(String::as_str)
            .collect();
        let mut checked = 0;
        for (text, width, size, bold) in items.into_iter().filter(|(text, ..)| table.contains(text.as_str())) {
            let (ours, complete) = metrics.width(&text, bold);
            assert!(complete, "{text}");
            let ours = ours * size;
            assert!(ours >= width - 0.01, "{text:?}: ours {ours} < typst {width}");
            assert!(ours <= width * 1.03 + 0.3, "{text:?}: ours {ours} ≫ typst {width}");
            checked += 1;
        }
        assert!(checked > 100);
    }
}
