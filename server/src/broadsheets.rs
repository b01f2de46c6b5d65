//! `GET /admin/results/{term}/{level}/broadsheet.xlsx`: a class's broadsheet, subject
//! analysis and division summary as a workbook, for approvers. Audited like every export of
//! students' data.

use crate::state::AppState;
use app::RequestCtx;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use kilele::identity::Permission;
use kilele::DomainError;

pub async fn broadsheet_xlsx(State(st): State<AppState>, Path((term, level)): Path<(String, String)>, req: Request) -> Response {
    let ctx = req.extensions().get::<RequestCtx>().cloned();
    let lang = ctx.as_ref().map(|c| c.lang).unwrap_or_default();
    let (me, tenant) = match crate::auth::school_user(ctx.as_ref(), &[Permission::ResultsApprove]) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let (Ok(term), Ok(level)) = (term.parse::<uuid::Uuid>(), level.parse::<uuid::Uuid>()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let built = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
        let class = kilele::results::db::class_marks(&mut tx, term, level).await?;
        let results = kilele::results::compute(&class.sheet, &class.setup.assessments, &class.setup.scheme)?;
        // Column and sheet words in the reader's language (keys `results-col-<word>`).
        let label = |word: &str| {
            let key = format!("results-col-{}", word.replace('_', "-"));
            let text = app::i18n::t(lang, &key);
            (text != key).then_some(text)
        };
        let body = kilele::results::xlsx::broadsheet_xlsx_in(&results, &label).map_err(|e| DomainError::Internal(e.to_string()))?;
        let actor = kilele::audit::Actor::user(me.user_id, &me.email);
        let details = serde_json::json!({ "term": term, "level": level, "students": results.students.len(), "format": "xlsx" });
        kilele::audit::append(&mut tx, st.deps.clock.now(), &actor, kilele::audit::actions::RESULTS_EXPORTED, &level.to_string(), details)
            .await?;
        tx.commit().await?;
        Ok::<_, DomainError>((body, format!("{} {}", class.level_name, class.term_label)))
    }
    .await;
    match built {
        Ok((body, name)) => {
            let file: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
            let disposition = format!("attachment; filename=\"{}-{file}-broadsheet.xlsx\"", tenant.slug);
            (
                [
                    (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                body,
            )
                .into_response()
        }
        Err(DomainError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => crate::pages::internal(lang, e),
    }
}
