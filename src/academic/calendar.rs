//! The school calendar: academic years (the calendar year in Tanzania) and their terms.
//! Two terms by default, three if the school says so; no overlaps; one current term.

use crate::ValidationError;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermDates {
    pub number: i32,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

/// Usual Tanzanian dates, to be adjusted by the school: two terms (January–June,
/// July–December) or three (January–April, May–August, September–December).
pub fn default_terms(year: i32, terms_per_year: i32) -> Vec<TermDates> {
    let d = |m, day| NaiveDate::from_ymd_opt(year, m, day);
    let spans: Vec<(Option<NaiveDate>, Option<NaiveDate>)> = if terms_per_year == 3 {
        vec![(d(1, 8), d(4, 4)), (d(4, 28), d(8, 1)), (d(8, 25), d(12, 5))]
    } else {
        vec![(d(1, 13), d(6, 6)), (d(7, 7), d(12, 5))]
    };
    spans.into_iter().zip(1..).filter_map(|((s, e), number)| Some(TermDates { number, starts_on: s?, ends_on: e? })).collect()
}

/// Checks a year's terms: the right number, each inside the year, in order, none
/// overlapping. Every problem is reported (field `term<N>`), not just the first.
pub fn check_terms(year: i32, terms_per_year: i32, terms: &[TermDates]) -> Result<(), Vec<ValidationError>> {
    let mut errors = Vec::new();
    if !(2000..=2200).contains(&year) {
        errors.push(ValidationError::new("year", "error-year-invalid"));
    }
    if !(2..=3).contains(&terms_per_year) {
        errors.push(ValidationError::new("terms_per_year", "error-terms-per-year"));
    }
    if terms.len() != usize::try_from(terms_per_year).unwrap_or(0) {
        errors.push(ValidationError::new("terms", "error-terms-count"));
    }
    let mut sorted: Vec<&TermDates> = terms.iter().collect();
    sorted.sort_by_key(|t| t.number);
    for (i, t) in sorted.iter().enumerate() {
        let field = format!("term{}", t.number);
        if t.number != i32::try_from(i + 1).unwrap_or(0) {
            errors.push(ValidationError::new(&field, "error-term-number"));
        }
        errors.extend(check_term_dates(year, t));
        if let Some(prev) = i.checked_sub(1).and_then(|p| sorted.get(p)) {
            if t.starts_on <= prev.ends_on {
                errors.push(ValidationError::new(&field, "error-term-overlap"));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// One term's own rules: ends after it starts, inside its year.
pub fn check_term_dates(year: i32, t: &TermDates) -> Vec<ValidationError> {
    let field = format!("term{}", t.number);
    let mut errors = Vec::new();
    if t.ends_on <= t.starts_on {
        errors.push(ValidationError::new(&field, "error-term-ends-before-start"));
    }
    if t.starts_on.year() != year || t.ends_on.year() != year {
        errors.push(ValidationError::new(&field, "error-term-outside-year"));
    }
    errors
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermView {
    pub id: Uuid,
    pub number: i32,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub is_current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearView {
    pub id: Uuid,
    pub year: i32,
    pub is_current: bool,
    pub terms: Vec<TermView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn defaults_are_valid_for_two_and_three_terms() {
        for n in [2, 3] {
            let terms = default_terms(2027, n);
            assert_eq!(terms.len(), n as usize);
            assert_eq!(check_terms(2027, n, &terms), Ok(()));
        }
    }

    #[test]
    fn overlaps_order_and_bounds_are_reported() {
        let terms = [
            TermDates { number: 1, starts_on: date(2027, 1, 10), ends_on: date(2027, 7, 1) },
            TermDates { number: 2, starts_on: date(2027, 6, 20), ends_on: date(2028, 1, 5) },
        ];
        let errors = check_terms(2027, 2, &terms).unwrap_err();
        let keys: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.message.as_str())).collect();
        assert!(keys.contains(&("term2", "error-term-overlap")), "{keys:?}");
        assert!(keys.contains(&("term2", "error-term-outside-year")), "{keys:?}");
        let backwards = [TermDates { number: 1, starts_on: date(2027, 5, 1), ends_on: date(2027, 4, 1) }];
        let errors = check_terms(2027, 2, &backwards).unwrap_err();
        assert!(errors.iter().any(|e| e.message == "error-terms-count"));
        assert!(errors.iter().any(|e| e.message == "error-term-ends-before-start"));
    }
}

#[cfg(feature = "ssr")]
pub mod db {
    //! Calendar reads and writes, inside a tenant transaction. Every change is audited.
    use super::{check_terms, TermDates, TermView, YearView};
    use crate::audit;
    use crate::db::{end_savepoint, map_constraint_on, savepoint, TenantTx};
    use crate::identity::store::ChangedBy;

    use crate::DomainError;
    use sqlx::Row;
    use uuid::Uuid;

    pub async fn list_years(tx: &mut TenantTx) -> Result<Vec<YearView>, sqlx::Error> {
        let years = sqlx::query("SELECT id, year, is_current FROM academic_years ORDER BY year DESC").fetch_all(&mut **tx).await?;
        let terms = sqlx::query("SELECT id, academic_year_id, number, starts_on, ends_on, is_current FROM terms ORDER BY starts_on")
            .fetch_all(&mut **tx)
            .await?;
        years
            .iter()
            .map(|y| {
                let id: Uuid = y.try_get("id")?;
                let mut year_terms = Vec::new();
                for t in terms.iter().filter(|t| t.try_get::<Uuid, _>("academic_year_id").ok() == Some(id)) {
                    year_terms.push(TermView {
                        id: t.try_get("id")?,
                        number: t.try_get("number")?,
                        starts_on: t.try_get("starts_on")?,
                        ends_on: t.try_get("ends_on")?,
                        is_current: t.try_get("is_current")?,
                    });
                }
                Ok(YearView { id, year: y.try_get("year")?, is_current: y.try_get("is_current")?, terms: year_terms })
            })
            .collect()
    }

    /// Creates a year with its terms (checked whole; overlaps with other years' terms are
    /// refused by the database's exclusion constraint).
    pub async fn create_year(
        tx: &mut TenantTx,
        year: i32,
        terms_per_year: i32,
        terms: &[TermDates],
        by: ChangedBy<'_>,
    ) -> Result<Uuid, DomainError> {
        let tenant = tx.tenant();
        check_terms(year, terms_per_year, terms).map_err(DomainError::InvalidFields)?;
        savepoint(tx).await?;
        let result: Result<Uuid, DomainError> = async {
            let id: Uuid =
                sqlx::query_scalar("INSERT INTO academic_years (tenant_id, year, starts_on, ends_on) VALUES ($1, $2, $3, $4) RETURNING id")
                    .bind(tenant.0)
                    .bind(year)
                    .bind(terms.iter().map(|t| t.starts_on).min())
                    .bind(terms.iter().map(|t| t.ends_on).max())
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(|e| map_constraint_on(e, Some("year")))?;
            for t in terms {
                sqlx::query("INSERT INTO terms (tenant_id, academic_year_id, number, starts_on, ends_on) VALUES ($1, $2, $3, $4, $5)")
                    .bind(tenant.0)
                    .bind(id)
                    .bind(t.number)
                    .bind(t.starts_on)
                    .bind(t.ends_on)
                    .execute(&mut **tx)
                    .await
                    .map_err(|e| map_constraint_on(e, Some(&format!("term{}", t.number))))?;
            }
            Ok(id)
        }
        .await;
        let id = end_savepoint(tx, result).await?;
        let details = serde_json::json!({ "year": year, "terms": terms.len() });
        audit::append(tx, by.at, by.actor, crate::audit::actions::CALENDAR_YEAR_CREATED, &year.to_string(), details).await?;
        Ok(id)
    }

    /// Changes a term's dates (same checks as creation, against the other terms of its year).
    pub async fn update_term(
        tx: &mut TenantTx,
        term: Uuid,
        starts_on: chrono::NaiveDate,
        ends_on: chrono::NaiveDate,
        by: ChangedBy<'_>,
    ) -> Result<(), DomainError> {
        let row = sqlx::query(
            "SELECT t.number, y.year
               FROM terms t JOIN academic_years y ON y.tenant_id = t.tenant_id AND y.id = t.academic_year_id WHERE t.id = $1",
        )
        .bind(term)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(DomainError::NotFound)?;
        let number: i32 = row.try_get("number")?;
        let year: i32 = row.try_get("year")?;
        let field = format!("term{number}");
        let errors = super::check_term_dates(year, &TermDates { number, starts_on, ends_on });
        if !errors.is_empty() {
            return Err(DomainError::InvalidFields(errors));
        }
        savepoint(tx).await?;
        let updated = sqlx::query("UPDATE terms SET starts_on = $2, ends_on = $3 WHERE id = $1")
            .bind(term)
            .bind(starts_on)
            .bind(ends_on)
            .execute(&mut **tx)
            .await
            .map_err(|e| map_constraint_on(e, Some(&field)));
        end_savepoint(tx, updated).await?;
        let details = serde_json::json!({ "starts_on": starts_on.to_string(), "ends_on": ends_on.to_string() });
        audit::append(tx, by.at, by.actor, crate::audit::actions::CALENDAR_TERM_CHANGED, &term.to_string(), details).await?;
        Ok(())
    }

    /// Makes `term` the one current term, and its year the current year.
    pub async fn set_current_term(tx: &mut TenantTx, term: Uuid, by: ChangedBy<'_>) -> Result<(), DomainError> {
        let year: Uuid = sqlx::query_scalar("SELECT academic_year_id FROM terms WHERE id = $1")
            .bind(term)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(DomainError::NotFound)?;
        sqlx::query("UPDATE terms SET is_current = false WHERE is_current").execute(&mut **tx).await?;
        sqlx::query("UPDATE terms SET is_current = true WHERE id = $1").bind(term).execute(&mut **tx).await?;
        sqlx::query("UPDATE academic_years SET is_current = false WHERE is_current AND id <> $1").bind(year).execute(&mut **tx).await?;
        sqlx::query("UPDATE academic_years SET is_current = true WHERE id = $1").bind(year).execute(&mut **tx).await?;
        audit::append(tx, by.at, by.actor, crate::audit::actions::CALENDAR_TERM_CURRENT, &term.to_string(), serde_json::json!({})).await?;
        Ok(())
    }
}
