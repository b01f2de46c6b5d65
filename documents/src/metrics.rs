//! The subject table's column widths and row heights, worked out before typst lays the card
//! out, from DejaVu Sans's advance widths.
//!
//! typst sizes an `auto` column or row by laying out every cell in it once to measure it and
//! then again to place it; `measure` in the template costs a layout per call as well. The
//! table is the card's largest part (~150 cells), so the template gets every width and every
//! one-line row's height from here and typst lays each cell out once. The widths are the
//! texts' advance widths without kerning (DejaVu Sans's kerning only narrows the texts of a
//! card: digits, codes, short words) plus a small margin, so a cell never wraps in a column
//! that was meant to hold it on one line. A row whose name or remark may not fit one line
//! (within a margin), or with a character DejaVu Sans lacks, is left to typst (`auto`).

use serde::Serialize;
use serde_json::Value;
use typst::layout::Abs;
use typst::text::{Font, FontInstance, FontStyle, FontVariations, FontWeight};

/// The page's text width: A4 less the template's 12 mm margins on each side.
const TEXT_WIDTH_MM: f64 = 210.0 - 2.0 * 12.0;
/// A cell's horizontal inset (the template's `pad-x`, 1.3 mm) and vertical inset (`pad-y`,
/// 0.42 em).
const PAD_X_MM: f64 = 1.3;
const PAD_Y_EM: f64 = 0.42;
/// Sizes relative to the body text, as in the template.
const HEADER_EM: f64 = 0.88;
const CODE_EM: f64 = 0.9;
const REMARK_EM: f64 = 0.9;
const CHART_CODE_EM: f64 = 0.85;
/// Added to every measured width: kerning is not counted (it narrows these texts) and
/// rounding must never push a text onto a second line.
const WIDTH_MARGIN: f64 = 0.005;
const WIDTH_SLACK_PT: f64 = 0.2;
/// A name or remark counts as one line only if it is this much narrower than its column.
const WRAP_MARGIN: f64 = 0.04;

fn mm_to_pt(mm: f64) -> f64 {
    mm * 72.0 / 25.4
}

/// DejaVu Sans, regular and bold, as typst will set them.
pub(crate) struct Metrics {
    regular: FontInstance,
    bold: FontInstance,
}

/// What the template reads as `d.layout`: lengths in points.
#[derive(Serialize, Debug, PartialEq)]
pub(crate) struct TableLayout {
    code: f64,
    subject: f64,
    /// Every assessment's column.
    mark: f64,
    score: f64,
    grade: f64,
    points: f64,
    position: f64,
    /// Each subject's row height; `None` (typst measures the row): its name or remark may take
    /// more than one line.
    rows: Vec<Option<f64>>,
    /// The chart's column of subject codes.
    chart_code: f64,
}

impl Metrics {
    /// From the fonts the world serves: the first upright regular and bold DejaVu Sans.
    pub(crate) fn new(fonts: &[Font]) -> Result<Self, String> {
        let find = |weight: FontWeight| {
            fonts
                .iter()
                .find(|font| {
                    let info = font.info();
                    info.family == "DejaVu Sans" && info.variant.weight == weight && info.variant.style == FontStyle::Normal
                })
                .map(|font| font.clone().instantiate(font.info().variant, Abs::pt(10.0), &FontVariations::default()))
                .ok_or_else(|| format!("DejaVu Sans at weight {weight:?} is missing"))
        };
        Ok(Self { regular: find(FontWeight::REGULAR)?, bold: find(FontWeight::BOLD)? })
    }

    /// The text's advance width in em, and whether the font has every character.
    pub(crate) fn width(&self, text: &str, bold: bool) -> (f64, bool) {
        let font = if bold { &self.bold } else { &self.regular };
        let face = font.ttf();
        let units = font.units_per_em();
        let mut width = 0.0;
        let mut complete = true;
        for c in text.chars() {
            match face.glyph_index(c).and_then(|glyph| face.glyph_hor_advance(glyph)) {
                Some(advance) => width += f64::from(advance) / units,
                None if c.is_control() => {}
                None => {
                    // Another font will set it: count it wide and leave the row to typst.
                    width += 1.0;
                    complete = false;
                }
            }
        }
        (width, complete)
    }

    /// The one-line height of body text: DejaVu Sans's cap height (the template's text
    /// frame runs from the cap height to the baseline), in em.
    fn cap_height(&self) -> f64 {
        self.regular.metrics().cap_height.get()
    }

    /// The table's layout at body text size `size` (points), from the card's data as the
    /// template reads it (texts already cut to length).
    pub(crate) fn table_layout(&self, data: &Value, size: f64) -> TableLayout {
        let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
        let labels = &data["labels"];
        let subjects: Vec<&Value> = data["subjects"].as_array().map(|s| s.iter().collect()).unwrap_or_default();
        let field = |name: &str| subjects.iter().map(|s| text(&s[name])).collect::<Vec<_>>();
        let pad_x = mm_to_pt(PAD_X_MM);
        let mut complete = true;
        let mut widest = |texts: &[String], bold: bool, em: f64| -> f64 {
            texts.iter().fold(0.0, |max: f64, t| {
                let (width, all) = self.width(t, bold);
                complete &= all;
                max.max(width * em * size)
            })
        };
        let cell = |content: f64| content * (1.0 + WIDTH_MARGIN) + WIDTH_SLACK_PT + 2.0 * pad_x;
        let header = |label: &str| [text(&labels[label])];

        let code = cell(widest(&field("code"), false, CODE_EM).max(widest(&header("code"), true, HEADER_EM)));
        let names = field("name");
        let names_width = widest(&names, false, 1.0);
        let subject = (names_width * (1.0 + WIDTH_MARGIN) + WIDTH_SLACK_PT + 2.0 * pad_x).min(0.25 * mm_to_pt(TEXT_WIDTH_MM));
        let mark = cell(widest(&["100.00".to_owned()], false, 1.0));
        let score = cell(widest(&field("score"), true, 1.0).max(widest(&header("score"), true, HEADER_EM)));
        let grade = cell(widest(&field("grade"), true, 1.0).max(widest(&header("grade"), true, HEADER_EM)));
        let points = cell(widest(&field("points"), false, 1.0).max(widest(&header("points"), true, HEADER_EM)));
        let position = cell(widest(&field("position"), false, 1.0).max(widest(&header("position"), true, HEADER_EM)));
        let chart_code = widest(&field("code"), false, CHART_CODE_EM) * (1.0 + WIDTH_MARGIN) + WIDTH_SLACK_PT;
        let assessments = data["assessments"].as_array().map_or(0, Vec::len);
        let remark_column = mm_to_pt(TEXT_WIDTH_MM) - code - subject - assessments as f64 * mark - score - grade - points - position;

        let one_line = (self.cap_height() + 2.0 * PAD_Y_EM) * size;
        let fits = |t: &str, bold: bool, em: f64, column: f64| {
            let (width, all) = self.width(t, bold);
            all && width * em * size <= (column - 2.0 * pad_x) * (1.0 - WRAP_MARGIN)
        };
        let rows = subjects
            .iter()
            .map(|s| {
                let marks_fit = s["marks"].as_array().is_none_or(|marks| marks.iter().all(|m| fits(&text(m), false, 1.0, mark)));
                let single =
                    fits(&text(&s["name"]), false, 1.0, subject) && fits(&text(&s["remark"]), false, REMARK_EM, remark_column) && marks_fit;
                (single && complete).then_some(one_line)
            })
            .collect();
        TableLayout { code, subject, mark, score, grade, points, position, rows, chart_code }
    }
}
