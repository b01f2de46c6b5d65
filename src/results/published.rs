//! A student's term result as published: what parents and students read, and what a
//! report card prints. Kept as it was computed at publication, so it never moves.

use super::assessments::{AssessmentSet, TermOutcome};
use super::compute::{ClassResults, Position};
use super::marks::Mark;
use super::scheme::Overall;
use serde::{Deserialize, Serialize};

/// A subject's names as the school keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectName {
    pub code: String,
    pub en: String,
    pub sw: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedSubject {
    pub code: String,
    pub name_en: String,
    pub name_sw: String,
    /// The entries per assessment as typed (`67.5`, `ABS`, `EX`, "" not entered).
    pub marks: Vec<String>,
    /// The term score (0–100) when sat.
    pub score: Option<u8>,
    /// `73`, `ABS`, `EX` or "" (incomplete).
    pub outcome: String,
    pub grade: String,
    pub points: Option<u8>,
    pub remark_en: String,
    pub remark_sw: String,
    pub stream_position: Option<Position>,
    pub class_position: Option<Position>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedResult {
    pub term_label: String,
    pub class_name: String,
    pub scheme_name: String,
    /// Assessment names, in the order of `PublishedSubject::marks`.
    pub assessments: Vec<String>,
    pub subjects: Vec<PublishedSubject>,
    pub total: u32,
    pub sat: u32,
    /// `67.33`, or "" when nothing was sat.
    pub average: String,
    pub points: Option<u16>,
    /// `I`…`0` for a division, the grade for an overall grade, "" when there is none.
    pub overall: String,
    /// Why there is no division (an i18n key), if there is none.
    pub no_overall_key: Option<String>,
    pub stream_position: Option<Position>,
    pub class_position: Option<Position>,
}

/// What every published result of a class shares.
#[derive(Debug, Clone, Copy)]
pub struct ClassContext<'a> {
    /// The sheet's subjects, in order.
    pub subjects: &'a [SubjectName],
    pub assessments: &'a AssessmentSet,
    pub term_label: &'a str,
    pub scheme_name: &'a str,
}

impl PublishedResult {
    /// Student `index` of `results`, in `class_name`; `marks` are the student's entries per
    /// subject taken (as the sheet listed them).
    pub fn of(
        results: &ClassResults,
        index: usize,
        class: ClassContext<'_>,
        marks: &[Vec<Option<Mark>>],
        class_name: &str,
    ) -> Option<Self> {
        let ClassContext { subjects, assessments, term_label, scheme_name } = class;
        let student = results.students.get(index)?;
        let subject_rows = student
            .subjects
            .iter()
            .zip(marks)
            .map(|(s, entries)| {
                let name = subjects.get(s.subject);
                let band = s.band.and_then(|b| results.bands.get(usize::from(b)));
                PublishedSubject {
                    code: name.map(|n| n.code.clone()).unwrap_or_default(),
                    name_en: name.map(|n| n.en.clone()).unwrap_or_default(),
                    name_sw: name.map(|n| n.sw.clone()).unwrap_or_default(),
                    marks: (0..assessments.len())
                        .map(|i| entries.get(i).copied().flatten().map(Mark::to_sheet_string).unwrap_or_default())
                        .collect(),
                    score: s.score(),
                    outcome: match s.outcome {
                        TermOutcome::Score(v) => v.to_string(),
                        TermOutcome::Absent => "ABS".to_owned(),
                        TermOutcome::Exempt => "EX".to_owned(),
                        TermOutcome::Incomplete => String::new(),
                    },
                    grade: band.map(|b| b.grade.clone()).unwrap_or_default(),
                    points: s.points,
                    remark_en: band.map(|b| b.remark_en.clone()).unwrap_or_default(),
                    remark_sw: band.map(|b| b.remark_sw.clone()).unwrap_or_default(),
                    stream_position: s.stream_position,
                    class_position: s.class_position,
                }
            })
            .collect();
        let (overall, no_overall_key) = match student.overall {
            Overall::Division { division, .. } => (division.label().to_owned(), None),
            Overall::Grade { band } => (results.grade(band).to_owned(), None),
            Overall::None { why } => (String::new(), Some(why.message_key().to_owned())),
        };
        Some(Self {
            term_label: term_label.to_owned(),
            class_name: class_name.to_owned(),
            scheme_name: scheme_name.to_owned(),
            assessments: assessments.assessments().iter().map(|a| a.name.clone()).collect(),
            subjects: subject_rows,
            total: student.total,
            sat: student.sat,
            average: student.average.map(|a| a.to_string()).unwrap_or_default(),
            points: student.points,
            overall,
            no_overall_key,
            stream_position: student.stream_position,
            class_position: student.class_position,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{compute, presets, Sheet, SheetStudent, SheetSubject};

    #[test]
    fn a_published_result_carries_what_parents_read() {
        let set = AssessmentSet::default_secondary();
        let scheme = presets::necta_csee_2016().unwrap();
        let m = |s: &str| Mark::parse(s, 100).ok();
        let subjects: Vec<SubjectName> =
            ["MATH", "ENGL"].iter().map(|c| SubjectName { code: (*c).into(), en: format!("{c} en"), sw: format!("{c} sw") }).collect();
        let entries = vec![vec![m("80"), m("70"), m("60"), m("75")], vec![m("50"), m("50"), m("50"), m("abs")]];
        let sheet = Sheet {
            subjects: subjects.iter().map(|s| s.code.clone()).collect(),
            students: vec![SheetStudent {
                admission_no: "A1".into(),
                name: "Asha".into(),
                stream: "A".into(),
                combination: None,
                subjects: entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| SheetSubject { subject: i, principal: false, marks: e.clone() })
                    .collect(),
            }],
        };
        let results = compute(&sheet, &set, &scheme).unwrap();
        let class = ClassContext { subjects: &subjects, assessments: &set, term_label: "2026 T1", scheme_name: scheme.name() };
        let p = PublishedResult::of(&results, 0, class, &entries, "Form 2A").unwrap();
        assert_eq!(p.subjects[0].outcome, "73");
        assert_eq!(p.subjects[0].grade, "B");
        assert_eq!(p.subjects[0].marks, vec!["80", "70", "60", "75"]);
        assert_eq!(p.subjects[1].outcome, "ABS");
        assert_eq!(p.subjects[1].grade, "");
        assert_eq!((p.total, p.sat), (73, 1));
        assert_eq!(p.average, "73.00");
        // One subject sat of seven needed: no division, and the reason says so.
        assert_eq!(p.overall, "");
        assert_eq!(p.no_overall_key.as_deref(), Some("results-no-overall-fewer-subjects"));
        assert_eq!(p.class_position.map(|c| (c.place, c.out_of)), Some((1, 1)));
        assert!(PublishedResult::of(&results, 1, class, &entries, "").is_none());
    }
}
