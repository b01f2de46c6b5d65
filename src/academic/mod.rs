//! Academic structure and people: years, levels (Standard I–VII, Form 1–6), streams,
//! subjects, teacher allocations, students and guardians.

use crate::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

pub mod calendar;
pub mod classes;
#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod import_store;
pub mod promotion;
#[cfg(feature = "ssr")]
pub mod setup;
#[cfg(feature = "ssr")]
pub mod store;
pub mod students;
pub mod subjects;

/// Admission number as the school writes it, e.g. `KHSS/2026/0001`. Unique per school.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AdmissionNo(String);

impl AdmissionNo {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let s = input.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err(ValidationError::new("admission_no", "error-admission-required"));
        }
        let ok = s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.'));
        if !ok {
            return Err(ValidationError::new("admission_no", "error-admission-invalid"));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AdmissionNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Band {
    Primary,
    OLevel,
    ALevel,
}

impl Band {
    pub fn code(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::OLevel => "o_level",
            Self::ALevel => "a_level",
        }
    }
}

/// The Tanzanian name of a level: Standard I–VII in primary, Form 1–6 in secondary.
pub fn level_name(band: Band, ordinal: i32) -> String {
    const ROMAN: [&str; 7] = ["I", "II", "III", "IV", "V", "VI", "VII"];
    match band {
        Band::Primary => {
            let roman = usize::try_from(ordinal - 1).ok().and_then(|i| ROMAN.get(i)).copied().unwrap_or("?");
            format!("Standard {roman}")
        }
        Band::OLevel | Band::ALevel => format!("Form {ordinal}"),
    }
}

/// A stream shown as people say it: "Form 2A", "Standard III B".
pub fn class_name(level: &str, stream: &str) -> String {
    if level.starts_with("Form ") && stream.len() == 1 {
        format!("{level}{stream}")
    } else {
        format!("{level} {stream}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSummary {
    pub id: Uuid,
    pub class_name: String,
    pub students: i64,
    pub class_teacher: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchoolOverview {
    pub students: i64,
    pub staff: i64,
    pub guardians: i64,
    pub streams: Vec<StreamSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeachingAssignment {
    pub class_name: String,
    pub subject_code: String,
    pub subject_en: String,
    pub subject_sw: String,
    pub students: i64,
    pub is_class_teacher: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildSummary {
    pub student_id: Uuid,
    pub full_name: String,
    pub admission_no: String,
    pub class_name: Option<String>,
    pub status: String,
}

/// What the import preview shows (see `import_store`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPreview {
    pub upload_id: Uuid,
    pub file_name: String,
    /// The file could not be read at all (an i18n key), e.g. a missing column.
    pub file_error: Option<String>,
    /// Argument of `file_error` (column names, the row limit).
    pub file_error_detail: String,
    pub rows_ok: usize,
    /// Every problem of every row, in file order.
    pub errors: Vec<ImportRowError>,
    /// Set once committed: how many students were imported.
    pub imported: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRowError {
    /// Spreadsheet line (the header is line 1).
    pub line: usize,
    pub field: String,
    /// An i18n key.
    pub message: String,
    /// What was typed.
    pub value: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_numbers() {
        assert_eq!(AdmissionNo::parse(" khss/2026/0001 ").map(|a| a.0), Ok("KHSS/2026/0001".into()));
        assert!(AdmissionNo::parse("").is_err());
        assert!(AdmissionNo::parse("KHSS 2026").is_err());
    }

    #[test]
    fn tanzanian_level_and_class_names() {
        assert_eq!(level_name(Band::Primary, 3), "Standard III");
        assert_eq!(level_name(Band::OLevel, 2), "Form 2");
        assert_eq!(class_name("Form 2", "A"), "Form 2A");
        assert_eq!(class_name("Standard III", "A"), "Standard III A");
    }
}
