//! Kilele's printable documents, rendered to PDF in-process with typst: term report cards,
//! payment receipts and fee statements.
//!
//! This crate depends on no other workspace crate (typst takes minutes to build; the rest of
//! the workspace must rebuild without it): it takes its own plain data ([`ReportCard`],
//! [`Receipt`], [`Statement`]), and the server maps its domain types into them.
//!
//! ```no_run
//! let renderer = documents::Renderer::new()?; // once: fonts, the standard library, templates
//! let pdf = renderer.report_card(&documents::ReportCard::sample())?;
//! let receipt = renderer.receipt(&documents::Receipt::sample())?;
//! let statement = renderer.statement(&documents::Statement::sample())?;
//! # Ok::<(), documents::DocumentError>(())
//! ```
//!
//! A [`Renderer`] is `Send + Sync`: share one between worker threads. Do not call it from
//! inside a rayon `par_iter` (typst uses rayon itself; nested work-stealing has overflowed
//! the stack). Each document clears typst's global memoisation caches when it is done, so a
//! long batch does not grow without bound.

pub mod html;
mod metrics;
mod model;
mod world;

use serde::Serialize;
use typst::diag::{Severity, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Smart};
use typst::layout::FrameItem;
use typst::visualize::{ExchangeFormat, ImageFormat, RasterFormat, RasterImage, SvgImage, VectorFormat};
use typst::WorldExt;
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, Timestamp};

pub use model::{
    Attendance, DocumentDate, FeeBalance, FinanceLabels, Labels, Language, Receipt, ReceiptLine, ReportCard, School, Statement,
    StatementLine, Student, SubjectResult, Summary,
};

use world::{Assets, DocumentWorld, Template};

/// Why a document could not be made. The strings are meant for logs and for the person who
/// looks into it: typst's diagnostics with their line in the template.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The fonts or the standard library could not be set up.
    #[error("document renderer set-up failed: {0}")]
    Setup(String),
    /// The document's data cannot be printed (e.g. an impossible date).
    #[error("invalid document data: {0}")]
    Data(String),
    /// The school's logo is not a readable PNG, JPEG or SVG image.
    #[error("invalid school logo: {0}")]
    Logo(String),
    /// typst failed to compile the template with this data.
    #[error("document template failed: {0}")]
    Template(String),
    /// typst failed to write the PDF.
    #[error("PDF export failed: {0}")]
    Pdf(String),
}

/// A rendered document.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub pdf: Vec<u8>,
    pub pages: usize,
    /// typst's warnings, readable (none for a well-formed document; worth logging).
    pub warnings: Vec<String>,
}

/// Renders documents. Holds the fonts, typst's standard library and the parsed templates,
/// built once by [`Renderer::new`]; each document after that only compiles its data.
pub struct Renderer {
    assets: Assets,
    settings: Settings,
}

/// How a [`Renderer`] works; fixed in production, varied by the timing harness in the tests.
#[derive(Debug, Clone, Copy)]
struct Settings {
    /// Write a tagged PDF (a structure tree for assistive technology). Off: it made the
    /// card's PDF twice as large (~95 KB instead of ~49 KB) and its export ~25 % slower; the
    /// text stays real, selectable and searchable text without it.
    tagged: bool,
    /// See [`CACHE_MAX_AGE`].
    cache_max_age: usize,
    /// Look for a smaller text size when the card spills onto a second page (only the
    /// timing harness turns this off, to time one layout per card).
    fit: bool,
    /// Start the search for a smaller size where the spilled height points
    /// ([`suggested_size`]); off: plain bisection (the timing harness's baseline).
    guess_size: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self { tagged: false, cache_max_age: CACHE_MAX_AGE, fit: true, guess_size: true }
    }
}

/// Logos larger than this are refused rather than decoded (a school logo is a few hundred KB).
pub const MAX_LOGO_BYTES: usize = 4 * 1024 * 1024;

/// How many documents a memoised typst result survives unused: none. Keeping the last card's
/// results (1) was measured no faster for the next, different card, and holds more memory;
/// with 0 a batch of any size stays at ~40 MB resident.
const CACHE_MAX_AGE: usize = 0;

/// Clears typst's global caches (of results older than the given age) when a document is
/// done, on every path out.
struct EvictOnDrop(usize);

impl Drop for EvictOnDrop {
    fn drop(&mut self) {
        typst::comemo::evict(self.0);
    }
}

impl Renderer {
    /// Loads the embedded fonts, builds typst's standard library and parses the templates
    /// (tens of milliseconds).
    pub fn new() -> Result<Self, DocumentError> {
        Self::with_settings(world::REPORT_CARD_TEMPLATE, Settings::default())
    }

    fn with_settings(template: &str, settings: Settings) -> Result<Self, DocumentError> {
        Ok(Self { assets: Assets::new(template).map_err(DocumentError::Setup)?, settings })
    }

    /// The card as a PDF.
    pub fn report_card(&self, card: &ReportCard) -> Result<Vec<u8>, DocumentError> {
        self.render_report_card(card).map(|rendered| rendered.pdf)
    }

    /// How many pages the card takes (one, unless the data is far beyond the usual: more
    /// than about 20 subjects or very long remarks). Compiles without writing the PDF.
    pub fn report_card_pages(&self, card: &ReportCard) -> Result<usize, DocumentError> {
        let _evict = EvictOnDrop(self.settings.cache_max_age);
        self.compile_report_card(card).map(|compiled| compiled.document.pages().len())
    }

    /// The PDF and its page count.
    pub fn render_report_card(&self, card: &ReportCard) -> Result<Rendered, DocumentError> {
        let _evict = EvictOnDrop(self.settings.cache_max_age);
        let Compiled { document, warnings, .. } = self.compile_report_card(card)?;
        let pdf = self.export_pdf(card, &document)?;
        Ok(Rendered { pdf, pages: document.pages().len(), warnings })
    }

    /// The laid-out card as PDF bytes.
    fn export_pdf(&self, card: &ReportCard, document: &PagedDocument) -> Result<Vec<u8>, DocumentError> {
        let date = document_date(card.issued_on)?;
        self.export(document, format!("kilele-report-card/{}", card.verification_code), Some(date))
    }

    /// A laid-out document as PDF bytes. `ident` and `date` (the creation date; `None`: none)
    /// come from the data, so the same document always gives the same bytes.
    fn export(&self, document: &PagedDocument, ident: String, date: Option<Datetime>) -> Result<Vec<u8>, DocumentError> {
        let options = PdfOptions {
            ident: Smart::Custom(ident),
            creator: Smart::Custom(Some("Kilele".into())),
            timestamp: date.map(Timestamp::new_utc),
            tagged: self.settings.tagged,
            ..PdfOptions::default()
        };
        typst_pdf::pdf(document, &options).map_err(|diags| DocumentError::Pdf(describe(None, &diags)))
    }

    /// Lays one document out with its data (no PDF yet), with typst's warnings (readable).
    fn compile(
        &self,
        template: Template,
        data: Vec<u8>,
        logo: Option<&Logo>,
        today: Option<Datetime>,
        text_size: f64,
    ) -> Result<Compiled, DocumentError> {
        #[cfg(test)]
        tests::COMPILATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let world = DocumentWorld::new(&self.assets, template, data, logo.map(|logo| logo.bytes.clone()), today);
        let warned = typst::compile::<PagedDocument>(&world);
        let warnings = warned.warnings.iter().map(|w| describe(Some(&world), std::slice::from_ref(w))).collect();
        match warned.output {
            Ok(document) => Ok(Compiled { document, warnings, text_size }),
            Err(diags) => {
                // A logo that passed the format sniffing but does not decode fails in the
                // template: name the logo as the cause, not the template.
                if let Some(logo) = logo {
                    decode_logo(logo.bytes.clone(), logo.format)?;
                }
                Err(DocumentError::Template(describe(Some(&world), &diags)))
            }
        }
    }

    /// Lays the card out (no PDF yet), with typst's warnings (readable). The caller clears
    /// the caches ([`EvictOnDrop`]) once the document is done.
    fn compile_report_card(&self, card: &ReportCard) -> Result<Compiled, DocumentError> {
        let today = document_date(card.issued_on)?;
        let logo = Logo::of(&card.school)?;
        let attempt = |text_size: f64| -> Result<Compiled, DocumentError> {
            let data = template_data(&self.assets, card, text_size)?;
            self.compile(Template::ReportCard, data, logo.as_ref(), Some(today), text_size)
        };
        // The usual card fits at the first size: one compilation.
        let first = attempt(TEXT_SIZES[0])?;
        if first.fits() || !self.settings.fit {
            return Ok(first);
        }
        // Otherwise the largest size that fits, by bisection (the type only shrinks the card):
        // `too_large` does not fit; `candidate` fits, or is the smallest size, untried. A card
        // that does not fit even at the smallest size is printed on more pages. The first
        // size tried is not the middle one but the largest that the spilled height suggests
        // could fit: a card that spills a little (the usual case) fits at the next size, and
        // that is found with one more compilation instead of three.
        let (mut too_large, mut candidate) = (0, TEXT_SIZES.len() - 1);
        let mut fitting = None;
        let mut probe = self.settings.guess_size.then(|| suggested_size(&first.document));
        while candidate - too_large > 1 {
            let middle = probe.take().unwrap_or((too_large + candidate) / 2);
            let compiled = attempt(TEXT_SIZES[middle])?;
            if compiled.fits() {
                candidate = middle;
                fitting = Some(compiled);
            } else {
                too_large = middle;
            }
        }
        match fitting {
            Some(compiled) => Ok(compiled),
            None => attempt(TEXT_SIZES[candidate]),
        }
    }
}

/// A receipt's and a statement's body text size (points); a receipt that would not fit its
/// one A5 page (a payment spread over very many fee items) is printed smaller, down to the
/// last size.
const FINANCE_TEXT_SIZES: [f64; 4] = [9.0, 8.0, 7.0, 6.0];

impl Renderer {
    /// The payment receipt as a PDF: one A5 page.
    pub fn receipt(&self, receipt: &Receipt) -> Result<Vec<u8>, DocumentError> {
        self.render_receipt(receipt).map(|rendered| rendered.pdf)
    }

    /// The receipt's PDF, page count and typst's warnings.
    pub fn render_receipt(&self, receipt: &Receipt) -> Result<Rendered, DocumentError> {
        let _evict = EvictOnDrop(self.settings.cache_max_age);
        let Compiled { document, warnings, .. } = self.compile_receipt(receipt)?;
        let pdf = self.export(&document, format!("kilele-receipt/{}", receipt.receipt_number), None)?;
        Ok(Rendered { pdf, pages: document.pages().len(), warnings })
    }

    /// The student's fee statement as a PDF: A4, as many pages as its lines need.
    pub fn statement(&self, statement: &Statement) -> Result<Vec<u8>, DocumentError> {
        self.render_statement(statement).map(|rendered| rendered.pdf)
    }

    /// The statement's PDF, page count and typst's warnings.
    pub fn render_statement(&self, statement: &Statement) -> Result<Rendered, DocumentError> {
        let _evict = EvictOnDrop(self.settings.cache_max_age);
        let Compiled { document, warnings, .. } = self.compile_statement(statement)?;
        let ident = format!("kilele-statement/{}/{}/{}", statement.admission_number, statement.period, statement.generated_at);
        let pdf = self.export(&document, ident, None)?;
        Ok(Rendered { pdf, pages: document.pages().len(), warnings })
    }

    /// Lays the receipt out at the largest of [`FINANCE_TEXT_SIZES`] at which it fits one page
    /// (the first, but for a payment spread over very many fee items).
    fn compile_receipt(&self, receipt: &Receipt) -> Result<Compiled, DocumentError> {
        let logo = Logo::of(&receipt.school)?;
        let attempt = |text_size: f64| -> Result<Compiled, DocumentError> {
            let data = finance_data(receipt, &receipt.school, text_size)?;
            self.compile(Template::Receipt, data, logo.as_ref(), None, text_size)
        };
        let mut compiled = attempt(FINANCE_TEXT_SIZES[0])?;
        for &text_size in &FINANCE_TEXT_SIZES[1..] {
            if compiled.fits() {
                break;
            }
            compiled = attempt(text_size)?;
        }
        Ok(compiled)
    }

    /// Lays the statement out: one compilation, as many pages as it takes.
    fn compile_statement(&self, statement: &Statement) -> Result<Compiled, DocumentError> {
        let logo = Logo::of(&statement.school)?;
        let data = finance_data(statement, &statement.school, FINANCE_TEXT_SIZES[0])?;
        self.compile(Template::Statement, data, logo.as_ref(), None, FINANCE_TEXT_SIZES[0])
    }
}

/// A school's logo, checked (format and size), for the template's `/logo`.
struct Logo {
    bytes: Bytes,
    format: ImageFormat,
}

impl Logo {
    fn of(school: &School) -> Result<Option<Self>, DocumentError> {
        match &school.logo {
            Some(bytes) => Ok(Some(Self { format: check_logo(bytes)?, bytes: Bytes::new(bytes.clone()) })),
            None => Ok(None),
        }
    }
}

/// The index in [`TEXT_SIZES`] of the largest size at which a card that spilled at the
/// first size might fit one page: the type shrunk in proportion to the height that spilled
/// (the card's height is nearly proportional to its type; the logo and the stamp box are not,
/// so this is on the hopeful side and bisection goes on below it if it does not fit).
fn suggested_size(document: &PagedDocument) -> usize {
    // The page's text area: A4 less the template's 10 mm top and 17 mm bottom margins.
    let mm = |mm: f64| typst::layout::Abs::mm(mm).to_pt();
    let (top, bottom) = (mm(10.0), mm(297.0 - 17.0));
    let spilled: f64 = document.pages()[1..]
        .iter()
        .map(|page| {
            let lowest = page
                .frame
                .items()
                .filter(|(pos, _)| pos.y.to_pt() < bottom)
                .map(|(pos, item)| {
                    let height = match item {
                        FrameItem::Group(group) => group.frame.height().to_pt(),
                        FrameItem::Shape(shape, _) => shape.bbox(false).max.y.to_pt(),
                        FrameItem::Image(_, size, _) => size.y.to_pt(),
                        _ => 0.0,
                    };
                    pos.y.to_pt() + height
                })
                .fold(top, f64::max);
            (lowest.min(bottom) - top).max(0.0)
        })
        .sum();
    let page = bottom - top;
    let size = TEXT_SIZES[0] * page / (page + spilled);
    // The largest size not above that; neither the first (it spilled) nor the last (the
    // bisection's lower end, tried last).
    TEXT_SIZES.iter().position(|&s| s <= size + 1e-9).unwrap_or(TEXT_SIZES.len() - 1).clamp(1, TEXT_SIZES.len() - 2)
}

/// A laid-out document: the document, typst's warnings (readable) and the text size it was set in.
struct Compiled {
    document: PagedDocument,
    warnings: Vec<String>,
    #[cfg_attr(not(test), allow(dead_code))]
    text_size: f64,
}

impl Compiled {
    fn fits(&self) -> bool {
        self.document.pages().len() <= 1
    }
}

/// The JSON the template reads as `/data.json`: the card, plus what the template needs to
/// know about what is not in it (and `layout`, the subject table's widths and row heights
/// from [`metrics`], added once the texts are cut to length).
#[derive(Serialize)]
struct TemplateData<'a> {
    #[serde(flatten)]
    card: &'a ReportCard,
    has_logo: bool,
    /// `#RRGGBB`, checked.
    accent: String,
    /// The body text's size in points; everything else is relative to it.
    text_size: f64,
}

/// Body text sizes (points) tried in turn until the card fits one page: 9pt reads well in
/// print; a card with many subjects or long remarks gets smaller type rather than a second
/// page. A usual card (14 subjects, one-line remarks) fits at the first size, so this costs
/// one compilation.
const TEXT_SIZES: [f64; 8] = [9.0, 8.6, 8.2, 7.8, 7.4, 7.0, 6.5, 6.0];

/// The accent colour when the school has none (or an unreadable one): a deep green.
const DEFAULT_ACCENT: &str = "#1d5b3c";

/// The school's accent colour as `#RRGGBB`, or [`DEFAULT_ACCENT`] when it has none (or an
/// unreadable one).
fn accent(school: &School) -> String {
    school
        .accent_colour
        .as_deref()
        .map(str::trim)
        .filter(|c| c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit()))
        .unwrap_or(DEFAULT_ACCENT)
        .to_owned()
}

fn template_data(assets: &Assets, card: &ReportCard, text_size: f64) -> Result<Vec<u8>, DocumentError> {
    let data = TemplateData { card, has_logo: card.school.logo.is_some(), accent: accent(&card.school), text_size };
    let mut value = serde_json::to_value(&data).map_err(|e| DocumentError::Data(e.to_string()))?;
    limit_lengths(&mut value, "");
    // The subject table's widths and heights, from the texts as the template prints them.
    let layout = assets.metrics.table_layout(&value, text_size);
    value["layout"] = serde_json::to_value(layout).map_err(|e| DocumentError::Data(e.to_string()))?;
    serde_json::to_vec(&value).map_err(|e| DocumentError::Data(e.to_string()))
}

/// The JSON a receipt's or a statement's template reads as `/data.json`: the document, plus
/// what the template needs to know about what is not in it.
#[derive(Serialize)]
struct FinanceData<'a, T> {
    #[serde(flatten)]
    document: &'a T,
    has_logo: bool,
    /// `#RRGGBB`, checked.
    accent: String,
    /// The body text's size in points; everything else is relative to it.
    text_size: f64,
}

fn finance_data<T: Serialize>(document: &T, school: &School, text_size: f64) -> Result<Vec<u8>, DocumentError> {
    let data = FinanceData { document, has_logo: school.logo.is_some(), accent: accent(school), text_size };
    let mut value = serde_json::to_value(&data).map_err(|e| DocumentError::Data(e.to_string()))?;
    limit_lengths(&mut value, "");
    serde_json::to_vec(&value).map_err(|e| DocumentError::Data(e.to_string()))
}

/// Cuts absurdly long texts (with an ellipsis) so that no field can push the card far past
/// one page; the template shrinks the type for anything within these limits.
fn limit_lengths(value: &mut serde_json::Value, key: &str) {
    match value {
        serde_json::Value::String(text) => {
            let limit = match key {
                "class_teacher_comment" | "head_teacher_comment" => 600,
                "remark" => 160,
                _ => 200,
            };
            if let Some((cut, _)) = text.char_indices().nth(limit) {
                text.truncate(cut);
                text.push('…');
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|item| limit_lengths(item, key)),
        serde_json::Value::Object(fields) => fields.iter_mut().for_each(|(k, v)| limit_lengths(v, k)),
        _ => {}
    }
}

fn document_date(date: DocumentDate) -> Result<Datetime, DocumentError> {
    Datetime::from_ymd(date.year, date.month, date.day)
        .ok_or_else(|| DocumentError::Data(format!("issued_on is not a date: {}-{:02}-{:02}", date.year, date.month, date.day)))
}

/// Whether `bytes` are a logo the card can print (PNG, JPEG or SVG that decodes, and not
/// too large): checked when a school uploads one, so that a bad file is refused then and not
/// found out card by card.
pub fn check_logo_file(bytes: &[u8]) -> Result<(), DocumentError> {
    let format = check_logo(bytes)?;
    decode_logo(Bytes::new(bytes.to_vec()), format)
}

/// Sniffs the logo's format: PNG, JPEG or SVG, and not too large.
fn check_logo(bytes: &[u8]) -> Result<ImageFormat, DocumentError> {
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(DocumentError::Logo(format!("{} bytes, more than the {MAX_LOGO_BYTES} allowed", bytes.len())));
    }
    match ImageFormat::detect(bytes) {
        Some(format @ ImageFormat::Raster(RasterFormat::Exchange(ExchangeFormat::Png | ExchangeFormat::Jpg)))
        | Some(format @ ImageFormat::Vector(VectorFormat::Svg)) => Ok(format),
        _ => Err(DocumentError::Logo("not a PNG, JPEG or SVG image".into())),
    }
}

/// Decodes the logo on its own, to tell a broken logo from a template error.
fn decode_logo(data: Bytes, format: ImageFormat) -> Result<(), DocumentError> {
    let result = match format {
        ImageFormat::Raster(raster) => RasterImage::plain(data, raster).map(drop).map_err(|e| e.to_string()),
        ImageFormat::Vector(_) => SvgImage::new(data).map(drop).map_err(|e| format!("{e:?}")),
    };
    result.map_err(DocumentError::Logo)
}

/// typst's diagnostics as one readable string: `file:line:column: message (hint: …)`.
fn describe(world: Option<&DocumentWorld<'_>>, diags: &[SourceDiagnostic]) -> String {
    diags
        .iter()
        .map(|diag| {
            let severity = match diag.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let mut text = match world.and_then(|w| locate(w, diag)) {
                Some(place) => format!("{place}: {severity}: {}", diag.message),
                None => format!("{severity}: {}", diag.message),
            };
            for hint in &diag.hints {
                text.push_str(&format!(" (hint: {})", hint.v));
            }
            text
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `path:line:column` of a diagnostic, when it points into a file.
fn locate(world: &DocumentWorld<'_>, diag: &SourceDiagnostic) -> Option<String> {
    let id = diag.span.id()?;
    let path = id.vpath().get_with_slash().to_owned();
    let range = world.range(diag.span)?;
    let Some(source) = world.lookup(id) else { return Some(path) };
    let (line, column) = source.lines().byte_to_line_column(range.start)?;
    Some(format!("{path}:{}:{}", line + 1, column + 1))
}

#[cfg(test)]
mod tests;
