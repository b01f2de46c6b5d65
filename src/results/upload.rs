//! Bulk upload of one mark sheet (term × stream × subject) from a CSV or XLSX file: every row
//! checked, a preview of what will change, then one all-or-nothing save.
//!
//! # The file
//!
//! One row per student, with a header row:
//!
//! ```text
//! admission_no,name,mt1,midterm,mt2,exam
//! KHSS/2026/0001,Amani Juma,60,70,,75
//! KHSS/2026/0002,Bahati Said,ABS,55,61.5,
//! ```
//!
//! | Column | Required | Values |
//! |---|---|---|
//! | `admission_no` (`admission`, `adm_no`, `admission_number`, `namba_ya_usajili`) | yes | an active student of the stream, once in the file |
//! | `name` (`student`, `student_name`, `full_name`, `jina`, `mwanafunzi`) | no | ignored: it is there for the teacher's eyes |
//! | one per assessment of the level's term, headed by its key (`mt1`, `midterm`, `mt2`, `exam`) or its name (`Monthly test 1`) | at least one | a mark as [`check_cell`] reads it (`67`, `67.5`, `ABS`, `EX`); **blank leaves the stored entry as it is** (a blank never clears) |
//!
//! Headers are matched ignoring case, spaces and punctuation
//! ([`crate::spreadsheet::header_key`]). The header is the first of the first
//! [`HEADER_SEARCH_ROWS`] non-empty rows that has an admission number column (a title above
//! it is fine). Any other column is an error (a misspelt assessment would otherwise be
//! dropped without a word), and so is a value under a column without a header. Empty rows
//! are skipped; a row with no admission number and no marks (a note) too. At most
//! [`MAX_ROWS`] data rows.
//!
//! Every row is checked and **every** error is reported with its spreadsheet line (the header
//! on line 1 is line 1) and column letter; while there is one, nothing can be saved.
//!
//! # From file to marks
//!
//! [`check_rows`] compares the file with the sheet as stored when it is uploaded: each
//! filled cell keeps the stored text and revision it was checked against ([`UploadCell`]).
//! The [`CheckedUpload`] is kept on the server (`mark_uploads`, `results::db`) until the
//! teacher confirms the preview; the commit then saves every filled cell over the revision the
//! preview showed (`results::db::save_marks`), so a cell someone changed in between is a
//! conflict and nothing is written.

use super::entry::CellSave;
#[cfg(feature = "ssr")]
use super::{
    assessments::AssessmentSet,
    entry::{check_cell, Entry, MAX_CELLS_PER_SAVE},
    marks::Mark,
};
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Largest file accepted (a stream of 200 students is a few kilobytes).
pub const MAX_UPLOAD_BYTES: usize = 2 * 1024 * 1024;
/// The most data rows one file may have (a stream is well under 200 students).
pub const MAX_ROWS: usize = 1_000;
/// How many non-empty rows at the top may be searched for the header.
pub const HEADER_SEARCH_ROWS: usize = 10;
/// Cells right of this column are ignored.
pub const MAX_COLUMNS: u32 = 64;
/// How long an upload waits for its confirmation.
pub const UPLOAD_TTL_HOURS: i64 = 24;
/// The longest typed value kept in an [`UploadError`].
#[cfg(feature = "ssr")]
const MAX_ERROR_VALUE_CHARS: usize = 100;

/// One problem of an uploaded file, where the spreadsheet shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadError {
    /// The spreadsheet's 1-based line.
    pub line: usize,
    /// The column letter (`C`), or "" for the row or the file as a whole.
    pub column: String,
    /// The column's header as the file has it ("" when it has none).
    pub header: String,
    /// An i18n key (`error-mark-out-of-range`, `results-upload-…`).
    pub message: String,
    /// What was typed (trimmed, at most 100 characters).
    pub value: String,
}

/// A filled cell of the file: the stored entry it was checked against and the new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadCell {
    /// The assessment's key.
    pub assessment: String,
    /// The stored text when the file was checked ("" when not entered).
    pub old: String,
    /// The file's mark, as stored (`67.5`, `ABS`, `EX`).
    pub new: String,
    /// The stored revision when the file was checked (0: not entered).
    pub revision: i32,
}

impl UploadCell {
    pub fn changes(&self) -> bool {
        self.old != self.new
    }
}

/// A student's row of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRow {
    pub line: usize,
    pub student: Uuid,
    pub admission_no: String,
    pub name: String,
    /// The filled cells, in the assessment set's order.
    pub cells: Vec<UploadCell>,
}

impl UploadRow {
    pub fn changes(&self) -> usize {
        self.cells.iter().filter(|c| c.changes()).count()
    }
}

/// A checked file, as kept between its preview and its commit.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CheckedUpload {
    /// The keys of the assessments the file has a column for, in the set's order.
    pub assessments: Vec<String>,
    /// Every error, by line and column. Any: nothing can be saved (and `rows` is empty).
    pub errors: Vec<UploadError>,
    /// The students of the file, in file order.
    pub rows: Vec<UploadRow>,
}

impl CheckedUpload {
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }

    /// Cells whose mark changes.
    pub fn changes(&self) -> usize {
        self.rows.iter().map(UploadRow::changes).sum()
    }

    /// Rows of the file that change nothing.
    pub fn unchanged_rows(&self) -> usize {
        self.rows.iter().filter(|r| r.changes() == 0).count()
    }

    /// What the commit saves: every filled cell (changed or not) over the revision the
    /// preview showed, so that a cell changed since by someone else is a conflict.
    pub fn cells(&self) -> Vec<CellSave> {
        self.rows
            .iter()
            .flat_map(|r| {
                r.cells.iter().map(|c| CellSave {
                    student: r.student,
                    assessment: c.assessment.clone(),
                    value: c.new.clone(),
                    base_revision: c.revision,
                })
            })
            .collect()
    }
}

/// A cell someone changed between the preview and the commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadConflict {
    pub admission_no: String,
    pub name: String,
    pub assessment: String,
    /// What the preview showed as stored ("" when not entered).
    pub previewed: String,
    /// The file's mark.
    pub new: String,
    /// What is stored now ("" when cleared).
    pub current: String,
    /// Who wrote it.
    pub by: String,
}

/// What confirming an upload did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UploadOutcome {
    /// Every mark of the file saved, in one audited save; `changed` of them changed.
    Saved { changed: usize },
    /// Someone changed these cells since the preview: nothing was written.
    Conflicts { cells: Vec<UploadConflict> },
}

/// An upload as its preview page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadView {
    pub id: Uuid,
    pub term_id: Uuid,
    pub stream_id: Uuid,
    pub subject_id: Uuid,
    pub file_name: String,
    pub term_label: String,
    pub class_name: String,
    pub subject_en: String,
    pub subject_sw: String,
    /// (key, name) of the assessments the file has a column for.
    pub assessments: Vec<(String, String)>,
    /// The checked file; empty once saved.
    pub checked: CheckedUpload,
    /// Active students of the stream the file does not mention (their marks stay as they are).
    pub students_not_in_file: usize,
    /// The sheet's marks are approved: confirming needs a reason.
    pub needs_reason: bool,
    pub committed: bool,
    /// What confirming did (saved, or the conflicts that stopped it).
    pub outcome: Option<UploadOutcome>,
}

impl UploadView {
    /// The preview can be confirmed: clean, something to change, not tried yet.
    pub fn can_commit(&self) -> bool {
        !self.committed && self.outcome.is_none() && self.checked.is_clean() && self.checked.changes() > 0
    }
}

/// A data row as read from the file: its line and its non-blank cells (column, text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextRow {
    pub line: usize,
    pub cells: Vec<(u32, String)>,
}

/// An active student of the stream: (id, admission number, name).
pub type RosterEntry = (Uuid, String, String);

#[cfg(feature = "ssr")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Admission,
    Name,
    Mark(usize),
}

#[cfg(feature = "ssr")]
const ADMISSION_HEADERS: [&str; 5] = ["admissionno", "admission", "admno", "admissionnumber", "nambayausajili"];
#[cfg(feature = "ssr")]
const NAME_HEADERS: [&str; 7] = ["name", "student", "studentname", "fullname", "jina", "jinalamwanafunzi", "mwanafunzi"];

#[cfg(feature = "ssr")]
fn column_for(header: &str, set: &AssessmentSet) -> Option<Col> {
    use crate::spreadsheet::header_key;
    let h = header_key(header);
    if ADMISSION_HEADERS.contains(&h.as_str()) {
        return Some(Col::Admission);
    }
    if NAME_HEADERS.contains(&h.as_str()) {
        return Some(Col::Name);
    }
    set.assessments().iter().position(|a| header_key(&a.key) == h || header_key(&a.name) == h).map(Col::Mark)
}

#[cfg(feature = "ssr")]
struct Errors {
    list: Vec<(usize, u32, UploadError)>,
}

#[cfg(feature = "ssr")]
impl Errors {
    /// An error at `line`, in column `col` (`None`: the row or the file) headed `header`.
    fn push(&mut self, line: usize, col: Option<u32>, header: &str, message: &str, value: &str) {
        let value: String = value.trim().chars().take(MAX_ERROR_VALUE_CHARS).collect();
        let column = col.map(crate::spreadsheet::column_letter).unwrap_or_default();
        let order = col.map_or(0, |c| c + 1);
        self.list.push((line, order, UploadError { line, column, header: header.trim().to_owned(), message: message.to_owned(), value }));
    }

    fn into_sorted(mut self) -> Vec<UploadError> {
        self.list.sort_by_key(|(line, order, _)| (*line, *order));
        self.list.into_iter().map(|(_, _, e)| e).collect()
    }
}

/// Checks the rows of a file against the sheet: `roster` is the stream's active students,
/// `current` the stored entries by (student, assessment key). See the module documentation.
#[cfg(feature = "ssr")]
pub fn check_rows(
    rows: Vec<TextRow>,
    set: &AssessmentSet,
    roster: &[RosterEntry],
    current: &HashMap<(Uuid, String), Entry>,
) -> CheckedUpload {
    let mut errors = Errors { list: Vec::new() };
    let mut rows = rows.into_iter();
    // The header: the first of the first rows that has an admission number column.
    let mut first_line = None;
    let mut header = None;
    for (searched, row) in rows.by_ref().enumerate() {
        first_line.get_or_insert(row.line);
        if row.cells.iter().any(|(_, text)| column_for(text, set) == Some(Col::Admission)) {
            header = Some(row);
            break;
        }
        if searched + 1 >= HEADER_SEARCH_ROWS {
            break;
        }
    }
    let Some(header) = header else {
        errors.push(first_line.unwrap_or(1), None, "", "results-upload-no-admission-column", "");
        return CheckedUpload { assessments: Vec::new(), errors: errors.into_sorted(), rows: Vec::new() };
    };

    // The columns.
    let mut columns: BTreeMap<u32, (Col, String)> = BTreeMap::new();
    let mut named: Vec<u32> = Vec::new();
    for (index, text) in &header.cells {
        named.push(*index);
        match column_for(text, set) {
            Some(col) if columns.values().any(|(c, _)| *c == col) => {
                errors.push(header.line, Some(*index), text, "results-upload-duplicate-column", text);
            }
            Some(col) => {
                columns.insert(*index, (col, text.trim().to_owned()));
            }
            None => errors.push(header.line, Some(*index), text, "results-upload-unknown-column", text),
        }
    }
    let mut marks: Vec<(usize, u32)> =
        columns.iter().filter_map(|(index, (col, _))| if let Col::Mark(i) = col { Some((*i, *index)) } else { None }).collect();
    marks.sort_unstable();
    if marks.is_empty() {
        errors.push(header.line, None, "", "results-upload-no-mark-columns", "");
    }
    let admission_col = columns.iter().find(|(_, (c, _))| *c == Col::Admission).map(|(i, _)| *i);

    let roster_by_no: HashMap<String, &RosterEntry> = roster.iter().map(|r| (r.1.trim().to_uppercase(), r)).collect();
    let mut seen: HashMap<Uuid, usize> = HashMap::new();
    let mut unnamed_reported: Vec<u32> = Vec::new();
    let mut out_rows = Vec::new();
    let mut filled = 0usize;
    for row in rows {
        let cell =
            |index: Option<u32>| -> &str { index.and_then(|i| row.cells.iter().find(|(c, _)| *c == i)).map_or("", |(_, t)| t.trim()) };
        for (index, text) in &row.cells {
            if !named.contains(index) && !text.trim().is_empty() && !unnamed_reported.contains(index) {
                unnamed_reported.push(*index);
                errors.push(row.line, Some(*index), "", "results-upload-unnamed-column", text);
            }
        }
        let header_of = |index: u32| columns.get(&index).map_or("", |(_, h)| h.as_str());
        let admission = cell(admission_col);
        let any_mark = marks.iter().any(|(_, index)| !cell(Some(*index)).is_empty());
        let before = errors.list.len();
        let student = if admission.is_empty() {
            if any_mark {
                let at = admission_col.unwrap_or(0);
                errors.push(row.line, Some(at), header_of(at), "results-upload-admission-required", "");
            }
            None
        } else {
            match roster_by_no.get(&admission.to_uppercase()) {
                None => {
                    let at = admission_col.unwrap_or(0);
                    errors.push(row.line, Some(at), header_of(at), "results-upload-student-not-in-stream", admission);
                    None
                }
                Some(student) => {
                    if seen.insert(student.0, row.line).is_some() {
                        let at = admission_col.unwrap_or(0);
                        errors.push(row.line, Some(at), header_of(at), "results-upload-duplicate-student", admission);
                    }
                    Some(*student)
                }
            }
        };
        let mut cells = Vec::new();
        for (assessment, index) in &marks {
            let typed = cell(Some(*index));
            if typed.is_empty() {
                continue;
            }
            match check_cell(set, *assessment, typed) {
                Ok(Some(mark)) => {
                    let key = set.assessments().get(*assessment).map(|a| a.key.clone()).unwrap_or_default();
                    let stored = student.and_then(|s| current.get(&(s.0, key.clone())));
                    cells.push(UploadCell {
                        assessment: key,
                        old: stored.map(|e| e.text.clone()).unwrap_or_default(),
                        new: Mark::to_sheet_string(mark),
                        revision: stored.map_or(0, |e| e.revision),
                    });
                }
                Ok(None) => {}
                Err(e) => errors.push(row.line, Some(*index), header_of(*index), &e.message, typed),
            }
        }
        if let (Some(student), true) = (student, errors.list.len() == before) {
            filled += cells.len();
            out_rows.push(UploadRow {
                line: row.line,
                student: student.0,
                admission_no: student.1.clone(),
                name: student.2.clone(),
                cells,
            });
        }
    }
    if errors.list.is_empty() && filled == 0 {
        errors.push(header.line, None, "", "results-upload-no-marks", "");
    }
    if filled > MAX_CELLS_PER_SAVE {
        errors.push(header.line, None, "", "results-error-too-many-cells", "");
    }
    let errors = errors.into_sorted();
    let assessments = marks.iter().filter_map(|(i, _)| set.assessments().get(*i).map(|a| a.key.clone())).collect();
    let rows = if errors.is_empty() { out_rows } else { Vec::new() };
    CheckedUpload { assessments, errors, rows }
}

/// Reads a CSV or XLSX file into [`TextRow`]s (numbers as text: `67.5`, a whole `60.0` as
/// `60`). A file that cannot be read is refused on the field `file`.
#[cfg(feature = "ssr")]
pub fn read_file(file_name: &str, bytes: &[u8]) -> Result<Vec<TextRow>, crate::ValidationError> {
    use crate::spreadsheet::{detect, read_rows, ReadError};
    let refuse = |key: &str| crate::ValidationError::new("file", key);
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(refuse("results-upload-too-large"));
    }
    let kind = detect(file_name, bytes).ok_or_else(|| refuse("results-upload-not-a-spreadsheet"))?;
    let sheet = read_rows(kind, bytes, MAX_ROWS + HEADER_SEARCH_ROWS, MAX_COLUMNS).map_err(|e| match e {
        ReadError::NotUtf8 => refuse("results-upload-not-utf8"),
        ReadError::NotASpreadsheet => refuse("results-upload-not-a-spreadsheet"),
        ReadError::Empty => refuse("results-upload-empty"),
        ReadError::TooManyRows => refuse("results-upload-too-many-rows"),
    })?;
    Ok(sheet
        .rows
        .into_iter()
        .map(|row| TextRow { line: row.line, cells: row.cells.into_iter().map(|(col, value)| (col, value.into_text())).collect() })
        .collect())
}

/// The template of a sheet as CSV (with a byte-order mark, so Excel reads it as UTF-8): the
/// stream's students (admission number, name) and a blank column per assessment, headed by
/// its key.
#[cfg(feature = "ssr")]
pub fn template_csv(view: &super::entry::SheetView) -> String {
    let mut out = String::from("\u{feff}");
    let mut header = vec!["admission_no".to_owned(), "name".to_owned()];
    header.extend(view.assessments.assessments().iter().map(|a| a.key.clone()));
    super::sheet::push_record(&mut out, &header);
    for row in &view.rows {
        let mut record = vec![row.admission_no.clone(), row.name.clone()];
        record.extend(view.assessments.assessments().iter().map(|_| String::new()));
        super::sheet::push_record(&mut out, &record);
    }
    out
}

#[cfg(test)]
#[cfg(feature = "ssr")]
mod tests {
    use super::*;

    fn rows(csv: &str) -> Vec<TextRow> {
        read_file("marks.csv", csv.as_bytes()).unwrap()
    }

    fn roster() -> Vec<RosterEntry> {
        (1..=4u128).map(|i| (Uuid::from_u128(i), format!("KH/{i}"), format!("Student {i}"))).collect()
    }

    fn stored() -> HashMap<(Uuid, String), Entry> {
        HashMap::from([
            ((Uuid::from_u128(1), "mt1".to_owned()), Entry { text: "50".into(), revision: 2 }),
            ((Uuid::from_u128(2), "exam".to_owned()), Entry { text: "ABS".into(), revision: 1 }),
        ])
    }

    fn errors(c: &CheckedUpload) -> Vec<(usize, &str, &str, &str)> {
        c.errors.iter().map(|e| (e.line, e.column.as_str(), e.message.as_str(), e.value.as_str())).collect()
    }

    #[test]
    fn a_clean_file_keeps_what_it_was_checked_against() {
        let set = AssessmentSet::default_secondary();
        let file = "Form 2A marks,,,\n\
                    Admission No,Name,Monthly test 1,EXAM\n\
                    kh/1,Student 1,50,70.5\n\
                    KH/2, ,,abs\n\
                    ,just a note,,\n\
                    KH/3,Student 3,ex,\n";
        let c = check_rows(rows(file), &set, &roster(), &stored());
        assert_eq!(c.errors, vec![]);
        assert_eq!(c.assessments, ["mt1", "exam"]);
        assert_eq!(c.rows.len(), 3);
        assert_eq!((c.rows[0].line, c.rows[0].admission_no.as_str()), (3, "KH/1"));
        assert_eq!(
            c.rows[0].cells,
            [
                UploadCell { assessment: "mt1".into(), old: "50".into(), new: "50".into(), revision: 2 },
                UploadCell { assessment: "exam".into(), old: "".into(), new: "70.5".into(), revision: 0 },
            ]
        );
        assert_eq!(c.rows[1].cells, [UploadCell { assessment: "exam".into(), old: "ABS".into(), new: "ABS".into(), revision: 1 }]);
        assert_eq!(c.changes(), 2);
        assert_eq!(c.unchanged_rows(), 1);
        let saves = c.cells();
        assert_eq!(saves.len(), 4, "unchanged cells are saved too, so a change since the preview shows as a conflict");
        assert_eq!((saves[0].value.as_str(), saves[0].base_revision), ("50", 2));
    }

    #[test]
    fn every_error_is_reported_with_its_line_and_column() {
        let set = AssessmentSet::default_secondary();
        let file = "admission_no,name,mt1,midterm,total,exam\n\
                    KH/1,A,101,x,,\n\
                    KH/9,B,50,,,\n\
                    KH/1,C,,,,60\n\
                    ,D,40,,,\n\
                    KH/2,E,,,,,stray\n";
        let c = check_rows(rows(file), &set, &roster(), &stored());
        assert_eq!(
            errors(&c),
            [
                (1, "E", "results-upload-unknown-column", "total"),
                (2, "C", "error-mark-out-of-range", "101"),
                (2, "D", "error-mark-invalid", "x"),
                (3, "A", "results-upload-student-not-in-stream", "KH/9"),
                (4, "A", "results-upload-duplicate-student", "KH/1"),
                (5, "A", "results-upload-admission-required", ""),
                (6, "G", "results-upload-unnamed-column", "stray"),
            ]
        );
        assert_eq!(c.errors[1].header, "mt1");
        assert!(c.rows.is_empty(), "nothing to save while there is an error");
    }

    #[test]
    fn file_level_errors() {
        let set = AssessmentSet::default_secondary();
        let c = check_rows(rows("name,mt1\nA,50\n"), &set, &roster(), &stored());
        assert_eq!(errors(&c), [(1, "", "results-upload-no-admission-column", "")]);
        let c = check_rows(rows("admission_no,name\nKH/1,A\n"), &set, &roster(), &stored());
        assert_eq!(errors(&c), [(1, "", "results-upload-no-mark-columns", "")]);
        let c = check_rows(rows("admission_no,exam,Terminal exam\nKH/1,50,60\n"), &set, &roster(), &stored());
        assert_eq!(errors(&c), [(1, "C", "results-upload-duplicate-column", "Terminal exam")]);
        let c = check_rows(rows("admission_no,exam\nKH/1,\n"), &set, &roster(), &stored());
        assert_eq!(errors(&c), [(1, "", "results-upload-no-marks", "")]);
        assert_eq!(read_file("marks.pdf", b"%PDF").unwrap_err().message, "results-upload-not-a-spreadsheet");
        assert_eq!(read_file("marks.csv", b"\xff\xfe").unwrap_err().message, "results-upload-not-utf8");
        assert_eq!(read_file("marks.csv", b"\n\n").unwrap_err().message, "results-upload-empty");
        let many = format!("admission_no,exam\n{}", "KH/1,1\n".repeat(MAX_ROWS + HEADER_SEARCH_ROWS));
        assert_eq!(read_file("marks.csv", many.as_bytes()).unwrap_err().message, "results-upload-too-many-rows");
        assert_eq!(read_file("marks.csv", &vec![b'a'; MAX_UPLOAD_BYTES + 1]).unwrap_err().message, "results-upload-too-large");
    }

    #[test]
    fn xlsx_numbers_read_as_marks() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (col, h) in ["admission_no", "mt1", "exam"].iter().enumerate() {
            sheet.write_string(0, u16::try_from(col).unwrap(), *h).unwrap();
        }
        sheet.write_string(1, 0, "KH/1").unwrap();
        sheet.write_number(1, 1, 67.5).unwrap();
        sheet.write_number(1, 2, 80.0).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let c = check_rows(read_file("marks.xlsx", &bytes).unwrap(), &AssessmentSet::default_secondary(), &roster(), &stored());
        assert_eq!(c.errors, vec![]);
        let news: Vec<&str> = c.rows[0].cells.iter().map(|c| c.new.as_str()).collect();
        assert_eq!(news, ["67.5", "80"]);
    }
}
