//! Reading a CSV or XLSX file into raw rows: the header found and matched, cells as text.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;

/// The most data rows one file may have.
pub const MAX_ROWS: usize = 20_000;

/// How many non-empty rows at the top may be searched for the header.
pub(super) const HEADER_SEARCH_ROWS: usize = 10;
/// Cells right of this column are ignored (the format has 17 columns).
pub(super) const MAX_COLUMNS: u32 = 256;
/// The longest typed value kept in a [`RowError`] for the preview.
pub(super) const MAX_ERROR_VALUE_CHARS: usize = 100;
/// A plain number in the date-of-birth column of an XLSX sheet is read as an Excel serial
/// date from here (1927-05-18) up to the end of 9999.
pub(super) const SERIAL_DATES: std::ops::Range<f64> = 10_000.0..2_958_466.0;

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
    pub(super) fn aliases(self) -> &'static [&'static str] {
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

    pub(super) fn rank(field: &str) -> usize {
        Self::ALL.iter().position(|c| c.name() == field).unwrap_or(Self::ALL.len())
    }
}

/// `" Admission No. "` → `"admissionno"`.
pub(super) fn header_key(header: &str) -> String {
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
pub(super) enum Value {
    Text(String),
    Int(i64),
    Float(f64),
}

/// A non-empty row of the sheet: its line and its non-blank cells by 0-based column.
pub(super) struct SheetRow {
    line: usize,
    cells: Vec<(u32, Value)>,
}

/// Rows kept while reading before the exact count is known: a file may have some rows that
/// are not students (a title, notes in unknown columns), but not unboundedly many.
pub(super) const MAX_SHEET_ROWS: usize = 2 * MAX_ROWS + HEADER_SEARCH_ROWS;

pub(super) fn read_csv(bytes: &[u8]) -> Result<Vec<RawRow>, FileError> {
    use crate::spreadsheet::{read_csv_records, CsvError};
    let records = read_csv_records(bytes, MAX_SHEET_ROWS).map_err(|e| match e {
        CsvError::NotUtf8 => FileError::NotUtf8,
        CsvError::NotCsv { .. } => FileError::NotASpreadsheet,
        CsvError::Empty => FileError::Empty,
        CsvError::TooManyRecords => FileError::TooManyRows,
    })?;
    let rows = records
        .into_iter()
        .map(|(line, record)| {
            let cells: Vec<(u32, Value)> = record
                .iter()
                .zip(0..MAX_COLUMNS)
                .filter(|(field, _)| !field.trim().is_empty())
                .map(|(field, col)| (col, Value::Text(field.to_owned())))
                .collect();
            SheetRow { line, cells }
        })
        .filter(|row| !row.cells.is_empty())
        .collect();
    build_rows(rows, false)
}

pub(super) fn read_xlsx(bytes: &[u8]) -> Result<Vec<RawRow>, FileError> {
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
pub(super) fn build_rows(rows: Vec<SheetRow>, is_1904: bool) -> Result<Vec<RawRow>, FileError> {
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

pub(super) fn header_columns(row: &SheetRow) -> Vec<(u32, Option<Column>)> {
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

pub(super) fn cell_text(value: Value, column: Column, is_1904: bool) -> String {
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
