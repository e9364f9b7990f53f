//! Search text as plain words: what a product can be found by, every word as a prefix, and a
//! ranking (title, then brand and tags) — shared by the MongoDB adapter's prefix index and the
//! staff product list. No query syntax, no regex: user text only ever becomes plain words.

use std::collections::BTreeSet;

use super::catalog::Product;

/// Lower-case words of a text (letters and digits only).
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// The longest prefix stored per word; a longer query word is matched on its first
/// `PREFIX_CHARS` characters by the index and then checked whole (see [`has_word_prefix`]).
pub const PREFIX_CHARS: usize = 20;

/// Every prefix (1–20 characters) of every word.
pub fn prefixes<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out = BTreeSet::new();
    for text in texts {
        for word in words(text).take(400) {
            let chars: Vec<char> = word.chars().collect();
            for end in 1..=chars.len().min(PREFIX_CHARS) {
                out.insert(chars[..end].iter().collect::<String>());
            }
        }
    }
    out.into_iter().collect()
}

/// A query word as the prefix index holds it.
pub fn indexed_prefix(word: &str) -> String {
    word.chars().take(PREFIX_CHARS).collect()
}

/// Whether some word of `texts` starts with `wanted` (lower-case).
pub fn has_word_prefix<'a>(texts: impl IntoIterator<Item = &'a str>, wanted: &str) -> bool {
    texts
        .into_iter()
        .any(|text| words(text).any(|w| w.starts_with(wanted)))
}

/// Every text a shopper's search looks in (as the embedded index does): title, tags,
/// description, brand, spec values, SKUs and option values.
pub fn searchable_texts(product: &Product) -> Vec<String> {
    let mut texts = vec![
        product.title.clone(),
        product.tags.join(" "),
        product.description.clone(),
    ];
    texts.extend(product.brand.clone());
    texts.extend(
        product
            .specs
            .iter()
            .flat_map(|g| g.specs.iter().map(|s| s.value.clone())),
    );
    texts.extend(product.variants.iter().map(|v| v.sku.clone()));
    texts.extend(
        product
            .variants
            .iter()
            .flat_map(|v| v.options.iter().cloned()),
    );
    texts
}

/// Ranks matches like the embedded index weights its columns: title, then brand and tags.
pub fn score(product: &Product, words: &[String]) -> i64 {
    let title: Vec<String> = self::words(&product.title).collect();
    let brand: Vec<String> = product
        .brand
        .as_deref()
        .map(|b| self::words(b).collect())
        .unwrap_or_default();
    let tags: Vec<String> = product
        .tags
        .iter()
        .flat_map(|t| self::words(t).collect::<Vec<_>>())
        .collect();
    words
        .iter()
        .map(|w| {
            let hits =
                |list: &[String]| list.iter().filter(|x| x.starts_with(w.as_str())).count() as i64;
            10 * hits(&title) + 4 * hits(&brand) + 2 * hits(&tags) + 1
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_cover_every_word_start_in_lower_case() {
        let found = prefixes(["iPhone 15", "USB-C"]);
        for expected in ["i", "ip", "iphone", "1", "15", "u", "usb", "c"] {
            assert!(
                found.contains(&expected.to_owned()),
                "{expected} in {found:?}"
            );
        }
        assert!(!found.contains(&"phone".to_owned()));
    }

    #[test]
    fn a_long_word_is_found_whole_or_by_a_long_prefix_only_where_it_is() {
        assert_eq!(
            indexed_prefix("electroencephalographically")
                .chars()
                .count(),
            PREFIX_CHARS
        );
        let texts = ["An electroencephalographically tuned speaker"];
        assert!(has_word_prefix(texts, "electroencephalographic"));
        assert!(!has_word_prefix(texts, "electroencephalographer"));
        assert!(!has_word_prefix(texts, "tuned speakers"));
    }
}
