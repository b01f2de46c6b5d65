//! Payment receipts and fee statements.

use typst::model::Document;

use super::*;

fn compile_receipt(receipt: &Receipt) -> (PagedDocument, Vec<String>) {
    let _evict = EvictOnDrop(CACHE_MAX_AGE);
    let compiled = renderer().compile_receipt(receipt).expect("compiles");
    (compiled.document, compiled.warnings)
}

fn compile_statement(statement: &Statement) -> (PagedDocument, Vec<String>) {
    let _evict = EvictOnDrop(CACHE_MAX_AGE);
    let compiled = renderer().compile_statement(statement).expect("compiles");
    (compiled.document, compiled.warnings)
}

/// Each page's text, as [`plain_text`] gives the whole document's.
fn page_texts(document: &PagedDocument) -> Vec<String> {
    fn walk(frame: &Frame, out: &mut Vec<String>) {
        for (_, item) in frame.items() {
            match item {
                FrameItem::Group(group) => walk(&group.frame, out),
                FrameItem::Text(text) => out.push(text.text.to_string()),
                _ => {}
            }
        }
    }
    document
        .pages()
        .iter()
        .map(|page| {
            let mut runs = Vec::new();
            walk(&page.frame, &mut runs);
            runs.join(" ").split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
        })
        .collect()
}

fn assert_pdf(pdf: &[u8]) {
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    assert!(pdf.ends_with(b"%%EOF") || pdf.ends_with(b"%%EOF\n"), "truncated PDF");
}

/// Typst markup, maths, code and references in every kind of field: printed as they are.
const HOSTILE: &str = r#"#panic("x") *bold* _em_ $x^2$ ] [ \ `raw` <label> @ref // not a comment /* nor this */ = heading"#;

#[test]
fn receipt_is_a_one_page_pdf_with_every_field() {
    let receipt = Receipt::sample();
    let rendered = renderer().render_receipt(&receipt).unwrap();
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    assert_pdf(&rendered.pdf);
    assert_eq!(rendered.pages, 1);
    assert_eq!(pdf_page_count(&rendered.pdf), Some(1));
    assert!(renderer().receipt(&receipt).unwrap() == rendered.pdf);

    let (document, warnings) = compile_receipt(&receipt);
    assert!(warnings.is_empty(), "typst warned: {warnings:?}");
    assert_eq!(document.info().title.as_deref(), Some("Payment receipt RCT-2026-000123 – Neema Joseph Mushi"));
    let text = plain_text(&document);
    for expected in [
        "mlima kilele secondary school",
        "education is light",
        "p.o. box 123, moshi",
        "payment receipt",
        "receipt no. rct-2026-000123",
        "recorded 3 april 2026, 14:05",
        "student neema joseph mushi",
        "admission no. s.2024/0147",
        "class form 2 a",
        "control number 991230045617",
        "amount paid tzs 150,000",
        "payment channel nmb bank slip",
        "reference nmb-ft26093zk41",
        "date paid 2 april 2026",
        "recorded by asha mollel (bursar)",
        "applied to description amount tuition fee, 2026 term 1 tzs 120,000",
        "caution money tzs 10,000",
        "balance after this payment tzs 180,000",
        "verification code abcde-fghjk",
        "verify at https://mlimakilele.kilele.co.tz/verify/abcde-fghjk",
        "school stamp",
        "generated 3 april 2026, 14:06",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from the receipt's text: {text}");
    }
}

#[test]
fn receipt_is_set_in_dejavu_sans() {
    let (document, _) = compile_receipt(&Receipt::sample_kiswahili());
    let fonts: std::collections::BTreeSet<String> = texts(&document).into_iter().map(|(_, family)| family).collect();
    assert_eq!(fonts.into_iter().collect::<Vec<_>>(), vec!["DejaVu Sans".to_string()]);
}

#[test]
fn kiswahili_and_english_labels_differ_everywhere() {
    let english = serde_json::to_value(FinanceLabels::english()).unwrap();
    let kiswahili = serde_json::to_value(FinanceLabels::kiswahili()).unwrap();
    let (Some(english), Some(kiswahili)) = (english.as_object(), kiswahili.as_object()) else { panic!("labels are an object") };
    assert_eq!(english.len(), kiswahili.len());
    for (key, value) in english {
        assert!(kiswahili.get(key) != Some(value), "{key} is the same in both: {value}");
        assert!(value.as_str().is_some_and(|v| !v.is_empty()), "{key} is empty");
    }
}

#[test]
fn kiswahili_receipt_prints_kiswahili_labels() {
    let receipt = Receipt::sample_kiswahili();
    let rendered = renderer().render_receipt(&receipt).unwrap();
    assert_pdf(&rendered.pdf);
    assert_eq!(rendered.pages, 1);
    let (document, warnings) = compile_receipt(&receipt);
    assert!(warnings.is_empty(), "typst warned: {warnings:?}");
    let text = plain_text(&document);
    for expected in [
        "stakabadhi ya malipo",
        "namba ya stakabadhi rct-2026-000123",
        "namba ya kumbukumbu ya malipo 991230045617",
        "kiasi kilicholipwa tzs 150,000",
        "njia ya malipo hati ya benki ya nmb",
        "tarehe ya malipo 2 aprili 2026",
        "imerekodiwa na asha mollel (mhasibu)",
        "mgawanyo wa malipo maelezo kiasi",
        "salio baada ya malipo haya tzs 180,000",
        "namba ya uthibitisho abcde-fghjk",
        "thibitisha kwenye https://mlimakilele.kilele.co.tz/verify/abcde-fghjk",
        "muhuri wa shule",
        "imetolewa 3 aprili 2026, 14:06",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from the Kiswahili receipt: {text}");
    }
    for english in ["payment receipt", "amount paid", "control number", "verify at", "balance after", "generated"] {
        assert!(!text.contains(english), "English {english:?} on the Kiswahili receipt");
    }
    assert!(rendered.pdf != renderer().receipt(&Receipt::sample()).unwrap());
}

#[test]
fn receipt_without_reference_or_lines_renders() {
    let mut receipt = Receipt::sample();
    receipt.reference = None;
    receipt.lines.clear();
    receipt.school.motto.clear();
    receipt.balance_after = format!("TZS 20,000 {}", receipt.labels.in_credit);
    let (document, warnings) = compile_receipt(&receipt);
    assert!(warnings.is_empty(), "typst warned: {warnings:?}");
    assert_eq!(document.pages().len(), 1);
    let text = plain_text(&document);
    assert!(!text.contains("reference"), "{text}");
    assert!(!text.contains("applied to"), "{text}");
    assert!(text.contains("balance after this payment tzs 20,000 (in credit)"), "{text}");
    // An empty reference is no reference either.
    receipt.reference = Some(String::new());
    assert!(!plain_text(&compile_receipt(&receipt).0).contains("reference"));
}

/// The sample receipt, its fee items repeated to `count`, with a logo and a long name.
fn crowded_receipt(count: usize) -> Receipt {
    let mut receipt = Receipt::sample();
    receipt.school.logo = Some(LOGO_PNG.to_vec());
    receipt.recorded_by = "Anastazia Wilhelmina Nyamizi Kokushubira Rwegasira-Mwakalinga (Assistant Bursar)".into();
    let lines = receipt.lines.clone();
    receipt.lines = (0..count)
        .map(|i| ReceiptLine {
            description: format!("{} ({i})", lines[i % lines.len()].description),
            amount: lines[i % lines.len()].amount.clone(),
        })
        .collect();
    receipt
}

#[test]
fn receipt_with_very_many_fee_items_still_fits_one_page() {
    // A payment is usually applied to a handful of fee items; 22 is far beyond that.
    let receipt = crowded_receipt(22);
    let _evict = EvictOnDrop(CACHE_MAX_AGE);
    let compiled = renderer().compile_receipt(&receipt).unwrap();
    assert_eq!(compiled.document.pages().len(), 1);
    assert!(compiled.text_size < FINANCE_TEXT_SIZES[0], "printed smaller to fit");
    let text = plain_text(&compiled.document);
    assert!(text.contains("tuition fee, 2026 term 1 (21) tzs 120,000"), "the last line is missing: {text}");
    assert!(text.contains("abcde-fghjk"), "{text}");
    let rendered = renderer().render_receipt(&receipt).unwrap();
    assert_eq!(rendered.pages, 1);
    assert_eq!(pdf_page_count(&rendered.pdf), Some(1));
    // The usual receipt at the first size: one layout.
    assert_eq!(renderer().compile_receipt(&Receipt::sample()).unwrap().text_size, FINANCE_TEXT_SIZES[0]);
}

#[test]
fn receipt_beyond_the_smallest_type_spills_onto_more_pages_without_error() {
    let rendered = renderer().render_receipt(&crowded_receipt(100)).unwrap();
    assert!(rendered.pages > 1);
    assert_eq!(pdf_page_count(&rendered.pdf), Some(rendered.pages));
}

#[test]
fn hostile_strings_print_literally() {
    let mut receipt = Receipt::sample();
    receipt.student_name = format!("Neema {HOSTILE}");
    receipt.school.name = HOSTILE.into();
    receipt.channel = HOSTILE.into();
    receipt.reference = Some(HOSTILE.into());
    receipt.lines[0].description = HOSTILE.into();
    receipt.verify_code = "$AB]C\\D".into();
    let (document, warnings) = compile_receipt(&receipt);
    assert!(warnings.is_empty(), "typst warned: {warnings:?}");
    // Without whitespace: a long text wraps, and the runs of its lines are joined with spaces.
    let squash = |text: &str| text.split_whitespace().collect::<String>();
    let text = squash(&plain_text(&document));
    let hostile = squash(&HOSTILE.to_lowercase());
    assert!(text.contains(&format!("neema{hostile}")), "{text}");
    assert!(text.matches(hostile.as_str()).count() >= 5, "{text}");
    assert!(text.contains("$ab]c\\d"), "{text}");
    assert_eq!(document.info().title.as_deref(), Some(format!("Payment receipt RCT-2026-000123 – Neema {HOSTILE}").as_str()));
    assert_pdf(&renderer().receipt(&receipt).unwrap());

    let mut statement = Statement::sample();
    statement.student_name = HOSTILE.into();
    statement.period = HOSTILE.into();
    statement.lines[0].description = HOSTILE.into();
    statement.lines[1].reference = HOSTILE.into();
    let (document, warnings) = compile_statement(&statement);
    assert!(warnings.is_empty(), "typst warned: {warnings:?}");
    let text = squash(&plain_text(&document));
    assert!(text.matches(hostile.as_str()).count() >= 4, "{text}");
    assert_pdf(&renderer().statement(&statement).unwrap());
}

#[test]
fn statement_is_a_pdf_with_every_field() {
    let statement = Statement::sample();
    let rendered = renderer().render_statement(&statement).unwrap();
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    assert_pdf(&rendered.pdf);
    assert_eq!(rendered.pages, 1);
    assert_eq!(pdf_page_count(&rendered.pdf), Some(1));
    assert!(renderer().statement(&statement).unwrap() == rendered.pdf);

    let (document, _) = compile_statement(&statement);
    assert_eq!(document.info().title.as_deref(), Some("Fee statement – Neema Joseph Mushi – 1 January 2026 – 3 April 2026"));
    let text = plain_text(&document);
    for expected in [
        "mlima kilele secondary school",
        "fee statement",
        "student neema joseph mushi",
        "admission no. s.2024/0147",
        "class form 2 a",
        "control number 991230045617",
        "period 1 january 2026 – 3 april 2026",
        "opening balance tzs 30,000",
        "closing balance tzs 180,000",
        "date description reference debit credit balance",
        "6 jan 2026 tuition fee, 2026 term 1 inv-2026-0147 450,000 480,000",
        "2 apr 2026 payment: nmb bank slip rct-2026-000123 150,000 180,000",
        "totals tzs 685,000 tzs 535,000",
        "generated 3 april 2026, 14:06",
        "page 1 of 1",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from the statement's text: {text}");
    }
}

#[test]
fn kiswahili_statement_prints_kiswahili_labels() {
    let statement = Statement::sample_kiswahili();
    let (document, warnings) = compile_statement(&statement);
    assert!(warnings.is_empty(), "typst warned: {warnings:?}");
    let text = plain_text(&document);
    for expected in [
        "taarifa ya ada",
        "namba ya usajili",
        "namba ya kumbukumbu ya malipo",
        "kipindi 1 januari 2026 – 3 aprili 2026",
        "salio la mwanzo",
        "salio la mwisho",
        "tarehe maelezo kumbukumbu tozo malipo salio",
        "ada ya masomo, 2026 muhula 1",
        "jumla",
        "imetolewa 3 aprili 2026, 14:06",
        "ukurasa 1 kati ya 1",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from the Kiswahili statement: {text}");
    }
    for english in ["fee statement", "opening balance", "description", "totals", "page 1"] {
        assert!(!text.contains(english), "English {english:?} on the Kiswahili statement");
    }
    assert_pdf(&renderer().statement(&statement).unwrap());
}

/// The sample's lines over and over: 120 of them.
fn long_statement() -> Statement {
    let mut statement = Statement::sample();
    let lines = statement.lines.clone();
    statement.lines = (0..120)
        .map(|i| {
            let mut line = lines[i % lines.len()].clone();
            line.description = format!("{} #{i:03}", line.description);
            line
        })
        .collect();
    statement.school.logo = Some(LOGO_PNG.to_vec());
    statement
}

#[test]
fn statement_with_120_lines_runs_to_several_pages_with_the_header_on_each() {
    let statement = long_statement();
    let rendered = renderer().render_statement(&statement).unwrap();
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    assert!(rendered.pages >= 3, "{} pages", rendered.pages);
    assert_eq!(pdf_page_count(&rendered.pdf), Some(rendered.pages));

    let (document, _) = compile_statement(&statement);
    let pages = page_texts(&document);
    let count = pages.len();
    for (i, text) in pages.iter().enumerate() {
        assert!(text.contains("date description reference debit credit balance"), "no table header on page {}: {text}", i + 1);
        assert!(text.contains(&format!("page {} of {count}", i + 1)), "page {}: {text}", i + 1);
        // The school's header on the first page, a running head with the student after it.
        assert_eq!(text.contains("mlima kilele secondary school"), i == 0, "page {}", i + 1);
        if i > 0 {
            assert!(
                text.contains("fee statement neema joseph mushi · s.2024/0147 1 january 2026 – 3 april 2026"),
                "page {}: {text}",
                i + 1
            );
        }
    }
    // Every line once, in order; the totals and closing balance at the end.
    let all = pages.join(" ");
    let mut at = 0;
    for i in 0..120 {
        let needle = format!("#{i:03}");
        let found = all[at..].find(&needle).unwrap_or_else(|| panic!("{needle} missing or out of order"));
        at += found + needle.len();
        assert_eq!(all.matches(&needle).count(), 1, "{needle}");
    }
    let last = &pages[count - 1];
    assert!(last.contains("totals") && last.contains("closing balance tzs 180,000"), "{last}");
}

#[test]
fn statement_without_lines_says_so() {
    let mut statement = Statement::sample();
    statement.lines.clear();
    statement.total_debit = "TZS 0".into();
    statement.total_credit = "TZS 0".into();
    statement.closing_balance = statement.opening_balance.clone();
    let (document, warnings) = compile_statement(&statement);
    assert!(warnings.is_empty(), "typst warned: {warnings:?}");
    assert_eq!(document.pages().len(), 1);
    let text = plain_text(&document);
    assert!(text.contains("opening balance tzs 30,000 no transactions in this period totals tzs 0 tzs 0"), "{text}");
}

#[test]
fn finance_logos_render_and_bad_ones_are_logo_errors() {
    for logo in [LOGO_PNG.to_vec(), LOGO_SVG.as_bytes().to_vec()] {
        let mut receipt = Receipt::sample();
        receipt.school.logo = Some(logo.clone());
        let rendered = renderer().render_receipt(&receipt).unwrap();
        assert_eq!(rendered.pages, 1);
        assert_pdf(&rendered.pdf);
        let mut statement = Statement::sample();
        statement.school.logo = Some(logo);
        assert_pdf(&renderer().statement(&statement).unwrap());
    }
    let mut receipt = Receipt::sample();
    receipt.school.logo = Some(b"this is not an image".to_vec());
    assert!(matches!(renderer().receipt(&receipt), Err(DocumentError::Logo(_))));
    let mut broken_svg = Statement::sample();
    broken_svg.school.logo = Some(b"<svg xmlns=\"http://www.w3.org/2000/svg\"><g>".to_vec());
    assert!(matches!(renderer().statement(&broken_svg), Err(DocumentError::Logo(_))));
}

#[test]
fn same_receipt_gives_the_same_bytes() {
    let receipt = Receipt::sample();
    let first = renderer().receipt(&receipt).unwrap();
    renderer().statement(&Statement::sample()).unwrap();
    renderer().report_card(&ReportCard::sample()).unwrap();
    assert!(renderer().receipt(&receipt).unwrap() == first, "two renders of the same receipt differ");
    let mut other = receipt.clone();
    other.verify_code = "ZZZZZ-ZZZZZ".into();
    assert!(renderer().receipt(&other).unwrap() != first);
}

#[test]
fn school_accent_colour_is_used_and_a_bad_one_ignored() {
    let mut receipt = Receipt::sample();
    receipt.school.accent_colour = Some("#7A1F2B".into());
    assert_pdf(&renderer().receipt(&receipt).unwrap());
    receipt.school.accent_colour = Some("red\"); panic(\"".into());
    assert_pdf(&renderer().receipt(&receipt).unwrap());
}

/// Timing and size: `cargo test --release -p documents -- --ignored --nocapture measure_finance`.
#[test]
#[ignore]
fn measure_finance_render_time_and_size() {
    let renderer = Renderer::new().unwrap();
    let n: usize = std::env::var("MEASURE_DOCUMENTS").ok().and_then(|n| n.parse().ok()).unwrap_or(20);
    let receipts: Vec<Receipt> = (0..n)
        .map(|i| {
            let mut receipt = if i % 2 == 0 { Receipt::sample() } else { Receipt::sample_kiswahili() };
            receipt.student_name = format!("{} {i}", receipt.student_name);
            receipt.receipt_number = format!("RCT-2026-{i:06}");
            receipt
        })
        .collect();
    renderer.receipt(&receipts[0]).unwrap();
    let start = Instant::now();
    let size: usize = receipts.iter().map(|r| renderer.receipt(r).unwrap().len()).sum();
    println!("receipt: {:?} each, {} bytes on average", start.elapsed() / n as u32, size / n);
    for lines in [8, 120] {
        let statements: Vec<Statement> = (0..n)
            .map(|i| {
                let mut statement = if lines == 8 { Statement::sample() } else { long_statement() };
                statement.student_name = format!("{} {i}", statement.student_name);
                statement
            })
            .collect();
        let start = Instant::now();
        let mut pages = 0;
        let size: usize = statements
            .iter()
            .map(|s| {
                let rendered = renderer.render_statement(s).unwrap();
                pages = rendered.pages;
                rendered.pdf.len()
            })
            .sum();
        println!("statement of {lines} lines ({pages} pages): {:?} each, {} bytes on average", start.elapsed() / n as u32, size / n);
    }
}

/// The sample receipts and statements as PDFs, to look at: `CARD_OUT=/tmp/cards cargo test -p
/// documents -- --ignored write_finance_samples` (then e.g. `pdftoppm -png -r 100`).
#[test]
#[ignore]
fn write_finance_samples() {
    let dir = std::env::var("CARD_OUT").unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    let mut with_logo = Receipt::sample();
    with_logo.school.logo = Some(LOGO_PNG.to_vec());
    let mut sparse = Receipt::sample_kiswahili();
    sparse.reference = None;
    sparse.lines.truncate(1);
    sparse.balance_after = format!("TZS 20,000 {}", sparse.labels.in_credit);
    for (name, receipt) in [
        ("en", Receipt::sample()),
        ("sw", Receipt::sample_kiswahili()),
        ("logo", with_logo),
        ("sparse", sparse),
        ("crowded", crowded_receipt(12)),
        ("crowded-22", crowded_receipt(22)),
    ] {
        let rendered = renderer().render_receipt(&receipt).unwrap();
        std::fs::write(format!("{dir}/receipt-{name}.pdf"), &rendered.pdf).unwrap();
        println!("receipt {name}: {} page(s), {} bytes", rendered.pages, rendered.pdf.len());
    }
    // How many fee items fit one page at which size.
    for count in (4..=30).step_by(2) {
        let _evict = EvictOnDrop(CACHE_MAX_AGE);
        let compiled = renderer().compile_receipt(&crowded_receipt(count)).unwrap();
        println!("receipt of {count} fee items: {} page(s) at {}pt", compiled.document.pages().len(), compiled.text_size);
    }
    for (name, statement) in [("en", Statement::sample()), ("sw", Statement::sample_kiswahili()), ("long", long_statement())] {
        let rendered = renderer().render_statement(&statement).unwrap();
        std::fs::write(format!("{dir}/statement-{name}.pdf"), &rendered.pdf).unwrap();
        println!("statement {name}: {} page(s), {} bytes", rendered.pages, rendered.pdf.len());
    }
}
