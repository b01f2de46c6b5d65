//! Classes and subjects (school admin): levels, streams, class teachers, A-level
//! combinations, school subjects, level subjects and teacher allocations. Every function
//! needs `school.academics.manage`; every change is audited by the domain.

use crate::errors::AppError;
use kilele::academic::classes::ClassesView;
use kilele::academic::subjects::SubjectsView;
use leptos::prelude::*;

/// A teacher chosen in a select: empty means nobody.
#[cfg(feature = "ssr")]
fn optional_uuid(field: &str, value: &str) -> Result<Option<uuid::Uuid>, AppError> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        super::parse_uuid(field, value).map(Some)
    }
}

/// The school's levels with their streams and class teachers, the teachers to choose
/// from, and the A-level combinations (offered and available).
#[server(endpoint = "admin/classes")]
pub async fn load_classes() -> Result<ClassesView, AppError> {
    use kilele::identity::Permission;
    let (deps, _, tenant) = super::guard::school(Permission::SchoolAcademicsManage)?;
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    let view = kilele::academic::classes::db::overview(&mut tx).await?;
    tx.commit().await?;
    Ok(view)
}

/// Adds a level: `band` (primary, o_level, a_level) and its `ordinal` (Standard I = 1, Form 5 = 5).
#[server(endpoint = "admin/classes/add-level")]
pub async fn add_level(band: String, ordinal: String) -> Result<(), AppError> {
    use kilele::academic::classes;
    use kilele::identity::Permission;
    let (deps, me, tenant) = super::guard::school(Permission::SchoolAcademicsManage)?;
    let band = classes::parse_band(&band)?;
    let ordinal: i32 =
        ordinal.trim().parse().map_err(|_| AppError::Invalid { field: "ordinal".into(), message: "error-level-ordinal".into() })?;
    let change = super::changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    classes::db::add_level(&mut tx, tenant.id, band, ordinal, by).await?;
    tx.commit().await?;
    Ok(())
}

/// Adds a stream (Form 2C) to a level.
#[server(endpoint = "admin/classes/add-stream")]
pub async fn add_stream(level_id: String, name: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let (deps, me, tenant) = super::guard::school(Permission::SchoolAcademicsManage)?;
    let level = super::parse_uuid("level_id", &level_id)?;
    let change = super::changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    kilele::academic::classes::db::add_stream(&mut tx, tenant.id, level, &name, by).await?;
    tx.commit().await?;
    Ok(())
}

/// Sets a stream's class teacher (an empty `teacher_id` clears it).
#[server(endpoint = "admin/classes/class-teacher")]
pub async fn set_class_teacher(stream_id: String, teacher_id: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let (deps, me, tenant) = super::guard::school(Permission::SchoolAcademicsManage)?;
    let stream = super::parse_uuid("stream_id", &stream_id)?;
    let teacher = optional_uuid("teacher_id", &teacher_id)?;
    let change = super::changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    kilele::academic::classes::db::set_class_teacher(&mut tx, tenant.id, stream, teacher, by).await?;
    tx.commit().await?;
    Ok(())
}

/// Offers an A-level combination from the default list (PCM, HGL …).
#[server(endpoint = "admin/classes/add-combination")]
pub async fn add_combination(code: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let (deps, me, tenant) = super::guard::school(Permission::SchoolAcademicsManage)?;
    let change = super::changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    kilele::academic::classes::db::add_combination(&mut tx, tenant.id, &code, by).await?;
    tx.commit().await?;
    Ok(())
}

/// Stops offering a combination (refused while students take it).
#[server(endpoint = "admin/classes/remove-combination")]
pub async fn remove_combination(combination_id: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let (deps, me, tenant) = super::guard::school(Permission::SchoolAcademicsManage)?;
    let combination = super::parse_uuid("combination_id", &combination_id)?;
    let change = super::changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    kilele::academic::classes::db::remove_combination(&mut tx, tenant.id, combination, by).await?;
    tx.commit().await?;
    Ok(())
}

/// The school's subjects, what it can still add from the master list, the level subject
/// matrix and this year's allocations per stream.
#[server(endpoint = "admin/subjects")]
pub async fn load_subjects() -> Result<SubjectsView, AppError> {
    use kilele::identity::Permission;
    let (deps, _, tenant) = super::guard::school(Permission::SchoolAcademicsManage)?;
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    let view = kilele::academic::subjects::db::overview(&mut tx).await?;
    tx.commit().await?;
    Ok(view)
}

/// Adds a subject from the national master list by its code.
#[server(endpoint = "admin/subjects/add-master")]
pub async fn add_master_subject(code: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let (deps, me, tenant) = super::guard::school(Permission::SchoolAcademicsManage)?;
    let change = super::changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    kilele::academic::subjects::db::add_from_master(&mut tx, tenant.id, &code, by).await?;
    tx.commit().await?;
    Ok(())
}

/// Adds a subject of the school's own.
#[server(endpoint = "admin/subjects/add-custom")]
pub async fn add_custom_subject(code: String, name_en: String, name_sw: String) -> Result<(), AppError> {
    use kilele::academic::subjects::{self, CustomSubject};
    use kilele::identity::Permission;
    let (deps, me, tenant) = super::guard::school(Permission::SchoolAcademicsManage)?;
    let subject = CustomSubject::parse(&code, &name_en, &name_sw).map_err(kilele::DomainError::InvalidFields)?;
    let change = super::changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    subjects::db::add_custom(&mut tx, tenant.id, &subject, by).await?;
    tx.commit().await?;
    Ok(())
}

/// Sets how a level takes a subject: `compulsory`, `optional` or `none`.
#[server(endpoint = "admin/subjects/level")]
pub async fn set_level_subject(level_id: String, subject_id: String, mode: String) -> Result<(), AppError> {
    use kilele::academic::subjects::{self, SubjectMode};
    use kilele::identity::Permission;
    let (deps, me, tenant) = super::guard::school(Permission::SchoolAcademicsManage)?;
    let level = super::parse_uuid("level_id", &level_id)?;
    let subject = super::parse_uuid("subject_id", &subject_id)?;
    let mode = SubjectMode::parse(&mode)?;
    let change = super::changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    subjects::db::set_level_subject(&mut tx, tenant.id, level, subject, mode, by).await?;
    tx.commit().await?;
    Ok(())
}

/// Gives a subject in a stream to a teacher for the current academic year.
#[server(endpoint = "admin/subjects/allocate")]
pub async fn allocate_teacher(stream_id: String, subject_id: String, teacher_id: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let (deps, me, tenant) = super::guard::school(Permission::SchoolAcademicsManage)?;
    let stream = super::parse_uuid("stream_id", &stream_id)?;
    let subject = super::parse_uuid("subject_id", &subject_id)?;
    let teacher = optional_uuid("teacher_id", &teacher_id)?
        .ok_or_else(|| AppError::Invalid { field: "teacher_id".into(), message: "error-teacher-required".into() })?;
    let change = super::changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    kilele::academic::subjects::db::allocate(&mut tx, tenant.id, stream, subject, teacher, by).await?;
    tx.commit().await?;
    Ok(())
}

/// Takes a subject in a stream away from its teacher (current academic year).
#[server(endpoint = "admin/subjects/unallocate")]
pub async fn remove_allocation(stream_id: String, subject_id: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let (deps, me, tenant) = super::guard::school(Permission::SchoolAcademicsManage)?;
    let stream = super::parse_uuid("stream_id", &stream_id)?;
    let subject = super::parse_uuid("subject_id", &subject_id)?;
    let change = super::changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    kilele::academic::subjects::db::unallocate(&mut tx, tenant.id, stream, subject, by).await?;
    tx.commit().await?;
    Ok(())
}
