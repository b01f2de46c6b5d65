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
//! - [`flags`]: tamper scoring of mark writes (after approval, outside the allocation,
//!   bursts of changes) and of score jumps, as findings for the head teacher.
//! - [`chart`]: a student's percentages across terms as an SVG line chart (parent portal).
//! - [`sheet`] (`ssr`): the marks CSV a school can export from a spreadsheet, and the
//!   computed results as CSV. Examples: `docs/examples/results/`.
//! - [`xlsx`] (`ssr`): the same tables as an XLSX workbook (broadsheet, subjects, divisions).
//! - [`setup`]: the admin's forms for a class's assessments and for a grading scheme, checked
//!   row by row into drafts.
//! - [`upload`]: bulk upload of one mark sheet from CSV or XLSX (the file format, every row
//!   checked against the stream and the stored marks, the preview and what a commit did).

pub mod assessments;
pub mod chart;
pub mod compute;
#[cfg(feature = "ssr")]
pub mod db;
pub mod entry;
pub mod flags;
pub mod marks;
pub mod presets;
pub mod published;
#[cfg(feature = "ssr")]
pub mod sample;
pub mod scheme;
pub mod setup;
#[cfg(feature = "ssr")]
pub mod sheet;
pub mod trend;
pub mod upload;
pub mod views;
#[cfg(feature = "ssr")]
pub mod xlsx;

pub use assessments::{Assessment, AssessmentKind, AssessmentSet, AssessmentSetDraft, CaAbsence, TermOutcome};
pub use chart::{trend_svg, TrendChart, TrendSeries};
pub use compute::{
    compute, ClassResults, GroupSummary, Position, Sheet, SheetStudent, SheetSubject, StudentResult, SubjectResult, SubjectStats,
};
pub use flags::{
    evidence_facts, score_jumps, score_term_jumps, score_writes, EvidenceFact, Finding, FlagKind, FlagThresholds, MarkWrite, SheetMarks,
};
pub use marks::{Hundredths, Mark};
pub use scheme::{
    CountedSubjects, Division, DivisionRange, ExamYears, GradeBand, GradingScheme, NoOverall, Overall, OverallRule, SchemeDraft,
};

#[cfg(test)]
mod tests {
    const SOURCES: [&str; 24] = [
        include_str!("marks.rs"),
        include_str!("assessments.rs"),
        include_str!("scheme.rs"),
        include_str!("presets.rs"),
        include_str!("compute.rs"),
        include_str!("trend.rs"),
        include_str!("sheet.rs"),
        include_str!("sample.rs"),
        include_str!("xlsx.rs"),
        include_str!("chart.rs"),
        include_str!("flags.rs"),
        include_str!("entry.rs"),
        include_str!("published.rs"),
        include_str!("db/setup.rs"),
        include_str!("db/sheets.rs"),
        include_str!("db/marks.rs"),
        include_str!("db/workflow.rs"),
        include_str!("db/flags.rs"),
        include_str!("db/portal.rs"),
        include_str!("views.rs"),
        include_str!("upload.rs"),
        include_str!("db/uploads.rs"),
        include_str!("setup.rs"),
        include_str!("db/schemes.rs"),
    ];

    #[test]
    fn every_message_key_is_translated() {
        let used = crate::i18n_keys::used(&SOURCES, &["error-", "results-"]);
        assert!(used.len() > 50, "{used:?}");
        assert!(used.contains("error-mark-out-of-range") && used.contains("results-file-missing-column"));
        crate::i18n_keys::assert_translated(&used);
    }
}
