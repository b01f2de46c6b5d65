//! Deterministic sample mark sheets, for `kilele bench results` and tests: the same
//! arguments always give the same sheet (a fixed-seed xorshift generator, no OS randomness).

use super::assessments::{Assessment, AssessmentKind, AssessmentSet, AssessmentSetDraft, CaAbsence};
use super::compute::{Sheet, SheetStudent, SheetSubject};
use super::marks::{Hundredths, Mark};
use crate::ValidationError;

/// Three assessments with different maxima (so the exact common-denominator path is what
/// is measured): a test out of 50 (20 %), the midterm out of 100 (20 %), the terminal exam
/// out of 100 (60 %).
pub fn three_assessments() -> Result<AssessmentSet, ValidationError> {
    let a = |key: &str, name: &str, max, weight, kind| Assessment { key: key.into(), name: name.into(), max, weight, kind };
    AssessmentSet::parse(AssessmentSetDraft {
        key: "bench-three".into(),
        name: "Test, midterm, terminal exam".into(),
        assessments: vec![
            a("test", "Test", 50, 20, AssessmentKind::Continuous),
            a("midterm", "Midterm", 100, 20, AssessmentKind::Continuous),
            a("exam", "Terminal exam", 100, 60, AssessmentKind::Exam),
        ],
        ca_absence: CaAbsence::Reweight,
    })
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A sheet of `students` students in `streams` streams (A, B, …), each taking all
/// `subjects` subjects, with one entry per assessment of `set`. Marks follow each
/// student's ability with noise, in half marks; about 1 % of entries are `ABS` and 0.5 %
/// `EX`. The first seven subjects are marked principal (irrelevant unless the scheme counts
/// principal subjects).
pub fn sheet(students: usize, subjects: usize, streams: usize, set: &AssessmentSet, seed: u64) -> Sheet {
    let mut rng = XorShift(seed | 1);
    let streams = streams.max(1);
    let stream_names: Vec<String> = (0..streams)
        .map(|i| char::from_u32(u32::from(b'A') + u32::try_from(i % 26).unwrap_or(0)).map_or_else(|| "A".into(), String::from))
        .collect();
    let mut out = Sheet { subjects: (1..=subjects).map(|i| format!("S{i:02}")).collect(), students: Vec::with_capacity(students) };
    for n in 0..students {
        let ability = 25 + rng.below(60); // 25 ..= 84 percent
        let mut subs = Vec::with_capacity(subjects);
        for subject in 0..subjects {
            let marks = set
                .assessments()
                .iter()
                .map(|a| {
                    let roll = rng.below(1000);
                    if roll < 10 {
                        return Some(Mark::Absent);
                    }
                    if roll < 15 {
                        return Some(Mark::Exempt);
                    }
                    let noise = rng.below(41); // −20 ..= +20
                    let percent = (ability + noise).saturating_sub(20).min(100);
                    // In half marks of the assessment's maximum.
                    let half_marks = percent * u64::from(a.max) * 2 / 100;
                    Some(Mark::Score(Hundredths(u32::try_from(half_marks * 50).unwrap_or(0))))
                })
                .collect();
            subs.push(SheetSubject { subject, principal: subject < 7, marks });
        }
        out.students.push(SheetStudent {
            admission_no: format!("B/{:05}", n + 1),
            name: format!("Student {}", n + 1),
            stream: stream_names.get(n % streams).cloned().unwrap_or_default(),
            combination: None,
            subjects: subs,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{compute, presets};
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_sheet_and_results() {
        let set = three_assessments().unwrap();
        let a = sheet(200, 12, 4, &set, 7);
        assert_eq!(a, sheet(200, 12, 4, &set, 7));
        assert_ne!(a, sheet(200, 12, 4, &set, 8));
        assert_eq!(a.students.len(), 200);
        assert_eq!(a.students[0].subjects.len(), 12);
        let scheme = presets::necta_csee_2016().unwrap();
        let r = compute(&a, &set, &scheme).unwrap();
        assert_eq!(r, compute(&a, &set, &scheme).unwrap());
        assert_eq!(r.class.students, 200);
        assert_eq!(r.streams.len(), 4);
        // Some ABS and EX show up, and most students get a division.
        let absent: u32 = r.subject_stats.iter().map(|s| s.absent).sum();
        assert!(absent > 0);
        assert!(r.class.divisions.iter().sum::<u32>() > 150);
    }
}
