//! `payments::mpesa::parse_result`: the result of a push that M-Pesa OpenAPI sends us. Never
//! panics; a result it takes has well-formed ids (a transaction id unless the push failed;
//! the result code may be empty, a failure: docs/payments-providers.md §1.9), a description
//! of at most 256 bytes, and reads back the same once serialised again.
#![no_main]

use kilele::payments::mpesa::{parse_result, OK};
use libfuzzer_sys::fuzz_target;

/// The parser's rule for OpenAPI's ids: letters, digits, `-`, `_`, `.` (1–64).
fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fuzz_target!(|data: &[u8]| {
    let Ok(result) = parse_result(data) else { return };
    assert!(is_id(&result.original_conversation_id), "{result:?}");
    assert!(is_id(&result.third_party_conversation_id), "{result:?}");
    assert!(result.result_code.is_empty() || is_id(&result.result_code), "{result:?}");
    assert!(result.result_code != OK || is_id(&result.transaction_id), "a successful push without a transaction: {result:?}");
    assert!(result.result_desc.len() <= 256, "{result:?}");
    let again = serde_json::to_vec(&result).unwrap_or_else(|e| panic!("{result:?} not serialisable: {e}"));
    assert_eq!(parse_result(&again).as_ref(), Ok(&result));
});
