//! `payments::parse_amount`: a decimal amount as providers send it, from UTF-8 text. Never
//! panics; an amount it returns came from digits and at most one '.' with at most two
//! decimals (no signs, exponents or separators), is exact, and survives `format_amount`.
#![no_main]

use kilele::payments::{format_amount, parse_amount};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some(minor) = parse_amount(text) else { return };
    assert!(minor >= 0, "{text:?} -> {minor}");
    assert!(text.bytes().all(|b| b.is_ascii_digit() || b == b'.') && text.matches('.').count() <= 1, "{text:?} -> {minor}");
    // Exact: the digits with the decimals padded to two, read as one integer.
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    assert!(!whole.is_empty() && (1..=2).contains(&fraction.len()) == text.contains('.'), "{text:?} -> {minor}");
    let scaled: u128 = format!("{whole}{fraction:0<2}").parse().unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(scaled, minor as u128, "{text:?}");
    let written = format_amount(minor);
    assert_eq!(parse_amount(&written), Some(minor), "{text:?} -> {minor} -> {written:?}");
});
