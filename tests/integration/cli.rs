//! The `spec` binary as users and CI call it: exit codes, which stream gets
//! which output, the three formats, `explain`, help, and colour.

use serde_json::Value;
use spec::codes::Code;

use crate::common::{self, spec};

const CLEAN: &str = "tests/fixtures/valid/fakeshop.yaml";
const UNKNOWN_KEY: &str = "tests/fixtures/diagnostics/S001-unknown-key.yaml";
const WARNING_ONLY: &str = "tests/fixtures/diagnostics/R014-user-input.yaml";
const CROSS_FILE: &str = "tests/fixtures/diagnostics/R001-duplicate-app-id";

#[test]
fn clean_spec_exits_0_with_only_the_summary() {
    let run = spec(["validate", CLEAN]);
    run.expect_code(0);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "checked 1 connector(s) in 1 file(s): 0 error(s), 0 warning(s)\n"
    );
}

#[test]
fn valid_fixture_directory_exits_0() {
    let run = spec(["validate", "tests/fixtures/valid"]);
    run.expect_code(0);
    assert_eq!(
        run.stderr,
        "checked 2 connector(s) in 2 file(s): 0 error(s), 0 warning(s)\n"
    );
}

#[test]
fn problems_exit_1_with_the_human_report_on_stderr() {
    let run = spec(["validate", UNKNOWN_KEY]);
    run.expect_code(1);
    assert_eq!(run.stdout, "", "the human report goes to stderr only");
    assert!(
        run.stderr
            .starts_with("error[S001]: unknown key `erorr_message`"),
        "{}",
        run.stderr
    );
    assert_eq!(
        common::locations(&run.stderr),
        [format!("{UNKNOWN_KEY}:30:7")]
    );
    assert!(
        run.stderr
            .ends_with("checked 1 connector(s) in 1 file(s): 1 error(s), 0 warning(s)\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_binary_prints_what_the_library_renders() {
    let run = spec(["validate", CROSS_FILE]);
    run.expect_code(1);
    let project = common::validate(&[common::root().join(CROSS_FILE)]);
    let summary = common::summary(&project);
    let expected = format!(
        "{}checked {} connector(s) in {} file(s): {} error(s), {} warning(s)\n",
        common::human(&project),
        summary.connectors,
        summary.files,
        summary.errors,
        summary.warnings
    );
    assert_eq!(run.stderr, expected);
}

#[test]
fn missing_path_exits_2() {
    let run = spec(["validate", "tests/fixtures/no-such-spec.yaml"]);
    run.expect_code(2);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.starts_with(
            "error: cannot read tests/fixtures/no-such-spec.yaml: no such file or directory"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn one_missing_path_among_good_ones_exits_2() {
    let run = spec(["validate", CLEAN, "tests/fixtures/no-such-dir"]);
    run.expect_code(2);
    assert!(run.stderr.contains("no-such-dir"), "{}", run.stderr);
}

#[test]
fn bad_flag_exits_2() {
    let run = spec(["validate", "--no-such-flag", CLEAN]);
    run.expect_code(2);
    assert!(run.stderr.contains("--no-such-flag"), "{}", run.stderr);
    let run = spec(["validate", "--format", "xml", CLEAN]);
    run.expect_code(2);
    assert!(run.stderr.contains("xml"), "{}", run.stderr);
    spec(["no-such-command"]).expect_code(2);
}

#[test]
fn json_report_has_the_documented_shape() {
    let run = spec(["validate", "--format", "json", UNKNOWN_KEY, WARNING_ONLY]);
    run.expect_code(1);
    assert_eq!(run.stderr, "", "json mode prints nothing on stderr");
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", run.stdout));
    let diagnostics = report["diagnostics"]
        .as_array()
        .expect("diagnostics is a list");
    assert_eq!(diagnostics.len(), 2);
    for d in diagnostics {
        for key in ["code", "name", "severity", "message", "help"] {
            assert!(d[key].is_string(), "`{key}` is a string in {d}");
        }
        let location = &d["location"];
        assert!(location["path"].is_string(), "{d}");
        for key in ["line", "column", "end_line", "end_column"] {
            assert!(
                location[key].as_u64().is_some_and(|n| n >= 1),
                "`{key}` in {d}"
            );
        }
    }
    // Sorted by file: R014-... comes before S001-....
    assert_eq!(diagnostics[0]["code"], "R014");
    assert_eq!(diagnostics[0]["severity"], "warning");
    let first = &diagnostics[1];
    assert_eq!(first["code"], "S001");
    assert_eq!(first["name"], "unknown-key");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["pointer"], "/actions/0/response/erorr_message");
    assert_eq!(first["location"]["path"], UNKNOWN_KEY);
    assert_eq!(
        (&first["location"]["line"], &first["location"]["column"]),
        (&Value::from(30), &Value::from(7))
    );
    assert_eq!(first["location"]["end_column"], 20);
    assert_eq!(
        report["summary"],
        serde_json::json!({"connectors": 2, "files": 2, "errors": 1, "warnings": 1})
    );
}

#[test]
fn json_report_of_a_clean_spec_is_empty_and_exits_0() {
    let run = spec(["validate", "--format=json", CLEAN]);
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    let report: Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    assert_eq!(report["diagnostics"], serde_json::json!([]));
    assert_eq!(report["summary"]["connectors"], 1);
}

#[test]
fn json_report_carries_related_locations() {
    let run = spec(["validate", "--format", "json", CROSS_FILE]);
    run.expect_code(1);
    let report: Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    let d = &report["diagnostics"][0];
    assert_eq!(d["code"], "R001");
    assert_eq!(
        d["location"]["path"],
        format!("{CROSS_FILE}/fakeshop_eu.yaml")
    );
    assert_eq!(
        d["related"]["location"]["path"],
        format!("{CROSS_FILE}/fakeshop.yaml")
    );
    assert_eq!(d["related"]["message"], "first used here");
}

#[test]
fn github_format_emits_workflow_commands_on_stdout() {
    let run = spec(["validate", "--format", "github", UNKNOWN_KEY, WARNING_ONLY]);
    run.expect_code(1);
    assert_eq!(run.stderr, "", "github mode prints nothing on stderr");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "one line per diagnostic:\n{}", run.stdout);
    // Sorted by file: R014-... comes before S001-....
    assert!(
        lines[0].starts_with(&format!("::warning file={WARNING_ONLY},")),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(&format!(
            "::error file={UNKNOWN_KEY},line=30,col=7,endLine=30,endColumn=20,title=S001 unknown-key::"
        )),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].ends_with("%0Ahelp: did you mean `error_message`?"),
        "help is appended after an escaped newline: {}",
        lines[1]
    );
}

#[test]
fn deny_warnings_turns_a_warning_into_exit_1() {
    let run = spec(["validate", WARNING_ONLY]);
    run.expect_code(0);
    assert_eq!(common::codes(&run.stderr), ["R014"]);
    assert!(
        run.stderr.contains("0 error(s), 1 warning(s)"),
        "{}",
        run.stderr
    );
    let run = spec(["validate", "--deny-warnings", WARNING_ONLY]);
    run.expect_code(1);
    assert_eq!(common::codes(&run.stderr), ["R014"]);
    // Without warnings, --deny-warnings changes nothing.
    spec(["validate", "--deny-warnings", CLEAN]).expect_code(0);
}

#[test]
fn explain_prints_the_explanation_by_code_or_name() {
    let by_code = spec(["explain", "S001"]);
    by_code.expect_code(0);
    assert_eq!(by_code.stderr, "");
    let text = &by_code.stdout;
    assert!(
        text.starts_with("S001 (unknown-key), error by default\n"),
        "{text}"
    );
    for part in [
        "What it checks",
        Code::UnknownKey.summary(),
        "Why",
        Code::UnknownKey.why(),
        "Example",
        "    response:\n      erorr_message: body.msg",
    ] {
        assert!(
            text.contains(part),
            "`spec explain S001` lacks {part:?}:\n{text}"
        );
    }
    let by_name = spec(["explain", "unknown-key"]);
    by_name.expect_code(0);
    assert_eq!(by_name.stdout, by_code.stdout);
    assert_eq!(spec(["explain", "s001"]).stdout, by_code.stdout);
}

#[test]
fn explain_works_for_every_code() {
    for code in Code::ALL {
        let run = spec(["explain", code.as_str()]);
        run.expect_code(0);
        let header = format!(
            "{code} ({}), {} by default\n",
            code.name(),
            code.default_severity().as_str()
        );
        assert!(run.stdout.starts_with(&header), "{}", run.stdout);
        assert!(run.stdout.contains(code.why()), "{}", run.stdout);
    }
}

#[test]
fn explain_unknown_code_exits_2() {
    let run = spec(["explain", "NOPE"]);
    run.expect_code(2);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("unknown diagnostic code `NOPE`"),
        "{}",
        run.stderr
    );
}

#[test]
fn explain_without_a_code_lists_every_code() {
    let run = spec(["explain"]);
    run.expect_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), Code::ALL.len(), "{}", run.stdout);
    for (line, code) in lines.iter().zip(Code::ALL) {
        assert!(line.starts_with(code.as_str()), "{line}");
        assert!(line.contains(code.name()), "{line}");
        assert!(line.ends_with(code.summary()), "{line}");
    }
}

#[test]
fn help_mentions_the_exit_codes() {
    for args in [
        &["--help"][..],
        &["validate", "--help"],
        &["explain", "--help"],
    ] {
        let run = spec(args);
        run.expect_code(0);
        for text in [
            "Exit codes:",
            "0  success",
            "1  the specs have problems",
            "2  usage error",
        ] {
            assert!(
                run.stdout.contains(text),
                "`spec {args:?}` lacks {text:?}:\n{}",
                run.stdout
            );
        }
    }
    let run = spec(["validate", "--help"]);
    for flag in ["--format", "--deny-warnings", "human", "json", "github"] {
        assert!(
            run.stdout.contains(flag),
            "validate --help lacks {flag}:\n{}",
            run.stdout
        );
    }
}

#[test]
fn no_colour_when_not_a_terminal() {
    for no_color in [false, true] {
        let mut command = common::spec_command();
        command.args(["validate", UNKNOWN_KEY, WARNING_ONLY]);
        if no_color {
            command.env("NO_COLOR", "1");
        }
        let run = common::run(command);
        run.expect_code(1);
        assert!(!run.stderr.is_empty());
        assert!(
            !run.stderr.contains('\x1b') && !run.stdout.contains('\x1b'),
            "escape bytes in output (NO_COLOR set: {no_color}):\n{:?}",
            run.stderr
        );
    }
}

/// On a terminal the report is coloured, and `NO_COLOR` turns that off.
/// Needs util-linux `script` to provide a pseudo-terminal; where it is
/// missing, only the non-terminal half above is checked.
#[test]
fn no_color_is_respected_on_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        return;
    }
    let binary = env!("CARGO_BIN_EXE_spec");
    let shell = format!("'{binary}' validate {UNKNOWN_KEY}");
    let on_terminal = |no_color: bool| {
        let mut command = std::process::Command::new("script");
        command
            .current_dir(common::root())
            .args(["-qec", &shell, "/dev/null"])
            .env_remove("NO_COLOR");
        if no_color {
            command.env("NO_COLOR", "1");
        }
        common::run(command)
    };
    let coloured = on_terminal(false);
    coloured.expect_code(1);
    assert!(
        coloured.stdout.contains("\x1b[1;31merror[S001]"),
        "a terminal gets colour:\n{:?}",
        coloured.stdout
    );
    let plain = on_terminal(true);
    plain.expect_code(1);
    assert!(plain.stdout.contains("error[S001]"), "{:?}", plain.stdout);
    assert!(
        !plain.stdout.contains('\x1b'),
        "NO_COLOR must remove every escape byte:\n{:?}",
        plain.stdout
    );
}
