//! `kilele <command>`: serve, worker, all (default), migrate, seed --demo, audit verify,
//! results compute, bench.

use crate::config::{Config, Environment, Purpose};
use crate::{seed, telemetry, web, worker};
use clap::{Parser, Subcommand};
use kilele::clock::{SharedClock, SystemClock};
use sqlx::postgres::PgPoolOptions;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(name = "kilele", version, about = "Kilele: one platform for many Tanzanian schools")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Web pages, server functions and the API.
    Serve,
    /// Background jobs.
    Worker,
    /// Serve and worker in one process (the default).
    All,
    /// Apply database migrations (connects as the schema owner, DATABASE_URL).
    Migrate,
    /// Create the demo schools and accounts.
    Seed {
        #[arg(long)]
        demo: bool,
        /// Do nothing when the database already has schools.
        #[arg(long)]
        if_empty: bool,
    },
    /// Schools (the owner console will do this too).
    School {
        #[command(subcommand)]
        command: SchoolCommand,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The fees ledger's invariants.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Payment channels of a school (the accountant's page will do this too).
    Payments {
        #[command(subcommand)]
        command: PaymentsCommand,
    },
    /// Provider simulators: call Kilele's webhooks as a bank would (development and tests; no
    /// database, configuration or keys needed).
    Simulate {
        #[command(subcommand)]
        command: SimulateCommand,
    },
    /// Term results from a marks file: no database, configuration or keys needed.
    Results {
        #[command(subcommand)]
        command: ResultsCommand,
    },
    /// Benchmarks (`pages` creates and drops a scratch database: development only).
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum ResultsCommand {
    /// Grades, points, divisions and positions of a class from a marks CSV (format:
    /// kilele::results::sheet, examples in docs/examples/results/), printed as CSV.
    Compute {
        /// The grading scheme: necta-csee-2016, necta-csee-pre-2014, necta-acsee-2016, primary-psle.
        #[arg(long)]
        scheme: String,
        /// The marks file (CSV, a row per student and subject, a column per assessment).
        #[arg(long)]
        input: std::path::PathBuf,
        /// The assessments and their weights: default-secondary, default-secondary-annual,
        /// default-primary, exam-only.
        #[arg(long, default_value = "default-secondary")]
        assessments: String,
        /// Which table to print.
        #[arg(long, value_enum, default_value_t = crate::results::Table::Broadsheet)]
        table: crate::results::Table,
    },
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Every portal's home against /healthz on a 2,000-student school: throughput (closed
    /// loop) and p50/p99 at a fixed request rate. Build with --release for real figures.
    Pages {
        /// Students per stream are multiplied by this; 5 gives a 2,000-student school.
        #[arg(long, default_value_t = 5)]
        scale: usize,
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Requests per second of the fixed-rate run.
        #[arg(long, default_value_t = 200)]
        rate: u32,
        /// Clients of the closed-loop run.
        #[arg(long, default_value_t = 10)]
        concurrency: usize,
        /// Only the pages whose label contains this (e.g. `teacher`); `/healthz` always runs,
        /// as the baseline. For profiling one page.
        #[arg(long)]
        only: Option<String>,
    },
    /// Saving one assessment's column of a sheet as the demo teacher, end to end (request,
    /// checks, write, audit, commit, response), against GET /healthz and reading the sheet in
    /// the same run: p50/p95/max and their ratios. Build with --release for real figures.
    MarksSave {
        /// Timed saves (and as many of each baseline).
        #[arg(long, default_value_t = 30)]
        runs: usize,
        /// Students per stream are multiplied by this; 2 gives streams of 100.
        #[arg(long, default_value_t = 2)]
        scale: usize,
        /// Students in the column saved (the sheet's first ones).
        #[arg(long, default_value_t = 60)]
        students: usize,
    },
    /// A school's report cards through the job pipeline and the storage layer, against the
    /// same card printed by headless Chromium (a fresh process per card, and one kept-open
    /// browser) in the same run: cards per second and their ratios, PDF size, the worker's
    /// peak RSS. Needs Chromium and node. Build with --release for real figures.
    ReportCards {
        /// Cards to print at least (whole classes until this many).
        #[arg(long, default_value_t = 1000)]
        students: usize,
        /// Cards printed by a fresh Chromium process each.
        #[arg(long, default_value_t = 20)]
        fresh: usize,
        /// Cards printed by the kept-open browser.
        #[arg(long, default_value_t = 100)]
        kept: usize,
    },
    /// Bank payment notifications, signed, over HTTP, verified, de-duplicated, matched and
    /// posted: events per second and acknowledgement latency against `GET /healthz` in the
    /// same run, then exactly-once checked. Build with --release for real figures.
    Webhooks {
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Banks sending at once (closed loop).
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Fees on a 2,000-student school: invoicing the whole school for a term (three
    /// instalments, sibling discounts) through the worker's code, and the accountant's
    /// dashboard's server time with the term's payments present, each against a baseline from
    /// the same run. Build with --release for real figures.
    Fees {
        /// Students per stream are multiplied by this; 5 gives a 2,000-student school.
        #[arg(long, default_value_t = 5)]
        scale: usize,
        /// Dashboard reads timed (the median is printed).
        #[arg(long, default_value_t = 30)]
        runs: usize,
    },
    /// Term results of a generated class (grades, points, divisions, every position) on one
    /// thread: the median over several runs against baselines from the same run. Needs no
    /// database. Build with --release for real figures.
    Results {
        #[arg(long, default_value_t = 2000)]
        students: usize,
        #[arg(long, default_value_t = 12)]
        subjects: usize,
        #[arg(long, default_value_t = 15)]
        runs: usize,
    },
}

#[derive(Subcommand, Debug)]
pub enum SchoolCommand {
    /// Add an empty school and its first admin (password from KILELE_ADMIN_PASSWORD).
    Create {
        /// The school code, also its subdomain: e.g. arusha-valley.
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "standard")]
        plan: String,
        /// en or sw.
        #[arg(long, default_value = "sw")]
        language: String,
        /// Admission numbers start with this, e.g. AVSS.
        #[arg(long)]
        admission_prefix: String,
        #[arg(long)]
        admin_email: String,
        #[arg(long, default_value = "School Administrator")]
        admin_name: String,
        #[arg(long, env = "KILELE_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum LedgerCommand {
    /// Check one school's ledger: every entry balances, every entry has its source document
    /// and every document its entry, each student's balance equals their invoices, fines,
    /// payments and corrections. Exits 1 if any invariant fails.
    Check {
        /// The school code.
        #[arg(long)]
        school: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PaymentsCommand {
    /// Opens (or re-keys) a school's channel for a bank: prints a new signing secret once, to
    /// give to the bank; the previous secret stays valid too until the next re-key.
    Channel {
        /// The school code.
        #[arg(long)]
        school: String,
        /// nmb, nbc or crdb (a bank: a signing secret is printed), or mpesa (a wallet: give
        /// --api-key and --shortcode from the school's OpenAPI application).
        #[arg(long)]
        provider: String,
        /// An address the provider calls from (repeat for several; none: any address).
        #[arg(long = "allow-ip")]
        allow_ip: Vec<std::net::IpAddr>,
        /// The previous secret stops working at once (it leaked), instead of at the next re-key.
        #[arg(long)]
        revoke_previous: bool,
        /// Close the channel instead: every delivery refused until it is opened again.
        #[arg(long, conflicts_with_all = ["allow_ip", "revoke_previous"])]
        close: bool,
        /// M-Pesa: the application's API key.
        #[arg(long, env = "KILELE_MPESA_API_KEY", hide_env_values = true)]
        api_key: Option<String>,
        /// M-Pesa: the school's business shortcode (input_ServiceProviderCode).
        #[arg(long)]
        shortcode: Option<String>,
        /// Airtel Money: the application's client id.
        #[arg(long)]
        client_id: Option<String>,
        /// Airtel Money: the application's client secret.
        #[arg(long, env = "KILELE_AIRTEL_CLIENT_SECRET", hide_env_values = true)]
        client_secret: Option<String>,
        /// Airtel Money: the callback authentication key, when the application has it on.
        #[arg(long, env = "KILELE_AIRTEL_CALLBACK_KEY", hide_env_values = true)]
        callback_key: Option<String>,
        /// Tigo Pesa: the partner account, as JSON with username, password, partner,
        /// biller_msisdn, biller_code and company_number (what Tigo issues at onboarding).
        /// Tigo signs nothing: give --allow-ip with Tigo's addresses too.
        #[arg(long, env = "KILELE_TIGO_ACCOUNT", hide_env_values = true)]
        tigo_account: Option<String>,
        /// GePG (government schools): the service provider's codes as JSON with sp_code,
        /// sub_sp_code, sp_sys_id and gfs_code (what GePG issues at onboarding).
        #[arg(long)]
        gepg_account: Option<String>,
        /// GePG: the file with the school's signing key (PEM; GePG holds its public half).
        #[arg(long)]
        gepg_key_file: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum SimulateCommand {
    /// A bank: validates a control number, then notifies a payment for it.
    Bank {
        /// Kilele's base URL.
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        /// nmb, nbc or crdb.
        #[arg(long)]
        provider: String,
        /// The school code.
        #[arg(long)]
        school: String,
        /// The school's secret for this bank (`kilele payments channel`).
        #[arg(long, env = "KILELE_SIMULATOR_SECRET", hide_env_values = true)]
        secret: String,
        /// The control number the payer quotes.
        #[arg(long)]
        control: String,
        /// Whole shillings.
        #[arg(long)]
        amount: i64,
        /// Send the same notification this many times more (a bank retrying).
        #[arg(long, default_value_t = 0)]
        repeat: u32,
        /// Sign with a secret the school never gave out.
        #[arg(long)]
        forge: bool,
    },
    /// M-Pesa OpenAPI (Vodacom Tanzania) as a server: sessions, pushes, status queries, and
    /// results sent to Kilele (see server/src/simulate/mpesa.rs for the scripted phones).
    Mpesa {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:9401")]
        listen: std::net::SocketAddr,
        /// The private key (PKCS#8 DER), made on first start and reused after, so the public
        /// key given to Kilele stays right.
        #[arg(long, default_value = ".data/simulators/mpesa-key.der")]
        key_file: std::path::PathBuf,
        /// Where to write the public key (base64, as MPESA_PUBLIC_KEY takes it).
        #[arg(long, default_value = ".data/simulators/mpesa-public-key.txt")]
        public_key_out: std::path::PathBuf,
        /// An application, API_KEY:SHORTCODE:CALLBACK_URL (repeat for several schools).
        #[arg(long = "application")]
        applications: Vec<String>,
        /// Milliseconds the simulated parent takes to answer the prompt.
        #[arg(long, default_value_t = 3000)]
        answer_after_ms: u64,
    },
    /// Airtel Money's Open API as a server: tokens, collections, enquiries, and callbacks sent
    /// to Kilele (signed with the application's callback key); see server/src/simulate/airtel.rs.
    Airtel {
        #[arg(long, default_value = "127.0.0.1:9402")]
        listen: std::net::SocketAddr,
        /// An application, CLIENT_ID:CLIENT_SECRET:CALLBACK_KEY:CALLBACK_URL (an empty key:
        /// unsigned callbacks).
        #[arg(long = "application")]
        applications: Vec<String>,
        #[arg(long, default_value_t = 3000)]
        answer_after_ms: u64,
    },
    /// GePG as a server: bills (their control numbers sent to Kilele after a moment) and, on
    /// `POST /simulator/pay`, payment notifications, all signed; see server/src/simulate/gepg.rs.
    Gepg {
        #[arg(long, default_value = "127.0.0.1:9404")]
        listen: std::net::SocketAddr,
        /// GePG's key, made on the first start.
        #[arg(long, default_value = ".data/simulators/gepg.der")]
        key_file: std::path::PathBuf,
        /// Where GePG's public key is written (base64 DER: GEPG_PUBLIC_KEY).
        #[arg(long)]
        public_key_out: Option<std::path::PathBuf>,
        /// A school, SP_CODE:PUBLIC_KEY_PEM_FILE:CALLBACK_URL.
        #[arg(long = "service-provider")]
        service_providers: Vec<String>,
        #[arg(long, default_value_t = 2000)]
        answer_after_ms: u64,
    },
    /// Tigo Pesa's push gateway as a server: tokens, pushes, and callbacks sent to Kilele; see
    /// server/src/simulate/tigo.rs.
    Tigo {
        #[arg(long, default_value = "127.0.0.1:9403")]
        listen: std::net::SocketAddr,
        /// A partner account, PARTNER:USERNAME:PASSWORD:BILLER_MSISDN:BILLER_CODE:CALLBACK_URL.
        #[arg(long = "application")]
        applications: Vec<String>,
        #[arg(long, default_value_t = 3000)]
        answer_after_ms: u64,
    },
    /// A parent paying from their own phone by Tigo's USSD bill-pay: Tigo asks the school who
    /// the control number is, then to take the payment (XML), as Tigo's gateway would.
    TigoUssd {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        #[arg(long)]
        school: String,
        /// The school's Tigo business number.
        #[arg(long)]
        company: String,
        #[arg(long)]
        control: String,
        /// Whole shillings.
        #[arg(long)]
        amount: i64,
        /// The payer's phone.
        #[arg(long, default_value = "0652123456")]
        phone: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check every school's hash chain; exits 1 if any entry was modified or deleted.
    Verify,
}

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

pub async fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::All);
    let purpose = match &command {
        Command::Serve | Command::Worker | Command::All => Purpose::Run,
        Command::Migrate => Purpose::Migrate,
        // Pure computations: no configuration, database or keys, so nothing is loaded.
        Command::Results { command } => return offline_results(command),
        Command::Simulate { command } => return simulate(command).await,
        Command::Bench { command: BenchCommand::Results { students, subjects, runs } } => {
            return crate::results::bench(*students, *subjects, *runs);
        }
        Command::Seed { .. }
        | Command::School { .. }
        | Command::Audit { .. }
        | Command::Ledger { .. }
        | Command::Payments { .. }
        | Command::Bench { .. } => Purpose::Operate,
    };
    let config = match Config::from_env(purpose) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kilele: {e:#}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    match run(command, config).await {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "kilele failed");
            eprintln!("kilele: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn offline_results(command: &ResultsCommand) -> ExitCode {
    match command {
        ResultsCommand::Compute { scheme, input, assessments, table } => crate::results::compute(scheme, input, assessments, *table),
    }
}

async fn app_pool(config: &Config) -> anyhow::Result<sqlx::PgPool> {
    PgPoolOptions::new()
        .max_connections(config.db_pool_size)
        .connect_with(kilele::db::connect_options(&config.app_database_url)?)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect as the application role (APP_DATABASE_URL): {e}"))
}

/// The worker loop's pool, as `kilele_worker`.
pub(crate) async fn worker_pool(config: &Config) -> anyhow::Result<sqlx::PgPool> {
    PgPoolOptions::new()
        .max_connections(config.db_pool_size.min(4))
        .connect_with(kilele::db::connect_options(&config.worker_database_url)?)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect as the worker role (WORKER_DATABASE_URL): {e}"))
}

/// Operator commands that add to the global registry (schools, platform staff) connect as
/// the schema owner for those writes only; the school's own data still goes through the
/// application role, under row-level security.
async fn owner_pool(config: &Config) -> anyhow::Result<sqlx::PgPool> {
    PgPoolOptions::new()
        .max_connections(1)
        .connect(config.owner_url()?)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect as the schema owner (DATABASE_URL): {e}"))
}

/// The worker's dependencies from the configuration; `pool` connects as `kilele_worker`.
pub fn worker_for(config: &Config, pool: sqlx::PgPool) -> anyhow::Result<worker::Worker> {
    let outbox = crate::mail::Outbox::new(config.smtp_url.as_deref(), config.mail_dir.clone(), &config.mail_from)?;
    let printer = crate::cards::job::Printer {
        pool: pool.clone(),
        storage: config.storage.open()?,
        renderer: Arc::new(documents::Renderer::new()?),
        verify_base: config.public_url.clone(),
        clock: Arc::new(kilele::clock::SystemClock),
    };
    Ok(worker::Worker {
        pool,
        pii: Arc::new(config.pii.clone()),
        audit_key: Arc::new(config.audit_key.clone()),
        outbox: Arc::new(outbox),
        printer,
    })
}

/// Applies migrations as the schema owner.
pub async fn migrate(database_url: &str) -> anyhow::Result<()> {
    let pool = PgPoolOptions::new().max_connections(1).connect(database_url).await?;
    MIGRATOR.run(&pool).await?;
    let bypasses = kilele::db::role_bypasses_rls(&pool).await?;
    if !bypasses {
        tracing::warn!(
            "the migrating role neither is superuser nor has BYPASSRLS: the owner console's counts will be empty (docs/architecture.md)"
        );
    }
    pool.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    let clock: SharedClock = Arc::new(SystemClock);
    // Every audit append in this process MACs with this key.
    kilele::audit::install_key(config.audit_key.clone())?;
    match command {
        Command::Migrate => {
            migrate(config.owner_url()?).await?;
            println!("migrations applied");
        }
        Command::Seed { demo, if_empty } => {
            if !demo {
                anyhow::bail!("say what to seed: `kilele seed --demo`");
            }
            let pool = app_pool(&config).await?;
            if if_empty && seed::has_tenants(&pool).await? {
                println!("database already has schools; demo seed skipped");
                return Ok(ExitCode::SUCCESS);
            }
            let owner = owner_pool(&config).await?;
            let report = seed::demo(&owner, &pool, &config.pii, config.environment == Environment::Production).await?;
            for (school, students) in report.schools {
                println!("seeded {school}: {students} students");
            }
        }
        Command::School {
            command: SchoolCommand::Create { code, name, plan, language, admission_prefix, admin_email, admin_name, admin_password },
        } => {
            let pool = app_pool(&config).await?;
            let owner = owner_pool(&config).await?;
            let language = kilele::Language::parse(&language).ok_or_else(|| anyhow::anyhow!("language must be en or sw"))?;
            let school = crate::school::NewSchool {
                code: &code,
                name: &name,
                plan: &plan,
                language,
                admission_prefix: &admission_prefix,
                admin_email: &admin_email,
                admin_name: &admin_name,
                admin_password: &admin_password,
            };
            crate::school::create(&owner, &pool, &school, clock.now()).await?;
            println!("created {code}: sign in as {admin_email} with school code {code}");
        }
        Command::Audit { command: AuditCommand::Verify } => {
            let pool = app_pool(&config).await?;
            let mut broken = false;
            for tenant in kilele::tenancy::store::list_all(&pool).await? {
                let (entries, breaks) = kilele::audit::verify_tenant(&pool, tenant.id, &config.audit_key).await?;
                if breaks.is_empty() {
                    println!("{}: {entries} entries, chain intact", tenant.slug);
                } else {
                    broken = true;
                    println!("{}: {entries} entries, CHAIN BROKEN:", tenant.slug);
                    for b in breaks {
                        println!("  {b:?}");
                    }
                }
                // Marks must be what the log last recorded for them: a row edited behind the
                // application's back shows here even though the chain itself is intact.
                let mut tx = kilele::db::tenant_tx(&pool, tenant.id).await?;
                let mismatches = kilele::results::db::verify_marks(&mut tx).await?;
                tx.rollback().await?;
                if mismatches.is_empty() {
                    println!("{}: marks match the audit log", tenant.slug);
                } else {
                    broken = true;
                    println!("{}: {} MARKS DIFFER FROM THE AUDIT LOG:", tenant.slug, mismatches.len());
                    for m in mismatches {
                        println!(
                            "  sheet {} student {} {}: audited {:?}, stored {:?}",
                            m.sheet, m.student, m.assessment, m.audited, m.stored
                        );
                    }
                }
            }
            // What platform staff did (onboarding, suspending schools): the platform's chain.
            let (entries, breaks) = kilele::audit::platform::verify(&pool, &config.audit_key).await?;
            if breaks.is_empty() {
                println!("platform: {entries} entries, chain intact");
            } else {
                broken = true;
                println!("platform: {entries} entries, CHAIN BROKEN:");
                for b in breaks {
                    println!("  {b:?}");
                }
            }
            return Ok(if broken { ExitCode::FAILURE } else { ExitCode::SUCCESS });
        }
        Command::Ledger { command: LedgerCommand::Check { school } } => {
            let pool = app_pool(&config).await?;
            let mut out = std::io::stdout();
            let sound = ledger_check(&pool, &school, &mut out).await?;
            return Ok(if sound { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
        Command::Payments { command: PaymentsCommand::Channel { school, provider, allow_ip, api_key, shortcode, close, .. } }
            if provider == "mpesa" && !close =>
        {
            let pool = app_pool(&config).await?;
            let (Some(api_key), Some(shortcode)) = (api_key, shortcode) else {
                anyhow::bail!("an M-Pesa channel needs --api-key and --shortcode (the school's OpenAPI application)");
            };
            wallet_channel(&pool, &config.pii, &school, &api_key, &shortcode, &allow_ip).await?;
            println!("mpesa channel of {school} open (shortcode {shortcode}).");
        }
        Command::Payments {
            command: PaymentsCommand::Channel { school, provider, allow_ip, client_id, client_secret, callback_key, close, .. },
        } if provider == "airtel" && !close => {
            let pool = app_pool(&config).await?;
            let (Some(client_id), Some(client_secret)) = (client_id, client_secret) else {
                anyhow::bail!("an Airtel Money channel needs --client-id and --client-secret (and --callback-key if callbacks are signed)");
            };
            let credentials = kilele::payments::airtel::AirtelCredentials { client_id, client_secret, callback_key };
            open_wallet(&pool, &config.pii, &school, kilele::payments::Provider::Airtel, &serde_json::to_string(&credentials)?, &allow_ip)
                .await?;
            println!("airtel channel of {school} open.");
        }
        Command::Payments { command: PaymentsCommand::Channel { school, provider, allow_ip, tigo_account, close, .. } }
            if provider == "tigo" && !close =>
        {
            let pool = app_pool(&config).await?;
            let Some(account) = tigo_account else {
                anyhow::bail!("a Tigo Pesa channel needs --tigo-account (JSON: username, password, partner, biller_msisdn, biller_code, company_number)");
            };
            tigo_channel(&pool, &config.pii, &school, &account, &allow_ip).await?;
            println!("tigo channel of {school} open (calls taken from {} address(es)).", allow_ip.len());
        }
        Command::Payments { command: PaymentsCommand::Channel { school, provider, gepg_account, gepg_key_file, close, .. } }
            if provider == "gepg" && !close =>
        {
            let pool = app_pool(&config).await?;
            let (Some(account), Some(key_file)) = (gepg_account, gepg_key_file) else {
                anyhow::bail!("a GePG channel needs --gepg-account (JSON: sp_code, sub_sp_code, sp_sys_id, gfs_code) and --gepg-key-file");
            };
            let key = std::fs::read_to_string(&key_file).map_err(|e| anyhow::anyhow!("{}: {e}", key_file.display()))?;
            gepg_channel(&pool, &config.pii, &school, &account, &key).await?;
            println!("gepg channel of {school} open.");
        }
        Command::Payments { command: PaymentsCommand::Channel { school, provider, allow_ip, revoke_previous, close, .. } } => {
            let pool = app_pool(&config).await?;
            match payment_channel(&pool, &config.pii, &school, &provider, ChannelChange { allowed_ips: &allow_ip, revoke_previous, close })
                .await?
            {
                Some(secret) => println!("{provider} channel of {school} open. Give the bank this signing secret (shown once):\n{secret}"),
                None => println!("{provider} channel of {school} closed."),
            }
        }
        // Run before the configuration is loaded (see `main`); here for completeness.
        Command::Simulate { command } => return Ok(simulate(&command).await),
        Command::Results { command } => return Ok(offline_results(&command)),
        Command::Bench { command: BenchCommand::Results { students, subjects, runs } } => {
            return Ok(crate::results::bench(students, subjects, runs));
        }
        Command::Bench { command: BenchCommand::Pages { scale, seconds, rate, concurrency, only } } => {
            if config.environment == Environment::Production {
                anyhow::bail!("benchmarks create and drop databases: not in production");
            }
            crate::bench::pages(config, crate::bench::Options { scale, seconds, rate, concurrency, only }).await?;
        }
        Command::Bench { command: BenchCommand::MarksSave { runs, scale, students } } => {
            if config.environment == Environment::Production {
                anyhow::bail!("benchmarks create and drop databases: not in production");
            }
            crate::bench::marks_save(config, crate::bench::MarksSaveOptions { scale, runs, students }).await?;
        }
        Command::Bench { command: BenchCommand::Webhooks { seconds, concurrency } } => {
            if config.environment == Environment::Production {
                anyhow::bail!("benchmarks create and drop databases: not in production");
            }
            crate::bench_webhooks::webhooks(config, crate::bench_webhooks::Options { seconds, concurrency }).await?;
        }
        Command::Bench { command: BenchCommand::Fees { scale, runs } } => {
            if config.environment == Environment::Production {
                anyhow::bail!("benchmarks create and drop databases: not in production");
            }
            crate::bench_fees::fees(config, crate::bench_fees::Options { scale, runs }).await?;
        }
        Command::Bench { command: BenchCommand::ReportCards { students, fresh, kept } } => {
            if config.environment == Environment::Production {
                anyhow::bail!("benchmarks create and drop databases: not in production");
            }
            crate::bench_cards::report_cards(config, crate::bench_cards::Options { students, fresh, kept }).await?;
        }
        Command::Worker => {
            let pool = worker_pool(&config).await?;
            worker::run(worker_for(&config, pool)?, shutdown_signal()).await;
        }
        Command::Serve | Command::All => {
            let with_worker = matches!(command, Command::All);
            let leptos = web::leptos_options(&config);
            let addr = config.site_addr;
            let jobs = if with_worker { Some(worker_for(&config, worker_pool(&config).await?)?) } else { None };
            let state = web::build_state(config, clock, leptos).await?;
            let worker = jobs.map(|w| tokio::spawn(worker::run(w, shutdown_signal())));
            // Pushes whose wallet result is late or lost are asked about again from here.
            tokio::spawn(crate::payments::recheck_pushes(state.clone(), shutdown_signal()));
            let listener = tokio::net::TcpListener::bind(addr).await?;
            tracing::info!(%addr, "serving");
            web::serve(state, listener, shutdown_signal()).await?;
            if let Some(w) = worker {
                let _ = w.await;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `kilele ledger check --school <code>`: prints what it checked and every breach; `true`
/// when the ledger is sound.
pub async fn ledger_check(pool: &sqlx::PgPool, school: &str, out: &mut impl std::io::Write) -> anyhow::Result<bool> {
    let slug = kilele::tenancy::TenantSlug::parse(school).map_err(|_| anyhow::anyhow!("{school} is not a school code"))?;
    let tenant = kilele::tenancy::store::find_by_slug(pool, &slug).await?.ok_or_else(|| anyhow::anyhow!("no school {school}"))?;
    let mut tx = kilele::db::tenant_tx(pool, tenant.id).await?;
    let breaches = kilele::finance::db::ledger::check(&mut tx).await?;
    let (entries, lines): (i64, i64) = kilele::finance::db::ledger::size(&mut tx).await?;
    tx.rollback().await?;
    writeln!(out, "{school}: {entries} journal entries, {lines} lines")?;
    if breaches.is_empty() {
        writeln!(out, "{school}: ledger sound (every entry balances and has its document; every balance matches the documents)")?;
        return Ok(true);
    }
    writeln!(out, "{school}: {} BREACHES:", breaches.len())?;
    for b in &breaches {
        writeln!(out, "  [{}] {}", b.rule, b.detail)?;
    }
    Ok(false)
}

/// What `kilele payments channel` does to a school's bank channel: a new signing secret (the
/// previous one kept valid unless `revoke_previous`) and the addresses allowed; or, with
/// `close`, the channel closed.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChannelChange<'a> {
    pub allowed_ips: &'a [std::net::IpAddr],
    pub revoke_previous: bool,
    pub close: bool,
}

/// `kilele payments channel`: a new signing secret for a school's bank channel (returned), or
/// the channel closed (`None`), audited as the operator's tool.
pub async fn payment_channel(
    pool: &sqlx::PgPool,
    pii: &kilele::audit::pii::KeyRing,
    school: &str,
    provider: &str,
    change: ChannelChange<'_>,
) -> anyhow::Result<Option<String>> {
    let ChannelChange { allowed_ips, revoke_previous, close } = change;
    // A wallet's channel is opened with its credentials (`wallet_channel`), closed here.
    let provider = kilele::payments::Provider::parse(provider).filter(|p| p.is_bank() || close).ok_or_else(|| {
        anyhow::anyhow!("the provider must be nmb, nbc or crdb, or mpesa, airtel or tigo (each with its application's credentials)")
    })?;
    let slug = kilele::tenancy::TenantSlug::parse(school).map_err(|_| anyhow::anyhow!("{school:?} is not a school code"))?;
    let tenant = kilele::tenancy::store::find_by_slug(pool, &slug).await?.ok_or_else(|| anyhow::anyhow!("no school {school}"))?;
    let mut tx = kilele::db::tenant_tx(pool, tenant.id).await?;
    let actor = kilele::audit::Actor::system("kilele payments channel");
    let by = kilele::identity::store::ChangedBy { actor: &actor, at: chrono::Utc::now() };
    let secret = if close {
        kilele::payments::db::close_channel(&mut tx, provider, kilele::payments::db::Closer::Operator, by).await?;
        None
    } else {
        Some(kilele::payments::db::set_channel(&mut tx, pii, provider, allowed_ips, revoke_previous, by).await?)
    };
    tx.commit().await?;
    Ok(secret)
}

/// `kilele payments channel --provider mpesa`: opens a school's M-Pesa channel with its
/// OpenAPI application, audited as the operator's tool.
pub async fn wallet_channel(
    pool: &sqlx::PgPool,
    pii: &kilele::audit::pii::KeyRing,
    school: &str,
    api_key: &str,
    shortcode: &str,
    allowed_ips: &[std::net::IpAddr],
) -> anyhow::Result<()> {
    let credentials = kilele::payments::mpesa::Credentials { api_key: api_key.to_owned(), service_provider_code: shortcode.to_owned() };
    if !(4..=12).contains(&shortcode.len()) || !shortcode.bytes().all(|b| b.is_ascii_alphanumeric()) {
        anyhow::bail!("the shortcode is 4 to 12 letters and digits");
    }
    open_wallet(pool, pii, school, kilele::payments::Provider::Mpesa, &serde_json::to_string(&credentials)?, allowed_ips).await
}

/// `kilele payments channel --provider tigo`: opens a school's Tigo Pesa channel with its
/// partner account. Tigo signs nothing, so the addresses it calls from are required.
pub async fn tigo_channel(
    pool: &sqlx::PgPool,
    pii: &kilele::audit::pii::KeyRing,
    school: &str,
    account: &str,
    allowed_ips: &[std::net::IpAddr],
) -> anyhow::Result<()> {
    let account: kilele::payments::tigo::TigoCredentials =
        serde_json::from_str(account).map_err(|e| anyhow::anyhow!("--tigo-account does not read: {e}"))?;
    account.check().map_err(|field| anyhow::anyhow!("--tigo-account: {field} is missing or malformed"))?;
    if allowed_ips.is_empty() {
        anyhow::bail!("Tigo Pesa signs nothing: give --allow-ip with the addresses Tigo calls from");
    }
    open_wallet(pool, pii, school, kilele::payments::Provider::Tigo, &serde_json::to_string(&account)?, allowed_ips).await
}

/// Opens a school's GePG channel: its codes (JSON) and its signing key (PEM), checked.
pub async fn gepg_channel(
    pool: &sqlx::PgPool,
    pii: &kilele::audit::pii::KeyRing,
    school: &str,
    account: &str,
    key_pem: &str,
) -> anyhow::Result<()> {
    let mut value: serde_json::Value = serde_json::from_str(account).map_err(|e| anyhow::anyhow!("--gepg-account does not read: {e}"))?;
    value["private_key_pem"] = key_pem.into();
    let account: kilele::payments::gepg::GepgCredentials =
        serde_json::from_value(value).map_err(|e| anyhow::anyhow!("--gepg-account does not read: {e}"))?;
    account.check().map_err(|field| anyhow::anyhow!("--gepg-account: {field} is missing or malformed"))?;
    account.key().map_err(|e| anyhow::anyhow!("--gepg-key-file: {e}"))?;
    open_wallet(pool, pii, school, kilele::payments::Provider::Gepg, &serde_json::to_string(&account)?, &[]).await
}

/// Opens a school's wallet channel with its credentials (JSON), audited as the operator's tool.
pub async fn open_wallet(
    pool: &sqlx::PgPool,
    pii: &kilele::audit::pii::KeyRing,
    school: &str,
    provider: kilele::payments::Provider,
    credentials: &str,
    allowed_ips: &[std::net::IpAddr],
) -> anyhow::Result<()> {
    let slug = kilele::tenancy::TenantSlug::parse(school).map_err(|_| anyhow::anyhow!("{school:?} is not a school code"))?;
    let tenant = kilele::tenancy::store::find_by_slug(pool, &slug).await?.ok_or_else(|| anyhow::anyhow!("no school {school}"))?;
    let mut tx = kilele::db::tenant_tx(pool, tenant.id).await?;
    let actor = kilele::audit::Actor::system("kilele payments channel");
    let by = kilele::identity::store::ChangedBy { actor: &actor, at: chrono::Utc::now() };
    kilele::payments::pushes::set_wallet(&mut tx, pii, provider, credentials, allowed_ips, by).await?;
    tx.commit().await?;
    Ok(())
}

/// `kilele simulate mpesa`: the simulator's key from `key_file` (made on the first start).
fn simulator_key(key_file: &std::path::Path) -> anyhow::Result<rsa::RsaPrivateKey> {
    use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
    if let Ok(der) = std::fs::read(key_file) {
        return Ok(rsa::RsaPrivateKey::from_pkcs8_der(&der)?);
    }
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
    if let Some(dir) = key_file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(key_file, key.to_pkcs8_der()?.as_bytes())?;
    Ok(key)
}

async fn simulate_mpesa(command: &SimulateCommand) -> anyhow::Result<()> {
    use base64::Engine;
    let SimulateCommand::Mpesa { listen, key_file, public_key_out, applications, answer_after_ms } = command else { return Ok(()) };
    let knobs = crate::simulate::mpesa::Knobs { answer_after: std::time::Duration::from_millis(*answer_after_ms) };
    let sim = crate::simulate::mpesa::Simulator::with_key(simulator_key(key_file)?, knobs)?;
    for app in applications {
        let mut parts = app.splitn(3, ':');
        let (Some(api_key), Some(code), Some(url)) = (parts.next(), parts.next(), parts.next()) else {
            anyhow::bail!("--application is API_KEY:SHORTCODE:CALLBACK_URL");
        };
        sim.register(crate::simulate::mpesa::Application {
            api_key: api_key.into(),
            service_provider_code: code.into(),
            callback_url: url.into(),
        });
    }
    if let Some(dir) = public_key_out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(public_key_out, base64::engine::general_purpose::STANDARD.encode(sim.public_key_der()))?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("M-Pesa simulator on http://{listen}{} (public key in {})", crate::simulate::mpesa::MARKET_PATHS[1], public_key_out.display());
    sim.serve(listener).await
}

async fn simulate_airtel(command: &SimulateCommand) -> anyhow::Result<()> {
    let SimulateCommand::Airtel { listen, applications, answer_after_ms } = command else { return Ok(()) };
    let sim = crate::simulate::airtel::Simulator::new(std::time::Duration::from_millis(*answer_after_ms))?;
    for app in applications {
        let mut parts = app.splitn(4, ':');
        let (Some(id), Some(secret), Some(key), Some(url)) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            anyhow::bail!("--application is CLIENT_ID:CLIENT_SECRET:CALLBACK_KEY:CALLBACK_URL");
        };
        sim.register(crate::simulate::airtel::Application {
            client_id: id.into(),
            client_secret: secret.into(),
            callback_key: Some(key.to_owned()).filter(|k| !k.is_empty()),
            callback_url: url.into(),
        });
    }
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("Airtel Money simulator on http://{listen}");
    sim.serve(listener).await
}

async fn simulate_tigo(command: &SimulateCommand) -> anyhow::Result<()> {
    match command {
        SimulateCommand::Tigo { listen, applications, answer_after_ms } => {
            let sim = crate::simulate::tigo::Simulator::new(std::time::Duration::from_millis(*answer_after_ms))?;
            for app in applications {
                let parts: Vec<&str> = app.splitn(6, ':').collect();
                let [partner, username, password, biller_msisdn, biller_code, url] = parts[..] else {
                    anyhow::bail!("--application is PARTNER:USERNAME:PASSWORD:BILLER_MSISDN:BILLER_CODE:CALLBACK_URL");
                };
                sim.register(crate::simulate::tigo::Application {
                    partner: partner.into(),
                    username: username.into(),
                    password: password.into(),
                    biller_msisdn: biller_msisdn.into(),
                    biller_code: biller_code.into(),
                    callback_url: url.into(),
                });
            }
            let listener = tokio::net::TcpListener::bind(listen).await?;
            println!("Tigo Pesa simulator on http://{listen}");
            sim.serve(listener).await
        }
        SimulateCommand::TigoUssd { url, school, company, control, amount, phone } => {
            let msisdn = kilele::payments::msisdn(phone).ok_or_else(|| anyhow::anyhow!("{phone:?} is not a Tanzanian mobile number"))?;
            let ussd = crate::simulate::tigo::Ussd::new(url, school, company)?;
            let looked = ussd.lookup(&msisdn, control).await?;
            println!("lookup: {} {}", looked.status, looked.body);
            if !looked.reply.is_some_and(|r| r.success) {
                anyhow::bail!("the school did not accept the reference");
            }
            let txn = format!("BP{}", &uuid::Uuid::new_v4().simple().to_string()[..12].to_uppercase());
            let paid = ussd.pay(&txn, &msisdn, control, *amount).await?;
            println!("payment {txn}: {} {}", paid.status, paid.body);
            Ok(())
        }
        _ => Ok(()),
    }
}

async fn simulate_gepg(command: &SimulateCommand) -> anyhow::Result<()> {
    use base64::Engine;
    use rsa::pkcs8::EncodePublicKey;
    let SimulateCommand::Gepg { listen, key_file, public_key_out, service_providers, answer_after_ms } = command else { return Ok(()) };
    let key = simulator_key(key_file)?;
    let public = base64::engine::general_purpose::STANDARD.encode(key.to_public_key().to_public_key_der()?.as_bytes());
    let sim = crate::simulate::gepg::Simulator::new(key, std::time::Duration::from_millis(*answer_after_ms))?;
    for sp in service_providers {
        let parts: Vec<&str> = sp.splitn(3, ':').collect();
        let [sp_code, pem_file, url] = parts[..] else { anyhow::bail!("--service-provider is SP_CODE:PUBLIC_KEY_PEM_FILE:CALLBACK_URL") };
        let public_key_pem = std::fs::read_to_string(pem_file).map_err(|e| anyhow::anyhow!("{pem_file}: {e}"))?;
        sim.register(crate::simulate::gepg::ServiceProvider { sp_code: sp_code.into(), public_key_pem, callback_url: url.into() });
    }
    if let Some(out) = public_key_out {
        std::fs::write(out, &public)?;
    }
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("GePG simulator on http://{listen} (GEPG_PUBLIC_KEY={public})");
    sim.serve(listener).await
}

async fn simulate(command: &SimulateCommand) -> ExitCode {
    if let SimulateCommand::Gepg { .. } = command {
        return match simulate_gepg(command).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kilele simulate gepg: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    if let SimulateCommand::Tigo { .. } | SimulateCommand::TigoUssd { .. } = command {
        return match simulate_tigo(command).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kilele simulate tigo: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    if let SimulateCommand::Airtel { .. } = command {
        return match simulate_airtel(command).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kilele simulate airtel: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    if let SimulateCommand::Mpesa { .. } = command {
        return match simulate_mpesa(command).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kilele simulate mpesa: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let SimulateCommand::Bank { url, provider, school, secret, control, amount, repeat, forge } = command else { return ExitCode::FAILURE };
    let run = async {
        let provider = kilele::payments::Provider::parse(provider).ok_or_else(|| anyhow::anyhow!("unknown provider {provider}"))?;
        let bank = crate::simulate::Bank::new(url, provider, school, secret)?;
        let faults = crate::simulate::Faults { forged: *forge, ..Default::default() };
        let asked = bank.validate(control, faults).await?;
        println!("validation: {} {}", asked.status, asked.body);
        let reference = format!("SIM{}", uuid::Uuid::new_v4().simple());
        for _ in 0..=*repeat {
            let answer = bank.notify(&reference, control, amount.saturating_mul(100), faults).await?;
            println!("notification {reference}: {} {}", answer.status, answer.body);
        }
        Ok::<_, anyhow::Error>(())
    };
    match run.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kilele simulate: {e:#}");
            ExitCode::FAILURE
        }
    }
}
