//! A class's results as an XLSX workbook ([`broadsheet_xlsx`]), for the head teacher and the
//! class teacher who work in Excel or LibreOffice.
//!
//! Three worksheets, with the same rows and columns as the CSV tables of [`super::sheet`]
//! (built by the same functions, so the two never disagree):
//! - `Broadsheet`: [`broadsheet_table`], one row per student in merit order.
//! - `Subjects`: [`subjects_table`], the subject analysis.
//! - `Divisions`: [`summary_table`], the class and each stream with the count of each
//!   division and of students without one. For a scheme that gives an overall grade instead
//!   (primary), the sheet is named `Grades` and counts the grades.
//!
//! Numbers are written as numbers (averages and means with two decimals), text as text.
//! Text is never a formula: every string cell is written with `write_string`, and one that
//! starts with `=`, `+`, `-` or `@` also gets Excel's quote prefix, so editing the cell later
//! does not turn it into a formula either.

use super::compute::ClassResults;
use super::sheet::{broadsheet_table, subjects_table, summary_table, uses_divisions, Cell, Table};
use crate::academic::students::FORMULA_STARTS;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

/// The workbook's sheet names, in order (the third for a division scheme).
pub const SHEETS: [&str; 3] = ["Broadsheet", "Subjects", "Divisions"];
/// The third sheet's name for an average-grade scheme.
pub const GRADES_SHEET: &str = "Grades";

struct Formats {
    header: Format,
    fixed: Format,
    quoted: Format,
    quoted_header: Format,
}

/// A row or column index past what a worksheet holds becomes one rust_xlsxwriter refuses
/// (with its own "row or column limit" error) rather than wrapping around.
fn row_index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn col_index(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

fn write_text(sheet: &mut Worksheet, row: u32, col: u16, text: &str, plain: Option<&Format>, quoted: &Format) -> Result<(), XlsxError> {
    if text.starts_with(FORMULA_STARTS) {
        sheet.write_string_with_format(row, col, text, quoted)?;
    } else if let Some(format) = plain {
        sheet.write_string_with_format(row, col, text, format)?;
    } else {
        sheet.write_string(row, col, text)?;
    }
    Ok(())
}

/// The words of the workbook in the reader's language: `label(word)` is the translation of
/// a column's or sheet's word (`admission_no`, `grade`, `division`, `broadsheet`, `class` …),
/// or `None` to keep it. Subject codes and grades are the school's own and stay as they are.
pub type Labels<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A header as the reader says it: the word itself, `<subject> grade`, `division I` or
/// `grade A`, with the known word translated.
fn header_text(title: &str, label: Labels<'_>) -> String {
    if let Some(text) = label(title) {
        return text;
    }
    if let Some(subject) = title.strip_suffix(" grade") {
        return format!("{subject} {}", label("grade").unwrap_or_else(|| "grade".into()));
    }
    for word in ["division", "grade"] {
        if let Some(rest) = title.strip_prefix(word).and_then(|r| r.strip_prefix(' ')) {
            return format!("{} {rest}", label(word).unwrap_or_else(|| word.into()));
        }
    }
    title.to_owned()
}

fn write_table(
    sheet: &mut Worksheet,
    name: &str,
    table: &Table,
    frozen_cols: u16,
    f: &Formats,
    label: Labels<'_>,
) -> Result<(), XlsxError> {
    sheet.set_name(label(&name.to_lowercase()).unwrap_or_else(|| name.to_owned()))?;
    for (c, title) in table.header.iter().enumerate() {
        write_text(sheet, 0, col_index(c), &header_text(title, label), Some(&f.header), &f.quoted_header)?;
    }
    for (r, cells) in table.rows.iter().enumerate() {
        let row = row_index(r.saturating_add(1));
        for (c, cell) in cells.iter().enumerate() {
            let col = col_index(c);
            match cell {
                Cell::Empty => {}
                Cell::Text(text) => write_text(sheet, row, col, text, None, &f.quoted)?,
                Cell::Whole(n) => {
                    sheet.write_number(row, col, *n)?;
                }
                Cell::Fixed(h) => {
                    sheet.write_number_with_format(row, col, f64::from(h.get()) / 100.0, &f.fixed)?;
                }
            }
        }
    }
    sheet.set_freeze_panes(1, frozen_cols)?;
    sheet.autofit();
    Ok(())
}

/// Any one table as a workbook of one sheet named `name` (the defaulters' export), with the
/// same rules: numbers as numbers, text never a formula, the header row frozen.
pub fn table_xlsx(name: &str, table: &Table) -> Result<Vec<u8>, XlsxError> {
    let formats = Formats {
        header: Format::new().set_bold(),
        fixed: Format::new().set_num_format("0.00"),
        quoted: Format::new().set_quote_prefix(),
        quoted_header: Format::new().set_bold().set_quote_prefix(),
    };
    let mut workbook = Workbook::new();
    write_table(workbook.add_worksheet(), name, table, 0, &formats, &|_| None)?;
    workbook.save_to_buffer()
}

/// The class's results as an XLSX workbook, its words in English; see the module
/// documentation.
pub fn broadsheet_xlsx(results: &ClassResults) -> Result<Vec<u8>, XlsxError> {
    broadsheet_xlsx_in(results, &|_| None)
}

/// [`broadsheet_xlsx`] with its sheet names and column headers in the reader's language.
pub fn broadsheet_xlsx_in(results: &ClassResults, label: Labels<'_>) -> Result<Vec<u8>, XlsxError> {
    let formats = Formats {
        header: Format::new().set_bold(),
        fixed: Format::new().set_num_format("0.00"),
        quoted: Format::new().set_quote_prefix(),
        quoted_header: Format::new().set_bold().set_quote_prefix(),
    };
    let third = if uses_divisions(results) { SHEETS[2] } else { GRADES_SHEET };
    let mut workbook = Workbook::new();
    // The admission number and the name stay in view while scrolling across the subjects.
    write_table(workbook.add_worksheet(), SHEETS[0], &broadsheet_table(results), 2, &formats, label)?;
    write_table(workbook.add_worksheet(), SHEETS[1], &subjects_table(results), 1, &formats, label)?;
    // The summary's first row is the whole class: its name is a word too.
    let mut summary = summary_table(results);
    if let Some(Cell::Text(group)) = summary.rows.first_mut().and_then(|row| row.first_mut()) {
        if let Some(text) = label(group) {
            *group = text;
        }
    }
    write_table(workbook.add_worksheet(), third, &summary, 1, &formats, label)?;
    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_are_the_readers() {
        let label = |w: &str| match w {
            "admission_no" => Some("Namba ya usajili".to_owned()),
            "grade" => Some("Daraja".to_owned()),
            "division" => Some("Daraja la jumla".to_owned()),
            "broadsheet" => Some("Matokeo".to_owned()),
            "class" => Some("Darasa".to_owned()),
            _ => None,
        };
        assert_eq!(super::header_text("admission_no", &label), "Namba ya usajili");
        assert_eq!(super::header_text("MATH grade", &label), "MATH Daraja");
        assert_eq!(super::header_text("division II", &label), "Daraja la jumla II");
        assert_eq!(super::header_text("MATH", &label), "MATH");
        let bytes = super::broadsheet_xlsx_in(&form4(), &label).unwrap();
        let mut book = open(&bytes);
        assert_eq!(book.sheet_names()[0], "Matokeo");
        let sheet = book.worksheet_range("Matokeo").unwrap();
        assert_eq!(row(&sheet, 0)[0], s("Namba ya usajili"));
        let third = book.sheet_names()[2].clone();
        assert_eq!(row(&book.worksheet_range(&third).unwrap(), 1)[0], s("Darasa"));
    }

    use super::super::assessments::AssessmentSet;
    use super::super::compute::compute;
    use super::super::presets;
    use super::super::sheet::read_csv;
    use super::*;
    use calamine::{Data, Range, Reader, Xlsx};
    use std::io::Cursor;

    const FORM4: &str = include_str!("../../docs/examples/results/form4-csee.csv");

    /// The hand-worked Form 4 class of `sheet`'s tests (CSEE 2016 onwards).
    fn form4() -> ClassResults {
        let set = AssessmentSet::default_secondary();
        compute(&read_csv(FORM4.as_bytes(), &set).unwrap(), &set, &presets::necta_csee_2016().unwrap()).unwrap()
    }

    fn open(bytes: &[u8]) -> Xlsx<Cursor<&[u8]>> {
        Xlsx::new(Cursor::new(bytes)).unwrap()
    }

    fn s(text: &str) -> Data {
        Data::String(text.into())
    }

    fn n(value: f64) -> Data {
        Data::Float(value)
    }

    fn row(range: &Range<Data>, r: u32) -> Vec<Data> {
        let width = u32::try_from(range.width()).unwrap();
        (0..width).map(|c| range.get_value((r, c)).cloned().unwrap_or(Data::Empty)).collect()
    }

    #[test]
    fn three_sheets_with_the_csv_columns() {
        let r = form4();
        let bytes = broadsheet_xlsx(&r).unwrap();
        let mut book = open(&bytes);
        assert_eq!(book.sheet_names(), ["Broadsheet", "Subjects", "Divisions"]);

        let broadsheet = book.worksheet_range("Broadsheet").unwrap();
        assert_eq!(broadsheet.get_size(), (5, 26));
        // The same header as the CSV's first line.
        let csv_header: Vec<Data> = super::super::sheet::write_broadsheet(&r).lines().next().unwrap().split(',').map(s).collect();
        assert_eq!(row(&broadsheet, 0), csv_header);
        // Amani (first in merit order): CIV 80 A, …, total 487, sat 7, average 69.57, 13
        // points, division I, no note, first in stream and class; numbers as numbers.
        let amani = row(&broadsheet, 1);
        assert_eq!(amani[..6], [s("F4/001"), s("Amani Juma"), s("A"), Data::Empty, n(80.0), s("A")]);
        assert_eq!(amani[18..], [n(487.0), n(7.0), n(69.57), n(13.0), s("I"), Data::Empty, n(1.0), n(1.0)]);
        // Bahati: MAT absent (text, no grade), no division and why.
        let bahati = row(&broadsheet, 2);
        assert_eq!(bahati[16..18], [s("ABS"), Data::Empty]);
        assert_eq!(bahati[21..24], [Data::Empty, Data::Empty, s("fewer than 7 subjects sat (6)")]);
        // Chiku is fourth: 49.83.
        assert_eq!(row(&broadsheet, 4)[20], n(49.83));

        let subjects = book.worksheet_range("Subjects").unwrap();
        assert_eq!(
            row(&subjects, 0),
            ["subject", "sat", "absent", "exempt", "incomplete", "mean", "highest", "lowest", "top", "bottom", "A", "B", "C", "D", "F"]
                .map(s)
        );
        // CIV: 80, 50, 30, 50 → mean 52.50; top Amani, bottom Chiku; A B C D F = 1 0 2 1 0.
        assert_eq!(
            row(&subjects, 1),
            [
                s("CIV"),
                n(4.0),
                n(0.0),
                n(0.0),
                n(0.0),
                n(52.5),
                n(80.0),
                n(30.0),
                s("F4/001"),
                s("F4/003"),
                n(1.0),
                n(0.0),
                n(2.0),
                n(1.0),
                n(0.0)
            ]
        );
        // MAT: two sat, one absent, one exempt; mean (73 + 50) / 2 = 61.50.
        assert_eq!(row(&subjects, 7)[..6], [s("MAT"), n(2.0), n(1.0), n(1.0), n(0.0), n(61.5)]);

        let divisions = book.worksheet_range("Divisions").unwrap();
        assert_eq!(
            row(&divisions, 0),
            ["group", "students", "ranked", "average", "division I", "division II", "division III", "division IV", "division 0", "none"]
                .map(s)
        );
        // The class: I and II once each, no III, IV or 0, two without a division.
        assert_eq!(row(&divisions, 1), [s("class"), n(4.0), n(4.0), n(54.85), n(1.0), n(1.0), n(0.0), n(0.0), n(0.0), n(2.0)]);
        assert_eq!(row(&divisions, 3), [s("B"), n(2.0), n(2.0), n(50.0), n(0.0), n(1.0), n(0.0), n(0.0), n(0.0), n(1.0)]);
        assert_eq!(divisions.get_size(), (4, 10));
    }

    #[test]
    fn formula_like_text_stays_text() {
        let mut r = form4();
        // Names cannot start like this when typed in Kilele, but a results file is the last
        // line of defence: it must not trust where the text came from.
        r.students[0].name = "=HYPERLINK(\"http://evil.example\",\"x\")".into();
        r.students[1].name = "@SUM(A1)".into();
        r.subjects[0] = "+CIV".into();
        let bytes = broadsheet_xlsx(&r).unwrap();
        let mut book = open(&bytes);
        let range = book.worksheet_range("Broadsheet").unwrap();
        assert_eq!(range.get_value((1, 1)), Some(&s("=HYPERLINK(\"http://evil.example\",\"x\")")));
        assert_eq!(range.get_value((2, 1)), Some(&s("@SUM(A1)")));
        assert_eq!(range.get_value((0, 4)), Some(&s("+CIV")));
        assert_eq!(range.get_value((0, 5)), Some(&s("+CIV grade")));
        for name in ["Broadsheet", "Subjects", "Divisions"] {
            let formulas = book.worksheet_formula(name).unwrap();
            assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "{name} has a formula");
        }
    }

    #[test]
    fn a_primary_class_gets_a_grades_sheet() {
        let csv = "admission_no,name,stream,subject,Monthly test,Midterm,Terminal exam\n\
                   P7/01,Zawadi Ally,VII,KIS,41,41,41\n\
                   P7/01,Zawadi Ally,VII,ENG,40.5,40.5,40.5\n\
                   P7/01,Zawadi Ally,VII,MAT,40,40,40\n\
                   P7/01,Zawadi Ally,VII,SCI,30.5,30.5,30.5\n\
                   P7/01,Zawadi Ally,VII,SST,30,30,30\n";
        let set = AssessmentSet::default_primary();
        let r = compute(&read_csv(csv.as_bytes(), &set).unwrap(), &set, &presets::primary_psle().unwrap()).unwrap();
        let bytes = broadsheet_xlsx(&r).unwrap();
        let mut book = open(&bytes);
        assert_eq!(book.sheet_names(), ["Broadsheet", "Subjects", "Grades"]);
        let grades = book.worksheet_range("Grades").unwrap();
        // 82 81 80 61 60 → average 72.80 → grade B.
        assert_eq!(row(&grades, 0)[4..], ["grade A", "grade B", "grade C", "grade D", "grade E", "none"].map(s));
        assert_eq!(row(&grades, 1), [s("class"), n(1.0), n(1.0), n(72.8), n(0.0), n(1.0), n(0.0), n(0.0), n(0.0), n(0.0)]);
        assert_eq!(book.worksheet_range("Broadsheet").unwrap().get_value((0, 18)), Some(&s("grade")));
    }

    #[test]
    fn an_empty_class_is_a_workbook_of_headers() {
        let r = compute(&Default::default(), &AssessmentSet::default_secondary(), &presets::necta_csee_2016().unwrap()).unwrap();
        let bytes = broadsheet_xlsx(&r).unwrap();
        let mut book = open(&bytes);
        let broadsheet = book.worksheet_range("Broadsheet").unwrap();
        assert_eq!(broadsheet.get_size(), (1, 12));
        assert_eq!(broadsheet.get_value((0, 0)), Some(&s("admission_no")));
        assert_eq!(book.worksheet_range("Divisions").unwrap().get_value((1, 0)), Some(&s("class")));
    }
}
