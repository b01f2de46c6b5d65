//! Control numbers: the one payment reference a family quotes at any bank, agent or wallet.
//!
//! Twelve digits, digits only (bank slips, phone keypads, USSD): the school's 4-digit prefix,
//! the student's 6-digit serial inside it, and two check digits by ISO 7064 MOD 97-10 (the
//! scheme of IBAN). The whole number is ≡ 1 (mod 97), which catches every single mistyped
//! digit and every swap of two adjacent digits, so a slip keyed wrongly is refused at the
//! counter instead of paying another child's fees.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A checked control number (12 digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ControlNumber(String);

/// Why a typed control number was refused (an i18n message key via [`ControlError::key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlError {
    /// Not 12 digits (after removing spaces and dashes).
    Length,
    /// Something other than digits.
    NotDigits,
    /// The check digits do not match: a mistyped number.
    CheckDigits,
}

impl ControlError {
    pub fn key(self) -> &'static str {
        match self {
            Self::Length => "finance-error-control-length",
            Self::NotDigits => "finance-error-control-digits",
            Self::CheckDigits => "finance-error-control-check",
        }
    }
}

/// `digits` mod 97, digit by digit (no overflow for any length).
fn mod97(digits: &str) -> u32 {
    digits.bytes().fold(0u32, |acc, b| (acc * 10 + u32::from(b - b'0')) % 97)
}

impl ControlNumber {
    /// The number for `prefix` (4 digits, not starting with 0) and `serial` (1–999,999).
    /// `None` outside those ranges.
    pub fn issue(prefix: &str, serial: u32) -> Option<Self> {
        let prefix_ok = prefix.len() == 4 && prefix.bytes().all(|b| b.is_ascii_digit()) && !prefix.starts_with('0');
        if !prefix_ok || serial == 0 || serial > 999_999 {
            return None;
        }
        let body = format!("{prefix}{serial:06}");
        let check = 98 - mod97(&format!("{body}00"));
        Some(Self(format!("{body}{check:02}")))
    }

    /// Reads what someone typed: spaces and dashes are ignored ("1001 0000 4217").
    pub fn parse(input: &str) -> Result<Self, ControlError> {
        let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ControlError::NotDigits);
        }
        if digits.len() != 12 {
            return Err(ControlError::Length);
        }
        if mod97(&digits) != 1 {
            return Err(ControlError::CheckDigits);
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The school's prefix (first four digits).
    pub fn prefix(&self) -> &str {
        self.0.get(..4).unwrap_or("")
    }

    /// Grouped for reading aloud and printing: "1001 0000 4217".
    pub fn grouped(&self) -> String {
        let s = &self.0;
        format!("{} {} {}", s.get(..4).unwrap_or(""), s.get(4..8).unwrap_or(""), s.get(8..).unwrap_or(""))
    }
}

impl fmt::Display for ControlNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_numbers_parse_back_and_group() {
        let n = ControlNumber::issue("1001", 42).unwrap();
        assert_eq!(n.as_str().len(), 12);
        assert!(n.as_str().starts_with("1001000042"));
        assert_eq!(ControlNumber::parse(n.as_str()).unwrap(), n);
        assert_eq!(ControlNumber::parse(&n.grouped()).unwrap(), n);
        assert_eq!(n.prefix(), "1001");
        assert!(ControlNumber::issue("0999", 1).is_none());
        assert!(ControlNumber::issue("1001", 0).is_none());
        assert!(ControlNumber::issue("1001", 1_000_000).is_none());
        assert_eq!(ControlNumber::parse("1001-0000-42"), Err(ControlError::Length));
        assert_eq!(ControlNumber::parse("1001000042ab"), Err(ControlError::NotDigits));
    }

    /// The issue's test: every single mistyped digit, at every position, and every swap of
    /// two adjacent (different) digits is refused, for numbers across the whole range.
    #[test]
    fn every_single_digit_error_and_adjacent_swap_is_caught() {
        let mut checked = 0u32;
        for (prefix, serial) in [("1001", 1), ("1001", 42), ("4821", 999_999), ("9999", 123_456), ("1234", 500_000), ("7070", 70_707)]
            .into_iter()
            .chain((1..=2000).map(|s| ("5555", s * 487)))
        {
            let good = ControlNumber::issue(prefix, serial).unwrap();
            let digits: Vec<u8> = good.as_str().bytes().collect();
            for pos in 0..digits.len() {
                for d in b'0'..=b'9' {
                    if d == digits[pos] {
                        continue;
                    }
                    let mut typo = digits.clone();
                    typo[pos] = d;
                    let typo = String::from_utf8(typo).unwrap();
                    assert!(ControlNumber::parse(&typo).is_err(), "{typo} (from {good}) accepted");
                    checked += 1;
                }
                if pos + 1 < digits.len() && digits[pos] != digits[pos + 1] {
                    let mut swapped = digits.clone();
                    swapped.swap(pos, pos + 1);
                    let swapped = String::from_utf8(swapped).unwrap();
                    assert_eq!(ControlNumber::parse(&swapped), Err(ControlError::CheckDigits), "{swapped} (from {good}) accepted");
                    checked += 1;
                }
            }
        }
        assert!(checked > 200_000, "{checked}");
    }
}
