//! Guardians: how they are related to a student, and checking a guardian form. Sharing a
//! guardian between siblings (by phone number) is in [`super::db`].

use super::checks::{clean_name, FORMULA_STARTS};
use super::types::*;
use crate::identity::{Email, Phone};
use crate::ValidationError;
use serde::{Deserialize, Serialize};

/// How a guardian is related to the student.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Relationship {
    Mother,
    Father,
    #[default]
    Guardian,
}

impl Relationship {
    /// The database code: `mother`, `father` or `guardian`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Mother => "mother",
            Self::Father => "father",
            Self::Guardian => "guardian",
        }
    }

    /// `mother`/`mama`, `father`/`baba`, `guardian`/`mlezi`, any case (forms and imports).
    pub fn parse(input: &str) -> Option<Relationship> {
        match input.trim().to_lowercase().as_str() {
            "mother" | "mama" => Some(Self::Mother),
            "father" | "baba" => Some(Self::Father),
            "guardian" | "mlezi" => Some(Self::Guardian),
            _ => None,
        }
    }

    /// The i18n key of its label.
    pub fn label_key(self) -> &'static str {
        match self {
            Self::Mother => "students-relationship-mother",
            Self::Father => "students-relationship-father",
            Self::Guardian => "students-relationship-guardian",
        }
    }
}

/// The i18n key of a stored relationship code (anything unknown reads as guardian).
pub fn relationship_label_key(code: &str) -> &'static str {
    Relationship::parse(code).unwrap_or_default().label_key()
}

/// Checks a guardian form. Fields are named `guardian_name`, `guardian_relationship`,
/// `guardian_phone`, `guardian_email`.
pub fn check_guardian(input: &GuardianInput<'_>) -> Result<NewGuardian, Vec<ValidationError>> {
    let mut errors = Vec::new();
    let name = clean_name(input.name).map_err(|m| errors.push(ValidationError::new("guardian_name", m))).ok();
    let relationship =
        Relationship::parse(if input.relationship.trim().is_empty() { "guardian" } else { input.relationship }).map(Relationship::code);
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

#[cfg(test)]
mod tests {
    use crate::academic::students::*;

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
}
