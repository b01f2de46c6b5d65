//! `payments::msisdn`: a Tanzanian mobile number as people write it, from UTF-8 text. Never
//! panics; a number it returns is 12 ASCII digits, `255` then 6 or 7, reads as itself again,
//! and keeps the digits that were typed.
#![no_main]

use kilele::payments::msisdn;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some(number) = msisdn(text) else { return };
    assert!(number.len() == 12 && number.bytes().all(|b| b.is_ascii_digit()), "{text:?} -> {number:?}");
    assert!(number.starts_with("2556") || number.starts_with("2557"), "{text:?} -> {number:?}");
    assert_eq!(msisdn(&number).as_deref(), Some(number.as_str()), "{text:?}");
    assert_eq!(msisdn(&format!("0{}", &number[3..])).as_deref(), Some(number.as_str()), "{text:?}");
    let typed: String = text.chars().filter(char::is_ascii_digit).collect();
    assert!(typed.ends_with(&number[3..]), "{text:?} -> {number:?}");
});
