//! Reading the spreadsheets schools upload, for every import (the student list, a marks
//! sheet): CSV and the first visible worksheet of an XLSX workbook, as rows of cells.
//!
//! - [`detect`]: the kind of an uploaded file, by its first bytes or its name.
//! - [`read_csv_records`]: CSV the way schools save it from a spreadsheet: UTF-8 with or
//!   without a byte-order mark; `,` as the delimiter, or `;` or a tab when the first line has
//!   no comma (as some locales save them); blank lines skipped; each record with the 1-based
//!   line it starts on, as the spreadsheet numbers it, so every error can say where it is.
//! - [`read_rows`]: either kind as [`Row`]s of typed [`Value`]s (XLSX numbers stay numbers,
//!   so a caller can read a serial date or a whole number the way its column needs).
//! - [`header_key`] and [`column_letter`]: matching a header cell and naming a column as the
//!   spreadsheet does.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Cursor;

/// Why a file could not be read as CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvError {
    /// Not UTF-8 text.
    NotUtf8,
    /// Binary data, or a record the CSV reader cannot read (at `line`, when known).
    NotCsv { line: Option<usize> },
    /// Nothing but blank lines.
    Empty,
    /// More than the caller's limit of non-blank records.
    TooManyRecords,
}

/// The file's non-blank records (a record whose cells are all blank is skipped), each with
/// its 1-based line, at most `max_records` of them.
pub fn read_csv_records(bytes: &[u8], max_records: usize) -> Result<Vec<(usize, csv::StringRecord)>, CsvError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| CsvError::NotUtf8)?;
    if text.contains('\0') {
        return Err(CsvError::NotCsv { line: None });
    }
    let first_line = text.lines().find(|l| !l.trim().is_empty()).ok_or(CsvError::Empty)?;
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
    let mut records = Vec::new();
    let mut record = csv::StringRecord::new();
    // Lines are counted here from the record's byte offset: after a CRLF line end the csv
    // crate reports a record as starting at the LF, on the line before.
    let bytes = text.as_bytes();
    let (mut line, mut counted_to) = (1, 0);
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => return Err(CsvError::NotCsv { line: Some(line) }),
        }
        let mut start = record.position().map_or(counted_to, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX));
        while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        line += bytes.get(counted_to..start).map_or(0, |skipped| skipped.iter().filter(|b| **b == b'\n').count());
        counted_to = counted_to.max(start);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if records.len() >= max_records {
            return Err(CsvError::TooManyRecords);
        }
        records.push((line, record.clone()));
    }
    Ok(records)
}

/// The kind of an uploaded spreadsheet file.
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

/// A cell as the file holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Int(i64),
    Float(f64),
}

impl Value {
    /// The cell as text: text as it is, a whole number without a decimal point (a phone or
    /// an admission number typed as a number: `712345678.0` → `712345678`), any other
    /// number as Rust writes it (`67.5`).
    pub fn into_text(self) -> String {
        match self {
            Self::Text(s) => s,
            Self::Int(i) => i.to_string(),
            Self::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            Self::Float(f) => f.to_string(),
        }
    }
}

/// A non-empty row of a sheet: its 1-based line and its non-blank cells by 0-based column,
/// left to right.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub line: usize,
    pub cells: Vec<(u32, Value)>,
}

/// The non-empty rows of a file's sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    pub rows: Vec<Row>,
    /// The workbook counts dates from 1904 (old Mac Excel): serial dates read differently.
    pub is_1904: bool,
}

/// Why a file gave no rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// A CSV file that is not UTF-8.
    NotUtf8,
    /// Neither CSV nor an XLSX workbook that can be read.
    NotASpreadsheet,
    /// No worksheet, or nothing but blank rows.
    Empty,
    /// More non-empty rows than the caller's limit.
    TooManyRows,
}

/// Reads every non-empty row (at most `max_rows`) of a CSV file or of the first visible
/// worksheet of an XLSX workbook; cells right of `max_columns` are ignored. Never panics,
/// whatever the bytes.
pub fn read_rows(kind: FileKind, bytes: &[u8], max_rows: usize, max_columns: u32) -> Result<Rows, ReadError> {
    match kind {
        FileKind::Csv => read_csv_rows(bytes, max_rows, max_columns),
        // calamine and zip parse untrusted bytes: should either ever panic, the upload is
        // refused instead of the worker thread going down.
        FileKind::Xlsx => {
            std::panic::catch_unwind(|| read_xlsx_rows(bytes, max_rows, max_columns)).unwrap_or(Err(ReadError::NotASpreadsheet))
        }
    }
}

fn read_csv_rows(bytes: &[u8], max_rows: usize, max_columns: u32) -> Result<Rows, ReadError> {
    let records = read_csv_records(bytes, max_rows).map_err(|e| match e {
        CsvError::NotUtf8 => ReadError::NotUtf8,
        CsvError::NotCsv { .. } => ReadError::NotASpreadsheet,
        CsvError::Empty => ReadError::Empty,
        CsvError::TooManyRecords => ReadError::TooManyRows,
    })?;
    let rows = records
        .into_iter()
        .map(|(line, record)| {
            let cells: Vec<(u32, Value)> = record
                .iter()
                .zip(0..max_columns)
                .filter(|(field, _)| !field.trim().is_empty())
                .map(|(field, col)| (col, Value::Text(field.to_owned())))
                .collect();
            Row { line, cells }
        })
        .filter(|row| !row.cells.is_empty())
        .collect();
    Ok(Rows { rows, is_1904: false })
}

fn read_xlsx_rows(bytes: &[u8], max_rows: usize, max_columns: u32) -> Result<Rows, ReadError> {
    use calamine::{DataRef, Reader, SheetType, SheetVisible, Xlsx};

    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|_| ReadError::NotASpreadsheet)?;
    let is_1904 = workbook.has_1904_epoch();
    let sheets = workbook.sheets_metadata();
    let worksheets = || sheets.iter().filter(|s| s.typ == SheetType::WorkSheet);
    let sheet = worksheets().find(|s| s.visible == SheetVisible::Visible).or_else(|| worksheets().next()).ok_or(ReadError::Empty)?;
    let name = sheet.name.clone();
    let mut cells = workbook.worksheet_cells_reader(&name).map_err(|_| ReadError::NotASpreadsheet)?;

    let mut grid: BTreeMap<u32, BTreeMap<u32, Value>> = BTreeMap::new();
    while let Some(cell) = cells.next_cell().map_err(|_| ReadError::NotASpreadsheet)? {
        let (row, col) = cell.get_position();
        if col >= max_columns {
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
        if !grid.contains_key(&row) && grid.len() >= max_rows {
            return Err(ReadError::TooManyRows);
        }
        grid.entry(row).or_default().insert(col, value);
    }
    let rows = grid
        .into_iter()
        .map(|(row, cells)| Row { line: usize::try_from(row).unwrap_or(usize::MAX).saturating_add(1), cells: cells.into_iter().collect() })
        .collect();
    Ok(Rows { rows, is_1904 })
}

/// A header cell reduced to lower-case letters and digits, so that `Admission No.`,
/// `admission_no` and `ADMISSION-NO` are the same column: `" Admission No. "` → `"admissionno"`.
pub fn header_key(header: &str) -> String {
    header.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// A 0-based column as the spreadsheet names it: 0 → `A`, 25 → `Z`, 26 → `AA`.
pub fn column_letter(col: u32) -> String {
    let mut n = u64::from(col) + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = u8::try_from((n - 1) % 26).unwrap_or(0);
        out.push(char::from(b'A' + rem));
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_delimiters_and_blank_records() {
        let read = |s: &str| {
            read_csv_records(s.as_bytes(), 10).unwrap().into_iter().map(|(l, r)| (l, r.get(0).unwrap_or("").to_owned())).collect::<Vec<_>>()
        };
        assert_eq!(read("\u{feff}a,b\r\n\r\n,\r\nc,d\r\n"), [(1, "a".to_owned()), (4, "c".to_owned())]);
        assert_eq!(read("a;b\nc;d"), [(1, "a".to_owned()), (2, "c".to_owned())]);
        assert_eq!(read("\"two\nlines\",x\ny,z"), [(1, "two\nlines".to_owned()), (3, "y".to_owned())]);
    }

    #[test]
    fn refusals() {
        assert_eq!(read_csv_records(b"\xff\xfe", 10).unwrap_err(), CsvError::NotUtf8);
        assert_eq!(read_csv_records(b"a\0b", 10).unwrap_err(), CsvError::NotCsv { line: None });
        assert_eq!(read_csv_records(b"\n \n", 10).unwrap_err(), CsvError::Empty);
        assert_eq!(read_csv_records(b"a\nb\nc", 2).unwrap_err(), CsvError::TooManyRecords);
    }

    #[test]
    fn kinds_letters_headers_and_numbers_as_text() {
        assert_eq!(detect("marks.CSV", b"admission_no"), Some(FileKind::Csv));
        assert_eq!(detect("marks", b"PK\x03\x04rest"), Some(FileKind::Xlsx));
        assert_eq!(detect("marks.xls", b"\xD0\xCF\x11\xE0"), None);
        assert_eq!([0, 1, 25, 26, 27, 51, 52, 701, 702].map(column_letter), ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]);
        assert_eq!(header_key(" Admission No. "), "admissionno");
        assert_eq!(header_key("Monthly test 1"), "monthlytest1");
        assert_eq!(Value::Float(712345678.0).into_text(), "712345678");
        assert_eq!(Value::Float(67.5).into_text(), "67.5");
        assert_eq!(Value::Int(-3).into_text(), "-3");
        assert_eq!(Value::Text(" ABS ".into()).into_text(), " ABS ");
    }

    #[test]
    fn csv_rows_keep_their_lines_and_columns() {
        let rows = read_rows(FileKind::Csv, b"a,,c\n\n,,\nd,e,f,g\n", 10, 3).unwrap();
        assert_eq!(
            rows.rows,
            [
                Row { line: 1, cells: vec![(0, Value::Text("a".into())), (2, Value::Text("c".into()))] },
                Row { line: 4, cells: vec![(0, Value::Text("d".into())), (1, Value::Text("e".into())), (2, Value::Text("f".into()))] },
            ]
        );
        assert_eq!(read_rows(FileKind::Csv, b"a\nb\nc", 2, 3).unwrap_err(), ReadError::TooManyRows);
        assert_eq!(read_rows(FileKind::Xlsx, b"PK\x03\x04 not a workbook", 2, 3).unwrap_err(), ReadError::NotASpreadsheet);
    }
}
