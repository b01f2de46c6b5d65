//! Provider simulators (issue 10): they speak to Kilele over real HTTP exactly as the providers
//! would, so the same adapter code runs in development, in the tests and in production (only
//! the base URLs and secrets differ). No test ever calls a real provider.
//!
//! The banks (NMB, NBC, CRDB) call Kilele: a reference validation, then a payment notification,
//! each signed with the school's channel secret the Standard Webhooks way. The knobs make the
//! deliveries a provider's network really produces: retries of the same transaction, a clock
//! out of step, a forged signature, a body changed after signing.

use kilele::payments::banks;
use kilele::payments::webhooks::Secret;
use kilele::payments::Provider;

/// What a delivery should get wrong, on purpose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Signed with a secret the school never gave out.
    pub forged: bool,
    /// The body changed after it was signed (an amount raised on the way).
    pub tampered: bool,
    /// Seconds the bank's clock is off (beyond five minutes: refused as stale).
    pub clock_skew_seconds: i64,
    /// No signature headers at all.
    pub unsigned: bool,
}

/// A bank calling one school's webhooks.
pub struct Bank {
    client: reqwest::Client,
    base: String,
    pub bank: Provider,
    school: String,
    secret: Secret,
    /// The address the bank calls from, when Kilele trusts a proxy's `X-Forwarded-For`.
    pub forwarded_for: Option<String>,
    /// The `Host` to send (a school's own host name), when not the URL's.
    pub host: Option<String>,
}

/// Kilele's answer: the HTTP status and the JSON body (in the bank's field names).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Bank {
    /// `base`: Kilele's URL (`http://127.0.0.1:3000`); `secret`: the school's `whsec_…` for
    /// this bank (`kilele payments channel`).
    pub fn new(base: &str, bank: Provider, school: &str, secret: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(bank.is_bank(), "{} is not a bank", bank.code());
        let secret = Secret::parse(secret).ok_or_else(|| anyhow::anyhow!("the secret must be whsec_ and base64 (24 to 64 bytes)"))?;
        kilele::storage::install_crypto_provider();
        let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build()?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            bank,
            school: school.to_owned(),
            secret,
            forwarded_for: None,
            host: None,
        })
    }

    async fn send(&self, path: &str, body: Vec<u8>, faults: Faults) -> anyhow::Result<Answer> {
        let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        let timestamp = chrono::Utc::now().timestamp() + faults.clock_skew_seconds;
        let signature = if faults.forged { Secret::generate().0 } else { self.secret.clone() }.sign(&id, timestamp, &body);
        let body = if faults.tampered { String::from_utf8_lossy(&body).replacen("00.00\"", "99.00\"", 1).into_bytes() } else { body };
        let mut request = self.client.post(format!("{}/api/v1/webhooks/{}/{}{path}", self.base, self.bank.code(), self.school));
        request =
            request.header("content-type", "application/json").header("user-agent", format!("{}-collections-simulator", self.bank.code()));
        if !faults.unsigned {
            request =
                request.header("webhook-id", &id).header("webhook-timestamp", timestamp.to_string()).header("webhook-signature", signature);
        }
        if let Some(ip) = &self.forwarded_for {
            request = request.header("x-forwarded-for", ip);
        }
        if let Some(host) = &self.host {
            request = request.header("host", host);
        }
        let response = request.body(body).send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok(Answer { status, body: serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)) })
    }

    /// "Who is this control number?"
    pub async fn validate(&self, control_number: &str, faults: Faults) -> anyhow::Result<Answer> {
        let n = banks::naming(self.bank).ok_or_else(|| anyhow::anyhow!("not a bank"))?;
        let mut map = serde_json::Map::new();
        map.insert(n.request_id.into(), format!("VAL{}", uuid::Uuid::new_v4().simple()).into());
        map.insert(n.control_number.into(), control_number.into());
        self.send("/validate", serde_json::to_vec(&map)?, faults).await
    }

    /// A payment taken at the bank for `control_number`.
    pub async fn notify(&self, transaction_ref: &str, control_number: &str, amount_minor: i64, faults: Faults) -> anyhow::Result<Answer> {
        let body =
            banks::notification_body(self.bank, transaction_ref, control_number, amount_minor, chrono::Utc::now(), "Simulated Payer", None);
        self.send("", serde_json::to_vec(&body)?, faults).await
    }

    /// The bank takes back (part of) a payment it notified as `original_ref`.
    pub async fn reverse(&self, transaction_ref: &str, original_ref: &str, amount_minor: i64, faults: Faults) -> anyhow::Result<Answer> {
        let body =
            banks::reversal_body(self.bank, transaction_ref, original_ref, amount_minor, chrono::Utc::now(), "Cheque returned unpaid");
        self.send("/reversal", serde_json::to_vec(&body)?, faults).await
    }

    /// A raw body, signed (for malformed-input cases).
    pub async fn send_raw(&self, body: &[u8], faults: Faults) -> anyhow::Result<Answer> {
        self.send("", body.to_vec(), faults).await
    }
}

pub mod airtel;
pub mod gepg;
pub mod mpesa;
pub mod tigo;
