//! A survey's question and open question: text per locale (`en`, `fa`, `ar`), stored as a JSON
//! object, and the one a customer is shown.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::customers::validate::{self, Check};
use crate::db::json::{self, Document};
use crate::messages::locale::Locale;

/// Longest question or open question, per locale.
pub const MAX_TEXT: usize = 500;

/// Text per locale.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SurveyText(pub BTreeMap<String, String>);

impl Document for SurveyText {
    const WHAT: &'static str = "survey text";
}

impl SurveyText {
    /// Parses a stored value; a corrupt one is an error naming it.
    pub fn from_stored(stored: &str) -> Result<Self, diesel::result::Error> {
        json::parse(stored)
    }

    /// The stored JSON.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Checks text sent by staff: only `en`, `fa` and `ar` keys, each not blank and at most
    /// [`MAX_TEXT`] characters (trimmed); at least one locale when `required`.
    pub fn parse(
        c: &mut Check,
        field: &str,
        raw: BTreeMap<String, String>,
        required: bool,
    ) -> SurveyText {
        if required && raw.is_empty() {
            c.fail(field, "must give the text in at least one of en, fa, ar");
        }
        let mut out = BTreeMap::new();
        for (locale, text) in raw {
            if Locale::parse(&locale).is_none() {
                c.fail(
                    &format!("{field}.{}", locale.escape_default()),
                    "only en, fa and ar are supported",
                );
                continue;
            }
            let path = format!("{field}.{locale}");
            if let Some(t) = c.take(&path, validate::text(&text, MAX_TEXT)) {
                out.insert(locale, t);
            }
        }
        SurveyText(out)
    }

    /// The text to show a customer, and its locale: the customer's locale, else the program's
    /// default locale, else English, else any locale present. `None` when there is no text.
    pub fn pick(&self, customer: Option<&str>, program_default: &str) -> Option<(Locale, &str)> {
        let get = |l: Locale| self.0.get(l.as_str()).map(|t| (l, t.as_str()));
        customer
            .and_then(Locale::of_tag)
            .and_then(get)
            .or_else(|| Locale::of_tag(program_default).and_then(get))
            .or_else(|| get(Locale::En))
            .or_else(|| Locale::ALL.into_iter().find_map(get))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(pairs: &[(&str, &str)]) -> SurveyText {
        SurveyText(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn the_customer_locale_comes_first_then_the_program_default_then_english_then_any() {
        let t = text(&[("en", "E"), ("fa", "F"), ("ar", "A")]);
        assert_eq!(t.pick(Some("fa-IR"), "ar"), Some((Locale::Fa, "F")));
        assert_eq!(t.pick(Some("de"), "ar"), Some((Locale::Ar, "A")));
        assert_eq!(t.pick(None, "xx"), Some((Locale::En, "E")));
        let only_ar = text(&[("ar", "A")]);
        assert_eq!(only_ar.pick(Some("fa"), "en"), Some((Locale::Ar, "A")));
        assert_eq!(SurveyText::default().pick(Some("fa"), "en"), None);
    }
}
