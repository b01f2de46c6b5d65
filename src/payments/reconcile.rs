//! Bank statements kept and reconciled (migration 0028): a statement's lines against the
//! payments the bank notified for the same days, by the bank's transaction reference.

use super::statements::StatementLine;
use super::{Provider, RecLine, RecOutcome, Reconciliation, StatementSummary};
use crate::db::TenantTx;
use crate::identity::store::ChangedBy;
use crate::DomainError;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;
use uuid::Uuid;

/// Keeps a statement the bursar imported (its lines read and checked: [`super::statements::read`]),
/// audited; returns its id.
pub async fn save(
    tx: &mut TenantTx,
    bank: Provider,
    file_name: &str,
    lines: &[StatementLine],
    by: ChangedBy<'_>,
) -> Result<Uuid, DomainError> {
    let (Some(first), Some(last)) = (lines.iter().map(|l| l.value_date).min(), lines.iter().map(|l| l.value_date).max()) else {
        return Err(DomainError::Invalid(crate::ValidationError::new("file", "payments-statement-error-no-lines")));
    };
    // Each line is at most TZS 10 billion (`statements::read`), 5,000 of them: no overflow,
    // and checked anyway.
    let total = lines
        .iter()
        .try_fold(0i64, |sum, l| sum.checked_add(l.amount_minor))
        .ok_or_else(|| DomainError::Invalid(crate::ValidationError::new("file", "payments-statement-error-amount")))?;
    let importer = by.actor.id.ok_or_else(|| DomainError::Internal("a statement is imported by a user".into()))?;
    let file_name: String = file_name.chars().filter(|c| !c.is_control()).take(200).collect::<String>().trim().to_owned();
    let file_name = if file_name.is_empty() { "statement".to_owned() } else { file_name };
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO bank_statements (tenant_id, provider, file_name, first_day, last_day, lines, total_minor, imported_by, imported_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(tx.tenant().0)
    .bind(bank.code())
    .bind(&file_name)
    .bind(first)
    .bind(last)
    .bind(i32::try_from(lines.len()).unwrap_or(i32::MAX))
    .bind(total)
    .bind(importer)
    .bind(by.at)
    .fetch_one(&mut **tx)
    .await?;
    let mut line_no = Vec::with_capacity(lines.len());
    let mut reference = Vec::with_capacity(lines.len());
    let mut amount = Vec::with_capacity(lines.len());
    let mut date = Vec::with_capacity(lines.len());
    let mut narration = Vec::with_capacity(lines.len());
    for l in lines {
        line_no.push(i32::try_from(l.line).unwrap_or(i32::MAX));
        reference.push(l.transaction_id.clone());
        amount.push(l.amount_minor);
        date.push(l.value_date);
        narration.push(l.narration.clone());
    }
    sqlx::query(
        "INSERT INTO bank_statement_lines (tenant_id, statement_id, line_no, transaction_id, amount_minor, value_date, narration)
         SELECT $1, $2, * FROM unnest($3::int[], $4::text[], $5::bigint[], $6::date[], $7::text[])",
    )
    .bind(tx.tenant().0)
    .bind(id)
    .bind(&line_no)
    .bind(&reference)
    .bind(&amount)
    .bind(&date)
    .bind(&narration)
    .execute(&mut **tx)
    .await?;
    by.audit(
        tx,
        crate::audit::actions::BANK_STATEMENT_IMPORTED,
        &id.to_string(),
        serde_json::json!({ "provider": bank.code(), "file": file_name, "lines": lines.len(), "total_minor": total, "from": first, "to": last }),
    )
    .await?;
    Ok(id)
}

type SummaryRow = (Uuid, String, String, NaiveDate, NaiveDate, i32, i64, DateTime<Utc>);

fn summary(
    (id, provider, file_name, first_day, last_day, lines, total_minor, imported_at): SummaryRow,
) -> Result<StatementSummary, DomainError> {
    Ok(StatementSummary {
        id,
        provider: Provider::parse(&provider).ok_or_else(|| DomainError::Internal(format!("provider {provider}")))?,
        file_name,
        first_day,
        last_day,
        lines,
        total_minor,
        imported_at,
    })
}

/// The latest statements imported (20), newest first.
pub async fn latest(tx: &mut TenantTx) -> Result<Vec<StatementSummary>, DomainError> {
    let rows: Vec<SummaryRow> = sqlx::query_as(
        "SELECT id, provider, file_name, first_day, last_day, lines, total_minor, imported_at
           FROM bank_statements ORDER BY imported_at DESC, id LIMIT 20",
    )
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter().map(summary).collect()
}

/// Reconciles a statement: each of its lines against the bank's notification with the same
/// reference (matched, or another amount; missing here when none came), and each of the
/// bank's notifications paid on the statement's days that the statement does not show
/// (missing on the bank's side). Another school's statement is not found.
pub async fn reconcile(tx: &mut TenantTx, statement: Uuid) -> Result<Reconciliation, DomainError> {
    let row: Option<SummaryRow> = sqlx::query_as(
        "SELECT id, provider, file_name, first_day, last_day, lines, total_minor, imported_at FROM bank_statements WHERE id = $1",
    )
    .bind(statement)
    .fetch_optional(&mut **tx)
    .await?;
    let statement = summary(row.ok_or(DomainError::NotFound)?)?;
    let lines: Vec<(String, i64, NaiveDate)> = sqlx::query_as(
        "SELECT transaction_id, amount_minor, value_date FROM bank_statement_lines WHERE statement_id = $1 ORDER BY value_date, line_no",
    )
    .bind(statement.id)
    .fetch_all(&mut **tx)
    .await?;
    // The school's days as UTC instants: from the first day's midnight in East Africa Time to
    // the midnight after the last.
    let eat = chrono::Duration::hours(3);
    let from = statement.first_day.and_hms_opt(0, 0, 0).map(|t| t.and_utc() - eat);
    let to = statement.last_day.succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc() - eat);
    let (Some(from), Some(to)) = (from, to) else { return Err(DomainError::Internal("statement days out of range".into())) };
    let references: Vec<String> = lines.iter().map(|l| l.0.clone()).collect();
    // Two index reads (by reference, by day) rather than one OR the planner would scan for.
    let ours: Vec<(String, i64, String, DateTime<Utc>, String)> = sqlx::query_as(
        "SELECT transaction_id, amount_minor, status, paid_at, currency FROM provider_payments WHERE provider = $1 AND transaction_id = ANY($2)
         UNION
         SELECT transaction_id, amount_minor, status, paid_at, currency FROM provider_payments
          WHERE provider = $1 AND paid_at >= $3 AND paid_at < $4",
    )
    .bind(statement.provider.code())
    .bind(&references)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await?;
    let mut by_reference: HashMap<&str, &(String, i64, String, DateTime<Utc>, String)> = ours.iter().map(|o| (o.0.as_str(), o)).collect();
    // Slips the bursar recorded by hand under the bank's reference (never notified): the money
    // is accounted for, so the line is not "missing".
    let unnotified: Vec<String> = references.iter().filter(|r| !by_reference.contains_key(r.as_str())).cloned().collect();
    // A slip's reference is written upper-case; a wallet's receipt keeps its case.
    let by_hand: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
        "SELECT r.reference, sum(p.amount_minor)::bigint FROM unnest($2::text[]) AS r (reference)
           JOIN payments p ON p.channel = $1 AND upper(p.reference) = upper(r.reference) AND p.source <> 'provider'
          GROUP BY r.reference",
    )
    .bind(statement.provider.channel().code())
    .bind(&unnotified)
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .collect();
    let mut out = Vec::with_capacity(lines.len());
    for (reference, amount, date) in &lines {
        let line = match by_reference.remove(reference.as_str()) {
            Some((_, ours, status, _, currency)) => RecLine {
                outcome: if ours == amount && currency == "TZS" { RecOutcome::Matched } else { RecOutcome::AmountDiffers },
                transaction_id: reference.clone(),
                day: *date,
                statement_minor: Some(*amount),
                ours_minor: Some(*ours),
                our_status: Some(status.clone()),
            },
            None if by_hand.contains_key(reference) => {
                let ours = by_hand.get(reference).copied().unwrap_or_default();
                RecLine {
                    outcome: if ours == *amount { RecOutcome::Matched } else { RecOutcome::AmountDiffers },
                    transaction_id: reference.clone(),
                    day: *date,
                    statement_minor: Some(*amount),
                    ours_minor: Some(ours),
                    our_status: Some("recorded-by-hand".into()),
                }
            }
            None => RecLine {
                outcome: RecOutcome::MissingHere,
                transaction_id: reference.clone(),
                day: *date,
                statement_minor: Some(*amount),
                ours_minor: None,
                our_status: None,
            },
        };
        out.push(line);
    }
    let mut theirs: Vec<RecLine> = by_reference
        .into_values()
        .map(|(reference, ours, status, paid_at, _)| RecLine {
            outcome: RecOutcome::MissingThere,
            transaction_id: reference.clone(),
            day: crate::clock::school_date(*paid_at),
            statement_minor: None,
            ours_minor: Some(*ours),
            our_status: Some(status.clone()),
        })
        .collect();
    theirs.sort_by(|a, b| (a.day, &a.transaction_id).cmp(&(b.day, &b.transaction_id)));
    out.extend(theirs);
    Ok(Reconciliation { statement, lines: out })
}

/// What a statement line's narration quotes for the payment: the first control number in it
/// (twelve digits whose check digits hold: `SCHOOL FEES 100012345678`, `Acc. 100012345678`),
/// else the narration itself (an admission number, a marked invoice number). Matched from
/// there as a notification's reference is.
/// A phone number in international form (`255…`, twelve digits too) is passed over while
/// another candidate is there: one in 97 of them has check digits that hold by chance. Two
/// different control numbers (one slip for siblings) name nobody alone: the narration stands,
/// and the payment waits for the bursar to split it.
pub fn quoted_in(narration: &str) -> String {
    let mut candidates: Vec<String> = narration
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|run| crate::finance::control::ControlNumber::parse(run).ok())
        .map(|n| n.as_str().to_owned())
        .collect();
    candidates.sort();
    candidates.dedup();
    let not_phones: Vec<&String> = candidates.iter().filter(|n| !n.starts_with("255")).collect();
    match (&not_phones[..], &candidates[..]) {
        ([one], _) => (*one).clone(),
        ([], [one]) => one.clone(),
        _ => narration.trim().to_owned(),
    }
}

/// The bursar takes into Kilele a statement line the provider never notified (the money is on
/// the statement: the provider took it for the school): kept in the inbox as a delivery of kind
/// `statement`, then taken once like a notification (`db::intake`): matched by what its
/// narration quotes ([`quoted_in`]) and posted, or kept in suspense for the bursar to assign.
/// Refused when the provider's transaction is here already (notified, or taken before), or
/// the bursar recorded the slip by hand. Audited as the bursar; the posting as the provider.
pub async fn take_line(
    tx: &mut TenantTx,
    pii: &crate::audit::pii::KeyRing,
    statement: Uuid,
    transaction_id: &str,
    by: ChangedBy<'_>,
) -> Result<super::db::Intake, DomainError> {
    let line: Option<(String, i64, NaiveDate, String)> = sqlx::query_as(
        "SELECT s.provider, l.amount_minor, l.value_date, l.narration
           FROM bank_statement_lines l JOIN bank_statements s ON s.tenant_id = l.tenant_id AND s.id = l.statement_id
          WHERE l.statement_id = $1 AND l.transaction_id = $2",
    )
    .bind(statement)
    .bind(transaction_id)
    .fetch_optional(&mut **tx)
    .await?;
    let (provider, amount_minor, value_date, narration) = line.ok_or(DomainError::NotFound)?;
    let provider = Provider::parse(&provider).ok_or_else(|| DomainError::Internal(format!("provider {provider}")))?;
    // The school's money lock first (as every money change): two bursars taking the same line
    // at once are taken one after the other, and the second finds the first.
    crate::finance::db::ledger::lock_school(tx).await?;
    let here: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM provider_payments WHERE provider = $1 AND transaction_id = $2)")
        .bind(provider.code())
        .bind(transaction_id)
        .fetch_one(&mut **tx)
        .await?;
    if here {
        return Err(DomainError::conflict("line", "payments-statement-error-already-here"));
    }
    let by_hand: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM payments WHERE channel = $1 AND upper(reference) = upper($2) AND source <> 'provider')",
    )
    .bind(provider.channel().code())
    .bind(transaction_id)
    .fetch_one(&mut **tx)
    .await?;
    if by_hand {
        return Err(DomainError::conflict("line", "payments-statement-error-recorded-by-hand"));
    }
    // Paid at noon of the value day in East Africa Time (the statement gives no hour).
    let paid_at =
        value_date.and_hms_opt(9, 0, 0).map(|t| t.and_utc()).ok_or_else(|| DomainError::Internal("value date out of range".into()))?;
    let event = super::PaymentEvent {
        provider,
        transaction_id: transaction_id.to_owned(),
        reference: quoted_in(&narration),
        payer_name: None,
        payer_phone: None,
        amount_minor,
        currency: "TZS".into(),
        paid_at,
    };
    let body = serde_json::json!({
        "statement": statement, "transaction_id": transaction_id, "amount_minor": amount_minor, "value_date": value_date,
        "narration": narration,
    })
    .to_string();
    let delivery = super::db::Delivery {
        provider,
        kind: "statement",
        received_at: by.at,
        source_ip: None,
        headers: serde_json::json!({ "source": "statement", "taken_by": by.actor.id }),
        body: body.as_bytes(),
    };
    let inbox = super::db::receive(tx, pii, &delivery, body.len(), ("received", None), Some(transaction_id)).await?;
    let taken = super::db::intake(tx, pii, &event, inbox, by.at).await?;
    let (outcome, reason) = taken.outcome();
    super::db::decided(tx, inbox, outcome, reason, Some(transaction_id)).await?;
    by.audit(
        tx,
        crate::audit::actions::STATEMENT_LINE_TAKEN,
        &statement.to_string(),
        serde_json::json!({
            "provider": provider.code(), "transaction_id": transaction_id, "amount_minor": amount_minor, "outcome": outcome,
            "reason": reason,
        }),
    )
    .await?;
    Ok(taken)
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// The reconciliation as the bursar downloads it (CSV, UTF-8 with a byte-order mark so a
/// spreadsheet reads it as such), its words in the reader's language (`words`: a message key
/// to its text).
pub fn report_csv(r: &Reconciliation, words: impl Fn(&str) -> String) -> Vec<u8> {
    let money = |m: Option<i64>| m.map(super::format_amount).unwrap_or_default();
    let header =
        ["payments-outcome", "finance-paid-on", "payments-quoted", "payments-rec-statement", "payments-rec-notified", "payments-rec-here"];
    let mut out = String::from("\u{feff}");
    out.push_str(&header.iter().map(|k| field(&words(k))).collect::<Vec<_>>().join(","));
    out.push('\n');
    for l in &r.lines {
        // References are slip references (letters, digits, - / . space): no quoting needed;
        // one starting with `-` is written after a `'` so a spreadsheet shows it as text.
        let reference = match l.transaction_id.starts_with(crate::academic::students::FORMULA_STARTS) {
            true => format!("'{}", l.transaction_id),
            false => l.transaction_id.clone(),
        };
        out.push_str(&format!(
            "{},{},{},{},{},{}\n",
            field(&words(&format!("payments-rec-{}", l.outcome.code()))),
            l.day,
            reference,
            money(l.statement_minor),
            money(l.ours_minor),
            l.our_status.as_deref().map(|s| field(&words(&format!("payments-rec-status-{s}")))).unwrap_or_default()
        ));
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::quoted_in;
    use crate::finance::control::ControlNumber;

    #[test]
    fn a_narration_quotes_the_control_number_in_it() {
        let ours = ControlNumber::issue("1001", 2345).unwrap();
        let n = ours.as_str();
        assert_eq!(quoted_in(&format!("SCHOOL FEES {n}")), n);
        assert_eq!(quoted_in(&format!("Pay Bill from 255712345670 - Acc. {n}")), n, "the phone is passed over");
        // Twelve digits whose check digits fail are not a control number: the narration stands.
        let mut typo = n.to_owned().into_bytes();
        typo[11] = if typo[11] == b'9' { b'0' } else { typo[11] + 1 };
        let typo = String::from_utf8(typo).unwrap();
        assert_eq!(quoted_in(&format!("FEES {typo}")), format!("FEES {typo}"));
        assert_eq!(quoted_in("  KHSS/2024/017 "), "KHSS/2024/017");
        let sibling = ControlNumber::issue("1001", 2346).unwrap();
        let both = format!("FEES {n} {}", sibling.as_str());
        assert_eq!(quoted_in(&both), both, "two children: for the bursar to split");
        assert_eq!(quoted_in(&format!("FEES {n} again {n}")), n, "the same number twice is one");
    }
}
