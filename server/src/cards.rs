//! Report cards in the server: the files (a card for the admin or the family, a batch's ZIP),
//! a batch's live progress as server-sent events, and the worker's job that prints a batch
//! (the `documents` crate renders, the storage layer keeps the PDFs).

use crate::auth::{path_id, Caller, Refusal};
use crate::state::AppState;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use kilele::identity::Permission;
use kilele::reporting::db::{self as cards, StoredFile};
use kilele::DomainError;

/// A stored file as a download, or 404 when the storage has lost it.
async fn send(st: &AppState, file: StoredFile, mime: &'static str, lang: kilele::Language) -> Response {
    match st.storage.open(&file.key).await {
        // Streamed: a school's ZIP is large, and a slow phone should not hold it in memory.
        Ok(Some(download)) => (
            [
                (header::CONTENT_TYPE, mime.to_owned()),
                (header::CONTENT_LENGTH, download.size.to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", file.file_name)),
                (header::CACHE_CONTROL, "private, no-store".to_owned()),
            ],
            axum::body::Body::from_stream(download.body),
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => crate::pages::internal(lang, e),
    }
}

/// `GET /admin/cards/{card}/card.pdf`: any card of the school, to those who print them.
pub async fn admin_card(State(st): State<AppState>, Path(card): Path<String>, req: Request) -> Result<Response, Refusal> {
    let c = Caller::holding(&req, &[Permission::ReportCardsManage])?;
    let card = path_id(&card)?;
    let file = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, c.tenant.id).await?;
        let file = cards::card_file(&mut tx, card).await?;
        tx.rollback().await?;
        Ok::<_, DomainError>(file)
    }
    .await
    .map_err(|e| c.refused(e))?;
    Ok(send(&st, file, "application/pdf", c.lang).await)
}

/// `GET /portal/cards/{card}/card.pdf`: a parent's child's or the student's own newest card.
pub async fn portal_card(State(st): State<AppState>, Path(card): Path<String>, req: Request) -> Result<Response, Refusal> {
    let c = Caller::holding_any(&req, &[Permission::PortalChildrenRead, Permission::PortalSelfRead])?;
    let card = path_id(&card)?;
    let reader = app::api::results::portal_reader(&c.me);
    let file = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, c.tenant.id).await?;
        let file = cards::portal_card_file(&mut tx, reader, card).await?;
        tx.rollback().await?;
        Ok::<_, DomainError>(file)
    }
    .await
    .map_err(|e| c.refused(e))?;
    Ok(send(&st, file, "application/pdf", c.lang).await)
}

/// `GET /admin/cards/batches/{batch}/cards.zip`: every card of a finished batch (audited).
pub async fn batch_zip(State(st): State<AppState>, Path(batch): Path<String>, req: Request) -> Result<Response, Refusal> {
    let c = Caller::holding(&req, &[Permission::ReportCardsManage])?;
    let batch = path_id(&batch)?;
    let file = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, c.tenant.id).await?;
        let file = cards::bundle_file(&mut tx, batch).await?;
        let actor = c.actor();
        let by = kilele::identity::store::ChangedBy { actor: &actor, at: st.deps.clock.now() };
        cards::audit_bundle_download(&mut tx, batch, by).await?;
        tx.commit().await?;
        Ok::<_, DomainError>(file)
    }
    .await
    .map_err(|e| c.refused(e))?;
    Ok(send(&st, file, "application/zip", c.lang).await)
}

/// Largest logo accepted: a school crest prints an inch wide; more is a photo.
pub const MAX_LOGO_BYTES: usize = 1024 * 1024;

/// `GET /admin/cards/logo`: the school's card logo, to those who print cards.
pub async fn logo(State(st): State<AppState>, req: Request) -> Result<Response, Refusal> {
    let c = Caller::holding(&req, &[Permission::ReportCardsManage])?;
    let key = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, c.tenant.id).await?;
        let key = cards::logo_key(&mut tx).await?;
        tx.rollback().await?;
        Ok::<_, DomainError>(key)
    }
    .await
    .map_err(|e| c.refused(e))?
    .ok_or_else(|| Refusal::from(StatusCode::NOT_FOUND.into_response()))?;
    Ok(crate::uploads::image(&st, &key, "private, max-age=60", c.lang).await)
}

/// `POST /admin/cards/logo` (multipart, field `logo`): a PNG or JPEG that the card can print
/// (decoded by the document renderer before it is kept), stored, then the school points at
/// it; the old file goes after the commit.
pub async fn upload_logo(State(st): State<AppState>, req: Request) -> Result<Response, Refusal> {
    let c = Caller::holding(&req, &[Permission::ReportCardsManage])?;
    let back = "/admin/cards";
    let session = req.extensions().get::<tower_sessions::Session>().cloned();
    let refuse = |key: &str| crate::auth::flash_form_error(session.as_ref(), back, crate::auth::file_error(key));
    let bytes = match crate::uploads::one_file(req, &st, "logo", MAX_LOGO_BYTES).await {
        Ok(bytes) => bytes,
        Err(crate::uploads::Refused::Missing) => return Ok(refuse("cards-error-logo-invalid").await),
        Err(crate::uploads::Refused::TooLarge) => return Ok(refuse("cards-error-logo-too-large").await),
    };
    let kind = match kilele::storage::ImageKind::sniff(&bytes) {
        Some(kind @ (kilele::storage::ImageKind::Png | kilele::storage::ImageKind::Jpeg)) => kind,
        _ => return Ok(refuse("cards-error-logo-invalid").await),
    };
    if documents::check_logo_file(&bytes).is_err() {
        return Ok(refuse("cards-error-logo-invalid").await);
    }
    let key = kilele::storage::Storage::new_key(c.tenant.id, "school", kind.ext());
    if let Err(e) = st.storage.put(&key, &bytes).await {
        return Ok(crate::pages::internal(c.lang, e));
    }
    let saved = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, c.tenant.id).await?;
        let actor = c.actor();
        let by = kilele::identity::store::ChangedBy { actor: &actor, at: st.deps.clock.now() };
        let old = cards::set_logo(&mut tx, &key, serde_json::json!({ "bytes": bytes.len(), "type": kind.mime() }), by).await?;
        tx.commit().await?;
        Ok::<_, DomainError>(old)
    }
    .await;
    match saved {
        Ok(old) => {
            if let Some(old) = old {
                if let Err(e) = st.storage.delete(&old).await {
                    tracing::warn!(error = %e, "old logo not removed");
                }
            }
            Ok(axum::response::Redirect::to(back).into_response())
        }
        Err(e) => {
            let _ = st.storage.delete(&key).await;
            Err(c.refused(e))
        }
    }
}

/// `GET /admin/cards/batches/{batch}/events`: the batch as JSON each time it changes, until
/// it is finished (then the stream ends). Reads the database twice a second per open page;
/// a page is one admin following one batch.
pub async fn batch_events(State(st): State<AppState>, Path(batch): Path<String>, req: Request) -> Result<Response, Refusal> {
    let c = Caller::holding(&req, &[Permission::ReportCardsManage])?;
    let batch = path_id(&batch)?;
    let tenant = c.tenant.id;
    let read = {
        let pool = st.deps.pool.clone();
        move || {
            let pool = pool.clone();
            async move {
                let mut tx = kilele::db::tenant_tx(&pool, tenant).await?;
                let view = cards::batch_view(&mut tx, batch).await?;
                tx.rollback().await?;
                Ok::<_, DomainError>(view)
            }
        }
    };
    // The first read answers 404 for another school's batch before any stream starts.
    let first = read().await.map_err(|e| c.refused(e))?;
    Ok(crate::progress::stream(first, read, |b: &kilele::reporting::BatchView| !b.status.is_open()))
}

/// "3 / 41", or "" without a position.
fn position(p: Option<kilele::results::Position>) -> String {
    p.map(|p| format!("{} / {}", p.place, p.out_of)).unwrap_or_default()
}

/// A date as Tanzanian schools write it: 03/04/2026.
fn date(d: chrono::NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// The card the `documents` crate prints, from what the worker read: the words of the card
/// in the school's language (the crate's own label sets), the subject names and remarks in
/// it too, the chart against the class's averages.
pub fn printed(
    card: &kilele::reporting::CardData,
    code: &kilele::reporting::VerifyCode,
    verify_base: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> documents::ReportCard {
    use chrono::Datelike;
    use documents::{DocumentDate, Language, School, Student, SubjectResult, Summary};
    let sw = card.language == kilele::Language::Sw;
    let r = &card.result;
    // The school's day (East Africa Time), not UTC's.
    let local = chrono::FixedOffset::east_opt(3 * 3600).map_or(now.date_naive(), |eat| now.with_timezone(&eat).date_naive());
    let subjects = r
        .subjects
        .iter()
        .map(|s| SubjectResult {
            code: s.code.clone(),
            name: if sw { s.name_sw.clone() } else { s.name_en.clone() },
            marks: s.marks.clone(),
            score: s.outcome.clone(),
            grade: s.grade.clone(),
            points: s.points.map(|p| p.to_string()).unwrap_or_default(),
            position: position(s.class_position),
            remark: if sw { s.remark_sw.clone() } else { s.remark_en.clone() },
            score_value: s.score.map(f64::from),
            class_average: card.class_averages.get(&s.code).copied().map(f64::from),
        })
        .collect();
    let division = matches!(r.overall.as_str(), "I" | "II" | "III" | "IV" | "0");
    let lang = card.language;
    let summary = Summary {
        total: r.total.to_string(),
        average: r.average.clone(),
        grade: if division { String::new() } else { r.overall.clone() },
        points: r.points.map(|p| p.to_string()).unwrap_or_default(),
        division: (division && !r.overall.is_empty()).then(|| r.overall.clone()),
        division_note: r.no_overall_key.as_deref().map(|k| app::i18n::t(lang, k)),
        stream_position: position(r.stream_position),
        class_position: position(r.class_position),
    };
    let verify_at = format!("{}/verify/{}", verify_base.unwrap_or(""), code);
    documents::ReportCard {
        language: if sw { Language::Kiswahili } else { Language::English },
        labels: card_labels(lang),
        issued_on: DocumentDate {
            year: local.year(),
            month: u8::try_from(local.month()).unwrap_or(1),
            day: u8::try_from(local.day()).unwrap_or(1),
        },
        school: School {
            name: card.school.name.clone(),
            motto: card.school.motto.clone().unwrap_or_default(),
            address: card.school.address.clone().unwrap_or_default(),
            accent_colour: None,
            logo: None,
        },
        student: Student {
            name: card.student_name.clone(),
            admission_number: card.admission_no.clone(),
            class_name: card.level_name.clone(),
            stream: r.class_name.clone(),
            term: card.term_label.clone(),
            year: card.year.to_string(),
        },
        assessments: r.assessments.clone(),
        subjects,
        summary,
        attendance: match (card.remarks.days_present, card.remarks.days_open) {
            (Some(present), Some(open)) => Some(documents::Attendance { days_present: present.into(), days_open: open.into() }),
            _ => None,
        },
        conduct: card.remarks.conduct.clone(),
        class_teacher_comment: card.remarks.class_comment.clone().unwrap_or_default(),
        head_teacher_comment: card.remarks.head_comment.clone().unwrap_or_default(),
        closing_date: card.closes_on.map(date).unwrap_or_default(),
        next_term_opens: card.next_opens_on.map(date).unwrap_or_default(),
        fees: card.fee_balance_minor.map(|owed| documents::FeeBalance {
            // In credit: the credit, said as such ("In credit: TZS 20,000").
            amount: if owed < 0 {
                format!("{}: {}", app::i18n::t(lang, "finance-in-credit"), app::pages::accountant::tzs(-owed))
            } else {
                app::pages::accountant::tzs(owed)
            },
            as_of: date(local),
        }),
        generated_at: format!("{} {} · Kilele", app::i18n::t(lang, "cards-generated"), kilele::clock::school_time(now)),
        verification_code: code.to_string(),
        verification_text: format!("{} {verify_at}", app::i18n::t(lang, "cards-verify-at")),
    }
}

/// The worker's side: prints a batch.
pub mod job {
    use documents::Renderer;
    use kilele::reporting::db::{self as cards, MadeCard};
    use kilele::reporting::{CardData, VerifyCode};
    use kilele::tenancy::TenantId;
    use sha2::{Digest, Sha256};
    use sqlx::PgPool;
    use std::sync::Arc;

    /// What printing needs, shared by the worker's tasks.
    #[derive(Clone)]
    pub struct Printer {
        pub pool: PgPool,
        pub storage: kilele::storage::Storage,
        pub renderer: Arc<Renderer>,
        /// Where `/verify/<code>` is, for the card's footer: `https://kilele.example` (no
        /// trailing slash), or `None` to print the path only.
        pub verify_base: Option<String>,
        pub clock: kilele::clock::SharedClock,
    }

    /// Cards rendered at once: one per core (typst is CPU-bound; each render runs on a
    /// blocking thread, never inside another rayon pool).
    fn parallelism() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8)
    }

    type Failed = Box<dyn std::error::Error + Send + Sync>;

    /// Prints the batch's remaining cards, records each (one commit per card, so progress
    /// shows and a restart resumes), stops when it is cancelled, then stores the ZIP.
    pub async fn print_batch(p: &Printer, tenant: TenantId, batch: uuid::Uuid) -> Result<(), Failed> {
        let mut tx = kilele::db::tenant_tx(&p.pool, tenant).await?;
        let Some(work) = cards::start_batch(&mut tx, batch, p.clock.now()).await? else {
            tx.rollback().await?;
            return Ok(());
        };
        tx.commit().await?;
        tracing::info!(%tenant, %batch, cards = work.cards.len(), resumed = work.already_done, "printing report cards");
        // The school's logo, read once for the batch (a missing file prints no logo).
        let logo_key = work.cards.first().and_then(|c| c.school.logo_key.clone());
        let logo: Option<Arc<Vec<u8>>> = match logo_key {
            Some(key) => p.storage.get(&key).await?.map(Arc::new),
            None => None,
        };
        let mut queue = work.cards.into_iter();
        let mut running = tokio::task::JoinSet::new();
        let mut cancelled = false;
        loop {
            while running.len() < parallelism() && !cancelled {
                let Some(card) = queue.next() else { break };
                let printer = p.clone();
                let logo = logo.clone();
                running.spawn(async move {
                    let made = render(&printer, tenant, &card, logo).await;
                    (card, made)
                });
            }
            let Some(joined) = running.join_next().await else { break };
            let (card, made) = joined?;
            let mut tx = kilele::db::tenant_tx(&p.pool, tenant).await?;
            if cards::is_cancelled(&mut tx, batch).await? {
                cancelled = true;
                tx.rollback().await?;
                if let Ok((key, ..)) = made {
                    let _ = p.storage.delete(&key).await;
                }
                continue;
            }
            match made {
                Ok((key, sha, bytes, code)) => {
                    let recorded = cards::record_card(
                        &mut tx,
                        MadeCard { card: &card, storage_key: &key, pdf_sha256: sha, pdf_bytes: bytes, code: &code, at: p.clock.now() },
                    )
                    .await?;
                    tx.commit().await?;
                    if !recorded {
                        let _ = p.storage.delete(&key).await;
                    }
                }
                Err(reason) => {
                    tracing::warn!(%tenant, %batch, student = %card.student_id, %reason, "report card failed");
                    cards::record_failure(&mut tx, batch, card.student_id, &reason, p.clock.now()).await?;
                    tx.commit().await?;
                }
            }
        }
        if cancelled {
            tracing::info!(%tenant, %batch, "report cards cancelled");
            return Ok(());
        }
        // The ZIP of every card of the batch (stored, not compressed: PDFs are already).
        let mut tx = kilele::db::tenant_tx(&p.pool, tenant).await?;
        let files = cards::batch_files(&mut tx, batch).await?;
        tx.rollback().await?;
        let bundle_key = if files.is_empty() { None } else { Some(store_bundle(p, tenant, files).await?) };
        let mut tx = kilele::db::tenant_tx(&p.pool, tenant).await?;
        cards::finish_batch(&mut tx, batch, bundle_key.as_deref(), p.clock.now()).await?;
        tx.commit().await?;
        tracing::info!(%tenant, %batch, "report cards done");
        Ok(())
    }

    /// Renders and stores one card: (storage key, SHA-256, size, code), or why not.
    async fn render(
        p: &Printer,
        tenant: TenantId,
        card: &CardData,
        logo: Option<Arc<Vec<u8>>>,
    ) -> Result<(String, [u8; 32], usize, VerifyCode), String> {
        let code = VerifyCode::from_random(rand::random::<[u8; 7]>());
        let mut document = super::printed(card, &code, p.verify_base.as_deref(), p.clock.now());
        document.school.logo = logo.map(|l| l.as_ref().clone());
        let renderer = p.renderer.clone();
        let pdf = tokio::task::spawn_blocking(move || renderer.report_card(&document))
            .await
            .map_err(|e| format!("renderer stopped: {e}"))?
            .map_err(|e| e.to_string())?;
        let sha: [u8; 32] = Sha256::digest(&pdf).into();
        let key = kilele::storage::Storage::new_key(tenant, "report-cards", "pdf");
        p.storage.put(&key, &pdf).await.map_err(|e| format!("storage: {e}"))?;
        Ok((key, sha, pdf.len(), code))
    }

    /// Writes the ZIP to a temporary file (a writer thread takes the cards a few at a time, so
    /// a whole school's bundle never sits in memory) and stores it; returns its key.
    async fn store_bundle(p: &Printer, tenant: TenantId, files: Vec<(String, String)>) -> Result<String, Failed> {
        let path = std::env::temp_dir().join(format!("kilele-cards-{}.zip", uuid::Uuid::new_v4().simple()));
        let stored = write_and_store_bundle(p, tenant, files, &path).await;
        let _ = tokio::fs::remove_file(&path).await;
        stored
    }

    async fn write_and_store_bundle(
        p: &Printer,
        tenant: TenantId,
        files: Vec<(String, String)>,
        path: &std::path::Path,
    ) -> Result<String, Failed> {
        let (send, mut cards) = tokio::sync::mpsc::channel::<(String, Vec<u8>)>(4);
        let target = path.to_owned();
        let writer = tokio::task::spawn_blocking(move || -> Result<(), Failed> {
            use std::io::Write;
            let mut out = zip::ZipWriter::new(std::io::BufWriter::new(std::fs::File::create(&target)?));
            // Stored, not compressed: PDFs are compressed already.
            let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
            while let Some((name, bytes)) = cards.blocking_recv() {
                out.start_file(name.as_str(), options)?;
                out.write_all(&bytes)?;
            }
            out.finish()?.flush()?;
            Ok(())
        });
        for (key, name) in files {
            let bytes = p.storage.get(&key).await?.ok_or_else(|| format!("card file {key} is missing"))?;
            if send.send((name, bytes)).await.is_err() {
                break; // the writer stopped: its error is reported below
            }
        }
        drop(send);
        writer.await??;
        let key = kilele::storage::Storage::new_key(tenant, "report-cards", "zip");
        p.storage.put_file(&key, path).await?;
        Ok(key)
    }
}

/// Every fixed word of the card in `lang`, from the translation files (`card-label-*` in
/// `cards.ftl`), like every other word Kilele shows.
pub fn card_labels(lang: kilele::Language) -> documents::Labels {
    let t = |key: &str| app::i18n::t(lang, key);
    documents::Labels {
        title: t("card-label-title"),
        student_name: t("card-label-student-name"),
        admission_number: t("card-label-admission-number"),
        class_name: t("card-label-class-name"),
        stream: t("card-label-stream"),
        term: t("card-label-term"),
        year: t("card-label-year"),
        code: t("card-label-code"),
        subject: t("card-label-subject"),
        marks: t("card-label-marks"),
        score: t("card-label-score"),
        grade: t("card-label-grade"),
        points: t("card-label-points"),
        position: t("card-label-position"),
        remark: t("card-label-remark"),
        chart_title: t("card-label-chart-title"),
        chart_student: t("card-label-chart-student"),
        chart_class_average: t("card-label-chart-class-average"),
        summary: t("card-label-summary"),
        total: t("card-label-total"),
        average: t("card-label-average"),
        division: t("card-label-division"),
        stream_position: t("card-label-stream-position"),
        class_position: t("card-label-class-position"),
        attendance: t("card-label-attendance"),
        attendance_value: app::i18n::t_args(
            lang,
            "card-label-attendance-value",
            &[("present", "{present}".into()), ("open", "{open}".into())],
        ),
        conduct: t("card-label-conduct"),
        not_recorded: t("card-label-not-recorded"),
        class_teacher_comment: t("card-label-class-teacher-comment"),
        head_teacher_comment: t("card-label-head-teacher-comment"),
        signature: t("card-label-signature"),
        date: t("card-label-date"),
        stamp: t("card-label-stamp"),
        closing_date: t("card-label-closing-date"),
        next_term_opens: t("card-label-next-term-opens"),
        fee_balance: t("card-label-fee-balance"),
        fee_as_of: t("card-label-fee-as-of"),
        fee_placeholder: t("card-label-fee-placeholder"),
        verification_code: t("card-label-verification-code"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use documents::Labels;

    /// The translation files hold every word of the card: the labels read from them are the
    /// documents crate's reference sets word for word (a missing key would print its name).
    #[test]
    fn card_labels_come_whole_from_the_translation_files() {
        let json = |l: &Labels| serde_json::to_value(l).unwrap_or_default();
        assert_eq!(json(&card_labels(kilele::Language::En)), json(&Labels::english()));
        assert_eq!(json(&card_labels(kilele::Language::Sw)), json(&Labels::kiswahili()));
    }
}
