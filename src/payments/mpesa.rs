//! M-Pesa OpenAPI (Vodacom Tanzania, market `vodacomTZN`): the C2B push that asks a parent's
//! phone to pay, the asynchronous result OpenAPI sends back, and the status query every result
//! is confirmed with before money is posted (OpenAPI signs nothing). Wire formats as in
//! docs/payments-providers.md §1, which follows the Vodacom developer portal where public SDKs
//! disagree with it (the status query is a GET with URL parameters; the result's
//! acknowledgement code is "0", not "INS-0").

use super::Unreadable;
use serde::{Deserialize, Serialize};

/// `input_Country` and `input_Currency` of the Tanzanian market.
pub const COUNTRY: &str = "TZN";
pub const CURRENCY: &str = "TZS";

/// What we send to push a payment request to the parent's phone (`c2bPayment/singleStage/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct C2bRequest {
    #[serde(rename = "input_Amount")]
    pub amount: String,
    #[serde(rename = "input_Country")]
    pub country: String,
    #[serde(rename = "input_Currency")]
    pub currency: String,
    #[serde(rename = "input_CustomerMSISDN")]
    pub msisdn: String,
    #[serde(rename = "input_ServiceProviderCode")]
    pub service_provider_code: String,
    #[serde(rename = "input_ThirdPartyConversationID")]
    pub third_party_conversation_id: String,
    #[serde(rename = "input_TransactionReference")]
    pub transaction_reference: String,
    #[serde(rename = "input_PurchasedItemsDesc")]
    pub purchased_items: String,
}

impl C2bRequest {
    /// A push for `amount_minor` (whole shillings: M-Pesa takes no cents) quoting the control
    /// number. `conversation`: our idempotency key (32 characters).
    pub fn new(amount_minor: i64, msisdn: &str, service_provider_code: &str, conversation: &str, control_number: &str) -> Self {
        Self {
            amount: (amount_minor / 100).to_string(),
            country: COUNTRY.into(),
            currency: CURRENCY.into(),
            msisdn: msisdn.into(),
            service_provider_code: service_provider_code.into(),
            third_party_conversation_id: conversation.into(),
            transaction_reference: control_number.into(),
            purchased_items: "School fees".into(),
        }
    }

    /// The portal's checks (its regular expressions), as the simulator enforces them:
    /// `Err` is the field at fault.
    pub fn check(&self) -> Result<(), &'static str> {
        let word =
            |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '_');
        if !(self.amount.bytes().all(|b| b.is_ascii_digit() || b == b'.') && super::parse_amount(&self.amount).is_some_and(|a| a > 0)) {
            return Err("input_Amount");
        }
        if !(12..=14).contains(&self.msisdn.len()) || !self.msisdn.bytes().all(|b| b.is_ascii_digit()) {
            return Err("input_CustomerMSISDN");
        }
        if !(4..=12).contains(&self.service_provider_code.len()) || !self.service_provider_code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("input_ServiceProviderCode");
        }
        if !word(&self.transaction_reference, 20) {
            return Err("input_TransactionReference");
        }
        if !word(&self.third_party_conversation_id, 40) {
            return Err("input_ThirdPartyConversationID");
        }
        if !word(&self.purchased_items, 256) {
            return Err("input_PurchasedItemsDesc");
        }
        if self.country != COUNTRY {
            return Err("input_Country");
        }
        if self.currency != CURRENCY {
            return Err("input_Currency");
        }
        Ok(())
    }
}

/// OpenAPI's answer to a session request, a push or a status query (the fields each one
/// carries; absent ones are `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    #[serde(rename = "output_ResponseCode", default)]
    pub code: String,
    #[serde(rename = "output_ResponseDesc", default)]
    pub description: String,
    #[serde(rename = "output_SessionID", default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(rename = "output_TransactionID", default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(rename = "output_ConversationID", default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    #[serde(rename = "output_ThirdPartyConversationID", default, skip_serializing_if = "Option::is_none")]
    pub third_party_conversation_id: Option<String>,
    /// Status query: `Completed` when the money moved.
    #[serde(rename = "output_ResponseTransactionStatus", default, skip_serializing_if = "Option::is_none")]
    pub transaction_status: Option<String>,
    #[serde(rename = "output_OriginalTransactionID", default, skip_serializing_if = "Option::is_none")]
    pub original_transaction_id: Option<String>,
    /// Status query: `True` when the payment was reversed since.
    #[serde(rename = "output_Reversed", default, skip_serializing_if = "Option::is_none")]
    pub reversed: Option<String>,
}

/// The success code of every OpenAPI call.
pub const OK: &str = "INS-0";

/// The asynchronous result of a push, as OpenAPI sends it to our listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResult {
    #[serde(rename = "input_OriginalConversationID")]
    pub original_conversation_id: String,
    #[serde(rename = "input_TransactionID")]
    pub transaction_id: String,
    #[serde(rename = "input_ResultCode")]
    pub result_code: String,
    #[serde(rename = "input_ResultDesc", default)]
    pub result_desc: String,
    #[serde(rename = "input_ThirdPartyConversationID")]
    pub third_party_conversation_id: String,
}

/// The largest result body we read (the real one is a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// An id OpenAPI sends: letters, digits, `-`, `_`, `.` (1–64).
fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Reads a push's result: every id well-formed and present (the transaction's only when it
/// says paid; the code may be empty), the description at most 256 bytes.
pub fn parse_result(body: &[u8]) -> Result<PushResult, Unreadable> {
    let r: PushResult = serde_json::from_slice(body).map_err(|_| Unreadable("payments-error-malformed"))?;
    let failed = r.result_code != OK;
    // A failed push has no M-Pesa transaction: OpenAPI may send an empty id or "N/A". Its
    // code may be empty too (insufficient funds have been seen so: docs §1.9); every result
    // is confirmed by a status query anyway.
    if !(is_id(&r.third_party_conversation_id) && is_id(&r.original_conversation_id))
        || !(r.result_code.is_empty() || is_id(&r.result_code))
        || !(is_id(&r.transaction_id) || failed)
        || r.result_desc.len() > 256
    {
        return Err(Unreadable("payments-error-malformed"));
    }
    Ok(r)
}

/// Our acknowledgement of a result (`output_ResponseCode` "0" = taken). A result we refuse
/// gets a code of our own and the reason.
pub fn result_ack(original_conversation_id: &str, third_party_conversation_id: &str, refused: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "output_OriginalConversationID": original_conversation_id,
        "output_ResponseCode": if refused.is_some() { "1" } else { "0" },
        "output_ResponseDesc": refused.unwrap_or("Successfully Accepted Result"),
        "output_ThirdPartyConversationID": third_party_conversation_id,
    })
}

pub use super::{Confirmation, PushAnswer};

/// Reads a status query's reply.
pub fn confirmation(reply: &Reply) -> Confirmation {
    // Not found (INS-23) right after a result may be the query lagging behind it: asked
    // again later, like any other failed query.
    if reply.code != OK {
        return Confirmation::Unknown;
    }
    let reversed = reply.reversed.as_deref().is_some_and(|r| r.eq_ignore_ascii_case("true"));
    match reply.transaction_status.as_deref() {
        Some(s) if s.eq_ignore_ascii_case("completed") && !reversed => match &reply.original_transaction_id {
            Some(id) if is_id(id) => Confirmation::Paid { transaction_id: id.clone() },
            _ => Confirmation::Unknown,
        },
        Some(s) if s.eq_ignore_ascii_case("completed") => Confirmation::Failed("payments-push-reversed"),
        Some(s) if s.eq_ignore_ascii_case("failed") || s.eq_ignore_ascii_case("cancelled") || s.eq_ignore_ascii_case("expired") => {
            Confirmation::Failed("payments-push-declined")
        }
        _ => Confirmation::Unknown,
    }
}

/// What a failed push or result code means for the parent (a message key). Codes the portal
/// does not list are "failed", never retried on our own (docs/payments-providers.md §1.9).
pub fn failure_reason(code: &str) -> &'static str {
    match code {
        "INS-2006" => "payments-push-insufficient",
        "INS-5" => "payments-push-cancelled",
        "INS-9" => "payments-push-timeout",
        "INS-990" | "INS-991" | "INS-992" | "INS-995" => "payments-push-limit",
        "INS-2051" => "payments-push-bad-phone",
        _ => "payments-push-declined",
    }
}

#[cfg(feature = "ssr")]
pub use api::{Credentials, MpesaApi, MpesaSettings};

#[cfg(feature = "ssr")]
mod api {
    use super::{C2bRequest, Confirmation, PushAnswer, Reply, OK};
    use crate::payments::tokens::{with_token, Tokens, Try};
    use crate::DomainError;
    use base64::Engine;
    use std::time::{Duration, Instant};

    /// Where OpenAPI is and its public key (per environment: the sandbox's and the live
    /// platform's keys differ). The simulator's in development and tests.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct MpesaSettings {
        /// Up to the market: `https://openapi.m-pesa.com/openapi/ipg/v2/vodacomTZN`.
        pub base_url: String,
        /// DER SubjectPublicKeyInfo (what the portal publishes, base64-decoded).
        pub public_key_der: Vec<u8>,
    }

    /// One school's application on OpenAPI.
    #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct Credentials {
        pub api_key: String,
        /// The school's business shortcode (`input_ServiceProviderCode`).
        pub service_provider_code: String,
    }

    /// A session is reused for this long (the portal sets lifetimes per application; an hour
    /// is the shortest seen), and is dropped on the first authentication failure.
    const SESSION_REUSE: Duration = Duration::from_secs(50 * 60);

    /// The OpenAPI client: sessions kept per API key.
    pub struct MpesaApi {
        http: reqwest::Client,
        base: String,
        key: rsa::RsaPublicKey,
        sessions: Tokens,
    }

    impl std::fmt::Debug for MpesaApi {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("MpesaApi").field("base", &self.base).finish_non_exhaustive()
        }
    }

    fn fault(e: impl std::fmt::Display) -> DomainError {
        DomainError::Internal(format!("m-pesa: {e}"))
    }

    impl MpesaApi {
        pub fn new(settings: &MpesaSettings) -> Result<Self, String> {
            use rsa::pkcs8::DecodePublicKey;
            let key =
                rsa::RsaPublicKey::from_public_key_der(&settings.public_key_der).map_err(|e| format!("the M-Pesa public key: {e}"))?;
            // The push call may stay open while the parent answers the prompt (synchronous
            // mode): a timeout is "unknown", settled by the result or a status query.
            let http = crate::payments::tokens::wallet_client()?;
            Ok(Self { http, base: settings.base_url.trim_end_matches('/').to_owned(), key, sessions: Tokens::default() })
        }

        /// `Bearer base64(RSA-PKCS#1-v1.5(public key, text))`: how OpenAPI takes the API key
        /// and, later, the session id.
        pub fn bearer(&self, text: &str) -> Result<String, DomainError> {
            let sealed = self.key.encrypt(&mut rand::thread_rng(), rsa::Pkcs1v15Encrypt, text.as_bytes()).map_err(fault)?;
            Ok(format!("Bearer {}", base64::engine::general_purpose::STANDARD.encode(sealed)))
        }

        async fn session(&self, creds: &Credentials) -> Result<String, DomainError> {
            if let Some(id) = self.sessions.kept(&creds.api_key) {
                return Ok(id);
            }
            let resp = self
                .http
                .get(format!("{}/getSession/", self.base))
                .header("Authorization", self.bearer(&creds.api_key)?)
                .header("Origin", "*")
                .send()
                .await
                .map_err(fault)?;
            let reply: Reply = serde_json::from_str(&resp.text().await.map_err(fault)?).map_err(fault)?;
            let id = reply.session_id.filter(|_| reply.code == OK).ok_or_else(|| fault(format!("no session: {}", reply.code)))?;
            self.sessions.keep(&creds.api_key, &id, Instant::now() + SESSION_REUSE);
            Ok(id)
        }

        /// Asks the parent's phone to pay (`c2bPayment/singleStage/`). Only a push that
        /// certainly never left (no connection) or that OpenAPI refused is reported so; any
        /// other fault is "unknown": the money may move, and the result or the re-check says.
        pub async fn push(&self, creds: &Credentials, request: &C2bRequest) -> Result<PushAnswer, DomainError> {
            let body = &serde_json::to_vec(request).map_err(fault)?;
            let call = move |session: String| async move {
                let sent = self
                    .http
                    .post(format!("{}/c2bPayment/singleStage/", self.base))
                    .header("Authorization", self.bearer(&session)?)
                    .header("Origin", "*")
                    .header("Content-Type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                // Never connected: refused; any other failure: unknown; a 401: a new token
                // (the request was refused, so nothing was pushed).
                let (status, text) = match crate::payments::tokens::push_sent(sent).await {
                    Ok(answer) => answer,
                    Err(t) => return Ok(t),
                };
                let Ok(reply) = serde_json::from_str::<Reply>(&text) else {
                    return Ok(Try::Done(if (400..500).contains(&status) {
                        PushAnswer::Refused("payments-push-declined")
                    } else {
                        PushAnswer::Unknown
                    }));
                };
                Ok(Try::Done(match reply.code.as_str() {
                    OK => match reply.transaction_id.filter(|t| t != "N/A" && !t.is_empty()) {
                        Some(transaction_id) => PushAnswer::Paid { transaction_id },
                        None => PushAnswer::Sent { conversation_id: reply.conversation_id },
                    },
                    // Timeouts and internal errors: the money may still move.
                    "INS-1" | "INS-9" | "" => PushAnswer::Unknown,
                    code => PushAnswer::Refused(super::failure_reason(code)),
                }))
            };
            with_token(&self.sessions, &creds.api_key, || self.session(creds), call, || PushAnswer::Refused("payments-push-unavailable"))
                .await
        }

        /// Asks what became of a payment (`queryTransactionStatus/`), by our conversation id
        /// or the M-Pesa transaction id. A query that fails is "unknown" (asked again later).
        pub async fn query(&self, creds: &Credentials, reference: &str) -> Result<Confirmation, DomainError> {
            let call = move |session: String| async move {
                let conversation = uuid::Uuid::new_v4().simple().to_string();
                let url = reqwest::Url::parse_with_params(
                    &format!("{}/queryTransactionStatus/", self.base),
                    [
                        ("input_QueryReference", reference),
                        ("input_ServiceProviderCode", creds.service_provider_code.as_str()),
                        ("input_ThirdPartyConversationID", conversation.as_str()),
                        ("input_Country", super::COUNTRY),
                    ],
                )
                .map_err(fault)?;
                let Ok(resp) = self.http.get(url).header("Authorization", self.bearer(&session)?).header("Origin", "*").send().await else {
                    return Ok(Try::Done(Confirmation::Unknown));
                };
                if resp.status().as_u16() == 401 {
                    return Ok(Try::Unauthorized);
                }
                let reply = serde_json::from_str::<Reply>(&resp.text().await.unwrap_or_default());
                Ok(Try::Done(reply.map_or(Confirmation::Unknown, |r| super::confirmation(&r))))
            };
            with_token(&self.sessions, &creds.api_key, || self.session(creds), call, || Confirmation::Unknown).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_follows_the_portal() {
        let r = C2bRequest::new(15_000_000, "255712345678", "000000", "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", "100012345678");
        assert_eq!(r.amount, "150000");
        assert_eq!(r.check(), Ok(()));
        let json = serde_json::to_value(&r).unwrap();
        for field in [
            "input_Amount",
            "input_Country",
            "input_Currency",
            "input_CustomerMSISDN",
            "input_ServiceProviderCode",
            "input_ThirdPartyConversationID",
            "input_TransactionReference",
            "input_PurchasedItemsDesc",
        ] {
            assert!(json.get(field).is_some(), "{field}");
        }
        assert_eq!(C2bRequest { msisdn: "0712345678".into(), ..r.clone() }.check(), Err("input_CustomerMSISDN"));
        assert_eq!(C2bRequest { transaction_reference: "x".repeat(21), ..r.clone() }.check(), Err("input_TransactionReference"));
        assert_eq!(C2bRequest { amount: "0".into(), ..r }.check(), Err("input_Amount"));
    }

    #[test]
    fn results_are_read_strictly() {
        let ok = br#"{"input_OriginalConversationID":"fd1e9143d22544459f7c66e1860ef276","input_TransactionID":"G27DEn1DLoQ3",
            "input_ResultCode":"INS-0","input_ResultDesc":"Request processed successfully","input_ThirdPartyConversationID":"1e9b774d1da34af78412a498cbc28f5e"}"#;
        let r = parse_result(ok).unwrap();
        assert_eq!(r.transaction_id, "G27DEn1DLoQ3");
        // A failed push carries no transaction.
        let failed = br#"{"input_OriginalConversationID":"fd1e","input_TransactionID":"","input_ResultCode":"INS-2006","input_ThirdPartyConversationID":"1e9b"}"#;
        assert_eq!(parse_result(failed).unwrap().result_code, "INS-2006");
        let no_code = br#"{"input_OriginalConversationID":"fd1e","input_TransactionID":"","input_ResultCode":"","input_ThirdPartyConversationID":"1e9b"}"#;
        assert_eq!(parse_result(no_code).unwrap().result_code, "", "an empty code is read (and confirmed by a query)");
        for bad in [
            &b"{}"[..],
            b"not json",
            br#"{"input_OriginalConversationID":"a b","input_TransactionID":"T1","input_ResultCode":"INS-0","input_ThirdPartyConversationID":"c"}"#,
            br#"{"input_OriginalConversationID":"a","input_TransactionID":"","input_ResultCode":"INS-0","input_ThirdPartyConversationID":"c"}"#,
        ] {
            assert!(parse_result(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let ack = result_ack("fd1e", "1e9b", None);
        assert_eq!(ack["output_ResponseCode"], "0");
        assert_eq!(result_ack("fd1e", "1e9b", Some("unknown")).get("output_ResponseCode").unwrap(), "1");
    }

    #[test]
    fn only_a_completed_unreversed_payment_is_paid() {
        let completed = Reply {
            code: OK.into(),
            transaction_status: Some("Completed".into()),
            original_transaction_id: Some("G27DEn1DLoQ3".into()),
            reversed: Some("False".into()),
            ..Reply::default()
        };
        assert_eq!(confirmation(&completed), Confirmation::Paid { transaction_id: "G27DEn1DLoQ3".into() });
        assert_eq!(
            confirmation(&Reply { reversed: Some("True".into()), ..completed.clone() }),
            Confirmation::Failed("payments-push-reversed")
        );
        assert_eq!(confirmation(&Reply { transaction_status: Some("Pending".into()), ..completed.clone() }), Confirmation::Unknown);
        assert_eq!(confirmation(&Reply { code: "INS-23".into(), ..Reply::default() }), Confirmation::Unknown, "asked again later");
        assert_eq!(confirmation(&Reply { code: "INS-1".into(), ..completed }), Confirmation::Unknown);
        assert_eq!(failure_reason("INS-2006"), "payments-push-insufficient");
        assert_eq!(failure_reason("INS-4242"), "payments-push-declined");
    }
}
