//! R011: no credential literal anywhere in a spec.
//!
//! Scans every string scalar of the YAML tree (so the caret lands on the
//! literal itself). Templates are fine; literal tokens are not. The
//! heuristics favour catching real tokens over silence: a false positive is
//! fixed by moving the value into an auth field, which is where it belongs.

use std::sync::OnceLock;

use regex::Regex;

use super::Reporter;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::model::Connector;
use crate::yaml::{Node, Value};

struct Patterns {
    private_key: Regex,
    bearer: Regex,
    long_hex: Regex,
    known_prefix: Regex,
    token_like: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| Patterns {
        private_key: Regex::new(r"-----BEGIN [A-Z ]*PRIVATE KEY-----").expect("valid regex"),
        bearer: Regex::new(r"(?i)\b(bearer|token|basic)\s+([A-Za-z0-9\-._~+/]{12,}=*)").expect("valid regex"),
        long_hex: Regex::new(r"\b[0-9a-fA-F]{32,}\b").expect("valid regex"),
        known_prefix: Regex::new(
            r"\b(sk_live_[A-Za-z0-9]{8,}|sk-[A-Za-z0-9]{20,}|ghp_[A-Za-z0-9]{20,}|xox[bpas]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|SEC[0-9a-f]{32,}|shpat_[0-9a-fA-F]{16,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})",
        )
        .expect("valid regex"),
        // No `/` in the class: URL paths are long, mixed and high-entropy,
        // but their segments are not tokens.
        token_like: Regex::new(r"[A-Za-z0-9+_\-]{32,}={0,2}").expect("valid regex"),
    })
}

/// Why `text` looks like a credential, if it does.
pub fn credential_reason(text: &str) -> Option<&'static str> {
    if !may_hold_credential(text) {
        return None;
    }
    let p = patterns();
    if p.private_key.is_match(text) {
        return Some("a private key");
    }
    if p.known_prefix.is_match(text) {
        return Some("a token with a well-known prefix");
    }
    if let Some(caps) = p.bearer.captures(text) {
        let literal = caps.get(2).map_or("", |m| m.as_str());
        if !literal.contains("{{") && has_mixed_classes(literal) {
            return Some("a literal `Bearer`/`Basic` credential");
        }
    }
    if p.long_hex.is_match(text) {
        return Some("a long hexadecimal string (an API key or secret)");
    }
    for m in p.token_like.find_iter(text) {
        let candidate = m.as_str();
        if has_mixed_classes(candidate) && entropy(candidate) > 4.0 {
            return Some("a long random-looking token");
        }
    }
    None
}

/// A cheap test every credential passes: each pattern above needs a
/// private-key header or a run of at least 12 token characters (letters,
/// digits, `-._~+/=`). Most strings of a spec (labels, keys, templates)
/// have neither and skip the regexes.
fn may_hold_credential(text: &str) -> bool {
    // Shorter than either sign: most labels and keys.
    if text.len() < "-----BEGIN".len() {
        return false;
    }
    let mut run = 0;
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
        {
            run += 1;
            if run >= 12 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    text.contains("-----BEGIN")
}

fn has_mixed_classes(s: &str) -> bool {
    let digits = s.chars().any(|c| c.is_ascii_digit());
    let lower = s.chars().any(|c| c.is_ascii_lowercase());
    let upper = s.chars().any(|c| c.is_ascii_uppercase());
    digits && (lower || upper) && (lower && upper || s.len() >= 40)
}

/// Shannon entropy in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

pub(super) fn check(root: &Node, _model: &Connector, r: &mut Reporter<'_>) {
    scan(root, r);
}

fn scan(node: &Node, r: &mut Reporter<'_>) {
    match &node.value {
        Value::String(text) => {
            if let Some(reason) = credential_reason(text) {
                r.out.push(
                    Diagnostic::new(Code::CredentialLiteral, format!("this looks like a credential: {reason}"))
                        .at(node.span)
                        .help(
                            "never put credentials in a spec: declare an auth field (`secret: true`) and read it with `{{ auth.<key> }}`; if it is not a secret, shorten or restructure it",
                        ),
                );
            }
        }
        Value::Seq(items) => items.iter().for_each(|n| scan(n, r)),
        Value::Map(entries) => entries.iter().for_each(|(_, n)| scan(n, r)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::credential_reason;

    #[test]
    fn flags_credentials() {
        for text in [
            "Bearer AbCdEf0123456789xyzXYZ",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "-----BEGIN RSA PRIVATE KEY-----",
            "https://api.example.com/?token=Zx8Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8Lz",
            "SEC0123456789abcdef0123456789abcdef0123",
        ] {
            assert!(credential_reason(text).is_some(), "{text}");
        }
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        for text in [
            "Bearer {{ auth.token }}",
            "https://login.microsoftonline.com/{{ auth.tenant }}/oauth2/v2.0/authorize",
            "/open/jushuitan/inventoryv2/upload",
            "body.data.items | zip_rows(body.data.fields)",
            "ts_code,trade_date,open,high,low,close,pre_close,change,pct_chg,vol,amount",
            "新建盘点单：把盘点结果上传到聚水潭，生成盘点单号",
            "application/x-www-form-urlencoded",
            "https://www.sf-express.com/chn/en/waybill/waybill-detail/SF1234567890123",
            "/datasheets/{{ input.datasheet_id }}/records?viewId={{ input.view_id }}&fieldKey=name",
        ] {
            assert_eq!(credential_reason(text), None, "{text}");
        }
    }
}
