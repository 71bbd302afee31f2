//! The bad-input corpus: every spec under tests/bad_inputs/ is invalid in exactly one way. Each
//! must exit 1 and name the location (file:line:column, from its `.expect` file) and the cause.

use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs");
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    specs.sort();
    specs
}

fn validate(spec: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_landing-zone"))
        .args(["validate", "-f", spec])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run landing-zone")
}

#[test]
fn every_bad_spec_is_rejected_with_its_location_and_cause() {
    let specs = corpus();
    assert!(specs.len() >= 30, "the corpus has {} cases", specs.len());
    let mut failures = Vec::new();
    for spec in specs {
        let name = spec.file_name().and_then(|n| n.to_str()).expect("name").to_string();
        let relative = format!("tests/bad_inputs/{name}");
        let expect = std::fs::read_to_string(spec.with_extension("expect")).expect("every case has an .expect file");
        let mut lines = expect.lines();
        let location = lines.next().expect("location line");
        let cause = lines.next().expect("cause line");
        let location = if location.contains(".json:") {
            format!("tests/bad_inputs/{location}")
        } else {
            format!("{relative}:{location}")
        };
        let output = validate(&relative);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.code() != Some(1) {
            failures.push(format!("{name}: exit {:?}", output.status.code()));
        } else if !stderr.contains(&location) {
            failures.push(format!("{name}: location {location} not in:\n{stderr}"));
        } else if !stderr.contains(cause) {
            failures.push(format!("{name}: cause `{cause}` not in:\n{stderr}"));
        } else if stderr.contains("panicked") {
            failures.push(format!("{name}: panicked"));
        }
    }
    assert!(failures.is_empty(), "{} cases failed:\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn the_repository_specs_are_valid() {
    let mut specs = vec!["landing-zone.yaml".to_string()];
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")).expect("examples") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|ext| ext == "yaml") {
            specs.push(format!("examples/{}", path.file_name().and_then(|n| n.to_str()).expect("name")));
        }
    }
    assert!(specs.len() >= 4, "{specs:?}");
    for spec in specs {
        let output = validate(&spec);
        assert_eq!(output.status.code(), Some(0), "{spec}: {}", String::from_utf8_lossy(&output.stderr));
    }
}

#[test]
fn all_errors_are_reported_not_only_the_first() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("landing-zone.yaml"))
        .expect("spec")
        .replacen("unit: Workloads/Prod", "unit: Workloads/Prd", 1)
        .replacen("eu-west-1]", "eu-wset-1]", 1)
        .replacen("minimum_length: 14", "minimum_length: 4", 1);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("landing-zone.yaml");
    let errors = landing_zone::spec::load_spec_from_str(&path, text).expect_err("three errors");
    let messages: Vec<String> = errors.diagnostics.iter().map(|d| d.message.clone()).collect();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert!(errors.diagnostics.iter().all(|d| d.location.as_ref().is_some_and(|l| l.line > 1)));
}
