//! Airtel Money Open API (Tanzania: `X-Country: TZ`, `X-Currency: TZS`): the collection push
//! to a parent's phone, the callback Airtel sends, and the enquiry every callback is confirmed
//! with before anything is posted. Wire formats as in docs/payments-providers.md §2, which
//! follows Airtel's own documentation where Tanzanian libraries differ (the subscriber's
//! number without the country code; `TA` is "ask again", not failed).

use super::{Confirmation, Unreadable};
use serde::{Deserialize, Serialize};

pub const COUNTRY: &str = "TZ";
pub const CURRENCY: &str = "TZS";

/// The largest callback we read (the real one is a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// The subscriber's number as Airtel takes it: the nine digits after `255`.
pub fn subscriber(msisdn: &str) -> &str {
    msisdn.strip_prefix("255").unwrap_or(msisdn)
}

/// `POST /merchant/v1/payments/`.
pub fn push_body(amount_minor: i64, msisdn: &str, transaction_id: &str, control_number: &str) -> serde_json::Value {
    serde_json::json!({
        "reference": format!("School fees {control_number}"),
        "subscriber": { "country": COUNTRY, "currency": CURRENCY, "msisdn": subscriber(msisdn) },
        "transaction": { "amount": amount_minor / 100, "country": COUNTRY, "currency": CURRENCY, "id": transaction_id },
    })
}

/// A callback's `transaction`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackTransaction {
    /// Ours (the push's conversation id).
    pub id: String,
    #[serde(default)]
    pub message: String,
    /// `TS` success, `TF` failed, `TA` ambiguous, `TIP` in progress, `TE` expired.
    pub status_code: String,
    #[serde(default)]
    pub airtel_money_id: Option<String>,
}

/// A callback as Airtel sends it: the transaction, and its `hash` when the application has
/// callback authentication on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub transaction: CallbackTransaction,
    pub hash: Option<String>,
    /// The `transaction` object exactly as it came (what the hash is over).
    pub signed: String,
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Reads a callback: the ids well-formed, the status one of Airtel's, and the `transaction`
/// object's own bytes kept for the hash.
pub fn parse_callback(body: &[u8]) -> Result<Callback, Unreadable> {
    #[derive(Deserialize)]
    struct Raw {
        transaction: CallbackTransaction,
        #[serde(default)]
        hash: Option<String>,
    }
    let malformed = || Unreadable("payments-error-malformed");
    let text = std::str::from_utf8(body).map_err(|_| malformed())?;
    let raw: Raw = serde_json::from_str(text).map_err(|_| malformed())?;
    let transaction = raw.transaction;
    let known = ["TS", "TF", "TA", "TIP", "TE"].contains(&transaction.status_code.as_str());
    let money_id_ok = transaction.airtel_money_id.as_deref().is_none_or(|m| m.is_empty() || is_id(m));
    if !is_id(&transaction.id)
        || !known
        || !money_id_ok
        || transaction.message.len() > 512
        || raw.hash.as_ref().is_some_and(|h| h.len() > 128)
    {
        return Err(malformed());
    }
    let signed = object_of(text, "transaction").ok_or_else(malformed)?.to_owned();
    Ok(Callback { transaction, hash: raw.hash, signed })
}

/// The bytes of the object under `key` in a JSON text that parsed (the first `"key":` —
/// in a valid text, a string followed by a colon is a key): what a hash over "the
/// transaction" covers, exactly as sent, never re-serialised.
fn object_of<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let quoted = format!("\"{key}\"");
    let mut from = 0;
    let start = loop {
        let at = from + text.get(from..)?.find(&quoted)?;
        let rest = text.get(at + quoted.len()..)?.trim_start();
        if let Some(value) = rest.strip_prefix(':') {
            let value = value.trim_start();
            if value.starts_with('{') {
                break text.len() - value.len();
            }
            return None;
        }
        from = at + quoted.len();
    };
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in text.get(start..)?.char_indices() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (true, false, _) => {}
            (false, _, '"') => in_string = true,
            (false, _, '{') => depth += 1,
            (false, _, '}') => {
                depth -= 1;
                if depth == 0 {
                    return text.get(start..=start + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// What a failed status code means for the parent (a message key).
pub fn failure_reason(status_code: &str) -> &'static str {
    match status_code {
        "TE" => "payments-push-timeout",
        _ => "payments-push-declined",
    }
}

/// Reads an enquiry's reply (`GET /standard/v1/payments/{id}`): only `TS` with Airtel's
/// transaction id is paid; `TA`/`TIP` are asked again later.
pub fn confirmation(reply: &serde_json::Value) -> Confirmation {
    let t = &reply["data"]["transaction"];
    match t["status"].as_str() {
        Some("TS") => match t["airtel_money_id"].as_str() {
            Some(id) if is_id(id) => Confirmation::Paid { transaction_id: id.to_owned() },
            _ => Confirmation::Unknown,
        },
        Some("TF") => Confirmation::Failed("payments-push-declined"),
        Some("TE") => Confirmation::Failed("payments-push-timeout"),
        _ => Confirmation::Unknown,
    }
}

#[cfg(feature = "ssr")]
pub use api::{AirtelApi, AirtelCredentials};

#[cfg(feature = "ssr")]
mod api {
    use super::{Confirmation, COUNTRY, CURRENCY};
    use crate::payments::tokens::{with_token, Tokens, Try};
    use crate::payments::PushAnswer;
    use crate::DomainError;

    /// One school's application on Airtel's Open API.
    #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct AirtelCredentials {
        pub client_id: String,
        pub client_secret: String,
        /// The key of callback authentication, when the application has it on: callbacks
        /// then carry a `hash` we check.
        #[serde(default)]
        pub callback_key: Option<String>,
    }

    impl AirtelCredentials {
        /// Whether `signed` (a callback's `transaction` as it came) carries `hash`: base64
        /// HMAC-SHA256 under the callback key, compared in constant time. No key: nothing
        /// to check (the enquiry decides anyway).
        pub fn hash_matches(&self, signed: &str, hash: Option<&str>) -> bool {
            use base64::Engine;
            use hmac::Mac;
            let Some(key) = &self.callback_key else { return true };
            let Some(given) = hash.and_then(|h| base64::engine::general_purpose::STANDARD.decode(h).ok()) else { return false };
            let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()) else { return false };
            mac.update(signed.as_bytes());
            mac.verify_slice(&given).is_ok()
        }
    }

    fn fault(e: impl std::fmt::Display) -> DomainError {
        DomainError::Internal(format!("airtel: {e}"))
    }

    /// The Open API client: access tokens kept per application until shortly before they
    /// expire (Airtel's last 180 s).
    pub struct AirtelApi {
        http: reqwest::Client,
        base: String,
        tokens: Tokens,
    }

    impl std::fmt::Debug for AirtelApi {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("AirtelApi").field("base", &self.base).finish_non_exhaustive()
        }
    }

    impl AirtelApi {
        /// `base`: `https://openapi.airtel.africa` (or the simulator's).
        pub fn new(base: &str) -> Result<Self, String> {
            let http = crate::payments::tokens::wallet_client()?;
            Ok(Self { http, base: base.trim_end_matches('/').to_owned(), tokens: Tokens::default() })
        }

        async fn token(&self, creds: &AirtelCredentials) -> Result<String, DomainError> {
            if let Some(token) = self.tokens.kept(&creds.client_id) {
                return Ok(token);
            }
            let body = serde_json::json!({ "client_id": creds.client_id, "client_secret": creds.client_secret, "grant_type": "client_credentials" });
            let resp = self
                .http
                .post(format!("{}/auth/oauth2/token", self.base))
                .header("Content-Type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .map_err(fault)?;
            let reply: serde_json::Value = serde_json::from_str(&resp.text().await.map_err(fault)?).map_err(fault)?;
            self.tokens.keep_reply(&creds.client_id, &reply, 180).ok_or_else(|| fault("no access token"))
        }

        /// Asks the parent's phone to pay. As with M-Pesa, only a push that never left or that
        /// Airtel refused fails at once; anything else waits for the callback or the re-check.
        pub async fn push(&self, creds: &AirtelCredentials, body: &serde_json::Value) -> Result<PushAnswer, DomainError> {
            let call = move |token: String| async move {
                let sent = self
                    .http
                    .post(format!("{}/merchant/v1/payments/", self.base))
                    .header("Content-Type", "application/json")
                    .header("Accept", "*/*")
                    .header("X-Country", COUNTRY)
                    .header("X-Currency", CURRENCY)
                    .header("Authorization", format!("Bearer {token}"))
                    .body(body.to_string())
                    .send()
                    .await;
                // Never connected: refused; any other failure: unknown; a 401: a new token
                // (the request was refused, so nothing was pushed).
                let (status, text) = match crate::payments::tokens::push_sent(sent).await {
                    Ok(answer) => answer,
                    Err(t) => return Ok(t),
                };
                let Ok(reply) = serde_json::from_str::<serde_json::Value>(&text) else {
                    return Ok(Try::Done(if (400..500).contains(&status) {
                        PushAnswer::Refused("payments-push-declined")
                    } else {
                        PushAnswer::Unknown
                    }));
                };
                Ok(Try::Done(match (status, reply["status"]["success"].as_bool()) {
                    (200..=299, Some(true)) => PushAnswer::Sent { conversation_id: None },
                    (400..=499, _) | (_, Some(false)) => PushAnswer::Refused("payments-push-declined"),
                    _ => PushAnswer::Unknown,
                }))
            };
            with_token(&self.tokens, &creds.client_id, || self.token(creds), call, || PushAnswer::Refused("payments-push-unavailable"))
                .await
        }

        /// Asks what became of our transaction `id` (`GET /standard/v1/payments/{id}`).
        pub async fn enquire(&self, creds: &AirtelCredentials, id: &str) -> Result<Confirmation, DomainError> {
            let call = move |token: String| async move {
                let sent = self
                    .http
                    .get(format!("{}/standard/v1/payments/{id}", self.base))
                    .header("Accept", "*/*")
                    .header("X-Country", COUNTRY)
                    .header("X-Currency", CURRENCY)
                    .header("Authorization", format!("Bearer {token}"))
                    .send()
                    .await;
                let Ok(resp) = sent else { return Ok(Try::Done(Confirmation::Unknown)) };
                if resp.status().as_u16() == 401 {
                    return Ok(Try::Unauthorized);
                }
                let reply = serde_json::from_str::<serde_json::Value>(&resp.text().await.unwrap_or_default());
                Ok(Try::Done(reply.map_or(Confirmation::Unknown, |r| super::confirmation(&r))))
            };
            with_token(&self.tokens, &creds.client_id, || self.token(creds), call, || Confirmation::Unknown).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_are_read_with_their_signed_bytes() {
        let body = br#"{"transaction":{"id":"a1b2c3","message":"Paid TZS 150,000","status_code":"TS","airtel_money_id":"MP210603.1234.L06941"},"hash":"zITVAAGYSlzl1WkUQJn81kbpT5drH3koffT8jCkcJJA="}"#;
        let c = parse_callback(body).unwrap();
        assert_eq!(c.transaction.status_code, "TS");
        assert_eq!(c.signed, r#"{"id":"a1b2c3","message":"Paid TZS 150,000","status_code":"TS","airtel_money_id":"MP210603.1234.L06941"}"#);
        assert!(c.hash.is_some());
        let spaced = br#"{ "hash" : "x", "transaction" : { "id" : "a1", "message" : "a } \" {", "status_code" : "TF" } }"#;
        assert_eq!(
            parse_callback(spaced).unwrap().signed,
            r#"{ "id" : "a1", "message" : "a } \" {", "status_code" : "TF" }"#,
            "exactly as sent"
        );
        let unsigned = br#"{"transaction":{"id":"a1b2c3","status_code":"TF"}}"#;
        assert_eq!(parse_callback(unsigned).unwrap().hash, None);
        for bad in [
            &br#"{}"#[..],
            b"[]",
            br#"{"transaction":{"id":"a b","status_code":"TS"}}"#,
            br#"{"transaction":{"id":"a","status_code":"OK"}}"#,
        ] {
            assert!(parse_callback(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(subscriber("255681234567"), "681234567");
        let push = push_body(15_000_000, "255681234567", "abc", "100012345678");
        assert_eq!(push["transaction"]["amount"], 150_000);
        assert_eq!(push["subscriber"]["msisdn"], "681234567");
    }

    #[test]
    fn only_ts_is_paid() {
        let reply = |status: &str| serde_json::json!({ "data": { "transaction": { "id": "abc", "status": status, "airtel_money_id": "133410367531" } } });
        assert_eq!(confirmation(&reply("TS")), Confirmation::Paid { transaction_id: "133410367531".into() });
        assert_eq!(confirmation(&reply("TF")), Confirmation::Failed("payments-push-declined"));
        assert_eq!(confirmation(&reply("TA")), Confirmation::Unknown, "ambiguous money may still arrive");
        assert_eq!(confirmation(&reply("TIP")), Confirmation::Unknown);
    }
}
