//! `kilele bench webhooks`: bank payment notifications through the whole path — signed by the
//! bank simulator, sent over HTTP to the real server, verified, kept in the inbox, de-duplicated,
//! matched by control number and posted with its ledger entry — as fast as `--concurrency`
//! banks can send them for `--seconds`, one in ten a repeat of one already sent (as banks
//! retry). Reports events per second and the acknowledgement latency (p50, p99), against a
//! baseline measured in the same run with the same concurrency: `GET /healthz` on the same
//! server (the HTTP stack alone). Then checks exactly once: every transaction posted once.
//!
//! The load generator runs in the same process as the server, on the same cores (a 2-core
//! machine here): its signing and JSON cost is counted against the server's throughput.

use crate::bench::{seed_and_serve, Scratch};
use crate::config::Config;
use crate::simulate::{Bank, Faults};
use kilele::payments::Provider;
use sqlx::postgres::PgPoolOptions;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Options {
    pub seconds: u64,
    pub concurrency: usize,
}

pub async fn webhooks(mut config: Config, options: Options) -> anyhow::Result<()> {
    let scratch = Scratch::create(&config).await?;
    let result = async {
        let served = seed_and_serve(&mut config, 1, &scratch).await?;
        let result = measure(&config, &served, &options).await;
        served.stop().await;
        result
    }
    .await;
    scratch.drop().await;
    result
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// What one closed loop measured.
struct Measured {
    per_second: f64,
    latencies: Vec<Duration>,
    errors: usize,
    /// (bank index, reference, control number, amount) of each transaction sent first time.
    sent: Vec<(usize, String, String, i64)>,
}

async fn measure(config: &Config, served: &crate::bench::Served, options: &Options) -> anyhow::Result<()> {
    let app = PgPoolOptions::new().max_connections(2).connect(&config.app_database_url).await?;
    let school = "kilimanjaro-hills";
    let mut banks = Vec::new();
    let base = format!("http://{}", served.addr);
    for bank in Provider::BANKS {
        let secret = crate::cli::payment_channel(&app, &config.pii, school, bank.code(), crate::cli::ChannelChange::default())
            .await?
            .ok_or_else(|| anyhow::anyhow!("no secret"))?;
        banks.push(Bank::new(&base, bank, school, &secret)?);
    }
    let slug = kilele::tenancy::TenantSlug::parse(school).map_err(|_| anyhow::anyhow!("slug"))?;
    let tenant = kilele::tenancy::store::find_by_slug(&app, &slug).await?.ok_or_else(|| anyhow::anyhow!("no demo school"))?;
    let mut tx = kilele::db::tenant_tx(&app, tenant.id).await?;
    let controls = kilele::payments::db::some_control_numbers(&mut tx, 200).await?;
    tx.commit().await?;
    let banks = Arc::new(banks);
    let controls = Arc::new(controls);
    println!(
        "bench webhooks: {} s closed loop, {} concurrent senders, 3 banks, {} students' control numbers, 1 in 10 a repeat",
        options.seconds,
        options.concurrency,
        controls.len()
    );

    // Warm-up (connections, caches), not counted.
    let _ = notifications(&banks, &controls, options.concurrency, Duration::from_secs(2), "WARM").await;
    let baseline = healthz(&base, options.concurrency, Duration::from_secs(options.seconds)).await?;
    let run = notifications(&banks, &controls, options.concurrency, Duration::from_secs(options.seconds), "BENCH").await;

    // Exactly once.
    let mut tx = kilele::db::tenant_tx(&app, tenant.id).await?;
    let (rows, posted, payments) = kilele::payments::db::tally(&mut tx, "BENCH-").await?;
    tx.rollback().await?;
    let mut out = Vec::new();
    let sound = crate::cli::ledger_check(&app, school, &mut out).await?;

    let mut b = baseline.latencies.clone();
    b.sort();
    let mut w = run.latencies.clone();
    w.sort();
    println!("| | per second | p50 ack | p99 ack | errors |");
    println!("|---|---|---|---|---|");
    println!(
        "| GET /healthz (baseline, same run) | {:.0} | {:.2} ms | {:.2} ms | {} |",
        baseline.per_second,
        ms(percentile(&b, 0.5)),
        ms(percentile(&b, 0.99)),
        baseline.errors
    );
    println!(
        "| signed notification → posted | {:.0} | {:.2} ms | {:.2} ms | {} |",
        run.per_second,
        ms(percentile(&w, 0.5)),
        ms(percentile(&w, 0.99)),
        run.errors
    );
    println!(
        "ratio: {:.1} % of the baseline's rate; goal ≥ 2,000 events/s and p99 < 50 ms: {}",
        100.0 * run.per_second / baseline.per_second.max(1.0),
        if run.per_second >= 2000.0 && percentile(&w, 0.99) < Duration::from_millis(50) { "met" } else { "not met" }
    );
    println!(
        "exactly once: {} transactions sent, {rows} kept, {posted} posted, {payments} payments; ledger check: {}",
        run.sent.len(),
        if sound { "sound" } else { "BREACHED" }
    );
    anyhow::ensure!(rows as usize == run.sent.len() && posted == rows && payments == rows && sound, "not exactly once");
    Ok(())
}

async fn healthz(base: &str, concurrency: usize, duration: Duration) -> anyhow::Result<Measured> {
    let client = reqwest::Client::builder().build()?;
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, url) = (client.clone(), format!("{base}/healthz"));
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0usize);
            while Instant::now() < deadline {
                let t = Instant::now();
                match client.get(&url).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for t in tasks {
        if let Ok((l, e)) = t.await {
            latencies.extend(l);
            errors += e;
        }
    }
    Ok(Measured { per_second: latencies.len() as f64 / started.elapsed().as_secs_f64(), latencies, errors, sent: Vec::new() })
}

async fn notifications(banks: &Arc<Vec<Bank>>, controls: &Arc<Vec<String>>, concurrency: usize, duration: Duration, tag: &str) -> Measured {
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency.max(1) {
        let (banks, controls, tag) = (banks.clone(), controls.clone(), tag.to_owned());
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors, mut sent) = (Vec::new(), 0usize, Vec::<(usize, String, String, i64)>::new());
            let mut n = 0usize;
            while Instant::now() < deadline {
                // Every tenth a repeat of this sender's last transaction (a bank retrying).
                let repeat = n % 10 == 9 && !sent.is_empty();
                let tx = match (repeat, sent.last()) {
                    (true, Some(last)) => last.clone(),
                    _ => {
                        let bank = (worker + n) % banks.len();
                        let control = controls[(worker * 7 + n * 13) % controls.len()].clone();
                        (bank, format!("{tag}-{worker:03}-{n:07}"), control, 100_000 + ((n % 50) as i64) * 10_000)
                    }
                };
                n += 1;
                let t = Instant::now();
                match banks[tx.0].notify(&tx.1, &tx.2, tx.3, Faults::default()).await {
                    Ok(a) if a.status == 200 => {
                        latencies.push(t.elapsed());
                        if !repeat {
                            sent.push(tx);
                        }
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors, sent)
        }));
    }
    let (mut latencies, mut errors, mut sent) = (Vec::new(), 0, Vec::new());
    for t in tasks {
        if let Ok((l, e, s)) = t.await {
            latencies.extend(l);
            errors += e;
            sent.extend(s);
        }
    }
    Measured { per_second: latencies.len() as f64 / started.elapsed().as_secs_f64(), latencies, errors, sent }
}
