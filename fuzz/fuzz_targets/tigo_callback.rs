//! `payments::tigo::parse_callback`: a push's result as Tigo posts it (unsigned JSON). Never
//! panics; a result it takes has a well-formed reference, a positive amount read exactly, and
//! a transaction id whenever it says paid.
#![no_main]

use kilele::payments::tigo::parse_callback;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(c) = parse_callback(data) else { return };
    assert!(!c.reference_id.is_empty() && c.reference_id.len() <= 64, "{c:?}");
    assert!(c.amount_minor > 0, "{c:?}");
    assert!(!c.paid || c.transaction_id.as_ref().is_some_and(|t| !t.is_empty()), "paid without Tigo's id: {c:?}");
});
