//! A provider's statement of the school's account (CSV or XLSX): a bank's collection account as
//! its internet banking exports it, or a wallet's till or biller account as its business
//! portal does. Imported by the bursar and reconciled line by line against what the provider
//! notified: matched, another amount, missing on our side (on the statement, never notified),
//! missing on the provider's (notified, not on the statement).
//!
//! Banks publish no statement format for this contract, so each bank's columns are ours to
//! name, in the bank's own style as its notifications (docs/payments-providers.md §4.3): the
//! value date, the bank's transaction reference, the amount credited, and the narration. The
//! wallets' are named as their portals' exports head them: M-Pesa's organisation statement
//! (`Receipt No.`, `Completion Time`, `Paid In`, `Details`), Airtel Money's and Tigo Pesa's
//! transaction reports (a transaction id, a date, the amount credited, a reference) — the
//! receipt numbers a wallet's results and bill-pay requests carry, under which Kilele keeps
//! them. Headers match whatever their case, spaces or punctuation.

use super::Provider;
use crate::spreadsheet::{self, Value};
use crate::ValidationError;
use chrono::NaiveDate;

/// The most lines one statement may have (a day of a busy school is a few hundred).
pub const MAX_LINES: usize = 5_000;
/// The largest statement file taken (5,000 lines of CSV are well under 1 MiB).
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// How many rows at the top may be searched for the header (banks print a title block).
const HEADER_SEARCH_ROWS: usize = 15;

/// One provider's statement columns: value date, transaction reference, amount credited,
/// narration.
pub fn columns(provider: Provider) -> [&'static str; 4] {
    match provider {
        Provider::Nmb => ["Value Date", "Transaction Ref", "Credit", "Narration"],
        Provider::Crdb => ["value_date", "bank_reference", "amount", "narrative"],
        Provider::Nbc => ["ValueDate", "TransactionReference", "CreditAmount", "Description"],
        Provider::Mpesa => ["Completion Time", "Receipt No.", "Paid In", "Details"],
        Provider::Airtel => ["Transaction Date", "Transaction ID", "Credit Amount", "Reference"],
        Provider::Tigo => ["Date", "Transaction ID", "Credit", "Reference"],
        // GePG's reconciliation (`gepgSpReconcResp`) exported as CSV with its own field names.
        Provider::Gepg => ["TrxDtTm", "TrxId", "PaidAmt", "BillCtrNum"],
    }
}

/// An optional column: when a statement has it, only lines saying this are payments (M-Pesa's
/// organisation statement lists failed and pending transactions too).
fn status_column(provider: Provider) -> Option<(&'static str, &'static str)> {
    match provider {
        Provider::Mpesa => Some(("Transaction Status", "completed")),
        _ => None,
    }
}

/// A transaction reference as the provider keeps it: a bank's slip reference upper-case, as
/// its notifications are read (`finance::slip_reference`); a wallet's receipt exactly as
/// written (M-Pesa's are mixed-case, and Kilele keeps them as the wallet sent them).
fn reference_of(provider: Provider, text: &str) -> Option<String> {
    if provider.is_bank() {
        return crate::finance::slip_reference(text);
    }
    let r = text.trim();
    let ok = !r.is_empty() && r.len() <= 60 && r.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '.' | ' '));
    ok.then(|| r.to_owned())
}

/// A credit on the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    /// The spreadsheet's own line number.
    pub line: usize,
    /// Read as a slip reference is (upper-case): the key notifications are kept under.
    pub transaction_id: String,
    pub amount_minor: i64,
    pub value_date: NaiveDate,
    pub narration: String,
}

fn line_error(line: usize, column: &str, key: &'static str) -> ValidationError {
    // `lines.<n>.<column>`: the form's error list says "row <n + 1>", the spreadsheet's line.
    ValidationError::new(&format!("lines.{}.{column}", line.saturating_sub(1)), key)
}

/// A date as statements write it: `2026-12-07`, `07/12/2026`, `07-12-2026`, `07.12.2026` (the
/// year in four digits: `07/12/26` is not year 26), or an XLSX serial date.
fn date_of(value: &Value, is_1904: bool) -> Option<NaiveDate> {
    match value {
        Value::Text(t) => {
            let t = t.trim();
            let t = t.split_whitespace().next().unwrap_or(t);
            let four_digit_year = t.split(['-', '/', '.']).any(|part| part.len() == 4 && part.bytes().all(|b| b.is_ascii_digit()));
            if !four_digit_year {
                return None;
            }
            ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"].iter().find_map(|f| NaiveDate::parse_from_str(t, f).ok())
        }
        Value::Int(n) => serial_date(*n as f64, is_1904),
        Value::Float(f) => serial_date(*f, is_1904),
    }
}

fn serial_date(serial: f64, is_1904: bool) -> Option<NaiveDate> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let epoch = if is_1904 { NaiveDate::from_ymd_opt(1904, 1, 1)? } else { NaiveDate::from_ymd_opt(1899, 12, 30)? };
    epoch.checked_add_signed(chrono::Duration::days(serial.trunc() as i64))
}

/// The largest credit one line may carry (TZS 10 billion): a line beyond it is misread, and
/// 5,000 of them still add up without overflowing.
const MAX_LINE_MINOR: i64 = 1_000_000_000_000;

/// What an amount cell says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Amount {
    /// Money in (minor units).
    Credit(i64),
    /// Nothing in: zero, or a debit written as a negative number — not a payment.
    NotACredit,
    /// Not an amount as statements write them.
    Unreadable,
}

/// An amount as statements write it (`150,000.00`, `150000`, `TZS 150,000`); a whole
/// number in an XLSX cell is shillings. A comma must separate thousands (`150000,00`, a
/// decimal comma, is not read as 15 million), at most [`MAX_LINE_MINOR`].
fn amount_of(value: &Value) -> Amount {
    let text = match value {
        Value::Int(n) => n.to_string(),
        // A number with cents in an XLSX cell: written out as the sheet shows it, to two places.
        Value::Float(f) if f.is_finite() && f.abs() < 1e13 => format!("{f:.2}"),
        Value::Float(_) => return Amount::Unreadable,
        Value::Text(t) => t.trim().to_owned(),
    };
    let bare = text.strip_prefix("TZS").unwrap_or(&text).trim();
    if bare.starts_with('-') || (bare.starts_with('(') && bare.ends_with(')')) {
        return Amount::NotACredit;
    }
    let whole = bare.split('.').next().unwrap_or(bare);
    if whole.split(',').skip(1).any(|group| group.len() != 3) {
        return Amount::Unreadable;
    }
    match crate::finance::Money::parse(&text, crate::finance::Currency::Tzs).map(|m| m.minor) {
        Ok(0) => Amount::NotACredit,
        Ok(minor) if (1..=MAX_LINE_MINOR).contains(&minor) => Amount::Credit(minor),
        _ => Amount::Unreadable,
    }
}

/// Free text kept from a statement (a narration, a file name): without control characters.
fn clean(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect::<String>().trim().to_owned()
}

/// Reads a statement: the bank's header found in the first rows, then every line below it
/// checked, every error reported (`file`, or `lines.<n>.<column>`), nothing taken unless all
/// are right. Lines without a credit (a debit, a balance brought forward) are skipped. A value
/// date must be within the year before `today` (or tomorrow, a bank ahead of us): the
/// notifications it is reconciled against are no older.
pub fn read(bank: Provider, file_name: &str, bytes: &[u8], today: NaiveDate) -> Result<Vec<StatementLine>, Vec<ValidationError>> {
    let file = |key: &str| vec![ValidationError::new("file", key)];
    let names = columns(bank);
    let Some(kind) = spreadsheet::detect(file_name, bytes) else { return Err(file("import-error-not-a-spreadsheet")) };
    let sheet = spreadsheet::read_rows(kind, bytes, MAX_LINES + HEADER_SEARCH_ROWS, 64).map_err(|e| match e {
        spreadsheet::ReadError::NotUtf8 => file("import-error-not-utf8"),
        spreadsheet::ReadError::NotASpreadsheet => file("import-error-not-a-spreadsheet"),
        spreadsheet::ReadError::Empty => file("import-error-empty"),
        spreadsheet::ReadError::TooManyRows => file("payments-statement-error-too-many-lines"),
    })?;
    let keys = names.map(spreadsheet::header_key);
    let mut rows = sheet.rows.into_iter();
    let mut header: Option<[u32; 4]> = None;
    // The optional status column (its column and the status of a payment), in the header's row.
    let mut status: Option<(u32, &str)> = None;
    for row in rows.by_ref().take(HEADER_SEARCH_ROWS) {
        let found: Vec<Option<u32>> = keys
            .iter()
            .map(|k| row.cells.iter().find(|(_, v)| matches!(v, Value::Text(t) if spreadsheet::header_key(t) == *k)).map(|(c, _)| *c))
            .collect();
        if let [Some(a), Some(b), Some(c), Some(d)] = found[..] {
            header = Some([a, b, c, d]);
            status = status_column(bank).and_then(|(name, wanted)| {
                let key = spreadsheet::header_key(name);
                row.cells.iter().find(|(_, v)| matches!(v, Value::Text(t) if spreadsheet::header_key(t) == key)).map(|(c, _)| (*c, wanted))
            });
            break;
        }
    }
    let Some([date_col, reference_col, amount_col, narration_col]) = header else {
        return Err(file("payments-statement-error-columns"));
    };

    let mut lines = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for row in rows {
        let cell = |col: u32| row.cells.iter().find(|(c, _)| *c == col).map(|(_, v)| v.clone());
        // No credit in the row: not a payment (a debit line, a total, a note); nor a line whose
        // status says it did not complete.
        let Some(amount_cell) = cell(amount_col) else { continue };
        if let Some((col, wanted)) = status {
            let said = cell(col).map(Value::into_text).unwrap_or_default();
            if !said.trim().is_empty() && !said.trim().eq_ignore_ascii_case(wanted) {
                continue;
            }
        }
        let amount = match amount_of(&amount_cell) {
            Amount::NotACredit => continue,
            Amount::Credit(minor) => Some(minor),
            Amount::Unreadable => None,
        };
        let reference = cell(reference_col).map(Value::into_text).as_deref().and_then(|t| reference_of(bank, t));
        let recent = |d: &NaiveDate| *d >= today - chrono::Duration::days(366) && *d <= today + chrono::Duration::days(1);
        let date = cell(date_col).and_then(|v| date_of(&v, sheet.is_1904)).filter(recent);
        if amount.is_none() {
            errors.push(line_error(row.line, "amount", "payments-statement-error-amount"));
        }
        match &reference {
            None => errors.push(line_error(row.line, "reference", "payments-statement-error-reference")),
            Some(r) if !seen.insert(r.clone()) => errors.push(line_error(row.line, "reference", "payments-statement-error-twice")),
            Some(_) => {}
        }
        if date.is_none() {
            errors.push(line_error(row.line, "date", "payments-statement-error-date"));
        }
        if let (Some(amount_minor), Some(transaction_id), Some(value_date)) = (amount, reference, date) {
            let narration = clean(&cell(narration_col).map(Value::into_text).unwrap_or_default(), 200);
            lines.push(StatementLine { line: row.line, transaction_id, amount_minor, value_date, narration });
        }
        if errors.len() >= 100 {
            break;
        }
    }
    if lines.is_empty() && errors.is_empty() {
        return Err(file("payments-statement-error-no-lines"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if lines.len() > MAX_LINES {
        return Err(file("payments-statement-error-too-many-lines"));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_banks_columns_are_read_and_every_bad_line_is_said() {
        let csv = "NMB Bank PLC,,,,\nStatement of account 20110012345,,,,\n\
                   Value Date,Transaction Ref,Narration,Debit,Credit,Balance\n\
                   07/12/2026,nmb-001,SCHOOL FEES 100012345678,,\"150,000.00\",\"1,150,000.00\"\n\
                   2026-12-07,NMB-002,FEES,,45000,\n\
                   07/12/2026,NMB-003,CHARGES,2000,,\n";
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let lines = read(Provider::Nmb, "statement.csv", csv.as_bytes(), today).unwrap();
        assert_eq!(lines.len(), 2, "the debit line is not a payment");
        assert_eq!((lines[0].transaction_id.as_str(), lines[0].amount_minor), ("NMB-001", 15_000_000));
        assert_eq!(lines[0].value_date, NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
        assert_eq!(lines[0].line, 4);
        assert_eq!(lines[1].narration, "FEES");

        let bad = "value_date,bank_reference,amount,narrative\n\
                   2026-13-01,CRDB-1,100,x\n\
                   2026-12-01,,100,x\n\
                   2026-12-01,CRDB-2,\"5,00\",x\n\
                   2026-12-01,CRDB-3,100,x\n\
                   2026-12-01,crdb-3,100,x\n";
        let errors = read(Provider::Crdb, "s.csv", bad.as_bytes(), today).unwrap_err();
        let said: Vec<(String, String)> = errors.iter().map(|e| (e.field.clone(), e.message.clone())).collect();
        for expected in [
            ("lines.1.date", "payments-statement-error-date"),
            ("lines.2.reference", "payments-statement-error-reference"),
            ("lines.3.amount", "payments-statement-error-amount"),
            ("lines.5.reference", "payments-statement-error-twice"),
        ] {
            assert!(said.iter().any(|(f, m)| f == expected.0 && m == expected.1), "{expected:?} in {said:?}");
        }
        assert_eq!(said.len(), 4, "{said:?}");

        // Another bank's columns, or a file that is not a sheet: said once, for the file.
        let nmb_file = "Value Date,Transaction Ref,Credit,Narration\n2026-12-07,A,1,x\n";
        assert_eq!(read(Provider::Nbc, "s.csv", nmb_file.as_bytes(), today).unwrap_err()[0].message, "payments-statement-error-columns");
        assert_eq!(read(Provider::Nmb, "s.pdf", b"%PDF-1.4", today).unwrap_err()[0].field, "file");
        assert_eq!(read(Provider::Mpesa, "s.csv", nmb_file.as_bytes(), today).unwrap_err()[0].message, "payments-statement-error-columns");
        // A debit in the one amount column, a zero: skipped. A two-digit year, a date long ago:
        // not read. A narration's control characters dropped.
        let odd = "value_date,bank_reference,amount,narrative\n2026-12-01,CRDB-9,-500,charge\n2026-12-01,CRDB-8,0,x\n\
                   01/12/26,CRDB-7,100,x\n2020-01-01,CRDB-6,100,x\n2026-12-01,CRDB-5,100,a\u{7}b\n";
        let errors = read(Provider::Crdb, "s.csv", odd.as_bytes(), today).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["lines.3.date", "lines.4.date"], "{errors:?}");
        let fine = "value_date,bank_reference,amount,narrative\n2026-12-01,CRDB-9,-500,charge\n2026-12-01,CRDB-5,100,a\u{7}b\n";
        let lines = read(Provider::Crdb, "s.csv", fine.as_bytes(), today).unwrap();
        assert_eq!((lines.len(), lines[0].narration.as_str()), (1, "ab"));
    }

    #[test]
    fn the_wallets_statements_are_read_by_their_portals_headers() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        // M-Pesa's organisation statement: a title block, the completion time with its hour,
        // money out in a column of its own (not a payment).
        let mpesa = "Organization Name,Kilimanjaro Hills,,,,\nTime Period,01-12-2026 - 07-12-2026,,,,\n\
                     Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Balance\n\
                     SLK4H7ABC1,2026-12-07 09:12:44,Pay Bill from 255712345670 - Acc. 100012345678,Completed,\"25,000.00\",,\"125,000.00\"\n\
                     SLK4H7ABC2,2026-12-07 10:00:01,Charge,Completed,,500.00,\"124,500.00\"\n\
                     SLk4H7aBC3,2026-12-07 10:30:00,Pay Bill from 255712345671,Failed,\"5,000.00\",,\"124,500.00\"\n\
                     G27DEn1DLoQ3,2026-12-07 11:00:00,Pay Bill from 255712345672,Completed,\"1,000.00\",,\"125,500.00\"\n";
        let lines = read(Provider::Mpesa, "ORG_171717_Statement.csv", mpesa.as_bytes(), today).unwrap();
        assert_eq!(lines.len(), 2, "the charge and the failed line are not payments: {lines:?}");
        assert_eq!((lines[0].transaction_id.as_str(), lines[0].amount_minor), ("SLK4H7ABC1", 2_500_000));
        assert_eq!(lines[1].transaction_id, "G27DEn1DLoQ3", "a wallet's receipt keeps its case");
        assert_eq!(lines[0].value_date, today);
        assert!(lines[0].narration.contains("100012345678"));
        let airtel = "Transaction ID,Transaction Date,MSISDN,Credit Amount,Debit Amount,Reference\nMP261207.1012.A00001,07/12/2026,0682345678,30000,,100012345678\n";
        assert_eq!(read(Provider::Airtel, "report.csv", airtel.as_bytes(), today).unwrap()[0].transaction_id, "MP261207.1012.A00001");
        let tigo = "Date,Transaction ID,MSISDN,Credit,Reference\n2026-12-07,8C1A2B3C4D,255652123456,15000,100012345678\n";
        assert_eq!(read(Provider::Tigo, "tigo.csv", tigo.as_bytes(), today).unwrap()[0].amount_minor, 1_500_000);
        // A bank's statement offered as M-Pesa's: its columns are not found.
        let nmb = "Value Date,Transaction Ref,Credit,Narration\n2026-12-07,A,1,x\n";
        assert_eq!(read(Provider::Mpesa, "s.csv", nmb.as_bytes(), today).unwrap_err()[0].message, "payments-statement-error-columns");
    }

    #[test]
    fn serial_dates_and_amounts_of_a_workbook() {
        assert_eq!(date_of(&Value::Float(46_363.0), false), NaiveDate::from_ymd_opt(2026, 12, 7));
        assert_eq!(date_of(&Value::Text("07.12.2026 00:00".into()), false), NaiveDate::from_ymd_opt(2026, 12, 7));
        assert_eq!(date_of(&Value::Float(-1.0), false), None);
        assert_eq!(amount_of(&Value::Float(150_000.5)), Amount::Credit(15_000_050));
        assert_eq!(amount_of(&Value::Int(45_000)), Amount::Credit(4_500_000));
        assert_eq!(amount_of(&Value::Text("TZS 1,500".into())), Amount::Credit(150_000));
        assert_eq!(amount_of(&Value::Text("150000,00".into())), Amount::Unreadable, "a decimal comma");
        assert_eq!(amount_of(&Value::Text("99999999999".into())), Amount::Unreadable, "over TZS 10 billion");
        assert_eq!(amount_of(&Value::Float(f64::NAN)), Amount::Unreadable);
        assert_eq!(amount_of(&Value::Text("-1".into())), Amount::NotACredit);
        assert_eq!(amount_of(&Value::Text("(1,000.00)".into())), Amount::NotACredit);
        assert_eq!(amount_of(&Value::Float(-3.0)), Amount::NotACredit);
    }
}
