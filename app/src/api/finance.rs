//! Fees: the bursar's workspace (`/accountant`) and the family's fee pages. Each function:
//! scope (principal, permission, the plan's finance feature, the school's transaction) →
//! domain → commit. The PDFs, the exports and the invoicing progress stream are plain routes
//! (the server's `finance` module).

use crate::errors::AppError;
use kilele::finance::billing::{InstalmentForm, ItemForm};
use kilele::finance::views::{AccountListItem, Dashboard, Defaulter, FeesOverview, InvoiceRunView, StudentAccount};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::{parse_uuid, scope::Scope};
#[cfg(feature = "ssr")]
use kilele::identity::Permission;

/// Everyone who works in the accountant's portal reads with this.
#[cfg(feature = "ssr")]
const READ: &[Permission] = &[Permission::FinanceOverviewRead];

#[cfg(feature = "ssr")]
fn optional_uuid(field: &str, value: &str) -> Result<Option<uuid::Uuid>, AppError> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        parse_uuid(field, value).map(Some)
    }
}

/// The dashboard: billed and collected this term, today's and this week's money by channel,
/// collection per class, arrears by age.
#[server(endpoint = "accountant/dashboard")]
pub async fn finance_dashboard() -> Result<Dashboard, AppError> {
    let mut s = Scope::finance(READ).await?;
    let today = kilele::clock::school_date(s.change.at);
    let view = kilele::finance::db::reads::dashboard(&mut s.tx, today, &s.deps.dashboards).await?;
    // The school's settings row (and its control-number prefix) is made on the first visit.
    s.commit(view).await
}

/// The fees page: the current term's classes, structures, invoicing runs and the rules.
#[server(endpoint = "accountant/fees")]
pub async fn fees_page() -> Result<FeesOverview, AppError> {
    let mut s = Scope::finance(&[Permission::FinanceFeesManage]).await?;
    let view = kilele::finance::db::structures::overview(&mut s.tx).await?;
    s.commit(view).await
}

/// Saves a class's (or a stream's) fee structure for the term: items and instalments.
#[server(endpoint = "accountant/fees/structure")]
pub async fn save_fee_structure(
    term: String,
    level: String,
    #[server(default)] stream: String,
    #[server(default)] items: Vec<ItemForm>,
    #[server(default)] instalments: Vec<InstalmentForm>,
) -> Result<uuid::Uuid, AppError> {
    let mut s = Scope::finance(&[Permission::FinanceFeesManage]).await?;
    let (term, level, stream) = (parse_uuid("term", &term)?, parse_uuid("level", &level)?, optional_uuid("stream", &stream)?);
    let plan = kilele::finance::billing::FeePlan::parse(&items, &instalments).map_err(kilele::DomainError::InvalidFields)?;
    let id = kilele::finance::db::structures::save_structure(&mut s.tx, term, level, stream, &plan, s.change.by()).await?;
    s.commit(id).await
}

/// The school's fee rules: allocation order, sibling discounts, mid-term joiners, late fines.
#[server(endpoint = "accountant/fees/settings")]
pub async fn save_fee_settings(
    allocation: String,
    #[server(default)] sibling_second: String,
    #[server(default)] sibling_third: String,
    #[server(default)] pro_rata: String,
    #[server(default)] late_fine: String,
    #[server(default)] grace_days: String,
) -> Result<(), AppError> {
    let mut s = Scope::finance(&[Permission::FinanceFeesManage]).await?;
    let form = kilele::finance::db::accounts::SettingsForm {
        allocation,
        sibling_second: if sibling_second.trim().is_empty() { "0".into() } else { sibling_second },
        sibling_third: if sibling_third.trim().is_empty() { "0".into() } else { sibling_third },
        pro_rata: pro_rata == "true" || pro_rata == "on",
        late_fine,
        grace_days: if grace_days.trim().is_empty() { "0".into() } else { grace_days },
    };
    kilele::finance::db::accounts::save_settings(&mut s.tx, &form, s.change.by()).await?;
    s.commit(()).await
}

/// Invoices the current term (one class, or the whole school with `level` empty) as a
/// background job. Returns the run's id.
#[server(endpoint = "accountant/invoices/request")]
pub async fn request_invoices(#[server(default)] level: String) -> Result<uuid::Uuid, AppError> {
    let mut s = Scope::finance(&[Permission::FinanceFeesManage]).await?;
    let level = optional_uuid("level", &level)?;
    let by = s.change.by();
    let run = kilele::finance::db::invoicing::request(&mut s.tx, &s.deps.pii, level, by).await?;
    s.commit(run).await
}

/// Stops an invoicing run before its next chunk.
#[server(endpoint = "accountant/invoices/cancel")]
pub async fn cancel_invoices(run: String) -> Result<(), AppError> {
    let mut s = Scope::finance(&[Permission::FinanceFeesManage]).await?;
    let run = parse_uuid("run", &run)?;
    kilele::finance::db::invoicing::cancel(&mut s.tx, run, s.change.at).await?;
    s.commit(()).await
}

/// One invoicing run (the progress bar's first state).
#[server(endpoint = "accountant/invoices/run")]
pub async fn invoice_run(run: String) -> Result<InvoiceRunView, AppError> {
    let mut s = Scope::finance(&[Permission::FinanceFeesManage]).await?;
    let run = parse_uuid("run", &run)?;
    let view = kilele::finance::db::invoicing::run_view(&mut s.tx, run).await?;
    s.end_read(view)
}

/// The bursar's search of students' accounts (name, admission number, control number).
#[server(endpoint = "accountant/accounts")]
pub async fn search_accounts(#[server(default)] q: String) -> Result<Vec<AccountListItem>, AppError> {
    let mut s = Scope::finance(READ).await?;
    let found = kilele::finance::db::reads::search(&mut s.tx, &s.deps.pii, &q).await?;
    s.end_read(found)
}

/// A student's account: invoices, instalments, payments, fines, the statement.
#[server(endpoint = "accountant/account")]
pub async fn account_of(student: String) -> Result<StudentAccount, AppError> {
    let mut s = Scope::finance(READ).await?;
    let student = parse_uuid("student", &student)?;
    let view = kilele::finance::db::reads::student_account(&mut s.tx, student).await?;
    // A control number is given on the first look at the account.
    s.commit(view).await
}

/// Records a cash payment or a bank slip against a student. Returns the receipt's payment id.
#[server(endpoint = "accountant/payments/record")]
pub async fn record_payment(
    student: String,
    amount: String,
    channel: String,
    #[server(default)] reference: String,
    paid_on: String,
    #[server(default)] once: String,
) -> Result<kilele::finance::views::Recorded, AppError> {
    use kilele::finance::db::payments::{self, NewPayment, PaymentForm};
    let mut s = Scope::finance(&[Permission::FinancePaymentsRecord]).await?;
    let student = parse_uuid("student", &student)?;
    let today = kilele::clock::school_date(s.change.at);
    let fields = [student.to_string(), amount.clone(), channel.clone(), reference.clone(), paid_on.clone()];
    let payment =
        NewPayment::parse(&PaymentForm { amount, channel, reference, paid_on }, today).map_err(kilele::DomainError::InvalidFields)?;
    if let Some(first) = s.once(&once, "accountant/payments/record", &fields.each_ref().map(String::as_str)).await? {
        let first = first.ok_or(AppError::Internal)?;
        let recorded = payments::recorded(&mut s.tx, first).await?;
        return s.commit(recorded).await;
    }
    let recorded = payments::record_payment(&mut s.tx, student, &payment, s.change.by()).await?;
    s.done(&once, recorded.payment).await?;
    s.commit(recorded).await
}

/// A credit note: cancels an invoice (`amount` empty) or takes part of it off, with a reason.
#[server(endpoint = "accountant/credit-note")]
pub async fn issue_credit_note(
    student: String,
    invoice: String,
    #[server(default)] amount: String,
    #[server(default)] reason: String,
    #[server(default)] once: String,
) -> Result<(), AppError> {
    let mut s = Scope::finance(&[Permission::FinanceAdjust]).await?;
    let student = parse_uuid("student", &student)?;
    if s.once(&once, "accountant/credit-note", &[&student.to_string(), &invoice, &amount, &reason]).await?.is_some() {
        return s.commit(()).await;
    }
    let form = kilele::finance::db::payments::CreditNoteForm { invoice, amount, reason };
    let note = kilele::finance::db::payments::credit_note(&mut s.tx, student, &form, s.change.by()).await?;
    s.done(&once, note).await?;
    s.commit(()).await
}

/// A discount or waiver for the current term (staff child, bursary, scholarship…), with a
/// reason; applied when the term is invoiced.
#[server(endpoint = "accountant/discount")]
pub async fn grant_discount(
    student: String,
    kind: String,
    #[server(default)] item: String,
    #[server(default)] percent: String,
    value: String,
    #[server(default)] reason: String,
    #[server(default)] once: String,
) -> Result<(), AppError> {
    let mut s = Scope::finance(&[Permission::FinanceFeesManage]).await?;
    let student = parse_uuid("student", &student)?;
    if s.once(&once, "accountant/discount", &[&student.to_string(), &kind, &item, &percent, &value, &reason]).await?.is_some() {
        return s.commit(()).await;
    }
    let term = kilele::finance::db::structures::current_term(&mut s.tx).await?;
    let form = kilele::finance::db::structures::DiscountForm { kind, item, percent: percent == "true" || percent == "on", value, reason };
    let discount = kilele::finance::db::structures::grant_discount(&mut s.tx, student, term, &form, s.change.by()).await?;
    s.done(&once, discount).await?;
    s.commit(()).await
}

/// The optional items (transport, meals…) a student takes this term.
#[server(endpoint = "accountant/options")]
pub async fn set_fee_options(student: String, #[server(default)] items: Vec<String>) -> Result<(), AppError> {
    let mut s = Scope::finance(&[Permission::FinanceFeesManage]).await?;
    let student = parse_uuid("student", &student)?;
    let items = items.iter().map(|i| parse_uuid("items", i)).collect::<Result<Vec<_>, _>>()?;
    let term = kilele::finance::db::structures::current_term(&mut s.tx).await?;
    kilele::finance::db::structures::set_options(&mut s.tx, student, term, &items, s.change.by()).await?;
    s.commit(()).await
}

/// Waives a late fine, with a reason.
#[server(endpoint = "accountant/fine/waive")]
pub async fn waive_fine(fine: String, #[server(default)] reason: String) -> Result<(), AppError> {
    let mut s = Scope::finance(&[Permission::FinanceAdjust]).await?;
    let fine = parse_uuid("fine", &fine)?;
    kilele::finance::db::payments::waive_fine(&mut s.tx, fine, &reason, s.change.by()).await?;
    s.commit(()).await
}

/// Pays money back (never more than was paid), with a reason.
#[server(endpoint = "accountant/refund")]
pub async fn refund(
    student: String,
    amount: String,
    channel: String,
    #[server(default)] reference: String,
    #[server(default)] reason: String,
    #[server(default)] once: String,
) -> Result<(), AppError> {
    let mut s = Scope::finance(&[Permission::FinanceAdjust]).await?;
    let student = parse_uuid("student", &student)?;
    if s.once(&once, "accountant/refund", &[&student.to_string(), &amount, &channel, &reference, &reason]).await?.is_some() {
        return s.commit(()).await;
    }
    let form = kilele::finance::db::payments::AdjustmentForm { amount, channel, reference, reason };
    let refund = kilele::finance::db::payments::refund(&mut s.tx, student, &form, s.change.by()).await?;
    s.done(&once, refund).await?;
    s.commit(()).await
}

/// Writes off (part of) a debt, with a reason.
#[server(endpoint = "accountant/write-off")]
pub async fn write_off(
    student: String,
    amount: String,
    #[server(default)] reason: String,
    #[server(default)] once: String,
) -> Result<(), AppError> {
    let mut s = Scope::finance(&[Permission::FinanceAdjust]).await?;
    let student = parse_uuid("student", &student)?;
    if s.once(&once, "accountant/write-off", &[&student.to_string(), &amount, &reason]).await?.is_some() {
        return s.commit(()).await;
    }
    let form = kilele::finance::db::payments::AdjustmentForm { amount, reason, ..Default::default() };
    let write_off = kilele::finance::db::payments::write_off(&mut s.tx, student, &form, s.change.by()).await?;
    s.done(&once, write_off).await?;
    s.commit(()).await
}

/// Providers' payments waiting for the bursar (nobody matched); the payer's phone only for
/// those who may see personal data.
#[server(endpoint = "accountant/suspense")]
pub async fn suspense_list() -> Result<Vec<kilele::payments::SuspenseItem>, AppError> {
    let mut s = Scope::finance(READ).await?;
    let phones = s.me.can(Permission::StudentsPiiRead);
    let list = kilele::payments::db::suspense(&mut s.tx, &s.deps.pii, phones).await?;
    s.end_read(list)
}

/// Assigns a waiting payment to a student (control number or admission number): posted once,
/// with its receipt.
#[server(endpoint = "accountant/suspense/assign")]
pub async fn assign_payment(
    item: String,
    #[server(default)] student: String,
    #[server(default)] once: String,
) -> Result<kilele::finance::views::Recorded, AppError> {
    let mut s = Scope::finance(&[Permission::FinancePaymentsRecord]).await?;
    let item = parse_uuid("item", &item)?;
    if let Some(first) = s.once(&once, "accountant/suspense/assign", &[&item.to_string(), &student]).await? {
        let first = first.ok_or(AppError::Internal)?;
        let recorded = kilele::finance::db::payments::recorded(&mut s.tx, first).await?;
        return s.commit(recorded).await;
    }
    let recorded = kilele::payments::db::assign(&mut s.tx, item, &student, s.change.by()).await?;
    s.done(&once, recorded.payment).await?;
    s.commit(recorded).await
}

/// Links a waiting payment to the slip the bursar recorded by hand under the provider's
/// reference (the same money, notified after): nothing is posted again.
#[server(endpoint = "accountant/suspense/link")]
pub async fn link_waiting_payment(item: String, #[server(default)] once: String) -> Result<kilele::finance::views::Recorded, AppError> {
    let mut s = Scope::finance(&[Permission::FinancePaymentsRecord]).await?;
    let item = parse_uuid("item", &item)?;
    if let Some(first) = s.once(&once, "accountant/suspense/link", &[&item.to_string()]).await? {
        let first = first.ok_or(AppError::Internal)?;
        let recorded = kilele::finance::db::payments::recorded(&mut s.tx, first).await?;
        return s.commit(recorded).await;
    }
    let recorded = kilele::payments::db::link_recorded(&mut s.tx, item, s.change.by()).await?;
    s.done(&once, recorded.payment).await?;
    s.commit(recorded).await
}

/// Splits a waiting payment between children (one slip for siblings): one payment and receipt
/// per child, the shares adding up to the whole.
#[server(endpoint = "accountant/suspense/split")]
pub async fn split_payment(
    item: String,
    #[server(default)] parts: Vec<kilele::payments::SplitPart>,
    #[server(default)] once: String,
) -> Result<(), AppError> {
    let mut s = Scope::finance(&[Permission::FinancePaymentsRecord]).await?;
    let item = parse_uuid("item", &item)?;
    let said: Vec<String> = parts.iter().map(|p| format!("{}={}", p.student.trim(), p.amount.trim())).collect();
    let item_id = item.to_string();
    let mut fields: Vec<&str> = vec![&item_id];
    fields.extend(said.iter().map(String::as_str));
    if s.once(&once, "accountant/suspense/split", &fields).await?.is_some() {
        return s.commit(()).await;
    }
    kilele::payments::db::split(&mut s.tx, item, &parts, s.change.by()).await?;
    s.done(&once, item).await?;
    s.commit(()).await
}

/// Records that a waiting payment was sent back to the payer (outside Kilele), with the
/// refund's reference and why; nothing is posted.
#[server(endpoint = "accountant/suspense/refund")]
pub async fn refund_waiting_payment(
    item: String,
    #[server(default)] reference: String,
    #[server(default)] reason: String,
    #[server(default)] once: String,
) -> Result<(), AppError> {
    let mut s = Scope::finance(&[Permission::FinanceAdjust]).await?;
    let item = parse_uuid("item", &item)?;
    if s.once(&once, "accountant/suspense/refund", &[&item.to_string(), &reference, &reason]).await?.is_some() {
        return s.commit(()).await;
    }
    kilele::payments::db::refund_waiting(&mut s.tx, item, &reference, &reason, s.change.by()).await?;
    s.done(&once, item).await?;
    s.commit(()).await
}

/// The bank statements imported lately (20), newest first.
#[server(endpoint = "accountant/statements")]
pub async fn bank_statements() -> Result<Vec<kilele::payments::StatementSummary>, AppError> {
    let mut s = Scope::finance(READ).await?;
    let list = kilele::payments::reconcile::latest(&mut s.tx).await?;
    s.end_read(list)
}

/// A statement reconciled against the bank's notifications (another school's: not found).
#[server(endpoint = "accountant/reconciliation")]
pub async fn reconciliation(statement: String) -> Result<kilele::payments::Reconciliation, AppError> {
    let mut s = Scope::finance(READ).await?;
    let statement = parse_uuid("statement", &statement)?;
    let r = kilele::payments::reconcile::reconcile(&mut s.tx, statement).await?;
    s.end_read(r)
}

/// Takes into Kilele a statement line the provider never notified (`line`: its transaction
/// reference): posted to the child its narration names, or kept in suspense for the bursar.
#[server(endpoint = "accountant/reconciliation/take")]
pub async fn take_statement_line(statement: String, line: String, #[server(default)] once: String) -> Result<(), AppError> {
    let mut s = Scope::finance(&[Permission::FinancePaymentsRecord]).await?;
    let statement = parse_uuid("statement", &statement)?;
    if s.once(&once, "accountant/reconciliation/take", &[&statement.to_string(), &line]).await?.is_some() {
        return s.commit(()).await;
    }
    kilele::payments::reconcile::take_line(&mut s.tx, &s.deps.pii, statement, &line, s.change.by()).await?;
    s.done(&once, statement).await?;
    s.commit(()).await
}

/// A student's GePG bills (government schools), newest first.
#[server(endpoint = "accountant/gepg/bills")]
pub async fn gepg_bills(student: String) -> Result<kilele::payments::GepgBills, AppError> {
    let mut s = Scope::finance(READ).await?;
    let student = parse_uuid("student", &student)?;
    let bills = kilele::payments::bills::of_student(&mut s.tx, student).await?;
    // Which channels are open, without opening any credentials (every account page asks).
    let open = s.deps.wallets.gepg.is_some()
        && kilele::payments::pushes::open_wallets(&mut s.tx).await?.contains(&kilele::payments::Provider::Gepg);
    s.end_read(kilele::payments::GepgBills { open, bills })
}

/// Asks GePG for a control number for what the student owes now: the bill is recorded, then
/// sent (GePG's control number comes to the school's webhook shortly after). A bill already
/// waiting or issued for the same amount is the answer instead.
#[server(endpoint = "accountant/gepg/bill")]
pub async fn request_gepg_bill(student: String, #[server(default)] once: String) -> Result<kilele::payments::GepgBillView, AppError> {
    let mut s = Scope::finance(&[Permission::FinancePaymentsRecord]).await?;
    let student = parse_uuid("student", &student)?;
    if s.once(&once, "accountant/gepg/bill", &[&student.to_string()]).await?.is_some() {
        let latest = kilele::payments::bills::of_student(&mut s.tx, student).await?.into_iter().next().ok_or(AppError::Internal)?;
        return s.commit(latest).await;
    }
    let configured = s.deps.wallets.gepg.is_some();
    let (bill, to_send) = kilele::payments::bills::request(&mut s.tx, &s.deps.pii, student, configured, s.change.by()).await?;
    s.done(&once, bill.id).await?;
    let (deps, school) = (s.deps.clone(), s.tenant.id);
    // Recorded before GePG is called: its answer always finds the bill.
    s.commit(()).await?;
    let Some((creds, to_send)) = to_send else { return Ok(bill) };
    let sent = match deps.wallets.gepg.as_deref() {
        Some(api) => api.submit(&creds, &to_send).await,
        None => Err(kilele::DomainError::Internal("gepg is not configured".into())),
    };
    let refused = match sent {
        Ok(code) if code == kilele::payments::gepg::OK => return Ok(bill),
        Ok(code) => code,
        // Sent, perhaps taken, no answer read: it stays waiting; GePG's answer may still come,
        // and asking again after ten minutes sends it anew.
        Err(e) => {
            tracing::warn!(bill = %bill.bill_id, error = %e, "a GePG bill could not be sent, or its acknowledgement was lost");
            return Ok(bill);
        }
    };
    let mut tx = kilele::db::tenant_tx(&deps.pool, school).await?;
    kilele::payments::bills::refused(&mut tx, bill.id, &refused, kilele::clock::Clock::now(&*deps.clock)).await?;
    tx.commit().await?;
    Ok(kilele::payments::GepgBillView { status: "refused".into(), code: Some(refused), ..bill })
}

/// The school's payment channels (never a secret or a credential).
#[server(endpoint = "accountant/channels")]
pub async fn payment_channels() -> Result<Vec<kilele::payments::ChannelView>, AppError> {
    let mut s = Scope::finance(READ).await?;
    let list = kilele::payments::db::channels(&mut s.tx, s.change.at).await?;
    s.end_read(list)
}

#[cfg(feature = "ssr")]
fn channel_provider(code: &str) -> Result<kilele::payments::Provider, AppError> {
    kilele::payments::Provider::parse(code)
        .ok_or_else(|| AppError::Invalid { field: "provider".into(), message: "payments-error-unknown-provider".into() })
}

/// Opens again a channel the bursar closed.
#[server(endpoint = "accountant/channels/open")]
pub async fn open_payment_channel(provider: String) -> Result<(), AppError> {
    let mut s = Scope::finance(&[Permission::FinanceChannelsManage]).await?;
    kilele::payments::db::open_channel(&mut s.tx, channel_provider(&provider)?, s.change.by()).await?;
    s.commit(()).await
}

/// Closes a channel: every delivery through it refused (and kept) until it is opened again.
#[server(endpoint = "accountant/channels/close")]
pub async fn close_payment_channel(provider: String) -> Result<(), AppError> {
    let mut s = Scope::finance(&[Permission::FinanceChannelsManage]).await?;
    let closer = kilele::payments::db::Closer::Bursar;
    kilele::payments::db::close_channel(&mut s.tx, channel_provider(&provider)?, closer, s.change.by()).await?;
    s.commit(()).await
}

/// Sets the addresses a bank may call a channel from (a wallet's stay with the operator).
#[server(endpoint = "accountant/channels/addresses")]
pub async fn set_channel_addresses(provider: String, #[server(default)] addresses: String) -> Result<(), AppError> {
    let mut s = Scope::finance(&[Permission::FinanceChannelsManage]).await?;
    kilele::payments::db::set_addresses(&mut s.tx, channel_provider(&provider)?, &addresses, s.change.by()).await?;
    s.commit(()).await
}

/// How many defaulters the page lists (the most overdue); the export has them all.
pub const DEFAULTERS_SHOWN: usize = 100;

/// Students behind with fees, most overdue first; the guardian's phone only for those who
/// may see personal data.
#[server(endpoint = "accountant/defaulters")]
pub async fn defaulters() -> Result<Vec<Defaulter>, AppError> {
    let mut s = Scope::finance(READ).await?;
    let today = kilele::clock::school_date(s.change.at);
    let pii = s.me.can(Permission::StudentsPiiRead).then_some(&*s.deps.pii);
    let list = kilele::finance::db::reads::defaulters(&mut s.tx, today, pii, Some(DEFAULTERS_SHOWN)).await?;
    s.end_read(list)
}

/// A child's (or the student's own) fees: balance, control number, invoices, receipts.
#[server(endpoint = "portal/fees")]
pub async fn child_fees(student: String) -> Result<StudentAccount, AppError> {
    let mut s = Scope::finance(&[Permission::PortalChildrenRead, Permission::PortalSelfRead]).await?;
    let student = s.portal_student(&student).await?;
    let view = kilele::finance::db::reads::student_account(&mut s.tx, student).await?;
    s.commit(view).await
}

/// A child's GePG control number to pay now (government schools), when the school issued one.
#[server(endpoint = "portal/fees/gepg")]
pub async fn child_gepg(student: String) -> Result<Option<kilele::payments::GepgBillView>, AppError> {
    let mut s = Scope::finance(&[Permission::PortalChildrenRead, Permission::PortalSelfRead]).await?;
    let student = s.portal_student(&student).await?;
    let bill = kilele::payments::bills::payable(&mut s.tx, student, s.change.at).await?;
    s.commit(bill).await
}

/// Public (the code printed on the receipt is the authority): what a receipt's verification
/// code says, or `None` for an unknown code. On a school's own address only that school's
/// receipts are found. Limited per address like the cards' lookups.
#[server(endpoint = "verify/receipt")]
pub async fn verify_receipt(code: String) -> Result<Option<kilele::finance::views::VerifiedReceipt>, AppError> {
    let deps = use_context::<crate::ctx::Deps>().ok_or(AppError::Internal)?;
    let ctx = crate::ctx::request_ctx();
    let Some(code) = kilele::reporting::VerifyCode::parse(&code) else { return Ok(None) };
    let found = kilele::finance::db::reads::verify_receipt(&deps.pool, &code).await?;
    let host_school = ctx.tenant.as_ref().filter(|_| ctx.tenant_from_host).map(|t| t.id);
    Ok(found.filter(|(school, _)| host_school.is_none_or(|h| h == *school)).map(|(_, v)| v))
}

/// The school's payments of a period (default: the last seven days up to today), every
/// channel or one: newest first, with the count and total.
#[server(endpoint = "accountant/payments")]
pub async fn payments_list(
    #[server(default)] from: String,
    #[server(default)] to: String,
    #[server(default)] channel: String,
) -> Result<kilele::payments::PaymentList, AppError> {
    use kilele::{DomainError, ValidationError};
    let mut s = Scope::finance(READ).await?;
    let today = kilele::clock::school_date(s.change.at);
    let date = |field: &str, text: &str, default: chrono::NaiveDate| match text.trim() {
        "" => Ok(default),
        t => chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| ValidationError::new(field, "error-date-invalid")),
    };
    let mut errors = Vec::new();
    let from = date("from", &from, today - chrono::Duration::days(6)).map_err(|e| errors.push(e)).ok();
    let to = date("to", &to, today).map_err(|e| errors.push(e)).ok();
    let channel = match channel.trim() {
        "" => None,
        c => match kilele::finance::ledger::Channel::parse(c) {
            Some(c) => Some(c),
            None => {
                errors.push(ValidationError::new("channel", "finance-error-channel"));
                None
            }
        },
    };
    let (Some(from), Some(to), true) = (from, to, errors.is_empty()) else { return Err(DomainError::InvalidFields(errors).into()) };
    if from > to {
        return Err(DomainError::Invalid(ValidationError::new("from", "finance-error-period")).into());
    }
    let list = kilele::payments::db::payments_list(&mut s.tx, from, to, channel).await?;
    s.end_read(list)
}

/// The school's latest payment deliveries (every provider), or those with one outcome: what
/// came, from where, and what was decided.
#[server(endpoint = "accountant/inbox")]
pub async fn payment_inbox(#[server(default)] outcome: String) -> Result<Vec<kilele::payments::InboxRow>, AppError> {
    let mut s = Scope::finance(READ).await?;
    let outcome = match outcome.trim() {
        "" => None,
        o => Some(
            kilele::payments::INBOX_OUTCOMES
                .into_iter()
                .find(|k| *k == o)
                .ok_or_else(|| kilele::DomainError::Invalid(kilele::ValidationError::new("outcome", "payments-error-outcome")))?,
        ),
    };
    let rows = kilele::payments::db::inbox(&mut s.tx, outcome).await?;
    s.end_read(rows)
}
