//! Fee structures (what a class pays for a term, and when), discounts, optional items.

use super::{internal, term_label};
use crate::db::TenantTx;
use crate::finance::billing::{DiscountValue, FeePlan};
use crate::finance::views::{FeeClass, FeeLineView, FeeStructureView, FeesOverview, InstalmentView};
use crate::identity::store::ChangedBy;
use crate::{DomainError, ValidationError};
use chrono::NaiveDate;
use sqlx::Row;
use uuid::Uuid;

/// The fees page: the current term, its classes, structures and invoicing runs.
pub async fn overview(tx: &mut TenantTx) -> Result<FeesOverview, DomainError> {
    let settings = super::accounts::settings(tx).await?;
    let term: Option<(Uuid, i32, i32)> = sqlx::query_as(
        "SELECT t.id, y.year, t.number FROM terms t JOIN academic_years y ON y.tenant_id = t.tenant_id AND y.id = t.academic_year_id
          WHERE t.is_current",
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some((term_id, year, number)) = term else {
        return Ok(FeesOverview {
            term_id: None,
            term_label: String::new(),
            classes: Vec::new(),
            structures: Vec::new(),
            runs: Vec::new(),
            settings,
        });
    };
    let classes = classes(tx).await?;
    let structures = structures(tx, term_id).await?;
    let runs = super::invoicing::runs(tx, term_id).await?;
    Ok(FeesOverview { term_id: Some(term_id), term_label: term_label(year, number), classes, structures, runs, settings })
}

async fn classes(tx: &mut TenantTx) -> Result<Vec<FeeClass>, DomainError> {
    let levels = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT l.id, l.name,
                (SELECT count(*) FROM streams s JOIN students st ON st.tenant_id = s.tenant_id AND st.stream_id = s.id AND st.status = 'active'
                  WHERE s.tenant_id = l.tenant_id AND s.level_id = l.id) AS students
           FROM levels l ORDER BY {}",
        crate::academic::classes::db::LEVEL_ORDER
    )))
    .fetch_all(&mut **tx)
    .await?;
    let streams: Vec<(Uuid, Uuid, String)> =
        sqlx::query_as("SELECT id, level_id, name FROM streams ORDER BY name").fetch_all(&mut **tx).await?;
    let mut out = Vec::with_capacity(levels.len());
    for l in levels {
        let id: Uuid = l.try_get("id")?;
        out.push(FeeClass {
            level_id: id,
            level_name: l.try_get("name")?,
            streams: streams.iter().filter(|s| s.1 == id).map(|s| (s.0, s.2.clone())).collect(),
            students: u32::try_from(l.try_get::<i64, _>("students")?).unwrap_or(0),
        });
    }
    Ok(out)
}

/// The term's structures, in teaching order.
pub async fn structures(tx: &mut TenantTx, term: Uuid) -> Result<Vec<FeeStructureView>, DomainError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT f.id, f.level_id, f.stream_id, l.name AS level_name, s.name AS stream_name,
                (SELECT count(*) FROM invoices i WHERE i.tenant_id = f.tenant_id AND i.structure_id = f.id AND NOT i.cancelled) AS invoiced
           FROM fee_structures f
           JOIN levels l ON l.tenant_id = f.tenant_id AND l.id = f.level_id
           LEFT JOIN streams s ON s.tenant_id = f.tenant_id AND s.id = f.stream_id
          WHERE f.term_id = $1
          ORDER BY {}, s.name NULLS FIRST",
        crate::academic::classes::db::LEVEL_ORDER
    )))
    .bind(term)
    .fetch_all(&mut **tx)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
    let lines = sqlx::query(
        "SELECT fi.structure_id, fi.item_id, i.name, fi.amount_minor, fi.compulsory
           FROM fee_structure_items fi JOIN fee_items i ON i.tenant_id = fi.tenant_id AND i.id = fi.item_id
          WHERE fi.structure_id = ANY($1) ORDER BY fi.structure_id, fi.position",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    let instalments: Vec<(Uuid, i32, i32, NaiveDate)> = sqlx::query_as(
        "SELECT structure_id, seq, share_bp, due_on FROM fee_instalments WHERE structure_id = ANY($1) ORDER BY structure_id, seq",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: Uuid = r.try_get("id")?;
        let level_name: String = r.try_get("level_name")?;
        let stream_name: Option<String> = r.try_get("stream_name")?;
        let mut view_lines = Vec::new();
        for l in lines.iter().filter(|l| l.try_get::<Uuid, _>("structure_id").ok() == Some(id)) {
            view_lines.push(FeeLineView {
                item: l.try_get("item_id")?,
                name: l.try_get("name")?,
                amount_minor: l.try_get("amount_minor")?,
                compulsory: l.try_get("compulsory")?,
            });
        }
        out.push(FeeStructureView {
            id,
            level_id: r.try_get("level_id")?,
            stream_id: r.try_get("stream_id")?,
            class_name: stream_name.map_or_else(|| level_name.clone(), |s| format!("{level_name} {s}")),
            lines: view_lines,
            instalments: instalments
                .iter()
                .filter(|i| i.0 == id)
                .map(|i| InstalmentView { seq: u32::try_from(i.1).unwrap_or(0), share_bp: u32::try_from(i.2).unwrap_or(0), due_on: i.3 })
                .collect(),
            invoiced: u32::try_from(r.try_get::<i64, _>("invoiced")?).unwrap_or(0),
        });
    }
    Ok(out)
}

/// Saves the fee structure of a class (or one stream of it) for a term, replacing the one
/// there was. Refused once anyone was invoiced with it (409: cancel those invoices with a
/// credit note first), so an invoice always shows what its structure said.
pub async fn save_structure(
    tx: &mut TenantTx,
    term: Uuid,
    level: Uuid,
    stream: Option<Uuid>,
    plan: &FeePlan,
    by: ChangedBy<'_>,
) -> Result<Uuid, DomainError> {
    // The class and stream exist in this school (RLS: another school's ids are not found).
    let level_ok: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM levels WHERE id = $1)
            AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM streams WHERE id = $2 AND level_id = $1))
            AND EXISTS (SELECT 1 FROM terms WHERE id = $3)",
    )
    .bind(level)
    .bind(stream)
    .bind(term)
    .fetch_one(&mut **tx)
    .await?;
    if !level_ok {
        return Err(DomainError::NotFound);
    }
    let existing: Option<(Uuid, i64)> = sqlx::query_as(
        "SELECT f.id, (SELECT count(*) FROM invoices i WHERE i.tenant_id = f.tenant_id AND i.structure_id = f.id AND NOT i.cancelled)
           FROM fee_structures f WHERE f.term_id = $1 AND f.level_id = $2 AND f.stream_id IS NOT DISTINCT FROM $3 FOR UPDATE",
    )
    .bind(term)
    .bind(level)
    .bind(stream)
    .fetch_optional(&mut **tx)
    .await?;
    if existing.is_some_and(|(_, invoiced)| invoiced > 0) {
        return Err(DomainError::conflict("items", "finance-error-structure-invoiced"));
    }
    let id = match existing {
        Some((id, _)) => {
            sqlx::query("DELETE FROM fee_structure_items WHERE structure_id = $1").bind(id).execute(&mut **tx).await?;
            sqlx::query("DELETE FROM fee_instalments WHERE structure_id = $1").bind(id).execute(&mut **tx).await?;
            id
        }
        None => sqlx::query_scalar(
            "INSERT INTO fee_structures (tenant_id, term_id, level_id, stream_id, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(tx.tenant().0)
        .bind(term)
        .bind(level)
        .bind(stream)
        .bind(by.actor.id)
        .bind(by.at)
        .fetch_one(&mut **tx)
        .await
        .map_err(crate::db::map_constraint)?,
    };
    let names: Vec<&str> = plan.lines.iter().map(|l| l.name.as_str()).collect();
    let items = item_ids(tx, &names).await?;
    let positions: Vec<i32> = (0..plan.lines.len()).map(|i| i32::try_from(i).unwrap_or(i32::MAX)).collect();
    let amounts: Vec<i64> = plan.lines.iter().map(|l| l.amount_minor).collect();
    let compulsory: Vec<bool> = plan.lines.iter().map(|l| l.compulsory).collect();
    sqlx::query(
        "INSERT INTO fee_structure_items (tenant_id, structure_id, item_id, position, amount_minor, compulsory)
         SELECT $1, $2, * FROM unnest($3::uuid[], $4::int[], $5::bigint[], $6::bool[])",
    )
    .bind(tx.tenant().0)
    .bind(id)
    .bind(&items)
    .bind(&positions)
    .bind(&amounts)
    .bind(&compulsory)
    .execute(&mut **tx)
    .await?;
    let seqs: Vec<i32> = (1..=plan.instalments.len()).map(|i| i32::try_from(i).unwrap_or(i32::MAX)).collect();
    let shares: Vec<i32> = plan.instalments.iter().map(|i| i32::try_from(i.share_bp).unwrap_or(0)).collect();
    let dues: Vec<NaiveDate> = plan.instalments.iter().map(|i| i.due_on).collect();
    sqlx::query(
        "INSERT INTO fee_instalments (tenant_id, structure_id, seq, share_bp, due_on)
         SELECT $1, $2, * FROM unnest($3::int[], $4::int[], $5::date[])",
    )
    .bind(tx.tenant().0)
    .bind(id)
    .bind(&seqs)
    .bind(&shares)
    .bind(&dues)
    .execute(&mut **tx)
    .await?;
    by.audit(
        tx,
        crate::audit::actions::FEE_STRUCTURE_SAVED,
        &id.to_string(),
        serde_json::json!({ "term": term, "level": level, "stream": stream, "plan": plan, "replaced": existing.is_some() }),
    )
    .await?;
    Ok(id)
}

/// The ids of the school's fee items with these names (made when new; matched ignoring case).
async fn item_ids(tx: &mut TenantTx, names: &[&str]) -> Result<Vec<Uuid>, DomainError> {
    sqlx::query("INSERT INTO fee_items (tenant_id, name) SELECT $1, n FROM unnest($2::text[]) AS n ON CONFLICT DO NOTHING")
        .bind(tx.tenant().0)
        .bind(names)
        .execute(&mut **tx)
        .await?;
    let found: Vec<(String, Uuid)> =
        sqlx::query_as("SELECT lower(name), id FROM fee_items WHERE lower(name) = ANY(SELECT lower(n) FROM unnest($1::text[]) AS n)")
            .bind(names)
            .fetch_all(&mut **tx)
            .await?;
    names
        .iter()
        .map(|n| {
            found
                .iter()
                .find(|(l, _)| *l == n.to_lowercase())
                .map(|(_, id)| *id)
                .ok_or_else(|| internal(format!("fee item {n} not stored")))
        })
        .collect()
}

/// A discount or waiver as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DiscountForm {
    pub kind: String,
    /// Empty: the whole invoice.
    pub item: String,
    pub percent: bool,
    pub value: String,
    pub reason: String,
}

const DISCOUNT_KINDS: [&str; 4] = ["staff_child", "bursary", "scholarship", "other"];

/// Grants a student a discount for a term (applied when the term is invoiced), with a reason;
/// the person granting it is its approver. Audited.
pub async fn grant_discount(
    tx: &mut TenantTx,
    student: Uuid,
    term: Uuid,
    form: &DiscountForm,
    by: ChangedBy<'_>,
) -> Result<Uuid, DomainError> {
    let mut errors = Vec::new();
    if !DISCOUNT_KINDS.contains(&form.kind.as_str()) {
        errors.push(ValidationError::new("kind", "error-choose-one"));
    }
    let value = DiscountValue::parse(&form.value, form.percent).map_err(|e| errors.push(e)).ok();
    let reason = form.reason.trim();
    if reason.chars().count() < 3 || reason.chars().count() > 500 {
        errors.push(ValidationError::new("reason", "finance-error-reason"));
    }
    let item = if form.item.trim().is_empty() {
        None
    } else {
        match Uuid::parse_str(form.item.trim()) {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(ValidationError::new("item", "error-choose-one"));
                None
            }
        }
    };
    let Some(value) = value.filter(|_| errors.is_empty()) else {
        return Err(DomainError::InvalidFields(errors));
    };
    let known: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM students WHERE id = $1) AND EXISTS (SELECT 1 FROM terms WHERE id = $2)
            AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM fee_items WHERE id = $3))",
    )
    .bind(student)
    .bind(term)
    .bind(item)
    .fetch_one(&mut **tx)
    .await?;
    if !known {
        return Err(DomainError::NotFound);
    }
    already_invoiced(tx, student, term).await?;
    let (percent_bp, amount) = match value {
        DiscountValue::Percent(bp) => (Some(i32::try_from(bp).unwrap_or(0)), None),
        DiscountValue::Amount(a) => (None, Some(a)),
    };
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO fee_discounts (tenant_id, student_id, term_id, kind, item_id, percent_bp, amount_minor, reason, approved_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(tx.tenant().0)
    .bind(student)
    .bind(term)
    .bind(&form.kind)
    .bind(item)
    .bind(percent_bp)
    .bind(amount)
    .bind(reason)
    .bind(by.actor.id)
    .bind(by.at)
    .fetch_one(&mut **tx)
    .await?;
    by.audit(
        tx,
        crate::audit::actions::FEE_DISCOUNT_GRANTED,
        &student.to_string(),
        serde_json::json!({ "discount": id, "term": term, "kind": form.kind, "item": item, "percent_bp": percent_bp, "amount_minor": amount, "reason": reason }),
    )
    .await?;
    Ok(id)
}

/// Sets which optional items (transport, meals…) a student takes in a term. Audited.
pub async fn set_options(tx: &mut TenantTx, student: Uuid, term: Uuid, items: &[Uuid], by: ChangedBy<'_>) -> Result<(), DomainError> {
    let known: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM students WHERE id = $1) AND EXISTS (SELECT 1 FROM terms WHERE id = $2)
            AND (SELECT count(*) FROM fee_items WHERE id = ANY($3)) = cardinality($3)",
    )
    .bind(student)
    .bind(term)
    .bind(items)
    .fetch_one(&mut **tx)
    .await?;
    if !known {
        return Err(DomainError::NotFound);
    }
    already_invoiced(tx, student, term).await?;
    sqlx::query("DELETE FROM student_fee_options WHERE student_id = $1 AND term_id = $2")
        .bind(student)
        .bind(term)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO student_fee_options (tenant_id, student_id, term_id, item_id) SELECT $1, $2, $3, i FROM unnest($4::uuid[]) AS i ON CONFLICT DO NOTHING",
    )
    .bind(tx.tenant().0)
    .bind(student)
    .bind(term)
    .bind(items)
    .execute(&mut **tx)
    .await?;
    by.audit(tx, crate::audit::actions::FEE_OPTIONS_SET, &student.to_string(), serde_json::json!({ "term": term, "items": items })).await?;
    Ok(())
}

/// The school's current term (fees are set, discounted and invoiced for it); 409 without one.
pub async fn current_term(tx: &mut TenantTx) -> Result<Uuid, DomainError> {
    let term: Option<Uuid> = sqlx::query_scalar("SELECT id FROM terms WHERE is_current").fetch_optional(&mut **tx).await?;
    term.ok_or_else(|| DomainError::conflict("term", "finance-error-no-current-term"))
}

/// The school's classes (levels), for billing every one of them.
pub async fn level_ids(tx: &mut TenantTx) -> Result<Vec<Uuid>, DomainError> {
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT l.id FROM levels l ORDER BY {}", crate::academic::classes::db::LEVEL_ORDER)))
        .fetch_all(&mut **tx)
        .await?)
}

/// 409 when the student's invoice for the term exists: a discount or an optional item decided
/// now would change nothing on it (silently); a credit note is the way.
async fn already_invoiced(tx: &mut TenantTx, student: Uuid, term: Uuid) -> Result<(), DomainError> {
    let billed: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM invoices WHERE student_id = $1 AND term_id = $2 AND NOT cancelled)")
            .bind(student)
            .bind(term)
            .fetch_one(&mut **tx)
            .await?;
    if billed {
        Err(DomainError::conflict("student", "finance-error-already-invoiced"))
    } else {
        Ok(())
    }
}
