//! Upload type sniffing: any bytes are one of the four image types (by their signature) or
//! refused; a recognised type always has its extension and content type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use techverse::media::{ImageKind, served_type};

fuzz_target!(|data: &[u8]| {
    if let Some(kind) = ImageKind::sniff(data) {
        let name = format!("x.{}", kind.extension());
        assert_eq!(served_type(&name), Some(kind.content_type()));
    }
    let _ = served_type(&String::from_utf8_lossy(data));
});
