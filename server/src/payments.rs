//! Payment webhooks (issue 10): `POST /api/v1/webhooks/{bank}/{school}` (a payment
//! notification) and `…/validate` (a reference validation), in Kilele's bank-collection
//! contract (`kilele::payments::banks`). Each delivery is kept in the school's inbox before
//! anything is decided; then the channel must be open, the caller's address allowed, the
//! Standard Webhooks signature good and fresh, and the body well formed — otherwise a 4xx in
//! the bank's own field names, the reason kept with the delivery, nothing posted. A verified
//! notification is taken once per bank transaction (`payments::db::intake`).

use crate::state::AppState;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kilele::payments::banks::{self, NotificationStatus};
use kilele::payments::db::{self as intake_db, Delivery, Intake};
use kilele::payments::webhooks::{self, Signed};
use kilele::payments::Provider;
use kilele::tenancy::{store as tenants, Tenant, TenantSlug};
use kilele::DomainError;

/// Headers kept with a delivery: everything but what could carry a credential of ours.
fn kept_headers(headers: &HeaderMap) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "cookie" | "authorization"))
        .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned().into()))
        .collect();
    serde_json::Value::Object(map)
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// The school a webhook is for, from its path: an active school, the same as the host's when
/// the request came on a school's own host.
async fn school_of(st: &AppState, host: Option<kilele::tenancy::TenantId>, code: &str) -> Option<Tenant> {
    let slug = TenantSlug::parse(code).ok()?;
    let tenant = tenants::find_by_slug(&st.deps.pool, &slug).await.ok()??;
    (tenant.can_sign_in() && host.is_none_or(|h| h == tenant.id)).then_some(tenant)
}

enum Kind {
    Notification,
    Validation,
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
    let Some(bank) = Provider::parse(&provider).filter(|p| p.is_bank()) else {
        return json(StatusCode::NOT_FOUND, serde_json::json!({ "error": "payments-error-unknown-provider" }));
    };
    let host = req.extensions().get::<app::ctx::RequestCtx>().filter(|c| c.tenant_from_host).and_then(|c| c.tenant.as_ref().map(|t| t.id));
    let Some(tenant) = school_of(&st, host, &school).await else {
        return json(StatusCode::NOT_FOUND, banks::refusal(bank, "payments-error-unknown-school"));
    };
    let now = st.deps.clock.now();
    let source_ip = crate::limits::client_of(req.headers(), req.extensions(), st.config.sign_in.trust_proxy_headers);
    let headers = req.headers().clone();
    let (body, too_large) = match axum::body::to_bytes(req.into_body(), banks::MAX_BODY_BYTES).await {
        Ok(bytes) => (bytes, false),
        Err(_) => (axum::body::Bytes::new(), true),
    };
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
    // Kept first, committed on its own: whatever happens next, the delivery is on record.
    let kept = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
        let id = intake_db::receive(&mut tx, &delivery).await?;
        let channel = intake_db::channel(&mut tx, &st.deps.pii, bank).await?;
        tx.commit().await?;
        Ok::<_, DomainError>((id, channel))
    }
    .await;
    let (inbox, channel) = match kept {
        Ok(v) => v,
        Err(e) => return internal(bank, e),
    };
    let refuse = |status: StatusCode, reason: &'static str| {
        let st = st.clone();
        async move {
            let decided = async {
                let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
                intake_db::decided(&mut tx, inbox, "refused", Some(reason), None).await?;
                tx.commit().await?;
                Ok::<_, DomainError>(())
            }
            .await;
            if let Err(e) = decided {
                tracing::error!(error = %e, "a refused delivery's reason was not kept");
            }
            tracing::warn!(provider = bank.code(), school = %tenant.slug, reason, "payment webhook refused");
            json(status, banks::refusal(bank, reason))
        }
    };
    if too_large {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "payments-error-too-large").await;
    }
    let Some(channel) = channel.filter(|c| c.enabled && !c.secrets.is_empty()) else {
        return refuse(StatusCode::FORBIDDEN, "payments-error-channel-closed").await;
    };
    if !channel.allows(source_ip) {
        return refuse(StatusCode::FORBIDDEN, "payments-error-address").await;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = Signed { id: header("webhook-id"), timestamp: header("webhook-timestamp"), signature: header("webhook-signature") };
    if let Err(refused) = webhooks::verify(&channel.secrets, signed, &body, now) {
        return refuse(StatusCode::UNAUTHORIZED, refused.key()).await;
    }
    match kind {
        Kind::Validation => {
            let asked = match banks::parse_validation(bank, &body) {
                Ok(v) => v,
                Err(e) => return refuse(StatusCode::BAD_REQUEST, e.0).await,
            };
            let answered = async {
                let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
                let answer = intake_db::validate(&mut tx, &asked.control_number).await?;
                intake_db::decided(&mut tx, inbox, "answered", None, Some(&asked.request_id)).await?;
                tx.commit().await?;
                Ok::<_, DomainError>(answer)
            }
            .await;
            match answered {
                Ok(answer) => json(StatusCode::OK, banks::validation_reply(bank, &answer)),
                Err(e) => internal(bank, e),
            }
        }
        Kind::Notification => {
            let event = match banks::parse_notification(bank, &body) {
                Ok(e) => e,
                Err(e) => return refuse(StatusCode::BAD_REQUEST, e.0).await,
            };
            let taken = async {
                let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
                let taken = intake_db::intake(&mut tx, &event, inbox, now).await?;
                let (outcome, reason) = match &taken {
                    Intake::Posted { .. } => ("posted", None),
                    Intake::Duplicate { .. } => ("duplicate", None),
                    Intake::Suspense { reason } => ("suspense", Some(*reason)),
                    Intake::WrongSchool => ("refused", Some("payments-error-wrong-school")),
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
                Ok(Intake::Suspense { .. }) => {
                    json(StatusCode::OK, banks::notification_ack(bank, NotificationStatus::Suspense, reference, None))
                }
                Ok(Intake::WrongSchool) => json(StatusCode::UNPROCESSABLE_ENTITY, banks::refusal(bank, "payments-error-wrong-school")),
                Err(e) => internal(bank, e),
            }
        }
    }
}

/// A fault on our side: 500, so the bank tries again later (the delivery stays "received").
fn internal(bank: Provider, e: DomainError) -> Response {
    tracing::error!(provider = bank.code(), error = %e, "payment webhook failed");
    json(StatusCode::INTERNAL_SERVER_ERROR, banks::refusal(bank, "payments-error-internal"))
}
