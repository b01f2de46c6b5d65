//! The marks sheet as CSV: reading it ([`read_csv`]) and writing computed results
//! ([`write_broadsheet`], [`write_details`], [`write_subjects`], [`write_summary`]). Each
//! writer is a [`Table`] of typed [`Cell`]s (`broadsheet_table`, …) written as CSV, so the
//! XLSX workbook ([`super::xlsx`]) writes the very same rows.
//!
//! # The marks file
//!
//! **One row per student per subject, one column per assessment**:
//!
//! ```text
//! admission_no,name,stream,combination,principal,subject,mt1,midterm,mt2,exam
//! F4/001,Amani Juma,A,,,MAT,60,70,80,75
//! F4/001,Amani Juma,A,,,ENG,70,ABS,70,77.5
//! F4/002,Bahati Said,B,,,MAT,90,90,90,ABS
//! ```
//!
//! Why this shape: it is a subject teacher's own mark book (a row per student, a column per
//! test), so each teacher can export their sheet from a spreadsheet as it is, and the class
//! teacher pastes the subjects one under another. A fully long file (a row per mark) would
//! need three times the rows and retyping; a fully wide one (a column per subject and test)
//! does not fit when students take different subjects, as A-level students do.
//!
//! | Column | Required | Values |
//! |---|---|---|
//! | `admission_no` (`admission`, `adm_no`, `namba_ya_usajili`) | yes | as on the student's record; the same student on several rows must have the same name, stream and combination |
//! | `name` (`student_name`, `jina`) | yes | 1–60 characters, with a letter, not starting with `=`, `+`, `-` or `@` |
//! | `stream` (`class`, `mkondo`, `darasa`) | yes | e.g. `A` or `Form 4A`: any label up to 40 characters |
//! | `combination` (`tahasusi`, `mchepuo`) | no | A-level combination code, e.g. `PCM` |
//! | `principal` (`principal_subject`, `somo_kuu`) | no | `yes`/`ndiyo`/`1`/`P` for a principal subject of the combination, `no`/`hapana`/`0`/`S` or blank otherwise |
//! | `subject` (`somo`) | yes | a code or name up to 40 characters; compared ignoring case; once per student |
//! | one per assessment, named by its key or its name (`mt1` or `Monthly test 1`) | yes | a mark as [`Mark::parse`] reads it (`67`, `67.5`, `ABS`, `EX`), or blank for not entered |
//!
//! Header names are matched ignoring case, spaces and punctuation. The header is the first of
//! the first 10 non-empty rows that names at least two known columns (a title above it is
//! fine). Unknown columns (a teacher's own total or grade) are ignored. Empty rows are
//! skipped. UTF-8 (a byte-order mark is fine); the delimiter is `,`, or `;` or a tab when the
//! header line has no comma. At most [`MAX_ROWS`] data rows.
//!
//! Every row is checked and **every** error is reported with its line (the spreadsheet's:
//! the header on line 1 is line 1) and column; if there is any, nothing is computed.
//! Examples: `docs/examples/results/form4-csee.csv` (the hand-worked case of this module's
//! tests) and `docs/examples/results/form6-acsee.csv`.
//!
//! # The results files
//!
//! Comma-separated, `\n` line ends, no byte-order mark (a web handler adds one for Excel).
//! Text that starts like a formula (`=`, `+`, `-`, `@`) is written after a `'`.
//! - [`write_broadsheet`]: one row per student in merit order (class position, the unranked
//!   last, ties in sheet order): each subject's score (`ABS`, `EX`, `INC` for incomplete,
//!   blank when not taken) and grade, then `total`, `sat`, `average`, `points`, `division`
//!   (or `grade` for an average-grade scheme), `note` (why there is none), `stream_position`,
//!   `class_position`.
//! - [`write_details`]: one row per student and subject with points, remarks and subject
//!   positions (`place/out_of`).
//! - [`write_subjects`]: per subject: sat, absent, exempt, incomplete, mean, highest,
//!   lowest, top and bottom (admission numbers), and the count of each grade.
//! - [`write_summary`]: the class and each stream: students, ranked, average and the
//!   division (or overall grade) counts.

use super::assessments::{AssessmentSet, TermOutcome};
use super::compute::{ClassResults, Position, Sheet, SheetStudent, SheetSubject};
use super::marks::{Hundredths, Mark};
use super::scheme::{Division, Overall, OverallRule};
use crate::academic::students::{clean_name, FORMULA_STARTS};
use crate::academic::AdmissionNo;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// The most data rows one file may have (2,000 students × 12 subjects is 24,000).
pub const MAX_ROWS: usize = 100_000;
const HEADER_SEARCH_ROWS: usize = 10;
const MAX_LABEL_CHARS: usize = 40;
const MAX_ERROR_VALUE_CHARS: usize = 100;

/// A problem with one cell (or row) of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// The spreadsheet line (the header's line is counted like any other).
    pub line: usize,
    /// The column, e.g. `admission_no` or an assessment key such as `midterm`.
    pub column: String,
    /// An i18n key, e.g. `error-mark-out-of-range`.
    pub message: String,
    /// What was typed (trimmed, at most 100 characters).
    pub value: String,
}

/// Why a file gave no sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SheetError {
    /// The file as a whole: `message` is an i18n key (`results-file-not-utf8`,
    /// `results-file-not-csv`, `results-file-empty`, `results-file-missing-column`,
    /// `results-file-duplicate-column`, `results-file-too-many-rows`); `detail` names the
    /// columns or the limit.
    File { message: String, detail: String },
    /// Every error of every row, by line and then column order.
    Rows(Vec<RowError>),
}

impl SheetError {
    fn file(message: &str, detail: impl Into<String>) -> Self {
        Self::File { message: message.to_owned(), detail: detail.into() }
    }
}

impl fmt::Display for SheetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { message, detail } if detail.is_empty() => write!(f, "{message}"),
            Self::File { message, detail } => write!(f, "{message}: {detail}"),
            Self::Rows(errors) => write!(f, "{} errors, the first on line {}", errors.len(), errors.first().map_or(0, |e| e.line)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    AdmissionNo,
    Name,
    Stream,
    Combination,
    Principal,
    Subject,
    Assessment(usize),
}

impl Col {
    fn name(self, set: &AssessmentSet) -> String {
        match self {
            Self::AdmissionNo => "admission_no".into(),
            Self::Name => "name".into(),
            Self::Stream => "stream".into(),
            Self::Combination => "combination".into(),
            Self::Principal => "principal".into(),
            Self::Subject => "subject".into(),
            Self::Assessment(i) => set.assessments().get(i).map_or_else(String::new, |a| a.key.clone()),
        }
    }
}

/// Lower-case letters and digits only: `Admission No.` → `admissionno`.
fn normalise(header: &str) -> String {
    header.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

fn column_for(header: &str, set: &AssessmentSet) -> Option<Col> {
    let h = normalise(header);
    let fixed = match h.as_str() {
        "admissionno" | "admission" | "admno" | "admissionnumber" | "nambayausajili" => Some(Col::AdmissionNo),
        "name" | "studentname" | "fullname" | "jina" | "jinalamwanafunzi" => Some(Col::Name),
        "stream" | "class" | "mkondo" | "darasa" => Some(Col::Stream),
        "combination" | "tahasusi" | "mchepuo" => Some(Col::Combination),
        "principal" | "principalsubject" | "somokuu" => Some(Col::Principal),
        "subject" | "somo" => Some(Col::Subject),
        _ => None,
    };
    fixed.or_else(|| set.assessments().iter().position(|a| normalise(&a.key) == h || normalise(&a.name) == h).map(Col::Assessment))
}

struct Row {
    line: usize,
    cells: Vec<String>,
}

fn read_rows(bytes: &[u8]) -> Result<Vec<Row>, SheetError> {
    use crate::spreadsheet::{read_csv_records, CsvError};
    let records = read_csv_records(bytes, MAX_ROWS + HEADER_SEARCH_ROWS + 1).map_err(|e| match e {
        CsvError::NotUtf8 => SheetError::file("results-file-not-utf8", ""),
        CsvError::NotCsv { line: None } => SheetError::file("results-file-not-csv", ""),
        CsvError::NotCsv { line: Some(line) } => SheetError::file("results-file-not-csv", format!("line {line}")),
        CsvError::Empty => SheetError::file("results-file-empty", ""),
        CsvError::TooManyRecords => SheetError::file("results-file-too-many-rows", MAX_ROWS.to_string()),
    })?;
    Ok(records.into_iter().map(|(line, record)| Row { line, cells: record.iter().map(str::to_owned).collect() }).collect())
}

fn clean_text(input: &str) -> String {
    input.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn check_label(input: &str, max: usize, required: &'static str, invalid: &'static str) -> Result<String, &'static str> {
    let s = clean_text(input);
    if s.is_empty() {
        Err(required)
    } else if s.chars().count() > max || s.starts_with(FORMULA_STARTS) || s.chars().any(char::is_control) {
        Err(invalid)
    } else {
        Ok(s)
    }
}

fn parse_principal(input: &str) -> Option<bool> {
    match input.trim().to_lowercase().as_str() {
        "" | "no" | "n" | "false" | "0" | "hapana" | "s" | "subsidiary" => Some(false),
        "yes" | "y" | "true" | "1" | "ndiyo" | "ndio" | "p" | "principal" => Some(true),
        _ => None,
    }
}

/// Where each known column is in the file.
struct Columns {
    index: Vec<(Col, usize)>,
}

impl Columns {
    /// The cell of `col` in `row` ("" when the column or cell is missing).
    fn cell<'r>(&self, row: &'r Row, col: Col) -> &'r str {
        self.index.iter().find(|(c, _)| *c == col).and_then(|&(_, i)| row.cells.get(i)).map_or("", String::as_str)
    }
}

/// The errors of one row, kept in column order.
struct RowCheck<'a> {
    set: &'a AssessmentSet,
    at: &'a [(usize, Col)],
    line: usize,
    errors: Vec<(usize, RowError)>,
}

impl RowCheck<'_> {
    fn fail(&mut self, col: Col, message: &str, value: &str) {
        let order = self.at.iter().position(|(_, c)| *c == col).unwrap_or(usize::MAX);
        let value: String = value.trim().chars().take(MAX_ERROR_VALUE_CHARS).collect();
        self.errors.push((order, RowError { line: self.line, column: col.name(self.set), message: message.to_owned(), value }));
    }
}

/// Reads a marks file for the assessments of `set`; see the module documentation.
pub fn read_csv(bytes: &[u8], set: &AssessmentSet) -> Result<Sheet, SheetError> {
    let rows = read_rows(bytes)?;
    let mut rows = rows.into_iter();
    // The header: the first of the first rows that names two known columns.
    let mut header: Option<(usize, Vec<Option<Col>>)> = None;
    let mut first: Option<(usize, Vec<Option<Col>>)> = None;
    for (searched, row) in rows.by_ref().enumerate() {
        let columns: Vec<Option<Col>> = row.cells.iter().map(|c| column_for(c, set)).collect();
        if columns.iter().flatten().count() >= 2 {
            header = Some((row.line, columns));
            break;
        }
        first.get_or_insert((row.line, columns));
        if searched + 1 >= HEADER_SEARCH_ROWS {
            break;
        }
    }
    let (_, columns) = header.or(first).ok_or_else(|| SheetError::file("results-file-empty", ""))?;
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut at: Vec<(usize, Col)> = Vec::new();
    for (i, col) in columns.iter().enumerate() {
        if let Some(col) = col {
            if index.insert(col.name(set), i).is_some() {
                return Err(SheetError::file("results-file-duplicate-column", col.name(set)));
            }
            at.push((i, *col));
        }
    }
    let mut required = vec![Col::AdmissionNo, Col::Name, Col::Stream, Col::Subject];
    required.extend((0..set.len()).map(Col::Assessment));
    let missing: Vec<String> = required.iter().map(|c| c.name(set)).filter(|n| !index.contains_key(n)).collect();
    if !missing.is_empty() {
        return Err(SheetError::file("results-file-missing-column", missing.join(", ")));
    }
    let columns = Columns { index: at.iter().map(|&(i, c)| (c, i)).collect() };

    let mut sheet = Sheet::default();
    let mut errors: Vec<RowError> = Vec::new();
    let mut student_of: HashMap<String, usize> = HashMap::new();
    let mut subject_of: HashMap<String, usize> = HashMap::new();
    let mut taken: HashSet<(usize, usize)> = HashSet::new();
    let mut data_rows = 0usize;
    for row in rows {
        data_rows += 1;
        if data_rows > MAX_ROWS {
            return Err(SheetError::file("results-file-too-many-rows", MAX_ROWS.to_string()));
        }
        let mut check = RowCheck { set, at: &at, line: row.line, errors: Vec::new() };
        let admission = AdmissionNo::parse(columns.cell(&row, Col::AdmissionNo))
            .map_err(|e| check.fail(Col::AdmissionNo, &e.message, columns.cell(&row, Col::AdmissionNo)))
            .ok();
        let name = clean_name(columns.cell(&row, Col::Name)).map_err(|k| check.fail(Col::Name, k, columns.cell(&row, Col::Name))).ok();
        let stream = check_label(columns.cell(&row, Col::Stream), MAX_LABEL_CHARS, "error-stream-required", "error-stream-invalid")
            .map_err(|k| check.fail(Col::Stream, k, columns.cell(&row, Col::Stream)))
            .ok();
        let combination = match columns.cell(&row, Col::Combination).trim() {
            "" => Some(None),
            typed => crate::academic::classes::parse_combination_code(typed)
                .map(Some)
                .map_err(|e| check.fail(Col::Combination, &e.message, typed))
                .ok(),
        };
        let principal = parse_principal(columns.cell(&row, Col::Principal));
        if principal.is_none() {
            check.fail(Col::Principal, "error-principal-invalid", columns.cell(&row, Col::Principal));
        }
        let subject = check_label(columns.cell(&row, Col::Subject), MAX_LABEL_CHARS, "error-subject-required", "error-subject-invalid")
            .map_err(|k| check.fail(Col::Subject, k, columns.cell(&row, Col::Subject)))
            .ok();
        let mut marks = Vec::with_capacity(set.len());
        for (i, a) in set.assessments().iter().enumerate() {
            let typed = columns.cell(&row, Col::Assessment(i));
            if typed.trim().is_empty() {
                marks.push(None);
                continue;
            }
            match Mark::parse(typed, a.max) {
                Ok(m) => marks.push(Some(m)),
                Err(e) => {
                    check.fail(Col::Assessment(i), &e.message, typed);
                    marks.push(None);
                }
            }
        }
        // The student and subject, checked against the rows before.
        if let (Some(admission), Some(name), Some(stream), Some(combination)) = (admission, name, stream, combination) {
            let key = admission.as_str().to_owned();
            let who = match student_of.get(&key) {
                Some(&who) => {
                    if let Some(known) = sheet.students.get(who) {
                        if known.name != name {
                            check.fail(Col::Name, "error-student-inconsistent", columns.cell(&row, Col::Name));
                        }
                        if known.stream != stream {
                            check.fail(Col::Stream, "error-student-inconsistent", columns.cell(&row, Col::Stream));
                        }
                        if known.combination != combination {
                            check.fail(Col::Combination, "error-student-inconsistent", columns.cell(&row, Col::Combination));
                        }
                    }
                    who
                }
                None => {
                    student_of.insert(key.clone(), sheet.students.len());
                    sheet.students.push(SheetStudent { admission_no: key, name, stream, combination, subjects: Vec::new() });
                    sheet.students.len() - 1
                }
            };
            if let Some(subject) = subject {
                let subject_key = subject.to_uppercase();
                let id = match subject_of.get(&subject_key) {
                    Some(&id) => id,
                    None => {
                        subject_of.insert(subject_key, sheet.subjects.len());
                        sheet.subjects.push(subject.clone());
                        sheet.subjects.len() - 1
                    }
                };
                if !taken.insert((who, id)) {
                    check.fail(Col::Subject, "error-subject-repeated", &subject);
                } else if check.errors.is_empty() {
                    if let Some(student) = sheet.students.get_mut(who) {
                        student.subjects.push(SheetSubject { subject: id, principal: principal.unwrap_or(false), marks });
                    }
                }
            }
        }
        check.errors.sort_by_key(|(order, _)| *order);
        errors.extend(check.errors.into_iter().map(|(_, e)| e));
    }
    if sheet.students.is_empty() && errors.is_empty() {
        return Err(SheetError::file("results-file-empty", ""));
    }
    if errors.is_empty() {
        Ok(sheet)
    } else {
        Err(SheetError::Rows(errors))
    }
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

pub(crate) fn push_record<S: AsRef<str>>(out: &mut String, fields: impl IntoIterator<Item = S>) {
    for (i, field) in fields.into_iter().enumerate() {
        let field = field.as_ref();
        if i > 0 {
            out.push(',');
        }
        let defused = field.starts_with(FORMULA_STARTS);
        if defused || field.contains([',', ';', '"', '\n', '\r', '\t']) {
            out.push('"');
            if defused {
                out.push('\'');
            }
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push('\n');
}

/// One cell of a computed table. Typed, so a spreadsheet gets numbers as numbers while the
/// CSV writes each as it is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Empty,
    Text(String),
    Whole(u32),
    /// Two decimals, as averages and means are shown (`67.50`).
    Fixed(Hundredths),
}

impl Cell {
    /// Text, or [`Cell::Empty`] for "".
    fn text(s: impl Into<String>) -> Self {
        let s = s.into();
        if s.is_empty() {
            Self::Empty
        } else {
            Self::Text(s)
        }
    }

    fn whole<T: Into<u32>>(v: Option<T>) -> Self {
        v.map_or(Self::Empty, |v| Self::Whole(v.into()))
    }

    fn fixed(v: Option<Hundredths>) -> Self {
        v.map_or(Self::Empty, Self::Fixed)
    }
}

/// As the CSV writes it: "" for empty, numbers in full, fixed with two decimals.
impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => Ok(()),
            Self::Text(s) => f.write_str(s),
            Self::Whole(n) => write!(f, "{n}"),
            Self::Fixed(h) => write!(f, "{h}"),
        }
    }
}

/// A computed table: what the CSV and the XLSX writers both write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// Comma-separated, `\n` line ends; text that starts like a formula gets a `'`.
    pub fn to_csv(&self) -> String {
        let width = self.header.len();
        let mut out = String::with_capacity(16 * width * (self.rows.len() + 1));
        push_record(&mut out, &self.header);
        for row in &self.rows {
            push_record(&mut out, row.iter().map(Cell::to_string));
        }
        out
    }
}

fn outcome_cell(outcome: TermOutcome) -> Cell {
    match outcome {
        TermOutcome::Score(s) => Cell::Whole(u32::from(s)),
        TermOutcome::Absent => Cell::text("ABS"),
        TermOutcome::Exempt => Cell::text("EX"),
        TermOutcome::Incomplete => Cell::text("INC"),
    }
}

fn position(p: Option<Position>) -> Cell {
    p.map_or(Cell::Empty, |p| Cell::Text(format!("{}/{}", p.place, p.out_of)))
}

fn overall_cells(r: &ClassResults, overall: Overall) -> (Cell, Cell) {
    match overall {
        Overall::Division { division, .. } => (Cell::text(division.label()), Cell::Empty),
        Overall::Grade { band } => (Cell::text(r.grade(band)), Cell::Empty),
        Overall::None { why } => (Cell::Empty, Cell::text(why.to_string())),
    }
}

/// Whether the scheme gives divisions (else an overall grade from the average).
pub fn uses_divisions(r: &ClassResults) -> bool {
    matches!(r.overall_rule, OverallRule::Division { .. })
}

/// One row per student in merit order; see the module documentation.
pub fn broadsheet_table(r: &ClassResults) -> Table {
    let mut header: Vec<String> = ["admission_no", "name", "stream", "combination"].map(String::from).to_vec();
    for s in &r.subjects {
        header.push(s.clone());
        header.push(format!("{s} grade"));
    }
    let overall = if uses_divisions(r) { "division" } else { "grade" };
    header.extend(["total", "sat", "average", "points", overall, "note", "stream_position", "class_position"].map(String::from));
    let mut rows = Vec::with_capacity(r.students.len());
    for who in r.merit_order() {
        let Some(s) = r.students.get(who) else { continue };
        let mut row = Vec::with_capacity(header.len());
        row.extend([
            Cell::text(s.admission_no.as_str()),
            Cell::text(s.name.as_str()),
            Cell::text(s.stream.as_str()),
            Cell::text(s.combination.clone().unwrap_or_default()),
        ]);
        let mut cells = vec![(Cell::Empty, Cell::Empty); r.subjects.len()];
        for sub in &s.subjects {
            if let Some(c) = cells.get_mut(sub.subject) {
                *c = (outcome_cell(sub.outcome), sub.band.map_or(Cell::Empty, |b| Cell::text(r.grade(b))));
            }
        }
        for (score, grade) in cells {
            row.push(score);
            row.push(grade);
        }
        let (overall, note) = overall_cells(r, s.overall);
        row.extend([
            Cell::Whole(s.total),
            Cell::Whole(s.sat),
            Cell::fixed(s.average),
            Cell::whole(s.points),
            overall,
            note,
            Cell::whole(s.stream_position.map(|p| p.place)),
            Cell::whole(s.class_position.map(|p| p.place)),
        ]);
        rows.push(row);
    }
    Table { header, rows }
}

/// [`broadsheet_table`] as CSV.
pub fn write_broadsheet(r: &ClassResults) -> String {
    broadsheet_table(r).to_csv()
}

/// One row per student and subject, in sheet order; positions as `place/out_of`.
pub fn details_table(r: &ClassResults) -> Table {
    let header = [
        "admission_no",
        "name",
        "stream",
        "subject",
        "principal",
        "score",
        "grade",
        "points",
        "remark_en",
        "remark_sw",
        "stream_position",
        "class_position",
    ]
    .map(String::from)
    .to_vec();
    let mut rows = Vec::with_capacity(r.students.len() * r.subjects.len());
    for s in &r.students {
        for sub in &s.subjects {
            let band = sub.band.and_then(|b| r.bands.get(usize::from(b)));
            rows.push(vec![
                Cell::text(s.admission_no.as_str()),
                Cell::text(s.name.as_str()),
                Cell::text(s.stream.as_str()),
                Cell::text(r.subjects.get(sub.subject).cloned().unwrap_or_default()),
                if sub.principal { Cell::text("yes") } else { Cell::Empty },
                outcome_cell(sub.outcome),
                band.map_or(Cell::Empty, |b| Cell::text(b.grade.as_str())),
                Cell::whole(sub.points),
                band.map_or(Cell::Empty, |b| Cell::text(b.remark_en.as_str())),
                band.map_or(Cell::Empty, |b| Cell::text(b.remark_sw.as_str())),
                position(sub.stream_position),
                position(sub.class_position),
            ]);
        }
    }
    Table { header, rows }
}

/// [`details_table`] as CSV.
pub fn write_details(r: &ClassResults) -> String {
    details_table(r).to_csv()
}

/// Per subject: counts, mean, extremes, top and bottom (admission numbers), grade
/// distribution.
pub fn subjects_table(r: &ClassResults) -> Table {
    let mut header: Vec<String> =
        ["subject", "sat", "absent", "exempt", "incomplete", "mean", "highest", "lowest", "top", "bottom"].map(String::from).to_vec();
    header.extend(r.bands.iter().map(|b| b.grade.clone()));
    let names =
        |who: &[usize]| who.iter().filter_map(|&i| r.students.get(i)).map(|s| s.admission_no.as_str()).collect::<Vec<_>>().join(" ");
    let mut rows = Vec::with_capacity(r.subject_stats.len());
    for st in &r.subject_stats {
        let mut row = vec![
            Cell::text(r.subjects.get(st.subject).cloned().unwrap_or_default()),
            Cell::Whole(st.sat),
            Cell::Whole(st.absent),
            Cell::Whole(st.exempt),
            Cell::Whole(st.incomplete),
            Cell::fixed(st.mean),
            Cell::whole(st.highest),
            Cell::whole(st.lowest),
            Cell::text(names(&st.top)),
            Cell::text(names(&st.bottom)),
        ];
        row.extend(st.grades.iter().map(|&n| Cell::Whole(n)));
        rows.push(row);
    }
    Table { header, rows }
}

/// [`subjects_table`] as CSV.
pub fn write_subjects(r: &ClassResults) -> String {
    subjects_table(r).to_csv()
}

/// The class and each stream: students, ranked, average, division (or grade) counts and
/// `none` (no division or grade).
pub fn summary_table(r: &ClassResults) -> Table {
    let divisions = uses_divisions(r);
    let mut header: Vec<String> = ["group", "students", "ranked", "average"].map(String::from).to_vec();
    if divisions {
        header.extend(Division::ALL.iter().map(|d| format!("division {}", d.label())));
    } else {
        header.extend(r.bands.iter().map(|b| format!("grade {}", b.grade)));
    }
    header.push("none".into());
    let mut rows = Vec::with_capacity(1 + r.streams.len());
    for g in std::iter::once(&r.class).chain(&r.streams) {
        let mut row = vec![
            Cell::text(g.stream.clone().unwrap_or_else(|| "class".into())),
            Cell::Whole(g.students),
            Cell::Whole(g.ranked),
            Cell::fixed(g.average),
        ];
        let counts: &[u32] = if divisions { &g.divisions } else { &g.grades };
        row.extend(counts.iter().map(|&n| Cell::Whole(n)));
        row.push(Cell::Whole(g.no_overall));
        rows.push(row);
    }
    Table { header, rows }
}

/// [`summary_table`] as CSV.
pub fn write_summary(r: &ClassResults) -> String {
    summary_table(r).to_csv()
}

#[cfg(test)]
mod tests {
    use super::super::compute::compute;
    use super::super::presets;
    use super::*;

    const FORM4: &str = include_str!("../../docs/examples/results/form4-csee.csv");
    const FORM6: &str = include_str!("../../docs/examples/results/form6-acsee.csv");

    fn form4() -> ClassResults {
        let set = AssessmentSet::default_secondary();
        let sheet = read_csv(FORM4.as_bytes(), &set).unwrap();
        compute(&sheet, &set, &presets::necta_csee_2016().unwrap()).unwrap()
    }

    /// The example file, worked by hand (see the comments in the expected rows):
    /// - Amani: CIV 80 A, HIS 75 A, GEO 74 B, KIS 65 B, BIO 44 D; ENG 70/ABS/70/77.5 → the
    ///   missing midterm re-weights 10/10/60: (7 + 7 + 46.5) / 0.8 = 75.625 → 76 A; MAT
    ///   60/70/80/75 → 6 + 14 + 8 + 45 = 73 B. Total 487, average 69.571… → 69.57, points
    ///   1+1+2+2+1+4+2 = 13 → division I.
    /// - Bahati: six C's of 50, MAT exam ABS → MAT ABS: six sat, no division; average 50.00.
    /// - Daudi: seven C's of 50 → 21 points → II; average 50.00, tied with Bahati (2, 2).
    /// - Chiku: CIV 29.5 → 30 D (half up), HIS 29.4 → 29 F, four C's of 60, MAT EX → six sat,
    ///   no division; total 299, average 49.833… → 49.83, fourth.
    #[test]
    fn the_csv_path_reproduces_the_hand_worked_case() {
        let expected = "\
admission_no,name,stream,combination,CIV,CIV grade,HIS,HIS grade,GEO,GEO grade,KIS,KIS grade,ENG,ENG grade,BIO,BIO grade,MAT,MAT grade,total,sat,average,points,division,note,stream_position,class_position
F4/001,Amani Juma,A,,80,A,75,A,74,B,65,B,76,A,44,D,73,B,487,7,69.57,13,I,,1,1
F4/002,Bahati Said,B,,50,C,50,C,50,C,50,C,50,C,50,C,ABS,,300,6,50.00,,,fewer than 7 subjects sat (6),1,2
F4/004,Daudi Mushi,B,,50,C,50,C,50,C,50,C,50,C,50,C,50,C,350,7,50.00,21,II,,1,2
F4/003,Chiku Ali,A,,30,D,29,F,60,C,60,C,60,C,60,C,EX,,299,6,49.83,,,fewer than 7 subjects sat (6),2,4
";
        assert_eq!(write_broadsheet(&form4()), expected);
    }

    #[test]
    fn tables_keep_numbers_as_numbers() {
        let t = broadsheet_table(&form4());
        assert_eq!(t.header.len(), 4 + 2 * 7 + 8);
        assert!(t.rows.iter().all(|row| row.len() == t.header.len()));
        // Amani: CIV 80 A …, total 487, sat 7, average 69.57, 13 points, division I, 1, 1.
        let amani = &t.rows[0];
        assert_eq!(
            amani[..6],
            [Cell::text("F4/001"), Cell::text("Amani Juma"), Cell::text("A"), Cell::Empty, Cell::Whole(80), Cell::text("A")]
        );
        assert_eq!(
            amani[18..],
            [
                Cell::Whole(487),
                Cell::Whole(7),
                Cell::Fixed(Hundredths(6957)),
                Cell::Whole(13),
                Cell::text("I"),
                Cell::Empty,
                Cell::Whole(1),
                Cell::Whole(1)
            ]
        );
        // Bahati's absent MAT is text, with no grade.
        assert_eq!(t.rows[1][16..18], [Cell::Text("ABS".into()), Cell::Empty]);
        assert_eq!(Cell::Fixed(Hundredths(5000)).to_string(), "50.00");
    }

    #[test]
    fn details_subjects_and_summary_tables() {
        let r = form4();
        let details = write_details(&r);
        let lines: Vec<&str> = details.lines().collect();
        assert_eq!(lines.len(), 1 + 28);
        assert_eq!(
            lines[0],
            "admission_no,name,stream,subject,principal,score,grade,points,remark_en,remark_sw,stream_position,class_position"
        );
        // Amani's ENG (76) is the best of 50, 60, 50, 76 in the class, and of 76, 60 in stream A.
        assert_eq!(lines[5], "F4/001,Amani Juma,A,ENG,,76,A,1,Excellent,Bora sana,1/2,1/4");
        // Bahati's absent MAT has no grade and no position; Chiku's exempt MAT likewise.
        assert!(lines.contains(&"F4/002,Bahati Said,B,MAT,,ABS,,,,,,"));
        assert!(lines.contains(&"F4/003,Chiku Ali,A,MAT,,EX,,,,,,"));

        let subjects = write_subjects(&r);
        let lines: Vec<&str> = subjects.lines().collect();
        assert_eq!(lines[0], "subject,sat,absent,exempt,incomplete,mean,highest,lowest,top,bottom,A,B,C,D,F");
        // CIV: 80, 50, 30, 50 → mean 52.50; 80 top, 30 bottom.
        assert_eq!(lines[1], "CIV,4,0,0,0,52.50,80,30,F4/001,F4/003,1,0,2,1,0");
        // MAT: only Amani (73) and Daudi (50) sat.
        assert_eq!(lines[7], "MAT,2,1,1,0,61.50,73,50,F4/001,F4/004,0,1,1,0,0");

        let summary = write_summary(&r);
        // Class: averages 69.57, 50, 50, 49.83 → 54.85; divisions I and II one each, two without.
        assert_eq!(
            summary,
            "group,students,ranked,average,division I,division II,division III,division IV,division 0,none\n\
             class,4,4,54.85,1,1,0,0,0,2\n\
             A,2,2,59.70,1,0,0,0,0,1\n\
             B,2,2,50.00,0,1,0,0,0,1\n"
        );
    }

    #[test]
    fn the_acsee_example() {
        let set = AssessmentSet::default_secondary();
        let sheet = read_csv(FORM6.as_bytes(), &set).unwrap();
        let r = compute(&sheet, &set, &presets::necta_acsee_2016().unwrap()).unwrap();
        let out = write_broadsheet(&r);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "admission_no,name,stream,combination,PHY,PHY grade,CHE,CHE grade,MAT,MAT grade,GS,GS grade,BAM,BAM grade,HIS,HIS grade,GEO,GEO grade,ENG,ENG grade,total,sat,average,points,division,note,stream_position,class_position"
        );
        // Merit order. Omari (HGL): HIS 59 D, GEO 50 D, ENG 49 E → 13 points → III; his A's in
        // the subsidiaries GS and BAM do not count.
        assert_eq!(lines[1], "F6/002,Omari Lema,HGL,HGL,,,,,,,90,A,90,A,59,D,50,D,49,E,338,5,67.60,13,III,,1,1");
        // Pendo (PCM) missed the MAT exam: two principal subjects sat, no division; her
        // average 200 / 3 = 66.67 still ranks her.
        assert_eq!(
            lines[2],
            "F6/003,Pendo Kimaro,PCM,PCM,75,B,65,C,ABS,,60,C,,,,,,,,,200,3,66.67,,,fewer than 3 principal subjects sat (2),1,2"
        );
        // Neema (PCM): PHY 80 A, CHE 70 B, MAT 60 C → 6 points → I, though her average is the
        // lowest; GS 35 (S) and BAM 20 (F) are subsidiaries and do not count.
        assert_eq!(lines[3], "F6/001,Neema Mollel,PCM,PCM,80,A,70,B,60,C,35,S,20,F,,,,,,,265,5,53.00,6,I,,2,3");
        assert_eq!(r.class.divisions, [1, 0, 1, 0, 0]);
        assert_eq!(r.class.no_overall, 1);
    }

    #[test]
    fn a_primary_sheet_gets_overall_grades() {
        // Out of 50: 41 → 82 %, 40.5 → 81, 40 → 80, 30.5 → 61, 30 → 60 (A A B B C); average
        // 72.80 → 73 → B. Juma sat four (45 → 90 each) and was absent once: no overall grade.
        let csv = "admission_no,name,stream,subject,Monthly test,Midterm,Terminal exam\n\
                   P7/01,Zawadi Ally,VII,KIS,41,41,41\n\
                   P7/01,Zawadi Ally,VII,ENG,40.5,40.5,40.5\n\
                   P7/01,Zawadi Ally,VII,MAT,40,40,40\n\
                   P7/01,Zawadi Ally,VII,SCI,30.5,30.5,30.5\n\
                   P7/01,Zawadi Ally,VII,SST,30,30,30\n\
                   P7/02,Juma Hassan,VII,KIS,45,45,45\n\
                   P7/02,Juma Hassan,VII,ENG,45,45,45\n\
                   P7/02,Juma Hassan,VII,MAT,45,45,45\n\
                   P7/02,Juma Hassan,VII,SCI,45,45,45\n\
                   P7/02,Juma Hassan,VII,SST,45,ABS,ABS\n";
        let set = AssessmentSet::default_primary();
        let r = compute(&read_csv(csv.as_bytes(), &set).unwrap(), &set, &presets::primary_psle().unwrap()).unwrap();
        assert_eq!(
            write_broadsheet(&r),
            "admission_no,name,stream,combination,KIS,KIS grade,ENG,ENG grade,MAT,MAT grade,SCI,SCI grade,SST,SST grade,total,sat,average,points,grade,note,stream_position,class_position\n\
             P7/02,Juma Hassan,VII,,90,A,90,A,90,A,90,A,ABS,,360,4,90.00,,,fewer than 5 subjects sat (4),1,1\n\
             P7/01,Zawadi Ally,VII,,82,A,81,A,80,B,61,B,60,C,364,5,72.80,,B,,2,2\n"
        );
        assert_eq!(
            write_summary(&r),
            "group,students,ranked,average,grade A,grade B,grade C,grade D,grade E,none\n\
             class,2,2,81.40,0,1,0,0,0,1\n\
             VII,2,2,81.40,0,1,0,0,0,1\n"
        );
    }

    fn errors(csv: &str) -> Vec<(usize, String, String, String)> {
        match read_csv(csv.as_bytes(), &AssessmentSet::default_secondary()) {
            Err(SheetError::Rows(e)) => e.into_iter().map(|e| (e.line, e.column, e.message, e.value)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_row_error_is_reported_with_its_line() {
        let csv = "Form 4 marks, term I\n\
                   Admission No,Name,Stream,Subject,Monthly test 1,Midterm,Monthly test 2,Terminal exam,Total\n\
                   F4/001,Amani Juma,A,MAT,60,120,80,75,999\n\
                   \n\
                   F4/002,Bahati Said,B,MAT,sixty,70,80,67.333\n\
                   ,Chiku Ali,A,MAT,1,2,3,4\n\
                   F4/001,Amani Juma,A,MAT,1,2,3,4\n\
                   F4/001,Amani Juma,B,ENG,1,2,3,4\n\
                   F4/004,=cmd,A,,1,2,3,4\n";
        assert_eq!(
            errors(csv),
            [
                (3, "midterm".into(), "error-mark-out-of-range".into(), "120".into()),
                (5, "mt1".into(), "error-mark-invalid".into(), "sixty".into()),
                (5, "exam".into(), "error-mark-decimals".into(), "67.333".into()),
                (6, "admission_no".into(), "error-admission-required".into(), "".into()),
                (7, "subject".into(), "error-subject-repeated".into(), "MAT".into()),
                (8, "stream".into(), "error-student-inconsistent".into(), "B".into()),
                (9, "name".into(), "error-name-invalid".into(), "=cmd".into()),
                (9, "subject".into(), "error-subject-required".into(), "".into()),
            ]
        );
    }

    #[test]
    fn file_level_errors() {
        let set = AssessmentSet::default_secondary();
        let file = |bytes: &[u8]| match read_csv(bytes, &set) {
            Err(SheetError::File { message, detail }) => (message, detail),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            file(b"admission_no,name,stream,subject,mt1,exam\nX,Y,A,MAT,1,2\n"),
            ("results-file-missing-column".into(), "midterm, mt2".into())
        );
        assert_eq!(
            file(b"admission_no,name,stream,subject,mt1,midterm,mt2,exam,Exam\n"),
            ("results-file-duplicate-column".into(), "exam".into())
        );
        assert_eq!(file(b"admission_no,name,stream,subject,mt1,midterm,mt2,exam\n"), ("results-file-empty".into(), String::new()));
        assert_eq!(file(b""), ("results-file-empty".into(), String::new()));
        assert_eq!(file(b"\xff\xfe"), ("results-file-not-utf8".into(), String::new()));
    }

    #[test]
    fn semicolons_crlf_bom_and_principal_flags() {
        let csv = "\u{feff}admission_no;name;stream;combination;principal;subject;mt1;midterm;mt2;exam\r\n\
                   F6/1;Neema Mollel;PCM;pcm;ndiyo;PHY;;;;80\r\n\
                   F6/1;Neema Mollel;PCM;PCM;S;GS;;;;35\r\n\
                   F6/1;Neema Mollel;PCM;PCM;maybe;BAM;;;;35\r\n";
        match read_csv(csv.as_bytes(), &AssessmentSet::default_secondary()) {
            Err(SheetError::Rows(e)) => {
                assert_eq!(e.len(), 1);
                assert_eq!((e[0].line, e[0].column.as_str(), e[0].message.as_str()), (4, "principal", "error-principal-invalid"));
            }
            other => panic!("{other:?}"),
        }
        let ok = csv.replace("maybe", "no");
        let sheet = read_csv(ok.as_bytes(), &AssessmentSet::default_secondary()).unwrap();
        assert_eq!(sheet.students[0].combination.as_deref(), Some("PCM"));
        assert_eq!(sheet.students[0].subjects.iter().map(|s| s.principal).collect::<Vec<_>>(), [true, false, false]);
        assert_eq!(sheet.students[0].subjects[0].marks, [None, None, None, Some(Mark::Score(super::super::Hundredths(8000)))]);
    }

    #[test]
    fn formulas_are_defused_on_the_way_out() {
        let mut out = String::new();
        push_record(&mut out, ["=1+1", "a,b", "plain", "say \"hi\""]);
        assert_eq!(out, "\"'=1+1\",\"a,b\",plain,\"say \"\"hi\"\"\"\n");
    }
}
