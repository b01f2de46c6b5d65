//! What a report card says about a student besides marks: attendance (days present of the
//! days the school was open), conduct, the class teacher's comment and the head teacher's.
//! Written per stream and term on one page: the stream's class teacher writes attendance,
//! conduct and their comment; those who print cards write everything (the head teacher's
//! comment is theirs alone). The form is checked whole: every row's errors at once, nothing
//! saved unless all of it is right.

use crate::ValidationError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest conduct (a grade such as "A" or a few words: "Very good").
pub const CONDUCT_MAX: usize = 40;
/// Longest comment: what fits the card's box.
pub const COMMENT_MAX: usize = 400;
/// Most days a term can be open.
pub const DAYS_OPEN_MAX: u16 = 200;

/// One student's row as the form sends it (`rows[3][conduct]` …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemarkRowForm {
    #[serde(default)]
    pub student: String,
    #[serde(default)]
    pub days_present: String,
    #[serde(default)]
    pub conduct: String,
    #[serde(default)]
    pub class_comment: String,
    #[serde(default)]
    pub head_comment: String,
}

/// The stream's form: the days the school was open (one number for the stream) and a row per
/// student.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemarksForm {
    #[serde(default)]
    pub days_open: String,
    #[serde(default)]
    pub rows: Vec<RemarkRowForm>,
}

/// What a card prints from the remarks; every part may be missing (the card then prints
/// "not recorded" or leaves the comment box empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRemarks {
    pub days_open: Option<u16>,
    pub days_present: Option<u16>,
    pub conduct: Option<String>,
    pub class_comment: Option<String>,
    pub head_comment: Option<String>,
}

/// A checked row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemarkRow {
    pub student: Uuid,
    pub remarks: CardRemarks,
}

/// The stream's page: every active student with what is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemarksSheet {
    pub term: Uuid,
    pub term_label: String,
    pub stream: Uuid,
    /// "Form 2A".
    pub class_name: String,
    /// The days open most rows carry (the form's one number).
    pub days_open: Option<u16>,
    /// The reader may write the head teacher's comment (prints cards), not only the class
    /// teacher's parts.
    pub may_write_head: bool,
    pub rows: Vec<RemarksSheetRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemarksSheetRow {
    pub student: Uuid,
    pub name: String,
    pub admission_no: String,
    pub remarks: CardRemarks,
}

fn row_err(i: usize, column: &str, message: &str) -> ValidationError {
    ValidationError::new(&format!("rows.{i}.{column}"), message)
}

/// Trimmed, inner runs of whitespace (a pasted line break) made one space; empty is `None`.
fn text(raw: &str, max: usize, field: ValidationError, errors: &mut Vec<ValidationError>) -> Option<String> {
    let clean = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if clean.chars().count() > max {
        errors.push(field);
        return None;
    }
    (!clean.is_empty()).then_some(clean)
}

impl RemarksForm {
    /// Every row checked; all errors at once.
    pub fn parse(&self) -> Result<Vec<RemarkRow>, Vec<ValidationError>> {
        let mut errors = Vec::new();
        let days_open = match self.days_open.trim() {
            "" => None,
            raw => match raw.parse::<u16>() {
                Ok(n) if (1..=DAYS_OPEN_MAX).contains(&n) => Some(n),
                _ => {
                    errors.push(ValidationError::new("days_open", "error-remarks-days-open"));
                    None
                }
            },
        };
        let mut rows = Vec::with_capacity(self.rows.len());
        let mut seen = std::collections::BTreeSet::new();
        for (i, row) in self.rows.iter().enumerate() {
            let Ok(student) = row.student.trim().parse::<Uuid>() else {
                errors.push(row_err(i, "student", "error-remarks-student"));
                continue;
            };
            if !seen.insert(student) {
                errors.push(row_err(i, "student", "error-remarks-student"));
                continue;
            }
            let days_present = match row.days_present.trim() {
                "" => None,
                raw => match (raw.parse::<u16>(), days_open) {
                    (Ok(n), Some(open)) if n <= open => Some(n),
                    (Ok(_), None) => {
                        errors.push(row_err(i, "days_present", "error-remarks-days-open-first"));
                        None
                    }
                    _ => {
                        errors.push(row_err(i, "days_present", "error-remarks-days-present"));
                        None
                    }
                },
            };
            let conduct = text(&row.conduct, CONDUCT_MAX, row_err(i, "conduct", "error-remarks-conduct-long"), &mut errors);
            let class_comment =
                text(&row.class_comment, COMMENT_MAX, row_err(i, "class_comment", "error-remarks-comment-long"), &mut errors);
            let head_comment = text(&row.head_comment, COMMENT_MAX, row_err(i, "head_comment", "error-remarks-comment-long"), &mut errors);
            rows.push(RemarkRow { student, remarks: CardRemarks { days_open, days_present, conduct, class_comment, head_comment } });
        }
        if errors.is_empty() {
            Ok(rows)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(student: Uuid, days: &str, conduct: &str, comment: &str) -> RemarkRowForm {
        RemarkRowForm {
            student: student.to_string(),
            days_present: days.into(),
            conduct: conduct.into(),
            class_comment: comment.into(),
            head_comment: String::new(),
        }
    }

    #[test]
    fn a_stream_form_is_checked_whole() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let form = RemarksForm {
            days_open: " 62 ".into(),
            rows: vec![row(a, "60", " Very  good ", "Works hard.\n Keep it up."), row(b, "", "", "")],
        };
        let rows = form.parse().unwrap();
        assert_eq!(rows[0].remarks.days_open, Some(62));
        assert_eq!(rows[0].remarks.days_present, Some(60));
        assert_eq!(rows[0].remarks.conduct.as_deref(), Some("Very good"));
        assert_eq!(rows[0].remarks.class_comment.as_deref(), Some("Works hard. Keep it up."));
        assert_eq!(rows[1].remarks, CardRemarks { days_open: Some(62), ..CardRemarks::default() });
    }

    #[test]
    fn every_error_is_reported_on_its_row() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let long = "x".repeat(COMMENT_MAX + 1);
        let form = RemarksForm {
            days_open: "62".into(),
            rows: vec![
                row(a, "63", &"y".repeat(CONDUCT_MAX + 1), &long),
                row(b, "-1", "", ""),
                row(a, "1", "", ""),
                row(Uuid::nil(), "1", "", ""),
                RemarkRowForm { student: "nobody".into(), ..RemarkRowForm::default() },
            ],
        };
        let errors = form.parse().unwrap_err();
        let fields: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.message.as_str())).collect();
        assert_eq!(
            fields,
            [
                ("rows.0.days_present", "error-remarks-days-present"),
                ("rows.0.conduct", "error-remarks-conduct-long"),
                ("rows.0.class_comment", "error-remarks-comment-long"),
                ("rows.1.days_present", "error-remarks-days-present"),
                ("rows.2.student", "error-remarks-student"),
                ("rows.4.student", "error-remarks-student"),
            ]
        );
        let no_days = RemarksForm { days_open: String::new(), rows: vec![row(a, "5", "", "")] };
        assert_eq!(no_days.parse().unwrap_err()[0].message, "error-remarks-days-open-first");
        let bad_days = RemarksForm { days_open: "0".into(), rows: vec![] };
        assert_eq!(bad_days.parse().unwrap_err()[0].field, "days_open");
    }
}
