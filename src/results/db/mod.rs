//! Results in the database (`ssr`): one file per concern, every write audited in the same
//! transaction. Tables: migrations 0012 and 0014 (`mark_uploads`).
//!
//! | File | What |
//! |---|---|
//! | `setup` | a level's assessments and grading scheme for a term (the defaults until written) |
//! | `sheets` | a sheet as the grid shows it; the submission overview |
//! | `marks` | saving entries (checked, all or nothing, optimistic revisions); the audit cross-check |
//! | `workflow` | submit, approve, return; publishing a class |
//! | `flags` | tamper flags: raised, listed, resolved; the scoring job |
//! | `schemes` | the admin's set-up: a level's assessments (until marks exist) and scheme (until published); the school's schemes, copied and edited (a frozen one by a new version); the set-up lock |
//! | `portal` | published results of a student, for parents and students |
//! | `sample` | sample marks for a class, for the report-card benchmark's scratch database |
//! | `uploads` | a marks file for one sheet: checked and kept until its preview is confirmed, then saved in one `save_marks` |

mod flags;
mod marks;
mod portal;
mod sample;
mod schemes;
mod setup;
mod sheets;
mod uploads;
mod workflow;

pub use flags::*;
pub use marks::*;
pub use portal::*;
pub use sample::*;
pub use schemes::*;
pub use setup::*;
pub use sheets::*;
pub use uploads::*;
pub use workflow::*;

use crate::identity::store::ChangedBy;
use crate::identity::{Permission, Principal};
use uuid::Uuid;

/// Who is writing marks and what they may do beyond their own allocations.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    pub user: Uuid,
    pub by: ChangedBy<'a>,
    /// May change approved marks (with a reason).
    pub may_amend: bool,
    /// May approve and return sheets, and so read every sheet.
    pub may_decide: bool,
}

impl Reader {
    /// What `me`'s permissions let them do with sheets.
    pub fn of(me: &Principal) -> Self {
        Self { user: me.user_id, may_decide: me.can(Permission::ResultsApprove), may_amend: me.can(Permission::ResultsAmend) }
    }
}

impl<'a> Writer<'a> {
    /// `me` writing, as `by` records it.
    pub fn of(me: &Principal, by: ChangedBy<'a>) -> Self {
        let r = Reader::of(me);
        Self { user: r.user, by, may_amend: r.may_amend, may_decide: r.may_decide }
    }
}
