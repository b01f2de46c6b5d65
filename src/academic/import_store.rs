//! Student imports against the database: keep the upload (encrypted), preview it, then
//! write every row in one transaction — all or nothing. The file format and row checks are
//! in [`super::import`].

use super::import::{self, FileKind, Preview, StudentRow};
use super::store::GUARDIAN_PHONE;
use super::{ImportPreview, ImportRowError};
use crate::audit;
use crate::audit::pii::{Aad, KeyRing};
use crate::db::TenantTx;
use crate::identity::store::ChangedBy;
use crate::{DomainError, ValidationError};
use base64::Engine;
use chrono::NaiveDate;
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Largest file accepted (a 20,000-row XLSX is about 1.5 MB).
pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;
const CONTENT_FIELD: &str = "import_uploads.content";

/// Keeps an uploaded file until it is previewed and confirmed. Refuses what is not a
/// spreadsheet or is too large, before storing anything.
pub async fn save_upload(tx: &mut TenantTx, pii: &KeyRing, uploaded_by: Uuid, file_name: &str, bytes: &[u8]) -> Result<Uuid, DomainError> {
    let tenant = tx.tenant();
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(ValidationError::new("file", "import-error-too-large").into());
    }
    let kind = import::detect(file_name, bytes).ok_or_else(|| ValidationError::new("file", "import-error-not-a-spreadsheet"))?;
    sqlx::query("DELETE FROM import_uploads WHERE created_at < now() - interval '1 day'").execute(&mut **tx).await?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let sealed = pii.encrypt(&encoded, &Aad::new(tenant.0, CONTENT_FIELD))?;
    let name: String = file_name.chars().filter(|c| !c.is_control()).take(200).collect();
    Ok(sqlx::query_scalar(
        "INSERT INTO import_uploads (tenant_id, uploaded_by, file_name, kind, content_enc) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(tenant.0)
    .bind(uploaded_by)
    .bind(name)
    .bind(match kind {
        FileKind::Csv => "csv",
        FileKind::Xlsx => "xlsx",
    })
    .bind(sealed)
    .fetch_one(&mut **tx)
    .await?)
}

struct Upload {
    file_name: String,
    kind: FileKind,
    content: Option<Vec<u8>>,
    imported: Option<i32>,
}

async fn load_upload(tx: &mut TenantTx, pii: &KeyRing, id: Uuid) -> Result<Upload, DomainError> {
    let tenant = tx.tenant();
    let row = sqlx::query("SELECT file_name, kind, content_enc, imported FROM import_uploads WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(DomainError::NotFound)?;
    let sealed: Option<Vec<u8>> = row.try_get("content_enc")?;
    let content = match sealed {
        None => None,
        Some(sealed) => {
            let encoded = pii.decrypt(&sealed, &Aad::new(tenant.0, CONTENT_FIELD))?;
            Some(
                base64::engine::general_purpose::STANDARD
                    .decode(encoded.as_bytes())
                    .map_err(|_| DomainError::Internal("stored upload is not base64".into()))?,
            )
        }
    };
    let kind: String = row.try_get("kind")?;
    Ok(Upload {
        file_name: row.try_get("file_name")?,
        kind: if kind == "csv" { FileKind::Csv } else { FileKind::Xlsx },
        content,
        imported: row.try_get("imported")?,
    })
}

/// The classes students can be put in: this year's streams, by their display name.
async fn classes(tx: &mut TenantTx) -> Result<HashMap<String, Uuid>, sqlx::Error> {
    let rows = sqlx::query("SELECT s.id, l.name AS level, s.name AS stream FROM streams s JOIN levels l ON l.id = s.level_id")
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|r| Ok((super::class_name(&r.try_get::<String, _>("level")?, &r.try_get::<String, _>("stream")?), r.try_get("id")?)))
        .collect()
}

async fn existing_admission_nos(tx: &mut TenantTx) -> Result<HashSet<String>, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, String>("SELECT admission_no FROM students").fetch_all(&mut **tx).await?.into_iter().collect())
}

async fn check(
    tx: &mut TenantTx,
    upload: &Upload,
    today: NaiveDate,
) -> Result<(Result<Preview, import::FileError>, HashMap<String, Uuid>), DomainError> {
    let classes = classes(tx).await?;
    let existing = existing_admission_nos(tx).await?;
    let names: Vec<String> = classes.keys().cloned().collect();
    let content = upload.content.as_deref().unwrap_or_default();
    let preview = import::read(upload.kind, content).map(|rows| import::validate(rows, &names, &existing, today));
    Ok((preview, classes))
}

fn file_error_detail(e: &import::FileError) -> String {
    match e {
        import::FileError::MissingColumns(cols) => cols.join(", "),
        import::FileError::DuplicateColumn(col) => col.clone(),
        import::FileError::TooManyRows => import::MAX_ROWS.to_string(),
        _ => String::new(),
    }
}

/// Reads and checks an upload without writing anything.
pub async fn preview(tx: &mut TenantTx, pii: &KeyRing, id: Uuid, today: NaiveDate) -> Result<ImportPreview, DomainError> {
    let upload = load_upload(tx, pii, id).await?;
    let mut out = ImportPreview {
        upload_id: id,
        file_name: upload.file_name.clone(),
        file_error: None,
        file_error_detail: String::new(),
        rows_ok: 0,
        errors: vec![],
        imported: upload.imported,
    };
    if upload.imported.is_some() {
        return Ok(out);
    }
    match check(tx, &upload, today).await?.0 {
        Ok(p) => {
            out.rows_ok = p.rows.len();
            out.errors =
                p.errors.into_iter().map(|e| ImportRowError { line: e.line, field: e.field, message: e.message, value: e.value }).collect();
        }
        Err(e) => {
            out.file_error = Some(e.message().to_owned());
            out.file_error_detail = file_error_detail(&e);
        }
    }
    Ok(out)
}

/// Why a commit wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum CommitRefused {
    #[error("the file has errors")]
    HasErrors,
    #[error("already imported")]
    AlreadyImported,
    #[error("no current academic year")]
    NoCurrentYear,
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<sqlx::Error> for CommitRefused {
    fn from(e: sqlx::Error) -> Self {
        Self::Domain(e.into())
    }
}

/// Writes every student of the upload, with guardians (an existing guardian with the same
/// phone is linked, not duplicated — siblings), sibling links and this year's enrolment.
/// Checked again first; any error and nothing is written. Returns how many were imported.
pub async fn commit(tx: &mut TenantTx, pii: &KeyRing, id: Uuid, by: ChangedBy<'_>) -> Result<usize, CommitRefused> {
    let tenant = tx.tenant();
    let today = by.at.date_naive();
    // Lock the upload so a double-click cannot import twice.
    sqlx::query("SELECT 1 FROM import_uploads WHERE id = $1 FOR UPDATE").bind(id).fetch_optional(&mut **tx).await?;
    let upload = load_upload(tx, pii, id).await?;
    if upload.imported.is_some() {
        return Err(CommitRefused::AlreadyImported);
    }
    let year: Uuid = sqlx::query_scalar("SELECT id FROM academic_years WHERE is_current")
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(CommitRefused::NoCurrentYear)?;
    let (checked, classes) = check(tx, &upload, today).await?;
    let preview = checked.map_err(|_| CommitRefused::HasErrors)?;
    if !preview.is_clean() || preview.rows.is_empty() {
        return Err(CommitRefused::HasErrors);
    }
    let rows: &[StudentRow] = &preview.rows;

    // Guardians: one per distinct phone; an existing guardian with that phone is reused.
    let phone_index = |phone: &str| pii.blind_index(tenant.0, GUARDIAN_PHONE, phone);
    let mut wanted: HashMap<Vec<u8>, &import::GuardianRow> = HashMap::new();
    for g in rows.iter().flat_map(|r| r.guardians.iter()) {
        wanted.entry(phone_index(g.phone.as_str())).or_insert(g);
    }
    let indexes: Vec<Vec<u8>> = wanted.keys().cloned().collect();
    let mut guardian_ids: HashMap<Vec<u8>, Uuid> = HashMap::new();
    for r in sqlx::query("SELECT DISTINCT ON (phone_bidx) phone_bidx, id FROM guardians WHERE phone_bidx = ANY($1) ORDER BY phone_bidx, id")
        .bind(&indexes)
        .fetch_all(&mut **tx)
        .await?
    {
        guardian_ids.insert(r.try_get("phone_bidx")?, r.try_get("id")?);
    }
    let (mut g_names, mut g_phones, mut g_idx, mut g_emails) = (vec![], vec![], vec![], vec![]);
    for (idx, g) in &wanted {
        if guardian_ids.contains_key(idx) {
            continue;
        }
        g_names.push(g.name.clone());
        g_phones.push(pii.encrypt(g.phone.as_str(), &Aad::new(tenant.0, GUARDIAN_PHONE)).map_err(DomainError::from)?);
        g_idx.push(idx.clone());
        g_emails.push(g.email.as_ref().map(|e| e.as_str().to_owned()));
    }
    for r in sqlx::query(
        "INSERT INTO guardians (tenant_id, full_name, phone_enc, phone_bidx, email)
         SELECT $1, * FROM unnest($2::text[], $3::bytea[], $4::bytea[], $5::text[])
         RETURNING id, phone_bidx",
    )
    .bind(tenant.0)
    .bind(&g_names)
    .bind(&g_phones)
    .bind(&g_idx)
    .bind(&g_emails)
    .fetch_all(&mut **tx)
    .await?
    {
        guardian_ids.insert(r.try_get("phone_bidx")?, r.try_get("id")?);
    }

    // Students, their enrolment this year, their guardians.
    let ids: Vec<Uuid> = rows.iter().map(|_| Uuid::new_v4()).collect();
    let stream_of = |r: &StudentRow| classes.get(&r.class_name).copied();
    let streams: Vec<Option<Uuid>> = rows.iter().map(stream_of).collect();
    sqlx::query(
        "INSERT INTO students (tenant_id, id, admission_no, first_name, middle_name, last_name, sex, date_of_birth, stream_id)
         SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::date[], $9::uuid[])",
    )
    .bind(tenant.0)
    .bind(&ids)
    .bind(rows.iter().map(|r| r.admission_no.as_str().to_owned()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.first_name.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.middle_name.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.last_name.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.sex.code().to_owned()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.date_of_birth).collect::<Vec<_>>())
    .bind(&streams)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO enrolments (tenant_id, student_id, academic_year_id, stream_id)
         SELECT $1, s, $2, st FROM unnest($3::uuid[], $4::uuid[]) AS u(s, st)",
    )
    .bind(tenant.0)
    .bind(year)
    .bind(&ids)
    .bind(&streams)
    .execute(&mut **tx)
    .await?;
    let (mut l_students, mut l_guardians, mut l_rel, mut l_sms) = (vec![], vec![], vec![], vec![]);
    for (r, student) in rows.iter().zip(&ids) {
        let mut seen = HashSet::new();
        for g in &r.guardians {
            let Some(gid) = guardian_ids.get(&phone_index(g.phone.as_str())) else { continue };
            if seen.insert(*gid) {
                l_students.push(*student);
                l_guardians.push(*gid);
                l_rel.push(g.relationship.code().to_owned());
                l_sms.push(g.receives_sms);
            }
        }
    }
    sqlx::query(
        "INSERT INTO student_guardians (tenant_id, student_id, guardian_id, relationship, receives_sms)
         SELECT $1, * FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::bool[])",
    )
    .bind(tenant.0)
    .bind(&l_students)
    .bind(&l_guardians)
    .bind(&l_rel)
    .bind(&l_sms)
    .execute(&mut **tx)
    .await?;

    let count = rows.len();
    sqlx::query("UPDATE import_uploads SET content_enc = NULL, committed_at = $2, imported = $3 WHERE id = $1")
        .bind(id)
        .bind(by.at)
        .bind(i32::try_from(count).unwrap_or(i32::MAX))
        .execute(&mut **tx)
        .await?;
    // One entry covers the whole import: which students were added and enrolled, and how
    // many guardian links were made.
    let details = serde_json::json!({
        "file": upload.file_name,
        "students": count,
        "new_guardians": g_names.len(),
        "guardian_links": l_students.len(),
        "admission_nos": rows.iter().map(|r| r.admission_no.as_str()).collect::<Vec<_>>(),
    });
    audit::append(tx, by.at, by.actor, crate::audit::actions::STUDENTS_IMPORTED, &id.to_string(), details).await?;
    Ok(count)
}

/// Every active student with guardians, in the import format (for export).
pub async fn export_rows(tx: &mut TenantTx, pii: &KeyRing) -> Result<Vec<StudentRow>, DomainError> {
    let tenant = tx.tenant();
    let classes: HashMap<Uuid, String> = classes(tx).await?.into_iter().map(|(name, id)| (id, name)).collect();
    let students = sqlx::query(
        "SELECT id, admission_no, first_name, middle_name, last_name, sex, date_of_birth, stream_id
           FROM students WHERE status = 'active' ORDER BY admission_no",
    )
    .fetch_all(&mut **tx)
    .await?;
    let links = sqlx::query(
        "SELECT sg.student_id, g.full_name, g.phone_enc, g.email, sg.relationship, sg.receives_sms
           FROM student_guardians sg JOIN guardians g ON g.tenant_id = sg.tenant_id AND g.id = sg.guardian_id
          ORDER BY sg.student_id, sg.receives_sms DESC, g.full_name",
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut by_student: HashMap<Uuid, Vec<import::GuardianRow>> = HashMap::new();
    for l in &links {
        let Some(sealed) = l.try_get::<Option<Vec<u8>>, _>("phone_enc")? else { continue };
        let phone = super::store::reveal_phone(pii, tenant, &sealed)?;
        let rel: String = l.try_get("relationship")?;
        let email: Option<String> = l.try_get("email")?;
        by_student.entry(l.try_get("student_id")?).or_default().push(import::GuardianRow {
            name: l.try_get("full_name")?,
            relationship: import::Relationship::parse(&rel).unwrap_or(import::Relationship::Guardian),
            phone,
            email: email.and_then(|e| crate::identity::Email::parse(&e).ok()),
            receives_sms: l.try_get("receives_sms")?,
        });
    }
    let mut out = Vec::with_capacity(students.len());
    for (i, s) in students.iter().enumerate() {
        let id: Uuid = s.try_get("id")?;
        let stream: Option<Uuid> = s.try_get("stream_id")?;
        let sex: String = s.try_get("sex")?;
        out.push(StudentRow {
            line: i + 2,
            admission_no: super::AdmissionNo::parse(&s.try_get::<String, _>("admission_no")?)?,
            first_name: s.try_get("first_name")?,
            middle_name: s.try_get("middle_name")?,
            last_name: s.try_get("last_name")?,
            sex: import::Sex::parse(&sex).unwrap_or(import::Sex::F),
            date_of_birth: s.try_get("date_of_birth")?,
            class_name: stream.and_then(|st| classes.get(&st).cloned()).unwrap_or_default(),
            guardians: by_student.remove(&id).unwrap_or_default(),
        });
    }
    Ok(out)
}
