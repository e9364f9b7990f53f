//! The Stripe webhook: a `Stripe-Signature` header and a body. Any header is refused or
//! accepted without a panic; a body signed with our secret always verifies; any body is read
//! into an event or refused as malformed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use techverse::app::payments::read_delivery;
use techverse::payments::signature::{self, TOLERANCE_SECS};

const SECRET: &str = "whsec_fuzz";

fuzz_target!(|data: &[u8]| {
    // The first line is the header, the rest the body.
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (header, body) = (&data[..split], data.get(split + 1..).unwrap_or_default());
    let secrets = vec![SECRET.to_owned()];
    let now = 1_700_000_000;
    if let Ok(header) = std::str::from_utf8(header)
        && let Ok(signed) = signature::verify(Some(header), body, &secrets, now)
    {
        assert!((now - signed).abs() <= TOLERANCE_SECS);
    }
    let honest = signature::sign(body, SECRET, now);
    assert_eq!(
        signature::verify(Some(&honest), body, &secrets, now),
        Ok(now)
    );
    let _ = read_delivery(body);
});
