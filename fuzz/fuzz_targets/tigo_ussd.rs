//! `payments::tigo::parse_ussd`: Tigo's USSD bill-pay XML (the lookup and the payment). Never
//! panics; what it takes has a phone read as a Tanzanian mobile number, a numeric business
//! number, a positive amount for a payment, and writes back (`ussd_request`) to a document
//! that reads as the same request.
#![no_main]

use kilele::payments::tigo::{parse_ussd, ussd_request, UssdRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(asked) = parse_ussd(data) else { return };
    assert!(asked.msisdn().len() == 12 && asked.msisdn().starts_with("255"), "{asked:?}");
    assert!(!asked.company().is_empty() && asked.company().bytes().all(|b| b.is_ascii_digit()), "{asked:?}");
    if let UssdRequest::BillPay { amount_minor, .. } = &asked {
        assert!(*amount_minor > 0, "{asked:?}");
    }
    // Whole shillings survive the round trip; cents are Tigo's to send, never ours.
    if !matches!(&asked, UssdRequest::BillPay { amount_minor, .. } if amount_minor % 100 != 0) {
        let again = parse_ussd(ussd_request(&asked).as_bytes()).unwrap_or_else(|e| panic!("written back, it does not read: {e}: {asked:?}"));
        assert_eq!(again, asked);
    }
});
