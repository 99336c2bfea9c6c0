//! The README's two set-up commands are the ones the project really uses.

use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The commands in the README's "Two commands" block, in order.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("<!-- commands -->")
        .expect("README marks its commands block");
    let block = &readme[start..];
    let fence = block.find("```sh").expect("commands are in a sh block") + "```sh".len();
    let end = block[fence..].find("```").unwrap() + fence;
    block[fence..end]
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn readme_has_exactly_two_commands() {
    assert_eq!(readme_commands().len(), 2, "{:?}", readme_commands());
}

#[test]
fn ci_runs_the_readme_test_command() {
    let commands = readme_commands();
    let ci = std::fs::read_to_string(repo().join(".ci/run")).unwrap();
    let test_command = &commands[1];
    // CI adds --locked so a stale Cargo.lock fails instead of resolving anew.
    let locked = test_command.replacen("cargo test", "cargo test --locked", 1);
    assert!(
        ci.lines()
            .any(|l| l.trim() == test_command || l.trim() == locked),
        ".ci/run must run the README's test command `{test_command}`"
    );
}

#[test]
fn readme_main_command_succeeds() {
    let commands = readme_commands();
    let main = &commands[0];
    // `cargo run --release -- ARGS`: run the already-built binary with ARGS,
    // which is what that command does after compiling.
    let args = main
        .split_once(" -- ")
        .map(|(_, args)| args)
        .expect("the main command is `cargo run ... -- <args>`");
    // `build` would write into the checkout; `--check` runs the same build
    // and also proves generated/ is what the README's command produces.
    let mut args: Vec<&str> = args.split_whitespace().collect();
    if args.first() == Some(&"build") {
        args.push("--check");
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_spec"))
        .args(&args)
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "`{main}` failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
