//! The `signature` recipe's primitives: joining sorted parameters, hashing
//! and encoding. The recipe itself (which parameters, which templates, where
//! the signature goes) is applied by `super::request`, last, over the final
//! request.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Digest as _;

use crate::model::{SignAlgorithm, SignEncoding, SortedParams};

/// The parameters that remain after `exclude` and `skip_empty`, sorted by
/// key in ascending byte (ASCII) order; pairs with equal keys keep their
/// request order.
pub type SortedPairs<'a> = Vec<(&'a str, &'a str)>;

/// The `sorted_params` string without its prefix and suffix:
/// `key + key_value_separator + value`, joined by `pair_separator`.
pub fn join_sorted(pairs: &[(String, String)], params: &SortedParams) -> String {
    sorted(pairs, params)
        .iter()
        .map(|(k, v)| format!("{k}{}{v}", params.key_value_separator))
        .collect::<Vec<_>>()
        .join(&params.pair_separator)
}

fn sorted<'a>(pairs: &'a [(String, String)], params: &SortedParams) -> SortedPairs<'a> {
    let mut kept: SortedPairs<'a> = pairs
        .iter()
        .filter(|(k, v)| {
            !params.exclude.iter().any(|e| e == k) && (!params.skip_empty || !v.is_empty())
        })
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    kept.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    kept
}

/// The digest of `text`; `key` is required by (and only used by) HMAC.
pub(crate) fn digest(
    algorithm: SignAlgorithm,
    key: Option<&str>,
    text: &str,
) -> Result<Vec<u8>, String> {
    let data = text.as_bytes();
    Ok(match algorithm {
        SignAlgorithm::Md5 => md5::Md5::digest(data).to_vec(),
        SignAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
        SignAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
        SignAlgorithm::HmacSha1 => {
            let key = key.ok_or("`hmac-sha1` needs a `key`")?;
            let mut mac =
                Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).map_err(|e| e.to_string())?;
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        SignAlgorithm::HmacSha256 => {
            let key = key.ok_or("`hmac-sha256` needs a `key`")?;
            let mut mac =
                Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).map_err(|e| e.to_string())?;
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
    })
}

/// `bytes` as the spec's `encoding` says.
pub(crate) fn encode(bytes: &[u8], encoding: SignEncoding) -> String {
    let name = match encoding {
        SignEncoding::Hex => "hex",
        SignEncoding::HexUpper => "hex_upper",
        SignEncoding::Base64 => "base64",
    };
    crate::template::encode(bytes, Some(name)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ParamSource;

    fn params(exclude: &[&str], skip_empty: bool, kv: &str, pair: &str) -> SortedParams {
        SortedParams {
            from: ParamSource::All,
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            skip_empty,
            key_value_separator: kv.into(),
            pair_separator: pair.into(),
            prefix: String::new(),
            suffix: String::new(),
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn jushuitan_style_concatenation() {
        let p = pairs(&[
            ("timestamp", "1"),
            ("app_key", "k"),
            ("sign", "x"),
            ("biz", "{}"),
            ("charset", ""),
        ]);
        assert_eq!(
            join_sorted(&p, &params(&["sign"], true, "", "")),
            "app_keykbiz{}timestamp1"
        );
        // Without skip_empty the empty `charset` stays, as `charset` + "".
        assert_eq!(
            join_sorted(&p, &params(&["sign"], false, "", "")),
            "app_keykbiz{}charsettimestamp1"
        );
    }

    #[test]
    fn separators_and_ascii_order() {
        // ASCII order: uppercase before `_` before lowercase.
        let p = pairs(&[("b", "2"), ("_z", "3"), ("B", "1"), ("a", "0")]);
        assert_eq!(
            join_sorted(&p, &params(&[], false, "=", "&")),
            "B=1&_z=3&a=0&b=2"
        );
        assert_eq!(join_sorted(&[], &params(&[], false, "=", "&")), "");
    }

    #[test]
    fn equal_keys_keep_request_order() {
        let p = pairs(&[("id", "2"), ("id", "1")]);
        assert_eq!(join_sorted(&p, &params(&[], false, ":", ",")), "id:2,id:1");
    }

    #[test]
    fn digests_and_encodings() {
        // python3 -c "import hashlib;print(hashlib.md5(b'abc').hexdigest())"
        let md5 = digest(SignAlgorithm::Md5, None, "abc").unwrap();
        assert_eq!(
            encode(&md5, SignEncoding::Hex),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            encode(&md5, SignEncoding::HexUpper),
            "900150983CD24FB0D6963F7D28E17F72"
        );
        // RFC 4231 test case 2, base64 of the raw digest.
        let mac = digest(
            SignAlgorithm::HmacSha256,
            Some("Jefe"),
            "what do ya want for nothing?",
        )
        .unwrap();
        assert_eq!(
            encode(&mac, SignEncoding::Base64),
            "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
        );
        assert!(digest(SignAlgorithm::HmacSha1, None, "abc").is_err());
    }
}
