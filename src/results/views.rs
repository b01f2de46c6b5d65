//! What results pages show (views sent from the server functions to the pages). Pure, so
//! the pages and islands compile for the browser too; the queries that fill them are in
//! `db` (`ssr`).

use super::entry::SheetStatus;
use super::flags::EvidenceFact;
use super::published::PublishedResult;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One allocation's sheet in the overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetSummary {
    pub term_id: Uuid,
    pub stream_id: Uuid,
    pub subject_id: Uuid,
    pub level_id: Uuid,
    /// The class (level) as people say it: "Form 2".
    pub level_name: String,
    pub class_name: String,
    pub subject_en: String,
    pub subject_sw: String,
    pub teacher: String,
    /// `None`: not started.
    pub status: Option<SheetStatus>,
    pub return_comment: Option<String>,
    pub entries: i64,
    pub students: i64,
    /// The class's results for the term are published.
    pub published: bool,
}

/// A flag as the admin console lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagView {
    pub id: Uuid,
    pub kind: String,
    pub raised_at: DateTime<Utc>,
    pub class_name: Option<String>,
    pub subject: Option<String>,
    pub student: Option<String>,
    pub writer: Option<String>,
    /// The evidence, put into words ([`super::evidence_facts`]).
    pub evidence: Vec<EvidenceFact>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
    pub resolution: Option<String>,
}

/// One published term of a student.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedTerm {
    pub term_id: Uuid,
    pub published_at: DateTime<Utc>,
    pub result: PublishedResult,
}

/// A class's (level's) assessments and grading scheme for a term, on the admin's set-up page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelSetupView {
    pub term_id: Uuid,
    pub level_id: Uuid,
    pub term_label: String,
    pub class_name: String,
    /// The assessments in force (the defaults until first written), as the form shows them.
    pub assessments: super::setup::AssessmentsForm,
    pub scheme: super::GradingScheme,
    /// The [`SchemeChoice::value`] in force.
    pub chosen: String,
    pub choices: Vec<SchemeChoice>,
    /// Marks are stored: the assessments can no longer change.
    pub marks_exist: bool,
    /// Published: the scheme can no longer change either.
    pub published: bool,
}

/// A grading scheme a class's term may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemeChoice {
    /// A stored scheme's id, or `preset:<key>`.
    pub value: String,
    pub name: String,
    pub version: u32,
    /// A built-in preset the school has not stored yet.
    pub preset: bool,
}

/// One of the school's grading schemes in its list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemeSummary {
    pub id: Uuid,
    pub key: String,
    pub version: u32,
    pub name: String,
    pub source: String,
    /// Results were published with it: an edit makes the next version.
    pub frozen: bool,
    /// How many classes' terms use it.
    pub in_use: i64,
    /// The newest version of its key.
    pub latest: bool,
}

/// One scheme with the form that edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemeView {
    pub summary: SchemeSummary,
    pub scheme: super::GradingScheme,
    pub form: super::setup::SchemeForm,
    /// A newer version of the same key, if this is not the newest.
    pub newest: Option<Uuid>,
}
