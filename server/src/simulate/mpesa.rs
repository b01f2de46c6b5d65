//! M-Pesa OpenAPI (Vodacom Tanzania) as a server of our own, for development and tests: the
//! same paths, bearer tokens, fields, codes and asynchronous results as the portal documents
//! (docs/payments-providers.md §1), so Kilele's adapter talks to it exactly as to Vodacom.
//!
//! - It owns an RSA key pair and hands out the public key; bearers are decrypted with the
//!   private key (PKCS#1 v1.5 ciphertexts never repeat, so they cannot be compared).
//! - `getSession/` takes a registered application's API key; later calls take a session.
//! - `c2bPayment/singleStage/` checks the portal's field rules (INS-20/21), the shortcode
//!   (INS-13) and repeats of a conversation id (409, INS-10), answers at once (asynchronous
//!   mode) and sends the result to the application's callback URL after a delay.
//! - `queryTransactionStatus/` says what became of a payment, for that application only.
//!
//! What the phone does is scripted by the last digit of the customer's number: `1` not enough
//! money (INS-2006), `2` cancelled on the phone (INS-5), `3` never answered (no result, the
//! status stays pending), `4` approved and the result sent twice, `5` approved but the result
//! lost (only a status query finds it); any other digit approved.
//! Control endpoints (not Vodacom's): `POST /simulator/applications` registers an
//! application (`api_key`, `service_provider_code`, `callback_url`), `GET /simulator/public-key`
//! gives the public key (base64 DER, as the portal publishes it).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use kilele::payments::mpesa::{C2bRequest, PushResult, Reply, OK};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The paths of the sandbox and the live platform (the simulator answers both).
pub const MARKET_PATHS: [&str; 2] = ["/sandbox/ipg/v2/vodacomTZN", "/openapi/ipg/v2/vodacomTZN"];

/// A registered application (what the portal keeps for a business).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct Application {
    pub api_key: String,
    pub service_provider_code: String,
    /// Where results are sent (Kilele's `/api/v1/webhooks/mpesa/<school>`).
    pub callback_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Pending,
    Completed,
    Failed,
}

#[derive(Debug, Clone)]
struct Transaction {
    api_key: String,
    transaction_id: String,
    conversation_id: String,
    third_party_conversation_id: String,
    status: Status,
}

/// How the simulated network behaves.
#[derive(Debug, Clone, Copy)]
pub struct Knobs {
    /// How long the parent takes to answer the prompt.
    pub answer_after: Duration,
}

impl Default for Knobs {
    fn default() -> Self {
        Self { answer_after: Duration::from_millis(1500) }
    }
}

struct Inner {
    key: rsa::RsaPrivateKey,
    public_der: Vec<u8>,
    knobs: Knobs,
    http: reqwest::Client,
    applications: Mutex<HashMap<String, Application>>,
    /// Session id → API key.
    sessions: Mutex<HashMap<String, String>>,
    /// By our client's third-party conversation id.
    transactions: Mutex<HashMap<String, Transaction>>,
    /// What Kilele answered to each result sent (status, `output_ResponseCode`).
    acks: Mutex<Vec<(u16, String)>>,
    /// Where it listens, once serving.
    addr: std::sync::OnceLock<std::net::SocketAddr>,
}

/// A running simulator's handle (cheap to clone).
#[derive(Clone)]
pub struct Simulator(Arc<Inner>);

fn reply(status: StatusCode, code: &str, description: &str) -> Response {
    (status, Json(Reply { code: code.into(), description: description.into(), ..Reply::default() })).into_response()
}

fn random_id(len: usize) -> String {
    uuid::Uuid::new_v4().simple().to_string().chars().take(len).collect::<String>().to_ascii_uppercase()
}

impl Simulator {
    /// A simulator with a key of its own (2048 bits: the protocol is the same as Vodacom's
    /// 4096, and the key is made in a fraction of the time).
    pub fn new(knobs: Knobs) -> anyhow::Result<Self> {
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
        Self::with_key(key, knobs)
    }

    pub fn with_key(key: rsa::RsaPrivateKey, knobs: Knobs) -> anyhow::Result<Self> {
        use rsa::pkcs8::EncodePublicKey;
        let public_der = key.to_public_key().to_public_key_der()?.as_bytes().to_vec();
        kilele::storage::install_crypto_provider();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
        Ok(Self(Arc::new(Inner {
            key,
            public_der,
            knobs,
            http,
            applications: Mutex::default(),
            sessions: Mutex::default(),
            transactions: Mutex::default(),
            acks: Mutex::default(),
            addr: std::sync::OnceLock::new(),
        })))
    }

    /// The public key as the portal publishes it (DER SubjectPublicKeyInfo).
    pub fn public_key_der(&self) -> Vec<u8> {
        self.0.public_der.clone()
    }

    pub fn register(&self, app: Application) {
        if let Ok(mut apps) = self.0.applications.lock() {
            apps.insert(app.api_key.clone(), app);
        }
    }

    /// What Kilele answered to the results sent so far.
    pub fn acks(&self) -> Vec<(u16, String)> {
        self.0.acks.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// The M-Pesa transaction id of the push with our client's conversation id, once known.
    pub fn transaction_of(&self, third_party_conversation_id: &str) -> Option<String> {
        self.0.transactions.lock().ok()?.get(third_party_conversation_id).map(|t| t.transaction_id.clone())
    }

    pub fn router(&self) -> Router {
        let mut router = Router::new().route("/simulator/applications", post(register)).route("/simulator/public-key", get(public_key));
        for prefix in MARKET_PATHS {
            router = router
                .route(&format!("{prefix}/getSession/"), get(session))
                .route(&format!("{prefix}/c2bPayment/singleStage/"), post(c2b))
                .route(&format!("{prefix}/queryTransactionStatus/"), get(query));
        }
        router.with_state(self.clone())
    }

    /// The live platform's base URL on this simulator (MPESA_BASE_URL), once serving.
    pub fn base_url(&self) -> String {
        self.0.addr.get().map(|a| format!("http://{a}{}", MARKET_PATHS[1])).unwrap_or_default()
    }

    /// Serves on `listener` until the process ends.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
        if let Ok(addr) = listener.local_addr() {
            let _ = self.0.addr.set(addr);
        }
        axum::serve(listener, self.router()).await?;
        Ok(())
    }

    /// The plain text of a bearer token, when it was made with our public key.
    fn open_bearer(&self, headers: &HeaderMap) -> Option<String> {
        let token = headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ")?;
        let sealed = base64::engine::general_purpose::STANDARD.decode(token.trim()).ok()?;
        let plain = self.0.key.decrypt(rsa::Pkcs1v15Encrypt, &sealed).ok()?;
        String::from_utf8(plain).ok()
    }

    /// The application a session bearer belongs to.
    fn application_of_session(&self, headers: &HeaderMap) -> Option<Application> {
        let session = self.open_bearer(headers)?;
        let api_key = self.0.sessions.lock().ok()?.get(&session).cloned()?;
        self.0.applications.lock().ok()?.get(&api_key).cloned()
    }

    fn set_status(&self, ours: &str, status: Status) {
        if let Ok(mut txs) = self.0.transactions.lock() {
            if let Some(t) = txs.get_mut(ours) {
                t.status = status;
            }
        }
    }

    /// The parent answers (or not), then OpenAPI sends the result.
    async fn answer(self, app: Application, request: C2bRequest, conversation_id: String, transaction_id: String) {
        tokio::time::sleep(self.0.knobs.answer_after).await;
        let ours = request.third_party_conversation_id.clone();
        let (code, description, times) = match request.msisdn.chars().last() {
            Some('1') => ("INS-2006", "Insufficient balance", 1),
            Some('2') => ("INS-5", "Transaction cancelled by customer", 1),
            Some('3') => return,
            Some('4') => (OK, "Request processed successfully", 2),
            // Paid, but the result is lost on the way: only a status query finds it.
            Some('5') => (OK, "Request processed successfully", 0),
            _ => (OK, "Request processed successfully", 1),
        };
        self.set_status(&ours, if code == OK { Status::Completed } else { Status::Failed });
        let result = PushResult {
            original_conversation_id: conversation_id,
            transaction_id: if code == OK { transaction_id } else { String::new() },
            result_code: code.into(),
            result_desc: description.into(),
            third_party_conversation_id: ours,
        };
        for _ in 0..times {
            let body = serde_json::to_vec(&result).unwrap_or_default();
            let sent = self.0.http.post(&app.callback_url).header("content-type", "application/json").body(body).send().await;
            let ack = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let body: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap_or_default()).unwrap_or_default();
                    (status, body["output_ResponseCode"].as_str().unwrap_or_default().to_owned())
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the simulator could not deliver a result");
                    (0, String::new())
                }
            };
            if let Ok(mut acks) = self.0.acks.lock() {
                acks.push(ack);
            }
        }
    }
}

async fn register(State(sim): State<Simulator>, Json(app): Json<Application>) -> StatusCode {
    sim.register(app);
    StatusCode::NO_CONTENT
}

async fn public_key(State(sim): State<Simulator>) -> String {
    base64::engine::general_purpose::STANDARD.encode(sim.public_key_der())
}

async fn session(State(sim): State<Simulator>, headers: HeaderMap) -> Response {
    let known = sim.open_bearer(&headers).filter(|key| sim.0.applications.lock().is_ok_and(|apps| apps.contains_key(key)));
    let Some(api_key) = known else { return reply(StatusCode::UNAUTHORIZED, "INS-2", "Invalid API Key") };
    let id = uuid::Uuid::new_v4().simple().to_string();
    if let Ok(mut sessions) = sim.0.sessions.lock() {
        sessions.insert(id.clone(), api_key);
    }
    let mut r = Reply { code: OK.into(), description: "Request processed successfully".into(), ..Reply::default() };
    r.session_id = Some(id);
    (StatusCode::OK, Json(r)).into_response()
}

async fn c2b(State(sim): State<Simulator>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let Some(app) = sim.application_of_session(&headers) else { return reply(StatusCode::UNAUTHORIZED, "INS-2", "Invalid API Key") };
    let Ok(request) = serde_json::from_slice::<C2bRequest>(&body) else {
        return reply(StatusCode::BAD_REQUEST, "INS-20", "Not All Parameters Provided. Please Try Again.");
    };
    if let Err(field) = request.check() {
        return reply(StatusCode::BAD_REQUEST, "INS-21", &format!("Parameter validations failed: {field}"));
    }
    if request.service_provider_code != app.service_provider_code {
        return reply(StatusCode::BAD_REQUEST, "INS-13", "Invalid Shortcode Used");
    }
    let conversation_id = uuid::Uuid::new_v4().simple().to_string();
    let transaction_id = random_id(12);
    {
        let Ok(mut txs) = sim.0.transactions.lock() else { return reply(StatusCode::INTERNAL_SERVER_ERROR, "INS-1", "Internal Error") };
        if txs.contains_key(&request.third_party_conversation_id) {
            let mut r = Reply { code: "INS-10".into(), description: "Duplicate Transaction".into(), ..Reply::default() };
            r.transaction_id = Some("N/A".into());
            return (StatusCode::CONFLICT, Json(r)).into_response();
        }
        txs.insert(
            request.third_party_conversation_id.clone(),
            Transaction {
                api_key: app.api_key.clone(),
                transaction_id: transaction_id.clone(),
                conversation_id: conversation_id.clone(),
                third_party_conversation_id: request.third_party_conversation_id.clone(),
                status: Status::Pending,
            },
        );
    }
    let r = Reply {
        code: OK.into(),
        description: "Request processed successfully".into(),
        conversation_id: Some(conversation_id.clone()),
        third_party_conversation_id: Some(request.third_party_conversation_id.clone()),
        ..Reply::default()
    };
    tokio::spawn(sim.clone().answer(app, request, conversation_id, transaction_id));
    (StatusCode::CREATED, Json(r)).into_response()
}

async fn query(State(sim): State<Simulator>, headers: HeaderMap, Query(params): Query<HashMap<String, String>>) -> Response {
    let Some(app) = sim.application_of_session(&headers) else { return reply(StatusCode::UNAUTHORIZED, "INS-2", "Invalid API Key") };
    let (Some(reference), Some(code), Some(_), Some(_)) = (
        params.get("input_QueryReference"),
        params.get("input_ServiceProviderCode"),
        params.get("input_ThirdPartyConversationID"),
        params.get("input_Country"),
    ) else {
        return reply(StatusCode::BAD_REQUEST, "INS-20", "Not All Parameters Provided. Please Try Again.");
    };
    if *code != app.service_provider_code {
        return reply(StatusCode::BAD_REQUEST, "INS-13", "Invalid Shortcode Used");
    }
    let found = sim.0.transactions.lock().ok().and_then(|txs| {
        txs.values()
            .find(|t| {
                t.api_key == app.api_key
                    && (t.third_party_conversation_id == *reference || t.transaction_id == *reference || t.conversation_id == *reference)
            })
            .cloned()
    });
    let Some(t) = found else { return reply(StatusCode::BAD_REQUEST, "INS-23", "Transaction not found. Contact M-Pesa Support") };
    let r = Reply {
        code: OK.into(),
        description: "Request processed successfully".into(),
        transaction_status: Some(
            match t.status {
                Status::Pending => "Pending",
                Status::Completed => "Completed",
                Status::Failed => "Failed",
            }
            .into(),
        ),
        original_transaction_id: (t.status == Status::Completed).then(|| t.transaction_id.clone()),
        conversation_id: Some(t.conversation_id.clone()),
        third_party_conversation_id: params.get("input_ThirdPartyConversationID").cloned(),
        reversed: Some("False".into()),
        ..Reply::default()
    };
    (StatusCode::OK, Json(r)).into_response()
}
