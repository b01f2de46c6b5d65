//! Payment webhooks (issue 10): `POST /api/v1/webhooks/{bank}/{school}` (a payment
//! notification) and `…/validate` (a reference validation), in Kilele's bank-collection
//! contract (`kilele::payments::banks`). In order: the school (active, with finance in its plan,
//! the host's own on a school's host) and its open channel for this bank, or 404/403 with
//! nothing kept; then the caller's address, the Standard Webhooks signature (good and fresh)
//! and the body — a refusal is a 4xx in the bank's own field names, kept in the inbox with its
//! reason and the start of the body (so many per address a minute), nothing posted; a
//! verified delivery is kept whole before it is processed, and taken once per bank
//! transaction (`payments::db::intake`).

use crate::state::AppState;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kilele::payments::banks::{self, NotificationStatus, ValidationAnswer, ValidationCode};
use kilele::payments::db::{self as intake_db, Delivery, Intake, REFUSED_BODY_KEPT};
use kilele::payments::webhooks::{self, Signed};
use kilele::payments::{mpesa, pushes, Provider};
use kilele::tenancy::{store as tenants, Feature, Tenant, TenantId, TenantSlug};
use kilele::DomainError;

/// The headers kept with a delivery: those that say who sent it and how.
const KEPT_HEADERS: [&str; 8] = [
    "content-type",
    "content-length",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-forwarded-for",
    "x-request-id",
];

fn kept_headers(headers: &HeaderMap) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            headers
                .get(*name)
                .map(|v| ((*name).to_owned(), String::from_utf8_lossy(v.as_bytes()).chars().take(512).collect::<String>().into()))
        })
        .collect();
    serde_json::Value::Object(map)
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// The school a webhook is for, from its path: active, with finance in its plan, and the
/// host's own when the request came on a school's host.
async fn school_of(st: &AppState, host: Option<TenantId>, code: &str) -> Option<Tenant> {
    let slug = TenantSlug::parse(code).ok()?;
    let tenant = tenants::find_by_slug(&st.deps.pool, &slug).await.ok()??;
    (tenant.can_sign_in() && tenant.has_feature(Feature::Finance) && host.is_none_or(|h| h == tenant.id)).then_some(tenant)
}

enum Kind {
    Notification,
    Validation,
}

/// A verified delivery, read.
enum Read {
    Notification(kilele::payments::PaymentEvent),
    Validation(banks::ValidationRequest),
}

/// `POST /api/v1/webhooks/{provider}/{school}`: a bank's payment notification.
pub async fn notification(State(st): State<AppState>, Path((provider, school)): Path<(String, String)>, req: Request) -> Response {
    webhook(st, provider, school, Kind::Notification, req).await
}

/// `POST /api/v1/webhooks/{provider}/{school}/validate`: a bank asks who a control number is.
pub async fn validation(State(st): State<AppState>, Path((provider, school)): Path<(String, String)>, req: Request) -> Response {
    webhook(st, provider, school, Kind::Validation, req).await
}

async fn webhook(st: AppState, provider: String, school: String, kind: Kind, req: Request) -> Response {
    let provider = Provider::parse(&provider);
    let host = req.extensions().get::<app::ctx::RequestCtx>().filter(|c| c.tenant_from_host).and_then(|c| c.tenant.as_ref().map(|t| t.id));
    if let (Some(wallet @ (Provider::Mpesa | Provider::Airtel)), Kind::Notification) = (provider, &kind) {
        let Some(tenant) = school_of(&st, host, &school).await else {
            return wallet_ack(wallet, StatusCode::NOT_FOUND, None, Some("payments-error-unknown-school"));
        };
        return wallet_result(st, tenant, wallet, req).await;
    }
    let Some(bank) = provider.filter(|p| p.is_bank()) else {
        return json(StatusCode::NOT_FOUND, serde_json::json!({ "error": "payments-error-unknown-provider" }));
    };
    let Some(tenant) = school_of(&st, host, &school).await else {
        return json(StatusCode::NOT_FOUND, banks::refusal(bank, "payments-error-unknown-school"));
    };
    let now = st.deps.clock.now();
    let source_ip = crate::limits::client_of(req.headers(), req.extensions(), st.config.sign_in.trust_proxy_headers);
    let headers = req.headers().clone();
    let (body, unreadable) = body_of(req, banks::MAX_BODY_BYTES).await;
    let delivery = Delivery {
        provider: bank,
        kind: match kind {
            Kind::Notification => "notification",
            Kind::Validation => "validation",
        },
        received_at: now,
        source_ip,
        headers: kept_headers(&headers),
        body: &body,
    };
    // One transaction reads the channel, keeps the delivery (verified, or refused with its
    // reason) and, for a validation, answers it. The body is read before it opens, so a slow
    // sender never holds a pooled connection.
    let mut tx = match kilele::db::tenant_tx(&st.deps.pool, tenant.id).await {
        Ok(tx) => tx,
        Err(e) => return internal(bank, e.into()),
    };
    let channel = match intake_db::channel(&mut tx, &st.deps.pii, bank).await {
        Ok(Some(c)) if c.enabled && !c.secrets.is_empty() => c,
        // A school that takes no payments through this bank keeps nothing of what is sent there.
        Ok(_) => {
            return match kind {
                // The contract's own answer to a validation: this school does not take payments here.
                Kind::Validation => json(
                    StatusCode::OK,
                    banks::validation_reply(
                        bank,
                        &ValidationAnswer {
                            code: ValidationCode::NotAccepting,
                            student_name: None,
                            school_name: None,
                            amount_due_minor: 0,
                        },
                    ),
                ),
                Kind::Notification => json(StatusCode::FORBIDDEN, banks::refusal(bank, "payments-error-channel-closed")),
            };
        }
        Err(e) => return internal(bank, e),
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = Signed { id: header("webhook-id"), timestamp: header("webhook-timestamp"), signature: header("webhook-signature") };
    let refused: Option<(StatusCode, &'static str)> = if let Some(why) = unreadable {
        Some(why)
    } else if !channel.allows(source_ip) {
        Some((StatusCode::FORBIDDEN, "payments-error-address"))
    } else if let Err(refused) = webhooks::verify(&channel.secrets, signed, &body, now) {
        Some((StatusCode::UNAUTHORIZED, refused.key()))
    } else {
        None
    };
    // Verified and read, or the reason not.
    let read = match (refused, &kind) {
        (Some(why), _) => Err(why),
        (None, Kind::Validation) => banks::parse_validation(bank, &body).map(Read::Validation).map_err(|e| (StatusCode::BAD_REQUEST, e.0)),
        (None, Kind::Notification) => {
            banks::parse_notification(bank, &body).map(Read::Notification).map_err(|e| (StatusCode::BAD_REQUEST, e.0))
        }
    };
    let event = match read {
        Err((status, reason)) => {
            keep_refused(&st, tx, &delivery, reason).await;
            return json(status, banks::refusal(bank, reason));
        }
        Ok(Read::Validation(asked)) => {
            let answered = async {
                let answer = intake_db::validate(&mut tx, &asked.control_number).await?;
                intake_db::receive(&mut tx, &st.deps.pii, &delivery, body.len(), ("answered", None), Some(&asked.request_id)).await?;
                tx.commit().await?;
                Ok::<_, DomainError>(answer)
            }
            .await;
            return match answered {
                Ok(answer) => json(StatusCode::OK, banks::validation_reply(bank, &answer)),
                Err(e) => internal(bank, e),
            };
        }
        Ok(Read::Notification(event)) => event,
    };
    // Verified: kept whole and committed before it is processed, so a crash from here on
    // leaves it on record ("received") while the bank tries again.
    let kept = async {
        let inbox = intake_db::receive(&mut tx, &st.deps.pii, &delivery, body.len(), ("received", None), None).await?;
        tx.commit().await?;
        Ok::<_, DomainError>(inbox)
    }
    .await;
    let inbox = match kept {
        Ok(id) => id,
        Err(e) => return internal(bank, e),
    };
    let taken = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
        let taken = intake_db::intake(&mut tx, &st.deps.pii, &event, inbox, now).await?;
        let (outcome, reason) = match &taken {
            Intake::Posted { .. } => ("posted", None),
            Intake::Duplicate { .. } => ("duplicate", None),
            Intake::Suspense { reason } => ("suspense", Some(*reason)),
            Intake::ConflictingRepeat => ("refused", Some("payments-error-conflicting-repeat")),
        };
        intake_db::decided(&mut tx, inbox, outcome, reason, Some(&event.transaction_id)).await?;
        tx.commit().await?;
        Ok::<_, DomainError>(taken)
    }
    .await;
    let reference = event.transaction_id.as_str();
    match taken {
        Ok(Intake::Posted { receipt_no }) => {
            json(StatusCode::OK, banks::notification_ack(bank, NotificationStatus::Accepted, reference, Some(receipt_no)))
        }
        Ok(Intake::Duplicate { receipt_no }) => {
            json(StatusCode::OK, banks::notification_ack(bank, NotificationStatus::Duplicate, reference, receipt_no))
        }
        Ok(Intake::Suspense { .. }) => json(StatusCode::OK, banks::notification_ack(bank, NotificationStatus::Suspense, reference, None)),
        Ok(Intake::ConflictingRepeat) => json(StatusCode::CONFLICT, banks::refusal(bank, "payments-error-conflicting-repeat")),
        Err(e) => internal(bank, e),
    }
}

/// Reads a webhook's body, up to `max` bytes (a longer one, declared or sent, is refused
/// before it is read whole).
async fn body_of(req: Request, max: usize) -> (axum::body::Bytes, Option<(StatusCode, &'static str)>) {
    let declared = req.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return (axum::body::Bytes::new(), Some((StatusCode::PAYLOAD_TOO_LARGE, "payments-error-too-large")));
    }
    match axum::body::to_bytes(req.into_body(), max).await {
        Ok(bytes) => (bytes, None),
        Err(_) => (axum::body::Bytes::new(), Some((StatusCode::PAYLOAD_TOO_LARGE, "payments-error-too-large"))),
    }
}

/// Keeps a refused delivery (its start only), so many per address a minute.
async fn keep_refused(st: &AppState, mut tx: kilele::db::TenantTx, delivery: &Delivery<'_>, reason: &'static str) {
    if !st.refused_deliveries.keep(delivery.source_ip) {
        return;
    }
    let kept = async {
        intake_db::receive(&mut tx, &st.deps.pii, delivery, REFUSED_BODY_KEPT, ("refused", Some(reason)), None).await?;
        tx.commit().await?;
        Ok::<_, DomainError>(())
    }
    .await;
    if let Err(e) = kept {
        tracing::error!(error = %e, "a refused delivery was not kept");
    }
    tracing::warn!(provider = delivery.provider.code(), client = ?delivery.source_ip, reason, "payment webhook refused");
}

/// A wallet's result, read: whose push (our conversation id), whether it says paid, the
/// reason it gives when not, the wallet's transaction id, and how to answer in its format.
struct WalletResult {
    ours: String,
    paid: bool,
    declined: &'static str,
    transaction: Option<String>,
    /// M-Pesa echoes both conversation ids in its acknowledgement.
    original: String,
}

/// The acknowledgement in the wallet's own format (`refused`: a reason, for a 4xx/5xx).
fn wallet_ack(provider: Provider, status: StatusCode, r: Option<&WalletResult>, refused: Option<&str>) -> Response {
    match provider {
        Provider::Airtel => json(
            status,
            serde_json::json!({
                "transaction": { "id": r.map(|r| r.ours.as_str()).unwrap_or_default() },
                "status": { "success": refused.is_none(), "message": refused.unwrap_or("Callback received") },
            }),
        ),
        _ => {
            let (original, ours) = r.map_or(("", ""), |r| (r.original.as_str(), r.ours.as_str()));
            json(status, mpesa::result_ack(original, ours, refused))
        }
    }
}

/// Reads a wallet's result: M-Pesa's as the portal documents it; Airtel's with its `hash`
/// checked when the school's application has callback authentication on.
fn read_wallet_result(provider: Provider, body: &[u8], credentials: &str) -> Result<WalletResult, (StatusCode, &'static str)> {
    match provider {
        Provider::Airtel => {
            let c = kilele::payments::airtel::parse_callback(body).map_err(|e| (StatusCode::BAD_REQUEST, e.0))?;
            let creds: kilele::payments::airtel::AirtelCredentials =
                serde_json::from_str(credentials).map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "payments-error-internal"))?;
            if !creds.hash_matches(&c.signed, c.hash.as_deref()) {
                return Err((StatusCode::UNAUTHORIZED, "payments-error-signature"));
            }
            let paid = c.transaction.status_code == "TS";
            Ok(WalletResult {
                declined: kilele::payments::airtel::failure_reason(&c.transaction.status_code),
                paid,
                transaction: c.transaction.airtel_money_id.clone().filter(|_| paid),
                original: String::new(),
                ours: c.transaction.id,
            })
        }
        _ => {
            let r = mpesa::parse_result(body).map_err(|e| (StatusCode::BAD_REQUEST, e.0))?;
            let paid = r.result_code == mpesa::OK;
            Ok(WalletResult {
                declined: mpesa::failure_reason(&r.result_code),
                paid,
                transaction: Some(r.transaction_id).filter(|_| paid),
                original: r.original_conversation_id,
                ours: r.third_party_conversation_id,
            })
        }
    }
}

/// `POST /api/v1/webhooks/{mpesa|airtel}/{school}`: a wallet's result of a push. Wallets sign
/// nothing we can rely on (Airtel's hash only when the school turned it on), so a result is
/// believed only as far as the school's channel and allowed addresses, the push it names
/// (ours, by our random conversation id) and the wallet's own status query, which decides:
/// what is posted is what the query says, never what the result claims.
async fn wallet_result(st: AppState, tenant: Tenant, provider: Provider, req: Request) -> Response {
    use kilele::payments::wallets::Settled;
    let now = st.deps.clock.now();
    let source_ip = crate::limits::client_of(req.headers(), req.extensions(), st.config.sign_in.trust_proxy_headers);
    let headers = req.headers().clone();
    let (body, unreadable) = body_of(req, mpesa::MAX_BODY_BYTES.max(kilele::payments::airtel::MAX_BODY_BYTES)).await;
    let delivery = Delivery { provider, kind: "notification", received_at: now, source_ip, headers: kept_headers(&headers), body: &body };
    let ack = |status: StatusCode, r: Option<&WalletResult>, refused: Option<&str>| wallet_ack(provider, status, r, refused);
    let mut tx = match kilele::db::tenant_tx(&st.deps.pool, tenant.id).await {
        Ok(tx) => tx,
        Err(e) => return internal_wallet(provider, e.into()),
    };
    let (settings, credentials) = match pushes::wallet(&mut tx, &st.deps.pii, provider).await {
        Ok(Some((settings, credentials))) => (settings, credentials),
        Ok(None) => return ack(StatusCode::NOT_FOUND, None, Some("payments-error-channel-closed")),
        Err(e) => return internal_wallet(provider, e),
    };
    let read = match unreadable {
        Some(why) => Err(why),
        // Closed since the push was sent: refused, but on record (the re-check still asks
        // the wallet about the school's unsettled pushes).
        None if !settings.enabled => Err((StatusCode::FORBIDDEN, "payments-error-channel-closed")),
        None if !settings.allows(source_ip) => Err((StatusCode::FORBIDDEN, "payments-error-address")),
        None => read_wallet_result(provider, &body, &credentials),
    };
    let result = match read {
        Ok(r) => r,
        Err((status, reason)) => {
            keep_refused(&st, tx, &delivery, reason).await;
            return ack(status, None, Some(reason));
        }
    };
    let push = match pushes::by_conversation(&mut tx, &st.deps.pii, provider, &result.ours).await {
        Ok(Some(push)) => push,
        Ok(None) => {
            keep_refused(&st, tx, &delivery, "payments-error-unknown-push").await;
            return ack(StatusCode::NOT_FOUND, Some(&result), Some("payments-error-unknown-push"));
        }
        Err(e) => return internal_wallet(provider, e),
    };
    let paid = result.paid;
    // Kept before anything else happens to it.
    let kept = async {
        let inbox =
            intake_db::receive(&mut tx, &st.deps.pii, &delivery, body.len(), ("received", None), result.transaction.as_deref()).await?;
        tx.commit().await?;
        Ok::<_, DomainError>(inbox)
    }
    .await;
    let inbox = match kept {
        Ok(inbox) => inbox,
        Err(e) => return internal_wallet(provider, e),
    };
    // Every result, "paid" or "declined", is what the wallet's status query says: a forged
    // decline cannot fail a push that was paid, nor a forged "paid" post anything.
    let declined = (!paid).then_some(result.declined);
    match st.deps.wallets.confirm_and_settle(&st.deps.pool, &st.deps.pii, tenant.id, &push, &credentials, inbox, declined, now).await {
        Ok(Some(Settled::Paid(_))) => ack(StatusCode::OK, Some(&result), None),
        Ok(Some(Settled::NotPaid(_))) if !paid => ack(StatusCode::OK, Some(&result), None),
        Ok(Some(Settled::NotPaid(_))) => ack(StatusCode::BAD_REQUEST, Some(&result), Some("payments-error-not-confirmed")),
        // A decline the wallet cannot confirm yet: taken; the re-check settles the push.
        Ok(None) if !paid => ack(StatusCode::OK, Some(&result), None),
        // The wallet could not say yet: kept as received; asked again by the re-check (and
        // when the result comes again).
        Ok(None) => ack(StatusCode::SERVICE_UNAVAILABLE, Some(&result), Some("payments-error-not-confirmed-yet")),
        Err(e) => internal_wallet(provider, e),
    }
}

/// Every half minute, asks the wallets about each school's pushes whose result is late or
/// lost (`Wallets::recheck`), until `shutdown`. Runs in every web process; two never ask
/// about the same push at once (it is claimed first).
pub async fn recheck_pushes(st: AppState, shutdown: impl std::future::Future<Output = ()>) {
    if st.deps.wallets.mpesa.is_none() && st.deps.wallets.airtel.is_none() {
        return;
    }
    tokio::pin!(shutdown);
    let mut every = tokio::time::interval(std::time::Duration::from_secs(15));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = every.tick() => {}
        }
        let schools = match tenants::list_all(&st.deps.pool).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "push re-check: the schools could not be listed");
                continue;
            }
        };
        for school in schools.iter().filter(|t| t.has_feature(Feature::Finance)) {
            match st.deps.wallets.recheck(&st.deps.pool, &st.deps.pii, school.id, st.deps.clock.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(school = %school.slug, settled = n, "pushes settled by the re-check"),
                Err(e) => tracing::warn!(school = %school.slug, error = %e, "push re-check failed"),
            }
        }
    }
}

fn internal_wallet(provider: Provider, e: DomainError) -> Response {
    tracing::error!(provider = provider.code(), error = %e, "wallet result failed");
    wallet_ack(provider, StatusCode::INTERNAL_SERVER_ERROR, None, Some("payments-error-internal"))
}

/// A fault on our side: 500, so the bank tries again later (a verified delivery stays
/// "received" in the inbox).
fn internal(bank: Provider, e: DomainError) -> Response {
    tracing::error!(provider = bank.code(), error = %e, "payment webhook failed");
    json(StatusCode::INTERNAL_SERVER_ERROR, banks::refusal(bank, "payments-error-internal"))
}
