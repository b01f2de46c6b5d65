//! Built-in grading schemes, each with its source in its data.
//!
//! | Key | For | Exam years |
//! |---|---|---|
//! | `necta-csee-2016` | Form 1–4 (CSEE) | 2016 – |
//! | `necta-csee-pre-2014` | Form 1–4 (CSEE), **unconfirmed** | – 2013 |
//! | `necta-acsee-2016` | Form 5–6 (ACSEE) | 2016 – |
//! | `primary-psle` | Standard I–VII | any |
//!
//! The CSEE years 2014 and 2015 (NECTA's GPA system, with B+) and the ACSEE before 2016 have
//! no preset: [`preset_for`] says so instead of guessing.
//!
//! What was checked, and against what, is in each scheme's `source` text. In short: the
//! search for sources found third-party pages only, no NECTA publication, so every preset
//! says which pages agree and where they disagree.

use super::scheme::{CountedSubjects, Division, DivisionRange, ExamYears, GradeBand, GradingScheme, OverallRule, SchemeDraft};
use crate::academic::Band;
use crate::ValidationError;

/// Keys of the built-in schemes.
pub const PRESET_KEYS: [&str; 4] = ["necta-csee-2016", "necta-csee-pre-2014", "necta-acsee-2016", "primary-psle"];

/// A built-in scheme by key (see [`PRESET_KEYS`]).
pub fn preset(key: &str) -> Option<GradingScheme> {
    match key {
        "necta-csee-2016" => necta_csee_2016().ok(),
        "necta-csee-pre-2014" => necta_csee_pre_2014().ok(),
        "necta-acsee-2016" => necta_acsee_2016().ok(),
        "primary-psle" => primary_psle().ok(),
        _ => None,
    }
}

/// The built-in scheme for a level and exam year: primary → `primary-psle`; O-level (Form
/// 1–3 are graded like the CSEE) → the CSEE scheme of that year; A-level → the ACSEE scheme.
/// Refused (`exam_year`: `error-scheme-no-preset`) when no built-in scheme covers the year,
/// e.g. the CSEE of 2014–2015.
pub fn preset_for(band: Band, exam_year: u16) -> Result<GradingScheme, ValidationError> {
    let candidates: &[&str] = match band {
        Band::Primary => &["primary-psle"],
        Band::OLevel => &["necta-csee-2016", "necta-csee-pre-2014"],
        Band::ALevel => &["necta-acsee-2016"],
    };
    candidates
        .iter()
        .filter_map(|k| preset(k))
        .find(|s| s.valid_for_year(exam_year))
        .ok_or_else(|| ValidationError::new("exam_year", "error-scheme-no-preset"))
}

fn band(grade: &str, min: u8, max: u8, points: u8, en: &str, sw: &str) -> GradeBand {
    GradeBand { grade: grade.to_owned(), min, max, points, remark_en: en.to_owned(), remark_sw: sw.to_owned() }
}

fn divisions(ranges: [(Division, u16, u16); 5]) -> Vec<DivisionRange> {
    ranges.into_iter().map(|(division, min_points, max_points)| DivisionRange { division, min_points, max_points }).collect()
}

fn csee_divisions() -> OverallRule {
    use Division::*;
    OverallRule::Division {
        counted: CountedSubjects::Best { count: 7 },
        divisions: divisions([(I, 7, 17), (II, 18, 21), (III, 22, 25), (IV, 26, 33), (Zero, 34, 35)]),
    }
}

/// NECTA CSEE (Form 4; Form 1–3 too), current since the 2016 examinations.
pub fn necta_csee_2016() -> Result<GradingScheme, ValidationError> {
    GradingScheme::parse(SchemeDraft {
        key: "necta-csee-2016".into(),
        name: "NECTA CSEE (Form 1–4), 2016 onwards".into(),
        version: 1,
        source: "Bands A 75-100 (1 point), B 65-74 (2), C 45-64 (3), D 30-44 (4), F 0-29 (5); division from the points \
                 of the best seven subjects: I 7-17, II 18-21, III 22-25, IV 26-33, 0 34-35; fewer than seven subjects \
                 sat: no division. Values from the Kilele results brief (issue 7), as used since the 2016 CSEE after \
                 the 2014-2015 GPA system was withdrawn. Checked against third-party pages only, not a NECTA \
                 publication: iziraa.com ('Understanding the NECTA grading system') agrees on bands, points and \
                 division ranges; electrotza.com ('NECTA grading system 2021') says a division needs at least seven \
                 subjects; sra.johcrazy.com gives C 50-64 and D 30-49, which disagrees on the C/D boundary. NECTA's \
                 conditions beyond points (passes in named subjects, etc.) are not encoded. Open-ended: a third-party \
                 page (darasahuru.ac.tz, 2025) reports a NECTA review of grades for the 2023 curriculum; when NECTA \
                 publishes new bands, add a scheme and close these years."
            .into(),
        exam_years: ExamYears { from: Some(2016), to: None },
        bands: vec![
            band("A", 75, 100, 1, "Excellent", "Bora sana"),
            band("B", 65, 74, 2, "Very good", "Vizuri sana"),
            band("C", 45, 64, 3, "Good", "Vizuri"),
            band("D", 30, 44, 4, "Satisfactory", "Inaridhisha"),
            band("F", 0, 29, 5, "Fail", "Feli"),
        ],
        overall: csee_divisions(),
        frozen: false,
    })
}

/// The CSEE bands before 2014, as the brief gives them. **Unconfirmed**: see the source.
pub fn necta_csee_pre_2014() -> Result<GradingScheme, ValidationError> {
    GradingScheme::parse(SchemeDraft {
        key: "necta-csee-pre-2014".into(),
        name: "NECTA CSEE (Form 1–4), up to 2013 (unconfirmed)".into(),
        version: 1,
        source: "UNCONFIRMED. Bands A 81-100 (1), B 61-80 (2), C 41-60 (3), D 21-40 (4), F 0-20 (5) as the Kilele \
                 results brief (issue 7) gives the CSEE bands before 2014. A search of stored public pages found no \
                 NECTA publication and no independent page stating them for the CSEE: the same ranges are published \
                 as the PSLE scale (eduforumtz.com, 'All levels grading system in Tanzania'), and pages on the old \
                 CSEE disagree (eduforumtz.com describes A from 80 %). Divisions are assumed to be today's best-seven \
                 rule (I 7-17, II 18-21, III 22-25, IV 26-33, 0 34-35), also unconfirmed for these years. Compare \
                 with certificates of those years before publishing results with it. The 2014-2015 CSEE (GPA system \
                 with B+; marambamedia.blogspot.com citing TCU, July 2016) has no scheme."
            .into(),
        exam_years: ExamYears { from: None, to: Some(2013) },
        bands: vec![
            band("A", 81, 100, 1, "Excellent", "Bora sana"),
            band("B", 61, 80, 2, "Very good", "Vizuri sana"),
            band("C", 41, 60, 3, "Good", "Vizuri"),
            band("D", 21, 40, 4, "Satisfactory", "Inaridhisha"),
            band("F", 0, 20, 5, "Fail", "Feli"),
        ],
        overall: csee_divisions(),
        frozen: false,
    })
}

/// NECTA ACSEE (Form 5–6): division from the three principal subjects.
pub fn necta_acsee_2016() -> Result<GradingScheme, ValidationError> {
    use Division::*;
    GradingScheme::parse(SchemeDraft {
        key: "necta-acsee-2016".into(),
        name: "NECTA ACSEE (Form 5–6), 2016 onwards".into(),
        version: 1,
        source: "Bands A 80-100 (1 point), B 70-79 (2), C 60-69 (3), D 50-59 (4), E 40-49 (5), S 35-39 (6, subsidiary \
                 pass), F 0-34 (7); division from the points of the three principal subjects of the combination: \
                 I 3-9, II 10-12, III 13-17, IV 18-19, 0 20-21; subsidiary subjects (General Studies, BAM, …) are \
                 graded but never counted; fewer than three principal subjects sat: no division. Values from the \
                 Kilele results brief (issue 7). Checked against third-party pages only: the bands and points agree \
                 with wazaelimu.com ('Alama za ufaulu kidato cha tano na sita'); matokeo.co's division conditions \
                 agree for I (at most 9 points in three principal subjects) and II (at most 12); electrotza.com says \
                 a division needs the three principal subjects. NECTA's further conditions (character assessment, \
                 passes in named subjects) are not encoded. Years before 2016 not checked."
            .into(),
        exam_years: ExamYears { from: Some(2016), to: None },
        bands: vec![
            band("A", 80, 100, 1, "Excellent", "Bora sana"),
            band("B", 70, 79, 2, "Very good", "Vizuri sana"),
            band("C", 60, 69, 3, "Good", "Vizuri"),
            band("D", 50, 59, 4, "Average", "Wastani"),
            band("E", 40, 49, 5, "Satisfactory", "Inaridhisha"),
            band("S", 35, 39, 6, "Subsidiary pass", "Hairidhishi"),
            band("F", 0, 34, 7, "Fail", "Feli"),
        ],
        overall: OverallRule::Division {
            counted: CountedSubjects::Principal { count: 3 },
            divisions: divisions([(I, 3, 9), (II, 10, 12), (III, 13, 17), (IV, 18, 19), (Zero, 20, 21)]),
        },
        frozen: false,
    })
}

/// Primary (Standard I–VII), PSLE-style A–E with an overall grade from the average.
pub fn primary_psle() -> Result<GradingScheme, ValidationError> {
    GradingScheme::parse(SchemeDraft {
        key: "primary-psle".into(),
        name: "Primary (PSLE style)".into(),
        version: 1,
        source: "School-level grading in the style of the PSLE: A 81-100, B 61-80, C 41-60, D 21-40, E 0-20 percent \
                 (the PSLE writes them out of 50: A 41-50, B 31-40, C 21-30, D 11-20, E 0-10). The overall grade is \
                 the average rounded half up to a whole mark, graded with the same bands, given when at least five \
                 subjects were sat (Kilele's choice: the five examined PSLE subjects). Points A 1 to E 5 are carried \
                 for completeness; the overall grade does not use them. Bands as published by eduforumtz.com ('All \
                 levels grading system in Tanzania'), a third-party page, not checked against a NECTA publication; \
                 the same page reports a new PSLE scale from 2024, not encoded here."
            .into(),
        exam_years: ExamYears::default(),
        bands: vec![
            band("A", 81, 100, 1, "Excellent", "Bora sana"),
            band("B", 61, 80, 2, "Very good", "Vizuri sana"),
            band("C", 41, 60, 3, "Good", "Vizuri"),
            band("D", 21, 40, 4, "Satisfactory", "Inaridhisha"),
            band("E", 0, 20, 5, "Fail", "Feli"),
        ],
        overall: OverallRule::AverageGrade { min_subjects: 5 },
        frozen: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grade(s: &GradingScheme, score: u8) -> (&str, u8) {
        let b = s.band(score).unwrap();
        (b.grade.as_str(), b.points)
    }

    #[test]
    fn every_preset_is_valid_and_cites_a_source() {
        for key in PRESET_KEYS {
            let s = preset(key).unwrap_or_else(|| panic!("{key} does not parse"));
            assert_eq!(s.key(), key);
            assert_eq!(s.version(), 1);
            assert!(s.source().len() > 200, "{key}: state the source");
            assert!(!s.is_frozen());
        }
        assert!(preset("waec").is_none());
        assert!(necta_csee_pre_2014().unwrap().source().starts_with("UNCONFIRMED"));
    }

    #[test]
    fn csee_band_boundaries() {
        let s = necta_csee_2016().unwrap();
        assert_eq!(grade(&s, 100), ("A", 1));
        assert_eq!(grade(&s, 75), ("A", 1));
        assert_eq!(grade(&s, 74), ("B", 2));
        assert_eq!(grade(&s, 65), ("B", 2));
        assert_eq!(grade(&s, 64), ("C", 3));
        assert_eq!(grade(&s, 45), ("C", 3));
        assert_eq!(grade(&s, 44), ("D", 4));
        assert_eq!(grade(&s, 30), ("D", 4));
        assert_eq!(grade(&s, 29), ("F", 5));
        assert_eq!(grade(&s, 0), ("F", 5));
        assert_eq!(s.band(74).unwrap().remark_sw, "Vizuri sana");
    }

    #[test]
    fn acsee_band_boundaries() {
        let s = necta_acsee_2016().unwrap();
        assert_eq!(grade(&s, 80), ("A", 1));
        assert_eq!(grade(&s, 79), ("B", 2));
        assert_eq!(grade(&s, 70), ("B", 2));
        assert_eq!(grade(&s, 69), ("C", 3));
        assert_eq!(grade(&s, 60), ("C", 3));
        assert_eq!(grade(&s, 59), ("D", 4));
        assert_eq!(grade(&s, 50), ("D", 4));
        assert_eq!(grade(&s, 49), ("E", 5));
        assert_eq!(grade(&s, 40), ("E", 5));
        assert_eq!(grade(&s, 39), ("S", 6));
        assert_eq!(grade(&s, 35), ("S", 6));
        assert_eq!(grade(&s, 34), ("F", 7));
        assert_eq!(grade(&s, 0), ("F", 7));
    }

    #[test]
    fn primary_and_old_csee_boundaries() {
        let p = primary_psle().unwrap();
        assert_eq!(grade(&p, 81).0, "A");
        assert_eq!(grade(&p, 80).0, "B");
        assert_eq!(grade(&p, 61).0, "B");
        assert_eq!(grade(&p, 60).0, "C");
        assert_eq!(grade(&p, 41).0, "C");
        assert_eq!(grade(&p, 40).0, "D");
        assert_eq!(grade(&p, 21).0, "D");
        assert_eq!(grade(&p, 20).0, "E");
        let old = necta_csee_pre_2014().unwrap();
        assert_eq!(grade(&old, 81), ("A", 1));
        assert_eq!(grade(&old, 80), ("B", 2));
        assert_eq!(grade(&old, 21), ("D", 4));
        assert_eq!(grade(&old, 20), ("F", 5));
    }

    #[test]
    fn the_preset_for_a_level_and_year() {
        assert_eq!(preset_for(Band::OLevel, 2024).unwrap().key(), "necta-csee-2016");
        assert_eq!(preset_for(Band::OLevel, 2016).unwrap().key(), "necta-csee-2016");
        assert_eq!(preset_for(Band::OLevel, 2013).unwrap().key(), "necta-csee-pre-2014");
        assert_eq!(preset_for(Band::OLevel, 2014).unwrap_err().message, "error-scheme-no-preset");
        assert_eq!(preset_for(Band::OLevel, 2015).unwrap_err().field, "exam_year");
        assert_eq!(preset_for(Band::ALevel, 2025).unwrap().key(), "necta-acsee-2016");
        assert!(preset_for(Band::ALevel, 2012).is_err());
        assert_eq!(preset_for(Band::Primary, 2010).unwrap().key(), "primary-psle");
    }
}
