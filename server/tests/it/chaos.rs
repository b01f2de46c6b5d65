//! Chaos (issue 10): banks deliver payment notifications, and Tigo Pesa asks the school to take
//! payments parents make by USSD bill-pay — 30 % of them again, all of them out of order, many
//! at once — while the server (the real `kilele serve` binary, a process of its
//! own) is killed with SIGKILL mid-stream and started again, at least five times. A bank
//! retries until it gets a 2xx, as banks do; Tigo until it gets a reply (`TS`). (M-Pesa's and
//! Airtel's results each follow a parent's push and a status query: their own tests cover
//! repeats and lost results.) Afterwards every payment is posted exactly once,
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

fn start(owner_url: &str, port: u16, scratch: &std::path::Path) -> Process {
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
        .env_remove("MPESA_BASE_URL")
        .env_remove("MPESA_PUBLIC_KEY")
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
    let senders = secrets.len() + 1;
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

    // The payments (each a bank, a reference, a control number, an amount), 30 % of the
    // deliveries repeating one of them, all shuffled.
    let mut rng = rand::thread_rng();
    let unique = deliveries * 7 / 10;
    let payments: Vec<(usize, String, String, i64)> = (0..unique)
        .map(|i| {
            let bank = i % senders;
            let control = controls[rng.gen_range(0..controls.len())].clone();
            (bank, format!("CHAOS-{i:06}"), control, rng.gen_range(1..=500) * 100_000)
        })
        .collect();
    let mut queue: Vec<usize> = (0..unique).collect();
    while queue.len() < deliveries {
        queue.push(rng.gen_range(0..unique));
    }
    queue.shuffle(&mut rng);

    let scratch = std::env::temp_dir().join(format!("kilele-chaos-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&scratch).unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = Arc::new(Mutex::new(start(&owner_url, port, &scratch)));
    ready(&base).await;
    let banks: Arc<Vec<Bank>> = Arc::new(secrets.iter().map(|(p, s)| Bank::new(&base, *p, KHSS, s).unwrap()).collect());
    let ussd = Arc::new(Ussd::new(&base, KHSS, "298765").unwrap());

    // The killer: SIGKILL each time another sixth of the deliveries is answered, then start again.
    let answered = Arc::new(AtomicUsize::new(0));
    let killer = {
        let (server, answered, owner_url, scratch, base) =
            (server.clone(), answered.clone(), owner_url.clone(), scratch.clone(), base.clone());
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
                    *s = start(&owner_url, port, &scratch);
                }
                ready(&base).await;
                restarts.push(down.elapsed());
            }
            restarts
        })
    };

    let started = Instant::now();
    let retries = Arc::new(AtomicUsize::new(0));
    futures_util::stream::iter(queue)
        .map(|i| {
            let (banks, ussd, answered, retries, p) = (banks.clone(), ussd.clone(), answered.clone(), retries.clone(), payments[i].clone());
            async move {
                let (bank, reference, control, amount) = p;
                for attempt in 0.. {
                    assert!(attempt < 2_000, "{reference} never answered 2xx");
                    if bank == banks.len() {
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

    // Exactly once: one provider payment and one ledger-posted payment per bank transaction.
    let (rows, posted): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE status = 'posted' AND payment_id IS NOT NULL) FROM provider_payments WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_one(&owner)
    .await
    .unwrap();
    assert_eq!((rows, posted), (unique as i64, unique as i64), "every payment posted once");
    let (count, distinct, sum): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT reference), coalesce(sum(amount_minor), 0)::bigint FROM payments
          WHERE tenant_id = $1 AND channel IN ('nmb', 'nbc', 'crdb', 'tigo')",
    )
    .bind(tenant)
    .fetch_one(&owner)
    .await
    .unwrap();
    let expected: i64 = payments.iter().map(|p| p.3).sum();
    assert_eq!((count, distinct, sum), (unique as i64, unique as i64, expected), "no payment lost or doubled");
    let mut report = Vec::new();
    assert!(server::cli::ledger_check(&app_pool, KHSS, &mut report).await.unwrap(), "{}", String::from_utf8_lossy(&report));
    let undecided: i64 = sqlx::query_scalar("SELECT count(*) FROM payment_inbox WHERE tenant_id = $1 AND outcome = 'received'")
        .bind(tenant)
        .fetch_one(&owner)
        .await
        .unwrap();
    assert_eq!(restarts.len(), kills);
    println!(
        "chaos: {deliveries} deliveries (NMB, NBC, CRDB, Tigo USSD; {unique} payments, {} repeats) in {:.1} s ({:.0}/s) with {kills} SIGKILLs \
         (restart to ready: {:?}); {} retries by the banks; {undecided} deliveries left `received` by a kill (their \
         payments posted by a retry); ledger check: sound",
        deliveries - unique,
        elapsed.as_secs_f64(),
        deliveries as f64 / elapsed.as_secs_f64(),
        restarts.iter().map(|d| format!("{:.1}s", d.as_secs_f64())).collect::<Vec<_>>(),
        retries.load(Ordering::Relaxed),
    );
    let _ = std::fs::remove_dir_all(&scratch);
}
