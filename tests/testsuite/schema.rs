//! The committed JSON Schema (docs/landing-zone.schema.json, referenced by the examples'
//! `yaml-language-server` lines) is exactly what `landing-zone schema` prints.

#[test]
fn committed_schema_matches_the_spec_types() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_landing-zone")).arg("schema").output().expect("run");
    assert!(output.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("schema is JSON");
    let committed_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/landing-zone.schema.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(committed_path).expect("read committed schema")).expect("json");
    assert_eq!(printed, committed, "regenerate with `landing-zone schema > docs/landing-zone.schema.json`");
    // The schema rejects unknown keys like the loader does.
    assert_eq!(printed["additionalProperties"], serde_json::Value::Bool(false));
    assert!(printed["properties"]["organization"].is_object());
}
