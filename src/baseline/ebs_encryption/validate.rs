//! Offline rules of `baseline.ebs_encryption`: its targets. Reported through `spec::validate::Checker` at the value's
//! line and column, with the spec's own rules (`Baseline::validate`).

use crate::spec::validate::Checker;

/// Checks its section, if the spec has one.
pub(super) fn check(checker: &mut Checker<'_>) {
    let baseline = &checker.spec().baseline;
    if let Some(ebs) = &baseline.ebs_encryption {
        checker.targets(&["baseline", "ebs_encryption", "targets"], &ebs.targets, true);
    }
}
