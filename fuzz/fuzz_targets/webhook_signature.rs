//! Standard-Webhooks signing of our outgoing deliveries: any secret, id, time and body gives
//! one `v1,<base64>` per usable secret and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use techverse::domain::webhook::signature;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\n');
    let secret = parts.next().unwrap_or_default();
    let id = parts.next().unwrap_or_default();
    let timestamp = parts
        .next()
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap_or(0);
    let body = parts.next().unwrap_or_default();
    let header = signature(
        &[secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        id,
        timestamp,
        body,
    );
    for part in header.split(' ') {
        assert!(part.starts_with("v1,"), "{header}");
        assert_eq!(part.len(), "v1,".len() + 44, "{header}");
    }
    assert!(!header.is_empty(), "the valid secret always signs");
});
