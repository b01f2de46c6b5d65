//! Marks entry and its workflow, as the teacher's grid and the approver see them. Pure: the
//! grid island runs the same checks in the browser that the server runs on save.
//!
//! A **mark sheet** is one subject's marks for one stream in one term. Its workflow:
//! draft → submitted (the teacher) → approved, or returned with a comment (the approver) →
//! published (with its whole class). The teacher writes while it is a draft or returned;
//! an approved or published mark changes only with the amend permission and a reason, and
//! that raises a flag for the head teacher.

use super::assessments::{AssessmentSet, TermOutcome};
use super::marks::Mark;
use super::scheme::GradingScheme;
use crate::ValidationError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a sheet is in the workflow (stored in `mark_sheets.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SheetStatus {
    /// Not started (no row yet) or being typed.
    Draft,
    Submitted,
    Approved,
    Returned,
    Published,
}

impl SheetStatus {
    pub const ALL: [SheetStatus; 5] = [Self::Draft, Self::Submitted, Self::Approved, Self::Returned, Self::Published];

    pub fn code(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Returned => "returned",
            Self::Published => "published",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// i18n key of the status's name.
    pub fn label_key(self) -> &'static str {
        match self {
            Self::Draft => "results-status-draft",
            Self::Submitted => "results-status-submitted",
            Self::Approved => "results-status-approved",
            Self::Returned => "results-status-returned",
            Self::Published => "results-status-published",
        }
    }

    /// The teacher may type into the sheet.
    pub fn open_for_entry(self) -> bool {
        matches!(self, Self::Draft | Self::Returned)
    }

    /// Approved marks are locked: changing one needs the amend permission and a reason.
    pub fn locked(self) -> bool {
        matches!(self, Self::Approved | Self::Published)
    }
}

/// A step of the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowStep {
    Submit,
    Approve,
    Return,
}

impl WorkflowStep {
    pub fn code(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Approve => "approve",
            Self::Return => "return",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Self::Submit, Self::Approve, Self::Return].into_iter().find(|s| s.code() == code)
    }

    /// The status after the step, or why the step does not apply (field `status`).
    pub fn apply(self, from: SheetStatus) -> Result<SheetStatus, ValidationError> {
        let to = match (self, from) {
            (Self::Submit, SheetStatus::Draft | SheetStatus::Returned) => SheetStatus::Submitted,
            (Self::Approve, SheetStatus::Submitted) => SheetStatus::Approved,
            (Self::Return, SheetStatus::Submitted | SheetStatus::Approved) => SheetStatus::Returned,
            (Self::Submit, _) => return Err(ValidationError::new("status", "results-error-not-draft")),
            (Self::Approve | Self::Return, _) => return Err(ValidationError::new("status", "results-error-not-submitted")),
        };
        Ok(to)
    }
}

/// A stored entry as the grid shows it: the text (`67.5`, `ABS`, `EX`) and the revision it
/// is at (a save names the revision it was typed over).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub text: String,
    pub revision: i32,
}

/// One student's row of a sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetRow {
    pub student_id: Uuid,
    pub admission_no: String,
    pub name: String,
    /// One per assessment, in the set's order; `None`: not entered.
    pub entries: Vec<Option<Entry>>,
}

/// What the marks-entry page needs: the sheet, its students and entries, the assessments and
/// the scheme (so the grade shows as the teacher types).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetView {
    pub term_id: Uuid,
    pub stream_id: Uuid,
    pub subject_id: Uuid,
    pub term_label: String,
    pub class_name: String,
    pub subject_en: String,
    pub subject_sw: String,
    pub status: SheetStatus,
    pub return_comment: Option<String>,
    pub assessments: AssessmentSet,
    pub scheme: GradingScheme,
    pub rows: Vec<SheetRow>,
    /// The reader may type (their allocation and an open sheet, or the amend permission).
    pub can_edit: bool,
    /// Typing changes approved marks: a reason is required with each save.
    pub needs_reason: bool,
    /// The reader may submit it (their allocation, an open sheet).
    pub can_submit: bool,
    /// The reader may approve or return it.
    pub can_decide: bool,
}

impl SheetView {
    /// Entries typed so far and entries expected (students × assessments).
    pub fn progress(&self) -> (usize, usize) {
        let done = self.rows.iter().map(|r| r.entries.iter().filter(|e| e.is_some()).count()).sum();
        (done, self.rows.len() * self.assessments.len())
    }
}

/// One cell to save. `value` empty clears the entry; `base_revision` is the revision the
/// teacher typed over (0: it was empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellSave {
    pub student: Uuid,
    pub assessment: String,
    pub value: String,
    pub base_revision: i32,
}

/// A cell saved, at its new revision (0: cleared).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedCell {
    pub student: Uuid,
    pub assessment: String,
    pub revision: i32,
}

/// Someone else saved the cell since the teacher loaded it: what is stored now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellConflict {
    pub student: Uuid,
    pub assessment: String,
    /// The stored text ("" when it was cleared).
    pub current: String,
    pub revision: i32,
    pub by: String,
}

/// What a save did. All or nothing: with any conflict, nothing was written. (A cell that
/// cannot be saved at all refuses the whole save with a field error per cell instead:
/// see [`cell_field`].)
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SaveReport {
    pub saved: Vec<SavedCell>,
    pub conflicts: Vec<CellConflict>,
    /// Approved (or published) marks were changed: flagged, and worth scoring again.
    #[serde(default)]
    pub changed_approved: bool,
}

impl SaveReport {
    pub fn is_clean(&self) -> bool {
        self.conflicts.is_empty()
    }
}

/// The field name of a cell's error: `cell:<student>:<assessment>`.
pub fn cell_field(student: Uuid, assessment: &str) -> String {
    format!("cell:{student}:{assessment}")
}

/// The cell a field error names ([`cell_field`]).
pub fn parse_cell_field(field: &str) -> Option<(Uuid, &str)> {
    let rest = field.strip_prefix("cell:")?;
    let (student, assessment) = rest.split_once(':')?;
    Some((student.parse().ok()?, assessment))
}

/// Most cells one save may carry (a whole stream's column is ~60; a pasted sheet a few
/// hundred).
pub const MAX_CELLS_PER_SAVE: usize = 2_000;

/// Checks what a teacher typed into a cell of `assessment` (its index in the set):
/// `Ok(None)` clears, `Ok(Some(mark))` saves. The same check runs in the browser and on save.
pub fn check_cell(assessments: &AssessmentSet, assessment: usize, value: &str) -> Result<Option<Mark>, ValidationError> {
    let Some(a) = assessments.assessments().get(assessment) else {
        return Err(ValidationError::new("mark", "results-error-assessment-unknown"));
    };
    if value.trim().is_empty() {
        return Ok(None);
    }
    Mark::parse(value, a.max).map(Some)
}

/// The grade the row shows as the teacher types: the term outcome of the entries typed so
/// far and, for a score, the band's grade. `None` when nothing decides it yet.
pub fn live_grade(assessments: &AssessmentSet, scheme: &GradingScheme, entries: &[Option<Mark>]) -> Option<(String, String)> {
    match assessments.term_outcome(entries).ok()? {
        TermOutcome::Score(score) => {
            let grade = scheme.band(score).map(|b| b.grade.clone()).unwrap_or_default();
            Some((score.to_string(), grade))
        }
        TermOutcome::Absent => Some(("ABS".to_owned(), String::new())),
        TermOutcome::Exempt => Some(("EX".to_owned(), String::new())),
        TermOutcome::Incomplete => None,
    }
}

/// A reason for changing approved marks: trimmed, 5–500 characters (field `reason`).
pub fn check_reason(reason: &str) -> Result<String, ValidationError> {
    let r = reason.trim();
    let n = r.chars().count();
    if n < 5 {
        return Err(ValidationError::new("reason", "results-error-reason-required"));
    }
    if n > 500 {
        return Err(ValidationError::new("reason", "results-error-reason-long"));
    }
    Ok(r.to_owned())
}

/// A comment when returning a sheet: trimmed, 1–1,000 characters (field `comment`).
pub fn check_return_comment(comment: &str) -> Result<String, ValidationError> {
    let c = comment.trim();
    let n = c.chars().count();
    if n == 0 {
        return Err(ValidationError::new("comment", "results-error-comment-required"));
    }
    if n > 1000 {
        return Err(ValidationError::new("comment", "results-error-comment-long"));
    }
    Ok(c.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::presets;

    #[test]
    fn workflow_steps() {
        use SheetStatus::*;
        use WorkflowStep::*;
        assert_eq!(Submit.apply(Draft).unwrap(), Submitted);
        assert_eq!(Submit.apply(Returned).unwrap(), Submitted);
        assert_eq!(Approve.apply(Submitted).unwrap(), Approved);
        assert_eq!(Return.apply(Submitted).unwrap(), Returned);
        assert_eq!(Return.apply(Approved).unwrap(), Returned);
        assert_eq!(Submit.apply(Submitted).unwrap_err().message, "results-error-not-draft");
        assert_eq!(Submit.apply(Approved).unwrap_err().message, "results-error-not-draft");
        assert_eq!(Approve.apply(Draft).unwrap_err().message, "results-error-not-submitted");
        assert_eq!(Approve.apply(Published).unwrap_err().message, "results-error-not-submitted");
        assert_eq!(Return.apply(Published).unwrap_err().message, "results-error-not-submitted");
        for s in SheetStatus::ALL {
            assert_eq!(SheetStatus::parse(s.code()), Some(s));
        }
        assert!(Draft.open_for_entry() && Returned.open_for_entry() && !Submitted.open_for_entry());
        assert!(Approved.locked() && Published.locked() && !Submitted.locked());
    }

    #[test]
    fn cells_are_checked_against_their_assessment() {
        let set = AssessmentSet::default_primary(); // out of 50
        assert_eq!(check_cell(&set, 0, " ").unwrap(), None);
        assert!(matches!(check_cell(&set, 0, "50").unwrap(), Some(Mark::Score(_))));
        assert_eq!(check_cell(&set, 0, "51").unwrap_err().message, "error-mark-out-of-range");
        assert_eq!(check_cell(&set, 0, "abs").unwrap(), Some(Mark::Absent));
        assert_eq!(check_cell(&set, 9, "1").unwrap_err().message, "results-error-assessment-unknown");
        assert_eq!(check_cell(&set, 1, "x").unwrap_err().message, "error-mark-invalid");
    }

    #[test]
    fn the_live_grade_follows_the_scheme() {
        let set = AssessmentSet::default_secondary(); // mt1 10, midterm 20, mt2 10, exam 60
        let scheme = presets::necta_csee_2016().unwrap();
        let m = |s: &str| Mark::parse(s, 100).ok();
        assert_eq!(live_grade(&set, &scheme, &[m("80"), m("80"), m("80"), None]), None);
        // 0.1×80 + 0.2×70 + 0.1×60 + 0.6×75 = 8 + 14 + 6 + 45 = 73 → B
        assert_eq!(live_grade(&set, &scheme, &[m("80"), m("70"), m("60"), m("75")]), Some(("73".into(), "B".into())));
        assert_eq!(live_grade(&set, &scheme, &[m("80"), m("70"), m("60"), m("abs")]), Some(("ABS".into(), String::new())));
    }

    #[test]
    fn cell_fields_round_trip() {
        let id = Uuid::from_u128(7);
        assert_eq!(parse_cell_field(&cell_field(id, "mt1")), Some((id, "mt1")));
        assert_eq!(parse_cell_field("mark"), None);
        assert_eq!(parse_cell_field("cell:nope:mt1"), None);
    }

    #[test]
    fn reasons_and_comments() {
        assert_eq!(check_reason("  typo  ").unwrap_err().message, "results-error-reason-required");
        assert_eq!(check_reason(" re-marked paper ").unwrap(), "re-marked paper");
        assert_eq!(check_reason(&"x".repeat(501)).unwrap_err().message, "results-error-reason-long");
        assert_eq!(check_return_comment(" ").unwrap_err().message, "results-error-comment-required");
        assert_eq!(check_return_comment(" Check 2B's exam ").unwrap(), "Check 2B's exam");
    }
}
