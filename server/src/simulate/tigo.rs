//! Tigo Pesa as a server of our own, for development and tests (docs/payments-providers.md §3):
//! the push API's token (password grant, a form) and push endpoints under the partner's
//! paths, with the callback sent to Kilele after the phone answers; and, the other way round,
//! the USSD bill-pay Tigo sends a school when a parent pays from their own phone ([`Ussd`]):
//! the name lookup, then the payment, in `<COMMAND>` XML.
//!
//! What the phone does with a push is scripted by its last digit, as in the other wallet
//! simulators: `1` not enough money, `2` cancelled, `3` never answered, `4` paid and the
//! callback sent twice, `5` paid but the callback lost; any other digit paid. Control endpoint
//! (not Tigo's): `POST /simulator/applications` registers a partner account.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use kilele::payments::tigo::{self, UssdReply, UssdRequest};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A partner account Tigo issued to a school.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct Application {
    pub partner: String,
    pub username: String,
    pub password: String,
    pub biller_msisdn: String,
    pub biller_code: String,
    /// Where callbacks go (Kilele's `/api/v1/webhooks/tigo/<school>`).
    pub callback_url: String,
}

struct Inner {
    answer_after: Duration,
    http: reqwest::Client,
    /// By partner.
    applications: Mutex<HashMap<String, Application>>,
    /// Access token → partner.
    tokens: Mutex<HashMap<String, String>>,
    /// Every `ReferenceID` pushed (Tigo refuses one used before).
    references: Mutex<HashSet<String>>,
    acks: Mutex<Vec<u16>>,
}

/// A running simulator's handle (cheap to clone).
#[derive(Clone)]
pub struct Simulator(Arc<Inner>);

fn reply(status: StatusCode, ok: bool, description: &str, reference: &str) -> Response {
    let code = if ok { "BILLER-30-0000-S" } else { "BILLER-30-3030-E" };
    (
        status,
        Json(
            serde_json::json!({ "ResponseCode": code, "ResponseStatus": ok, "ResponseDescription": description, "ReferenceID": reference }),
        ),
    )
        .into_response()
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
            references: Mutex::default(),
            acks: Mutex::default(),
        })))
    }

    pub fn register(&self, app: Application) {
        if let Ok(mut apps) = self.0.applications.lock() {
            apps.insert(app.partner.clone(), app);
        }
    }

    /// The HTTP statuses Kilele answered the callbacks sent so far with.
    pub fn acks(&self) -> Vec<u16> {
        self.0.acks.lock().map(|a| a.clone()).unwrap_or_default()
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/simulator/applications", post(register))
            // The gateway's paths are the partner's name and the operation in one segment.
            .route("/{operation}", post(operation))
            .with_state(self.clone())
    }

    pub async fn serve(self, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
        axum::serve(listener, self.router()).await?;
        Ok(())
    }

    fn application(&self, partner: &str) -> Option<Application> {
        self.0.applications.lock().ok()?.get(partner).cloned()
    }

    async fn answer(self, app: Application, reference: String, msisdn: String, amount: i64) {
        tokio::time::sleep(self.0.answer_after).await;
        let (paid, description, times) = match msisdn.chars().last() {
            Some('1') => (false, "Insufficient balance", 1),
            Some('2') => (false, "Transaction cancelled by customer", 1),
            Some('3') => return,
            Some('4') => (true, "Success", 2),
            Some('5') => (true, "Success", 0),
            _ => (true, "Success", 1),
        };
        let mut body = serde_json::json!({
            "Status": paid, "Description": description, "ReferenceID": reference, "Amount": amount.to_string(),
        });
        if paid {
            body["MFSTransactionID"] = format!("8C{}", &uuid::Uuid::new_v4().simple().to_string()[..10].to_uppercase()).into();
        }
        for _ in 0..times {
            let sent = self.0.http.post(&app.callback_url).header("content-type", "application/json").body(body.to_string()).send().await;
            let status = sent.map(|r| r.status().as_u16()).unwrap_or(0);
            if let Ok(mut acks) = self.0.acks.lock() {
                acks.push(status);
            }
        }
    }
}

async fn register(State(sim): State<Simulator>, Json(app): Json<Application>) -> StatusCode {
    sim.register(app);
    StatusCode::NO_CONTENT
}

async fn operation(State(sim): State<Simulator>, Path(operation): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(partner) = operation.strip_suffix("2DM-GetToken") {
        return token(&sim, partner, &body);
    }
    if let Some(partner) = operation.strip_suffix("2DM-PushBillpay") {
        return push(&sim, partner, &headers, &body);
    }
    StatusCode::NOT_FOUND.into_response()
}

fn token(sim: &Simulator, partner: &str, body: &[u8]) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let Some(app) = sim.application(partner) else { return StatusCode::NOT_FOUND.into_response() };
    let granted = form.get("grant_type").map(String::as_str) == Some("password")
        && form.get("username") == Some(&app.username)
        && form.get("password") == Some(&app.password);
    if !granted {
        return (StatusCode::UNAUTHORIZED, Json(serde_json::json!({ "error": "invalid_grant" }))).into_response();
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    if let Ok(mut tokens) = sim.0.tokens.lock() {
        tokens.insert(token.clone(), partner.to_owned());
    }
    Json(serde_json::json!({ "access_token": token, "token_type": "bearer", "expires_in": 3600 })).into_response()
}

fn push(sim: &Simulator, partner: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let bearer = header("authorization");
    let token = bearer.strip_prefix("bearer ").or_else(|| bearer.strip_prefix("Bearer ")).unwrap_or_default();
    let token_partner = sim.0.tokens.lock().ok().and_then(|t| t.get(token).cloned());
    let Some(app) = sim.application(partner).filter(|_| token_partner.as_deref() == Some(partner)) else {
        return reply(StatusCode::UNAUTHORIZED, false, "Invalid token", "");
    };
    if header("username") != app.username || header("password") != app.password {
        return reply(StatusCode::UNAUTHORIZED, false, "Invalid credentials", "");
    }
    let Ok(request) = serde_json::from_slice::<serde_json::Value>(body) else {
        return reply(StatusCode::BAD_REQUEST, false, "Invalid request", "");
    };
    let reference = request["ReferenceID"].as_str().unwrap_or_default().to_owned();
    let msisdn = request["CustomerMSISDN"].as_str().unwrap_or_default().to_owned();
    let amount = request["Amount"].as_i64().unwrap_or(0);
    let valid = msisdn.len() == 12
        && msisdn.starts_with("255")
        && msisdn.bytes().all(|b| b.is_ascii_digit())
        && request["BillerMSISDN"].as_str() == Some(app.biller_msisdn.as_str())
        && reference.starts_with(&app.biller_code)
        && amount > 0;
    if !valid {
        return reply(StatusCode::OK, false, "Invalid request parameters", &reference);
    }
    let fresh = sim.0.references.lock().map(|mut r| r.insert(reference.clone())).unwrap_or(false);
    if !fresh {
        return reply(StatusCode::OK, false, "Duplicate ReferenceID", &reference);
    }
    tokio::spawn(sim.clone().answer(app, reference.clone(), msisdn, amount));
    reply(StatusCode::OK, true, "Request in progress. You will receive a callback shortly", &reference)
}

/// Tigo calling one school's USSD bill-pay URLs, as it does when a parent pays from their own
/// phone: the lookup (`…/validate`), then the payment (`…/billpay`).
pub struct Ussd {
    client: reqwest::Client,
    base: String,
    school: String,
    /// The school's business number (`COMPANYNAME`).
    pub company: String,
    /// The address Tigo calls from, when Kilele trusts a proxy's `X-Forwarded-For`.
    pub forwarded_for: Option<String>,
}

/// Kilele's answer: the HTTP status and the reply, read (`None`: not Tigo's XML).
#[derive(Debug, Clone)]
pub struct UssdAnswer {
    pub status: u16,
    pub reply: Option<UssdReply>,
    pub body: String,
}

impl Ussd {
    pub fn new(base: &str, school: &str, company: &str) -> anyhow::Result<Self> {
        kilele::storage::install_crypto_provider();
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            school: school.to_owned(),
            company: company.to_owned(),
            forwarded_for: None,
        })
    }

    /// Sends `body` to the school's lookup (`validate`) or payment (`billpay`) URL.
    pub async fn send_raw(&self, path: &str, body: Vec<u8>) -> anyhow::Result<UssdAnswer> {
        let mut request =
            self.client.post(format!("{}/api/v1/webhooks/tigo/{}/{path}", self.base, self.school)).header("content-type", "text/xml");
        if let Some(ip) = &self.forwarded_for {
            request = request.header("x-forwarded-for", ip);
        }
        let response = request.body(body).send().await?;
        let status = response.status().as_u16();
        let body = response.text().await?;
        Ok(UssdAnswer { status, reply: tigo::parse_reply(body.as_bytes()).ok(), body })
    }

    /// "Who is `reference`?", from the parent's phone `msisdn` (`255…`).
    pub async fn lookup(&self, msisdn: &str, reference: &str) -> anyhow::Result<UssdAnswer> {
        let request = UssdRequest::Lookup { msisdn: msisdn.into(), company: self.company.clone(), reference: reference.into() };
        self.send_raw("validate", tigo::ussd_request(&request).into_bytes()).await
    }

    /// "Take this payment": Tigo's transaction `txn_id`, whole shillings.
    pub async fn pay(&self, txn_id: &str, msisdn: &str, reference: &str, shillings: i64) -> anyhow::Result<UssdAnswer> {
        let request = UssdRequest::BillPay {
            txn_id: txn_id.into(),
            msisdn: msisdn.into(),
            amount_minor: shillings * 100,
            company: self.company.clone(),
            reference: reference.into(),
            sender_name: Some("Simulated Payer".into()),
        };
        self.send_raw("billpay", tigo::ussd_request(&request).into_bytes()).await
    }
}
