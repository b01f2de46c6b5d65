//! Invoicing a term: the bursar asks (a run, queued as a job in the same transaction), the
//! worker bills every active student of the school or class in chunks, one commit per chunk,
//! so the progress bar moves, a restarted worker carries on, and a cancel stops it between
//! chunks. A student is billed once per term whatever happens (a unique index), so running
//! it again only bills those who were missed or joined since.

use super::{internal, term_label};
use crate::db::TenantTx;
use crate::finance::billing::{self, BillInput, Discount, DiscountValue, Instalment, StructureItem};
use crate::finance::ledger::Posting;
use crate::finance::views::InvoiceRunView;
use crate::identity::store::ChangedBy;
use crate::jobs::Job;
use crate::reporting::BatchStatus;
use crate::tenancy::TenantId;
use crate::DomainError;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgPool, Row};
use std::collections::HashMap;
use uuid::Uuid;

/// Students billed per commit: big enough to be fast, small enough for the bar to move.
pub const CHUNK: usize = 250;

/// Asks for a term's invoices (the current term; one class, or every class). Refused while
/// another run of the school is still working (409).
pub async fn request(
    tx: &mut TenantTx,
    pii: &crate::audit::pii::KeyRing,
    level: Option<Uuid>,
    by: ChangedBy<'_>,
) -> Result<Uuid, DomainError> {
    let term: Option<Uuid> = sqlx::query_scalar("SELECT id FROM terms WHERE is_current").fetch_optional(&mut **tx).await?;
    let term = term.ok_or_else(|| DomainError::conflict("term", "finance-error-no-current-term"))?;
    if let Some(level) = level {
        let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM levels WHERE id = $1)").bind(level).fetch_one(&mut **tx).await?;
        if !known {
            return Err(DomainError::NotFound);
        }
    }
    // One run at a time per school: serialised on the settings row.
    super::accounts::settings(tx).await?;
    sqlx::query("SELECT 1 FROM finance_settings FOR UPDATE").execute(&mut **tx).await?;
    let busy: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM invoice_runs WHERE status IN ('queued', 'running'))").fetch_one(&mut **tx).await?;
    if busy {
        return Err(DomainError::conflict("level", "finance-error-run-busy"));
    }
    let run: Uuid = sqlx::query_scalar(
        "INSERT INTO invoice_runs (tenant_id, term_id, level_id, requested_by, requested_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(tx.tenant().0)
    .bind(term)
    .bind(level)
    .bind(by.actor.id)
    .bind(by.at)
    .fetch_one(&mut **tx)
    .await?;
    crate::jobs::enqueue(tx, pii, &Job::Invoices { run }).await?;
    by.audit(tx, crate::audit::actions::INVOICES_REQUESTED, &run.to_string(), serde_json::json!({ "term": term, "level": level })).await?;
    Ok(run)
}

/// Cancels a run still working: what was billed stays billed (cancel those invoices with
/// credit notes if needed).
pub async fn cancel(tx: &mut TenantTx, run: Uuid, at: DateTime<Utc>) -> Result<(), DomainError> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM invoice_runs WHERE id = $1 FOR UPDATE").bind(run).fetch_optional(&mut **tx).await?;
    match status.as_deref() {
        None => Err(DomainError::NotFound),
        Some("queued" | "running") => {
            sqlx::query("UPDATE invoice_runs SET status = 'cancelled', finished_at = $2 WHERE id = $1")
                .bind(run)
                .bind(at)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }
        Some(_) => Err(DomainError::conflict("run", "finance-error-run-finished")),
    }
}

/// The worker gave up on a run's job (its tries are used up): the run says it failed instead of
/// "running" for ever, and a new run may be requested.
pub async fn gave_up(tx: &mut TenantTx, run: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE invoice_runs SET status = 'failed', finished_at = now() WHERE id = $1 AND status IN ('queued', 'running')")
        .bind(run)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The term's runs, newest first.
pub async fn runs(tx: &mut TenantTx, term: Uuid) -> Result<Vec<InvoiceRunView>, DomainError> {
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM invoice_runs WHERE term_id = $1 ORDER BY requested_at DESC LIMIT 10")
        .bind(term)
        .fetch_all(&mut **tx)
        .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(run_view(tx, id).await?);
    }
    Ok(out)
}

/// One run as the progress bar shows it.
pub async fn run_view(tx: &mut TenantTx, run: Uuid) -> Result<InvoiceRunView, DomainError> {
    let r = sqlx::query(
        "SELECT r.id, y.year, t.number, l.name AS level_name, r.status, r.total, r.done, r.failed, r.skipped, r.problems,
                u.display_name, r.requested_at, r.finished_at
           FROM invoice_runs r
           JOIN terms t ON t.tenant_id = r.tenant_id AND t.id = r.term_id
           JOIN academic_years y ON y.tenant_id = t.tenant_id AND y.id = t.academic_year_id
           LEFT JOIN levels l ON l.tenant_id = r.tenant_id AND l.id = r.level_id
           JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.requested_by
          WHERE r.id = $1",
    )
    .bind(run)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(DomainError::NotFound)?;
    let count = |c: &str| -> Result<u32, DomainError> { Ok(u32::try_from(r.try_get::<i32, _>(c)?).unwrap_or(0)) };
    let problems: serde_json::Value = r.try_get("problems")?;
    Ok(InvoiceRunView {
        id: r.try_get("id")?,
        term_label: term_label(r.try_get("year")?, r.try_get("number")?),
        class_name: r.try_get::<Option<String>, _>("level_name")?.unwrap_or_default(),
        status: BatchStatus::parse(r.try_get("status")?).unwrap_or(BatchStatus::Failed),
        total: count("total")?,
        done: count("done")?,
        failed: count("failed")?,
        skipped: count("skipped")?,
        requested_by: r.try_get("display_name")?,
        requested_at: r.try_get("requested_at")?,
        finished_at: r.try_get("finished_at")?,
        problems: serde_json::from_value(problems).unwrap_or_default(),
    })
}

/// What the run bills: the term, its dates and the school's rules.
struct RunScope {
    term: Uuid,
    level: Option<Uuid>,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    term_memo: String,
}

/// The worker's side: bills the run's students chunk by chunk. Returns when the run is done,
/// cancelled, or was finished before (a job retried after a crash carries on).
pub async fn run(pool: &PgPool, tenant: TenantId, run: Uuid, now: impl Fn() -> DateTime<Utc>) -> Result<(), DomainError> {
    let scope = {
        let mut tx = crate::db::tenant_tx(pool, tenant).await?;
        let r = sqlx::query(
            "SELECT r.status, r.term_id, r.level_id, t.starts_on, t.ends_on, t.number, y.year
               FROM invoice_runs r JOIN terms t ON t.tenant_id = r.tenant_id AND t.id = r.term_id
               JOIN academic_years y ON y.tenant_id = t.tenant_id AND y.id = t.academic_year_id
              WHERE r.id = $1 FOR UPDATE OF r",
        )
        .bind(run)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(DomainError::NotFound)?;
        let status: String = r.try_get("status")?;
        // A failed run whose job runs again was put back by an admin: it carries on where it
        // stopped, unless another run was requested meanwhile (two runs of one school must not
        // bill side by side): then it stays failed and there is nothing to do.
        // Under the lock a request takes, so a run asked for at this moment and this reopening
        // cannot both see no other run.
        if status == "failed" {
            sqlx::query("SELECT 1 FROM finance_settings FOR UPDATE").execute(&mut *tx).await?;
        }
        let reopened = status == "failed"
            && sqlx::query(
                "UPDATE invoice_runs SET status = 'running', finished_at = NULL
                  WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM invoice_runs WHERE status IN ('queued', 'running'))",
            )
            .bind(run)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
        if !(matches!(status.as_str(), "queued" | "running") || reopened) {
            return Ok(());
        }
        let scope = RunScope {
            term: r.try_get("term_id")?,
            level: r.try_get("level_id")?,
            starts_on: r.try_get("starts_on")?,
            ends_on: r.try_get("ends_on")?,
            term_memo: term_label(r.try_get("year")?, r.try_get("number")?),
        };
        let (total, already): (i64, i64) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM invoices i WHERE i.tenant_id = s.tenant_id AND i.student_id = s.id
                                                              AND i.term_id = $1 AND NOT i.cancelled))
               FROM students s JOIN streams st ON st.tenant_id = s.tenant_id AND st.id = s.stream_id
              WHERE s.status = 'active' AND ($2::uuid IS NULL OR st.level_id = $2)",
        )
        .bind(scope.term)
        .bind(scope.level)
        .fetch_one(&mut *tx)
        .await?;
        // On a first start, those billed before the run are "skipped"; on a restart the
        // counts it kept stay.
        sqlx::query(
            "UPDATE invoice_runs SET status = 'running', started_at = coalesce(started_at, $2), total = $3,
                    skipped = CASE WHEN status = 'queued' THEN $4 ELSE skipped END
              WHERE id = $1",
        )
        .bind(run)
        .bind(now())
        .bind(i32::try_from(total).unwrap_or(i32::MAX))
        .bind(i32::try_from(already).unwrap_or(0))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        scope
    };
    loop {
        let mut tx = crate::db::tenant_tx(pool, tenant).await?;
        let status: String =
            sqlx::query_scalar("SELECT status FROM invoice_runs WHERE id = $1 FOR UPDATE").bind(run).fetch_one(&mut *tx).await?;
        if status != "running" {
            return Ok(());
        }
        let billed = bill_chunk(&mut tx, run, &scope, now()).await?;
        if billed == 0 {
            sqlx::query("UPDATE invoice_runs SET status = 'done', finished_at = $2 WHERE id = $1")
                .bind(run)
                .bind(now())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(());
        }
        tx.commit().await?;
    }
}

/// Bills the next chunk of students not yet invoiced for the term (and not already reported
/// as a problem by this run). Returns how many students it handled.
async fn bill_chunk(tx: &mut TenantTx, run: Uuid, scope: &RunScope, now: DateTime<Utc>) -> Result<usize, DomainError> {
    let settings = super::accounts::settings(tx).await?;
    let students = sqlx::query(
        "SELECT s.id, s.stream_id, st.level_id, concat_ws(' ', s.first_name, s.last_name) AS name, s.created_at
           FROM students s JOIN streams st ON st.tenant_id = s.tenant_id AND st.id = s.stream_id
           JOIN levels l ON l.tenant_id = st.tenant_id AND l.id = st.level_id
          WHERE s.status = 'active' AND ($1::uuid IS NULL OR st.level_id = $1)
            AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.tenant_id = s.tenant_id AND i.student_id = s.id AND i.term_id = $2 AND NOT i.cancelled)
            AND NOT (SELECT problems FROM invoice_runs WHERE id = $3) @> jsonb_build_array(jsonb_build_object('id', s.id::text))
          ORDER BY l.ordinal, st.name, s.admission_no
          LIMIT $4",
    )
    .bind(scope.level)
    .bind(scope.term)
    .bind(run)
    .bind(i64::try_from(CHUNK).unwrap_or(250))
    .fetch_all(&mut **tx)
    .await?;
    if students.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = students.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
    // Every writer of a student's money holds the student's lock (a payment or a refund
    // recorded while this chunk bills them sees the invoice, or is seen by it).
    super::ledger::lock_students(tx, &ids).await?;
    super::accounts::ensure(tx, &ids).await?;

    // The term's structures: per stream, else per level.
    let structure_rows: Vec<(Uuid, Uuid, Option<Uuid>)> =
        sqlx::query_as("SELECT id, level_id, stream_id FROM fee_structures WHERE term_id = $1")
            .bind(scope.term)
            .fetch_all(&mut **tx)
            .await?;
    let structure_ids: Vec<Uuid> = structure_rows.iter().map(|s| s.0).collect();
    let items = sqlx::query(
        "SELECT fi.structure_id, fi.item_id, i.name, fi.amount_minor, fi.compulsory
           FROM fee_structure_items fi JOIN fee_items i ON i.tenant_id = fi.tenant_id AND i.id = fi.item_id
          WHERE fi.structure_id = ANY($1) ORDER BY fi.position",
    )
    .bind(&structure_ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut items_of: HashMap<Uuid, Vec<StructureItem>> = HashMap::new();
    for r in items {
        items_of.entry(r.try_get("structure_id")?).or_default().push(StructureItem {
            item: r.try_get("item_id")?,
            name: r.try_get("name")?,
            amount_minor: r.try_get("amount_minor")?,
            compulsory: r.try_get("compulsory")?,
        });
    }
    let plan_rows: Vec<(Uuid, i32, NaiveDate)> =
        sqlx::query_as("SELECT structure_id, share_bp, due_on FROM fee_instalments WHERE structure_id = ANY($1) ORDER BY seq")
            .bind(&structure_ids)
            .fetch_all(&mut **tx)
            .await?;
    let mut plan_of: HashMap<Uuid, Vec<Instalment>> = HashMap::new();
    for (s, share, due) in plan_rows {
        plan_of.entry(s).or_default().push(Instalment { share_bp: u32::try_from(share).unwrap_or(0), due_on: due });
    }
    let options: Vec<(Uuid, Uuid)> =
        sqlx::query_as("SELECT student_id, item_id FROM student_fee_options WHERE term_id = $1 AND student_id = ANY($2)")
            .bind(scope.term)
            .bind(&ids)
            .fetch_all(&mut **tx)
            .await?;
    // (student, item, percent, amount)
    type DiscountRow = (Uuid, Option<Uuid>, Option<i32>, Option<i64>);
    let discount_rows: Vec<DiscountRow> =
        sqlx::query_as("SELECT student_id, item_id, percent_bp, amount_minor FROM fee_discounts WHERE term_id = $1 AND student_id = ANY($2) ORDER BY created_at")
            .bind(scope.term)
            .bind(&ids)
            .fetch_all(&mut **tx)
            .await?;
    // When a student joined: the day their record was made, but only once the school was
    // already billing on Kilele (a record made after its first invoicing run). A school that
    // moves onto Kilele mid-term imports everyone first: their records' dates say when they
    // were typed in, not when they joined, and they are billed in full.
    let first_run: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT min(requested_at) FROM invoice_runs").fetch_one(&mut **tx).await?;
    // A child's rank among the family's active children (sharing a guardian), eldest by
    // admission first: those already at school when it began billing on Kilele by admission
    // number (shorter first, so ".../99" comes before ".../100"), then those who joined since,
    // by when they joined.
    let ranks: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT s.id, 1 + (SELECT count(DISTINCT o.id)
                             FROM student_guardians g
                             JOIN student_guardians og ON og.tenant_id = g.tenant_id AND og.guardian_id = g.guardian_id
                             JOIN students o ON o.tenant_id = og.tenant_id AND o.id = og.student_id AND o.status = 'active'
                            WHERE g.tenant_id = s.tenant_id AND g.student_id = s.id
                              AND (CASE WHEN o.created_at > $2 THEN o.created_at ELSE '-infinity' END, length(o.admission_no), o.admission_no)
                                < (CASE WHEN s.created_at > $2 THEN s.created_at ELSE '-infinity' END, length(s.admission_no), s.admission_no))
           FROM students s WHERE s.id = ANY($1)",
    )
    .bind(&ids)
    .bind(first_run)
    .fetch_all(&mut **tx)
    .await?;
    let rank_of: HashMap<Uuid, u32> = ranks.into_iter().map(|(s, r)| (s, u32::try_from(r).unwrap_or(1))).collect();
    let positions = super::ledger::positions(tx, &ids).await?;

    let term_days = u32::try_from((scope.ends_on - scope.starts_on).num_days() + 1).unwrap_or(1);
    let mut problems: Vec<serde_json::Value> = Vec::new();
    let mut bills = Vec::new();
    for r in &students {
        let id: Uuid = r.try_get("id")?;
        let stream: Option<Uuid> = r.try_get("stream_id")?;
        let level: Uuid = r.try_get("level_id")?;
        let name: String = r.try_get("name")?;
        let created: DateTime<Utc> = r.try_get("created_at")?;
        let joined: Option<NaiveDate> = first_run.filter(|first| created > *first).map(|_| crate::clock::school_date(created));
        let structure = structure_rows
            .iter()
            .find(|s| s.1 == level && s.2.is_some() && s.2 == stream)
            .or_else(|| structure_rows.iter().find(|s| s.1 == level && s.2.is_none()))
            .map(|s| s.0);
        let Some(structure) = structure else {
            problems.push(serde_json::json!({ "id": id.to_string(), "student": name, "reason": "finance-run-no-structure" }));
            continue;
        };
        let taken: Vec<Uuid> = options.iter().filter(|o| o.0 == id).map(|o| o.1).collect();
        let discounts: Vec<Discount> = discount_rows
            .iter()
            .filter(|d| d.0 == id)
            .filter_map(|d| {
                let value = match (d.2, d.3) {
                    (Some(bp), _) => DiscountValue::Percent(u32::try_from(bp).ok()?),
                    (None, Some(a)) => DiscountValue::Amount(a),
                    _ => return None,
                };
                Some(Discount { item: d.1, value })
            })
            .collect();
        let pro_rata = joined
            .filter(|joined| settings.pro_rata && *joined > scope.starts_on && *joined <= scope.ends_on)
            .map(|joined| (u32::try_from((scope.ends_on - joined).num_days() + 1).unwrap_or(0), term_days));
        let empty = Vec::new();
        let input = BillInput {
            items: items_of.get(&structure).unwrap_or(&empty),
            optional_taken: &taken,
            discounts: &discounts,
            sibling_bp: billing::sibling_bp(rank_of.get(&id).copied().unwrap_or(1), settings.sibling_second_bp, settings.sibling_third_bp),
            pro_rata,
            instalments: plan_of.get(&structure).map(Vec::as_slice).unwrap_or(&[]),
        };
        match billing::bill(&input) {
            Some(bill) if !input.instalments.is_empty() => bills.push((id, structure, bill)),
            _ => problems.push(serde_json::json!({ "id": id.to_string(), "student": name, "reason": "finance-run-nothing-to-bill" })),
        }
    }

    let count = i64::try_from(bills.len()).map_err(internal)?;
    let first_no: i64 =
        sqlx::query_scalar("UPDATE finance_settings SET next_invoice_no = next_invoice_no + $1 RETURNING next_invoice_no - $1")
            .bind(count)
            .fetch_one(&mut **tx)
            .await?;
    let today = crate::clock::school_date(now);
    let invoice_ids: Vec<Uuid> = bills.iter().map(|_| Uuid::new_v4()).collect();
    let numbers: Vec<i64> = (0..count).map(|n| first_no + n).collect();
    let student_ids: Vec<Uuid> = bills.iter().map(|b| b.0).collect();
    let structures: Vec<Uuid> = bills.iter().map(|b| b.1).collect();
    let gross: Vec<i64> = bills.iter().map(|b| b.2.gross()).collect();
    let discount: Vec<i64> = bills.iter().map(|b| b.2.discount()).collect();
    let net: Vec<i64> = bills.iter().map(|b| b.2.net()).collect();
    sqlx::query(
        "INSERT INTO invoices (tenant_id, id, number, student_id, term_id, structure_id, run_id, issued_on, gross_minor, discount_minor, net_minor, created_at)
         SELECT $1, v.id, v.number, v.student_id, $2, v.structure_id, $3, $4, v.gross, v.discount, v.net, $5
           FROM unnest($6::uuid[], $7::bigint[], $8::uuid[], $9::uuid[], $10::bigint[], $11::bigint[], $12::bigint[])
                AS v (id, number, student_id, structure_id, gross, discount, net)",
    )
    .bind(tx.tenant().0)
    .bind(scope.term)
    .bind(run)
    .bind(today)
    .bind(now)
    .bind(&invoice_ids)
    .bind(&numbers)
    .bind(&student_ids)
    .bind(&structures)
    .bind(&gross)
    .bind(&discount)
    .bind(&net)
    .execute(&mut **tx)
    .await?;
    let (mut l_inv, mut l_no, mut l_item, mut l_desc, mut l_gross, mut l_disc) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut i_inv, mut i_seq, mut i_due, mut i_amount) = (vec![], vec![], vec![], vec![]);
    let mut postings = Vec::with_capacity(bills.len() * 2);
    for ((invoice, number), (student, _, bill)) in invoice_ids.iter().zip(&numbers).zip(&bills) {
        for (n, line) in bill.lines.iter().enumerate() {
            l_inv.push(*invoice);
            l_no.push(i32::try_from(n + 1).unwrap_or(i32::MAX));
            l_item.push(line.item);
            l_desc.push(line.description.clone());
            l_gross.push(line.gross_minor);
            l_disc.push(line.discount_minor);
        }
        for (n, (due, amount)) in bill.instalments.iter().enumerate() {
            i_inv.push(*invoice);
            i_seq.push(i32::try_from(n + 1).unwrap_or(i32::MAX));
            // Nobody is late for a date before they were billed (a joiner, a late run).
            i_due.push((*due).max(today));
            i_amount.push(*amount);
        }
        let memo = format!("{} #{number}", scope.term_memo);
        let lines: Vec<(Uuid, i64)> = bill.lines.iter().map(|l| (l.item, l.gross_minor)).collect();
        postings.push(Posting::invoice(*invoice, *student, memo.clone(), &lines, bill.discount()));
        let (owed, credit) = positions.get(student).copied().unwrap_or_default();
        if let Some(p) = Posting::credit_applied(*invoice, *student, memo, credit, owed + bill.net()) {
            postings.push(p);
        }
    }
    sqlx::query(
        "INSERT INTO invoice_lines (tenant_id, invoice_id, line_no, item_id, description, gross_minor, discount_minor)
         SELECT $1, * FROM unnest($2::uuid[], $3::int[], $4::uuid[], $5::text[], $6::bigint[], $7::bigint[])",
    )
    .bind(tx.tenant().0)
    .bind(&l_inv)
    .bind(&l_no)
    .bind(&l_item)
    .bind(&l_desc)
    .bind(&l_gross)
    .bind(&l_disc)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO invoice_instalments (tenant_id, invoice_id, seq, due_on, amount_minor)
         SELECT $1, * FROM unnest($2::uuid[], $3::int[], $4::date[], $5::bigint[])",
    )
    .bind(tx.tenant().0)
    .bind(&i_inv)
    .bind(&i_seq)
    .bind(&i_due)
    .bind(&i_amount)
    .execute(&mut **tx)
    .await?;
    super::ledger::post(tx, &postings, today, now, None).await?;
    sqlx::query("UPDATE invoice_runs SET done = done + $2, failed = failed + $3, problems = problems || $4::jsonb WHERE id = $1")
        .bind(run)
        .bind(i32::try_from(bills.len()).unwrap_or(i32::MAX))
        .bind(i32::try_from(problems.len()).unwrap_or(i32::MAX))
        .bind(serde_json::Value::Array(problems))
        .execute(&mut **tx)
        .await?;
    Ok(students.len())
}
