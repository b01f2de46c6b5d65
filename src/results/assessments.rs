//! The assessments of a term and how they weigh in the term result of a subject.
//!
//! An [`AssessmentSet`] is data: each [`Assessment`] has a key, a name, its maximum marks
//! (whole marks, 1 ..= 1,000) and its weight in percent of the term result; the weights add
//! up to 100. At most one assessment is the [`AssessmentKind::Exam`] (the terminal or annual
//! examination); the others are continuous assessment (CA).
//!
//! # The term result of a subject
//!
//! Each assessment's marks become a percentage of its maximum, and the percentages are
//! averaged with the weights. This is done exactly, in integers (a common denominator of
//! the maxima), and the result is **rounded half up to a whole mark** (74.5 → 75,
//! 74.49 → 74), as schools do before grading. That whole mark is the subject's term score:
//! it is graded, averaged and ranked; nothing else is.
//!
//! `ABS`, `EX` and marks not entered:
//! - **Exam `ABS` → the subject is `ABS`** (no score, no grade), whatever the CA says.
//! - **Exam `EX` → the subject is `EX`.**
//! - **Exam not entered → the subject is incomplete** (`INC`): nothing is guessed.
//! - **A CA assessment that is `EX` or not entered does not count**, and the weights of the
//!   assessments that do count are scaled up to 100 % (re-weighting). With CA 10/20/10 and an
//!   exam of 60, a student excused from the midterm is scored on 10/10/60, i.e. 12.5 %,
//!   12.5 % and 75 %.
//! - **A CA assessment that is `ABS`** counts as zero or is re-weighted like `EX`, as the set
//!   says ([`CaAbsence`]); the defaults re-weight, so one missed test does not sink a term.
//! - In a set without an exam, a subject with nothing that counts is `ABS` if any entry was
//!   `ABS`, else `EX` if any was `EX`, else incomplete.

use super::marks::{Hundredths, Mark};
use crate::ValidationError;
use serde::{Deserialize, Serialize};

/// The form field assessment-set errors carry.
pub const ASSESSMENTS_FIELD: &str = "assessments";

/// Most assessments in one set.
pub const MAX_ASSESSMENTS: usize = 12;
/// Highest maximum marks of an assessment.
pub const MAX_MAX_MARKS: u16 = 1_000;
/// The common denominator of the maxima must stay below this, so that the exact weighted
/// sum fits in 128 bits with room to spare (maxima like 30, 50, 60 and 100 are far below).
const MAX_COMMON_DENOMINATOR: u64 = 1_000_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentKind {
    /// Continuous assessment: monthly tests, the midterm, assignments.
    Continuous,
    /// The terminal (or annual) examination. Its `ABS`/`EX` decide the subject.
    Exam,
}

/// What an `ABS` in a continuous-assessment entry means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaAbsence {
    /// It does not count; the other assessments are re-weighted (the default).
    #[default]
    Reweight,
    /// It counts as zero marks.
    Zero,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// Short key used in files and by the database, e.g. `mt1`, `midterm`, `exam`.
    pub key: String,
    /// As the school says it, e.g. "Monthly test 1".
    pub name: String,
    /// Whole marks the paper is out of, 1 ..= 1,000.
    pub max: u16,
    /// Percent of the term result, 1 ..= 100.
    pub weight: u8,
    pub kind: AssessmentKind,
}

impl Assessment {
    fn new(key: &str, name: &str, max: u16, weight: u8, kind: AssessmentKind) -> Self {
        Self { key: key.to_owned(), name: name.to_owned(), max, weight, kind }
    }
}

/// The unchecked form of an [`AssessmentSet`] (what a form or the database hands in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentSetDraft {
    pub key: String,
    pub name: String,
    pub assessments: Vec<Assessment>,
    #[serde(default)]
    pub ca_absence: CaAbsence,
}

/// A checked set of assessments: built only by [`AssessmentSet::parse`] (or deserialised
/// through it), so its weights add up to 100 and every maximum is positive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AssessmentSetDraft", into = "AssessmentSetDraft")]
pub struct AssessmentSet {
    key: String,
    name: String,
    assessments: Vec<Assessment>,
    ca_absence: CaAbsence,
    /// Least common multiple of the maxima.
    common: u64,
    /// `common / max` per assessment.
    factors: Vec<u64>,
    exam: Option<usize>,
}

/// The term result of one subject for one student.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TermOutcome {
    /// The weighted percentage, rounded half up to a whole mark (0 ..= 100).
    Score(u8),
    Absent,
    Exempt,
    /// The exam (or, without an exam, every entry) is not entered.
    Incomplete,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl AssessmentSet {
    /// Checks a draft. Errors (field `assessments`): `error-assessments-empty`,
    /// `error-assessments-too-many`, `error-assessment-key-invalid` (keys: 1–40 of `a-z`,
    /// `0-9`, `_`, `-`), `error-assessment-key-repeated`, `error-assessment-name-required`,
    /// `error-assessment-max` (not 1 ..= 1,000), `error-assessment-weight` (0),
    /// `error-assessment-weights-sum` (not 100), `error-assessment-exams` (more than one
    /// exam), `error-assessment-maxima` (maxima without a usable common denominator).
    pub fn parse(draft: AssessmentSetDraft) -> Result<Self, ValidationError> {
        let err = |key: &str| ValidationError::new(ASSESSMENTS_FIELD, key);
        let AssessmentSetDraft { key, name, assessments, ca_absence } = draft;
        if assessments.is_empty() {
            return Err(err("error-assessments-empty"));
        }
        if assessments.len() > MAX_ASSESSMENTS {
            return Err(err("error-assessments-too-many"));
        }
        let key_ok = |k: &str| {
            !k.is_empty() && k.len() <= 40 && k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        };
        if !key_ok(&key) {
            return Err(err("error-assessment-key-invalid"));
        }
        let mut weights = 0u32;
        let mut common = 1u64;
        for (i, a) in assessments.iter().enumerate() {
            if !key_ok(&a.key) {
                return Err(err("error-assessment-key-invalid"));
            }
            if assessments.iter().take(i).any(|b| b.key == a.key) {
                return Err(err("error-assessment-key-repeated"));
            }
            if a.name.trim().is_empty() {
                return Err(err("error-assessment-name-required"));
            }
            if a.max == 0 || a.max > MAX_MAX_MARKS {
                return Err(err("error-assessment-max"));
            }
            if a.weight == 0 {
                return Err(err("error-assessment-weight"));
            }
            weights += u32::from(a.weight);
            let max = u64::from(a.max);
            common = (common / gcd(common, max))
                .checked_mul(max)
                .filter(|c| *c <= MAX_COMMON_DENOMINATOR)
                .ok_or_else(|| err("error-assessment-maxima"))?;
        }
        if weights != 100 {
            return Err(err("error-assessment-weights-sum"));
        }
        let exams: Vec<usize> = assessments.iter().enumerate().filter(|(_, a)| a.kind == AssessmentKind::Exam).map(|(i, _)| i).collect();
        if exams.len() > 1 {
            return Err(err("error-assessment-exams"));
        }
        let factors = assessments.iter().map(|a| common / u64::from(a.max)).collect();
        Ok(Self { key, name: name.trim().to_owned(), assessments, ca_absence, common, factors, exam: exams.first().copied() })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn assessments(&self) -> &[Assessment] {
        &self.assessments
    }

    pub fn len(&self) -> usize {
        self.assessments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.assessments.is_empty()
    }

    pub fn ca_absence(&self) -> CaAbsence {
        self.ca_absence
    }

    /// The position of the exam in [`assessments`](Self::assessments), if the set has one.
    pub fn exam(&self) -> Option<usize> {
        self.exam
    }

    /// The position of the assessment with this key.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.assessments.iter().position(|a| a.key == key)
    }

    /// The term result of one subject from its entries, one per assessment in order (`None`:
    /// not entered). Entries beyond the set's length are ignored; missing ones are "not
    /// entered". A score above an assessment's maximum is refused with
    /// `error-mark-out-of-range` (field `mark`): [`Mark::parse`] never builds one, but a
    /// `Mark` can be built by hand.
    pub fn term_outcome(&self, entries: &[Option<Mark>]) -> Result<TermOutcome, ValidationError> {
        let entry = |i: usize| entries.get(i).copied().flatten();
        if let Some(exam) = self.exam {
            match entry(exam) {
                Some(Mark::Absent) => return Ok(TermOutcome::Absent),
                Some(Mark::Exempt) => return Ok(TermOutcome::Exempt),
                None => return Ok(TermOutcome::Incomplete),
                Some(Mark::Score(_)) => {}
            }
        }
        // A mark of h hundredths out of max is h / max percent, so the weighted percentage is
        // exactly Σ wᵢ·hᵢ·(L/maxᵢ) / (Σ wᵢ · L) with L the common denominator of the maxima.
        let (mut numerator, mut weights) = (0u128, 0u128);
        let (mut absent, mut exempt) = (false, false);
        for (i, a) in self.assessments.iter().enumerate() {
            let w = u128::from(a.weight);
            let factor = u128::from(self.factors.get(i).copied().unwrap_or(0));
            match entry(i) {
                Some(Mark::Score(h)) => {
                    if h.get() > u32::from(a.max) * 100 {
                        return Err(ValidationError::new(super::marks::MARK_FIELD, "error-mark-out-of-range"));
                    }
                    numerator += w * u128::from(h.get()) * factor;
                    weights += w;
                }
                Some(Mark::Absent) => {
                    absent = true;
                    if self.ca_absence == CaAbsence::Zero {
                        weights += w;
                    }
                }
                Some(Mark::Exempt) => exempt = true,
                None => {}
            }
        }
        if weights == 0 {
            return Ok(if absent {
                TermOutcome::Absent
            } else if exempt {
                TermOutcome::Exempt
            } else {
                TermOutcome::Incomplete
            });
        }
        // Round half up: ⌊(2n + d) / 2d⌋.
        let denominator = weights * u128::from(self.common);
        let rounded = (2 * numerator + denominator) / (2 * denominator);
        Ok(TermOutcome::Score(u8::try_from(rounded.min(100)).unwrap_or(100)))
    }

    /// The exact weighted percentage before rounding, in hundredths (rounded half up to the
    /// hundredth): for showing how a term score came about. `None` when nothing counts.
    pub fn weighted_percent(&self, entries: &[Option<Mark>]) -> Option<Hundredths> {
        let (mut numerator, mut weights) = (0u128, 0u128);
        for (i, a) in self.assessments.iter().enumerate() {
            let w = u128::from(a.weight);
            match entries.get(i).copied().flatten() {
                Some(Mark::Score(h)) => {
                    numerator += w * u128::from(h.get()) * u128::from(self.factors.get(i).copied().unwrap_or(0));
                    weights += w;
                }
                Some(Mark::Absent) if self.ca_absence == CaAbsence::Zero && Some(i) != self.exam => weights += w,
                _ => {}
            }
        }
        let denominator = weights * u128::from(self.common);
        if denominator == 0 {
            return None;
        }
        u32::try_from((200 * numerator + denominator) / (2 * denominator)).ok().map(Hundredths)
    }

    fn from_parts(key: &str, name: &str, assessments: Vec<Assessment>) -> Result<Self, ValidationError> {
        Self::parse(AssessmentSetDraft { key: key.to_owned(), name: name.to_owned(), assessments, ca_absence: CaAbsence::Reweight })
    }

    /// Keys of the built-in sets, for `--assessments` and pickers.
    pub const PRESET_KEYS: [&'static str; 4] = ["default-secondary", "default-secondary-annual", "default-primary", "exam-only"];

    /// A built-in set by key (see [`Self::PRESET_KEYS`]).
    pub fn preset(key: &str) -> Option<Self> {
        match key {
            "default-secondary" => Some(Self::default_secondary()),
            "default-secondary-annual" => {
                Self::secondary("default-secondary-annual", "Secondary, end of year", "annual", "Annual exam").ok()
            }
            "default-primary" => Some(Self::default_primary()),
            "exam-only" => {
                Self::from_parts("exam-only", "Exam only", vec![Assessment::new("exam", "Exam", 100, 100, AssessmentKind::Exam)]).ok()
            }
            _ => None,
        }
    }

    fn secondary(key: &str, name: &str, exam_key: &str, exam_name: &str) -> Result<Self, ValidationError> {
        use AssessmentKind::{Continuous, Exam};
        Self::from_parts(
            key,
            name,
            vec![
                Assessment::new("mt1", "Monthly test 1", 100, 10, Continuous),
                Assessment::new("midterm", "Midterm", 100, 20, Continuous),
                Assessment::new("mt2", "Monthly test 2", 100, 10, Continuous),
                Assessment::new(exam_key, exam_name, 100, 60, Exam),
            ],
        )
    }

    /// A term of a Tanzanian secondary school: Monthly test 1 (10 %), Midterm (20 %) and
    /// Monthly test 2 (10 %) make the continuous assessment, 40 %; the Terminal exam 60 %.
    /// All out of 100.
    pub fn default_secondary() -> Self {
        match Self::secondary("default-secondary", "Secondary term", "exam", "Terminal exam") {
            Ok(s) => s,
            // The data above is valid (a test checks it); an empty set is never returned.
            Err(_) => Self::exam_only_fallback(),
        }
    }

    /// A primary term: Monthly test (20 %), Midterm (20 %), Terminal exam (60 %), each out
    /// of 50 like the PSLE papers.
    pub fn default_primary() -> Self {
        use AssessmentKind::{Continuous, Exam};
        Self::from_parts(
            "default-primary",
            "Primary term",
            vec![
                Assessment::new("monthly", "Monthly test", 50, 20, Continuous),
                Assessment::new("midterm", "Midterm", 50, 20, Continuous),
                Assessment::new("exam", "Terminal exam", 50, 60, Exam),
            ],
        )
        .unwrap_or_else(|_| Self::exam_only_fallback())
    }

    fn exam_only_fallback() -> Self {
        Self {
            key: "exam-only".to_owned(),
            name: "Exam only".to_owned(),
            assessments: vec![Assessment::new("exam", "Exam", 100, 100, AssessmentKind::Exam)],
            ca_absence: CaAbsence::Reweight,
            common: 100,
            factors: vec![1],
            exam: Some(0),
        }
    }
}

impl TryFrom<AssessmentSetDraft> for AssessmentSet {
    type Error = ValidationError;
    fn try_from(draft: AssessmentSetDraft) -> Result<Self, Self::Error> {
        Self::parse(draft)
    }
}

impl From<AssessmentSet> for AssessmentSetDraft {
    fn from(set: AssessmentSet) -> Self {
        Self { key: set.key, name: set.name, assessments: set.assessments, ca_absence: set.ca_absence }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(whole_hundredths: u32) -> Option<Mark> {
        Some(Mark::Score(Hundredths(whole_hundredths)))
    }

    fn draft(items: &[(&str, u16, u8, AssessmentKind)]) -> AssessmentSetDraft {
        AssessmentSetDraft {
            key: "t".into(),
            name: "Test".into(),
            assessments: items.iter().map(|(k, m, w, kind)| Assessment::new(k, k, *m, *w, *kind)).collect(),
            ca_absence: CaAbsence::Reweight,
        }
    }

    #[test]
    fn presets_are_valid() {
        for key in AssessmentSet::PRESET_KEYS {
            let set = AssessmentSet::preset(key).unwrap();
            assert_eq!(set.key(), key);
            assert_eq!(set.assessments().iter().map(|a| u32::from(a.weight)).sum::<u32>(), 100);
            assert!(set.exam().is_some());
        }
        let sec = AssessmentSet::default_secondary();
        assert_eq!(sec.assessments().iter().map(|a| a.key.as_str()).collect::<Vec<_>>(), ["mt1", "midterm", "mt2", "exam"]);
        let ca: u32 = sec.assessments().iter().filter(|a| a.kind == AssessmentKind::Continuous).map(|a| u32::from(a.weight)).sum();
        assert_eq!(ca, 40);
        assert_eq!(AssessmentSet::default_primary().assessments()[0].max, 50);
        assert!(AssessmentSet::preset("nonsense").is_none());
    }

    #[test]
    fn validation() {
        use AssessmentKind::{Continuous as C, Exam as E};
        let key = |d| AssessmentSet::parse(d).unwrap_err().message;
        assert_eq!(key(draft(&[("a", 100, 40, C), ("b", 100, 50, E)])), "error-assessment-weights-sum");
        assert_eq!(key(draft(&[("a", 0, 40, C), ("b", 100, 60, E)])), "error-assessment-max");
        assert_eq!(key(draft(&[("a", 1001, 40, C), ("b", 100, 60, E)])), "error-assessment-max");
        assert_eq!(key(draft(&[("a", 100, 0, C), ("b", 100, 100, E)])), "error-assessment-weight");
        assert_eq!(key(draft(&[("a", 100, 40, E), ("b", 100, 60, E)])), "error-assessment-exams");
        assert_eq!(key(draft(&[("a", 100, 40, C), ("a", 100, 60, E)])), "error-assessment-key-repeated");
        assert_eq!(key(draft(&[("A b", 100, 40, C), ("b", 100, 60, E)])), "error-assessment-key-invalid");
        assert_eq!(key(draft(&[])), "error-assessments-empty");
        // Pairwise coprime maxima whose product passes 10^12.
        assert_eq!(
            key(draft(&[("a", 997, 20, C), ("b", 991, 20, C), ("c", 983, 20, C), ("d", 977, 20, C), ("e", 971, 20, E)])),
            "error-assessment-maxima"
        );
        let e = AssessmentSet::parse(draft(&[("a", 100, 40, C), ("b", 100, 50, E)])).unwrap_err();
        assert_eq!(e.field, "assessments");
        // Serde goes through the same checks.
        let bad = serde_json::json!({"key": "x", "name": "X", "assessments": [{"key": "a", "name": "A", "max": 100, "weight": 90, "kind": "exam"}]});
        assert!(serde_json::from_value::<AssessmentSet>(bad).is_err());
        let good = serde_json::to_value(AssessmentSet::default_secondary()).unwrap();
        assert_eq!(serde_json::from_value::<AssessmentSet>(good).unwrap(), AssessmentSet::default_secondary());
    }

    #[test]
    fn weighting_and_rounding() {
        let set = AssessmentSet::default_secondary();
        // 10 % × 60 + 20 % × 70 + 10 % × 80 + 60 % × 75 = 6 + 14 + 8 + 45 = 73.
        assert_eq!(set.term_outcome(&[s(6000), s(7000), s(8000), s(7500)]), Ok(TermOutcome::Score(73)));
        // 0.1 × 65 + 0.2 × 70 + 0.1 × 70 + 0.6 × 78 = 6.5 + 14 + 7 + 46.8 = 74.3 → 74.
        assert_eq!(set.term_outcome(&[s(6500), s(7000), s(7000), s(7800)]), Ok(TermOutcome::Score(74)));
        // 0.1 × 70 + 0.2 × 70 + 0.1 × 70 + 0.6 × 77.5 = 28 + 46.5 = 74.5 → 75 (half up).
        assert_eq!(set.term_outcome(&[s(7000), s(7000), s(7000), s(7750)]), Ok(TermOutcome::Score(75)));
        assert_eq!(set.weighted_percent(&[s(7000), s(7000), s(7000), s(7750)]), Some(Hundredths(7450)));
        // 74.49 stays 74: 0.6 × 77.48 = 46.488, + 28 = 74.488.
        assert_eq!(set.term_outcome(&[s(7000), s(7000), s(7000), s(7748)]), Ok(TermOutcome::Score(74)));
        // 29.5 → 30, 29.4 → 29 (the CSEE F/D boundary).
        assert_eq!(set.term_outcome(&[s(2950), s(2950), s(2950), s(2950)]), Ok(TermOutcome::Score(30)));
        assert_eq!(set.term_outcome(&[s(2940), s(2940), s(2940), s(2940)]), Ok(TermOutcome::Score(29)));
    }

    #[test]
    fn maxima_other_than_100_are_exact() {
        use AssessmentKind::{Continuous as C, Exam as E};
        // Test out of 30 (40 %), exam out of 50 (60 %). 20/30 = 66.666…%, 33/50 = 66 %:
        // 0.4 × 66.666… + 0.6 × 66 = 26.666… + 39.6 = 66.2666… → 66.
        let set = AssessmentSet::parse(draft(&[("t", 30, 40, C), ("x", 50, 60, E)])).unwrap();
        assert_eq!(set.term_outcome(&[s(2000), s(3300)]), Ok(TermOutcome::Score(66)));
        // 22.5/30 = 75 %, 37.5/50 = 75 % → exactly 75, no float drift.
        assert_eq!(set.term_outcome(&[s(2250), s(3750)]), Ok(TermOutcome::Score(75)));
        // Primary: 41/50, 40/50, 40.5/50 → 0.2 × 82 + 0.2 × 80 + 0.6 × 81 = 16.4 + 16 + 48.6 = 81.
        let p = AssessmentSet::default_primary();
        assert_eq!(p.term_outcome(&[s(4100), s(4000), s(4050)]), Ok(TermOutcome::Score(81)));
    }

    #[test]
    fn absent_exempt_and_missing() {
        let set = AssessmentSet::default_secondary();
        // Exam ABS → subject ABS, whatever the CA.
        assert_eq!(set.term_outcome(&[s(9000), s(9000), s(9000), Some(Mark::Absent)]), Ok(TermOutcome::Absent));
        assert_eq!(set.term_outcome(&[s(9000), s(9000), s(9000), Some(Mark::Exempt)]), Ok(TermOutcome::Exempt));
        assert_eq!(set.term_outcome(&[s(9000), s(9000), s(9000), None]), Ok(TermOutcome::Incomplete));
        assert_eq!(set.term_outcome(&[]), Ok(TermOutcome::Incomplete));
        // Midterm EX: 10/10/60 re-weighted to 12.5/12.5/75: 0.125 × 40 + 0.125 × 80 + 0.75 × 60
        // = 5 + 10 + 45 = 60.
        assert_eq!(set.term_outcome(&[s(4000), Some(Mark::Exempt), s(8000), s(6000)]), Ok(TermOutcome::Score(60)));
        // Midterm not entered: the same.
        assert_eq!(set.term_outcome(&[s(4000), None, s(8000), s(6000)]), Ok(TermOutcome::Score(60)));
        // Midterm ABS re-weights by default …
        assert_eq!(set.term_outcome(&[s(4000), Some(Mark::Absent), s(8000), s(6000)]), Ok(TermOutcome::Score(60)));
        // … or counts as zero when the set says so: 4 + 0 + 8 + 36 = 48.
        let mut d: AssessmentSetDraft = set.clone().into();
        d.ca_absence = CaAbsence::Zero;
        let zero = AssessmentSet::parse(d).unwrap();
        assert_eq!(zero.term_outcome(&[s(4000), Some(Mark::Absent), s(8000), s(6000)]), Ok(TermOutcome::Score(48)));
        // All CA missing: the exam is the whole result.
        assert_eq!(set.term_outcome(&[None, None, None, s(6650)]), Ok(TermOutcome::Score(67)));
        // A hand-built score above the maximum is refused, not clamped.
        assert_eq!(set.term_outcome(&[s(10001), None, None, s(5000)]).unwrap_err().message, "error-mark-out-of-range");
    }

    #[test]
    fn sets_without_an_exam() {
        use AssessmentKind::Continuous as C;
        let set = AssessmentSet::parse(draft(&[("a", 100, 50, C), ("b", 100, 50, C)])).unwrap();
        assert_eq!(set.term_outcome(&[Some(Mark::Absent), Some(Mark::Exempt)]), Ok(TermOutcome::Absent));
        assert_eq!(set.term_outcome(&[Some(Mark::Exempt), None]), Ok(TermOutcome::Exempt));
        assert_eq!(set.term_outcome(&[None, None]), Ok(TermOutcome::Incomplete));
        assert_eq!(set.term_outcome(&[Some(Mark::Exempt), s(5500)]), Ok(TermOutcome::Score(55)));
    }
}
