//! The typst `World` of one document: the embedded template, the card's data as a virtual
//! JSON file and the school's logo as a virtual image file. Fonts and the standard library
//! are built once ([`Assets`]) and shared by every document; nothing is read from disk, the
//! network or the clock.

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

use crate::metrics::Metrics;

/// DejaVu Sans (see `fonts/LICENSE-DejaVu.txt`): the card's typeface, embedded in the binary.
const DEJAVU_SANS: &[&[u8]] = &[
    include_bytes!("../fonts/DejaVuSans.ttf"),
    include_bytes!("../fonts/DejaVuSans-Bold.ttf"),
    include_bytes!("../fonts/DejaVuSans-Oblique.ttf"),
];

/// The report card template.
pub(crate) const REPORT_CARD_TEMPLATE: &str = include_str!("../templates/report-card.typ");

/// Virtual paths the template reads.
pub(crate) const MAIN_PATH: &str = "/report-card.typ";
pub(crate) const DATA_PATH: &str = "/data.json";
pub(crate) const LOGO_PATH: &str = "/logo";

/// What every document shares: the standard library, the fonts and the parsed template.
/// Built once per [`crate::Renderer`]; `Send + Sync`.
pub(crate) struct Assets {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    main: Source,
    /// DejaVu Sans's widths, for the subject table's layout.
    pub(crate) metrics: Metrics,
    data_id: FileId,
    logo_id: FileId,
}

/// A path in the project root, interned once (typst interns paths for the process's life,
/// so the same three ids are reused by every document).
fn file_id(path: &str) -> Result<FileId, String> {
    let vpath = VirtualPath::new(path).map_err(|e| format!("bad virtual path {path}: {e}"))?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

impl Assets {
    /// `template`: the report card's typst source ([`REPORT_CARD_TEMPLATE`]; another one only
    /// in the timing tests).
    pub(crate) fn new(template: &str) -> Result<Self, String> {
        // Our DejaVu Sans first, typst's bundled fonts (serif, maths, mono) as fallbacks only.
        let fonts: Vec<Font> =
            DEJAVU_SANS.iter().copied().chain(typst_assets::fonts()).flat_map(|data| Font::iter(Bytes::new(data))).collect();
        let book = FontBook::from_fonts(&fonts);
        if !book.contains_family("dejavu sans") {
            return Err("the embedded DejaVu Sans fonts could not be read".into());
        }
        let main_id = file_id(MAIN_PATH)?;
        let metrics = Metrics::new(&fonts)?;
        Ok(Self {
            library: LazyHash::new(Library::builder().build()),
            book: LazyHash::new(book),
            fonts,
            main: Source::new(main_id, template.to_owned()),
            metrics,
            data_id: file_id(DATA_PATH)?,
            logo_id: file_id(LOGO_PATH)?,
        })
    }

    #[cfg(test)]
    pub(crate) fn font_count(&self) -> usize {
        self.fonts.len()
    }
}

/// One document's world: the shared assets plus this card's data and logo.
pub(crate) struct CardWorld<'a> {
    assets: &'a Assets,
    data: Bytes,
    logo: Option<Bytes>,
    today: Datetime,
}

impl<'a> CardWorld<'a> {
    pub(crate) fn new(assets: &'a Assets, data: Vec<u8>, logo: Option<Bytes>, today: Datetime) -> Self {
        Self { assets, data: Bytes::new(data), logo, today }
    }

    /// The template's source, for turning diagnostics' spans into line numbers.
    pub(crate) fn lookup(&self, id: FileId) -> Option<Source> {
        self.source(id).ok()
    }
}

impl World for CardWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.assets.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.assets.book
    }

    fn main(&self) -> FileId {
        self.assets.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.assets.main.id() {
            Ok(self.assets.main.clone())
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
        } else if id == self.assets.main.id() {
            Ok(Bytes::from_string(self.assets.main.clone()))
        } else {
            Err(not_found(id))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.assets.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}

fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.vpath().get_with_slash().into())
}
