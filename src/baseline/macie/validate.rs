//! Offline rules of `baseline.macie`: the delegated administrator. Reported through `spec::validate::Checker` at the
//! value's line and column, with the spec's own rules (`Baseline::validate`).

use crate::baseline::validate::needs_management_account;
use crate::spec::validate::Checker;

/// Checks its section, if the spec has one.
pub(super) fn check(checker: &mut Checker<'_>) {
    let baseline = &checker.spec().baseline;
    if let Some(macie) = &baseline.macie {
        needs_management_account(checker, "macie", "Amazon Macie");
        checker.account_reference(&["baseline", "macie", "admin_account"], &macie.admin_account);
    }
}
