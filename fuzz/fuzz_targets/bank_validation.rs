//! `payments::banks::parse_validation`: a bank asking who a control number is. The first byte
//! picks the bank (`byte % 3`: '0' NMB, '1' NBC, '2' CRDB), the rest is the body. Never
//! panics; both fields it returns are trimmed, non-empty and within their lengths.
#![no_main]

use kilele::payments::{banks, Provider};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let bank = Provider::BANKS[usize::from(pick % 3)];
    let Ok(request) = banks::parse_validation(bank, body) else { return };
    for (field, max) in [(&request.request_id, 64), (&request.control_number, 40)] {
        assert!(!field.is_empty() && field.chars().count() <= max, "{field:?}");
        assert_eq!(field.trim(), field.as_str());
    }
});
