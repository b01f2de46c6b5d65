//! GePG, the Government Electronic Payment Gateway (API v4, docs/payments-providers.md §5):
//! government schools must collect through it. A school (a service provider, "SP") submits a
//! bill, GePG answers later with the bill's control number, the parent pays it at any bank or
//! wallet, and GePG notifies the payment. Every message travels in one envelope,
//! `<Gepg><content>…</content><gepgSignature>…</gepgSignature></Gepg>`, the signature being
//! Base64 of SHA1withRSA over the content element exactly as sent — ours with the school's
//! private key, GePG's checked with GePG's public key. We verify over the content's bytes as
//! received (the public Java client re-serialises the element to verify, which breaks on any
//! difference in whitespace or escaping); we send no whitespace between tags, as that client
//! does.
//!
//! This module reads and writes the messages; signing (RSA) is behind `ssr`.

use super::{parse_amount, Unreadable};
use chrono::{DateTime, NaiveDateTime, Utc};
use std::collections::BTreeMap;

/// The largest message we read (a payment notification is under 2 KiB).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// GePG's status codes (GP-JAVA `GepgResponseCode`, selection).
pub const OK: &str = "7101";
pub const FAILURE: &str = "7201";
pub const UNAUTHORIZED: &str = "7203";
pub const BILL_UNKNOWN: &str = "7204";
pub const INVALID_REQUEST: &str = "7242";

/// The content elements we read and write.
pub const BILL_REQUEST: &str = "gepgBillSubReq";
pub const BILL_REQUEST_ACK: &str = "gepgBillSubReqAck";
pub const BILL_RESPONSE: &str = "gepgBillSubResp";
pub const BILL_RESPONSE_ACK: &str = "gepgBillSubRespAck";
pub const PAYMENT: &str = "gepgPmtSpInfo";
pub const PAYMENT_ACK: &str = "gepgPmtSpInfoAck";

/// A message opened: which content it carries, the content exactly as it came (what the
/// signature covers), and the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub kind: String,
    pub content: &'a str,
    pub signature: String,
}

fn malformed() -> Unreadable {
    Unreadable("payments-error-malformed")
}

/// Opens an envelope, strictly: an optional XML declaration, `Gepg` holding exactly one
/// content element and then `gepgSignature`, nothing else (no DTD, no processing instruction,
/// no text outside elements but whitespace).
pub fn open(body: &[u8]) -> Result<Envelope<'_>, Unreadable> {
    use quick_xml::events::Event;
    if body.len() > MAX_BODY_BYTES {
        return Err(Unreadable("payments-error-too-large"));
    }
    let text = std::str::from_utf8(body).map_err(|_| malformed())?;
    // A byte-order mark is skipped by the reader but not by its positions: the content slice
    // must be cut from the same text the reader reads (found by the fuzz target).
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = quick_xml::Reader::from_str(text);
    // 0: before Gepg; 1: in Gepg, before the content; 2: inside the content (`depth` deep);
    // 3: after the content; 4: in gepgSignature; 5: after it; 6: after Gepg.
    let mut state = 0u8;
    let (mut depth, mut start, mut kind) = (0usize, 0usize, String::new());
    let mut content: Option<&str> = None;
    let mut signature = String::new();
    loop {
        let before = usize::try_from(reader.buffer_position()).map_err(|_| malformed())?;
        let event = reader.read_event().map_err(|_| malformed())?;
        match (state, event) {
            (0, Event::Decl(_)) => {}
            (_, Event::Text(t)) if state != 2 && state != 4 => {
                if !t.decode().map_err(|_| malformed())?.trim().is_empty() {
                    return Err(malformed());
                }
            }
            (0, Event::Start(e)) if e.name().as_ref() == b"Gepg" => state = 1,
            (1, Event::Start(e)) => {
                kind = std::str::from_utf8(e.name().as_ref()).map_err(|_| malformed())?.to_owned();
                if kind.len() > 40 || kind == "gepgSignature" {
                    return Err(malformed());
                }
                (start, depth, state) = (before, 1, 2);
            }
            (2, Event::Start(_)) => {
                depth += 1;
                if depth > 6 {
                    return Err(malformed());
                }
            }
            (2, Event::Text(_) | Event::Empty(_) | Event::GeneralRef(_) | Event::CData(_)) => {}
            (2, Event::End(_)) => {
                depth -= 1;
                if depth == 0 {
                    let end = usize::try_from(reader.buffer_position()).map_err(|_| malformed())?;
                    content = Some(text.get(start..end).ok_or_else(malformed)?);
                    state = 3;
                }
            }
            (3, Event::Start(e)) if e.name().as_ref() == b"gepgSignature" => state = 4,
            (4, Event::Text(t)) => {
                signature.push_str(&t.decode().map_err(|_| malformed())?);
                if signature.len() > 4096 {
                    return Err(malformed());
                }
            }
            // Java's MIME Base64 wraps lines, sometimes written `&#13;`.
            (4, Event::GeneralRef(r)) => match r.resolve_char_ref().map_err(|_| malformed())? {
                Some(c) if c.is_ascii_whitespace() => {}
                _ => return Err(malformed()),
            },
            (4, Event::End(_)) => state = 5,
            (5, Event::End(e)) if e.name().as_ref() == b"Gepg" => state = 6,
            (6, Event::Eof) => break,
            _ => return Err(malformed()),
        }
    }
    let content = content.ok_or_else(malformed)?;
    // The slice must be the element itself, or what was verified is not what is read.
    if !content.starts_with(&format!("<{kind}")) || !content.ends_with(&format!("</{kind}>")) {
        return Err(malformed());
    }
    let signature: String = signature.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if signature.is_empty() {
        return Err(Unreadable("payments-error-unsigned"));
    }
    Ok(Envelope { kind, content, signature })
}

/// The leaves of a content element, by path below it (`PymtTrxInf/TrxId`): text only, each
/// path once, predefined entities and character references resolved, at most 64 leaves of
/// 200 characters.
pub fn leaves(content: &str) -> Result<BTreeMap<String, String>, Unreadable> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(content);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut out = BTreeMap::new();
    loop {
        match reader.read_event().map_err(|_| malformed())? {
            Event::Start(e) => {
                path.push(std::str::from_utf8(e.name().as_ref()).map_err(|_| malformed())?.to_owned());
                text.clear();
                if path.len() > 6 {
                    return Err(malformed());
                }
            }
            Event::Empty(e) => {
                let name = std::str::from_utf8(e.name().as_ref()).map_err(|_| malformed())?.to_owned();
                let key = path.iter().skip(1).chain(std::iter::once(&name)).cloned().collect::<Vec<_>>().join("/");
                if out.insert(key, String::new()).is_some() {
                    return Err(malformed());
                }
            }
            Event::Text(t) => text.push_str(&t.decode().map_err(|_| malformed())?),
            Event::GeneralRef(r) => {
                text.push_str(&super::xml_reference(&r).ok_or_else(malformed)?);
            }
            Event::End(_) => {
                // Only a leaf keeps its text (a parent's is whitespace between its children).
                let value = std::mem::take(&mut text);
                let value = value.trim();
                if !value.is_empty() {
                    let key = path.iter().skip(1).cloned().collect::<Vec<_>>().join("/");
                    if value.len() > 200 || out.insert(key, value.to_owned()).is_some() {
                        return Err(malformed());
                    }
                }
                path.pop();
                if out.len() > 64 {
                    return Err(malformed());
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::DocType(_) | Event::PI(_) | Event::CData(_) => return Err(malformed()),
        }
    }
    Ok(out)
}

/// What GePG says of a bill it was sent (`gepgBillSubResp`): its control number, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillResponse {
    pub bill_id: String,
    /// GePG's control number (`PayCntrNum`) when the bill was accepted (`TrxSts` GS).
    pub control_number: Option<String>,
    /// `TrxStsCode` (7101 when accepted; the reason otherwise).
    pub code: String,
}

/// A payment GePG notifies (`gepgPmtSpInfo/PymtTrxInf`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentInfo {
    /// GePG's transaction id: the de-duplication key.
    pub trx_id: String,
    pub sp_code: String,
    pub bill_id: String,
    pub control_number: String,
    pub paid_minor: i64,
    pub currency: String,
    pub paid_at: DateTime<Utc>,
    /// The bank or wallet the parent paid through (`PspName`), and its receipt.
    pub psp_name: Option<String>,
    pub psp_receipt: Option<String>,
    pub payer_name: Option<String>,
    pub payer_phone: Option<String>,
}

fn id(value: Option<&String>, max: usize) -> Result<String, Unreadable> {
    let v = value.map(|v| v.trim()).filter(|v| !v.is_empty()).ok_or_else(malformed)?;
    let ok = v.len() <= max && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/' | b'.'));
    ok.then(|| v.to_owned()).ok_or_else(malformed)
}

fn optional(value: Option<&String>, max: usize) -> Option<String> {
    value.map(|v| v.trim().chars().filter(|c| !c.is_control()).take(max).collect::<String>()).filter(|v| !v.is_empty())
}

/// Reads GePG's answer about a bill.
pub fn bill_response(content: &str) -> Result<BillResponse, Unreadable> {
    let f = leaves(content)?;
    let get = |name: &str| f.get(&format!("BillTrxInf/{name}"));
    let bill_id = id(get("BillId"), 60)?;
    let code = id(get("TrxStsCode"), 20)?;
    let accepted = get("TrxSts").map(|s| s.trim()) == Some("GS");
    let control_number = if accepted {
        let n = get("PayCntrNum").map(|n| n.trim()).ok_or_else(malformed)?;
        (n.len() == 12 && n.bytes().all(|b| b.is_ascii_digit())).then(|| n.to_owned()).ok_or(Unreadable("payments-error-reference"))?
    } else {
        return Ok(BillResponse { bill_id, control_number: None, code });
    };
    Ok(BillResponse { bill_id, control_number: Some(control_number), code })
}

/// Reads a payment notification. `TrxDtTm` is East Africa Time without an offset
/// (`2025-01-14T09:30:01`); an offset given is honoured.
pub fn payment(content: &str) -> Result<PaymentInfo, Unreadable> {
    let f = leaves(content)?;
    let get = |name: &str| f.get(&format!("PymtTrxInf/{name}"));
    let control_number = get("PayCtrNum").map(|n| n.trim().to_owned()).unwrap_or_default();
    if control_number.len() != 12 || !control_number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Unreadable("payments-error-reference"));
    }
    let paid_minor = get("PaidAmt").and_then(|a| parse_amount(a.trim())).filter(|a| *a > 0).ok_or(Unreadable("payments-error-amount"))?;
    let currency = get("CCy").map(|c| c.trim().to_ascii_uppercase()).unwrap_or_default();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Unreadable("payments-error-currency"));
    }
    let when = get("TrxDtTm").map(|t| t.trim().to_owned()).unwrap_or_default();
    let paid_at = DateTime::parse_from_rfc3339(&when).map(|t| t.with_timezone(&Utc)).ok().or_else(|| {
        ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(&when, f).ok())
            .map(|t| t.and_utc() - chrono::Duration::hours(3))
    });
    let paid_at = paid_at.ok_or(Unreadable("payments-error-paid-at"))?;
    Ok(PaymentInfo {
        trx_id: id(get("TrxId"), 100).map_err(|_| Unreadable("payments-error-transaction-ref"))?,
        sp_code: id(get("SpCode"), 20)?,
        bill_id: id(get("BillId"), 60)?,
        control_number,
        paid_minor,
        currency,
        paid_at,
        psp_name: optional(get("PspName"), 60),
        psp_receipt: optional(get("PspReceiptNumber"), 60),
        payer_name: optional(get("PyrName"), 100),
        payer_phone: optional(get("PyrCellNum"), 20),
    })
}

/// The code of an acknowledgement (`<gepgBillSubReqAck><TrxStsCode>7101</TrxStsCode>…`).
pub fn ack_code(content: &str) -> Result<String, Unreadable> {
    id(leaves(content)?.get("TrxStsCode"), 20)
}

/// Text in GePG's XML (`& < > " '` escaped; what XML forbids dropped).
fn escape(text: &str) -> String {
    crate::results::chart::escape_xml(text)
}

/// An acknowledgement's content: `<{kind}><TrxStsCode>{code}</TrxStsCode></{kind}>`.
pub fn ack(kind: &str, code: &str) -> String {
    format!("<{kind}><TrxStsCode>{}</TrxStsCode></{kind}>", escape(code))
}

/// The envelope around signed content.
pub fn envelope(content: &str, signature: &str) -> String {
    format!("<Gepg>{content}<gepgSignature>{}</gepgSignature></Gepg>", escape(signature))
}

/// A bill to submit: one item, what the student owes, payable in parts (`BillPayOpt` 2), with
/// its reminders on (`RemFlag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    pub sp_code: String,
    pub sub_sp_code: String,
    pub sp_sys_id: String,
    pub gfs_code: String,
    /// Ours, unique: the bill's id at GePG.
    pub bill_id: String,
    pub amount_minor: i64,
    pub expires_at: DateTime<Utc>,
    pub generated_at: DateTime<Utc>,
    /// The payer: the student's admission number and name; the guardian's phone and email.
    pub payer_id: String,
    pub payer_name: String,
    pub payer_phone: String,
    pub payer_email: String,
    pub description: String,
    pub generated_by: String,
}

fn amount(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// GePG's times: East Africa Time, no offset.
fn eat(t: DateTime<Utc>) -> String {
    (t + chrono::Duration::hours(3)).format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// The content of a bill submission (`gepgBillSubReq`).
pub fn bill_request(b: &Bill) -> String {
    let e = escape;
    let a = amount(b.amount_minor);
    format!(
        "<gepgBillSubReq><BillHdr><SpCode>{}</SpCode><RtrRespFlg>true</RtrRespFlg></BillHdr><BillTrxInf><BillId>{}</BillId>\
         <SubSpCode>{}</SubSpCode><SpSysId>{}</SpSysId><BillAmt>{a}</BillAmt><MiscAmt>0</MiscAmt><BillExprDt>{}</BillExprDt>\
         <PyrId>{}</PyrId><PyrName>{}</PyrName><BillDesc>{}</BillDesc><BillGenDt>{}</BillGenDt><BillGenBy>{}</BillGenBy>\
         <BillApprBy>{}</BillApprBy><PyrCellNum>{}</PyrCellNum><PyrEmail>{}</PyrEmail><Ccy>TZS</Ccy><BillEqvAmt>{a}</BillEqvAmt>\
         <RemFlag>true</RemFlag><BillPayOpt>2</BillPayOpt><BillItems><BillItem><BillItemRef>{}</BillItemRef>\
         <UseItemRefOnPay>N</UseItemRefOnPay><BillItemAmt>{a}</BillItemAmt><BillItemEqvAmt>{a}</BillItemEqvAmt>\
         <BillItemMiscAmt>0</BillItemMiscAmt><GfsCode>{}</GfsCode></BillItem></BillItems></BillTrxInf></gepgBillSubReq>",
        e(&b.sp_code),
        e(&b.bill_id),
        e(&b.sub_sp_code),
        e(&b.sp_sys_id),
        eat(b.expires_at),
        e(&b.payer_id),
        e(&b.payer_name),
        e(&b.description),
        eat(b.generated_at),
        e(&b.generated_by),
        e(&b.generated_by),
        e(&b.payer_phone),
        e(&b.payer_email),
        e(&b.bill_id),
        e(&b.gfs_code),
    )
}

/// A bill submission's fields as GePG reads them (the simulator's side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillRequested {
    pub sp_code: String,
    pub bill_id: String,
    pub amount_minor: i64,
    pub payer_phone: Option<String>,
    pub payer_name: Option<String>,
}

/// Reads a bill submission (the simulator's side; one bill item).
pub fn bill_requested(content: &str) -> Result<BillRequested, Unreadable> {
    let f = leaves(content)?;
    Ok(BillRequested {
        sp_code: id(f.get("BillHdr/SpCode"), 20)?,
        bill_id: id(f.get("BillTrxInf/BillId"), 60)?,
        amount_minor: f
            .get("BillTrxInf/BillAmt")
            .and_then(|a| parse_amount(a.trim()))
            .filter(|a| *a > 0)
            .ok_or(Unreadable("payments-error-amount"))?,
        payer_phone: optional(f.get("BillTrxInf/PyrCellNum"), 20),
        payer_name: optional(f.get("BillTrxInf/PyrName"), 100),
    })
}

/// The content of GePG's answer about a bill (the simulator's side).
pub fn bill_response_content(bill_id: &str, control_number: Option<&str>, code: &str) -> String {
    let (status, number) = match control_number {
        Some(n) => ("GS", n),
        None => ("GF", "0"),
    };
    format!(
        "<gepgBillSubResp><BillTrxInf><BillId>{}</BillId><TrxSts>{status}</TrxSts><PayCntrNum>{}</PayCntrNum><TrxStsCode>{}</TrxStsCode></BillTrxInf></gepgBillSubResp>",
        escape(bill_id),
        escape(number),
        escape(code)
    )
}

/// The content of a payment notification (the simulator's side).
pub fn payment_content(p: &PaymentInfo) -> String {
    let e = escape;
    format!(
        "<gepgPmtSpInfo><PymtTrxInf><TrxId>{}</TrxId><SpCode>{}</SpCode><PayRefId>{}</PayRefId><BillId>{}</BillId>\
         <PayCtrNum>{}</PayCtrNum><BillAmt>{}</BillAmt><PaidAmt>{}</PaidAmt><BillPayOpt>2</BillPayOpt><CCy>{}</CCy>\
         <TrxDtTm>{}</TrxDtTm><UsdPayChnl>MNO</UsdPayChnl><PyrCellNum>{}</PyrCellNum><PyrName>{}</PyrName><PyrEmail></PyrEmail>\
         <PspReceiptNumber>{}</PspReceiptNumber><PspName>{}</PspName><CtrAccNum>0150000000</CtrAccNum></PymtTrxInf></gepgPmtSpInfo>",
        e(&p.trx_id),
        e(&p.sp_code),
        e(&p.trx_id),
        e(&p.bill_id),
        e(&p.control_number),
        amount(p.paid_minor),
        amount(p.paid_minor),
        e(&p.currency),
        eat(p.paid_at),
        e(p.payer_phone.as_deref().unwrap_or_default()),
        e(p.payer_name.as_deref().unwrap_or_default()),
        e(p.psp_receipt.as_deref().unwrap_or_default()),
        e(p.psp_name.as_deref().unwrap_or_default()),
    )
}

/// SHA1withRSA, as GePG signs and verifies (PKCS#1 v1.5).
#[cfg(feature = "ssr")]
pub mod signature {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
    use rsa::signature::{RandomizedSigner, SignatureEncoding, Verifier};

    /// Base64 of the signature of `content` with `key` (blinded: the private-key operation's
    /// time tells nothing of the key).
    pub fn sign(key: &rsa::RsaPrivateKey, content: &str) -> String {
        let signing = SigningKey::<sha1::Sha1>::new(key.clone());
        STANDARD.encode(signing.sign_with_rng(&mut rand::thread_rng(), content.as_bytes()).to_vec())
    }

    /// Whether `signature` (Base64) is `key`'s over `content`, byte for byte.
    pub fn verify(key: &rsa::RsaPublicKey, content: &str, signature: &str) -> bool {
        let compact: String = signature.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let Ok(bytes) = STANDARD.decode(compact) else { return false };
        let Ok(signature) = Signature::try_from(bytes.as_slice()) else { return false };
        VerifyingKey::<sha1::Sha1>::new(key.clone()).verify(content.as_bytes(), &signature).is_ok()
    }
}

/// A school's GePG account (its credentials, sealed like the wallets'): the service provider
/// codes GePG issued at onboarding, the revenue (GFS) code its bills carry, and the private key
/// it signs with (PEM, PKCS#8 or PKCS#1; GePG holds the public half).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GepgCredentials {
    pub sp_code: String,
    pub sub_sp_code: String,
    pub sp_sys_id: String,
    pub gfs_code: String,
    pub private_key_pem: String,
}

impl std::fmt::Debug for GepgCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GepgCredentials").field("sp_code", &self.sp_code).finish_non_exhaustive()
    }
}

impl GepgCredentials {
    /// What is wrong with the codes, field by field (the key is read by [`GepgCredentials::key`]).
    pub fn check(&self) -> Result<(), &'static str> {
        let code = |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric());
        if !code(&self.sp_code, 20) {
            return Err("sp_code");
        }
        if !code(&self.sub_sp_code, 20) {
            return Err("sub_sp_code");
        }
        if !code(&self.sp_sys_id, 30) {
            return Err("sp_sys_id");
        }
        if !code(&self.gfs_code, 20) {
            return Err("gfs_code");
        }
        Ok(())
    }
}

#[cfg(feature = "ssr")]
pub use client::{GepgApi, GepgSettings};

#[cfg(feature = "ssr")]
mod client {
    use super::{open, GepgCredentials, BILL_REQUEST_ACK};
    use crate::DomainError;

    impl GepgCredentials {
        /// The school's signing key.
        pub fn key(&self) -> Result<rsa::RsaPrivateKey, DomainError> {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            use rsa::pkcs8::DecodePrivateKey;
            rsa::RsaPrivateKey::from_pkcs8_pem(&self.private_key_pem)
                .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(&self.private_key_pem))
                .map_err(|e| DomainError::Internal(format!("gepg key: {e}")))
        }
    }

    /// Where GePG is and how it signs (per deployment: the UAT host and key in development, the
    /// live ones in production).
    #[derive(Debug, Clone)]
    pub struct GepgSettings {
        /// Up to the paths: `https://uat1.gepg.go.tz`.
        pub base_url: String,
        /// GePG's public key (DER SubjectPublicKeyInfo).
        pub public_key_der: Vec<u8>,
    }

    /// GePG's client: submits bills, and checks what GePG signed.
    pub struct GepgApi {
        http: reqwest::Client,
        base: String,
        key: rsa::RsaPublicKey,
    }

    impl std::fmt::Debug for GepgApi {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("GepgApi").field("base", &self.base).finish_non_exhaustive()
        }
    }

    fn fault(e: impl std::fmt::Display) -> DomainError {
        DomainError::Internal(format!("gepg: {e}"))
    }

    impl GepgApi {
        pub fn new(settings: &GepgSettings) -> Result<Self, String> {
            use rsa::pkcs8::DecodePublicKey;
            let key = rsa::RsaPublicKey::from_public_key_der(&settings.public_key_der).map_err(|e| format!("the GePG public key: {e}"))?;
            let http = crate::payments::tokens::wallet_client()?;
            Ok(Self { http, base: settings.base_url.trim_end_matches('/').to_owned(), key })
        }

        /// Whether GePG signed `content` (the content element exactly as received).
        pub fn signed_by_gepg(&self, content: &str, signature: &str) -> bool {
            super::signature::verify(&self.key, content, signature)
        }

        /// Submits a bill (`POST /api/bill/sigqrequest`, `Gepg-Com: default.sp.in`), signed with
        /// the school's key. Returns GePG's acknowledgement code (7101: received; the control
        /// number comes later to the school's webhook).
        pub async fn submit(&self, creds: &GepgCredentials, bill: &super::Bill) -> Result<String, DomainError> {
            let key = creds.key()?;
            let content = super::bill_request(bill);
            let body = super::envelope(&content, &super::signature::sign(&key, &content));
            let resp = self
                .http
                .post(format!("{}/api/bill/sigqrequest", self.base))
                .header("Content-Type", "application/xml")
                .header("Gepg-Com", "default.sp.in")
                .header("Gepg-Code", &creds.sp_code)
                .body(body)
                .send()
                .await
                .map_err(fault)?;
            let text = resp.bytes().await.map_err(fault)?;
            let answer = open(&text).map_err(|e| fault(e.0))?;
            if answer.kind != BILL_REQUEST_ACK || !self.signed_by_gepg(answer.content, &answer.signature) {
                return Err(fault("an acknowledgement not signed by GePG"));
            }
            super::ack_code(answer.content).map_err(|e| fault(e.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_payment() -> PaymentInfo {
        PaymentInfo {
            trx_id: "GEPG-TRX-0001".into(),
            sp_code: "SP19988".into(),
            bill_id: "KHSS-B-0001".into(),
            control_number: "991100012345".into(),
            paid_minor: 15_000_050,
            currency: "TZS".into(),
            paid_at: DateTime::parse_from_rfc3339("2026-12-07T06:30:01Z").unwrap().with_timezone(&Utc),
            psp_name: Some("NMB Bank".into()),
            psp_receipt: Some("NMB-778899".into()),
            payer_name: Some("Mama <Juma> & Co".into()),
            payer_phone: Some("255712345678".into()),
        }
    }

    #[test]
    fn a_payment_notification_round_trips_through_its_envelope() {
        let content = payment_content(&sample_payment());
        let body = envelope(&content, "c2lnbmF0dXJl");
        let opened = open(body.as_bytes()).unwrap();
        assert_eq!((opened.kind.as_str(), opened.content, opened.signature.as_str()), (PAYMENT, content.as_str(), "c2lnbmF0dXJl"));
        let read = payment(opened.content).unwrap();
        assert_eq!(read, sample_payment(), "escaped text comes back as written; the time is East Africa Time");
        // With a declaration and whitespace between the parts, as other senders write it.
        let spaced =
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Gepg>\n  {content}\n  <gepgSignature>c2ln</gepgSignature>\n</Gepg>\n");
        assert_eq!(open(spaced.as_bytes()).unwrap().content, content, "the content exactly as sent");
        // A byte-order mark first; a signature wrapped in lines (one `&#13;`), fractional seconds.
        let marked = format!("\u{feff}\u{feff}<Gepg>{content}<gepgSignature>c2ln\nbmF0&#13;\ndXJl</gepgSignature></Gepg>");
        let opened = open(marked.as_bytes()).unwrap();
        assert_eq!((opened.content, opened.signature.as_str()), (content.as_str(), "c2lnbmF0dXJl"));
        let fraction = payment(&content.replace("2026-12-07T09:30:01", "2026-12-07T09:30:01.250")).unwrap();
        assert_eq!(fraction.paid_at.timestamp(), sample_payment().paid_at.timestamp());
    }

    #[test]
    fn anything_else_is_refused() {
        let content = payment_content(&sample_payment());
        let cases = [
            format!("<Gepg>{content}</Gepg>"),
            format!("<Gepg>{content}<gepgSignature></gepgSignature></Gepg>"),
            format!("<Gepg>{content}{content}<gepgSignature>x</gepgSignature></Gepg>"),
            format!("<Gepg><gepgSignature>x</gepgSignature>{content}</Gepg>"),
            format!("<!DOCTYPE x [<!ENTITY a \"b\">]><Gepg>{content}<gepgSignature>x</gepgSignature></Gepg>"),
            format!("<Gepg>{content}<gepgSignature>x</gepgSignature></Gepg><Gepg/>"),
            format!("<Other>{content}<gepgSignature>x</gepgSignature></Other>"),
            format!("<Gepg>text{content}<gepgSignature>x</gepgSignature></Gepg>"),
            "<Gepg><gepgPmtSpInfo><PymtTrxInf>".to_owned(),
        ];
        for case in &cases {
            assert!(open(case.as_bytes()).is_err(), "{case}");
        }
        assert!(open(&vec![b' '; MAX_BODY_BYTES + 1]).is_err());
        // A field twice, an entity of its own, a bad amount, a bad control number.
        let twice = content.replace("<TrxId>GEPG-TRX-0001</TrxId>", "<TrxId>A</TrxId><TrxId>B</TrxId>");
        assert!(payment(&twice).is_err());
        assert!(payment(&content.replace("GEPG-TRX-0001", "&own;")).is_err());
        assert_eq!(payment(&content.replace("150000.50", "-1")).unwrap_err().0, "payments-error-amount");
        assert_eq!(payment(&content.replace("991100012345", "99110001234")).unwrap_err().0, "payments-error-reference");
        assert_eq!(payment(&content.replace("2026-12-07T09:30:01", "yesterday")).unwrap_err().0, "payments-error-paid-at");
    }

    #[test]
    fn bills_and_their_answers() {
        let bill = Bill {
            sp_code: "SP19988".into(),
            sub_sp_code: "1001".into(),
            sp_sys_id: "TKILELE001".into(),
            gfs_code: "140316".into(),
            bill_id: "KHSS-B-0001".into(),
            amount_minor: 45_000_000,
            expires_at: DateTime::parse_from_rfc3339("2027-03-31T21:00:00Z").unwrap().with_timezone(&Utc),
            generated_at: DateTime::parse_from_rfc3339("2026-12-07T06:00:00Z").unwrap().with_timezone(&Utc),
            payer_id: "KHSS/2024/017".into(),
            payer_name: "Juma & Amina".into(),
            payer_phone: "255712345678".into(),
            payer_email: String::new(),
            description: "School fees, Term 1 2027".into(),
            generated_by: "Kilele".into(),
        };
        let content = bill_request(&bill);
        assert!(content.contains("<BillAmt>450000.00</BillAmt>") && content.contains("<BillExprDt>2027-04-01T00:00:00</BillExprDt>"));
        let read = bill_requested(&content).unwrap();
        assert_eq!((read.sp_code.as_str(), read.bill_id.as_str(), read.amount_minor), ("SP19988", "KHSS-B-0001", 45_000_000));
        assert_eq!(read.payer_name.as_deref(), Some("Juma & Amina"));
        let answer = bill_response(&bill_response_content("KHSS-B-0001", Some("991100012345"), OK)).unwrap();
        assert_eq!(answer, BillResponse { bill_id: "KHSS-B-0001".into(), control_number: Some("991100012345".into()), code: OK.into() });
        let refused = bill_response(&bill_response_content("KHSS-B-0002", None, "7226")).unwrap();
        assert_eq!((refused.control_number, refused.code.as_str()), (None, "7226"));
        assert_eq!(ack_code(&ack(PAYMENT_ACK, OK)).unwrap(), OK);
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn signatures_hold_over_the_content_byte_for_byte() {
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        let other = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        let content = payment_content(&sample_payment());
        let sig = signature::sign(&key, &content);
        assert!(signature::verify(&key.to_public_key(), &content, &sig));
        assert!(!signature::verify(&other.to_public_key(), &content, &sig), "another key");
        assert!(!signature::verify(&key.to_public_key(), &content.replace("150000.50", "950000.50"), &sig), "tampered");
        assert!(!signature::verify(&key.to_public_key(), &format!(" {content}"), &sig), "not re-serialised");
        assert!(!signature::verify(&key.to_public_key(), &content, "not base64!"));
    }
}
