//! Importing and exporting students with their guardians as CSV or XLSX.
//!
//! This module is the pure part, in three steps:
//! - [`mod@read`]: a file into raw rows ([`read()`], [`detect`]);
//! - [`check`]: every row checked ([`validate`], which gives a [`Preview`] of the good
//!   rows and *every* error of every row);
//! - [`write`]: the same format back ([`write_csv`], [`write_xlsx`]).
//!
//! Writing to the database, all or nothing, is `import_store`'s job.
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

mod check;
mod read;
mod write;

pub use check::*;
pub use read::*;
pub use write::*;

#[cfg(test)]
mod tests;
