//! Durable background jobs: what can be queued, how it is stored, and how a claimed job
//! reaches the code that runs it.
//!
//! A job is queued in the same transaction as the change that asks for it (both happen or
//! neither). The worker claims ready jobs across schools through `claim_jobs()` (only the
//! `kilele_worker` role may call it), turns each row back into a typed [`Job`] and hands it
//! to the [`Handlers`] the process provides (the mail outbox, the audit verifier). A row
//! whose kind this build does not know fails loudly (an error in the log and in
//! `last_error`), and is retried like any failure so that a newer worker can take it.

use crate::notifications::InvitationEmail;

/// The kinds of job, as stored in `jobs.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Send an invitation email (staff and parents).
    InvitationEmail,
    /// Verify a school's audit chain.
    AuditVerify,
    /// Score a term's mark writes for tamper flags.
    ResultFlags,
    /// Print a batch of report cards.
    ReportCards,
    /// Invoice a term (an invoicing run).
    Invoices,
    /// Apply late fines to overdue instalments.
    LateFines,
}

impl JobKind {
    pub const ALL: [JobKind; 6] =
        [JobKind::InvitationEmail, JobKind::AuditVerify, JobKind::ResultFlags, JobKind::ReportCards, JobKind::Invoices, JobKind::LateFines];

    /// The stored code. Never change one: queued rows carry it.
    pub fn code(self) -> &'static str {
        match self {
            JobKind::InvitationEmail => "mail.invitation",
            JobKind::AuditVerify => "audit.verify",
            JobKind::ResultFlags => "results.flags",
            JobKind::ReportCards => "report.cards",
            JobKind::Invoices => "finance.invoices",
            JobKind::LateFines => "finance.late_fines",
        }
    }

    pub fn parse(code: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// What the admin reads for it (a message key).
    pub fn label_key(self) -> &'static str {
        match self {
            JobKind::InvitationEmail => "jobs-kind-mail-invitation",
            JobKind::AuditVerify => "jobs-kind-audit-verify",
            JobKind::ResultFlags => "jobs-kind-results-flags",
            JobKind::ReportCards => "jobs-kind-report-cards",
            JobKind::Invoices => "jobs-kind-finance-invoices",
            JobKind::LateFines => "jobs-kind-finance-late-fines",
        }
    }
}

/// A job with its payload, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    InvitationEmail(InvitationEmail),
    AuditVerify,
    /// The term whose writes to score.
    ResultFlags {
        term: uuid::Uuid,
    },
    /// The batch to print.
    ReportCards {
        batch: uuid::Uuid,
    },
    /// The invoicing run to carry out.
    Invoices {
        run: uuid::Uuid,
    },
    LateFines,
}

impl Job {
    pub fn kind(&self) -> JobKind {
        match self {
            Job::InvitationEmail(_) => JobKind::InvitationEmail,
            Job::AuditVerify => JobKind::AuditVerify,
            Job::ResultFlags { .. } => JobKind::ResultFlags,
            Job::ReportCards { .. } => JobKind::ReportCards,
            Job::Invoices { .. } => JobKind::Invoices,
            Job::LateFines => JobKind::LateFines,
        }
    }
}

/// Why a claimed row could not be turned back into a [`Job`].
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("unknown job kind `{0}`: this worker does not know it (queued by a newer version?)")]
    UnknownKind(String),
    #[error("job payload of kind `{kind}` is unreadable: {reason}")]
    BadPayload { kind: &'static str, reason: String },
}

/// A job of the school that failed, as the admin's background-work page shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TroubledJob {
    pub id: uuid::Uuid,
    /// As stored (`JobKind::code`); a kind this build does not know is shown as it is.
    pub kind: String,
    /// Failed for good (no tries left) rather than waiting for its next try.
    pub gave_up: bool,
    pub attempts: i32,
    pub max_attempts: i32,
    pub next_try: chrono::DateTime<chrono::Utc>,
    pub last_error: String,
    pub queued_at: chrono::DateTime<chrono::Utc>,
    pub failed_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[cfg(feature = "ssr")]
pub use store::*;

#[cfg(feature = "ssr")]
mod store {
    use super::{Job, JobError, JobKind};
    use crate::audit::pii::{Aad, KeyRing};
    use crate::db::{tenant_tx, TenantTx};
    use crate::tenancy::TenantId;
    use crate::DomainError;
    use base64::Engine;
    use sqlx::{PgPool, Row};
    use std::future::Future;
    use uuid::Uuid;

    /// Field name of sealed payloads (the encryption's associated data): payloads may hold
    /// an address or a one-time link, so they are stored encrypted like other personal data.
    pub const PAYLOAD_FIELD: &str = "jobs.payload";

    /// What a handler returns when its job failed (kept as the row's `last_error`).
    pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

    /// The code that runs each kind of job, provided by the worker process. One method per
    /// kind: adding a kind does not compile until every worker can run it.
    pub trait Handlers {
        fn invitation_email(
            &self,
            tenant: TenantId,
            message: &crate::notifications::InvitationEmail,
        ) -> impl Future<Output = Result<(), HandlerError>> + Send;
        fn audit_verify(&self, tenant: TenantId) -> impl Future<Output = Result<(), HandlerError>> + Send;
        fn result_flags(&self, tenant: TenantId, term: Uuid) -> impl Future<Output = Result<(), HandlerError>> + Send;
        fn report_cards(&self, tenant: TenantId, batch: Uuid) -> impl Future<Output = Result<(), HandlerError>> + Send;
        fn invoices(&self, tenant: TenantId, run: Uuid) -> impl Future<Output = Result<(), HandlerError>> + Send;
        fn late_fines(&self, tenant: TenantId) -> impl Future<Output = Result<(), HandlerError>> + Send;
    }

    fn seal<T: serde::Serialize>(pii: &KeyRing, tenant: TenantId, value: &T) -> Result<serde_json::Value, DomainError> {
        let clear = serde_json::to_string(value).map_err(|e| DomainError::Internal(e.to_string()))?;
        let sealed = pii.encrypt(&clear, &Aad::new(tenant.0, PAYLOAD_FIELD))?;
        Ok(serde_json::json!({ "sealed": base64::engine::general_purpose::STANDARD.encode(sealed) }))
    }

    fn unseal<T: serde::de::DeserializeOwned>(
        pii: &KeyRing,
        tenant: TenantId,
        kind: JobKind,
        payload: &serde_json::Value,
    ) -> Result<T, JobError> {
        let bad = |reason: String| JobError::BadPayload { kind: kind.code(), reason };
        let sealed = payload
            .get("sealed")
            .and_then(|v| v.as_str())
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
            .ok_or_else(|| bad("not sealed".into()))?;
        let clear = pii.decrypt(&sealed, &Aad::new(tenant.0, PAYLOAD_FIELD)).map_err(|e| bad(e.to_string()))?;
        serde_json::from_str(&clear).map_err(|e| bad(e.to_string()))
    }

    /// The stored payload of a job.
    pub(super) fn payload(pii: &KeyRing, tenant: TenantId, job: &Job) -> Result<serde_json::Value, DomainError> {
        match job {
            Job::InvitationEmail(message) => seal(pii, tenant, message),
            Job::AuditVerify => Ok(serde_json::json!({})),
            // A term id is no personal data: stored as it is.
            Job::ResultFlags { term } => Ok(serde_json::json!({ "term": term })),
            Job::ReportCards { batch } => Ok(serde_json::json!({ "batch": batch })),
            Job::Invoices { run } => Ok(serde_json::json!({ "run": run })),
            Job::LateFines => Ok(serde_json::json!({})),
        }
    }

    /// Queues `job` for the tenant of `tx`, in that transaction.
    pub async fn enqueue(tx: &mut TenantTx, pii: &KeyRing, job: &Job) -> Result<Uuid, DomainError> {
        let tenant = tx.tenant();
        let payload = payload(pii, tenant, job)?;
        Ok(sqlx::query_scalar("INSERT INTO jobs (tenant_id, kind, payload) VALUES ($1, $2, $3) RETURNING id")
            .bind(tenant.0)
            .bind(job.kind().code())
            .bind(payload)
            .fetch_one(&mut **tx)
            .await?)
    }

    /// Queues the periodic jobs (an audit verification, the late fines) for every school that
    /// has none of that kind queued or running (the worker's role: it reads jobs back).
    /// Returns how many were queued.
    pub async fn schedule_periodic(pool: &PgPool) -> Result<usize, sqlx::Error> {
        let mut queued = 0;
        for tenant in crate::tenancy::store::list_all(pool).await? {
            let mut tx = tenant_tx(pool, tenant.id).await?;
            for kind in [JobKind::AuditVerify, JobKind::LateFines] {
                let pending: bool =
                    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM jobs WHERE kind = $1 AND status IN ('queued', 'running'))")
                        .bind(kind.code())
                        .fetch_one(&mut *tx)
                        .await?;
                if !pending {
                    sqlx::query("INSERT INTO jobs (tenant_id, kind, payload) VALUES ($1, $2, '{}')")
                        .bind(tenant.id.0)
                        .bind(kind.code())
                        .execute(&mut *tx)
                        .await?;
                    queued += 1;
                }
            }
            tx.commit().await?;
        }
        Ok(queued)
    }

    /// A leased job row, not yet opened.
    #[derive(Debug)]
    pub struct Claimed {
        pub tenant: TenantId,
        pub id: Uuid,
        /// As stored: may name a kind this build does not know.
        pub kind: String,
        pub(super) payload: serde_json::Value,
        pub attempts: i32,
        pub max_attempts: i32,
    }

    impl Claimed {
        /// The typed job, or why the row cannot be one.
        pub fn open(&self, pii: &KeyRing) -> Result<Job, JobError> {
            let kind = JobKind::parse(&self.kind).ok_or_else(|| JobError::UnknownKind(self.kind.clone()))?;
            Ok(match kind {
                JobKind::InvitationEmail => Job::InvitationEmail(unseal(pii, self.tenant, kind, &self.payload)?),
                JobKind::AuditVerify => Job::AuditVerify,
                JobKind::ResultFlags => Job::ResultFlags { term: self.id_field(kind, "term")? },
                JobKind::ReportCards => Job::ReportCards { batch: self.id_field(kind, "batch")? },
                JobKind::Invoices => Job::Invoices { run: self.id_field(kind, "run")? },
                JobKind::LateFines => Job::LateFines,
            })
        }
    }

    impl Claimed {
        /// A payload's id field (`{"term": "<uuid>"}`).
        fn id_field(&self, kind: JobKind, field: &str) -> Result<Uuid, JobError> {
            self.payload
                .get(field)
                .and_then(|t| t.as_str())
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| JobError::BadPayload { kind: kind.code(), reason: format!("no {field}") })
        }
    }

    /// Leases up to `batch` ready jobs of any school for `lease_seconds` (the worker role only).
    pub async fn claim(pool: &PgPool, batch: i32, lease_seconds: i32) -> Result<Vec<Claimed>, sqlx::Error> {
        sqlx::query("SELECT tenant_id, id, kind, payload, attempts, max_attempts FROM claim_jobs($1, $2)")
            .bind(batch)
            .bind(lease_seconds)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                Ok(Claimed {
                    tenant: TenantId(r.try_get("tenant_id")?),
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    payload: r.try_get("payload")?,
                    attempts: r.try_get("attempts")?,
                    max_attempts: r.try_get("max_attempts")?,
                })
            })
            .collect()
    }

    /// Marks a job done. A finished job keeps no payload (it may hold a link or an address).
    pub async fn complete(pool: &PgPool, job: &Claimed) -> Result<(), sqlx::Error> {
        let mut tx = tenant_tx(pool, job.tenant).await?;
        sqlx::query(
            "UPDATE jobs SET status = 'done', finished_at = now(), locked_until = NULL, last_error = NULL, payload = '{}' WHERE id = $1",
        )
        .bind(job.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// Seconds before the next try after `attempts` tries: 60, 120, 240, … (capped).
    pub fn backoff_seconds(attempts: i32) -> i32 {
        30 * 2_i32.saturating_pow(attempts.clamp(0, 10).unsigned_abs())
    }

    /// The document a job works through (an invoicing run, a batch of cards), whose page shows
    /// the job's progress: it must not say "running" for ever once the job gave up.
    enum Document {
        InvoiceRun(Uuid),
        CardBatch(Uuid),
    }

    fn document_of(kind: &str, payload: &serde_json::Value) -> Option<Document> {
        let id = |field: &str| payload.get(field).and_then(|v| v.as_str()).and_then(|v| v.parse::<Uuid>().ok());
        match JobKind::parse(kind)? {
            JobKind::Invoices => id("run").map(Document::InvoiceRun),
            JobKind::ReportCards => id("batch").map(Document::CardBatch),
            JobKind::InvitationEmail | JobKind::AuditVerify | JobKind::ResultFlags | JobKind::LateFines => None,
        }
    }

    /// Records a failure: queued again after a backoff, or `failed` for good once the
    /// attempts are used up, its document (a run, a batch) failed with it in the same
    /// transaction. Returns whether it gave up.
    pub async fn fail(pool: &PgPool, job: &Claimed, error: &str) -> Result<bool, sqlx::Error> {
        let give_up = job.attempts >= job.max_attempts;
        let mut tx = tenant_tx(pool, job.tenant).await?;
        if give_up {
            match document_of(&job.kind, &job.payload) {
                Some(Document::InvoiceRun(run)) => crate::finance::db::invoicing::gave_up(&mut tx, run).await?,
                Some(Document::CardBatch(batch)) => crate::reporting::db::batch_gave_up(&mut tx, batch).await?,
                None => {}
            }
        }
        sqlx::query(
            "UPDATE jobs SET status = $2, last_error = $3, locked_until = NULL,
                    run_at = now() + make_interval(secs => $4), finished_at = CASE WHEN $2 = 'failed' THEN now() END
              WHERE id = $1",
        )
        .bind(job.id)
        .bind(if give_up { "failed" } else { "queued" })
        .bind(error)
        .bind(backoff_seconds(job.attempts))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(give_up)
    }

    async fn dispatch<H: Handlers + Sync>(handlers: &H, tenant: TenantId, job: &Job) -> Result<(), HandlerError> {
        match job {
            Job::InvitationEmail(message) => handlers.invitation_email(tenant, message).await,
            Job::AuditVerify => handlers.audit_verify(tenant).await,
            Job::ResultFlags { term } => handlers.result_flags(tenant, *term).await,
            Job::ReportCards { batch } => handlers.report_cards(tenant, *batch).await,
            Job::Invoices { run } => handlers.invoices(tenant, *run).await,
            Job::LateFines => handlers.late_fines(tenant).await,
        }
    }

    /// Runs one claimed job through `handlers` and records the outcome (done, or failed with a
    /// retry after a backoff, or failed for good).
    pub async fn run_claimed<H: Handlers + Sync>(pool: &PgPool, pii: &KeyRing, handlers: &H, row: &Claimed) -> Result<(), sqlx::Error> {
        let result = match row.open(pii) {
            Ok(job) => dispatch(handlers, row.tenant, &job).await,
            Err(e) => {
                tracing::error!(job = %row.id, tenant = %row.tenant, kind = %row.kind, error = %e, "job cannot be opened");
                Err(e.into())
            }
        };
        match result {
            Ok(()) => complete(pool, row).await,
            Err(e) => {
                let give_up = fail(pool, row, &e.to_string()).await?;
                tracing::warn!(job = %row.id, kind = %row.kind, error = %e, give_up, "job failed");
                Ok(())
            }
        }
    }

    /// Claims one batch and runs its jobs side by side, recording each outcome. Returns how
    /// many jobs were claimed.
    pub async fn run_batch<H: Handlers + Sync>(
        pool: &PgPool,
        pii: &KeyRing,
        handlers: &H,
        batch: i32,
        lease_seconds: i32,
    ) -> Result<usize, sqlx::Error> {
        let claimed = claim(pool, batch, lease_seconds).await?;
        let outcomes = futures_util::future::join_all(claimed.iter().map(|row| run_claimed(pool, pii, handlers, row))).await;
        outcomes.into_iter().collect::<Result<Vec<()>, _>>()?;
        Ok(claimed.len())
    }

    /// The channel a queued job is announced on (migration 0018's trigger, at commit).
    pub const CHANNEL: &str = "kilele_jobs";

    /// Wakes `wake` whenever a job becomes ready (queued, or put back by an admin), and once
    /// each time the listener connects (jobs queued while it was down). Runs until `pool`
    /// closes. A missed notification only waits for the worker's next poll.
    pub async fn listen_for_jobs(pool: PgPool, wake: std::sync::Arc<tokio::sync::Notify>, retry: std::time::Duration) {
        crate::db::listen(
            pool,
            CHANNEL,
            retry,
            "job queue",
            |up| {
                if up {
                    wake.notify_one();
                }
            },
            |_| wake.notify_one(),
        )
        .await;
    }

    /// A school's jobs that need a person's eye: failed for good, or failed and waiting for
    /// their next try. Newest first; the payload is never read (it may hold sealed data).
    pub async fn troubled(tx: &mut TenantTx) -> Result<Vec<super::TroubledJob>, DomainError> {
        let rows = sqlx::query(
            "SELECT id, kind, status, attempts, max_attempts, run_at, last_error, created_at, finished_at
               FROM jobs
              WHERE status = 'failed' OR (status = 'queued' AND last_error IS NOT NULL)
              ORDER BY created_at DESC, id
              LIMIT 200",
        )
        .fetch_all(&mut **tx)
        .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                Ok(super::TroubledJob {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    gave_up: status == "failed",
                    attempts: r.try_get("attempts")?,
                    max_attempts: r.try_get("max_attempts")?,
                    next_try: r.try_get("run_at")?,
                    last_error: r.try_get::<Option<String>, _>("last_error")?.unwrap_or_default(),
                    queued_at: r.try_get("created_at")?,
                    failed_at: r.try_get("finished_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DomainError::from)
    }

    /// Puts a troubled job back in the queue to run now, with one more attempt if it had used
    /// them all. A job that is running, done, or not failing: a conflict; another school's or
    /// an unknown id: not found. Audited by the caller's transaction.
    pub async fn retry_now(tx: &mut TenantTx, job: Uuid, by: crate::identity::store::ChangedBy<'_>) -> Result<(), DomainError> {
        let status: Option<(String, Option<String>, String)> =
            sqlx::query_as("SELECT status, last_error, kind FROM jobs WHERE id = $1 FOR UPDATE")
                .bind(job)
                .fetch_optional(&mut **tx)
                .await?;
        let Some((status, last_error, kind)) = status else { return Err(DomainError::NotFound) };
        let troubled = status == "failed" || (status == "queued" && last_error.is_some());
        if !troubled {
            return Err(DomainError::conflict("job", "jobs-error-not-failed"));
        }
        sqlx::query(
            "UPDATE jobs SET status = 'queued', run_at = now(), max_attempts = GREATEST(max_attempts, attempts + 1)
              WHERE id = $1",
        )
        .bind(job)
        .execute(&mut **tx)
        .await?;
        // The run or batch it gave up on carries on when the job runs again (its handler
        // reopens it: the web process never reads a job's payload).
        by.audit(tx, crate::audit::actions::JOB_RETRIED, &job.to_string(), serde_json::json!({ "kind": kind, "was": status })).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_message_has_words_in_both_languages() {
        let used = crate::i18n_keys::used(&[include_str!("jobs.rs")], &["jobs-"]);
        assert!(used.len() > JobKind::ALL.len(), "{used:?}");
        for kind in JobKind::ALL {
            assert!(used.contains(kind.label_key()), "{}", kind.label_key());
        }
        crate::i18n_keys::assert_translated(&used);
    }

    #[test]
    fn kinds_round_trip_and_codes_are_distinct() {
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.code()), Some(k));
        }
        assert_eq!(JobKind::parse("mail.invitation"), Some(JobKind::InvitationEmail));
        assert_eq!(JobKind::parse("audit.verify"), Some(JobKind::AuditVerify));
        assert_eq!(JobKind::parse("report.cards"), Some(JobKind::ReportCards));
        assert_eq!(JobKind::parse("report.receipts"), None);
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn unknown_kinds_and_tampered_payloads_are_refused_clearly() {
        let pii = crate::audit::pii::KeyRing::development();
        let tenant = crate::tenancy::TenantId(uuid::Uuid::new_v4());
        let row =
            |kind: &str, payload| Claimed { tenant, id: uuid::Uuid::new_v4(), kind: kind.into(), payload, attempts: 1, max_attempts: 5 };
        let err = row("report.receipts", serde_json::json!({})).open(&pii).unwrap_err();
        assert!(matches!(err, JobError::UnknownKind(ref k) if k == "report.receipts"));
        assert!(err.to_string().contains("unknown job kind `report.receipts`"), "{err}");
        let err = row("report.cards", serde_json::json!({ "batch": "nope" })).open(&pii).unwrap_err();
        assert!(matches!(err, JobError::BadPayload { kind: "report.cards", .. }), "{err}");
        let err = row("mail.invitation", serde_json::json!({ "to": "a@b.test" })).open(&pii).unwrap_err();
        assert!(matches!(err, JobError::BadPayload { kind: "mail.invitation", .. }), "{err}");
        assert_eq!(row("audit.verify", serde_json::json!({})).open(&pii).unwrap(), Job::AuditVerify);
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_sealed_invitation_opens_only_for_its_school() {
        let pii = crate::audit::pii::KeyRing::development();
        let tenant = crate::tenancy::TenantId(uuid::Uuid::new_v4());
        let message = InvitationEmail { to: "a@b.test".into(), school: "Kilimanjaro Hills".into(), link: "https://k.test/x".into() };
        let job = Job::InvitationEmail(message.clone());
        let sealed = store::payload(&pii, tenant, &job).unwrap();
        assert!(!sealed.to_string().contains("a@b.test"), "the address is not stored in clear");
        let row = |tenant| Claimed {
            tenant,
            id: uuid::Uuid::new_v4(),
            kind: "mail.invitation".into(),
            payload: sealed.clone(),
            attempts: 1,
            max_attempts: 5,
        };
        assert_eq!(row(tenant).open(&pii).unwrap(), job);
        let other = crate::tenancy::TenantId(uuid::Uuid::new_v4());
        assert!(matches!(row(other).open(&pii), Err(JobError::BadPayload { .. })));
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_seconds(1), 60);
        assert_eq!(backoff_seconds(2), 120);
        assert_eq!(backoff_seconds(50), backoff_seconds(10));
    }
}
