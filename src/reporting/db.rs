//! Report-card batches and cards in the database. The web process asks for batches, cancels
//! them and serves the files (as `kilele_app`); the worker reads what a card prints and
//! records what it made (as `kilele_worker`). Both through a school's transaction (RLS).

use super::remarks::{CardRemarks, RemarksForm, RemarksSheet, RemarksSheetRow};
use super::{BatchStatus, BatchView, CardData, CardFailure, CardLink, CardsOverview, PrintableClass, Verified, VerifyCode};
use crate::audit::actions;
use crate::db::TenantTx;
use crate::identity::store::ChangedBy;
use crate::results::db::PortalReader;
use crate::results::published::PublishedResult;
use crate::{DomainError, Language, ValidationError};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::{PgPool, Row};
use std::collections::BTreeMap;
use uuid::Uuid;

fn internal(e: impl std::fmt::Display) -> DomainError {
    DomainError::Internal(e.to_string())
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// The current term's classes with published results, and the term's batches.
pub async fn overview(tx: &mut TenantTx) -> Result<CardsOverview, DomainError> {
    let heading: Option<(Option<String>, Option<String>, bool)> =
        sqlx::query_as("SELECT motto, postal_address, logo_key IS NOT NULL FROM school_settings").fetch_optional(&mut **tx).await?;
    let (motto, address, has_logo) = heading.map(|(m, a, l)| (m.unwrap_or_default(), a.unwrap_or_default(), l)).unwrap_or_default();
    let term = sqlx::query(
        "SELECT t.id, y.year, t.number FROM terms t JOIN academic_years y ON y.tenant_id = t.tenant_id AND y.id = t.academic_year_id
          WHERE t.is_current",
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(term) = term else {
        return Ok(CardsOverview {
            term_id: None,
            term_label: String::new(),
            motto,
            address,
            has_logo,
            classes: Vec::new(),
            batches: Vec::new(),
        });
    };
    let term_id: Uuid = term.try_get("id")?;
    let term_label = format!("{} T{}", term.try_get::<i32, _>("year")?, term.try_get::<i32, _>("number")?);
    // Students per class as published (the result keeps its stream's name), counted in one
    // pass over the term's published results: no lookup of each student.
    let counts: Vec<(Uuid, String, i64)> = sqlx::query_as(
        "SELECT rp.level_id, pr.result->>'class_name', count(*)
           FROM result_publications rp
           JOIN published_results pr ON pr.tenant_id = rp.tenant_id AND pr.publication_id = rp.id
          WHERE rp.term_id = $1
          GROUP BY 1, 2",
    )
    .bind(term_id)
    .fetch_all(&mut **tx)
    .await?;
    let rows = sqlx::query(
        "SELECT l.id AS level_id, l.name AS level_name, s.id AS stream_id, s.name AS stream_name
           FROM result_publications rp
           JOIN levels l ON l.tenant_id = rp.tenant_id AND l.id = rp.level_id
           JOIN streams s ON s.tenant_id = l.tenant_id AND s.level_id = l.id
          WHERE rp.term_id = $1
          ORDER BY l.ordinal, s.name",
    )
    .bind(term_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut classes: Vec<PrintableClass> = Vec::new();
    for r in rows {
        let level_id: Uuid = r.try_get("level_id")?;
        let level_name: String = r.try_get("level_name")?;
        let stream: String = r.try_get("stream_name")?;
        let name = crate::academic::class_name(&level_name, &stream);
        let students = counts.iter().find(|(l, c, _)| *l == level_id && *c == name).map_or(0, |(.., n)| u32::try_from(*n).unwrap_or(0));
        let entry = match classes.iter_mut().find(|c| c.level_id == level_id) {
            Some(c) => c,
            None => {
                classes.push(PrintableClass { level_id, level_name: level_name.clone(), streams: Vec::new(), students: 0 });
                let last = classes.len() - 1;
                &mut classes[last]
            }
        };
        entry.streams.push((r.try_get("stream_id")?, name));
        entry.students += students;
    }
    let batches = batches(tx, Some(term_id), None).await?;
    Ok(CardsOverview { term_id: Some(term_id), term_label, motto, address, has_logo, classes, batches })
}

/// Batches, newest first: of a term, or one batch.
async fn batches(tx: &mut TenantTx, term: Option<Uuid>, batch: Option<Uuid>) -> Result<Vec<BatchView>, DomainError> {
    let rows = sqlx::query(
        "SELECT b.id, b.status, b.total, b.done, b.failed, b.requested_at, b.finished_at, b.bundle_key IS NOT NULL AS bundle_ready,
                y.year, t.number, l.name AS level_name, s.name AS stream_name, u.display_name AS requested_by
           FROM report_card_batches b
           JOIN terms t ON t.tenant_id = b.tenant_id AND t.id = b.term_id
           JOIN academic_years y ON y.tenant_id = t.tenant_id AND y.id = t.academic_year_id
           JOIN levels l ON l.tenant_id = b.tenant_id AND l.id = b.level_id
           LEFT JOIN streams s ON s.tenant_id = b.tenant_id AND s.id = b.stream_id
           JOIN users u ON u.tenant_id = b.tenant_id AND u.id = b.requested_by
          WHERE ($1::uuid IS NULL OR b.term_id = $1) AND ($2::uuid IS NULL OR b.id = $2)
          ORDER BY b.requested_at DESC
          LIMIT 50",
    )
    .bind(term)
    .bind(batch)
    .fetch_all(&mut **tx)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: Uuid = r.try_get("id")?;
        let level: String = r.try_get("level_name")?;
        let stream: Option<String> = r.try_get("stream_name")?;
        let status: String = r.try_get("status")?;
        out.push(BatchView {
            id,
            term_label: format!("{} T{}", r.try_get::<i32, _>("year")?, r.try_get::<i32, _>("number")?),
            class_name: match stream {
                Some(s) => crate::academic::class_name(&level, &s),
                None => level,
            },
            status: BatchStatus::parse(&status).ok_or_else(|| internal(format!("batch status {status}")))?,
            total: count(r.try_get("total")?),
            done: count(r.try_get("done")?),
            failed: count(r.try_get("failed")?),
            requested_by: r.try_get("requested_by")?,
            requested_at: r.try_get("requested_at")?,
            finished_at: r.try_get("finished_at")?,
            bundle_ready: r.try_get("bundle_ready")?,
            failures: Vec::new(),
        });
    }
    Ok(out)
}

/// One batch with its failures (`NotFound`: not this school's).
pub async fn batch_view(tx: &mut TenantTx, batch: Uuid) -> Result<BatchView, DomainError> {
    let mut view = batches(tx, None, Some(batch)).await?.pop().ok_or(DomainError::NotFound)?;
    view.failures = sqlx::query(
        "SELECT concat_ws(' ', s.first_name, s.last_name) AS student, f.reason
           FROM report_card_failures f JOIN students s ON s.tenant_id = f.tenant_id AND s.id = f.student_id
          WHERE f.batch_id = $1 ORDER BY s.last_name, s.first_name",
    )
    .bind(batch)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| Ok(CardFailure { student: r.try_get("student")?, reason: r.try_get("reason")? }))
    .collect::<Result<_, sqlx::Error>>()?;
    Ok(view)
}

/// Asks for the cards of a class (`stream`: `None`) or one of its streams for a term whose
/// results are published: a batch and its job, in the caller's transaction, audited.
/// Refused while another batch of the same class and stream is still open (409), for a class
/// not published (409), a stream of another class (422) or no student (422).
pub async fn request_batch(
    tx: &mut TenantTx,
    pii: &crate::audit::pii::KeyRing,
    term: Uuid,
    level: Uuid,
    stream: Option<Uuid>,
    by: ChangedBy<'_>,
) -> Result<Uuid, DomainError> {
    let tenant = tx.tenant();
    let level_name: String = sqlx::query_scalar("SELECT name FROM levels WHERE id = $1")
        .bind(level)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(DomainError::NotFound)?;
    let term_known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM terms WHERE id = $1)").bind(term).fetch_one(&mut **tx).await?;
    if !term_known {
        return Err(DomainError::NotFound);
    }
    if let Some(stream) = stream {
        let of_level: Option<Uuid> =
            sqlx::query_scalar("SELECT level_id FROM streams WHERE id = $1").bind(stream).fetch_optional(&mut **tx).await?;
        match of_level {
            None => return Err(DomainError::NotFound),
            Some(l) if l != level => return Err(ValidationError::new("stream", "cards-error-stream-of-other-class").into()),
            Some(_) => {}
        }
    }
    // One request at a time per class and stream: serialised on the class's term.
    crate::results::db::lock_setup(tx, term, level, crate::results::db::SetupLock::Exclusive).await?;
    let published: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM result_publications WHERE term_id = $1 AND level_id = $2)")
        .bind(term)
        .bind(level)
        .fetch_one(&mut **tx)
        .await?;
    if !published {
        return Err(DomainError::Conflict { field: "level".into(), message: "cards-error-not-published".into() });
    }
    let open: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM report_card_batches
                         WHERE term_id = $1 AND level_id = $2 AND stream_id IS NOT DISTINCT FROM $3 AND status IN ('queued', 'running'))",
    )
    .bind(term)
    .bind(level)
    .bind(stream)
    .fetch_one(&mut **tx)
    .await?;
    if open {
        return Err(DomainError::Conflict { field: "level".into(), message: "cards-error-batch-open".into() });
    }
    let total = students_in_scope(tx, term, level, stream).await?.len();
    if total == 0 {
        return Err(ValidationError::new("level", "cards-error-no-students").into());
    }
    let total = i32::try_from(total).map_err(internal)?;
    let batch: Uuid = sqlx::query_scalar(
        "INSERT INTO report_card_batches (tenant_id, term_id, level_id, stream_id, requested_by, requested_at, total)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(tenant.0)
    .bind(term)
    .bind(level)
    .bind(stream)
    .bind(by.actor.id.ok_or(DomainError::Forbidden)?)
    .bind(by.at)
    .bind(total)
    .fetch_one(&mut **tx)
    .await?;
    crate::jobs::enqueue(tx, pii, &crate::jobs::Job::ReportCards { batch }).await?;
    by.audit(
        tx,
        actions::REPORT_CARDS_REQUESTED,
        &batch.to_string(),
        json!({ "term": term, "level": level, "class": level_name, "stream": stream, "students": total }),
    )
    .await?;
    Ok(batch)
}

/// The worker gave up on a batch's job (its tries are used up): the batch says it failed
/// instead of "running" for ever, and the class's cards may be requested again.
pub async fn batch_gave_up(tx: &mut TenantTx, batch: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE report_card_batches SET status = 'failed', finished_at = now() WHERE id = $1 AND status IN ('queued', 'running')")
        .bind(batch)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Stops an open batch before its next card (audited). A finished one is left as it is (409).
pub async fn cancel_batch(tx: &mut TenantTx, batch: Uuid, by: ChangedBy<'_>) -> Result<(), DomainError> {
    let status: String = sqlx::query_scalar("SELECT status FROM report_card_batches WHERE id = $1 FOR UPDATE")
        .bind(batch)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(DomainError::NotFound)?;
    if !BatchStatus::parse(&status).is_some_and(BatchStatus::is_open) {
        return Err(DomainError::Conflict { field: "batch".into(), message: "cards-error-batch-finished".into() });
    }
    sqlx::query("UPDATE report_card_batches SET status = 'cancelled', finished_at = $2 WHERE id = $1")
        .bind(batch)
        .bind(by.at)
        .execute(&mut **tx)
        .await?;
    by.audit(tx, actions::REPORT_CARDS_CANCELLED, &batch.to_string(), json!({ "was": status })).await?;
    Ok(())
}

/// The students of a class (or stream) with a published result for the term, in the order
/// of their names: (id, name, admission number, result).
async fn students_in_scope(
    tx: &mut TenantTx,
    term: Uuid,
    level: Uuid,
    stream: Option<Uuid>,
) -> Result<Vec<(Uuid, String, String, PublishedResult)>, DomainError> {
    sqlx::query(
        "SELECT s.id, concat_ws(' ', s.first_name, s.middle_name, s.last_name) AS name, s.admission_no, pr.result
           FROM result_publications rp
           JOIN published_results pr ON pr.tenant_id = rp.tenant_id AND pr.publication_id = rp.id
           JOIN students s ON s.tenant_id = pr.tenant_id AND s.id = pr.student_id
          WHERE rp.term_id = $1 AND rp.level_id = $2 AND ($3::uuid IS NULL OR s.stream_id = $3)
          ORDER BY s.last_name, s.first_name, s.admission_no",
    )
    .bind(term)
    .bind(level)
    .bind(stream)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        let result: PublishedResult = serde_json::from_value(r.try_get("result")?).map_err(internal)?;
        Ok((r.try_get("id")?, r.try_get("name")?, r.try_get("admission_no")?, result))
    })
    .collect()
}

/// What the worker needs to print a batch.
#[derive(Debug, Clone)]
pub struct BatchWork {
    pub batch: Uuid,
    /// Every card of the batch still to make (students with a card in it are left out).
    pub cards: Vec<CardData>,
    /// Of the batch's students, how many already have their card (a resumed batch).
    pub already_done: usize,
}

/// Starts (or resumes) a batch for the worker: `None` when it is cancelled or finished.
/// The class averages printed on each card are over every published student of the class,
/// whichever stream the batch prints.
pub async fn start_batch(tx: &mut TenantTx, batch: Uuid, at: DateTime<Utc>) -> Result<Option<BatchWork>, DomainError> {
    let row = sqlx::query(
        "SELECT b.status, b.term_id, b.level_id, b.stream_id, y.year, t.number, t.ends_on, l.name AS level_name,
                (SELECT min(n.starts_on) FROM terms n WHERE n.starts_on > t.ends_on) AS next_opens,
                tn.name AS school, tn.default_language, ss.motto, ss.postal_address, ss.logo_key,
                (SELECT 'finance' = ANY(p.features) FROM plans p WHERE p.code = tn.plan_code) AS finance
           FROM report_card_batches b
           JOIN terms t ON t.tenant_id = b.tenant_id AND t.id = b.term_id
           JOIN academic_years y ON y.tenant_id = t.tenant_id AND y.id = t.academic_year_id
           JOIN levels l ON l.tenant_id = b.tenant_id AND l.id = b.level_id
           JOIN tenants tn ON tn.id = b.tenant_id
           LEFT JOIN school_settings ss ON ss.tenant_id = b.tenant_id
          WHERE b.id = $1
          FOR UPDATE OF b",
    )
    .bind(batch)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(DomainError::NotFound)?;
    let status: String = row.try_get("status")?;
    // A batch the queue gave up on, whose job an admin put back: it carries on (finished cards
    // are not redone), unless the same cards were asked for again meanwhile.
    if status == "failed" {
        // Under the lock a request for these cards takes, so both cannot see no open batch.
        let (term, level): (Uuid, Uuid) = (row.try_get("term_id")?, row.try_get("level_id")?);
        crate::results::db::lock_setup(tx, term, level, crate::results::db::SetupLock::Exclusive).await?;
    }
    let reopened = status == "failed"
        && sqlx::query(
            "UPDATE report_card_batches b SET status = 'running', finished_at = NULL
              WHERE b.id = $1 AND b.bundle_key IS NULL
                AND NOT EXISTS (SELECT 1 FROM report_card_batches o
                                 WHERE o.term_id = b.term_id AND o.level_id = b.level_id AND o.stream_id IS NOT DISTINCT FROM b.stream_id
                                   AND o.status IN ('queued', 'running'))",
        )
        .bind(batch)
        .execute(&mut **tx)
        .await?
        .rows_affected()
            == 1;
    if !(BatchStatus::parse(&status).is_some_and(BatchStatus::is_open) || reopened) {
        return Ok(None);
    }
    let term: Uuid = row.try_get("term_id")?;
    let level: Uuid = row.try_get("level_id")?;
    let stream: Option<Uuid> = row.try_get("stream_id")?;
    let everyone = students_in_scope(tx, term, level, None).await?;
    let averages = super::class_averages(everyone.iter().map(|(_, _, _, r)| r));
    let in_scope = match stream {
        None => everyone,
        Some(_) => students_in_scope(tx, term, level, stream).await?,
    };
    let done: Vec<Uuid> =
        sqlx::query_scalar("SELECT student_id FROM report_cards WHERE batch_id = $1").bind(batch).fetch_all(&mut **tx).await?;
    // Failures are tried again on a resumed batch: their counts start over.
    sqlx::query("DELETE FROM report_card_failures WHERE batch_id = $1").bind(batch).execute(&mut **tx).await?;
    let total = i32::try_from(in_scope.len()).map_err(internal)?;
    let already = i32::try_from(done.len()).map_err(internal)?;
    sqlx::query(
        "UPDATE report_card_batches SET status = 'running', started_at = coalesce(started_at, $2), total = $3, done = $4, failed = 0
          WHERE id = $1",
    )
    .bind(batch)
    .bind(at)
    .bind(total)
    .bind(already)
    .execute(&mut **tx)
    .await?;
    let year: i32 = row.try_get("year")?;
    let term_label = format!("{year} T{}", row.try_get::<i32, _>("number")?);
    let language = row.try_get::<String, _>("default_language").ok().as_deref().and_then(Language::parse).unwrap_or_default();
    let school = super::SchoolHeading {
        name: row.try_get("school")?,
        motto: row.try_get("motto")?,
        address: row.try_get("postal_address")?,
        logo_key: row.try_get("logo_key")?,
    };
    let closes_on: NaiveDate = row.try_get("ends_on")?;
    let next_opens_on: Option<NaiveDate> = row.try_get("next_opens")?;
    let level_name: String = row.try_get("level_name")?;
    let students: Vec<Uuid> = in_scope.iter().map(|(id, ..)| *id).collect();
    let mut remarks = term_remarks(tx, term, &students).await?;
    // The fee balance, when the school's plan has finance: what each student owes (less any
    // credit) as the batch starts.
    let balances = if row.try_get::<Option<bool>, _>("finance")?.unwrap_or(false) {
        Some(crate::finance::db::ledger::positions(tx, &students).await?)
    } else {
        None
    };
    let cards = in_scope
        .into_iter()
        .filter(|(id, ..)| !done.contains(id))
        .map(|(student_id, student_name, admission_no, result)| CardData {
            batch,
            student_id,
            student_name,
            admission_no,
            level_name: level_name.clone(),
            school: school.clone(),
            language,
            term_label: term_label.clone(),
            year,
            closes_on: Some(closes_on),
            next_opens_on,
            class_averages: averages.clone(),
            remarks: remarks.remove(&student_id).unwrap_or_default(),
            fee_balance_minor: balances.as_ref().map(|b| b.get(&student_id).map_or(0, |(owed, credit)| owed - credit)),
            result,
        })
        .collect();
    Ok(Some(BatchWork { batch, cards, already_done: done.len() }))
}

/// Whether the batch was cancelled (checked before each card).
pub async fn is_cancelled(tx: &mut TenantTx, batch: Uuid) -> Result<bool, sqlx::Error> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM report_card_batches WHERE id = $1").bind(batch).fetch_optional(&mut **tx).await?;
    Ok(status.as_deref() != Some("running"))
}

/// A made card, as the worker records it.
#[derive(Debug, Clone)]
pub struct MadeCard<'a> {
    pub card: &'a CardData,
    pub storage_key: &'a str,
    pub pdf_sha256: [u8; 32],
    pub pdf_bytes: usize,
    pub code: &'a VerifyCode,
    pub at: DateTime<Utc>,
}

/// Records a card and counts it done. `false`: the student already had one in this batch
/// (another worker's, after a lease ran out): nothing recorded, and the caller deletes its
/// file.
pub async fn record_card(tx: &mut TenantTx, made: MadeCard<'_>) -> Result<bool, DomainError> {
    let tenant = tx.tenant();
    let inserted = sqlx::query(
        "INSERT INTO report_cards (tenant_id, batch_id, term_id, student_id, storage_key, pdf_sha256, pdf_bytes, verify_code,
                                   class_name, term_label, generated_at)
         SELECT $1, b.id, b.term_id, $3, $4, $5, $6, $7, $8, $9, $10 FROM report_card_batches b WHERE b.id = $2
         ON CONFLICT (tenant_id, batch_id, student_id) DO NOTHING",
    )
    .bind(tenant.0)
    .bind(made.card.batch)
    .bind(made.card.student_id)
    .bind(made.storage_key)
    .bind(made.pdf_sha256.as_slice())
    .bind(i32::try_from(made.pdf_bytes).map_err(internal)?)
    .bind(made.code.as_str())
    .bind(&made.card.result.class_name)
    .bind(&made.card.term_label)
    .bind(made.at)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        sqlx::query("UPDATE report_card_batches SET done = done + 1 WHERE id = $1").bind(made.card.batch).execute(&mut **tx).await?;
    }
    Ok(inserted)
}

/// Records why a student's card could not be made.
pub async fn record_failure(tx: &mut TenantTx, batch: Uuid, student: Uuid, reason: &str, at: DateTime<Utc>) -> Result<(), DomainError> {
    let tenant = tx.tenant();
    let reason: String = reason.chars().take(2000).collect();
    let reason = if reason.is_empty() { "unknown error".to_owned() } else { reason };
    let inserted = sqlx::query(
        "INSERT INTO report_card_failures (tenant_id, batch_id, student_id, reason, failed_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING",
    )
    .bind(tenant.0)
    .bind(batch)
    .bind(student)
    .bind(reason)
    .bind(at)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        sqlx::query("UPDATE report_card_batches SET failed = failed + 1 WHERE id = $1").bind(batch).execute(&mut **tx).await?;
    }
    Ok(())
}

/// The batch's cards for its ZIP: (storage key, file name inside the ZIP).
pub async fn batch_files(tx: &mut TenantTx, batch: Uuid) -> Result<Vec<(String, String)>, DomainError> {
    sqlx::query(
        "SELECT c.storage_key, s.admission_no, concat_ws(' ', s.first_name, s.last_name) AS name, c.term_label
           FROM report_cards c JOIN students s ON s.tenant_id = c.tenant_id AND s.id = c.student_id
          WHERE c.batch_id = $1 ORDER BY s.last_name, s.first_name, s.admission_no",
    )
    .bind(batch)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        let (adm, name, term): (String, String, String) = (r.try_get("admission_no")?, r.try_get("name")?, r.try_get("term_label")?);
        Ok((r.try_get("storage_key")?, super::file_name(&[&adm, &name, &term], "pdf")))
    })
    .collect()
}

/// Ends a batch: `done` with its ZIP's key, or `failed` when no card could be made.
pub async fn finish_batch(tx: &mut TenantTx, batch: Uuid, bundle_key: Option<&str>, at: DateTime<Utc>) -> Result<(), DomainError> {
    sqlx::query(
        "UPDATE report_card_batches SET status = CASE WHEN $2::text IS NULL THEN 'failed' ELSE 'done' END, bundle_key = $2, finished_at = $3
          WHERE id = $1 AND status = 'running'",
    )
    .bind(batch)
    .bind(bundle_key)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A stored file to send: its key and the name the browser saves it as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub key: String,
    pub file_name: String,
}

/// A card for the admin (`NotFound`: not this school's).
pub async fn card_file(tx: &mut TenantTx, card: Uuid) -> Result<StoredFile, DomainError> {
    card_file_where(tx, card, None).await
}

/// A card for a parent or student: only their own (family's), and only its newest for the
/// term — a replaced card is not served any more. `NotFound` otherwise.
pub async fn portal_card_file(tx: &mut TenantTx, reader: PortalReader, card: Uuid) -> Result<StoredFile, DomainError> {
    card_file_where(tx, card, Some(reader)).await
}

async fn card_file_where(tx: &mut TenantTx, card: Uuid, reader: Option<PortalReader>) -> Result<StoredFile, DomainError> {
    let row = sqlx::query(
        "SELECT c.storage_key, c.student_id, c.term_label, s.admission_no, concat_ws(' ', s.first_name, s.last_name) AS name,
                c.id = (SELECT n.id FROM report_cards n WHERE n.student_id = c.student_id AND n.term_id = c.term_id
                         ORDER BY n.generated_at DESC, n.id LIMIT 1) AS newest
           FROM report_cards c JOIN students s ON s.tenant_id = c.tenant_id AND s.id = c.student_id
          WHERE c.id = $1",
    )
    .bind(card)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(DomainError::NotFound)?;
    if let Some(reader) = reader {
        let student: Uuid = row.try_get("student_id")?;
        let newest: bool = row.try_get("newest")?;
        if !newest || !crate::results::db::may_read(tx, reader, student).await? {
            return Err(DomainError::NotFound);
        }
    }
    let (adm, name, term): (String, String, String) = (row.try_get("admission_no")?, row.try_get("name")?, row.try_get("term_label")?);
    Ok(StoredFile { key: row.try_get("storage_key")?, file_name: super::file_name(&[&adm, &name, &term], "pdf") })
}

/// A finished batch's ZIP (`NotFound`: not this school's, or not ready).
pub async fn bundle_file(tx: &mut TenantTx, batch: Uuid) -> Result<StoredFile, DomainError> {
    let row = sqlx::query(
        "SELECT b.bundle_key, l.name AS level, s.name AS stream, y.year, t.number
           FROM report_card_batches b
           JOIN levels l ON l.tenant_id = b.tenant_id AND l.id = b.level_id
           LEFT JOIN streams s ON s.tenant_id = b.tenant_id AND s.id = b.stream_id
           JOIN terms t ON t.tenant_id = b.tenant_id AND t.id = b.term_id
           JOIN academic_years y ON y.tenant_id = t.tenant_id AND y.id = t.academic_year_id
          WHERE b.id = $1",
    )
    .bind(batch)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(DomainError::NotFound)?;
    let key: Option<String> = row.try_get("bundle_key")?;
    let key = key.ok_or(DomainError::NotFound)?;
    let level: String = row.try_get("level")?;
    let stream: Option<String> = row.try_get("stream")?;
    let term = format!("{} T{}", row.try_get::<i32, _>("year")?, row.try_get::<i32, _>("number")?);
    let class = stream.map_or(level.clone(), |s| crate::academic::class_name(&level, &s));
    Ok(StoredFile { key, file_name: super::file_name(&["report-cards", &class, &term], "zip") })
}

/// Records an admin's download of a batch's ZIP (the cards of a whole class: personal data).
pub async fn audit_bundle_download(tx: &mut TenantTx, batch: Uuid, by: ChangedBy<'_>) -> Result<(), DomainError> {
    by.audit(tx, actions::REPORT_CARDS_DOWNLOADED, &batch.to_string(), json!({ "batch": batch })).await?;
    Ok(())
}

/// A student's newest card per term, for the portal (`NotFound` when the student is not the
/// reader's).
pub async fn student_cards(tx: &mut TenantTx, reader: PortalReader, student: Uuid) -> Result<BTreeMap<Uuid, CardLink>, DomainError> {
    if !crate::results::db::may_read(tx, reader, student).await? {
        return Err(DomainError::NotFound);
    }
    let rows = sqlx::query(
        "SELECT DISTINCT ON (c.term_id) c.id, c.term_id, c.term_label, c.generated_at FROM report_cards c
          WHERE c.student_id = $1 ORDER BY c.term_id, c.generated_at DESC, c.id",
    )
    .bind(student)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            let link = CardLink {
                card_id: r.try_get("id")?,
                term_id: r.try_get("term_id")?,
                term_label: r.try_get("term_label")?,
                generated_at: r.try_get("generated_at")?,
            };
            Ok((link.term_id, link))
        })
        .collect()
}

/// What the school's cards print under its name: its motto and postal address (either may
/// be empty). Audited.
pub async fn set_card_heading(tx: &mut TenantTx, motto: &str, address: &str, by: ChangedBy<'_>) -> Result<(), DomainError> {
    let clean = |s: &str, max: usize, field: &str| -> Result<Option<String>, DomainError> {
        let s = s.trim();
        if s.chars().count() > max {
            return Err(ValidationError::new(field, "cards-error-heading-long").into());
        }
        Ok((!s.is_empty()).then(|| s.to_owned()))
    };
    let (motto, address) = (clean(motto, 200, "motto")?, clean(address, 300, "address")?);
    let updated = sqlx::query("UPDATE school_settings SET motto = $1, postal_address = $2")
        .bind(&motto)
        .bind(&address)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if updated == 0 {
        return Err(DomainError::NotFound);
    }
    by.audit(tx, actions::SCHOOL_CARD_HEADING_SET, "school_settings", json!({ "motto": motto, "address": address })).await?;
    Ok(())
}

/// `/verify/<code>`: the issuing school and what the card prints, or `None` for an unknown
/// code (any school's).
pub async fn verify(pool: &PgPool, code: &VerifyCode) -> Result<Option<(crate::tenancy::TenantId, Verified)>, sqlx::Error> {
    let row = sqlx::query("SELECT * FROM verify_report_card($1)").bind(code.as_str()).fetch_optional(pool).await?;
    row.map(|r| {
        Ok((
            crate::tenancy::TenantId(r.try_get("school_id")?),
            Verified {
                school: r.try_get("school")?,
                student: r.try_get("student")?,
                class_name: r.try_get("class_name")?,
                term_label: r.try_get("term_label")?,
                generated_at: r.try_get("generated_at")?,
                pdf_sha256: r.try_get("pdf_sha256")?,
            },
        ))
    })
    .transpose()
}

// ---- Remarks: attendance, conduct, comments ------------------------------------------------

fn remarks_of(r: &sqlx::postgres::PgRow) -> Result<CardRemarks, sqlx::Error> {
    let days = |c: &str| -> Result<Option<u16>, sqlx::Error> { Ok(r.try_get::<Option<i32>, _>(c)?.and_then(|n| u16::try_from(n).ok())) };
    Ok(CardRemarks {
        days_open: days("days_open")?,
        days_present: days("days_present")?,
        conduct: r.try_get("conduct")?,
        class_comment: r.try_get("class_teacher_comment")?,
        head_comment: r.try_get("head_teacher_comment")?,
    })
}

/// The stored remarks of the term for these students (the batch's), by student.
async fn term_remarks(
    tx: &mut TenantTx,
    term: Uuid,
    students: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, CardRemarks>, DomainError> {
    let rows = sqlx::query(
        "SELECT student_id, days_open, days_present, conduct, class_teacher_comment, head_teacher_comment
           FROM report_card_remarks WHERE term_id = $1 AND student_id = ANY($2)",
    )
    .bind(term)
    .bind(students)
    .fetch_all(&mut **tx)
    .await?;
    let mut out = std::collections::HashMap::with_capacity(rows.len());
    for r in &rows {
        out.insert(r.try_get("student_id")?, remarks_of(r)?);
    }
    Ok(out)
}

/// Who writes remarks: the stream's class teacher (attendance, conduct, their comment), or
/// one who prints cards (everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemarksWriter {
    pub user: Uuid,
    pub prints_cards: bool,
}

/// The stream's class name and class teacher, and the term's label; `NotFound` for another
/// school's ids, `Forbidden` for a teacher who is not the stream's class teacher.
async fn remarks_place(tx: &mut TenantTx, term: Uuid, stream: Uuid, who: RemarksWriter) -> Result<(String, String), DomainError> {
    let place = crate::results::db::place(tx, term, stream).await?;
    if !who.prints_cards && place.class_teacher != Some(who.user) {
        return Err(DomainError::Forbidden);
    }
    Ok((place.class_name(), place.term_label()))
}

/// The stream's remarks page: every active student of the stream with what is stored.
pub async fn remarks_sheet(tx: &mut TenantTx, term: Uuid, stream: Uuid, who: RemarksWriter) -> Result<RemarksSheet, DomainError> {
    let (class_name, term_label) = remarks_place(tx, term, stream, who).await?;
    let rows = sqlx::query(
        "SELECT s.id, concat_ws(' ', s.first_name, s.middle_name, s.last_name) AS name, s.admission_no,
                r.days_open, r.days_present, r.conduct, r.class_teacher_comment, r.head_teacher_comment
           FROM students s
           LEFT JOIN report_card_remarks r ON r.tenant_id = s.tenant_id AND r.student_id = s.id AND r.term_id = $2
          WHERE s.stream_id = $1 AND s.status = 'active'
          ORDER BY s.last_name, s.first_name, s.admission_no",
    )
    .bind(stream)
    .bind(term)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        Ok(RemarksSheetRow {
            student: r.try_get("id")?,
            name: r.try_get("name")?,
            admission_no: r.try_get("admission_no")?,
            remarks: remarks_of(r)?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    // The form's one number: what most rows carry.
    let mut counts: std::collections::BTreeMap<u16, usize> = std::collections::BTreeMap::new();
    for row in &rows {
        if let Some(d) = row.remarks.days_open {
            *counts.entry(d).or_default() += 1;
        }
    }
    let days_open = counts.into_iter().max_by_key(|(d, n)| (*n, *d)).map(|(d, _)| d);
    Ok(RemarksSheet { term, term_label, stream, class_name, days_open, may_write_head: who.prints_cards, rows })
}

/// Saves the stream's form, all rows or none. A class teacher's form keeps the stored head
/// teacher's comment whatever it sends. A row for a student who is not an active student of
/// the stream is refused on that row. Audited once for the stream.
pub async fn save_remarks(
    tx: &mut TenantTx,
    term: Uuid,
    stream: Uuid,
    form: &RemarksForm,
    who: RemarksWriter,
    by: ChangedBy<'_>,
) -> Result<usize, DomainError> {
    let (class_name, term_label) = remarks_place(tx, term, stream, who).await?;
    let rows = form.parse().map_err(DomainError::InvalidFields)?;
    let members: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM students WHERE stream_id = $1 AND status = 'active'").bind(stream).fetch_all(&mut **tx).await?;
    let strangers: Vec<ValidationError> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| !members.contains(&r.student))
        .map(|(i, _)| ValidationError::new(&format!("rows.{i}.student"), "error-remarks-student"))
        .collect();
    if !strangers.is_empty() {
        return Err(DomainError::InvalidFields(strangers));
    }
    let tenant = tx.tenant();
    let user = by.actor.id.ok_or(DomainError::Forbidden)?;
    // One statement for the whole stream (a row each would be a round trip per student).
    let r = rows.iter().map(|row| &row.remarks);
    let students: Vec<Uuid> = rows.iter().map(|row| row.student).collect();
    let days_open: Vec<Option<i32>> = r.clone().map(|r| r.days_open.map(i32::from)).collect();
    let days_present: Vec<Option<i32>> = r.clone().map(|r| r.days_present.map(i32::from)).collect();
    let conduct: Vec<Option<String>> = r.clone().map(|r| r.conduct.clone()).collect();
    let class_comment: Vec<Option<String>> = r.clone().map(|r| r.class_comment.clone()).collect();
    let head_comment: Vec<Option<String>> = r.map(|r| r.head_comment.clone()).collect();
    sqlx::query(
        "INSERT INTO report_card_remarks
                (tenant_id, term_id, student_id, days_open, days_present, conduct, class_teacher_comment,
                 head_teacher_comment, updated_by, updated_at)
         SELECT $1, $2, u.student, u.days_open, u.days_present, u.conduct, u.class_comment,
                CASE WHEN $8 THEN u.head_comment END, $10, $11
           FROM unnest($3::uuid[], $4::int4[], $5::int4[], $6::text[], $7::text[], $9::text[])
                AS u(student, days_open, days_present, conduct, class_comment, head_comment)
         ON CONFLICT (tenant_id, term_id, student_id) DO UPDATE SET
                days_open = EXCLUDED.days_open, days_present = EXCLUDED.days_present, conduct = EXCLUDED.conduct,
                class_teacher_comment = EXCLUDED.class_teacher_comment,
                head_teacher_comment = CASE WHEN $8 THEN EXCLUDED.head_teacher_comment
                                            ELSE report_card_remarks.head_teacher_comment END,
                updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at",
    )
    .bind(tenant.0)
    .bind(term)
    .bind(&students)
    .bind(&days_open)
    .bind(&days_present)
    .bind(&conduct)
    .bind(&class_comment)
    .bind(who.prints_cards)
    .bind(&head_comment)
    .bind(user)
    .bind(by.at)
    .execute(&mut **tx)
    .await
    .map_err(crate::db::map_constraint)?;
    by.audit(
        tx,
        actions::REPORT_CARD_REMARKS_SAVED,
        &stream.to_string(),
        json!({ "term": term, "class": class_name, "term_label": term_label, "students": rows.len(), "head": who.prints_cards }),
    )
    .await?;
    Ok(rows.len())
}

/// The streams whose remarks the writer may write in the current term: every stream for one
/// who prints cards, the class teacher's own otherwise. (term, stream, class name).
pub async fn remark_streams(tx: &mut TenantTx, who: RemarksWriter) -> Result<Vec<(Uuid, Uuid, String)>, DomainError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT t.id AS term_id, s.id AS stream_id, l.name AS level, s.name AS stream
           FROM terms t
           JOIN streams s ON s.tenant_id = t.tenant_id
           JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id
          WHERE t.is_current AND ($1 OR s.class_teacher_id = $2)
          ORDER BY {}, s.name",
        crate::academic::classes::db::LEVEL_ORDER
    )))
    .bind(who.prints_cards)
    .bind(who.user)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        let name = crate::academic::class_name(&r.try_get::<String, _>("level")?, &r.try_get::<String, _>("stream")?);
        Ok((r.try_get("term_id")?, r.try_get("stream_id")?, name))
    })
    .collect::<Result<_, sqlx::Error>>()
    .map_err(DomainError::from)
}

/// The school's card logo's storage key.
pub async fn logo_key(tx: &mut TenantTx) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, Option<String>>("SELECT logo_key FROM school_settings").fetch_optional(&mut **tx).await?.flatten())
}

/// Points the school's card logo at `key`, a file the caller has just stored; returns the
/// key it replaces (for the caller to delete after the commit). A key outside the school's
/// own prefix is refused before anything is written.
pub async fn set_logo(tx: &mut TenantTx, key: &str, details: serde_json::Value, by: ChangedBy<'_>) -> Result<Option<String>, DomainError> {
    if !key.starts_with(&format!("{}/", tx.tenant().0)) {
        return Err(DomainError::Forbidden);
    }
    let old: Option<Option<String>> =
        sqlx::query_scalar("SELECT logo_key FROM school_settings FOR UPDATE").fetch_optional(&mut **tx).await?;
    let Some(old) = old else { return Err(DomainError::NotFound) };
    sqlx::query("UPDATE school_settings SET logo_key = $1").bind(key).execute(&mut **tx).await?;
    by.audit(tx, actions::SCHOOL_CARD_LOGO_SET, "school_settings", details).await?;
    Ok(old)
}
