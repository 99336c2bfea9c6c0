//! Response expressions evaluated straight on the decoded JSON body, for the
//! shapes specs write most: a path (`body.data`, `body.error['code']`,
//! `body.items[0]`), `<path> | zip_rows(<path>)`, an object of those
//! (`{"rows": body.data.items | zip_rows(body.data.fields)}`) and a
//! comparison of a path with a literal (`body.code == 0`).
//!
//! Why: evaluating such an expression with minijinja means converting the
//! whole body into template values and the result back into JSON — most of
//! the interpreter's time per action, for what is a lookup in the decoded
//! body (issue 5).
//!
//! A [`Plan`] only answers on the *happy path*: every key it looks up is
//! present in an object, every index inside a list, every operand of the
//! kind the plan handles. Anything else — a missing key (undefined), a
//! `null` on the way, an odd type, an expression outside the subset —
//! is `None`, and the caller evaluates the expression with minijinja, which
//! then decides exactly as before (undefined vs. `none`, error messages).
//! So where a plan answers, it must answer what minijinja would; the unit
//! tests below check that on many expressions and bodies, including random
//! ones.

use serde_json::{Map, Value as Json};

/// A response expression, parsed for evaluation on the JSON body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Plan {
    /// `body` followed by keys and indices.
    Path(Vec<Step>),
    /// `<items path> | zip_rows(<fields path>)`.
    ZipRows(Vec<Step>, Vec<Step>),
    /// `{"key": <plan>, ...}` with string-literal keys.
    Object(Vec<(String, Plan)>),
    /// `<plan> == <literal>` (`equal`) or `<plan> != <literal>`.
    Compare {
        left: Box<Plan>,
        literal: Literal,
        equal: bool,
    },
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// `.name` or `['name']`: a key of an object.
    Key(String),
    /// `[3]` or `.3`: an item of a list.
    Index(usize),
}

/// A literal a path is compared with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Int(i64),
    Str(String),
    Bool(bool),
}

impl Plan {
    /// Parses `expr`; `None` when it is not in the subset (minijinja then
    /// evaluates it).
    pub(crate) fn parse(expr: &str) -> Option<Plan> {
        let mut parser = Parser {
            rest: expr.as_bytes(),
        };
        let plan = parser.top()?;
        parser.space();
        parser.rest.is_empty().then_some(plan)
    }

    /// The value of the expression on `body`, or `None` off the happy path.
    pub(crate) fn eval(&self, body: &Json) -> Option<Json> {
        match self {
            Plan::Path(steps) => walk(body, steps).cloned(),
            // Read in place: the rows' values are copied once, into the rows.
            Plan::ZipRows(items, fields) => zip_rows(walk(body, items)?, walk(body, fields)?),
            Plan::Object(entries) => {
                let mut map = Map::new();
                for (key, plan) in entries {
                    // `insert` keeps the first position of a repeated key and
                    // the last value, as a minijinja map literal does.
                    map.insert(key.clone(), plan.eval(body)?);
                }
                Some(Json::Object(map))
            }
            Plan::Compare { .. } => self.truthy(body).map(Json::Bool),
        }
    }

    /// Whether the expression is true on `body` (minijinja truthiness), or
    /// `None` off the happy path. Only booleans and comparisons answer: a
    /// `success_when` is one of those in practice.
    pub(crate) fn truthy(&self, body: &Json) -> Option<bool> {
        match self {
            Plan::Path(steps) => walk(body, steps)?.as_bool(),
            Plan::Compare {
                left,
                literal,
                equal,
            } => {
                let same = match (&**left, literal) {
                    (Plan::Path(steps), literal) => match (walk(body, steps)?, literal) {
                        // Integers only: minijinja compares an integer with
                        // a float as floats, which this does not redo.
                        (Json::Number(n), Literal::Int(i)) => n.as_i64()? == *i,
                        (Json::String(s), Literal::Str(l)) => s == l,
                        (Json::Bool(b), Literal::Bool(l)) => b == l,
                        _ => return None,
                    },
                    _ => return None,
                };
                Some(same == *equal)
            }
            Plan::ZipRows(..) | Plan::Object(_) => None,
        }
    }
}

/// Follows `steps` from `body`; `None` at a missing key or index, or a step
/// into something that is not an object (keys) or a list (indices).
fn walk<'j>(body: &'j Json, steps: &[Step]) -> Option<&'j Json> {
    let mut at = body;
    for step in steps {
        at = match (step, at) {
            (Step::Key(key), Json::Object(map)) => map.get(key)?,
            (Step::Index(i), Json::Array(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(at)
}

/// `crate::template`'s `zip_rows` on JSON: positional rows zipped with
/// column names, missing values `null`, extra values dropped. Only lists of
/// lists with string names answer; the filter's other cases (no items, names
/// that are not strings, errors) are left to minijinja.
fn zip_rows(items: &Json, fields: &Json) -> Option<Json> {
    let (Json::Array(items), Json::Array(fields)) = (items, fields) else {
        return None;
    };
    let names = fields
        .iter()
        .map(Json::as_str)
        .collect::<Option<Vec<&str>>>()?;
    let mut rows = Vec::with_capacity(items.len());
    for item in items {
        let Json::Array(values) = item else {
            return None;
        };
        let mut row = Map::with_capacity(names.len());
        let mut values = values.iter();
        for name in &names {
            let value = values.next().cloned().unwrap_or(Json::Null);
            row.insert((*name).to_string(), value);
        }
        rows.push(Json::Object(row));
    }
    Some(Json::Array(rows))
}

/// A recursive-descent parser of the subset. It accepts less than
/// minijinja does (ASCII identifiers, plain decimal integers, strings
/// without escapes, no trailing commas) and never something minijinja
/// would read differently.
struct Parser<'s> {
    rest: &'s [u8],
}

impl Parser<'_> {
    /// Spaces, tabs and line breaks, which minijinja skips between tokens.
    fn space(&mut self) {
        while let [b' ' | b'\t' | b'\n' | b'\r', rest @ ..] = self.rest {
            self.rest = rest;
        }
    }

    /// Skips spaces, then `token` if it comes next.
    fn eat(&mut self, token: &str) -> bool {
        self.space();
        match self.rest.strip_prefix(token.as_bytes()) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.space();
        self.rest.first().copied()
    }

    /// An object, or a comparison of a filtered path.
    fn top(&mut self) -> Option<Plan> {
        if self.peek() == Some(b'{') {
            return self.object();
        }
        self.compare()
    }

    fn object(&mut self) -> Option<Plan> {
        if !self.eat("{") {
            return None;
        }
        let mut entries = Vec::new();
        if self.eat("}") {
            return Some(Plan::Object(entries));
        }
        loop {
            let key = self.string()?;
            if !self.eat(":") {
                return None;
            }
            entries.push((key, self.compare()?));
            if self.eat("}") {
                return Some(Plan::Object(entries));
            }
            if !self.eat(",") || self.peek() == Some(b'}') {
                return None;
            }
        }
    }

    fn compare(&mut self) -> Option<Plan> {
        let left = self.filtered()?;
        let equal = if self.eat("==") {
            true
        } else if self.eat("!=") {
            false
        } else {
            return Some(left);
        };
        let literal = self.literal()?;
        // `a == 1 == 2` chains in minijinja: not in the subset.
        if matches!(self.peek(), Some(b'=' | b'!' | b'<' | b'>')) {
            return None;
        }
        Some(Plan::Compare {
            left: Box::new(left),
            literal,
            equal,
        })
    }

    /// A path, optionally `| zip_rows(<path>)`.
    fn filtered(&mut self) -> Option<Plan> {
        let items = self.path()?;
        if !self.eat("|") {
            return Some(Plan::Path(items));
        }
        if self.ident()? != "zip_rows" || !self.eat("(") {
            return None;
        }
        let fields = self.path()?;
        if !self.eat(")") {
            return None;
        }
        // A second filter, a test (`is`), ... : not in the subset.
        if matches!(self.peek(), Some(b'|')) {
            return None;
        }
        Some(Plan::ZipRows(items, fields))
    }

    /// `body` and its steps.
    fn path(&mut self) -> Option<Vec<Step>> {
        if self.ident()? != "body" {
            return None;
        }
        let mut steps = Vec::new();
        loop {
            if self.eat(".") {
                self.space();
                match self.rest.first()? {
                    b'0'..=b'9' => steps.push(Step::Index(self.index()?)),
                    _ => steps.push(Step::Key(self.ident()?.to_string())),
                }
            } else if self.eat("[") {
                match self.peek()? {
                    b'\'' | b'"' => steps.push(Step::Key(self.string()?)),
                    _ => steps.push(Step::Index(self.index()?)),
                }
                if !self.eat("]") {
                    return None;
                }
            } else {
                // A call (`body.get('x')`) or anything else: not a path.
                if matches!(self.peek(), Some(b'(')) {
                    return None;
                }
                return Some(steps);
            }
        }
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`.
    fn ident(&mut self) -> Option<&str> {
        self.space();
        let len = self
            .rest
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        if len == 0 || self.rest[0].is_ascii_digit() {
            return None;
        }
        let (ident, rest) = self.rest.split_at(len);
        self.rest = rest;
        std::str::from_utf8(ident).ok()
    }

    /// A decimal list index: digits without a leading zero, not followed by
    /// anything a number could go on with (`1.5`, `1_000`, `1e3`).
    fn index(&mut self) -> Option<usize> {
        let value = self.integer()?;
        usize::try_from(value).ok()
    }

    fn integer(&mut self) -> Option<i64> {
        self.space();
        let len = self.rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 || (len > 1 && self.rest[0] == b'0') {
            return None;
        }
        let (digits, rest) = self.rest.split_at(len);
        if matches!(
            rest.first(),
            Some(b'.' | b'_' | b'e' | b'E' | b'a'..=b'z' | b'A'..=b'Z')
        ) {
            return None;
        }
        self.rest = rest;
        std::str::from_utf8(digits).ok()?.parse().ok()
    }

    /// A quoted string without escapes.
    fn string(&mut self) -> Option<String> {
        self.space();
        let quote = *self.rest.first()?;
        if quote != b'\'' && quote != b'"' {
            return None;
        }
        let body = &self.rest[1..];
        let end = body.iter().position(|b| *b == quote)?;
        let text = &body[..end];
        if text.contains(&b'\\') {
            return None;
        }
        self.rest = &body[end + 1..];
        std::str::from_utf8(text).ok().map(str::to_string)
    }

    fn literal(&mut self) -> Option<Literal> {
        match self.peek()? {
            b'\'' | b'"' => self.string().map(Literal::Str),
            b'-' => {
                self.eat("-");
                self.integer()?.checked_neg().map(Literal::Int)
            }
            b'0'..=b'9' => self.integer().map(Literal::Int),
            _ => match self.ident()? {
                "true" | "True" => Some(Literal::Bool(true)),
                "false" | "False" => Some(Literal::Bool(false)),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::response::{to_json, to_value};
    use crate::template::environment;
    use serde_json::json;

    /// What minijinja says `expr` is on `body` (the slow path's answer):
    /// `Ok(None)` when undefined.
    fn by_minijinja(expr: &str, body: &Json) -> Result<Option<Json>, String> {
        let scope = minijinja::context!(body => to_value(body));
        let value = environment()
            .compile_expression(expr)
            .and_then(|e| e.eval(scope))
            .map_err(|e| e.to_string())?;
        if value.is_undefined() {
            return Ok(None);
        }
        to_json(&value).map(Some).map_err(|e| e.to_string())
    }

    fn truth_by_minijinja(expr: &str, body: &Json) -> Result<bool, String> {
        let scope = minijinja::context!(body => to_value(body));
        environment()
            .compile_expression(expr)
            .and_then(|e| e.eval(scope))
            .map(|v| v.is_true())
            .map_err(|e| e.to_string())
    }

    /// Where the plan of `expr` answers on `body`, minijinja answers the
    /// same: the same value (integers vs. floats and key order included)
    /// and the same truth. Returns whether the plan answered at all.
    fn agrees(expr: &str, body: &Json) -> bool {
        let Some(plan) = Plan::parse(expr) else {
            return false;
        };
        let mut answered = false;
        if let Some(fast) = plan.eval(body) {
            answered = true;
            let slow = by_minijinja(expr, body);
            assert_eq!(slow, Ok(Some(fast.clone())), "`{expr}` on {body}");
            // `==` on objects ignores key order; the text does not.
            assert_eq!(
                serde_json::to_string(&slow.unwrap().unwrap()).unwrap(),
                serde_json::to_string(&fast).unwrap(),
                "`{expr}` on {body}: key order"
            );
        }
        if let Some(truth) = plan.truthy(body) {
            answered = true;
            assert_eq!(
                truth_by_minijinja(expr, body),
                Ok(truth),
                "truth of `{expr}` on {body}"
            );
        }
        answered
    }

    fn tushare() -> Json {
        json!({
            "request_id": "r-1",
            "code": 0,
            "msg": "",
            "data": {
                "fields": ["ts_code", "trade_date", "open", "vol"],
                "items": [
                    ["000001.SZ", "20240102", 9.39, 1234567],
                    ["600000.SH", "20240102", 7.0, -5, "extra"],
                    ["000002.SZ"],
                ],
                "has_more": false,
            }
        })
    }

    #[test]
    fn the_common_shapes_are_answered_without_minijinja() {
        let body = tushare();
        for expr in [
            "body",
            "body.data",
            "body.data.items",
            "body['data'][\"items\"][1]",
            "body.data.items.0",
            "body.data.items[2][0]",
            "body.code == 0",
            "body.code != 0",
            "body.code==0",
            "body.msg == ''",
            "body.data.has_more == false",
            "body.data.has_more",
            "body.request_id != \"r-2\"",
            "body.data.items | zip_rows(body.data.fields)",
            "{\"rows\": body.data.items | zip_rows(body.data.fields)}",
            "{'rows': body.data.items|zip_rows(body.data.fields), 'id': body.request_id}",
            "{}",
            "{'a': body.code, 'a': body.msg, 'b': body.code == 0}",
            "  body . data\n. fields  ",
        ] {
            assert!(agrees(expr, &body), "no plan answered `{expr}`");
        }
        assert_eq!(
            Plan::parse("{\"rows\": body.data.items | zip_rows(body.data.fields)}")
                .unwrap()
                .eval(&body)
                .unwrap()["rows"][1],
            json!({"ts_code": "600000.SH", "trade_date": "20240102", "open": 7.0, "vol": -5})
        );
    }

    #[test]
    fn off_the_happy_path_minijinja_decides() {
        let body = tushare();
        // Undefined (a missing key), an error (a key of undefined), `none`
        // on the way, the wrong kind of container, a float compared with an
        // integer, names that are not strings, rows that are not lists.
        let odd = json!({"data": null, "n": 0.0, "big": 18446744073709551615u64,
                         "fields": [1, "a"], "rows": [[1], 2], "list": [1, 2]});
        for (expr, body) in [
            ("body.nope", &body),
            ("body.nope.deeper", &body),
            ("body.data.items[3]", &body),
            ("body.data.fields.x", &body),
            ("body.data[0]", &body),
            ("body.msg == 0", &body),
            ("body.data.items | zip_rows(body.nope)", &body),
            ("body.data.nope | zip_rows(body.data.fields)", &body),
            ("{'rows': body.nope}", &body),
            ("body.data.items", &odd),
            ("body.n == 0", &odd),
            ("body.big == 1", &odd),
            ("body.rows | zip_rows(body.fields)", &odd),
            ("body.list | zip_rows(body.list)", &odd),
            ("body.data == 0", &odd),
        ] {
            let plan = Plan::parse(expr).unwrap_or_else(|| panic!("`{expr}` parses"));
            assert_eq!(plan.eval(body), None, "`{expr}` on {body}");
            assert_eq!(plan.truthy(body), None, "truth of `{expr}` on {body}");
        }
        // A number's truth is left to minijinja too.
        assert_eq!(Plan::parse("body.code").unwrap().truthy(&body), None);
    }

    #[test]
    fn expressions_outside_the_subset_have_no_plan() {
        for expr in [
            "",
            "bodyx.a",
            "input.a",
            "body.a | length",
            "body.a | zip_rows(body.b) | length",
            "body.a is defined",
            "body.a == 1 == 1",
            "body.a == 1 + 1",
            "body.a == 1.0",
            "body.a == 0x1",
            "body.a == 01",
            "body.a == 1_0",
            "body.a == none",
            "body.a == b",
            "body.a and body.b",
            "not body.a",
            "body.get('a')",
            "body['a\\'b']",
            "body[-1]",
            "body.a.1.0",
            "{'a': 1}",
            "{'a': body.a,}",
            "{a: body.a}",
            "{'a': body.a",
            "body.a if body.b else body.c",
            "body.a ~ 'x'",
            "[body.a]",
            "body.é",
        ] {
            assert_eq!(Plan::parse(expr), None, "`{expr}`");
        }
    }

    #[test]
    fn keywords_are_keys_after_a_dot() {
        let body = json!({"true": 1, "none": 2, "is": 3, "items": 4, "and": 5});
        for expr in [
            "body.true",
            "body.none",
            "body.is",
            "body.items",
            "body.and",
        ] {
            assert!(agrees(expr, &body), "`{expr}`");
        }
    }

    #[test]
    fn numbers_keep_their_kind() {
        let body: Json = serde_json::from_str(
            r#"{"i": 5, "n": -7, "f": 5.0, "z": -0.0, "e": 1e300, "u": 18446744073709551615,
                "h": 100000000000000000000, "s": "x", "b": true, "null": null,
                "o": {"b": 1, "a": 2}, "l": [], "m": {}}"#,
        )
        .unwrap();
        for key in [
            "i", "n", "f", "z", "e", "u", "h", "s", "b", "null", "o", "l", "m",
        ] {
            assert!(agrees(&format!("body.{key}"), &body), "body.{key}");
            agrees(&format!("body.{key} == 5"), &body);
            agrees(&format!("body.{key} != -7"), &body);
            agrees(&format!("body.{key} == 'x'"), &body);
            agrees(&format!("body.{key} == true"), &body);
        }
    }

    mod generated {
        use super::*;
        use proptest::prelude::*;

        const KEYS: &[&str] = &[
            "a", "b", "code", "data", "items", "fields", "x y", "true", "",
        ];

        fn json() -> impl Strategy<Value = Json> {
            let leaf = prop_oneof![
                Just(Json::Null),
                any::<bool>().prop_map(Json::Bool),
                (-3i64..3).prop_map(Json::from),
                any::<i64>().prop_map(Json::from),
                any::<u64>().prop_map(Json::from),
                prop::sample::select(vec![0.0, -0.0, 1.0, 2.5, -1e300, 1e-7]).prop_map(Json::from),
                prop::sample::select(KEYS).prop_map(Json::from),
                "[a-z0-9 ]{0,4}".prop_map(Json::from),
            ];
            leaf.prop_recursive(4, 48, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
                    prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(
                        |entries| Json::Object(
                            entries
                                .into_iter()
                                .map(|(k, v)| (k.to_string(), v))
                                .collect()
                        )
                    ),
                ]
            })
        }

        fn path() -> impl Strategy<Value = String> {
            let table = prop::sample::select(vec![
                "",
                ".data",
                ".code",
                ".data.items",
                ".data.fields",
                ".data['x y']",
                ".data.items[0]",
                ".data.items.1",
                ".data.fields[0]",
            ]);
            let step = prop_oneof![
                prop::sample::select(&KEYS[..8]).prop_map(|k| if k.contains(' ') || k.is_empty() {
                    format!("['{k}']")
                } else {
                    format!(".{k}")
                }),
                prop::sample::select(KEYS).prop_map(|k| format!("[\"{k}\"]")),
                (0usize..4).prop_map(|i| format!("[{i}]")),
                (0usize..4).prop_map(|i| format!(".{i}")),
            ];
            (table, prop::collection::vec(step, 0..3))
                .prop_map(|(start, steps)| format!("body{start}{}", steps.concat()))
        }

        fn literal() -> impl Strategy<Value = String> {
            prop_oneof![
                (-3i64..3).prop_map(|i| i.to_string()),
                prop::sample::select(vec!["true", "false", "True", "''", "'a'", "\"code\""])
                    .prop_map(str::to_string),
            ]
        }

        fn filtered() -> impl Strategy<Value = String> {
            prop_oneof![
                3 => path(),
                2 => (path(), path()).prop_map(|(a, b)| format!("{a} | zip_rows({b})")),
                2 => Just("body.data.items | zip_rows(body.data.fields)".to_string()),
                2 => (path(), prop::sample::select(vec!["==", "!="]), literal())
                    .prop_map(|(p, op, l)| format!("{p} {op} {l}")),
            ]
        }

        fn expression() -> impl Strategy<Value = String> {
            prop_oneof![
                3 => filtered(),
                1 => prop::collection::vec((prop::sample::select(KEYS), filtered()), 0..3)
                    .prop_map(|entries| {
                        let entries: Vec<String> =
                            entries.iter().map(|(k, e)| format!("'{k}': {e}")).collect();
                        format!("{{{}}}", entries.join(", "))
                    }),
            ]
        }

        /// A table Tushare-style, with odd names and ragged rows now and then.
        fn table() -> impl Strategy<Value = Json> {
            (
                prop::collection::vec(prop::sample::select(KEYS), 0..5),
                prop::collection::vec(prop::collection::vec(json(), 0..6), 0..5),
                json(),
            )
                .prop_map(|(fields, items, other)| {
                    json!({"code": 0, "data": {"fields": fields, "items": items, "x y": other}})
                })
        }

        /// Runs `check` on `cases` generated cases and asserts that the
        /// plan answered in at least `min_answered` of them (the generators
        /// must keep exercising the fast path, not only the fallback).
        fn run<S: Strategy>(
            strategy: S,
            cases: u32,
            min_answered: u32,
            check: impl Fn(&S::Value) -> bool,
        ) where
            S::Value: std::fmt::Debug,
        {
            use proptest::test_runner::{Config, TestRunner};
            use std::sync::atomic::{AtomicU32, Ordering};
            let answered = AtomicU32::new(0);
            let mut runner = TestRunner::new(Config::with_cases(cases));
            runner
                .run(&strategy, |value| {
                    if check(&value) {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(())
                })
                .unwrap();
            let answered = answered.into_inner();
            eprintln!("plans answered {answered} of {cases} cases");
            assert!(
                answered >= min_answered,
                "plans answered {answered} of {cases} cases"
            );
        }

        #[test]
        fn plans_agree_with_minijinja() {
            let body = prop_oneof![1 => json(), 3 => table()];
            run((expression(), body), 3000, 600, |(expr, body)| {
                agrees(expr, body)
            });
        }

        /// Token soup: whatever the parser accepts must mean to minijinja
        /// what it means to the plan.
        #[test]
        fn the_parser_accepts_nothing_minijinja_reads_otherwise() {
            let token = prop::sample::select(vec![
                "body",
                "body",
                "body",
                ".",
                ".",
                "data",
                "items",
                "fields",
                "code",
                "[",
                "]",
                "0",
                "1",
                "01",
                "'data'",
                "\"items\"",
                "|",
                "zip_rows",
                "(",
                ")",
                "{",
                "}",
                ":",
                ",",
                "==",
                "!=",
                "=",
                "-",
                "true",
                "none",
                " ",
                "\n",
                "'k'",
                "is",
                "defined",
            ]);
            let soup = prop::collection::vec(token, 1..10).prop_map(|t| t.concat());
            run((soup, table()), 3000, 10, |(expr, body)| agrees(expr, body));
        }
    }
}
