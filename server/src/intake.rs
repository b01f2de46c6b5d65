//! Verified payments of one school posted together (group commit, issue 10's benchmark).
//!
//! Every posting in a school passes the school's serial points — the receipt counter, the
//! ledger's version and the audit chain's head — and holds them until its transaction
//! commits, fsync included. One transaction per payment therefore caps a school at one
//! commit's latency per payment, whatever the number of cores (measured at stop 22: 138–186
//! payments a second, p99 half a second). Here the payments that arrive while a school's
//! batch is being posted wait and are posted by the next batch, in one transaction: the
//! serial points are taken once, and the commit is paid once, per batch.
//!
//! Each payment keeps its own outcome: it is taken inside a savepoint, so one that fails
//! (a fault of ours) is undone alone and its provider tries again, while the rest commit.
//! Nothing is acknowledged before its batch has committed, so the acknowledgement still
//! carries the receipt number, and a crash mid-batch leaves every delivery of the batch
//! "received" for its provider to send again — exactly as one transaction each did.
//!
//! One batch runs per school and process at a time, on a task of its own (a provider hanging
//! up does not abort the others' batch); it ends when its school has nothing waiting.

use crate::state::AppState;
use kilele::payments::db::{self as intake_db, Intake};
use kilele::payments::PaymentEvent;
use kilele::tenancy::TenantId;
use kilele::DomainError;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::oneshot;
use uuid::Uuid;

/// The most payments posted in one transaction: bounds how long a batch holds the school's
/// serial points, its audit chain included (and the wait of what arrives meanwhile). Each
/// posted payment takes two subtransactions (its savepoint, and the posting's own inside it);
/// PostgreSQL keeps 64 per transaction in shared memory before every snapshot in the database
/// gets slower to take, so a batch stays under that.
pub const MOST_IN_ONE_COMMIT: usize = 30;

/// The payments waiting, per school. A school is in the map while its batch task runs.
#[derive(Default)]
pub struct Intakes {
    waiting: Mutex<HashMap<TenantId, Vec<Waiting>>>,
}

struct Waiting {
    event: PaymentEvent,
    inbox: Uuid,
    at: chrono::DateTime<chrono::Utc>,
    answer: oneshot::Sender<Result<Intake, DomainError>>,
}

impl Intakes {
    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, Vec<Waiting>>> {
        // Nothing panics while holding it; a poisoned map is still a consistent one.
        self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next batch of `school` (at most [`MOST_IN_ONE_COMMIT`]), or none when nothing
    /// waits: then the school leaves the map (under the same lock, so a payment arriving now
    /// starts a new task).
    fn next_batch(&self, school: TenantId) -> Vec<Waiting> {
        let mut waiting = self.waiting();
        let Some(queue) = waiting.get_mut(&school) else { return Vec::new() };
        if queue.is_empty() {
            waiting.remove(&school);
            return Vec::new();
        }
        let take = queue.len().min(MOST_IN_ONE_COMMIT);
        queue.drain(..take).collect()
    }
}

/// Takes one verified payment (its delivery `inbox` kept and committed already) with the
/// school's others: once per provider transaction, matched and posted or kept in suspense
/// (`payments::db::intake`), the delivery marked with what was decided. Returns once the
/// batch holding it has committed.
pub async fn take(
    st: &AppState,
    school: TenantId,
    event: PaymentEvent,
    inbox: Uuid,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Intake, DomainError> {
    let (answer, answered) = oneshot::channel();
    // A school is in the map exactly while its task runs, and the task leaves only under this
    // lock when it finds nothing waiting: a payment pushed onto a school already there is taken
    // by that task's next batch; one finding the school absent starts its task.
    let starts_a_batch = {
        let mut waiting = st.intakes.waiting();
        let new = Waiting { event, inbox, at, answer };
        match waiting.get_mut(&school) {
            Some(queue) => {
                queue.push(new);
                false
            }
            None => {
                waiting.insert(school, vec![new]);
                true
            }
        }
    };
    if starts_a_batch {
        let st = st.clone();
        tokio::spawn(async move {
            let running = Running { st: st.clone(), school, finished: false };
            loop {
                let batch = st.intakes.next_batch(school);
                if batch.is_empty() {
                    break;
                }
                post_together(&st, school, batch).await;
            }
            running.finish();
        });
    }
    answered.await.unwrap_or_else(|_| Err(DomainError::Internal("the payment's batch ended without an answer".into())))
}

/// A school's batch task, while it runs. Should the task end any other way than by finding
/// nothing waiting (a panic in a dependency, the runtime shutting down), the school leaves the
/// map: what waits is answered with an error (its provider tries again) and the next payment
/// starts a task of its own, instead of queueing behind one that is gone.
struct Running {
    st: AppState,
    school: TenantId,
    finished: bool,
}

impl Running {
    fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.finished {
            // Dropping the queue drops its answers' senders: each waiting request gets an error.
            self.st.intakes.waiting().remove(&self.school);
        }
    }
}

/// Posts one batch in one transaction and answers each payment once it has committed. When the
/// transaction as a whole fails (its commit refused — a deferred ledger check one posting
/// broke — or the transaction broken), each payment is posted again in a transaction of its
/// own, so one bad payment fails alone and never its neighbours.
async fn post_together(st: &AppState, school: TenantId, batch: Vec<Waiting>) {
    let results = match try_together(st, school, &batch).await {
        Ok(results) => results,
        Err(e) if batch.len() == 1 => vec![Err(e)],
        Err(e) => {
            tracing::warn!(error = %e, payments = batch.len(), "a batch of payments failed whole: posting each alone");
            let mut results = Vec::with_capacity(batch.len());
            for waiting in &batch {
                let alone = try_together(st, school, std::slice::from_ref(waiting)).await;
                results.push(alone.and_then(|mut r| r.pop().unwrap_or_else(|| Err(DomainError::Internal("no result".into())))));
            }
            results
        }
    };
    for (waiting, result) in batch.into_iter().zip(results) {
        if let Err(e) = &result {
            tracing::warn!(error = %e, transaction = %waiting.event.transaction_id, "a payment could not be posted (its provider tries again)");
        }
        // The provider's request may be gone (it hung up): nobody to tell.
        let _ = waiting.answer.send(result);
    }
}

/// One transaction for `batch`, each payment in its own savepoint: the result of each, once the
/// transaction has committed; an error when the transaction as a whole did not.
async fn try_together(st: &AppState, school: TenantId, batch: &[Waiting]) -> Result<Vec<Result<Intake, DomainError>>, DomainError> {
    let mut tx = kilele::db::tenant_tx(&st.deps.pool, school).await?;
    let mut results = Vec::with_capacity(batch.len());
    for waiting in batch {
        kilele::db::savepoint(&mut tx).await?;
        let one = async {
            let intake = intake_db::intake(&mut tx, &st.deps.pii, &waiting.event, waiting.inbox, waiting.at).await?;
            let (outcome, reason) = intake.outcome();
            intake_db::decided(&mut tx, waiting.inbox, outcome, reason, Some(&waiting.event.transaction_id)).await?;
            Ok::<_, DomainError>(intake)
        }
        .await;
        // Undone alone when it failed; its provider tries again.
        let ended = kilele::db::end_savepoint(&mut tx, one).await;
        // A savepoint that could not be ended leaves the transaction aborted, and PostgreSQL
        // turns the COMMIT of an aborted transaction into a rollback without an error: it is
        // found here (and once more before the commit), never acknowledged as posted.
        if ended.is_err() && kilele::db::ping_in(&mut tx).await.is_err() {
            return Err(DomainError::Internal("the batch's transaction broke".into()));
        }
        results.push(ended);
    }
    kilele::db::ping_in(&mut tx).await?;
    tx.commit().await?;
    st.metrics.payments_committed(results.iter().filter(|r| r.is_ok()).count());
    Ok(results)
}
