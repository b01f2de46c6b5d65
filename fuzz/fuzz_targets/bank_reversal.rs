//! `payments::banks::parse_reversal`: a bank taking back a payment. The first byte picks the
//! bank (`byte % 3`), the rest is the body. Never panics; a reversal it returns names an
//! original other than itself, both stored as slip references, a positive amount, and reads
//! back the same from the body the simulator would send for it.
#![no_main]

use chrono::Datelike;
use kilele::payments::{banks, Provider};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let bank = Provider::BANKS[usize::from(pick % 3)];
    let Ok(r) = banks::parse_reversal(bank, body) else { return };
    assert_eq!(r.provider, bank);
    for id in [&r.transaction_id, &r.original] {
        assert_eq!(kilele::finance::slip_reference(id).as_deref(), Some(id.as_str()), "not a stored slip reference: {id:?}");
    }
    assert_ne!(r.transaction_id, r.original, "a reversal of itself");
    assert!(r.amount_minor > 0 && r.reason.chars().count() <= 200, "{r:?}");
    // Years beyond four digits do not survive RFC 3339 (as in bank_notification).
    if r.currency == "TZS" && (1..=9998).contains(&r.reversed_at.year()) {
        let again = banks::reversal_body(bank, &r.transaction_id, &r.original, r.amount_minor, r.reversed_at, &r.reason);
        let again = banks::parse_reversal(bank, &serde_json::to_vec(&again).unwrap_or_default())
            .unwrap_or_else(|e| panic!("the simulator's body for it does not read: {e}: {r:?}"));
        // A reason cut at 200 characters may end in a space, which reading trims.
        assert_eq!(again, banks::Reversal { reason: r.reason.trim().to_owned(), ..r.clone() });
    }
});
