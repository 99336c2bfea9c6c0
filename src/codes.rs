//! The rule codes. Each code is stable once released: tools and CI configs
//! refer to it. One entry per rule, with the text that `spec explain CODE`
//! prints (what it checks, why, and an example fix) — the same text feeds
//! the docs.

use serde::Serialize;

use crate::diagnostic::Severity;

macro_rules! codes {
    ($( $variant:ident = $code:literal, $name:literal, $severity:ident, $summary:literal, $why:literal, $example:literal; )*) => {
        /// A stable rule code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $( $variant, )* }

        impl Code {
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The code as written in diagnostics, e.g. `S001`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }

            /// A short kebab-case name, e.g. `unknown-key`.
            pub fn name(self) -> &'static str {
                match self { $( Code::$variant => $name, )* }
            }

            pub fn default_severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$severity, )* }
            }

            /// One line: what the rule checks.
            pub fn summary(self) -> &'static str {
                match self { $( Code::$variant => $summary, )* }
            }

            /// Why the rule exists.
            pub fn why(self) -> &'static str {
                match self { $( Code::$variant => $why, )* }
            }

            /// An example of the problem and its fix.
            pub fn example(self) -> &'static str {
                match self { $( Code::$variant => $example, )* }
            }
        }
    };
}

codes! {
    // --- Loading: files and YAML -------------------------------------------
    NotUtf8 = "L001", "not-utf8", Error,
        "A spec file must be UTF-8 text.",
        "Labels and help texts are often Chinese; a file saved in GBK or UTF-16 would show as mojibake on the platform.",
        "Re-save the file as UTF-8 (in VS Code: \"Save with Encoding\" > UTF-8).";
    YamlSyntax = "L002", "yaml-syntax", Error,
        "The file must be well-formed YAML.",
        "Nothing else can be checked until the YAML parses.",
        "app:\n  name: [Jushuitan     # unclosed bracket\n# fix:\napp:\n  name: Jushuitan";
    ResourceLimit = "L003", "resource-limit", Error,
        "A spec must stay within the loader's size, depth and alias budgets.",
        "A YAML alias bomb (\"billion laughs\"), a 10,000-deep nesting or a huge file would otherwise exhaust memory or stack. Real specs are far below every limit.",
        "Split very large connectors into a directory (connector.yaml + actions/*.yaml), and do not use YAML aliases to repeat large blocks.";
    EmptyFile = "L004", "empty-file", Error,
        "A spec file must contain a connector (or, in a connector directory, one action or trigger).",
        "An empty file is almost always a mistake (a failed save or a stub never filled).",
        "Run `spec new <connector>` for a commented starter spec.";
    DuplicateKey = "L005", "duplicate-key", Error,
        "A YAML mapping must not contain the same key twice.",
        "YAML parsers disagree on which value wins; silently keeping one hides the other.",
        "request:\n  method: GET\n  method: POST   # remove one of the two";
    Layout = "L006", "layout", Error,
        "A connector directory holds connector.yaml plus optional actions/*.yaml and triggers/*.yaml.",
        "Splitting a large connector keeps pull requests small, but only if every file has one well-known place.",
        "specs/jushuitan/connector.yaml\nspecs/jushuitan/actions/create_inventory_count.yaml\nspecs/jushuitan/triggers/new_order.yaml";

    // --- Schema -------------------------------------------------------------
    UnknownKey = "S001", "unknown-key", Error,
        "Every key must be one the format defines; misspelt keys are errors.",
        "A misspelt optional key that is silently ignored leaves the default in force (Airbyte's `erorr_handler` retried for 32 s).",
        "response:\n  erorr_message: body.msg   # unknown key\n# fix:\nresponse:\n  error_message: body.msg";
    MissingKey = "S002", "missing-key", Error,
        "Required keys must be present.",
        "A connector without, say, an action id cannot be seeded into the platform.",
        "actions:\n  - key: create_order      # missing `id`, `name`, `is_end`, `request`";
    WrongType = "S003", "wrong-type", Error,
        "A value must have the type the format defines.",
        "YAML guesses types: `id: \"264\"` is a string, `is_end: yes` is a string unless written `true`.",
        "is_end: \"false\"   # a string\n# fix:\nis_end: false";
    InvalidValue = "S004", "invalid-value", Error,
        "A value must be one of the allowed values.",
        "Enumerations (auth type, HTTP method, field type...) drive the interpreter and the generated SQL; an unknown one cannot be run.",
        "auth:\n  type: apikey    # did you mean `api_key`?";
    Constraint = "S005", "constraint", Error,
        "A value must satisfy the format's constraints (pattern, minimum, ...).",
        "Keys become database values and template names: `Order-Id` would not be a valid template variable.",
        "key: Create-Order\n# fix:\nkey: create_order";
    ModelMismatch = "S006", "model-mismatch", Error,
        "The spec passed the JSON Schema but not the typed model.",
        "This is a bug in `spec` (the schema and the model disagree); please report it with the spec.",
        "(no user fix; report the spec that triggers it)";

    // --- Semantic rules -----------------------------------------------------
    DuplicateAppId = "R001", "duplicate-app-id", Error,
        "App ids and app keys must be unique across all specs.",
        "The app id is the platform's primary key; two connectors with one id would overwrite each other's rows.",
        "app:\n  id: 264   # already used by specs/jushuitan\n# fix: reserve a new app id";
    DuplicateActionId = "R002", "duplicate-action-id", Error,
        "Action and trigger ids must be unique across all specs, and keys unique within a connector.",
        "`app_action_meta` is keyed by action id; a duplicate would make one action replace another on seed.",
        "triggers:\n  - id: 26401   # already the id of action create_inventory_count";
    DuplicateFieldKey = "R003", "duplicate-field-key", Error,
        "Field keys must be unique at each level (auth fields, input, output, and within each group).",
        "Two fields with one key collide in the request body and in the platform's field table.",
        "input:\n  - key: so_id\n  - key: so_id   # rename or remove";
    TemplateSyntax = "R004", "template-syntax", Error,
        "Every template and expression must parse.",
        "A broken template would only fail when a user's workflow runs.",
        "path: /orders/{{ input.id }   # unclosed\n# fix:\npath: /orders/{{ input.id }}";
    UnknownVariable = "R005", "unknown-variable", Error,
        "Templates may only read variables that exist in their context (input fields, auth fields, config, page and state).",
        "A misspelt variable would render as empty and fail later as an unrelated API error (\"Invalid URL\").",
        "path: /orders/{{ input.order_idd }}   # no input field `order_idd`\n# fix:\npath: /orders/{{ input.order_id }}";
    DefaultNotInChoices = "R006", "default-not-in-choices", Error,
        "A dropdown's default must be one of its choices.",
        "The UI would pre-select a value the API does not accept.",
        "default: 5\nchoices: [{key: 1, label: Main}, {key: 2, label: Returns}]";
    DynamicChoices = "R007", "dynamic-choices", Error,
        "A dynamic dropdown must name an action or trigger of the same connector and output paths that exist.",
        "A dropdown fed by a missing source shows nothing, and the user cannot finish the form.",
        "dynamic_choices: {from: list_shops, value: shop_id, label: shop_name}\n# `list_shops` must exist and output `shop_id` and `shop_name`";
    SampleMissing = "R008", "sample-missing", Error,
        "Every trigger must have sample data.",
        "The platform shows a trigger's sample while the user builds a workflow; without one the later steps cannot be mapped.",
        "sample:\n  o_id: 1001\n  so_id: SO-0001";
    SampleMismatch = "R009", "sample-mismatch", Error,
        "Sample data must conform to the output fields: known keys, right types, required keys present.",
        "Users map later workflow steps from the sample; a sample that differs from the real output produces broken workflows.",
        "output: [{key: qty, type: integer}]\nsample: {qty: \"3\"}   # a string\n# fix:\nsample: {qty: 3}";
    UnknownFieldPath = "R010", "unknown-field-path", Error,
        "Dedupe keys, ordering, cursors and required_if must refer to fields that exist.",
        "A dedupe key that is not in the records would treat every record as new (or as seen).",
        "dedupe:\n  key: [order_id]   # output has `o_id`, not `order_id`";
    CredentialLiteral = "R011", "credential-literal", Error,
        "A spec must never contain a credential: long hex or base64 tokens, `Bearer ...` literals, private keys.",
        "Specs are reviewed in pull requests and published as docs; a leaked token is a security incident (the platform's notes once kept five live tokens in plain text).",
        "headers:\n  Authorization: Bearer 9f86d081884c7d659a2feaa0c55ad015   # a literal token\n# fix:\nauth:\n  type: bearer\n  token: \"{{ auth.token }}\"";
    FieldShape = "R012", "field-shape", Error,
        "Field properties must fit the field's type: groups have sub-fields, constraints fit the type, patterns compile, min <= max.",
        "A constraint that cannot apply is never checked, so the user gets no protection from it.",
        "- key: items\n  type: string\n  constraints: {max_items: 50}   # max_items needs `multiple: true`";
    AuthConfig = "R013", "auth-config", Error,
        "The auth section must be complete for its type (e.g. an authorization-code flow needs an authorize URL; an HMAC needs a key).",
        "An incomplete auth recipe fails only when a user tries to connect.",
        "auth:\n  type: oauth2\n  grant: authorization_code   # needs authorize_url";
    UnusedUserInput = "R014", "user-input", Warning,
        "`user_input` marks trigger fields the end user fills (the platform's `additional` flag); it only applies to trigger inputs.",
        "On an action input it has no effect and suggests a misunderstanding of where the field goes.",
        "actions:\n  - input:\n      - key: so_id\n        user_input: true   # remove: action inputs are always shown";
    PaginationUnused = "R015", "pagination-unused", Error,
        "A paginated trigger's request must read the page variables (`page.number`, `page.offset`, `page.cursor`).",
        "Otherwise every page request is the same request, and the poller fetches page one until `max_pages`.",
        "pagination: {type: page_number, size: 100}\nrequest:\n  query:\n    pageNum: \"{{ page.number }}\"\n    pageSize: \"{{ page.size }}\"";
    TestCase = "R016", "test-case", Error,
        "A hand-written test case (`tests:` of an action or trigger) must have a unique name, expect an `output` or an `error` (not both; a trigger's output is a list of records) and name only the connector's credential fields.",
        "`spec test` runs these cases in every pull request; a case that expects nothing proves nothing, and a misspelt credential would silently fall back to its fake default.",
        "tests:\n  - name: not enough credits\n    input: {trade_date: \"20240102\"}\n    responses:\n      - body: {code: 2002, msg: no permission, data: null}\n    error: {kind: api, code: \"2002\"}";
}

impl Code {
    /// Looks a code up by its code (`S001`) or name (`unknown-key`),
    /// case-insensitively.
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|code| {
            code.as_str().eq_ignore_ascii_case(text) || code.name().eq_ignore_ascii_case(text)
        })
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique() {
        let mut codes: Vec<_> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let mut names: Vec<_> = Code::ALL.iter().map(|c| c.name()).collect();
        codes.sort();
        names.sort();
        let n = Code::ALL.len();
        codes.dedup();
        names.dedup();
        assert_eq!(codes.len(), n);
        assert_eq!(names.len(), n);
    }

    #[test]
    fn parse_accepts_code_or_name() {
        assert_eq!(Code::parse("s001"), Some(Code::UnknownKey));
        assert_eq!(Code::parse("unknown-key"), Some(Code::UnknownKey));
        assert_eq!(Code::parse("nope"), None);
    }
}
