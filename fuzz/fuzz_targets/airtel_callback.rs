//! `payments::airtel::parse_callback`: the callback Airtel Money sends us. Never panics; a
//! callback it takes has a well-formed id and one of Airtel's status codes, and `signed` (what
//! the hash is checked over) is a JSON object, exactly a part of the body as sent, that reads
//! back as the same transaction.
#![no_main]

use kilele::payments::airtel::{parse_callback, CallbackTransaction};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(c) = parse_callback(data) else { return };
    assert!(["TS", "TF", "TA", "TIP", "TE"].contains(&c.transaction.status_code.as_str()), "{c:?}");
    assert!(!c.transaction.id.is_empty() && c.transaction.id.len() <= 64, "{c:?}");
    let body = std::str::from_utf8(data).unwrap_or_else(|_| panic!("taken but not UTF-8"));
    assert!(body.contains(&c.signed), "the signed bytes are the body's own: {c:?}");
    let again: CallbackTransaction = serde_json::from_str(&c.signed).unwrap_or_else(|e| panic!("signed part does not read: {e}: {c:?}"));
    assert_eq!(again, c.transaction, "the signed part is the transaction read");
});
