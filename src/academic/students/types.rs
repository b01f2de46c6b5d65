//! Student records as shown and as typed: statuses, views, form inputs, checked values.

use crate::academic::AdmissionNo;
use crate::identity::{Email, Phone};
use chrono::NaiveDate;
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
