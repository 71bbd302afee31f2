//! What the command line says before any AWS call: each command's help lists only the options it
//! uses, and a missing spec file says so and how to start one.

use std::process::{Command, Output};

fn landing_zone(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_landing-zone"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("run landing-zone")
}

#[test]
fn a_missing_spec_file_says_so_and_how_to_start() {
    let dir = tempfile::tempdir().expect("dir");
    for args in [vec!["validate"], vec!["plan"], vec!["-f", "other.yaml", "validate"]] {
        let output = landing_zone(&args, dir.path());
        let message = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{message}");
        assert!(message.contains("spec file") && message.contains("not found"), "{args:?}: {message}");
        assert!(!message.contains("error in the spec"), "not a spec error: {message}");
        assert!(message.contains("landing-zone init") && message.contains("landing-zone import"), "{message}");
    }
}

fn help(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let output = landing_zone(args, dir.path());
    assert_eq!(output.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn each_command_lists_only_the_options_it_uses() {
    let aws = ["--profile", "--endpoint-url", "--region ", "--parallelism", "--accounts-at-once"];
    for command in ["validate", "show", "schema", "permissions"] {
        let text = help(&[command, "--help"]);
        for option in aws {
            assert!(!text.contains(option), "`{command} --help` lists {option}:\n{text}");
        }
        assert!(text.contains("--verbose") && text.contains("--no-color"), "{text}");
    }
    for command in ["schema", "permissions"] {
        assert!(!help(&[command, "--help"]).contains("--file"), "{command}");
    }
    assert!(help(&["validate", "--help"]).contains("--file"));
    for command in ["plan", "apply", "graph"] {
        let text = help(&[command, "--help"]);
        for option in aws.iter().chain(&["--file"]) {
            assert!(text.contains(option), "`{command} --help` lacks {option}:\n{text}");
        }
    }
    let audit = help(&["audit", "--help"]);
    assert!(audit.contains("--regions") && !audit.contains("--region "), "one Region option:\n{audit}");
    let import = help(&["import", "--help"]);
    assert!(!import.contains("--file"), "import writes to --out:\n{import}");
    let top = help(&["--help"]);
    assert!(!top.contains("--endpoint-url") && !top.contains("--parallelism"), "{top}");

    // An option a command does not take is refused after its name...
    let dir = tempfile::tempdir().expect("dir");
    let refused = landing_zone(&["schema", "-f", "x.yaml"], dir.path());
    assert_eq!(refused.status.code(), Some(2), "{}", String::from_utf8_lossy(&refused.stderr));
}

#[test]
fn options_keep_working_before_and_after_the_command() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/minimal.yaml"),
        dir.path().join("spec.yaml"),
    )
    .expect("copy");
    for args in [
        vec!["-f", "spec.yaml", "validate"],
        vec!["validate", "-f", "spec.yaml"],
        vec!["--file", "spec.yaml", "--endpoint-url", "http://127.0.0.1:1", "--parallelism", "4", "validate"],
        vec!["-v", "--no-color", "validate", "--file", "spec.yaml", "-v"],
    ] {
        let output = landing_zone(&args, dir.path());
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains("spec.yaml is valid"), "{args:?}: {stdout}");
    }
}
