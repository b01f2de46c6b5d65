//! The admin's set-up of results: a class's (level's) assessments for a term, until marks
//! exist; the grading scheme it uses, until it is published; the school's own grading
//! schemes, copied from a preset or another scheme and edited, a frozen one by a new version.
//! Every change is audited in its transaction.
//!
//! Marks saves and publishing take a shared lock on the level's term set-up
//! ([`lock_setup`]); changing the assessments or the scheme takes it exclusively, so a save
//! never writes marks for assessments that were changed under it, and "no marks yet" stays
//! true until the change commits.

use super::setup::{class_term, store_term_setup, term_setup, TermSetup};
use crate::audit::actions;
use crate::db::TenantTx;
use crate::identity::store::ChangedBy;
use crate::results::setup::{free_key, AssessmentsForm, SchemeForm};
use crate::results::views::{LevelSetupView, SchemeChoice, SchemeSummary, SchemeView};
use crate::results::{presets, GradingScheme};
use crate::{DomainError, ValidationError};
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

/// How [`lock_setup`] locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupLock {
    /// Writers of marks and publishing: many at once.
    Shared,
    /// Changing the assessments or the scheme: alone.
    Exclusive,
}

/// Locks the level's term set-up until the transaction ends (a PostgreSQL advisory lock on
/// the pair of ids: rows that do not exist yet cannot be locked).
pub async fn lock_setup(tx: &mut TenantTx, term: Uuid, level: Uuid, how: SetupLock) -> Result<(), sqlx::Error> {
    let pair = term.as_u128() ^ level.as_u128().rotate_left(64);
    let key = i64::from_ne_bytes(((pair as u64) ^ ((pair >> 64) as u64)).to_ne_bytes());
    let sql = match how {
        SetupLock::Shared => "SELECT pg_advisory_xact_lock_shared($1)",
        SetupLock::Exclusive => "SELECT pg_advisory_xact_lock($1)",
    };
    sqlx::query(sql).bind(key).execute(&mut **tx).await?;
    Ok(())
}

fn internal(e: impl std::fmt::Display) -> DomainError {
    DomainError::Internal(e.to_string())
}

/// A term and a level, and what marking and grading them looks like now.
struct LevelTerm {
    term_label: String,
    level_name: String,
    year: i32,
    setup: TermSetup,
    marks_exist: bool,
    published: bool,
}

async fn level_term(tx: &mut TenantTx, term: Uuid, level: Uuid) -> Result<LevelTerm, DomainError> {
    let class = class_term(tx, term, level).await?;
    let setup = term_setup(tx, term, level, class.band, class.year).await?;
    Ok(LevelTerm {
        term_label: class.term_label,
        level_name: class.level_name,
        year: class.year,
        setup,
        marks_exist: class.marks_exist,
        published: class.published,
    })
}

/// The school's schemes, newest version of each key first within the key.
pub async fn list_schemes(tx: &mut TenantTx) -> Result<Vec<SchemeSummary>, DomainError> {
    Ok(stored_schemes(tx).await?.into_iter().map(|(summary, _)| summary).collect())
}

/// [`list_schemes`], each with its definition.
async fn stored_schemes(tx: &mut TenantTx) -> Result<Vec<(SchemeSummary, GradingScheme)>, DomainError> {
    let rows = sqlx::query(
        "SELECT gs.id, gs.key, gs.version, gs.name, gs.definition, gs.frozen,
                (SELECT count(*) FROM term_assessments ta WHERE ta.scheme_id = gs.id) AS in_use,
                gs.version = max(gs.version) OVER (PARTITION BY gs.key) AS latest
           FROM grading_schemes gs
          ORDER BY gs.name, gs.key, gs.version DESC",
    )
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter()
        .map(|r| {
            let scheme: GradingScheme = serde_json::from_value(r.try_get("definition")?).map_err(internal)?;
            let summary = SchemeSummary {
                id: r.try_get("id")?,
                key: r.try_get("key")?,
                version: u32::try_from(r.try_get::<i32, _>("version")?).unwrap_or(0),
                name: r.try_get("name")?,
                source: scheme.source().to_owned(),
                frozen: r.try_get("frozen")?,
                in_use: r.try_get("in_use")?,
                latest: r.try_get("latest")?,
            };
            Ok((summary, scheme))
        })
        .collect()
}

/// One stored scheme, with the form to edit it (`NotFound`: not this school's).
pub async fn scheme_view(tx: &mut TenantTx, id: Uuid) -> Result<SchemeView, DomainError> {
    let list = list_schemes(tx).await?;
    let summary = list.iter().find(|s| s.id == id).cloned().ok_or(DomainError::NotFound)?;
    let newest = list.iter().find(|s| s.key == summary.key && s.latest).map(|s| s.id).filter(|n| *n != id);
    let (_, scheme) = stored_scheme(tx, id, false).await?;
    Ok(SchemeView { form: SchemeForm::of(&scheme), scheme, summary, newest })
}

/// A stored scheme and whether it is frozen; locked for an edit when `lock`.
async fn stored_scheme(tx: &mut TenantTx, id: Uuid, lock: bool) -> Result<(bool, GradingScheme), DomainError> {
    let sql = if lock {
        "SELECT definition, frozen FROM grading_schemes WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT definition, frozen FROM grading_schemes WHERE id = $1"
    };
    let row = sqlx::query(sql).bind(id).fetch_optional(&mut **tx).await?.ok_or(DomainError::NotFound)?;
    let scheme: GradingScheme = serde_json::from_value(row.try_get("definition")?).map_err(internal)?;
    let frozen: bool = row.try_get("frozen")?;
    Ok((frozen, if frozen { scheme.freeze() } else { scheme }))
}

async fn insert_scheme(tx: &mut TenantTx, scheme: &GradingScheme) -> Result<Uuid, DomainError> {
    let tenant = tx.tenant();
    let definition = serde_json::to_value(scheme).map_err(internal)?;
    sqlx::query_scalar("INSERT INTO grading_schemes (tenant_id, key, version, name, definition) VALUES ($1, $2, $3, $4, $5) RETURNING id")
        .bind(tenant.0)
        .bind(scheme.key())
        .bind(i32::try_from(scheme.version()).map_err(internal)?)
        .bind(scheme.name())
        .bind(&definition)
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| crate::db::map_constraint_on(e, Some("scheme")))
}

/// Where a copy comes from: a built-in preset (by key) or one of the school's schemes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemeOrigin {
    Preset(String),
    Stored(Uuid),
}

impl SchemeOrigin {
    /// `preset:<key>` or a stored scheme's id, as the forms post it.
    pub fn parse(text: &str) -> Option<Self> {
        match text.strip_prefix("preset:") {
            Some(key) => presets::preset(key).map(|_| Self::Preset(key.to_owned())),
            None => Uuid::parse_str(text).ok().map(Self::Stored),
        }
    }
}

async fn origin_scheme(tx: &mut TenantTx, origin: &SchemeOrigin) -> Result<GradingScheme, DomainError> {
    match origin {
        SchemeOrigin::Preset(key) => presets::preset(key).ok_or(DomainError::NotFound),
        SchemeOrigin::Stored(id) => Ok(stored_scheme(tx, *id, false).await?.1),
    }
}

/// Copies a preset or a stored scheme as the school's own scheme named `name` (version 1,
/// a key made from the name), to be edited. Returns its id.
pub async fn copy_scheme(tx: &mut TenantTx, origin: &SchemeOrigin, name: &str, by: ChangedBy<'_>) -> Result<Uuid, DomainError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(ValidationError::new("name", "error-scheme-name-required").into());
    }
    let from = origin_scheme(tx, origin).await?;
    let taken: Vec<String> = sqlx::query_scalar("SELECT DISTINCT key FROM grading_schemes").fetch_all(&mut **tx).await?;
    let taken: Vec<String> = taken.into_iter().chain(presets::PRESET_KEYS.iter().map(|k| (*k).to_owned())).collect();
    let mut draft = from.draft();
    draft.key = free_key(name, &taken);
    draft.name = name.to_owned();
    draft.version = 1;
    draft.frozen = false;
    let copy = GradingScheme::parse(draft)?;
    let id = insert_scheme(tx, &copy).await?;
    by.audit(
        tx,
        actions::GRADING_SCHEME_COPIED,
        &id.to_string(),
        json!({ "key": copy.key(), "name": copy.name(), "from": from.key(), "from_version": from.version() }),
    )
    .await?;
    Ok(id)
}

/// Saves the form into a stored scheme. A frozen scheme (results were published with it) is
/// not changed: the edit becomes its next version, which is returned; otherwise the same id.
pub async fn save_scheme(tx: &mut TenantTx, id: Uuid, form: &SchemeForm, by: ChangedBy<'_>) -> Result<Uuid, DomainError> {
    let (frozen, current) = stored_scheme(tx, id, true).await?;
    let (saved_id, saved) = if frozen {
        let latest: i32 =
            sqlx::query_scalar("SELECT max(version) FROM grading_schemes WHERE key = $1").bind(current.key()).fetch_one(&mut **tx).await?;
        let mut draft = form.draft(&current)?;
        draft.version = u32::try_from(latest).map_err(internal)?.saturating_add(1);
        draft.frozen = false;
        let next = GradingScheme::parse(draft)?;
        (insert_scheme(tx, &next).await?, next)
    } else {
        let edited = current.edit(form.draft(&current)?)?;
        let definition = serde_json::to_value(&edited).map_err(internal)?;
        sqlx::query("UPDATE grading_schemes SET name = $2, definition = $3 WHERE id = $1")
            .bind(id)
            .bind(edited.name())
            .bind(&definition)
            .execute(&mut **tx)
            .await?;
        (id, edited)
    };
    by.audit(
        tx,
        actions::GRADING_SCHEME_SAVED,
        &saved_id.to_string(),
        json!({ "key": saved.key(), "version": saved.version(), "new_version": frozen, "definition": saved }),
    )
    .await?;
    Ok(saved_id)
}

/// The schemes a level's term may use: the school's newest versions (and the one in use), and
/// the presets the school has not stored yet; each only if it is valid for the exam year.
async fn choices(tx: &mut TenantTx, year: i32, current: Option<Uuid>) -> Result<Vec<SchemeChoice>, DomainError> {
    let year = u16::try_from(year).unwrap_or(0);
    let stored = stored_schemes(tx).await?;
    let mut out = Vec::new();
    for (s, scheme) in &stored {
        let in_use = Some(s.id) == current;
        if (s.latest && scheme.valid_for_year(year)) || in_use {
            out.push(SchemeChoice { value: s.id.to_string(), name: s.name.clone(), version: s.version, preset: false });
        }
    }
    for key in presets::PRESET_KEYS {
        let Some(p) = presets::preset(key) else { continue };
        let have = stored.iter().any(|(s, _)| s.key == p.key() && s.version == p.version());
        if !have && p.valid_for_year(year) {
            out.push(SchemeChoice { value: format!("preset:{key}"), name: p.name().to_owned(), version: p.version(), preset: true });
        }
    }
    Ok(out)
}

/// A level's term set-up as the admin's page shows it.
pub async fn level_setup(tx: &mut TenantTx, term: Uuid, level: Uuid) -> Result<LevelSetupView, DomainError> {
    let lt = level_term(tx, term, level).await?;
    let choices = choices(tx, lt.year, lt.setup.scheme_id).await?;
    let chosen = match lt.setup.scheme_id {
        Some(id) => id.to_string(),
        None => format!("preset:{}", lt.setup.scheme.key()),
    };
    Ok(LevelSetupView {
        term_id: term,
        level_id: level,
        term_label: lt.term_label,
        class_name: lt.level_name,
        assessments: AssessmentsForm::of(&lt.setup.assessments),
        scheme: lt.setup.scheme,
        chosen,
        choices,
        marks_exist: lt.marks_exist,
        published: lt.published,
    })
}

/// Sets a level's assessments for the term. Refused once any mark of the level's term is
/// stored (`assessments`: `results-error-marks-exist`, 409): the marks were typed against
/// the old ones.
pub async fn save_assessments(
    tx: &mut TenantTx,
    term: Uuid,
    level: Uuid,
    form: &AssessmentsForm,
    by: ChangedBy<'_>,
) -> Result<(), DomainError> {
    lock_setup(tx, term, level, SetupLock::Exclusive).await?;
    let lt = level_term(tx, term, level).await?;
    if lt.marks_exist || lt.published {
        return Err(DomainError::conflict("assessments", "results-error-marks-exist"));
    }
    let set = form.parse(&lt.setup.assessments)?;
    if !lt.setup.stored {
        store_term_setup(tx, term, level, &lt.setup).await?;
    }
    let definition = serde_json::to_value(&set).map_err(internal)?;
    sqlx::query("UPDATE term_assessments SET definition = $3 WHERE term_id = $1 AND level_id = $2")
        .bind(term)
        .bind(level)
        .bind(&definition)
        .execute(&mut **tx)
        .await?;
    audit_class_term(tx, by, actions::RESULTS_ASSESSMENTS_SET, term, level, json!({ "before": lt.setup.assessments, "after": set })).await
}

/// Sets the grading scheme of a level's term (`choice`: a stored scheme's id or
/// `preset:<key>`, which is stored first). Refused once the term is published (409), or when
/// the scheme is not valid for the term's exam year (`scheme`: `error-scheme-wrong-year`).
pub async fn choose_scheme(tx: &mut TenantTx, term: Uuid, level: Uuid, choice: &str, by: ChangedBy<'_>) -> Result<(), DomainError> {
    lock_setup(tx, term, level, SetupLock::Exclusive).await?;
    let lt = level_term(tx, term, level).await?;
    if lt.published {
        return Err(DomainError::conflict("scheme", "results-error-already-published"));
    }
    let origin = SchemeOrigin::parse(choice).ok_or(DomainError::NotFound)?;
    let scheme = origin_scheme(tx, &origin).await?;
    if !scheme.valid_for_year(u16::try_from(lt.year).unwrap_or(0)) {
        return Err(ValidationError::new("scheme", "error-scheme-wrong-year").into());
    }
    let scheme_id = match origin {
        SchemeOrigin::Stored(id) => id,
        SchemeOrigin::Preset(_) => store_preset(tx, &scheme).await?,
    };
    // The term's row: made with the assessments in force if this is its first change.
    let assessments = serde_json::to_value(&lt.setup.assessments).map_err(internal)?;
    sqlx::query(
        "INSERT INTO term_assessments (tenant_id, term_id, level_id, definition, scheme_id) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, term_id, level_id) DO UPDATE SET scheme_id = EXCLUDED.scheme_id",
    )
    .bind(tx.tenant().0)
    .bind(term)
    .bind(level)
    .bind(&assessments)
    .bind(scheme_id)
    .execute(&mut **tx)
    .await?;
    let details = json!({ "before": lt.setup.scheme.key(), "before_version": lt.setup.scheme.version(),
                          "after": scheme.key(), "after_version": scheme.version(), "scheme_id": scheme_id });
    audit_class_term(tx, by, actions::RESULTS_SCHEME_CHOSEN, term, level, details).await
}

/// Audits a change of a level's term set-up: the subject `term/level`, and the term and
/// the level in the details with the change's own.
async fn audit_class_term(
    tx: &mut TenantTx,
    by: ChangedBy<'_>,
    action: actions::Action,
    term: Uuid,
    level: Uuid,
    change: serde_json::Value,
) -> Result<(), DomainError> {
    let mut details = json!({ "term": term, "level": level });
    if let (Some(all), serde_json::Value::Object(change)) = (details.as_object_mut(), change) {
        all.extend(change);
    }
    by.audit(tx, action, &format!("{term}/{level}"), details).await?;
    Ok(())
}

/// A preset's row in the school's schemes (made once, by key and version).
async fn store_preset(tx: &mut TenantTx, scheme: &GradingScheme) -> Result<Uuid, DomainError> {
    let existing: Option<Uuid> = sqlx::query_scalar("SELECT id FROM grading_schemes WHERE key = $1 AND version = $2")
        .bind(scheme.key())
        .bind(i32::try_from(scheme.version()).map_err(internal)?)
        .fetch_optional(&mut **tx)
        .await?;
    match existing {
        Some(id) => Ok(id),
        None => insert_scheme(tx, scheme).await,
    }
}
