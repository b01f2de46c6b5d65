//! The student list and search.

use crate::academic::class_name;
use crate::academic::store::GUARDIAN_PHONE;
use crate::academic::students::*;
use crate::audit::pii::KeyRing;
use crate::db::TenantTx;
use sqlx::postgres::PgRow;
use sqlx::Row;

pub(super) const LIST_SELECT: &str =
    "SELECT st.id, st.admission_no, concat_ws(' ', st.first_name, st.middle_name, st.last_name) AS full_name,
        st.status, l.name AS level, s.name AS stream, count(*) OVER () AS total
   FROM students st
   LEFT JOIN streams s ON s.tenant_id = st.tenant_id AND s.id = st.stream_id
   LEFT JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id";

pub(super) const LIST_ORDER: &str = "ORDER BY st.search_last, st.search_first, st.search_admission";

/// Students whose names start with the search's words: the first word through the
/// `students_search_*` indexes (a prefix is a range in collation "C"), every word
/// checked against the first, middle and last names. Public so that a test can check
/// its plan. `$1`/`$2`: the first word's range; `$3`: all words.
pub const NAME_HITS_SQL: &str = "SELECT id FROM students
      WHERE ((search_first >= $1 AND search_first < $2)
          OR (search_middle >= $1 AND search_middle < $2)
          OR (search_last >= $1 AND search_last < $2))
        AND NOT EXISTS (SELECT 1 FROM unnest($3::text[]) AS w(word)
                         WHERE NOT (starts_with(search_first, w.word)
                                 OR starts_with(coalesce(search_middle, ''), w.word)
                                 OR starts_with(search_last, w.word)))";

/// Admission numbers starting with the search (`$4`/`$5`: the range).
pub const ADMISSION_HITS_SQL: &str = "SELECT id FROM students WHERE search_admission >= $4 AND search_admission < $5";

/// Children of guardians with this phone's blind index (`$6`).
pub const PHONE_HITS_SQL: &str = "SELECT sg.student_id FROM guardians g
       JOIN student_guardians sg ON sg.tenant_id = g.tenant_id AND sg.guardian_id = g.id
      WHERE g.phone_bidx = $6";

/// When no name starts with the words: names containing every word anywhere (a scan of
/// the school's students, still fast at a few thousand).
pub(super) const CONTAINS_HITS_SQL: &str = "SELECT id FROM students
      WHERE NOT EXISTS (SELECT 1 FROM unnest($1::text[]) AS w(word)
                         WHERE strpos(concat_ws(' ', search_first, search_middle, search_last), w.word) = 0)";

pub(super) fn list_item(r: &PgRow) -> Result<StudentListItem, sqlx::Error> {
    let level: Option<String> = r.try_get("level")?;
    let stream: Option<String> = r.try_get("stream")?;
    Ok(StudentListItem {
        id: r.try_get("id")?,
        admission_no: r.try_get("admission_no")?,
        full_name: r.try_get("full_name")?,
        class_name: level.zip(stream).map(|(l, s)| class_name(&l, &s)),
        status: r.try_get("status")?,
    })
}

pub(super) fn to_page(rows: &[PgRow], page: i64) -> Result<StudentPage, sqlx::Error> {
    let total: i64 = rows.first().map(|r| r.try_get("total")).transpose()?.unwrap_or(0);
    let items = rows.iter().map(list_item).collect::<Result<Vec<_>, _>>()?;
    Ok(StudentPage { items, total, page, pages: page_count(total, PAGE_SIZE) })
}

/// One page of the school's students, or of those matching `query` by name (start of
/// any of their names, then anywhere), admission number (start) or guardian phone
/// (exact, in any typed form). Ordered by family name. A page past the end shows the
/// last page.
pub async fn search(tx: &mut TenantTx, pii: &KeyRing, query: &str, page: i64) -> Result<StudentPage, sqlx::Error> {
    let terms = SearchTerms::parse(query);
    let page = page.max(1);
    let rows = fetch(tx, pii, &terms, page).await?;
    if !rows.is_empty() || page == 1 {
        return to_page(&rows, page);
    }
    let first = to_page(&fetch(tx, pii, &terms, 1).await?, 1)?;
    if first.pages == 1 {
        return Ok(first);
    }
    to_page(&fetch(tx, pii, &terms, first.pages).await?, first.pages)
}

pub(super) async fn fetch(tx: &mut TenantTx, pii: &KeyRing, terms: &SearchTerms, page: i64) -> Result<Vec<PgRow>, sqlx::Error> {
    let offset = (page - 1).saturating_mul(PAGE_SIZE);
    if terms.is_empty() {
        let sql = format!("{LIST_SELECT} {LIST_ORDER} LIMIT $1 OFFSET $2");
        return sqlx::query(sqlx::AssertSqlSafe(sql)).bind(PAGE_SIZE).bind(offset).fetch_all(&mut **tx).await;
    }
    let rows = fetch_hits(tx, pii, terms, offset).await?;
    if !rows.is_empty() || terms.words.is_empty() {
        return Ok(rows);
    }
    // Names containing the words only when no name starts with them.
    if page > 1 && !fetch_hits(tx, pii, terms, 0).await?.is_empty() {
        return Ok(rows);
    }
    let sql =
        format!("WITH hits AS ({CONTAINS_HITS_SQL}) {LIST_SELECT} WHERE st.id IN (SELECT id FROM hits) {LIST_ORDER} LIMIT $2 OFFSET $3");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&terms.words).bind(PAGE_SIZE).bind(offset).fetch_all(&mut **tx).await
}

pub(super) async fn fetch_hits(tx: &mut TenantTx, pii: &KeyRing, terms: &SearchTerms, offset: i64) -> Result<Vec<PgRow>, sqlx::Error> {
    let tenant = tx.tenant();
    let (name_from, name_to) = terms.words.first().map(|w| prefix_range(w)).unzip();
    let (adm_from, adm_to) = terms.admission.as_deref().map(prefix_range).unzip();
    let bidx = terms.phone.as_ref().map(|p| pii.blind_index(tenant.0, GUARDIAN_PHONE, p.as_str()));
    let sql = format!(
        "WITH hits AS ({NAME_HITS_SQL} UNION {ADMISSION_HITS_SQL} UNION {PHONE_HITS_SQL})
         {LIST_SELECT} WHERE st.id IN (SELECT id FROM hits) {LIST_ORDER} LIMIT $7 OFFSET $8"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(name_from)
        .bind(name_to)
        .bind(&terms.words)
        .bind(adm_from)
        .bind(adm_to)
        .bind(bidx)
        .bind(PAGE_SIZE)
        .bind(offset)
        .fetch_all(&mut **tx)
        .await
}
