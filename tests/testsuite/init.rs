//! `landing-zone init`: the starter spec, its schema line and its policies folder validate as
//! written, and nothing that exists is overwritten without `--force`.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_landing-zone"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run landing-zone")
}

#[test]
fn init_writes_a_starter_spec_that_validates_and_never_overwrites_without_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = run(dir.path(), &["init"]);
    assert_eq!(written.status.code(), Some(0), "{}", String::from_utf8_lossy(&written.stderr));
    let spec = std::fs::read_to_string(dir.path().join("landing-zone.yaml")).expect("spec written");
    assert!(spec.starts_with("# yaml-language-server: $schema=./landing-zone.schema.json\n"), "{spec}");
    // The schema the line names is there, and is the one `schema` prints.
    let schema = std::fs::read_to_string(dir.path().join("landing-zone.schema.json")).expect("schema written");
    let printed = run(dir.path(), &["schema"]);
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).expect("json");
    assert_eq!(parse(&schema), parse(&String::from_utf8_lossy(&printed.stdout)));
    assert!(dir.path().join("policies/deny-leave-organization.json").is_file());

    let validated = run(dir.path(), &["validate"]);
    assert_eq!(validated.status.code(), Some(0), "{}", String::from_utf8_lossy(&validated.stderr));

    // A second init refuses, names the file and leaves the user's edits alone.
    std::fs::write(dir.path().join("landing-zone.yaml"), "version: 1 # mine\n").expect("edit");
    let refused = run(dir.path(), &["init"]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("refusing to overwrite") && stderr.contains("landing-zone.yaml"), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.path().join("landing-zone.yaml")).expect("spec"), "version: 1 # mine\n");

    let forced = run(dir.path(), &["init", "--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", String::from_utf8_lossy(&forced.stderr));
    assert_eq!(std::fs::read_to_string(dir.path().join("landing-zone.yaml")).expect("spec"), spec);

    // `-f` names where the spec goes; its documents and schema go beside it.
    std::fs::create_dir(dir.path().join("org")).expect("mkdir");
    let elsewhere = run(dir.path(), &["init", "-f", "org/lz.yaml"]);
    assert_eq!(elsewhere.status.code(), Some(0), "{}", String::from_utf8_lossy(&elsewhere.stderr));
    let validated = run(dir.path(), &["validate", "-f", "org/lz.yaml"]);
    assert_eq!(validated.status.code(), Some(0), "{}", String::from_utf8_lossy(&validated.stderr));
}
