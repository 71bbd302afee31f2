//! `validate --format json|sarif`: the spec's diagnostics as data for machines. Pure: diagnostics
//! in, JSON out; the CLI prints it.
//!
//! SARIF 2.1.0 (OASIS, https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html): one
//! `run` (§3.14) whose `tool.driver` (§3.18, §3.19) lists every rule reported (`reportingDescriptor`,
//! §3.49: `id`, `shortDescription`), and one `result` (§3.27) per diagnostic with `ruleId`,
//! `ruleIndex`, `level: error`, `message.text` and one `physicalLocation` (§3.29) with an
//! `artifactLocation.uri` (§3.4) relative to `%SRCROOT%` and a `region` (§3.30) of 1-based
//! `startLine` / `startColumn`. These are the properties GitHub code scanning reads
//! (https://docs.github.com/en/code-security/reference/code-scanning/sarif-files/sarif-support):
//! a `ruleId` stable across runs, consistent file paths, and a location per result.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::diagnostic::SpecDiagnostic;

/// The SARIF 2.1.0 schema the output declares (`$schema`, §3.13.3).
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// `{ file, valid, diagnostics: [{ rule_id, message, file, line, column, help }] }`.
pub fn json(file: &str, diagnostics: &[SpecDiagnostic]) -> Value {
    let items: Vec<Value> = diagnostics
        .iter()
        .map(|diagnostic| {
            let location = diagnostic.location.as_ref();
            json!({
                "rule_id": diagnostic.rule_id(),
                "message": diagnostic.message,
                "file": location.map_or(file, |location| location.file.as_str()),
                "line": location.map_or(1, |location| location.line),
                "column": location.map_or(1, |location| location.column),
                "help": diagnostic.help,
            })
        })
        .collect();
    json!({ "file": file, "valid": diagnostics.is_empty(), "diagnostics": items })
}

/// A SARIF 2.1.0 log of the diagnostics (an empty `results` when the spec is valid).
pub fn sarif(file: &str, diagnostics: &[SpecDiagnostic]) -> Value {
    // Rules in first-reported order; each result points at its rule by index (§3.27.6).
    let mut rules: Vec<Value> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut results = Vec::new();
    for diagnostic in diagnostics {
        let rule_id = diagnostic.rule_id();
        let rule_index = *index.entry(rule_id.clone()).or_insert_with(|| {
            rules.push(json!({
                "id": rule_id,
                "name": rule_id,
                "shortDescription": { "text": rule_id.replace('-', " ") },
                "defaultConfiguration": { "level": "error" },
            }));
            rules.len() - 1
        });
        let location = diagnostic.location.as_ref();
        let mut text = diagnostic.message.clone();
        if let Some(help) = &diagnostic.help {
            text.push_str(&format!("\nhint: {help}"));
        }
        results.push(json!({
            "ruleId": rule_id,
            "ruleIndex": rule_index,
            "level": "error",
            "message": { "text": text },
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {
                        "uri": uri(location.map_or(file, |location| location.file.as_str())),
                        "uriBaseId": "%SRCROOT%",
                    },
                    "region": {
                        "startLine": location.map_or(1, |location| location.line.max(1)),
                        "startColumn": location.map_or(1, |location| location.column.max(1)),
                    },
                },
            }],
        }));
    }
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "landing-zone",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/landing-zone/landing-zone",
                    "rules": rules,
                },
            },
            "results": results,
        }],
    })
}

/// A relative URI reference for a file path (§3.4.3): forward slashes, no leading `./`, and the
/// characters a URI may not hold percent-encoded.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let mut encoded = String::new();
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => encoded.push(byte as char),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn file_paths_become_relative_uri_references() {
        assert_eq!(uri("./specs/landing zone.yaml"), "specs/landing%20zone.yaml");
        assert_eq!(uri("policies\\deny.json"), "policies/deny.json");
    }
}
