//! The admin's forms for how a class's term is marked and graded: the rows of an
//! [`AssessmentSet`] and of a [`GradingScheme`], as a plain HTML form posts them (every value
//! a string), checked whole into the domain's drafts. Pure, like the rest of `results`.
//!
//! Field names of the errors say the row: `assessments.2.max` is the third assessment's
//! maximum, `bands.0.grade` the first band's grade, `divisions.4.min` division 0's lowest
//! points. Every row is checked, and every error is reported, before the whole is parsed
//! (weights adding up to 100, bands covering 0–100 …), so the admin fixes everything in one go.
//! Blank rows are ignored: the page offers a few spare ones to add an assessment or a band.

use super::assessments::{Assessment, AssessmentKind, AssessmentSet, AssessmentSetDraft, CaAbsence};
use super::scheme::{CountedSubjects, Division, DivisionRange, ExamYears, GradeBand, GradingScheme, OverallRule, SchemeDraft};
use crate::{DomainError, ValidationError};
use serde::{Deserialize, Serialize};

/// One assessment as the form posts it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentRow {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub max: String,
    #[serde(default)]
    pub weight: String,
    /// `continuous` or `exam`.
    #[serde(default)]
    pub kind: String,
}

impl AssessmentRow {
    fn is_blank(&self) -> bool {
        [&self.key, &self.name, &self.max, &self.weight].iter().all(|v| v.trim().is_empty())
    }
}

/// A level's assessments for a term, as the form posts them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentsForm {
    #[serde(default)]
    pub rows: Vec<AssessmentRow>,
    /// `reweight` or `zero`: what a CA `ABS` means.
    #[serde(default)]
    pub ca_absence: String,
}

fn row_err(list: &str, i: usize, column: &str, message: &str) -> ValidationError {
    ValidationError::new(&format!("{list}.{i}.{column}"), message)
}

/// A whole number in `range`, or the error `message` on the row's column.
fn number<T: std::str::FromStr + PartialOrd>(
    text: &str,
    range: std::ops::RangeInclusive<T>,
    at: (&str, usize, &str),
    message: &str,
    errors: &mut Vec<ValidationError>,
) -> Option<T> {
    match text.trim().parse::<T>() {
        Ok(v) if range.contains(&v) => Some(v),
        _ => {
            errors.push(row_err(at.0, at.1, at.2, message));
            None
        }
    }
}

/// A key from a name when the admin left the key blank: `Monthly test 1` → `monthly-test-1`.
pub fn key_from_name(name: &str) -> String {
    let mut key = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            key.push(c);
        } else if !key.ends_with('-') && !key.is_empty() {
            key.push('-');
        }
    }
    let key: String = key.trim_end_matches('-').chars().take(40).collect();
    key.trim_end_matches('-').to_owned()
}

impl AssessmentsForm {
    /// The form filled with `set`.
    pub fn of(set: &AssessmentSet) -> Self {
        let rows = set
            .assessments()
            .iter()
            .map(|a| AssessmentRow {
                key: a.key.clone(),
                name: a.name.clone(),
                max: a.max.to_string(),
                weight: a.weight.to_string(),
                kind: kind_code(a.kind).to_owned(),
            })
            .collect();
        let ca_absence = match set.ca_absence() {
            CaAbsence::Reweight => "reweight",
            CaAbsence::Zero => "zero",
        };
        Self { rows, ca_absence: ca_absence.to_owned() }
    }

    /// The set this form describes, keeping `current`'s key and name. Errors: per row
    /// (`assessments.N.name`: `error-assessment-name-required`; `.max`: `error-assessment-max`;
    /// `.weight`: `error-assessment-weight`; `.key`: `error-assessment-key-invalid`), then the
    /// set's own ([`AssessmentSet::parse`], field `assessments`).
    pub fn parse(&self, current: &AssessmentSet) -> Result<AssessmentSet, DomainError> {
        let mut errors = Vec::new();
        let mut assessments = Vec::new();
        for (i, row) in self.rows.iter().enumerate().filter(|(_, r)| !r.is_blank()) {
            let name = row.name.trim();
            if name.is_empty() {
                errors.push(row_err("assessments", i, "name", "error-assessment-name-required"));
            }
            let key = if row.key.trim().is_empty() { key_from_name(name) } else { row.key.trim().to_owned() };
            if key.is_empty() && !name.is_empty() {
                errors.push(row_err("assessments", i, "key", "error-assessment-key-invalid"));
            }
            let max = number::<u16>(
                &row.max,
                1..=super::assessments::MAX_MAX_MARKS,
                ("assessments", i, "max"),
                "error-assessment-max",
                &mut errors,
            );
            let weight = number::<u8>(&row.weight, 1..=100, ("assessments", i, "weight"), "error-assessment-weight", &mut errors);
            let kind = if row.kind == "exam" { AssessmentKind::Exam } else { AssessmentKind::Continuous };
            if let (Some(max), Some(weight)) = (max, weight) {
                assessments.push(Assessment { key, name: name.to_owned(), max, weight, kind });
            }
        }
        if !errors.is_empty() {
            return Err(DomainError::InvalidFields(errors));
        }
        let ca_absence = if self.ca_absence == "zero" { CaAbsence::Zero } else { CaAbsence::Reweight };
        let draft = AssessmentSetDraft { key: current.key().to_owned(), name: current.name().to_owned(), assessments, ca_absence };
        Ok(AssessmentSet::parse(draft)?)
    }
}

fn kind_code(kind: AssessmentKind) -> &'static str {
    match kind {
        AssessmentKind::Continuous => "continuous",
        AssessmentKind::Exam => "exam",
    }
}

/// One grade band as the form posts it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BandRow {
    #[serde(default)]
    pub grade: String,
    #[serde(default)]
    pub min: String,
    #[serde(default)]
    pub max: String,
    #[serde(default)]
    pub points: String,
    #[serde(default)]
    pub remark_en: String,
    #[serde(default)]
    pub remark_sw: String,
}

impl BandRow {
    fn is_blank(&self) -> bool {
        [&self.grade, &self.min, &self.max, &self.points, &self.remark_en, &self.remark_sw].iter().all(|v| v.trim().is_empty())
    }
}

/// The points one division covers, as the form posts them (rows in [`Division::ALL`] order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DivisionRow {
    #[serde(default)]
    pub min: String,
    #[serde(default)]
    pub max: String,
}

/// A grading scheme as the form posts it. Its kind of overall rule (a division, or an
/// overall grade from the average) is the scheme's own and is not changed by the form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemeForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub years_from: String,
    #[serde(default)]
    pub years_to: String,
    #[serde(default)]
    pub bands: Vec<BandRow>,
    /// Division schemes: `best` (the best N subjects) or `principal` (the N principal subjects).
    #[serde(default)]
    pub counted: String,
    /// The N of `counted`, or the fewest subjects sat for an overall grade.
    #[serde(default)]
    pub count: String,
    #[serde(default)]
    pub divisions: Vec<DivisionRow>,
}

fn year(text: &str, field: &str, errors: &mut Vec<ValidationError>) -> Option<u16> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse::<u16>() {
        Ok(y) if (1960..=2200).contains(&y) => Some(y),
        _ => {
            errors.push(ValidationError::new(field, "error-scheme-years"));
            None
        }
    }
}

impl SchemeForm {
    /// The form filled with `scheme`.
    pub fn of(scheme: &GradingScheme) -> Self {
        let years = scheme.exam_years();
        let bands = scheme
            .bands()
            .iter()
            .map(|b| BandRow {
                grade: b.grade.clone(),
                min: b.min.to_string(),
                max: b.max.to_string(),
                points: b.points.to_string(),
                remark_en: b.remark_en.clone(),
                remark_sw: b.remark_sw.clone(),
            })
            .collect();
        let (counted, count, divisions) = match scheme.overall_rule() {
            OverallRule::Division { counted, divisions } => {
                let rows = Division::ALL
                    .iter()
                    .map(|d| {
                        divisions
                            .iter()
                            .find(|r| r.division == *d)
                            .map(|r| DivisionRow { min: r.min_points.to_string(), max: r.max_points.to_string() })
                            .unwrap_or_default()
                    })
                    .collect();
                let kind = match counted {
                    CountedSubjects::Best { .. } => "best",
                    CountedSubjects::Principal { .. } => "principal",
                };
                (kind.to_owned(), counted.count().to_string(), rows)
            }
            OverallRule::AverageGrade { min_subjects } => (String::new(), min_subjects.to_string(), Vec::new()),
        };
        Self {
            name: scheme.name().to_owned(),
            source: scheme.source().to_owned(),
            years_from: years.from.map(|y| y.to_string()).unwrap_or_default(),
            years_to: years.to.map(|y| y.to_string()).unwrap_or_default(),
            bands,
            counted,
            count,
            divisions,
        }
    }

    /// `base` with this form's contents, as a draft (same key, version and kind of overall
    /// rule); checked row by row here, and whole by [`GradingScheme::parse`] or
    /// [`GradingScheme::edit`] after.
    pub fn draft(&self, base: &GradingScheme) -> Result<SchemeDraft, DomainError> {
        let mut errors = Vec::new();
        let years =
            ExamYears { from: year(&self.years_from, "years_from", &mut errors), to: year(&self.years_to, "years_to", &mut errors) };
        let mut bands = Vec::new();
        for (i, row) in self.bands.iter().enumerate().filter(|(_, r)| !r.is_blank()) {
            let grade = row.grade.trim();
            if grade.is_empty() || grade.chars().count() > 3 {
                errors.push(row_err("bands", i, "grade", "error-band-grade-invalid"));
            }
            let min = number::<u8>(&row.min, 0..=100, ("bands", i, "min"), "error-band-range", &mut errors);
            let max = number::<u8>(&row.max, 0..=100, ("bands", i, "max"), "error-band-range", &mut errors);
            let points = number::<u8>(&row.points, 0..=99, ("bands", i, "points"), "error-band-points", &mut errors);
            if let (Some(min), Some(max), Some(points)) = (min, max, points) {
                bands.push(GradeBand {
                    grade: grade.to_owned(),
                    min,
                    max,
                    points,
                    remark_en: row.remark_en.trim().to_owned(),
                    remark_sw: row.remark_sw.trim().to_owned(),
                });
            }
        }
        let count = match self.count.trim().parse::<u8>() {
            Ok(n) if (1..=super::scheme::MAX_COUNTED).contains(&n) => Some(n),
            _ => {
                errors.push(ValidationError::new("count", "error-divisions-count"));
                None
            }
        };
        let overall = match base.overall_rule() {
            OverallRule::Division { .. } => {
                let mut divisions = Vec::new();
                for (i, d) in Division::ALL.iter().enumerate() {
                    let row = self.divisions.get(i).cloned().unwrap_or_default();
                    if row.min.trim().is_empty() && row.max.trim().is_empty() {
                        continue;
                    }
                    let min = number::<u16>(&row.min, 0..=2_000, ("divisions", i, "min"), "error-divisions-range", &mut errors);
                    let max = number::<u16>(&row.max, 0..=2_000, ("divisions", i, "max"), "error-divisions-range", &mut errors);
                    if let (Some(min_points), Some(max_points)) = (min, max) {
                        divisions.push(DivisionRange { division: *d, min_points, max_points });
                    }
                }
                let count = count.unwrap_or(1);
                let counted =
                    if self.counted == "principal" { CountedSubjects::Principal { count } } else { CountedSubjects::Best { count } };
                OverallRule::Division { counted, divisions }
            }
            OverallRule::AverageGrade { .. } => OverallRule::AverageGrade { min_subjects: count.unwrap_or(1) },
        };
        if !errors.is_empty() {
            return Err(DomainError::InvalidFields(errors));
        }
        let mut draft = base.draft();
        draft.name = self.name.trim().to_owned();
        draft.source = self.source.trim().to_owned();
        draft.exam_years = years;
        draft.bands = bands;
        draft.overall = overall;
        Ok(draft)
    }
}

/// The first `key`, `key-2`, `key-3` … not in `taken` (a copy's key, from its name).
pub fn free_key(name: &str, taken: &[String]) -> String {
    let base = match key_from_name(name) {
        k if k.is_empty() => "scheme".to_owned(),
        k => k.chars().take(34).collect::<String>().trim_end_matches('-').to_owned(),
    };
    if !taken.contains(&base) {
        return base;
    }
    (2..).map(|n| format!("{base}-{n}")).find(|k| !taken.iter().any(|t| t == k)).unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::presets;

    fn field_errors(e: DomainError) -> Vec<(String, String)> {
        match e {
            DomainError::InvalidFields(v) => v.into_iter().map(|e| (e.field, e.message)).collect(),
            DomainError::Invalid(e) => vec![(e.field, e.message)],
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_form_of_a_set_parses_back_to_the_same_set() {
        let set = AssessmentSet::default_secondary();
        let form = AssessmentsForm::of(&set);
        assert_eq!(form.parse(&set).unwrap(), set);
    }

    #[test]
    fn assessment_rows_are_checked_each_and_blank_rows_ignored() {
        let set = AssessmentSet::default_secondary();
        let mut form = AssessmentsForm::of(&set);
        form.rows.push(AssessmentRow::default());
        form.rows[0].max = "0".into();
        form.rows[1].name = " ".into();
        form.rows[2].weight = "ten".into();
        let errors = field_errors(form.parse(&set).unwrap_err());
        assert_eq!(
            errors,
            vec![
                ("assessments.0.max".to_owned(), "error-assessment-max".to_owned()),
                ("assessments.1.name".to_owned(), "error-assessment-name-required".to_owned()),
                ("assessments.2.weight".to_owned(), "error-assessment-weight".to_owned()),
            ]
        );
    }

    #[test]
    fn a_new_assessment_gets_its_key_from_its_name_and_weights_must_add_up() {
        let set = AssessmentSet::default_secondary();
        let mut form = AssessmentsForm::of(&set);
        form.rows.push(AssessmentRow { name: "Project work".into(), max: "20".into(), weight: "10".into(), ..Default::default() });
        assert_eq!(
            field_errors(form.parse(&set).unwrap_err()),
            vec![("assessments".to_owned(), "error-assessment-weights-sum".to_owned())]
        );
        let exam = form.rows.iter().position(|r| r.kind == "exam").unwrap();
        let w: u8 = form.rows[exam].weight.parse().unwrap();
        form.rows[exam].weight = (w - 10).to_string();
        let parsed = form.parse(&set).unwrap();
        assert_eq!(parsed.assessments().last().unwrap().key, "project-work");
        assert_eq!(parsed.key(), set.key());
    }

    #[test]
    fn keys_from_names() {
        assert_eq!(key_from_name(" Monthly test 1 "), "monthly-test-1");
        assert_eq!(key_from_name("Mtihani wa Muhula!"), "mtihani-wa-muhula");
        assert_eq!(key_from_name("***"), "");
        assert_eq!(free_key("CSEE (our copy)", &["csee-our-copy".into()]), "csee-our-copy-2");
        assert_eq!(free_key("", &[]), "scheme");
    }

    #[test]
    fn the_form_of_each_preset_drafts_back_to_the_same_scheme() {
        for key in presets::PRESET_KEYS {
            let scheme = presets::preset(key).unwrap();
            let draft = SchemeForm::of(&scheme).draft(&scheme).unwrap();
            assert_eq!(GradingScheme::parse(draft).unwrap(), scheme, "{key}");
        }
    }

    #[test]
    fn scheme_rows_are_checked_each_then_the_whole_scheme() {
        let scheme = presets::necta_csee_2016().unwrap();
        let mut form = SchemeForm::of(&scheme);
        form.bands[0].grade = "".into();
        form.bands[1].min = "101".into();
        form.divisions[4].max = "x".into();
        form.years_to = "20".into();
        let errors = field_errors(form.draft(&scheme).unwrap_err());
        assert_eq!(
            errors,
            vec![
                ("years_to".to_owned(), "error-scheme-years".to_owned()),
                ("bands.0.grade".to_owned(), "error-band-grade-invalid".to_owned()),
                ("bands.1.min".to_owned(), "error-band-range".to_owned()),
                ("divisions.4.max".to_owned(), "error-divisions-range".to_owned()),
            ]
        );
        // Rows that parse but leave a gap are refused by the scheme's own check.
        let mut form = SchemeForm::of(&scheme);
        form.bands[0].min = "76".into();
        let draft = form.draft(&scheme).unwrap();
        assert!(GradingScheme::parse(draft).is_err());
    }

    #[test]
    fn a_copy_with_b_plus_parses() {
        let scheme = presets::necta_csee_2016().unwrap();
        let mut form = SchemeForm::of(&scheme);
        // A (75–100) split into A (81–100) and B+ (75–80), both one point.
        form.bands[0].min = "81".into();
        form.bands.insert(
            1,
            BandRow {
                grade: "B+".into(),
                min: "75".into(),
                max: "80".into(),
                points: "1".into(),
                remark_en: "Very good".into(),
                remark_sw: "Vizuri sana".into(),
            },
        );
        let edited = GradingScheme::parse(form.draft(&scheme).unwrap()).unwrap();
        assert_eq!(edited.band(78).unwrap().grade, "B+");
        assert_eq!(edited.band(90).unwrap().grade, "A");
    }
}
