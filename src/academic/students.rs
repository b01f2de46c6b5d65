//! Student records: admission numbers, names, enrolment per year, status, guardians (with
//! encrypted phone numbers, shared between siblings), and search.
//!
//! The pure part (checking what a person typed, admission-number patterns, reading a search)
//! compiles everywhere; reads and writes are in [`db`], inside a tenant transaction, and
//! every change is audited in the same transaction.

use super::AdmissionNo;
use crate::identity::{Email, Phone};
use crate::ValidationError;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Students per page in lists.
pub const PAGE_SIZE: i64 = 50;
/// Longest name (in characters) of a student or guardian, as in imports.
pub const MAX_NAME_CHARS: usize = 60;
/// Longest reason for a status change.
pub const MAX_REASON_CHARS: usize = 300;
/// Longest national ID / birth certificate number.
pub const MAX_NATIONAL_ID_CHARS: usize = 40;
/// Longest medical notes.
pub const MAX_MEDICAL_NOTES_CHARS: usize = 2000;
/// Words of a name search that are used (the rest are ignored).
pub const MAX_SEARCH_WORDS: usize = 4;

/// The admission-number pattern schools get unless they set their own.
pub const DEFAULT_ADMISSION_FORMAT: &str = "{PREFIX}/{YYYY}/{NNNN}";

/// Field names bound into encryption (associated data).
pub const STUDENT_NATIONAL_ID: &str = "students.national_id";
pub const STUDENT_MEDICAL_NOTES: &str = "students.medical_notes";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StudentStatus {
    Active,
    Transferred,
    Graduated,
    Left,
}

impl StudentStatus {
    pub const ALL: [StudentStatus; 4] = [Self::Active, Self::Transferred, Self::Graduated, Self::Left];

    /// The database code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Transferred => "transferred",
            Self::Graduated => "graduated",
            Self::Left => "left",
        }
    }

    pub fn parse(code: &str) -> Option<StudentStatus> {
        Self::ALL.into_iter().find(|s| s.code() == code.trim())
    }

    /// The i18n key of the status's name.
    pub fn label_key(self) -> &'static str {
        match self {
            Self::Active => "students-status-active",
            Self::Transferred => "students-status-transferred",
            Self::Graduated => "students-status-graduated",
            Self::Left => "students-status-left",
        }
    }
}

/// The i18n key of a status code as stored (unknown codes show as the code itself).
pub fn status_label_key(code: &str) -> &str {
    match StudentStatus::parse(code) {
        Some(s) => s.label_key(),
        None => code,
    }
}

/// How a guardian is related to the student (database codes `mother`, `father`,
/// `guardian`).
pub fn relationship_code(input: &str) -> Option<&'static str> {
    match input.trim().to_lowercase().as_str() {
        "mother" | "mama" => Some("mother"),
        "father" | "baba" => Some("father"),
        "guardian" | "mlezi" => Some("guardian"),
        _ => None,
    }
}

/// The i18n key of a relationship code.
pub fn relationship_label_key(code: &str) -> &'static str {
    match code {
        "mother" => "students-relationship-mother",
        "father" => "students-relationship-father",
        _ => "students-relationship-guardian",
    }
}

/// Protected personal data as a reader may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pii {
    /// Nothing is stored.
    NotSet,
    /// Something is stored, but the reader lacks `students.pii.read`.
    Hidden,
    Shown(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentListItem {
    pub id: Uuid,
    pub admission_no: String,
    pub full_name: String,
    pub class_name: Option<String>,
    /// A [`StudentStatus`] code.
    pub status: String,
}

/// One page of a list or search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentPage {
    pub items: Vec<StudentListItem>,
    /// Matches over all pages.
    pub total: i64,
    /// 1-based.
    pub page: i64,
    /// At least 1.
    pub pages: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentView {
    pub year: i32,
    pub class_name: String,
    pub outcome: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardianView {
    pub id: Uuid,
    pub full_name: String,
    /// `mother`, `father` or `guardian`.
    pub relationship: String,
    pub phone: Pii,
    pub email: Option<String>,
    pub receives_sms: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentDetail {
    pub id: Uuid,
    pub admission_no: String,
    pub first_name: String,
    pub middle_name: Option<String>,
    pub last_name: String,
    /// `F` or `M`.
    pub sex: String,
    pub date_of_birth: Option<NaiveDate>,
    pub class_name: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub national_id: Pii,
    pub medical_notes: Pii,
    /// Newest year first.
    pub enrolments: Vec<EnrolmentView>,
    pub guardians: Vec<GuardianView>,
    /// Other students sharing a guardian with this one.
    pub siblings: Vec<StudentListItem>,
    /// A photo is stored (served at `/admin/students/<id>/photo`).
    pub has_photo: bool,
}

impl StudentDetail {
    pub fn full_name(&self) -> String {
        [Some(self.first_name.as_str()), self.middle_name.as_deref(), Some(self.last_name.as_str())]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassOption {
    pub id: Uuid,
    pub class_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearOption {
    pub id: Uuid,
    pub year: i32,
    pub is_current: bool,
}

/// What the add-student and enrolment forms offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentFormOptions {
    /// The next free admission number in the school's pattern, for this intake year.
    pub next_admission_no: String,
    /// The school's admission-number prefix and pattern (`school_settings`).
    pub admission_prefix: String,
    pub admission_format: String,
    pub classes: Vec<ClassOption>,
    /// Newest first.
    pub years: Vec<YearOption>,
}

/// A student as typed into the form (every field as text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudentInput<'a> {
    pub admission_no: &'a str,
    pub first_name: &'a str,
    pub middle_name: &'a str,
    pub last_name: &'a str,
    pub sex: &'a str,
    pub date_of_birth: &'a str,
    pub national_id: &'a str,
    pub medical_notes: &'a str,
}

/// A checked student, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStudent {
    pub admission_no: AdmissionNo,
    pub first_name: String,
    pub middle_name: Option<String>,
    pub last_name: String,
    /// `F` or `M`.
    pub sex: &'static str,
    pub date_of_birth: Option<NaiveDate>,
    pub national_id: Option<String>,
    pub medical_notes: Option<String>,
}

/// A guardian as typed into the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardianInput<'a> {
    pub name: &'a str,
    pub relationship: &'a str,
    pub phone: &'a str,
    pub email: &'a str,
    pub receives_sms: bool,
}

/// A checked guardian (phone in E.164).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGuardian {
    pub name: String,
    /// `mother`, `father` or `guardian`.
    pub relationship: &'static str,
    pub phone: Phone,
    pub email: Option<Email>,
    pub receives_sms: bool,
}

/// Characters that make a spreadsheet read a cell as a formula (names are exported too).
const FORMULA_STARTS: [char; 4] = ['=', '+', '-', '@'];

/// Trims a name and joins inner runs of spaces; the same rules as imports.
pub fn clean_name(input: &str) -> Result<String, &'static str> {
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

fn optional_text(input: &str, max: usize, field: &str, errors: &mut Vec<ValidationError>) -> Option<String> {
    let text = input.trim();
    if text.is_empty() {
        None
    } else if text.chars().count() > max {
        errors.push(ValidationError::new(field, "students-error-too-long"));
        None
    } else {
        Some(text.to_owned())
    }
}

/// Checks a whole student form; every problem is reported, field by field.
pub fn check_student(input: &StudentInput<'_>, today: NaiveDate) -> Result<NewStudent, Vec<ValidationError>> {
    let mut errors = Vec::new();
    let admission_no = AdmissionNo::parse(input.admission_no).map_err(|e| errors.push(e)).ok();
    let mut name = |field: &str, value: &str, required: bool| -> Option<String> {
        if !required && value.trim().is_empty() {
            return None;
        }
        clean_name(value).map_err(|m| errors.push(ValidationError::new(field, m))).ok()
    };
    let first_name = name("first_name", input.first_name, true);
    let middle_name = name("middle_name", input.middle_name, false);
    let last_name = name("last_name", input.last_name, true);
    let sex = match input.sex.trim() {
        "F" | "f" => Some("F"),
        "M" | "m" => Some("M"),
        "" => {
            errors.push(ValidationError::new("sex", "error-sex-required"));
            None
        }
        _ => {
            errors.push(ValidationError::new("sex", "error-sex-invalid"));
            None
        }
    };
    let date_of_birth = match input.date_of_birth.trim() {
        "" => None,
        value => match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            Ok(d) if d >= today => {
                errors.push(ValidationError::new("date_of_birth", "error-date-of-birth-future"));
                None
            }
            Ok(d) if d.year() < 1990 => {
                errors.push(ValidationError::new("date_of_birth", "error-date-of-birth-too-early"));
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(ValidationError::new("date_of_birth", "error-date-invalid"));
                None
            }
        },
    };
    let national_id = optional_text(input.national_id, MAX_NATIONAL_ID_CHARS, "national_id", &mut errors);
    let medical_notes = optional_text(input.medical_notes, MAX_MEDICAL_NOTES_CHARS, "medical_notes", &mut errors);
    match (admission_no, first_name, last_name, sex) {
        (Some(admission_no), Some(first_name), Some(last_name), Some(sex)) if errors.is_empty() => {
            Ok(NewStudent { admission_no, first_name, middle_name, last_name, sex, date_of_birth, national_id, medical_notes })
        }
        _ => Err(errors),
    }
}

/// Checks a guardian form. Fields are named `guardian_name`, `guardian_relationship`,
/// `guardian_phone`, `guardian_email`.
pub fn check_guardian(input: &GuardianInput<'_>) -> Result<NewGuardian, Vec<ValidationError>> {
    let mut errors = Vec::new();
    let name = clean_name(input.name).map_err(|m| errors.push(ValidationError::new("guardian_name", m))).ok();
    let relationship = relationship_code(if input.relationship.trim().is_empty() { "guardian" } else { input.relationship });
    if relationship.is_none() {
        errors.push(ValidationError::new("guardian_relationship", "error-relationship-invalid"));
    }
    let phone = Phone::parse(input.phone).map_err(|e| errors.push(ValidationError::new("guardian_phone", &e.message))).ok();
    let email = match input.email.trim() {
        "" => None,
        value if value.starts_with(FORMULA_STARTS) => {
            errors.push(ValidationError::new("guardian_email", "error-email-invalid"));
            None
        }
        value => Email::parse(value).map_err(|e| errors.push(ValidationError::new("guardian_email", &e.message))).ok(),
    };
    match (name, relationship, phone) {
        (Some(name), Some(relationship), Some(phone)) if errors.is_empty() => {
            Ok(NewGuardian { name, relationship, phone, email, receives_sms: input.receives_sms })
        }
        _ => Err(errors),
    }
}

/// Checks a status change: leaving the active status needs a reason.
pub fn check_status(status: &str, reason: &str) -> Result<(StudentStatus, Option<String>), Vec<ValidationError>> {
    let status = StudentStatus::parse(status).ok_or_else(|| vec![ValidationError::new("status", "students-error-status-invalid")])?;
    let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(vec![ValidationError::new("reason", "students-error-too-long")]);
    }
    match (status, reason.is_empty()) {
        (StudentStatus::Active, true) => Ok((status, None)),
        (_, true) => Err(vec![ValidationError::new("reason", "students-error-reason-required")]),
        (_, false) => Ok((status, Some(reason))),
    }
}

/// An admission-number pattern with the prefix and year filled in: what comes before the
/// serial, the serial's width (the number of `N`s), and what comes after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionPattern {
    pub head: String,
    pub width: usize,
    pub tail: String,
}

impl AdmissionPattern {
    /// `{PREFIX}` and `{YYYY}` are replaced; `{N…}` marks the serial. A format without a
    /// serial falls back to [`DEFAULT_ADMISSION_FORMAT`].
    pub fn new(format: &str, prefix: &str, year: i32) -> AdmissionPattern {
        let filled = |s: &str| s.replace("{PREFIX}", prefix).replace("{YYYY}", &format!("{year:04}")).to_ascii_uppercase();
        let serial = format.find("{N").and_then(|start| {
            let rest = format.get(start + 1..)?;
            let n = rest.bytes().take_while(|b| *b == b'N').count();
            (rest.as_bytes().get(n) == Some(&b'}')).then_some((start, n))
        });
        match serial {
            Some((start, n)) => AdmissionPattern {
                head: filled(format.get(..start).unwrap_or_default()),
                width: n,
                tail: filled(format.get(start + n + 2..).unwrap_or_default()),
            },
            None if format != DEFAULT_ADMISSION_FORMAT => Self::new(DEFAULT_ADMISSION_FORMAT, prefix, year),
            None => AdmissionPattern { head: format!("{prefix}/{year:04}/"), width: 4, tail: String::new() },
        }
    }

    pub fn render(&self, serial: u32) -> String {
        format!("{}{serial:0width$}{}", self.head, self.tail, width = self.width)
    }

    /// The serial of an admission number in this pattern.
    pub fn serial_of(&self, admission_no: &str) -> Option<u32> {
        let digits = admission_no.strip_prefix(self.head.as_str())?.strip_suffix(self.tail.as_str())?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }

    /// The number after the highest serial among `existing`.
    pub fn next<'a>(&self, existing: impl IntoIterator<Item = &'a str>) -> String {
        let highest = existing.into_iter().filter_map(|a| self.serial_of(a)).max().unwrap_or(0);
        self.render(highest.saturating_add(1))
    }
}

/// Checks a school's admission-number prefix (1–10 letters or digits) and pattern: only
/// `{PREFIX}`, `{YYYY}` and one serial `{N…}` (1–8 `N`s) as placeholders, and a result that
/// is a valid admission number. Returns them cleaned (prefix upper-cased).
pub fn check_admission_format(prefix: &str, format: &str) -> Result<(String, String), Vec<ValidationError>> {
    let mut errors = Vec::new();
    let prefix = prefix.trim().to_ascii_uppercase();
    let prefix_ok = !prefix.is_empty() && prefix.len() <= 10 && prefix.bytes().all(|b| b.is_ascii_alphanumeric());
    if !prefix_ok {
        errors.push(ValidationError::new("admission_prefix", "students-error-prefix-invalid"));
    }
    let format = format.trim().to_owned();
    let mut rest = format.as_str();
    let mut serials = 0;
    let mut placeholders_ok = true;
    while let Some(open) = rest.find('{') {
        let after = rest.get(open + 1..).unwrap_or_default();
        let Some(close) = after.find('}') else {
            placeholders_ok = false;
            break;
        };
        let name = after.get(..close).unwrap_or_default();
        match name {
            "PREFIX" | "YYYY" => {}
            n if !n.is_empty() && n.len() <= 8 && n.bytes().all(|b| b == b'N') => serials += 1,
            _ => placeholders_ok = false,
        }
        rest = after.get(close + 1..).unwrap_or_default();
    }
    let sample = AdmissionPattern::new(&format, if prefix_ok { &prefix } else { "ADM" }, 2026).render(1);
    if !placeholders_ok || serials != 1 || format.len() > 40 || AdmissionNo::parse(&sample).is_err() {
        errors.push(ValidationError::new("admission_format", "students-error-format-invalid"));
    }
    if errors.is_empty() {
        Ok((prefix, format))
    } else {
        Err(errors)
    }
}

/// The half-open range `[prefix, end)` of strings starting with `prefix`, in code-point
/// (collation "C") order.
pub fn prefix_range(prefix: &str) -> (String, String) {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = u32::from(last) + 1;
        if (0xD800..=0xDFFF).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return (prefix.to_owned(), chars.into_iter().collect());
        }
    }
    (prefix.to_owned(), char::MAX.to_string())
}

/// What a search box's text is read as. Every reading is tried; a student matching any
/// is found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchTerms {
    /// Lower-cased words; each must start one of the student's names.
    pub words: Vec<String>,
    /// The text as the start of an admission number (upper-cased), when it can be one.
    pub admission: Option<String>,
    /// The text as a guardian's phone number, in any typed form.
    pub phone: Option<Phone>,
}

impl SearchTerms {
    pub fn parse(query: &str) -> SearchTerms {
        let query = query.trim();
        let words = query
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty() && w.chars().any(char::is_alphabetic))
            .take(MAX_SEARCH_WORDS)
            .map(str::to_lowercase)
            .collect();
        let admission =
            (!query.is_empty() && query.len() <= 32 && query.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.')))
                .then(|| query.to_ascii_uppercase());
        let phone = Phone::parse(query).ok();
        SearchTerms { words, admission, phone }
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.admission.is_none() && self.phone.is_none()
    }
}

/// Pages needed for `total` rows (at least one, so "page 1 of 1" for an empty list).
pub fn page_count(total: i64, per_page: i64) -> i64 {
    if per_page <= 0 {
        return 1;
    }
    ((total + per_page - 1) / per_page).max(1)
}

/// A page number as typed in a URL, clamped to 1 or more.
pub fn parse_page(input: &str) -> i64 {
    input.trim().parse::<i64>().ok().filter(|p| *p >= 1).unwrap_or(1).min(1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    #[test]
    fn a_good_student_is_cleaned() {
        let input = StudentInput {
            admission_no: " khss/2026/0100 ",
            first_name: "  Amina ",
            middle_name: "",
            last_name: "Mushi   Mrema",
            sex: "F",
            date_of_birth: "2012-03-04",
            national_id: " 1234 ",
            medical_notes: "",
        };
        let s = check_student(&input, today()).unwrap();
        assert_eq!(s.admission_no.as_str(), "KHSS/2026/0100");
        assert_eq!(s.first_name, "Amina");
        assert_eq!(s.middle_name, None);
        assert_eq!(s.last_name, "Mushi Mrema");
        assert_eq!(s.national_id.as_deref(), Some("1234"));
        assert_eq!(s.medical_notes, None);
    }

    #[test]
    fn every_student_error_is_reported() {
        let input = StudentInput {
            admission_no: "A B",
            first_name: "",
            last_name: "=cmd",
            sex: "X",
            date_of_birth: "2030-01-01",
            ..Default::default()
        };
        let errors = check_student(&input, today()).unwrap_err();
        let fields: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.message.as_str())).collect();
        assert!(fields.contains(&("admission_no", "error-admission-invalid")), "{fields:?}");
        assert!(fields.contains(&("first_name", "error-name-required")), "{fields:?}");
        assert!(fields.contains(&("last_name", "error-name-invalid")), "{fields:?}");
        assert!(fields.contains(&("sex", "error-sex-invalid")), "{fields:?}");
        assert!(fields.contains(&("date_of_birth", "error-date-of-birth-future")), "{fields:?}");
    }

    #[test]
    fn guardians_phones_are_normalised_and_checked() {
        let g = check_guardian(&GuardianInput {
            name: "Neema Mushi",
            relationship: "mama",
            phone: "0712 345 678",
            email: "",
            receives_sms: true,
        })
        .unwrap();
        assert_eq!(g.phone.as_str(), "+255712345678");
        assert_eq!(g.relationship, "mother");
        let errors =
            check_guardian(&GuardianInput { name: "Neema", relationship: "aunt", phone: "12345", email: "x", receives_sms: false })
                .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["guardian_relationship", "guardian_phone", "guardian_email"]);
    }

    #[test]
    fn leaving_needs_a_reason() {
        assert_eq!(check_status("active", ""), Ok((StudentStatus::Active, None)));
        assert!(check_status("left", "  ").is_err());
        assert_eq!(
            check_status("transferred", " to  Moshi Secondary "),
            Ok((StudentStatus::Transferred, Some("to Moshi Secondary".into())))
        );
        assert!(check_status("expelled", "x").is_err());
    }

    #[test]
    fn admission_patterns() {
        let p = AdmissionPattern::new(DEFAULT_ADMISSION_FORMAT, "KHSS", 2026);
        assert_eq!(p.render(7), "KHSS/2026/0007");
        assert_eq!(p.serial_of("KHSS/2026/0123"), Some(123));
        assert_eq!(p.serial_of("KHSS/2025/0123"), None);
        assert_eq!(p.next(["KHSS/2026/0009", "KHSS/2026/0011", "KHSS/2025/0999", "junk"]), "KHSS/2026/0012");
        assert_eq!(p.next([]), "KHSS/2026/0001");
        let q = AdmissionPattern::new("{YYYY}-{PREFIX}-{NNNNN}", "ab1", 2027);
        assert_eq!(q.render(42), "2027-AB1-00042");
        assert_eq!(AdmissionPattern::new("nonsense", "KHSS", 2026).render(1), "KHSS/2026/0001");
    }

    #[test]
    fn admission_formats_are_checked() {
        assert_eq!(check_admission_format(" khss ", "{PREFIX}/{YYYY}/{NNNN}"), Ok(("KHSS".into(), "{PREFIX}/{YYYY}/{NNNN}".into())));
        assert!(check_admission_format("KH", "{PREFIX}-{NNNNN}").is_ok());
        let fields =
            |r: Result<(String, String), Vec<ValidationError>>| -> Vec<String> { r.unwrap_err().into_iter().map(|e| e.field).collect() };
        assert_eq!(fields(check_admission_format("K H", "{PREFIX}/{NNNN}")), ["admission_prefix"]);
        for bad in ["{PREFIX}/{YYYY}", "{PREFIX}/{NN}/{NNNN}", "{PREFIX} {NNNN}", "{PREFIX}/{DATE}/{NNNN}", "{PREFIX}/{NNNN"] {
            assert_eq!(fields(check_admission_format("KHSS", bad)), ["admission_format"], "{bad}");
        }
    }

    #[test]
    fn searches_are_read_every_way() {
        let t = SearchTerms::parse("0712 345 678");
        assert_eq!(t.phone.as_ref().map(Phone::as_str), Some("+255712345678"));
        assert!(t.words.is_empty());
        let t = SearchTerms::parse("khss/2026/00");
        assert_eq!(t.admission.as_deref(), Some("KHSS/2026/00"));
        assert_eq!(t.words, ["khss/2026/00"]);
        let t = SearchTerms::parse(" Amina  MUSHI ");
        assert_eq!(t.words, ["amina", "mushi"]);
        assert_eq!(t.admission, None);
        assert!(SearchTerms::parse("   ").is_empty());
    }

    #[test]
    fn prefix_ranges_and_pages() {
        assert_eq!(prefix_range("mus"), ("mus".into(), "mut".into()));
        assert_eq!(prefix_range("KHSS/"), ("KHSS/".into(), "KHSS0".into()));
        assert_eq!(page_count(0, 50), 1);
        assert_eq!(page_count(50, 50), 1);
        assert_eq!(page_count(51, 50), 2);
        assert_eq!(parse_page("x"), 1);
        assert_eq!(parse_page("-3"), 1);
        assert_eq!(parse_page("4"), 4);
    }
}

#[cfg(feature = "ssr")]
pub mod db {
    //! Student reads and writes, inside a tenant transaction. Every change is audited in the
    //! same transaction; a refused change writes nothing.
    use super::{
        page_count, prefix_range, AdmissionPattern, ClassOption, EnrolmentView, GuardianView, NewGuardian, NewStudent, Pii, SearchTerms,
        StudentDetail, StudentFormOptions, StudentListItem, StudentPage, StudentStatus, YearOption, DEFAULT_ADMISSION_FORMAT, PAGE_SIZE,
        STUDENT_MEDICAL_NOTES, STUDENT_NATIONAL_ID,
    };
    use crate::academic::class_name;
    use crate::academic::store::{guardians_by_phone, insert_guardian, reveal_phone, GUARDIAN_PHONE};
    use crate::audit;
    use crate::audit::pii::{Aad, KeyRing};
    use crate::db::TenantTx;
    use crate::identity::store::ChangedBy;
    use crate::tenancy::TenantId;
    use crate::{DomainError, ValidationError};
    use sqlx::postgres::PgRow;
    use sqlx::Row;
    use uuid::Uuid;

    const LIST_SELECT: &str = "SELECT st.id, st.admission_no, concat_ws(' ', st.first_name, st.middle_name, st.last_name) AS full_name,
            st.status, l.name AS level, s.name AS stream, count(*) OVER () AS total
       FROM students st
       LEFT JOIN streams s ON s.tenant_id = st.tenant_id AND s.id = st.stream_id
       LEFT JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id";

    const LIST_ORDER: &str = "ORDER BY st.search_last, st.search_first, st.search_admission";

    /// Students whose names start with the search's words: the first word through the
    /// `students_search_*` indexes (a prefix is a range in collation "C"), every word
    /// checked against the first, middle and last names. Public so that a test can check
    /// its plan. `$1`/`$2`: the first word's range; `$3`: all words.
    pub const NAME_HITS_SQL: &str = "SELECT id FROM students
          WHERE ((search_first >= $1 AND search_first < $2)
              OR (search_middle >= $1 AND search_middle < $2)
              OR (search_last >= $1 AND search_last < $2))
            AND NOT EXISTS (SELECT 1 FROM unnest($3::text[]) AS w(word)
                             WHERE NOT (starts_with(search_first, w.word)
                                     OR starts_with(coalesce(search_middle, ''), w.word)
                                     OR starts_with(search_last, w.word)))";

    /// Admission numbers starting with the search (`$4`/`$5`: the range).
    pub const ADMISSION_HITS_SQL: &str = "SELECT id FROM students WHERE search_admission >= $4 AND search_admission < $5";

    /// Children of guardians with this phone's blind index (`$6`).
    pub const PHONE_HITS_SQL: &str = "SELECT sg.student_id FROM guardians g
           JOIN student_guardians sg ON sg.tenant_id = g.tenant_id AND sg.guardian_id = g.id
          WHERE g.phone_bidx = $6";

    /// When no name starts with the words: names containing every word anywhere (a scan of
    /// the school's students, still fast at a few thousand).
    const CONTAINS_HITS_SQL: &str = "SELECT id FROM students
          WHERE NOT EXISTS (SELECT 1 FROM unnest($1::text[]) AS w(word)
                             WHERE strpos(concat_ws(' ', search_first, search_middle, search_last), w.word) = 0)";

    fn list_item(r: &PgRow) -> Result<StudentListItem, sqlx::Error> {
        let level: Option<String> = r.try_get("level")?;
        let stream: Option<String> = r.try_get("stream")?;
        Ok(StudentListItem {
            id: r.try_get("id")?,
            admission_no: r.try_get("admission_no")?,
            full_name: r.try_get("full_name")?,
            class_name: level.zip(stream).map(|(l, s)| class_name(&l, &s)),
            status: r.try_get("status")?,
        })
    }

    fn to_page(rows: &[PgRow], page: i64) -> Result<StudentPage, sqlx::Error> {
        let total: i64 = rows.first().map(|r| r.try_get("total")).transpose()?.unwrap_or(0);
        let items = rows.iter().map(list_item).collect::<Result<Vec<_>, _>>()?;
        Ok(StudentPage { items, total, page, pages: page_count(total, PAGE_SIZE) })
    }

    /// One page of the school's students, or of those matching `query` by name (start of
    /// any of their names, then anywhere), admission number (start) or guardian phone
    /// (exact, in any typed form). Ordered by family name. A page past the end shows the
    /// last page.
    pub async fn search(tx: &mut TenantTx, tenant: TenantId, pii: &KeyRing, query: &str, page: i64) -> Result<StudentPage, sqlx::Error> {
        let terms = SearchTerms::parse(query);
        let page = page.max(1);
        let rows = fetch(tx, tenant, pii, &terms, page).await?;
        if !rows.is_empty() || page == 1 {
            return to_page(&rows, page);
        }
        let first = to_page(&fetch(tx, tenant, pii, &terms, 1).await?, 1)?;
        if first.pages == 1 {
            return Ok(first);
        }
        to_page(&fetch(tx, tenant, pii, &terms, first.pages).await?, first.pages)
    }

    async fn fetch(tx: &mut TenantTx, tenant: TenantId, pii: &KeyRing, terms: &SearchTerms, page: i64) -> Result<Vec<PgRow>, sqlx::Error> {
        let offset = (page - 1).saturating_mul(PAGE_SIZE);
        if terms.is_empty() {
            let sql = format!("{LIST_SELECT} {LIST_ORDER} LIMIT $1 OFFSET $2");
            return sqlx::query(sqlx::AssertSqlSafe(sql)).bind(PAGE_SIZE).bind(offset).fetch_all(&mut **tx).await;
        }
        let rows = fetch_hits(tx, tenant, pii, terms, offset).await?;
        if !rows.is_empty() || terms.words.is_empty() {
            return Ok(rows);
        }
        // Names containing the words only when no name starts with them.
        if page > 1 && !fetch_hits(tx, tenant, pii, terms, 0).await?.is_empty() {
            return Ok(rows);
        }
        let sql = format!(
            "WITH hits AS ({CONTAINS_HITS_SQL}) {LIST_SELECT} WHERE st.id IN (SELECT id FROM hits) {LIST_ORDER} LIMIT $2 OFFSET $3"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&terms.words).bind(PAGE_SIZE).bind(offset).fetch_all(&mut **tx).await
    }

    async fn fetch_hits(
        tx: &mut TenantTx,
        tenant: TenantId,
        pii: &KeyRing,
        terms: &SearchTerms,
        offset: i64,
    ) -> Result<Vec<PgRow>, sqlx::Error> {
        let (name_from, name_to) = terms.words.first().map(|w| prefix_range(w)).unzip();
        let (adm_from, adm_to) = terms.admission.as_deref().map(prefix_range).unzip();
        let bidx = terms.phone.as_ref().map(|p| pii.blind_index(tenant.0, GUARDIAN_PHONE, p.as_str()));
        let sql = format!(
            "WITH hits AS ({NAME_HITS_SQL} UNION {ADMISSION_HITS_SQL} UNION {PHONE_HITS_SQL})
             {LIST_SELECT} WHERE st.id IN (SELECT id FROM hits) {LIST_ORDER} LIMIT $7 OFFSET $8"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name_from)
            .bind(name_to)
            .bind(&terms.words)
            .bind(adm_from)
            .bind(adm_to)
            .bind(bidx)
            .bind(PAGE_SIZE)
            .bind(offset)
            .fetch_all(&mut **tx)
            .await
    }

    /// The school's admission-number prefix and pattern.
    async fn admission_settings(tx: &mut TenantTx) -> Result<(String, String), sqlx::Error> {
        let settings = sqlx::query("SELECT admission_prefix, admission_format FROM school_settings").fetch_optional(&mut **tx).await?;
        Ok(match settings {
            Some(r) => (r.try_get::<String, _>("admission_prefix")?, r.try_get::<String, _>("admission_format")?),
            None => ("ADM".to_owned(), DEFAULT_ADMISSION_FORMAT.to_owned()),
        })
    }

    /// The school's admission pattern for `year`.
    async fn admission_pattern(tx: &mut TenantTx, year: i32) -> Result<AdmissionPattern, sqlx::Error> {
        let (prefix, format) = admission_settings(tx).await?;
        Ok(AdmissionPattern::new(&format, &prefix, year))
    }

    /// Sets the school's admission-number prefix and pattern (checked with
    /// [`super::check_admission_format`]). Numbers already given keep their form.
    pub async fn set_admission_format(
        tx: &mut TenantTx,
        tenant: TenantId,
        prefix: &str,
        format: &str,
        by: ChangedBy<'_>,
    ) -> Result<(), DomainError> {
        let (from_prefix, from_format) = admission_settings(tx).await?;
        sqlx::query(
            "INSERT INTO school_settings (tenant_id, admission_prefix, admission_format) VALUES ($1, $2, $3)
             ON CONFLICT (tenant_id) DO UPDATE SET admission_prefix = EXCLUDED.admission_prefix, admission_format = EXCLUDED.admission_format",
        )
        .bind(tenant.0)
        .bind(prefix)
        .bind(format)
        .execute(&mut **tx)
        .await?;
        let details = serde_json::json!({
            "from": { "prefix": from_prefix, "format": from_format }, "to": { "prefix": prefix, "format": format }
        });
        audit::append(tx, tenant, by.at, by.actor, crate::audit::actions::SCHOOL_ADMISSION_FORMAT_CHANGED, &tenant.0.to_string(), details)
            .await?;
        Ok(())
    }

    /// The next free admission number for an intake in `year`.
    pub async fn next_admission_no(tx: &mut TenantTx, year: i32) -> Result<String, sqlx::Error> {
        let pattern = admission_pattern(tx, year).await?;
        let (from, to) = prefix_range(&pattern.head);
        let taken: Vec<String> =
            sqlx::query_scalar("SELECT search_admission FROM students WHERE search_admission >= $1 AND search_admission < $2")
                .bind(from)
                .bind(to)
                .fetch_all(&mut **tx)
                .await?;
        Ok(pattern.next(taken.iter().map(String::as_str)))
    }

    /// The intake year: the current academic year, else `fallback` (the calendar year).
    async fn intake_year(tx: &mut TenantTx, fallback: i32) -> Result<i32, sqlx::Error> {
        Ok(sqlx::query_scalar("SELECT year FROM academic_years WHERE is_current").fetch_optional(&mut **tx).await?.unwrap_or(fallback))
    }

    /// What the add-student and enrolment forms offer.
    pub async fn form_options(tx: &mut TenantTx, this_year: i32) -> Result<StudentFormOptions, sqlx::Error> {
        let year = intake_year(tx, this_year).await?;
        let next_admission_no = next_admission_no(tx, year).await?;
        let (admission_prefix, admission_format) = admission_settings(tx).await?;
        let classes = sqlx::query(
            "SELECT s.id, l.name AS level, s.name AS stream FROM streams s
               JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id
              ORDER BY l.ordinal, s.name",
        )
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| {
            Ok(ClassOption {
                id: r.try_get("id")?,
                class_name: class_name(&r.try_get::<String, _>("level")?, &r.try_get::<String, _>("stream")?),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let years = sqlx::query("SELECT id, year, is_current FROM academic_years ORDER BY year DESC")
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| Ok(YearOption { id: r.try_get("id")?, year: r.try_get("year")?, is_current: r.try_get("is_current")? }))
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(StudentFormOptions { next_admission_no, admission_prefix, admission_format, classes, years })
    }

    fn reveal(pii: &KeyRing, tenant: TenantId, field: &'static str, sealed: Option<Vec<u8>>, allowed: bool) -> Result<Pii, DomainError> {
        Ok(match (sealed, allowed) {
            (None, _) => Pii::NotSet,
            (Some(_), false) => Pii::Hidden,
            (Some(s), true) => Pii::Shown(pii.decrypt(&s, &Aad::new(tenant.0, field))?),
        })
    }

    /// A student with enrolments, guardians and siblings. Protected data is decrypted only
    /// when `reveal_pii` (the reader holds `students.pii.read`).
    pub async fn detail(
        tx: &mut TenantTx,
        tenant: TenantId,
        pii: &KeyRing,
        student: Uuid,
        reveal_pii: bool,
    ) -> Result<StudentDetail, DomainError> {
        let r = sqlx::query(
            "SELECT st.id, st.admission_no, st.first_name, st.middle_name, st.last_name, st.sex, st.date_of_birth, st.status,
                    st.status_reason, st.national_id_enc, st.medical_notes_enc, st.photo_key IS NOT NULL AS has_photo,
                    l.name AS level, s.name AS stream
               FROM students st
               LEFT JOIN streams s ON s.tenant_id = st.tenant_id AND s.id = st.stream_id
               LEFT JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id
              WHERE st.id = $1",
        )
        .bind(student)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(DomainError::NotFound)?;
        let level: Option<String> = r.try_get("level")?;
        let stream: Option<String> = r.try_get("stream")?;
        let enrolments = sqlx::query(
            "SELECT y.year, l.name AS level, s.name AS stream, e.outcome
               FROM enrolments e
               JOIN academic_years y ON y.tenant_id = e.tenant_id AND y.id = e.academic_year_id
               JOIN streams s ON s.tenant_id = e.tenant_id AND s.id = e.stream_id
               JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id
              WHERE e.student_id = $1
              ORDER BY y.year DESC",
        )
        .bind(student)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|e| {
            Ok(EnrolmentView {
                year: e.try_get("year")?,
                class_name: class_name(&e.try_get::<String, _>("level")?, &e.try_get::<String, _>("stream")?),
                outcome: e.try_get("outcome")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let mut guardians = Vec::new();
        for g in sqlx::query(
            "SELECT g.id, g.full_name, g.phone_enc, g.email, sg.relationship, sg.receives_sms
               FROM student_guardians sg
               JOIN guardians g ON g.tenant_id = sg.tenant_id AND g.id = sg.guardian_id
              WHERE sg.student_id = $1
              ORDER BY sg.receives_sms DESC, g.full_name",
        )
        .bind(student)
        .fetch_all(&mut **tx)
        .await?
        {
            let sealed: Option<Vec<u8>> = g.try_get("phone_enc")?;
            let phone = match (sealed, reveal_pii) {
                (None, _) => Pii::NotSet,
                (Some(_), false) => Pii::Hidden,
                (Some(s), true) => Pii::Shown(reveal_phone(pii, tenant, &s)?.as_str().to_owned()),
            };
            guardians.push(GuardianView {
                id: g.try_get("id")?,
                full_name: g.try_get("full_name")?,
                relationship: g.try_get("relationship")?,
                phone,
                email: g.try_get("email")?,
                receives_sms: g.try_get("receives_sms")?,
            });
        }
        let sql = format!(
            "{LIST_SELECT}
              WHERE st.id IN (SELECT other.student_id FROM student_guardians mine
                                JOIN student_guardians other ON other.tenant_id = mine.tenant_id AND other.guardian_id = mine.guardian_id
                               WHERE mine.student_id = $1 AND other.student_id <> $1)
              {LIST_ORDER}"
        );
        let siblings = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(student)
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(list_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StudentDetail {
            id: r.try_get("id")?,
            admission_no: r.try_get("admission_no")?,
            first_name: r.try_get("first_name")?,
            middle_name: r.try_get("middle_name")?,
            last_name: r.try_get("last_name")?,
            sex: r.try_get("sex")?,
            date_of_birth: r.try_get("date_of_birth")?,
            class_name: level.zip(stream).map(|(l, s)| class_name(&l, &s)),
            status: r.try_get("status")?,
            status_reason: r.try_get("status_reason")?,
            national_id: reveal(pii, tenant, STUDENT_NATIONAL_ID, r.try_get("national_id_enc")?, reveal_pii)?,
            medical_notes: reveal(pii, tenant, STUDENT_MEDICAL_NOTES, r.try_get("medical_notes_enc")?, reveal_pii)?,
            enrolments,
            guardians,
            siblings,
            has_photo: r.try_get("has_photo")?,
        })
    }

    use crate::db::{end_savepoint, map_constraint, savepoint};

    async fn require_student(tx: &mut TenantTx, student: Uuid) -> Result<String, DomainError> {
        sqlx::query_scalar("SELECT admission_no FROM students WHERE id = $1 FOR UPDATE")
            .bind(student)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(DomainError::NotFound)
    }

    /// Adds a student with their first guardian (who receives SMS), enrolled in `stream`
    /// for the current academic year when a class is chosen. All or nothing.
    pub async fn add_student(
        tx: &mut TenantTx,
        tenant: TenantId,
        pii: &KeyRing,
        s: &NewStudent,
        stream: Option<Uuid>,
        guardian: &NewGuardian,
        by: ChangedBy<'_>,
    ) -> Result<Uuid, DomainError> {
        let year: Option<(Uuid, i32)> = match stream {
            None => None,
            Some(_) => Some(
                sqlx::query_as("SELECT id, year FROM academic_years WHERE is_current")
                    .fetch_optional(&mut **tx)
                    .await?
                    .ok_or_else(|| ValidationError::new("stream", "students-error-no-current-year"))?,
            ),
        };
        let national_id = s.national_id.as_deref().map(|v| pii.encrypt(v, &Aad::new(tenant.0, STUDENT_NATIONAL_ID))).transpose()?;
        let medical = s.medical_notes.as_deref().map(|v| pii.encrypt(v, &Aad::new(tenant.0, STUDENT_MEDICAL_NOTES))).transpose()?;
        savepoint(tx).await?;
        let result = insert_student(tx, tenant, pii, s, stream, year, guardian, national_id, medical, by).await;
        end_savepoint(tx, result).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_student(
        tx: &mut TenantTx,
        tenant: TenantId,
        pii: &KeyRing,
        s: &NewStudent,
        stream: Option<Uuid>,
        year: Option<(Uuid, i32)>,
        guardian: &NewGuardian,
        national_id: Option<Vec<u8>>,
        medical: Option<Vec<u8>>,
        by: ChangedBy<'_>,
    ) -> Result<Uuid, DomainError> {
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO students (tenant_id, admission_no, first_name, middle_name, last_name, sex, date_of_birth, stream_id,
                                   national_id_enc, medical_notes_enc)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(tenant.0)
        .bind(s.admission_no.as_str())
        .bind(&s.first_name)
        .bind(&s.middle_name)
        .bind(&s.last_name)
        .bind(s.sex)
        .bind(s.date_of_birth)
        .bind(stream)
        .bind(national_id)
        .bind(medical)
        .fetch_one(&mut **tx)
        .await
        .map_err(map_constraint)?;
        let details = serde_json::json!({ "admission_no": s.admission_no.as_str() });
        audit::append(tx, tenant, by.at, by.actor, crate::audit::actions::STUDENT_ADDED, &id.to_string(), details).await?;
        if let (Some(stream), Some((year_id, year))) = (stream, year) {
            sqlx::query("INSERT INTO enrolments (tenant_id, student_id, academic_year_id, stream_id) VALUES ($1, $2, $3, $4)")
                .bind(tenant.0)
                .bind(id)
                .bind(year_id)
                .bind(stream)
                .execute(&mut **tx)
                .await
                .map_err(map_constraint)?;
            let details = serde_json::json!({ "year": year, "stream": stream });
            audit::append(tx, tenant, by.at, by.actor, crate::audit::actions::STUDENT_ENROLLED, &id.to_string(), details).await?;
        }
        let first = NewGuardian { receives_sms: true, ..guardian.clone() };
        link(tx, tenant, pii, id, &first, by).await?;
        Ok(id)
    }

    /// Corrects a student's admission number, names, sex and date of birth, and — when
    /// `with_pii` (the editor holds `students.pii.read`) — the national ID and medical notes
    /// (empty clears them). Audited with the names of the fields that changed, never their
    /// protected values.
    pub async fn update_student(
        tx: &mut TenantTx,
        tenant: TenantId,
        pii: &KeyRing,
        student: Uuid,
        s: &NewStudent,
        with_pii: bool,
        by: ChangedBy<'_>,
    ) -> Result<(), DomainError> {
        require_student(tx, student).await?;
        let before = sqlx::query(
            "SELECT admission_no, first_name, middle_name, last_name, sex, date_of_birth, national_id_enc, medical_notes_enc
               FROM students WHERE id = $1",
        )
        .bind(student)
        .fetch_one(&mut **tx)
        .await?;
        let mut changed: Vec<&str> = Vec::new();
        if before.try_get::<String, _>("admission_no")? != s.admission_no.as_str() {
            changed.push("admission_no");
        }
        if before.try_get::<String, _>("first_name")? != s.first_name {
            changed.push("first_name");
        }
        if before.try_get::<Option<String>, _>("middle_name")? != s.middle_name {
            changed.push("middle_name");
        }
        if before.try_get::<String, _>("last_name")? != s.last_name {
            changed.push("last_name");
        }
        if before.try_get::<String, _>("sex")? != s.sex {
            changed.push("sex");
        }
        if before.try_get::<Option<chrono::NaiveDate>, _>("date_of_birth")? != s.date_of_birth {
            changed.push("date_of_birth");
        }
        let mut sealed: (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
        if with_pii {
            for (column, field, new, slot) in [
                ("national_id_enc", STUDENT_NATIONAL_ID, &s.national_id, &mut sealed.0),
                ("medical_notes_enc", STUDENT_MEDICAL_NOTES, &s.medical_notes, &mut sealed.1),
            ] {
                let aad = Aad::new(tenant.0, field);
                let old = before.try_get::<Option<Vec<u8>>, _>(column)?.map(|v| pii.decrypt(&v, &aad)).transpose()?;
                if old != *new {
                    changed.push(field);
                }
                *slot = new.as_deref().map(|v| pii.encrypt(v, &aad)).transpose()?;
            }
        }
        if changed.is_empty() {
            return Ok(());
        }
        savepoint(tx).await?;
        let sql = if with_pii {
            "UPDATE students SET admission_no = $2, first_name = $3, middle_name = $4, last_name = $5, sex = $6, date_of_birth = $7,
                    national_id_enc = $8, medical_notes_enc = $9 WHERE id = $1"
        } else {
            "UPDATE students SET admission_no = $2, first_name = $3, middle_name = $4, last_name = $5, sex = $6, date_of_birth = $7
              WHERE id = $1"
        };
        let mut query = sqlx::query(sql)
            .bind(student)
            .bind(s.admission_no.as_str())
            .bind(&s.first_name)
            .bind(&s.middle_name)
            .bind(&s.last_name)
            .bind(s.sex)
            .bind(s.date_of_birth);
        if with_pii {
            query = query.bind(sealed.0).bind(sealed.1);
        }
        let result = query.execute(&mut **tx).await.map(|_| ()).map_err(map_constraint);
        end_savepoint(tx, result).await?;
        let details = serde_json::json!({ "changed": changed, "admission_no": s.admission_no.as_str() });
        audit::append(tx, tenant, by.at, by.actor, crate::audit::actions::STUDENT_UPDATED, &student.to_string(), details).await?;
        Ok(())
    }

    /// What linking a guardian did.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Linked {
        pub guardian: Uuid,
        /// The phone number belonged to a guardian already in the school (a sibling's): that
        /// guardian was linked, no new one was created.
        pub existing: bool,
    }

    async fn link(
        tx: &mut TenantTx,
        tenant: TenantId,
        pii: &KeyRing,
        student: Uuid,
        g: &NewGuardian,
        by: ChangedBy<'_>,
    ) -> Result<Linked, DomainError> {
        let found = guardians_by_phone(tx, tenant, pii, &g.phone).await?;
        let (guardian, existing) = match found.first() {
            Some(id) => (*id, true),
            None => (insert_guardian(tx, tenant, pii, &g.name, &g.phone, g.email.as_ref()).await?, false),
        };
        let has_sms: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM student_guardians WHERE student_id = $1 AND receives_sms)")
            .bind(student)
            .fetch_one(&mut **tx)
            .await?;
        let receives_sms = g.receives_sms || !has_sms;
        sqlx::query(
            "INSERT INTO student_guardians (tenant_id, student_id, guardian_id, relationship, receives_sms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant.0)
        .bind(student)
        .bind(guardian)
        .bind(g.relationship)
        .bind(receives_sms)
        .execute(&mut **tx)
        .await
        .map_err(map_constraint)?;
        let details = serde_json::json!({
            "guardian": guardian, "relationship": g.relationship, "existing": existing, "receives_sms": receives_sms
        });
        audit::append(tx, tenant, by.at, by.actor, crate::audit::actions::GUARDIAN_LINKED, &student.to_string(), details).await?;
        Ok(Linked { guardian, existing })
    }

    /// Links a guardian to a student. A guardian whose phone number is already in the
    /// school (found through the blind index) is linked as they are: siblings share them.
    /// The first guardian of a student always receives SMS.
    pub async fn link_guardian(
        tx: &mut TenantTx,
        tenant: TenantId,
        pii: &KeyRing,
        student: Uuid,
        g: &NewGuardian,
        by: ChangedBy<'_>,
    ) -> Result<Linked, DomainError> {
        require_student(tx, student).await?;
        savepoint(tx).await?;
        let result = link(tx, tenant, pii, student, g, by).await;
        end_savepoint(tx, result).await
    }

    /// The SMS flags of a student's guardians other than `guardian`: (how many, how many
    /// receive SMS).
    async fn others(tx: &mut TenantTx, student: Uuid, guardian: Uuid) -> Result<(i64, i64), sqlx::Error> {
        sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE receives_sms) FROM student_guardians WHERE student_id = $1 AND guardian_id <> $2",
        )
        .bind(student)
        .bind(guardian)
        .fetch_one(&mut **tx)
        .await
    }

    async fn link_sms(tx: &mut TenantTx, student: Uuid, guardian: Uuid) -> Result<bool, DomainError> {
        sqlx::query_scalar("SELECT receives_sms FROM student_guardians WHERE student_id = $1 AND guardian_id = $2 FOR UPDATE")
            .bind(student)
            .bind(guardian)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(DomainError::NotFound)
    }

    /// Unlinks a guardian from a student (the guardian stays, for their other children).
    /// Refused when the guardian is the only one receiving SMS while others remain.
    pub async fn unlink_guardian(
        tx: &mut TenantTx,
        tenant: TenantId,
        student: Uuid,
        guardian: Uuid,
        by: ChangedBy<'_>,
    ) -> Result<(), DomainError> {
        require_student(tx, student).await?;
        let receives_sms = link_sms(tx, student, guardian).await?;
        let (others, others_sms) = others(tx, student, guardian).await?;
        if receives_sms && others > 0 && others_sms == 0 {
            return Err(ValidationError::new("guardian", "students-error-sms-needs-one").into());
        }
        sqlx::query("DELETE FROM student_guardians WHERE student_id = $1 AND guardian_id = $2")
            .bind(student)
            .bind(guardian)
            .execute(&mut **tx)
            .await?;
        let details = serde_json::json!({ "guardian": guardian });
        audit::append(tx, tenant, by.at, by.actor, crate::audit::actions::GUARDIAN_UNLINKED, &student.to_string(), details).await?;
        Ok(())
    }

    /// The key of the student's stored photo: `None` when there is no such student in this
    /// school, `Some(None)` when the student has no photo.
    pub async fn photo_key(tx: &mut TenantTx, student: Uuid) -> Result<Option<Option<String>>, sqlx::Error> {
        sqlx::query_scalar("SELECT photo_key FROM students WHERE id = $1").bind(student).fetch_optional(&mut **tx).await
    }

    /// Replaces the photo key (locking the row first, so two uploads cannot both keep
    /// their file), audited. `store` runs between the lock and the update: it saves the new
    /// file. Returns the old key to delete, `None` when there is no such student.
    pub async fn replace_photo<E>(
        tx: &mut TenantTx,
        tenant: TenantId,
        student: Uuid,
        key: &str,
        details: serde_json::Value,
        by: ChangedBy<'_>,
        store: impl std::future::Future<Output = Result<(), E>>,
    ) -> Result<Option<Option<String>>, PhotoError<E>> {
        let old: Option<Option<String>> =
            sqlx::query_scalar("SELECT photo_key FROM students WHERE id = $1 FOR UPDATE").bind(student).fetch_optional(&mut **tx).await?;
        let Some(old) = old else { return Ok(None) };
        store.await.map_err(PhotoError::Storage)?;
        sqlx::query("UPDATE students SET photo_key = $2 WHERE id = $1").bind(student).bind(key).execute(&mut **tx).await?;
        audit::append(tx, tenant, by.at, by.actor, crate::audit::actions::STUDENT_PHOTO_CHANGED, &student.to_string(), details).await?;
        Ok(Some(old))
    }

    /// Why a photo could not be replaced.
    #[derive(Debug, thiserror::Error)]
    pub enum PhotoError<E> {
        #[error(transparent)]
        Db(#[from] sqlx::Error),
        #[error("storing the photo failed")]
        Storage(E),
    }

    /// Turns SMS on or off for one of a student's guardians; at least one keeps receiving.
    pub async fn set_sms(
        tx: &mut TenantTx,
        tenant: TenantId,
        student: Uuid,
        guardian: Uuid,
        receives_sms: bool,
        by: ChangedBy<'_>,
    ) -> Result<(), DomainError> {
        require_student(tx, student).await?;
        let before = link_sms(tx, student, guardian).await?;
        if before == receives_sms {
            return Ok(());
        }
        if !receives_sms && others(tx, student, guardian).await?.1 == 0 {
            return Err(ValidationError::new("guardian", "students-error-sms-needs-one").into());
        }
        sqlx::query("UPDATE student_guardians SET receives_sms = $3 WHERE student_id = $1 AND guardian_id = $2")
            .bind(student)
            .bind(guardian)
            .bind(receives_sms)
            .execute(&mut **tx)
            .await?;
        let details = serde_json::json!({ "guardian": guardian, "receives_sms": receives_sms });
        audit::append(tx, tenant, by.at, by.actor, crate::audit::actions::GUARDIAN_SMS_CHANGED, &student.to_string(), details).await?;
        Ok(())
    }

    /// Changes a student's status (a reason is required unless active; see
    /// [`super::check_status`]).
    pub async fn change_status(
        tx: &mut TenantTx,
        tenant: TenantId,
        student: Uuid,
        status: StudentStatus,
        reason: Option<&str>,
        by: ChangedBy<'_>,
    ) -> Result<(), DomainError> {
        require_student(tx, student).await?;
        let from: String = sqlx::query_scalar("SELECT status FROM students WHERE id = $1").bind(student).fetch_one(&mut **tx).await?;
        sqlx::query("UPDATE students SET status = $2, status_reason = $3 WHERE id = $1")
            .bind(student)
            .bind(status.code())
            .bind(reason)
            .execute(&mut **tx)
            .await?;
        let details = serde_json::json!({ "from": from, "to": status.code(), "reason": reason });
        audit::append(tx, tenant, by.at, by.actor, crate::audit::actions::STUDENT_STATUS_CHANGED, &student.to_string(), details).await?;
        Ok(())
    }

    /// Enrols a student in `stream` for `year` (replacing that year's class if already
    /// enrolled). In the current year the stream also becomes the student's class.
    pub async fn enrol(
        tx: &mut TenantTx,
        tenant: TenantId,
        student: Uuid,
        year: Uuid,
        stream: Uuid,
        by: ChangedBy<'_>,
    ) -> Result<(), DomainError> {
        require_student(tx, student).await?;
        let (year_number, is_current): (i32, bool) = sqlx::query_as("SELECT year, is_current FROM academic_years WHERE id = $1")
            .bind(year)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| ValidationError::new("year", "error-not-found"))?;
        savepoint(tx).await?;
        let result = upsert_enrolment(tx, tenant, student, year, stream).await;
        end_savepoint(tx, result).await?;
        if is_current {
            sqlx::query("UPDATE students SET stream_id = $2 WHERE id = $1").bind(student).bind(stream).execute(&mut **tx).await?;
        }
        let details = serde_json::json!({ "year": year_number, "stream": stream });
        audit::append(tx, tenant, by.at, by.actor, crate::audit::actions::STUDENT_ENROLLED, &student.to_string(), details).await?;
        Ok(())
    }

    async fn upsert_enrolment(tx: &mut TenantTx, tenant: TenantId, student: Uuid, year: Uuid, stream: Uuid) -> Result<(), DomainError> {
        sqlx::query(
            "INSERT INTO enrolments (tenant_id, student_id, academic_year_id, stream_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, student_id, academic_year_id) DO UPDATE SET stream_id = EXCLUDED.stream_id",
        )
        .bind(tenant.0)
        .bind(student)
        .bind(year)
        .bind(stream)
        .execute(&mut **tx)
        .await
        .map_err(map_constraint)?;
        Ok(())
    }
}
