//! Results set-up: a class's assessments and grading scheme for a term, and the school's own
//! grading schemes. Each function: scope (principal, `results.setup`, the school's
//! transaction) → domain → commit.

use crate::errors::AppError;
use kilele::results::setup::{AssessmentRow, BandRow, DivisionRow};
use kilele::results::views::{LevelSetupView, SchemeSummary, SchemeView};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::{parse_uuid, scope::Scope};
#[cfg(feature = "ssr")]
use kilele::identity::Permission;

/// A class's (level's) assessments and scheme for a term.
#[server(endpoint = "admin/grading/class")]
pub async fn class_grading(term: String, level: String) -> Result<LevelSetupView, AppError> {
    let mut s = Scope::school(Permission::ResultsSetup).await?;
    let (term, level) = (parse_uuid("term", &term)?, parse_uuid("level", &level)?);
    let view = kilele::results::db::level_setup(&mut s.tx, term, level).await?;
    s.end_read(view)
}

/// Sets a class's assessments for the term (until marks exist). A plain form: back to the page.
#[server(endpoint = "admin/grading/assessments")]
pub async fn save_class_assessments(
    term: String,
    level: String,
    #[server(default)] rows: Vec<AssessmentRow>,
    #[server(default)] ca_absence: String,
) -> Result<(), AppError> {
    let mut s = Scope::school(Permission::ResultsSetup).await?;
    let (term, level) = (parse_uuid("term", &term)?, parse_uuid("level", &level)?);
    let form = kilele::results::setup::AssessmentsForm { rows, ca_absence };
    kilele::results::db::save_assessments(&mut s.tx, term, level, &form, s.change.by()).await?;
    s.commit(()).await
}

/// Sets the grading scheme a class's term uses (until it is published).
#[server(endpoint = "admin/grading/choose")]
pub async fn choose_class_scheme(term: String, level: String, scheme: String) -> Result<(), AppError> {
    let mut s = Scope::school(Permission::ResultsSetup).await?;
    let (term, level) = (parse_uuid("term", &term)?, parse_uuid("level", &level)?);
    kilele::results::db::choose_scheme(&mut s.tx, term, level, &scheme, s.change.by()).await?;
    s.commit(()).await
}

/// The school's grading schemes, and the presets a copy can start from: (key, name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemesList {
    pub schemes: Vec<SchemeSummary>,
    pub presets: Vec<(String, String)>,
}

#[server(endpoint = "admin/grading/schemes")]
pub async fn grading_schemes() -> Result<SchemesList, AppError> {
    let mut s = Scope::school(Permission::ResultsSetup).await?;
    let schemes = kilele::results::db::list_schemes(&mut s.tx).await?;
    let presets = kilele::results::presets::PRESET_KEYS
        .iter()
        .filter_map(|k| kilele::results::presets::preset(k).map(|p| ((*k).to_owned(), p.name().to_owned())))
        .collect();
    s.end_read(SchemesList { schemes, presets })
}

/// One of the school's schemes with its edit form.
#[server(endpoint = "admin/grading/scheme")]
pub async fn grading_scheme(id: String) -> Result<SchemeView, AppError> {
    let mut s = Scope::school(Permission::ResultsSetup).await?;
    let id = parse_uuid("id", &id)?;
    let view = kilele::results::db::scheme_view(&mut s.tx, id).await?;
    s.end_read(view)
}

/// Copies a preset (`preset:<key>`) or one of the school's schemes under a new name, then
/// opens the copy.
#[server(endpoint = "admin/grading/copy")]
pub async fn copy_grading_scheme(from: String, name: String) -> Result<(), AppError> {
    let mut s = Scope::school(Permission::ResultsSetup).await?;
    let origin = kilele::results::db::SchemeOrigin::parse(&from)
        .ok_or_else(|| AppError::Invalid { field: "from".into(), message: "error-not-found".into() })?;
    let id = kilele::results::db::copy_scheme(&mut s.tx, &origin, &name, s.change.by()).await?;
    s.commit(()).await?;
    leptos_axum::redirect(&format!("/admin/grading/schemes/{id}"));
    Ok(())
}

/// Saves a scheme's form; a frozen scheme's edit becomes its next version, which opens.
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "admin/grading/save")]
pub async fn save_grading_scheme(
    id: String,
    name: String,
    #[server(default)] source: String,
    #[server(default)] years_from: String,
    #[server(default)] years_to: String,
    #[server(default)] bands: Vec<BandRow>,
    #[server(default)] counted: String,
    #[server(default)] count: String,
    #[server(default)] divisions: Vec<DivisionRow>,
) -> Result<(), AppError> {
    let mut s = Scope::school(Permission::ResultsSetup).await?;
    let id = parse_uuid("id", &id)?;
    let form = kilele::results::setup::SchemeForm { name, source, years_from, years_to, bands, counted, count, divisions };
    let saved = kilele::results::db::save_scheme(&mut s.tx, id, &form, s.change.by()).await?;
    s.commit(()).await?;
    leptos_axum::redirect(&format!("/admin/grading/schemes/{saved}"));
    Ok(())
}
