//! Offline rules of `baseline.access_analyzer`: the delegated administrator (never the management account) and the
//! analyzer's name. Reported through `spec::validate::Checker` at the value's line and column, with the spec's own
//! rules (`Baseline::validate`).

use crate::baseline::validate::needs_management_account;
use crate::spec::validate::is_iam_name;
use crate::spec::validate::Checker;

/// Checks its section, if the spec has one.
pub(super) fn check(checker: &mut Checker<'_>) {
    let baseline = &checker.spec().baseline;
    let management = checker.spec().organization.management_account.clone();
    if let Some(analyzer) = &baseline.access_analyzer {
        needs_management_account(checker, "access_analyzer", "IAM Access Analyzer");
        checker.account_reference(&["baseline", "access_analyzer", "admin_account"], &analyzer.admin_account);
        // Organizations refuses to register the management account as a delegated
        // administrator (ConstraintViolationException CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR).
        if management.as_deref() == Some(analyzer.admin_account.as_str()) {
            checker.error(
                &["baseline", "access_analyzer", "admin_account"],
                format!(
                    "`{}` is the management account, which Organizations cannot register as a delegated administrator",
                    analyzer.admin_account
                ),
                Some("name a member account, such as the security account".to_string()),
            );
        }
        if !is_iam_name(&analyzer.analyzer_name, 255) {
            checker.error(
                &["baseline", "access_analyzer", "analyzer_name"],
                "analyzer name must be 1-255 of letters, digits, . _ -".to_string(),
                None,
            );
        }
    }
}
