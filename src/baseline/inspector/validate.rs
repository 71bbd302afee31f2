//! Offline rules of `baseline.inspector`: the delegated administrator and the scan types. Reported through
//! `spec::validate::Checker` at the value's line and column, with the spec's own rules (`Baseline::validate`).

use std::collections::BTreeSet;

use crate::baseline::validate::needs_management_account;
use crate::spec::validate::Checker;
use crate::spec::InspectorScan;

/// Checks its section, if the spec has one.
pub(super) fn check(checker: &mut Checker<'_>) {
    let baseline = &checker.spec().baseline;
    if let Some(inspector) = &baseline.inspector {
        needs_management_account(checker, "inspector", "Amazon Inspector");
        checker.account_reference(&["baseline", "inspector", "admin_account"], &inspector.admin_account);
        let mut seen = BTreeSet::new();
        for (index, scan) in inspector.scan.iter().enumerate() {
            if !seen.insert(scan) {
                let index = index.to_string();
                checker.error(&["baseline", "inspector", "scan", &index], "scan type listed twice".to_string(), None);
            }
        }
        // Lambda code scanning runs on top of Lambda standard scanning.
        // https://docs.aws.amazon.com/inspector/latest/user/scanning-lambda.html
        if let Some(index) = inspector.scan.iter().position(|scan| *scan == InspectorScan::LambdaCode) {
            if !inspector.scan.contains(&InspectorScan::Lambda) {
                let index = index.to_string();
                checker.error(
                    &["baseline", "inspector", "scan", &index],
                    "`lambda_code` scanning needs `lambda` scanning".to_string(),
                    Some("add `lambda` to `scan`".to_string()),
                );
            }
        }
    }
}
