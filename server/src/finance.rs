//! Fees in the server: receipts and statements as PDF (the `documents` crate renders, the
//! storage layer keeps receipts), an invoicing run's live progress, the defaulters' export,
//! for the bursar and for the family.

use crate::auth::{path_id, Caller, Refusal};
use crate::state::AppState;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use kilele::finance::db::reads::{self, ReceiptData};
use kilele::finance::{Currency, Money};
use kilele::identity::Permission;
use kilele::results::db::PortalReader;
use kilele::tenancy::Feature;
use kilele::{DomainError, Language};
use std::sync::Arc;

fn tzs(minor: i64) -> String {
    Money::from_minor(minor, Currency::Tzs).to_string()
}

/// The bursar (with `needs`) of a school whose plan has finance.
fn bursar(req: &Request, needs: &[Permission]) -> Result<Caller, Refusal> {
    Caller::holding(req, needs)?.with_feature(Feature::Finance)
}

/// A parent or student of a school whose plan has finance, and what they may read.
fn family(req: &Request) -> Result<(Caller, PortalReader), Refusal> {
    let c = Caller::holding_any(req, &[Permission::PortalChildrenRead, Permission::PortalSelfRead])?.with_feature(Feature::Finance)?;
    let reader = app::api::results::portal_reader(&c.me);
    Ok((c, reader))
}

fn labels(lang: Language) -> documents::FinanceLabels {
    match lang {
        Language::En => documents::FinanceLabels::english(),
        Language::Sw => documents::FinanceLabels::kiswahili(),
    }
}

fn balance_text(lang: Language, minor: i64) -> String {
    if minor < 0 {
        format!("{} {}", tzs(-minor), labels(lang).in_credit)
    } else {
        tzs(minor)
    }
}

/// The school's heading with its logo, for a document.
async fn heading(st: &AppState, tx: &mut kilele::db::TenantTx) -> Result<documents::School, DomainError> {
    let (name, motto, address, logo_key) = reads::school_heading(tx).await?;
    let logo = match logo_key {
        Some(key) => st.storage.get(&key).await.map_err(|e| DomainError::Internal(e.to_string()))?,
        None => None,
    };
    Ok(documents::School { name, motto, address, accent_colour: None, logo })
}

fn pdf(bytes: Vec<u8>, file_name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

async fn render<T: Send + 'static>(
    st: &AppState,
    doc: T,
    f: fn(&documents::Renderer, &T) -> Result<Vec<u8>, documents::DocumentError>,
) -> Result<Vec<u8>, DomainError> {
    let renderer: Arc<documents::Renderer> = st.documents.clone();
    tokio::task::spawn_blocking(move || f(&renderer, &doc))
        .await
        .map_err(|e| DomainError::Internal(format!("renderer stopped: {e}")))?
        .map_err(|e| DomainError::Internal(e.to_string()))
}

fn receipt_document(st: &AppState, lang: Language, school: documents::School, r: &ReceiptData) -> documents::Receipt {
    let l = labels(lang);
    let mut lines = Vec::new();
    if r.to_fees > 0 {
        lines.push(documents::ReceiptLine { description: app::i18n::t(lang, "finance-applied-fees"), amount: tzs(r.to_fees) });
    }
    if r.to_credit > 0 {
        lines.push(documents::ReceiptLine { description: app::i18n::t(lang, "finance-applied-credit"), amount: tzs(r.to_credit) });
    }
    let base = st.config.public_url.clone().unwrap_or_default();
    documents::Receipt {
        school,
        receipt_number: r.payment.receipt_no.to_string(),
        recorded_at: kilele::clock::school_time(r.payment.recorded_at),
        student_name: r.student.clone(),
        admission_number: r.admission_no.clone(),
        class_name: r.class_name.clone(),
        control_number: kilele::finance::control::ControlNumber::parse(&r.control_number)
            .map(|c| c.grouped())
            .unwrap_or_else(|_| r.control_number.clone()),
        amount: tzs(r.payment.amount_minor),
        channel: app::i18n::t(lang, r.payment.channel.label_key()),
        reference: r.payment.reference.clone(),
        paid_on: r.payment.paid_on.to_string(),
        recorded_by: r.payment.recorded_by.clone(),
        lines,
        balance_after: balance_text(lang, r.balance_after),
        verify_code: r.payment.verify_code.clone(),
        verify_url: format!("{base}/verify/{}", r.payment.verify_code),
        generated_at: kilele::clock::school_time(st.deps.clock.now()),
        labels: l,
    }
}

/// A receipt: the stored PDF when it was made before, else rendered now, stored, recorded.
async fn receipt(st: &AppState, c: &Caller, payment: uuid::Uuid, reader: Option<PortalReader>) -> Result<Response, Refusal> {
    let (tenant, lang) = (&c.tenant, c.lang);
    let made = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
        let data = reads::receipt(&mut tx, payment, reader).await?;
        if let Some(key) = &data.receipt_key {
            if let Some(bytes) = st.storage.get(key).await.map_err(|e| DomainError::Internal(e.to_string()))? {
                tx.rollback().await?;
                return Ok::<_, DomainError>((bytes, data));
            }
        }
        let school = heading(st, &mut tx).await?;
        let document = receipt_document(st, lang, school, &data);
        let bytes = render(st, document, documents::Renderer::receipt).await?;
        let key = kilele::storage::Storage::new_key(tenant.id, "receipts", "pdf");
        st.storage.put(&key, &bytes).await.map_err(|e| DomainError::Internal(e.to_string()))?;
        reads::set_receipt_key(&mut tx, payment, &key).await?;
        tx.commit().await?;
        Ok((bytes, data))
    }
    .await;
    let (bytes, data) = made.map_err(|e| c.refused(e))?;
    Ok(pdf(bytes, &format!("receipt-{}.pdf", data.payment.receipt_no)))
}

/// `GET /accountant/receipts/{payment}/receipt.pdf`.
pub async fn bursar_receipt(State(st): State<AppState>, Path(payment): Path<String>, req: Request) -> Result<Response, Refusal> {
    let c = bursar(&req, &[Permission::FinanceOverviewRead])?;
    receipt(&st, &c, path_id(&payment)?, None).await
}

/// `GET /portal/receipts/{payment}/receipt.pdf`: a receipt of the family's own child.
pub async fn family_receipt(State(st): State<AppState>, Path(payment): Path<String>, req: Request) -> Result<Response, Refusal> {
    let (c, reader) = family(&req)?;
    receipt(&st, &c, path_id(&payment)?, Some(reader)).await
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct Period {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// A statement for `period` (default: the last twelve months up to today).
async fn statement(
    st: &AppState,
    c: &Caller,
    student: uuid::Uuid,
    period: Period,
    reader: Option<PortalReader>,
) -> Result<Response, Refusal> {
    let (tenant, lang) = (&c.tenant, c.lang);
    let today = kilele::clock::school_date(st.deps.clock.now());
    let date = |s: &str, default: chrono::NaiveDate| {
        if s.trim().is_empty() {
            Some(default)
        } else {
            chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
        }
    };
    let (Some(from), Some(to)) = (date(&period.from, today - chrono::Duration::days(365)), date(&period.to, today)) else {
        return Err((StatusCode::BAD_REQUEST, app::i18n::t(lang, "error-date-invalid")).into_response().into());
    };
    if from > to {
        return Err((StatusCode::BAD_REQUEST, app::i18n::t(lang, "finance-error-period")).into_response().into());
    }
    let made = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
        let (account, opening, rows) = reads::statement_for(&mut tx, student, from, to, reader).await?;
        let school = heading(st, &mut tx).await?;
        // Reading an account may give the student a control number on its first look.
        tx.commit().await?;
        let (mut debit, mut credit) = (0i64, 0i64);
        let lines = rows
            .iter()
            .map(|r| {
                let (d, c) = if r.amount_minor > 0 { (tzs(r.amount_minor), String::new()) } else { (String::new(), tzs(-r.amount_minor)) };
                if r.amount_minor > 0 {
                    debit += r.amount_minor;
                } else {
                    credit -= r.amount_minor;
                }
                documents::StatementLine {
                    date: r.on.to_string(),
                    description: app::i18n::t(lang, r.kind.label_key()),
                    reference: r.memo.clone(),
                    debit: d,
                    credit: c,
                    balance: balance_text(lang, r.balance_minor),
                }
            })
            .collect();
        let closing = rows.last().map_or(opening, |r| r.balance_minor);
        let document = documents::Statement {
            school,
            student_name: account.name.clone(),
            admission_number: account.admission_no.clone(),
            class_name: account.class_name.clone(),
            control_number: kilele::finance::control::ControlNumber::parse(&account.control_number)
                .map(|c| c.grouped())
                .unwrap_or_else(|_| account.control_number.clone()),
            period: format!("{from} – {to}"),
            opening_balance: balance_text(lang, opening),
            lines,
            total_debit: tzs(debit),
            total_credit: tzs(credit),
            closing_balance: balance_text(lang, closing),
            generated_at: kilele::clock::school_time(st.deps.clock.now()),
            labels: labels(lang),
        };
        let bytes = render(st, document, documents::Renderer::statement).await?;
        Ok::<_, DomainError>((bytes, account.admission_no))
    }
    .await;
    let (bytes, admission) = made.map_err(|e| c.refused(e))?;
    Ok(pdf(bytes, &format!("statement-{}.pdf", admission.replace(['/', '"', '\\'], "-"))))
}

/// `GET /accountant/accounts/{id}/statement.pdf?from=&to=`.
pub async fn bursar_statement(
    State(st): State<AppState>,
    Path(student): Path<String>,
    Query(period): Query<Period>,
    req: Request,
) -> Result<Response, Refusal> {
    let c = bursar(&req, &[Permission::FinanceOverviewRead])?;
    statement(&st, &c, path_id(&student)?, period, None).await
}

/// `GET /portal/fees/{student}/statement.pdf?from=&to=`: the family's own child's.
pub async fn family_statement(
    State(st): State<AppState>,
    Path(student): Path<String>,
    Query(period): Query<Period>,
    req: Request,
) -> Result<Response, Refusal> {
    let (c, reader) = family(&req)?;
    statement(&st, &c, path_id(&student)?, period, Some(reader)).await
}

/// `GET /accountant/invoices/runs/{run}/events`: an invoicing run's progress, live.
pub async fn run_events(State(st): State<AppState>, Path(run): Path<String>, req: Request) -> Result<Response, Refusal> {
    let c = bursar(&req, &[Permission::FinanceFeesManage])?;
    let run = path_id(&run)?;
    let tenant = c.tenant.id;
    let read = {
        let pool = st.deps.pool.clone();
        move || {
            let pool = pool.clone();
            async move {
                let mut tx = kilele::db::tenant_tx(&pool, tenant).await?;
                let view = kilele::finance::db::invoicing::run_view(&mut tx, run).await?;
                tx.rollback().await?;
                Ok::<_, DomainError>(view)
            }
        }
    };
    let first = read().await.map_err(|e| c.refused(e))?;
    Ok(crate::progress::stream(first, read, |r: &kilele::finance::views::InvoiceRunView| !r.status.is_open()))
}

/// `GET /portal/pushes/{push}/events`: a parent's "pay now" push, live (one plain line per
/// change: `waiting`, `paid <receipt> <payment>`, `failed <reason>`…) until it is settled.
/// Only the parent who sent it sees it.
pub async fn push_events(State(st): State<AppState>, Path(push): Path<String>, req: Request) -> Result<Response, Refusal> {
    let c = Caller::holding_any(&req, &[Permission::PortalFeesPay])?.with_feature(Feature::Finance)?;
    let push = path_id(&push)?;
    let (tenant, me) = (c.tenant.id, c.me.user_id);
    let read = {
        let (pool, clock) = (st.deps.pool.clone(), st.deps.clock.clone());
        move || {
            let (pool, clock) = (pool.clone(), clock.clone());
            async move {
                let mut tx = kilele::db::tenant_tx(&pool, tenant).await?;
                // Looking at a push past its patience marks it abandoned: committed.
                let view = kilele::payments::pushes::view(&mut tx, push, me, clock.now()).await?;
                tx.commit().await?;
                Ok::<_, DomainError>(view)
            }
        }
    };
    let first = read().await.map_err(|e| c.refused(e))?;
    Ok(crate::progress::stream_as(
        first,
        read,
        |p: &kilele::payments::PushView| !p.status.is_open(),
        |p| axum::response::sse::Event::default().data(p.line()),
    ))
}

/// `GET /accountant/defaulters.csv` and `.xlsx`: the defaulters list (guardians' phones only
/// for those who may see personal data), audited like every export of people.
pub async fn defaulters_export(State(st): State<AppState>, req: Request) -> Result<Response, Refusal> {
    let xlsx = req.uri().path().ends_with(".xlsx");
    let c = bursar(&req, &[Permission::FinanceOverviewRead])?;
    let (me, tenant, lang) = (&c.me, &c.tenant, c.lang);
    let list = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
        let pii = me.can(Permission::StudentsPiiRead).then_some(&*st.deps.pii);
        let list = reads::defaulters(&mut tx, kilele::clock::school_date(st.deps.clock.now()), pii, None).await?;
        let actor = kilele::audit::Actor::user(me.user_id, &me.email);
        let by = kilele::identity::store::ChangedBy { actor: &actor, at: st.deps.clock.now() };
        by.audit(
            &mut tx,
            kilele::audit::actions::DEFAULTERS_EXPORTED,
            tenant.slug.as_str(),
            serde_json::json!({ "students": list.len(), "format": if xlsx { "xlsx" } else { "csv" }, "phones": pii.is_some() }),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, DomainError>(list)
    }
    .await;
    let list = list.map_err(|e| c.refused(e))?;
    use kilele::results::sheet::{Cell, Table};
    let t = |k: &str| app::i18n::t(lang, k);
    let text = |s: &str| if s.is_empty() { Cell::Empty } else { Cell::Text(s.to_owned()) };
    // Whole shillings as numbers (a bursar sums them); anything else as text.
    let shillings = |minor: i64| {
        let per = Currency::Tzs.minor_per_major();
        match u32::try_from(minor / per) {
            Ok(n) if minor % per == 0 => Cell::Whole(n),
            _ => Cell::Text(tzs(minor)),
        }
    };
    let table = Table {
        header: [
            "admission-no",
            "students-name",
            "class",
            "finance-control-number",
            "finance-overdue",
            "finance-balance",
            "finance-oldest-due",
            "finance-guardian",
            "finance-guardian-phone",
        ]
        .iter()
        .map(|k| t(k))
        .collect(),
        rows: list
            .iter()
            .map(|d| {
                vec![
                    text(&d.admission_no),
                    text(&d.name),
                    text(&d.class_name),
                    text(&d.control_number),
                    shillings(d.overdue_minor),
                    shillings(d.balance_minor),
                    text(&d.oldest_due.map(|x| x.to_string()).unwrap_or_default()),
                    text(&d.guardian),
                    text(d.guardian_phone.as_deref().unwrap_or_default()),
                ]
            })
            .collect(),
    };
    let (body, mime, ext) = if xlsx {
        match kilele::results::xlsx::table_xlsx("Defaulters", &table) {
            Ok(b) => (b, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
            Err(e) => return Err(crate::pages::internal(lang, e).into()),
        }
    } else {
        let mut csv = String::from("\u{feff}");
        csv.push_str(&table.to_csv());
        (csv.into_bytes(), "text/csv; charset=utf-8", "csv")
    };
    let file = format!("attachment; filename=\"{}-defaulters.{ext}\"", tenant.slug);
    Ok(([(header::CONTENT_TYPE, mime.to_owned()), (header::CONTENT_DISPOSITION, file)], body).into_response())
}
