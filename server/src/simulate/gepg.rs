//! GePG as a server of our own, for development and tests: the bill submission path and its
//! signed acknowledgement, the control number sent to the school's webhook after a moment, and
//! payment notifications — all in GePG's v4 envelope, signed SHA1withRSA with the simulator's
//! key and checked against each school's registered public key, so Kilele's adapter talks to it
//! exactly as to GePG (docs/payments-providers.md §5).
//!
//! Control endpoints (not GePG's): `POST /simulator/service-providers` registers a school
//! (`sp_code`, `public_key_pem`, `callback_url`); `POST /simulator/pay` pays a control number
//! (`control_number`, `amount_minor`, `phone`, `times`: the same notification sent that many
//! times, as GePG retries), answering what the school acknowledged each time.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use kilele::payments::gepg::{self, signature};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A school registered with GePG.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct ServiceProvider {
    pub sp_code: String,
    /// The public half of the school's signing key (PEM).
    pub public_key_pem: String,
    /// Where GePG sends control numbers and payments (Kilele's `/api/v1/webhooks/gepg/<school>`).
    pub callback_url: String,
}

#[derive(Debug, Clone)]
struct IssuedBill {
    sp_code: String,
    bill_id: String,
    amount_minor: i64,
}

/// A payment to make (the control endpoint's body).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct Pay {
    pub control_number: String,
    pub amount_minor: i64,
    pub phone: String,
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

struct Inner {
    key: rsa::RsaPrivateKey,
    answer_after: Duration,
    http: reqwest::Client,
    providers: Mutex<HashMap<String, ServiceProvider>>,
    /// By control number.
    bills: Mutex<HashMap<String, IssuedBill>>,
    /// What the schools acknowledged (HTTP status, `TrxStsCode`), in order.
    acks: Mutex<Vec<(u16, String)>>,
}

/// A running simulator's handle (cheap to clone).
#[derive(Clone)]
pub struct Simulator(Arc<Inner>);

impl Simulator {
    pub fn new(key: rsa::RsaPrivateKey, answer_after: Duration) -> anyhow::Result<Self> {
        kilele::storage::install_crypto_provider();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
        Ok(Self(Arc::new(Inner { key, answer_after, http, providers: Mutex::default(), bills: Mutex::default(), acks: Mutex::default() })))
    }

    /// GePG's public key as it hands it to service providers (DER SubjectPublicKeyInfo).
    pub fn public_key_der(&self) -> anyhow::Result<Vec<u8>> {
        use rsa::pkcs8::EncodePublicKey;
        Ok(self.0.key.to_public_key().to_public_key_der()?.as_bytes().to_vec())
    }

    pub fn register(&self, sp: ServiceProvider) {
        if let Ok(mut providers) = self.0.providers.lock() {
            providers.insert(sp.sp_code.clone(), sp);
        }
    }

    /// What the schools acknowledged so far.
    pub fn acks(&self) -> Vec<(u16, String)> {
        self.0.acks.lock().map(|a| a.clone()).unwrap_or_default()
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/bill/sigqrequest", post(submit))
            .route("/simulator/service-providers", post(register))
            .route("/simulator/pay", post(pay))
            .with_state(self.clone())
    }

    pub async fn serve(self, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
        axum::serve(listener, self.router()).await?;
        Ok(())
    }

    fn signed(&self, content: &str) -> String {
        gepg::envelope(content, &signature::sign(&self.0.key, content))
    }

    /// Sends a signed message to a school; returns its acknowledgement (status, code).
    async fn send(&self, url: &str, content: &str) -> (u16, String) {
        let sent = self.0.http.post(url).header("content-type", "application/xml").body(self.signed(content)).send().await;
        let ack = match sent {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body = resp.bytes().await.unwrap_or_default();
                let code = gepg::open(&body).ok().and_then(|e| gepg::ack_code(e.content).ok()).unwrap_or_default();
                (status, code)
            }
            Err(e) => {
                tracing::warn!(error = %e, "the GePG simulator could not reach a school");
                (0, String::new())
            }
        };
        if let Ok(mut acks) = self.0.acks.lock() {
            acks.push(ack.clone());
        }
        ack
    }

    /// GePG's answer with the bill's control number, a moment after the bill came.
    async fn issue(self, sp: ServiceProvider, bill: IssuedBill) {
        tokio::time::sleep(self.0.answer_after).await;
        let number = format!("99{:010}", rand::random::<u64>() % 10_000_000_000);
        if let Ok(mut bills) = self.0.bills.lock() {
            bills.insert(number.clone(), bill.clone());
        }
        self.send(&sp.callback_url, &gepg::bill_response_content(&bill.bill_id, Some(&number), gepg::OK)).await;
    }
}

fn xml(status: StatusCode, body: String) -> Response {
    (status, [(axum::http::header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// `POST /api/bill/sigqrequest`: a bill, signed by a registered school (its `Gepg-Code`).
async fn submit(State(sim): State<Simulator>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let ack = |code: &str| xml(StatusCode::OK, sim.signed(&gepg::ack(gepg::BILL_REQUEST_ACK, code)));
    let Ok(env) = gepg::open(&body) else { return ack(gepg::INVALID_REQUEST) };
    let Ok(bill) = gepg::bill_requested(env.content).map_err(|_| ()) else { return ack(gepg::INVALID_REQUEST) };
    let header_code = headers.get("gepg-code").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let sp = sim.0.providers.lock().ok().and_then(|p| p.get(&bill.sp_code).cloned());
    let Some(sp) = sp.filter(|sp| sp.sp_code == header_code) else { return ack(gepg::UNAUTHORIZED) };
    let key = {
        use rsa::pkcs8::DecodePublicKey;
        rsa::RsaPublicKey::from_public_key_pem(&sp.public_key_pem)
    };
    let Ok(key) = key else { return ack(gepg::UNAUTHORIZED) };
    if env.kind != gepg::BILL_REQUEST || !signature::verify(&key, env.content, &env.signature) {
        return ack(gepg::UNAUTHORIZED);
    }
    let issued = IssuedBill { sp_code: bill.sp_code, bill_id: bill.bill_id, amount_minor: bill.amount_minor };
    tokio::spawn(sim.clone().issue(sp, issued));
    ack(gepg::OK)
}

async fn register(State(sim): State<Simulator>, Json(sp): Json<ServiceProvider>) -> StatusCode {
    sim.register(sp);
    StatusCode::NO_CONTENT
}

/// `POST /simulator/pay`: a parent pays a control number (at any bank or wallet); the payment
/// is notified to the school `times` times. Answers the school's acknowledgements.
async fn pay(State(sim): State<Simulator>, Json(p): Json<Pay>) -> Response {
    let bill = sim.0.bills.lock().ok().and_then(|b| b.get(&p.control_number).cloned());
    let Some(bill) = bill else { return (StatusCode::NOT_FOUND, "no such control number").into_response() };
    let sp = sim.0.providers.lock().ok().and_then(|s| s.get(&bill.sp_code).cloned());
    let Some(sp) = sp else { return (StatusCode::NOT_FOUND, "no such service provider").into_response() };
    let info = gepg::PaymentInfo {
        trx_id: format!("GEPG{}", &uuid::Uuid::new_v4().simple().to_string()[..12].to_uppercase()),
        sp_code: bill.sp_code.clone(),
        bill_id: bill.bill_id.clone(),
        control_number: p.control_number.clone(),
        paid_minor: if p.amount_minor > 0 { p.amount_minor } else { bill.amount_minor },
        currency: "TZS".into(),
        paid_at: chrono::Utc::now(),
        psp_name: Some("NMB Bank".into()),
        psp_receipt: Some(format!("NMB{}", rand::random::<u32>())),
        payer_name: Some("Simulated Payer".into()),
        payer_phone: Some(p.phone.clone()),
    };
    let content = gepg::payment_content(&info);
    let mut acks = Vec::new();
    for _ in 0..p.times.clamp(1, 5) {
        acks.push(sim.send(&sp.callback_url, &content).await);
    }
    Json(serde_json::json!({ "transaction": info.trx_id, "acks": acks })).into_response()
}
