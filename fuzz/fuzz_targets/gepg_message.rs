//! `payments::gepg`: GePG's envelope and the messages inside it (a payment notification, a
//! bill's answer, an acknowledgement). Never panics; an opened envelope's content is a slice
//! of the body that starts and ends with its own element; a payment read has a positive
//! amount and a twelve-digit control number, and written back (`payment_content`) reads as
//! the same payment.
#![no_main]

use kilele::payments::gepg::{ack_code, bill_response, open, payment, payment_content};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(opened) = open(data) else { return };
    assert!(opened.content.starts_with(&format!("<{}", opened.kind)), "{opened:?}");
    assert!(opened.content.ends_with('>'), "{opened:?}");
    assert!(!opened.signature.is_empty());
    if let Ok(p) = payment(opened.content) {
        assert!(p.paid_minor > 0 && p.control_number.len() == 12 && p.control_number.bytes().all(|b| b.is_ascii_digit()), "{p:?}");
        let again = payment(&payment_content(&p)).unwrap_or_else(|e| panic!("written back, it does not read: {e}: {p:?}"));
        assert_eq!(again.trx_id, p.trx_id);
        assert_eq!((again.paid_minor, again.control_number.as_str(), again.paid_at), (p.paid_minor, p.control_number.as_str(), p.paid_at));
    }
    let _ = bill_response(opened.content);
    let _ = ack_code(opened.content);
});
