//! Tests' check that every message key a module's code names has its words in English and
//! Kiswahili (`app/locales/{en,sw}/*.ftl`): a key added in the domain without its text fails.

use std::collections::BTreeSet;

/// Every string literal in `sources` that starts with one of `prefixes` and is a whole key
/// (lowercase letters, digits and dashes up to the closing quote).
pub(crate) fn used(sources: &[&str], prefixes: &[&str]) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for src in sources {
        for (i, _) in src.match_indices('"') {
            let rest = &src[i + 1..];
            if !prefixes.iter().any(|p| rest.starts_with(p)) {
                continue;
            }
            let end = rest.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')).unwrap_or(rest.len());
            // A prefix alone (`"cards-"`, as a test names it) is no key.
            if rest[end..].starts_with('"') && !rest[..end].ends_with('-') {
                keys.insert(rest[..end].to_owned());
            }
        }
    }
    keys
}

/// The keys defined for `lang`, over every file of its folder.
fn translated(lang: &str) -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("app/locales").join(lang);
    let mut keys = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        keys.extend(
            text.lines().filter(|l| !l.starts_with([' ', '#', '\t'])).filter_map(|l| l.split_once('=')).map(|(k, _)| k.trim().to_owned()),
        );
    }
    keys
}

/// Fails naming every key of `used` that English or Kiswahili lacks.
pub(crate) fn assert_translated(used: &BTreeSet<String>) {
    for lang in ["en", "sw"] {
        let have = translated(lang);
        let missing: Vec<&String> = used.iter().filter(|k| !have.contains(*k)).collect();
        assert!(missing.is_empty(), "missing in app/locales/{lang}: {missing:?}");
    }
}
