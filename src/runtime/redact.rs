//! Secret redaction: every secret value, and the encoded forms it takes in
//! a request, is replaced by `***` before text leaves the runtime (request
//! dumps, errors, logs).

use std::fmt;

use super::encode;

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// The secret values of one request: credential fields marked
/// `secret: true`, access and session tokens, computed signatures and
/// derived credentials (a Basic `Authorization` value).
///
/// Each secret is also remembered in the forms it can take on the wire —
/// query/form-encoded, path-encoded and JSON-escaped — so a signature with
/// `+` and `/` is masked in a URL as well as in raw text.
#[derive(Clone, Default)]
pub struct Secrets {
    /// Longest first, so a secret that contains another is masked whole.
    values: Vec<String>,
}

impl Secrets {
    pub fn new() -> Secrets {
        Secrets::default()
    }

    /// Remembers `secret` and its encoded forms. Empty strings are ignored.
    pub fn add(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let json = serde_json::to_string(secret).unwrap_or_default();
        let json = json.trim_matches('"').to_string();
        for form in [
            secret.to_string(),
            encode::query_component(secret),
            encode::path_segment(secret),
            json,
        ] {
            if !form.is_empty() && !self.values.contains(&form) {
                self.values.push(form);
            }
        }
        self.values
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// Whether any secret (in any of its forms) occurs in `haystack`
    /// (text or bytes; no allocation: callers check before they pay for a
    /// redaction).
    pub fn occurs_in(&self, haystack: impl AsRef<[u8]>) -> bool {
        let bytes = haystack.as_ref();
        match std::str::from_utf8(bytes) {
            Ok(text) => self
                .values
                .iter()
                .any(|secret| text.contains(secret.as_str())),
            Err(_) => self
                .values
                .iter()
                .any(|secret| bytes.windows(secret.len()).any(|w| w == secret.as_bytes())),
        }
    }

    /// Whether any secret occurs in a string or an object key of `value`:
    /// exactly when [`Secrets::redact_json`] would change it.
    pub fn occurs_in_json(&self, value: &serde_json::Value) -> bool {
        use serde_json::Value;
        let occurs = |text: &str| self.values.iter().any(|s| text.contains(s.as_str()));
        match value {
            Value::String(s) => occurs(s),
            Value::Array(items) => items.iter().any(|v| self.occurs_in_json(v)),
            Value::Object(map) => map.iter().any(|(k, v)| occurs(k) || self.occurs_in_json(v)),
            _ => false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every occurrence of every secret replaced by [`MASK`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.values {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }
}

impl Secrets {
    /// `value` with every string (and object key) redacted: results
    /// printed by `spec exec` never echo a credential back, even when the
    /// API does.
    pub fn redact_json(&self, value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        if self.values.is_empty() {
            return value;
        }
        // Fast path: most results hold no secret. A walk over the strings
        // and keys says so without writing the value out (numbers included)
        // as serializing it to scan the text did.
        if !self.occurs_in_json(&value) {
            return value;
        }
        match value {
            Value::String(s) => Value::String(self.redact(&s)),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.redact_json(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (self.redact(&k), self.redact_json(v)))
                    .collect(),
            ),
            other => other,
        }
    }
}

/// Never prints the values themselves.
impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} forms)", self.values.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_raw_and_encoded_forms() {
        let mut secrets = Secrets::new();
        secrets.add("a+b/c=");
        secrets.add("");
        assert_eq!(secrets.redact("x a+b/c= y"), "x *** y");
        assert_eq!(secrets.redact("sign=a%2Bb%2Fc%3D&z"), "sign=***&z");
        assert_eq!(secrets.redact("nothing here"), "nothing here");
    }

    #[test]
    fn longer_secrets_are_masked_first() {
        let mut secrets = Secrets::new();
        secrets.add("abc");
        secrets.add("abcdef");
        assert_eq!(secrets.redact("abcdef abc"), "*** ***");
        assert_eq!(format!("{secrets:?}"), "Secrets(2 forms)");
    }

    #[test]
    fn json_is_redacted_in_strings_and_keys_only() {
        use serde_json::json;
        let mut secrets = Secrets::new();
        secrets.add("1234");
        let clean = json!({"n": 1234, "list": [12340, "12-34"], "a": {"b": "x"}});
        assert!(!secrets.occurs_in_json(&clean));
        assert_eq!(secrets.redact_json(clean.clone()), clean);
        for (echo, redacted) in [
            (json!(["x", {"k": "t1234"}]), json!(["x", {"k": "t***"}])),
            (json!({"1234": 1}), json!({"***": 1})),
            (json!("1234"), json!("***")),
        ] {
            assert!(secrets.occurs_in_json(&echo), "{echo}");
            assert_eq!(secrets.redact_json(echo), redacted);
        }
    }
}
