//! Offline rules of `baseline.detective`: the delegated administrator. Reported through `spec::validate::Checker` at
//! the value's line and column, with the spec's own rules (`Baseline::validate`).
//!
//! The management account may be Detective's administrator (EnableOrganizationAdminAccount allows
//! "either the delegated administrator account or the organization management account"), so it is
//! not refused: https://docs.aws.amazon.com/detective/latest/APIReference/API_EnableOrganizationAdminAccount.html

use crate::baseline::validate::needs_management_account;
use crate::spec::validate::Checker;

/// Checks its section, if the spec has one.
pub(super) fn check(checker: &mut Checker<'_>) {
    let baseline = &checker.spec().baseline;
    if let Some(detective) = &baseline.detective {
        needs_management_account(checker, "detective", "Amazon Detective");
        checker.account_reference(&["baseline", "detective", "admin_account"], &detective.admin_account);
    }
}
