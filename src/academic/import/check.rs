//! Checking every row of an import: a preview of the good rows and every error of every row.

use super::read::*;
use crate::academic::students::checks::FORMULA_STARTS;
use crate::academic::students::clean_name;
pub use crate::academic::students::Relationship;
use crate::academic::AdmissionNo;
use crate::identity::{Email, Phone};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

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
pub(super) fn class_key(name: &str) -> String {
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

pub(super) struct Context<'a> {
    classes: HashMap<String, &'a str>,
    existing: HashSet<String>,
    today: NaiveDate,
}

pub(super) fn row_error(raw: &RawRow, column: Column, message: &str) -> RowError {
    RowError {
        line: raw.line,
        field: column.name().to_owned(),
        message: message.to_owned(),
        value: raw.get(column).chars().take(MAX_ERROR_VALUE_CHARS).collect(),
    }
}

pub(super) struct Check<'a> {
    raw: &'a RawRow,
    errors: Vec<RowError>,
}

pub(super) struct GuardianColumns {
    name: Column,
    relationship: Column,
    phone: Column,
    email: Column,
    sms: Column,
    sms_default: bool,
}

pub(super) const GUARDIAN1: GuardianColumns = GuardianColumns {
    name: Column::Guardian1Name,
    relationship: Column::Guardian1Relationship,
    phone: Column::Guardian1Phone,
    email: Column::Guardian1Email,
    sms: Column::Guardian1Sms,
    sms_default: true,
};

pub(super) const GUARDIAN2: GuardianColumns = GuardianColumns {
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

/// `YYYY-MM-DD` or `DD/MM/YYYY`.
pub(super) fn parse_date(input: &str) -> Option<NaiveDate> {
    let input = input.trim();
    NaiveDate::parse_from_str(input, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(input, "%d/%m/%Y")).ok()
}

pub(super) fn parse_yes_no(input: &str) -> Option<bool> {
    match input.trim().to_lowercase().as_str() {
        "yes" | "true" | "1" | "ndiyo" | "ndio" => Some(true),
        "no" | "false" | "0" | "hapana" => Some(false),
        _ => None,
    }
}
