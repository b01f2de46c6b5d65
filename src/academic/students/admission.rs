//! Admission numbers: the school's pattern (`{PREFIX}/{YYYY}/{NNNN}`), the next free
//! number, and the one rule for a prefix.

use super::types::DEFAULT_ADMISSION_FORMAT;
use crate::academic::AdmissionNo;
use crate::ValidationError;

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

/// The one rule for a school's admission prefix: 1–10 letters or digits, kept upper-case.
pub fn check_admission_prefix(prefix: &str) -> Result<String, ValidationError> {
    let prefix = prefix.trim().to_ascii_uppercase();
    if !prefix.is_empty() && prefix.len() <= 10 && prefix.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(prefix)
    } else {
        Err(ValidationError::new("admission_prefix", "students-error-prefix-invalid"))
    }
}

/// Checks a school's admission-number prefix (1–10 letters or digits) and pattern: only
/// `{PREFIX}`, `{YYYY}` and one serial `{N…}` (1–8 `N`s) as placeholders, and a result that
/// is a valid admission number. Returns them cleaned (prefix upper-cased).
pub fn check_admission_format(prefix: &str, format: &str) -> Result<(String, String), Vec<ValidationError>> {
    let mut errors = Vec::new();
    let checked = check_admission_prefix(prefix);
    let prefix_ok = checked.is_ok();
    let prefix = checked.unwrap_or_else(|e| {
        errors.push(e);
        String::new()
    });
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

#[cfg(test)]
mod tests {
    use crate::academic::students::*;

    use crate::ValidationError;

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
}
