//! Offline rules of `baseline.guardduty`: the delegated administrator. Reported through `spec::validate::Checker` at
//! the value's line and column, with the spec's own rules (`Baseline::validate`).

use crate::baseline::validate::needs_management_account;
use crate::spec::validate::Checker;

/// Checks its section, if the spec has one.
pub(super) fn check(checker: &mut Checker<'_>) {
    let baseline = &checker.spec().baseline;
    if let Some(guardduty) = &baseline.guardduty {
        needs_management_account(checker, "guardduty", "GuardDuty");
        checker.account_reference(&["baseline", "guardduty", "admin_account"], &guardduty.admin_account);
    }
}
