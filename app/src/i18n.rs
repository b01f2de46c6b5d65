//! Every user-facing string goes through here. Texts live in Fluent files
//! (`app/locales/{en,sw}/main.ftl`) loaded at compile time by `fluent-templates`.
//! Pages render on the server, so the browser bundle carries no translations: islands get
//! their already-translated labels as props.

use kilele::Language;

#[cfg(feature = "ssr")]
mod fluent {
    use fluent_templates::{langid, LanguageIdentifier};

    fluent_templates::static_loader! {
        pub static LOCALES = {
            locales: "./locales",
            fallback_language: "en",
            // No Unicode isolation marks around arguments: they show up as boxes on some
            // phones' fonts.
            customise: |bundle| bundle.set_use_isolating(false),
        };
    }

    pub const EN: LanguageIdentifier = langid!("en");
    pub const SW: LanguageIdentifier = langid!("sw");
}

/// The text for `key` in `lang` (falls back to English, then to the key itself).
pub fn t(lang: Language, key: &str) -> String {
    t_args(lang, key, &[])
}

/// The text for a key that came from outside (a URL), or the generic error when it is not
/// one of ours: a crafted link must never put words of its own on our pages.
pub fn t_known(lang: Language, key: &str) -> String {
    let text = t(lang, key);
    if text == key {
        t(lang, "error-internal")
    } else {
        text
    }
}

/// The text for `key` with Fluent arguments, e.g. `("count", 3.into())`.
pub fn t_args(lang: Language, key: &str, args: &[(&'static str, String)]) -> String {
    #[cfg(feature = "ssr")]
    {
        use fluent_templates::fluent_bundle::FluentValue;
        use fluent_templates::Loader;
        use std::borrow::Cow;
        use std::collections::HashMap;
        let id = match lang {
            Language::En => &fluent::EN,
            Language::Sw => &fluent::SW,
        };
        if args.is_empty() {
            fluent::LOCALES.try_lookup(id, key).unwrap_or_else(|| key.to_owned())
        } else {
            let map: HashMap<Cow<'static, str>, FluentValue> = args
                .iter()
                .map(|(k, v)| {
                    let value = match v.parse::<f64>() {
                        Ok(n) => FluentValue::from(n),
                        Err(_) => FluentValue::from(v.clone()),
                    };
                    (Cow::Borrowed(*k), value)
                })
                .collect();
            fluent::LOCALES.try_lookup_with_args(id, key, &map).unwrap_or_else(|| key.to_owned())
        }
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = (lang, args);
        key.to_owned()
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(src: &str) -> BTreeSet<String> {
        src.lines()
            .filter(|l| !l.starts_with([' ', '#', '\t']) && l.contains('='))
            .filter_map(|l| l.split('=').next())
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .collect()
    }

    /// All keys of one language, over every .ftl file in its folder (one file per area).
    #[allow(clippy::unwrap_used)] // a test helper: an unreadable locale folder fails the test
    fn all_keys(lang: &str) -> BTreeSet<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales").join(lang);
        let mut out = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "ftl") {
                let found = keys(&std::fs::read_to_string(&path).unwrap());
                for k in found {
                    assert!(out.insert(k.clone()), "{k} is defined twice in {lang}");
                }
            }
        }
        out
    }

    #[test]
    fn english_and_kiswahili_have_the_same_keys() {
        let en = all_keys("en");
        let sw = all_keys("sw");
        let missing_sw: Vec<_> = en.difference(&sw).collect();
        let missing_en: Vec<_> = sw.difference(&en).collect();
        assert!(missing_sw.is_empty(), "missing in Kiswahili: {missing_sw:?}");
        assert!(missing_en.is_empty(), "missing in English: {missing_en:?}");
        assert!(en.len() > 40);
    }

    #[test]
    fn looks_up_both_languages_with_arguments() {
        assert_eq!(t(Language::En, "sign-in"), "Sign in");
        assert_eq!(t(Language::Sw, "sign-in"), "Ingia");
        assert_eq!(t(Language::Sw, "no-such-key"), "no-such-key");
        let en = t_args(Language::En, "students-count", &[("count", "1".into())]);
        assert_eq!(en, "1 student");
        let en = t_args(Language::En, "students-count", &[("count", "412".into())]);
        assert_eq!(en, "412 students");
    }

    #[test]
    fn every_key_the_code_uses_exists() {
        // Domain types name i18n keys; all of them must be translated.
        use kilele::identity::{Portal, Role};
        let en = all_keys("en");
        for p in Portal::ALL {
            assert!(en.contains(p.label_key()), "{}", p.label_key());
        }
        for r in Role::SCHOOL.iter().chain([Role::PlatformOwner, Role::PlatformSupport].iter()) {
            assert!(en.contains(r.label_key()), "{}", r.label_key());
        }
        for k in ["error-email-invalid", "error-email-required", "error-school-code-invalid", "error-school-code-required"] {
            assert!(en.contains(k), "{k}");
        }
    }
}
