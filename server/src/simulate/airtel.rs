//! Airtel Money's Open API as a server of our own, for development and tests: the token,
//! collection and enquiry endpoints with the headers, fields and codes docs/payments-providers.md
//! §2 gives, and the callback sent to Kilele (with its `hash` when the application has a
//! callback key), so Kilele's adapter talks to it exactly as to Airtel.
//!
//! What the phone does is scripted by the subscriber number's last digit, as in the M-Pesa
//! simulator: `1` and `2` failed (TF), `3` never answered (TIP), `4` paid and the callback sent
//! twice, `5` paid but the callback lost; any other digit paid. Control endpoint (not Airtel's):
//! `POST /simulator/applications` registers an application (`client_id`, `client_secret`,
//! `callback_key`, `callback_url`).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A registered application.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct Application {
    pub client_id: String,
    pub client_secret: String,
    #[serde(default)]
    pub callback_key: Option<String>,
    /// Where callbacks go (Kilele's `/api/v1/webhooks/airtel/<school>`).
    pub callback_url: String,
}

#[derive(Debug, Clone)]
struct Payment {
    client_id: String,
    airtel_money_id: String,
    /// TIP, TS, TF.
    status: &'static str,
}

struct Inner {
    answer_after: Duration,
    http: reqwest::Client,
    applications: Mutex<HashMap<String, Application>>,
    /// Access token → client id.
    tokens: Mutex<HashMap<String, String>>,
    /// By our client's transaction id.
    payments: Mutex<HashMap<String, Payment>>,
    acks: Mutex<Vec<u16>>,
}

/// A running simulator's handle (cheap to clone).
#[derive(Clone)]
pub struct Simulator(Arc<Inner>);

fn status_block(code: &str, response_code: &str, message: &str, success: bool) -> serde_json::Value {
    serde_json::json!({ "code": code, "message": message, "result_code": if success { "ESB000010" } else { "ESB000001" },
                        "response_code": response_code, "success": success })
}

fn refusal(status: StatusCode, response_code: &str, message: &str) -> Response {
    (status, Json(serde_json::json!({ "status": status_block(status.as_str(), response_code, message, false) }))).into_response()
}

impl Simulator {
    pub fn new(answer_after: Duration) -> anyhow::Result<Self> {
        kilele::storage::install_crypto_provider();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
        Ok(Self(Arc::new(Inner {
            answer_after,
            http,
            applications: Mutex::default(),
            tokens: Mutex::default(),
            payments: Mutex::default(),
            acks: Mutex::default(),
        })))
    }

    pub fn register(&self, app: Application) {
        if let Ok(mut apps) = self.0.applications.lock() {
            apps.insert(app.client_id.clone(), app);
        }
    }

    /// The HTTP statuses Kilele answered the callbacks sent so far with.
    pub fn acks(&self) -> Vec<u16> {
        self.0.acks.lock().map(|a| a.clone()).unwrap_or_default()
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/simulator/applications", post(register))
            .route("/auth/oauth2/token", post(token))
            .route("/merchant/v1/payments/", post(collect))
            .route("/standard/v1/payments/{id}", get(enquiry))
            .with_state(self.clone())
    }

    pub async fn serve(self, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
        axum::serve(listener, self.router()).await?;
        Ok(())
    }

    fn application_of(&self, headers: &HeaderMap) -> Option<Application> {
        let token = headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ")?;
        let client = self.0.tokens.lock().ok()?.get(token).cloned()?;
        self.0.applications.lock().ok()?.get(&client).cloned()
    }

    fn set_status(&self, id: &str, status: &'static str) {
        if let Ok(mut payments) = self.0.payments.lock() {
            if let Some(p) = payments.get_mut(id) {
                p.status = status;
            }
        }
    }

    async fn answer(self, app: Application, id: String, msisdn: String, airtel_money_id: String) {
        tokio::time::sleep(self.0.answer_after).await;
        let (status, message, times) = match msisdn.chars().last() {
            Some('1') => ("TF", "Insufficient funds", 1),
            Some('2') => ("TF", "Transaction cancelled", 1),
            Some('3') => return,
            Some('4') => ("TS", "Your transaction has been successfully processed", 2),
            Some('5') => ("TS", "Your transaction has been successfully processed", 0),
            _ => ("TS", "Your transaction has been successfully processed", 1),
        };
        self.set_status(&id, status);
        let transaction = serde_json::json!({
            "id": id, "message": message, "status_code": status,
            "airtel_money_id": if status == "TS" { airtel_money_id } else { String::new() },
        })
        .to_string();
        // The hash is over the transaction object exactly as it is sent.
        let body = match &app.callback_key {
            Some(key) => format!(r#"{{"transaction":{transaction},"hash":"{}"}}"#, hash(key, &transaction)),
            None => format!(r#"{{"transaction":{transaction}}}"#),
        };
        for _ in 0..times {
            let sent = self.0.http.post(&app.callback_url).header("content-type", "application/json").body(body.clone()).send().await;
            let status = sent.map(|r| r.status().as_u16()).unwrap_or(0);
            if let Ok(mut acks) = self.0.acks.lock() {
                acks.push(status);
            }
        }
    }
}

/// Base64 HMAC-SHA256 of `text` under `key`: Airtel's callback hash.
pub fn hash(key: &str, text: &str) -> String {
    use base64::Engine;
    use hmac::Mac;
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()) else { return String::new() };
    mac.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn register(State(sim): State<Simulator>, Json(app): Json<Application>) -> StatusCode {
    sim.register(app);
    StatusCode::NO_CONTENT
}

async fn token(State(sim): State<Simulator>, Json(body): Json<serde_json::Value>) -> Response {
    let (Some(id), Some(secret), Some("client_credentials")) =
        (body["client_id"].as_str(), body["client_secret"].as_str(), body["grant_type"].as_str())
    else {
        return refusal(StatusCode::BAD_REQUEST, "DP00800001004", "Invalid request");
    };
    let known = sim.0.applications.lock().ok().and_then(|apps| apps.get(id).map(|a| a.client_secret == secret)).unwrap_or(false);
    if !known {
        return refusal(StatusCode::UNAUTHORIZED, "DP00800001026", "Forbidden");
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    if let Ok(mut tokens) = sim.0.tokens.lock() {
        tokens.insert(token.clone(), id.to_owned());
    }
    // Airtel sends `expires_in` as a string.
    Json(serde_json::json!({ "access_token": token, "expires_in": "180", "token_type": "bearer" })).into_response()
}

async fn collect(State(sim): State<Simulator>, headers: HeaderMap, Json(body): Json<serde_json::Value>) -> Response {
    let Some(app) = sim.application_of(&headers) else { return refusal(StatusCode::UNAUTHORIZED, "DP00800001026", "Forbidden") };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    if header("x-country") != "TZ" || header("x-currency") != "TZS" {
        return refusal(StatusCode::BAD_REQUEST, "DP00800001004", "X-Country and X-Currency are required");
    }
    let t = &body["transaction"];
    let msisdn = body["subscriber"]["msisdn"].as_str().unwrap_or_default().to_owned();
    let (Some(id), Some(amount)) = (t["id"].as_str(), t["amount"].as_i64()) else {
        return refusal(StatusCode::BAD_REQUEST, "DP00800001004", "Invalid transaction");
    };
    // The docs: no country code in the subscriber's number.
    if msisdn.len() != 9 || !msisdn.bytes().all(|b| b.is_ascii_digit()) || amount <= 0 {
        return refusal(StatusCode::BAD_REQUEST, "DP00800001004", "Invalid msisdn or amount");
    }
    let airtel_money_id = format!("MP{}", uuid::Uuid::new_v4().simple().to_string().chars().take(10).collect::<String>().to_uppercase());
    {
        let Ok(mut payments) = sim.0.payments.lock() else { return refusal(StatusCode::INTERNAL_SERVER_ERROR, "DP00800001000", "Error") };
        if payments.contains_key(id) {
            return refusal(StatusCode::BAD_REQUEST, "DP00800001008", "External Transaction ID already exists");
        }
        payments
            .insert(id.to_owned(), Payment { client_id: app.client_id.clone(), airtel_money_id: airtel_money_id.clone(), status: "TIP" });
    }
    tokio::spawn(sim.clone().answer(app, id.to_owned(), msisdn, airtel_money_id));
    Json(serde_json::json!({
        "data": { "transaction": { "id": id, "status": "SUCCESS" } },
        "status": status_block("200", "DP00800001006", "SUCCESS", true),
    }))
    .into_response()
}

async fn enquiry(State(sim): State<Simulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let Some(app) = sim.application_of(&headers) else { return refusal(StatusCode::UNAUTHORIZED, "DP00800001026", "Forbidden") };
    let found = sim.0.payments.lock().ok().and_then(|p| p.get(&id).cloned()).filter(|p| p.client_id == app.client_id);
    let Some(p) = found else { return refusal(StatusCode::NOT_FOUND, "DP00800001025", "Not Found") };
    Json(serde_json::json!({
        "data": { "transaction": {
            "airtel_money_id": if p.status == "TS" { p.airtel_money_id.as_str() } else { "" },
            "id": id, "message": "", "status": p.status,
        } },
        "status": status_block("200", "DP00800001001", "SUCCESS", true),
    }))
    .into_response()
}
