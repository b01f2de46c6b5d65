//! What the accountant's and the family's pages show (serialisable: server functions return
//! them). Amounts stay integer minor units; the page formats them with [`super::Money`].

use super::ledger::{Ageing, Channel, EntryKind};
use crate::reporting::BatchStatus;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeLineView {
    pub item: Uuid,
    pub name: String,
    pub amount_minor: i64,
    pub compulsory: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalmentView {
    pub seq: u32,
    pub share_bp: u32,
    pub due_on: NaiveDate,
}

/// A class's (or a stream's) fee structure for a term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeStructureView {
    pub id: Uuid,
    pub level_id: Uuid,
    pub stream_id: Option<Uuid>,
    /// "Form 2", or "Form 2 A" for one stream.
    pub class_name: String,
    pub lines: Vec<FeeLineView>,
    pub instalments: Vec<InstalmentView>,
    /// Students already invoiced with it (it can no longer be changed, only replaced for
    /// those not yet invoiced).
    pub invoiced: u32,
}

impl FeeStructureView {
    pub fn compulsory_total(&self) -> i64 {
        self.lines.iter().filter(|l| l.compulsory).map(|l| l.amount_minor).sum()
    }
}

/// A class to set fees for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeClass {
    pub level_id: Uuid,
    pub level_name: String,
    pub streams: Vec<(Uuid, String)>,
    pub students: u32,
}

/// The school's fee rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinanceSettingsView {
    pub control_prefix: String,
    pub allocation: super::ledger::Allocation,
    pub sibling_second_bp: u32,
    pub sibling_third_bp: u32,
    pub pro_rata: bool,
    pub late_fine_minor: i64,
    pub late_fine_grace_days: u32,
}

/// The fees page: the current term's structures and runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeesOverview {
    pub term_id: Option<Uuid>,
    pub term_label: String,
    pub classes: Vec<FeeClass>,
    pub structures: Vec<FeeStructureView>,
    pub runs: Vec<InvoiceRunView>,
    pub settings: FinanceSettingsView,
}

/// A student who could not be invoiced, and why (a message key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunProblem {
    pub student: String,
    pub reason: String,
}

/// An invoicing run as the bursar follows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceRunView {
    pub id: Uuid,
    pub term_label: String,
    /// Empty: the whole school.
    pub class_name: String,
    pub status: BatchStatus,
    pub total: u32,
    pub done: u32,
    pub failed: u32,
    pub skipped: u32,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub problems: Vec<RunProblem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceView {
    pub id: Uuid,
    pub number: i64,
    pub term_label: String,
    pub issued_on: NaiveDate,
    pub gross_minor: i64,
    pub discount_minor: i64,
    pub net_minor: i64,
    pub cancelled: bool,
    pub lines: Vec<InvoiceLineView>,
    pub instalments: Vec<InstalmentDue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLineView {
    pub description: String,
    pub gross_minor: i64,
    pub discount_minor: i64,
}

/// An instalment with what is still unpaid of it (derived by the school's allocation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalmentDue {
    pub seq: u32,
    pub due_on: NaiveDate,
    pub amount_minor: i64,
    pub unpaid_minor: i64,
}

/// What a printed receipt's code says (`/verify/<code>`): what the receipt prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedReceipt {
    pub school: String,
    pub student: String,
    pub receipt_no: i64,
    pub amount_minor: i64,
    pub paid_on: NaiveDate,
    pub channel: Channel,
}

/// A recorded payment: what the receipt needs to find it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    pub payment: Uuid,
    pub receipt_no: i64,
    pub verify_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    pub id: Uuid,
    pub receipt_no: i64,
    pub amount_minor: i64,
    pub channel: Channel,
    pub reference: Option<String>,
    pub paid_on: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: String,
    pub verify_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FineView {
    pub id: Uuid,
    pub invoice_number: i64,
    pub seq: u32,
    pub amount_minor: i64,
    pub applied_on: NaiveDate,
    pub waived: bool,
}

/// One line of a statement: a posting that changed what the student owes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementRow {
    pub on: NaiveDate,
    pub kind: EntryKind,
    pub memo: String,
    /// Positive: charged (debit); negative: paid or credited.
    pub amount_minor: i64,
    /// What the student owes after it (negative: in credit).
    pub balance_minor: i64,
}

/// A student's account: everything the bursar (or the family) needs on one page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentAccount {
    pub student_id: Uuid,
    pub name: String,
    pub admission_no: String,
    pub class_name: String,
    pub control_number: String,
    /// Owed (positive) or in credit (negative): receivable minus credit.
    pub balance_minor: i64,
    pub credit_minor: i64,
    pub invoices: Vec<InvoiceView>,
    pub payments: Vec<PaymentView>,
    pub fines: Vec<FineView>,
    pub statement: Vec<StatementRow>,
    /// The next instalment with something unpaid: (due date, unpaid).
    pub next_due: Option<(NaiveDate, i64)>,
    /// The optional items of the student's fee structure this term, and whether taken.
    pub optional_items: Vec<OptionalItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionalItem {
    pub item: Uuid,
    pub name: String,
    pub amount_minor: i64,
    pub taken: bool,
}

/// Money in through one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelTotal {
    pub channel: Channel,
    pub amount_minor: i64,
    pub count: u32,
}

/// Billed and collected for one class this term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCollection {
    pub class_name: String,
    pub billed_minor: i64,
    pub collected_minor: i64,
}

impl ClassCollection {
    /// Collection rate in whole percent (0 when nothing was billed).
    pub fn rate_percent(&self) -> i64 {
        if self.billed_minor <= 0 {
            0
        } else {
            (self.collected_minor.min(self.billed_minor) * 100) / self.billed_minor
        }
    }
}

/// The accountant's dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub term_label: String,
    pub billed_minor: i64,
    /// Money in against this term's invoices (write-offs are not collected).
    pub collected_minor: i64,
    /// This term's debts forgiven by write-offs.
    pub written_off_minor: i64,
    pub today: Vec<ChannelTotal>,
    pub week: Vec<ChannelTotal>,
    pub classes: Vec<ClassCollection>,
    pub ageing: Ageing,
    pub invoiced_students: u32,
    pub active_students: u32,
}

/// A student behind with fees, and whom to call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Defaulter {
    pub student_id: Uuid,
    pub name: String,
    pub admission_no: String,
    pub class_name: String,
    pub control_number: String,
    pub overdue_minor: i64,
    pub balance_minor: i64,
    pub oldest_due: Option<NaiveDate>,
    pub guardian: String,
    /// Shown only with the personal-data permission.
    pub guardian_phone: Option<String>,
}

/// A student found by the bursar's search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountListItem {
    pub student_id: Uuid,
    pub name: String,
    pub admission_no: String,
    pub class_name: String,
    pub balance_minor: i64,
}
