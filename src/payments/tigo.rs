//! Tigo Pesa (now Mixx by Yas): the push to a parent's phone ("pay now") with its callback, and
//! the USSD bill-pay a parent starts from their own phone (`*150*01#` → pay bills → the
//! school's business number → the control number), in which Tigo asks us synchronously, in
//! `<COMMAND>` XML, first who a reference is (the name lookup) and then to take the payment;
//! our reply decides whether Tigo completes it. Wire formats as in docs/payments-providers.md §3.
//!
//! Tigo signs nothing and publishes no status query for pushes, so the guards are ours: a Tigo
//! channel must list the addresses Tigo calls from (none listed: every call is refused), a
//! push's result must name one of our pushes by its random reference and carry exactly the
//! amount we asked for, and each Tigo transaction id is taken once. The day's statement
//! settles what a lost callback leaves open.

use super::{parse_amount, Unreadable};
use serde::{Deserialize, Serialize};

/// The largest callback or USSD request we read (the real ones are a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// Tigo's acknowledgement codes for a push's callback (TG-GO, TG-LARAVEL).
pub const CALLBACK_OK: &str = "BILLER-30-0000-S";
pub const CALLBACK_REFUSED: &str = "BILLER-18-3020-E";

/// One school's Tigo Pesa business: the push API's account and the USSD business number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TigoCredentials {
    pub username: String,
    pub password: String,
    /// The partner name in the gateway's paths Tigo issues (`<partner>2DM-GetToken`,
    /// `<partner>2DM-PushBillpay`).
    pub partner: String,
    /// The school's wallet that receives pushes (`255…`).
    pub biller_msisdn: String,
    /// The prefix Tigo expects on every push's `ReferenceID`.
    pub biller_code: String,
    /// The business number parents enter for USSD bill-pay (`COMPANYNAME`).
    pub company_number: String,
}

impl TigoCredentials {
    /// What is wrong with the credentials, field by field (for the CLI and the tests).
    pub fn check(&self) -> Result<(), &'static str> {
        let token = |s: &str| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !token(&self.username) || self.password.is_empty() || self.password.len() > 128 {
            return Err("username/password");
        }
        if !token(&self.partner) {
            return Err("partner");
        }
        if super::msisdn(&self.biller_msisdn).as_deref() != Some(self.biller_msisdn.as_str()) {
            return Err("biller_msisdn");
        }
        if self.biller_code.is_empty() || self.biller_code.len() > 8 || !self.biller_code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("biller_code");
        }
        if self.company_number.is_empty() || self.company_number.len() > 12 || !self.company_number.bytes().all(|b| b.is_ascii_digit()) {
            return Err("company_number");
        }
        Ok(())
    }

    /// A push's `ReferenceID`: the biller code, then our conversation id (random).
    pub fn reference_id(&self, conversation_id: &str) -> String {
        format!("{}{conversation_id}", self.biller_code)
    }

    /// Our conversation id in a callback's `ReferenceID` (`None`: not one of ours).
    pub fn conversation_of<'a>(&self, reference_id: &'a str) -> Option<&'a str> {
        reference_id.strip_prefix(self.biller_code.as_str()).filter(|c| !c.is_empty())
    }
}

/// The push's body (`POST <partner>2DM-PushBillpay`). Tigo takes whole shillings.
pub fn push_body(amount_minor: i64, msisdn: &str, biller_msisdn: &str, reference_id: &str, control_number: &str) -> serde_json::Value {
    serde_json::json!({
        "CustomerMSISDN": msisdn,
        "BillerMSISDN": biller_msisdn,
        "Amount": amount_minor / 100,
        "Remarks": format!("School fees {control_number}"),
        "ReferenceID": reference_id,
    })
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A push's result as Tigo posts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub paid: bool,
    pub description: String,
    /// Tigo's transaction id (absent when it failed).
    pub transaction_id: Option<String>,
    pub reference_id: String,
    pub amount_minor: i64,
}

/// Reads a push's callback: `Status` a boolean (the string forms too), `Amount` a decimal
/// string or a whole number, read exactly; a "paid" result must carry Tigo's transaction id.
pub fn parse_callback(body: &[u8]) -> Result<Callback, Unreadable> {
    let malformed = || Unreadable("payments-error-malformed");
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| malformed())?;
    let paid = match &value["Status"] {
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::String(s) if s.eq_ignore_ascii_case("true") => true,
        serde_json::Value::String(s) if s.eq_ignore_ascii_case("false") => false,
        _ => return Err(malformed()),
    };
    let amount = match &value["Amount"] {
        serde_json::Value::String(s) => parse_amount(s),
        // Whole shillings as a plain integer (a number with a fraction or an exponent would
        // have gone through a float: refused).
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| i64::try_from(n).ok()).and_then(|n| n.checked_mul(100)),
        _ => None,
    };
    let reference_id = value["ReferenceID"].as_str().filter(|r| is_id(r)).ok_or_else(malformed)?;
    let transaction_id = match value.get("MFSTransactionID") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) if s.is_empty() => None,
        Some(serde_json::Value::String(s)) if is_id(s) => Some(s.clone()),
        Some(_) => return Err(malformed()),
    };
    let description = match &value["Description"] {
        serde_json::Value::String(s) if s.len() <= 512 => s.clone(),
        serde_json::Value::Null => String::new(),
        _ => return Err(malformed()),
    };
    let amount_minor = amount.filter(|a| *a > 0).ok_or(Unreadable("payments-error-amount"))?;
    if paid && transaction_id.is_none() {
        return Err(malformed());
    }
    Ok(Callback { paid, description, transaction_id, reference_id: reference_id.to_owned(), amount_minor })
}

/// Our answer to a callback (`refused`: why not, for a 4xx/5xx).
pub fn callback_ack(reference_id: &str, refused: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "ResponseCode": if refused.is_some() { CALLBACK_REFUSED } else { CALLBACK_OK },
        "ResponseStatus": refused.is_none(),
        "ResponseDescription": refused.unwrap_or("Callback successful"),
        "ReferenceID": reference_id,
    })
}

/// What a failed push's description means for the parent (a message key). Tigo gives words,
/// not codes, for why a push failed.
pub fn failure_reason(description: &str) -> &'static str {
    let d = description.to_ascii_lowercase();
    if d.contains("insufficient") || d.contains("balance") {
        "payments-push-insufficient"
    } else if d.contains("cancel") || d.contains("reject") {
        "payments-push-cancelled"
    } else if d.contains("timeout") || d.contains("timed out") || d.contains("expired") {
        "payments-push-timeout"
    } else if d.contains("limit") {
        "payments-push-limit"
    } else {
        "payments-push-declined"
    }
}

// ---- USSD bill-pay (wallet to account) ----------------------------------------------------

/// Tigo's question, from a parent paying from their own phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UssdRequest {
    /// "Who is this reference?" (`SYNC_LOOKUP_REQUEST`), before the parent confirms.
    Lookup { msisdn: String, company: String, reference: String },
    /// "Take this payment" (`SYNC_BILLPAY_REQUEST`): Tigo completes it only if we say `TS`.
    BillPay { txn_id: String, msisdn: String, amount_minor: i64, company: String, reference: String, sender_name: Option<String> },
}

impl UssdRequest {
    pub fn company(&self) -> &str {
        match self {
            Self::Lookup { company, .. } | Self::BillPay { company, .. } => company,
        }
    }

    pub fn msisdn(&self) -> &str {
        match self {
            Self::Lookup { msisdn, .. } | Self::BillPay { msisdn, .. } => msisdn,
        }
    }
}

/// The error codes of Tigo's bill-pay (TG-GO and TG-DTO agree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UssdCode {
    Success,
    NotAvailable,
    InvalidReference,
    InvalidAmount,
    InvalidPayment,
    General,
}

impl UssdCode {
    pub fn code(self) -> &'static str {
        match self {
            Self::Success => "error000",
            Self::NotAvailable => "error001",
            Self::InvalidReference => "error010",
            Self::InvalidAmount => "error012",
            Self::InvalidPayment => "error016",
            Self::General => "error100",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::NotAvailable => "Service not available",
            Self::InvalidReference => "Invalid customer reference",
            Self::InvalidAmount => "Invalid amount",
            Self::InvalidPayment => "Invalid payment",
            Self::General => "General error",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Self::Success, Self::NotAvailable, Self::InvalidReference, Self::InvalidAmount, Self::InvalidPayment, Self::General]
            .into_iter()
            .find(|c| c.code() == code)
    }
}

/// The elements of a flat `<COMMAND>` document, by name. Refused: anything but one `COMMAND`
/// holding text-only elements (no DTD, no entity of our own, no nesting, no repeats), so a
/// hostile body can neither expand nor confuse which value counts.
fn command_fields(body: &[u8]) -> Result<std::collections::BTreeMap<String, String>, Unreadable> {
    use quick_xml::events::Event;
    let malformed = || Unreadable("payments-error-malformed");
    let text = std::str::from_utf8(body).map_err(|_| malformed())?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut fields = std::collections::BTreeMap::new();
    // 0: before COMMAND, 1: inside it, 2: inside a field, 3: after it.
    let mut depth = 0u8;
    let mut field: Option<(String, String)> = None;
    loop {
        match reader.read_event().map_err(|_| malformed())? {
            Event::Decl(_) | Event::Comment(_) if depth != 2 => {}
            Event::Start(e) => {
                let name = std::str::from_utf8(e.name().as_ref()).map_err(|_| malformed())?.to_owned();
                match depth {
                    0 if name == "COMMAND" => depth = 1,
                    1 if fields.len() < 32 && name.len() <= 40 => {
                        field = Some((name, String::new()));
                        depth = 2;
                    }
                    _ => return Err(malformed()),
                }
            }
            Event::Empty(e) if depth == 1 => {
                let name = std::str::from_utf8(e.name().as_ref()).map_err(|_| malformed())?.to_owned();
                if fields.insert(name, String::new()).is_some() {
                    return Err(malformed());
                }
            }
            Event::Text(t) => {
                let piece = t.decode().map_err(|_| malformed())?;
                match (&mut field, depth) {
                    (Some((_, value)), 2) if value.len() + piece.len() <= 256 => value.push_str(&piece),
                    (_, 0 | 1 | 3) if piece.trim().is_empty() => {}
                    _ => return Err(malformed()),
                }
            }
            Event::GeneralRef(r) => {
                let resolved = super::xml_reference(&r).ok_or_else(malformed)?;
                match &mut field {
                    Some((_, value)) if depth == 2 && value.len() < 256 => value.push_str(&resolved),
                    _ => return Err(malformed()),
                }
            }
            Event::End(e) => match depth {
                2 => {
                    let (name, value) = field.take().ok_or_else(malformed)?;
                    if e.name().as_ref() != name.as_bytes() || fields.insert(name, value.trim().to_owned()).is_some() {
                        return Err(malformed());
                    }
                    depth = 1;
                }
                1 => depth = 3,
                _ => return Err(malformed()),
            },
            Event::Eof if depth == 3 => return Ok(fields),
            _ => return Err(malformed()),
        }
    }
}

/// Reads Tigo's USSD request: the lookup or the payment, every field checked.
pub fn parse_ussd(body: &[u8]) -> Result<UssdRequest, Unreadable> {
    let malformed = || Unreadable("payments-error-malformed");
    let mut fields = command_fields(body)?;
    let mut take = |name: &str| fields.remove(name).filter(|v| !v.is_empty());
    let kind = take("TYPE").ok_or_else(malformed)?;
    // The payer's number "without country code": Tigo's local forms, read as any phone.
    let msisdn = take("MSISDN").and_then(|m| super::msisdn(&m)).ok_or(Unreadable("payments-error-phone"))?;
    let company = take("COMPANYNAME").filter(|c| c.len() <= 12 && c.bytes().all(|b| b.is_ascii_digit())).ok_or_else(malformed)?;
    // A control number as the parent typed it: read (and matched) like a bank's.
    let reference = take("CUSTOMERREFERENCEID")
        .filter(|r| r.len() <= 60 && !r.chars().any(char::is_control))
        .ok_or(Unreadable("payments-error-reference"))?;
    match kind.as_str() {
        "SYNC_LOOKUP_REQUEST" => Ok(UssdRequest::Lookup { msisdn, company, reference }),
        "SYNC_BILLPAY_REQUEST" => {
            let txn_id = take("TXNID").filter(|t| is_id(t)).ok_or_else(malformed)?;
            let amount_minor =
                take("AMOUNT").and_then(|a| parse_amount(&a)).filter(|a| *a > 0).ok_or(Unreadable("payments-error-amount"))?;
            let sender_name = take("SENDERNAME")
                .map(|n| n.chars().filter(|c| !c.is_control()).take(50).collect::<String>().trim().to_owned())
                .filter(|n| !n.is_empty());
            Ok(UssdRequest::BillPay { txn_id, msisdn, amount_minor, company, reference, sender_name })
        }
        _ => Err(malformed()),
    }
}

/// Text in Tigo's XML (`& < > " '` escaped; what XML forbids dropped).
fn escape(text: &str) -> String {
    crate::results::chart::escape_xml(text)
}

/// The payer's number as Tigo wrote it to us: local, `0…`.
fn local(msisdn: &str) -> String {
    msisdn.strip_prefix("255").map(|m| format!("0{m}")).unwrap_or_else(|| msisdn.to_owned())
}

/// Our answer to a lookup: `content` is what the payer's phone shows (the student and what is
/// owed); `None` when the reference is not ours to take.
pub fn lookup_reply(code: UssdCode, msisdn: &str, content: Option<&str>) -> String {
    let result = if code == UssdCode::Success { "TS" } else { "TF" };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<COMMAND><TYPE>SYNC_LOOKUP_RESPONSE</TYPE><RESULT>{result}</RESULT><ERRORCODE>{}</ERRORCODE><ERRORDESC>{}</ERRORDESC><MSISDN>{}</MSISDN><FLAG>{}</FLAG><CONTENT>{}</CONTENT></COMMAND>",
        code.code(),
        code.description(),
        escape(&local(msisdn)),
        if content.is_some() { "Y" } else { "N" },
        escape(content.unwrap_or_default()),
    )
}

/// Our answer to a payment: `TS` with our receipt as `REFID`, or `TF` with why (Tigo then
/// gives the money back). The same transaction again gets the same answer.
pub fn billpay_reply(txn_id: &str, code: UssdCode, receipt: Option<&str>, msisdn: &str, content: Option<&str>) -> String {
    let result = if code == UssdCode::Success { "TS" } else { "TF" };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<COMMAND><TYPE>SYNC_BILLPAY_RESPONSE</TYPE><TXNID>{}</TXNID><REFID>{}</REFID><RESULT>{result}</RESULT><ERRORCODE>{}</ERRORCODE><ERRORDESCRIPTION>{}</ERRORDESCRIPTION><MSISDN>{}</MSISDN><FLAG>{}</FLAG><CONTENT>{}</CONTENT></COMMAND>",
        escape(txn_id),
        escape(receipt.unwrap_or_default()),
        code.code(),
        code.description(),
        escape(&local(msisdn)),
        if content.is_some() { "Y" } else { "N" },
        escape(content.unwrap_or_default()),
    )
}

/// A reply as Tigo reads it (the simulator's side, and the tests'): the type, `RESULT`,
/// `ERRORCODE`, `REFID` and `CONTENT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UssdReply {
    pub kind: String,
    pub success: bool,
    pub code: String,
    pub refid: Option<String>,
    pub content: Option<String>,
}

pub fn parse_reply(body: &[u8]) -> Result<UssdReply, Unreadable> {
    let mut fields = command_fields(body)?;
    let mut take = |name: &str| fields.remove(name).filter(|v| !v.is_empty());
    Ok(UssdReply {
        kind: take("TYPE").ok_or(Unreadable("payments-error-malformed"))?,
        success: take("RESULT").as_deref() == Some("TS"),
        code: take("ERRORCODE").unwrap_or_default(),
        refid: take("REFID"),
        content: take("CONTENT"),
    })
}

/// A USSD request as Tigo sends it (the simulator's side).
pub fn ussd_request(request: &UssdRequest) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<COMMAND>");
    let mut field = |name: &str, value: &str| out.push_str(&format!("<{name}>{}</{name}>", escape(value)));
    match request {
        UssdRequest::Lookup { msisdn, company, reference } => {
            field("TYPE", "SYNC_LOOKUP_REQUEST");
            field("MSISDN", &local(msisdn));
            field("COMPANYNAME", company);
            field("CUSTOMERREFERENCEID", reference);
        }
        UssdRequest::BillPay { txn_id, msisdn, amount_minor, company, reference, sender_name } => {
            field("TYPE", "SYNC_BILLPAY_REQUEST");
            field("TXNID", txn_id);
            field("MSISDN", &local(msisdn));
            field("AMOUNT", &(amount_minor / 100).to_string());
            field("COMPANYNAME", company);
            field("CUSTOMERREFERENCEID", reference);
            if let Some(name) = sender_name {
                field("SENDERNAME", name);
            }
        }
    }
    out.push_str("</COMMAND>");
    out
}

#[cfg(feature = "ssr")]
pub use api::TigoApi;

#[cfg(feature = "ssr")]
mod api {
    use super::TigoCredentials;
    use crate::payments::tokens::{with_token, Tokens, Try};
    use crate::payments::PushAnswer;
    use crate::DomainError;

    fn fault(e: impl std::fmt::Display) -> DomainError {
        DomainError::Internal(format!("tigo: {e}"))
    }

    /// The push API's client: tokens (password grant) kept per partner account.
    pub struct TigoApi {
        http: reqwest::Client,
        base: String,
        tokens: Tokens,
    }

    impl std::fmt::Debug for TigoApi {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("TigoApi").field("base", &self.base).finish_non_exhaustive()
        }
    }

    impl TigoApi {
        /// `base`: Tigo's gateway (`http://accessgw.tigo.co.tz:8080`, as issued at onboarding)
        /// or the simulator's; each school's partner name completes the paths.
        pub fn new(base: &str) -> Result<Self, String> {
            let http = crate::payments::tokens::wallet_client()?;
            Ok(Self { http, base: base.trim_end_matches('/').to_owned(), tokens: Tokens::default() })
        }

        fn application(creds: &TigoCredentials) -> String {
            format!("{}/{}", creds.partner, creds.username)
        }

        async fn token(&self, creds: &TigoCredentials) -> Result<String, DomainError> {
            let application = Self::application(creds);
            if let Some(token) = self.tokens.kept(&application) {
                return Ok(token);
            }
            // A form, as the gateway takes it: encoded by the URL parser's own form encoder.
            let mut form = reqwest::Url::parse("http://form.invalid/").map_err(fault)?;
            form.query_pairs_mut()
                .append_pair("username", &creds.username)
                .append_pair("password", &creds.password)
                .append_pair("grant_type", "password");
            let resp = self
                .http
                .post(format!("{}/{}2DM-GetToken", self.base, creds.partner))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form.query().unwrap_or_default().to_owned())
                .send()
                .await
                .map_err(fault)?;
            let reply: serde_json::Value = serde_json::from_str(&resp.text().await.map_err(fault)?).map_err(fault)?;
            self.tokens.keep_reply(&application, &reply, 300).ok_or_else(|| fault("no access token"))
        }

        /// Asks the parent's phone to pay. As with the other wallets, only a push that never
        /// left or that Tigo refused fails at once; anything else waits for the callback.
        pub async fn push(&self, creds: &TigoCredentials, body: &serde_json::Value) -> Result<PushAnswer, DomainError> {
            let call = move |token: String| async move {
                let sent = self
                    .http
                    .post(format!("{}/{}2DM-PushBillpay", self.base, creds.partner))
                    .header("Content-Type", "application/json")
                    .header("Cache-Control", "no-cache")
                    .header("Authorization", format!("bearer {token}"))
                    .header("Username", &creds.username)
                    .header("Password", &creds.password)
                    .body(body.to_string())
                    .send()
                    .await;
                // Never connected: refused; any other failure: unknown; a 401: a new token
                // (the request was refused, so nothing was pushed).
                let (status, text) = match crate::payments::tokens::push_sent(sent).await {
                    Ok(answer) => answer,
                    Err(t) => return Ok(t),
                };
                let reply = serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default();
                Ok(Try::Done(match (status, reply["ResponseStatus"].as_bool()) {
                    (200..=299, Some(true)) => PushAnswer::Sent { conversation_id: None },
                    (200..=299, Some(false)) => {
                        PushAnswer::Refused(super::failure_reason(reply["ResponseDescription"].as_str().unwrap_or_default()))
                    }
                    (400..=499, _) => PushAnswer::Refused("payments-push-declined"),
                    _ => PushAnswer::Unknown,
                }))
            };
            with_token(
                &self.tokens,
                &Self::application(creds),
                || self.token(creds),
                call,
                || PushAnswer::Refused("payments-push-unavailable"),
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> TigoCredentials {
        TigoCredentials {
            username: "khss".into(),
            password: "p@ss word&1".into(),
            partner: "Khss".into(),
            biller_msisdn: "255652998877".into(),
            biller_code: "KHS".into(),
            company_number: "298765".into(),
        }
    }

    #[test]
    fn a_push_and_its_callback() {
        let c = credentials();
        assert_eq!(c.check(), Ok(()));
        assert_eq!(TigoCredentials { biller_msisdn: "0652998877".into(), ..c.clone() }.check(), Err("biller_msisdn"));
        assert_eq!(TigoCredentials { company_number: "29-87".into(), ..c.clone() }.check(), Err("company_number"));
        let reference = c.reference_id("a1b2c3");
        assert_eq!(reference, "KHSa1b2c3");
        assert_eq!(c.conversation_of(&reference), Some("a1b2c3"));
        assert_eq!(c.conversation_of("XYZa1b2c3"), None);
        assert_eq!(c.conversation_of("KHS"), None);
        let body = push_body(15_000_000, "255712345678", &c.biller_msisdn, &reference, "100012345678");
        assert_eq!(body["Amount"], 150_000);
        assert_eq!(body["CustomerMSISDN"], "255712345678");

        let paid = br#"{"Status":true,"Description":"Success","MFSTransactionID":"8C34AB11","ReferenceID":"KHSa1b2c3","Amount":"150000"}"#;
        let cb = parse_callback(paid).unwrap();
        assert!(cb.paid);
        assert_eq!(cb.amount_minor, 15_000_000);
        assert_eq!(cb.transaction_id.as_deref(), Some("8C34AB11"));
        let failed = br#"{"Status":"false","Description":"Insufficient balance","ReferenceID":"KHSa1b2c3","Amount":150000}"#;
        let cb = parse_callback(failed).unwrap();
        assert!(!cb.paid);
        assert_eq!(failure_reason(&cb.description), "payments-push-insufficient");
        for bad in [
            &br#"{"Status":true,"ReferenceID":"KHSa1","Amount":"100"}"#[..],
            br#"{"Status":1,"MFSTransactionID":"X1","ReferenceID":"KHSa1","Amount":"100"}"#,
            br#"{"Status":true,"MFSTransactionID":"X1","ReferenceID":"KHS a1","Amount":"100"}"#,
            br#"{"Status":true,"MFSTransactionID":"X1","ReferenceID":"KHSa1","Amount":"1e5"}"#,
            br#"{"Status":true,"MFSTransactionID":"X1","ReferenceID":"KHSa1","Amount":-5}"#,
            br#"{"Status":true,"MFSTransactionID":"X1","ReferenceID":"KHSa1","Amount":1e5}"#,
            br#"{"Status":true,"MFSTransactionID":"X1","ReferenceID":"KHSa1","Amount":100.5}"#,
            b"[]",
        ] {
            assert!(parse_callback(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(callback_ack("KHSa1", None)["ResponseCode"], CALLBACK_OK);
        assert_eq!(callback_ack("KHSa1", Some("no"))["ResponseStatus"], false);
    }

    #[test]
    fn ussd_requests_round_trip_and_hostile_xml_is_refused() {
        let pay = UssdRequest::BillPay {
            txn_id: "BP140218.1240.B01530".into(),
            msisdn: "255681234567".into(),
            amount_minor: 15_000_000,
            company: "298765".into(),
            reference: "100012345678".into(),
            sender_name: Some("Ada & Sons <Ltd>".into()),
        };
        assert_eq!(parse_ussd(ussd_request(&pay).as_bytes()), Ok(pay));
        let lookup = UssdRequest::Lookup { msisdn: "255681234567".into(), company: "298765".into(), reference: "100012345678".into() };
        assert_eq!(parse_ussd(ussd_request(&lookup).as_bytes()), Ok(lookup));
        let spaced = b"<?xml version=\"1.0\"?>\n<COMMAND>\n  <TYPE>SYNC_LOOKUP_REQUEST</TYPE>\n  <MSISDN>0681234567</MSISDN>\n  <COMPANYNAME>298765</COMPANYNAME>\n  <CUSTOMERREFERENCEID> 100012345678 </CUSTOMERREFERENCEID>\n</COMMAND>\n";
        assert!(matches!(parse_ussd(spaced), Ok(UssdRequest::Lookup { reference, .. }) if reference == "100012345678"));
        for bad in [
            &b""[..],
            b"<COMMAND>",
            b"<OTHER><TYPE>SYNC_LOOKUP_REQUEST</TYPE></OTHER>",
            b"<COMMAND><TYPE>SYNC_LOOKUP_REQUEST</TYPE><TYPE>SYNC_BILLPAY_REQUEST</TYPE></COMMAND>",
            b"<COMMAND><TYPE><X>1</X></TYPE></COMMAND>",
            b"<!DOCTYPE x [<!ENTITY a \"aaaa\">]><COMMAND><TYPE>&a;</TYPE></COMMAND>",
            b"<COMMAND><TYPE>SYNC_BILLPAY_REQUEST</TYPE><TXNID>T1</TXNID><MSISDN>0681234567</MSISDN><AMOUNT>1.234</AMOUNT><COMPANYNAME>298765</COMPANYNAME><CUSTOMERREFERENCEID>1</CUSTOMERREFERENCEID></COMMAND>",
            b"<COMMAND><TYPE>SYNC_LOOKUP_REQUEST</TYPE><MSISDN>0812345678</MSISDN><COMPANYNAME>298765</COMPANYNAME><CUSTOMERREFERENCEID>1</CUSTOMERREFERENCEID></COMMAND>",
            b"<COMMAND></COMMAND><COMMAND></COMMAND>",
        ] {
            assert!(parse_ussd(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let reply = billpay_reply("BP1", UssdCode::Success, Some("481"), "255681234567", Some("Ada & Juma: TZS 150,000"));
        let read = parse_reply(reply.as_bytes()).unwrap();
        assert!(read.success);
        assert_eq!((read.kind.as_str(), read.code.as_str(), read.refid.as_deref()), ("SYNC_BILLPAY_RESPONSE", "error000", Some("481")));
        assert_eq!(read.content.as_deref(), Some("Ada & Juma: TZS 150,000"));
        assert!(reply.contains("<MSISDN>0681234567</MSISDN>"), "local, as Tigo wrote it");
        let refused = parse_reply(lookup_reply(UssdCode::InvalidReference, "255681234567", None).as_bytes()).unwrap();
        assert!(!refused.success);
        assert_eq!(UssdCode::parse(&refused.code), Some(UssdCode::InvalidReference));
    }
}
