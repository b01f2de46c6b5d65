//! Grading schemes as versioned data, not code.
//!
//! A [`GradingScheme`] says which grade a term score gets (its [`GradeBand`]s, covering every
//! whole mark 0 ..= 100 exactly once), how many points that grade is worth, and how a
//! student's overall result is decided ([`OverallRule`]): a division from the points of the
//! counted subjects (NECTA CSEE and ACSEE), or an overall grade from the average (primary).
//! Every scheme states its source (`source`) and the exam years it is valid for.
//!
//! Schemes are built by [`GradingScheme::parse`] (serde goes through it too), so a scheme in
//! hand is always whole. Once results have been published with a scheme it is
//! [frozen](GradingScheme::freeze): [`GradingScheme::edit`] refuses it, and changing the rules
//! means [`GradingScheme::new_version`], a copy with the next version number. Published
//! results keep naming the version they were computed with.

use super::marks::Hundredths;
use crate::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Most bands a scheme may have.
pub const MAX_BANDS: usize = 12;
/// Most subjects a division may count.
pub const MAX_COUNTED: u8 = 20;

/// One grade: the whole marks it covers, its points and remark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradeBand {
    /// "A", "B", … as printed (1–3 characters).
    pub grade: String,
    /// Lowest whole mark of the band.
    pub min: u8,
    /// Highest whole mark of the band (inclusive).
    pub max: u8,
    /// Points for divisions: fewer is better (NECTA: A = 1).
    pub points: u8,
    pub remark_en: String,
    pub remark_sw: String,
}

/// A NECTA division. `Zero` is division 0 (written "0"), a fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Division {
    I,
    II,
    III,
    IV,
    #[serde(rename = "0")]
    Zero,
}

impl Division {
    pub const ALL: [Division; 5] = [Division::I, Division::II, Division::III, Division::IV, Division::Zero];

    pub fn label(self) -> &'static str {
        match self {
            Self::I => "I",
            Self::II => "II",
            Self::III => "III",
            Self::IV => "IV",
            Self::Zero => "0",
        }
    }

    pub fn index(self) -> usize {
        match self {
            Self::I => 0,
            Self::II => 1,
            Self::III => 2,
            Self::IV => 3,
            Self::Zero => 4,
        }
    }
}

impl fmt::Display for Division {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The points a division covers, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DivisionRange {
    pub division: Division,
    pub min_points: u16,
    pub max_points: u16,
}

/// Which subjects' points make the division.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum CountedSubjects {
    /// The best `count` subjects sat (fewest points). CSEE: the best seven. A student who
    /// sat fewer gets no division.
    Best { count: u8 },
    /// The principal subjects of the student's combination, exactly `count` of them
    /// (ACSEE: three); subsidiary subjects never count. A student with fewer principal
    /// subjects sat gets no division.
    Principal { count: u8 },
}

impl CountedSubjects {
    pub fn count(self) -> u8 {
        match self {
            Self::Best { count } | Self::Principal { count } => count,
        }
    }
}

/// How a student's overall result is decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum OverallRule {
    /// A division from the sum of the counted subjects' points.
    Division { counted: CountedSubjects, divisions: Vec<DivisionRange> },
    /// An overall grade: the average rounded half up to a whole mark, graded with the same
    /// bands (primary). At least `min_subjects` subjects must have been sat.
    AverageGrade { min_subjects: u8 },
}

/// Exam years a scheme is valid for, inclusive; `None` is open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExamYears {
    pub from: Option<u16>,
    pub to: Option<u16>,
}

impl ExamYears {
    pub fn contains(self, year: u16) -> bool {
        self.from.is_none_or(|f| year >= f) && self.to.is_none_or(|t| year <= t)
    }
}

/// The unchecked form of a [`GradingScheme`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemeDraft {
    /// e.g. `necta-csee-2016`: lower-case letters, digits and `-`, at most 40.
    pub key: String,
    pub name: String,
    /// 1, 2, …: a new version for every change to a scheme that results were published with.
    pub version: u32,
    /// Where the bands and rules come from, and how sure that is.
    pub source: String,
    pub exam_years: ExamYears,
    pub bands: Vec<GradeBand>,
    pub overall: OverallRule,
    /// Results were published with it: it can no longer be edited.
    #[serde(default)]
    pub frozen: bool,
}

/// A checked grading scheme; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SchemeDraft", into = "SchemeDraft")]
pub struct GradingScheme {
    draft: SchemeDraft,
    /// Band index per whole mark 0 ..= 100.
    band_of: Vec<u8>,
    /// Points of the best and the worst band.
    best_points: u8,
    worst_points: u8,
}

/// A graded subject of one student, as the overall rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GradedSubject {
    /// The subject's position in the sheet.
    pub subject: usize,
    pub score: u8,
    pub points: u8,
    pub principal: bool,
}

/// Why a student has no division (or no overall grade). Never guessed around.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum NoOverall {
    /// Fewer subjects sat (graded) than the rule counts.
    FewerSubjects { needed: u8, sat: u8 },
    /// The combination's principal subjects are not given as the rule needs them (none, or
    /// another number than it counts).
    PrincipalSubjects { needed: u8, marked: u8 },
    /// Fewer principal subjects sat (graded) than the rule counts.
    FewerPrincipalSubjects { needed: u8, sat: u8 },
    /// The points fall in no division (a scheme whose ranges do not cover them).
    PointsOutsideDivisions { points: u16 },
}

impl NoOverall {
    /// An i18n key (arguments: `needed`, `sat`, `marked`, `points`).
    pub fn message_key(self) -> &'static str {
        match self {
            Self::FewerSubjects { .. } => "results-no-overall-fewer-subjects",
            Self::PrincipalSubjects { .. } => "results-no-overall-principal-subjects",
            Self::FewerPrincipalSubjects { .. } => "results-no-overall-fewer-principal",
            Self::PointsOutsideDivisions { .. } => "results-no-overall-points",
        }
    }
}

/// In English, for files and logs.
impl fmt::Display for NoOverall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::FewerSubjects { needed, sat } => write!(f, "fewer than {needed} subjects sat ({sat})"),
            Self::PrincipalSubjects { needed, marked: 0 } => write!(f, "principal subjects not given ({needed} needed)"),
            Self::PrincipalSubjects { needed, marked } => write!(f, "{marked} principal subjects given, {needed} needed"),
            Self::FewerPrincipalSubjects { needed, sat } => write!(f, "fewer than {needed} principal subjects sat ({sat})"),
            Self::PointsOutsideDivisions { points } => write!(f, "{points} points fall in no division"),
        }
    }
}

/// A student's overall result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Overall {
    Division {
        division: Division,
        points: u16,
    },
    /// Band index into the scheme's bands.
    Grade {
        band: u8,
    },
    None {
        why: NoOverall,
    },
}

/// [`GradingScheme::overall`]'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverallResult {
    pub overall: Overall,
    /// The sum of the counted subjects' points (division rules with enough subjects).
    pub points: Option<u16>,
    /// The subjects counted, best first (division rules).
    pub counted: Vec<usize>,
}

fn err(field: &str, key: &str) -> ValidationError {
    ValidationError::new(field, key)
}

impl GradingScheme {
    /// Checks a draft. Errors, by field:
    /// - `key`: `error-scheme-key-invalid`; `name`: `error-scheme-name-required`;
    ///   `version`: `error-scheme-version`; `source`: `error-scheme-source-required`;
    ///   `exam_years`: `error-scheme-years`;
    /// - `bands`: `error-bands-empty`, `error-bands-too-many`, `error-band-grade-invalid`,
    ///   `error-band-grade-repeated`, `error-band-remark-required`, `error-band-range`
    ///   (min above max, or above 100), `error-bands-gap` (a mark no band covers),
    ///   `error-bands-overlap` (a mark two bands cover), `error-bands-points-order` (a higher
    ///   band with more points than a lower one);
    /// - `divisions`: `error-divisions-count` (0 or more than 20 counted subjects, or a
    ///   primary minimum of 0), `error-divisions-empty`, `error-divisions-repeated`,
    ///   `error-divisions-range` (min above max), `error-divisions-gap`,
    ///   `error-divisions-overlap`, `error-divisions-cover` (the ranges do not span exactly
    ///   the points possible: count × best points ..= count × worst points),
    ///   `error-divisions-order` (a better division needing more points).
    pub fn parse(draft: SchemeDraft) -> Result<Self, ValidationError> {
        let key_ok = !draft.key.is_empty()
            && draft.key.len() <= 40
            && draft.key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !key_ok {
            return Err(err("key", "error-scheme-key-invalid"));
        }
        if draft.name.trim().is_empty() {
            return Err(err("name", "error-scheme-name-required"));
        }
        if draft.version == 0 {
            return Err(err("version", "error-scheme-version"));
        }
        if draft.source.trim().is_empty() {
            return Err(err("source", "error-scheme-source-required"));
        }
        if let (Some(from), Some(to)) = (draft.exam_years.from, draft.exam_years.to) {
            if from > to {
                return Err(err("exam_years", "error-scheme-years"));
            }
        }
        let band_of = check_bands(&draft.bands)?;
        let best_points = draft.bands.iter().map(|b| b.points).min().unwrap_or(0);
        let worst_points = draft.bands.iter().map(|b| b.points).max().unwrap_or(0);
        check_overall(&draft.overall, best_points, worst_points)?;
        Ok(Self { draft, band_of, best_points, worst_points })
    }

    pub fn key(&self) -> &str {
        &self.draft.key
    }
    pub fn name(&self) -> &str {
        &self.draft.name
    }
    pub fn version(&self) -> u32 {
        self.draft.version
    }
    pub fn source(&self) -> &str {
        &self.draft.source
    }
    pub fn exam_years(&self) -> ExamYears {
        self.draft.exam_years
    }
    pub fn bands(&self) -> &[GradeBand] {
        &self.draft.bands
    }
    pub fn overall_rule(&self) -> &OverallRule {
        &self.draft.overall
    }
    pub fn is_frozen(&self) -> bool {
        self.draft.frozen
    }
    /// Points of the best and the worst band.
    pub fn points_span(&self) -> (u8, u8) {
        (self.best_points, self.worst_points)
    }

    /// The draft this scheme was built from (to fill an edit form).
    pub fn draft(&self) -> SchemeDraft {
        self.draft.clone()
    }

    /// Marks the scheme as used by published results: from now on it cannot be edited.
    pub fn freeze(mut self) -> Self {
        self.draft.frozen = true;
        self
    }

    /// The scheme with `draft`'s contents, checked. Refused when the scheme is frozen
    /// (`scheme`: `error-scheme-frozen`; make a [`new_version`](Self::new_version) instead),
    /// or when the draft changes the key or version (`scheme`: `error-scheme-identity`).
    pub fn edit(&self, draft: SchemeDraft) -> Result<Self, ValidationError> {
        if self.draft.frozen {
            return Err(err("scheme", "error-scheme-frozen"));
        }
        if draft.key != self.draft.key || draft.version != self.draft.version {
            return Err(err("scheme", "error-scheme-identity"));
        }
        Self::parse(SchemeDraft { frozen: false, ..draft })
    }

    /// A copy with the next version number, not frozen, to edit and then use for new results.
    pub fn new_version(&self) -> Self {
        let mut copy = self.clone();
        copy.draft.version = self.draft.version.saturating_add(1);
        copy.draft.frozen = false;
        copy
    }

    pub fn valid_for_year(&self, year: u16) -> bool {
        self.draft.exam_years.contains(year)
    }

    /// The index of the band a whole mark falls in (marks above 100 count as 100).
    pub fn band_index(&self, score: u8) -> usize {
        let i = usize::from(score.min(100));
        usize::from(self.band_of.get(i).copied().unwrap_or(0))
    }

    /// The band a whole mark falls in.
    pub fn band(&self, score: u8) -> Option<&GradeBand> {
        self.draft.bands.get(self.band_index(score))
    }

    /// The overall result of a student from their graded subjects (ABS, EX and incomplete
    /// subjects are not in `graded`), the number of subjects marked principal (whatever
    /// their outcome) and their average.
    pub fn overall(&self, graded: &[GradedSubject], principal_marked: usize, average: Option<Hundredths>) -> OverallResult {
        let none = |why| OverallResult { overall: Overall::None { why }, points: None, counted: Vec::new() };
        let sat = u8::try_from(graded.len()).unwrap_or(u8::MAX);
        match &self.draft.overall {
            OverallRule::AverageGrade { min_subjects } => match average {
                Some(avg) if sat >= *min_subjects => {
                    let whole = u8::try_from(avg.round_half_up()).unwrap_or(100);
                    let band = u8::try_from(self.band_index(whole)).unwrap_or(0);
                    OverallResult { overall: Overall::Grade { band }, points: None, counted: Vec::new() }
                }
                _ => none(NoOverall::FewerSubjects { needed: *min_subjects, sat }),
            },
            OverallRule::Division { counted, divisions } => {
                let needed = counted.count();
                let mut pool: Vec<&GradedSubject> = match counted {
                    CountedSubjects::Best { .. } => {
                        if sat < needed {
                            return none(NoOverall::FewerSubjects { needed, sat });
                        }
                        graded.iter().collect()
                    }
                    CountedSubjects::Principal { .. } => {
                        let marked = u8::try_from(principal_marked).unwrap_or(u8::MAX);
                        if marked != needed {
                            return none(NoOverall::PrincipalSubjects { needed, marked });
                        }
                        let pool: Vec<&GradedSubject> = graded.iter().filter(|g| g.principal).collect();
                        let sat = u8::try_from(pool.len()).unwrap_or(u8::MAX);
                        if sat < needed {
                            return none(NoOverall::FewerPrincipalSubjects { needed, sat });
                        }
                        pool
                    }
                };
                // Best first: fewest points, then the higher score, then sheet order (which
                // subjects are listed as counted; the sum is the same either way).
                pool.sort_by(|a, b| a.points.cmp(&b.points).then(b.score.cmp(&a.score)).then(a.subject.cmp(&b.subject)));
                pool.truncate(usize::from(needed));
                let points: u16 = pool.iter().map(|g| u16::from(g.points)).sum();
                let counted_subjects = pool.iter().map(|g| g.subject).collect();
                match divisions.iter().find(|d| (d.min_points..=d.max_points).contains(&points)) {
                    Some(d) => OverallResult {
                        overall: Overall::Division { division: d.division, points },
                        points: Some(points),
                        counted: counted_subjects,
                    },
                    None => OverallResult {
                        overall: Overall::None { why: NoOverall::PointsOutsideDivisions { points } },
                        points: Some(points),
                        counted: counted_subjects,
                    },
                }
            }
        }
    }
}

fn check_bands(bands: &[GradeBand]) -> Result<Vec<u8>, ValidationError> {
    let e = |key| err("bands", key);
    if bands.is_empty() {
        return Err(e("error-bands-empty"));
    }
    if bands.len() > MAX_BANDS {
        return Err(e("error-bands-too-many"));
    }
    for (i, b) in bands.iter().enumerate() {
        let g = b.grade.trim();
        if g.is_empty() || g.chars().count() > 3 || g != b.grade || g.chars().any(char::is_control) {
            return Err(e("error-band-grade-invalid"));
        }
        if bands.iter().take(i).any(|o| o.grade == b.grade) {
            return Err(e("error-band-grade-repeated"));
        }
        if b.remark_en.trim().is_empty() || b.remark_sw.trim().is_empty() {
            return Err(e("error-band-remark-required"));
        }
        if b.min > b.max || b.max > 100 {
            return Err(e("error-band-range"));
        }
    }
    // Every whole mark exactly once.
    let mut band_of = vec![u8::MAX; 101];
    for (i, b) in bands.iter().enumerate() {
        for mark in b.min..=b.max {
            let slot = band_of.get_mut(usize::from(mark)).ok_or_else(|| e("error-band-range"))?;
            if *slot != u8::MAX {
                return Err(e("error-bands-overlap"));
            }
            *slot = u8::try_from(i).map_err(|_| e("error-bands-too-many"))?;
        }
    }
    if band_of.contains(&u8::MAX) {
        return Err(e("error-bands-gap"));
    }
    // A better band (higher marks) never has more points.
    let mut by_marks: Vec<&GradeBand> = bands.iter().collect();
    by_marks.sort_by_key(|b| b.min);
    if by_marks.windows(2).any(|w| matches!(w, [lower, higher] if higher.points > lower.points)) {
        return Err(e("error-bands-points-order"));
    }
    Ok(band_of)
}

fn check_overall(rule: &OverallRule, best_points: u8, worst_points: u8) -> Result<(), ValidationError> {
    let e = |key| err("divisions", key);
    match rule {
        OverallRule::AverageGrade { min_subjects } => {
            if *min_subjects == 0 || *min_subjects > MAX_COUNTED {
                return Err(e("error-divisions-count"));
            }
        }
        OverallRule::Division { counted, divisions } => {
            let n = counted.count();
            if n == 0 || n > MAX_COUNTED {
                return Err(e("error-divisions-count"));
            }
            if divisions.is_empty() {
                return Err(e("error-divisions-empty"));
            }
            for (i, d) in divisions.iter().enumerate() {
                if divisions.iter().take(i).any(|o| o.division == d.division) {
                    return Err(e("error-divisions-repeated"));
                }
                if d.min_points > d.max_points {
                    return Err(e("error-divisions-range"));
                }
            }
            let mut sorted: Vec<&DivisionRange> = divisions.iter().collect();
            sorted.sort_by_key(|d| d.min_points);
            for w in sorted.windows(2) {
                if let [a, b] = w {
                    if b.min_points <= a.max_points {
                        return Err(e("error-divisions-overlap"));
                    }
                    if b.min_points != a.max_points + 1 {
                        return Err(e("error-divisions-gap"));
                    }
                    if b.division <= a.division {
                        return Err(e("error-divisions-order"));
                    }
                }
            }
            let lowest = u16::from(n) * u16::from(best_points);
            let highest = u16::from(n) * u16::from(worst_points);
            let (first, last) = (sorted.first().map(|d| d.min_points), sorted.last().map(|d| d.max_points));
            if first != Some(lowest) || last != Some(highest) {
                return Err(e("error-divisions-cover"));
            }
        }
    }
    Ok(())
}

impl TryFrom<SchemeDraft> for GradingScheme {
    type Error = ValidationError;
    fn try_from(draft: SchemeDraft) -> Result<Self, Self::Error> {
        Self::parse(draft)
    }
}

impl From<GradingScheme> for SchemeDraft {
    fn from(scheme: GradingScheme) -> Self {
        scheme.draft
    }
}

#[cfg(test)]
mod tests {
    use super::super::presets;
    use super::*;

    fn csee() -> GradingScheme {
        presets::necta_csee_2016().unwrap()
    }

    fn key_of(d: SchemeDraft) -> (String, String) {
        let e = GradingScheme::parse(d).unwrap_err();
        (e.field, e.message)
    }

    #[test]
    fn bands_must_cover_0_to_100_once() {
        let mut d = csee().draft();
        d.bands[1].min = 66; // B 66–74: 65 is in no band
        assert_eq!(key_of(d), ("bands".into(), "error-bands-gap".into()));
        let mut d = csee().draft();
        d.bands[1].max = 75; // B 65–75 overlaps A from 75
        assert_eq!(key_of(d), ("bands".into(), "error-bands-overlap".into()));
        let mut d = csee().draft();
        d.bands[0].max = 101;
        assert_eq!(key_of(d), ("bands".into(), "error-band-range".into()));
        let mut d = csee().draft();
        d.bands[4].min = 1; // F 1–29: 0 uncovered
        assert_eq!(key_of(d), ("bands".into(), "error-bands-gap".into()));
        let mut d = csee().draft();
        d.bands[1].grade = "A".into();
        assert_eq!(key_of(d), ("bands".into(), "error-band-grade-repeated".into()));
        let mut d = csee().draft();
        d.bands[0].points = 3; // A worth more points than B
        assert_eq!(key_of(d), ("bands".into(), "error-bands-points-order".into()));
        let mut d = csee().draft();
        d.bands[2].remark_sw = " ".into();
        assert_eq!(key_of(d), ("bands".into(), "error-band-remark-required".into()));
        let mut d = csee().draft();
        d.bands.clear();
        assert_eq!(key_of(d), ("bands".into(), "error-bands-empty".into()));
    }

    #[test]
    fn divisions_must_cover_the_possible_points() {
        let set = |f: &dyn Fn(&mut Vec<DivisionRange>)| {
            let mut d = csee().draft();
            if let OverallRule::Division { divisions, .. } = &mut d.overall {
                f(divisions);
            }
            key_of(d).1
        };
        assert_eq!(set(&|d| d[1].min_points = 19), "error-divisions-gap");
        assert_eq!(set(&|d| d[1].min_points = 17), "error-divisions-overlap");
        assert_eq!(set(&|d| d[4].max_points = 36), "error-divisions-cover");
        assert_eq!(set(&|d| d[0].min_points = 8), "error-divisions-cover");
        assert_eq!(set(&|d| d[1].division = Division::I), "error-divisions-repeated");
        assert_eq!(set(&|d| d[2].min_points = 26), "error-divisions-range");
        assert_eq!(set(&|d| d.clear()), "error-divisions-empty");
        // Swapping the labels of I and II: I would need more points than II.
        assert_eq!(
            set(&|d| {
                d[0].division = Division::II;
                d[1].division = Division::I;
            }),
            "error-divisions-order"
        );
        let mut d = csee().draft();
        d.overall = OverallRule::Division { counted: CountedSubjects::Best { count: 0 }, divisions: vec![] };
        assert_eq!(key_of(d).1, "error-divisions-count");
    }

    #[test]
    fn scheme_fields_are_checked() {
        let mut d = csee().draft();
        d.key = "NECTA CSEE".into();
        assert_eq!(key_of(d), ("key".into(), "error-scheme-key-invalid".into()));
        let mut d = csee().draft();
        d.source = "".into();
        assert_eq!(key_of(d), ("source".into(), "error-scheme-source-required".into()));
        let mut d = csee().draft();
        d.version = 0;
        assert_eq!(key_of(d).1, "error-scheme-version");
        let mut d = csee().draft();
        d.exam_years = ExamYears { from: Some(2020), to: Some(2019) };
        assert_eq!(key_of(d).1, "error-scheme-years");
        // Serde goes through parse.
        let mut bad = serde_json::to_value(csee()).unwrap();
        bad["bands"][0]["min"] = 76.into();
        assert!(serde_json::from_value::<GradingScheme>(bad).is_err());
        let good = serde_json::to_value(csee()).unwrap();
        assert_eq!(serde_json::from_value::<GradingScheme>(good).unwrap(), csee());
    }

    #[test]
    fn frozen_schemes_cannot_be_edited_but_can_be_copied() {
        let open = csee();
        assert!(!open.is_frozen());
        let mut d = open.draft();
        d.name = "CSEE (school copy)".into();
        let edited = open.edit(d.clone()).unwrap();
        assert_eq!(edited.name(), "CSEE (school copy)");
        assert_eq!(edited.version(), 1);

        let frozen = edited.freeze();
        assert!(frozen.is_frozen());
        let e = frozen.edit(d.clone()).unwrap_err();
        assert_eq!((e.field.as_str(), e.message.as_str()), ("scheme", "error-scheme-frozen"));

        let next = frozen.new_version();
        assert_eq!(next.version(), 2);
        assert!(!next.is_frozen());
        assert_eq!(next.bands(), frozen.bands());
        // The copy is edited under its own version; the frozen one is untouched.
        let mut d2 = next.draft();
        d2.bands[0].remark_en = "Distinction".into();
        let next = next.edit(d2).unwrap();
        assert_eq!(next.bands()[0].remark_en, "Distinction");
        assert_eq!(frozen.bands()[0].remark_en, "Excellent");
        // An edit cannot change which scheme/version it is.
        let mut d3 = next.draft();
        d3.version = 7;
        assert_eq!(next.edit(d3).unwrap_err().message, "error-scheme-identity");
    }

    #[test]
    fn years() {
        let y = ExamYears { from: Some(2016), to: None };
        assert!(!y.contains(2015));
        assert!(y.contains(2016));
        assert!(y.contains(2040));
        let old = ExamYears { from: None, to: Some(2013) };
        assert!(old.contains(1990) && old.contains(2013) && !old.contains(2014));
    }
}
