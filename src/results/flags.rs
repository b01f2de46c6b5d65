//! Tamper scoring for the head teacher: which mark writes deserve a second look.
//!
//! Pure: the scoring job loads the writes and the percentages and stores the [`Finding`]s,
//! de-duplicated by their fingerprint. A finding is a hint, never proof.
//!
//! # Rules
//!
//! - **Changed after approval** ([`FlagKind::ChangedAfterApproval`]): every write to an
//!   approved sheet, one finding each (a first entry too: the approved sheet had a blank
//!   there).
//! - **Outside allocation** ([`FlagKind::OutsideAllocation`]): writes by a teacher not
//!   allocated to the sheet's subject and stream, one finding per writer and sheet.
//! - **Burst** ([`FlagKind::Burst`]): a writer who changes at least `burst_count` existing
//!   marks (the old value given and different from the new one; a first entry is no
//!   change) within `burst_window_minutes`: the window runs from a change for that many
//!   minutes, the end excluded. One finding per burst, named by its first change; the next
//!   window starts at the first change after the burst's window, so a long spree is not
//!   reported once per change.
//! - **Score jump** ([`FlagKind::ScoreJump`], [`score_jumps`]): a student's percentage rose
//!   far more than their classmates' did ([`trend::jump`](super::trend::jump)). Upward
//!   only: the check looks for marks raised in a student's favour; falls are not flagged.
//!   [`score_term_jumps`] runs it over a term: between consecutive assessments of each sheet,
//!   and each subject's term score against the previous term's.
//!
//! Findings come in a fixed order (kind, writer, sheet, student, time, fingerprint),
//! whatever the order of the input.

use super::assessments::{AssessmentSet, TermOutcome};
use super::marks::Mark;
use super::trend::{self, TrendConfig, Verdict};
use crate::ValidationError;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// One write of one mark, as the audit of marks entry records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkWrite {
    pub writer: Uuid,
    pub at: DateTime<Utc>,
    pub sheet: Uuid,
    pub student: Uuid,
    /// The assessment's key, e.g. `midterm`.
    pub assessment: String,
    /// The mark as stored before (`None`: not entered) and after (`None`: cleared).
    pub old: Option<String>,
    pub new: Option<String>,
    /// The sheet was approved when this was written.
    pub after_approval: bool,
    /// The writer teaches the sheet's subject in its stream (or may enter it otherwise).
    pub within_allocation: bool,
}

impl MarkWrite {
    /// An existing mark replaced or cleared: not a first entry, not a rewrite of the same value.
    pub fn changes_existing(&self) -> bool {
        self.old.is_some() && self.old != self.new
    }
}

/// A school's thresholds. [`FlagThresholds::check`], [`FlagThresholds::parse`] and serde
/// refuse values out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ThresholdsDraft")]
pub struct FlagThresholds {
    /// Changes of existing marks (1–10,000) …
    pub burst_count: u32,
    /// … within this many minutes (1–1,440) make a burst.
    pub burst_window_minutes: u32,
    /// The z-score of a jump, in hundredths (1–1,000: 0.01–10.00).
    pub jump_z: u32,
    /// Fewer students with both percentages (3–10,000): no jump check.
    pub min_class_size: usize,
}

impl Default for FlagThresholds {
    fn default() -> Self {
        Self { burst_count: 40, burst_window_minutes: 10, jump_z: 250, min_class_size: 8 }
    }
}

#[derive(Deserialize)]
struct ThresholdsDraft {
    burst_count: u32,
    burst_window_minutes: u32,
    jump_z: u32,
    min_class_size: usize,
}

impl TryFrom<ThresholdsDraft> for FlagThresholds {
    type Error = ValidationError;
    fn try_from(d: ThresholdsDraft) -> Result<Self, Self::Error> {
        let t = Self {
            burst_count: d.burst_count,
            burst_window_minutes: d.burst_window_minutes,
            jump_z: d.jump_z,
            min_class_size: d.min_class_size,
        };
        match t.errors().into_iter().next() {
            Some(e) => Err(e),
            None => Ok(t),
        }
    }
}

const BURST_COUNT: (&str, &str) = ("burst_count", "error-flags-burst-count");
const BURST_WINDOW: (&str, &str) = ("burst_window_minutes", "error-flags-burst-window");
const JUMP_Z: (&str, &str) = ("jump_z", "error-flags-jump-z");
const MIN_CLASS: (&str, &str) = ("min_class_size", "error-flags-min-class");

impl FlagThresholds {
    fn errors(&self) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        let mut need = |ok: bool, (field, key): (&str, &str)| {
            if !ok {
                errors.push(ValidationError::new(field, key));
            }
        };
        need((1..=10_000).contains(&self.burst_count), BURST_COUNT);
        need((1..=1_440).contains(&self.burst_window_minutes), BURST_WINDOW);
        need((1..=1_000).contains(&self.jump_z), JUMP_Z);
        // Each student is compared with the others, and a spread needs at least two of them.
        need((3..=10_000).contains(&self.min_class_size), MIN_CLASS);
        errors
    }

    /// Every field out of range, in field order.
    pub fn check(self) -> Result<Self, Vec<ValidationError>> {
        let errors = self.errors();
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }

    /// The settings form: whole numbers, and the z-score as typed (`2.5`, `2,5`, `3`).
    pub fn parse(burst_count: &str, burst_window_minutes: &str, jump_z: &str, min_class_size: &str) -> Result<Self, Vec<ValidationError>> {
        fn whole(typed: &str) -> Option<u32> {
            let t = typed.trim();
            // At most five digits: every limit is below 100,000, and no overflow.
            (!t.is_empty() && t.len() <= 5 && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().ok()).flatten()
        }
        let mut errors = Vec::new();
        let mut read = |typed: &str, (field, key): (&str, &str)| {
            let v = whole(typed);
            if v.is_none() {
                errors.push(ValidationError::new(field, key));
            }
            v.unwrap_or(0)
        };
        let burst_count = read(burst_count, BURST_COUNT);
        let burst_window_minutes = read(burst_window_minutes, BURST_WINDOW);
        let min_class_size = read(min_class_size, MIN_CLASS);
        // Read like a mark out of 10: at most two decimals; ABS and EX are no z-scores.
        let jump_z = match Mark::parse(jump_z, 10) {
            Ok(Mark::Score(h)) => h.get(),
            _ => 0,
        };
        let t = Self { burst_count, burst_window_minutes, jump_z, min_class_size: usize::try_from(min_class_size).unwrap_or(0) };
        // A field already refused is not refused twice.
        for e in t.errors() {
            if !errors.iter().any(|x: &ValidationError| x.field == e.field) {
                errors.push(e);
            }
        }
        let order = [BURST_COUNT.0, BURST_WINDOW.0, JUMP_Z.0, MIN_CLASS.0];
        errors.sort_by_key(|e| order.iter().position(|f| *f == e.field));
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(errors)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    ChangedAfterApproval,
    Burst,
    OutsideAllocation,
    ScoreJump,
}

impl FlagKind {
    pub const ALL: [FlagKind; 4] = [Self::ChangedAfterApproval, Self::Burst, Self::OutsideAllocation, Self::ScoreJump];

    /// The database code.
    pub fn code(self) -> &'static str {
        match self {
            Self::ChangedAfterApproval => "changed_after_approval",
            Self::Burst => "burst",
            Self::OutsideAllocation => "outside_allocation",
            Self::ScoreJump => "score_jump",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The i18n key of its label.
    pub fn label_key(self) -> &'static str {
        match self {
            Self::ChangedAfterApproval => "results-flag-changed-after-approval",
            Self::Burst => "results-flag-burst",
            Self::OutsideAllocation => "results-flag-outside-allocation",
            Self::ScoreJump => "results-flag-score-jump",
        }
    }
}

/// Something for the head teacher to look at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FlagKind,
    pub writer: Option<Uuid>,
    pub sheet: Option<Uuid>,
    pub student: Option<Uuid>,
    /// 64 hex digits naming what was found (not the evidence), the same in every run, so
    /// the database keeps one row per finding however often the job runs.
    pub fingerprint: String,
    /// What the rule saw: times (RFC 3339, UTC, microseconds), values, counts.
    pub evidence: Value,
}

/// SHA-256 of the kind's code and the identifying parts, each length-prefixed so no two
/// lists of parts give the same text. Changing this orphans every stored finding.
fn fingerprint(kind: FlagKind, parts: &[&str]) -> String {
    let mut text = String::from("kilele-flag-v1");
    for part in std::iter::once(kind.code()).chain(parts.iter().copied()) {
        text.push('|');
        text.push_str(&part.len().to_string());
        text.push(':');
        text.push_str(part);
    }
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Microseconds since the epoch: what PostgreSQL keeps, so a time read back from the
/// database names the same finding as the one it was written from.
fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// What findings are sorted by: kind, writer, sheet, student, time.
type SortKey = (FlagKind, Option<Uuid>, Option<Uuid>, Option<Uuid>, i64);

fn sorted(mut found: Vec<(SortKey, Finding)>) -> Vec<Finding> {
    found.sort_by(|(a, fa), (b, fb)| a.cmp(b).then_with(|| fa.fingerprint.cmp(&fb.fingerprint)));
    found.into_iter().map(|(_, f)| f).collect()
}

/// Scores the writes with the rules of the module documentation.
pub fn score_writes(writes: &[MarkWrite], t: &FlagThresholds) -> Vec<Finding> {
    let mut found: Vec<(SortKey, Finding)> = Vec::new();

    for w in writes.iter().filter(|w| w.after_approval) {
        let at = micros(w.at).to_string();
        let (writer, sheet, student) = (w.writer.to_string(), w.sheet.to_string(), w.student.to_string());
        let kind = FlagKind::ChangedAfterApproval;
        found.push((
            (kind, Some(w.writer), Some(w.sheet), Some(w.student), micros(w.at)),
            Finding {
                kind,
                writer: Some(w.writer),
                sheet: Some(w.sheet),
                student: Some(w.student),
                fingerprint: fingerprint(kind, &[&writer, &sheet, &student, &w.assessment, &at]),
                evidence: json!({ "at": time(w.at), "assessment": w.assessment, "old": w.old, "new": w.new }),
            },
        ));
    }

    let mut outside: BTreeMap<(Uuid, Uuid), Vec<&MarkWrite>> = BTreeMap::new();
    for w in writes.iter().filter(|w| !w.within_allocation) {
        outside.entry((w.writer, w.sheet)).or_default().push(w);
    }
    for ((writer, sheet), ws) in outside {
        let (Some(first), Some(last)) = (ws.iter().map(|w| w.at).min(), ws.iter().map(|w| w.at).max()) else { continue };
        let students: BTreeSet<Uuid> = ws.iter().map(|w| w.student).collect();
        let kind = FlagKind::OutsideAllocation;
        found.push((
            (kind, Some(writer), Some(sheet), None, micros(first)),
            Finding {
                kind,
                writer: Some(writer),
                sheet: Some(sheet),
                student: None,
                fingerprint: fingerprint(kind, &[&writer.to_string(), &sheet.to_string()]),
                evidence: json!({ "writes": ws.len(), "students": students.len(), "first_at": time(first), "last_at": time(last) }),
            },
        ));
    }

    let mut changes: BTreeMap<Uuid, Vec<&MarkWrite>> = BTreeMap::new();
    for w in writes.iter().filter(|w| w.changes_existing()) {
        changes.entry(w.writer).or_default().push(w);
    }
    for (writer, mut ws) in changes {
        // By time, then by what was written: the same writes in any order give the same bursts.
        ws.sort_by(|a, b| {
            (a.at, a.sheet, a.student, &a.assessment, &a.old, &a.new).cmp(&(b.at, b.sheet, b.student, &b.assessment, &b.old, &b.new))
        });
        for burst in bursts(&ws, t) {
            let (Some(first), Some(last)) = (burst.first(), burst.last()) else { continue };
            let sheets: BTreeSet<Uuid> = burst.iter().map(|w| w.sheet).collect();
            let students: BTreeSet<Uuid> = burst.iter().map(|w| w.student).collect();
            let one_sheet = if sheets.len() == 1 { sheets.first().copied() } else { None };
            let kind = FlagKind::Burst;
            found.push((
                (kind, Some(writer), one_sheet, None, micros(first.at)),
                Finding {
                    kind,
                    writer: Some(writer),
                    sheet: one_sheet,
                    student: None,
                    fingerprint: fingerprint(kind, &[&writer.to_string(), &micros(first.at).to_string()]),
                    evidence: json!({
                        "changes": burst.len(),
                        "from": time(first.at),
                        "to": time(last.at),
                        "window_minutes": t.burst_window_minutes,
                        "burst_count": t.burst_count,
                        "sheets": sheets.iter().map(Uuid::to_string).collect::<Vec<_>>(),
                        "students": students.len(),
                    }),
                },
            ));
        }
    }
    sorted(found)
}

/// The bursts in one writer's changes (sorted by time): each a run of at least
/// `burst_count` changes within a window from its first change.
fn bursts<'a, 'w>(changes: &'a [&'w MarkWrite], t: &FlagThresholds) -> Vec<&'a [&'w MarkWrite]> {
    let need = usize::try_from(t.burst_count.max(1)).unwrap_or(usize::MAX);
    let window = TimeDelta::try_minutes(i64::from(t.burst_window_minutes)).unwrap_or(TimeDelta::MAX);
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(start) = changes.get(i) {
        // `None`: a window past the end of time, which holds everything after its start.
        let end = start.at.checked_add_signed(window);
        let inside = |w: &&MarkWrite| end.is_none_or(|end| w.at < end);
        let Some(nth) = i.checked_add(need - 1).and_then(|n| changes.get(n)) else { break };
        if inside(nth) {
            let len = changes.get(i..).map_or(0, |rest| rest.iter().take_while(|w| inside(w)).count());
            if let Some(burst) = changes.get(i..i + len) {
                found.push(burst);
            }
            i += len.max(1);
        } else {
            i += 1;
        }
    }
    found
}

/// Score jumps on one sheet (or whatever the two lists compare: a subject's percentages of
/// a class in two terms): each student's change against their classmates' changes.
///
/// Only students in both lists count (a student listed twice: the last entry). With fewer
/// than `min_class_size` of them, nothing is checked. Each student is compared with the
/// *others*: a tampered mark must not widen the spread it is measured against (with the
/// student included, a class of n can never show a z-score above √(n−1), 2.65 for 8).
/// `sheet` names the finding and is part of its fingerprint, with the student: one finding
/// per student and sheet, however the marks move afterwards.
pub fn score_jumps(sheet: Uuid, previous: &[(Uuid, u8)], current: &[(Uuid, u8)], t: &FlagThresholds) -> Vec<Finding> {
    let previous: BTreeMap<Uuid, u8> = previous.iter().copied().collect();
    let both: BTreeMap<Uuid, (u8, u8)> = current
        .iter()
        .copied()
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .filter_map(|(s, c)| previous.get(&s).map(|&p| (s, (p, c))))
        .collect();
    if both.len() < t.min_class_size {
        return Vec::new();
    }
    // Percentages in hundredths, as `trend` takes them.
    let pairs: Vec<(Uuid, (u32, u32))> = both.iter().map(|(&s, &(p, c))| (s, (u32::from(p) * 100, u32::from(c) * 100))).collect();
    let config = TrendConfig { threshold: t.jump_z, min_class: 1 };
    let mut others: Vec<(u32, u32)> = Vec::with_capacity(pairs.len());
    let mut found = Vec::new();
    for (i, &(student, (p, c))) in pairs.iter().enumerate() {
        others.clear();
        others.extend(pairs.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, &(_, pair))| pair));
        let verdict = trend::jump(p, c, &others, config);
        if verdict.verdict != Verdict::Jump {
            continue;
        }
        let kind = FlagKind::ScoreJump;
        found.push((
            (kind, None, Some(sheet), Some(student), 0),
            Finding {
                kind,
                writer: None,
                sheet: Some(sheet),
                student: Some(student),
                fingerprint: fingerprint(kind, &[&sheet.to_string(), &student.to_string()]),
                evidence: json!({
                    "previous": p / 100,
                    "current": c / 100,
                    "change": i64::from(c / 100) - i64::from(p / 100),
                    "z_hundredths": verdict.z,
                    "threshold_hundredths": t.jump_z,
                    "classmates": others.len(),
                }),
            },
        ));
    }
    sorted(found)
}

/// One sheet's entries as the term's jump check reads them.
#[derive(Debug, Clone)]
pub struct SheetMarks<'a> {
    pub sheet: Uuid,
    pub subject: Uuid,
    /// The level's assessments for the sheet's term, in the term's order.
    pub assessments: &'a AssessmentSet,
    /// Every entry: (student, assessment key, mark). Keys the set does not have are ignored.
    pub marks: Vec<(Uuid, String, Mark)>,
}

impl SheetMarks<'_> {
    /// Each student's entries, one per assessment of the set, in its order.
    fn entries(&self) -> BTreeMap<Uuid, Vec<Option<Mark>>> {
        let mut by_student: BTreeMap<Uuid, Vec<Option<Mark>>> = BTreeMap::new();
        for (student, key, mark) in &self.marks {
            let Some(i) = self.assessments.position(key) else { continue };
            let row = by_student.entry(*student).or_insert_with(|| vec![None; self.assessments.len()]);
            if let Some(slot) = row.get_mut(i) {
                *slot = Some(*mark);
            }
        }
        by_student
    }

    /// Each student's term score (a whole percentage), for those who have one (not `ABS`,
    /// `EX` or incomplete).
    fn term_scores(&self) -> BTreeMap<Uuid, u8> {
        self.entries()
            .into_iter()
            .filter_map(|(student, row)| match self.assessments.term_outcome(&row) {
                Ok(TermOutcome::Score(s)) => Some((student, s)),
                _ => None,
            })
            .collect()
    }
}

/// A score of `max` marks as a whole percentage, rounded half up (67.5 of 100 → 68); `ABS`
/// and `EX` have none.
fn percentage(mark: Mark, max: u16) -> Option<u8> {
    let Mark::Score(h) = mark else { return None };
    let max = u64::from(max);
    if max == 0 {
        return None;
    }
    // h hundredths of a mark out of max marks is h / max percent.
    let rounded = (2 * u64::from(h.get()) + max) / (2 * max);
    u8::try_from(rounded.min(100)).ok()
}

/// The term's score jumps ([`score_jumps`]) on every sheet of `term`:
///
/// - between each two consecutive assessments of the sheet's set (its order), every
///   student's percentage of the assessment's maximum (`ABS`, `EX` and entries not made
///   leave the student out of that comparison);
/// - the subject's term score against the student's term score in the same subject in
///   `previous_term` (any sheet of that subject there: a student promoted or moved to another
///   stream is still compared with their own previous score; a student with two different
///   previous scores in the subject is left out rather than guessed).
///
/// A finding is named by its sheet and student ([`score_jumps`]), so one sheet gives at most
/// one per student: the first comparison, in the order above, that finds it. Its evidence
/// says which comparison: `from` and `to` are the assessment keys, or `previous_term` and
/// `term`.
pub fn score_term_jumps(term: &[SheetMarks], previous_term: &[SheetMarks], t: &FlagThresholds) -> Vec<Finding> {
    let mut before: BTreeMap<(Uuid, Uuid), Option<u8>> = BTreeMap::new();
    for sheet in previous_term {
        for (student, score) in sheet.term_scores() {
            before
                .entry((student, sheet.subject))
                .and_modify(|known| {
                    if *known != Some(score) {
                        *known = None;
                    }
                })
                .or_insert(Some(score));
        }
    }
    let mut sheets: Vec<&SheetMarks> = term.iter().collect();
    sheets.sort_by_key(|s| s.sheet);
    let mut found: Vec<(SortKey, Finding)> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut keep = |findings: Vec<Finding>, from: &str, to: &str| {
        for mut f in findings {
            if !seen.insert(f.fingerprint.clone()) {
                continue;
            }
            if let Value::Object(evidence) = &mut f.evidence {
                evidence.insert("from".into(), json!(from));
                evidence.insert("to".into(), json!(to));
            }
            found.push(((f.kind, f.writer, f.sheet, f.student, 0), f));
        }
    };
    for sheet in sheets {
        let entries = sheet.entries();
        let set = sheet.assessments.assessments();
        for (i, pair) in set.windows(2).enumerate() {
            let [a, b] = pair else { continue };
            let at = |index: usize, max: u16| -> Vec<(Uuid, u8)> {
                entries
                    .iter()
                    .filter_map(|(student, row)| row.get(index).copied().flatten().and_then(|m| percentage(m, max)).map(|p| (*student, p)))
                    .collect()
            };
            keep(score_jumps(sheet.sheet, &at(i, a.max), &at(i + 1, b.max), t), &a.key, &b.key);
        }
        let now: Vec<(Uuid, u8)> = sheet.term_scores().into_iter().collect();
        let then: Vec<(Uuid, u8)> = now
            .iter()
            .filter_map(|(student, _)| before.get(&(*student, sheet.subject)).copied().flatten().map(|p| (*student, p)))
            .collect();
        keep(score_jumps(sheet.sheet, &then, &now, t), "previous_term", "term");
    }
    sorted(found)
}

/// One fact of a flag's evidence, as the head teacher's list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceFact {
    /// The words' key (`results-evidence-*`) for a field the rules write; a field they do
    /// not write (an older finding) keeps its own name.
    pub label: String,
    pub value: String,
    /// `value` is a key of ours too (which terms a jump compares), to be put into words.
    pub value_is_key: bool,
}

/// The evidence fields the rules write, in the order they are read, with their words.
const EVIDENCE_FIELDS: [(&str, &str); 24] = [
    ("subject", "results-evidence-subject"),
    ("assessment", "results-evidence-assessment"),
    ("old", "results-evidence-old"),
    ("new", "results-evidence-new"),
    ("reason", "results-evidence-reason"),
    ("status", "results-evidence-status"),
    ("at", "results-evidence-at"),
    ("audit_seq", "results-evidence-audit-seq"),
    ("changes", "results-evidence-changes"),
    ("writes", "results-evidence-writes"),
    ("students", "results-evidence-students"),
    ("sheets", "results-evidence-sheets"),
    ("first_at", "results-evidence-first-at"),
    ("last_at", "results-evidence-last-at"),
    ("from", "results-evidence-from"),
    ("to", "results-evidence-to"),
    ("window_minutes", "results-evidence-window-minutes"),
    ("burst_count", "results-evidence-burst-count"),
    ("previous", "results-evidence-previous"),
    ("current", "results-evidence-current"),
    ("change", "results-evidence-change"),
    ("z_hundredths", "results-evidence-z"),
    ("threshold_hundredths", "results-evidence-threshold"),
    ("classmates", "results-evidence-classmates"),
];

/// A flag's stored evidence as facts to read: known fields first, in a fixed order and put
/// into words (an assessment by the name the school gave it in `assessments`, the sheet's
/// level's set for the flag's term, when known; times in the school's time, z-scores as
/// decimals, a list of sheets as its count, an empty old value as a dash), then any other
/// field as it is stored.
pub fn evidence_facts(evidence: &Value, assessments: Option<&AssessmentSet>) -> Vec<EvidenceFact> {
    let Value::Object(fields) = evidence else {
        return vec![EvidenceFact { label: "evidence".into(), value: evidence.to_string(), value_is_key: false }];
    };
    let known = EVIDENCE_FIELDS.iter().filter_map(|&(field, label)| fields.get(field).map(|v| (field, label.to_owned(), v)));
    let other = fields
        .iter()
        .filter(|(field, _)| !EVIDENCE_FIELDS.iter().any(|(f, _)| f == field))
        .map(|(field, v)| (field.as_str(), field.clone(), v));
    known
        .chain(other)
        .map(|(field, label, v)| {
            let (value, value_is_key) = evidence_value(field, v, assessments);
            EvidenceFact { label, value, value_is_key }
        })
        .collect()
}

fn evidence_value(field: &str, v: &Value, assessments: Option<&AssessmentSet>) -> (String, bool) {
    let plain = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let text = match (field, v) {
        ("from" | "to", Value::String(s)) if s == "previous_term" => return ("results-evidence-previous-term".into(), true),
        ("from" | "to", Value::String(s)) if s == "term" => return ("results-evidence-this-term".into(), true),
        // An assessment's key (a jump between two assessments compares them by key).
        ("assessment" | "from" | "to", Value::String(s)) if assessment_name(assessments, s).is_some() => {
            assessment_name(assessments, s).map_or_else(|| s.clone(), str::to_owned)
        }
        ("status", Value::String(s)) => match super::entry::SheetStatus::parse(s) {
            Some(status) => return (status.label_key().into(), true),
            None => s.clone(),
        },
        ("at" | "first_at" | "last_at" | "from" | "to", Value::String(s)) => {
            DateTime::parse_from_rfc3339(s).map(|at| crate::clock::school_time(at.with_timezone(&Utc))).unwrap_or_else(|_| s.clone())
        }
        ("z_hundredths" | "threshold_hundredths", Value::Number(n)) => match n.as_i64() {
            Some(h) => format!("{}{}.{:02}", if h < 0 { "-" } else { "" }, h.unsigned_abs() / 100, h.unsigned_abs() % 100),
            None => n.to_string(),
        },
        ("sheets", Value::Array(list)) => list.len().to_string(),
        ("change", Value::Number(n)) => match n.as_i64() {
            Some(c) if c > 0 => format!("+{c}"),
            _ => n.to_string(),
        },
        _ => plain(v),
    };
    if text.is_empty() && matches!(field, "old" | "new") {
        return ("—".into(), false);
    }
    (text, false)
}

/// The school's name of the assessment with this key.
fn assessment_name<'a>(assessments: Option<&'a AssessmentSet>, key: &str) -> Option<&'a str> {
    assessments?.assessments().iter().find(|a| a.key == key).map(|a| a.name.as_str())
}

#[cfg(test)]
mod tests {
    #[test]
    fn evidence_is_put_into_words() {
        let facts = |v: Value| evidence_facts(&v, None).into_iter().map(|f| (f.label, f.value, f.value_is_key)).collect::<Vec<_>>();
        let own = |l: &str, v: &str| (l.to_owned(), v.to_owned(), false);
        assert_eq!(
            facts(json!({ "new": "80", "old": null, "at": "2026-03-02T08:01:00.000000Z", "assessment": "exam", "extra": [1] })),
            vec![
                own("results-evidence-assessment", "exam"),
                own("results-evidence-old", "—"),
                own("results-evidence-new", "80"),
                own("results-evidence-at", "2026-03-02 11:01 EAT"),
                own("extra", "[1]"),
            ]
        );
        assert_eq!(
            facts(json!({ "z_hundredths": 250, "change": 50, "from": "previous_term", "to": "term", "sheets": ["a", "b"] })),
            vec![
                own("results-evidence-sheets", "2"),
                ("results-evidence-from".into(), "results-evidence-previous-term".into(), true),
                ("results-evidence-to".into(), "results-evidence-this-term".into(), true),
                own("results-evidence-change", "+50"),
                own("results-evidence-z", "2.50"),
            ]
        );
        assert_eq!(
            facts(json!({ "from": "ca1", "z_hundredths": -5 })),
            vec![own("results-evidence-from", "ca1"), own("results-evidence-z", "-0.05")]
        );
        assert_eq!(
            facts(json!({ "status": "approved" })),
            vec![("results-evidence-status".into(), "results-status-approved".into(), true)]
        );
        assert_eq!(facts(json!("odd")), vec![own("evidence", "\"odd\"")]);

        // With the level's assessments: each key by the school's name for it; an unknown key
        // (a set changed since) as it is stored.
        let set = AssessmentSet::default_secondary();
        let named = |v: Value| evidence_facts(&v, Some(&set)).into_iter().map(|f| (f.label, f.value)).collect::<Vec<_>>();
        let pair = |l: &str, v: &str| (l.to_owned(), v.to_owned());
        assert_eq!(
            named(json!({ "assessment": "exam", "old": "40", "new": "99" })),
            vec![
                pair("results-evidence-assessment", "Terminal exam"),
                pair("results-evidence-old", "40"),
                pair("results-evidence-new", "99")
            ]
        );
        assert_eq!(
            named(json!({ "from": "mt1", "to": "midterm" })),
            vec![pair("results-evidence-from", "Monthly test 1"), pair("results-evidence-to", "Midterm")]
        );
        assert_eq!(named(json!({ "assessment": "ca9" })), vec![pair("results-evidence-assessment", "ca9")]);
        assert_eq!(
            evidence_facts(&json!({ "from": "previous_term", "to": "term" }), Some(&set))
                .into_iter()
                .map(|f| (f.value, f.value_is_key))
                .collect::<Vec<_>>(),
            vec![("results-evidence-previous-term".into(), true), ("results-evidence-this-term".into(), true)]
        );
    }

    use super::*;
    use chrono::TimeZone;

    const T: FlagThresholds = FlagThresholds { burst_count: 40, burst_window_minutes: 10, jump_z: 250, min_class_size: 8 };

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// 2026-03-02 08:00:00 UTC plus `seconds`.
    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap() + TimeDelta::seconds(seconds)
    }

    /// A change of an existing mark by `writer` on sheet 100, student `student`.
    fn change(writer: u128, seconds: i64, student: u128) -> MarkWrite {
        MarkWrite {
            writer: id(writer),
            at: at(seconds),
            sheet: id(100),
            student: id(student),
            assessment: "exam".into(),
            old: Some("40".into()),
            new: Some("80".into()),
            after_approval: false,
            within_allocation: true,
        }
    }

    /// `n` changes by writer 1, `every` seconds apart from `from`, each for another student.
    fn spree(n: i64, every: i64, from: i64) -> Vec<MarkWrite> {
        (0..n).map(|i| change(1, from + i * every, 1000 + u128::try_from(i).unwrap())).collect()
    }

    fn bursts_of(writes: &[MarkWrite], t: &FlagThresholds) -> Vec<Finding> {
        score_writes(writes, t).into_iter().filter(|f| f.kind == FlagKind::Burst).collect()
    }

    #[test]
    fn thresholds_default_check_parse_and_serde() {
        assert_eq!(FlagThresholds::default(), T);
        assert_eq!(T.check(), Ok(T));
        assert_eq!(FlagThresholds::parse("40", " 10 ", "2.5", "8"), Ok(T));
        assert_eq!(FlagThresholds::parse("1", "1440", "0,01", "3").unwrap().jump_z, 1);
        assert_eq!(FlagThresholds::parse("10000", "1", "10", "10000").unwrap().jump_z, 1000);
        let keys = |r: Result<FlagThresholds, Vec<ValidationError>>| {
            r.unwrap_err().into_iter().map(|e| (e.field, e.message)).collect::<Vec<(String, String)>>()
        };
        let all = vec![
            ("burst_count".to_owned(), "error-flags-burst-count".to_owned()),
            ("burst_window_minutes".to_owned(), "error-flags-burst-window".to_owned()),
            ("jump_z".to_owned(), "error-flags-jump-z".to_owned()),
            ("min_class_size".to_owned(), "error-flags-min-class".to_owned()),
        ];
        assert_eq!(keys(FlagThresholds::parse("0", "0", "0", "2")), all);
        assert_eq!(keys(FlagThresholds::parse("10001", "1441", "10.01", "10001")), all);
        assert_eq!(keys(FlagThresholds::parse("-1", "ten", "2.555", "")), all);
        assert_eq!(keys(FlagThresholds::parse("40", "10", "ABS", "8")), all[2..3]);
        assert_eq!(keys(FlagThresholds::parse("99999999999", "10", "2.5", "8")), all[..1]);
        assert_eq!(keys(FlagThresholds { min_class_size: 2, ..T }.check()), all[3..]);
        // Serde: the same checks (a stored setting read back).
        let json = serde_json::to_string(&T).unwrap();
        assert_eq!(json, r#"{"burst_count":40,"burst_window_minutes":10,"jump_z":250,"min_class_size":8}"#);
        assert_eq!(serde_json::from_str::<FlagThresholds>(&json).unwrap(), T);
        assert!(serde_json::from_str::<FlagThresholds>(&json.replace("250", "0")).is_err());
    }

    #[test]
    fn kinds_codes_and_labels() {
        for kind in FlagKind::ALL {
            assert_eq!(FlagKind::parse(kind.code()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.code()));
        }
        let codes: Vec<&str> = FlagKind::ALL.map(FlagKind::code).to_vec();
        assert_eq!(codes, ["changed_after_approval", "burst", "outside_allocation", "score_jump"]);
        assert_eq!(FlagKind::parse("Burst"), None);
        assert_eq!(
            FlagKind::ALL.map(FlagKind::label_key),
            ["results-flag-changed-after-approval", "results-flag-burst", "results-flag-outside-allocation", "results-flag-score-jump"]
        );
    }

    #[test]
    fn fingerprints_are_pinned() {
        // Computed outside Rust: printf 'kilele-flag-v1|5:burst|3:abc|1:7' | sha256sum
        assert_eq!(fingerprint(FlagKind::Burst, &["abc", "7"]), "597e8d130f8c22e7d5d960e341a6807007483bd301cd033e9231b8edc37dab1d");
        // Length prefixes: moving a character from one part to the next changes the print.
        assert_ne!(fingerprint(FlagKind::Burst, &["ab", "c7"]), fingerprint(FlagKind::Burst, &["abc", "7"]));
        assert_ne!(fingerprint(FlagKind::Burst, &["abc", "7"]), fingerprint(FlagKind::ScoreJump, &["abc", "7"]));
    }

    #[test]
    fn changed_after_approval_one_finding_per_write() {
        let mut late = change(7, 60, 5);
        late.after_approval = true;
        let mut first_entry = change(7, 30, 6);
        first_entry.after_approval = true;
        first_entry.old = None;
        first_entry.new = Some("ABS".into());
        let before = change(7, 0, 5);
        let found = score_writes(&[late.clone(), before, first_entry], &T);
        assert_eq!(found.len(), 2);
        // Sorted by student: 5 then 6.
        assert!(found.iter().all(|f| f.kind == FlagKind::ChangedAfterApproval && f.writer == Some(id(7)) && f.sheet == Some(id(100))));
        assert_eq!(found[0].student, Some(id(5)));
        assert_eq!(found[0].evidence, json!({ "at": "2026-03-02T08:01:00.000000Z", "assessment": "exam", "old": "40", "new": "80" }));
        assert_eq!(found[1].evidence["old"], Value::Null);
        // The print names the write: writer, sheet, student, assessment, microseconds.
        let at_micros = (at(60).timestamp() * 1_000_000).to_string();
        assert_eq!(at_micros, "1772438460000000");
        assert_eq!(
            found[0].fingerprint,
            fingerprint(
                FlagKind::ChangedAfterApproval,
                &[
                    "00000000-0000-0000-0000-000000000007",
                    "00000000-0000-0000-0000-000000000064",
                    "00000000-0000-0000-0000-000000000005",
                    "exam",
                    &at_micros
                ]
            )
        );
        // Another value written at the same moment is the same write's finding (de-duplicated).
        late.new = Some("90".into());
        assert_eq!(score_writes(&[late], &T)[0].fingerprint, found[0].fingerprint);
    }

    #[test]
    fn outside_allocation_one_finding_per_writer_and_sheet() {
        let outside = |writer: u128, sheet: u128, seconds: i64, student: u128| MarkWrite {
            sheet: id(sheet),
            within_allocation: false,
            old: None, // first entries count: entering marks for a class one does not teach is the point
            ..change(writer, seconds, student)
        };
        let writes = [
            outside(2, 200, 300, 1),
            outside(1, 100, 50, 1),
            outside(1, 100, 10, 2),
            outside(1, 100, 20, 2),
            outside(1, 200, 5, 3),
            change(1, 0, 4), // within allocation
        ];
        let found = score_writes(&writes, &T);
        let summary: Vec<(Option<Uuid>, Option<Uuid>, u64)> =
            found.iter().map(|f| (f.writer, f.sheet, f.evidence["writes"].as_u64().unwrap())).collect();
        assert_eq!(summary, [(Some(id(1)), Some(id(100)), 3), (Some(id(1)), Some(id(200)), 1), (Some(id(2)), Some(id(200)), 1)]);
        assert_eq!(
            found[0].evidence,
            json!({ "writes": 3, "students": 2, "first_at": "2026-03-02T08:00:10.000000Z", "last_at": "2026-03-02T08:00:50.000000Z" })
        );
        assert!(found.iter().all(|f| f.kind == FlagKind::OutsideAllocation && f.student.is_none()));
        assert_eq!(
            found[0].fingerprint,
            fingerprint(FlagKind::OutsideAllocation, &["00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000064"])
        );
    }

    #[test]
    fn a_burst_is_exactly_burst_count_changes_in_the_window() {
        // 40 changes 15 s apart: the last at 9 min 45 s. A burst.
        let found = bursts_of(&spree(40, 15, 0), &T);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].writer, found[0].sheet, found[0].student), (Some(id(1)), Some(id(100)), None));
        assert_eq!(
            found[0].evidence,
            json!({
                "changes": 40,
                "from": "2026-03-02T08:00:00.000000Z",
                "to": "2026-03-02T08:09:45.000000Z",
                "window_minutes": 10,
                "burst_count": 40,
                "sheets": ["00000000-0000-0000-0000-000000000064"],
                "students": 40,
            })
        );
        // printf 'kilele-flag-v1|5:burst|36:<writer>|16:1772438400000000' | sha256sum
        assert_eq!(found[0].fingerprint, "4c5217bcb047a8310bfa405b6205dd6971d2144a567971fb034e6098bc42225b");
        // 39: none.
        assert!(bursts_of(&spree(39, 15, 0), &T).is_empty());
        // A threshold of 39 flags them.
        assert_eq!(bursts_of(&spree(39, 15, 0), &FlagThresholds { burst_count: 39, ..T }).len(), 1);
    }

    #[test]
    fn the_window_excludes_its_end() {
        // 39 changes 15 s apart (the last at 9:30), the 40th at exactly 10:00: outside.
        let mut writes = spree(39, 15, 0);
        writes.push(change(1, 600, 5000));
        assert!(bursts_of(&writes, &T).is_empty());
        // One second earlier: inside.
        writes.last_mut().unwrap().at = at(599);
        let found = bursts_of(&writes, &T);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].evidence["to"], "2026-03-02T08:09:59.000000Z");
    }

    #[test]
    fn only_changes_of_existing_marks_count() {
        // Forty writes in forty seconds, one of which is no change: no burst. A first entry
        // (old None) is no change, nor is writing the same value again.
        let first_entry = |w: &mut MarkWrite| w.old = None;
        let same_again = |w: &mut MarkWrite| w.old = w.new.clone();
        for no_change in [first_entry, same_again] {
            let mut writes = spree(40, 1, 0);
            assert_eq!(bursts_of(&writes, &T).len(), 1);
            no_change(&mut writes[7]);
            assert!(!writes[7].changes_existing());
            assert!(bursts_of(&writes, &T).is_empty());
        }
        // Clearing a mark is a change.
        let mut writes = spree(40, 1, 0);
        writes[7].new = None;
        assert!(writes[7].changes_existing());
        assert_eq!(bursts_of(&writes, &T).len(), 1);
        // Forty first entries in a minute: a teacher typing up a sheet, nothing to flag at all.
        let typing: Vec<MarkWrite> = spree(40, 1, 0).into_iter().map(|w| MarkWrite { old: None, ..w }).collect();
        assert!(score_writes(&typing, &T).is_empty());
    }

    #[test]
    fn one_finding_per_burst_and_writer() {
        // 60 changes 12 s apart (0 … 708 s): the window from the first holds 50 (0 … 588 s);
        // the next window starts at 600 s with only 10 left: one burst of 50.
        let found = bursts_of(&spree(60, 12, 0), &T);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].evidence["changes"].as_u64(), found[0].evidence["to"].as_str()),
            (Some(50), Some("2026-03-02T08:09:48.000000Z"))
        );
        // Another spree an hour later is another burst; another writer's, another finding.
        let mut writes = spree(60, 12, 0);
        writes.extend(spree(45, 5, 3600));
        writes.extend((0..40).map(|i| MarkWrite { sheet: id(101 + u128::try_from(i % 2).unwrap()), ..change(2, i * 3, 7) }));
        let found = bursts_of(&writes, &T);
        let summary: Vec<(Option<Uuid>, Option<Uuid>, &str, u64)> = found
            .iter()
            .map(|f| (f.writer, f.sheet, f.evidence["from"].as_str().unwrap(), f.evidence["changes"].as_u64().unwrap()))
            .collect();
        assert_eq!(
            summary,
            [
                (Some(id(1)), Some(id(100)), "2026-03-02T08:00:00.000000Z", 50),
                (Some(id(1)), Some(id(100)), "2026-03-02T09:00:00.000000Z", 45),
                // Two sheets: no single sheet named, both in the evidence.
                (Some(id(2)), None, "2026-03-02T08:00:00.000000Z", 40),
            ]
        );
        assert_eq!(found[2].evidence["sheets"], json!(["00000000-0000-0000-0000-000000000065", "00000000-0000-0000-0000-000000000066"]));
        assert_eq!(found[2].evidence["students"], 1);
    }

    #[test]
    fn the_same_writes_in_any_order_give_the_same_findings() {
        let mut writes = spree(50, 10, 0);
        writes[3].after_approval = true;
        writes[9].within_allocation = false;
        writes.extend(spree(40, 1, 7200));
        let found = score_writes(&writes, &T);
        assert_eq!(
            found.iter().map(|f| f.kind).collect::<Vec<_>>(),
            [FlagKind::ChangedAfterApproval, FlagKind::Burst, FlagKind::Burst, FlagKind::OutsideAllocation]
        );
        writes.reverse();
        assert_eq!(score_writes(&writes, &T), found);
        writes.rotate_left(17);
        assert_eq!(score_writes(&writes, &T), found);
        assert!(score_writes(&[], &T).is_empty());
    }

    /// Students 1… with a previous percentage of 50 and these changes.
    type Percentages = Vec<(Uuid, u8)>;

    fn class(changes: &[i16]) -> (Percentages, Percentages) {
        let previous = (1..).zip(changes).map(|(i, _)| (id(i), 50)).collect();
        let current = (1..).zip(changes).map(|(i, c)| (id(i), u8::try_from(50 + c).unwrap())).collect();
        (previous, current)
    }

    #[test]
    fn a_jump_against_the_classmates() {
        // Classmates −2, −1, 0, 0, 0, 1, 2: mean 0, deviation √(10/7) = 1.195 points. Student 8
        // went up 10: z = 10 / 1.195 = 8.37 (in hundredths: 700000 / ⌊√700000⌋ = 700000 / 836).
        let (previous, current) = class(&[-2, -1, 0, 0, 0, 1, 2, 10]);
        let found = score_jumps(id(100), &previous, &current, &T);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].kind, found[0].writer, found[0].sheet, found[0].student),
            (FlagKind::ScoreJump, None, Some(id(100)), Some(id(8)))
        );
        assert_eq!(
            found[0].evidence,
            json!({ "previous": 50, "current": 60, "change": 10, "z_hundredths": 837, "threshold_hundredths": 250, "classmates": 7 })
        );
        assert_eq!(
            found[0].fingerprint,
            fingerprint(FlagKind::ScoreJump, &["00000000-0000-0000-0000-000000000064", "00000000-0000-0000-0000-000000000008"])
        );
        // Order does not matter; a fall of 10 is not flagged.
        let (mut p, mut c) = (previous.clone(), current.clone());
        p.reverse();
        c.rotate_left(3);
        assert_eq!(score_jumps(id(100), &p, &c, &T), found);
        let (previous, current) = class(&[-2, -1, 0, 0, 0, 1, 2, -10]);
        assert!(score_jumps(id(100), &previous, &current, &T).is_empty());
    }

    #[test]
    fn jump_threshold_and_class_size_boundaries() {
        // Classmates ±4 (four each): mean 0, deviation 4; +10 is z = 2.50 exactly: flagged at
        // 2.50, not at 2.51; +9 (2.25) is not.
        let (previous, current) = class(&[-4, 4, -4, 4, -4, 4, -4, 4, 10]);
        let found = score_jumps(id(1), &previous, &current, &T);
        assert_eq!(found.iter().map(|f| f.student).collect::<Vec<_>>(), [Some(id(9))]);
        assert_eq!(found[0].evidence["z_hundredths"], 250);
        assert!(score_jumps(id(1), &previous, &current, &FlagThresholds { jump_z: 251, ..T }).is_empty());
        let (p9, c9) = class(&[-4, 4, -4, 4, -4, 4, -4, 4, 9]);
        assert!(score_jumps(id(1), &p9, &c9, &T).is_empty());
        // Nine students with both percentages: checked when at least 9 are needed, not 10.
        assert_eq!(score_jumps(id(1), &previous, &current, &FlagThresholds { min_class_size: 9, ..T }).len(), 1);
        assert!(score_jumps(id(1), &previous, &current, &FlagThresholds { min_class_size: 10, ..T }).is_empty());
        // A student missing from either list does not count towards the size.
        let mut fewer = current.clone();
        fewer.remove(0);
        assert!(score_jumps(id(1), &previous, &fewer, &FlagThresholds { min_class_size: 9, ..T }).is_empty());
        assert!(score_jumps(id(1), &[], &[], &T).is_empty());
    }

    /// A sheet of `subject` with entries as typed: (student, assessment, mark).
    fn marks_sheet<'a>(sheet: u128, subject: u128, set: &'a AssessmentSet, marks: &[(u128, &str, String)]) -> SheetMarks<'a> {
        SheetMarks {
            sheet: id(sheet),
            subject: id(subject),
            assessments: set,
            marks: marks.iter().map(|(s, k, v)| (id(*s), (*k).to_owned(), Mark::parse(v, 100).unwrap())).collect(),
        }
    }

    #[test]
    fn percentages_of_the_maximum_round_half_up() {
        use crate::results::Hundredths;
        assert_eq!(percentage(Mark::Score(Hundredths(6750)), 100), Some(68));
        assert_eq!(percentage(Mark::Score(Hundredths(6749)), 100), Some(67));
        // 33.75 of 50 is 67.5 %.
        assert_eq!(percentage(Mark::Score(Hundredths(3375)), 50), Some(68));
        assert_eq!(percentage(Mark::Score(Hundredths(5000)), 50), Some(100));
        assert_eq!(percentage(Mark::Score(Hundredths(0)), 50), Some(0));
        assert_eq!(percentage(Mark::Absent, 100), None);
        assert_eq!(percentage(Mark::Exempt, 100), None);
    }

    #[test]
    fn a_jump_between_consecutive_assessments_of_a_sheet() {
        let set = AssessmentSet::default_secondary();
        // Students 1–8 move by −2 … +2 from mt1 to the midterm; 9 was absent from mt1 (left
        // out); 10 goes from 40 to 90.
        let mut marks = Vec::new();
        for (student, change) in (1..).zip([-2i32, -1, 0, 0, 0, 1, 2, 0]) {
            marks.push((student, "mt1", "50".to_owned()));
            marks.push((student, "midterm", (50 + change).to_string()));
        }
        marks.push((9, "mt1", "ABS".to_owned()));
        marks.push((9, "midterm", "95".to_owned()));
        marks.push((10, "mt1", "40".to_owned()));
        marks.push((10, "midterm", "90".to_owned()));
        // mt2 for a few only (fewer than the class size: not compared), and a key the set does
        // not have (ignored).
        marks.push((10, "mt2", "10".to_owned()));
        marks.push((1, "quiz", "99".to_owned()));
        let sheets = [marks_sheet(100, 7, &set, &marks)];
        let found = score_term_jumps(&sheets, &[], &T);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].kind, found[0].sheet, found[0].student, found[0].writer),
            (FlagKind::ScoreJump, Some(id(100)), Some(id(10)), None)
        );
        assert_eq!(
            found[0].evidence,
            json!({
                "previous": 40, "current": 90, "change": 50, "z_hundredths": found[0].evidence["z_hundredths"],
                "threshold_hundredths": 250, "classmates": 8, "from": "mt1", "to": "midterm",
            })
        );
        // The fingerprint is score_jumps's: the sheet and the student.
        assert_eq!(found[0].fingerprint, fingerprint(FlagKind::ScoreJump, &[&id(100).to_string(), &id(10).to_string()]));
    }

    #[test]
    fn a_term_score_against_the_previous_term_in_the_same_subject() {
        let set = AssessmentSet::default_secondary();
        let keys = ["mt1", "midterm", "mt2", "exam"];
        let every = |student: u128, mark: i32| keys.iter().map(move |k| (student, *k, mark.to_string()));
        // Last term: everyone 50 in subject 7 (sheet 200, another stream: ids do not matter).
        let previous: Vec<_> = (1..=10).flat_map(|s| every(s, 50)).collect();
        let previous = [marks_sheet(200, 7, &set, &previous)];
        // This term: the same mark in every assessment (no change inside the term), 50 ± 2
        // for 1–9 and 90 for 10.
        let mut now: Vec<_> = (1..).zip([-2, -1, 0, 0, 0, 1, 2, 1, -1]).flat_map(|(s, c)| every(s, 50 + c)).collect();
        now.extend(every(10, 90));
        let term = [marks_sheet(100, 7, &set, &now)];
        let found = score_term_jumps(&term, &previous, &T);
        assert_eq!(found.iter().map(|f| f.student).collect::<Vec<_>>(), [Some(id(10))]);
        assert_eq!((found[0].evidence["from"].as_str(), found[0].evidence["to"].as_str()), (Some("previous_term"), Some("term")));
        assert_eq!((found[0].evidence["previous"].as_u64(), found[0].evidence["current"].as_u64()), (Some(50), Some(90)));
        assert_eq!(found[0].sheet, Some(id(100)), "named by this term's sheet");

        // Another subject last term: nothing to compare.
        let other_subject = [marks_sheet(200, 8, &set, &(1..=10).flat_map(|s| every(s, 50)).collect::<Vec<_>>())];
        assert!(score_term_jumps(&term, &other_subject, &T).is_empty());
        // Two different previous scores in the subject (two sheets): the student is left out.
        let twice = [previous[0].clone(), marks_sheet(201, 7, &set, &every(10, 85).collect::<Vec<_>>())];
        assert!(score_term_jumps(&term, &twice, &T).is_empty());
        // A previous exam not entered (incomplete) or ABS: no previous term score.
        let mut gaps: Vec<_> = (1..=9).flat_map(|s| every(s, 50)).collect();
        gaps.extend([(10, "mt1", "50".to_owned()), (10, "exam", "ABS".to_owned())]);
        assert!(score_term_jumps(&term, &[marks_sheet(200, 7, &set, &gaps)], &T).is_empty());

        // One finding per sheet and student: a student who also jumps inside the term is named
        // once, by the first comparison (mt1 → midterm).
        let mut both = now.clone();
        both.retain(|(s, k, _)| !(*s == 10 && *k == "mt1"));
        both.push((10, "mt1", "40".to_owned()));
        let term = [marks_sheet(100, 7, &set, &both)];
        let found = score_term_jumps(&term, &previous, &T);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].evidence["from"].as_str(), found[0].evidence["to"].as_str()), (Some("mt1"), Some("midterm")));
        // Any order of sheets and entries: the same findings.
        let mut reversed = term[0].clone();
        reversed.marks.reverse();
        let two = [marks_sheet(99, 8, &set, &both), reversed];
        let mut swapped = two.clone();
        swapped.reverse();
        assert_eq!(score_term_jumps(&two, &previous, &T), score_term_jumps(&swapped, &previous, &T));
        assert_eq!(score_term_jumps(&two, &previous, &T).len(), 2, "sheet 99 (subject 8): no previous term, but its own jump");
    }
}
