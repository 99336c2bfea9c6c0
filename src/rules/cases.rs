//! R016: hand-written test cases (`tests:` of an action or trigger) can
//! run: each has a unique name, expects an output or an error (not both),
//! names only credential fields the auth section has, and — for a
//! trigger — expects a list of records.

use super::Reporter;
use crate::codes::Code;
use crate::diagnostic::did_you_mean;
use crate::model::{Auth, Connector, TestCase};

pub(super) fn check(model: &Connector, r: &mut Reporter<'_>) {
    let mut credential_keys: Vec<&str> =
        model.auth.fields().iter().map(|f| f.key.as_str()).collect();
    if matches!(model.auth, Auth::Oauth2(_)) {
        credential_keys.extend(["access_token", "refresh_token"]);
    }
    for (i, action) in model.actions.iter().enumerate() {
        let base = format!("/actions/{i}/tests");
        check_cases(&action.tests, &base, false, &credential_keys, r);
    }
    for (i, trigger) in model.triggers.iter().enumerate() {
        let base = format!("/triggers/{i}/tests");
        check_cases(&trigger.tests, &base, true, &credential_keys, r);
    }
}

fn check_cases(
    cases: &[TestCase],
    base: &str,
    trigger: bool,
    credential_keys: &[&str],
    r: &mut Reporter<'_>,
) {
    for (j, case) in cases.iter().enumerate() {
        let pointer = format!("{base}/{j}");
        if cases[..j].iter().any(|c| c.name == case.name) {
            r.value(
                Code::TestCase,
                &format!("{pointer}/name"),
                format!("two test cases are named `{}`", case.name),
                Some(
                    "give each case of an action or trigger its own name: reports name the case"
                        .into(),
                ),
            );
        }
        match (&case.output, &case.error) {
            (None, None) => r.value(
                Code::TestCase,
                &pointer,
                format!("test case `{}` expects nothing", case.name),
                Some("add `output:` (the expected result) or `error:` (e.g. `{kind: api, code: \"2002\"}`)".into()),
            ),
            (Some(_), Some(_)) => r.key(
                Code::TestCase,
                &format!("{pointer}/error"),
                format!("test case `{}` expects both an output and an error", case.name),
                Some("keep `output:` for a success or `error:` for a failure, not both".into()),
            ),
            (Some(output), None) if trigger && !output.is_array() => r.value(
                Code::TestCase,
                &format!("{pointer}/output"),
                format!("test case `{}` of a trigger must expect a list of records", case.name),
                Some("write `output:` as the list of records the poll emits, oldest first (`[]` for none)".into()),
            ),
            _ => {}
        }
        for key in case.credentials.keys() {
            if !credential_keys.contains(&key.as_str()) {
                let help = match did_you_mean(key, credential_keys.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None if credential_keys.is_empty() => {
                        "this connector's auth has no fields".into()
                    }
                    None => format!("the auth fields are: {}", credential_keys.join(", ")),
                };
                r.key(
                    Code::TestCase,
                    &format!("{pointer}/credentials/{}", crate::yaml::pointer_token(key)),
                    format!("`{key}` is not a credential field of this connector"),
                    Some(help),
                );
            }
        }
    }
}
