//! Bank statements in the accountant's workspace (issue 10, reconciliation): the upload of a
//! statement file (multipart: the bank and the file) and the reconciliation's CSV download.
//! The page and its reads are `app::pages::accountant::ReconciliationPage` and
//! `app::api::finance::{statements, reconciliation}`.

use crate::auth::{path_id, Caller, Refusal};
use crate::state::AppState;
use axum::extract::{Multipart, Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use kilele::identity::Permission;
use kilele::payments::{reconcile, statements, Provider};
use kilele::tenancy::Feature;

const PAGE: &str = "/accountant/reconciliation";

/// The bank and the file of the upload form, or the key of what is wrong with it.
async fn form(req: Request, st: &AppState) -> Result<(String, String, Vec<u8>), &'static str> {
    let mut multipart =
        <Multipart as axum::extract::FromRequest<AppState>>::from_request(req, st).await.map_err(|_| "import-error-not-a-spreadsheet")?;
    let (mut provider, mut file) = (String::new(), None);
    loop {
        match multipart.next_field().await {
            Ok(Some(part)) if part.name() == Some("provider") => {
                provider = part.text().await.map_err(|_| "import-error-too-large")?.chars().take(16).collect();
            }
            Ok(Some(part)) if part.name() == Some("file") => {
                let name = part.file_name().unwrap_or("statement").to_owned();
                let bytes = part.bytes().await.map_err(|_| "import-error-too-large")?;
                file = Some((name, bytes.to_vec()));
            }
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(_) => return Err("import-error-too-large"),
        }
    }
    let (name, bytes) = file.filter(|(_, b)| !b.is_empty()).ok_or("import-error-empty")?;
    Ok((provider, name, bytes))
}

/// `POST /accountant/reconciliation/upload` (multipart: `provider`, `file`): reads the bank's
/// statement, every line checked; all of it kept, or nothing and every error said on the page
/// it came from. Kept: on to its reconciliation.
pub async fn upload(State(st): State<AppState>, req: Request) -> Result<Response, Refusal> {
    let c = Caller::holding(&req, &[Permission::FinancePaymentsRecord])?.with_feature(Feature::Finance)?;
    let session = req.extensions().get::<tower_sessions::Session>().cloned();
    let refuse = |errors: Vec<(String, String)>| {
        let session = session.clone();
        async move { crate::auth::flash_form_error(session.as_ref(), PAGE, app::errors::AppError::InvalidFields(errors)).await }
    };
    let (provider, name, bytes) = match form(req, &st).await {
        Ok(f) => f,
        Err(key) => return Ok(refuse(vec![("file".into(), key.into())]).await),
    };
    let Some(bank) = Provider::parse(&provider) else {
        return Ok(refuse(vec![("provider".into(), "payments-statement-error-not-a-bank".into())]).await);
    };
    let today = kilele::clock::school_date(st.deps.clock.now());
    let lines = match statements::read(bank, &name, &bytes, today) {
        Ok(lines) => lines,
        Err(errors) => return Ok(refuse(errors.into_iter().map(|e| (e.field, e.message)).collect()).await),
    };
    let saved = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, c.tenant.id).await?;
        let actor = kilele::audit::Actor::user(c.me.user_id, &c.me.email);
        let by = kilele::identity::store::ChangedBy { actor: &actor, at: st.deps.clock.now() };
        let id = reconcile::save(&mut tx, bank, &name, &lines, by).await?;
        tx.commit().await?;
        Ok::<_, kilele::DomainError>(id)
    }
    .await;
    let id = saved.map_err(|e| c.refused(e))?;
    Ok(Redirect::to(&format!("{PAGE}?statement={id}")).into_response())
}

/// `GET /accountant/reconciliation/{statement}/report.csv`: the statement's reconciliation, line
/// by line, for the bursar's files.
pub async fn report(State(st): State<AppState>, Path(statement): Path<String>, req: Request) -> Result<Response, Refusal> {
    let c = Caller::holding(&req, &[Permission::FinanceOverviewRead])?.with_feature(Feature::Finance)?;
    let statement = path_id(&statement)?;
    let r = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, c.tenant.id).await?;
        let r = reconcile::reconcile(&mut tx, statement).await?;
        tx.commit().await?;
        Ok::<_, kilele::DomainError>(r)
    }
    .await
    .map_err(|e| c.refused(e))?;
    let file = format!("attachment; filename=\"reconciliation-{}-{}.csv\"", r.statement.provider.code(), r.statement.first_day);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, file),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        reconcile::report_csv(&r, |key| app::i18n::t(c.lang, key)),
    )
        .into_response())
}
