//! Contact points typed by people: email addresses and Tanzanian phone numbers.

use crate::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A lower-cased email address with a plausible shape. (Deliverability is proven by the
/// invitation link, not by a regex.)
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let email = input.trim().to_lowercase();
        if email.is_empty() {
            return Err(ValidationError::new("email", "error-email-required"));
        }
        let valid = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && local.len() <= 64
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !domain.contains("..")
                }
                None => false,
            };
        if !valid {
            return Err(ValidationError::new("email", "error-email-invalid"));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number in E.164. Tanzanian numbers are accepted the way people write them
/// (`0712 345 678`, `255712345678`, `+255 712 345 678`) and stored as `+255712345678`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ValidationError::new("phone", "error-phone-required"));
        }
        let plus = trimmed.starts_with('+');
        let digits: String = trimmed.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.' | '+')).collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::new("phone", "error-phone-invalid"));
        }
        let national = if let Some(rest) = digits.strip_prefix("255") {
            rest.to_owned()
        } else if plus {
            // Another country's number in international form: keep it if E.164-shaped.
            if (8..=15).contains(&digits.len()) && !digits.starts_with('0') {
                return Ok(Self(format!("+{digits}")));
            }
            return Err(ValidationError::new("phone", "error-phone-invalid"));
        } else if let Some(rest) = digits.strip_prefix('0') {
            rest.to_owned()
        } else {
            digits
        };
        // Tanzanian mobile numbers: 9 national digits starting 6 or 7.
        if national.len() == 9 && matches!(national.as_bytes().first(), Some(b'6' | b'7')) {
            Ok(Self(format!("+255{national}")))
        } else {
            Err(ValidationError::new("phone", "error-phone-invalid"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(Email::parse(" Admin@Kilimanjaro-Hills.TEST ").map(|e| e.0), Ok("admin@kilimanjaro-hills.test".into()));
        for bad in ["", "no-at", "a@b", "a@@b.c", "a b@c.d", "@c.d", "a@.c", "a@c.", "a@c..d"] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn tanzanian_phones_normalise_to_e164() {
        for ok in ["0712345678", "0712 345 678", "255712345678", "+255 712 345 678", "0687-123-456", "712345678"] {
            let p = Phone::parse(ok);
            assert!(p.is_ok(), "{ok}");
        }
        assert_eq!(Phone::parse("0712345678").map(|p| p.0), Ok("+255712345678".into()));
        assert_eq!(Phone::parse("0687123456").map(|p| p.0), Ok("+255687123456".into()));
        assert_eq!(Phone::parse("+254712345678").map(|p| p.0), Ok("+254712345678".into()));
        for bad in ["", "0512345678", "071234567", "07123456789", "07123x5678", "+0123"] {
            assert!(Phone::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
