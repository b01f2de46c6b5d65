//! What the bursar's and the family's pages read: a student's account and statement, the
//! dashboard, the defaulters, the account search. Balances are sums of ledger lines; what is
//! unpaid of each instalment is derived by the school's allocation order.

use super::dashboards::Basis;
pub use super::dashboards::DashboardCache;
use super::{ledger, term_label};
use crate::db::TenantTx;
use crate::finance::ledger::{allocate, Ageing, Allocation, Channel, Debt, EntryKind, Settled};
use crate::finance::views::{
    AccountListItem, ChannelTotal, ClassCollection, Dashboard, Defaulter, FineView, InstalmentDue, InvoiceLineView, InvoiceView,
    PaymentView, StatementRow, StudentAccount,
};
use crate::DomainError;
use chrono::NaiveDate;
use sqlx::Row;
use std::collections::HashMap;
use uuid::Uuid;

/// A student's debts (instalments of invoices not cancelled, fines not waived) with what is
/// unpaid of each.
pub async fn debts(tx: &mut TenantTx, student: Uuid, order: Allocation) -> Result<Vec<Settled>, DomainError> {
    let map = debts_of(tx, &[student], order).await?;
    Ok(map.get(&student).cloned().unwrap_or_default())
}

/// [`debts`] for many students at once (the dashboard, the defaulters, the fines job). One
/// query per table, joined here (see [`ledger::positions`] for why).
pub async fn debts_of(tx: &mut TenantTx, students: &[Uuid], order: Allocation) -> Result<HashMap<Uuid, Vec<Settled>>, DomainError> {
    Ok(charges_of(tx, students, None).await?.into_iter().map(|(s, c)| (s, allocate(c.debts, c.settled, order))).collect())
}

/// The school's invoices not cancelled: (id, student, term).
type InvoiceRow = (Uuid, Uuid, Uuid);

/// `school_invoices`: the whole school's invoices when the caller read them already (the
/// dashboard), so they are not read twice.
async fn charges_of(
    tx: &mut TenantTx,
    students: &[Uuid],
    school_invoices: Option<Vec<InvoiceRow>>,
) -> Result<HashMap<Uuid, Charges>, DomainError> {
    let current: Option<Uuid> = sqlx::query_scalar("SELECT id FROM terms WHERE is_current").fetch_optional(&mut **tx).await?;
    // Many students (the dashboard, the defaulters): the school's rows through the indexes that
    // lead with the school, instead of thousands of ids looked up one by one.
    let whole = students.len() > ledger::WHOLE_SCHOOL;
    let invoices: Vec<InvoiceRow> = if let Some(rows) = school_invoices {
        rows
    } else if whole {
        sqlx::query_as("SELECT id, student_id, term_id FROM invoices WHERE NOT cancelled").fetch_all(&mut **tx).await?
    } else {
        sqlx::query_as("SELECT id, student_id, term_id FROM invoices WHERE student_id = ANY($1) AND NOT cancelled")
            .bind(students)
            .fetch_all(&mut **tx)
            .await?
    };
    let invoice_ids: Vec<Uuid> = invoices.iter().map(|i| i.0).collect();
    let instalments: Vec<(Uuid, i32, NaiveDate, i64)> = if whole {
        sqlx::query_as("SELECT invoice_id, seq, due_on, amount_minor FROM invoice_instalments").fetch_all(&mut **tx).await?
    } else {
        sqlx::query_as("SELECT invoice_id, seq, due_on, amount_minor FROM invoice_instalments WHERE invoice_id = ANY($1)")
            .bind(&invoice_ids)
            .fetch_all(&mut **tx)
            .await?
    };
    let fines: Vec<(Uuid, Uuid, NaiveDate, i64)> = if whole {
        sqlx::query_as("SELECT student_id, invoice_id, applied_on, amount_minor FROM late_fines WHERE waived_at IS NULL")
            .fetch_all(&mut **tx)
            .await?
    } else {
        sqlx::query_as(
            "SELECT student_id, invoice_id, applied_on, amount_minor FROM late_fines WHERE student_id = ANY($1) AND waived_at IS NULL",
        )
        .bind(students)
        .fetch_all(&mut **tx)
        .await?
    };
    // Only the asked students' (the whole-school reads bring everyone's).
    let wanted: std::collections::HashSet<Uuid> = students.iter().copied().collect();
    let invoices: Vec<(Uuid, Uuid, Uuid)> = invoices.into_iter().filter(|i| wanted.contains(&i.1)).collect();
    let fines: Vec<(Uuid, Uuid, NaiveDate, i64)> = fines.into_iter().filter(|f| wanted.contains(&f.0)).collect();
    let of_invoice: HashMap<Uuid, (Uuid, bool)> = invoices.iter().map(|(id, s, t)| (*id, (*s, Some(*t) == current))).collect();
    let mut charged: HashMap<Uuid, Vec<Debt>> = HashMap::new();
    for (invoice, seq, due_on, amount) in instalments {
        let Some((student, current_term)) = of_invoice.get(&invoice).copied() else { continue };
        charged.entry(student).or_default().push(Debt { invoice, seq: u32::try_from(seq).unwrap_or(0), due_on, amount, current_term });
    }
    for (student, invoice, due_on, amount) in fines {
        charged.entry(student).or_default().push(Debt { invoice, seq: 0, due_on, amount, current_term: true });
    }
    let positions = ledger::positions(tx, students).await?;
    let mut out = HashMap::with_capacity(students.len());
    for s in students {
        let debts = charged.remove(s).unwrap_or_default();
        let total: i64 = debts.iter().map(|d| d.amount).sum();
        let owed = positions.get(s).map_or(0, |p| p.0);
        out.insert(*s, Charges { debts, settled: total - owed.max(0) });
    }
    Ok(out)
}

/// A student's debts and how much of them is settled in all (by payments, credit, credit
/// notes and write-offs together), before [`allocate`] spreads it.
struct Charges {
    debts: Vec<Debt>,
    settled: i64,
}

/// Each student's class name ("Form 2 A"), from two small reads.
async fn class_names(tx: &mut TenantTx, students: &[Uuid]) -> Result<HashMap<Uuid, String>, DomainError> {
    let streams: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT st.id, concat_ws(' ', l.name, st.name) FROM streams st JOIN levels l ON l.tenant_id = st.tenant_id AND l.id = st.level_id",
    )
    .fetch_all(&mut **tx)
    .await?;
    let streams: HashMap<Uuid, String> = streams.into_iter().collect();
    let of: Vec<(Uuid, Option<Uuid>)> = if students.len() > ledger::WHOLE_SCHOOL {
        // The whole school's (its index leads with the school), kept for the asked ones.
        let wanted: std::collections::HashSet<&Uuid> = students.iter().collect();
        let all: Vec<(Uuid, Option<Uuid>)> = sqlx::query_as("SELECT id, stream_id FROM students").fetch_all(&mut **tx).await?;
        all.into_iter().filter(|(s, _)| wanted.contains(s)).collect()
    } else {
        sqlx::query_as("SELECT id, stream_id FROM students WHERE id = ANY($1)").bind(students).fetch_all(&mut **tx).await?
    };
    Ok(of.into_iter().map(|(s, stream)| (s, stream.and_then(|x| streams.get(&x).cloned()).unwrap_or_default())).collect())
}

/// A student's whole account: invoices with what is unpaid, payments, fines, the statement.
pub async fn student_account(tx: &mut TenantTx, student: Uuid) -> Result<StudentAccount, DomainError> {
    let head = sqlx::query(
        "SELECT s.id, concat_ws(' ', s.first_name, s.middle_name, s.last_name) AS name, s.admission_no,
                concat_ws(' ', l.name, st.name) AS class_name
           FROM students s LEFT JOIN streams st ON st.tenant_id = s.tenant_id AND st.id = s.stream_id
           LEFT JOIN levels l ON l.tenant_id = st.tenant_id AND l.id = st.level_id
          WHERE s.id = $1",
    )
    .bind(student)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(DomainError::NotFound)?;
    let settings = super::accounts::settings(tx).await?;
    let control_number = super::accounts::control_number(tx, student).await?;
    let settled = debts(tx, student, settings.allocation).await?;
    let (owed, credit) = ledger::positions(tx, &[student]).await?.get(&student).copied().unwrap_or_default();

    let invoice_rows = sqlx::query(
        "SELECT i.id, i.number, y.year, t.number AS term_no, i.issued_on, i.gross_minor, i.discount_minor, i.net_minor, i.cancelled
           FROM invoices i JOIN terms t ON t.tenant_id = i.tenant_id AND t.id = i.term_id
           JOIN academic_years y ON y.tenant_id = t.tenant_id AND y.id = t.academic_year_id
          WHERE i.student_id = $1 ORDER BY i.issued_on DESC, i.number DESC",
    )
    .bind(student)
    .fetch_all(&mut **tx)
    .await?;
    let ids: Vec<Uuid> = invoice_rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
    let lines: Vec<(Uuid, String, i64, i64)> = sqlx::query_as(
        "SELECT invoice_id, description, gross_minor, discount_minor FROM invoice_lines WHERE invoice_id = ANY($1) ORDER BY line_no",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    let instalments: Vec<(Uuid, i32, NaiveDate, i64)> =
        sqlx::query_as("SELECT invoice_id, seq, due_on, amount_minor FROM invoice_instalments WHERE invoice_id = ANY($1) ORDER BY seq")
            .bind(&ids)
            .fetch_all(&mut **tx)
            .await?;
    let mut invoices = Vec::with_capacity(invoice_rows.len());
    for r in &invoice_rows {
        let id: Uuid = r.try_get("id")?;
        invoices.push(InvoiceView {
            id,
            number: r.try_get("number")?,
            term_label: term_label(r.try_get("year")?, r.try_get("term_no")?),
            issued_on: r.try_get("issued_on")?,
            gross_minor: r.try_get("gross_minor")?,
            discount_minor: r.try_get("discount_minor")?,
            net_minor: r.try_get("net_minor")?,
            cancelled: r.try_get("cancelled")?,
            lines: lines
                .iter()
                .filter(|l| l.0 == id)
                .map(|l| InvoiceLineView { description: l.1.clone(), gross_minor: l.2, discount_minor: l.3 })
                .collect(),
            instalments: instalments
                .iter()
                .filter(|i| i.0 == id)
                .map(|i| {
                    let seq = u32::try_from(i.1).unwrap_or(0);
                    let unpaid = settled.iter().find(|s| s.debt.invoice == id && s.debt.seq == seq).map_or(0, |s| s.unpaid);
                    InstalmentDue { seq, due_on: i.2, amount_minor: i.3, unpaid_minor: unpaid }
                })
                .collect(),
        });
    }
    let payments = payments_of(tx, student).await?;
    let fines: Vec<(Uuid, i64, i32, i64, NaiveDate, bool)> = sqlx::query_as(
        "SELECT f.id, i.number, f.seq, f.amount_minor, f.applied_on, f.waived_at IS NOT NULL
           FROM late_fines f JOIN invoices i ON i.tenant_id = f.tenant_id AND i.id = f.invoice_id
          WHERE f.student_id = $1 ORDER BY f.applied_on",
    )
    .bind(student)
    .fetch_all(&mut **tx)
    .await?;
    let statement = statement(tx, student, None).await?;
    // The optional items of the structure the student would be billed with this term (their
    // stream's, else their class's).
    let optional = sqlx::query(
        "SELECT fi.item_id, i.name, fi.amount_minor,
                EXISTS (SELECT 1 FROM student_fee_options o WHERE o.tenant_id = f.tenant_id AND o.student_id = s.id AND o.term_id = f.term_id AND o.item_id = fi.item_id) AS taken
           FROM students s
           JOIN streams st ON st.tenant_id = s.tenant_id AND st.id = s.stream_id
           JOIN terms t ON t.tenant_id = s.tenant_id AND t.is_current
           JOIN LATERAL (SELECT * FROM fee_structures f WHERE f.tenant_id = s.tenant_id AND f.term_id = t.id AND f.level_id = st.level_id
                           AND (f.stream_id = st.id OR f.stream_id IS NULL) ORDER BY f.stream_id NULLS LAST LIMIT 1) f ON true
           JOIN fee_structure_items fi ON fi.tenant_id = f.tenant_id AND fi.structure_id = f.id AND NOT fi.compulsory
           JOIN fee_items i ON i.tenant_id = fi.tenant_id AND i.id = fi.item_id
          WHERE s.id = $1 ORDER BY fi.position",
    )
    .bind(student)
    .fetch_all(&mut **tx)
    .await?;
    let optional_items = optional
        .into_iter()
        .map(|r| {
            Ok(crate::finance::views::OptionalItem {
                item: r.try_get("item_id")?,
                name: r.try_get("name")?,
                amount_minor: r.try_get("amount_minor")?,
                taken: r.try_get("taken")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let next_due = settled.iter().filter(|s| s.unpaid > 0).map(|s| (s.debt.due_on, s.unpaid)).min_by_key(|s| s.0);
    Ok(StudentAccount {
        student_id: head.try_get("id")?,
        name: head.try_get("name")?,
        admission_no: head.try_get("admission_no")?,
        class_name: head.try_get("class_name")?,
        control_number,
        balance_minor: owed - credit,
        credit_minor: credit,
        invoices,
        payments,
        fines: fines
            .into_iter()
            .map(|f| FineView {
                id: f.0,
                invoice_number: f.1,
                seq: u32::try_from(f.2).unwrap_or(0),
                amount_minor: f.3,
                applied_on: f.4,
                waived: f.5,
            })
            .collect(),
        statement,
        next_due,
        optional_items,
    })
}

pub async fn payments_of(tx: &mut TenantTx, student: Uuid) -> Result<Vec<PaymentView>, DomainError> {
    let rows = sqlx::query(
        "SELECT p.id, p.receipt_no, p.amount_minor, p.channel, p.reference, p.paid_on, p.recorded_at, coalesce(u.display_name, '') AS recorded_by, p.verify_code
           FROM payments p LEFT JOIN users u ON u.tenant_id = p.tenant_id AND u.id = p.recorded_by
          WHERE p.student_id = $1 ORDER BY p.paid_on DESC, p.receipt_no DESC",
    )
    .bind(student)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(PaymentView {
                id: r.try_get("id")?,
                receipt_no: r.try_get("receipt_no")?,
                amount_minor: r.try_get("amount_minor")?,
                channel: Channel::parse(r.try_get("channel")?).unwrap_or(Channel::Cash),
                reference: r.try_get("reference")?,
                paid_on: r.try_get("paid_on")?,
                recorded_at: r.try_get("recorded_at")?,
                recorded_by: r.try_get("recorded_by")?,
                verify_code: r.try_get("verify_code")?,
            })
        })
        .collect()
}

/// The statement: every entry that moved what the student owes, oldest first, with the
/// running balance; `from` limits it to a period (the balance before it is the first row's
/// starting point, returned as an opening row).
pub async fn statement(tx: &mut TenantTx, student: Uuid, period: Option<(NaiveDate, NaiveDate)>) -> Result<Vec<StatementRow>, DomainError> {
    let rows: Vec<(NaiveDate, String, String, i64)> = sqlx::query_as(
        "SELECT e.posted_on, e.kind, e.memo, sum(l.amount_minor)::bigint
           FROM journal_entries e
           JOIN journal_lines l ON l.tenant_id = e.tenant_id AND l.entry_id = e.id
           JOIN ledger_accounts a ON a.tenant_id = l.tenant_id AND a.id = l.account_id AND a.kind IN ('receivable', 'credit')
          WHERE e.student_id = $1 AND a.student_id = $1
          GROUP BY e.id, e.seq, e.posted_on, e.kind, e.memo
         HAVING sum(l.amount_minor) <> 0
          ORDER BY e.posted_on, e.seq",
    )
    .bind(student)
    .fetch_all(&mut **tx)
    .await?;
    let mut balance = 0;
    let mut out = Vec::with_capacity(rows.len());
    let mut opening: Option<i64> = None;
    for (on, kind, memo, amount) in rows {
        if let Some((from, to)) = period {
            if on < from {
                balance += amount;
                continue;
            }
            if on > to {
                break;
            }
            if opening.is_none() {
                opening = Some(balance);
            }
        }
        balance += amount;
        out.push(StatementRow {
            on,
            kind: EntryKind::parse(&kind).unwrap_or(EntryKind::Invoice),
            memo,
            amount_minor: amount,
            balance_minor: balance,
        });
    }
    Ok(out)
}

/// The balance owed before `from` (a statement's opening balance).
pub async fn balance_before(tx: &mut TenantTx, student: Uuid, from: NaiveDate) -> Result<i64, DomainError> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(sum(l.amount_minor), 0)::bigint FROM journal_entries e
           JOIN journal_lines l ON l.tenant_id = e.tenant_id AND l.entry_id = e.id
           JOIN ledger_accounts a ON a.tenant_id = l.tenant_id AND a.id = l.account_id AND a.kind IN ('receivable', 'credit') AND a.student_id = $1
          WHERE e.student_id = $1 AND e.posted_on < $2",
    )
    .bind(student)
    .bind(from)
    .fetch_one(&mut **tx)
    .await?)
}

/// Money in per channel since `from` (inclusive).
async fn collected_since(tx: &mut TenantTx, from: NaiveDate) -> Result<Vec<ChannelTotal>, DomainError> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT channel, sum(amount_minor)::bigint, count(*) FROM payments WHERE paid_on >= $1 GROUP BY channel ORDER BY 2 DESC",
    )
    .bind(from)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(c, a, n)| Some(ChannelTotal { channel: Channel::parse(&c)?, amount_minor: a, count: u32::try_from(n).unwrap_or(0) }))
        .collect())
}

/// The accountant's dashboard for the current term, as of `today`: kept in `cache` until the
/// school's ledger moves on (see [`super::dashboards`]).
pub async fn dashboard(tx: &mut TenantTx, today: NaiveDate, cache: &DashboardCache) -> Result<Dashboard, DomainError> {
    let settings = super::accounts::settings(tx).await?;
    let term: Option<(Uuid, i32, i32, NaiveDate)> = sqlx::query_as(
        "SELECT t.id, y.year, t.number, t.starts_on FROM terms t JOIN academic_years y ON y.tenant_id = t.tenant_id AND y.id = t.academic_year_id
          WHERE t.is_current",
    )
    .fetch_optional(&mut **tx)
    .await?;
    // Read before anything the dashboard is computed from: in this read-committed transaction
    // a later statement may see a posting committed since, so what is kept under this version
    // is at least as new as the version says.
    let ledger_version: i64 = sqlx::query_scalar("SELECT coalesce((SELECT version FROM ledger_versions), 0)").fetch_one(&mut **tx).await?;
    let basis = Basis { ledger_version, today, term: term.map(|t| t.0), allocation: settings.allocation };
    if let Some(kept) = cache.get(tx.tenant(), &basis) {
        return Ok(kept);
    }
    let computed = compute_dashboard(tx, today, settings.allocation, term).await?;
    cache.keep(tx.tenant(), basis, &computed);
    Ok(computed)
}

async fn compute_dashboard(
    tx: &mut TenantTx,
    today: NaiveDate,
    allocation: Allocation,
    term: Option<(Uuid, i32, i32, NaiveDate)>,
) -> Result<Dashboard, DomainError> {
    let active: i64 = sqlx::query_scalar("SELECT count(*) FROM students WHERE status = 'active'").fetch_one(&mut **tx).await?;
    let week_start = today - chrono::Duration::days(i64::from(chrono::Datelike::weekday(&today).num_days_from_monday()));
    let today_totals = collected_since(tx, today).await?;
    let week = collected_since(tx, week_start).await?;
    let Some((term, year, number, starts_on)) = term else {
        return Ok(Dashboard { today: today_totals, week, active_students: u32::try_from(active).unwrap_or(0), ..Dashboard::default() });
    };
    // Per class: billed this term (net of partial credit notes) and what of it is paid, by
    // the school's allocation; arrears ageing over every student with debts. The school's
    // invoices are read once, for both.
    let all_invoices: Vec<(Uuid, Uuid, Uuid, i64)> =
        sqlx::query_as("SELECT id, student_id, term_id, net_minor FROM invoices WHERE NOT cancelled").fetch_all(&mut **tx).await?;
    let invoices: Vec<(Uuid, Uuid, i64)> = all_invoices.iter().filter(|i| i.2 == term).map(|i| (i.0, i.1, i.3)).collect();
    let allowances: Vec<(Uuid, i64)> =
        sqlx::query_as("SELECT invoice_id, sum(amount_minor)::bigint FROM credit_notes WHERE NOT cancels GROUP BY invoice_id")
            .fetch_all(&mut **tx)
            .await?;
    let allowances: HashMap<Uuid, i64> = allowances.into_iter().collect();
    let mut billed_of: HashMap<Uuid, i64> = HashMap::new();
    for (invoice, student, net) in &invoices {
        *billed_of.entry(*student).or_default() += net - allowances.get(invoice).copied().unwrap_or(0);
    }
    let mut with_debts: Vec<Uuid> = all_invoices.iter().map(|i| i.1).collect();
    with_debts.sort_unstable();
    with_debts.dedup();
    let school_invoices = (with_debts.len() > ledger::WHOLE_SCHOOL).then(|| all_invoices.iter().map(|i| (i.0, i.1, i.2)).collect());
    let charges = charges_of(tx, &with_debts, school_invoices).await?;
    // A write-off settles a debt without money coming in: it is not "collected". One made this
    // term forgives what is left after everything paid, so it is spread last; an older one
    // settled older debts and stays with the rest of what was settled.
    let written_off: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT student_id, sum(amount_minor)::bigint FROM write_offs
          WHERE created_at >= ($1::timestamp - interval '3 hours') AT TIME ZONE 'UTC' GROUP BY student_id",
    )
    .bind(starts_on)
    .fetch_all(&mut **tx)
    .await?;
    let written_off: HashMap<Uuid, i64> = written_off.into_iter().collect();
    let billed_students: Vec<Uuid> = billed_of.keys().copied().collect();
    let classes_of = class_names(tx, &billed_students).await?;
    let mut ageing = Ageing::default();
    // Per student: what is unpaid of this term's instalments, with and without the write-offs.
    let mut unpaid_of: HashMap<Uuid, (i64, i64)> = HashMap::with_capacity(charges.len());
    let this_term =
        |settled: &[Settled]| -> i64 { settled.iter().filter(|s| s.debt.current_term && s.debt.seq > 0).map(|s| s.unpaid).sum() };
    for (student, c) in charges {
        let forgiven = written_off.get(&student).copied().unwrap_or(0);
        let paid_only = if forgiven > 0 { Some(allocate(c.debts.clone(), c.settled - forgiven, allocation)) } else { None };
        let settled = allocate(c.debts, c.settled, allocation);
        for s in &settled {
            ageing.add(s.unpaid, s.debt.due_on, today);
        }
        let unpaid = this_term(&settled);
        unpaid_of.insert(student, (unpaid, paid_only.as_deref().map_or(unpaid, this_term)));
    }
    let mut classes: Vec<ClassCollection> = Vec::new();
    let (mut billed, mut collected, mut forgiven_total) = (0, 0, 0);
    for (student, net) in &billed_of {
        let class_name = classes_of.get(student).cloned().unwrap_or_default();
        let (unpaid, unpaid_before_write_offs) = unpaid_of.get(student).copied().unwrap_or((0, 0));
        let paid = (net - unpaid_before_write_offs).clamp(0, *net);
        let forgiven = (unpaid_before_write_offs - unpaid).clamp(0, net - paid);
        billed += net;
        collected += paid;
        forgiven_total += forgiven;
        match classes.iter_mut().find(|c| c.class_name == class_name) {
            Some(c) => {
                c.billed_minor += net;
                c.collected_minor += paid;
            }
            None => classes.push(ClassCollection { class_name, billed_minor: *net, collected_minor: paid }),
        }
    }
    classes.sort_by(|a, b| a.class_name.cmp(&b.class_name));
    Ok(Dashboard {
        term_label: term_label(year, number),
        billed_minor: billed,
        collected_minor: collected,
        written_off_minor: forgiven_total,
        today: today_totals,
        week,
        classes,
        ageing,
        invoiced_students: u32::try_from(billed_of.len()).unwrap_or(0),
        active_students: u32::try_from(active).unwrap_or(0),
    })
}

/// Students with overdue instalments or fines, most overdue first (the first `limit` of
/// them: a page shows the worst, the export all). The guardian's phone is decrypted only when
/// `pii` is given (the caller holds the personal-data permission).
pub async fn defaulters(
    tx: &mut TenantTx,
    today: NaiveDate,
    pii: Option<&crate::audit::pii::KeyRing>,
    limit: Option<usize>,
) -> Result<Vec<Defaulter>, DomainError> {
    let settings = super::accounts::settings(tx).await?;
    let candidates: Vec<Uuid> =
        sqlx::query_scalar("SELECT DISTINCT student_id FROM invoices WHERE NOT cancelled").fetch_all(&mut **tx).await?;
    let debts = debts_of(tx, &candidates, settings.allocation).await?;
    let positions = ledger::positions(tx, &candidates).await?;
    let mut overdue: Vec<(Uuid, i64, Option<NaiveDate>)> = debts
        .iter()
        .map(|(s, d)| {
            let late: Vec<&Settled> = d.iter().filter(|x| x.unpaid > 0 && x.debt.due_on < today).collect();
            (*s, late.iter().map(|x| x.unpaid).sum(), late.iter().map(|x| x.debt.due_on).min())
        })
        .filter(|x| x.1 > 0)
        .collect();
    overdue.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)));
    if let Some(limit) = limit {
        overdue.truncate(limit);
    }
    let ids: Vec<Uuid> = overdue.iter().map(|o| o.0).collect();
    // Who they are, their control number, the guardian to call (the one who gets the
    // school's SMS first): probed student by student through the primary keys (the OFFSET 0
    // fences keep the planner from hashing whole tables: a page lists at most a hundred).
    let rows = sqlx::query(
        "SELECT s.id, p.name, p.admission_no, p.stream_id, a.control_number, g.full_name, g.phone_enc
           FROM unnest($1::uuid[]) AS s (id)
          CROSS JOIN LATERAL (SELECT concat_ws(' ', first_name, middle_name, last_name) AS name, admission_no, stream_id
                                FROM students WHERE id = s.id OFFSET 0) p
           LEFT JOIN LATERAL (SELECT control_number FROM student_accounts WHERE student_id = s.id OFFSET 0) a ON true
           LEFT JOIN LATERAL (SELECT gg.full_name, gg.phone_enc FROM student_guardians sg
                                JOIN guardians gg ON gg.tenant_id = sg.tenant_id AND gg.id = sg.guardian_id
                               WHERE sg.student_id = s.id ORDER BY sg.receives_sms DESC, gg.full_name LIMIT 1) g ON true",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    let streams: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT st.id, concat_ws(' ', l.name, st.name) FROM streams st JOIN levels l ON l.tenant_id = st.tenant_id AND l.id = st.level_id",
    )
    .fetch_all(&mut **tx)
    .await?;
    let streams: HashMap<Uuid, String> = streams.into_iter().collect();
    let mut found: HashMap<Uuid, sqlx::postgres::PgRow> = HashMap::with_capacity(rows.len());
    for r in rows {
        found.insert(r.try_get("id")?, r);
    }
    let tenant = tx.tenant();
    let mut out = Vec::with_capacity(overdue.len());
    for (student, late, oldest) in overdue {
        let Some(r) = found.get(&student) else { continue };
        let phone = match (pii, r.try_get::<Option<Vec<u8>>, _>("phone_enc")?) {
            (Some(keys), Some(enc)) => Some(crate::academic::store::reveal_phone(keys, tenant, &enc)?.as_str().to_owned()),
            _ => None,
        };
        let stream: Option<Uuid> = r.try_get("stream_id")?;
        let (owed, credit) = positions.get(&student).copied().unwrap_or_default();
        out.push(Defaulter {
            student_id: student,
            name: r.try_get("name")?,
            admission_no: r.try_get("admission_no")?,
            class_name: stream.and_then(|x| streams.get(&x).cloned()).unwrap_or_default(),
            control_number: r.try_get::<Option<String>, _>("control_number")?.unwrap_or_default(),
            overdue_minor: late,
            balance_minor: owed - credit,
            oldest_due: oldest,
            guardian: r.try_get::<Option<String>, _>("full_name")?.unwrap_or_default(),
            guardian_phone: phone,
        });
    }
    Ok(out)
}

/// The bursar's search: a control number finds its student; anything else searches like the
/// admin's student list (name, admission number, guardian's phone), first page.
pub async fn search(tx: &mut TenantTx, pii: &crate::audit::pii::KeyRing, query: &str) -> Result<Vec<AccountListItem>, DomainError> {
    let items: Vec<(Uuid, String, String, String)> = match crate::finance::control::ControlNumber::parse(query) {
        Ok(number) => {
            let found: Option<Uuid> = sqlx::query_scalar("SELECT student_id FROM student_accounts WHERE control_number = $1")
                .bind(number.as_str())
                .fetch_optional(&mut **tx)
                .await?;
            let ids: Vec<Uuid> = found.into_iter().collect();
            let people: Vec<(Uuid, String, String)> = sqlx::query_as(
                "SELECT id, concat_ws(' ', first_name, middle_name, last_name), admission_no FROM students WHERE id = ANY($1)",
            )
            .bind(&ids)
            .fetch_all(&mut **tx)
            .await?;
            let classes = class_names(tx, &ids).await?;
            people.into_iter().map(|(id, n, a)| (id, n, a, classes.get(&id).cloned().unwrap_or_default())).collect()
        }
        Err(_) => crate::academic::students::db::search(tx, pii, query, 1)
            .await?
            .items
            .into_iter()
            .map(|i| (i.id, i.full_name, i.admission_no, i.class_name.unwrap_or_default()))
            .collect(),
    };
    let ids: Vec<Uuid> = items.iter().map(|i| i.0).collect();
    let positions = ledger::positions(tx, &ids).await?;
    Ok(items
        .into_iter()
        .map(|(id, name, admission_no, class_name)| {
            let (owed, credit) = positions.get(&id).copied().unwrap_or_default();
            AccountListItem { student_id: id, name, admission_no, class_name, balance_minor: owed - credit }
        })
        .collect())
}

/// What a receipt prints, read for the bursar (`reader` `None`) or for a family (their own
/// child's payments only: another child's receipt is not found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptData {
    pub payment: PaymentView,
    pub student: String,
    pub admission_no: String,
    pub class_name: String,
    pub control_number: String,
    /// What the payment settled of fees owed, and what became credit.
    pub to_fees: i64,
    pub to_credit: i64,
    /// What the student owed right after this payment (negative: in credit).
    pub balance_after: i64,
    /// The stored PDF, once made.
    pub receipt_key: Option<String>,
}

pub async fn receipt(
    tx: &mut TenantTx,
    payment: Uuid,
    reader: Option<crate::results::db::PortalReader>,
) -> Result<ReceiptData, DomainError> {
    let student: Option<Uuid> =
        sqlx::query_scalar("SELECT student_id FROM payments WHERE id = $1").bind(payment).fetch_optional(&mut **tx).await?;
    let student = student.ok_or(DomainError::NotFound)?;
    if let Some(reader) = reader {
        if !crate::results::db::may_read(tx, reader, student).await? {
            return Err(DomainError::NotFound);
        }
    }
    let view = payments_of(tx, student).await?.into_iter().find(|p| p.id == payment).ok_or(DomainError::NotFound)?;
    let r = sqlx::query(
        "SELECT concat_ws(' ', s.first_name, s.middle_name, s.last_name) AS name, s.admission_no, concat_ws(' ', l.name, st.name) AS class_name,
                coalesce(a.control_number, '') AS control_number, p.receipt_key,
                coalesce((SELECT -sum(jl.amount_minor) FROM journal_entries e JOIN journal_lines jl ON jl.tenant_id = e.tenant_id AND jl.entry_id = e.id
                           JOIN ledger_accounts la ON la.tenant_id = jl.tenant_id AND la.id = jl.account_id AND la.kind = 'receivable'
                          WHERE e.kind = 'payment' AND e.source_id = p.id), 0)::bigint AS to_fees,
                coalesce((SELECT -sum(jl.amount_minor) FROM journal_entries e JOIN journal_lines jl ON jl.tenant_id = e.tenant_id AND jl.entry_id = e.id
                           JOIN ledger_accounts la ON la.tenant_id = jl.tenant_id AND la.id = jl.account_id AND la.kind = 'credit'
                          WHERE e.kind = 'payment' AND e.source_id = p.id), 0)::bigint AS to_credit,
                coalesce((SELECT sum(jl.amount_minor) FROM journal_entries e JOIN journal_lines jl ON jl.tenant_id = e.tenant_id AND jl.entry_id = e.id
                           JOIN ledger_accounts la ON la.tenant_id = jl.tenant_id AND la.id = jl.account_id AND la.kind IN ('receivable', 'credit') AND la.student_id = p.student_id
                          WHERE e.student_id = p.student_id
                            AND e.seq <= (SELECT x.seq FROM journal_entries x WHERE x.tenant_id = p.tenant_id AND x.kind = 'payment' AND x.source_id = p.id)), 0)::bigint AS balance_after
           FROM payments p
           JOIN students s ON s.tenant_id = p.tenant_id AND s.id = p.student_id
           LEFT JOIN streams st ON st.tenant_id = s.tenant_id AND st.id = s.stream_id
           LEFT JOIN levels l ON l.tenant_id = st.tenant_id AND l.id = st.level_id
           LEFT JOIN student_accounts a ON a.tenant_id = s.tenant_id AND a.student_id = s.id
          WHERE p.id = $1",
    )
    .bind(payment)
    .fetch_one(&mut **tx)
    .await?;
    Ok(ReceiptData {
        payment: view,
        student: r.try_get("name")?,
        admission_no: r.try_get("admission_no")?,
        class_name: r.try_get("class_name")?,
        control_number: r.try_get("control_number")?,
        to_fees: r.try_get("to_fees")?,
        to_credit: r.try_get("to_credit")?,
        balance_after: r.try_get("balance_after")?,
        receipt_key: r.try_get("receipt_key")?,
    })
}

/// Records where a receipt's PDF is kept (the first download made it).
pub async fn set_receipt_key(tx: &mut TenantTx, payment: Uuid, key: &str) -> Result<(), DomainError> {
    sqlx::query("UPDATE payments SET receipt_key = $2 WHERE id = $1 AND receipt_key IS NULL")
        .bind(payment)
        .bind(key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub use crate::finance::views::VerifiedReceipt;

/// `/verify/<code>` for receipts (any school's; the caller limits a school's own address).
pub async fn verify_receipt(
    pool: &sqlx::PgPool,
    code: &crate::reporting::VerifyCode,
) -> Result<Option<(crate::tenancy::TenantId, VerifiedReceipt)>, sqlx::Error> {
    let row = sqlx::query("SELECT * FROM verify_receipt($1)").bind(code.as_str()).fetch_optional(pool).await?;
    row.map(|r| {
        Ok((
            crate::tenancy::TenantId(r.try_get("school_id")?),
            VerifiedReceipt {
                school: r.try_get("school")?,
                student: r.try_get("student")?,
                receipt_no: r.try_get("receipt_no")?,
                amount_minor: r.try_get("amount_minor")?,
                paid_on: r.try_get("paid_on")?,
                channel: Channel::parse(r.try_get("channel")?).unwrap_or(Channel::Cash),
            },
        ))
    })
    .transpose()
}

/// A statement for a period: the account's head, the balance before it, its rows.
pub async fn statement_for(
    tx: &mut TenantTx,
    student: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    reader: Option<crate::results::db::PortalReader>,
) -> Result<(StudentAccount, i64, Vec<StatementRow>), DomainError> {
    if let Some(reader) = reader {
        if !crate::results::db::may_read(tx, reader, student).await? {
            return Err(DomainError::NotFound);
        }
    }
    let account = student_account(tx, student).await?;
    let opening = balance_before(tx, student, from).await?;
    let rows = statement(tx, student, Some((from, to))).await?;
    Ok((account, opening, rows))
}

/// The top of a receipt or statement: the school's name, motto, address and logo's key.
pub async fn school_heading(tx: &mut TenantTx) -> Result<(String, String, String, Option<String>), DomainError> {
    let row: (String, Option<String>, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT t.name, ss.motto, ss.postal_address, ss.logo_key FROM tenants t LEFT JOIN school_settings ss ON ss.tenant_id = t.id WHERE t.id = $1",
    )
    .bind(tx.tenant().0)
    .fetch_one(&mut **tx)
    .await?;
    Ok((row.0, row.1.unwrap_or_default(), row.2.unwrap_or_default(), row.3))
}

/// How many students are active (to be billed).
pub async fn active_students(tx: &mut TenantTx) -> Result<usize, DomainError> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM students WHERE status = 'active'").fetch_one(&mut **tx).await?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// The students with an invoice not cancelled, in invoice order.
pub async fn invoiced_students(tx: &mut TenantTx) -> Result<Vec<Uuid>, DomainError> {
    Ok(sqlx::query_scalar("SELECT student_id FROM invoices WHERE NOT cancelled ORDER BY number").fetch_all(&mut **tx).await?)
}
