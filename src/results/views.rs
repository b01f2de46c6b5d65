//! What results pages show (views sent from the server functions to the pages). Pure, so
//! the pages and islands compile for the browser too; the queries that fill them are in
//! `db` (`ssr`).

use super::entry::SheetStatus;
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
    /// The evidence, as JSON text (shown as it is stored).
    pub evidence: String,
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
