//! `kilele seed --demo`: two realistic schools and a demo account for every portal.
//! Deterministic: the same names, classes and links every time (a fixed random seed).
//! Refused when KILELE_ENV=production.

use anyhow::{bail, Context};
use chrono::{NaiveDate, Utc};
use kilele::academic::setup;
use kilele::academic::store::guardians_by_phone;
use kilele::academic::students::{self, GuardianInput, NewGuardian, StudentInput};
use kilele::audit::pii::KeyRing;
use kilele::audit::{self, Actor};
use kilele::db::tenant_tx;
use kilele::identity::{password, store as users, Email, Role};
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
    /// What the report cards print under the school's name.
    motto: &'static str,
    address: &'static str,
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
        motto: "Elimu ni Ufunguo wa Maisha",
        address: "P.O. Box 1234, Moshi, Kilimanjaro · +255 27 275 0000",
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
        motto: "Bidii na Nidhamu",
        address: "P.O. Box 567, Mwanza · +255 28 250 0000",
        students_per_stream: 25,
        subjects: &["P-KISW", "P-ENGL", "P-MATH", "P-SCI", "P-SST", "P-CME", "P-VOC"],
        seed: 2026_0002,
    },
];

fn pick<'a>(rng: &mut StdRng, list: &'a [&'a str]) -> &'a str {
    list[rng.gen_range(0..list.len())]
}

fn phone(rng: &mut StdRng) -> String {
    let prefix = ["71", "75", "76", "65", "68", "74", "78", "62"][rng.gen_range(0..8)];
    format!("0{prefix}{:07}", rng.gen_range(0..10_000_000))
}

/// A guardian as the admin console's form would carry it, through the same checks.
fn guardian(name: &str, relationship: &str, phone: &str) -> anyhow::Result<NewGuardian> {
    let input = GuardianInput { name, relationship, phone, email: "", receives_sms: false };
    students::check_guardian(&input).map_err(|e| anyhow::anyhow!("guardian {name}: {e:?}"))
}

/// What `seed --demo` created, for the operator and for tests.
#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    pub schools: Vec<(String, i64)>,
}

pub async fn has_tenants(pool: &PgPool) -> anyhow::Result<bool> {
    Ok(tenants::any_exists(pool).await?)
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
    users::create_platform_owner(owner, &Email::parse(OWNER_EMAIL)?, "Kilele Owner", &demo_hash).await?;
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
    users::ensure_default_roles(&mut tx).await?;
    let now = Utc::now();
    let seed_actor = Actor::system("seed");
    let by = users::ChangedBy { actor: &seed_actor, at: now };

    // Staff with demo sign-ins.
    let account = |role: &str| Email::parse(&format!("{role}@{}.test", spec.slug));
    let admin = users::create_school_user(
        &mut tx,
        &account("admin")?,
        &format!("{} {}", "Grace", pick(&mut rng, SURNAMES)),
        Some(demo_hash),
        &[Role::SchoolAdmin, Role::Teacher],
        by,
    )
    .await?;
    let teacher = users::create_school_user(
        &mut tx,
        &account("teacher")?,
        &format!("Juma {}", pick(&mut rng, SURNAMES)),
        Some(demo_hash),
        &[Role::Teacher],
        by,
    )
    .await?;
    users::create_school_user(
        &mut tx,
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
        teachers.push(users::create_school_user(&mut tx, &email, &format!("{first} {last}"), None, &[Role::Teacher], by).await?);
    }

    // Calendar, levels, streams, subjects.
    setup::create_settings(&mut tx, spec.prefix).await?;
    kilele::reporting::db::set_card_heading(&mut tx, spec.motto, spec.address, by).await?;
    let terms = kilele::academic::calendar::default_terms(YEAR, 2);
    let year_id = setup::create_current_year(&mut tx, YEAR, &terms, 2).await?;
    let mut subject_ids = Vec::new();
    for code in spec.subjects {
        subject_ids.push(setup::add_master_subject(&mut tx, code).await.with_context(|| format!("subject {code}"))?);
    }
    let mut streams = Vec::new(); // (stream id, level ordinal, stream name)
    for ordinal in spec.levels.clone() {
        let level_id = setup::add_level(&mut tx, spec.band, ordinal).await?;
        for s in spec.streams {
            let class_teacher = teachers[streams.len() % teachers.len()];
            let id = setup::add_stream(&mut tx, level_id, s, class_teacher).await?;
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
            setup::allocate(&mut tx, year_id, t, *subject_id, *stream_id).await?;
        }
    }

    // Students and guardians, through the admin console's own domain function (same checks,
    // same encryption, same audit entries). Every seventh student is a younger sibling of the
    // one before (same family name, same guardians: found again by their phone numbers).
    let today = now.date_naive();
    let mut serial: i32 = 0;
    let mut last_family: Option<(String, Vec<NewGuardian>)> = None;
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
            let admission = format!("{}/{intake}/{serial:04}", spec.prefix);
            let age = match spec.band {
                kilele::academic::Band::Primary => 6 + ordinal,
                _ => 13 + ordinal,
            };
            let dob = NaiveDate::from_ymd_opt(YEAR - age, rng.gen_range(1..=12), rng.gen_range(1..=28))
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            let input = StudentInput {
                admission_no: &admission,
                first_name: first,
                middle_name: middle,
                last_name: &surname,
                sex: if female { "F" } else { "M" },
                date_of_birth: &dob,
                national_id: "",
                medical_notes: "",
            };
            let student = students::check_student(&input, today).map_err(|e| anyhow::anyhow!("student {admission}: {e:?}"))?;
            let guardians = match (&last_family, sibling) {
                (Some((_, g)), true) => g.clone(),
                _ => {
                    let mut g = Vec::new();
                    let mother = format!("{} {}", pick(&mut rng, FEMALE), surname);
                    g.push(guardian(&mother, "mother", &phone(&mut rng))?);
                    if rng.gen_bool(0.6) {
                        let father = format!("{} {}", pick(&mut rng, MALE), surname);
                        g.push(guardian(&father, "father", &phone(&mut rng))?);
                    }
                    g
                }
            };
            let Some((first_guardian, others)) = guardians.split_first() else { bail!("a family without guardians") };
            let id = students::db::add_student(&mut tx, pii, &student, Some(*stream_id), first_guardian, by).await?;
            for g in others {
                students::db::link_guardian(&mut tx, pii, id, g, by).await?;
            }
            // The demo parent: the mother of the first pair of siblings.
            if sibling && demo_guardian.is_none() {
                demo_guardian = guardians_by_phone(&mut tx, pii, &first_guardian.phone).await?.first().copied();
            }
            if demo_student.is_none() && *ordinal == *spec.levels.end() - 1 {
                demo_student = Some(id);
            }
            last_family = Some((surname, guardians));
        }
    }

    // The demo parent gets a sign-in.
    if let Some(guardian) = demo_guardian {
        let name = setup::guardian_name(&mut tx, guardian).await?;
        let parent = users::create_school_user(&mut tx, &account("parent")?, &name, Some(demo_hash), &[Role::Parent], by).await?;
        setup::attach_guardian_account(&mut tx, guardian, parent, &account("parent")?).await?;
    }
    if let Some(student) = demo_student {
        let name = setup::student_short_name(&mut tx, student).await?;
        let user = users::create_school_user(&mut tx, &account("student")?, &name, Some(demo_hash), &[Role::Student], by).await?;
        setup::attach_student_account(&mut tx, student, user).await?;
    }
    audit::append(&mut tx, now, &seed_actor, kilele::audit::actions::SEED_DEMO, spec.slug, serde_json::json!({ "students": serial }))
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

/// A term's fees for a seeded school, set as a bursar would: one structure for a class (or
/// the same for every class), the school's fee rules, and the term invoiced by the worker's
/// own code. Shared by `kilele bench fees` and the tests that need a billed school.
pub struct TermFees {
    pub items: Vec<kilele::finance::billing::ItemForm>,
    pub instalments: Vec<kilele::finance::billing::InstalmentForm>,
    pub rules: kilele::finance::db::accounts::SettingsForm,
    /// `None`: every class.
    pub level: Option<Uuid>,
}

impl TermFees {
    /// Fee rules with sibling discounts of `second` and `third` percent, oldest instalment
    /// first, full bills for joiners, and a late fine of `fine` shillings after `grace` days.
    pub fn rules(second: &str, third: &str, fine: &str, grace: &str) -> kilele::finance::db::accounts::SettingsForm {
        kilele::finance::db::accounts::SettingsForm {
            allocation: "oldest_first".into(),
            sibling_second: second.into(),
            sibling_third: third.into(),
            pro_rata: false,
            late_fine: fine.into(),
            grace_days: grace.into(),
        }
    }
}

/// Sets `fees` for the school's current term and invoices it to the end (`app` as the web
/// process, `worker` as the worker). Returns the term and the invoicing run.
pub async fn bill_term(
    app: &PgPool,
    worker: &PgPool,
    pii: &KeyRing,
    school: kilele::tenancy::TenantId,
    by: users::ChangedBy<'_>,
    fees: &TermFees,
) -> anyhow::Result<(Uuid, Uuid)> {
    use kilele::finance::db::{accounts, invoicing, structures};
    let plan = kilele::finance::billing::FeePlan::parse(&fees.items, &fees.instalments).map_err(|e| anyhow::anyhow!("fee plan: {e:?}"))?;
    let mut tx = tenant_tx(app, school).await?;
    let term = structures::current_term(&mut tx).await?;
    let levels = match fees.level {
        Some(level) => vec![level],
        None => structures::level_ids(&mut tx).await?,
    };
    for level in levels {
        structures::save_structure(&mut tx, term, level, None, &plan, by).await?;
    }
    accounts::save_settings(&mut tx, &fees.rules, by).await?;
    let run = invoicing::request(&mut tx, pii, fees.level, by).await?;
    tx.commit().await?;
    invoicing::run(worker, school, run, Utc::now).await?;
    Ok((term, run))
}
