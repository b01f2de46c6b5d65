//! Chaos (issue 10): banks deliver payment notifications, Tigo Pesa asks the school to take
//! payments parents make by USSD bill-pay, and parents' M-Pesa and Airtel Money pushes are
//! answered by the wallets' results — 30 % of them again, all of them out of order, many at
//! once — while the server (the real `kilele serve` binary, a process of its own) is killed
//! with SIGKILL mid-stream and started again, at least five times. A bank retries until it
//! gets a 2xx, as banks do; Tigo until it gets a reply (`TS`). The wallets (their simulators,
//! in this process) send each result once, twice (phones ending 4) or never (ending 5), and
//! never again after a refused connection: what a kill swallowed is found by the status query
//! of the re-check (`Wallets::recheck`), run here at the end as the server runs it every half
//! minute. Afterwards every payment is posted exactly once, every decline posts nothing,
//! nothing is lost, and `kilele ledger check` finds the ledger sound.
//!
//! `scripts/test` runs it with 600 deliveries; `scripts/chaos` runs the full 10,000
//! (KILELE_CHAOS_DELIVERIES) and prints the figures.

use crate::harness::*;
use futures_util::StreamExt;
use kilele::payments::Provider;
use rand::seq::SliceRandom;
use rand::Rng;
use server::simulate::tigo::Ussd;
use server::simulate::{Bank, Faults};
use sqlx::postgres::PgPoolOptions;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The server as the operator runs it, on `port`, until killed (at the latest when the test
/// ends, even by a panic: a failed run leaves no server behind).
struct Process {
    child: std::process::Child,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Where the server reaches the wallets' simulators.
struct WalletUrls {
    mpesa_base: String,
    mpesa_public_key: String,
    airtel_base: String,
}

fn start(owner_url: &str, port: u16, scratch: &std::path::Path, wallets: &WalletUrls) -> Process {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(scratch.join("server.log")).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_kilele"))
        .arg("serve")
        .current_dir(scratch)
        .env("DATABASE_URL", owner_url)
        .env("REDIS_URL", redis_url())
        .env("KILELE_ENV", "development")
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("STORAGE_DIR", scratch.join("storage"))
        .env("MAIL_DIR", scratch.join("mail"))
        .env("RUST_LOG", "warn")
        .env("DATABASE_POOL_SIZE", "10")
        .env_remove("APP_DATABASE_URL")
        .env("MPESA_BASE_URL", &wallets.mpesa_base)
        .env("MPESA_PUBLIC_KEY", &wallets.mpesa_public_key)
        .env("AIRTEL_BASE_URL", &wallets.airtel_base)
        .env_remove("TIGO_BASE_URL")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("the kilele binary starts");
    Process { child }
}

async fn ready(base: &str) {
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not answer {base}/healthz within 60 s");
}

#[tokio::test]
async fn payments_survive_sigkill_duplicates_and_reordering() {
    let deliveries: usize = std::env::var("KILELE_CHAOS_DELIVERIES").ok().and_then(|v| v.parse().ok()).unwrap_or(600);
    let kills = 5;
    kilele::storage::install_crypto_provider();
    let (_, owner_url) = fresh_database().await;
    let owner = PgPoolOptions::new().max_connections(2).connect(&owner_url).await.unwrap();
    let app_pool = PgPoolOptions::new().max_connections(2).connect(&server::config::derive_app_url(&owner_url).unwrap()).await.unwrap();
    let pii = kilele::audit::pii::KeyRing::development();

    // The school's three banks, and the control numbers of fifty of its students.
    let mut secrets = Vec::new();
    for bank in Provider::BANKS {
        let change = server::cli::ChannelChange::default();
        secrets.push((bank, server::cli::payment_channel(&app_pool, &pii, KHSS, bank.code(), change).await.unwrap().unwrap()));
    }
    // Tigo Pesa's USSD bill-pay, from this machine (the only address the channel lists).
    let tigo = serde_json::json!({ "username": "chaos", "password": "chaos-pass", "partner": "Chaos", "biller_msisdn": "255652000111",
                                   "biller_code": "CH", "company_number": "298765" });
    let local = [std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)];
    server::cli::open_wallet(&app_pool, &pii, KHSS, Provider::Tigo, &tigo.to_string(), &local).await.unwrap();
    // M-Pesa and Airtel Money: their simulators here, the server told where they are; the
    // pushes are sent from here too (what the parent's "pay now" does), their results go to
    // the server.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let (wallets, wallet_urls, mpesa_sim, airtel_sim) = wallet_simulators(&app_pool, &pii, &base).await;
    let senders = secrets.len() + 3;
    let (tigo_ussd, mpesa_push, airtel_push) = (secrets.len(), secrets.len() + 1, secrets.len() + 2);
    let parent: uuid::Uuid = sqlx::query_scalar(
        "SELECT u.id FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.slug = $1 AND u.email LIKE 'parent@%' LIMIT 1",
    )
    .bind(KHSS)
    .fetch_one(&owner)
    .await
    .unwrap();
    let tenant: uuid::Uuid = sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1").bind(KHSS).fetch_one(&owner).await.unwrap();
    let students: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM students WHERE tenant_id = $1 AND status = 'active' ORDER BY admission_no LIMIT 50")
            .bind(tenant)
            .fetch_all(&owner)
            .await
            .unwrap();
    let mut controls = Vec::new();
    let mut tx = kilele::db::tenant_tx(&app_pool, kilele::tenancy::TenantId(tenant)).await.unwrap();
    for s in &students {
        controls.push(kilele::finance::db::accounts::control_number(&mut tx, *s).await.unwrap());
    }
    tx.commit().await.unwrap();

    // The payments (each a sender, a reference, a control number, an amount), 30 % of the
    // deliveries repeating one of them, all shuffled. A push's "reference" is the phone it
    // asks: its last digit says what the simulated phone does (the wallets' repeats are theirs
    // to make: a push is sent once). One push in ten is declined on the phone.
    let mut rng = rand::thread_rng();
    let unique = deliveries * 7 / 10;
    let payments: Vec<(usize, String, String, i64)> = (0..unique)
        .map(|i| {
            let sender = i % senders;
            let control = controls[rng.gen_range(0..controls.len())].clone();
            let reference = match sender {
                s if s == mpesa_push || s == airtel_push => {
                    let ending = *[0, 0, 0, 0, 4, 4, 4, 5, 5, 1].choose(&mut rng).unwrap();
                    format!("{}234567{ending}", if s == mpesa_push { "071" } else { "068" })
                }
                _ => format!("CHAOS-{i:06}"),
            };
            (sender, reference, control, rng.gen_range(1..=500) * 100_000)
        })
        .collect();
    let mut queue: Vec<usize> = (0..unique).collect();
    while queue.len() < deliveries {
        let again = rng.gen_range(0..unique);
        if payments[again].0 < mpesa_push {
            queue.push(again);
        }
    }
    queue.shuffle(&mut rng);
    let declined = |p: &(usize, String, String, i64)| p.0 >= mpesa_push && p.1.ends_with('1');
    let pushed = payments.iter().filter(|p| p.0 >= mpesa_push).count();

    let scratch = std::env::temp_dir().join(format!("kilele-chaos-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&scratch).unwrap();
    let server = Arc::new(Mutex::new(start(&owner_url, port, &scratch, &wallet_urls)));
    let wallet_urls = Arc::new(wallet_urls);
    ready(&base).await;
    let banks: Arc<Vec<Bank>> = Arc::new(secrets.iter().map(|(p, s)| Bank::new(&base, *p, KHSS, s).unwrap()).collect());
    let ussd = Arc::new(Ussd::new(&base, KHSS, "298765").unwrap());

    // The killer: SIGKILL each time another sixth of the deliveries is answered, then start again.
    let answered = Arc::new(AtomicUsize::new(0));
    let killer = {
        let (server, answered, owner_url, scratch, base, wallet_urls) =
            (server.clone(), answered.clone(), owner_url.clone(), scratch.clone(), base.clone(), wallet_urls.clone());
        tokio::spawn(async move {
            let mut restarts = Vec::new();
            for k in 1..=kills {
                while answered.load(Ordering::Relaxed) < deliveries * k / (kills + 1) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                let down = Instant::now();
                // SIGKILL, reaped (its port free again), then start again.
                {
                    let mut s = server.lock().unwrap();
                    s.child.kill().unwrap();
                    s.child.wait().unwrap();
                    *s = start(&owner_url, port, &scratch, &wallet_urls);
                }
                ready(&base).await;
                restarts.push(down.elapsed());
            }
            restarts
        })
    };

    let started = Instant::now();
    let retries = Arc::new(AtomicUsize::new(0));
    let khss = kilele::tenancy::TenantId(tenant);
    let pushes = Arc::new(Mutex::new(Vec::new()));
    let student_by_control: Arc<std::collections::HashMap<String, uuid::Uuid>> =
        Arc::new(controls.iter().cloned().zip(students.iter().copied()).collect());
    futures_util::stream::iter(queue)
        .map(|i| {
            let (banks, ussd, answered, retries, p) = (banks.clone(), ussd.clone(), answered.clone(), retries.clone(), payments[i].clone());
            let (wallets, app_pool, pii, pushes, student_by_control) =
                (wallets.clone(), app_pool.clone(), pii.clone(), pushes.clone(), student_by_control.clone());
            async move {
                let (bank, reference, control, amount) = p;
                if bank >= mpesa_push {
                    // The parent's push, sent from here; its results go to the server.
                    let provider = if bank == mpesa_push { Provider::Mpesa } else { Provider::Airtel };
                    let student = student_by_control[&control];
                    let push = push(&app_pool, &pii, khss, &wallets, provider, student, parent, &reference, amount).await;
                    pushes.lock().unwrap().push((push, i));
                    answered.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                for attempt in 0.. {
                    assert!(attempt < 2_000, "{reference} never answered 2xx");
                    if bank == tigo_ussd {
                        // Tigo: the payment is ours to take only when the reply says TS.
                        match ussd.pay(&reference, "255652123456", &control, amount / 100).await {
                            Ok(a) if a.status == 200 => {
                                assert!(a.reply.as_ref().is_some_and(|r| r.success), "{reference}: {}", a.body);
                                break;
                            }
                            Ok(a) if a.status / 100 == 4 => panic!("{reference} refused: {} {}", a.status, a.body),
                            _ => {
                                retries.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                continue;
                            }
                        }
                    }
                    match banks[bank].notify(&reference, &control, amount, Faults::default()).await {
                        Ok(a) if a.status == 200 => {
                            // Each bank its own field names (NBC: PascalCase).
                            let status = a.body["status"].as_str().or(a.body["Status"].as_str()).unwrap_or_default().to_owned();
                            assert!(status == "ACCEPTED" || status == "DUPLICATE", "{reference}: {:?}", a.body);
                            break;
                        }
                        // A refusal is a bug here: every delivery is genuine.
                        Ok(a) if a.status / 100 == 4 => panic!("{reference} refused: {} {:?}", a.status, a.body),
                        // Killed mid-request, or 500 while the database was busy: the bank tries again.
                        _ => {
                            retries.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
                answered.fetch_add(1, Ordering::Relaxed);
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    let elapsed = started.elapsed();
    let restarts = killer.await.unwrap();

    // The wallets' results still on their way, then what the kills swallowed: found by the
    // re-check's status queries (as the server's own re-check would, every half minute).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let waiting = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM payment_pushes WHERE tenant_id = $1 AND status IN ('waiting', 'abandoned')")
            .bind(tenant)
            .fetch_one(&owner)
            .await
            .unwrap()
    };
    let mut rechecked = 0;
    // Twenty pushes a pass (as the server asks), each pass a minute later than the last; the
    // re-check asks for a day.
    for pass in 1..=600 {
        if waiting().await == 0 {
            break;
        }
        let later = chrono::Utc::now() + chrono::Duration::minutes(pass);
        rechecked += wallets.recheck(&app_pool, &pii, khss, later).await.unwrap();
    }
    assert_eq!(waiting().await, 0, "every push settled");
    let pushes = pushes.lock().unwrap().clone();
    assert_eq!(pushes.len(), pushed);
    let (paid, failed): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'paid'), count(*) FILTER (WHERE status = 'failed') FROM payment_pushes WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_one(&owner)
    .await
    .unwrap();
    let declines = payments.iter().filter(|p| declined(p)).count();
    assert_eq!((paid, failed), ((pushed - declines) as i64, declines as i64), "each push paid or declined as its phone said");
    let results_sent = mpesa_sim.acks().len() + airtel_sim.acks().len();

    // Exactly once: one provider payment and one ledger-posted payment per bank transaction.
    let (rows, posted): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE status = 'posted' AND payment_id IS NOT NULL) FROM provider_payments WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_one(&owner)
    .await
    .unwrap();
    let paying = (unique - declines) as i64;
    assert_eq!((rows, posted), (paying, paying), "every payment posted once");
    let (count, distinct, sum): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT (channel, reference)), coalesce(sum(amount_minor), 0)::bigint FROM payments
          WHERE tenant_id = $1 AND channel IN ('nmb', 'nbc', 'crdb', 'tigo', 'mpesa', 'airtel')",
    )
    .bind(tenant)
    .fetch_one(&owner)
    .await
    .unwrap();
    let expected: i64 = payments.iter().filter(|p| !declined(p)).map(|p| p.3).sum();
    assert_eq!((count, distinct, sum), (paying, paying, expected), "no payment lost or doubled");
    // Each paid push's payment is its own (its amount, its child).
    let mismatched: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM payment_pushes pp JOIN payments p ON p.tenant_id = pp.tenant_id AND p.id = pp.payment_id
          WHERE pp.tenant_id = $1 AND (p.amount_minor <> pp.amount_minor OR p.student_id <> pp.student_id)",
    )
    .bind(tenant)
    .fetch_one(&owner)
    .await
    .unwrap();
    assert_eq!(mismatched, 0);
    let mut report = Vec::new();
    assert!(server::cli::ledger_check(&app_pool, KHSS, &mut report).await.unwrap(), "{}", String::from_utf8_lossy(&report));
    let undecided: i64 = sqlx::query_scalar("SELECT count(*) FROM payment_inbox WHERE tenant_id = $1 AND outcome = 'received'")
        .bind(tenant)
        .fetch_one(&owner)
        .await
        .unwrap();
    assert_eq!(restarts.len(), kills);
    println!(
        "chaos: {deliveries} deliveries (NMB, NBC, CRDB, Tigo USSD, M-Pesa and Airtel pushes; {unique} payments, {} repeats by the \
         banks and Tigo; {pushed} pushes, {declines} declined, {results_sent} results sent by the wallets, {rechecked} settled by the \
         re-check) in {:.1} s ({:.0}/s) with {kills} SIGKILLs (restart to ready: {:?}); {} retries by the banks and Tigo; \
         {undecided} deliveries left `received` by a kill (their payments posted by a retry); ledger check: sound",
        deliveries - unique,
        elapsed.as_secs_f64(),
        deliveries as f64 / elapsed.as_secs_f64(),
        restarts.iter().map(|d| format!("{:.1}s", d.as_secs_f64())).collect::<Vec<_>>(),
        retries.load(Ordering::Relaxed),
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

const MPESA_API_KEY: &str = "chaos-openapi-key";
const MPESA_SHORTCODE: &str = "171718";

/// The M-Pesa and Airtel simulators serving here, the school's channels for them, a client of
/// both (to send pushes from here), and where the server finds them.
async fn wallet_simulators(
    app_pool: &sqlx::PgPool,
    pii: &kilele::audit::pii::KeyRing,
    server_base: &str,
) -> (kilele::payments::wallets::Wallets, WalletUrls, server::simulate::mpesa::Simulator, server::simulate::airtel::Simulator) {
    use base64::Engine;
    let answer_after = Duration::from_millis(100);
    let mpesa = server::simulate::mpesa::Simulator::new(server::simulate::mpesa::Knobs { answer_after }).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mpesa_base = format!("http://{}/openapi/ipg/v2/vodacomTZN", listener.local_addr().unwrap());
    tokio::spawn(mpesa.clone().serve(listener));
    server::cli::wallet_channel(app_pool, pii, KHSS, MPESA_API_KEY, MPESA_SHORTCODE, &[]).await.unwrap();
    mpesa.register(server::simulate::mpesa::Application {
        api_key: MPESA_API_KEY.into(),
        service_provider_code: MPESA_SHORTCODE.into(),
        callback_url: format!("{server_base}/api/v1/webhooks/mpesa/{KHSS}"),
    });
    let airtel = server::simulate::airtel::Simulator::new(answer_after).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let airtel_base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(airtel.clone().serve(listener));
    let credentials =
        serde_json::json!({ "client_id": "chaos-airtel", "client_secret": "s3cret", "callback_key": "callback-key-chaos" }).to_string();
    server::cli::open_wallet(app_pool, pii, KHSS, Provider::Airtel, &credentials, &[]).await.unwrap();
    airtel.register(server::simulate::airtel::Application {
        client_id: "chaos-airtel".into(),
        client_secret: "s3cret".into(),
        callback_key: Some("callback-key-chaos".into()),
        callback_url: format!("{server_base}/api/v1/webhooks/airtel/{KHSS}"),
    });
    let settings = kilele::payments::mpesa::MpesaSettings { base_url: mpesa_base.clone(), public_key_der: mpesa.public_key_der() };
    let wallets = kilele::payments::wallets::Wallets {
        mpesa: Some(Arc::new(kilele::payments::mpesa::MpesaApi::new(&settings).unwrap())),
        airtel: Some(Arc::new(kilele::payments::airtel::AirtelApi::new(&airtel_base).unwrap())),
        tigo: None,
        gepg: None,
    };
    let urls =
        WalletUrls { mpesa_base, mpesa_public_key: base64::engine::general_purpose::STANDARD.encode(mpesa.public_key_der()), airtel_base };
    (wallets, urls, mpesa, airtel)
}

/// A parent's "pay now": recorded, then sent to the wallet (as `portal/fees/pay` does).
#[allow(clippy::too_many_arguments)]
async fn push(
    app_pool: &sqlx::PgPool,
    pii: &kilele::audit::pii::KeyRing,
    school: kilele::tenancy::TenantId,
    wallets: &kilele::payments::wallets::Wallets,
    provider: Provider,
    student: uuid::Uuid,
    parent: uuid::Uuid,
    phone: &str,
    amount_minor: i64,
) -> uuid::Uuid {
    let new = kilele::payments::pushes::NewPush {
        provider,
        student_id: student,
        requested_by: parent,
        phone: phone.to_owned(),
        amount: (amount_minor / 100).to_string(),
    };
    let actor = kilele::audit::Actor::user(parent, "parent");
    let mut tx = kilele::db::tenant_tx(app_pool, school).await.unwrap();
    let push =
        kilele::payments::pushes::begin(&mut tx, pii, &new, kilele::identity::store::ChangedBy { actor: &actor, at: chrono::Utc::now() })
            .await
            .unwrap();
    let (_, credentials) = kilele::payments::pushes::wallet(&mut tx, pii, provider).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    wallets.send(app_pool, pii, school, &push, &credentials, chrono::Utc::now()).await.unwrap();
    push.id
}
