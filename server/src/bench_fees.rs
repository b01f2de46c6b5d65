//! `kilele bench fees`: the two fee goals on a 2,000-student school (the demo school
//! seeded `--scale` times), in a scratch database.
//!
//! 1. Invoicing the whole school for a term (three instalments, sibling discounts) as one run
//!    of the worker's code, against a baseline from the same run: writing as many rows to a
//!    scratch table in one statement (what the machine's database does with no logic at all).
//! 2. The accountant's dashboard, server time (the domain's reads in a school transaction, as
//!    the server function runs them), with the term's payments present (one student in three
//!    paid), against a baseline from the same run: a school transaction that only selects 1.

use crate::bench::Scratch;
use crate::config::Config;
use kilele::finance::billing::{InstalmentForm, ItemForm};
use kilele::finance::db::{invoicing, payments, reads};
use sqlx::postgres::PgPoolOptions;
use std::time::{Duration, Instant};

pub struct Options {
    pub scale: usize,
    pub runs: usize,
}

pub async fn fees(mut config: Config, options: Options) -> anyhow::Result<()> {
    let scratch = Scratch::create(&config).await?;
    let result = async {
        crate::bench::seed_scratch(&mut config, options.scale, &scratch).await?;
        measure(&config, &options).await
    }
    .await;
    scratch.drop().await;
    result
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

async fn measure(config: &Config, options: &Options) -> anyhow::Result<()> {
    let app = PgPoolOptions::new().max_connections(4).connect(&config.app_database_url).await?;
    let worker = PgPoolOptions::new().max_connections(4).connect(&config.worker_database_url).await?;
    let slug = kilele::tenancy::TenantSlug::parse("kilimanjaro-hills").map_err(|_| anyhow::anyhow!("slug"))?;
    let school = kilele::tenancy::store::find_by_slug(&app, &slug).await?.ok_or_else(|| anyhow::anyhow!("no demo school"))?;
    let bursar = kilele::identity::store::find_user_id(&app, school.id, "bursar@kilimanjaro-hills.test").await?;
    let actor = kilele::audit::Actor::user(bursar, "bursar");
    let now = chrono::Utc::now();
    let by = kilele::identity::store::ChangedBy { actor: &actor, at: now };

    // The term's fees: every class the same structure, sibling discounts on; invoiced as one
    // run of the worker's code.
    let fees = crate::seed::TermFees {
        items: vec![
            ItemForm { name: "Tuition".into(), amount: "450,000".into(), compulsory: true },
            ItemForm { name: "Examination".into(), amount: "30,000".into(), compulsory: true },
            ItemForm { name: "Development levy".into(), amount: "50,000".into(), compulsory: true },
            ItemForm { name: "Transport".into(), amount: "120,000".into(), compulsory: false },
        ],
        instalments: vec![
            InstalmentForm { percent: "40".into(), due_on: "2026-07-15".into() },
            InstalmentForm { percent: "30".into(), due_on: "2026-09-01".into() },
            InstalmentForm { percent: "30".into(), due_on: "2027-01-15".into() },
        ],
        rules: crate::seed::TermFees::rules("10", "15", "5,000", "7"),
        level: None,
    };
    let mut tx = kilele::db::tenant_tx(&app, school.id).await?;
    let students = reads::active_students(&mut tx).await?;
    tx.rollback().await?;
    let started = Instant::now();
    let (_, run) = crate::seed::bill_term(&app, &worker, &config.pii, school.id, by, &fees).await?;
    let invoicing_took = started.elapsed();
    let mut tx = kilele::db::tenant_tx(&app, school.id).await?;
    let view = invoicing::run_view(&mut tx, run).await?;
    let (entries, lines) = kilele::finance::db::ledger::size(&mut tx).await?;
    tx.rollback().await?;
    // The baseline: about as many rows as the run wrote (per student an invoice, its lines
    // and instalments, a control number and its accounts: ~10; plus the ledger's), in one
    // statement with no logic.
    let rows = entries + lines + i64::try_from(students).unwrap_or(0) * 10;
    let baseline = kilele::databases::bulk_write_baseline(&worker, rows).await?;
    println!(
        "invoicing {} students (3 instalments, sibling discounts): {:.0} ms ({:.0} invoices/s), {} journal entries, {} lines; goal under 5,000 ms: {}",
        view.done,
        ms(invoicing_took),
        f64::from(view.done) / invoicing_took.as_secs_f64(),
        entries,
        lines,
        if invoicing_took < Duration::from_secs(5) { "met" } else { "NOT met" }
    );
    println!(
        "  baseline ({rows} narrow rows in one INSERT, same database): {:.1} ms; ratio {:.1}x",
        ms(baseline),
        invoicing_took.as_secs_f64() / baseline.as_secs_f64().max(1e-9)
    );

    // The term's payments: one student in three paid part of their fees, over the last weeks.
    let started = Instant::now();
    let mut tx = kilele::db::tenant_tx(&app, school.id).await?;
    let billed = reads::invoiced_students(&mut tx).await?;
    let mut paid = 0;
    for (n, student) in billed.iter().enumerate().filter(|(n, _)| n % 3 == 0) {
        let payment = payments::NewPayment {
            amount_minor: 20_000_000,
            channel: kilele::finance::ledger::Channel::ALL[n % kilele::finance::ledger::Channel::ALL.len()],
            reference: Some(format!("BENCH{n}")),
            paid_on: now.date_naive() - chrono::Duration::days(i64::try_from(n % 40).unwrap_or(0)),
        };
        payments::record_payment(&mut tx, *student, &payment, by).await?;
        paid += 1;
    }
    tx.commit().await?;
    println!(
        "recorded {paid} payments in {:.0} ms ({:.1} ms each, audited)",
        ms(started.elapsed()),
        ms(started.elapsed()) / f64::from(paid.max(1))
    );
    use sqlx::Connection;
    let mut settle = sqlx::PgConnection::connect_with(&kilele::db::connect_options(config.owner_url()?)?).await?;
    kilele::databases::settle(&mut settle).await?;

    // The dashboard, server time, against a school transaction that only selects 1. Three
    // ways: computed (nothing kept), kept (no posting since the last view), and right after a
    // payment (the busy day: every view follows a posting, so every view computes).
    let today = kilele::clock::school_date(chrono::Utc::now());
    let kept = reads::DashboardCache::new();
    let (mut computed, mut reused, mut after_payment, mut base) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut last = None;
    let one_more =
        payments::NewPayment { amount_minor: 100_000, channel: kilele::finance::ledger::Channel::Cash, reference: None, paid_on: today };
    for n in 0..options.runs.max(1) {
        let started = Instant::now();
        let mut tx = kilele::db::tenant_tx(&app, school.id).await?;
        last = Some(reads::dashboard(&mut tx, today, &reads::DashboardCache::new()).await?);
        tx.rollback().await?;
        computed.push(started.elapsed());

        let started = Instant::now();
        let mut tx = kilele::db::tenant_tx(&app, school.id).await?;
        reads::dashboard(&mut tx, today, &kept).await?;
        tx.rollback().await?;
        reused.push(started.elapsed());

        let student = billed.get(n % billed.len().max(1)).copied().ok_or_else(|| anyhow::anyhow!("nobody was invoiced"))?;
        let mut tx = kilele::db::tenant_tx(&app, school.id).await?;
        payments::record_payment(&mut tx, student, &one_more, by).await?;
        tx.commit().await?;
        let started = Instant::now();
        let mut tx = kilele::db::tenant_tx(&app, school.id).await?;
        reads::dashboard(&mut tx, today, &kept).await?;
        tx.rollback().await?;
        after_payment.push(started.elapsed());

        let started = Instant::now();
        let mut tx = kilele::db::tenant_tx(&app, school.id).await?;
        kilele::db::ping_in(&mut tx).await?;
        tx.rollback().await?;
        base.push(started.elapsed());
    }
    let (computed, reused, after_payment, base) = (median(computed), median(reused), median(after_payment), median(base));
    let goal = |d: Duration| if d < Duration::from_millis(50) { "met" } else { "NOT met" };
    let ratio = |d: Duration| d.as_secs_f64() / base.as_secs_f64().max(1e-9);
    if let Some(d) = last {
        println!(
            "dashboard ({} students invoiced, billed {}, collected {}, arrears {}), median of {} runs:",
            d.invoiced_students,
            kilele::finance::Money::from_minor(d.billed_minor, kilele::finance::Currency::Tzs),
            kilele::finance::Money::from_minor(d.collected_minor, kilele::finance::Currency::Tzs),
            kilele::finance::Money::from_minor(d.ageing.total(), kilele::finance::Currency::Tzs),
            options.runs,
        );
    }
    println!("  computed (nothing kept): {:.1} ms, {:.1}x baseline; goal under 50 ms: {}", ms(computed), ratio(computed), goal(computed));
    println!(
        "  right after a payment (computed, then kept): {:.1} ms, {:.1}x; goal: {}",
        ms(after_payment),
        ratio(after_payment),
        goal(after_payment)
    );
    println!("  kept (no posting since the last view): {:.2} ms, {:.1}x; goal: {}", ms(reused), ratio(reused), goal(reused));
    println!("  baseline (a school transaction selecting 1): {:.2} ms", ms(base));
    app.close().await;
    worker.close().await;
    Ok(())
}
