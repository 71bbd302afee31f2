//! Offline rules of `baseline.public_access_block`: its targets. Reported through `spec::validate::Checker` at the
//! value's line and column, with the spec's own rules (`Baseline::validate`).

use crate::spec::validate::Checker;

/// Checks its section, if the spec has one.
pub(super) fn check(checker: &mut Checker<'_>) {
    let baseline = &checker.spec().baseline;
    if let Some(bpa) = &baseline.s3_block_public_access {
        checker.targets(&["baseline", "s3_block_public_access", "targets"], &bpa.targets, true);
    }
}
