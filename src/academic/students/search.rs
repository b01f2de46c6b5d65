//! Reading a search box (names, admission number, guardian phone) and paging.

use super::types::MAX_SEARCH_WORDS;
use crate::identity::Phone;

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
    use crate::academic::students::*;
    use crate::identity::Phone;

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
