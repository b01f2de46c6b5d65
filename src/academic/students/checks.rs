//! Checking what a person typed into a student form. Pure: the same checks run in the
//! browser, the server function and the import.

use super::types::*;
use crate::academic::AdmissionNo;
use crate::ValidationError;
use chrono::{Datelike, NaiveDate};

/// Characters that make a spreadsheet read a cell as a formula (names are exported too).
pub(crate) const FORMULA_STARTS: [char; 4] = ['=', '+', '-', '@'];

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

#[cfg(test)]
mod tests {
    use crate::academic::students::*;

    use chrono::NaiveDate;
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
    fn leaving_needs_a_reason() {
        assert_eq!(check_status("active", ""), Ok((StudentStatus::Active, None)));
        assert!(check_status("left", "  ").is_err());
        assert_eq!(
            check_status("transferred", " to  Moshi Secondary "),
            Ok((StudentStatus::Transferred, Some("to Moshi Secondary".into())))
        );
        assert!(check_status("expelled", "x").is_err());
    }
}
