//! Posting to the ledger, reading balances, and `ledger check`.
//!
//! Every money movement reaches the ledger through [`post`]; the invoicing job posts
//! thousands at once through the same function (one statement per table, not per entry).

use crate::db::TenantTx;
use crate::finance::ledger::{Account, Channel, EntryKind, Posting};
use crate::DomainError;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use std::collections::HashMap;
use uuid::Uuid;

/// The ids of `accounts`, made on first use.
async fn account_ids(tx: &mut TenantTx, accounts: &[Account]) -> Result<HashMap<Account, Uuid>, DomainError> {
    let mut kinds = Vec::new();
    let mut students = Vec::new();
    let mut items = Vec::new();
    let mut channels = Vec::new();
    for a in accounts {
        let (kind, student, item, channel) = a.columns();
        kinds.push(kind);
        students.push(student);
        items.push(item);
        channels.push(channel);
    }
    sqlx::query(
        "INSERT INTO ledger_accounts (tenant_id, kind, student_id, item_id, channel)
         SELECT $1, * FROM unnest($2::text[], $3::uuid[], $4::uuid[], $5::text[])
         ON CONFLICT ON CONSTRAINT ledger_accounts_once DO NOTHING",
    )
    .bind(tx.tenant().0)
    .bind(&kinds)
    .bind(&students)
    .bind(&items)
    .bind(&channels)
    .execute(&mut **tx)
    .await?;
    let rows = sqlx::query(
        "SELECT a.id, a.kind, a.student_id, a.item_id, a.channel
           FROM ledger_accounts a
           JOIN unnest($1::text[], $2::uuid[], $3::uuid[], $4::text[]) AS w (kind, student_id, item_id, channel)
             ON a.kind = w.kind AND a.student_id IS NOT DISTINCT FROM w.student_id
            AND a.item_id IS NOT DISTINCT FROM w.item_id AND a.channel IS NOT DISTINCT FROM w.channel",
    )
    .bind(&kinds)
    .bind(&students)
    .bind(&items)
    .bind(&channels)
    .fetch_all(&mut **tx)
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let kind: String = r.try_get("kind")?;
        let student: Option<Uuid> = r.try_get("student_id")?;
        let item: Option<Uuid> = r.try_get("item_id")?;
        let channel: Option<String> = r.try_get("channel")?;
        let account = match (kind.as_str(), student, item, channel.as_deref().and_then(Channel::parse)) {
            ("receivable", Some(s), _, _) => Account::Receivable(s),
            ("credit", Some(s), _, _) => Account::Credit(s),
            ("income", _, Some(i), _) => Account::Income(i),
            ("discounts", ..) => Account::Discounts,
            ("fines", ..) => Account::Fines,
            ("clearing", _, _, Some(c)) => Account::Clearing(c),
            ("suspense", ..) => Account::Suspense,
            ("write_offs", ..) => Account::WriteOffs,
            _ => return Err(DomainError::Internal(format!("unknown ledger account {kind}"))),
        };
        out.insert(account, r.try_get("id")?);
    }
    Ok(out)
}

/// Writes `postings` as journal entries dated `on`. Refuses (before writing) any that does not
/// balance; the database checks again at commit. Returns the entries' ids in order.
pub async fn post(
    tx: &mut TenantTx,
    postings: &[Posting],
    on: NaiveDate,
    at: DateTime<Utc>,
    by: Option<Uuid>,
) -> Result<Vec<Uuid>, DomainError> {
    if let Some(bad) = postings.iter().find(|p| !p.balances()) {
        return Err(DomainError::Internal(format!("unbalanced posting refused: {bad:?}")));
    }
    if postings.is_empty() {
        return Ok(Vec::new());
    }
    let mut accounts: Vec<Account> = postings.iter().flat_map(|p| p.lines.iter().map(|(a, _)| *a)).collect();
    accounts.sort_by_key(|a| format!("{a:?}"));
    accounts.dedup();
    let ids = account_ids(tx, &accounts).await?;
    let entry_ids: Vec<Uuid> = postings.iter().map(|_| Uuid::new_v4()).collect();
    let kinds: Vec<&str> = postings.iter().map(|p| p.kind.code()).collect();
    let sources: Vec<Uuid> = postings.iter().map(|p| p.source).collect();
    let students: Vec<Option<Uuid>> = postings.iter().map(|p| p.student).collect();
    let memos: Vec<&str> = postings.iter().map(|p| p.memo.as_str()).collect();
    sqlx::query(
        "INSERT INTO journal_entries (tenant_id, id, kind, source_id, student_id, memo, posted_on, posted_at, posted_by)
         SELECT $1, e.id, e.kind, e.source_id, e.student_id, e.memo, $7, $8, $9
           FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::text[]) AS e (id, kind, source_id, student_id, memo)",
    )
    .bind(tx.tenant().0)
    .bind(&entry_ids)
    .bind(&kinds)
    .bind(&sources)
    .bind(&students)
    .bind(&memos)
    .bind(on)
    .bind(at)
    .bind(by)
    .execute(&mut **tx)
    .await
    .map_err(crate::db::map_constraint)?;
    let mut line_entries = Vec::new();
    let mut line_nos = Vec::new();
    let mut line_accounts = Vec::new();
    let mut amounts = Vec::new();
    for (entry, p) in entry_ids.iter().zip(postings) {
        for (n, (account, amount)) in p.lines.iter().enumerate() {
            let id = ids.get(account).copied().ok_or_else(|| DomainError::Internal(format!("no ledger account for {account:?}")))?;
            line_entries.push(*entry);
            line_nos.push(i32::try_from(n + 1).unwrap_or(i32::MAX));
            line_accounts.push(id);
            amounts.push(*amount);
        }
    }
    sqlx::query(
        "INSERT INTO journal_lines (tenant_id, entry_id, line_no, account_id, amount_minor)
         SELECT $1, * FROM unnest($2::uuid[], $3::int[], $4::uuid[], $5::bigint[])",
    )
    .bind(tx.tenant().0)
    .bind(&line_entries)
    .bind(&line_nos)
    .bind(&line_accounts)
    .bind(&amounts)
    .execute(&mut **tx)
    .await?;
    Ok(entry_ids)
}

/// Above this many students a balance read sums the whole school's lines in one index scan
/// instead of looking each account up.
pub(crate) const WHOLE_SCHOOL: usize = 200;

/// What each student owes (receivable balance) and holds as credit, from the ledger. Two
/// single-table reads joined here: under RLS the planner cannot see how many rows one school
/// has and would nest a loop over the lines per account (the plans test catches that).
pub async fn positions(tx: &mut TenantTx, students: &[Uuid]) -> Result<HashMap<Uuid, (i64, i64)>, DomainError> {
    let accounts: Vec<(Uuid, Uuid, String)> = if students.len() > WHOLE_SCHOOL {
        sqlx::query_as("SELECT id, student_id, kind FROM ledger_accounts WHERE kind IN ('receivable', 'credit')")
            .fetch_all(&mut **tx)
            .await?
    } else {
        // Probed per student through the (tenant_id, student_id) index: a page's few students.
        sqlx::query_as(
            "SELECT a.id, a.student_id, a.kind FROM unnest($1::uuid[]) AS s (id)
               JOIN ledger_accounts a ON a.student_id = s.id AND a.kind IN ('receivable', 'credit')",
        )
        .bind(students)
        .fetch_all(&mut **tx)
        .await?
    };
    let ids: Vec<Uuid> = accounts.iter().map(|a| a.0).collect();
    let sums: Vec<(Uuid, i64)> = if students.len() > WHOLE_SCHOOL {
        sqlx::query_as("SELECT account_id, sum(amount_minor)::bigint FROM journal_lines GROUP BY account_id").fetch_all(&mut **tx).await?
    } else {
        sqlx::query_as("SELECT account_id, sum(amount_minor)::bigint FROM journal_lines WHERE account_id = ANY($1) GROUP BY account_id")
            .bind(&ids)
            .fetch_all(&mut **tx)
            .await?
    };
    let sums: HashMap<Uuid, i64> = sums.into_iter().collect();
    let mut out: HashMap<Uuid, (i64, i64)> = students.iter().map(|s| (*s, (0, 0))).collect();
    for (account, student, kind) in accounts {
        let sum = sums.get(&account).copied().unwrap_or(0);
        let e = out.entry(student).or_default();
        if kind == "receivable" {
            e.0 = sum;
        } else {
            e.1 = -sum;
        }
    }
    Ok(out)
}

/// Takes the school's money lock (its `finance_settings` row), held until the transaction
/// ends. Every change to money takes it before any student's lock ([`lock_students`] and
/// [`position_locked`] do): the receipt and note counters, the ledger's version and the audit
/// chain serialise a school's postings anyway, and a transaction that posts for several
/// students (an invoicing run, a batch of provider payments) holds those while it takes the
/// next student's lock. Taken in this one order, no two postings wait on each other in a
/// circle (which PostgreSQL would break after a second by failing one of them).
pub async fn lock_school(tx: &mut TenantTx) -> Result<(), DomainError> {
    let locked = sqlx::query("SELECT 1 FROM finance_settings FOR UPDATE").fetch_optional(&mut **tx).await?;
    if locked.is_none() {
        // A school's first money change: its settings row is made (and so locked) first.
        super::accounts::settings(tx).await?;
        sqlx::query("SELECT 1 FROM finance_settings FOR UPDATE").execute(&mut **tx).await?;
    }
    Ok(())
}

/// Takes the money locks of `students` (in one order, so two lockers never wait on each other),
/// after the school's ([`lock_school`]), held until the transaction ends. See [`position_locked`].
pub async fn lock_students(tx: &mut TenantTx, students: &[Uuid]) -> Result<(), DomainError> {
    lock_school(tx).await?;
    let mut sorted = students.to_vec();
    sorted.sort();
    sorted.dedup();
    sqlx::query("SELECT count(pg_advisory_xact_lock(hashtextextended(s::text, 9))) FROM unnest($1::uuid[]) WITH ORDINALITY AS x (s, n)")
        .bind(&sorted)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One student's (owed, credit), holding the student's money lock until the transaction
/// ends, so two payments or corrections for the same student are worked out one after the
/// other (each sees what the other posted). A transaction-scoped advisory lock keyed by the
/// student's id: no row needs an UPDATE grant for it, and ids are unique across schools.
pub async fn position_locked(tx: &mut TenantTx, student: Uuid) -> Result<(i64, i64), DomainError> {
    lock_school(tx).await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 9))").bind(student).execute(&mut **tx).await?;
    super::accounts::ensure(tx, &[student]).await?;
    Ok(positions(tx, &[student]).await?.get(&student).copied().unwrap_or_default())
}

/// A broken invariant found by [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub rule: &'static str,
    pub detail: String,
}

/// `kilele ledger check`: every invariant of the school's ledger.
/// - each entry balances and has at least two lines;
/// - every entry's source document exists, and every document has its entry;
/// - each student's receivable minus credit equals invoices + fines − payments − credit
///   notes − waivers − write-offs + refunds, all read from the documents;
/// - no student both owes and holds credit.
pub async fn check(tx: &mut TenantTx) -> Result<Vec<Breach>, DomainError> {
    let mut out = Vec::new();
    let unbalanced: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "SELECT e.id, count(l.line_no), coalesce(sum(l.amount_minor), 0)::bigint
           FROM journal_entries e LEFT JOIN journal_lines l ON l.tenant_id = e.tenant_id AND l.entry_id = e.id
          GROUP BY e.id HAVING count(l.line_no) < 2 OR coalesce(sum(l.amount_minor), 0) <> 0",
    )
    .fetch_all(&mut **tx)
    .await?;
    for (id, n, sum) in unbalanced {
        out.push(Breach { rule: "entry-balances", detail: format!("entry {id}: {n} lines summing to {sum}") });
    }
    // Each kind's source table.
    for (kind, table) in [
        (EntryKind::Invoice, "invoices"),
        (EntryKind::Payment, "payments"),
        (EntryKind::CreditNote, "credit_notes"),
        (EntryKind::Fine, "late_fines"),
        (EntryKind::Refund, "refunds"),
        (EntryKind::WriteOff, "write_offs"),
    ] {
        let orphans: Vec<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT e.id FROM journal_entries e WHERE e.kind = $1
                AND NOT EXISTS (SELECT 1 FROM {table} d WHERE d.tenant_id = e.tenant_id AND d.id = e.source_id AND d.student_id = e.student_id)"
        )))
        .bind(kind.code())
        .fetch_all(&mut **tx)
        .await?;
        for id in orphans {
            out.push(Breach { rule: "entry-has-source", detail: format!("{} entry {id} has no {table} row", kind.code()) });
        }
        let unposted: Vec<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT d.id FROM {table} d WHERE NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.tenant_id = d.tenant_id AND e.kind = $1 AND e.source_id = d.id)"
        )))
        .bind(kind.code())
        .fetch_all(&mut **tx)
        .await?;
        for id in unposted {
            out.push(Breach { rule: "source-is-posted", detail: format!("{table} {id} has no {} entry", kind.code()) });
        }
    }
    let waivers_orphan: Vec<Uuid> = sqlx::query_scalar(
        "SELECT e.id FROM journal_entries e WHERE e.kind = 'fine_waiver'
            AND NOT EXISTS (SELECT 1 FROM late_fines f WHERE f.tenant_id = e.tenant_id AND f.id = e.source_id AND f.waived_at IS NOT NULL)",
    )
    .fetch_all(&mut **tx)
    .await?;
    for id in waivers_orphan {
        out.push(Breach { rule: "entry-has-source", detail: format!("fine_waiver entry {id} has no waived fine") });
    }
    let applied_orphan: Vec<Uuid> = sqlx::query_scalar(
        "SELECT e.id FROM journal_entries e WHERE e.kind = 'credit_applied'
            AND NOT EXISTS (SELECT 1 FROM invoices d WHERE d.tenant_id = e.tenant_id AND d.id = e.source_id)
            AND NOT EXISTS (SELECT 1 FROM late_fines d WHERE d.tenant_id = e.tenant_id AND d.id = e.source_id)",
    )
    .fetch_all(&mut **tx)
    .await?;
    for id in applied_orphan {
        out.push(Breach { rule: "entry-has-source", detail: format!("credit_applied entry {id} has no invoice or fine") });
    }
    // Each entry's amounts match its document: what reaches the student's accounts.
    let mismatched: Vec<(Uuid, String, i64, i64)> = sqlx::query_as(
        "WITH moved AS (
            SELECT e.id, e.kind, e.source_id, coalesce(sum(l.amount_minor) FILTER (WHERE a.kind IN ('receivable', 'credit')), 0)::bigint AS student_side
              FROM journal_entries e
              JOIN journal_lines l ON l.tenant_id = e.tenant_id AND l.entry_id = e.id
              JOIN ledger_accounts a ON a.tenant_id = l.tenant_id AND a.id = l.account_id
             WHERE e.kind <> 'credit_applied'
             GROUP BY e.id, e.kind, e.source_id)
         SELECT m.id, m.kind, m.student_side, CASE m.kind
                  WHEN 'invoice' THEN (SELECT net_minor FROM invoices d WHERE d.id = m.source_id)
                  WHEN 'payment' THEN -(SELECT amount_minor FROM payments d WHERE d.id = m.source_id)
                  WHEN 'credit_note' THEN -(SELECT amount_minor FROM credit_notes d WHERE d.id = m.source_id)
                  WHEN 'fine' THEN (SELECT amount_minor FROM late_fines d WHERE d.id = m.source_id)
                  WHEN 'fine_waiver' THEN -(SELECT amount_minor FROM late_fines d WHERE d.id = m.source_id)
                  WHEN 'refund' THEN (SELECT amount_minor FROM refunds d WHERE d.id = m.source_id)
                  WHEN 'write_off' THEN -(SELECT amount_minor FROM write_offs d WHERE d.id = m.source_id)
                END::bigint AS document
           FROM moved m",
    )
    .fetch_all(&mut **tx)
    .await?;
    for (id, kind, moved, document) in mismatched {
        if moved != document {
            out.push(Breach {
                rule: "entry-matches-document",
                detail: format!("{kind} entry {id} moves {moved} on the student's accounts, its document says {document}"),
            });
        }
    }
    // The other side of each entry matches its document too: a payment's and a refund's money
    // at the document's channel, an invoice's income per item and its discount.
    let other_side: Vec<(Uuid, String)> = sqlx::query_as(
        "WITH lines AS (
            SELECT e.id, e.kind, e.source_id, a.kind AS account, a.channel, a.item_id, l.amount_minor
              FROM journal_entries e
              JOIN journal_lines l ON l.tenant_id = e.tenant_id AND l.entry_id = e.id
              JOIN ledger_accounts a ON a.tenant_id = l.tenant_id AND a.id = l.account_id
             WHERE e.kind IN ('payment', 'refund', 'invoice'))
         SELECT id, kind FROM (
            SELECT l.id, l.kind FROM lines l JOIN payments p ON p.id = l.source_id
             WHERE l.kind = 'payment' GROUP BY l.id, l.kind, p.channel, p.amount_minor
            HAVING coalesce(sum(l.amount_minor) FILTER (WHERE l.account = 'clearing' AND l.channel = p.channel), 0) <> p.amount_minor
                OR count(*) FILTER (WHERE l.account NOT IN ('clearing', 'receivable', 'credit')) > 0
                OR count(*) FILTER (WHERE l.account = 'clearing' AND l.channel <> p.channel) > 0
            UNION ALL
            SELECT l.id, l.kind FROM lines l JOIN refunds r ON r.id = l.source_id
             WHERE l.kind = 'refund' GROUP BY l.id, l.kind, r.channel, r.amount_minor
            HAVING coalesce(sum(l.amount_minor) FILTER (WHERE l.account = 'clearing' AND l.channel = r.channel), 0) <> -r.amount_minor
                OR count(*) FILTER (WHERE l.account = 'clearing' AND l.channel <> r.channel) > 0
            UNION ALL
            SELECT l.id, l.kind FROM lines l JOIN invoices i ON i.id = l.source_id
             WHERE l.kind = 'invoice' GROUP BY l.id, l.kind, i.discount_minor
            HAVING coalesce(sum(l.amount_minor) FILTER (WHERE l.account = 'discounts'), 0) <> i.discount_minor
            UNION ALL
            SELECT DISTINCT l.id, l.kind FROM lines l
              JOIN (SELECT invoice_id, item_id, sum(gross_minor) AS gross FROM invoice_lines GROUP BY 1, 2) il ON il.invoice_id = l.source_id
             WHERE l.kind = 'invoice'
               AND il.gross <> -coalesce((SELECT sum(x.amount_minor) FROM lines x WHERE x.id = l.id AND x.account = 'income' AND x.item_id = il.item_id), 0)
         ) bad",
    )
    .fetch_all(&mut **tx)
    .await?;
    for (id, kind) in other_side {
        out.push(Breach {
            rule: "entry-matches-document",
            detail: format!("{kind} entry {id}: its money or income lines differ from its document"),
        });
    }
    // An invoice is cancelled exactly when a cancelling credit note exists.
    let cancelled: Vec<Uuid> = sqlx::query_scalar(
        "SELECT i.id FROM invoices i
          WHERE i.cancelled <> EXISTS (SELECT 1 FROM credit_notes c WHERE c.tenant_id = i.tenant_id AND c.invoice_id = i.id AND c.cancels)",
    )
    .fetch_all(&mut **tx)
    .await?;
    for id in cancelled {
        out.push(Breach {
            rule: "cancelled-by-credit-note",
            detail: format!("invoice {id}: cancelled without its credit note, or the reverse"),
        });
    }
    // Receivable − credit per student = what the documents charge minus what they settle.
    let students: Vec<(Uuid, i64, i64, i64)> = sqlx::query_as(
        "WITH ledger AS (
            SELECT a.student_id,
                   coalesce(sum(l.amount_minor) FILTER (WHERE a.kind = 'receivable'), 0)::bigint AS receivable,
                   coalesce(-sum(l.amount_minor) FILTER (WHERE a.kind = 'credit'), 0)::bigint AS credit
              FROM ledger_accounts a JOIN journal_lines l ON l.tenant_id = a.tenant_id AND l.account_id = a.id
             WHERE a.kind IN ('receivable', 'credit') GROUP BY a.student_id),
         docs AS (
            SELECT student_id, sum(amount)::bigint AS owed FROM (
                SELECT student_id, net_minor AS amount FROM invoices
                UNION ALL SELECT student_id, amount_minor FROM late_fines
                UNION ALL SELECT student_id, -amount_minor FROM late_fines WHERE waived_at IS NOT NULL
                UNION ALL SELECT student_id, -amount_minor FROM payments
                UNION ALL SELECT student_id, -amount_minor FROM credit_notes
                UNION ALL SELECT student_id, amount_minor FROM refunds
                UNION ALL SELECT student_id, -amount_minor FROM write_offs) d
             GROUP BY student_id)
         SELECT coalesce(l.student_id, d.student_id), coalesce(l.receivable, 0), coalesce(l.credit, 0), coalesce(d.owed, 0)
           FROM ledger l FULL JOIN docs d ON d.student_id = l.student_id",
    )
    .fetch_all(&mut **tx)
    .await?;
    for (student, receivable, credit, owed) in students {
        if receivable - credit != owed {
            out.push(Breach {
                rule: "receivable-equals-documents",
                detail: format!("student {student}: receivable {receivable} − credit {credit} ≠ documents {owed}"),
            });
        }
        if receivable < 0 || credit < 0 || (receivable > 0 && credit > 0) {
            out.push(Breach {
                rule: "receivable-or-credit",
                detail: format!("student {student}: receivable {receivable}, credit {credit}"),
            });
        }
    }
    Ok(out)
}

/// How many entries and lines the school's ledger holds.
pub async fn size(tx: &mut TenantTx) -> Result<(i64, i64), DomainError> {
    Ok(sqlx::query_as("SELECT (SELECT count(*) FROM journal_entries), (SELECT count(*) FROM journal_lines)").fetch_one(&mut **tx).await?)
}
