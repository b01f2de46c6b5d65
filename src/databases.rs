//! Whole databases, for tools that need a scratch one (`kilele bench pages`). Run on a
//! connection of a role that may create databases (the schema owner), never by the app.

use sqlx::PgConnection;

/// Names written into the statement (identifiers cannot be bound): lower-case letters,
/// digits and `_`, starting with a letter.
fn check_name(name: &str) -> Result<&str, sqlx::Error> {
    let ok = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(name)
    } else {
        Err(sqlx::Error::Protocol(format!("not a plain database name: {name:?}")))
    }
}

pub async fn create(admin: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    let name = check_name(name)?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(admin).await.map(|_| ())
}

/// Drops the database, disconnecting whoever still uses it.
pub async fn drop(admin: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    let name = check_name(name)?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(admin).await.map(|_| ())
}

/// `VACUUM (ANALYZE)` of the connected database: after a bulk load, what autovacuum would
/// soon do (statistics for the planner, the visibility map for index-only scans), so a
/// benchmark measures a database in its steady state rather than one minute after loading.
pub async fn settle(owner: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::raw_sql("VACUUM (ANALYZE)").execute(owner).await.map(|_| ())
}

/// A benchmark's baseline: how long this database takes to write `rows` narrow rows (a uuid,
/// a number, a date) in one statement into a temporary table, with no logic at all.
pub async fn bulk_write_baseline(pool: &sqlx::PgPool, rows: i64) -> Result<std::time::Duration, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    sqlx::query("CREATE TEMP TABLE IF NOT EXISTS kilele_bench_rows (id uuid, n bigint, d date)").execute(&mut *conn).await?;
    let started = std::time::Instant::now();
    sqlx::query("INSERT INTO kilele_bench_rows SELECT gen_random_uuid(), g, current_date FROM generate_series(1, $1) AS g")
        .bind(rows)
        .execute(&mut *conn)
        .await?;
    let took = started.elapsed();
    sqlx::query("DROP TABLE kilele_bench_rows").execute(&mut *conn).await?;
    Ok(took)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_names_reach_the_statement() {
        assert!(super::check_name("kilele_bench_123").is_ok());
        for bad in ["", "1abc", "a;DROP", "Kilele", "a b", "a\"b"] {
            assert!(super::check_name(bad).is_err(), "{bad}");
        }
    }
}
