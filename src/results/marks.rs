//! Marks as a teacher types them: a score, `ABS` (absent) or `EX` (exempt).
//!
//! Scores are kept in hundredths of a mark ([`Hundredths`]), so "67.5" is exactly 6750 and
//! no floating point ever decides a grade. `ABS` and `EX` are their own values, never zero:
//! a student who missed a test has no score, not a score of nought.

use crate::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The form field name mark errors carry.
pub const MARK_FIELD: &str = "mark";

/// A fixed-point number with two decimals: 6750 is 67.50. Used for marks, averages and
/// means. Never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hundredths(pub u32);

impl Hundredths {
    pub const fn from_whole(whole: u32) -> Self {
        Self(whole * 100)
    }

    pub const fn get(self) -> u32 {
        self.0
    }

    /// Rounded half up to a whole number (67.50 → 68, 67.49 → 67).
    pub const fn round_half_up(self) -> u32 {
        (self.0 + 50) / 100
    }

    /// `numerator / denominator` in hundredths, rounded half up; `None` when the
    /// denominator is zero or the result does not fit.
    pub fn ratio_half_up(numerator: u64, denominator: u64) -> Option<Self> {
        if denominator == 0 {
            return None;
        }
        let n = u128::from(numerator) * 100;
        let d = u128::from(denominator);
        let q = (2 * n + d) / (2 * d);
        u32::try_from(q).ok().map(Self)
    }

    /// The mean of values given as their `sum` over `count`, in the same unit, rounded half
    /// up; `None` for no values.
    pub fn mean_half_up(sum: u64, count: u64) -> Option<Self> {
        if count == 0 {
            return None;
        }
        let q = (2 * u128::from(sum) + u128::from(count)) / (2 * u128::from(count));
        u32::try_from(q).ok().map(Self)
    }

    /// As a mark is written: "67", "67.5", "67.25" (no trailing zeros).
    pub fn to_mark_string(self) -> String {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        match frac {
            0 => whole.to_string(),
            f if f % 10 == 0 => format!("{whole}.{}", f / 10),
            f => format!("{whole}.{f:02}"),
        }
    }
}

/// Always two decimals: "67.50", as averages and means are shown.
impl fmt::Display for Hundredths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// One entry of a mark sheet for one student, subject and assessment. A cell nobody filled
/// in is not a `Mark` at all (`Option<Mark>` is `None`): "not entered" is yet another thing
/// than absent or exempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// Marks obtained, in hundredths (0 ..= the assessment's maximum × 100).
    Score(Hundredths),
    /// `ABS`: the student did not sit the paper.
    Absent,
    /// `EX`: the student is excused from it (and it does not count against them).
    Exempt,
}

impl Mark {
    /// Parses what a teacher types for an assessment out of `max` whole marks:
    /// `67`, `67.5`, `67,5` (decimal comma), ` 45 `, `abs`/`ABS`/`absent`, `EX`/`exempt`.
    ///
    /// At most two decimals. Errors (field `mark`): `error-mark-required` (blank),
    /// `error-mark-invalid` (not a number, `ABS` or `EX`), `error-mark-decimals` (more than two
    /// decimals), `error-mark-out-of-range` (negative or above `max`).
    pub fn parse(input: &str, max: u16) -> Result<Self, ValidationError> {
        let err = |key: &str| ValidationError::new(MARK_FIELD, key);
        let s = input.trim();
        if s.is_empty() {
            return Err(err("error-mark-required"));
        }
        match s.to_ascii_lowercase().as_str() {
            "abs" | "absent" => return Ok(Self::Absent),
            "ex" | "exempt" | "exempted" => return Ok(Self::Exempt),
            _ => {}
        }
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, s),
        };
        let (whole, frac) = match digits.split_once(['.', ',']) {
            Some((w, f)) => (w, Some(f)),
            None => (digits, None),
        };
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || frac.is_some_and(|f| !all_digits(f)) {
            return Err(err("error-mark-invalid"));
        }
        let frac = frac.unwrap_or("");
        if frac.len() > 2 {
            return Err(err("error-mark-decimals"));
        }
        if negative {
            return Err(err("error-mark-out-of-range"));
        }
        // More than 7 digits is out of range for any assessment (max is at most 1,000).
        if whole.len() > 7 {
            return Err(err("error-mark-out-of-range"));
        }
        let whole: u32 = whole.parse().map_err(|_| err("error-mark-invalid"))?;
        let frac: u32 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().map_err(|_| err("error-mark-invalid"))? };
        let hundredths = whole * 100 + frac;
        if hundredths > u32::from(max) * 100 {
            return Err(err("error-mark-out-of-range"));
        }
        Ok(Self::Score(Hundredths(hundredths)))
    }

    /// As it goes back into a sheet: `67.5`, `ABS`, `EX`.
    pub fn to_sheet_string(self) -> String {
        match self {
            Self::Score(h) => h.to_mark_string(),
            Self::Absent => "ABS".to_owned(),
            Self::Exempt => "EX".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(h: u32) -> Result<Mark, ValidationError> {
        Ok(Mark::Score(Hundredths(h)))
    }

    fn key(r: Result<Mark, ValidationError>) -> String {
        match r {
            Err(e) => {
                assert_eq!(e.field, "mark");
                e.message
            }
            Ok(m) => format!("ok {m:?}"),
        }
    }

    #[test]
    fn parses_what_teachers_type() {
        assert_eq!(Mark::parse("67", 100), score(6700));
        assert_eq!(Mark::parse("67.5", 100), score(6750));
        assert_eq!(Mark::parse("67,5", 100), score(6750));
        assert_eq!(Mark::parse("67.25", 100), score(6725));
        assert_eq!(Mark::parse(" 45 ", 100), score(4500));
        assert_eq!(Mark::parse("0", 100), score(0));
        assert_eq!(Mark::parse("100", 100), score(10000));
        assert_eq!(Mark::parse("50", 50), score(5000));
        assert_eq!(Mark::parse("abs", 100), Ok(Mark::Absent));
        assert_eq!(Mark::parse("ABS", 100), Ok(Mark::Absent));
        assert_eq!(Mark::parse(" Absent ", 100), Ok(Mark::Absent));
        assert_eq!(Mark::parse("EX", 100), Ok(Mark::Exempt));
        assert_eq!(Mark::parse("ex", 100), Ok(Mark::Exempt));
        // Absent, exempt and zero are three different things.
        assert_ne!(Mark::parse("ABS", 100), Mark::parse("0", 100));
        assert_ne!(Mark::parse("ABS", 100), Mark::parse("EX", 100));
    }

    #[test]
    fn refuses_with_a_clear_key() {
        assert_eq!(key(Mark::parse("", 100)), "error-mark-required");
        assert_eq!(key(Mark::parse("   ", 100)), "error-mark-required");
        assert_eq!(key(Mark::parse("101", 100)), "error-mark-out-of-range");
        assert_eq!(key(Mark::parse("100.01", 100)), "error-mark-out-of-range");
        assert_eq!(key(Mark::parse("51", 50)), "error-mark-out-of-range");
        assert_eq!(key(Mark::parse("-5", 100)), "error-mark-out-of-range");
        assert_eq!(key(Mark::parse("99999999999", 100)), "error-mark-out-of-range");
        assert_eq!(key(Mark::parse("67.333", 100)), "error-mark-decimals");
        assert_eq!(key(Mark::parse("sixty", 100)), "error-mark-invalid");
        assert_eq!(key(Mark::parse("6 7", 100)), "error-mark-invalid");
        assert_eq!(key(Mark::parse("67.", 100)), "error-mark-invalid");
        assert_eq!(key(Mark::parse(".5", 100)), "error-mark-invalid");
        assert_eq!(key(Mark::parse("1,000", 1000)), "error-mark-decimals");
        assert_eq!(key(Mark::parse("AB", 100)), "error-mark-invalid");
        assert_eq!(key(Mark::parse("+5", 100)), "error-mark-invalid");
    }

    #[test]
    fn writes_marks_and_fixed_point_back() {
        assert_eq!(Mark::Score(Hundredths(6750)).to_sheet_string(), "67.5");
        assert_eq!(Mark::Score(Hundredths(6725)).to_sheet_string(), "67.25");
        assert_eq!(Mark::Score(Hundredths(6705)).to_sheet_string(), "67.05");
        assert_eq!(Mark::Score(Hundredths(6700)).to_sheet_string(), "67");
        assert_eq!(Mark::Absent.to_sheet_string(), "ABS");
        assert_eq!(Mark::Exempt.to_sheet_string(), "EX");
        assert_eq!(Hundredths(6750).to_string(), "67.50");
        assert_eq!(Hundredths(5).to_string(), "0.05");
        assert_eq!(Hundredths(7449).round_half_up(), 74);
        assert_eq!(Hundredths(7450).round_half_up(), 75);
        assert_eq!(Hundredths::ratio_half_up(200, 3), Some(Hundredths(6667)));
        assert_eq!(Hundredths::ratio_half_up(1, 8), Some(Hundredths(13))); // 0.125 → 0.13
        assert_eq!(Hundredths::ratio_half_up(1, 0), None);
        assert_eq!(Hundredths::mean_half_up(6667 + 6666, 2), Some(Hundredths(6667))); // 66.665 → 66.67
        assert_eq!(Hundredths::mean_half_up(0, 0), None);
    }
}
