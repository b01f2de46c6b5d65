//! Students and guardians (school admin console). Reading needs `students.read`, changes
//! `students.manage`; protected personal data is decrypted only for `students.pii.read`.

use crate::errors::AppError;
use kilele::academic::students::{StudentDetail, StudentFormOptions, StudentPage};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::parse_uuid;

/// Longest search text looked at.
#[cfg(feature = "ssr")]
const MAX_QUERY_CHARS: usize = 100;

/// Every problem of a form at once.
#[cfg(feature = "ssr")]
fn invalid(errors: Vec<kilele::ValidationError>) -> AppError {
    AppError::from(kilele::DomainError::InvalidFields(errors))
}

/// A student id from a URL or form; anything unreadable is simply not found.
#[cfg(feature = "ssr")]
fn student_id(value: &str) -> Result<uuid::Uuid, AppError> {
    value.trim().parse().map_err(|_| AppError::NotFound)
}

/// One page of the school's students, or of those matching `q` (name, admission number or
/// guardian phone).
#[server(endpoint = "admin/students")]
pub async fn search_students(q: String, page: String) -> Result<StudentPage, AppError> {
    use kilele::academic::students;
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::StudentsRead).await?;
    let q: String = q.chars().take(MAX_QUERY_CHARS).collect();
    let found = students::db::search(&mut s.tx, &s.deps.pii, &q, students::parse_page(&page)).await?;
    s.end_read(found)
}

/// What the add-student and enrolment forms offer: the next admission number, the classes
/// and the years.
#[server(endpoint = "admin/students/options")]
pub async fn load_student_form() -> Result<StudentFormOptions, AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::StudentsRead).await?;
    let this_year = chrono::Datelike::year(&s.deps.clock.now().date_naive());
    let options = kilele::academic::students::db::form_options(&mut s.tx, this_year).await?;
    s.end_read(options)
}

/// One student with enrolments, guardians and siblings. Protected data is shown only to
/// users holding `students.pii.read`.
#[server(endpoint = "admin/students/detail")]
pub async fn load_student(id: String) -> Result<StudentDetail, AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::StudentsRead).await?;
    let student = student_id(&id)?;
    let reveal = s.me.can(Permission::StudentsPiiRead);
    let detail = kilele::academic::students::db::detail(&mut s.tx, &s.deps.pii, student, reveal).await?;
    s.end_read(detail)
}

/// Adds a student with their first guardian (who receives SMS). A plain form post lands on
/// the new student's page.
#[server(endpoint = "admin/students/add")]
#[allow(clippy::too_many_arguments)]
pub async fn add_student(
    admission_no: String,
    first_name: String,
    middle_name: Option<String>,
    last_name: String,
    sex: String,
    date_of_birth: Option<String>,
    stream: Option<String>,
    national_id: Option<String>,
    medical_notes: Option<String>,
    guardian_name: String,
    guardian_relationship: Option<String>,
    guardian_phone: String,
    guardian_email: Option<String>,
) -> Result<(), AppError> {
    use kilele::academic::students::{self, GuardianInput, StudentInput};
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::StudentsManage).await?;
    let today = s.deps.clock.now().date_naive();
    let input = StudentInput {
        admission_no: &admission_no,
        first_name: &first_name,
        middle_name: middle_name.as_deref().unwrap_or_default(),
        last_name: &last_name,
        sex: &sex,
        date_of_birth: date_of_birth.as_deref().unwrap_or_default(),
        national_id: national_id.as_deref().unwrap_or_default(),
        medical_notes: medical_notes.as_deref().unwrap_or_default(),
    };
    let guardian = GuardianInput {
        name: &guardian_name,
        relationship: guardian_relationship.as_deref().unwrap_or_default(),
        phone: &guardian_phone,
        email: guardian_email.as_deref().unwrap_or_default(),
        receives_sms: true,
    };
    let stream = match stream.as_deref().map(str::trim).unwrap_or_default() {
        "" => None,
        s => Some(parse_uuid("stream", s)?),
    };
    let (student, guardian) = match (students::check_student(&input, today), students::check_guardian(&guardian)) {
        (Ok(s), Ok(g)) => (s, g),
        (s, g) => return Err(invalid(s.err().into_iter().flatten().chain(g.err().into_iter().flatten()).collect())),
    };
    let id = students::db::add_student(&mut s.tx, &s.deps.pii, &student, stream, &guardian, s.change.by()).await?;
    s.commit(()).await?;
    leptos_axum::redirect(&format!("/admin/students/{id}"));
    Ok(())
}

/// Changes a student's status; leaving (transferred, graduated, left) needs a reason.
#[server(endpoint = "admin/students/status")]
pub async fn change_student_status(student: String, status: String, reason: Option<String>) -> Result<(), AppError> {
    use kilele::academic::students;
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::StudentsManage).await?;
    let student = student_id(&student)?;
    let (status, reason) = students::check_status(&status, reason.as_deref().unwrap_or_default()).map_err(invalid)?;
    students::db::change_status(&mut s.tx, student, status, reason.as_deref(), s.change.by()).await?;
    s.commit(()).await
}

/// Enrols a student in a class for an academic year (kept as history).
#[server(endpoint = "admin/students/enrol")]
pub async fn enrol_student(student: String, year: String, stream: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::StudentsManage).await?;
    let student = student_id(&student)?;
    let year = parse_uuid("year", &year)?;
    let stream =
        parse_uuid("stream", &stream).map_err(|_| AppError::Invalid { field: "stream".into(), message: "error-class-required".into() })?;
    kilele::academic::students::db::enrol(&mut s.tx, student, year, stream, s.change.by()).await?;
    s.commit(()).await
}

/// Links a guardian to a student. A phone number already in the school links that
/// guardian (a sibling's) instead of adding a second one.
#[server(endpoint = "admin/students/guardians/link")]
pub async fn link_guardian(
    student: String,
    guardian_name: String,
    guardian_relationship: Option<String>,
    guardian_phone: String,
    guardian_email: Option<String>,
    receives_sms: Option<String>,
) -> Result<(), AppError> {
    use kilele::academic::students::{self, GuardianInput};
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::StudentsManage).await?;
    let student = student_id(&student)?;
    let guardian = students::check_guardian(&GuardianInput {
        name: &guardian_name,
        relationship: guardian_relationship.as_deref().unwrap_or_default(),
        phone: &guardian_phone,
        email: guardian_email.as_deref().unwrap_or_default(),
        receives_sms: receives_sms.is_some_and(|v| !v.is_empty() && v != "false"),
    })
    .map_err(invalid)?;
    students::db::link_guardian(&mut s.tx, &s.deps.pii, student, &guardian, s.change.by()).await?;
    s.commit(()).await
}

/// Unlinks a guardian from a student (the guardian stays for their other children).
#[server(endpoint = "admin/students/guardians/unlink")]
pub async fn unlink_guardian(student: String, guardian: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::StudentsManage).await?;
    let student = student_id(&student)?;
    let guardian = student_id(&guardian)?;
    kilele::academic::students::db::unlink_guardian(&mut s.tx, student, guardian, s.change.by()).await?;
    s.commit(()).await
}

/// Turns SMS on (`receives_sms` = `true`) or off for one of a student's guardians.
#[server(endpoint = "admin/students/guardians/sms")]
pub async fn set_guardian_sms(student: String, guardian: String, receives_sms: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::StudentsManage).await?;
    let student = student_id(&student)?;
    let guardian = student_id(&guardian)?;
    let on = match receives_sms.trim() {
        "true" => true,
        "false" => false,
        _ => return Err(AppError::Invalid { field: "receives_sms".into(), message: "error-sms-invalid".into() }),
    };
    kilele::academic::students::db::set_sms(&mut s.tx, student, guardian, on, s.change.by()).await?;
    s.commit(()).await
}

/// Sets the school's admission-number prefix and pattern, e.g. `KHSS` and
/// `{PREFIX}/{YYYY}/{NNNN}`. A school setting: needs `school.settings.manage`.
#[server(endpoint = "admin/students/admission-format")]
pub async fn set_admission_format(admission_prefix: String, admission_format: String) -> Result<(), AppError> {
    use kilele::academic::students;
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::SchoolSettingsManage).await?;
    let (prefix, format) = students::check_admission_format(&admission_prefix, &admission_format).map_err(invalid)?;
    students::db::set_admission_format(&mut s.tx, &prefix, &format, s.change.by()).await?;
    s.commit(()).await
}

/// Corrects a student's details. The national ID and medical notes are changed only by
/// users holding `students.pii.read` (others cannot see them, so they are left as stored).
#[server(endpoint = "admin/students/update")]
#[allow(clippy::too_many_arguments)]
pub async fn update_student(
    student: String,
    admission_no: String,
    first_name: String,
    middle_name: Option<String>,
    last_name: String,
    sex: String,
    date_of_birth: Option<String>,
    national_id: Option<String>,
    medical_notes: Option<String>,
) -> Result<(), AppError> {
    use kilele::academic::students::{self, StudentInput};
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::StudentsManage).await?;
    let student = student_id(&student)?;
    let with_pii = s.me.can(Permission::StudentsPiiRead);
    let input = StudentInput {
        admission_no: &admission_no,
        first_name: &first_name,
        middle_name: middle_name.as_deref().unwrap_or_default(),
        last_name: &last_name,
        sex: &sex,
        date_of_birth: date_of_birth.as_deref().unwrap_or_default(),
        national_id: if with_pii { national_id.as_deref().unwrap_or_default() } else { "" },
        medical_notes: if with_pii { medical_notes.as_deref().unwrap_or_default() } else { "" },
    };
    let checked = students::check_student(&input, s.deps.clock.now().date_naive()).map_err(invalid)?;
    students::db::update_student(&mut s.tx, &s.deps.pii, student, &checked, with_pii, s.change.by()).await?;
    s.commit(()).await
}
