//! Importing and exporting students with their guardians as CSV or XLSX.
//!
//! This module is the pure part: reading a file into rows ([`read`]), checking every row
//! ([`validate`], which gives a [`Preview`] of the good rows and *every* error of every
//! row), and writing the same format back ([`write_csv`], [`write_xlsx`]). Writing to the
//! database, all or nothing, is the caller's job.
//!
//! # The file format
//!
//! One sheet (CSV, or the first worksheet of an XLSX workbook), one student per row, with a
//! header row. Header names are matched ignoring case, spaces, `_`, `-` and other
//! punctuation, so `Admission No`, `admission_no` and `ADMISSION-NO` are the same column.
//! Columns may come in any order; unknown columns are ignored. Rows above the header (a
//! title, say) are skipped: the header is the first of the first 10 non-empty rows that
//! names at least two known columns. Empty rows are skipped.
//!
//! | Column | Required | Values |
//! |---|---|---|
//! | `admission_no` (`namba_ya_usajili`) | yes | letters, digits, `/`, `-`, `.`; at most 32; unique in the file and in the school |
//! | `first_name` (`jina_la_kwanza`) | yes | 1–60 characters |
//! | `middle_name` (`jina_la_kati`) | no | 1–60 characters |
//! | `last_name` (`jina_la_ukoo`) | yes | 1–60 characters |
//! | `sex` (`jinsia`, `gender`) | yes | `F`, `Female`, `Ke`, `Kike`, `Mwanamke` / `M`, `Male`, `Me`, `Kiume`, `Mwanaume` |
//! | `date_of_birth` (`tarehe_ya_kuzaliwa`) | no | `YYYY-MM-DD` or `DD/MM/YYYY`; in XLSX also a date cell or an Excel serial number (10000 or more); from 1990-01-01, before today |
//! | `class` (`darasa`) | yes | a class (stream) of the school, e.g. `Form 2A`; case and spaces do not matter |
//! | `guardian1_name` | yes | 1–60 characters |
//! | `guardian1_relationship` | no | `mother`/`mama`, `father`/`baba`, `guardian`/`mlezi`; default `guardian` |
//! | `guardian1_phone` | yes | a mobile number: `0712 345 678`, `+255712345678`, … |
//! | `guardian1_email` | no | an email address |
//! | `guardian1_sms` | no | `yes`/`ndiyo`/`ndio`/`true`/`1` or `no`/`hapana`/`false`/`0`; default `yes` |
//! | `guardian2_name` … `guardian2_sms` | no | as for guardian 1; the SMS default is `no`. A second guardian is present when any of its name, phone or email is filled in, and then needs a name and a phone (different from guardian 1's) |
//!
//! Names are trimmed, inner runs of spaces become one space, and a name needs a letter and may
//! not start with `=`, `+`, `-` or `@` (so an export opened in a spreadsheet cannot run a
//! formula).
//!
//! CSV files are UTF-8 (a byte-order mark is fine). The delimiter is `,`, or `;` (or a tab)
//! when the header line has no comma, as spreadsheets in some locales save them.
//!
//! A file may have at most [`MAX_ROWS`] data rows. Line numbers are the spreadsheet's: the
//! header on the first line is line 1, the first student below it line 2.
//!
//! Exports ([`write_csv`], [`write_xlsx`]) write exactly this format with the English column
//! names, phones in E.164 and dates as `YYYY-MM-DD` (a real date cell in XLSX), so an export
//! imports again unchanged. Only the first two guardians of a student are written.

use super::AdmissionNo;
use crate::identity::{Email, Phone};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Cursor;

/// The most data rows one file may have.
pub const MAX_ROWS: usize = 20_000;

/// Longest name (in characters) of a student or guardian.
pub const MAX_NAME_CHARS: usize = 60;

/// How many non-empty rows at the top may be searched for the header.
const HEADER_SEARCH_ROWS: usize = 10;
/// Cells right of this column are ignored (the format has 17 columns).
const MAX_COLUMNS: u32 = 256;
/// The longest typed value kept in a [`RowError`] for the preview.
const MAX_ERROR_VALUE_CHARS: usize = 100;
/// A plain number in the date-of-birth column of an XLSX sheet is read as an Excel serial
/// date from here (1927-05-18) up to the end of 9999.
const SERIAL_DATES: std::ops::Range<f64> = 10_000.0..2_958_466.0;

// ---------------------------------------------------------------------------------------
// Columns
// ---------------------------------------------------------------------------------------

/// A column of the import format, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Column {
    AdmissionNo,
    FirstName,
    MiddleName,
    LastName,
    Sex,
    DateOfBirth,
    Class,
    Guardian1Name,
    Guardian1Relationship,
    Guardian1Phone,
    Guardian1Email,
    Guardian1Sms,
    Guardian2Name,
    Guardian2Relationship,
    Guardian2Phone,
    Guardian2Email,
    Guardian2Sms,
}

impl Column {
    /// Every column, in the order exports write them.
    pub const ALL: [Column; 17] = [
        Column::AdmissionNo,
        Column::FirstName,
        Column::MiddleName,
        Column::LastName,
        Column::Sex,
        Column::DateOfBirth,
        Column::Class,
        Column::Guardian1Name,
        Column::Guardian1Relationship,
        Column::Guardian1Phone,
        Column::Guardian1Email,
        Column::Guardian1Sms,
        Column::Guardian2Name,
        Column::Guardian2Relationship,
        Column::Guardian2Phone,
        Column::Guardian2Email,
        Column::Guardian2Sms,
    ];

    /// The header name written in exports; also the `field` of a [`RowError`].
    pub fn name(self) -> &'static str {
        match self {
            Self::AdmissionNo => "admission_no",
            Self::FirstName => "first_name",
            Self::MiddleName => "middle_name",
            Self::LastName => "last_name",
            Self::Sex => "sex",
            Self::DateOfBirth => "date_of_birth",
            Self::Class => "class",
            Self::Guardian1Name => "guardian1_name",
            Self::Guardian1Relationship => "guardian1_relationship",
            Self::Guardian1Phone => "guardian1_phone",
            Self::Guardian1Email => "guardian1_email",
            Self::Guardian1Sms => "guardian1_sms",
            Self::Guardian2Name => "guardian2_name",
            Self::Guardian2Relationship => "guardian2_relationship",
            Self::Guardian2Phone => "guardian2_phone",
            Self::Guardian2Email => "guardian2_email",
            Self::Guardian2Sms => "guardian2_sms",
        }
    }

    /// Whether a file without this column is refused.
    pub fn is_required(self) -> bool {
        matches!(
            self,
            Self::AdmissionNo | Self::FirstName | Self::LastName | Self::Sex | Self::Class | Self::Guardian1Name | Self::Guardian1Phone
        )
    }

    /// Other header names accepted for the column (Kiswahili, mostly).
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Self::AdmissionNo => &["namba_ya_usajili"],
            Self::FirstName => &["jina_la_kwanza"],
            Self::MiddleName => &["jina_la_kati"],
            Self::LastName => &["jina_la_ukoo"],
            Self::Sex => &["jinsia", "gender"],
            Self::DateOfBirth => &["tarehe_ya_kuzaliwa"],
            Self::Class => &["darasa"],
            _ => &[],
        }
    }

    /// The column a header cell names, if any.
    pub fn from_header(header: &str) -> Option<Column> {
        let key = header_key(header);
        if key.is_empty() {
            return None;
        }
        Self::ALL.into_iter().find(|c| header_key(c.name()) == key || c.aliases().iter().any(|a| header_key(a) == key))
    }

    fn rank(field: &str) -> usize {
        Self::ALL.iter().position(|c| c.name() == field).unwrap_or(Self::ALL.len())
    }
}

/// `" Admission No. "` → `"admissionno"`.
fn header_key(header: &str) -> String {
    header.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

// ---------------------------------------------------------------------------------------
// Reading files
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FileKind {
    Csv,
    Xlsx,
}

/// The kind of an uploaded file: XLSX when it is a ZIP archive (or named `.xlsx`/`.xlsm`),
/// CSV when named `.csv` or `.txt`. `None` for anything else (including old binary `.xls`).
pub fn detect(file_name: &str, bytes: &[u8]) -> Option<FileKind> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Some(FileKind::Xlsx);
    }
    let extension = file_name.rsplit_once('.').map(|(_, ext)| ext.trim().to_ascii_lowercase());
    match extension.as_deref() {
        Some("xlsx" | "xlsm") => Some(FileKind::Xlsx),
        Some("csv" | "txt") => Some(FileKind::Csv),
        _ => None,
    }
}

/// What is wrong with a file as a whole. Nothing of it can be imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum FileError {
    #[error("not a CSV or XLSX spreadsheet")]
    NotASpreadsheet,
    #[error("the CSV file is not UTF-8")]
    NotUtf8,
    #[error("no header row or no data rows")]
    Empty,
    /// The names of the required columns the header lacks.
    #[error("missing column(s): {}", .0.join(", "))]
    MissingColumns(Vec<String>),
    /// Two header cells name the same column (e.g. `class` and `darasa`).
    #[error("column {0} appears more than once")]
    DuplicateColumn(String),
    #[error("more than {MAX_ROWS} data rows")]
    TooManyRows,
    /// Writing an export failed (a bug, not the user's doing).
    #[error("writing the spreadsheet failed: {0}")]
    Write(String),
}

impl FileError {
    /// The i18n key of the message. Arguments: `$columns` for
    /// `import-error-missing-column`, `$column` for `import-error-duplicate-column`, `$max`
    /// for `import-error-too-many-rows`.
    pub fn message(&self) -> &'static str {
        match self {
            Self::NotASpreadsheet => "import-error-not-a-spreadsheet",
            Self::NotUtf8 => "import-error-not-utf8",
            Self::Empty => "import-error-empty",
            Self::MissingColumns(_) => "import-error-missing-column",
            Self::DuplicateColumn(_) => "import-error-duplicate-column",
            Self::TooManyRows => "import-error-too-many-rows",
            Self::Write(_) => "error-internal",
        }
    }
}

/// One non-empty data row as read from the file, before any checking.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RawRow {
    /// 1-based line in the spreadsheet (the header is on line 1 in a usual file).
    pub line: usize,
    /// The non-blank cells of the known columns, trimmed.
    pub cells: BTreeMap<Column, String>,
}

impl RawRow {
    /// The trimmed cell, `""` when blank.
    pub fn get(&self, column: Column) -> &str {
        self.cells.get(&column).map_or("", String::as_str)
    }
}

/// Reads every non-empty data row of a file. Never panics, whatever the bytes.
pub fn read(kind: FileKind, bytes: &[u8]) -> Result<Vec<RawRow>, FileError> {
    match kind {
        FileKind::Csv => read_csv(bytes),
        // calamine and zip parse untrusted bytes: should either ever panic, the upload is
        // refused instead of the worker thread going down.
        FileKind::Xlsx => std::panic::catch_unwind(|| read_xlsx(bytes)).unwrap_or(Err(FileError::NotASpreadsheet)),
    }
}

/// A cell as the file holds it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(String),
    Int(i64),
    Float(f64),
}

/// A non-empty row of the sheet: its line and its non-blank cells by 0-based column.
struct SheetRow {
    line: usize,
    cells: Vec<(u32, Value)>,
}

/// Rows kept while reading before the exact count is known: a file may have some rows that
/// are not students (a title, notes in unknown columns), but not unboundedly many.
const MAX_SHEET_ROWS: usize = 2 * MAX_ROWS + HEADER_SEARCH_ROWS;

fn read_csv(bytes: &[u8]) -> Result<Vec<RawRow>, FileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| FileError::NotUtf8)?;
    if text.contains('\0') {
        return Err(FileError::NotASpreadsheet);
    }
    let first_line = text.lines().find(|l| !l.trim().is_empty()).ok_or(FileError::Empty)?;
    let delimiter = if first_line.contains(',') {
        b','
    } else if first_line.contains(';') {
        b';'
    } else if first_line.contains('\t') {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    // Lines are counted here from the record's byte offset: after a CRLF line end the csv
    // crate reports a record as starting at the LF, on the line before.
    let bytes = text.as_bytes();
    let (mut line, mut counted_to) = (1, 0);
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => return Err(FileError::NotASpreadsheet),
        }
        let mut start = record.position().map_or(counted_to, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX));
        while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        line += bytes.get(counted_to..start).map_or(0, |skipped| skipped.iter().filter(|b| **b == b'\n').count());
        counted_to = counted_to.max(start);
        let cells: Vec<(u32, Value)> = record
            .iter()
            .zip(0..MAX_COLUMNS)
            .filter(|(field, _)| !field.trim().is_empty())
            .map(|(field, col)| (col, Value::Text(field.to_owned())))
            .collect();
        if cells.is_empty() {
            continue;
        }
        if rows.len() >= MAX_SHEET_ROWS {
            return Err(FileError::TooManyRows);
        }
        rows.push(SheetRow { line, cells });
    }
    build_rows(rows, false)
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<RawRow>, FileError> {
    use calamine::{DataRef, Reader, SheetType, SheetVisible, Xlsx};

    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|_| FileError::NotASpreadsheet)?;
    let is_1904 = workbook.has_1904_epoch();
    let sheets = workbook.sheets_metadata();
    let worksheets = || sheets.iter().filter(|s| s.typ == SheetType::WorkSheet);
    let sheet = worksheets().find(|s| s.visible == SheetVisible::Visible).or_else(|| worksheets().next()).ok_or(FileError::Empty)?;
    let name = sheet.name.clone();
    let mut cells = workbook.worksheet_cells_reader(&name).map_err(|_| FileError::NotASpreadsheet)?;

    let mut grid: BTreeMap<u32, BTreeMap<u32, Value>> = BTreeMap::new();
    while let Some(cell) = cells.next_cell().map_err(|_| FileError::NotASpreadsheet)? {
        let (row, col) = cell.get_position();
        if col >= MAX_COLUMNS {
            continue;
        }
        let value = match cell.get_value() {
            DataRef::String(s) | DataRef::DurationIso(s) if !s.trim().is_empty() => Value::Text(s.clone()),
            // An ISO date-time: keep the date.
            DataRef::DateTimeIso(s) if !s.trim().is_empty() => Value::Text(s.split('T').next().unwrap_or(s).to_owned()),
            DataRef::SharedString(s) if !s.trim().is_empty() => Value::Text((*s).to_owned()),
            DataRef::Int(i) => Value::Int(*i),
            DataRef::Float(f) => Value::Float(*f),
            DataRef::Bool(b) => Value::Text(b.to_string()),
            DataRef::DateTime(dt) if dt.is_datetime() => {
                let (y, m, d, ..) = dt.to_ymd_hms_milli();
                Value::Text(format!("{y:04}-{m:02}-{d:02}"))
            }
            DataRef::DateTime(dt) => Value::Float(dt.as_f64()),
            DataRef::Error(e) => Value::Text(e.to_string()),
            _ => continue,
        };
        if !grid.contains_key(&row) && grid.len() >= MAX_SHEET_ROWS {
            return Err(FileError::TooManyRows);
        }
        grid.entry(row).or_default().insert(col, value);
    }
    let rows = grid
        .into_iter()
        .map(|(row, cells)| SheetRow {
            line: usize::try_from(row).unwrap_or(usize::MAX).saturating_add(1),
            cells: cells.into_iter().collect(),
        })
        .collect();
    build_rows(rows, is_1904)
}

/// Finds the header, maps the columns and turns the rows below it into [`RawRow`]s.
fn build_rows(rows: Vec<SheetRow>, is_1904: bool) -> Result<Vec<RawRow>, FileError> {
    let mut rows = rows.into_iter();
    let mut header = None;
    let mut searched = Vec::new();
    for row in rows.by_ref() {
        let columns = header_columns(&row);
        let known = columns.iter().filter(|(_, c)| c.is_some()).count();
        searched.push(columns);
        if known >= 2 {
            header = searched.pop();
            break;
        }
        if searched.len() >= HEADER_SEARCH_ROWS {
            break;
        }
    }
    let header = match header {
        Some(header) => header,
        // No row looks like a header: judge the first one, so the error names what is missing.
        None => match searched.into_iter().next() {
            Some(first) => first,
            None => return Err(FileError::Empty),
        },
    };

    let mut by_index: HashMap<u32, Column> = HashMap::new();
    for (index, column) in header {
        if let Some(column) = column {
            if by_index.values().any(|c| *c == column) {
                return Err(FileError::DuplicateColumn(column.name().to_owned()));
            }
            by_index.insert(index, column);
        }
    }
    let missing: Vec<String> =
        Column::ALL.into_iter().filter(|c| c.is_required() && !by_index.values().any(|k| k == c)).map(|c| c.name().to_owned()).collect();
    if !missing.is_empty() {
        return Err(FileError::MissingColumns(missing));
    }

    let mut out = Vec::new();
    for row in rows {
        let mut cells = BTreeMap::new();
        for (index, value) in row.cells {
            let Some(&column) = by_index.get(&index) else { continue };
            let text = cell_text(value, column, is_1904);
            let text = text.trim();
            if !text.is_empty() {
                cells.insert(column, text.to_owned());
            }
        }
        if cells.is_empty() {
            continue;
        }
        if out.len() >= MAX_ROWS {
            return Err(FileError::TooManyRows);
        }
        out.push(RawRow { line: row.line, cells });
    }
    if out.is_empty() {
        return Err(FileError::Empty);
    }
    Ok(out)
}

fn header_columns(row: &SheetRow) -> Vec<(u32, Option<Column>)> {
    row.cells
        .iter()
        .map(|(index, value)| {
            let column = match value {
                Value::Text(s) => Column::from_header(s),
                Value::Int(_) | Value::Float(_) => None,
            };
            (*index, column)
        })
        .collect()
}

fn cell_text(value: Value, column: Column, is_1904: bool) -> String {
    let number = match value {
        Value::Text(s) => return s,
        Value::Int(i) => i as f64,
        Value::Float(f) => f,
    };
    if column == Column::DateOfBirth && SERIAL_DATES.contains(&number) {
        let (y, m, d, ..) = calamine::ExcelDateTime::new(number, calamine::ExcelDateTimeType::DateTime, is_1904).to_ymd_hms_milli();
        return format!("{y:04}-{m:02}-{d:02}");
    }
    if let Value::Int(i) = value {
        return i.to_string();
    }
    // Phones and admission numbers typed as numbers: 712345678.0 → "712345678".
    if number.is_finite() && number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{}", number as i64)
    } else {
        number.to_string()
    }
}

// ---------------------------------------------------------------------------------------
// Checking rows
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    F,
    M,
}

impl Sex {
    /// The database code: `F` or `M`.
    pub fn code(self) -> &'static str {
        match self {
            Self::F => "F",
            Self::M => "M",
        }
    }

    /// `F`/`Female`/`Ke`/`Kike`/`Mwanamke` or `M`/`Male`/`Me`/`Kiume`/`Mwanaume`, any case.
    pub fn parse(input: &str) -> Option<Sex> {
        match input.trim().to_lowercase().as_str() {
            "f" | "female" | "ke" | "kike" | "mwanamke" => Some(Self::F),
            "m" | "male" | "me" | "kiume" | "mwanaume" => Some(Self::M),
            _ => None,
        }
    }
}

/// How a guardian is related to the student.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Relationship {
    Mother,
    Father,
    #[default]
    Guardian,
}

impl Relationship {
    /// The database code: `mother`, `father` or `guardian`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Mother => "mother",
            Self::Father => "father",
            Self::Guardian => "guardian",
        }
    }

    /// `mother`/`mama`, `father`/`baba`, `guardian`/`mlezi`, any case.
    pub fn parse(input: &str) -> Option<Relationship> {
        match input.trim().to_lowercase().as_str() {
            "mother" | "mama" => Some(Self::Mother),
            "father" | "baba" => Some(Self::Father),
            "guardian" | "mlezi" => Some(Self::Guardian),
            _ => None,
        }
    }
}

/// A checked student, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentRow {
    /// The line of the file it came from.
    pub line: usize,
    pub admission_no: AdmissionNo,
    pub first_name: String,
    pub middle_name: Option<String>,
    pub last_name: String,
    pub sex: Sex,
    pub date_of_birth: Option<NaiveDate>,
    /// The school's own spelling of the class, one of `known_classes`.
    pub class_name: String,
    /// One or two guardians, the first one first.
    pub guardians: Vec<GuardianRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardianRow {
    pub name: String,
    pub relationship: Relationship,
    pub phone: Phone,
    pub email: Option<Email>,
    pub receives_sms: bool,
}

/// One problem with one cell, for the preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// The line in the spreadsheet.
    pub line: usize,
    /// The column name, e.g. `guardian1_phone` (see [`Column::name`]).
    pub field: String,
    /// An i18n key, e.g. `error-phone-invalid`.
    pub message: String,
    /// What was typed (trimmed, at most 100 characters), to show next to the message.
    pub value: String,
}

/// The outcome of checking a file: the rows that can be imported and every error of the
/// others. Import only when `errors` is empty.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Preview {
    /// The rows without errors, in file order.
    pub rows: Vec<StudentRow>,
    /// Every error of every row, by line and then by column.
    pub errors: Vec<RowError>,
}

impl Preview {
    /// True when the whole file can be imported.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }

    /// How many rows have at least one error.
    pub fn lines_with_errors(&self) -> usize {
        self.errors.iter().map(|e| e.line).collect::<HashSet<_>>().len()
    }
}

/// `"FORM 2 A"` → `"form2a"`.
fn class_key(name: &str) -> String {
    name.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// Checks every row and reports every error of every row: bad values, admission numbers
/// used twice in the file (on each of the lines) or already used in the school
/// (`existing_admission_nos`), and classes not in `known_classes` (matched ignoring case and
/// spaces). `today` bounds dates of birth.
pub fn validate(rows: Vec<RawRow>, known_classes: &[String], existing_admission_nos: &HashSet<String>, today: NaiveDate) -> Preview {
    let mut classes: HashMap<String, &str> = HashMap::new();
    for class in known_classes {
        classes.entry(class_key(class)).or_insert(class.as_str());
    }
    let existing: HashSet<String> = existing_admission_nos.iter().map(|a| a.trim().to_ascii_uppercase()).collect();
    let ctx = Context { classes, existing, today };

    let mut errors = Vec::new();
    let mut checked = Vec::with_capacity(rows.len());
    for raw in &rows {
        let mut check = Check { raw, errors: Vec::new() };
        let (student, admission_no) = check.student(&ctx);
        errors.append(&mut check.errors);
        checked.push((student, admission_no));
    }

    let mut uses: HashMap<&str, usize> = HashMap::new();
    for (_, admission_no) in &checked {
        if let Some(a) = admission_no {
            *uses.entry(a.as_str()).or_default() += 1;
        }
    }
    let mut good = Vec::with_capacity(checked.len());
    for ((student, admission_no), raw) in checked.iter().zip(&rows) {
        let repeated = admission_no.as_ref().is_some_and(|a| uses.get(a.as_str()).copied().unwrap_or(0) > 1);
        if repeated {
            errors.push(row_error(raw, Column::AdmissionNo, "error-admission-duplicate"));
        } else if let Some(student) = student {
            good.push(student.clone());
        }
    }
    errors.sort_by_key(|e| (e.line, Column::rank(&e.field)));
    Preview { rows: good, errors }
}

struct Context<'a> {
    classes: HashMap<String, &'a str>,
    existing: HashSet<String>,
    today: NaiveDate,
}

fn row_error(raw: &RawRow, column: Column, message: &str) -> RowError {
    RowError {
        line: raw.line,
        field: column.name().to_owned(),
        message: message.to_owned(),
        value: raw.get(column).chars().take(MAX_ERROR_VALUE_CHARS).collect(),
    }
}

struct Check<'a> {
    raw: &'a RawRow,
    errors: Vec<RowError>,
}

struct GuardianColumns {
    name: Column,
    relationship: Column,
    phone: Column,
    email: Column,
    sms: Column,
    sms_default: bool,
}

const GUARDIAN1: GuardianColumns = GuardianColumns {
    name: Column::Guardian1Name,
    relationship: Column::Guardian1Relationship,
    phone: Column::Guardian1Phone,
    email: Column::Guardian1Email,
    sms: Column::Guardian1Sms,
    sms_default: true,
};

const GUARDIAN2: GuardianColumns = GuardianColumns {
    name: Column::Guardian2Name,
    relationship: Column::Guardian2Relationship,
    phone: Column::Guardian2Phone,
    email: Column::Guardian2Email,
    sms: Column::Guardian2Sms,
    sms_default: false,
};

impl<'a> Check<'a> {
    fn value(&self, column: Column) -> &'a str {
        self.raw.get(column)
    }

    fn fail(&mut self, column: Column, message: &str) {
        self.errors.push(row_error(self.raw, column, message));
    }

    /// The student when the row has no error (duplicates aside), and the admission number
    /// when it is well-formed (for the duplicate check).
    fn student(&mut self, ctx: &Context<'_>) -> (Option<StudentRow>, Option<AdmissionNo>) {
        let admission_no = match AdmissionNo::parse(self.value(Column::AdmissionNo)) {
            Ok(a) => {
                if ctx.existing.contains(a.as_str()) {
                    self.fail(Column::AdmissionNo, "error-admission-exists");
                }
                Some(a)
            }
            Err(e) => {
                self.fail(Column::AdmissionNo, &e.message);
                None
            }
        };
        let first_name = self.name(Column::FirstName);
        let middle_name = self.optional_name(Column::MiddleName);
        let last_name = self.name(Column::LastName);
        let sex = self.sex();
        let date_of_birth = self.date_of_birth(ctx.today);
        let class_name = self.class(ctx);
        let guardian1 = self.guardian(&GUARDIAN1, true);
        let guardian2 = self.guardian(&GUARDIAN2, false);
        if let (Some(g1), Some(g2)) = (&guardian1, &guardian2) {
            if g1.phone == g2.phone {
                self.fail(Column::Guardian2Phone, "error-guardian-phone-repeated");
            }
        }
        if !self.errors.is_empty() {
            return (None, admission_no);
        }
        let student = (|| {
            Some(StudentRow {
                line: self.raw.line,
                admission_no: admission_no.clone()?,
                first_name: first_name?,
                middle_name,
                last_name: last_name?,
                sex: sex?,
                date_of_birth,
                class_name: class_name?,
                guardians: std::iter::once(guardian1?).chain(guardian2).collect(),
            })
        })();
        (student, admission_no)
    }

    /// A required name, cleaned; `None` after recording the error.
    fn name(&mut self, column: Column) -> Option<String> {
        match clean_name(self.value(column)) {
            Ok(name) => Some(name),
            Err(message) => {
                self.fail(column, message);
                None
            }
        }
    }

    fn optional_name(&mut self, column: Column) -> Option<String> {
        if self.value(column).is_empty() {
            None
        } else {
            self.name(column)
        }
    }

    fn sex(&mut self) -> Option<Sex> {
        let value = self.value(Column::Sex);
        if value.is_empty() {
            self.fail(Column::Sex, "error-sex-required");
            return None;
        }
        let sex = Sex::parse(value);
        if sex.is_none() {
            self.fail(Column::Sex, "error-sex-invalid");
        }
        sex
    }

    fn date_of_birth(&mut self, today: NaiveDate) -> Option<NaiveDate> {
        let value = self.value(Column::DateOfBirth);
        if value.is_empty() {
            return None;
        }
        let message = match parse_date(value) {
            Some(date) if date >= today => "error-date-of-birth-future",
            Some(date) if date.year() < 1990 => "error-date-of-birth-too-early",
            Some(date) => return Some(date),
            None => "error-date-invalid",
        };
        self.fail(Column::DateOfBirth, message);
        None
    }

    fn class(&mut self, ctx: &Context<'_>) -> Option<String> {
        let value = self.value(Column::Class);
        if value.is_empty() {
            self.fail(Column::Class, "error-class-required");
            return None;
        }
        let class = ctx.classes.get(&class_key(value)).map(|c| (*c).to_owned());
        if class.is_none() {
            self.fail(Column::Class, "error-class-unknown");
        }
        class
    }

    /// The guardian, or `None` when absent (a second guardian may be) or erroneous.
    fn guardian(&mut self, g: &GuardianColumns, required: bool) -> Option<GuardianRow> {
        let present = [g.name, g.phone, g.email].iter().any(|c| !self.value(*c).is_empty());
        if !required && !present {
            return None;
        }
        let name = self.name(g.name);
        let phone = match Phone::parse(self.value(g.phone)) {
            Ok(phone) => Some(phone),
            Err(e) => {
                self.fail(g.phone, &e.message);
                None
            }
        };
        let relationship = match self.value(g.relationship) {
            "" => Some(Relationship::Guardian),
            value => {
                let relationship = Relationship::parse(value);
                if relationship.is_none() {
                    self.fail(g.relationship, "error-relationship-invalid");
                }
                relationship
            }
        };
        let email = match self.value(g.email) {
            "" => None,
            value if value.starts_with(FORMULA_STARTS) => {
                self.fail(g.email, "error-email-invalid");
                None
            }
            value => match Email::parse(value) {
                Ok(email) => Some(email),
                Err(_) => {
                    self.fail(g.email, "error-email-invalid");
                    None
                }
            },
        };
        let receives_sms = match self.value(g.sms) {
            "" => Some(g.sms_default),
            value => {
                let sms = parse_yes_no(value);
                if sms.is_none() {
                    self.fail(g.sms, "error-sms-invalid");
                }
                sms
            }
        };
        Some(GuardianRow { name: name?, relationship: relationship?, phone: phone?, email, receives_sms: receives_sms? })
    }
}

/// Characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 4] = ['=', '+', '-', '@'];

fn clean_name(input: &str) -> Result<String, &'static str> {
    let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        Err("error-name-required")
    } else if name.chars().count() > MAX_NAME_CHARS {
        Err("error-name-too-long")
    } else if name.starts_with(FORMULA_STARTS) || name.chars().any(char::is_control) || !name.chars().any(char::is_alphabetic) {
        Err("error-name-invalid")
    } else {
        Ok(name)
    }
}

/// `YYYY-MM-DD` or `DD/MM/YYYY`.
fn parse_date(input: &str) -> Option<NaiveDate> {
    let input = input.trim();
    NaiveDate::parse_from_str(input, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(input, "%d/%m/%Y")).ok()
}

fn parse_yes_no(input: &str) -> Option<bool> {
    match input.trim().to_lowercase().as_str() {
        "yes" | "true" | "1" | "ndiyo" | "ndio" => Some(true),
        "no" | "false" | "0" | "hapana" => Some(false),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Writing files
// ---------------------------------------------------------------------------------------

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

/// The cells of a row, in [`Column::ALL`] order.
fn export_cells(row: &StudentRow) -> [String; 17] {
    let guardian = |i: usize| {
        row.guardians.get(i).map_or_else(
            || [String::new(), String::new(), String::new(), String::new(), String::new()],
            |g| {
                [
                    g.name.clone(),
                    g.relationship.code().to_owned(),
                    g.phone.as_str().to_owned(),
                    g.email.as_ref().map(|e| e.as_str().to_owned()).unwrap_or_default(),
                    yes_no(g.receives_sms).to_owned(),
                ]
            },
        )
    };
    let [g1_name, g1_rel, g1_phone, g1_email, g1_sms] = guardian(0);
    let [g2_name, g2_rel, g2_phone, g2_email, g2_sms] = guardian(1);
    [
        row.admission_no.as_str().to_owned(),
        row.first_name.clone(),
        row.middle_name.clone().unwrap_or_default(),
        row.last_name.clone(),
        row.sex.code().to_owned(),
        row.date_of_birth.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        row.class_name.clone(),
        g1_name,
        g1_rel,
        g1_phone,
        g1_email,
        g1_sms,
        g2_name,
        g2_rel,
        g2_phone,
        g2_email,
        g2_sms,
    ]
}

fn push_csv_record<S: AsRef<str>>(out: &mut String, fields: impl IntoIterator<Item = S>) {
    for (i, field) in fields.into_iter().enumerate() {
        let field = field.as_ref();
        if i > 0 {
            out.push(',');
        }
        if field.contains([',', ';', '"', '\n', '\r', '\t']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push_str("\r\n");
}

/// The rows as a UTF-8 CSV file (with a byte-order mark, so that Excel reads it as UTF-8).
///
/// A name, class or email that starts like a formula (`=`, `+`, `-`, `@`; imports refuse
/// those, but other screens might not) is written after a `'`, so a spreadsheet opening the
/// file shows it as text instead of running it.
pub fn write_csv(rows: &[StudentRow]) -> Vec<u8> {
    let mut out = String::with_capacity(64 + rows.len() * 160);
    out.push('\u{feff}');
    push_csv_record(&mut out, Column::ALL.map(Column::name));
    for row in rows {
        let cells = Column::ALL.into_iter().zip(export_cells(row)).map(|(column, mut value)| {
            let free_text = !matches!(
                column,
                Column::AdmissionNo | Column::Sex | Column::DateOfBirth | Column::Guardian1Phone | Column::Guardian2Phone
            );
            if free_text && value.starts_with(FORMULA_STARTS) {
                value.insert(0, '\'');
            }
            value
        });
        push_csv_record(&mut out, cells);
    }
    out.into_bytes()
}

/// The rows as an XLSX workbook with one sheet, `Students`.
pub fn write_xlsx(rows: &[StudentRow]) -> Result<Vec<u8>, FileError> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

    fn write_error(e: rust_xlsxwriter::XlsxError) -> FileError {
        FileError::Write(e.to_string())
    }

    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let text = Format::new().set_num_format("@");
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Students").map_err(write_error)?;
    for (index, column) in (0u16..).zip(Column::ALL) {
        sheet.write_string_with_format(0, index, column.name(), &bold).map_err(write_error)?;
        let width = match column {
            Column::Sex | Column::Guardian1Sms | Column::Guardian2Sms => 8,
            Column::AdmissionNo | Column::DateOfBirth | Column::Class => 16,
            _ => 22,
        };
        sheet.set_column_width(index, width).map_err(write_error)?;
        // Typed-in phones and admission numbers stay text (no lost leading zero).
        if matches!(column, Column::AdmissionNo | Column::Guardian1Phone | Column::Guardian2Phone) {
            sheet.set_column_format(index, &text).map_err(write_error)?;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(write_error)?;
    for (r, row) in (1u32..).zip(rows) {
        for ((c, column), value) in (0u16..).zip(Column::ALL).zip(export_cells(row)) {
            if column == Column::DateOfBirth {
                let cell = row.date_of_birth.and_then(|d| {
                    let (y, m, d) = (u16::try_from(d.year()).ok()?, u8::try_from(d.month()).ok()?, u8::try_from(d.day()).ok()?);
                    ExcelDateTime::from_ymd(y, m, d).ok()
                });
                if let Some(cell) = cell {
                    sheet.write_datetime_with_format(r, c, cell, &date).map_err(write_error)?;
                    continue;
                }
            }
            if !value.is_empty() {
                sheet.write_string(r, c, value).map_err(write_error)?;
            }
        }
    }
    workbook.save_to_buffer().map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "admission_no,first_name,middle_name,last_name,sex,date_of_birth,class,\
guardian1_name,guardian1_relationship,guardian1_phone,guardian1_email,guardian1_sms,\
guardian2_name,guardian2_relationship,guardian2_phone,guardian2_email,guardian2_sms";

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn classes() -> Vec<String> {
        ["Form 1A", "Form 2A", "Form 2B", "Standard III A"].map(String::from).to_vec()
    }

    fn check(kind: FileKind, bytes: &[u8]) -> Preview {
        validate(read(kind, bytes).unwrap(), &classes(), &HashSet::new(), today())
    }

    fn csv(lines: &[&str]) -> Vec<u8> {
        let mut s = String::from(HEADER);
        for line in lines {
            s.push('\n');
            s.push_str(line);
        }
        s.into_bytes()
    }

    fn asha() -> StudentRow {
        StudentRow {
            line: 2,
            admission_no: AdmissionNo::parse("KHSS/2026/0001").unwrap(),
            first_name: "Asha".into(),
            middle_name: Some("Neema".into()),
            last_name: "Mwakyusa".into(),
            sex: Sex::F,
            date_of_birth: Some(date(2011, 5, 3)),
            class_name: "Form 2A".into(),
            guardians: vec![
                GuardianRow {
                    name: "Mary Mwakyusa".into(),
                    relationship: Relationship::Mother,
                    phone: Phone::parse("0712345678").unwrap(),
                    email: Some(Email::parse("mary@example.com").unwrap()),
                    receives_sms: true,
                },
                GuardianRow {
                    name: "John Mwakyusa".into(),
                    relationship: Relationship::Father,
                    phone: Phone::parse("+255687123456").unwrap(),
                    email: None,
                    receives_sms: false,
                },
            ],
        }
    }

    #[test]
    fn csv_happy_path() {
        let bytes = csv(&[
            " khss/2026/0001 ,  Asha , Neema ,Mwakyusa,Ke,03/05/2011,form 2a,Mary   Mwakyusa,Mama,0712 345 678,Mary@Example.com,ndiyo,\
John Mwakyusa,baba,+255687123456,,",
            "",
            ",,,,,,,,,,,,,,,,",
            "KHSS/2026/0002,Baraka,,Kimaro,Me,2012-01-20,FORM 2 B,Grace Kimaro,,0687-123-456,,,,,,,",
            "\"KHSS/2026/0003\",\"Juma, Jr\",,Said,M,,Standard III A,Mlezi Said,guardian,712345678,,no,,mother,,,yes",
        ]);
        let preview = check(FileKind::Csv, &bytes);
        assert_eq!(preview.errors, vec![]);
        assert!(preview.is_clean());
        assert_eq!(preview.rows.len(), 3);
        assert_eq!(preview.rows[0], asha());

        let baraka = &preview.rows[1];
        assert_eq!(baraka.line, 5, "blank and all-empty lines are skipped but still counted");
        assert_eq!(baraka.sex, Sex::M);
        assert_eq!(baraka.date_of_birth, Some(date(2012, 1, 20)));
        assert_eq!(baraka.class_name, "Form 2B");
        assert_eq!(baraka.middle_name, None);
        assert_eq!(baraka.guardians.len(), 1);
        assert_eq!(baraka.guardians[0].relationship, Relationship::Guardian);
        assert_eq!(baraka.guardians[0].phone.as_str(), "+255687123456");
        assert!(baraka.guardians[0].receives_sms, "guardian 1 gets SMS by default");

        let juma = &preview.rows[2];
        assert_eq!(juma.line, 6);
        assert_eq!(juma.first_name, "Juma, Jr");
        assert_eq!(juma.class_name, "Standard III A");
        assert!(!juma.guardians[0].receives_sms);
        assert_eq!(juma.guardians.len(), 1, "relationship and SMS alone do not make a second guardian");
    }

    #[test]
    fn line_numbers_follow_the_file() {
        let text = format!(
            "{HEADER},notes\r\nKHSS/1,Asha,,Mwakyusa,F,,Form 2A,Mary,,0712345678,,,,,,,,\"two\r\nlines\"\r\n\r\n\
KHSS/2,Baraka,,Kimaro,X,,Form 2A,Grace,,0712345679,,,,,,,,\r\n"
        );
        let rows = read(FileKind::Csv, text.as_bytes()).unwrap();
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 5]);
        let preview = validate(rows, &classes(), &HashSet::new(), today());
        assert_eq!(preview.errors.iter().map(|e| e.line).collect::<Vec<_>>(), vec![5]);
    }

    #[test]
    fn semicolon_csv() {
        let text = format!("{}\nKHSS/1;Asha;;Mwakyusa;F;2011-05-03;Form 2A;Mary;mother;0712345678;;yes;;;;;\n", HEADER.replace(',', ";"));
        let preview = check(FileKind::Csv, text.as_bytes());
        assert_eq!(preview.errors, vec![]);
        assert_eq!(preview.rows.len(), 1);
        assert_eq!(preview.rows[0].last_name, "Mwakyusa");
        assert_eq!(preview.rows[0].guardians[0].relationship, Relationship::Mother);
    }

    #[test]
    fn byte_order_mark_is_stripped() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend(csv(&["KHSS/1,Asha,,Mwakyusa,F,,Form 2A,Mary,,0712345678,,,,,,,"]));
        let rows = read(FileKind::Csv, &bytes).unwrap();
        assert_eq!(rows[0].get(Column::AdmissionNo), "KHSS/1");
        assert_eq!(rows[0].line, 2);
        assert_eq!(check(FileKind::Csv, &bytes).rows.len(), 1);
    }

    #[test]
    fn kiswahili_and_loose_headers() {
        let text = "Namba ya Usajili,JINA_LA_KWANZA,jina la kati, Jina_la_Ukoo ,Jinsia,Tarehe ya Kuzaliwa,Darasa,\
Guardian 1 Name,Guardian1 Phone,Maelezo\n\
KHSS/9,Neema,,Mushi,Mwanamke,2010-10-10,form 1a,Rehema Mushi,0755123123,hana\n";
        let preview = check(FileKind::Csv, text.as_bytes());
        assert_eq!(preview.errors, vec![]);
        let row = &preview.rows[0];
        assert_eq!((row.first_name.as_str(), row.last_name.as_str(), row.sex), ("Neema", "Mushi", Sex::F));
        assert_eq!(row.class_name, "Form 1A");
        assert_eq!(row.date_of_birth, Some(date(2010, 10, 10)));
        assert_eq!(row.guardians[0].phone.as_str(), "+255755123123");
    }

    #[test]
    fn title_rows_above_the_header_are_skipped() {
        let text = format!("Kilimanjaro Hills - students 2026\n\n{HEADER}\nKHSS/1,Asha,,Mwakyusa,F,,Form 2A,Mary,,0712345678,,,,,,,\n");
        let rows = read(FileKind::Csv, text.as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 4);
    }

    #[test]
    fn every_error_is_reported_with_its_line() {
        let mut existing = HashSet::new();
        existing.insert("khss/2025/0100 ".to_owned());
        let bytes = csv(&[
            /* 2 */ "KHSS/1,Asha,,Mwakyusa,F,2011-05-03,Form 2A,Mary,,0712345678,,,,,,,",
            /* 3 */ "KHSS/2,Baraka,,Kimaro,M,,Form 2A,Grace,,0512345678,,,,,,,",
            /* 4 */ "KHSS/3,Juma,,Said,M,,Form 2A,Halima,,0712345679,halima@,,,,,,",
            /* 5 */ "KHSS/DUP,Neema,,Mushi,F,,Form 2A,Rehema,,0712345670,,,,,,,",
            /* 6 */ "KHSS/2025/0100,Zawadi,,Mrema,F,,Form 2A,Anna,,0712345671,,,,,,,",
            /* 7 */ "khss/dup,Daudi,,Lema,M,,Form 2A,Petro,,0712345672,,,,,,,",
            /* 8 */ "KHSS/4,Amani,,Swai,M,,Form 9Z,Paulo,,0712345673,,,,,,,",
            /* 9 */ "KHSS/5,,,Moshi,M,,Form 2A,,,,,,,,,,",
            /* 10 */ "KHSS/6,Faraja,,Minja,X,,Form 2A,Elia,,0712345674,,,,,,,",
            /* 11 */ "KHSS/7,Furaha,,Kessy,F,31/02/2011,Form 2A,Ester,,0712345675,,,,,,,",
            /* 12 */ "KHSS/8,Imani,,Temba,F,2027-01-01,Form 2A,Sara,,0712345676,,,,,,,",
            /* 13 */ "KHSS/9,Tumaini,,Urio,F,1985-06-01,Form 2A,Eva,,0712345677,,,,,,,",
            /* 14 */ "KHSS 10,=cmd,,Ngowi,,,,Rose,aunt,0712,a@b,maybe,Peter,,,,sometimes",
            /* 15 */ "KHSS/11,Upendo,,Massawe,F,,Form 2A,Lucy,,0713000000,,,Lucy Jr,,0713 000 000,,",
        ]);
        let rows = read(FileKind::Csv, &bytes).unwrap();
        let preview = validate(rows, &classes(), &existing, today());
        let got: Vec<(usize, &str, &str, &str)> =
            preview.errors.iter().map(|e| (e.line, e.field.as_str(), e.message.as_str(), e.value.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (3, "guardian1_phone", "error-phone-invalid", "0512345678"),
                (4, "guardian1_email", "error-email-invalid", "halima@"),
                (5, "admission_no", "error-admission-duplicate", "KHSS/DUP"),
                (6, "admission_no", "error-admission-exists", "KHSS/2025/0100"),
                (7, "admission_no", "error-admission-duplicate", "khss/dup"),
                (8, "class", "error-class-unknown", "Form 9Z"),
                (9, "first_name", "error-name-required", ""),
                (9, "guardian1_name", "error-name-required", ""),
                (9, "guardian1_phone", "error-phone-required", ""),
                (10, "sex", "error-sex-invalid", "X"),
                (11, "date_of_birth", "error-date-invalid", "31/02/2011"),
                (12, "date_of_birth", "error-date-of-birth-future", "2027-01-01"),
                (13, "date_of_birth", "error-date-of-birth-too-early", "1985-06-01"),
                (14, "admission_no", "error-admission-invalid", "KHSS 10"),
                (14, "first_name", "error-name-invalid", "=cmd"),
                (14, "sex", "error-sex-required", ""),
                (14, "class", "error-class-required", ""),
                (14, "guardian1_relationship", "error-relationship-invalid", "aunt"),
                (14, "guardian1_phone", "error-phone-invalid", "0712"),
                (14, "guardian1_email", "error-email-invalid", "a@b"),
                (14, "guardian1_sms", "error-sms-invalid", "maybe"),
                (14, "guardian2_phone", "error-phone-required", ""),
                (14, "guardian2_sms", "error-sms-invalid", "sometimes"),
                (15, "guardian2_phone", "error-guardian-phone-repeated", "0713 000 000"),
            ]
        );
        assert_eq!(preview.rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2]);
        assert_eq!(preview.lines_with_errors(), 13);
        assert!(!preview.is_clean());
    }

    #[test]
    fn names_are_cleaned_and_bounded() {
        assert_eq!(clean_name("  Mary \t  Anne  "), Ok("Mary Anne".into()));
        assert_eq!(clean_name(&"a".repeat(60)), Ok("a".repeat(60)));
        assert_eq!(clean_name(&"a".repeat(61)), Err("error-name-too-long"));
        assert_eq!(clean_name("   "), Err("error-name-required"));
        assert_eq!(clean_name("12345"), Err("error-name-invalid"));
        assert_eq!(clean_name("+Mary"), Err("error-name-invalid"));
        assert_eq!(clean_name("N'gwandu-Mollel"), Ok("N'gwandu-Mollel".into()));
    }

    #[test]
    fn values_in_both_languages() {
        for (typed, sex) in
            [("F", Sex::F), ("female", Sex::F), ("KE", Sex::F), ("Mwanamke", Sex::F), ("m", Sex::M), ("Me", Sex::M), ("mwanaume", Sex::M)]
        {
            assert_eq!(Sex::parse(typed), Some(sex), "{typed}");
        }
        assert_eq!(Sex::parse("x"), None);
        assert_eq!(Relationship::parse("MLEZI"), Some(Relationship::Guardian));
        assert_eq!(Relationship::parse("Baba"), Some(Relationship::Father));
        assert_eq!(parse_yes_no("Hapana"), Some(false));
        assert_eq!(parse_yes_no("1"), Some(true));
        assert_eq!(parse_date("3/5/2011"), Some(date(2011, 5, 3)));
        assert_eq!(parse_date("2011-05-03"), Some(date(2011, 5, 3)));
        assert_eq!(parse_date("05/03/11x"), None);
    }

    #[test]
    fn missing_and_duplicate_columns_are_file_errors() {
        let text = "admission_no,first_name,sex,class,guardian1_name,notes\nKHSS/1,Asha,F,Form 2A,Mary,x\n";
        assert_eq!(
            read(FileKind::Csv, text.as_bytes()),
            Err(FileError::MissingColumns(vec!["last_name".into(), "guardian1_phone".into()]))
        );
        let err = read(FileKind::Csv, text.as_bytes()).unwrap_err();
        assert_eq!(err.message(), "import-error-missing-column");

        let text = format!("{HEADER},darasa\nKHSS/1,Asha,,Mwakyusa,F,,Form 2A,Mary,,0712345678,,,,,,,,Form 2A\n");
        assert_eq!(read(FileKind::Csv, text.as_bytes()), Err(FileError::DuplicateColumn("class".into())));

        // A file without a header at all names every required column.
        let text = "KHSS/1,Asha,Mwakyusa\n";
        assert!(matches!(read(FileKind::Csv, text.as_bytes()), Err(FileError::MissingColumns(c)) if c.len() == 7));
    }

    #[test]
    fn empty_files_and_bad_bytes() {
        assert_eq!(read(FileKind::Csv, b""), Err(FileError::Empty));
        assert_eq!(read(FileKind::Csv, b"\xEF\xBB\xBF\n\n"), Err(FileError::Empty));
        assert_eq!(read(FileKind::Csv, HEADER.as_bytes()), Err(FileError::Empty));
        assert_eq!(read(FileKind::Csv, format!("{HEADER}\n,,,\n").as_bytes()), Err(FileError::Empty));
        assert_eq!(read(FileKind::Csv, b"adm\xFFission"), Err(FileError::NotUtf8));
        assert_eq!(read(FileKind::Xlsx, b"admission_no,first_name"), Err(FileError::NotASpreadsheet));
        assert_eq!(read(FileKind::Xlsx, b"PK\x03\x04garbage"), Err(FileError::NotASpreadsheet));
        assert_eq!(FileError::Empty.message(), "import-error-empty");
    }

    #[test]
    fn too_many_rows_are_refused() {
        let row = "KHSS/1,Asha,,Mwakyusa,F,,Form 2A,Mary,,0712345678,,,,,,,\n";
        let mut text = format!("{HEADER}\n");
        text.push_str(&row.repeat(MAX_ROWS));
        assert_eq!(read(FileKind::Csv, text.as_bytes()).map(|r| r.len()), Ok(MAX_ROWS));
        text.push_str(row);
        assert_eq!(read(FileKind::Csv, text.as_bytes()), Err(FileError::TooManyRows));
        assert_eq!(FileError::TooManyRows.message(), "import-error-too-many-rows");
    }

    #[test]
    fn detects_the_kind() {
        assert_eq!(detect("students.CSV", b"admission_no"), Some(FileKind::Csv));
        assert_eq!(detect("students.xlsx", b"PK\x03\x04rest"), Some(FileKind::Xlsx));
        assert_eq!(detect("students", b"PK\x03\x04rest"), Some(FileKind::Xlsx));
        assert_eq!(detect("students.xls", b"\xD0\xCF\x11\xE0"), None);
        assert_eq!(detect("photo.png", b"\x89PNG"), None);
    }

    fn sample_rows(n: usize) -> Vec<StudentRow> {
        let classes = classes();
        (0..n)
            .map(|i| {
                let mut row = asha();
                row.line = i + 2;
                row.admission_no = AdmissionNo::parse(&format!("KHSS/2026/{i:04}")).unwrap();
                row.first_name = format!("Mwanafunzi {}", i % 97 + 1).replace(char::is_numeric, "x");
                row.middle_name = (i % 3 != 0).then(|| "Neema".to_owned());
                row.sex = if i % 2 == 0 { Sex::F } else { Sex::M };
                row.date_of_birth = (i % 5 != 0).then(|| date(2008, 1, 1) + chrono::Days::new(i as u64 % 3000));
                row.class_name = classes[i % classes.len()].clone();
                row.guardians[0].phone = Phone::parse(&format!("07{:08}", i)).unwrap();
                row.guardians[0].receives_sms = i % 4 != 0;
                if i % 2 == 0 {
                    row.guardians.truncate(1);
                } else {
                    row.guardians[1].phone = Phone::parse(&format!("06{:08}", i)).unwrap();
                    row.guardians[1].email = Some(Email::parse(&format!("g{i}@example.com")).unwrap());
                }
                row
            })
            .collect()
    }

    #[test]
    fn csv_export_imports_again() {
        let mut rows = sample_rows(50);
        rows[3].first_name = "Juma, \"JJ\"".into();
        let bytes = write_csv(&rows);
        assert!(bytes.starts_with(b"\xEF\xBB\xBFadmission_no,first_name,"));
        assert_eq!(detect("export.csv", &bytes), Some(FileKind::Csv));
        let preview = check(FileKind::Csv, &bytes);
        assert_eq!(preview.errors, vec![]);
        assert_eq!(preview.rows, rows);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains(",+255700000001,"), "phones are written in E.164");
    }

    #[test]
    fn csv_export_defuses_formulas() {
        let mut row = asha();
        row.first_name = "=HYPERLINK(\"http://x\")".into();
        row.guardians[0].email = Some(Email::parse("+1@example.com").unwrap());
        let text = String::from_utf8(write_csv(&[row])).unwrap();
        assert!(text.contains(",\"'=HYPERLINK(\"\"http://x\"\")\","), "{text}");
        assert!(text.contains(",'+1@example.com,"), "{text}");
        assert!(text.contains(",+255712345678,"), "phones stay as they are");
    }

    #[test]
    fn serialised_codes() {
        assert_eq!(serde_json::to_string(&Column::Guardian1Sms).unwrap(), "\"guardian1_sms\"");
        assert_eq!(serde_json::to_string(&Relationship::Mother).unwrap(), "\"mother\"");
        assert_eq!(serde_json::to_string(&Sex::F).unwrap(), "\"F\"");
        for column in Column::ALL {
            assert_eq!(Column::from_header(column.name()), Some(column));
            assert_eq!(serde_json::to_value(column).unwrap(), column.name());
        }
    }

    #[test]
    fn xlsx_round_trip_with_date_cells() {
        let bytes = csv(&[
            "KHSS/2026/0001,Asha,Neema,Mwakyusa,F,03/05/2011,Form 2A,Mary Mwakyusa,mother,0712345678,mary@example.com,yes,\
John Mwakyusa,father,0687123456,,no",
            "KHSS/2026/0002,Baraka,,Kimaro,M,,Form 1A,Grace Kimaro,,0687-123-457,,,,,,,",
        ]);
        let original = check(FileKind::Csv, &bytes);
        assert_eq!(original.errors, vec![]);
        assert_eq!(original.rows[0], asha());

        let xlsx = write_xlsx(&original.rows).unwrap();
        assert_eq!(detect("students.xlsx", &xlsx), Some(FileKind::Xlsx));
        let again = check(FileKind::Xlsx, &xlsx);
        assert_eq!(again, original);

        // The date of birth is a real date cell, the phone a string.
        use calamine::{DataRef, Reader, Xlsx};
        let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(&xlsx[..])).unwrap();
        assert_eq!(workbook.sheet_names(), vec!["Students".to_owned()]);
        let mut cells = workbook.worksheet_cells_reader("Students").unwrap();
        let mut seen = 0;
        while let Some(cell) = cells.next_cell().unwrap() {
            match cell.get_position() {
                (1, 5) => {
                    assert!(matches!(cell.get_value(), DataRef::DateTime(d) if d.is_datetime() && d.as_f64() == 40666.0));
                    seen += 1;
                }
                (1, 9) => {
                    assert!(matches!(cell.get_value(), DataRef::SharedString("+255712345678")));
                    seen += 1;
                }
                _ => {}
            }
        }
        assert_eq!(seen, 2);
    }

    #[test]
    fn xlsx_typed_by_hand() {
        use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        let headers = [
            "Darasa",
            "Namba ya usajili",
            "First name",
            "Last name",
            "Sex",
            "Date of birth",
            "Guardian1 name",
            "Guardian1 phone",
            "Guardian1 SMS",
        ];
        sheet.write_string(0, 0, "Orodha ya wanafunzi").unwrap();
        for (c, h) in (0u16..).zip(headers) {
            sheet.write_string(2, c, h).unwrap();
        }
        let date_format = Format::new().set_num_format("dd/mm/yyyy");
        // Row 4: a date cell, the phone as a number, SMS as a boolean, admission as a number.
        sheet.write_string(3, 0, "form 2b").unwrap();
        sheet.write_number(3, 1, 1234).unwrap();
        sheet.write_string(3, 2, "Asha").unwrap();
        sheet.write_string(3, 3, "Mwakyusa").unwrap();
        sheet.write_string(3, 4, "f").unwrap();
        sheet.write_datetime_with_format(3, 5, ExcelDateTime::from_ymd(2011, 5, 3).unwrap(), &date_format).unwrap();
        sheet.write_string(3, 6, "Mary").unwrap();
        sheet.write_number(3, 7, 712345678).unwrap();
        sheet.write_boolean(3, 8, false).unwrap();
        // Row 6 (row 5 left empty): the date as a plain serial number.
        sheet.write_string(5, 0, "Form 1A").unwrap();
        sheet.write_string(5, 1, "KHSS-2").unwrap();
        sheet.write_string(5, 2, "Baraka").unwrap();
        sheet.write_string(5, 3, "Kimaro").unwrap();
        sheet.write_string(5, 4, "M").unwrap();
        sheet.write_number(5, 5, 40666).unwrap();
        sheet.write_string(5, 6, "Grace").unwrap();
        sheet.write_string(5, 7, "0687123456").unwrap();
        // Row 7: a year typed as a number is not a serial date.
        sheet.write_string(6, 0, "Form 1A").unwrap();
        sheet.write_string(6, 1, "KHSS-3").unwrap();
        sheet.write_string(6, 2, "Juma").unwrap();
        sheet.write_string(6, 3, "Said").unwrap();
        sheet.write_string(6, 4, "M").unwrap();
        sheet.write_number(6, 5, 2011).unwrap();
        sheet.write_string(6, 6, "Halima").unwrap();
        sheet.write_string(6, 7, "0687123458").unwrap();
        let bytes = workbook.save_to_buffer().unwrap();

        let rows = read(FileKind::Xlsx, &bytes).unwrap();
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![4, 6, 7]);
        assert_eq!(rows[0].get(Column::AdmissionNo), "1234");
        assert_eq!(rows[0].get(Column::Guardian1Phone), "712345678");
        assert_eq!(rows[0].get(Column::Guardian1Sms), "false");
        assert_eq!(rows[0].get(Column::DateOfBirth), "2011-05-03");
        assert_eq!(rows[1].get(Column::DateOfBirth), "2011-05-03");
        let preview = validate(rows, &classes(), &HashSet::new(), today());
        assert_eq!(
            preview.errors,
            vec![RowError { line: 7, field: "date_of_birth".into(), message: "error-date-invalid".into(), value: "2011".into() }]
        );
        let asha = &preview.rows[0];
        assert_eq!((asha.admission_no.as_str(), asha.class_name.as_str()), ("1234", "Form 2B"));
        assert_eq!(asha.date_of_birth, Some(date(2011, 5, 3)));
        assert_eq!(asha.guardians[0].phone.as_str(), "+255712345678");
        assert!(!asha.guardians[0].receives_sms);
        assert_eq!(preview.rows[1].date_of_birth, Some(date(2011, 5, 3)));
    }

    #[test]
    fn two_thousand_rows_through_xlsx() {
        let rows = sample_rows(2_000);
        let xlsx = write_xlsx(&rows).unwrap();
        let raw = read(FileKind::Xlsx, &xlsx).unwrap();
        assert_eq!(raw.len(), 2_000);
        assert_eq!(raw[1999].line, 2001);
        let mut existing = HashSet::new();
        existing.insert("KHSS/2025/0001".to_owned());
        let preview = validate(raw, &classes(), &existing, today());
        assert_eq!(preview.errors, vec![]);
        assert_eq!(preview.rows, rows);
    }

    /// xorshift64*: a dependency-free, repeatable byte source.
    struct Noise(u64);
    impl Noise {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    #[test]
    fn random_and_mangled_bytes_never_panic() {
        let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
        let xlsx = write_xlsx(&sample_rows(20)).unwrap();
        let csv_bytes = write_csv(&sample_rows(20));
        for round in 0..300 {
            let len = (noise.next() % 2048) as usize;
            let mut random = noise.bytes(len);
            if round % 2 == 0 {
                random.splice(0..0, b"PK\x03\x04".iter().copied());
            }
            let _ = read(FileKind::Csv, &random);
            let _ = read(FileKind::Xlsx, &random);

            for original in [&xlsx, &csv_bytes] {
                let mut mangled = original.clone();
                for _ in 0..(1 + noise.next() % 8) {
                    let at = (noise.next() as usize) % mangled.len();
                    mangled[at] = noise.next() as u8;
                }
                if round % 3 == 0 {
                    mangled.truncate((noise.next() as usize) % mangled.len());
                }
                for kind in [FileKind::Csv, FileKind::Xlsx] {
                    if let Ok(rows) = read(kind, &mangled) {
                        let _ = validate(rows, &classes(), &HashSet::new(), today());
                    }
                }
            }
        }
    }
}
