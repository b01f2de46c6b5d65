//! Computing a class's term results from its mark sheet: [`compute`].
//!
//! # What is computed
//!
//! Per student and subject: the term score (a whole mark, see
//! [`assessments`](super::assessments)), its grade, points and remark, and the subject
//! position within the stream and within the class. Per student: the total and average of
//! the subjects sat, the points of the counted subjects and the division (or overall grade,
//! or the reason there is none), and the stream and class positions. Per subject: how many
//! sat, were absent, exempt or incomplete, the mean, the grade distribution, the top and the
//! bottom students. Per stream and for the class: the average and the division summary.
//!
//! # Rules
//!
//! - **Subjects sat** are those with a term score. `ABS`, `EX` and incomplete subjects are
//!   not sat: they add nothing to the total, are left out of the average, the subject's
//!   mean and its positions, and never count for a division. They are not zero.
//! - **Average** = total ÷ subjects sat, in hundredths, rounded half up (66.665 → 66.67).
//!   A student who sat nothing has no average and no position.
//! - **Positions** use competition ranking: equal keys share a place and the next place
//!   skips (1, 1, 3). Class and stream positions rank by the **average as shown** (in
//!   hundredths, descending): two students shown with 67.33 share a place even if their
//!   exact averages differ in the fifth decimal. No tie-break is applied: not the total,
//!   points, division, number of subjects, name or admission number. Subject positions
//!   rank by the term score (whole marks). `out_of` is the number of students ranked.
//! - **Stream and class averages** are the mean of the students' averages as shown,
//!   rounded half up; the subject mean is the mean of its term scores, rounded half up.
//! - **Divisions** follow the scheme's rule (see [`GradingScheme::overall`]).
//!
//! Everything is integer arithmetic; the same sheet always gives the same results.

use super::assessments::{AssessmentSet, TermOutcome};
use super::marks::{Hundredths, Mark};
use super::scheme::{GradeBand, GradedSubject, GradingScheme, Overall, OverallRule};
use crate::ValidationError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// The form field sheet errors carry.
pub const SHEET_FIELD: &str = "sheet";

/// A class's marks for a term.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Sheet {
    /// The subjects, in the order results list them (codes or names as the school writes).
    pub subjects: Vec<String>,
    pub students: Vec<SheetStudent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetStudent {
    pub admission_no: String,
    pub name: String,
    /// The stream (e.g. "A" of Form 2A, or "Form 2A" itself: any label, compared exactly).
    pub stream: String,
    /// A-level combination, e.g. PCM.
    pub combination: Option<String>,
    /// The subjects the student takes. A subject not listed is not taken (not even `ABS`).
    pub subjects: Vec<SheetSubject>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetSubject {
    /// Position in [`Sheet::subjects`].
    pub subject: usize,
    /// A principal subject of the student's combination (A-level).
    pub principal: bool,
    /// One entry per assessment of the set, in its order; `None` is not entered. Shorter is
    /// fine (the rest are not entered); longer is refused.
    pub marks: Vec<Option<Mark>>,
}

/// A place in a ranking: `place` of `out_of` ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Position {
    pub place: u32,
    pub out_of: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectResult {
    pub subject: usize,
    pub principal: bool,
    pub outcome: TermOutcome,
    /// Index into [`ClassResults::bands`] when sat.
    pub band: Option<u8>,
    pub points: Option<u8>,
    pub stream_position: Option<Position>,
    pub class_position: Option<Position>,
}

impl SubjectResult {
    pub fn score(&self) -> Option<u8> {
        match self.outcome {
            TermOutcome::Score(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentResult {
    pub admission_no: String,
    pub name: String,
    pub stream: String,
    pub combination: Option<String>,
    /// In the order the sheet listed them.
    pub subjects: Vec<SubjectResult>,
    /// Sum of the term scores of the subjects sat.
    pub total: u32,
    /// Subjects sat (with a term score).
    pub sat: u32,
    pub average: Option<Hundredths>,
    pub overall: Overall,
    /// Points of the counted subjects (division rules).
    pub points: Option<u16>,
    /// Subjects counted for the division, best first.
    pub counted: Vec<usize>,
    pub stream_position: Option<Position>,
    pub class_position: Option<Position>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectStats {
    pub subject: usize,
    pub sat: u32,
    pub absent: u32,
    pub exempt: u32,
    pub incomplete: u32,
    pub mean: Option<Hundredths>,
    /// Students per band, in the scheme's band order.
    pub grades: Vec<u32>,
    pub highest: Option<u8>,
    pub lowest: Option<u8>,
    /// Students (indices into [`ClassResults::students`]) with the highest score, sheet order.
    pub top: Vec<usize>,
    /// Students with the lowest score, sheet order.
    pub bottom: Vec<usize>,
}

/// The class as a whole (`stream: None`) or one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSummary {
    pub stream: Option<String>,
    pub students: u32,
    /// Students with an average (and so a position).
    pub ranked: u32,
    pub average: Option<Hundredths>,
    /// Students per division I, II, III, IV, 0 (division rules).
    pub divisions: [u32; 5],
    /// Students per overall grade, in band order (average-grade rules).
    pub grades: Vec<u32>,
    /// Students without a division or overall grade.
    pub no_overall: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassResults {
    pub scheme_key: String,
    pub scheme_version: u32,
    pub assessments_key: String,
    /// The scheme's bands (what `band` indices point at).
    pub bands: Vec<GradeBand>,
    /// The scheme's overall rule (divisions or an overall grade).
    pub overall_rule: OverallRule,
    pub subjects: Vec<String>,
    /// In sheet order.
    pub students: Vec<StudentResult>,
    pub subject_stats: Vec<SubjectStats>,
    pub class: GroupSummary,
    /// By stream name.
    pub streams: Vec<GroupSummary>,
}

impl ClassResults {
    /// The grade of a band index ("" for an unknown index).
    pub fn grade(&self, band: u8) -> &str {
        self.bands.get(usize::from(band)).map_or("", |b| b.grade.as_str())
    }

    /// Student indices in merit order: by class position, the unranked last, ties and the
    /// unranked in sheet order.
    pub fn merit_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.students.len()).collect();
        order.sort_by_key(|&i| (self.students.get(i).and_then(|s| s.class_position).map_or(u32::MAX, |p| p.place), i));
        order
    }
}

fn sheet_err(key: &str) -> ValidationError {
    ValidationError::new(SHEET_FIELD, key)
}

/// Competition places for keys sorted descending: equal keys share a place.
fn assign_places<K: PartialEq + Copy>(sorted_desc: &[(K, usize)], mut put: impl FnMut(usize, Position)) {
    let out_of = u32::try_from(sorted_desc.len()).unwrap_or(u32::MAX);
    let mut place = 0u32;
    let mut previous: Option<K> = None;
    for (i, (key, who)) in sorted_desc.iter().enumerate() {
        if previous != Some(*key) {
            place = u32::try_from(i).unwrap_or(u32::MAX).saturating_add(1);
            previous = Some(*key);
        }
        put(*who, Position { place, out_of });
    }
}

/// Places from a histogram of whole-mark scores: a score's place is 1 + the number of
/// higher scores.
fn places_by_score(histogram: &[u32; 101]) -> ([u32; 101], u32) {
    let mut places = [0u32; 101];
    let mut higher = 0u32;
    for score in (0..=100usize).rev() {
        if let (Some(p), Some(h)) = (places.get_mut(score), histogram.get(score)) {
            *p = higher + 1;
            higher += h;
        }
    }
    (places, higher)
}

/// Computes a class's results; see the module documentation for the rules.
///
/// Refused (field `sheet`) when the sheet contradicts itself: `error-sheet-subject-unknown`
/// (a subject index past [`Sheet::subjects`]), `error-sheet-subject-repeated` (a student
/// lists a subject twice), `error-sheet-marks-count` (more entries than assessments),
/// `error-sheet-student-repeated` (an admission number twice); and (field `mark`)
/// `error-mark-out-of-range` for a score above its assessment's maximum.
pub fn compute(sheet: &Sheet, assessments: &AssessmentSet, scheme: &GradingScheme) -> Result<ClassResults, ValidationError> {
    let n_subjects = sheet.subjects.len();
    let bands = scheme.bands();
    let n_bands = bands.len();

    // Streams, by name.
    let mut stream_ids: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &sheet.students {
        stream_ids.entry(s.stream.as_str()).or_insert(0);
    }
    for (i, id) in stream_ids.values_mut().enumerate() {
        *id = i;
    }
    let n_streams = stream_ids.len();
    let stream_of: Vec<usize> = sheet.students.iter().map(|s| stream_ids.get(s.stream.as_str()).copied().unwrap_or(0)).collect();

    let mut seen_admission: HashSet<&str> = HashSet::with_capacity(sheet.students.len());
    // Which student last listed each subject (to spot repeats without clearing).
    let mut last_listed = vec![usize::MAX; n_subjects];
    // Score histograms per subject, for the class and per stream.
    let mut class_hist = vec![[0u32; 101]; n_subjects];
    let mut stream_hist = vec![[0u32; 101]; n_subjects * n_streams];
    let mut stats: Vec<SubjectStats> = (0..n_subjects)
        .map(|subject| SubjectStats {
            subject,
            sat: 0,
            absent: 0,
            exempt: 0,
            incomplete: 0,
            mean: None,
            grades: vec![0; n_bands],
            highest: None,
            lowest: None,
            top: Vec::new(),
            bottom: Vec::new(),
        })
        .collect();
    let mut score_sums = vec![0u64; n_subjects];

    let mut students = Vec::with_capacity(sheet.students.len());
    let mut graded: Vec<GradedSubject> = Vec::new();
    for (who, st) in sheet.students.iter().enumerate() {
        if !seen_admission.insert(st.admission_no.as_str()) {
            return Err(sheet_err("error-sheet-student-repeated"));
        }
        let stream = stream_of.get(who).copied().unwrap_or(0);
        graded.clear();
        let (mut total, mut principal_marked) = (0u32, 0usize);
        let mut subjects = Vec::with_capacity(st.subjects.len());
        for entry in &st.subjects {
            let subject = entry.subject;
            let (Some(last), Some(stat)) = (last_listed.get_mut(subject), stats.get_mut(subject)) else {
                return Err(sheet_err("error-sheet-subject-unknown"));
            };
            if *last == who {
                return Err(sheet_err("error-sheet-subject-repeated"));
            }
            *last = who;
            if entry.marks.len() > assessments.len() {
                return Err(sheet_err("error-sheet-marks-count"));
            }
            if entry.principal {
                principal_marked += 1;
            }
            let outcome = assessments.term_outcome(&entry.marks)?;
            let (band, points) = match outcome {
                TermOutcome::Score(score) => {
                    let band = scheme.band_index(score);
                    let points = bands.get(band).map_or(0, |b| b.points);
                    total += u32::from(score);
                    graded.push(GradedSubject { subject, score, points, principal: entry.principal });
                    stat.sat += 1;
                    if let Some(g) = stat.grades.get_mut(band) {
                        *g += 1;
                    }
                    if let Some(sum) = score_sums.get_mut(subject) {
                        *sum += u64::from(score);
                    }
                    if let Some(h) = class_hist.get_mut(subject).and_then(|h| h.get_mut(usize::from(score))) {
                        *h += 1;
                    }
                    if let Some(h) = stream_hist.get_mut(subject * n_streams + stream).and_then(|h| h.get_mut(usize::from(score))) {
                        *h += 1;
                    }
                    (u8::try_from(band).ok(), Some(points))
                }
                TermOutcome::Absent => {
                    stat.absent += 1;
                    (None, None)
                }
                TermOutcome::Exempt => {
                    stat.exempt += 1;
                    (None, None)
                }
                TermOutcome::Incomplete => {
                    stat.incomplete += 1;
                    (None, None)
                }
            };
            subjects.push(SubjectResult {
                subject,
                principal: entry.principal,
                outcome,
                band,
                points,
                stream_position: None,
                class_position: None,
            });
        }
        let sat = u32::try_from(graded.len()).unwrap_or(u32::MAX);
        let average = Hundredths::ratio_half_up(u64::from(total), u64::from(sat));
        let overall = scheme.overall(&graded, principal_marked, average);
        students.push(StudentResult {
            admission_no: st.admission_no.clone(),
            name: st.name.clone(),
            stream: st.stream.clone(),
            combination: st.combination.clone(),
            subjects,
            total,
            sat,
            average,
            overall: overall.overall,
            points: overall.points,
            counted: overall.counted,
            stream_position: None,
            class_position: None,
        });
    }

    // Subject positions and the subject's extremes, from the histograms.
    let class_places: Vec<([u32; 101], u32)> = class_hist.iter().map(places_by_score).collect();
    let stream_places: Vec<([u32; 101], u32)> = stream_hist.iter().map(places_by_score).collect();
    for (who, student) in students.iter_mut().enumerate() {
        let stream = stream_of.get(who).copied().unwrap_or(0);
        for r in &mut student.subjects {
            let Some(score) = r.score() else { continue };
            let at = |table: Option<&([u32; 101], u32)>| {
                table.and_then(|(places, out_of)| places.get(usize::from(score)).map(|&place| Position { place, out_of: *out_of }))
            };
            r.class_position = at(class_places.get(r.subject));
            r.stream_position = at(stream_places.get(r.subject * n_streams + stream));
        }
    }
    for (stat, (hist, sum)) in stats.iter_mut().zip(class_hist.iter().zip(&score_sums)) {
        stat.mean = Hundredths::mean_half_up(*sum * 100, u64::from(stat.sat));
        stat.highest = (0..=100u8).rev().find(|s| hist.get(usize::from(*s)).is_some_and(|c| *c > 0));
        stat.lowest = (0..=100u8).find(|s| hist.get(usize::from(*s)).is_some_and(|c| *c > 0));
    }
    for (who, student) in students.iter().enumerate() {
        for r in &student.subjects {
            let (Some(score), Some(stat)) = (r.score(), stats.get_mut(r.subject)) else { continue };
            if stat.highest == Some(score) {
                stat.top.push(who);
            }
            if stat.lowest == Some(score) {
                stat.bottom.push(who);
            }
        }
    }

    // Class and stream positions by average.
    let mut ranked: Vec<(u32, usize)> = students.iter().enumerate().filter_map(|(i, s)| s.average.map(|a| (a.get(), i))).collect();
    ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    assign_places(&ranked, |who, p| {
        if let Some(s) = students.get_mut(who) {
            s.class_position = Some(p);
        }
    });
    let mut by_stream: Vec<Vec<(u32, usize)>> = vec![Vec::new(); n_streams];
    for &(avg, who) in &ranked {
        if let Some(list) = stream_of.get(who).and_then(|&s| by_stream.get_mut(s)) {
            list.push((avg, who)); // still sorted: `ranked` is
        }
    }
    for list in &by_stream {
        assign_places(list, |who, p| {
            if let Some(s) = students.get_mut(who) {
                s.stream_position = Some(p);
            }
        });
    }

    // Summaries.
    let summarise = |stream: Option<String>, members: &mut dyn Iterator<Item = &StudentResult>| {
        let mut g =
            GroupSummary { stream, students: 0, ranked: 0, average: None, divisions: [0; 5], grades: vec![0; n_bands], no_overall: 0 };
        let mut sum = 0u64;
        for s in members {
            g.students += 1;
            if let Some(a) = s.average {
                g.ranked += 1;
                sum += u64::from(a.get());
            }
            match s.overall {
                Overall::Division { division, .. } => {
                    if let Some(c) = g.divisions.get_mut(division.index()) {
                        *c += 1;
                    }
                }
                Overall::Grade { band } => {
                    if let Some(c) = g.grades.get_mut(usize::from(band)) {
                        *c += 1;
                    }
                }
                Overall::None { .. } => g.no_overall += 1,
            }
        }
        g.average = Hundredths::mean_half_up(sum, u64::from(g.ranked));
        g
    };
    let class = summarise(None, &mut students.iter());
    let streams = stream_ids
        .iter()
        .map(|(name, &id)| {
            summarise(Some((*name).to_owned()), &mut students.iter().zip(&stream_of).filter(|(_, s)| **s == id).map(|(st, _)| st))
        })
        .collect();

    Ok(ClassResults {
        scheme_key: scheme.key().to_owned(),
        scheme_version: scheme.version(),
        assessments_key: assessments.key().to_owned(),
        bands: bands.to_vec(),
        overall_rule: scheme.overall_rule().clone(),
        subjects: sheet.subjects.clone(),
        students,
        subject_stats: stats,
        class,
        streams,
    })
}

#[cfg(test)]
mod tests {
    use super::super::presets;
    use super::super::scheme::{Division, NoOverall};
    use super::*;

    /// A sheet with one assessment (the exam, out of 100): each cell is a mark as typed,
    /// "" for a subject not taken, and a leading `*` marks a principal subject.
    fn exam_sheet(subjects: &[&str], rows: &[(&str, &str, &[&str])]) -> Sheet {
        Sheet {
            subjects: subjects.iter().map(|s| s.to_string()).collect(),
            students: rows
                .iter()
                .enumerate()
                .map(|(i, (name, stream, cells))| SheetStudent {
                    admission_no: format!("S{:03}", i + 1),
                    name: name.to_string(),
                    stream: stream.to_string(),
                    combination: None,
                    subjects: cells
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| !c.is_empty())
                        .map(|(subject, c)| {
                            let (principal, typed) = match c.strip_prefix('*') {
                                Some(rest) => (true, rest),
                                None => (false, *c),
                            };
                            SheetSubject { subject, principal, marks: vec![Some(Mark::parse(typed, 100).unwrap())] }
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn exam_only() -> AssessmentSet {
        AssessmentSet::preset("exam-only").unwrap()
    }

    fn place(p: Option<Position>) -> Option<(u32, u32)> {
        p.map(|p| (p.place, p.out_of))
    }

    fn division(s: &StudentResult) -> Option<Division> {
        match s.overall {
            Overall::Division { division, .. } => Some(division),
            _ => None,
        }
    }

    fn csee_class() -> ClassResults {
        let sheet = exam_sheet(
            &["S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8"],
            &[
                ("Asha", "A", &["75", "74", "65", "64", "45", "44", "30", ""]),
                ("Baraka", "A", &["80", "80", "80", "80", "80", "80", "80", ""]),
                ("Chausiku", "B", &["29", "29", "29", "29", "29", "29", "29", ""]),
                ("Daudi", "B", &["80", "80", "80", "80", "80", "80", "ABS", ""]),
                ("Eliya", "A", &["30", "30", "30", "30", "30", "30", "30", "75"]),
                ("Fatuma", "B", &["74", "74", "74", "74", "74", "74", "74", "EX"]),
                ("Gabriel", "A", &["29", "29", "29", "29", "29", "30", "30", ""]),
            ],
        );
        compute(&sheet, &exam_only(), &presets::necta_csee_2016().unwrap()).unwrap()
    }

    #[test]
    fn csee_grades_points_and_divisions() {
        let r = csee_class();
        let s = &r.students;
        // Asha: A B B C C D D = 1+2+2+3+3+4+4 = 19 → II; the band edges 75/74, 65/64, 45/44, 30.
        let grades: Vec<&str> = s[0].subjects.iter().map(|x| r.grade(x.band.unwrap())).collect();
        assert_eq!(grades, ["A", "B", "B", "C", "C", "D", "D"]);
        assert_eq!(s[0].subjects.iter().map(|x| x.points.unwrap()).collect::<Vec<_>>(), [1, 2, 2, 3, 3, 4, 4]);
        assert_eq!((s[0].points, division(&s[0])), (Some(19), Some(Division::II)));
        assert_eq!((s[0].total, s[0].sat, s[0].average), (397, 7, Some(Hundredths(5671)))); // 56.714…
        assert_eq!((s[1].points, division(&s[1])), (Some(7), Some(Division::I)));
        assert_eq!((s[2].points, division(&s[2])), (Some(35), Some(Division::Zero)));
        // Daudi was absent in S7: six subjects sat, no division, and the reason says so.
        assert_eq!(s[3].overall, Overall::None { why: NoOverall::FewerSubjects { needed: 7, sat: 6 } });
        assert_eq!(s[3].points, None);
        assert_eq!(s[3].subjects[6].outcome, TermOutcome::Absent);
        assert_eq!((s[3].total, s[3].sat, s[3].average), (480, 6, Some(Hundredths(8000))));
        // Eliya: the best seven of eight: the A in S8 and six of the D's = 1 + 24 = 25 → III.
        assert_eq!((s[4].points, division(&s[4])), (Some(25), Some(Division::III)));
        assert_eq!(s[4].counted, [7, 0, 1, 2, 3, 4, 5]);
        assert_eq!(s[4].average, Some(Hundredths(3563))); // 285 / 8 = 35.625 → 35.63
                                                          // Fatuma is exempt in S8: seven B's = 14 → I; the EX is not a zero in her average.
        assert_eq!((s[5].points, division(&s[5])), (Some(14), Some(Division::I)));
        assert_eq!((s[5].sat, s[5].average), (7, Some(Hundredths(7400))));
        assert_eq!(s[5].subjects[7].outcome, TermOutcome::Exempt);
        // Gabriel: five F and two D = 25 + 8 = 33 → IV (34 would be 0).
        assert_eq!((s[6].points, division(&s[6])), (Some(33), Some(Division::IV)));
    }

    #[test]
    fn positions_share_places_and_skip() {
        let r = csee_class();
        let places: Vec<Option<(u32, u32)>> = r.students.iter().map(|s| place(s.class_position)).collect();
        // Averages 56.71, 80, 29, 80, 35.63, 74, 29.29: Baraka and Daudi share first, Fatuma is third.
        assert_eq!(places, [Some((4, 7)), Some((1, 7)), Some((7, 7)), Some((1, 7)), Some((5, 7)), Some((3, 7)), Some((6, 7))]);
        let streams: Vec<Option<(u32, u32)>> = r.students.iter().map(|s| place(s.stream_position)).collect();
        assert_eq!(streams, [Some((2, 4)), Some((1, 4)), Some((3, 3)), Some((1, 3)), Some((3, 4)), Some((2, 3)), Some((4, 4))]);
        assert_eq!(r.merit_order(), [1, 3, 5, 0, 4, 6, 2]);
        // S1: 80, 80 → 1, 1; 75 → 3; 74 → 4; 30 → 5; 29, 29 → 6, 6.
        let s1: Vec<Option<(u32, u32)>> = r.students.iter().map(|s| place(s.subjects[0].class_position)).collect();
        assert_eq!(s1, [Some((3, 7)), Some((1, 7)), Some((6, 7)), Some((1, 7)), Some((5, 7)), Some((4, 7)), Some((6, 7))]);
        // S7 without the absent Daudi: 80; 74; 30, 30, 30; 29.
        let s7: Vec<Option<(u32, u32)>> = r.students.iter().map(|s| place(s.subjects[6].class_position)).collect();
        assert_eq!(s7, [Some((3, 6)), Some((1, 6)), Some((6, 6)), None, Some((3, 6)), Some((2, 6)), Some((3, 6))]);
        let s7_stream: Vec<Option<(u32, u32)>> = r.students.iter().map(|s| place(s.subjects[6].stream_position)).collect();
        assert_eq!(s7_stream, [Some((2, 4)), Some((1, 4)), Some((2, 2)), None, Some((2, 4)), Some((1, 2)), Some((2, 4))]);
    }

    #[test]
    fn subject_statistics_and_summaries() {
        let r = csee_class();
        let s1 = &r.subject_stats[0];
        assert_eq!((s1.sat, s1.absent, s1.exempt, s1.incomplete), (7, 0, 0, 0));
        assert_eq!(s1.mean, Some(Hundredths(5671))); // 397 / 7
        assert_eq!(s1.grades, [3, 1, 0, 1, 2]); // A A A B D F F
        assert_eq!((s1.highest, s1.lowest), (Some(80), Some(29)));
        assert_eq!((s1.top.as_slice(), s1.bottom.as_slice()), (&[1, 3][..], &[2, 6][..]));
        let s7 = &r.subject_stats[6];
        assert_eq!((s7.sat, s7.absent), (6, 1));
        let s8 = &r.subject_stats[7];
        assert_eq!((s8.sat, s8.exempt, s8.mean), (1, 1, Some(Hundredths(7500))));
        assert_eq!((s8.top.as_slice(), s8.bottom.as_slice()), (&[4][..], &[4][..]));

        assert_eq!(r.class.divisions, [2, 1, 1, 1, 1]);
        assert_eq!((r.class.students, r.class.ranked, r.class.no_overall), (7, 7, 1));
        // Mean of the averages shown: (56.71 + 80 + 29 + 80 + 35.63 + 74 + 29.29) / 7 = 54.947… → 54.95.
        assert_eq!(r.class.average, Some(Hundredths(5495)));
        assert_eq!(r.streams.len(), 2);
        assert_eq!(r.streams[0].stream.as_deref(), Some("A"));
        assert_eq!(r.streams[0].average, Some(Hundredths(5041))); // 201.63 / 4 = 50.4075
        assert_eq!(r.streams[0].divisions, [1, 1, 1, 1, 0]);
        assert_eq!(r.streams[1].average, Some(Hundredths(6100)));
        assert_eq!((r.streams[1].divisions, r.streams[1].no_overall), ([1, 0, 0, 0, 1], 1));
    }

    #[test]
    fn csee_division_boundaries() {
        let scheme = presets::necta_csee_2016().unwrap();
        // Seven subjects whose points add up to `total` (each 1..=5).
        let with_points = |total: u16| {
            let mut left = total;
            let graded: Vec<GradedSubject> = (0..7u16)
                .map(|i| {
                    let p = (left - (6 - i)).min(5); // leave at least 1 for each remaining subject
                    left -= p;
                    GradedSubject { subject: usize::from(i), score: 50, points: u8::try_from(p).unwrap(), principal: false }
                })
                .collect();
            assert_eq!(graded.iter().map(|g| u16::from(g.points)).sum::<u16>(), total);
            match scheme.overall(&graded, 0, None).overall {
                Overall::Division { division, points } => {
                    assert_eq!(points, total);
                    division
                }
                other => panic!("{other:?}"),
            }
        };
        use Division::*;
        let expected = [(7, I), (17, I), (18, II), (21, II), (22, III), (25, III), (26, IV), (33, IV), (34, Zero), (35, Zero)];
        for (points, division) in expected {
            assert_eq!(with_points(points), division, "{points} points");
        }
    }

    #[test]
    fn acsee_counts_the_principal_subjects_only() {
        let sheet = exam_sheet(
            &["PHY", "CHE", "MAT", "GS", "BAM"],
            &[
                ("Neema", "PCM", &["*80", "*70", "*60", "35", "20"]),
                ("Omari", "PCM", &["*59", "*50", "*49", "90", "90"]),
                ("Pendo", "PCM", &["*80", "*80", "*ABS", "60", "60"]),
                ("Rehema", "PCM", &["80", "80", "80", "80", "80"]),
                ("Said", "PCM", &["*34", "*35", "*40", "", ""]),
                ("Tumaini", "PCM", &["*34", "*34", "*35", "", ""]),
                ("Upendo", "PCM", &["*34", "*35", "*39", "", ""]),
            ],
        );
        let r = compute(&sheet, &exam_only(), &presets::necta_acsee_2016().unwrap()).unwrap();
        let s = &r.students;
        // A B C = 6 → I; the S in GS and the F in BAM (subsidiaries) do not count.
        assert_eq!((s[0].points, division(&s[0])), (Some(6), Some(Division::I)));
        assert_eq!(r.grade(s[0].subjects[3].band.unwrap()), "S");
        assert_eq!(r.grade(s[0].subjects[4].band.unwrap()), "F");
        assert_eq!(s[0].counted, [0, 1, 2]);
        // D D E = 13 → III, although the two A's in subsidiaries would make a best-three of 6.
        assert_eq!((s[1].points, division(&s[1])), (Some(13), Some(Division::III)));
        // Absent in a principal subject: two sat, no division.
        assert_eq!(s[2].overall, Overall::None { why: NoOverall::FewerPrincipalSubjects { needed: 3, sat: 2 } });
        // No principal subjects given: no division, never a guess.
        assert_eq!(s[3].overall, Overall::None { why: NoOverall::PrincipalSubjects { needed: 3, marked: 0 } });
        // F S E = 7 + 6 + 5 = 18 → IV; F F S = 20 → 0; F S S = 19 → IV.
        assert_eq!((s[4].points, division(&s[4])), (Some(18), Some(Division::IV)));
        assert_eq!((s[5].points, division(&s[5])), (Some(20), Some(Division::Zero)));
        assert_eq!((s[6].points, division(&s[6])), (Some(19), Some(Division::IV)));
        assert_eq!(r.class.divisions, [1, 0, 1, 2, 1]);
        assert_eq!(r.class.no_overall, 2);
    }

    #[test]
    fn acsee_needs_exactly_the_principal_subjects_it_counts() {
        let sheet = exam_sheet(&["PHY", "CHE", "MAT", "BIO"], &[("Vumilia", "PCMB", &["*80", "*80", "*80", "*80"])]);
        let r = compute(&sheet, &exam_only(), &presets::necta_acsee_2016().unwrap()).unwrap();
        assert_eq!(r.students[0].overall, Overall::None { why: NoOverall::PrincipalSubjects { needed: 3, marked: 4 } });
        assert_eq!(NoOverall::PrincipalSubjects { needed: 3, marked: 4 }.to_string(), "4 principal subjects given, 3 needed");
    }

    #[test]
    fn primary_overall_grade_from_the_average() {
        let scheme = presets::primary_psle().unwrap();
        let set = AssessmentSet::default_primary();
        // Out of 50; the same mark in all three assessments gives twice it in percent.
        let same = |typed: &str| {
            let m = Some(Mark::parse(typed, 50).unwrap());
            vec![m, m, m]
        };
        let student = |name: &str, cells: &[&str]| SheetStudent {
            admission_no: name.to_uppercase(),
            name: name.into(),
            stream: "VII".into(),
            combination: None,
            subjects: cells
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.is_empty())
                .map(|(subject, c)| SheetSubject { subject, principal: false, marks: same(c) })
                .collect(),
        };
        let sheet = Sheet {
            subjects: ["KIS", "ENG", "MAT", "SCI", "SST", "CME"].map(String::from).to_vec(),
            students: vec![
                // 82, 81, 80, 61, 60: A A B B C; average 364 / 5 = 72.80 → 73 → B.
                student("Zawadi", &["41", "40.5", "40", "30.5", "30", ""]),
                // Four sat and one absent: no overall grade.
                student("Juma", &["45", "45", "45", "45", "ABS", ""]),
                // 81, 80, 81, 80, 81, 80: average 80.50 → 81 → A (half up at the B/A edge).
                student("Kito", &["40.5", "40", "40.5", "40", "40.5", "40"]),
            ],
        };
        let r = compute(&sheet, &set, &scheme).unwrap();
        let z = &r.students[0];
        assert_eq!(z.subjects.iter().map(|s| s.score().unwrap()).collect::<Vec<_>>(), [82, 81, 80, 61, 60]);
        assert_eq!(z.subjects.iter().map(|s| r.grade(s.band.unwrap())).collect::<Vec<_>>(), ["A", "A", "B", "B", "C"]);
        assert_eq!(z.average, Some(Hundredths(7280)));
        assert_eq!(z.overall, Overall::Grade { band: 1 });
        assert_eq!(z.points, None);
        assert_eq!(r.students[1].overall, Overall::None { why: NoOverall::FewerSubjects { needed: 5, sat: 4 } });
        assert_eq!(r.students[1].average, Some(Hundredths(9000)));
        assert_eq!(r.students[2].average, Some(Hundredths(8050)));
        assert_eq!(r.students[2].overall, Overall::Grade { band: 0 });
        assert_eq!(r.class.grades, [1, 1, 0, 0, 0]);
        assert_eq!(r.class.no_overall, 1);
        assert_eq!(r.class.divisions, [0; 5]);
    }

    #[test]
    fn exempt_and_absent_are_not_zero() {
        let sheet =
            exam_sheet(&["S1", "S2"], &[("Zero", "A", &["60", "0"]), ("Exempt", "A", &["60", "EX"]), ("Absent", "A", &["60", "ABS"])]);
        let r = compute(&sheet, &exam_only(), &presets::necta_csee_2016().unwrap()).unwrap();
        let avg: Vec<Option<Hundredths>> = r.students.iter().map(|s| s.average).collect();
        assert_eq!(avg, [Some(Hundredths(3000)), Some(Hundredths(6000)), Some(Hundredths(6000))]);
        assert_eq!(r.students.iter().map(|s| s.sat).collect::<Vec<_>>(), [2, 1, 1]);
        assert_eq!(r.subject_stats[1].mean, Some(Hundredths(0)));
        assert_eq!((r.subject_stats[1].sat, r.subject_stats[1].exempt, r.subject_stats[1].absent), (1, 1, 1));
        // Nothing sat: no average, no position.
        let sheet = exam_sheet(&["S1"], &[("Away", "A", &["ABS"]), ("Here", "A", &["50"])]);
        let r = compute(&sheet, &exam_only(), &presets::necta_csee_2016().unwrap()).unwrap();
        assert_eq!((r.students[0].average, r.students[0].class_position), (None, None));
        assert_eq!(place(r.students[1].class_position), Some((1, 1)));
        assert_eq!(r.class.average, Some(Hundredths(5000)));
    }

    #[test]
    fn contradictory_sheets_are_refused() {
        let scheme = presets::necta_csee_2016().unwrap();
        let good = exam_sheet(&["S1", "S2"], &[("A", "A", &["50", "60"])]);
        assert!(compute(&good, &exam_only(), &scheme).is_ok());
        let key = |sheet: &Sheet| compute(sheet, &exam_only(), &scheme).unwrap_err().message;
        let mut bad = good.clone();
        bad.students[0].subjects[1].subject = 0;
        assert_eq!(key(&bad), "error-sheet-subject-repeated");
        let mut bad = good.clone();
        bad.students[0].subjects[1].subject = 2;
        assert_eq!(key(&bad), "error-sheet-subject-unknown");
        let mut bad = good.clone();
        bad.students[0].subjects[1].marks.push(None);
        assert_eq!(key(&bad), "error-sheet-marks-count");
        let mut bad = good.clone();
        bad.students.push(bad.students[0].clone());
        assert_eq!(key(&bad), "error-sheet-student-repeated");
        let mut bad = good.clone();
        bad.students[0].subjects[0].marks[0] = Some(Mark::Score(Hundredths(10_050)));
        assert_eq!(key(&bad), "error-mark-out-of-range");
        // An empty sheet is no error: an empty result.
        let r = compute(&Sheet::default(), &exam_only(), &scheme).unwrap();
        assert_eq!((r.students.len(), r.class.students, r.class.average), (0, 0, None));
    }

    #[test]
    fn the_same_sheet_gives_the_same_results() {
        assert_eq!(csee_class(), csee_class());
        assert_eq!(serde_json::to_string(&csee_class()).unwrap(), serde_json::to_string(&csee_class()).unwrap());
    }
}
