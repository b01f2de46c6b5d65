//! Writing students in the import format (CSV, XLSX), so an export imports again.

use super::check::*;
use super::read::*;
use crate::academic::students::checks::FORMULA_STARTS;
use chrono::Datelike;

pub(super) fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

/// The cells of a row, in [`Column::ALL`] order.
pub(super) fn export_cells(row: &StudentRow) -> [String; 17] {
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

pub(super) fn push_csv_record<S: AsRef<str>>(out: &mut String, fields: impl IntoIterator<Item = S>) {
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
