//! Money: integer minor units with a currency, never floating point (not even in the UI).

use crate::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    Tzs,
}

impl Currency {
    pub fn code(self) -> &'static str {
        match self {
            Self::Tzs => "TZS",
        }
    }
    /// TZS has cents in ISO 4217 but nobody uses them; amounts are still kept in minor units
    /// (1 TZS = 100) so that other currencies fit later without a migration.
    pub fn minor_per_major(self) -> i64 {
        100
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Parses what a bursar types: "150,000", "150000.50", "TZS 1,200".
    pub fn parse(input: &str, currency: Currency) -> Result<Self, ValidationError> {
        let bad = || ValidationError::new("amount", "error-amount-invalid");
        let s = input.trim();
        let s = s.strip_prefix(currency.code()).unwrap_or(s).trim().replace([',', ' '], "");
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s.as_str(), ""),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().map_err(|_| bad())? };
        let minor = whole.checked_mul(currency.minor_per_major()).and_then(|m| m.checked_add(frac)).ok_or_else(bad)?;
        Ok(Self { minor, currency })
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        (self.currency == other.currency).then_some(())?;
        Some(Money { minor: self.minor.checked_add(other.minor)?, currency: self.currency })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per = self.currency.minor_per_major();
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        let whole = abs / per as u64;
        let frac = abs % per as u64;
        let digits = whole.to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        if frac == 0 {
            write!(f, "{} {sign}{grouped}", self.currency.code())
        } else {
            write!(f, "{} {sign}{grouped}.{frac:02}", self.currency.code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_shillings() {
        let m = Money::parse("150,000", Currency::Tzs).unwrap();
        assert_eq!(m.minor, 15_000_000);
        assert_eq!(m.to_string(), "TZS 150,000");
        assert_eq!(Money::parse("TZS 1,200.5", Currency::Tzs).unwrap().minor, 120_050);
        assert!(Money::parse("1.234", Currency::Tzs).is_err());
        assert!(Money::parse("-5", Currency::Tzs).is_err());
        assert!(Money::parse("abc", Currency::Tzs).is_err());
        assert!(Money::parse("99999999999999999999", Currency::Tzs).is_err());
    }
}
