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
    if let (Some(Provider::Mpesa), Kind::Notification) = (provider, &kind) {
        let Some(tenant) = school_of(&st, host, &school).await else {
            return json(StatusCode::NOT_FOUND, mpesa::result_ack("", "", Some("payments-error-unknown-school")));
        };
        return mpesa_result(st, tenant, req).await;
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

/// `POST /api/v1/webhooks/mpesa/{school}`: M-Pesa OpenAPI's result of a push. OpenAPI signs
/// nothing, so a result is believed only as far as the school's allowed addresses, the push
/// it names (ours, by our conversation id) and, for a payment, the status query that confirms
/// it: what is posted is what the query says, never what the result claims.
async fn mpesa_result(st: AppState, tenant: Tenant, req: Request) -> Response {
    use kilele::payments::wallets::Settled;
    let provider = Provider::Mpesa;
    let now = st.deps.clock.now();
    let source_ip = crate::limits::client_of(req.headers(), req.extensions(), st.config.sign_in.trust_proxy_headers);
    let headers = req.headers().clone();
    let (body, unreadable) = body_of(req, mpesa::MAX_BODY_BYTES).await;
    let delivery = Delivery { provider, kind: "notification", received_at: now, source_ip, headers: kept_headers(&headers), body: &body };
    let ack = |status: StatusCode, r: Option<&mpesa::PushResult>, refused: Option<&str>| {
        let (original, ours) = r.map_or(("", ""), |r| (r.original_conversation_id.as_str(), r.third_party_conversation_id.as_str()));
        json(status, mpesa::result_ack(original, ours, refused))
    };
    let mut tx = match kilele::db::tenant_tx(&st.deps.pool, tenant.id).await {
        Ok(tx) => tx,
        Err(e) => return internal_wallet(e.into()),
    };
    let (settings, credentials) = match pushes::wallet(&mut tx, &st.deps.pii, provider).await {
        Ok(Some((settings, credentials))) => (settings, credentials),
        Ok(None) => return ack(StatusCode::NOT_FOUND, None, Some("payments-error-channel-closed")),
        Err(e) => return internal_wallet(e),
    };
    let read = match unreadable {
        Some(why) => Err(why),
        // Closed since the push was sent: refused, but on record (the re-check still asks
        // the wallet about the school's unsettled pushes).
        None if !settings.enabled => Err((StatusCode::FORBIDDEN, "payments-error-channel-closed")),
        None if !settings.allows(source_ip) => Err((StatusCode::FORBIDDEN, "payments-error-address")),
        None => mpesa::parse_result(&body).map_err(|e| (StatusCode::BAD_REQUEST, e.0)),
    };
    let result = match read {
        Ok(r) => r,
        Err((status, reason)) => {
            keep_refused(&st, tx, &delivery, reason).await;
            return ack(status, None, Some(reason));
        }
    };
    let push = match pushes::by_conversation(&mut tx, &st.deps.pii, provider, &result.third_party_conversation_id).await {
        Ok(Some(push)) => push,
        Ok(None) => {
            keep_refused(&st, tx, &delivery, "payments-error-unknown-push").await;
            return ack(StatusCode::NOT_FOUND, Some(&result), Some("payments-error-unknown-push"));
        }
        Err(e) => return internal_wallet(e),
    };
    let paid = result.result_code == mpesa::OK;
    // Kept before anything else happens to it.
    let kept = async {
        let transaction = Some(result.transaction_id.as_str()).filter(|_| paid);
        let inbox = intake_db::receive(&mut tx, &st.deps.pii, &delivery, body.len(), ("received", None), transaction).await?;
        tx.commit().await?;
        Ok::<_, DomainError>(inbox)
    }
    .await;
    let inbox = match kept {
        Ok(inbox) => inbox,
        Err(e) => return internal_wallet(e),
    };
    // Every result, "paid" or "declined", is what the wallet's status query says: a forged
    // decline cannot fail a push that was paid, nor a forged "paid" post anything.
    let declined = (!paid).then_some(result.result_code.as_str());
    match st.deps.wallets.confirm_and_settle(&st.deps.pool, &st.deps.pii, tenant.id, &push, &credentials, inbox, declined, now).await {
        Ok(Some(Settled::Paid(_))) => ack(StatusCode::OK, Some(&result), None),
        Ok(Some(Settled::NotPaid(_))) if !paid => ack(StatusCode::OK, Some(&result), None),
        Ok(Some(Settled::NotPaid(_))) => ack(StatusCode::BAD_REQUEST, Some(&result), Some("payments-error-not-confirmed")),
        // A decline the wallet cannot confirm yet: taken; the re-check settles the push.
        Ok(None) if !paid => ack(StatusCode::OK, Some(&result), None),
        // The wallet could not say yet: kept as received; asked again by the re-check (and
        // when the result comes again).
        Ok(None) => ack(StatusCode::SERVICE_UNAVAILABLE, Some(&result), Some("payments-error-not-confirmed-yet")),
        Err(e) => internal_wallet(e),
    }
}

/// Every half minute, asks the wallets about each school's pushes whose result is late or
/// lost (`Wallets::recheck`), until `shutdown`. Runs in every web process; two never ask
/// about the same push at once (it is claimed first).
pub async fn recheck_pushes(st: AppState, shutdown: impl std::future::Future<Output = ()>) {
    if st.deps.wallets.mpesa.is_none() {
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

fn internal_wallet(e: DomainError) -> Response {
    tracing::error!(provider = "mpesa", error = %e, "wallet result failed");
    json(StatusCode::INTERNAL_SERVER_ERROR, mpesa::result_ack("", "", Some("payments-error-internal")))
}

/// A fault on our side: 500, so the bank tries again later (a verified delivery stays
/// "received" in the inbox).
fn internal(bank: Provider, e: DomainError) -> Response {
    tracing::error!(provider = bank.code(), error = %e, "payment webhook failed");
    json(StatusCode::INTERNAL_SERVER_ERROR, banks::refusal(bank, "payments-error-internal"))
}
