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
    let mut s = super::scope::Scope::school(Permission::SchoolAcademicsManage).await?;
    let view = kilele::academic::classes::db::overview(&mut s.tx).await?;
    s.end_read(view)
}

/// Adds a level: `band` (primary, o_level, a_level) and its `ordinal` (Standard I = 1, Form 5 = 5).
#[server(endpoint = "admin/classes/add-level")]
pub async fn add_level(band: String, ordinal: String) -> Result<(), AppError> {
    use kilele::academic::classes;
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::SchoolAcademicsManage).await?;
    let band = classes::parse_band(&band)?;
    let ordinal: i32 =
        ordinal.trim().parse().map_err(|_| AppError::Invalid { field: "ordinal".into(), message: "error-level-ordinal".into() })?;
    classes::db::add_level(&mut s.tx, band, ordinal, s.change.by()).await?;
    s.commit(()).await
}

/// Adds a stream (Form 2C) to a level.
#[server(endpoint = "admin/classes/add-stream")]
pub async fn add_stream(level_id: String, name: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::SchoolAcademicsManage).await?;
    let level = super::parse_uuid("level_id", &level_id)?;
    kilele::academic::classes::db::add_stream(&mut s.tx, level, &name, s.change.by()).await?;
    s.commit(()).await
}

/// Sets a stream's class teacher (an empty `teacher_id` clears it).
#[server(endpoint = "admin/classes/class-teacher")]
pub async fn set_class_teacher(stream_id: String, teacher_id: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::SchoolAcademicsManage).await?;
    let stream = super::parse_uuid("stream_id", &stream_id)?;
    let teacher = optional_uuid("teacher_id", &teacher_id)?;
    kilele::academic::classes::db::set_class_teacher(&mut s.tx, stream, teacher, s.change.by()).await?;
    s.commit(()).await
}

/// Offers an A-level combination from the default list (PCM, HGL …).
#[server(endpoint = "admin/classes/add-combination")]
pub async fn add_combination(code: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::SchoolAcademicsManage).await?;
    kilele::academic::classes::db::add_combination(&mut s.tx, &code, s.change.by()).await?;
    s.commit(()).await
}

/// Stops offering a combination (refused while students take it).
#[server(endpoint = "admin/classes/remove-combination")]
pub async fn remove_combination(combination_id: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::SchoolAcademicsManage).await?;
    let combination = super::parse_uuid("combination_id", &combination_id)?;
    kilele::academic::classes::db::remove_combination(&mut s.tx, combination, s.change.by()).await?;
    s.commit(()).await
}

/// The school's subjects, what it can still add from the master list, the level subject
/// matrix and this year's allocations per stream.
#[server(endpoint = "admin/subjects")]
pub async fn load_subjects() -> Result<SubjectsView, AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::SchoolAcademicsManage).await?;
    let view = kilele::academic::subjects::db::overview(&mut s.tx).await?;
    s.end_read(view)
}

/// Adds a subject from the national master list by its code.
#[server(endpoint = "admin/subjects/add-master")]
pub async fn add_master_subject(code: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::SchoolAcademicsManage).await?;
    kilele::academic::subjects::db::add_from_master(&mut s.tx, &code, s.change.by()).await?;
    s.commit(()).await
}

/// Adds a subject of the school's own.
#[server(endpoint = "admin/subjects/add-custom")]
pub async fn add_custom_subject(code: String, name_en: String, name_sw: String) -> Result<(), AppError> {
    use kilele::academic::subjects::{self, CustomSubject};
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::SchoolAcademicsManage).await?;
    let subject = CustomSubject::parse(&code, &name_en, &name_sw).map_err(kilele::DomainError::InvalidFields)?;
    subjects::db::add_custom(&mut s.tx, &subject, s.change.by()).await?;
    s.commit(()).await
}

/// Sets how a level takes a subject: `compulsory`, `optional` or `none`.
#[server(endpoint = "admin/subjects/level")]
pub async fn set_level_subject(level_id: String, subject_id: String, mode: String) -> Result<(), AppError> {
    use kilele::academic::subjects::{self, SubjectMode};
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::SchoolAcademicsManage).await?;
    let level = super::parse_uuid("level_id", &level_id)?;
    let subject = super::parse_uuid("subject_id", &subject_id)?;
    let mode = SubjectMode::parse(&mode)?;
    subjects::db::set_level_subject(&mut s.tx, level, subject, mode, s.change.by()).await?;
    s.commit(()).await
}

/// Gives a subject in a stream to a teacher for the current academic year.
#[server(endpoint = "admin/subjects/allocate")]
pub async fn allocate_teacher(stream_id: String, subject_id: String, teacher_id: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::SchoolAcademicsManage).await?;
    let stream = super::parse_uuid("stream_id", &stream_id)?;
    let subject = super::parse_uuid("subject_id", &subject_id)?;
    let teacher = optional_uuid("teacher_id", &teacher_id)?
        .ok_or_else(|| AppError::Invalid { field: "teacher_id".into(), message: "error-teacher-required".into() })?;
    kilele::academic::subjects::db::allocate(&mut s.tx, stream, subject, teacher, s.change.by()).await?;
    s.commit(()).await
}

/// Takes a subject in a stream away from its teacher (current academic year).
#[server(endpoint = "admin/subjects/unallocate")]
pub async fn remove_allocation(stream_id: String, subject_id: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::SchoolAcademicsManage).await?;
    let stream = super::parse_uuid("stream_id", &stream_id)?;
    let subject = super::parse_uuid("subject_id", &subject_id)?;
    kilele::academic::subjects::db::unallocate(&mut s.tx, stream, subject, s.change.by()).await?;
    s.commit(()).await
}
