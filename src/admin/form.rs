//! Forms as browsers send them (`application/x-www-form-urlencoded`), and their problems.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::api::ApiFailure;

/// The fields of a submitted form, in the order sent (a name may repeat, e.g. checkboxes).
#[derive(Debug, Clone, Default)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Parses an urlencoded body.
    pub fn parse(body: &[u8]) -> Self {
        Self {
            pairs: form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    /// The first value of `name`, or `""`.
    pub fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// The first value of `name`, trimmed, if not empty.
    pub fn opt(&self, name: &str) -> Option<&str> {
        Some(self.get(name).trim()).filter(|v| !v.is_empty())
    }

    /// Every non-empty value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether a checkbox named `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// A whole number typed into `name`: `None` when empty; a problem is noted in `errors`.
    pub fn int(&self, name: &str, errors: &mut Errors) -> Option<i64> {
        let raw = self.opt(name)?;
        let ascii = to_ascii_digits(raw);
        match ascii.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.add(name, "must be a whole number");
                None
            }
        }
    }

    /// What was typed, to show the form again as it was sent (the CSRF token left out).
    pub fn values(&self) -> Value {
        let mut map = Map::new();
        for (k, v) in &self.pairs {
            if k.starts_with('_') {
                continue;
            }
            match map.get_mut(k) {
                None => {
                    map.insert(k.clone(), Value::String(v.clone()));
                }
                Some(Value::Array(items)) => items.push(Value::String(v.clone())),
                Some(first) => {
                    let first = first.take();
                    map.insert(
                        k.clone(),
                        Value::Array(vec![first, Value::String(v.clone())]),
                    );
                }
            }
        }
        Value::Object(map)
    }
}

/// Persian and Arabic-Indic digits typed on those keyboards, read as ASCII digits.
pub fn to_ascii_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '۰'..='۹' => char::from(b'0' + (c as u32 - '۰' as u32) as u8),
            '٠'..='٩' => char::from(b'0' + (c as u32 - '٠' as u32) as u8),
            c => c,
        })
        .collect()
}

/// Problems with a form, by field name, shown next to each field.
#[derive(Debug, Clone, Default)]
pub struct Errors {
    fields: BTreeMap<String, String>,
    /// A problem not tied to one field (the API's `detail`).
    general: Option<String>,
}

impl Errors {
    /// Notes a problem with `field` (the first one noted for a field is kept).
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.fields
            .entry(field.to_owned())
            .or_insert_with(|| message.into());
    }

    /// The API's problems: each under its full path (`earn_rate.points`), under its first
    /// segment (`earn_rate`), and under `map(path)` when the form names the field differently;
    /// the detail as the general message.
    pub fn from_failure(failure: &ApiFailure, map: impl Fn(&str) -> Option<String>) -> Self {
        let mut errors = Errors::default();
        for e in &failure.errors {
            if let Some(name) = map(&e.field) {
                errors.add(&name, e.message.clone());
            }
            errors.add(&e.field, e.message.clone());
            let first = e.field.split(['.', '[']).next().unwrap_or_default();
            errors.add(first, e.message.clone());
        }
        errors.general = Some(failure.detail.clone());
        errors
    }

    /// Whether nothing was noted.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_none()
    }

    /// The problems as template data: `{"fields": {name: message}, "general": text | null}`.
    pub fn to_value(&self) -> Value {
        serde_json::json!({ "fields": self.fields, "general": self.general })
    }
}

/// A fresh idempotency key for a form that must take effect once however often it is sent.
pub fn fresh_key() -> String {
    format!("console-{}", uuid::Uuid::now_v7().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_repeated_fields_and_persian_digits() {
        let form = Form::parse("a=1&tag=x&tag=y&n=%DB%B1%DB%B2&_csrf=t".as_bytes());
        assert_eq!(form.all("tag"), vec!["x", "y"]);
        let mut errors = Errors::default();
        assert_eq!(form.int("n", &mut errors), Some(12));
        assert_eq!(form.int("tag", &mut errors), None);
        assert!(!errors.is_empty());
        assert_eq!(form.values()["tag"], serde_json::json!(["x", "y"]));
        assert!(form.values().get("_csrf").is_none());
    }
}
