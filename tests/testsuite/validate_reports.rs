//! `validate --format json|sarif`: every diagnostic as data, with its file, line, column and a rule
//! id that names the check (the same for the same check whatever the values), in the shape GitHub
//! code scanning reads (SARIF 2.1.0: version, $schema, runs[].tool.driver.rules,
//! results[].locations[].physicalLocation.region).

use std::process::{Command, Output};

use serde_json::Value;

fn validate(format: &str, spec: &str) -> (Output, Value) {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("landing-zone.yaml"), spec).expect("spec");
    let output = Command::new(env!("CARGO_BIN_EXE_landing-zone"))
        .args(["validate", "--format", format])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run landing-zone");
    let document = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)));
    (output, document)
}

/// Two accounts in units that do not exist, and a bad email: three problems, two of one check.
const BROKEN: &str = "version: 1
organization:
  management_account: management
  regions: [us-east-1]
accounts:
  management: { email: aws-root@example.com }
  app: { email: app@example.com, unit: Workloads/Prd }
  tools: { email: tools@example.com, unit: Shared }
  data: { email: not-an-email, unit: Root }
";

const VALID: &str = "version: 1
organization:
  management_account: management
  regions: [us-east-1]
accounts:
  management: { email: aws-root@example.com }
";

#[test]
fn json_lists_every_diagnostic_with_its_place_and_rule() {
    let (output, document) = validate("json", BROKEN);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(document["valid"], false);
    let diagnostics = document["diagnostics"].as_array().expect("diagnostics");
    for diagnostic in diagnostics {
        assert_eq!(diagnostic["file"], "landing-zone.yaml", "{diagnostic}");
        assert!(diagnostic["line"].as_u64().is_some_and(|line| line > 1), "{diagnostic}");
        assert!(diagnostic["column"].as_u64().is_some_and(|column| column >= 1), "{diagnostic}");
        assert!(diagnostic["rule_id"].as_str().is_some_and(|id| !id.is_empty() && !id.contains(' ')), "{diagnostic}");
    }
    let at = |line: u64| diagnostics.iter().find(|d| d["line"] == line).unwrap_or_else(|| panic!("line {line}"));
    // The same check gives the same id, whatever unit it names; another check another id.
    assert_eq!(at(7)["rule_id"], at(8)["rule_id"], "{diagnostics:?}");
    assert_ne!(at(7)["rule_id"], at(9)["rule_id"], "{diagnostics:?}");
    assert!(at(9)["message"].as_str().is_some_and(|m| m.contains("not-an-email")), "{diagnostics:?}");
    assert_eq!(diagnostics.len(), 3, "{diagnostics:?}");

    // Shape errors (unknown keys) have their rule too.
    let (_, document) = validate("json", "version: 1\nunits: {}\nacounts: {}\n");
    let ids: Vec<&str> =
        document["diagnostics"].as_array().expect("list").iter().filter_map(|d| d["rule_id"].as_str()).collect();
    assert_eq!(ids, ["missing-field", "unknown-field-at-the-top-level"], "{document}");

    let (output, document) = validate("json", VALID);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!((&document["valid"], document["diagnostics"].as_array().map(Vec::len)), (&Value::Bool(true), Some(0)));
}

#[test]
fn sarif_has_the_shape_code_scanning_reads() {
    let (output, sarif) = validate("sarif", BROKEN);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["$schema"].as_str().is_some_and(|schema| schema.ends_with("sarif-schema-2.1.0.json")), "{sarif}");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "landing-zone");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 3, "{sarif:#}");
    for result in results {
        let rule = &rules[usize::try_from(result["ruleIndex"].as_u64().expect("ruleIndex")).expect("index")];
        assert_eq!(rule["id"], result["ruleId"], "{result}");
        assert!(rule["shortDescription"]["text"].is_string(), "{rule}");
        assert_eq!(result["level"], "error");
        assert!(result["message"]["text"].as_str().is_some_and(|text| !text.is_empty()));
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], "landing-zone.yaml", "{result}");
        assert!(location["region"]["startLine"].as_u64().is_some_and(|line| line > 1), "{result}");
        assert!(location["region"]["startColumn"].as_u64().is_some_and(|column| column >= 1), "{result}");
    }
    // One rule per check: the two unknown units share theirs.
    assert_eq!(rules.len(), 2, "{rules:?}");

    let (output, sarif) = validate("sarif", VALID);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(sarif["runs"][0]["results"].as_array().map(Vec::len), Some(0));
}

#[test]
fn a_missing_spec_is_a_diagnostic_too() {
    let dir = tempfile::tempdir().expect("dir");
    let output = Command::new(env!("CARGO_BIN_EXE_landing-zone"))
        .args(["validate", "--format", "sarif"])
        .current_dir(dir.path())
        .output()
        .expect("run landing-zone");
    assert_eq!(output.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&output.stdout).expect("sarif");
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "missing-spec-file", "{sarif}");
}
