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
    matching_pattern(text)
}

/// The patterns themselves, without the prefilter.
fn matching_pattern(text: &str) -> Option<&'static str> {
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

/// A cheap test every text the patterns match passes, so that most
/// strings of a spec (labels, keys, templates, URLs) skip the regexes:
/// - a private key has its `-----BEGIN` header;
/// - every well-known prefix with its body, a long hex string and a long
///   token are runs of at least 13 characters of `[A-Za-z0-9_+-]` (the
///   shortest: `eyJ` and ten more);
/// - a `Bearer`/`Token`/`Basic` credential has the word and then a run of
///   at least 12 token characters (which URLs also have, hence the word).
fn may_hold_credential(text: &str) -> bool {
    // Shorter than any of them: most labels and keys.
    if text.len() < 12 {
        return false;
    }
    let (mut word_run, mut longest_word_run) = (0u32, 0u32);
    let (mut token_run, mut longest_token_run) = (0u32, 0u32);
    for b in text.bytes() {
        // One table lookup per byte instead of a chain of comparisons:
        // every string of every spec passes here.
        let class = BYTE_CLASS[usize::from(b)];
        let word = u32::from(class & WORD != 0);
        let token = u32::from(class & TOKEN != 0);
        // Branch-free: a run grows by one or falls back to zero.
        word_run = (word_run + 1) * word;
        token_run = (token_run + 1) * token;
        longest_word_run = longest_word_run.max(word_run);
        longest_token_run = longest_token_run.max(token_run);
    }
    longest_word_run >= 13
        || (longest_token_run >= 12 && names_a_scheme(text))
        || text.contains("-----BEGIN")
}

/// [`BYTE_CLASS`] bit of `[A-Za-z0-9_+-]`, the characters of keys and
/// well-known token bodies.
const WORD: u8 = 1;
/// [`BYTE_CLASS`] bit of a word character or `.~/=`, the characters of a
/// `Bearer`/`Token`/`Basic` credential.
const TOKEN: u8 = 2;

/// Each byte's classes.
static BYTE_CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'+' | b'-') {
            table[b] = WORD | TOKEN;
        } else if matches!(c, b'.' | b'~' | b'/' | b'=') {
            table[b] = TOKEN;
        }
        b += 1;
    }
    table
};

/// Whether `text` has `bearer`, `token` or `basic` in any case.
fn names_a_scheme(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.windows(5).any(|w| {
        w.eq_ignore_ascii_case(b"token")
            || w.eq_ignore_ascii_case(b"basic")
            || w.eq_ignore_ascii_case(b"beare")
    })
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
    use super::{credential_reason, matching_pattern, may_hold_credential};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        /// The prefilter lets through every text a pattern matches.
        #[test]
        fn prefilter_passes_every_match(
            parts in prop::collection::vec(
                prop_oneof![
                    "[A-Za-z0-9]{1,40}",
                    "[0-9a-f]{30,40}",
                    "[A-Za-z0-9_+/=.~-]{5,40}",
                    prop::sample::select(vec![
                        "Bearer ", "token ", "BASIC ", "sk_live_", "sk-", "ghp_", "xoxb-",
                        "AKIA", "SEC", "shpat_", "eyJ", ".", "/", " ", "{{ auth.k }}",
                        "-----BEGIN RSA PRIVATE KEY-----", "https://", "?token=",
                    ]).prop_map(str::to_string),
                ],
                1..6,
            )
        ) {
            let text = parts.concat();
            if let Some(reason) = matching_pattern(&text) {
                prop_assert!(may_hold_credential(&text), "{text:?} matched ({reason}) but was filtered out");
            }
        }
    }

    #[test]
    fn flags_credentials() {
        for text in [
            "Bearer AbCdEf0123456789xyzXYZ",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "-----BEGIN RSA PRIVATE KEY-----",
            "https://api.example.com/?token=Zx8Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8Lz",
            "SEC0123456789abcdef0123456789abcdef0123",
            // The shortest of their kind, at the prefilter's edges.
            "eyJ0123456789.abcdefghij",
            "xoxb-0123456789",
            "Bearer AbCdEf012345",
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
