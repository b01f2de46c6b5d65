//! Reporting: report cards as PDF, made in bulk by the worker (issue 8).
//!
//! A **batch** is one request to print the cards of a class (level) or one stream for a term
//! whose results are published. The worker renders every student's card (the `documents`
//! crate, typst, in the server: this crate stays free of it), stores each PDF through the
//! storage layer and records it with one commit per card: the admin's progress bar reads
//! those counts, a cancelled batch stops before its next card, and a restarted worker skips
//! the students that already have a card in the batch. When the last card is done the batch
//! gets one ZIP of them all.
//!
//! Each card carries a **verification code** (`ABCDE-FGHJK`, 50 random bits in an alphabet
//! without look-alikes: guessing one of a million cards takes about 10^9 tries) that `/verify/<code>` resolves to the school, the student, the class,
//! the term, the date and the PDF's SHA-256, and nothing else: what the paper already says.
//!
//! Pure here (the codes, statuses and views); the queries are in `db` (`ssr`).

#[cfg(feature = "ssr")]
pub mod db;
pub mod remarks;

use crate::results::published::PublishedResult;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The code's alphabet: capitals and digits without I, O, 0 and 1.
const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A card's verification code, `ABCDE-FGHJK`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VerifyCode(String);

impl VerifyCode {
    /// The code of 50 random bits (of 7 bytes, the rest unused), 10 letters of 5 bits each.
    pub fn from_random(bytes: [u8; 7]) -> Self {
        let bits = bytes.iter().fold(0_u64, |acc, b| (acc << 8) | u64::from(*b)) >> 6;
        let letters: String = (0..10)
            .map(|i| {
                let index = (bits >> (45 - 5 * i)) & 0x1f;
                CODE_ALPHABET.get(usize::try_from(index).unwrap_or(0)).copied().map_or('A', char::from)
            })
            .collect();
        Self(format!("{}-{}", &letters[..5], &letters[5..]))
    }

    /// A code as a person typed it: any case, with or without the dash and spaces. A letter
    /// the alphabet does not have (I, O, 0, 1) makes it no code: refused, not guessed.
    pub fn parse(input: &str) -> Option<Self> {
        let letters: String = input.chars().filter(|c| !matches!(c, '-' | ' ')).map(|c| c.to_ascii_uppercase()).collect();
        if letters.len() != 10 || !letters.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
            return None;
        }
        Some(Self(format!("{}-{}", &letters[..5], &letters[5..])))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for VerifyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BatchStatus {
    Queued,
    Running,
    Done,
    Cancelled,
    Failed,
}

impl BatchStatus {
    pub const ALL: [BatchStatus; 5] = [Self::Queued, Self::Running, Self::Done, Self::Cancelled, Self::Failed];

    pub fn code(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// i18n key of the status's name.
    pub fn label_key(self) -> &'static str {
        match self {
            Self::Queued => "cards-status-queued",
            Self::Running => "cards-status-running",
            Self::Done => "cards-status-done",
            Self::Cancelled => "cards-status-cancelled",
            Self::Failed => "cards-status-failed",
        }
    }

    /// Still working: progress moves and it may be cancelled.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }
}

/// A student whose card could not be made, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardFailure {
    pub student: String,
    pub reason: String,
}

/// A batch as the admin sees it (the list, and the progress bar's events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchView {
    pub id: Uuid,
    pub term_label: String,
    /// "Form 2", or "Form 2 A" for one stream.
    pub class_name: String,
    pub status: BatchStatus,
    pub total: u32,
    pub done: u32,
    pub failed: u32,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The ZIP of every card is ready.
    pub bundle_ready: bool,
    pub failures: Vec<CardFailure>,
}

impl BatchView {
    /// Percent done (cards made or failed, of the total), 0–100.
    pub fn percent(&self) -> u32 {
        if self.total == 0 {
            return if self.status.is_open() { 0 } else { 100 };
        }
        ((self.done + self.failed).min(self.total) * 100) / self.total
    }
}

/// A class (level) of the term whose results are published: cards can be made for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintableClass {
    pub level_id: Uuid,
    pub level_name: String,
    /// The class's streams: (id, "Form 2 A").
    pub streams: Vec<(Uuid, String)>,
    pub students: u32,
}

/// The admin's report-card page: the current term's printable classes and its batches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardsOverview {
    pub term_id: Option<Uuid>,
    pub term_label: String,
    /// What the cards print under the school's name (the form's current values).
    pub motto: String,
    pub address: String,
    /// The school has a logo (shown on the page, printed on the cards).
    pub has_logo: bool,
    pub classes: Vec<PrintableClass>,
    pub batches: Vec<BatchView>,
}

/// A student's newest card of a term (the portal's download link).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardLink {
    pub card_id: Uuid,
    pub term_id: Uuid,
    pub term_label: String,
    pub generated_at: DateTime<Utc>,
}

/// What `/verify/<code>` shows: only what the card prints, and the PDF's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    pub school: String,
    pub student: String,
    pub class_name: String,
    pub term_label: String,
    pub generated_at: DateTime<Utc>,
    pub pdf_sha256: String,
}

/// The top of every card of a school.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchoolHeading {
    pub name: String,
    pub motto: Option<String>,
    pub address: Option<String>,
    /// The logo's storage key (the worker reads the file once per batch).
    pub logo_key: Option<String>,
}

/// Everything one card prints, as the worker reads it (the server turns it into the
/// `documents` crate's card, with the words in the school's language).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardData {
    pub batch: Uuid,
    pub student_id: Uuid,
    pub student_name: String,
    pub admission_no: String,
    /// "Form 2" (the published result's `class_name` is the stream: "Form 2 A").
    pub level_name: String,
    pub school: SchoolHeading,
    /// The school's language: the card is printed in it.
    pub language: crate::Language,
    pub term_label: String,
    pub year: i32,
    pub closes_on: Option<NaiveDate>,
    pub next_opens_on: Option<NaiveDate>,
    /// The class's average term score per subject code (every stream of the class).
    pub class_averages: BTreeMap<String, u8>,
    pub result: PublishedResult,
    /// Attendance, conduct and the comments (what is stored; parts may be missing).
    pub remarks: remarks::CardRemarks,
    /// What the student owes in TZS cents (negative: in credit) when the batch started; `None`
    /// when the school's plan has no finance (the card prints where to ask instead).
    pub fee_balance_minor: Option<i64>,
}

/// Each subject's average term score over the results that have one, rounded half up.
pub fn class_averages<'a>(results: impl Iterator<Item = &'a PublishedResult>) -> BTreeMap<String, u8> {
    let mut sums: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for r in results {
        for s in &r.subjects {
            if let Some(score) = s.score {
                let e = sums.entry(s.code.clone()).or_insert((0, 0));
                e.0 += u32::from(score);
                e.1 += 1;
            }
        }
    }
    sums.into_iter()
        .filter(|(_, (_, n))| *n > 0)
        .map(|(code, (sum, n))| (code, u8::try_from((2 * sum + n) / (2 * n)).unwrap_or(100)))
        .collect()
}

/// A file name people can keep: letters, digits and dashes of `parts`, joined.
pub fn file_name(parts: &[&str], ext: &str) -> String {
    let words: Vec<String> = parts
        .iter()
        .map(|p| {
            let kept: String = p.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
            kept.split('-').filter(|w| !w.is_empty()).collect::<Vec<_>>().join("-")
        })
        .filter(|w| !w.is_empty())
        .collect();
    let base = if words.is_empty() { "report-card".to_owned() } else { words.join("_") };
    format!("{base}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_key_is_translated() {
        let used = crate::i18n_keys::used(
            &[include_str!("mod.rs"), include_str!("db.rs"), include_str!("remarks.rs")],
            &["cards-", "error-remarks-"],
        );
        assert!(used.len() >= 10 && used.contains("cards-error-batch-open") && used.contains("cards-status-done"), "{used:?}");
        assert!(used.contains("error-remarks-days-open-first") && used.contains("error-remarks-comment-long"), "{used:?}");
        crate::i18n_keys::assert_translated(&used);
    }

    #[test]
    fn codes_use_the_whole_alphabet_and_parse_back() {
        assert_eq!(VerifyCode::from_random([0; 7]).as_str(), "AAAAA-AAAAA");
        assert_eq!(VerifyCode::from_random([0xff; 7]).as_str(), "99999-99999");
        let code = VerifyCode::from_random([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde]);
        assert_eq!(code.as_str().len(), 11);
        assert_eq!(VerifyCode::parse(&code.as_str().to_lowercase()), Some(code.clone()));
        assert_eq!(VerifyCode::parse(&code.as_str().replace('-', " ")), Some(code));
        // Every 5-bit value reaches its own letter.
        let mut seen = std::collections::BTreeSet::new();
        for v in 0..32_u8 {
            let c = VerifyCode::from_random([v << 3, 0, 0, 0, 0, 0, 0]);
            seen.insert(c.as_str().chars().next().unwrap());
        }
        assert_eq!(seen.len(), 32);
    }

    #[test]
    fn bad_codes_are_refused() {
        for bad in ["", "ABCDE-FGHJ", "ABCDE-FGHJKL", "ABCDE-FGHJ0", "ABCDE-FGHJI", "ABCDE_FGHJK", "../../etc/pa"] {
            assert_eq!(VerifyCode::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn progress_and_file_names() {
        let mut b = BatchView {
            id: Uuid::nil(),
            term_label: "2026 T1".into(),
            class_name: "Form 2".into(),
            status: BatchStatus::Running,
            total: 40,
            done: 9,
            failed: 1,
            requested_by: "Head".into(),
            requested_at: DateTime::<Utc>::MIN_UTC,
            finished_at: None,
            bundle_ready: false,
            failures: Vec::new(),
        };
        assert_eq!(b.percent(), 25);
        b.total = 0;
        assert_eq!(b.percent(), 0);
        b.status = BatchStatus::Done;
        assert_eq!(b.percent(), 100);
        assert_eq!(file_name(&["KHS/2024/0007", "Asha Mushi", "2026 T1"], "pdf"), "KHS-2024-0007_Asha-Mushi_2026-T1.pdf");
        assert_eq!(file_name(&["", "../"], "zip"), "report-card.zip");
        for s in BatchStatus::ALL {
            assert_eq!(BatchStatus::parse(s.code()), Some(s));
        }
    }
}
