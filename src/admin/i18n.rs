//! The console's texts in English, Persian and Arabic.
//!
//! Each area of the console keeps its texts in `texts/<area>.json`:
//! `{"key": {"en": "…", "fa": "…", "ar": "…"}}`, with `{name}` placeholders filled from the
//! template (`t("customers.found", n=3)`). A missing translation falls back to English; a unit
//! test keeps every key complete in all three languages and every key a template uses defined.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::messages::locale::Locale;

/// Every area's texts.
const CATALOGS: &[(&str, &str)] = &[
    ("common", include_str!("texts/common.json")),
    ("catalog", include_str!("texts/catalog.json")),
    ("customers", include_str!("texts/customers.json")),
    ("insight", include_str!("texts/insight.json")),
    ("access", include_str!("texts/access.json")),
];

type Texts = HashMap<String, HashMap<String, String>>;

static TEXTS: LazyLock<Texts> = LazyLock::new(|| {
    let mut all = Texts::new();
    for (area, json) in CATALOGS {
        match serde_json::from_str::<Texts>(json) {
            Ok(texts) => all.extend(texts),
            // A unit test parses every catalog, so this only happens to an untested build.
            Err(e) => tracing::error!(area, error = %e, "a console text catalog is not valid"),
        }
    }
    all
});

/// The text of `key` in `lang` (English if untranslated; the key itself if unknown).
pub fn text(lang: Locale, key: &str) -> String {
    match TEXTS.get(key) {
        Some(by_lang) => by_lang
            .get(lang.as_str())
            .or_else(|| by_lang.get("en"))
            .cloned()
            .unwrap_or_else(|| key.to_owned()),
        None => key.to_owned(),
    }
}

/// A text the API gives as one string or per locale (`{"en": …, "fa": …}`), in `lang`, else in
/// English, else in any language it has.
pub fn in_language(text: &serde_json::Value, lang: Locale) -> String {
    match text {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(map) => map
            .get(lang.as_str())
            .or_else(|| map.get("en"))
            .or_else(|| map.values().next())
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

/// Whether `key` has a text.
pub fn has(key: &str) -> bool {
    TEXTS.contains_key(key)
}

/// The console language a browser asks for in `Accept-Language`, else English.
pub fn from_accept_language(header: Option<&str>) -> Locale {
    header
        .unwrap_or_default()
        .split(',')
        .filter_map(|part| Locale::of_tag(part.split(';').next().unwrap_or_default().trim()))
        .next()
        .unwrap_or(Locale::En)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_parses_and_every_key_has_three_languages() {
        for (area, json) in CATALOGS {
            let texts: Texts = serde_json::from_str(json)
                .unwrap_or_else(|e| panic!("texts/{area}.json is not valid: {e}"));
            for (key, by_lang) in &texts {
                for lang in ["en", "fa", "ar"] {
                    assert!(
                        by_lang.get(lang).is_some_and(|t| !t.trim().is_empty()),
                        "texts/{area}.json: `{key}` has no {lang} text"
                    );
                }
            }
        }
    }

    #[test]
    fn every_text_a_template_uses_exists() {
        for (name, source) in super::super::render::templates() {
            let mut from = 0;
            while let Some(at) = source[from..].find("t(\"").map(|i| i + from) {
                from = at + 3;
                let before = source[..at].chars().next_back().unwrap_or(' ');
                if before.is_alphanumeric() || before == '_' || before == '.' {
                    continue;
                }
                let rest = &source[from..];
                let key = &rest[..rest.find('"').unwrap_or(0)];
                assert!(has(key), "template {name} uses `{key}`, which has no text");
            }
        }
    }

    #[test]
    fn accept_language_picks_a_console_language() {
        assert_eq!(
            from_accept_language(Some("fa-IR,fa;q=0.9,en;q=0.8")),
            Locale::Fa
        );
        assert_eq!(from_accept_language(Some("de-DE,ar;q=0.5")), Locale::Ar);
        assert_eq!(from_accept_language(None), Locale::En);
    }
}
