//! Reading a CSV file the way schools save them from a spreadsheet, for every import (the
//! student list, the marks sheet): UTF-8 with or without a byte-order mark; `,` as the
//! delimiter, or `;` or a tab when the first line has no comma (as some locales save them);
//! blank lines skipped; each record with the 1-based line it starts on, as the spreadsheet
//! numbers it, so every error can say where it is.

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
}
