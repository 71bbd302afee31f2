//! Offline rules of `baseline.alerts`, reported through `spec::validate::Checker` at the value's
//! line and column, with the spec's own rules (`Baseline::validate`).
//!
//! GuardDuty and Security Hub send the findings of every member account to EventBridge in the
//! delegated administrator's account (and each member's own findings in that member):
//! https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings_eventbridge.html,
//! https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-cwe-integration-types.html.
//! Alerts held anywhere else would hear of one account's findings only.

use std::collections::BTreeSet;

use crate::spec::validate::{is_valid_email, Checker};

pub(super) fn check(checker: &mut Checker<'_>) {
    let baseline = &checker.spec().baseline;
    let Some(alerts) = &baseline.alerts else { return };
    checker.account_reference(&["baseline", "alerts", "account"], &alerts.account);
    if alerts.email.is_empty() {
        checker.error_at(
            &["baseline", "alerts"],
            true,
            "`baseline.alerts` sends to nobody: it names no `email`".to_string(),
            Some("add `email: [secops@example.com]`; each address confirms its subscription".to_string()),
        );
    }
    let mut seen = BTreeSet::new();
    for (index, email) in alerts.email.iter().enumerate() {
        let index = index.to_string();
        let path = ["baseline", "alerts", "email", index.as_str()];
        if !is_valid_email(email) {
            checker.error(&path, format!("`{email}` is not an e-mail address"), None);
        } else if !seen.insert(email.to_lowercase()) {
            checker.error(&path, format!("`{email}` is listed twice"), None);
        }
    }
    if let Some(root_activity) = &alerts.root_activity {
        checker.targets(&["baseline", "alerts", "root_activity", "targets"], &root_activity.targets, true);
    }
    if alerts.findings.is_none() {
        return;
    }
    let administrators = [
        ("guardduty", baseline.guardduty.as_ref().map(|section| &section.admin_account)),
        ("security_hub", baseline.security_hub.as_ref().map(|section| &section.admin_account)),
    ];
    for (service, admin) in administrators {
        let Some(admin) = admin.filter(|admin| **admin != alerts.account) else { continue };
        checker.error(
            &["baseline", "alerts", "account"],
            format!(
                "alerts on findings are held in `{}`, but `baseline.{service}` delivers every member's findings to its delegated administrator `{admin}`: from `{}` only that account's own findings would reach the topic",
                alerts.account, alerts.account
            ),
            Some(format!("set `baseline.alerts.account: {admin}`")),
        );
    }
}
