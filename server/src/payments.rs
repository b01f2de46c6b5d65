//! Payment webhooks (issue 10): `POST /api/v1/webhooks/{bank}/{school}` (a payment
//! notification) and `…/validate` (a reference validation), in Kilele's bank-collection
//! contract (`kilele::payments::banks`); the wallets' results of pushes (`wallet_result`); and
//! Tigo's USSD bill-pay (`…/tigo/{school}/validate` and `…/billpay`, `tigo_ussd`). For banks, in order: the school (active, with finance in its plan,
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
use kilele::payments::wallets::Wallets;
use kilele::payments::webhooks::{self, Signed};
use kilele::payments::{mpesa, pushes, tigo, Provider};
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
    Reversal,
}

/// A verified delivery, read.
enum Read {
    Notification(kilele::payments::PaymentEvent),
    Validation(banks::ValidationRequest),
    Reversal(banks::Reversal),
}

/// `POST /api/v1/webhooks/{provider}/{school}`: a bank's payment notification.
pub async fn notification(State(st): State<AppState>, Path((provider, school)): Path<(String, String)>, req: Request) -> Response {
    webhook(st, provider, school, Kind::Notification, req).await
}

/// `POST /api/v1/webhooks/{provider}/{school}/reversal`: a bank takes back a payment it
/// notified before.
pub async fn reversal(State(st): State<AppState>, Path((provider, school)): Path<(String, String)>, req: Request) -> Response {
    webhook(st, provider, school, Kind::Reversal, req).await
}

/// `POST /api/v1/webhooks/{provider}/{school}/validate`: a bank asks who a control number is.
pub async fn validation(State(st): State<AppState>, Path((provider, school)): Path<(String, String)>, req: Request) -> Response {
    webhook(st, provider, school, Kind::Validation, req).await
}

async fn webhook(st: AppState, provider: String, school: String, kind: Kind, req: Request) -> Response {
    let provider = Provider::parse(&provider);
    let host = req.extensions().get::<app::ctx::RequestCtx>().filter(|c| c.tenant_from_host).and_then(|c| c.tenant.as_ref().map(|t| t.id));
    if let (Some(Provider::Tigo), Kind::Validation) = (provider, &kind) {
        return tigo_ussd(st, host, &school, UssdStep::Lookup, req).await;
    }
    if let (Some(Provider::Gepg), Kind::Notification) = (provider, &kind) {
        let Some(tenant) = school_of(&st, host, &school).await else {
            return gepg_reply(StatusCode::NOT_FOUND, kilele::payments::gepg::PAYMENT_ACK, kilele::payments::gepg::FAILURE, None);
        };
        return gepg_message(st, tenant, req).await;
    }
    if let (Some(wallet @ (Provider::Mpesa | Provider::Airtel | Provider::Tigo)), Kind::Notification) = (provider, &kind) {
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
    let kind_code = match kind {
        Kind::Notification => "notification",
        Kind::Validation => "validation",
        Kind::Reversal => "reversal",
    };
    let came = Incoming::read(&st, req, banks::MAX_BODY_BYTES).await;
    let (delivery, body, unreadable, source_ip) = (came.delivery(bank, kind_code, now), came.body.clone(), came.unreadable, came.source_ip);
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
                Kind::Notification | Kind::Reversal => json(StatusCode::FORBIDDEN, banks::refusal(bank, "payments-error-channel-closed")),
            };
        }
        Err(e) => return internal(bank, e),
    };
    let header = |name: &str| came.raw_headers.get(name).and_then(|v| v.to_str().ok());
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
        (None, Kind::Reversal) => banks::parse_reversal(bank, &body).map(Read::Reversal).map_err(|e| (StatusCode::BAD_REQUEST, e.0)),
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
        Ok(Read::Reversal(reversal)) => return take_reversal(&st, tx, &delivery, body.len(), &reversal, now).await,
        Ok(Read::Notification(event)) => event,
    };
    // Verified: kept whole and committed before it is processed.
    let taken = take_event(&st, tx, &delivery, body.len(), &event, now).await;
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

/// A verified reversal: kept (committed first), then taken once (`payments::db::reverse`) and
/// answered in the bank's names: REVERSED (or DUPLICATE), or a 409 with why it cannot be taken
/// now — kept `refused`, so the bursar sees it; the bank may send it again (an original that
/// had not arrived yet is taken then).
async fn take_reversal(
    st: &AppState,
    mut tx: kilele::db::TenantTx,
    delivery: &Delivery<'_>,
    body_bytes: usize,
    reversal: &banks::Reversal,
    now: chrono::DateTime<chrono::Utc>,
) -> Response {
    use kilele::payments::db::Reversed;
    let bank = reversal.provider;
    let taken = async {
        let school = tx.tenant();
        let inbox = intake_db::receive(&mut tx, &st.deps.pii, delivery, body_bytes, ("received", None), None).await?;
        tx.commit().await?;
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, school).await?;
        let reversed = intake_db::reverse(&mut tx, reversal, inbox, now).await?;
        let (outcome, reason) = match &reversed {
            Reversed::Done => ("reversed", None),
            Reversed::Duplicate => ("duplicate", None),
            Reversed::Refused(why) => ("refused", Some(*why)),
        };
        intake_db::decided(&mut tx, inbox, outcome, reason, Some(&reversal.transaction_id)).await?;
        tx.commit().await?;
        Ok::<_, DomainError>(reversed)
    }
    .await;
    let reference = reversal.transaction_id.as_str();
    match taken {
        Ok(Reversed::Done) => json(StatusCode::OK, banks::notification_ack(bank, NotificationStatus::Reversed, reference, None)),
        Ok(Reversed::Duplicate) => json(StatusCode::OK, banks::notification_ack(bank, NotificationStatus::Duplicate, reference, None)),
        Ok(Reversed::Refused(why)) => json(StatusCode::CONFLICT, banks::refusal(bank, why)),
        Err(e) => internal(bank, e),
    }
}

/// A provider's request as it came: the caller's address, the headers we keep, the body (up to
/// a limit), or why it could not be read.
struct Incoming {
    source_ip: Option<std::net::IpAddr>,
    /// All of them (a bank's signature is in three).
    raw_headers: HeaderMap,
    headers: serde_json::Value,
    body: axum::body::Bytes,
    unreadable: Option<(StatusCode, &'static str)>,
}

impl Incoming {
    async fn read(st: &AppState, req: Request, max: usize) -> Self {
        let source_ip = crate::limits::client_of(req.headers(), req.extensions(), st.config.sign_in.trust_proxy_headers);
        let raw_headers = req.headers().clone();
        let headers = kept_headers(&raw_headers);
        let (body, unreadable) = body_of(req, max).await;
        Self { source_ip, raw_headers, headers, body, unreadable }
    }

    /// What the inbox keeps of it.
    fn delivery(&self, provider: Provider, kind: &'static str, now: chrono::DateTime<chrono::Utc>) -> Delivery<'_> {
        Delivery { provider, kind, received_at: now, source_ip: self.source_ip, headers: self.headers.clone(), body: &self.body }
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

/// A GePG acknowledgement (`kind`, with `code`), signed with the school's key (`signer`) once
/// GePG's own signature held; unsigned before (nobody makes us sign what they send). The key
/// is read only here, when it signs.
fn gepg_reply(status: StatusCode, kind: &str, code: &str, signer: Option<&kilele::payments::gepg::GepgCredentials>) -> Response {
    use kilele::payments::gepg;
    let content = gepg::ack(kind, code);
    let key = signer.and_then(|creds| {
        creds.key().map_err(|e| tracing::error!(provider = "gepg", error = %e, "the school's GePG key does not read")).ok()
    });
    let signature = key.map(|k| gepg::signature::sign(&k, &content)).unwrap_or_default();
    (status, [(axum::http::header::CONTENT_TYPE, "application/xml")], gepg::envelope(&content, &signature)).into_response()
}

/// `POST /api/v1/webhooks/gepg/{school}`: GePG's answer about a bill (its control number), or
/// a payment of one. The school's GePG channel must be open; the envelope is read strictly and
/// its content must carry GePG's signature over the bytes as sent, else a refusal kept in the
/// inbox with its reason. A bill's answer marks the bill; a payment is taken once per GePG
/// transaction (`TrxId`) through the intake, matched by the bill's control number. Every
/// answer is GePG's acknowledgement, signed with the school's key.
async fn gepg_message(st: AppState, tenant: Tenant, req: Request) -> Response {
    use kilele::payments::gepg::{self, PAYMENT_ACK};
    let now = st.deps.clock.now();
    let came = Incoming::read(&st, req, gepg::MAX_BODY_BYTES).await;
    let mut tx = match kilele::db::tenant_tx(&st.deps.pool, tenant.id).await {
        Ok(tx) => tx,
        Err(e) => return internal_gepg(e.into(), None),
    };
    let (Some(api), Ok(Some(creds))) = (st.deps.wallets.gepg.as_deref(), kilele::payments::bills::account(&mut tx, &st.deps.pii).await)
    else {
        return gepg_reply(StatusCode::FORBIDDEN, PAYMENT_ACK, gepg::UNAUTHORIZED, None);
    };
    let opened = match came.unreadable {
        Some(why) => Err(why),
        None => gepg::open(&came.body).map_err(|e| (StatusCode::BAD_REQUEST, e.0)),
    };
    let (kind, read) = match opened {
        Ok(env) if !api.signed_by_gepg(env.content, &env.signature) => {
            (env.kind, Err((StatusCode::UNAUTHORIZED, "payments-error-signature")))
        }
        Ok(env) => {
            let read = match env.kind.as_str() {
                gepg::BILL_RESPONSE => gepg::bill_response(env.content).map(GepgRead::Bill),
                gepg::PAYMENT => gepg::payment(env.content).map(GepgRead::Payment),
                _ => Err(kilele::payments::Unreadable("payments-error-malformed")),
            };
            (env.kind, read.map_err(|e| (StatusCode::BAD_REQUEST, e.0)))
        }
        Err(why) => (String::new(), Err(why)),
    };
    let ack_kind = if kind == gepg::BILL_RESPONSE { gepg::BILL_RESPONSE_ACK } else { PAYMENT_ACK };
    // A payment must name one of this school's bills: its SP code, and the control number with
    // its bill id (schools may share a service provider code).
    let read = match read {
        Ok(GepgRead::Payment(p)) if p.sp_code != creds.sp_code => Err((StatusCode::FORBIDDEN, "payments-error-unknown-school")),
        Ok(GepgRead::Payment(p)) => match kilele::payments::bills::is_ours(&mut tx, &p.control_number, &p.bill_id).await {
            Ok(true) => Ok(GepgRead::Payment(p)),
            Ok(false) => Err((StatusCode::NOT_FOUND, "payments-error-unknown-bill")),
            Err(e) => return internal_gepg(e, None),
        },
        other => other,
    };
    match read {
        Err((status, reason)) => {
            let delivery = came.delivery(Provider::Gepg, "notification", now);
            keep_refused(&st, tx, &delivery, reason).await;
            let code = match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => gepg::UNAUTHORIZED,
                StatusCode::NOT_FOUND => gepg::BILL_UNKNOWN,
                _ => gepg::INVALID_REQUEST,
            };
            // Signed only once GePG's signature held: nobody makes us sign what they send.
            let verified = status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN;
            gepg_reply(status, ack_kind, code, verified.then_some(&creds))
        }
        Ok(GepgRead::Bill(answer)) => {
            let done = async {
                let known = kilele::payments::bills::answered(&mut tx, &answer, now).await?;
                let delivery = came.delivery(Provider::Gepg, "bill", now);
                let outcome = if known { ("answered", None) } else { ("refused", Some("payments-error-unknown-bill")) };
                intake_db::receive(&mut tx, &st.deps.pii, &delivery, came.body.len(), outcome, Some(&answer.bill_id)).await?;
                tx.commit().await?;
                Ok::<_, DomainError>(known)
            }
            .await;
            match done {
                Ok(true) => gepg_reply(StatusCode::OK, ack_kind, gepg::OK, Some(&creds)),
                Ok(false) => gepg_reply(StatusCode::NOT_FOUND, ack_kind, gepg::FAILURE, Some(&creds)),
                Err(e) => internal_gepg(e, Some(&creds)),
            }
        }
        Ok(GepgRead::Payment(p)) => {
            let event = kilele::payments::PaymentEvent {
                provider: Provider::Gepg,
                transaction_id: p.trx_id.clone(),
                reference: p.control_number.clone(),
                payer_name: p.payer_name.clone(),
                payer_phone: p.payer_phone.clone(),
                amount_minor: p.paid_minor,
                currency: p.currency.clone(),
                paid_at: p.paid_at,
            };
            let delivery = came.delivery(Provider::Gepg, "notification", now);
            match take_event(&st, tx, &delivery, came.body.len(), &event, now).await {
                // Posted, a repeat of one taken, or kept for the bursar: GePG's part is done.
                Ok(Intake::Posted { .. } | Intake::Duplicate { .. } | Intake::Suspense { .. }) => {
                    gepg_reply(StatusCode::OK, ack_kind, gepg::OK, Some(&creds))
                }
                Ok(Intake::ConflictingRepeat) => gepg_reply(StatusCode::CONFLICT, ack_kind, gepg::FAILURE, Some(&creds)),
                Err(e) => internal_gepg(e, Some(&creds)),
            }
        }
    }
}

enum GepgRead {
    Bill(kilele::payments::gepg::BillResponse),
    Payment(kilele::payments::gepg::PaymentInfo),
}

fn internal_gepg(e: DomainError, key: Option<&kilele::payments::gepg::GepgCredentials>) -> Response {
    tracing::error!(provider = "gepg", error = %e, "gepg message failed");
    gepg_reply(StatusCode::INTERNAL_SERVER_ERROR, kilele::payments::gepg::PAYMENT_ACK, kilele::payments::gepg::FAILURE, key)
}

/// A wallet's result, read: whose push (our conversation id), whether it says paid, the
/// reason it gives when not, the wallet's transaction id, and how to answer in its format.
struct WalletResult {
    ours: String,
    paid: bool,
    declined: &'static str,
    transaction: Option<String>,
    /// M-Pesa echoes both conversation ids in its acknowledgement; Tigo its `ReferenceID`.
    original: String,
    /// What the result says was paid (Tigo's: it has no status query to ask instead).
    amount_minor: Option<i64>,
}

/// The acknowledgement in the wallet's own format (`refused`: a reason, for a 4xx/5xx).
fn wallet_ack(provider: Provider, status: StatusCode, r: Option<&WalletResult>, refused: Option<&str>) -> Response {
    match provider {
        Provider::Tigo => json(status, tigo::callback_ack(r.map(|r| r.original.as_str()).unwrap_or_default(), refused)),
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
                amount_minor: None,
            })
        }
        Provider::Tigo => {
            let c = tigo::parse_callback(body).map_err(|e| (StatusCode::BAD_REQUEST, e.0))?;
            let creds: tigo::TigoCredentials =
                serde_json::from_str(credentials).map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "payments-error-internal"))?;
            Ok(WalletResult {
                ours: creds.conversation_of(&c.reference_id).unwrap_or_default().to_owned(),
                paid: c.paid,
                declined: tigo::failure_reason(&c.description),
                transaction: c.transaction_id,
                original: c.reference_id,
                amount_minor: Some(c.amount_minor),
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
                amount_minor: None,
            })
        }
    }
}

/// `POST /api/v1/webhooks/{mpesa|airtel|tigo}/{school}`: a wallet's result of a push. Wallets
/// sign nothing we can rely on (Airtel's hash only when the school turned it on), so a result
/// is believed only as far as the school's channel and allowed addresses, the push it names
/// (ours, by our random conversation id) and, for M-Pesa and Airtel, the wallet's own status
/// query, which decides: what is posted is what the query says, never what the result
/// claims. Tigo has no status query: its channel must list Tigo's addresses, and its result
/// is taken as it says only for the amount the push asked (see below).
async fn wallet_result(st: AppState, tenant: Tenant, provider: Provider, req: Request) -> Response {
    use kilele::payments::wallets::Settled;
    let now = st.deps.clock.now();
    let came = Incoming::read(&st, req, mpesa::MAX_BODY_BYTES.max(kilele::payments::airtel::MAX_BODY_BYTES)).await;
    let (delivery, body, unreadable, source_ip) =
        (came.delivery(provider, "notification", now), came.body.clone(), came.unreadable, came.source_ip);
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
        // Tigo signs nothing and cannot be asked: its addresses are the only proof of origin,
        // so a Tigo channel without a list takes nothing.
        None if provider == Provider::Tigo && settings.allowed_ips.is_empty() => {
            Err((StatusCode::FORBIDDEN, "payments-error-addresses-required"))
        }
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
    // For M-Pesa and Airtel every result, "paid" or "declined", is what the wallet's status
    // query says: a forged decline cannot fail a push that was paid, nor a forged "paid" post
    // anything. A push is paid once, whatever comes after.
    let declined = (!paid).then_some(result.declined);
    let settled = match (provider, &result.transaction) {
        // Tigo's "paid" for another amount than the push asked: the money moved, but not as
        // asked; for the bursar (suspense is off the ledger until assigned).
        (Provider::Tigo, Some(id)) if paid && result.amount_minor != Some(push.amount_minor) => {
            let amount = result.amount_minor.unwrap_or_default();
            let reason = "payments-suspense-amount-mismatch";
            Wallets::hold_result(&st.deps.pool, &st.deps.pii, tenant.id, &push, id, amount, inbox, reason, now).await
        }
        // Tigo publishes no status query: its result, from a listed address, naming our push
        // by its random reference with the amount we asked for, is taken as it is (the day's
        // statement reconciles it). A decline from a listed address fails the push (a payment
        // that comes after still posts).
        (Provider::Tigo, transaction) => {
            let confirmation = match transaction {
                Some(id) if paid => kilele::payments::Confirmation::Paid { transaction_id: id.clone() },
                _ => kilele::payments::Confirmation::Failed(result.declined),
            };
            Wallets::settle_confirmed(&st.deps.pool, &st.deps.pii, tenant.id, &push, confirmation, inbox, declined, now).await
        }
        _ => st.deps.wallets.confirm_and_settle(&st.deps.pool, &st.deps.pii, tenant.id, &push, &credentials, inbox, declined, now).await,
    };
    match settled {
        // Another transaction for a push paid already: refused (kept), the first stands.
        Ok(Some(Settled::Paid(Intake::ConflictingRepeat))) => {
            ack(StatusCode::CONFLICT, Some(&result), Some("payments-error-conflicting-repeat"))
        }
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

/// Which of Tigo's two USSD bill-pay calls a URL takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum UssdStep {
    /// `…/validate`: the name lookup.
    Lookup,
    /// `…/billpay`: the payment.
    BillPay,
}

/// `POST /api/v1/webhooks/{provider}/{school}/billpay`: Tigo asks us to take a payment a
/// parent made from their own phone (only Tigo has this step).
pub async fn billpay(State(st): State<AppState>, Path((provider, school)): Path<(String, String)>, req: Request) -> Response {
    if Provider::parse(&provider) != Some(Provider::Tigo) {
        return json(StatusCode::NOT_FOUND, serde_json::json!({ "error": "payments-error-unknown-provider" }));
    }
    let host = req.extensions().get::<app::ctx::RequestCtx>().filter(|c| c.tenant_from_host).and_then(|c| c.tenant.as_ref().map(|t| t.id));
    tigo_ussd(st, host, &school, UssdStep::BillPay, req).await
}

fn xml(status: StatusCode, body: String) -> Response {
    (status, [(axum::http::header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// A refusal in Tigo's own reply (`TF` with the code), before or instead of reading the body.
fn ussd_refusal(step: UssdStep, status: StatusCode, code: tigo::UssdCode, asked: Option<&tigo::UssdRequest>) -> Response {
    let msisdn = asked.map(|a| a.msisdn()).unwrap_or_default();
    match (step, asked) {
        (UssdStep::BillPay, Some(tigo::UssdRequest::BillPay { txn_id, .. })) => {
            xml(status, tigo::billpay_reply(txn_id, code, None, msisdn, None))
        }
        (UssdStep::BillPay, _) => xml(status, tigo::billpay_reply("", code, None, msisdn, None)),
        (UssdStep::Lookup, _) => xml(status, tigo::lookup_reply(code, msisdn, None)),
    }
}

/// Tigo's USSD bill-pay (wallet to account): synchronous, in `<COMMAND>` XML, and our reply
/// decides — `TS` and Tigo completes the payment, `TF` and it gives the money back. Tigo signs
/// nothing, so the school's Tigo channel must list the addresses Tigo calls from, and the
/// business number must be the school's. A lookup answers who a control number is (the
/// student and what is owed, as the banks' validation does); a payment for a number that is
/// not this school's is refused (the parent keeps the money) rather than kept in suspense;
/// otherwise it is kept, then taken once per Tigo transaction id through the intake, and a
/// repeated transaction gets the first reply (the same receipt).
async fn tigo_ussd(st: AppState, host: Option<TenantId>, school: &str, step: UssdStep, req: Request) -> Response {
    use tigo::UssdCode;
    let Some(tenant) = school_of(&st, host, school).await else {
        return ussd_refusal(step, StatusCode::NOT_FOUND, UssdCode::InvalidReference, None);
    };
    let now = st.deps.clock.now();
    let came = Incoming::read(&st, req, tigo::MAX_BODY_BYTES).await;
    let kind = if step == UssdStep::Lookup { "validation" } else { "notification" };
    let (delivery, body, unreadable, source_ip) =
        (came.delivery(Provider::Tigo, kind, now), came.body.clone(), came.unreadable, came.source_ip);
    let mut tx = match kilele::db::tenant_tx(&st.deps.pool, tenant.id).await {
        Ok(tx) => tx,
        Err(e) => return internal_ussd(step, e.into()),
    };
    let (settings, credentials) = match pushes::wallet(&mut tx, &st.deps.pii, Provider::Tigo).await {
        Ok(Some((settings, credentials))) if settings.enabled => (settings, credentials),
        // A school that takes nothing through Tigo keeps nothing of what is sent there.
        Ok(_) => return ussd_refusal(step, StatusCode::FORBIDDEN, UssdCode::NotAvailable, None),
        Err(e) => return internal_ussd(step, e),
    };
    let Ok(creds) = serde_json::from_str::<tigo::TigoCredentials>(&credentials) else {
        return internal_ussd(step, DomainError::Internal("tigo credentials".into()));
    };
    // Read first (when it may be), so a refusal can echo Tigo's TXNID and MSISDN.
    let parsed = match unreadable {
        Some(why) => Err(why),
        None => tigo::parse_ussd(&body).map_err(|e| (StatusCode::BAD_REQUEST, e.0)),
    };
    let refused: Option<(StatusCode, &'static str)> = match &parsed {
        Err(why) => Some(*why),
        _ if settings.allowed_ips.is_empty() => Some((StatusCode::FORBIDDEN, "payments-error-addresses-required")),
        _ if !settings.allows(source_ip) => Some((StatusCode::FORBIDDEN, "payments-error-address")),
        Ok(asked) if asked.company() != creds.company_number => Some((StatusCode::FORBIDDEN, "payments-error-wrong-business")),
        Ok(tigo::UssdRequest::Lookup { .. }) if step == UssdStep::Lookup => None,
        Ok(tigo::UssdRequest::BillPay { .. }) if step == UssdStep::BillPay => None,
        Ok(_) => Some((StatusCode::BAD_REQUEST, "payments-error-wrong-step")),
    };
    let asked = match (parsed, refused) {
        (Ok(asked), None) => asked,
        (parsed, refused) => {
            // (Unread is always refused: the default is never taken.)
            let (status, reason) = refused.unwrap_or((StatusCode::BAD_REQUEST, "payments-error-malformed"));
            keep_refused(&st, tx, &delivery, reason).await;
            let code = match reason {
                "payments-error-amount" => UssdCode::InvalidAmount,
                "payments-error-reference" => UssdCode::InvalidReference,
                _ if status == StatusCode::BAD_REQUEST || status == StatusCode::PAYLOAD_TOO_LARGE => UssdCode::InvalidPayment,
                _ => UssdCode::NotAvailable,
            };
            return ussd_refusal(step, status, code, parsed.as_ref().ok());
        }
    };
    let reference = match &asked {
        tigo::UssdRequest::Lookup { reference, .. } | tigo::UssdRequest::BillPay { reference, .. } => reference.clone(),
    };
    let answer = match intake_db::validate(&mut tx, &reference).await {
        Ok(answer) => answer,
        Err(e) => return internal_ussd(step, e),
    };
    let known = answer.code != banks::ValidationCode::Unknown;
    let tzs = |minor: i64| kilele::finance::Money::from_minor(minor, kilele::finance::Currency::Tzs);
    let school_of_student = answer.school_name.as_deref().unwrap_or_default();
    // What the parent's phone shows: before paying, who and what is owed; after, what was
    // received (the balance read before the payment would be out of date).
    // In the school's language (the parent's phone shows it; Tigo says nothing of theirs).
    let lang = tenant.default_language;
    let content = answer.student_name.as_ref().map(|student| {
        let (key, amount) = match &asked {
            tigo::UssdRequest::Lookup { .. } => ("payments-ussd-due", answer.amount_due_minor),
            tigo::UssdRequest::BillPay { amount_minor, .. } => ("payments-ussd-received", *amount_minor),
        };
        let args = [("student", student.clone()), ("school", school_of_student.to_owned()), ("amount", tzs(amount).to_string())];
        app::i18n::t_args(lang, key, &args)
    });
    let tigo::UssdRequest::BillPay { txn_id, msisdn, amount_minor, sender_name, .. } = &asked else {
        // The lookup: answered and kept in one transaction.
        let answered = async {
            intake_db::receive(&mut tx, &st.deps.pii, &delivery, body.len(), ("answered", None), None).await?;
            tx.commit().await?;
            Ok::<_, DomainError>(())
        }
        .await;
        return match answered {
            Ok(()) if known => xml(StatusCode::OK, tigo::lookup_reply(UssdCode::Success, asked.msisdn(), content.as_deref())),
            Ok(()) => xml(StatusCode::OK, tigo::lookup_reply(UssdCode::InvalidReference, asked.msisdn(), None)),
            Err(e) => internal_ussd(step, e),
        };
    };
    if !known {
        // Not ours to take: refused, so Tigo gives the parent their money back.
        let refused = async {
            intake_db::receive(
                &mut tx,
                &st.deps.pii,
                &delivery,
                body.len(),
                ("refused", Some("payments-error-unknown-reference")),
                Some(txn_id),
            )
            .await?;
            tx.commit().await?;
            Ok::<_, DomainError>(())
        }
        .await;
        return match refused {
            Ok(()) => xml(StatusCode::OK, tigo::billpay_reply(txn_id, UssdCode::InvalidReference, None, msisdn, None)),
            Err(e) => internal_ussd(step, e),
        };
    }
    let event = kilele::payments::PaymentEvent {
        provider: Provider::Tigo,
        transaction_id: txn_id.clone(),
        reference,
        payer_name: sender_name.clone(),
        payer_phone: Some(msisdn.clone()),
        amount_minor: *amount_minor,
        currency: "TZS".into(),
        paid_at: now,
    };
    let taken = take_event(&st, tx, &delivery, body.len(), &event, now).await;
    let receipt = |n: Option<i64>| n.map(|n| n.to_string());
    match taken {
        Ok(Intake::Posted { receipt_no }) | Ok(Intake::Duplicate { receipt_no: Some(receipt_no) }) => xml(
            StatusCode::OK,
            tigo::billpay_reply(txn_id, UssdCode::Success, receipt(Some(receipt_no)).as_deref(), msisdn, content.as_deref()),
        ),
        // Taken, for the bursar to put on the right account.
        Ok(Intake::Duplicate { receipt_no: None }) | Ok(Intake::Suspense { .. }) => {
            let held = app::i18n::t(lang, "payments-ussd-held");
            xml(StatusCode::OK, tigo::billpay_reply(txn_id, UssdCode::Success, None, msisdn, Some(&held)))
        }
        Ok(Intake::ConflictingRepeat) => {
            xml(StatusCode::CONFLICT, tigo::billpay_reply(txn_id, UssdCode::InvalidPayment, None, msisdn, None))
        }
        Err(e) => internal_ussd(step, e),
    }
}

/// Keeps a verified delivery in `tx` (committed first: a crash from here leaves it
/// "received" while the provider tries again), then takes its payment once through the
/// intake and marks the delivery with what was decided.
async fn take_event(
    st: &AppState,
    mut tx: kilele::db::TenantTx,
    delivery: &Delivery<'_>,
    body_bytes: usize,
    event: &kilele::payments::PaymentEvent,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Intake, DomainError> {
    let school = tx.tenant();
    let inbox = intake_db::receive(&mut tx, &st.deps.pii, delivery, body_bytes, ("received", None), None).await?;
    tx.commit().await?;
    // Posted with the school's other payments of the moment, in one transaction.
    crate::intake::take(st, school, event.clone(), inbox, now).await
}

fn internal_ussd(step: UssdStep, e: DomainError) -> Response {
    tracing::error!(provider = "tigo", error = %e, "tigo bill-pay failed");
    ussd_refusal(step, StatusCode::INTERNAL_SERVER_ERROR, tigo::UssdCode::General, None)
}

/// Every half minute, asks the wallets about each school's pushes whose result is late or
/// lost (`Wallets::recheck`), until `shutdown`. Runs in every web process; two never ask
/// about the same push at once (it is claimed first).
pub async fn recheck_pushes(st: AppState, shutdown: impl std::future::Future<Output = ()>) {
    // Tigo cannot be asked: only M-Pesa's and Airtel's pushes are re-checked.
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
