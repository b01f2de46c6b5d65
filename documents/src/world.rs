//! The typst `World` of one document: one of the embedded templates, the document's data as a
//! virtual JSON file and the school's logo as a virtual image file. Fonts, the standard
//! library and the parsed templates are built once ([`Assets`]) and shared by every document;
//! nothing is read from disk, the network or the clock.

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

use crate::metrics::Metrics;

/// DejaVu Sans (see `fonts/LICENSE-DejaVu.txt`): the documents' typeface, embedded in the binary.
const DEJAVU_SANS: &[&[u8]] = &[
    include_bytes!("../fonts/DejaVuSans.ttf"),
    include_bytes!("../fonts/DejaVuSans-Bold.ttf"),
    include_bytes!("../fonts/DejaVuSans-Oblique.ttf"),
];

/// The report card template.
pub(crate) const REPORT_CARD_TEMPLATE: &str = include_str!("../templates/report-card.typ");
/// The payment receipt template.
pub(crate) const RECEIPT_TEMPLATE: &str = include_str!("../templates/receipt.typ");
/// The fee statement template.
pub(crate) const STATEMENT_TEMPLATE: &str = include_str!("../templates/statement.typ");

/// The templates' virtual paths, and the files they read.
pub(crate) const MAIN_PATH: &str = "/report-card.typ";
pub(crate) const RECEIPT_PATH: &str = "/receipt.typ";
pub(crate) const STATEMENT_PATH: &str = "/statement.typ";
pub(crate) const DATA_PATH: &str = "/data.json";
pub(crate) const LOGO_PATH: &str = "/logo";

/// Which document a [`DocumentWorld`] compiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Template {
    ReportCard,
    Receipt,
    Statement,
}

/// What every document shares: the standard library, the fonts and the parsed templates.
/// Built once per [`crate::Renderer`]; `Send + Sync`.
pub(crate) struct Assets {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    report_card: Source,
    receipt: Source,
    statement: Source,
    /// DejaVu Sans's widths, for the subject table's layout.
    pub(crate) metrics: Metrics,
    data_id: FileId,
    logo_id: FileId,
}

/// A path in the project root, interned once (typst interns paths for the process's life,
/// so the same few ids are reused by every document).
fn file_id(path: &str) -> Result<FileId, String> {
    let vpath = VirtualPath::new(path).map_err(|e| format!("bad virtual path {path}: {e}"))?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

impl Assets {
    /// `report_card`: the report card's typst source ([`REPORT_CARD_TEMPLATE`]; another one
    /// only in the timing tests). The receipt's and the statement's are always the embedded
    /// ones.
    pub(crate) fn new(report_card: &str) -> Result<Self, String> {
        // Our DejaVu Sans first, typst's bundled fonts (serif, maths, mono) as fallbacks only.
        let fonts: Vec<Font> =
            DEJAVU_SANS.iter().copied().chain(typst_assets::fonts()).flat_map(|data| Font::iter(Bytes::new(data))).collect();
        let book = FontBook::from_fonts(&fonts);
        if !book.contains_family("dejavu sans") {
            return Err("the embedded DejaVu Sans fonts could not be read".into());
        }
        let metrics = Metrics::new(&fonts)?;
        Ok(Self {
            library: LazyHash::new(Library::builder().build()),
            book: LazyHash::new(book),
            fonts,
            report_card: Source::new(file_id(MAIN_PATH)?, report_card.to_owned()),
            receipt: Source::new(file_id(RECEIPT_PATH)?, RECEIPT_TEMPLATE.to_owned()),
            statement: Source::new(file_id(STATEMENT_PATH)?, STATEMENT_TEMPLATE.to_owned()),
            metrics,
            data_id: file_id(DATA_PATH)?,
            logo_id: file_id(LOGO_PATH)?,
        })
    }

    /// A document's parsed template.
    fn template(&self, template: Template) -> &Source {
        match template {
            Template::ReportCard => &self.report_card,
            Template::Receipt => &self.receipt,
            Template::Statement => &self.statement,
        }
    }

    #[cfg(test)]
    pub(crate) fn font_count(&self) -> usize {
        self.fonts.len()
    }
}

/// One document's world: the shared assets, the document's template, its data and logo.
pub(crate) struct DocumentWorld<'a> {
    assets: &'a Assets,
    main: &'a Source,
    data: Bytes,
    logo: Option<Bytes>,
    /// What `datetime.today()` gives the template (no template asks; `None`: no date).
    today: Option<Datetime>,
}

impl<'a> DocumentWorld<'a> {
    pub(crate) fn new(assets: &'a Assets, template: Template, data: Vec<u8>, logo: Option<Bytes>, today: Option<Datetime>) -> Self {
        Self { assets, main: assets.template(template), data: Bytes::new(data), logo, today }
    }

    /// The template's source, for turning diagnostics' spans into line numbers.
    pub(crate) fn lookup(&self, id: FileId) -> Option<Source> {
        self.source(id).ok()
    }
}

impl World for DocumentWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.assets.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.assets.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else if id == self.assets.data_id || id == self.assets.logo_id {
            Err(FileError::NotSource)
        } else {
            Err(not_found(id))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.assets.data_id {
            Ok(self.data.clone())
        } else if id == self.assets.logo_id {
            self.logo.clone().ok_or_else(|| not_found(id))
        } else if id == self.main.id() {
            Ok(Bytes::from_string(self.main.clone()))
        } else {
            Err(not_found(id))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.assets.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        self.today
    }
}

fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.vpath().get_with_slash().into())
}
