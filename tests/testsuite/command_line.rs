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
        assert!(message.contains("examples/minimal.yaml") && message.contains("landing-zone import"), "{message}");
    }
}
