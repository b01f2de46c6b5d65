//! `payments::banks::parse_notification`: a bank's payment notification. The first byte picks
//! the bank (`byte % 3`: '0' NMB, '1' NBC, '2' CRDB), the rest is the body. Never panics; an
//! event it returns keeps the rules the parser promises, and reads back the same from the
//! body the simulator would send for it.
#![no_main]

use chrono::Datelike;
use kilele::payments::{banks, format_amount, parse_amount, Provider};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let bank = Provider::BANKS[usize::from(pick % 3)];
    let Ok(event) = banks::parse_notification(bank, body) else { return };

    assert_eq!(event.provider, bank);
    // The de-duplication key, stored as a bursar's slip reference is.
    let id = &event.transaction_id;
    assert!(!id.is_empty() && id.len() <= 60, "{id:?}");
    assert_eq!(kilele::finance::slip_reference(id).as_deref(), Some(id.as_str()), "not a stored slip reference");
    assert!(!event.reference.is_empty() && event.reference.chars().count() <= 40, "{:?}", event.reference);
    assert_eq!(event.reference.trim(), event.reference);
    assert!(event.amount_minor > 0, "{}", event.amount_minor);
    assert_eq!(parse_amount(&format_amount(event.amount_minor)), Some(event.amount_minor));
    let c = &event.currency;
    assert!(!c.is_empty() && c.chars().count() <= 3 && *c == c.to_ascii_uppercase(), "{c:?}");
    for (value, max) in [(&event.payer_name, 120), (&event.payer_phone, 20)] {
        if let Some(v) = value {
            assert!(!v.trim().is_empty() && v.chars().count() <= max, "{v:?}");
        }
    }

    // What the simulator would send for this event reads back as the same event. RFC 3339 has
    // four-digit years only: a time whose year leaves them in East Africa Time cannot go back.
    if !(1..=9998).contains(&event.paid_at.year()) {
        return;
    }
    let again = banks::notification_body(
        bank,
        id,
        &event.reference,
        event.amount_minor,
        event.paid_at,
        event.payer_name.as_deref().unwrap_or(""),
        event.payer_phone.as_deref(),
    )
    .to_string();
    let back = banks::parse_notification(bank, again.as_bytes()).unwrap_or_else(|e| panic!("{again} unreadable: {e}"));
    assert_eq!(
        (&back.transaction_id, &back.reference, back.amount_minor, back.paid_at, back.currency.as_str()),
        (id, &event.reference, event.amount_minor, event.paid_at, "TZS"),
        "{again}"
    );
    let trimmed = |v: &Option<String>| v.as_deref().map(str::trim).map(str::to_owned);
    assert_eq!((trimmed(&back.payer_name), trimmed(&back.payer_phone)), (trimmed(&event.payer_name), trimmed(&event.payer_phone)));
});
