//! The catalogue search tokenizer: any query text splits into non-empty words, each found
//! again by the prefix match, whose indexed prefix is one the index stores, without a panic
//! (multi-byte and case-changing text included).
#![no_main]

use libfuzzer_sys::fuzz_target;
use techverse::domain::search::{has_word_prefix, indexed_prefix, prefixes, words};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let stored = prefixes([text.as_ref()]);
    for (n, word) in words(&text).enumerate() {
        assert!(!word.is_empty());
        assert!(has_word_prefix([text.as_ref()], &word), "{word:?}");
        let prefix = indexed_prefix(&word);
        assert!(word.starts_with(&prefix), "{word:?} / {prefix:?}");
        if n < 400 {
            assert!(
                stored.binary_search(&prefix).is_ok(),
                "{prefix:?} is not indexed"
            );
        }
    }
});
