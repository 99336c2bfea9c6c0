//! The template language: minijinja with strict undefined and the signing
//! and shaping filters specs need. The same environment serves validation
//! (parse, list variables) and the interpreter (render), so a template that
//! validates is one the interpreter can run.

use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::OnceLock;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};
use sha2::Digest as _;

/// Filters `spec` adds to minijinja's builtins, for docs and validation.
pub const FILTERS: &[&str] = &[
    "md5",
    "sha1",
    "sha256",
    "hmac_sha1",
    "hmac_sha256",
    "b64encode",
    "b64decode",
    "zip_rows",
];

/// Global functions `spec` adds.
pub const FUNCTIONS: &[&str] = &["uuid"];

/// Rendering fuel: bounds the work one template may do (loops over huge
/// inputs, runaway recursion) so a spec cannot hang the interpreter.
const FUEL: u64 = 5_000_000;

/// The shared environment.
pub fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(build_environment)
}

fn build_environment() -> Environment<'static> {
    let mut env = Environment::new();
    register(&mut env);
    env
}

/// Configures `env` the way every `spec` environment is: strict undefined,
/// fuel, recursion limit, and the signing and shaping filters. The runtime
/// builds a second environment (with a percent-encoding formatter for URL
/// paths) through this, so both always offer the same language.
pub fn register(env: &mut Environment<'static>) {
    // A misspelt variable must fail loudly, not render as "".
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(100);
    env.add_filter("md5", |s: String| {
        hex::encode(md5::Md5::digest(s.as_bytes()))
    });
    env.add_filter("sha1", |s: String| {
        hex::encode(sha1::Sha1::digest(s.as_bytes()))
    });
    env.add_filter("sha256", |s: String| {
        hex::encode(sha2::Sha256::digest(s.as_bytes()))
    });
    env.add_filter(
        "hmac_sha1",
        |s: String, key: String, encoding: Option<String>| {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes())
                .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
            mac.update(s.as_bytes());
            encode(&mac.finalize().into_bytes(), encoding.as_deref())
        },
    );
    env.add_filter(
        "hmac_sha256",
        |s: String, key: String, encoding: Option<String>| {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes())
                .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
            mac.update(s.as_bytes());
            encode(&mac.finalize().into_bytes(), encoding.as_deref())
        },
    );
    env.add_filter("b64encode", |s: String| {
        base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
    });
    env.add_filter("b64decode", |s: String| {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("b64decode: {e}")))?;
        String::from_utf8(bytes)
            .map_err(|_| Error::new(ErrorKind::InvalidOperation, "b64decode: not UTF-8 text"))
    });
    env.add_filter("zip_rows", zip_rows);
    env.add_function("uuid", || uuid::Uuid::new_v4().to_string());
}

/// Encodes a digest as `hex` (default), `hex_upper` or `base64`.
pub fn encode(bytes: &[u8], encoding: Option<&str>) -> Result<String, Error> {
    match encoding.unwrap_or("hex") {
        "hex" => Ok(hex::encode(bytes)),
        "hex_upper" => Ok(hex::encode_upper(bytes)),
        "base64" => Ok(base64::engine::general_purpose::STANDARD.encode(bytes)),
        other => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("unknown encoding `{other}` (use hex, hex_upper or base64)"),
        )),
    }
}

/// `items | zip_rows(fields)`: positional rows (Tushare's `data.items`)
/// zipped with column names (`data.fields`) into objects.
fn zip_rows(items: Value, fields: Value) -> Result<Value, Error> {
    if items.is_none() || items.is_undefined() {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    let names: Vec<Value> = fields
        .try_iter()
        .map_err(|_| {
            Error::new(
                ErrorKind::InvalidOperation,
                "zip_rows: fields must be a list",
            )
        })?
        .collect();
    let mut rows = Vec::new();
    for row in items.try_iter().map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            "zip_rows: items must be a list",
        )
    })? {
        if row.kind() != ValueKind::Seq {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "zip_rows: each item must be a list of values",
            ));
        }
        let values: Vec<Value> = row.try_iter()?.collect();
        let object: indexmap::IndexMap<Value, Value> = names
            .iter()
            .zip(values.into_iter().chain(std::iter::repeat(Value::from(()))))
            .map(|(name, value)| {
                // Keys are strings (a JSON object's); string names are
                // shared, not copied.
                let key = if name.as_str().is_some() {
                    name.clone()
                } else {
                    Value::from(name.to_string())
                };
                (key, value)
            })
            .collect();
        rows.push(Value::from_object(object));
    }
    Ok(Value::from(rows))
}

/// A template or expression that failed to compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    /// Byte range in the template source, when minijinja knows it.
    pub range: Option<std::ops::Range<usize>>,
}

fn syntax_error(error: &Error) -> SyntaxError {
    SyntaxError {
        message: error
            .detail()
            .map(str::to_string)
            .unwrap_or_else(|| error.kind().to_string()),
        range: error.range(),
    }
}

/// The variables (dotted, e.g. `input.so_id`) a template reads.
pub fn template_variables(source: &str) -> Result<BTreeSet<String>, SyntaxError> {
    (*template_variables_shared(source)).clone()
}

/// The variables an expression (`body.code == 0`) reads.
pub fn expression_variables(source: &str) -> Result<BTreeSet<String>, SyntaxError> {
    (*expression_variables_shared(source)).clone()
}

/// [`template_variables`], shared with the thread's memo instead of copied.
pub(crate) fn template_variables_shared(source: &str) -> Rc<Variables> {
    remembered(Kind::Template, source, || {
        let template = environment()
            .template_from_str(source)
            .map_err(|e| syntax_error(&e))?;
        Ok(strip_functions(template.undeclared_variables(true)))
    })
}

/// [`expression_variables`], shared with the thread's memo instead of
/// copied.
pub(crate) fn expression_variables_shared(source: &str) -> Rc<Variables> {
    remembered(Kind::Expression, source, || {
        let expression = environment()
            .compile_expression(source)
            .map_err(|e| syntax_error(&e))?;
        Ok(strip_functions(expression.undeclared_variables(true)))
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Template,
    Expression,
}

pub(crate) type Variables = Result<BTreeSet<String>, SyntaxError>;

/// Sources remembered per thread and kind; past this the memo starts
/// over, so that memory stays bounded however many specs are checked.
const REMEMBERED: usize = 4096;

/// `compute`'s answer for `source`, remembered per thread: connectors
/// repeat the same templates (`{{ auth.token }}`, `body.code == 0`) action
/// after action, and compiling one costs far more than looking it up.
/// Looked up by the source as it is and shared, so that a hit copies
/// nothing.
fn remembered(kind: Kind, source: &str, compute: impl FnOnce() -> Variables) -> Rc<Variables> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    type Memo = HashMap<Box<str>, Rc<Variables>>;
    thread_local! {
        static MEMO: RefCell<[Memo; 2]> = RefCell::new([HashMap::new(), HashMap::new()]);
    }
    let at = kind as usize;
    if let Some(hit) = MEMO.with(|memo| memo.borrow()[at].get(source).cloned()) {
        return hit;
    }
    let answer = Rc::new(compute());
    MEMO.with(|memo| {
        let memo = &mut memo.borrow_mut()[at];
        if memo.len() >= REMEMBERED {
            memo.clear();
        }
        memo.insert(source.into(), Rc::clone(&answer));
    });
    answer
}

/// Drops names that are global functions (`range`, `dict`, `uuid`, ...),
/// not variables of the render context.
fn strip_functions(vars: std::collections::HashSet<String>) -> BTreeSet<String> {
    let env = environment();
    vars.into_iter()
        .filter(|v| {
            let top = v.split('.').next().unwrap_or(v);
            env.globals().all(|(name, _)| name != top)
        })
        .collect()
}

/// Whether a string contains template syntax at all (plain strings are
/// used as they are).
pub fn is_template(source: &str) -> bool {
    source.contains("{{") || source.contains("{%") || source.contains("{#")
}

/// Local hex helpers (no extra dependency for two functions).
pub mod hex {
    const LOWER: &[u8; 16] = b"0123456789abcdef";
    const UPPER: &[u8; 16] = b"0123456789ABCDEF";

    pub fn encode(bytes: impl AsRef<[u8]>) -> String {
        with(bytes.as_ref(), LOWER)
    }

    pub fn encode_upper(bytes: impl AsRef<[u8]>) -> String {
        with(bytes.as_ref(), UPPER)
    }

    fn with(bytes: &[u8], digits: &[u8; 16]) -> String {
        let mut out = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            out.push(digits[(b >> 4) as usize] as char);
            out.push(digits[(b & 0xf) as usize] as char);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    fn render(source: &str, ctx: Value) -> String {
        environment().render_str(source, ctx).unwrap()
    }

    #[test]
    fn digests_match_known_vectors() {
        // RFC 1321 / FIPS 180 test vectors for "abc".
        assert_eq!(
            render("{{ 'abc' | md5 }}", context!()),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            render("{{ 'abc' | sha1 }}", context!()),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            render("{{ 'abc' | sha256 }}", context!()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // RFC 4231 test case 2.
        assert_eq!(
            render(
                "{{ 'what do ya want for nothing?' | hmac_sha256('Jefe') }}",
                context!()
            ),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            render(
                "{{ 'what do ya want for nothing?' | hmac_sha1('Jefe', 'hex') }}",
                context!()
            ),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn undefined_variables_fail_instead_of_rendering_empty() {
        assert!(
            environment()
                .render_str("{{ input.nope }}", context!(input => context!()))
                .is_err()
        );
    }

    #[test]
    fn zip_rows_builds_objects() {
        let out = render(
            "{{ items | zip_rows(fields) | tojson }}",
            context!(items => vec![vec!["000001.SZ", "20240102"]], fields => vec!["ts_code", "trade_date"]),
        );
        assert_eq!(
            out,
            r#"[{"ts_code": "000001.SZ", "trade_date": "20240102"}]"#
        );
    }

    #[test]
    fn remembered_answers_match_fresh_ones() {
        for _ in 0..2 {
            // The same text as a template and as an expression: two answers.
            assert_eq!(
                template_variables("input.a").unwrap(),
                BTreeSet::new(),
                "plain text reads nothing"
            );
            assert_eq!(
                expression_variables("input.a").unwrap(),
                BTreeSet::from(["input.a".to_string()])
            );
            assert!(template_variables("{{ input.a ").is_err());
            assert!(expression_variables("body.code ==").is_err());
        }
        // Past the bound the memo starts over and still answers.
        for i in 0..REMEMBERED + 10 {
            let vars = expression_variables(&format!("input.f{i}")).unwrap();
            assert_eq!(vars, BTreeSet::from([format!("input.f{i}")]));
        }
    }

    #[test]
    fn variables_are_listed_dotted() {
        let vars = template_variables(
            "{{ input.so_id }}-{{ auth.app_key | md5 }}{{ uuid() }}{{ dict(a=1) | tojson }}{% for i in range(2) %}{% endfor %}",
        )
        .unwrap();
        assert_eq!(
            vars.into_iter().collect::<Vec<_>>(),
            vec!["auth.app_key".to_string(), "input.so_id".to_string()]
        );
        assert!(template_variables("{{ input.x }").is_err());
        assert_eq!(
            expression_variables("body.code == 0")
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            vec!["body.code".to_string()]
        );
    }
}
