//! Results: marks, assessments and their weights, NECTA grading as data, divisions,
//! positions, and a tamper-trend check. Pure: no I/O, integer arithmetic only in the grading
//! path, compiles for the browser (the CSV reader and writer, [`sheet`], are behind `ssr`).
//!
//! - [`marks`]: a [`Mark`] is a score in hundredths, `ABS` or `EX`, parsed from what a
//!   teacher types.
//! - [`assessments`]: an [`AssessmentSet`] (monthly tests, midterm, terminal exam, with
//!   weights), the term score of a subject (weighted, rounded half up to a whole mark) and
//!   the rules for `ABS`/`EX`.
//! - [`scheme`] and [`presets`]: a [`GradingScheme`] is versioned data: bands, points, the
//!   division rule, its source and its exam years; frozen once results are published.
//! - [`compute`](mod@compute): grades, points, divisions, positions and summaries of a class.
//! - [`trend`]: a z-score check for a suspicious jump in a student's percentage.
//! - [`sheet`] (`ssr`): the marks CSV a school can export from a spreadsheet, and the
//!   computed results as CSV. Examples: `docs/examples/results/`.

pub mod assessments;
pub mod compute;
pub mod marks;
pub mod presets;
pub mod scheme;
pub mod trend;

pub use assessments::{Assessment, AssessmentKind, AssessmentSet, AssessmentSetDraft, CaAbsence, TermOutcome};
pub use compute::{
    compute, ClassResults, GroupSummary, Position, Sheet, SheetStudent, SheetSubject, StudentResult, SubjectResult, SubjectStats,
};
pub use marks::{Hundredths, Mark};
pub use scheme::{
    CountedSubjects, Division, DivisionRange, ExamYears, GradeBand, GradingScheme, NoOverall, Overall, OverallRule, SchemeDraft,
};
