//! Reading a CSV or XLSX file into raw rows: the header found and matched, cells as text.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

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

use crate::spreadsheet::header_key;

// ---------------------------------------------------------------------------------------
// Reading files
// ---------------------------------------------------------------------------------------

pub use crate::spreadsheet::{detect, FileKind};
use crate::spreadsheet::{ReadError, Row as SheetRow, Value};

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

/// Rows kept while reading before the exact count is known: a file may have some rows that
/// are not students (a title, notes in unknown columns), but not unboundedly many.
pub(super) const MAX_SHEET_ROWS: usize = 2 * MAX_ROWS + HEADER_SEARCH_ROWS;

/// Reads every non-empty data row of a file. Never panics, whatever the bytes.
pub fn read(kind: FileKind, bytes: &[u8]) -> Result<Vec<RawRow>, FileError> {
    let sheet = crate::spreadsheet::read_rows(kind, bytes, MAX_SHEET_ROWS, MAX_COLUMNS).map_err(|e| match e {
        ReadError::NotUtf8 => FileError::NotUtf8,
        ReadError::NotASpreadsheet => FileError::NotASpreadsheet,
        ReadError::Empty => FileError::Empty,
        ReadError::TooManyRows => FileError::TooManyRows,
    })?;
    build_rows(sheet.rows, sheet.is_1904)
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
    // Phones and admission numbers typed as numbers: 712345678.0 → "712345678".
    value.into_text()
}
