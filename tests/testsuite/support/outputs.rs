//! Reading the binary's JSON outputs in tests: the controls a plan touches and the audit's
//! findings, as sets of short lines that compare whole.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{stderr, stdout, Moto};

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|item| item.to_string()).collect()
}

/// `control account` of every action of a JSON plan.
pub fn plan_controls(moto: &Moto, dir: &std::path::Path) -> (BTreeSet<String>, Value) {
    let output = moto.run(&["plan", "--format", "json"], dir);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plan: Value = serde_json::from_str(&stdout(&output)).expect("json plan");
    let controls = plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|action| {
            format!(
                "{} {}",
                action["control"]["control"].as_str().unwrap_or("?"),
                action["control"]["account"].as_str().unwrap_or("?")
            )
        })
        .collect();
    (controls, plan)
}

/// `control account status` of the audit's findings about controls starting with `prefix`.
pub fn audit_findings(moto: &Moto, dir: &std::path::Path, prefix: &str) -> BTreeSet<String> {
    let output = moto.run(&["audit", "--format", "json"], dir);
    let report: Value = serde_json::from_str(&stdout(&output)).expect("audit json");
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|finding| finding["control"].as_str().is_some_and(|control| control.starts_with(prefix)))
        .map(|finding| {
            let scope = finding["scope"].as_str().unwrap_or_default();
            let account = scope.split(' ').next().unwrap_or_default();
            format!(
                "{} {account} {}",
                finding["control"].as_str().unwrap_or_default(),
                finding["status"].as_str().unwrap_or_default()
            )
        })
        .collect()
}
