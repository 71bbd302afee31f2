//! Offline rules of `baseline.security_hub`: the delegated administrator, auto-enable under central configuration, the
//! standards. Reported through `spec::validate::Checker` at the value's line and column, with the spec's own rules
//! (`Baseline::validate`).

use std::collections::BTreeSet;

use crate::baseline::validate::needs_management_account;
use crate::spec::validate::Checker;
use crate::spec::SecurityHubConfiguration;

/// Checks its section, if the spec has one.
pub(super) fn check(checker: &mut Checker<'_>) {
    let baseline = &checker.spec().baseline;
    if let Some(hub) = &baseline.security_hub {
        needs_management_account(checker, "security_hub", "Security Hub");
        checker.account_reference(&["baseline", "security_hub", "admin_account"], &hub.admin_account);
        // Under CENTRAL, AutoEnable "is set to false and can't be changed"; AWS refuses true.
        // https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_UpdateOrganizationConfiguration.html
        if hub.configuration == SecurityHubConfiguration::Central && hub.auto_enable == Some(true) {
            checker.error(
                &["baseline", "security_hub", "auto_enable"],
                "`auto_enable: true` cannot apply under `configuration: central`: AWS fixes AutoEnable to false there and the configuration policy enables new accounts".to_string(),
                Some("remove `auto_enable`, or use `configuration: local`".to_string()),
            );
        }
        let mut seen = BTreeSet::new();
        for (index, standard) in hub.standards.iter().enumerate() {
            if !seen.insert(standard) {
                let index = index.to_string();
                checker.error(
                    &["baseline", "security_hub", "standards", &index],
                    "standard listed twice".to_string(),
                    None,
                );
            }
        }
    }
}
