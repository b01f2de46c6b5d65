//! `kilele seed --demo`: two realistic schools and a demo account for every portal.
//! Deterministic: the same names, classes and links every time (a fixed random seed).
//! Refused when KILELE_ENV=production.

use anyhow::{bail, Context};
use chrono::{NaiveDate, Utc};
use kilele::academic::store::insert_guardian;
use kilele::audit::pii::KeyRing;
use kilele::audit::{self, Actor};
use kilele::db::tenant_tx;
use kilele::identity::{password, store as users, Email, Phone, Role};
use kilele::tenancy::{store as tenants, TenantSlug};
use kilele::Language;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use uuid::Uuid;

pub const DEMO_PASSWORD: &str = "Demo-Kilele-2026";
pub const OWNER_EMAIL: &str = "owner@kilele.test";
pub const YEAR: i32 = 2026;

const FEMALE: &[&str] = &[
    "Neema",
    "Rehema",
    "Upendo",
    "Zawadi",
    "Amani",
    "Subira",
    "Imani",
    "Faraja",
    "Mwanaisha",
    "Halima",
    "Asha",
    "Grace",
    "Esther",
    "Happiness",
    "Witness",
    "Joyce",
    "Agnes",
    "Mariam",
    "Zainabu",
    "Salma",
    "Rose",
    "Editha",
    "Anna",
    "Fatuma",
    "Tumaini",
    "Baraka",
    "Jesca",
    "Lucy",
    "Winfrida",
    "Glory",
    "Rahma",
    "Saida",
    "Mwajuma",
    "Elizabeth",
    "Nasra",
    "Pendo",
];
const MALE: &[&str] = &[
    "Juma", "Baraka", "Emmanuel", "Godfrey", "Hamisi", "Daudi", "Elia", "Frank", "Hassani", "Ibrahimu", "Jackson", "Joseph", "Kelvin",
    "Lucas", "Msafiri", "Nassoro", "Omari", "Petro", "Rashidi", "Salumu", "Shabani", "Thomas", "Yohana", "Zuberi", "Abdallah", "Bakari",
    "Charles", "Dickson", "Erasto", "Faustine", "Gerald", "Innocent", "Saidi",
];
const SURNAMES: &[&str] = &[
    "Mushi",
    "Kimaro",
    "Massawe",
    "Mrema",
    "Lyimo",
    "Shirima",
    "Swai",
    "Temba",
    "Mwakyusa",
    "Mwakalinga",
    "Mollel",
    "Laizer",
    "Mbwambo",
    "Kileo",
    "Urio",
    "Mallya",
    "Minja",
    "Njau",
    "Kessy",
    "Moshi",
    "Mbaga",
    "Ngowi",
    "Kisanga",
    "Mwita",
    "Chacha",
    "Marwa",
    "Magesa",
    "Masanja",
    "Mabula",
    "Shija",
    "Kapinga",
    "Ngonyani",
    "Komba",
    "Haule",
    "Mapunda",
    "Msuya",
    "Nyerere",
    "Mfinanga",
    "Kombo",
    "Hamisi",
    "Juma",
    "Salim",
];

struct SchoolSpec {
    slug: &'static str,
    name: &'static str,
    plan: &'static str,
    prefix: &'static str,
    band: kilele::academic::Band,
    levels: std::ops::RangeInclusive<i32>,
    streams: &'static [&'static str],
    students_per_stream: usize,
    subjects: &'static [&'static str],
    seed: u64,
}

const SCHOOLS: [SchoolSpec; 2] = [
    SchoolSpec {
        slug: "kilimanjaro-hills",
        name: "Kilimanjaro Hills Secondary School",
        plan: "premium",
        prefix: "KHSS",
        band: kilele::academic::Band::OLevel,
        levels: 1..=4,
        streams: &["A", "B"],
        students_per_stream: 50,
        subjects: &["CIV", "HIST", "GEO", "KISW", "ENGL", "PHY", "CHEM", "BIO", "BMATH", "COMM"],
        seed: 2026_0001,
    },
    SchoolSpec {
        slug: "mwanza-lakeside",
        name: "Mwanza Lakeside Primary School",
        plan: "standard",
        prefix: "MLPS",
        band: kilele::academic::Band::Primary,
        levels: 1..=7,
        streams: &["A", "B"],
        students_per_stream: 25,
        subjects: &["P-KISW", "P-ENGL", "P-MATH", "P-SCI", "P-SST", "P-CME", "P-VOC"],
        seed: 2026_0002,
    },
];

fn pick<'a>(rng: &mut StdRng, list: &'a [&'a str]) -> &'a str {
    list[rng.gen_range(0..list.len())]
}

fn phone(rng: &mut StdRng) -> anyhow::Result<Phone> {
    let prefix = ["71", "75", "76", "65", "68", "74", "78", "62"][rng.gen_range(0..8)];
    Ok(Phone::parse(&format!("0{prefix}{:07}", rng.gen_range(0..10_000_000)))?)
}

/// What `seed --demo` created, for the operator and for tests.
#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    pub schools: Vec<(String, i64)>,
}

pub async fn has_tenants(pool: &PgPool) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM tenants)").fetch_one(pool).await?)
}

/// Seeds the demo. `pool` connects as the application role: seeding obeys the same
/// row-level security as the running app. `owner` (the schema owner) writes only the global
/// registry rows the application role may not: the schools and the platform owner.
pub async fn demo(owner: &PgPool, pool: &PgPool, pii: &KeyRing, production: bool) -> anyhow::Result<SeedReport> {
    demo_scaled(owner, pool, pii, production, 1).await
}

/// The demo with `scale` times as many students per stream (`kilele bench pages` uses 5: a
/// 2,000-student secondary school, the size the page queries are checked at).
pub async fn demo_scaled(owner: &PgPool, pool: &PgPool, pii: &KeyRing, production: bool, scale: usize) -> anyhow::Result<SeedReport> {
    if production {
        bail!("refusing to seed demo accounts: KILELE_ENV=production");
    }
    if has_tenants(pool).await? {
        bail!("the database already has schools; demo seed only runs on an empty database");
    }
    password::warm_up();
    let demo_hash = password::hash(DEMO_PASSWORD).context("hashing the demo password")?;
    sqlx::query("INSERT INTO platform_users (email, display_name, password_hash, platform_role) VALUES ($1, $2, $3, 'owner')")
        .bind(OWNER_EMAIL)
        .bind("Kilele Owner")
        .bind(&demo_hash)
        .execute(owner)
        .await?;
    let mut report = SeedReport::default();
    for spec in &SCHOOLS {
        let students =
            seed_school(owner, pool, pii, spec, &demo_hash, scale.max(1)).await.with_context(|| format!("seeding {}", spec.slug))?;
        report.schools.push((spec.slug.to_owned(), students));
    }
    Ok(report)
}

async fn seed_school(
    owner: &PgPool,
    pool: &PgPool,
    pii: &KeyRing,
    spec: &SchoolSpec,
    demo_hash: &str,
    scale: usize,
) -> anyhow::Result<i64> {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let slug = TenantSlug::parse(spec.slug)?;
    let tenant = tenants::create(owner, &slug, spec.name, spec.plan, Language::Sw).await?;
    let mut tx = tenant_tx(pool, tenant).await?;
    users::ensure_default_roles(&mut tx, tenant).await?;
    let now = Utc::now();
    let seed_actor = Actor::system("seed");
    let by = users::ChangedBy { actor: &seed_actor, at: now };

    // Staff with demo sign-ins.
    let account = |role: &str| Email::parse(&format!("{role}@{}.test", spec.slug));
    let admin = users::create_school_user(
        &mut tx,
        tenant,
        &account("admin")?,
        &format!("{} {}", "Grace", pick(&mut rng, SURNAMES)),
        Some(demo_hash),
        &[Role::SchoolAdmin, Role::Teacher],
        by,
    )
    .await?;
    let teacher = users::create_school_user(
        &mut tx,
        tenant,
        &account("teacher")?,
        &format!("Juma {}", pick(&mut rng, SURNAMES)),
        Some(demo_hash),
        &[Role::Teacher],
        by,
    )
    .await?;
    users::create_school_user(
        &mut tx,
        tenant,
        &account("bursar")?,
        &format!("Neema {}", pick(&mut rng, SURNAMES)),
        Some(demo_hash),
        &[Role::Accountant],
        by,
    )
    .await?;
    let mut teachers = vec![teacher, admin];
    for i in 0..(spec.subjects.len() + 2) {
        let female = i % 2 == 0;
        let first = pick(&mut rng, if female { FEMALE } else { MALE });
        let last = pick(&mut rng, SURNAMES);
        let email = Email::parse(&format!("{}.{}{}@{}.test", first.to_lowercase(), last.to_lowercase(), i, spec.slug))?;
        // Invited staff: no password until they accept their invitation.
        teachers.push(users::create_school_user(&mut tx, tenant, &email, &format!("{first} {last}"), None, &[Role::Teacher], by).await?);
    }

    // Calendar, levels, streams, subjects.
    let year_id: Uuid = sqlx::query_scalar("INSERT INTO academic_years (tenant_id, year, is_current) VALUES ($1, $2, true) RETURNING id")
        .bind(tenant.0)
        .bind(YEAR)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO school_settings (tenant_id, admission_prefix) VALUES ($1, $2)")
        .bind(tenant.0)
        .bind(spec.prefix)
        .execute(&mut *tx)
        .await?;
    for (i, term) in kilele::academic::calendar::default_terms(YEAR, 2).iter().enumerate() {
        sqlx::query(
            "INSERT INTO terms (tenant_id, academic_year_id, number, starts_on, ends_on, is_current) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant.0)
        .bind(year_id)
        .bind(term.number)
        .bind(term.starts_on)
        .bind(term.ends_on)
        .bind(i == 1)
        .execute(&mut *tx)
        .await?;
    }
    let mut subject_ids = Vec::new();
    for code in spec.subjects {
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO school_subjects (tenant_id, code, name_en, name_sw, master_code)
             SELECT $1, m.code, m.name_en, m.name_sw, m.code FROM master_subjects m WHERE m.code = $2 RETURNING id",
        )
        .bind(tenant.0)
        .bind(code)
        .fetch_one(&mut *tx)
        .await
        .with_context(|| format!("subject {code}"))?;
        subject_ids.push(id);
    }
    let mut streams = Vec::new(); // (stream id, level ordinal, stream name)
    for ordinal in spec.levels.clone() {
        let name = kilele::academic::level_name(spec.band, ordinal);
        let code = match spec.band {
            kilele::academic::Band::Primary => format!("STD{ordinal}"),
            _ => format!("F{ordinal}"),
        };
        let level_id: Uuid =
            sqlx::query_scalar("INSERT INTO levels (tenant_id, code, name, band, ordinal) VALUES ($1, $2, $3, $4, $5) RETURNING id")
                .bind(tenant.0)
                .bind(&code)
                .bind(&name)
                .bind(spec.band.code())
                .bind(ordinal)
                .fetch_one(&mut *tx)
                .await?;
        for s in spec.streams {
            let class_teacher = teachers[streams.len() % teachers.len()];
            let id: Uuid = sqlx::query_scalar(
                "INSERT INTO streams (tenant_id, level_id, name, class_teacher_id) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(tenant.0)
            .bind(level_id)
            .bind(s)
            .bind(class_teacher)
            .fetch_one(&mut *tx)
            .await?;
            streams.push((id, ordinal, *s));
        }
    }
    // Allocations: the demo teacher takes the first subject in the first three streams and the
    // last subject in the fourth; everyone else round-robin.
    let mut next_teacher = 2usize;
    for (si, (stream_id, _, _)) in streams.iter().enumerate() {
        for (ji, subject_id) in subject_ids.iter().enumerate() {
            let t = if (ji == 0 && si < 3) || (ji == subject_ids.len() - 1 && si == 3) {
                teacher
            } else {
                next_teacher = if next_teacher + 1 >= teachers.len() { 2 } else { next_teacher + 1 };
                teachers[next_teacher]
            };
            sqlx::query("INSERT INTO teacher_allocations (tenant_id, academic_year_id, teacher_id, subject_id, stream_id) VALUES ($1, $2, $3, $4, $5)")
                .bind(tenant.0)
                .bind(year_id)
                .bind(t)
                .bind(subject_id)
                .bind(stream_id)
                .execute(&mut *tx)
                .await?;
        }
    }

    // Students and guardians. Every seventh student is a younger sibling of the one before
    // (same family name, same guardians).
    let mut serial: i32 = 0;
    let mut last_family: Option<(String, Vec<(Uuid, &str)>)> = None;
    let mut demo_guardian: Option<Uuid> = None;
    let mut demo_student: Option<Uuid> = None;
    for (stream_id, ordinal, _) in &streams {
        for _ in 0..spec.students_per_stream * scale {
            serial += 1;
            let female = rng.gen_bool(0.5);
            let first = pick(&mut rng, if female { FEMALE } else { MALE });
            let middle = pick(&mut rng, MALE);
            let sibling = serial.unsigned_abs().is_multiple_of(7) && last_family.is_some();
            let surname = match (&last_family, sibling) {
                (Some((s, _)), true) => s.clone(),
                _ => pick(&mut rng, SURNAMES).to_owned(),
            };
            let intake = YEAR - (ordinal - 1);
            let admission = kilele::academic::AdmissionNo::parse(&format!("{}/{intake}/{serial:04}", spec.prefix))?;
            let age = match spec.band {
                kilele::academic::Band::Primary => 6 + ordinal,
                _ => 13 + ordinal,
            };
            let dob = NaiveDate::from_ymd_opt(YEAR - age, rng.gen_range(1..=12), rng.gen_range(1..=28));
            let student: Uuid = sqlx::query_scalar(
                "INSERT INTO students (tenant_id, admission_no, first_name, middle_name, last_name, sex, date_of_birth, stream_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(tenant.0)
            .bind(admission.as_str())
            .bind(first)
            .bind(middle)
            .bind(&surname)
            .bind(if female { "F" } else { "M" })
            .bind(dob)
            .bind(stream_id)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO enrolments (tenant_id, student_id, academic_year_id, stream_id) VALUES ($1, $2, $3, $4)")
                .bind(tenant.0)
                .bind(student)
                .bind(year_id)
                .bind(stream_id)
                .execute(&mut *tx)
                .await?;
            let guardians = match (&last_family, sibling) {
                (Some((_, g)), true) => {
                    // The demo parent: the mother of the first pair of siblings.
                    if demo_guardian.is_none() {
                        demo_guardian = g.first().map(|(id, _)| *id);
                    }
                    g.clone()
                }
                _ => {
                    let mut g = Vec::new();
                    let mother = format!("{} {}", pick(&mut rng, FEMALE), surname);
                    g.push((insert_guardian(&mut tx, tenant, pii, &mother, &phone(&mut rng)?, None).await?, "mother"));
                    if rng.gen_bool(0.6) {
                        let father = format!("{} {}", pick(&mut rng, MALE), surname);
                        g.push((insert_guardian(&mut tx, tenant, pii, &father, &phone(&mut rng)?, None).await?, "father"));
                    }
                    g
                }
            };
            for (i, (guardian, relationship)) in guardians.iter().enumerate() {
                sqlx::query("INSERT INTO student_guardians (tenant_id, student_id, guardian_id, relationship, receives_sms) VALUES ($1, $2, $3, $4, $5)")
                    .bind(tenant.0)
                    .bind(student)
                    .bind(guardian)
                    .bind(relationship)
                    .bind(i == 0)
                    .execute(&mut *tx)
                    .await?;
            }
            if demo_student.is_none() && *ordinal == *spec.levels.end() - 1 {
                demo_student = Some(student);
            }
            last_family = Some((surname, guardians));
        }
    }

    // The demo parent gets a sign-in.
    if let Some(guardian) = demo_guardian {
        let name: String = sqlx::query_scalar("SELECT full_name FROM guardians WHERE id = $1").bind(guardian).fetch_one(&mut *tx).await?;
        let parent = users::create_school_user(&mut tx, tenant, &account("parent")?, &name, Some(demo_hash), &[Role::Parent], by).await?;
        sqlx::query("UPDATE guardians SET user_id = $2, email = $3 WHERE id = $1")
            .bind(guardian)
            .bind(parent)
            .bind(account("parent")?.as_str())
            .execute(&mut *tx)
            .await?;
    }
    if let Some(student) = demo_student {
        let name: String = sqlx::query_scalar("SELECT concat_ws(' ', first_name, last_name) FROM students WHERE id = $1")
            .bind(student)
            .fetch_one(&mut *tx)
            .await?;
        let user = users::create_school_user(&mut tx, tenant, &account("student")?, &name, Some(demo_hash), &[Role::Student], by).await?;
        sqlx::query("UPDATE students SET user_id = $2 WHERE id = $1").bind(student).bind(user).execute(&mut *tx).await?;
    }
    audit::append(
        &mut tx,
        tenant,
        now,
        &seed_actor,
        kilele::audit::actions::SEED_DEMO,
        spec.slug,
        serde_json::json!({ "students": serial }),
    )
    .await?;
    tx.commit().await?;
    Ok(i64::from(serial))
}

/// The demo accounts, as `scripts/dev` prints them.
pub fn demo_accounts() -> Vec<(String, String)> {
    let mut out = vec![(String::new(), OWNER_EMAIL.to_owned())];
    for s in &SCHOOLS {
        for role in ["admin", "teacher", "bursar", "parent", "student"] {
            out.push((s.slug.to_owned(), format!("{role}@{}.test", s.slug)));
        }
    }
    out
}
