//! Background worker: a thin loop around `kilele::jobs`. The domain claims jobs across
//! schools (through `claim_jobs`, the only cross-tenant step, which only the worker role may
//! call), opens each into a typed job and dispatches it to the handlers this process
//! provides here (the mail outbox, the audit verifier, the report-card printer); it records completion, retries with
//! backoff and final failure. Several jobs run at once ([`Pace::slots`]), and a queued job
//! wakes the worker at once (LISTEN/NOTIFY) instead of waiting for the next poll.

use crate::mail::Outbox;
use kilele::audit::pii::KeyRing;
use kilele::jobs::HandlerError;
use kilele::notifications::InvitationEmail;
use kilele::tenancy::TenantId;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;

/// What jobs need: the database (as the worker role, `kilele_worker`: the only role that may
/// claim jobs), the personal-data keys (payloads may be sealed), the audit key (to verify
/// chains) and the outbox.
#[derive(Clone)]
pub struct Worker {
    pub pool: PgPool,
    pub pii: Arc<KeyRing>,
    pub audit_key: Arc<kilele::audit::AuditKey>,
    pub outbox: Arc<Outbox>,
    /// Report cards: the renderer, the storage, the clock.
    pub printer: crate::cards::job::Printer,
}

const LEASE_SECONDS: i32 = 300;
const BATCH: i32 = 5;

impl kilele::jobs::Handlers for Worker {
    async fn invitation_email(&self, tenant: TenantId, m: &InvitationEmail) -> Result<(), HandlerError> {
        let (subject, body) = kilele::notifications::invitation_email(&m.school, &m.link);
        self.outbox.send(&m.to, &subject, body).await?;
        tracing::info!(tenant = %tenant, "invitation email sent");
        Ok(())
    }

    async fn audit_verify(&self, tenant: TenantId) -> Result<(), HandlerError> {
        let (entries, breaks) = kilele::audit::verify_tenant(&self.pool, tenant, &self.audit_key).await?;
        if !breaks.is_empty() {
            tracing::error!(tenant = %tenant, ?breaks, "AUDIT CHAIN BROKEN");
            return Err(format!("audit chain broken: {breaks:?}").into());
        }
        tracing::info!(tenant = %tenant, entries, "audit chain intact");
        let mut tx = kilele::db::tenant_tx(&self.pool, tenant).await?;
        let mismatches = kilele::results::db::verify_marks(&mut tx).await?;
        tx.rollback().await?;
        if mismatches.is_empty() {
            Ok(())
        } else {
            tracing::error!(tenant = %tenant, count = mismatches.len(), "MARKS DIFFER FROM THE AUDIT LOG");
            Err(format!("{} marks differ from the audit log: {mismatches:?}", mismatches.len()).into())
        }
    }

    async fn report_cards(&self, tenant: TenantId, batch: uuid::Uuid) -> Result<(), HandlerError> {
        crate::cards::job::print_batch(&self.printer, tenant, batch).await
    }

    async fn invoices(&self, tenant: TenantId, run: uuid::Uuid) -> Result<(), HandlerError> {
        let clock = self.printer.clock.clone();
        kilele::finance::db::invoicing::run(&self.pool, tenant, run, move || clock.now()).await?;
        tracing::info!(tenant = %tenant, %run, "invoicing run finished");
        Ok(())
    }

    async fn late_fines(&self, tenant: TenantId) -> Result<(), HandlerError> {
        let now = self.printer.clock.now();
        let mut tx = kilele::db::tenant_tx(&self.pool, tenant).await?;
        let applied = kilele::finance::db::payments::apply_late_fines(&mut tx, kilele::clock::school_date(now), now).await?;
        tx.commit().await?;
        tracing::info!(tenant = %tenant, applied, "late fines applied");
        Ok(())
    }

    async fn result_flags(&self, tenant: TenantId, term: uuid::Uuid) -> Result<(), HandlerError> {
        let mut tx = kilele::db::tenant_tx(&self.pool, tenant).await?;
        let thresholds = kilele::results::flags::FlagThresholds::default();
        let raised = kilele::results::db::score_term(&mut tx, term, &thresholds, chrono::Utc::now()).await?;
        tx.commit().await?;
        tracing::info!(tenant = %tenant, %term, raised, "result flags scored");
        Ok(())
    }
}

/// Claims and runs one batch. Returns how many jobs ran.
pub async fn run_once(w: &Worker) -> anyhow::Result<usize> {
    Ok(kilele::jobs::run_batch(&w.pool, &w.pii, w, BATCH, LEASE_SECONDS).await?)
}

/// Queues a nightly-style audit verification for every active school that has none queued.
pub async fn schedule_periodic(pool: &PgPool) -> anyhow::Result<usize> {
    Ok(kilele::jobs::schedule_periodic(pool).await?)
}

/// Forgets old sign-in throttle rows (their last failure is over a day old and they lock
/// nothing). `now` comes from the caller's clock so tests can move time.
pub async fn purge_login_throttles(pool: &PgPool, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<u64> {
    Ok(kilele::identity::store::purge_throttles(pool, now).await?)
}

/// Forgets form tokens older than two days (`kilele::db::once`: a form sent twice is done
/// once). As the worker role, the only one that may delete them.
pub async fn purge_form_tokens(pool: &PgPool, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<u64> {
    Ok(kilele::db::once::purge(pool, now).await?)
}

/// How the worker loop runs.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Jobs run at once by this worker (a report-card batch also renders one card per core
    /// inside its own job).
    pub slots: usize,
    /// How often it looks for work without being woken: retries whose backoff has run out,
    /// and anything queued while the listener was down.
    pub poll: Duration,
}

impl Default for Pace {
    fn default() -> Self {
        Self { slots: 4, poll: Duration::from_secs(15) }
    }
}

/// The worker loop with the default [`Pace`].
pub async fn run(w: Worker, shutdown: impl std::future::Future<Output = ()>) {
    run_with(w, Pace::default(), shutdown).await;
}

/// The worker loop: up to `pace.slots` jobs at once, claimed when a job is queued (LISTEN
/// kilele_jobs), when a slot frees, and on each poll; audit checks scheduled every six hours,
/// old sign-in throttle rows purged hourly. On Ctrl-C / SIGTERM it stops claiming and gives
/// the running jobs half a minute; a job cut off then is claimed again when its lease ends
/// (a report-card batch carries on where it stopped).
pub async fn run_with(w: Worker, pace: Pace, shutdown: impl std::future::Future<Output = ()>) {
    let pool = w.pool.clone();
    tokio::pin!(shutdown);
    let wake = Arc::new(tokio::sync::Notify::new());
    let listener = tokio::spawn(kilele::jobs::listen_for_jobs(pool.clone(), wake.clone(), Duration::from_secs(2)));
    let mut poll = tokio::time::interval(pace.poll);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut schedule = tokio::time::interval(Duration::from_secs(6 * 3600));
    let mut purge = tokio::time::interval(Duration::from_secs(3600));
    let slots = pace.slots.max(1);
    let mut running = tokio::task::JoinSet::new();
    // Whether there may be ready jobs: set by every wake-up, cleared when a claim comes back
    // with fewer jobs than free slots.
    let mut look = true;
    tracing::info!(slots, "worker started");
    loop {
        if look && running.len() < slots {
            let free = slots - running.len();
            match kilele::jobs::claim(&pool, i32::try_from(free).unwrap_or(1), LEASE_SECONDS).await {
                Ok(rows) => {
                    look = rows.len() == free;
                    for row in rows {
                        let w = w.clone();
                        running.spawn(async move {
                            if let Err(e) = kilele::jobs::run_claimed(&w.pool, &w.pii, &w, &row).await {
                                tracing::error!(job = %row.id, error = %e, "recording a job's outcome failed");
                            }
                        });
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "claiming jobs failed");
                    look = false;
                }
            }
        }
        tokio::select! {
            _ = &mut shutdown => break,
            Some(finished) = running.join_next(), if !running.is_empty() => {
                if let Err(e) = finished {
                    tracing::error!(error = %e, "a job's task ended abnormally");
                }
                look = true;
            }
            _ = wake.notified() => look = true,
            _ = poll.tick() => look = true,
            _ = schedule.tick() => {
                if let Err(e) = schedule_periodic(&pool).await {
                    tracing::error!(error = %e, "scheduling failed");
                }
            }
            _ = purge.tick() => {
                use kilele::clock::Clock;
                match purge_login_throttles(&pool, kilele::clock::SystemClock.now()).await {
                    Ok(n) => tracing::info!(purged = n, "old sign-in throttle rows purged"),
                    Err(e) => tracing::error!(error = %e, "throttle purge failed"),
                }
                match purge_form_tokens(&pool, kilele::clock::SystemClock.now()).await {
                    Ok(n) => tracing::info!(purged = n, "old form tokens purged"),
                    Err(e) => tracing::error!(error = %e, "form token purge failed"),
                }
            }
        }
    }
    listener.abort();
    let grace = tokio::time::sleep(Duration::from_secs(30));
    tokio::pin!(grace);
    while !running.is_empty() {
        tokio::select! {
            _ = &mut grace => {
                tracing::warn!(jobs = running.len(), "jobs still running at shutdown: left to their leases");
                running.abort_all();
                break;
            }
            _ = running.join_next() => {}
        }
    }
    tracing::info!("worker stopped");
}
